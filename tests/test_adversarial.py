"""Hostile submissions, through each real backend: none earns a point it did not earn, every one gets a valid report
within its limits, and none leaves a container or process behind (the `backend` fixture checks that).

Forged protocol messages and patched torch functions are tested in test_sandbox_protocol.py, with submissions that
would score more if the forgery or the patch worked."""

from __future__ import annotations

import os
import textwrap
import time
from pathlib import Path

import pytest

from conftest import containers_of, interrupt_when
from harness.grader import grade
from harness.report import CheckStatus, Report, RunStatus

CORRECT = "def scale(x, k):\n    return x * k\n"


def run(tiny, backend, tmp_path: Path, source: str, seed: int = 7) -> Report:
    path = tmp_path / "solution.py"
    path.write_text(textwrap.dedent(source))
    started = time.monotonic()
    report = grade(challenge=tiny, submission=path, backend=backend, seed=seed)
    Report.model_validate_json(report.model_dump_json())  # a valid report, whatever happened
    # every phase is bounded: startup, import, two probes (8 s each), the checks, and a restart
    assert time.monotonic() - started < 150
    return report


def statuses(report: Report) -> dict[str, CheckStatus]:
    return {check.name: check.status for check in report.checks}


def test_exit_zero_at_import_is_ungradable(tiny, backend, tmp_path):
    report = run(tiny, backend, tmp_path, "import os\nos._exit(0)\n")
    assert report.status is RunStatus.ungradable
    assert "exit status 0" in report.reason and report.score == 0


def test_system_exit_at_import_is_ungradable(tiny, backend, tmp_path):
    report = run(tiny, backend, tmp_path, "raise SystemExit(0)\n")
    assert report.status is RunStatus.ungradable
    assert "SystemExit" in report.reason and report.score == 0


def test_exit_inside_a_probe_costs_only_that_probe(tiny, backend, tmp_path):
    source = """
    import os
    def scale(x, k):
        if x.dtype.is_floating_point and x.dim() == 1:
            os._exit(0)
        return x * k
    """
    report = run(tiny, backend, tmp_path, source)
    assert report.status is RunStatus.graded
    assert statuses(report) == {"test_small": CheckStatus.error, "test_large": CheckStatus.passed}
    assert report.score == 1


def test_infinite_loop_in_a_probe_times_out_and_the_rest_still_run(tiny, backend, tmp_path):
    source = """
    def scale(x, k):
        if x.dim() == 1:
            while True:
                pass
        return x * k
    """
    report = run(tiny, backend, tmp_path, source)
    assert statuses(report) == {"test_small": CheckStatus.timeout, "test_large": CheckStatus.passed}
    assert report.score == 1


def test_infinite_loop_at_import_is_ungradable(tiny, backend, tmp_path):
    report = run(tiny, backend, tmp_path, "while True:\n    pass\n")
    assert report.status is RunStatus.ungradable and "time limit" in report.reason


def test_sleep_ignoring_sigterm_is_stopped(tiny, backend, tmp_path):
    source = """
    import signal, time
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    def scale(x, k):
        time.sleep(10_000)
    """
    report = run(tiny, backend, tmp_path, source)
    assert set(statuses(report).values()) == {CheckStatus.timeout} and report.score == 0


def test_fork_bomb_is_contained(tiny, backend, tmp_path):
    source = """
    import os
    def scale(x, k):
        while True:
            try:
                os.fork()
            except OSError:
                pass
    """
    report = run(tiny, backend, tmp_path, source)
    assert report.status is RunStatus.graded and report.score == 0
    assert CheckStatus.passed not in statuses(report).values()


def test_allocating_without_end_is_out_of_memory(tiny, backend, tmp_path):
    source = """
    def scale(x, k):
        hoard = []
        while True:
            hoard.append(bytearray(64 * 1024 * 1024))
    """
    report = run(tiny, backend, tmp_path, source)
    assert set(statuses(report).values()) == {CheckStatus.oom} and report.score == 0
    assert "out of memory" in report.checks[0].message


def test_printing_gigabytes_is_cut_off(tiny, backend, tmp_path):
    source = """
    import sys
    def scale(x, k):
        line = "spam" * 4096
        while True:
            sys.stdout.write(line)
    """
    report = run(tiny, backend, tmp_path, source)
    assert report.score == 0 and set(statuses(report).values()) == {CheckStatus.error}
    assert "printed more than 64 KiB" in report.checks[0].message
    assert report.output_truncated and len(report.output) <= 16_000


