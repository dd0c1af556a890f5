"""Gradescope's autograder results.json, so a course that collects code on Gradescope can grade with this harness.

Field names and meanings follow Gradescope's "Autograder Specifications", section "Output format":
https://gradescope-autograders.readthedocs.io/en/latest/specs/ (source: github.com/gradescope/autograder_samples,
docs/specs.md). Only the fields this exporter fills are modelled; the others the page documents (extra_data,
leaderboard, name_format, test_output_format, test_name_format) are never written, and `extra="forbid"` turns a
misspelt field into an error here rather than a field Gradescope silently ignores.

Students read this file, so the report is always passed through `for_candidate` first, whatever audience was asked
for: no hidden check's message, no captured submission output, the reason cut to its first line.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from harness.report import CheckResult, CheckStatus, Report, RunStatus, Visibility, for_candidate, summary_line

GradescopeVisibility = Literal["hidden", "after_due_date", "after_published", "visible"]

# Gradescope also renders "html", "simple_format" (its default for the top-level output) and "ansi". They are left
# out on purpose: the output carries text the submission controls (an exception's message), which must never be
# rendered as markup.
OutputFormat = Literal["text", "md"]

_VISIBILITY: dict[Visibility, GradescopeVisibility] = {
    Visibility.visible: "visible",
    Visibility.hidden: "hidden",
    Visibility.after_due_date: "after_due_date",
}

_ENDED = {
    CheckStatus.error: "The check could not finish: it raised an error.",
    CheckStatus.timeout: "The check ran out of time.",
    CheckStatus.oom: "The check ran out of memory.",
    CheckStatus.skipped: "The check was skipped.",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GradescopeTest(_Strict):
    """One test case, as Gradescope shows it: one per check."""

    name: str
    score: float = Field(ge=0)
    max_score: float = Field(ge=0)
    status: Literal["passed", "failed"]
    output: str
    visibility: GradescopeVisibility
    number: str
    tags: list[str] = Field(default_factory=list)


class GradescopeResults(_Strict):
    """The whole of results.json."""

    score: float = Field(ge=0)
    execution_time: int = Field(ge=0)
    output: str
    output_format: OutputFormat = "text"
    visibility: GradescopeVisibility = "visible"
    stdout_visibility: GradescopeVisibility = "hidden"
    tests: list[GradescopeTest] = Field(default_factory=list)


def to_results(report: Report) -> GradescopeResults:
    """The Gradescope results for one report, redacted for the student whatever the caller's audience."""
    report = for_candidate(report)
    seconds = round(report.timings.total)
    if report.status is RunStatus.ungradable:
        return GradescopeResults(score=0, execution_time=seconds, output=ungradable_text(report))
    if report.status is RunStatus.error:
        return GradescopeResults(score=0, execution_time=seconds, output=error_text(report))
    return GradescopeResults(score=report.score, execution_time=seconds, output=graded_text(report),
                             tests=[_test(number, check) for number, check in enumerate(report.checks, start=1)])


def render(report: Report) -> bytes:
    """results.json's bytes."""
    return to_results(report).model_dump_json(indent=2).encode("utf-8") + b"\n"


def _test(number: int, check: CheckResult) -> GradescopeTest:
    lines = [check.description]
    if check.status in _ENDED:
        lines.append(_ENDED[check.status])
    if check.message:
        lines.append(check.message)
    return GradescopeTest(name=check.name, score=check.points, max_score=check.max_points,
                          status="passed" if check.status is CheckStatus.passed else "failed",
                          output="\n".join(lines), visibility=_VISIBILITY[check.visibility], number=str(number))


def graded_text(report: Report) -> str:
    """The summary line, then the notes the grader left for the candidate."""
    return "\n".join([summary_line(report), *(f"Note: {note}" for note in report.notes)])


def ungradable_text(report: Report) -> str:
    return (f"Your submission could not be graded, so it scores 0: {report.reason or 'no reason was given'}\n"
            "Fix this and submit again.")


def error_text(report: Report) -> str:
    return (f"The grader failed on this submission; this is not a fault of your code: "
            f"{report.reason or 'no reason was given'}\n"
            "It will be graded again; if this message stays, report it to the course staff.")
