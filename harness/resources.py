"""Where the harness finds its data: the catalog, the reference solutions, the image's build files
and the lock, and where it keeps what it downloads.

In a checkout (or an editable install) they are the repository's top-level folders `challenges/`,
`reference_solutions/`, `docker/` and `requirements.lock`. An installed wheel carries copies of
them in the package, under `harness/_bundle/` (see `[tool.setuptools]` in pyproject.toml), with the
same layout, so that a challenge's solutions stay in the sibling folder `reference_solutions/`.
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

# The folder holding the `harness` package: the repository in a checkout, site-packages when installed.
PACKAGE_PARENT = Path(__file__).resolve().parent.parent


def bundle() -> Path | None:
    """The data bundled in the installed package, or None in a checkout."""
    folder = files("harness") / "_bundle"
    if isinstance(folder, Path) and folder.is_dir():
        return folder.resolve()
    return None


def data_root() -> Path:
    """The folder that holds `challenges/`, `reference_solutions/`, `docker/` and `requirements.lock`."""
    return bundle() or PACKAGE_PARENT


def cache_dir() -> Path:
    """Where downloads go: `build/` in a checkout, else $XDG_CACHE_HOME/harness (~/.cache/harness)."""
    if bundle() is None:
        return PACKAGE_PARENT / "build"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "harness"
