"""The OpenAPI document of the grading API, as committed in docs/openapi.json (`make openapi` writes it; a test
fails when the committed one differs from what the app would serve at /openapi.json).

Usage: python -m harness.service.openapi [FILE]   (stdout without FILE)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from harness.challenge import CHALLENGES_DIR


def openapi_document() -> dict[str, Any]:
    """The document, built without opening any store or queue."""
    from harness.service.app import create_app
    from harness.service.settings import Settings

    settings = Settings(store_url="sqlite:///unused.db", queue_url="sqlite:///unused-queue.db",
                        challenges_dir=CHALLENGES_DIR)
    return create_app(settings).openapi()


def render() -> str:
    return json.dumps(openapi_document(), indent=2, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if len(argv) > 1:
        target = Path(argv[1])
        temporary = target.with_name(target.name + ".tmp")
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(target)
        print(f"wrote {target}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
