"""`harness grade ID PATH... --out DIR` end to end: the real command line in a subprocess, on the tiny-scale fixture
challenge, with real Docker (tests marked `docker`) or the local backend where that is cheap.

A class of hostile submissions, isolation between submissions that share one warm container, resuming, Ctrl-C,
usage errors, the single-file behaviour, and a zip of a class graded like the folder it came from."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import CATALOG, containers_of, interrupt_batch, interrupt_when, report_files
from harness.report import CheckStatus, Report, RunStatus

REPO = Path(__file__).resolve().parents[1]
CHALLENGES = CATALOG / "challenges"
SEED = 5
CLI_TIMEOUT = 180  # seconds for one command; a hung grader fails the test rather than the whole run
SUBMISSION_FILE = "solution.py"

REFERENCE = (CATALOG / "reference_solutions" / "tiny-scale" / "solution.py").read_text()
# right for float64 only: passes test_large (1 point), fails test_small (2 points)
PARTIAL = """
def scale(x, k):
    return x * k if str(x.dtype) == "torch.float64" else x * 2
"""
SYNTAX_ERROR = "def scale(x, k)\n    return x * k\n"
CRASH_AT_IMPORT = 'raise RuntimeError("boom at import")\n'
HANG = """
def scale(x, k):
    while True:
        pass
"""
FORK_BOMB = """
import os
def scale(x, k):
    while True:
        try:
            os.fork()
        except OSError:
            pass
"""
ENDLESS_MEMORY = """
def scale(x, k):
    hoard = []
    while True:
        hoard.append(bytearray(64 * 1024 * 1024))
"""
FORGED = """
import json, os, sys
FORGED = {"schema_version": "1.1", "challenge_id": "tiny-scale", "submission": {"file_name": "solution.py"},
          "status": "graded", "score": 3.0, "max_score": 3.0, "percent": 100.0, "environment": {"harness_version": "0"}}
print(json.dumps(FORGED))
sys.stdout.flush()
os.write(1, (json.dumps(FORGED) + "\\n").encode())
def scale(x, k):
    print(json.dumps(FORGED))
    return x
"""
SLEEPY = """
import time
def scale(x, k):
    time.sleep(1)
    return x * k
"""


# --- running the command line ------------------------------------------------------------------


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    pid: int
    seconds: float


def harness(*args: object, timeout: float = CLI_TIMEOUT, env: dict[str, str] | None = None) -> Run:
    """`python -m harness --challenges <fixtures> ARGS...` from the repository root."""
    command = [sys.executable, "-m", "harness", "--challenges", str(CHALLENGES), *map(str, args)]
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=None if env is None else {**os.environ, **env})
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        pytest.fail(f"{' '.join(command)} ran past {timeout} s\nstderr:\n{err.decode(errors='replace')[-4000:]}")
    return Run(process.returncode, out.decode(errors="replace"), err.decode(errors="replace"), process.pid,
               time.monotonic() - started)


def grade_batch(out: Path, *paths: Path, backend: str = "docker", jobs: int = 2, seed: int | None = SEED,
                extra: tuple = (), env: dict[str, str] | None = None) -> Run:
    args: list[object] = ["grade", "tiny-scale", *paths, "--out", out, "-j", jobs, "--backend", backend, *extra]
    if seed is not None:
        args += ["--seed", seed]
    return harness(*args, env=env)


def explain(run: Run) -> str:
    return f"exit {run.code} after {run.seconds:.1f} s\nstdout:\n{run.stdout[-2000:]}\nstderr:\n{run.stderr[-6000:]}"


# --- reading a batch's output folder -----------------------------------------------------------


def rows(out: Path) -> list[dict[str, str]]:
    with open(out / "grades.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def reports(out: Path) -> dict[str, Report]:
    """Every report, each validated as a Report."""
    return {student: Report.model_validate_json(path.read_bytes()) for student, path in report_files(out).items()}


def snapshot(out: Path) -> dict[str, bytes]:
    return {student: path.read_bytes() for student, path in report_files(out).items()}


def check_consistent(out: Path, expected_ids: list[str]) -> dict[str, Report]:
    """grades.csv has each id exactly once, matching its report; summary.json's counts add up. Returns the reports."""
    table = rows(out)
    listed = [row["id"] for row in table]
    assert sorted(listed) == sorted(expected_ids) and len(listed) == len(set(listed)), listed
    found = reports(out)
    assert sorted(found) == sorted(expected_ids)
    for row in table:
        report = found[row["id"]]
        assert (row["status"], float(row["score"]), float(row["max_score"])) == (
            report.status.value, report.score, report.max_score), row
        assert row["sha256"] == (report.submission.sha256 or "")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["challenge_id"] == "tiny-scale" and summary["submissions"] == len(expected_ids)
    assert sum(summary["by_status"].values()) == len(expected_ids)
    for status in RunStatus:
        assert summary["by_status"][status.value] == sum(r.status is status for r in found.values()), summary["by_status"]
    assert sum(bin_["count"] for bin_ in summary["histogram"]) == sum(
        r.status is not RunStatus.error for r in found.values())
    assert json.loads((out / "batch.json").read_text())["seed"] == summary["seed"]
    return found


