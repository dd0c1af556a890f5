"""A batch grades each submission exactly as grading it alone would: same report, timings aside.

- Batch = one file: every known submission of a catalog challenge (reference, starter, every mutant), graded one
  file at a time and as one batch (2 slots), gives identical reports.
- Hostile neighbours change nothing: honest submissions graded after hostile ones, sharing their sandbox slots
  (one warm container, or warm bubblewrap worker, in sequence), get the report they get alone on a fresh backend.
  The honest submissions print a witness of what they can see (scratch folders, environment, processes, patched
  functions, random draws), so any trace a hostile neighbour left shows up as a difference.
- Ctrl-C half-way, then resume = one uninterrupted run: same grades.csv (but the seconds column), same
  summary.json, same reports.

"One file" here is `harness.dispatch.grade_submission`, what `harness grade ID FILE` runs: `harness.grader.grade`
followed by the stamp of the challenge's content hash (`dispatch.conclude`), which a batch's reports carry too;
`grader.grade` alone leaves `environment.challenge_hash` unset by design.

Harness bugs found on the way, each with the smallest submission that shows it, and fixed; their tests guard the
fixes: a report's output named a random job folder; what was printed just before a run ended could be lost; only a
warm slot's first job found /tmp/torchinductor_<user>; a submission could kill the local backend's warm serving
worker (then process 2, under bubblewrap's init; now process 1, as in a container).
"""

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
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import CATALOG, containers_of, interrupt_batch, leftover_sandboxes, report_files
from harness.batch.discover import Entry, discover
from harness.batch.runner import run_batch
from harness.batch.store import ResultStore
from harness.challenge import Challenge, all_challenges
from harness.dispatch import grade_submission
from harness.probing import content_hash
from harness.report import Report, RunStatus
from harness.submission import accepted_files
from harness.validate import _first_difference, comparable

REPO = Path(__file__).resolve().parents[1]
CHALLENGES = CATALOG / "challenges"
SEED = 29
CLI_TIMEOUT = 180


def differences(expected: dict[str, Report], got: dict[str, Report]) -> dict[str, str]:
    """For each id whose reports differ (timings aside), where they first differ."""
    assert sorted(expected) == sorted(got)
    return {student: _first_difference(comparable(expected[student]), comparable(got[student]))
            for student in expected if comparable(expected[student]) != comparable(got[student])}


def batch(challenge: Challenge, entries: list[Entry], out: Path, backend, jobs: int) -> dict[str, Report]:
    """run_batch into a fresh ResultStore; every entry must end with a report, saved exactly as returned."""
    store = ResultStore(out)
    outcome = run_batch(challenge, entries, store, backend=backend, seed=SEED, jobs=jobs, stream=io.StringIO())
    assert not outcome.interrupted and outcome.graded == len(entries) and outcome.reused == 0
    found = {}
    for entry, report in zip(entries, outcome.reports):
        assert report is not None, entry.student_id
        saved = store.load(entry.student_id)
        assert saved is not None and comparable(saved) == comparable(report), entry.student_id
        found[entry.student_id] = report
    return found


# --- 1. a batch grades like one file at a time --------------------------------------------------


@pytest.mark.docker
def test_a_batch_of_the_catalog_submissions_grades_like_one_file_each(docker_backend, tmp_path):
    challenge = next(c for c in all_challenges() if c.id == "cosine-annealing-tmax")
    originals = {"reference": challenge.reference, "starter": challenge.starter,
                 **{path.stem: path for path in challenge.mutants}}
    assert len(originals) >= 6 and challenge.reference.name == challenge.starter.name == "solution.py"
    # named so that each copy's file name is its original's: folders holding solution.py, mutants as <stem>.py
    folder = tmp_path / "class"
    for student, path in originals.items():
        target = folder / student / "solution.py" if path.name == "solution.py" else folder / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    found = discover([folder], accepted_files(challenge), unpack_dir=tmp_path / "unpack")
    assert sorted(entry.student_id for entry in found.entries) == sorted(originals) and not found.skipped

    batched = batch(challenge, found.entries, tmp_path / "out", docker_backend, jobs=2)
    single = {student: grade_submission(challenge, path, docker_backend, SEED) for student, path in originals.items()}

    assert differences(single, batched) == {}
    # what the starter and some mutants print (torch's UserWarning) names the submission's path in the sandbox
    assert any("/solution.py:" in (report.output or "") for report in batched.values())
    assert {report.submission.file_name for report in batched.values()} >= {"solution.py", "tmax_off_by_one.py"}
    assert {report.environment.challenge_hash for report in batched.values()} == {content_hash(challenge)}
    # the comparison is worth something: the reference earns everything, the starter and the mutants do not
    assert batched["reference"].status is RunStatus.graded and batched["reference"].percent == 100
    assert all(report.percent < 100 for student, report in batched.items() if student != "reference"), {
        student: report.percent for student, report in batched.items()}
    assert leftover_sandboxes(docker_backend) == []


