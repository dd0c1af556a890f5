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


# ---------------------------------------------------------------- one pytest session per challenge, many runs


def test_checks_are_collected_once_and_their_fixtures_set_up_afresh_for_every_submission(tmp_path):
    """A batch pays collection once: the check file is imported once, yet every run sets up and tears down every
    fixture (session-scoped too) with that submission's values, as a fresh pytest.main would."""
    log = tmp_path / "log.txt"
    folder = write_checks(tmp_path, f'''
        LOG = {str(log)!r}
        open(LOG, "a").write("imported\\n")

        @pytest.fixture(scope="session")
        def shared():
            open(LOG, "a").write("setup\\n")
            yield []
            open(LOG, "a").write("teardown\\n")

        def test_value(probes, shared):
            """The value is this submission's."""
            shared.append(1)
            assert probes["a"] == [1] and shared == [1]
    ''')
    outcomes = [run_checks(folder, fixtures(a=ProbeOutcome("ok", value=encode(value))))[0].status
                for value in ([1], [2], [1])]
    assert outcomes == [CheckStatus.passed, CheckStatus.failed, CheckStatus.passed]
    assert log.read_text().split() == ["imported"] + ["setup", "teardown"] * 3


def test_a_reused_session_judges_exactly_as_a_fresh_one(tmp_path):
    from harness import checks

    folder = write_checks(tmp_path, '''
        @pytest.mark.points(2)
        def test_equal(probes):
            """Equal."""
            assert probes["a"] == [1, 2], f"found {probes['a']}"

        def test_missing(probes):
            """Reads a probe that may be missing."""
            probes["b"]
    ''')
    submissions = [fixtures(a=ProbeOutcome("ok", value=encode(value))) for value in ([1, 2], [3], [1, 2])]
    reused = [run_checks(folder, one) for one in submissions]
    fresh = []
    for one in submissions:
        checks._sessions.clear()
        fresh.append(run_checks(folder, one))

    def comparable(results):
        return [result.model_dump(exclude={"duration_seconds"}) for result in results]

    assert [comparable(r) for r in reused] == [comparable(r) for r in fresh]
    assert [r[0].status for r in reused] == [CheckStatus.passed, CheckStatus.failed, CheckStatus.passed]


def test_an_edited_check_file_is_collected_again(tmp_path):
    folder = write_checks(tmp_path, 'def test_old():\n    """Old."""\n')
    assert [r.name for r in run_checks(folder, fixtures())] == ["test_old"]
    (folder / "test_checks.py").write_text('def test_new_and_longer_name():\n    """New."""\n')
    assert [r.name for r in run_checks(folder, fixtures())] == ["test_new_and_longer_name"]


def test_what_a_check_prints_never_reaches_the_graders_output(tmp_path, capfd):
    """`harness grade` prints the report on stdout: a check's print must not land in the middle of it."""
    folder = write_checks(tmp_path, '''
        def test_chatty():
            """Prints."""
            print("CHATTER FROM A CHECK")
    ''')
    for _ in range(2):
        assert run_checks(folder, fixtures())[0].status is CheckStatus.passed
    assert "CHATTER" not in capfd.readouterr().out
    print("still mine")
    assert capfd.readouterr().out == "still mine\n"


@pytest.mark.parametrize("ending", ["pytest.exit('stop')", "raise KeyboardInterrupt"])
def test_a_check_that_ends_pytest_is_the_graders_error_and_the_next_run_starts_afresh(tmp_path, ending):
    """Only a real Ctrl-C stops grading; a check that calls pytest.exit or raises KeyboardInterrupt itself is a
    broken check. The session it broke is not used again."""
    flag = tmp_path / "broken"
    flag.write_text("")
    folder = write_checks(tmp_path, f'''
        import os

        def test_first():
            """Breaks while the flag file exists."""
            if os.path.exists({str(flag)!r}):
                {ending}
    ''')
    with pytest.raises(ChecksError, match="pytest.exit|KeyboardInterrupt"):
        run_checks(folder, fixtures())
    flag.unlink()
    assert run_checks(folder, fixtures())[0].status is CheckStatus.passed


def test_a_check_that_runs_past_its_time_is_the_graders_error(tmp_path):
    """Time spent on the trusted side is never the candidate's fault: pytest-timeout stopping a check makes the
    grading the grader's error (status error), not a failed check."""
    folder = write_checks(tmp_path, '''
        import time

        @pytest.mark.timeout(1)
        def test_slow():
            """Takes too long."""
            time.sleep(5)
    ''')
    with pytest.raises(ChecksError, match="on the grader's side"):
        run_checks(folder, fixtures())


