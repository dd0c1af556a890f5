"""The local backend's isolation, probed from inside by a hostile submission.

With bubblewrap the worker's view of the machine is the worker, the job and the Python installation:
a submission that walks `/` finds no hidden checks, no reference solutions and no `.git`, neither the
repository's nor those of copies of the catalog planted in /tmp and in the home folder; it cannot
`git show` the checks, write outside /tmp, reach the grader's loopback or see its processes, and under
root it runs as uid 65534 with no capabilities. Each submission prints what it found (one
`ISOLATION {...}` line, kept in the report's output) and earns points only when it found nothing, so a
hole shows both as a lost point and as a named assertion.

The fallbacks (`unshare`, plain child process) isolate less, and say so in `isolation_notes()`.
Without bubblewrap the bwrap tests skip with a reason, except where CI=true or HARNESS_REQUIRE_BWRAP=1.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from conftest import CATALOG, leftover_sandboxes
from harness.grader import grade
from harness.report import Report, RunStatus
from harness.sandbox import local
from harness.sandbox.base import Job, SandboxError

REPO = Path(__file__).resolve().parent.parent
REQUIRE_BWRAP = os.environ.get("CI") == "true" or os.environ.get("HARNESS_REQUIRE_BWRAP") == "1"
AS_ROOT = os.geteuid() == 0
MARKER = "ISOLATION "


def _hidden_check_in_git() -> str:
    """A hidden check committed in the repository (the path `git show HEAD:...` would read), or '' without git."""
    if not shutil.which("git") or not (REPO / ".git").exists():
        return ""
    done = subprocess.run(["git", "-c", "safe.directory=*", "-C", str(REPO), "ls-files", "challenges/*/hidden/test_*.py"],
                          capture_output=True, text=True)
    names = done.stdout.split()
    return names[0] if done.returncode == 0 and names else ""


@pytest.fixture(scope="module")
def decoys():
    """Copies of a catalog (checks, reference solutions, a .git) elsewhere on the machine, readable by anyone."""
    places = [Path(tempfile.mkdtemp(prefix="harness-decoy-")) / "some-other-place",
              Path(tempfile.mkdtemp(prefix=".harness-decoy-", dir=Path.home())) / "catalog-copy"]
    for place in places:
        shutil.copytree(CATALOG, place)
        (place / ".git").mkdir()
        (place / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
        for folder in [place.parent, *place.rglob("*")]:
            folder.chmod(0o755 if folder.is_dir() else 0o644)
        place.chmod(0o755)
    yield places
    for place in places:
        shutil.rmtree(place.parent, ignore_errors=True)


@pytest.fixture
def listener():
    """A TCP port open on the grader's loopback: a sandbox without network cannot connect to it."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    yield server.getsockname()[1]
    server.close()


def backend_or_skip(mode: str) -> local.LocalBackend:
    try:
        return local.LocalBackend(mode)
    except SandboxError as error:
        if mode == "bwrap" and REQUIRE_BWRAP:
            pytest.fail(f"bubblewrap is required here (CI=true or HARNESS_REQUIRE_BWRAP=1): {error}")
        pytest.skip(f"no {mode} isolation here: {error}")


PROBE = """
import json, os, socket, subprocess, sys, time

REPO, GIT_PATH, DECOYS, PORT, HIDDEN = {repo!r}, {git_path!r}, {decoys!r}, {port!r}, {hidden!r}
WALK = {walk!r}
found, writable, wrote = [], [], []
complete = True
if WALK:
    deadline = time.monotonic() + 5
    for root, dirs, files in os.walk("/"):
        if time.monotonic() > deadline:
            complete = False
            break
        dirs[:] = sorted(d for d in dirs if os.path.join(root, d) not in ("/proc", "/sys"))
        for name in dirs:
            if name in (".git", "reference_solutions"):
                found.append(os.path.join(root, name))
        if os.path.basename(root) == "hidden" and any(f.startswith("test_") and f.endswith(".py") for f in files):
            found.append(root)
        # devpts: only terminals; /dev/mqueue: the sandbox's own IPC namespace, emptied between jobs
        private = root in ("/tmp", "/dev/pts") or root.startswith(("/tmp/", "/dev/shm", "/dev/mqueue"))
        if not private and os.access(root, os.W_OK):
            writable.append(root)
for path in [os.path.join(REPO, ".git"), os.path.join(REPO, GIT_PATH or "challenges"), HIDDEN, *DECOYS]:
    if os.path.exists(path):
        found.append(path)
import torch
for folder in ["/", os.path.dirname(os.path.abspath(__file__)), os.path.dirname(os.__file__),
               os.path.dirname(os.path.dirname(torch.__file__)), REPO, "/usr/lib", "/etc", "/opt", "/var/tmp"]:
    try:
        with open(os.path.join(folder, ".harness-isolation-probe"), "w") as handle:
            handle.write("x")
        os.remove(os.path.join(folder, ".harness-isolation-probe"))
        if not folder.startswith("/tmp/"):  # the submission's own folder lies in the sandbox's private /tmp
            wrote.append(folder)
    except OSError:
        pass
try:
    shown = subprocess.run(["git", "-c", "safe.directory=*", "-C", REPO, "show", "HEAD:" + GIT_PATH],
                           capture_output=True, timeout=20)
    git_show = shown.returncode == 0 and bool(shown.stdout)
except (OSError, subprocess.SubprocessError):
    git_show = False
connected = False
try:
    with socket.create_connection(("127.0.0.1", PORT), timeout=2):
        connected = True
except OSError:
    pass
status = open("/proc/self/status").read()
cap_eff = int(status.split("CapEff:")[1].split()[0], 16)
commands = []
for pid in os.listdir("/proc"):
    if pid.isdigit():
        try:
            commands.append(open(f"/proc/{{pid}}/cmdline", "rb").read().replace(b"\\0", b" ").decode(errors="replace"))
        except OSError:
            pass
result = dict(found=found[:40], complete=complete, writable=writable[:40], wrote=wrote, git_show=git_show,
              interfaces=[name for _, name in socket.if_nameindex()], connected=connected, uid=os.getuid(),
              euid=os.geteuid(), gid=os.getgid(), groups=os.getgroups(), cap_eff=cap_eff,
              grader_visible=any("pytest" in command for command in commands), processes=len(commands))
print("{marker}" + json.dumps(result), flush=True)
CLEAN = not (found or writable or wrote or git_show or connected or result["grader_visible"]) and complete \\
    and result["interfaces"] == ["lo"] and (os.getuid() != 0 or not {as_root!r}) and cap_eff == 0

def scale(x, k):
    return x * k if CLEAN else x
"""