def write_class(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, source in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
    return folder


def make_zip(path: Path, files: dict[str, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def no_containers_left(docker_backend, run: Run) -> None:
    left = [container.short_id for container in containers_of(docker_backend, run.pid)]
    assert left == [], f"the grader (pid {run.pid}) left containers {left}"


def processes_named(name: bytes) -> list[int]:
    """The living processes on this machine whose name (/proc/PID/comm, as prctl(PR_SET_NAME) sets it) is `name`."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_bytes()
            except OSError:
                continue
            comm, _, rest = stat.partition(b" (")[2].rpartition(b") ")
            if comm == name and rest[:1] not in (b"Z", b"X"):  # zombies are gone but for their parent's wait
                found.append(int(entry))
    return found


# --- a class of hostile submissions ------------------------------------------------------------


@pytest.mark.docker
def test_a_class_of_hostile_submissions(docker_backend, tmp_path):
    folder = write_class(tmp_path / "class", {
        "a_reference.py": REFERENCE, "b_partial.py": PARTIAL, "c_syntax.py": SYNTAX_ERROR,
        "d_import_crash.py": CRASH_AT_IMPORT, "e_hang.py": HANG, "f_fork_bomb.py": FORK_BOMB,
        "g_memory.py": ENDLESS_MEMORY, "h_forged.py": FORGED})
    # students' zips that yield no solution.py: they still get a report each, and the batch goes on
    make_zip(folder / "i_no_solution.zip", {"notes.txt": b"I forgot to add it"})
    make_zip(folder / "j_zip_slip.zip", {"solution.py": REFERENCE.encode(), "../../evil.py": b"print('slipped')\n"})
    ids = ["a_reference", "b_partial", "c_syntax", "d_import_crash", "e_hang", "f_fork_bomb", "g_memory", "h_forged",
           "i_no_solution", "j_zip_slip"]
    out = tmp_path / "out"

    run = grade_batch(out, folder)

    assert run.code == 0, explain(run)
    no_containers_left(docker_backend, run)
    assert run.stdout == "", "a batch prints nothing on stdout (what a submission printed is in its report only)"
    assert f"{folder / 'j_zip_slip.zip'}: refusing to unpack it: entry '../../evil.py'" in run.stderr
    assert not list(tmp_path.rglob("evil.py"))
    assert "10 graded now, 0 kept from an earlier run" in run.stderr, explain(run)
    found = check_consistent(out, ids)

    def checks(student: str) -> set[CheckStatus]:
        return {check.status for check in found[student].checks}

    got = {student: (report.status, report.score) for student, report in found.items()}
    assert got == {
        "a_reference": (RunStatus.graded, 3), "b_partial": (RunStatus.graded, 1),
        "c_syntax": (RunStatus.ungradable, 0), "d_import_crash": (RunStatus.ungradable, 0),
        "e_hang": (RunStatus.graded, 0), "f_fork_bomb": (RunStatus.graded, 0), "g_memory": (RunStatus.graded, 0),
        "h_forged": (RunStatus.graded, 0), "i_no_solution": (RunStatus.ungradable, 0),
        "j_zip_slip": (RunStatus.ungradable, 0)}, got
    assert found["a_reference"].score == found["a_reference"].max_score == 3 and found["a_reference"].percent == 100
    assert "syntax error at line 1" in found["c_syntax"].reason
    assert "RuntimeError: boom at import" in found["d_import_crash"].reason
    assert checks("e_hang") == {CheckStatus.timeout}
    assert CheckStatus.passed not in checks("f_fork_bomb")
    assert checks("g_memory") == {CheckStatus.oom}
    assert checks("h_forged") == {CheckStatus.failed}
    assert '"score": 3.0' in found["h_forged"].output  # what it printed was kept as output, and not believed
    for student in ("i_no_solution", "j_zip_slip"):
        assert f"/{student}.zip has no solution.py" in found[student].reason, found[student].reason
    summary = json.loads((out / "summary.json").read_text())
    assert summary["by_status"] == {"graded": 6, "ungradable": 4, "error": 0}
    assert summary["score"]["mean"] == pytest.approx(0.4)  # (3 + 1) / 10: ungradable counts as 0


# --- isolation between submissions sharing a warm container ------------------------------------

# Both programs print the host name (to tell whether they shared a container) and what they found.
TRACE_TOOLS = """
import ctypes, ctypes.util, os, socket, sys

print("host:" + socket.gethostname())
IPC_CREAT, O_CREAT, O_RDWR, O_RDONLY = 0o1000, 0o100, 0o2, 0o0
NAME = "harness-trace-a"
FILES = ["/tmp/" + NAME, "/dev/shm/" + NAME]
QUEUE = ("/" + NAME).encode()
libc = ctypes.CDLL(None, use_errno=True)
for function in ("shmget", "msgget", "semget"):
    getattr(libc, function).restype = ctypes.c_int
libc.shmget.argtypes = [ctypes.c_int, ctypes.c_size_t, ctypes.c_int]
libc.msgget.argtypes = [ctypes.c_int, ctypes.c_int]
libc.semget.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
try:
    rt = libc if hasattr(libc, "mq_open") else ctypes.CDLL(ctypes.util.find_library("rt") or "librt.so.1")
    mq_open = rt.mq_open
    mq_open.restype = ctypes.c_int
    mq_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_uint, ctypes.c_void_p]
except (OSError, AttributeError) as error:
    print("no mq_open:", error)
    mq_open = None


def processes():
    '''Every process in view but this one and its ancestors: (pid, name).'''
    mine, pid = set(), os.getpid()
    while pid > 0:
        mine.add(pid)
        with open(f"/proc/{pid}/stat") as handle:
            pid = int(handle.read().rsplit(")", 1)[1].split()[1])
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) not in mine:
            try:
                with open(f"/proc/{entry}/comm", "rb") as handle:
                    found.append((int(entry), handle.read().strip()))
            except OSError:
                pass
    return found


def traces():
    '''Every trace submission A leaves, as a list of what was found.'''
    found = [path for path in FILES if os.path.exists(path)]
    for folder in ("/tmp", "/dev/shm", "/dev/mqueue"):
        try:
            found += [f"{folder}/{name}" for name in os.listdir(folder) if "harness-trace" in name]
        except OSError:
            pass
    if libc.shmget(4242, 0, 0) >= 0:
        found.append("shm 4242")
    if libc.msgget(4243, 0) >= 0:
        found.append("msg 4243")
    if libc.semget(4244, 0, 0) >= 0:
        found.append("sem 4244")
    for kind in ("shm", "msg", "sem"):
        try:
            with open(f"/proc/sysvipc/{kind}") as handle:
                found += [f"sysvipc {kind}: {row.split()[:2]}" for row in handle.read().splitlines()[1:] if row.strip()]
        except OSError:
            pass
    if mq_open is not None:
        queue = mq_open(QUEUE, O_RDONLY, 0, None)
        if queue >= 0:
            found.append("mqueue " + QUEUE.decode())
            os.close(queue)
    found += [f"process {pid} {name!r}" for pid, name in processes()]
    return found
"""

LEAVES_TRACES = TRACE_TOOLS + """
made = []
for path in FILES:
    with open(path, "w") as handle:
        handle.write("A was here")
    made.append(path)
if libc.shmget(4242, 4096, IPC_CREAT | 0o600) >= 0:
    made.append("shm 4242")
if libc.msgget(4243, IPC_CREAT | 0o600) >= 0:
    made.append("msg 4243")
if libc.semget(4244, 1, IPC_CREAT | 0o600) >= 0:
    made.append("sem 4244")
if mq_open is not None and mq_open(QUEUE, O_CREAT | O_RDWR, 0o600, None) >= 0:
    made.append("mqueue " + QUEUE.decode())
else:
    print("mq_open failed, errno", ctypes.get_errno())
sys.stdout.flush()
print("A made:", made)


def scale(x, k):
    # the control: right only while every trace A made is there to be found
    found = traces()
    missing = [thing for thing in made if not any(thing in trace for trace in found)]
    print("A missing:", missing, "found:", found)
    return x * k if len(made) == 6 and not missing else x  # 2 files, 3 System V objects, 1 queue
"""

FINDS_NONE = TRACE_TOOLS + """
print("B at import:", traces())


def scale(x, k):
    found = traces()
    print("B found:", found)
    return x if found else x * k
"""


@pytest.mark.parametrize("backend", [pytest.param("docker", marks=pytest.mark.docker), "local"])
def test_a_submission_finds_nothing_the_previous_one_left(request, backend, tmp_path):
    """A (graded first, -j 1) leaves files in /tmp and /dev/shm, System V shared memory, a message queue and a
    semaphore and a POSIX message queue, and scores only if they all exist when it looks; B (graded next, in the
    same warm sandbox) loses points if it finds any trace of them, or any process but its own. (A job that leaves
    a process running gets its sandbox replaced: test_pool.py.)"""
    if backend == "docker":
        docker_backend = request.getfixturevalue("docker_backend")
    else:
        local = request.getfixturevalue("local_backend")
        if local.mode != "bwrap":
            pytest.skip(f"the local backend gives each run its own /tmp, /dev/shm and IPC only with bubblewrap "
                        f"(here: {local.mode})")
    folder = write_class(tmp_path / "class", {"a_leaves_traces.py": LEAVES_TRACES, "b_finds_none.py": FINDS_NONE})
    out = tmp_path / "out"

    run = grade_batch(out, folder, backend=backend, jobs=1)

    assert run.code == 0, explain(run)
    if backend == "docker":
        no_containers_left(docker_backend, run)
    found = check_consistent(out, ["a_leaves_traces", "b_finds_none"])
    a, b = found["a_leaves_traces"], found["b_finds_none"]
    assert a.score == 3, f"the control failed: A did not find its own traces\n{a.output}"
    assert b.score == 3, f"B found what A left\n{b.output}"
    if backend == "docker":
        hosts = [[line for line in report.output.splitlines() if line.startswith("host:")] for report in (a, b)]
        assert hosts[0] and hosts[0] == hosts[1], f"A and B did not share a container, so this proves nothing: {hosts}"


def test_plain_local_batch_leaves_no_background_process(tmp_path):
    """Plain mode has no namespace to end: a process the submission moves to a session of its own is re-parented to
    the worker's subreaper (harness/sandbox/reaper.py), which ends it with the run."""
    name = f"hs-{os.getpid() % 100_000}".encode()  # this test's own: never another's process
    source = f'''
    import ctypes, os, time
    if os.fork() == 0:
        try:
            os.setsid()
            ctypes.CDLL(None).prctl(15, {name!r}, 0, 0, 0)  # PR_SET_NAME
            time.sleep(120)
        finally:
            os._exit(0)
    def scale(x, k):
        return x * k
    '''
    folder = write_class(tmp_path / "class", {"alice.py": source, "bob.py": REFERENCE})
    try:
        run = grade_batch(tmp_path / "out", folder, backend="local", env={"HARNESS_LOCAL_ISOLATION": "plain"})
        assert run.code == 0, explain(run)
        assert [report.score for report in reports(tmp_path / "out").values()] == [3, 3]
        time.sleep(0.5)
        left = processes_named(name)
        assert left == [], f"the submission's background process {left} outlived the batch"
    finally:
        deadline = time.monotonic() + 10
        while (leftovers := processes_named(name)) and time.monotonic() < deadline:
            for pid in leftovers:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.1)