def test_a_check_runs_without_the_ast_lock_so_it_can_wait_for_the_reference(tmp_path):
    """A check that reads `reference[...]` waits for the reference's thread, which compiles the reference under
    harness.parsing.AST_LOCK: a check run holding that lock deadlocked until the check's timeout (120 s)."""
    folder = write_checks(tmp_path, '''
        import threading
        from harness.parsing import AST_LOCK

        def test_waits_for_a_thread_that_parses():
            """Waits for another thread that needs the lock, as a check waits for the reference."""
            def compile_something():
                with AST_LOCK:
                    pass
            thread = threading.Thread(target=compile_something)
            thread.start()
            thread.join(10)
            assert not thread.is_alive(), "the check ran holding the AST lock"
    ''')
    assert run_checks(folder, fixtures())[0].status is CheckStatus.passed


def test_a_batch_collects_the_checks_ahead_and_leaves_a_failure_to_the_first_judging(tmp_path):
    """dispatch.ready_checks (a batch's main thread, while its first sandboxes start) collects once; the judging
    then reuses that collection. A folder that cannot be collected raises nothing there: the first judging reports
    it. From any other thread it does nothing (pytest runs in the main thread only)."""
    import threading
    from types import SimpleNamespace

    from harness import checks
    from harness.challenge import Kind
    from harness.dispatch import ready_checks

    log = tmp_path / "log.txt"
    folder = write_checks(tmp_path, f'''
        open({str(log)!r}, "a").write("imported\\n")

        def test_value(probes):
            """The value."""
            assert probes["a"] == [1]
    ''')
    challenge = SimpleNamespace(meta=SimpleNamespace(kind=Kind.code), hidden_dir=folder)
    checks._sessions.clear()
    thread = threading.Thread(target=ready_checks, args=(challenge,))
    thread.start()
    thread.join()
    assert not log.exists()
    ready_checks(challenge)
    assert log.read_text() == "imported\n"
    assert run_checks(folder, fixtures(a=ProbeOutcome("ok", value=encode([1]))))[0].status is CheckStatus.passed
    assert log.read_text() == "imported\n"

    broken = write_checks(tmp_path / "broken", "import no_such_module_here\n")
    ready_checks(SimpleNamespace(meta=SimpleNamespace(kind=Kind.code), hidden_dir=broken))
    with pytest.raises(ChecksError, match="could not be collected"):
        run_checks(broken, fixtures())


def test_grading_one_file_collects_the_checks_while_its_sandbox_runs(tiny, local_backend, monkeypatch):
    """The one-file path (the CLI's) runs the sandbox phase in a thread and collects the checks meanwhile: here the
    sandbox phase waits until the checks are collected, which only that overlap can bring about."""
    import threading
    import time

    from harness import checks, dispatch
    from harness.report import RunStatus

    checks._sessions.clear()
    collected = threading.Event()
    real_prepare = dispatch.prepare

    def is_collected() -> bool:
        return any(key[0] == str(tiny.hidden_dir.resolve()) for key in list(checks._sessions))

    def prepare_after_collection(*args, **kwargs):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not is_collected():
            time.sleep(0.02)
        if is_collected():
            collected.set()
        return real_prepare(*args, **kwargs)

    monkeypatch.setattr(dispatch, "prepare", prepare_after_collection)
    reference = tiny.solutions_dir / "solution.py"
    report = dispatch.grade_submission(tiny, reference, local_backend, 7)
    assert collected.is_set(), "the checks were not collected while the sandbox phase ran"
    assert report.status is RunStatus.graded and report.score == report.max_score


def test_a_ctrl_c_while_the_checks_are_collected_stops_grading(tmp_path):
    """pytest reports an interruption during collection as a collection error; a real Ctrl-C (SIGINT) there must
    still stop grading (the one-file path collects while the sandbox runs, when a user is most likely to press it),
    while a check file that raises KeyboardInterrupt itself is only a broken check."""
    import os
    import signal
    import threading

    from harness import checks

    slow = write_checks(tmp_path / "slow", '''
        import time
        time.sleep(3)

        def test_nothing():
            """Nothing."""
    ''')
    checks._sessions.clear()
    timer = threading.Timer(0.5, os.kill, args=(os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            checks.check_session(slow)
    finally:
        timer.cancel()
    assert not checks._sessions

    broken = write_checks(tmp_path / "broken", "raise KeyboardInterrupt\n")
    try:
        checks.check_session(broken)
    except KeyboardInterrupt:  # caught here, so that a regression fails this test rather than ending the test run
        pytest.fail("a check file's own KeyboardInterrupt was taken for the user's Ctrl-C")
    except ChecksError as error:
        assert "could not be collected" in str(error)
    else:
        pytest.fail("a check file that raises at import was collected")
