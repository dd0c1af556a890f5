"""Export score reports to the formats courses already grade with: Gradescope, PrairieLearn, JUnit XML, CSV, JSONL.

Every format is one module over the one report model (harness.report), never over hand-built dicts, so a field
added to the report reaches every format through one place. This module is the registry (FORMATS), the reader of
what `harness grade` and `harness grade --out` leave behind (load_reports), and the one entry point (export).

Gradescope and PrairieLearn files are shown to students, so those exporters always redact the report with
`for_candidate`, whatever audience is asked for; JUnit, CSV and JSONL are grader views unless audience is
'candidate'.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from pydantic import ValidationError

from harness.batch.store import REPORTS_DIR, atomic_write
from harness.export import csv_table, gradescope, jsonl, junit, prairielearn
from harness.report import Audience, Report

Reports = Sequence[tuple[str, Report]]


class ExportError(Exception):
    """The reports cannot be read or exported; the message names the path or option and what to do."""


@dataclass(frozen=True)
class Exporter:
    """One export format: how it renders, and what it accepts."""

    name: str
    summary: str  # one line for --help
    suffix: str  # the file name ending a caller may default to
    render: Callable[[Reports, Audience], bytes]
    single: bool = False  # one report per document (the platform grades one submission at a time)
    candidate_only: bool = False  # always redacted for the candidate, whatever the audience


def _one(render: Callable[[Report], bytes]) -> Callable[[Reports, Audience], bytes]:
    """A one-report format's renderer, taking the registry's arguments (export has checked there is one report)."""
    return lambda reports, _audience: render(reports[0][1])


FORMATS: dict[str, Exporter] = {
    "gradescope": Exporter("gradescope", "Gradescope autograder results.json (one report)", ".json",
                           _one(gradescope.render), single=True, candidate_only=True),
    "prairielearn": Exporter("prairielearn", "PrairieLearn external grader results.json (one report, under 1 MB)",
                             ".json", _one(prairielearn.render), single=True, candidate_only=True),
    "junit": Exporter("junit", "JUnit XML: a testsuite per report, a testcase per check", ".xml", junit.render),
    "csv": Exporter("csv", "a gradebook CSV: a row per student, a column per check", ".csv", csv_table.render),
    "jsonl": Exporter("jsonl", "JSON Lines: a report per line, with its id", ".jsonl", jsonl.render),
}


def load_reports(path: Path) -> list[tuple[str, Report]]:
    """The (id, report) pairs at `path`: a report JSON file gives [(its stem, report)]; a batch's --out folder gives
    every reports/<id>.json, sorted by id."""
    if path.is_file():
        return [(path.stem, _read_report(path))]
    if not path.exists():
        raise ExportError(f"{path}: no such file or folder; give a report JSON file or a batch's --out folder")
    if not path.is_dir():
        raise ExportError(f"{path}: is neither a file nor a folder; give a report JSON file or a batch's --out folder")
    folder = path / REPORTS_DIR
    if not folder.is_dir():
        hint = " (this looks like the reports/ folder itself: give its parent)" if any(path.glob("*.json")) else ""
        raise ExportError(f"{path}: is a folder with no {REPORTS_DIR}/ inside, so not a batch's --out folder{hint}; "
                          "give a report JSON file or a batch's --out folder")
    try:
        files = sorted((file for file in folder.iterdir() if file.suffix == ".json" and not file.name.startswith(".")),
                       key=lambda file: file.stem)
    except OSError as error:
        raise ExportError(f"{folder}: cannot be listed: {error.strerror or error}") from None
    if not files:
        raise ExportError(f"{folder}: holds no reports (<id>.json); has the batch graded anything yet?")
    return [(file.stem, _read_report(file)) for file in files]


def _read_report(path: Path) -> Report:
    """One report file, or an ExportError naming the file and the first thing wrong with it."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ExportError(f"{path}: cannot be read: {error.strerror or error}") from None
    try:
        return Report.model_validate_json(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ExportError(f"{path}: is not a valid score report: {where + ': ' if where else ''}{first['msg']}"
                          f" ({error.error_count()} problem{'s' if error.error_count() != 1 else ''} in all)") from None


def render(reports: Reports, fmt: str, *, audience: Audience | str = Audience.grader) -> bytes:
    """The document for `reports` in format `fmt`; ExportError for an unknown format or audience, or for a
    one-report format given some other number of reports."""
    exporter = FORMATS.get(fmt)
    if exporter is None:
        raise ExportError(f"unknown export format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    try:
        view = Audience(audience)
    except ValueError:
        raise ExportError(f"unknown audience {audience!r}; choose one of: "
                          f"{', '.join(a.value for a in Audience)}") from None
    if exporter.single and len(reports) != 1:
        raise ExportError(f"the {fmt} format holds one report, and {len(reports)} were given; "
                          f"export one report file (such as <out>/{REPORTS_DIR}/<id>.json) at a time")
    return exporter.render(reports, view)


def export(reports: Reports, fmt: str, out: Path | None = None, *, audience: Audience | str = Audience.grader) -> bytes:
    """Render `reports` in format `fmt` and, when `out` is given, write the document there atomically (readers
    never see half a file). Returns the bytes, which the caller writes to stdout when `out` is None."""
    data = render(reports, fmt, audience=audience)
    if out is not None:
        if not out.parent.is_dir():
            raise ExportError(f"{out}: cannot be written: the folder {out.parent} does not exist")
        if out.is_dir():
            raise ExportError(f"{out}: is a folder; give a file name to write the {fmt} export to")
        try:
            atomic_write(out, data)
        except OSError as error:
            raise ExportError(f"{out}: cannot be written: {error.strerror or error}") from None
    return data


__all__ = ["FORMATS", "ExportError", "Exporter", "export", "load_reports", "render"]