def test_background_process_does_not_outlive_grading(tiny, backend, tmp_path):
    source = textwrap.dedent("""
    import os, subprocess
    subprocess.Popen(["sleep", "4321.5"], start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if os.fork() == 0:
        os.setsid()
        import time
        time.sleep(4321)
    """) + CORRECT
    report = run(tiny, backend, tmp_path, source)
    assert report.status is RunStatus.graded and report.score == 3  # correct code keeps what it earned
    time.sleep(0.5)
    assert not any(b"4321" in _cmdline(pid) for pid in _pids()), "a background process survived grading"


def _needs_namespaces(backend, whole_view: bool = False) -> None:
    """Skip where the local backend's isolation level (bwrap, unshare, plain) does not promise this."""
    if backend.name == "local":
        if whole_view and backend.mode != "bwrap":
            pytest.skip("only bubblewrap hides every copy of the checks on the machine from the local backend")
        if backend.mode == "plain":
            pytest.skip("the local backend isolates this only with bubblewrap or unshare")


def test_no_network_and_limits_in_force_inside_the_sandbox(tiny, backend, tmp_path):
    _needs_namespaces(backend)
    source = """
    import os, resource, socket
    def scale(x, k):
        interfaces = [name for _, name in socket.if_nameindex()]
        limits_hold = resource.getrlimit(resource.RLIMIT_NOFILE) == (256, 256) and resource.getrlimit(resource.RLIMIT_CORE) == (0, 0)
        return x * k if interfaces == ["lo"] and limits_hold else x
    """
    report = run(tiny, backend, tmp_path, source)
    assert report.score == 3, [check.message for check in report.checks]


def test_the_checks_and_reference_cannot_be_read(tiny, backend, tmp_path):
    _needs_namespaces(backend, whole_view=True)
    secrets = [tiny.hidden_dir / "test_scale.py", tiny.reference]
    source = f"""
    import os, time
    FOUND = []
    for path in {[str(path) for path in secrets]!r}:
        try:
            with open(path) as handle:
                FOUND.append(handle.read())
        except OSError:
            pass
    deadline = time.monotonic() + 3
    for root, dirs, files in os.walk("/"):
        dirs[:] = [d for d in dirs if os.path.join(root, d) not in ("/proc", "/sys", "/dev")]
        if "test_scale.py" in files:
            FOUND.append(root)
        if FOUND or time.monotonic() > deadline:
            break
    def scale(x, k):
        return x * k if FOUND else x
    """
    report = run(tiny, backend, tmp_path, source)
    assert report.status is RunStatus.graded and report.score == 0, "the sandbox could read the checks"


def _pids() -> list[int]:
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def test_ctrl_c_of_the_grader_removes_the_sandbox(tiny, backend, tmp_path):
    _ctrl_c_of_the_grader(tiny, backend, tmp_path)


@pytest.mark.parametrize("mode", ["unshare", "plain"])
def test_ctrl_c_of_the_grader_ends_the_worker_in_every_local_mode(tiny, tmp_path, mode):
    """The one-file path drives its sandbox from a thread of its own: after a Ctrl-C the backend's close() ends a
    single-use worker (unshare, plain), not the thread that was driving it."""
    from harness.sandbox.base import SandboxError
    from harness.sandbox.local import LocalBackend

    try:
        backend = LocalBackend(mode)
    except SandboxError as error:
        pytest.skip(f"{mode} cannot run here: {error}")
    _ctrl_c_of_the_grader(tiny, backend, tmp_path, env={**os.environ, "HARNESS_LOCAL_ISOLATION": mode})


def _ctrl_c_of_the_grader(tiny, backend, tmp_path, env=None) -> None:
    import signal
    import sys

    path = tmp_path / "solution.py"
    path.write_text("import time\ndef scale(x, k):\n    time.sleep(10_000)\n")
    command = [sys.executable, "-m", "harness", "--challenges", str(tiny.root.parent), "grade", "tiny-scale", str(path),
               "--backend", backend.name]
    done = interrupt_when(command, lambda pid: _sandboxes(backend, pid), "the sandbox started", env=env, settle=1,
                          poll=0.2)
    # 130 from the CLI; now and then the interpreter dies of the SIGINT itself after the message, which is as good
    assert done.code in (130, -signal.SIGINT) and "interrupted" in done.stderr, (done.code, done.stderr[-500:])
    if backend.name == "docker":
        assert not _sandboxes(backend, done.pid)
    else:
        assert not [pid for pid in done.found if b"worker.py" in _cmdline(pid)], "a worker outlived the grader"


def _sandboxes(backend, grader_pid: int) -> list:
    """Containers with the sandbox label (docker), or worker processes below the grader (local)."""
    if backend.name == "docker":
        return containers_of(backend, grader_pid)
    from harness.sandbox.local import _descendants

    return [pid for pid in _descendants(grader_pid) if b"harness/sandbox/worker.py" in _cmdline(pid)]