def probe_source(decoys, port: int, walk: bool = True) -> str:
    return PROBE.format(repo=str(REPO), git_path=_hidden_check_in_git(), decoys=[str(place) for place in decoys],
                        port=port, hidden=str(CATALOG / "challenges" / "tiny-scale" / "hidden" / "test_scale.py"),
                        walk=walk, marker=MARKER, as_root=AS_ROOT)


def probe(tiny, backend, tmp_path: Path, source: str) -> tuple[Report, dict]:
    path = tmp_path / "solution.py"
    path.write_text(textwrap.dedent(source))
    report = grade(challenge=tiny, submission=path, backend=backend, seed=11)
    assert leftover_sandboxes(backend) == [], "a sandbox was left behind"
    lines = [line for line in (report.output or "").splitlines() if line.startswith(MARKER)]
    assert report.status is RunStatus.graded and lines, f"the probe did not run: {report.reason} {report.output}"
    return report, json.loads(lines[0][len(MARKER):])


def test_the_decoys_are_readable_from_outside(decoys):
    """The test is only worth something if what the sandbox must not find is there to be found."""
    git_path = _hidden_check_in_git()
    for place in decoys:
        assert (place / "challenges" / "tiny-scale" / "hidden" / "test_scale.py").is_file()
        assert (place / "reference_solutions").is_dir() and (place / ".git").is_dir()
    if git_path:
        shown = subprocess.run(["git", "-c", "safe.directory=*", "-C", str(REPO), "show", f"HEAD:{git_path}"],
                               capture_output=True)
        assert shown.returncode == 0 and shown.stdout


def test_bwrap_shows_the_submission_only_the_worker_the_job_and_python(tiny, tmp_path, decoys, listener):
    backend = backend_or_skip("bwrap")
    assert backend.isolation_notes() == []
    report, seen = probe(tiny, backend, tmp_path, probe_source(decoys, listener))
    assert seen["complete"], "the walk of / did not finish in time"
    assert seen["found"] == [], "the sandbox found checks, reference solutions or a .git"
    assert not seen["git_show"], "`git show HEAD:challenges/.../hidden/...` worked inside the sandbox"
    assert seen["writable"] == [] and seen["wrote"] == [], "the sandbox could write outside /tmp"
    assert seen["interfaces"] == ["lo"] and not seen["connected"], "the sandbox has a network"
    assert not seen["grader_visible"] and seen["processes"] <= 8, "the sandbox sees the grader's processes"
    assert seen["cap_eff"] == 0
    if AS_ROOT:
        assert (seen["uid"], seen["euid"], seen["gid"], seen["groups"]) == (65534, 65534, 65534, []), seen
    else:
        assert seen["uid"] == os.getuid() != 0
    assert report.score == report.max_score == 3, [check.message for check in report.checks]


def test_bwrap_site_packages_hold_only_what_torch_and_numpy_need(tmp_path):
    backend_or_skip("bwrap")
    runtime = local._runtime()
    names = {os.path.basename(entry) for entry in runtime.entries}
    assert {"torch", "numpy"} <= names
    package = str(local.PACKAGE_DIR)
    for entry in runtime.entries:
        name = os.path.basename(entry)
        assert not name.endswith(".pth") and not name.startswith("__editable__"), entry
        assert not name.startswith(("harness", "pytorch_training_grader")), entry
        assert not (package + "/").startswith(os.path.realpath(entry).rstrip("/") + "/"), entry
    command = local._bwrap_command(tmp_path, ["true"])
    sources = [command[i + 1] for i, option in enumerate(command) if option in ("--ro-bind", "--bind", "--dev-bind")]
    for source in map(os.path.realpath, sources[:-1]):  # the last: the job folder
        for secret in (REPO, Path.home().resolve()):
            assert not (str(secret) + "/").startswith(source.rstrip("/") + "/"), f"{source} holds {secret}"
        if source.startswith(str(REPO) + "/"):
            assert source == str(local.WORKER_PATH.resolve()) or source.startswith(os.path.realpath(local.sys.prefix) + "/"), source


