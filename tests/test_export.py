"""The export layer: every format parses back, maps graded/ungradable/error reports as its platform expects, and
never shows a candidate what for_candidate hides."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from junitparser import Error, Failure, JUnitXml, Properties, Skipped
from pydantic import ValidationError

from harness.batch.store import ResultStore
from harness.export import FORMATS, ExportError, export, load_reports, render
from harness.export.gradescope import GradescopeResults, GradescopeTest
from harness.export.prairielearn import CUT_NOTE, MAX_BYTES, PrairieLearnResults, PrairieLearnTest, fit
from harness.report import (Audience, CheckResult, CheckStatus, Environment, Report, RunStatus, Submission, Timings,
                            Visibility)

SECRET = "SECRET-EXPECTED-VALUE-123"
PRINTED = "PRINTED-BY-SUBMISSION-456"
TRACEBACK = "TRACEBACK-DETAIL-789"


def check(name: str, status: CheckStatus = CheckStatus.passed, *, max_points: float = 1,
          visibility: Visibility = Visibility.visible, message: str | None = None,
          description: str = "checks a thing") -> CheckResult:
    return CheckResult(name=name, description=description, status=status,
                       points=max_points if status is CheckStatus.passed else 0, max_points=max_points,
                       duration_seconds=0.25, visibility=visibility, message=message)


def graded(*checks: CheckResult, output: str | None = None, challenge_id: str = "tiny-scale") -> Report:
    score = sum(c.points for c in checks)
    max_score = sum(c.max_points for c in checks)
    return Report(challenge_id=challenge_id, submission=Submission(file_name="solution.py", sha256="ab" * 32),
                  status=RunStatus.graded, score=score, max_score=max_score,
                  percent=round(100 * score / max_score, 2) if max_score else 0, seed=7, checks=list(checks),
                  output=output, environment=Environment(harness_version="0.1.0"), timings=Timings(total=2.6))


def not_graded(status: RunStatus, reason: str) -> Report:
    return Report(challenge_id="tiny-scale", submission=Submission(file_name="solution.py"), status=status,
                  reason=reason, score=0, max_score=3, percent=0, environment=Environment(harness_version="0.1.0"))


def mixed() -> Report:
    """One check of each kind the mappings tell apart."""
    return graded(check("scales"), check("wrong", CheckStatus.failed, max_points=2, message="expected 2\nfound 3"),
                  check("slow", CheckStatus.timeout, message="ran past 5 s"), check("crashes", CheckStatus.error),
                  check("memory", CheckStatus.oom), check("later", CheckStatus.skipped),
                  check("secret", CheckStatus.failed, visibility=Visibility.hidden, message="expected 9"),
                  check("after", CheckStatus.passed, visibility=Visibility.after_due_date))


def secret_report() -> Report:
    return graded(check("shown", CheckStatus.failed, message="expected 1, found 2"),
                  check("hidden-one", CheckStatus.failed, visibility=Visibility.hidden,
                        message=f"expected {SECRET}, found 0"),
                  check("due-one", CheckStatus.failed, visibility=Visibility.after_due_date,
                        message=f"expected {SECRET} again"),
                  output=f"debug: {PRINTED}")


# --- Gradescope -----------------------------------------------------------------------------------


def test_gradescope_maps_each_check_to_a_test():
    data = json.loads(render([("alice", mixed())], "gradescope"))
    results = GradescopeResults.model_validate(data)
    assert results.score == 2 and results.output_format == "text" and results.stdout_visibility == "hidden"
    assert results.execution_time == 3
    assert [t.name for t in results.tests] == ["scales", "wrong", "slow", "crashes", "memory", "later", "secret",
                                                "after"]
    assert [t.number for t in results.tests] == [str(n) for n in range(1, 9)]
    assert [t.status for t in results.tests] == ["passed", "failed", "failed", "failed", "failed", "failed",
                                                  "failed", "passed"]
    assert [t.visibility for t in results.tests][-2:] == ["hidden", "after_due_date"]
    wrong = results.tests[1]
    assert (wrong.score, wrong.max_score) == (0, 2) and "expected 2\nfound 3" in wrong.output
    assert "ran out of time" in results.tests[2].output
    assert "2/9 points" in results.output and "2 of 8 checks passed" in results.output


@pytest.mark.parametrize("field, value", [("visibility", "public"), ("output_format", "html"),
                                          ("stdout_visibility", "sometimes"), ("extra_field", 1), ("score", -1)])
def test_gradescope_model_rejects_what_gradescope_does_not_document(field, value):
    data = json.loads(render([("alice", mixed())], "gradescope"))
    data[field] = value
    with pytest.raises(ValidationError):
        GradescopeResults.model_validate(data)


def test_gradescope_test_model_rejects_bad_status_and_visibility():
    good = {"name": "n", "score": 1, "max_score": 1, "status": "passed", "output": "", "visibility": "visible",
            "number": "1", "tags": []}
    GradescopeTest.model_validate(good)
    for field, value in [("status", "error"), ("visibility", "secret"), ("weight", 2)]:
        with pytest.raises(ValidationError):
            GradescopeTest.model_validate({**good, field: value})


def test_gradescope_ungradable_scores_zero_with_the_reason():
    report = not_graded(RunStatus.ungradable, "SyntaxError: invalid syntax (solution.py, line 3)\n  detail")
    data = json.loads(render([("bob", report)], "gradescope"))
    assert data["score"] == 0 and data["tests"] == []
    assert "could not be graded" in data["output"] and "SyntaxError: invalid syntax" in data["output"]
    assert "detail" not in data["output"]


def test_gradescope_error_says_the_grader_failed():
    data = json.loads(render([("bob", not_graded(RunStatus.error, "docker engine did not answer"))], "gradescope"))
    assert data["score"] == 0 and data["tests"] == []
    assert "grader failed" in data["output"] and "docker engine did not answer" in data["output"]
    assert "course staff" in data["output"] and "graded again" in data["output"]


# --- PrairieLearn ---------------------------------------------------------------------------------


def test_prairielearn_graded_score_is_a_fraction_and_checks_are_tests():
    data = json.loads(render([("alice", mixed())], "prairielearn"))
    results = PrairieLearnResults.model_validate(data)
    assert results.gradable and results.score == pytest.approx(2 / 9) and results.format_errors == []
    assert [(t.name, t.points, t.max_points) for t in results.tests][:2] == [("scales", 1, 1), ("wrong", 0, 2)]
    assert results.tests[1].message.startswith("Failed.") and "found 3" in results.tests[1].message
    assert "hidden" in results.tests[6].message and "expected 9" not in results.tests[6].message
    assert results.tests[0].description == "checks a thing"


def test_prairielearn_score_of_a_challenge_worth_nothing_is_zero():
    report = graded(check("free", CheckStatus.passed, max_points=0))
    assert json.loads(render([("a", report)], "prairielearn"))["score"] == 0.0


def test_prairielearn_model_validation():
    good = json.loads(render([("alice", mixed())], "prairielearn"))
    for field, value in [("score", 1.5), ("score", -0.1), ("images", []), ("gradable", "maybe")]:
        with pytest.raises(ValidationError):
            PrairieLearnResults.model_validate({**good, field: value})
    with pytest.raises(ValidationError):
        PrairieLearnTest.model_validate({**good["tests"][0], "status": "passed"})


def test_prairielearn_ungradable_is_not_gradable_with_a_format_error():
    report = not_graded(RunStatus.ungradable, "ImportError: no module named 'tensorflow'\nTraceback ...")
    data = json.loads(render([("bob", report)], "prairielearn"))
    assert data["gradable"] is False and data["score"] == 0.0 and data["tests"] == []
    assert data["format_errors"] == ["ImportError: no module named 'tensorflow'"]


def test_prairielearn_grader_error_is_not_gradable_and_blames_the_grader():
    data = json.loads(render([("bob", not_graded(RunStatus.error, "sandbox crashed"))], "prairielearn"))
    assert data["gradable"] is False and data["tests"] == []
    assert "grader's failure" in data["format_errors"][0] and "sandbox crashed" in data["format_errors"][0]
    assert "not a fault of your code" in data["message"]


def test_prairielearn_huge_report_is_cut_under_1_mb():
    long = "x" * 999
    checks = [check(f"check-{i}-" + "n" * 300, CheckStatus.failed, message=long, description="d" * 2000)
              for i in range(1500)]
    report = graded(*checks)
    assert len(report.model_dump_json()) > 3 * MAX_BYTES
    data = render([("alice", report)], "prairielearn")
    assert len(data) <= MAX_BYTES
    results = PrairieLearnResults.model_validate_json(data)
    assert len(results.tests) == 1500 and results.score == 0.0
    assert results.tests[0].description.endswith(CUT_NOTE) and "cut to fit" in results.message


def test_prairielearn_too_many_tests_keeps_the_first_and_says_so():
    report = graded(*[check(f"c{i}", CheckStatus.passed) for i in range(20_000)])
    data = render([("alice", report)], "prairielearn")
    assert len(data) <= MAX_BYTES
    results = PrairieLearnResults.model_validate_json(data)
    assert 0 < len(results.tests) < 20_000 and results.score == 1.0
    assert [t.name for t in results.tests[:3]] == ["c0", "c1", "c2"]
    assert f"Only the first {len(results.tests)} of 20000 tests" in results.message


def test_prairielearn_fit_leaves_small_results_alone():
    results = PrairieLearnResults(gradable=True, score=1, message="m", output="o")
    assert fit(results) is results
    assert len(fit(results.model_copy(update={"output": "y" * 5000}), limit=2000).model_dump_json()) <= 2000


# --- JUnit ----------------------------------------------------------------------------------------


def parse_junit(tmp_path: Path, data: bytes) -> JUnitXml:
    path = tmp_path / "junit.xml"
    path.write_bytes(data)
    return JUnitXml.fromfile(str(path))


def test_junit_parses_back_with_matching_counts(tmp_path):
    xml = parse_junit(tmp_path, render([("alice", mixed())], "junit"))
    (suite,) = list(xml)
    assert suite.name == "alice"
    assert (suite.tests, suite.failures, suite.errors, suite.skipped) == (8, 2, 3, 1)
    assert (xml.tests, xml.failures, xml.errors, xml.skipped) == (8, 2, 3, 1)
    cases = {case.name: case for case in suite}
    assert all(case.classname == "tiny-scale" for case in cases.values())
    assert cases["scales"].is_passed and cases["wrong"].is_failure and cases["later"].is_skipped
    assert all(cases[name].is_error for name in ("slow", "crashes", "memory"))
    failure = cases["wrong"].result[0]
    assert isinstance(failure, Failure) and failure.message == "expected 2" and failure.text == "expected 2\nfound 3"
    assert isinstance(cases["slow"].result[0], Error) and cases["slow"].result[0].type == "timeout"
    assert isinstance(cases["later"].result[0], Skipped)
    points = {p.name: p.value for p in cases["wrong"].child(Properties)}
    assert points["points"] == "0" and points["max_points"] == "2"
    assert {p.name: p.value for p in suite.properties()}["score"] == "2"


def test_junit_batch_is_one_document_with_a_suite_per_report(tmp_path):
    reports = [("alice", mixed()), ("bob", mixed()), ("carol", not_graded(RunStatus.ungradable, "SyntaxError"))]
    xml = parse_junit(tmp_path, render(reports, "junit"))
    assert [suite.name for suite in xml] == ["alice", "bob", "carol"]
    assert xml.tests == 17 and xml.errors == 7


@pytest.mark.parametrize("status", [RunStatus.ungradable, RunStatus.error])
def test_junit_not_graded_is_one_grading_error(tmp_path, status):
    xml = parse_junit(tmp_path, render([("bob", not_graded(status, "it broke\nline two"))], "junit"))
    (suite,) = list(xml)
    (case,) = list(suite)
    assert case.name == "grading" and case.is_error and suite.errors == 1
    assert case.result[0].message == f"{status.value}: it broke" and "line two" in case.result[0].text


def test_junit_survives_characters_xml_cannot_hold(tmp_path):
    report = graded(check("colour", CheckStatus.failed, message="\x1b[31mred\x1b[0m and \x00"), output="\x07bell")
    xml = parse_junit(tmp_path, render([("alice", report)], "junit"))
    (case,) = list(list(xml)[0])
    assert case.result[0].text == "\\x1b[31mred\\x1b[0m and \\x00"


def test_junit_suite_without_id_is_named_by_challenge(tmp_path):
    assert [s.name for s in parse_junit(tmp_path, render([("", mixed())], "junit"))] == ["tiny-scale"]


# --- CSV ------------------------------------------------------------------------------------------


def read_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"))))


def test_csv_columns_are_the_union_of_checks_in_first_seen_order():
    first = graded(check("a"), check("b", CheckStatus.failed, max_points=2))
    second = graded(check("c", max_points=0.5), check("a"))
    ungradable = not_graded(RunStatus.ungradable, "SyntaxError: bad")
    rows = read_csv(render([("s1", first), ("s2", second), ("s3", ungradable)], "csv"))
    assert rows[0] == ["id", "status", "score", "max_score", "percent", "a", "b", "c", "reason"]
    assert rows[1] == ["s1", "graded", "1", "3", "33.33", "1", "0", "", ""]
    assert rows[2] == ["s2", "graded", "1.5", "1.5", "100", "1", "", "0.5", ""]
    assert rows[3] == ["s3", "ungradable", "0", "3", "0", "", "", "", "SyntaxError: bad"]


def test_csv_guards_against_formula_injection():
    report = not_graded(RunStatus.ungradable, "=HYPERLINK(\"http://evil\")")
    rows = read_csv(render([("@alice", report), ("+bob", graded(check("-neg"))), ("\tcarol", mixed())], "csv"))
    assert rows[0][5] == "'-neg"
    assert [row[0] for row in rows[1:]] == ["'@alice", "'+bob", "'\tcarol"]
    assert rows[1][-1] == "'=HYPERLINK(\"http://evil\")"


# --- JSONL ----------------------------------------------------------------------------------------


def test_jsonl_is_one_report_per_line_with_its_id_first():
    reports = [("alice", mixed()), ("bob", not_graded(RunStatus.error, "line one\u2028line two\nthree"))]
    lines = render(reports, "jsonl").decode("utf-8").split("\n")
    assert lines[-1] == "" and len(lines) == 3
    for (student_id, report), line in zip(reports, lines):
        data = json.loads(line)
        assert next(iter(data)) == "id" and data.pop("id") == student_id
        assert Report.model_validate(data) == report


# --- Redaction ------------------------------------------------------------------------------------


def secret_batch() -> list[tuple[str, Report]]:
    return [("alice", secret_report()),
            ("bob", not_graded(RunStatus.ungradable, f"ValueError: bad shape\n  File x.py\n{TRACEBACK} {SECRET}"))]


CANDIDATE_FACING = ([(fmt, "candidate") for fmt in sorted(FORMATS)]
                    + [(fmt, "grader") for fmt in sorted(FORMATS) if FORMATS[fmt].candidate_only])


@pytest.mark.parametrize("fmt, audience", CANDIDATE_FACING)
def test_candidate_facing_exports_never_show_hidden_messages_or_output(fmt, audience):
    """Every format with the candidate audience, and Gradescope and PrairieLearn even with the grader's."""
    batches = [[pair] for pair in secret_batch()] if FORMATS[fmt].single else [secret_batch()]
    for reports in batches:
        data = render(reports, fmt, audience=audience)
        for marker in (SECRET, PRINTED, TRACEBACK):
            assert marker.encode() not in data, f"{marker} leaked into the {fmt} export"
    if FORMATS[fmt].single:
        assert b"expected 1, found 2" in render(batches[0], fmt, audience=audience)  # visible messages stay


