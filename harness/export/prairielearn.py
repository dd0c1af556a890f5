"""PrairieLearn's external-grader results.json, so a course on PrairieLearn can grade with this harness.

Field names and meanings follow PrairieLearn's "External Grading" page, section "Grading results":
https://prairielearn.readthedocs.io/en/latest/externalGrading/ (also docs.prairielearn.com/externalGrading/;
source: github.com/PrairieLearn/PrairieLearn, docs/externalGrading.md). What it says that shapes this module:
`score` is a fraction in [0, 1]; `gradable: false` marks the submission "invalid, not gradable", so no points are
awarded or lost and no attempt is used, which is right both for a submission the candidate must fix and for a
grader failure that is nobody's fault but ours; `format_errors` lists the reasons; the file "should be limited to
1 MB", so `fit` cuts texts, and then tests, with a note saying so. `images` is documented too, but this
harness never has any, so it is not modelled; `extra="forbid"` turns a misspelt field into an error here.

Students read this file, so the report always goes through `for_candidate` first, whatever audience was asked for.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from harness.report import CheckResult, CheckStatus, Report, RunStatus, Visibility, for_candidate, summary_line

MAX_BYTES = 1_000_000  # "limited to 1 MB": the decimal megabyte, the stricter reading
CUT_NOTE = " [...cut to fit PrairieLearn's 1 MB limit]"
_TEXT_BUDGETS = (10_000, 1_000, 200, 40)  # characters per text field, tried in turn until the file fits

_STATUS_TEXT = {
    CheckStatus.passed: "Passed.",
    CheckStatus.failed: "Failed.",
    CheckStatus.error: "The check could not finish: it raised an error.",
    CheckStatus.timeout: "The check ran out of time.",
    CheckStatus.oom: "The check ran out of memory.",
    CheckStatus.skipped: "The check was skipped.",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PrairieLearnTest(_Strict):
    """One test, as `<pl-external-grader-results>` renders it: one per check."""

    name: str
    description: str
    points: float = Field(ge=0)
    max_points: float = Field(ge=0)
    message: str
    output: str


class PrairieLearnResults(_Strict):
    """The whole of results.json."""

    gradable: bool
    score: float = Field(ge=0, le=1)
    message: str
    output: str
    format_errors: list[str] = Field(default_factory=list)
    tests: list[PrairieLearnTest] = Field(default_factory=list)


def to_results(report: Report) -> PrairieLearnResults:
    """The PrairieLearn results for one report, redacted for the student and cut to fit under 1 MB."""
    report = for_candidate(report)
    if report.status is RunStatus.ungradable:
        reason = report.reason or "no reason was given"
        results = PrairieLearnResults(gradable=False, score=0.0, output="", format_errors=[reason],
                                      message=f"Your submission could not be graded: {reason} "
                                              "Fix this and submit again; this attempt does not count.")
    elif report.status is RunStatus.error:
        reason = (f"The grader failed on this submission; this is the grader's failure, not a fault of your code: "
                  f"{report.reason or 'no reason was given'}")
        results = PrairieLearnResults(gradable=False, score=0.0, output="", format_errors=[reason],
                                      message=reason + " This attempt does not count; submit again, and if this "
                                                       "message stays, report it to the course staff.")
    else:
        fraction = min(1.0, report.score / report.max_score) if report.max_score else 0.0
        results = PrairieLearnResults(gradable=True, score=fraction, message=summary_line(report),
                                      output="\n".join(f"Note: {note}" for note in report.notes),
                                      tests=[_test(check) for check in report.checks])
    return fit(results)


def render(report: Report) -> bytes:
    """results.json's bytes, always under MAX_BYTES."""
    return _encode(to_results(report))


def _encode(results: PrairieLearnResults) -> bytes:
    return results.model_dump_json(indent=2).encode("utf-8") + b"\n"


def _test(check: CheckResult) -> PrairieLearnTest:
    message = _STATUS_TEXT[check.status]
    if check.message:
        message += "\n" + check.message
    elif check.status is not CheckStatus.passed and check.visibility is not Visibility.visible:
        message += " The details of this check are hidden."
    return PrairieLearnTest(name=check.name, description=check.description, points=check.points,
                            max_points=check.max_points, message=message, output="")


def fit(results: PrairieLearnResults, limit: int = MAX_BYTES) -> PrairieLearnResults:
    """`results` as they are when they fit in `limit` bytes; else with every text cut to a budget (each cut marked),
    and when even short texts do not fit, with only the first tests that do, the message saying how many were left
    out. The score and `gradable` are never changed."""
    if len(_encode(results)) <= limit:
        return results
    for budget in _TEXT_BUDGETS:
        cut = _cut_texts(results, budget)
        if len(_encode(cut)) <= limit:
            return cut
    return _drop_tests(cut, limit)


def _clip(text: str, budget: int) -> str:
    return text if len(text) <= budget else text[:budget] + CUT_NOTE


_TEST_TEXTS = ("name", "description", "message", "output")


def _cut_texts(results: PrairieLearnResults, budget: int) -> PrairieLearnResults:
    tests = [test.model_copy(update={field: _clip(getattr(test, field), budget) for field in _TEST_TEXTS})
             if any(len(getattr(test, field)) > budget for field in _TEST_TEXTS) else test
             for test in results.tests]
    output = _clip(results.output, budget)
    format_errors = [_clip(error, budget) for error in results.format_errors]
    changed = (output != results.output or format_errors != results.format_errors
               or any(cut is not test for cut, test in zip(tests, results.tests)))
    note = " Some text was cut to fit PrairieLearn's 1 MB limit." if changed else ""
    return results.model_copy(update={"message": _clip(results.message, max(budget, 1_000)) + note,
                                      "output": output, "format_errors": format_errors, "tests": tests})


def _drop_tests(results: PrairieLearnResults, limit: int) -> PrairieLearnResults:
    """Keep the longest prefix of tests that fits, measured test by test rather than by re-encoding each guess."""
    total = len(results.tests)
    note = f" Only the first {{kept}} of {total} tests are listed, to fit PrairieLearn's 1 MB limit."
    shell = results.model_copy(update={"tests": [], "message": results.message + note.format(kept=total)})
    used = len(_encode(shell)) + 64  # the list's brackets, commas and indentation of the last entry, with room
    kept = 0
    for test in results.tests:
        text = test.model_dump_json(indent=2)
        size = len(text.encode("utf-8")) + 4 * (text.count("\n") + 1) + 2  # nested two levels deeper, then ",\n"
        if used + size > limit:
            break
        used += size
        kept += 1
    trimmed = results.model_copy(update={"tests": results.tests[:kept],
                                         "message": results.message + note.format(kept=kept)})
    while kept and len(_encode(trimmed)) > limit:  # the estimate above is generous; this is the guarantee
        kept -= 1
        trimmed = trimmed.model_copy(update={"tests": results.tests[:kept],
                                             "message": results.message + note.format(kept=kept)})
    return trimmed
