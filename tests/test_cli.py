"""The command line through Click's CliRunner: exit codes, JSON on stdout, a summary on stderr."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness import __version__
from harness.cli import main
from harness.report import Report

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_version_and_help(runner):
    assert __version__ in runner.invoke(main, ["--version"]).output
    for command in (["--help"], ["grade", "--help"], ["validate", "--help"], ["image", "build", "--help"]):
        result = runner.invoke(main, command)
        assert result.exit_code == 0 and "Usage:" in result.output


def test_list_shows_every_challenge(runner):
    result = runner.invoke(main, ["list"])
    assert result.exit_code == 0
    assert "weight-decay-exclude-bias" in result.output and "cosine-annealing-tmax" in result.output


def test_show_prints_the_statement(runner):
    result = runner.invoke(main, ["show", "cosine-annealing-tmax"])
    assert result.exit_code == 0
    assert result.output.strip() == (REPO / "challenges/cosine-annealing-tmax/statement.md").read_text().strip()


def test_unknown_challenge_is_a_usage_error(runner):
    result = runner.invoke(main, ["show", "no-such-thing"])
    assert result.exit_code == 2 and "no challenge named 'no-such-thing'" in result.output


def test_init_copies_statement_starter_and_public_tests_but_never_hidden_files(runner, tmp_path):
    target = tmp_path / "work"
    result = runner.invoke(main, ["init", "weight-decay-exclude-bias", str(target)])
    assert result.exit_code == 0, result.output
    names = sorted(path.name for path in target.iterdir())
    assert "statement.md" in names and "solution.py" in names
    hidden = {path.name for path in (REPO / "challenges/weight-decay-exclude-bias/hidden").iterdir()}
    assert not hidden & set(names)
    assert not any("def probe_" in (target / name).read_text() for name in names)
    again = runner.invoke(main, ["init", "weight-decay-exclude-bias", str(target)])
    assert again.exit_code == 2 and "will not overwrite" in again.output


def test_schema_prints_the_report_schema(runner):
    result = runner.invoke(main, ["schema"])
    assert result.exit_code == 0 and json.loads(result.output) == Report.model_json_schema()


@pytest.mark.parametrize("name, content, reason", [
    ("missing.py", None, "no such file"),
    ("solution.txt", "x = 1\n", "not a Python source file"),
    ("solution.py", "def broken(:\n", "syntax error at line 1"),
    ("solution.py", "x = 1\0\n", "cannot be parsed"),
    ("solution.py", b"\xff\xfe\x00", "not UTF-8"),
])
def test_ungradable_submissions_exit_1_with_a_reason(runner, tmp_path, name, content, reason):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    result = runner.invoke(main, ["grade", "cosine-annealing-tmax", str(path), "--backend", "local"])
    assert result.exit_code == 1
    report = Report.model_validate_json(result.stdout)
    assert report.status.value == "ungradable" and reason in report.reason and report.score == 0


def test_a_folder_submission_uses_only_the_submission_file(runner, tmp_path):
    (tmp_path / "notes.py").write_text("x = 1\n")
    result = runner.invoke(main, ["grade", "cosine-annealing-tmax", str(tmp_path), "--backend", "local"])
    assert result.exit_code == 1 and "has no solution.py" in Report.model_validate_json(result.stdout).reason


def test_grade_writes_the_report_to_a_file_for_the_candidate(runner, tmp_path):
    out = tmp_path / "report.json"
    starter = REPO / "challenges/cosine-annealing-tmax/starter/solution.py"
    result = runner.invoke(main, ["grade", "cosine-annealing-tmax", str(starter), "--backend", "local", "--seed", "3",
                                  "--audience", "candidate", "-o", str(out)])
    assert result.exit_code == 0, result.output
    report = Report.model_validate_json(out.read_text())
    assert report.audience.value == "candidate" and report.seed == 3 and report.score < report.max_score
    assert "points" in result.stderr


def test_a_malformed_challenge_is_the_graders_error_and_an_unknown_one_a_usage_error(runner, tmp_path):
    import shutil

    catalog = tmp_path / "challenges"
    shutil.copytree(REPO / "tests/fixtures/catalog/challenges/tiny-scale", catalog / "tiny-scale")
    toml = catalog / "tiny-scale" / "challenge.toml"
    toml.write_text(toml.read_text().replace("max_score = 3", "max_score = -3"))
    broken = runner.invoke(main, ["--challenges", str(catalog), "validate", "tiny-scale"])
    assert broken.exit_code == 3 and "field 'max_score'" in broken.output
    unknown = runner.invoke(main, ["--challenges", str(catalog), "validate", "nope"])
    assert unknown.exit_code == 2 and "no challenge named 'nope'" in unknown.output


def test_an_unwritable_output_file_still_prints_the_report(runner, tmp_path):
    starter = REPO / "tests/fixtures/catalog/challenges/tiny-quiz/starter/answers.toml"
    catalog = REPO / "tests/fixtures/catalog/challenges"
    result = runner.invoke(main, ["--challenges", str(catalog), "grade", "tiny-quiz", str(starter),
                                  "-o", str(tmp_path / "missing-folder" / "report.json")])
    assert result.exit_code == 3 and "could not write" in result.stderr
    assert Report.model_validate_json(result.stdout).score == 0


INTERRUPTED_WHILE_TORCH_RUNS = """
import threading, time
import torch
import harness.cli as cli