@pytest.mark.parametrize("fmt", ["junit", "jsonl"])
def test_grader_view_keeps_hidden_messages_and_output(fmt):
    data = render(secret_batch(), fmt)
    assert SECRET.encode() in data and PRINTED.encode() in data and TRACEBACK.encode() in data


def test_grader_view_csv_keeps_the_full_reason():
    assert TRACEBACK.encode() in render(secret_batch(), "csv")
    assert TRACEBACK.encode() not in render(secret_batch(), "csv", audience=Audience.candidate)


def test_gradescope_and_prairielearn_redact_even_for_the_grader_audience():
    assert all(FORMATS[fmt].candidate_only for fmt in ("gradescope", "prairielearn"))
    assert not any(FORMATS[fmt].candidate_only for fmt in ("junit", "csv", "jsonl"))


# --- load_reports ---------------------------------------------------------------------------------


def test_load_reports_from_a_single_file(tmp_path):
    path = tmp_path / "alice.json"
    path.write_text(mixed().model_dump_json(indent=2))
    assert load_reports(path) == [("alice", mixed())]


def test_load_reports_from_a_batch_folder_sorted_by_id(tmp_path):
    store = ResultStore(tmp_path / "out")
    for student_id in ("carol", "alice", "bob"):
        store.save(student_id, mixed())
    store.write_tables([], [], challenge_id="tiny-scale", seed=7)
    (store.reports_dir / ".alice.json.abc.tmp").write_text("half")  # an interrupted atomic write
    (store.reports_dir / "notes.txt").write_text("not a report")
    loaded = load_reports(tmp_path / "out")
    assert [student_id for student_id, _ in loaded] == ["alice", "bob", "carol"]
    assert all(report == mixed() for _, report in loaded)


