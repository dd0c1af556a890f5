"""Batch results on disk: atomic writes, saved reports and when they are current, grades.csv, batch.json."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from pathlib import Path

import pytest

from harness.batch import store as store_module
from harness.batch.discover import BatchInputError
from harness.batch.store import CSV_HEADER, ResultStore, Row, atomic_write, row_for, submission_sha256
from harness.batch.summary import summarize
from harness.report import (CheckResult, CheckStatus, Environment, Report, RunStatus, Submission, Timings,
                            Visibility)

SOLUTION = b"def scale(x, k):\n    return x * k\n"


def make_report(status: RunStatus = RunStatus.graded, *, score: float = 2, max_score: float = 3,
                reason: str | None = None, sha256: str | None = "ab" * 32, seed: int | None = 7,
                challenge_hash: str | None = "c" * 64, harness_version: str = "0.1.0", seconds: float = 1.234) -> Report:
    checks = [CheckResult(name="scales", description="d", status=CheckStatus.passed if score else CheckStatus.failed,
                          points=score, max_points=max_score, duration_seconds=0.1, visibility=Visibility.visible)]
    return Report(challenge_id="tiny-scale", submission=Submission(file_name="solution.py", sha256=sha256),
                  status=status, reason=reason, score=score, max_score=max_score,
                  percent=round(100 * score / max_score, 2), seed=seed,
                  checks=checks if status is RunStatus.graded else [],
                  environment=Environment(harness_version=harness_version, challenge_hash=challenge_hash),
                  timings=Timings(total=seconds))


def leftovers(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.name.endswith(".tmp"))


# --- atomic_write ------------------------------------------------------------------------------


def test_atomic_write_creates_and_replaces(tmp_path):
    target = tmp_path / "grades.csv"
    atomic_write(target, b"first")
    atomic_write(target, b"second")
    assert target.read_bytes() == b"second"
    assert leftovers(tmp_path) == []
    assert target.stat().st_mode & 0o777 == store_module._FILE_MODE  # what open() would give, not mkstemp's 0600


def test_atomic_write_removes_its_temporary_file_when_it_fails(tmp_path):
    target = tmp_path / "report.json"
    (target / "inside").mkdir(parents=True)  # a non-empty folder cannot be replaced by a file
    with pytest.raises(OSError):
        atomic_write(target, b"data")
    assert leftovers(tmp_path) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]
    assert target.is_dir()


def test_atomic_write_into_a_missing_folder_fails_cleanly(tmp_path):
    with pytest.raises(FileNotFoundError):
        atomic_write(tmp_path / "missing" / "x.json", b"data")


# --- submission_sha256 -------------------------------------------------------------------------


def test_submission_sha256_is_what_grading_records(tmp_path, tiny):
    path = tmp_path / "alice.py"
    path.write_bytes(SOLUTION)
    expected = hashlib.sha256(SOLUTION).hexdigest()
    assert submission_sha256(tiny, path) == expected
    (tmp_path / "bob").mkdir()
    (tmp_path / "bob" / "solution.py").write_bytes(SOLUTION)
    assert submission_sha256(tiny, tmp_path / "bob") == expected


def test_submission_sha256_of_an_unparsable_file_is_still_known(tmp_path, tiny):
    path = tmp_path / "alice.py"
    path.write_bytes(b"def broken(:\n")
    assert submission_sha256(tiny, path) == hashlib.sha256(b"def broken(:\n").hexdigest()


def test_submission_sha256_is_none_when_nothing_could_be_read(tmp_path, tiny):
    assert submission_sha256(tiny, tmp_path / "missing.py") is None
    (tmp_path / "empty").mkdir()
    assert submission_sha256(tiny, tmp_path / "empty") is None
    (tmp_path / "notes.txt").write_text("x")
    assert submission_sha256(tiny, tmp_path / "notes.txt") is None


# --- rows --------------------------------------------------------------------------------------


def test_row_for_takes_the_reasons_first_line_cut_to_300_characters():
    report = make_report(RunStatus.ungradable, score=0, reason="x" * 400 + "\nTraceback ...", sha256=None)
    row = row_for("bob", report)
    assert row == Row(student_id="bob", score=0, max_score=3, percent=0, status="ungradable",
                      reason="x" * 297 + "...", seconds=1.234, sha256="")
    assert row_for("alice", make_report()).reason == ""


# --- ResultStore -------------------------------------------------------------------------------


def test_the_store_makes_its_folders(tmp_path):
    store = ResultStore(tmp_path / "out" / "batch1")
    assert (tmp_path / "out" / "batch1" / "reports").is_dir()
    assert store.report_path("alice") == tmp_path / "out" / "batch1" / "reports" / "alice.json"
    ResultStore(tmp_path / "out" / "batch1")  # an existing batch folder is fine


def test_an_out_path_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "out").write_text("x")
    with pytest.raises(BatchInputError, match=r"out: exists and is not a folder"):
        ResultStore(tmp_path / "out")


def test_report_paths_refuse_ids_that_are_not_file_names(tmp_path):
    store = ResultStore(tmp_path)
    for bad in ("../evil", ".hidden", "", "a/b"):
        with pytest.raises(ValueError):
            store.report_path(bad)


def test_save_and_load_round_trip(tmp_path):
    store = ResultStore(tmp_path)
    report = make_report()
    store.save("alice", report)
    text = store.report_path("alice").read_text()
    assert text.startswith('{\n  "schema_version"') and text.endswith("}\n")
    assert store.load("alice") == report
    assert leftovers(tmp_path / "reports") == []


def test_load_gives_none_for_missing_and_unreadable_reports(tmp_path, caplog):
    store = ResultStore(tmp_path)
    assert store.load("nobody") is None
    store.report_path("broken").write_text("{not json")
    store.report_path("wrong").write_text(json.dumps({"status": "graded"}))
    store.report_path("binary").write_bytes(b"\xff\xfe\x00")
    for student_id in ("broken", "wrong", "binary"):
        assert store.load(student_id) is None
    assert "broken.json is not a readable report" in caplog.text


CURRENT = {"sha256": "ab" * 32, "challenge_hash": "c" * 64, "harness_version": "0.1.0", "seed": 7}


def test_a_report_with_the_same_four_facts_is_current(tmp_path):
    store = ResultStore(tmp_path)
    assert store.is_current(make_report(), **CURRENT)
    assert store.is_current(make_report(RunStatus.ungradable, score=0, reason="syntax error"), **CURRENT)


@pytest.mark.parametrize("field, other", [("sha256", "ef" * 32), ("sha256", None), ("challenge_hash", "d" * 64),
                                          ("harness_version", "0.2.0"), ("seed", 8)])
def test_a_report_differing_in_any_fact_is_not_current(tmp_path, field, other):
    assert not ResultStore(tmp_path).is_current(make_report(), **(CURRENT | {field: other}))


def test_a_report_that_could_not_be_read_is_never_current(tmp_path):
    """A report without a submission sha256 matches a None sha256, but there is nothing to compare."""
    assert not ResultStore(tmp_path).is_current(make_report(sha256=None), **(CURRENT | {"sha256": None}))


def test_an_error_report_is_never_current(tmp_path):
    report = make_report(RunStatus.error, score=0, reason="the sandbox failed")
    assert not ResultStore(tmp_path).is_current(report, **CURRENT)


def read_csv(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_grades_csv_and_summary_json(tmp_path):
    store = ResultStore(tmp_path)
    reports = {"alice": make_report(score=3), "bob": make_report(RunStatus.ungradable, score=0,
                                                                  reason='line 3: "unexpected", indent\nmore', sha256=None),
               "carol": make_report(score=0.1 + 0.2, seconds=0.5)}
    rows = [row_for(student_id, report) for student_id, report in reports.items()]
    store.write_tables(rows, list(reports.values()), challenge_id="tiny-scale", seed=7)
    table = read_csv(tmp_path / "grades.csv")
    assert table == [
        CSV_HEADER,
        ["alice", "3", "3", "100", "graded", "", "1.23", "ab" * 32],
        ["bob", "0", "3", "0", "ungradable", 'line 3: "unexpected", indent', "1.23", ""],
        ["carol", "0.3", "3", "10", "graded", "", "0.5", "ab" * 32],
    ]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary == summarize(list(reports.values()), challenge_id="tiny-scale", seed=7)
    assert leftovers(tmp_path) == []


def test_grades_csv_has_a_column_for_each_field_of_a_row():
    assert len(CSV_HEADER) == len(Row.__dataclass_fields__)


@pytest.mark.parametrize("text", ["=HYPERLINK(\"http://x\")", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_formulas_are_defused_in_grades_csv(tmp_path, text):
    store = ResultStore(tmp_path)
    row = row_for("x", make_report(RunStatus.ungradable, score=0, reason="r"))
    row.student_id, row.reason = text, text
    store.write_tables([row], [], challenge_id="tiny-scale", seed=7)
    cells = read_csv(tmp_path / "grades.csv")[1]
    assert cells[0] == "'" + text and cells[5] == "'" + text


def test_harmless_text_is_left_alone_in_grades_csv(tmp_path):
    store = ResultStore(tmp_path)
    row = row_for("o'brien", make_report(RunStatus.ungradable, score=0, reason="a=b, c+d"))
    store.write_tables([row], [], challenge_id="tiny-scale", seed=7)
    cells = read_csv(tmp_path / "grades.csv")[1]
    assert cells[0] == "o'brien" and cells[5] == "a=b, c+d"


def test_the_batch_seed_is_kept_for_resuming(tmp_path):
    store = ResultStore(tmp_path)
    assert store.read_batch_seed() is None
    store.write_batch_seed(12345, "tiny-scale")
    assert json.loads((tmp_path / "batch.json").read_text()) == {"seed": 12345, "challenge_id": "tiny-scale"}
    assert ResultStore(tmp_path).read_batch_seed() == 12345
    assert ResultStore(tmp_path).read_batch_seed("tiny-scale") == 12345
    store.write_batch_seed(99)
    assert store.read_batch_seed("anything") == 99  # no challenge recorded: nothing to disagree with


def test_a_batch_folder_of_another_challenge_is_refused(tmp_path):
    store = ResultStore(tmp_path)
    store.write_batch_seed(1, "tiny-scale")
    with pytest.raises(BatchInputError, match=r"holds a batch of challenge 'tiny-scale', not 'tiny-quiz'; choose another --out"):
        store.read_batch_seed("tiny-quiz")


@pytest.mark.parametrize("content", ["{oops", "[]", '{"seed": "12"}', '{"seed": true}', '{"challenge_id": "x"}'])
def test_a_damaged_batch_json_is_an_error_naming_it(tmp_path, content):
    (tmp_path / "batch.json").write_text(content)
    with pytest.raises(BatchInputError, match=r"batch\.json: .*delete it to start the batch afresh"):
        ResultStore(tmp_path).read_batch_seed()


def test_saving_from_many_threads_leaves_whole_reports(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    store = ResultStore(tmp_path)
    reports = [make_report(score=i % 4) for i in range(40)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: store.save(f"s{i % 10}", reports[i]), range(40)))
    for index in range(10):
        assert store.load(f"s{index}") is not None
    assert leftovers(tmp_path / "reports") == []
    assert sorted(os.listdir(tmp_path / "reports")) == sorted(f"s{i}.json" for i in range(10))


def test_csv_is_plain_utf8(tmp_path):
    store = ResultStore(tmp_path)
    store.write_tables([row_for("zoë", make_report())], [], challenge_id="tiny-scale", seed=7)
    data = (tmp_path / "grades.csv").read_bytes()
    assert data.startswith(b"id,score,") and "zoë".encode() in data
    assert list(csv.reader(io.StringIO(data.decode())))[1][0] == "zoë"