# --- resuming ----------------------------------------------------------------------------------


@pytest.mark.docker
def test_resume_grades_only_what_changed(docker_backend, tmp_path):
    folder = write_class(tmp_path / "class", {"alice.py": REFERENCE, "bob.py": PARTIAL, "carol.py": SYNTAX_ERROR})
    ids = ["alice", "bob", "carol"]
    out = tmp_path / "out"

    first = grade_batch(out, folder)
    assert first.code == 0 and "3 graded now, 0 kept from an earlier run" in first.stderr, explain(first)
    check_consistent(out, ids)
    before = snapshot(out)
    tables = {name: (out / name).read_bytes() for name in ("grades.csv", "summary.json")}

    again = grade_batch(out, folder, seed=None)  # the folder's seed is used again
    assert again.code == 0 and "0 graded now, 3 kept from an earlier run" in again.stderr, explain(again)
    assert snapshot(out) == before, "a report was rewritten although nothing changed"
    assert {name: (out / name).read_bytes() for name in tables} == tables
    no_containers_left(docker_backend, again)

    (folder / "bob.py").write_text(REFERENCE + "# fixed\n")
    changed = grade_batch(out, folder, seed=None)
    assert changed.code == 0 and "1 graded now, 2 kept from an earlier run" in changed.stderr, explain(changed)
    after = snapshot(out)
    assert {student: after[student] == before[student] for student in ids} == {"alice": True, "bob": False, "carol": True}
    found = check_consistent(out, ids)
    assert found["bob"].score == 3 and found["bob"].seed == SEED

    regraded = grade_batch(out, folder, seed=None, extra=("--regrade",))
    assert regraded.code == 0 and "3 graded now, 0 kept from an earlier run" in regraded.stderr, explain(regraded)
    found = check_consistent(out, ids)
    assert [found[student].score for student in ids] == [3, 3, 0]

    # a report with status error (the grader's fault) is graded again
    path = out / "reports" / "alice.json"
    data = json.loads(path.read_text())
    data.update(status="error", reason="the grader crashed (simulated)", score=0.0, percent=0.0, checks=[])
    path.write_text(json.dumps(data, indent=2))
    assert Report.model_validate_json(path.read_bytes()).status is RunStatus.error  # readable: kept unless an error
    kept = snapshot(out)
    retried = grade_batch(out, folder, seed=None)
    assert retried.code == 0 and "1 graded now, 2 kept from an earlier run" in retried.stderr, explain(retried)
    found = check_consistent(out, ids)
    assert found["alice"].status is RunStatus.graded and found["alice"].score == 3
    assert {student: data for student, data in snapshot(out).items() if student != "alice"} == {
        student: data for student, data in kept.items() if student != "alice"}