def test_load_reports_refuses_a_missing_path(tmp_path):
    with pytest.raises(ExportError, match="no such file or folder"):
        load_reports(tmp_path / "missing.json")


def test_load_reports_refuses_a_folder_that_is_not_a_batch(tmp_path):
    with pytest.raises(ExportError, match="no reports/ inside"):
        load_reports(tmp_path)
    (tmp_path / "alice.json").write_text("{}")
    with pytest.raises(ExportError, match="give its parent"):
        load_reports(tmp_path)


def test_load_reports_refuses_an_empty_batch(tmp_path):
    ResultStore(tmp_path / "out")
    with pytest.raises(ExportError, match="holds no reports"):
        load_reports(tmp_path / "out")


def test_load_reports_names_a_corrupt_report(tmp_path):
    store = ResultStore(tmp_path / "out")
    store.save("alice", mixed())
    (store.reports_dir / "bob.json").write_text('{"challenge_id": ')
    with pytest.raises(ExportError) as caught:
        load_reports(tmp_path / "out")
    assert str(store.reports_dir / "bob.json") in str(caught.value) and "not a valid score report" in str(caught.value)


def test_load_reports_names_the_first_invalid_field(tmp_path):
    path = tmp_path / "alice.json"
    data = json.loads(mixed().model_dump_json())
    data["checks"][1]["status"] = "exploded"
    path.write_text(json.dumps(data))
    with pytest.raises(ExportError, match=r"alice\.json: is not a valid score report: checks\.1\.status: "):
        load_reports(path)