def busy():  # as the reference run is, in its thread, when Ctrl-C lands
    x = torch.randn(300, 300)
    while True:
        x = (x @ x).tanh()

threading.Thread(target=busy, daemon=True).start()
time.sleep(0.3)

def interrupted(standalone_mode):
    raise SystemExit(cli.EXIT_INTERRUPTED)  # what `grade` does after stopping the sandbox

cli.main = interrupted
cli.run()
"""


def test_an_interrupt_while_a_torch_thread_runs_exits_130_without_aborting():
    """Tearing the interpreter down under a thread inside torch aborts the process (SIGABRT, 'terminate called
    without an active exception'); the CLI leaves without the teardown."""
    import subprocess
    import sys

    for _ in range(3):
        done = subprocess.run([sys.executable, "-c", INTERRUPTED_WHILE_TORCH_RUNS], capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 130, done.stderr[-2000:]
        assert "terminate called" not in done.stderr


EXITS_AFTER_GRADING = """
import atexit, sys, threading, time
import harness.cli as cli

marker, later = sys.argv[1], sys.argv[2]
atexit.register(lambda: open(marker, "a").write("atexit ran\\n"))

def slow_writer():  # a non-daemon thread still working when the command returns: joined, as Python would
    time.sleep(0.5)
    open(later, "w").write("done")

command = cli.main

def main(**options):
    try:
        return command(**options)
    finally:
        threading.Thread(target=slow_writer).start()

cli.main = main
sys.argv = ["harness"] + sys.argv[3:]
cli.run()
"""


@pytest.mark.parametrize("name, content, code", [
    ("ref", None, 0),
    ("syntax", "def scale(x, k:\n", 1),
])
def test_leaving_after_grading_skips_only_the_interpreters_teardown(tmp_path, name, content, code):
    """Once torch is loaded, the CLI leaves with os._exit (the teardown costs 0.3-0.5 s): still the whole report on
    a pipe, the exit status, every atexit handler and every non-daemon thread finished."""
    import subprocess
    import sys

    catalog = REPO / "tests/fixtures/catalog/challenges"
    submission = catalog.parent / "reference_solutions/tiny-scale/solution.py"
    if content is not None:
        submission = tmp_path / "solution.py"
        submission.write_text(content)
    marker, later = tmp_path / "marker", tmp_path / "later"
    done = subprocess.run([sys.executable, "-c", EXITS_AFTER_GRADING, str(marker), str(later), "--challenges",
                           str(catalog), "grade", "tiny-scale", str(submission), "--backend", "local", "--seed", "3"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == code, done.stderr[-2000:]
    report = Report.model_validate_json(done.stdout)
    assert report.status.value == ("graded" if code == 0 else "ungradable")
    assert (report.score == report.max_score) if code == 0 else report.score == 0
    assert marker.read_text() == "atexit ran\n" and later.read_text() == "done"


def test_grade_takes_a_jupyter_notebook(runner, tmp_path):
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    source = (REPO / "reference_solutions/cosine-annealing-tmax/solution.py").read_text()
    cells = [new_markdown_cell("My solution"), new_code_cell("%matplotlib inline\n" + source), new_code_cell("make_scheduler")]
    path = tmp_path / "nb.ipynb"
    path.write_text(nbformat.writes(new_notebook(cells=cells)))
    result = runner.invoke(main, ["grade", "cosine-annealing-tmax", str(path), "--backend", "local"])
    assert result.exit_code == 0, result.output
    report = Report.model_validate_json(result.stdout)
    assert report.submission.file_name.endswith(".ipynb") and report.score == report.max_score
