"""JSON Lines: one report per line, with its "id" first, for jq, pandas (`read_json(lines=True)`) and data pipelines.

Each line is the report exactly as the report model serializes it (docs/report.schema.json), plus the student id,
so nothing is lost or renamed on the way. Grader view by default; with the candidate audience each report goes
through `for_candidate` first.
"""

from __future__ import annotations

import json
from typing import Sequence

from harness.report import Audience, Report, for_candidate


def render(reports: Sequence[tuple[str, Report]], audience: Audience = Audience.grader) -> bytes:
    """One line per (id, report), in the order given. ASCII-only JSON, so no character inside a value (a newline,
    or U+2028 and the others that str.splitlines also breaks at) can split a line."""
    lines = []
    for student_id, report in reports:
        view = for_candidate(report) if audience is Audience.candidate else report
        lines.append(json.dumps({"id": student_id, **view.model_dump(mode="json")}) + "\n")
    return "".join(lines).encode("utf-8")
