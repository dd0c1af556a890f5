"""JUnit XML, the format CI systems and LMS plugins already read: one <testsuite> per report, one <testcase> per check.

Built with junitparser, so what is written is what junitparser (and the tools that share its reading of the format)
parse back. A check's status maps onto JUnit's outcomes: failed is a <failure>; error, timeout and oom are an <error>
(the check could not judge, which JUnit tells apart from a wrong answer); skipped is <skipped>. Points go in the
testcase's own <properties> (points, max_points), as pytest's record_property writes them. A report that was not
graded (ungradable, or the grader's error) becomes one testcase named "grading" holding an <error> with the reason.

Grader view by default: full messages, the full reason, and the submission's captured output as the suite's
<system-out>. With the candidate audience the report goes through `for_candidate` first.
"""

from __future__ import annotations

import io
import re
from typing import Sequence

from junitparser import Error, Failure, JUnitXml, Properties, Property, Skipped, SystemOut, TestCase, TestSuite

from harness.report import Audience, CheckResult, CheckStatus, Report, RunStatus, for_candidate

GRADING_CASE = "grading"

# Characters XML 1.0 cannot hold at all, even escaped (NUL, most C0 controls, lone surrogates, U+FFFE/U+FFFF):
# ElementTree writes them anyway and the file then fails to parse, so each is written out as an escape instead.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """`text` with every character XML cannot carry replaced by its Python escape (ANSI colours stay legible)."""
    return _NOT_XML.sub(lambda match: ascii(match.group())[1:-1], text)


def render(reports: Sequence[tuple[str, Report]], audience: Audience = Audience.grader) -> bytes:
    """One <testsuites> document holding a <testsuite> for each (id, report), in the order given."""
    document = JUnitXml(name="harness")
    for student_id, report in reports:
        view = for_candidate(report) if audience is Audience.candidate else report
        # append, not add_testsuite: junitparser merges suites it considers equal, and two reports must stay two
        document.append(suite_for(student_id, view))
    document.update_statistics()
    buffer = io.BytesIO()
    document.write(buffer)
    return buffer.getvalue() + b"\n"


def suite_for(student_id: str, report: Report) -> TestSuite:
    """The suite for one report, named by the student id (or the challenge id, when there is no id)."""
    suite = TestSuite(xml_text(student_id or report.challenge_id))
    for name, value in _suite_properties(report):
        suite.add_property(name, xml_text(value))
    if report.status is RunStatus.graded:
        suite.add_testcases([_case(report.challenge_id, check) for check in report.checks])
    else:
        suite.add_testcase(_not_graded(report))
    if report.output:
        suite.append(SystemOut(xml_text(report.output)))
    return suite


def _suite_properties(report: Report) -> list[tuple[str, str]]:
    values = [("challenge_id", report.challenge_id), ("status", report.status.value), ("score", f"{report.score:g}"),
              ("max_score", f"{report.max_score:g}"), ("percent", f"{report.percent:g}"),
              ("audience", report.audience.value)]
    if report.seed is not None:
        values.append(("seed", str(report.seed)))
    if report.submission.sha256:
        values.append(("sha256", report.submission.sha256))
    return values


def _case(challenge_id: str, check: CheckResult) -> TestCase:
    case = TestCase(xml_text(check.name), xml_text(challenge_id), check.duration_seconds)
    properties = Properties()
    for name, value in (("points", f"{check.points:g}"), ("max_points", f"{check.max_points:g}"),
                        ("visibility", check.visibility.value), ("description", xml_text(check.description))):
        properties.add_property(Property(name, value))
    case.append(properties)
    if check.status is not CheckStatus.passed:
        case.result = [_result(check)]
    return case


def _result(check: CheckResult) -> Failure | Error | Skipped:
    """The JUnit outcome of a check that did not pass: its message's first line as the attribute, all of it as text."""
    message = check.message or ""
    first = message.strip().splitlines()[0] if message.strip() else check.status.value
    result: Failure | Error | Skipped
    if check.status is CheckStatus.failed:
        result = Failure(xml_text(first), check.status.value)
    elif check.status is CheckStatus.skipped:
        result = Skipped(xml_text(first), check.status.value)
    else:  # error, timeout, oom: the check could not judge
        result = Error(xml_text(first), check.status.value)
    if message:
        result.text = xml_text(message)
    return result


def _not_graded(report: Report) -> TestCase:
    """The one testcase of a report that was not graded: an <error> with the reason, and whose fault it was."""
    case = TestCase(GRADING_CASE, xml_text(report.challenge_id), report.timings.total)
    reason = report.reason or "no reason was given"
    who = ("the submission cannot be graded until the candidate fixes it" if report.status is RunStatus.ungradable
           else "the grader failed; not the candidate's fault, grade it again")
    first = reason.strip().splitlines()[0] if reason.strip() else reason
    error = Error(xml_text(f"{report.status.value}: {first}"), report.status.value)
    error.text = xml_text(f"{who}\n{reason}")
    case.result = [error]
    return case