# --- Ctrl-C ------------------------------------------------------------------------------------


@pytest.mark.docker
def test_ctrl_c_keeps_finished_reports_and_the_next_run_grades_the_rest(docker_backend, tmp_path):
    ids = [f"s{index}" for index in range(8)]
    folder = write_class(tmp_path / "class", {f"{student}.py": SLEEPY if index % 2 else REFERENCE
                                               for index, student in enumerate(ids)})
    out = tmp_path / "out"
    command = [sys.executable, "-m", "harness", "--challenges", str(CHALLENGES), "grade", "tiny-scale", str(folder),
               "--out", str(out), "-j", "2", "--backend", "docker", "--seed", str(SEED)]
    code, stderr, pid = interrupt_batch(command, REPO, out, at_least=1)
    left = [container.short_id for container in containers_of(docker_backend, pid)]
    assert left == [], f"the interrupted grader left containers {left}"
    assert code == 130, f"exit {code}\n{stderr[-4000:]}"
    assert "interrupted" in stderr
    finished = sorted(reports(out))  # every report file validates as a Report
    assert 1 <= len(finished) < len(ids), f"{len(finished)} reports: the interruption came too late to test anything"
    assert not [path.name for path in (out / "reports").iterdir() if path.name.startswith(".")], "a temporary file was left"
    check_consistent(out, finished)  # grades.csv: exactly one row per finished report

    resumed = grade_batch(out, folder, seed=None)
    assert resumed.code == 0, explain(resumed)
    assert f"{len(ids) - len(finished)} graded now, {len(finished)} kept from an earlier run" in resumed.stderr, explain(resumed)
    found = check_consistent(out, ids)
    assert all(report.status is RunStatus.graded and report.score == 3 for report in found.values())
    no_containers_left(docker_backend, resumed)