def skip_unless_own_tmp(backend) -> None:
    if backend.name == "local" and backend.mode != "bwrap":
        pytest.skip(f"only bubblewrap gives a local run a /tmp of its own (here: {backend.mode})")


def test_one_file_graded_twice_with_one_seed_gives_one_report(tiny, backend, tmp_path):
    """A warning names the submission's path in the sandbox: the same in every grading (worker.write_files; found
    random, /tmp/job-XXXXXXXX, while writing this file: the catalog's starter and 3 mutants print such a warning)."""
    skip_unless_own_tmp(backend)
    path = tmp_path / "solution.py"
    path.write_text("import warnings\nwarnings.warn('k may be negative')\n\ndef scale(x, k):\n    return x * k\n")
    first, second = (grade_submission(tiny, path, backend, SEED) for _ in range(2))
    assert first.score == second.score == 3 and "k may be negative" in first.output
    assert comparable(first) == comparable(second), (first.output, second.output)


def test_what_a_submission_printed_just_before_it_ended_is_in_its_report(tiny, monkeypatch, tmp_path):
    """What was printed just before the worker's `done` message still reaches the report (driver._drain; found
    missing while writing this file: 1 of 12 gradings lost the output's last line, another all of it). Deterministic:
    the thread that reads a per-run local worker's printed output hands on each piece half a second late, as a
    starved thread can on a loaded machine (the worker's writes do not wait for it: the pipe buffers). Plain
    isolation, the one per-run level that works everywhere: this submission is harmless."""
    from harness.sandbox.local import LocalBackend, LocalWorker

    pump = LocalWorker._pump

    class Late:
        def __init__(self, stream) -> None:
            self.stream = stream

        def read1(self, size: int) -> bytes:
            data = self.stream.read1(size)
            if data:
                time.sleep(0.5)
            return data

        def close(self) -> None:
            self.stream.close()

    def late_printed_output(self, stream, kind):
        pump(self, Late(stream) if kind == "err" else stream, kind)

    monkeypatch.setattr(LocalWorker, "_pump", late_printed_output)
    path = tmp_path / "solution.py"
    path.write_text("print('at import', flush=True)\n\ndef scale(x, k):\n    print('in scale', flush=True)\n"
                    "    return x * k\n")
    with LocalBackend(mode="plain") as plain:
        report = grade_submission(tiny, path, plain, SEED)
    assert report.score == 3
    assert report.output == "at import\nin scale\nin scale\n", report.output


# --- 2. hostile neighbours change nothing -------------------------------------------------------

# What an honest submission can see of what came before it, printed at import and at each call of scale; a
# hostile neighbour's trace (file, process, variable, patch, random state) makes it differ from a lone run's.
WITNESS = r'''
import builtins, os, sys
import torch

SCRATCH = ("/tmp", "/dev/shm", "/dev/mqueue", "/var/tmp", os.getcwd(), os.environ.get("HOME") or "/tmp")


def _ancestors():
    mine, pid = set(), os.getpid()
    while pid > 0:
        mine.add(pid)
        with open(f"/proc/{pid}/stat") as handle:
            pid = int(handle.read().rsplit(")", 1)[1].split()[1])
    return mine


def _others():
    mine, found = _ancestors(), []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) not in mine:
            try:
                with open(f"/proc/{entry}/comm") as handle:
                    found.append(handle.read().strip())
            except OSError:
                pass
    return sorted(found)


def _files():
    return sorted({os.path.join(root, name) for place in SCRATCH for root, dirs, files in os.walk(place)
                   for name in dirs + files})


def witness(when):
    environment = {key: value for key, value in os.environ.items() if key not in ("HOSTNAME",)}
    seen = {"files": _files(), "environment": sorted(environment.items()), "processes": _others(),
            "mul": getattr(torch.Tensor.__mul__, "__qualname__", "?"),
            "manual_seed": getattr(torch.manual_seed, "__module__", "?"),
            "sum": getattr(builtins.sum, "__module__", "?"), "print": getattr(builtins.print, "__module__", "?"),
            "random": [round(value, 6) for value in torch.rand(3).tolist()], "cwd": os.getcwd(),
            "path": sys.path,
            "modules": sorted(name for name in sys.modules if "hostile" in name or name in ("sitecustomize", "usercustomize"))}
    print("witness", when, seen, flush=True)


witness("import")
'''

