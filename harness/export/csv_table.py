"""A gradebook CSV: one row per student with each check's points, for spreadsheets and LMS grade imports.

Columns: id, status, score, max_score, percent, then one column per check (the points earned; the union of the
reports' check names in first-seen order, so a batch whose reports differ still lines up; an empty cell where a
report lacks that check, as ungradable and error reports lack them all), then reason. Every text cell that a
spreadsheet would run as a formula (starting with = + - @ tab or CR) gets a leading "'", as grades.csv does,
since ids, reasons and check names can carry text from submissions.

Grader view by default (the full reason); with the candidate audience each report goes through `for_candidate`
(the reason's first line only).
"""

from __future__ import annotations

import csv
import io
from typing import Iterable, Sequence

from harness.batch.store import FORMULA_STARTS
from harness.report import Audience, Report, for_candidate

FIXED = ["id", "status", "score", "max_score", "percent"]
LAST = "reason"


def render(reports: Sequence[tuple[str, Report]], audience: Audience = Audience.grader) -> bytes:
    """The whole table, header first, rows in the order given."""
    views = [(student_id, for_candidate(report) if audience is Audience.candidate else report)
             for student_id, report in reports]
    names = check_names(report for _, report in views)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([cell(name) for name in [*FIXED, *names, LAST]])
    for student_id, report in views:
        writer.writerow(row(student_id, report, names))
    return buffer.getvalue().encode("utf-8")


def check_names(reports: Iterable[Report]) -> list[str]:
    """Every check name in the reports, each once, in the order first seen."""
    seen: dict[str, None] = {}
    for report in reports:
        for check in report.checks:
            seen.setdefault(check.name)
    return list(seen)


def row(student_id: str, report: Report, names: list[str]) -> list[str]:
    points = {check.name: number(check.points) for check in report.checks}
    return [cell(student_id), cell(report.status.value), number(report.score), number(report.max_score),
            number(report.percent, 2), *(points.get(name, "") for name in names), cell(report.reason or "")]


def number(value: float, digits: int = 4) -> str:
    """A number as a spreadsheet should show it: 8 rather than 8.0, 0.3 rather than 0.30000000000000004."""
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def cell(text: str) -> str:
    """Defuse spreadsheet formulas: a cell starting with = + - @ tab or CR is shown as text, not run."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text
