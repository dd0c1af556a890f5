"""The trusted-side check runner, on real pytest: one outcome per check, failing closed."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from harness.checks import ChecksError, ProbeResults, run_checks
from harness.report import CheckStatus, Visibility
from harness.sandbox.base import ProbeOutcome
from harness.sandbox.worker import encode


def write_checks(tmp_path: Path, body: str) -> Path:
    folder = tmp_path / "hidden"
    folder.mkdir(parents=True)
    (folder / "test_checks.py").write_text("import pytest\n" + textwrap.dedent(body))
    return folder


def fixtures(**outcomes: ProbeOutcome) -> dict:
    return {"probes": ProbeResults(outcomes), "reference": None, "seed": 1, "submission_source": "x = 1\n"}


def by_name(results):
    return {result.name: result for result in results}


def test_statuses_points_and_descriptions(tmp_path):
    folder = write_checks(tmp_path, '''
        @pytest.mark.points(3)
        def test_passes(probes):
            """A passing check."""
            assert probes["a"] == [1, 2]

        @pytest.mark.visibility("hidden")
        def test_fails(probes):
            """A failing check."""
            assert probes["a"] == [3], "expected [3], found [1, 2]"

        def test_skipped():
            pytest.skip("not today")

        def test_probe_timed_out(probes):
            probes["slow"]

        def test_probe_ran_out_of_memory(probes):
            probes["big"]

        def test_probe_missing(probes):
            probes["never"]

        @pytest.fixture
        def broken():
            raise RuntimeError("fixture broke")

        @pytest.fixture
        def rule():
            assert False, "rule broken"

        def test_gated_by_a_rule(rule):
            pass

        def test_setup_error(broken):
            pass
    ''')
    results = by_name(run_checks(folder, fixtures(
        a=ProbeOutcome("ok", value=encode([1, 2])), slow=ProbeOutcome("timeout", message="ran past"),
        big=ProbeOutcome("oom", message="ran out"))))
    assert results["test_passes"].status is CheckStatus.passed and results["test_passes"].points == 3
    assert results["test_passes"].description == "A passing check."
    failed = results["test_fails"]
    assert failed.status is CheckStatus.failed and failed.points == 0 and failed.visibility is Visibility.hidden
    assert "expected [3], found [1, 2]" in failed.message
    assert results["test_skipped"].status is CheckStatus.skipped and results["test_skipped"].points == 0
    assert results["test_probe_timed_out"].status is CheckStatus.timeout
    assert results["test_probe_ran_out_of_memory"].status is CheckStatus.oom
    assert results["test_probe_missing"].status is CheckStatus.error
    assert results["test_setup_error"].status is CheckStatus.error
    assert results["test_gated_by_a_rule"].status is CheckStatus.failed
    assert "rule broken" in results["test_gated_by_a_rule"].message
    assert results["test_skipped"].description == "test_skipped"  # no docstring: the name stands in


def test_undecodable_probe_value_is_an_error_for_its_checks(tmp_path):
    folder = write_checks(tmp_path, '''
        def test_reads(probes):
            """Reads a forged value."""
            probes["a"]
    ''')
    forged = {"__tensor__": {"dtype": "object", "shape": [1], "data": ""}}
    result = run_checks(folder, fixtures(a=ProbeOutcome("ok", value=forged)))[0]
    assert result.status is CheckStatus.error and "could not be decoded" in result.message


def test_a_check_file_that_does_not_import_is_the_graders_error(tmp_path):
    folder = write_checks(tmp_path, "import no_such_module\n")
    with pytest.raises(ChecksError, match="could not be collected"):
        run_checks(folder, fixtures())


def test_no_checks_at_all_is_the_graders_error(tmp_path):
    folder = write_checks(tmp_path, "x = 1\n")
    with pytest.raises(ChecksError, match="0 checks"):
        run_checks(folder, fixtures())


def test_a_conftest_beside_the_checks_is_never_loaded(tmp_path):
    folder = write_checks(tmp_path, '''
        def test_one():
            """Fails unless a conftest rigged it."""
            assert False, "honest failure"
    ''')
    (folder / "conftest.py").write_text(textwrap.dedent('''
        import pytest
        @pytest.hookimpl(hookwrapper=True)
        def pytest_runtest_makereport(item, call):
            outcome = yield
            outcome.get_result().outcome = "passed"
    '''))
    assert run_checks(folder, fixtures())[0].status is CheckStatus.failed


def test_same_named_check_files_of_two_challenges_each_run_their_own(tmp_path):
    first = write_checks(tmp_path / "one", 'def test_first():\n    """One."""\n')
    second = write_checks(tmp_path / "two", 'def test_second():\n    """Two."""\n')
    assert [r.name for r in run_checks(first, fixtures())] == ["test_first"]
    assert [r.name for r in run_checks(second, fixtures())] == ["test_second"]


def test_name_references_finds_forbidden_names_however_spelled():
    from harness.testing import TORCH_LR_SCHEDULERS, name_references

    source = (
        "import torch.optim.lr_scheduler as s\n"
        "from torch.optim import lr_scheduler\n"
        "x = torch.optim.lr_scheduler.StepLR\n"
        "y = getattr(torch.optim, 'lr_scheduler')\n"
        "'''A docstring that mentions StepLR in prose is fine.'''\n"
        "def step_lr(t):\n    return t\n"
    )
    assert name_references(source, TORCH_LR_SCHEDULERS) == [
        "line 1: lr_scheduler", "line 2: lr_scheduler", "line 3: StepLR", "line 3: lr_scheduler", "line 4: lr_scheduler"]