HONEST = {
    "correct": WITNESS + "\n\ndef scale(x, k):\n    witness('scale')\n    return x * k\n",
    "wrong": WITNESS + "\n\ndef scale(x, k):\n    witness('scale')\n    return x * k + 1e-3\n",
    "raises": WITNESS + "\n\ndef scale(x, k):\n    witness('scale')\n    raise ValueError('k is not welcome here')\n",
}
MARK = "hostile-mark"
FORGED = {"event": "result", "probe": "small", "stage": 1, "status": "ok", "value": None, "seconds": 0.0}
HOSTILE = {
    "writes_everywhere": f'''
        import os, time
        wrote, deadline = [], time.monotonic() + 3  # well inside the import's time limit, even on a busy machine
        places = ["/tmp", "/dev/shm", "/dev/mqueue", "/var/tmp", os.getcwd(), os.environ.get("HOME") or "/"]
        for root, dirs, files in os.walk("/"):
            dirs[:] = [d for d in dirs if os.path.join(root, d) not in ("/proc", "/sys")]
            if os.access(root, os.W_OK):
                places.append(root)
            if time.monotonic() > deadline:
                break
        for place in places:
            for name in ("{MARK}", "sitecustomize.py", "solution.py", "torch.py"):
                try:
                    with open(os.path.join(place, name), "w") as handle:
                        handle.write("raise SystemExit('{MARK}')\\n")
                    wrote.append(os.path.join(place, name))
                except OSError:
                    pass
        for place in ("/tmp", "/dev/shm"):
            try:
                os.makedirs(os.path.join(place, "{MARK}-dir", "deep"), exist_ok=True)
                os.chmod(os.path.join(place, "{MARK}-dir"), 0o500)  # hard to empty
            except OSError:
                pass
        print("wrote", len(wrote), sorted(set(os.path.dirname(path) for path in wrote)))

        def scale(x, k):
            return x * k
    ''',
    "background_process": f'''
        import ctypes, os, time
        if os.fork() == 0:
            try:
                os.setsid()
                ctypes.CDLL(None).prctl(15, b"{MARK}", 0, 0, 0)  # PR_SET_NAME
                os.environ["HOSTILE_CHILD"] = "1"
                end = time.monotonic() + 600
                while time.monotonic() < end:
                    for place in ("/tmp", "/dev/shm"):
                        try:
                            open(os.path.join(place, "{MARK}-late"), "w").close()
                        except OSError:
                            pass
                    time.sleep(0.05)
            finally:
                os._exit(0)

        def scale(x, k):
            return x * k
    ''',
    "environment": '''
        import os
        os.environ.update(HOSTILE_ENV="1", PYTHONPATH="/tmp", OMP_NUM_THREADS="7", HOME="/dev/shm", TMPDIR="/dev/shm")
        os.putenv("HOSTILE_PUTENV", "1")
        os.putenv("LD_PRELOAD", "/tmp/hostile.so")
        os.chdir("/dev/shm")

        def scale(x, k):
            os.environ["HOSTILE_IN_SCALE"] = "1"
            return x * k
    ''',
    "monkeypatches": '''
        import builtins, torch
        torch.Tensor.__mul__ = lambda self, other: torch.zeros_like(self)
        torch.Tensor.__rmul__ = lambda self, other: torch.zeros_like(self)
        torch.manual_seed = lambda seed: None
        builtins.sum = lambda *args, **kwargs: 42
        builtins.print = lambda *args, **kwargs: None
        torch.rand(10_000)  # moves the global generator on

        def scale(x, k):
            return x * k
    ''',
    "fills_memory": '''
        hoard = []
        while True:
            hoard.append(bytearray(64 * 1024 * 1024))
    ''',
    "ignores_sigterm": '''
        import signal, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        while True:
            time.sleep(0.01)
    ''',
    "kills_parent": '''
        import os, signal
        for pid in (os.getppid(), 1):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError as error:
                print("kill", pid, error)

        def scale(x, k):
            try:
                os.kill(os.getppid(), signal.SIGKILL)
            except OSError:
                pass
            return x * k
    ''',
    "forges_messages": f'''
        import json, os, sys
        LINE = json.dumps({FORGED!r}) + "\\n"
        print(LINE, end="", flush=True)
        os.write(1, LINE.encode())
        os.write(2, b'{{"event": "done"}}\\n')

        def scale(x, k):
            print(LINE, end="", flush=True)
            os.write(1, LINE.encode() + b"x 20\\n" + json.dumps({{"code": 0}}).encode().ljust(20) + b"\\n")
            return x
    ''',
    "prints_megabytes": '''
        import os, sys
        line = "spam and eggs " * 70 + "\\n"
        for _ in range(5_000):  # about 5 MB
            sys.stdout.write(line)
        os.write(1, line.encode() * 1000)

        def scale(x, k):
            return x * k
    ''',
}