# --- export and the registry ----------------------------------------------------------------------


def test_registry_names_every_format():
    assert sorted(FORMATS) == ["csv", "gradescope", "jsonl", "junit", "prairielearn"]
    assert all(name == exporter.name and exporter.suffix.startswith(".") for name, exporter in FORMATS.items())


def test_export_writes_the_file_and_returns_its_bytes(tmp_path):
    out = tmp_path / "results.json"
    data = export([("alice", mixed())], "gradescope", out)
    assert out.read_bytes() == data and json.loads(data)["score"] == 2
    assert export([("alice", mixed())], "csv", None, audience="candidate").startswith(b"id,status")


@pytest.mark.parametrize("fmt, audience, reports, match", [
    ("pdf", "grader", 1, "unknown export format 'pdf'; choose one of: gradescope"),
    ("csv", "student", 1, "unknown audience 'student'"),
    ("gradescope", "grader", 2, "holds one report, and 2 were given"),
    ("prairielearn", "grader", 0, "holds one report, and 0 were given"),
])
def test_export_refuses_what_it_cannot_do(fmt, audience, reports, match):
    with pytest.raises(ExportError, match=match):
        export([("alice", mixed())] * reports, fmt, None, audience=audience)


def test_export_refuses_an_output_in_a_missing_folder(tmp_path):
    with pytest.raises(ExportError, match="does not exist"):
        export([("alice", mixed())], "jsonl", tmp_path / "missing" / "out.jsonl")
    with pytest.raises(ExportError, match="is a folder"):
        export([("alice", mixed())], "jsonl", tmp_path)