SLOW_CHECK = """

def test_large(probes, reference):
    \"\"\"scale keeps float64 and handles a negative k (and, here, tells the test when the checks run).\"\"\"
    import os, time
    from pathlib import Path
    Path(os.environ["HARNESS_TEST_CHECKS_MARKER"]).touch()
    time.sleep(6)
    assert_tensor_close(probes["large"]["out"], reference["large"]["out"], "scale(x, -0.5)")
"""


def slow_check_catalog(tmp_path: Path) -> Path:
    """A copy of tiny-scale whose check test_large touches $HARNESS_TEST_CHECKS_MARKER and then takes 6 s."""
    for kind in ("challenges", "reference_solutions"):
        shutil.copytree(CATALOG / kind / "tiny-scale", tmp_path / "catalog" / kind / "tiny-scale")
    checks = tmp_path / "catalog" / "challenges" / "tiny-scale" / "hidden" / "test_scale.py"
    source = checks.read_text()
    checks.write_text(source[:source.index("def test_large(")].rstrip() + "\n" + SLOW_CHECK)
    return tmp_path / "catalog" / "challenges"


@pytest.mark.parametrize("mode", ["batch", "one file"])
def test_ctrl_c_while_the_checks_run_stops_grading(tmp_path, mode):
    """Deterministic: the SIGINT is sent while the (slowed down) check test_large runs in the grader's main thread."""
    challenges = slow_check_catalog(tmp_path)
    folder = write_class(tmp_path / "class", {"alice.py": REFERENCE, "bob.py": REFERENCE})
    marker, out = tmp_path / "checks-running", tmp_path / "out"
    args = [folder, "--out", out, "-j", "1"] if mode == "batch" else [folder / "alice.py"]
    command = [sys.executable, "-m", "harness", "--challenges", str(challenges), "grade", "tiny-scale", *map(str, args),
               "--backend", "local", "--seed", str(SEED)]
    done = interrupt_when(command, lambda _: marker.exists(), "the checks ran", cwd=REPO,
                          env={**os.environ, "HARNESS_TEST_CHECKS_MARKER": str(marker)})
    assert (done.code, "interrupted" in done.stderr) == (130, True), f"exit {done.code}\n{done.stderr[-3000:]}"
    if mode == "batch":
        assert not (out / "reports" / "bob.json").exists(), "the batch went on after Ctrl-C"
        assert not [student for student, report in reports(out).items() if report.status is RunStatus.error]