def test_bwrap_limits_and_watchdog_reach_the_worker(tmp_path):
    """The watchdog finds bwrap's children from the host side: too many processes stop the worker."""
    backend = backend_or_skip("bwrap")
    from harness.challenge import Limits

    code = "import os, time\ntime.sleep(1)\nfor _ in range(40):\n    if os.fork() == 0:\n        time.sleep(60)\n        os._exit(0)\ntime.sleep(60)\n"

    class Forking(local.LocalWorker):
        @staticmethod
        def _worker_argv(worker, job_folder):
            return [local._runtime().executable, "-I", "-c", code]

    folder = tmp_path / "job"
    folder.mkdir()
    folder.chmod(0o755)
    started = time.monotonic()
    worker = Forking(Job(folder, Limits(wall_seconds=10, memory_mb=512, pids=16)), backend.mode, backend.drop_to_nobody)
    try:
        worker.send(b"")
        deadline = time.monotonic() + 30
        uids = set()
        while worker.process.poll() is None and time.monotonic() < deadline:
            for pid in local._descendants(worker.process.pid):
                try:
                    uids.add(int(Path(f"/proc/{pid}/status").read_text().split("Uid:")[1].split()[0]))
                except OSError:
                    pass
            time.sleep(0.05)
        info = worker.wait()
    finally:
        worker.close()
    assert info.reason == "started more than 16 processes" and time.monotonic() - started < 30
    if AS_ROOT:
        assert 65534 in uids
    time.sleep(0.5)
    assert not [pid for pid in _pids() if b"range(40)" in _cmdline(pid)], "a process outlived the worker"


def _pids() -> list[int]:
    return [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def test_unshare_fallback_covers_the_repository_the_catalog_and_home(tiny, tmp_path, decoys, listener):
    backend = backend_or_skip("unshare")
    notes = backend.isolation_notes()
    assert any("file system is visible" in note for note in notes), notes
    report, seen = probe(tiny, backend, tmp_path, probe_source(decoys, listener, walk=False))
    home_decoy = str(decoys[1])
    covered = [str(REPO / ".git"), str(CATALOG / "challenges" / "tiny-scale" / "hidden" / "test_scale.py"), home_decoy]
    assert not set(covered) & set(seen["found"]), seen["found"]
    assert not seen["git_show"] and not seen["connected"] and seen["interfaces"] == ["lo"]
    assert not seen["grader_visible"]
    if AS_ROOT:
        assert (seen["uid"] == 65534) == backend.drop_to_nobody
        assert backend.drop_to_nobody or any("uid 0" in note for note in notes)


def test_plain_fallback_says_what_it_leaves_open(tiny, tmp_path):
    backend = local.LocalBackend("plain")
    notes = backend.isolation_notes()
    assert any("network" in note for note in notes) and any("file system is visible" in note for note in notes)
    if AS_ROOT and not backend.drop_to_nobody:
        assert any("uid 0" in note for note in notes)
    path = tmp_path / "solution.py"
    path.write_text("def scale(x, k):\n    return x * k\n")
    report = grade(challenge=tiny, submission=path, backend=backend, seed=3)
    assert report.score == 3, report.reason


def test_unknown_isolation_is_refused():
    with pytest.raises(SandboxError):
        local.LocalBackend("chroot")


def test_closing_the_backend_ends_a_warm_worker_that_another_thread_is_still_starting(tiny):
    """A Ctrl-C of a one-file grading lands in the main thread while the sandbox thread waits for its warm worker to
    be ready: the backend's close() must end that worker there and then (the CLI leaves right after)."""
    import threading

    if not local.bwrap_available():
        pytest.skip("warm local workers need bubblewrap")
    backend = local.LocalBackend("bwrap", size=1)
    outcome: list = []

    def lease() -> None:
        try:
            outcome.append(backend.pool.lease(tiny.meta.limits))
        except SandboxError as error:
            outcome.append(error)

    thread = threading.Thread(target=lease)
    thread.start()
    deadline = time.monotonic() + 60
    while not (starting := _serving_workers(backend)) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert starting, "no warm worker started"
    unready = not backend.pool.idle_slots() and not outcome
    backend.close()
    assert _serving_workers(backend) == [], "a worker still starting outlived the backend's close()"
    thread.join(timeout=60)
    assert unready, "the worker was ready before close(): this run proves nothing"
    assert len(outcome) == 1 and isinstance(outcome[0], SandboxError), outcome


def _serving_workers(backend) -> list[int]:
    """Live serving workers of this backend (their command line names its pool)."""
    found = []
    for pid in local._descendants(os.getpid()):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"--serve" in command and backend.pool_id.encode() in command:
            found.append(pid)
    return found