def test_the_export_command_writes_each_format_and_refuses_what_it_cannot(tmp_path):
    """Through the CLI: a batch folder to CSV on stdout and to a file; one report to Gradescope; a batch to
    Gradescope (one report per file) is a usage error naming what to do."""
    from click.testing import CliRunner

    from harness.batch.store import ResultStore
    from harness.cli import main

    store = ResultStore(tmp_path / "out")
    reports = {"bob": mixed(), "alice": graded(check("test_a")), "carol": not_graded(RunStatus.ungradable, "no file")}
    for student_id, report in reports.items():
        store.save(student_id, report)
    runner = CliRunner()
    shown = runner.invoke(main, ["export", str(tmp_path / "out"), "--format", "csv"])
    assert shown.exit_code == 0, shown.output
    rows = list(csv.DictReader(io.StringIO(shown.stdout)))
    assert [row["id"] for row in rows] == ["alice", "bob", "carol"]
    written = runner.invoke(main, ["export", str(tmp_path / "out"), "--format", "junit", "-o", str(tmp_path / "j.xml")])
    assert written.exit_code == 0 and JUnitXml.fromfile(str(tmp_path / "j.xml")) is not None
    first = sorted((tmp_path / "out" / "reports").glob("*.json"))[0]
    one = runner.invoke(main, ["export", str(first), "--format", "gradescope"])
    assert one.exit_code == 0 and "tests" in json.loads(one.stdout)
    refused = runner.invoke(main, ["export", str(tmp_path / "out"), "--format", "gradescope"])
    assert refused.exit_code == 2 and "one report" in refused.stderr


def test_the_export_command_writes_the_class_page(tmp_path):
    from click.testing import CliRunner

    from harness.batch.store import ResultStore
    from harness.cli import main

    store = ResultStore(tmp_path / "out")
    store.save("alice", graded(check("test_a")))
    store.save("bob", not_graded(RunStatus.ungradable, "no <file>"))
    done = CliRunner().invoke(main, ["export", str(tmp_path / "out"), "--format", "html", "-o", str(tmp_path / "p.html")])
    assert done.exit_code == 0, done.output
    page = (tmp_path / "p.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "alice" in page and "no &lt;file&gt;" in page


def test_the_report_command_writes_the_class_page_into_the_batch_folder(tmp_path):
    from click.testing import CliRunner

    from harness.batch.store import ResultStore
    from harness.cli import main

    ResultStore(tmp_path / "out").save("alice", graded(check("test_a")))
    done = CliRunner().invoke(main, ["report", str(tmp_path / "out")])
    assert done.exit_code == 0, done.output
    assert "alice" in (tmp_path / "out" / "report.html").read_text()
    assert CliRunner().invoke(main, ["report", str(tmp_path)]).exit_code == 2  # not a batch folder