# --- usage errors (nothing runs: no Docker needed) ---------------------------------------------


def test_duplicate_ids_are_a_usage_error_naming_both(tmp_path):
    first = write_class(tmp_path / "a", {"alice.py": REFERENCE}) / "alice.py"
    second = write_class(tmp_path / "b", {"alice.py": PARTIAL}) / "alice.py"
    out = tmp_path / "out"
    run = harness("grade", "tiny-scale", tmp_path / "a", tmp_path / "b", "--out", out, "--backend", "local")
    assert run.code == 2, explain(run)
    assert f"duplicate student id 'alice': {first} and {second}" in run.stderr
    assert not out.exists(), "nothing is written before the input is known to be usable"


def test_usage_errors(tmp_path):
    folder = write_class(tmp_path / "class", {"alice.py": REFERENCE, "bob.py": PARTIAL})
    make_zip(tmp_path / "class.zip", {"alice.py": REFERENCE.encode()})
    out = tmp_path / "out"
    cases = {
        "a bad id pattern": (["grade", "tiny-scale", folder, "--out", out, "--id-pattern", "(unclosed"],
                             "is not a valid regular expression"),
        "two paths without --out": (["grade", "tiny-scale", folder / "alice.py", folder / "bob.py"], "give --out DIR"),
        "a zip without --out": (["grade", "tiny-scale", tmp_path / "class.zip"], "give --out DIR"),
        "--output with --out": (["grade", "tiny-scale", folder, "--out", out, "--output", tmp_path / "r.json"],
                                "--output names one report's file"),
        "-j without --out": (["grade", "tiny-scale", folder / "alice.py", "-j", "2"], "are for a batch (--out DIR)"),
    }
    failures = []
    for case, (args, message) in cases.items():
        run = harness(*args, "--backend", "local")
        if run.code != 2 or message not in run.stderr or run.stdout:
            failures.append(f"{case}: {explain(run)}")
    assert not failures, "\n\n".join(failures)
    assert not out.exists() and not (tmp_path / "r.json").exists()