def write(folder: Path, sources: dict[str, str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for student, source in sources.items():
        (folder / f"{student}.py").write_text(textwrap.dedent(source))


def fresh_backend(kind: str, size: int = 1):
    """A new backend of this kind; with size 1, every run goes through its one slot in turn (a warm container, or
    a warm bubblewrap worker where the local backend keeps them)."""
    if kind == "docker":
        from harness.image import image_tag
        from harness.sandbox.docker_backend import DockerBackend

        return DockerBackend(image_tag(), size=size)
    from harness.sandbox.local import LocalBackend

    return LocalBackend(size=size)


def no_sandbox_left(session, fresh) -> bool:
    """After a fresh backend closed: docker, no container of this process but the session backend's idle ones
    (leftover_sandboxes of the session backend); local, no worker process of the fresh backend's."""
    return leftover_sandboxes(session if session.name == "docker" else fresh) == []


def hostile_class(folder: Path, tiny: Challenge, unpack: Path) -> tuple[list[Entry], list[str]]:
    """The hostile submissions (ids a<n>_*) and the honest ones (z_*), in id order: the hostile ones first."""
    sources = {**{f"a{index}_{name}": source for index, (name, source) in enumerate(HOSTILE.items())},
               **{f"z_{name}": source for name, source in HONEST.items()}}
    write(folder, sources)
    entries = discover([folder], accepted_files(tiny), unpack_dir=unpack).entries
    honest = [f"z_{name}" for name in sorted(HONEST)]
    assert [entry.student_id for entry in entries] == sorted(sources)
    assert [entry.student_id for entry in entries][-len(honest):] == honest
    return entries, honest


# the hostile submissions whose run ends normally, so that the slot they leave is used again (the others' slot is
# replaced by a fresh one): the second pass, shorter, takes only these
SLOT_KEEPERS = ("writes_everywhere", "background_process", "environment", "monkeypatches", "kills_parent",
                "forges_messages")


def interleaved(entries: list[Entry], honest: list[str]) -> list[Entry]:
    """Another order: the hostile ones that leave their slot to the next run, backwards, an honest one after every
    second of them."""
    hostile_entries = [entry for entry in entries
                       if entry.student_id not in honest and entry.student_id.split("_", 1)[1] in SLOT_KEEPERS][::-1]
    honest_entries = [entry for entry in entries if entry.student_id in honest]
    order = []
    for index, entry in enumerate(hostile_entries):
        order.append(entry)
        if index % 2 == 1 and honest_entries:
            order.append(honest_entries.pop())
    return order + honest_entries


def test_hostile_neighbours_change_nothing_for_honest_submissions(tiny, backend, tmp_path):
    """The whole class through ONE warm slot (a fresh backend of size 1), -j 1, hostile ones first; then the honest
    ones and the hostile ones that leave their slot to the next run at -j 2 on a fresh backend of size 2, in another
    order; the honest ones alone on another fresh backend. The local backend only with bubblewrap: the weaker levels
    promise no such isolation."""
    kind = backend.name
    if kind == "local" and backend.mode != "bwrap":
        pytest.skip(f"only bubblewrap gives each local run its own /tmp, /dev/shm, processes and IPC (here: {backend.mode})")
    entries, honest = hostile_class(tmp_path / "class", tiny, tmp_path / "unpack")

    with fresh_backend(kind) as lone:  # the honest ones with no hostile neighbour at all
        alone = {entry.student_id: grade_submission(tiny, entry.path, lone, SEED)
                 for entry in entries if entry.student_id in honest}
    assert no_sandbox_left(backend, lone)
    assert {student: (report.status, report.score) for student, report in alone.items()} == {
        "z_correct": (RunStatus.graded, 3), "z_raises": (RunStatus.graded, 0), "z_wrong": (RunStatus.graded, 0)}
    assert all(report.output.count("witness ") == 3 for report in alone.values()), alone["z_correct"].output

    failures = {}
    for label, order, jobs in [("-j 1, hostile first", entries, 1), ("-j 2, interleaved", interleaved(entries, honest), 2)]:
        with fresh_backend(kind, size=jobs) as shared:
            found = batch(tiny, order, tmp_path / f"out-{jobs}", shared, jobs=jobs)
        assert no_sandbox_left(backend, shared)
        hostile = {student: report for student, report in found.items() if student not in honest}
        errors = {student: report.reason for student, report in hostile.items() if report.status is RunStatus.error}
        assert not errors, "a hostile submission made the grader fail"
        assert hostile["a3_monkeypatches"].score == hostile["a7_forges_messages"].score == 0, label
        if jobs == 1:
            stopped = {"a4_fills_memory", "a5_ignores_sigterm", "a8_prints_megabytes"}
            assert {s for s, r in hostile.items() if r.status is RunStatus.ungradable} == stopped, label
        if diff := differences(alone, {student: found[student] for student in honest}):
            failures[label] = diff
    assert failures == {}


def test_every_job_of_a_warm_slot_finds_the_same_tmp(tiny, backend, tmp_path):
    """The first job of a warm slot finds /tmp as every later one does (found otherwise while writing this file:
    the serving worker's warm-up left /tmp/torchinductor_<user>, which only the first job saw)."""
    skip_unless_own_tmp(backend)
    source = "import os\nprint('in /tmp:', sorted(os.listdir('/tmp')))\n\ndef scale(x, k):\n    return x * k\n"
    for student in ("first", "second"):
        write(tmp_path / "class" / student, {"solution": source})
    entries = discover([tmp_path / "class"], accepted_files(tiny), unpack_dir=tmp_path / "unpack").entries
    with fresh_backend(backend.name) as shared:  # one slot: both jobs in one warm worker, in turn (where it serves)
        found = batch(tiny, entries, tmp_path / "out", shared, jobs=1)
    assert no_sandbox_left(backend, shared)
    outputs = {student: report.output for student, report in found.items()}
    assert comparable(found["first"]) == comparable(found["second"]), outputs


def test_a_submission_cannot_kill_its_serving_worker(tiny, local_backend, tmp_path):
    if local_backend.mode != "bwrap":
        pytest.skip(f"only bubblewrap serves warm (here: {local_backend.mode})")
    path = tmp_path / "solution.py"
    path.write_text(textwrap.dedent(HOSTILE["kills_parent"]))
    with fresh_backend("local") as lone:
        report = grade_submission(tiny, path, lone, SEED)
    assert (report.status, report.score) == (RunStatus.graded, 3), report.reason


# --- 3. Ctrl-C half-way, then resume = one uninterrupted run -------------------------------------


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    pid: int


def cli(*args: object, timeout: float = CLI_TIMEOUT) -> Run:
    command = [sys.executable, "-m", "harness", "--challenges", str(CHALLENGES), *map(str, args)]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        pytest.fail(f"{' '.join(command)} ran past {timeout} s\n{err.decode(errors='replace')[-4000:]}")
    return Run(process.returncode, out.decode(errors="replace"), err.decode(errors="replace"), process.pid)


def table(out: Path) -> list[dict[str, str]]:
    """grades.csv, every column but `seconds`."""
    with open(out / "grades.csv", newline="", encoding="utf-8") as handle:
        return [{key: value for key, value in row.items() if key != "seconds"} for row in csv.DictReader(handle)]


def saved_reports(out: Path) -> dict[str, Report]:
    return {student: Report.model_validate_json(path.read_bytes()) for student, path in report_files(out).items()}


SLEEPY = "import time\n\ndef scale(x, k):\n    time.sleep(0.5)\n    return x * k{}\n"
CLASS = {
    "s0": "def scale(x, k):\n    return x * k\n",
    "s1": "def scale(x, k):\n    return x * k if str(x.dtype) == 'torch.float64' else x * 2\n",
    "s2": "def scale(x, k)\n    return x * k\n",
    "s3": "def scale(x, k):\n    raise RuntimeError('no')\n",
    "s4": SLEEPY.format(""), "s5": SLEEPY.format(" + 1"), "s6": SLEEPY.format(""), "s7": SLEEPY.format(" * 1.0"),
}


@pytest.mark.docker
def test_ctrl_c_half_way_then_resume_equals_one_uninterrupted_run(docker_backend, tmp_path):
    folder = tmp_path / "class"
    write(folder, CLASS)
    out_a, out_b = tmp_path / "out-a", tmp_path / "out-b"
    grade_args = ["grade", "tiny-scale", folder, "-j", "2", "--backend", "docker"]

    whole = cli(*grade_args, "--out", out_a, "--seed", SEED)
    assert whole.code == 0 and "8 graded now, 0 kept" in whole.stderr, whole.stderr[-3000:]

    command = [sys.executable, "-m", "harness", "--challenges", str(CHALLENGES), *map(str, grade_args),
               "--out", str(out_b), "--seed", str(SEED)]
    code, stderr, pid = interrupt_batch(command, REPO, out_b, at_least=len(CLASS) // 2)
    assert code == 130 and "interrupted" in stderr, f"exit {code}\n{stderr[-3000:]}"
    assert [c.short_id for c in containers_of(docker_backend, pid)] == []
    finished = len(report_files(out_b))
    assert len(CLASS) // 2 <= finished < len(CLASS), f"{finished} reports: the interruption came too late"

    resumed = cli(*grade_args, "--out", out_b)  # the folder's seed again
    assert resumed.code == 0, resumed.stderr[-3000:]
    assert f"{len(CLASS) - finished} graded now, {finished} kept from an earlier run" in resumed.stderr, resumed.stderr

    assert table(out_b) == table(out_a)
    assert json.loads((out_b / "summary.json").read_text()) == json.loads((out_a / "summary.json").read_text())
    assert differences(saved_reports(out_a), saved_reports(out_b)) == {}
    assert [row["score"] for row in table(out_a)] == ["3", "1", "0", "0", "3", "0", "3", "3"]
    for run in (whole, resumed):
        assert [c.short_id for c in containers_of(docker_backend, run.pid)] == []


# --- a hung submission does not hold the class back ---------------------------------------------


@pytest.mark.docker
def test_a_hung_submission_does_not_hold_back_the_rest_of_the_class(tiny, docker_backend, tmp_path):
    """With -j 1, a submission that hangs holds its slot for wall_seconds per probe; once it has run longer than
    any typical grading, the next submissions run beside it instead of waiting, and every report is still the
    one each submission gets alone."""
    sources = {**{f"a_first{index}": "def scale(x, k):\n    return x * k\n" for index in range(3)},
               "b_hung": "def scale(x, k):\n    while True:\n        pass\n",
               **{f"c_after{index}": "def scale(x, k):\n    return x * k\n" for index in range(3)}}
    write(tmp_path / "class", sources)
    entries = discover([tmp_path / "class"], accepted_files(tiny), unpack_dir=tmp_path / "unpack").entries
    stream = io.StringIO()
    outcome = run_batch(tiny, entries, ResultStore(tmp_path / "out"), backend=docker_backend, seed=SEED, jobs=1,
                        stream=stream)
    reports = dict(zip([entry.student_id for entry in entries], outcome.reports))
    assert {check.status.value for check in reports["b_hung"].checks} == {"timeout"}
    assert all(reports[f"c_after{index}"].score == tiny.meta.max_score for index in range(3))
    order = [student for line in stream.getvalue().splitlines() for student in sources if f"] {student}:" in line]
    assert order[-1] == "b_hung" and len(order) == len(sources), f"the hung submission held the others back: {order}"
    assert leftover_sandboxes(docker_backend) == []
