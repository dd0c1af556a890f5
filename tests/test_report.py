"""The report model: its committed JSON Schema is current, candidate reports hide what they must."""

from __future__ import annotations

import json
from pathlib import Path

from harness.report import (Audience, CheckResult, CheckStatus, Environment, Report, RunStatus, Submission, Visibility,
                            clip, for_candidate, summary_line)

SCHEMA = Path(__file__).resolve().parent.parent / "docs" / "report.schema.json"


def make_report(*visibilities: Visibility) -> Report:
    checks = [CheckResult(name=f"c{i}", description="d", status=CheckStatus.failed, points=0, max_points=1,
                          duration_seconds=0.1, visibility=v, message="expected 1, found 2")
              for i, v in enumerate(visibilities)]
    checks.append(CheckResult(name="ok", description="d", status=CheckStatus.passed, points=1, max_points=1,
                              duration_seconds=0.1, visibility=Visibility.visible))
    return Report(challenge_id="x", submission=Submission(file_name="solution.py"), status=RunStatus.graded,
                  score=1, max_score=len(checks), percent=100 / len(checks), checks=checks, output="debug print",
                  environment=Environment(harness_version="0"))


def test_committed_schema_is_current():
    """Regenerate with: harness schema > docs/report.schema.json"""
    assert json.loads(SCHEMA.read_text()) == Report.model_json_schema()


def test_every_field_has_a_description():
    def walk(schema):
        for name, field in schema.get("properties", {}).items():
            assert "description" in field, name
    schema = Report.model_json_schema()
    walk(schema)
    for definition in schema["$defs"].values():
        walk(definition)


def test_candidate_report_drops_hidden_messages_and_output():
    report = for_candidate(make_report(Visibility.visible, Visibility.hidden, Visibility.after_due_date))
    messages = [check.message for check in report.checks]
    assert messages == ["expected 1, found 2", None, None, None]
    assert report.output is None and report.audience is Audience.candidate


def test_summary_never_claims_all_passed_with_hidden_checks():
    report = for_candidate(make_report(Visibility.hidden))
    line = summary_line(report)
    assert "1 of 2 checks passed" in line and "hidden checks count" in line
    assert "all" not in line.lower()


def test_clip_marks_truncation():
    assert clip("short") == ("short", False)
    text, cut = clip("x" * 5000)
    assert cut and len(text) == 1000 and text.endswith("...")


def test_candidate_report_keeps_notes_on_the_submission_but_not_on_the_sandbox(tmp_path, local_backend):
    """A notebook's conversion notes are the candidate's to act on; what the sandbox left open is the operator's
    (and, inside a platform's bundle where the grader's files are locked, not even true)."""
    from harness.grader import grade
    from conftest import CATALOG
    from harness.challenge import load_challenge

    tiny = load_challenge(CATALOG / "challenges" / "tiny-scale")
    path = tmp_path / "solution.py"
    path.write_text("def scale(x, k):\n    return x * k\n")
    report = make_report(Visibility.visible)
    report.notes = ["sandbox: no namespaces: the file system is visible", "cell 3: removed the shell line `!ls`"]
    assert for_candidate(report).notes == ["cell 3: removed the shell line `!ls`"]
    graded = grade(challenge=tiny, submission=path, backend=local_backend, seed=1)
    assert all(note.startswith("sandbox: ") for note in graded.notes) and graded.notes == [
        "sandbox: " + note for note in local_backend.isolation_notes()]
    assert for_candidate(graded).notes == []