# --- one file, without --out: the report on stdout, as before ----------------------------------


@pytest.mark.parametrize("backend", [pytest.param("docker", marks=pytest.mark.docker), "local"])
def test_a_single_file_without_out_prints_one_json_report(request, backend, tmp_path):
    if backend == "docker":
        request.getfixturevalue("docker_backend")
    path = write_class(tmp_path, {"alice.py": REFERENCE}) / "alice.py"
    run = harness("grade", "tiny-scale", path, "--backend", backend, "--seed", SEED)
    assert run.code == 0, explain(run)
    report = Report.model_validate_json(run.stdout)  # exactly one JSON document, nothing else
    assert json.loads(run.stdout)["status"] == "graded" and report.score == 3 and report.seed == SEED
    assert run.stdout.count('"schema_version"') == 1
    assert "tiny-scale: 3/3 points" in run.stderr
    assert not (tmp_path / "reports").exists()


def test_a_single_ungradable_file_prints_its_report_and_exits_1(tmp_path):
    path = write_class(tmp_path, {"alice.py": SYNTAX_ERROR}) / "alice.py"
    run = harness("grade", "tiny-scale", path, "--backend", "local", "--seed", SEED)
    assert run.code == 1, explain(run)
    report = Report.model_validate_json(run.stdout)
    assert report.status is RunStatus.ungradable and "syntax error" in report.reason


# --- a zip of the class ------------------------------------------------------------------------


def test_a_zip_of_the_class_grades_like_the_folder(tmp_path):
    folder = write_class(tmp_path / "class", {"alice.py": REFERENCE, "bob.py": PARTIAL, "carol.py": SYNTAX_ERROR,
                                              "dave/solution.py": REFERENCE, "dave/notes.md": "notes"})
    make_zip(folder / "erin.zip", {"erin-work/solution.py": PARTIAL.encode(), "erin-work/data.csv": b"1,2\n"})
    archive = tmp_path / "export.zip"  # as an LMS exports it: everything inside one folder
    with zipfile.ZipFile(archive, "w") as handle:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                handle.write(path, Path("Assignment 1") / path.relative_to(folder))

    from_folder = grade_batch(tmp_path / "out-folder", folder, backend="local")
    from_zip = grade_batch(tmp_path / "out-zip", archive, backend="local")

    for run in (from_folder, from_zip):
        assert run.code == 0 and "5 graded now" in run.stderr, explain(run)
    ids = ["alice", "bob", "carol", "dave", "erin"]
    check_consistent(tmp_path / "out-folder", ids)
    check_consistent(tmp_path / "out-zip", ids)

    def table(out: Path) -> list[dict[str, str]]:  # every column but the time each grading took
        return [{key: value for key, value in row.items() if key != "seconds"} for row in rows(out)]

    assert table(tmp_path / "out-zip") == table(tmp_path / "out-folder")
    assert [row["score"] for row in table(tmp_path / "out-folder")] == ["3", "1", "0", "3", "1"]
    grades = (tmp_path / "out-folder" / "grades.csv").read_text()
    header = next(csv.reader(io.StringIO(grades)))
    assert header == ["id", "score", "max_score", "percent", "status", "reason", "seconds", "sha256"]


def test_more_jobs_than_cpus_is_graded_with_a_note_on_the_time_limit(tmp_path):
    folder = write_class(tmp_path / "class", {"alice.py": REFERENCE})
    cpus = os.cpu_count() or 1
    if cpus >= 64:
        pytest.skip("-j goes up to 64: no more jobs than CPUs here")
    crowded = grade_batch(tmp_path / "crowded", folder, backend="local", jobs=cpus + 1)
    assert crowded.code == 0 and "1 graded now" in crowded.stderr, explain(crowded)
    assert f"note: -j {cpus + 1} on {cpus} CPUs" in crowded.stderr and "8 s limit" in crowded.stderr
    alone = grade_batch(tmp_path / "alone", folder, backend="local", jobs=1)
    assert alone.code == 0 and "note:" not in alone.stderr, explain(alone)
    assert rows(tmp_path / "crowded")[0]["score"] == rows(tmp_path / "alone")[0]["score"] == "3"
