"""The local backend: the worker as a child process with rlimits, a scrubbed environment and its own view of the machine.

It takes the strongest of three levels that works here (`LocalBackend.isolation_notes()` says what
the chosen one leaves open):

- `bwrap` (bubblewrap, Debian package `bubblewrap`): the worker gets a new root holding only the
  Python installation and the distributions torch and numpy need (read-only; site-packages
  otherwise empty: no harness package, no bundled catalog, no editable-install finder), the worker
  at /opt/harness/worker.py and the job at /job (read-only), a fresh 64 MiB /tmp (its cwd and
  HOME), its own /proc and a minimal /dev; new PID, network, IPC, UTS and cgroup namespaces; no
  capabilities. Under root it runs as uid/gid 65534 with no_new_privs; under another user, as that
  user inside a user namespace that cannot make further ones.
- `unshare`: PID, network and mount namespaces; the catalog, the reference solutions, the
  repository (its `.git` included), the harness package, site-packages and the home folder are
  covered by empty read-only mounts, with only what the worker needs mounted back; under root it
  runs as 65534 where the Python installation is readable by that user. The rest of the file
  system stays visible.
- `plain`: a child process in its own session, under a subreaper (reaper.py) that ends whatever the worker
  leaves running, even in a session of its own, before the run counts as over.

$HARNESS_LOCAL_ISOLATION (auto, bwrap, unshare, plain) picks a level instead, for tests and operators.

Everywhere: rlimits (CPU time, processes, file size, open files, no core dumps) and memory and
process count watched from outside (the resident set of all its processes, found by walking the
process tree from the grader's side), because capping address space breaks torch.
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import json
import logging
import os
import queue
import pwd
import re
import resource
import shutil
import signal
import site
import stat
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

from harness.challenge import Limits
from harness.sandbox.base import REAPER_PATH, WORKER_PATH, Backend, ExitInfo, Job, SandboxError, Worker
from harness.sandbox.pool import PooledWorker, Slot, WarmPool

log = logging.getLogger(__name__)

WATCH_INTERVAL = 0.05
MODES = ("bwrap", "unshare", "plain")
UNSHARE = ["unshare", "--pid", "--fork", "--kill-child", "--net", "--mount", "--mount-proc"]
NOBODY = 65534  # the uid and gid the worker runs as when the grader is root (as in the docker backend)
WORKER_IN_VIEW = "/opt/harness/worker.py"  # where bwrap shows the worker (the path the docker image uses)
JOB_IN_VIEW = "/job"
TMP_BYTES = 64 * 1024 * 1024
ROOT_DISTRIBUTIONS = ("torch", "numpy")  # what the sandbox image holds, with what they need
SYSTEM_TREES = ("/usr/lib", "/usr/lib64", "/usr/lib32", "/usr/libx32", "/usr/bin",
                "/lib", "/lib64", "/lib32", "/libx32", "/bin")  # shared libraries, and the few tools a submission may run
SYSTEM_FILES = ("/etc/ld.so.cache",)
CPU_INFO = "/sys/devices/system/cpu"  # the CPU topology torch's cpuinfo reads at import (docker shows all of /sys)
PACKAGE_DIR = WORKER_PATH.resolve().parent.parent  # the harness package
INSTALL_HINT = "install bubblewrap (apt-get install bubblewrap) for full isolation"


@functools.lru_cache(maxsize=1)
def namespaces_available() -> bool:
    """True when `unshare` can give the child its own PID, network and mount namespaces here."""
    if not shutil.which("unshare"):
        return False
    try:
        return subprocess.run([*UNSHARE, "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def bwrap_available() -> bool:
    """True when bubblewrap can build the worker's view here and Python starts inside it."""
    return (os.geteuid() == 0 and _bwrap_works(drop=True)) or _bwrap_works(drop=False)


@functools.lru_cache(maxsize=2)
def _bwrap_works(drop: bool) -> bool:
    """Start Python in the worker's view (as 65534 with `drop`, which needs root and setpriv), once per process."""
    if not shutil.which("bwrap") or (drop and not (os.geteuid() == 0 and shutil.which("setpriv"))):
        return False
    folder = Path(tempfile.mkdtemp(prefix="harness-probe-"))
    try:
        folder.chmod(0o755)
        python = [_runtime().executable, "-I", "-B", "-c", f"import os; os.stat({WORKER_IN_VIEW!r})"]
        command = _bwrap_command(folder, [*(_setpriv_prefix() if drop else []), *python], drop=drop)
        done = subprocess.run(command, capture_output=True, timeout=30, stdin=subprocess.DEVNULL, cwd="/",
                              env=_environment("/tmp"))
    except (OSError, subprocess.SubprocessError, SandboxError) as error:
        log.info("bubblewrap cannot run here: %s", error)
        return False
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if done.returncode != 0:
        log.info("bubblewrap cannot run here%s: %s", " as uid 65534" if drop else "",
                 done.stderr.decode(errors="replace").strip()[-500:])
    return done.returncode == 0


def best_mode() -> str:
    """The strongest isolation that works on this machine."""
    if bwrap_available():
        return "bwrap"
    if namespaces_available():
        return "unshare"
    return "plain"


class LocalBackend(Backend):
    """Runs the worker as a limited child process of the grader, in the strongest isolation available."""

    name = "local"

    def __init__(self, mode: Optional[str] = None, size: int = 1) -> None:
        """`mode`: auto (the best that works), or one of bwrap, unshare, plain (SandboxError if it cannot work here);
        by default $HARNESS_LOCAL_ISOLATION, else auto. `size`: warm workers per set of limits (bwrap)."""
        mode = mode or os.environ.get("HARNESS_LOCAL_ISOLATION") or "auto"
        if mode == "auto":
            mode = best_mode()
        elif mode not in MODES:
            raise SandboxError(f"unknown local isolation {mode!r}; one of auto, {', '.join(MODES)}")
        elif mode == "bwrap" and not bwrap_available():
            raise SandboxError(f"bubblewrap cannot run here; {INSTALL_HINT}")
        elif mode == "unshare" and not namespaces_available():
            raise SandboxError("unshare cannot make namespaces here")
        self.mode = mode
        self.job_folders: list[Path] = []  # every job this backend ran, so that tests can look for leftovers
        self.drop_to_nobody = os.geteuid() == 0 and _can_drop(mode)
        # bubblewrap gives the worker a PID namespace of its own, so it can serve warm (see pool.py); the other
        # modes start a worker per run
        self.pool = WarmPool(self._start_slot, size) if mode == "bwrap" else None
        self.pool_id = f"pool-{uuid.uuid4().hex[:12]}"
        self._lock = threading.Lock()
        self._running: set[LocalWorker] = set()  # single-use workers not closed yet: close() ends them

    def isolation_notes(self) -> list[str]:
        """What this backend leaves open, in words for the report; empty when the worker is fully isolated."""
        notes = []
        if self.mode == "unshare":
            notes.append("the file system is visible apart from the repository, the catalog, the reference solutions, "
                         f"site-packages and the home folder: other copies of the checks on this machine can be read ({INSTALL_HINT})")
        elif self.mode == "plain":
            notes.append(f"no namespaces: the submission shares the network and sees the machine's processes ({INSTALL_HINT})")
            if not self.drop_to_nobody:
                notes.append("it runs as the user of the process that ends what it leaves running, so it can stop "
                             "that process, and then what it left can outlive grading")
            notes.append("the file system is visible: the checks, the reference solutions and the repository with its .git can be read")
        if os.geteuid() == 0 and not self.drop_to_nobody:
            why = "setpriv is missing" if not shutil.which("setpriv") else "the Python installation is not readable by uid 65534"
            notes.append(f"runs as uid 0, the grader's user ({why})")
        elif os.geteuid() != 0 and self.mode != "bwrap":
            notes.append(f"runs as uid {os.geteuid()}, the grader's user: it can read what that user can read")
        return notes

    def start(self, job: Job) -> Worker:
        if self.pool is not None:
            return PooledWorker(self.pool, self.pool.lease(job.limits))
        self.job_folders.append(job.folder)
        worker = LocalWorker(job, self.mode, self.drop_to_nobody, on_close=self._forget)
        with self._lock:
            self._running.add(worker)
        return worker

    def _forget(self, worker: "LocalWorker") -> None:
        with self._lock:
            self._running.discard(worker)

    def _start_slot(self, limits: Limits) -> Slot:
        return LocalSlot(limits, self.drop_to_nobody, self.pool_id)

    def prewarm(self, limits: Limits, count: Optional[int] = None) -> None:
        if self.pool is not None:
            self.pool.prewarm(limits, count)

    def close(self) -> None:
        """End every worker this backend started: the warm ones, and single-use ones still running (a Ctrl-C
        leaves them to this, whichever thread drove them)."""
        if self.pool is not None:
            self.pool.close()
        with self._lock:
            running = list(self._running)
        for worker in running:
            worker.close()


class _Spawner:
    """Starts warm workers from one thread that lives as long as the grader. bwrap's --die-with-parent uses
    PR_SET_PDEATHSIG, which fires when the *thread* that started bwrap ends, not the process: a warm worker
    started from a short-lived thread (a pool's background start, a batch's grading thread) would be killed
    with it."""

    def __init__(self) -> None:
        self._requests: "queue.Queue[tuple[Callable[[], Any], queue.Queue]]" = queue.Queue()
        self._lock = threading.Lock()
        self._thread: Optional[threading.Thread] = None

    def call(self, make: Callable[[], Any]) -> Any:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name="harness-local-spawner", daemon=True)
                self._thread.start()
        answer: queue.Queue = queue.Queue()
        self._requests.put((make, answer))
        ok, value = answer.get()
        if not ok:
            raise value
        return value

    def _serve(self) -> None:
        while True:
            make, answer = self._requests.get()
            try:
                answer.put((True, make()))
            except BaseException as error:  # noqa: BLE001  (handed to the caller)
                answer.put((False, error))


_SPAWNER = _Spawner()


class LocalSlot(Slot):
    """A warm serving worker in bubblewrap (the top of its own PID namespace), driven like a container."""

    def __init__(self, limits: Limits, drop_to_nobody: bool, pool_id: str = "") -> None:
        super().__init__(limits)
        # the job folder is never used when serving: each job, the submission included, comes on stdin
        self.worker = _SPAWNER.call(lambda: LocalWorker(Job(Path("/nonexistent"), limits), "bwrap", drop_to_nobody,
                                                        serve=True, pool_id=pool_id))
        self._relay = threading.Thread(target=self._forward, daemon=True)
        self._relay.start()

    def _forward(self) -> None:
        while True:
            kind, data = self.worker.chunks.get()
            if kind == "eof" or data is None:
                self.ended()
                return
            if kind == "out":
                self.feed(data)
            else:
                self.feed_stderr(data)

    def write(self, data: bytes) -> None:
        self.worker.write(data)

    def kill(self) -> None:
        self.worker.kill()

    def remove(self) -> None:
        self.worker.close()

    def final_exit(self) -> ExitInfo:
        return self.worker.wait()


class LocalWorker(Worker):
    """The worker as a child process of the grader: one job (`send`), or, with `serve` (bwrap only), a serving
    worker for a LocalSlot, which writes one job after another (`write`) to a fresh child each time."""

    def __init__(self, job: Job, mode: Optional[str] = None, drop_to_nobody: Optional[bool] = None,
                 serve: bool = False, pool_id: str = "",
                 on_close: Optional[Callable[["LocalWorker"], None]] = None) -> None:
        super().__init__()
        self._on_close = on_close
        mode = mode or best_mode()
        if drop_to_nobody is None:
            drop_to_nobody = os.geteuid() == 0 and _can_drop(mode)
        self.mode = mode
        self.limits = job.limits
        self.oom = False
        self.reason: Optional[str] = None
        self._closed = False
        self._lock = threading.Lock()
        self._open_streams = 2
        if serve and mode != "bwrap":
            raise SandboxError("only bubblewrap gives a serving worker a PID namespace of its own")
        self.serve = serve
        # bwrap's, unshare's or the reaper's own processes, not the worker's (serving: no bwrap init, the serving worker
        # is process 1 itself); a serving worker is not counted either (see _watch)
        self._launchers = {"bwrap": 1 if serve else 2, "unshare": 1, "plain": 1}[mode]
        self.scratch: Optional[Path] = None
        self.stash: Optional[Path] = None
        limits = self._rlimits()
        drop = _setpriv_prefix() if drop_to_nobody else []
        try:
            if mode == "bwrap":
                cwd, home = "/", "/tmp"
                argv = self._worker_argv(WORKER_IN_VIEW, "--serve" if serve else JOB_IN_VIEW)
                if serve:
                    argv.append(pool_id)  # names the backend in `ps`, so that its processes can be found
                command = _bwrap_command(None if serve else job.folder, [*drop, *argv], drop=bool(drop), serve=serve)
            else:
                self.scratch = Path(tempfile.mkdtemp(prefix="harness-scratch-"))
                cwd = home = str(self.scratch)
                if drop:
                    os.chown(self.scratch, NOBODY, NOBODY)
                command = [*drop, *self._worker_argv(str(WORKER_PATH), str(job.folder))]
                if mode == "plain":  # no namespace to end: a subreaper ends what the worker leaves (see reaper.py)
                    command = [_runtime().executable, "-I", "-S", "-B", str(REAPER_PATH), *command]
                if mode == "unshare":
                    self.stash = Path(tempfile.mkdtemp(prefix="harness-stash-"))
                    command = [*UNSHARE, *_covering_command(_hidden_folders(job.hide), _needed_paths(job.folder, self.scratch),
                                                            str(self.stash), command)]
        except OSError as error:
            self._remove_folders()
            raise SandboxError(f"could not prepare the local worker: {error}") from error
        prlimit = shutil.which("prlimit")
        if prlimit:  # exec-based, so no code runs between fork and exec in this threaded process
            command = [prlimit, *(f"--{name}={value}" for name, (_, value) in limits.items()), "--", *command]
        try:
            self.process = subprocess.Popen(
                command, cwd=cwd, env=_environment(home), stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                preexec_fn=None if prlimit else functools.partial(_apply_rlimits, limits),
            )
        except OSError as error:
            self._remove_folders()
            raise SandboxError(f"could not start the local worker: {error}") from error
        self._threads = [
            threading.Thread(target=self._pump, args=(self.process.stdout, "out"), daemon=True),
            threading.Thread(target=self._pump, args=(self.process.stderr, "err"), daemon=True),
            threading.Thread(target=self._watch, daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    @staticmethod
    def _worker_argv(worker: str, job_folder: str) -> list[str]:
        """The worker's command line, with the worker and the job folder where the worker will see them."""
        return [_runtime().executable, "-I", "-B", worker, job_folder]

    def _rlimits(self) -> dict[str, tuple[int, int]]:
        """CPU seconds, processes, file size, open files, no core dumps: prlimit's name -> (resource, value)."""
        return {"cpu": (resource.RLIMIT_CPU, int(self.limits.wall_seconds * 4 + 60)),
                "nproc": (resource.RLIMIT_NPROC, self.limits.pids * 4),  # not enforced for root: the watcher counts
                "fsize": (resource.RLIMIT_FSIZE, 64 * 1024 * 1024),
                "nofile": (resource.RLIMIT_NOFILE, 256),
                "core": (resource.RLIMIT_CORE, 0)}

    def _pump(self, stream, kind: str) -> None:
        while data := stream.read1(65536):
            self.chunks.put((kind, data))
        stream.close()
        with self._lock:
            self._open_streams -= 1
            if self._open_streams == 0:
                self.chunks.put(("eof", None))

    def _watch(self) -> None:
        """Kill the worker when its processes together hold more memory, or are more, than allowed. A serving
        worker (the bwrap launcher's only child) is left out of both: only the job's child and what it starts count,
        as for a single-use worker (whose own memory holds torch as the child's does)."""
        limit_kb = self.limits.memory_mb * 1024
        while self.process.poll() is None:
            pids = _descendants(self.process.pid)
            if self.serve:  # bwrap, then the serving worker: the second level down is not the job's
                pids = [pid for pid in pids if _parent(pid) != self.process.pid]
            if sum(_rss_kb(pid) for pid in pids) > limit_kb:
                self.oom = True
                self.kill()
                return
            if len(pids) - self._launchers > self.limits.pids:
                self.reason = f"started more than {self.limits.pids} processes"
                self.kill()
                return
            time.sleep(WATCH_INTERVAL)

    def write(self, data: bytes) -> None:
        """Write one job to a serving worker's stdin, which stays open for the next (OSError when it is gone)."""
        assert self.process.stdin is not None  # started with stdin=PIPE
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def send(self, data: bytes) -> None:
        """Write the job to the worker's stdin and close it."""
        assert self.process.stdin is not None  # started with stdin=PIPE
        try:
            self.process.stdin.write(data)
        except OSError as error:  # the worker died already: how it ended says why
            log.debug("could not send the job: %s", error)
        finally:
            try:
                self.process.stdin.close()
            except OSError:
                pass

    def kill(self) -> None:
        if self.process.poll() is not None:
            # reaped: its pid may be another process's by now (a fork bomb recycles pids fast), so nothing is
            # looked up by it; what it started in a namespace died with the namespace
            return
        for pid in _descendants(self.process.pid):
            _signal(pid, signal.SIGKILL)
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def wait(self) -> ExitInfo:
        try:
            code = self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()
            code = self.process.wait()
        return ExitInfo(code=code, oom=self.oom, reason=self.reason)

    def close(self) -> None:
        with self._lock:  # the thread that drove it and a backend's close() may both get here
            if self._closed:
                return
            self._closed = True
        if self._on_close is not None:
            self._on_close(self)
        alive = self.process.poll() is None  # else its pid may be reused: nothing is looked up by it (see kill)
        started = {pid: _start_time(pid) for pid in _descendants(self.process.pid)} if alive else {}
        self.kill()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            log.warning("local worker %s did not end after SIGKILL", self.process.pid)
        # Killed processes can take a moment to go (a torch process unmapping its memory, on a busy machine), and
        # those inside a namespace outlive the launcher the grader waited for: wait until every one has gone.
        deadline = time.monotonic() + 30
        while living := [pid for pid, start in started.items() if start is not None and _start_time(pid) == start]:
            if time.monotonic() > deadline:
                log.warning("local worker processes %s did not end after SIGKILL", living)
                break
            for pid in living:
                _signal(pid, signal.SIGKILL)
            time.sleep(0.02)
        if self.process.stdin and not self.process.stdin.closed:
            try:
                self.process.stdin.close()
            except OSError:
                pass
        self._remove_folders()

    def _remove_folders(self) -> None:
        for folder in (self.scratch, self.stash):
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)


def _environment(home: str) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "HOME": home, "TMPDIR": home,
            "LANG": "C.UTF-8", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _apply_rlimits(limits: dict[str, tuple[int, int]]) -> None:
    """Where prlimit is missing: set the limits in the child before exec."""
    for limit, value in limits.values():
        resource.setrlimit(limit, (value, value))


def _setpriv_prefix() -> list[str]:
    """Become uid/gid 65534 with no groups, no capabilities (bounding set included) and no_new_privs, then exec."""
    return [shutil.which("setpriv") or "setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
            "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]


# ---------------------------------------------------------------- what the worker needs to see


@dataclass(frozen=True)
class _Runtime:
    """The Python installation as the worker needs it, as host paths (shown at the same paths inside)."""

    executable: str
    trees: tuple[str, ...]  # directories shown whole, read-only: system libraries, the Python installation
    files: tuple[str, ...]  # single files: pyvenv.cfg, ld.so.cache, the interpreter when it lies elsewhere
    links: tuple[tuple[str, str], ...]  # (path, target): symlinks recreated as they are (/lib -> usr/lib, a venv's python)
    site_dirs: tuple[str, ...]  # site-packages folders: shown empty, but for `entries`
    entries: tuple[str, ...]  # the top-level files and folders of the distributions torch and numpy need


@functools.lru_cache(maxsize=1)
def _runtime() -> _Runtime:
    executable = sys.executable
    if not executable:
        raise SandboxError("the grader's Python does not know its own executable")
    trees, links = [], []
    for path in SYSTEM_TREES:
        if os.path.islink(path):
            links.append((path, os.readlink(path)))
        elif os.path.isdir(path):
            trees.append(path)
    for prefix in dict.fromkeys([sys.base_prefix, sys.base_exec_prefix]):
        for name in ("lib", "lib64", "bin"):
            path = os.path.join(prefix, name)
            if os.path.islink(path) and not _covered_by(os.path.realpath(path), trees):
                links.append((path, os.readlink(path)))
                path = os.path.realpath(path)
            if os.path.isdir(path) and not _covered_by(path, trees):
                trees.append(path)
    files = [path for path in SYSTEM_FILES if os.path.isfile(path)]
    if sys.prefix != sys.base_prefix and os.path.isfile(os.path.join(sys.prefix, "pyvenv.cfg")):
        files.append(os.path.join(sys.prefix, "pyvenv.cfg"))
    path = executable  # the interpreter as invoked, symlink by symlink (a venv's python points into the installation)
    for _ in range(40):
        if _covered_by(path, trees):
            break
        if os.path.islink(path):
            target = os.readlink(path)
            links.append((path, target))
            path = os.path.normpath(os.path.join(os.path.dirname(path), target))
        else:
            files.append(path)
            break
    site_dirs, entries = _site_packages()
    return _Runtime(executable, tuple(trees), tuple(dict.fromkeys(files)), tuple(dict.fromkeys(links)),
                    site_dirs, entries)


def _site_packages() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Every site-packages folder, and the top-level entries of the distributions in torch's and numpy's import closure."""
    folders = [*site.getsitepackages(), site.getusersitepackages()]
    base = {"base": sys.base_prefix, "platbase": sys.base_exec_prefix, "installed_base": sys.base_prefix,
            "installed_platbase": sys.base_exec_prefix}
    folders += [sysconfig.get_path(name, vars=base) for name in ("purelib", "platlib")]
    folders += [path for path in sys.path if path.endswith(("site-packages", "dist-packages"))]
    entries: list[str] = []
    seen: set[str] = set()
    todo = list(ROOT_DISTRIBUTIONS)
    while todo:
        name = _normalise(todo.pop())
        if name in seen:
            continue
        seen.add(name)
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        folder = str(dist.locate_file(""))
        folders.append(folder)
        entries += _distribution_entries(dist, folder)
        for requirement in dist.requires or []:
            spec, _, marker = requirement.partition(";")
            if "extra" in marker:  # optional extras are not installed by default; other markers: bind what is there
                continue
            todo.append(re.split(r"[\s\[<>=!~(@;]", spec.strip(), maxsplit=1)[0])
    for name in ROOT_DISTRIBUTIONS:  # without metadata, at least the package itself
        found = importlib.util.find_spec(name)
        for location in (found.submodule_search_locations or []) if found else []:
            entries.append(location)
            folders.append(os.path.dirname(location))
    folders = [os.path.abspath(path) for path in folders if path and os.path.isdir(path)]
    entries = [path for path in map(os.path.abspath, entries) if os.path.lexists(path) and _shareable(path)]
    return tuple(dict.fromkeys(folders)), tuple(dict.fromkeys(entries))


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _distribution_entries(dist: importlib.metadata.Distribution, folder: str) -> list[str]:
    """A distribution's top-level files and folders in its site-packages folder (its .dist-info included)."""
    record = dist.read_text("RECORD") or ""  # read as text: building torch's 40,000 PackagePaths takes a second
    names = [line.split(",", 1)[0].lstrip("/").replace("\\", "/").split("/", 1)[0] for line in record.splitlines()]
    names = [name.strip('"') for name in names if name and name.strip('"') not in ("..", "__pycache__")]
    if not names:
        names += (dist.read_text("top_level.txt") or "").split()
        info = getattr(dist, "_path", None)
        if info is not None:
            names.append(os.path.basename(str(info)))
    found = []
    for name in dict.fromkeys(names):
        if name.endswith(".pth") or name.startswith("__editable__"):
            continue  # .pth files run code at startup; editable finders point into a repository
        if os.path.lexists(os.path.join(folder, name)):
            found.append(os.path.join(folder, name))
        else:  # a top_level.txt name: a module file or an extension
            found += [os.path.join(folder, other) for other in os.listdir(folder)
                      if other.split(".")[0] == name and not other.endswith(".pth")]
    return found


def _shareable(path: str) -> bool:
    """False for anything that holds the harness package (its bundled catalog included)."""
    real = os.path.realpath(path)
    return not _covered_by(str(PACKAGE_DIR), [real])


def _covered_by(path: str, trees) -> bool:
    """True when `path` is one of `trees` or lies inside one."""
    return any(path == tree or path.startswith(tree.rstrip("/") + "/") for tree in trees)


# ---------------------------------------------------------------- bubblewrap


@functools.lru_cache(maxsize=1)
def _bwrap_options() -> frozenset[str]:
    """The options this bwrap knows (--disable-userns came in 0.8, --size and --perms in 0.5)."""
    try:
        done = subprocess.run([shutil.which("bwrap") or "bwrap", "--help"], capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return frozenset()
    return frozenset(re.findall(r"--[a-z0-9-]+", done.stdout.decode(errors="replace")))


def _bwrap_command(job_folder: Optional[Path], command: list[str], drop: bool = False, serve: bool = False) -> list[str]:
    """bwrap with a new root holding only the Python installation, the worker, the job, /tmp, /proc and /dev.
    Serving (no job folder: jobs come on stdin), /dev/mqueue is mounted, so that the worker can clear POSIX queues
    between jobs, and the worker is process 1 of the PID namespace (no bwrap init), so that no child can signal it;
    it sets its own parent-death signal (bwrap's is lost when setpriv changes user)."""
    runtime = _runtime()
    root = os.geteuid() == 0
    args = [shutil.which("bwrap") or "bwrap", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
            "--unshare-cgroup-try", "--hostname", "sandbox", "--die-with-parent", "--new-session"]
    options = _bwrap_options()
    if not root:  # the grader's uid, mapped in a user namespace that cannot make more of them
        args += ["--unshare-user", *(["--disable-userns"] if "--disable-userns" in options else [])]
    covers = [folder for folder in runtime.site_dirs if _covered_by(folder, runtime.trees)]
    targets = [*runtime.trees, *(path for path, _ in runtime.links), *runtime.files, *runtime.entries, CPU_INFO,
               WORKER_IN_VIEW, *([JOB_IN_VIEW] if job_folder is not None else [])]
    folders = {str(parent) for target in targets for parent in Path(target).parents
               if not _covered_by(str(parent), runtime.trees) and str(parent) != "/"}
    for folder in sorted(folders, key=lambda path: path.count("/")):  # bwrap would make them 0700: unreachable for 65534
        args += [*(["--perms", "0755"] if "--perms" in options else []), "--dir", folder]
    for tree in runtime.trees:
        args += ["--ro-bind", tree, tree]
    for path, target in runtime.links:
        args += ["--symlink", target, path]
    for path in runtime.files:
        args += ["--ro-bind", path, path]
    if os.path.isdir(CPU_INFO):
        args += ["--ro-bind", CPU_INFO, CPU_INFO]
    for folder in covers:  # site-packages inside a tree shown whole: emptied, then given back what torch needs
        args += ["--tmpfs", folder]
    for entry in runtime.entries:
        args += ["--ro-bind", entry, entry]
    for folder in covers:
        args += ["--remount-ro", folder]
    if serve:
        args.insert(1, "--as-pid-1")
    args += ["--ro-bind", str(WORKER_PATH), WORKER_IN_VIEW,
             *(["--ro-bind", str(job_folder), JOB_IN_VIEW] if job_folder is not None else []),
             "--proc", "/proc", "--dev", "/dev", *(["--mqueue", "/dev/mqueue"] if serve else [])]
    for folder in ("/tmp", "/dev/shm"):  # writable by all, sticky, 64 MiB each (as docker's /tmp)
        args += [*(["--perms", "1777"] if "--perms" in options else []),
                 *(["--size", str(TMP_BYTES)] if "--size" in options else []), "--tmpfs", folder]
    args += ["--remount-ro", "/dev", "--remount-ro", "/", "--chdir", "/tmp", "--cap-drop", "ALL"]
    if root and drop:  # setpriv needs these to become 65534; it then drops them all, bounding set included
        args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP"]
    return [*args, "--", *command]


# ---------------------------------------------------------------- unshare: covering folders


def _hidden_folders(hide: tuple[Path, ...]) -> list[str]:
    """What the unshare level covers: the job's hidden folders, the harness package, the repository, site-packages, homes."""
    folders = [str(path) for path in hide] + [str(PACKAGE_DIR)]
    parent = PACKAGE_DIR.parent
    if (parent / ".git").exists() or (parent / "pyproject.toml").exists():
        folders.append(str(parent))
    folders += list(_runtime().site_dirs)
    homes = [os.path.expanduser("~")]
    try:
        homes.append(pwd.getpwuid(os.getuid()).pw_dir)
    except KeyError:
        pass
    folders += homes
    system = ["/", "/usr", "/etc", "/proc", "/dev", "/sys", "/var", "/tmp", tempfile.gettempdir()]
    found = []
    for folder in dict.fromkeys(os.path.realpath(path) for path in folders if path):
        if not os.path.isdir(folder) or any(_covered_by(other, [folder]) for other in system):
            continue  # never cover the system, or the folder that holds the job and the scratch space
        found.append(folder)
    return found


def _needed_paths(job_folder: Path, scratch: Path) -> list[str]:
    """What the worker must still see inside covered folders: the installation, torch's distributions, itself, the job."""
    runtime = _runtime()
    paths = [*runtime.trees, *runtime.files, *runtime.entries, *(path for path, _ in runtime.links),
             str(WORKER_PATH), str(job_folder), str(scratch)]
    return list(dict.fromkeys(paths))


# Run by the grader's Python inside the new mount namespace, as root: apply the plan with mount(2), then exec the
# command. One process for every mount (rather than a shell running `mount` a hundred times) keeps the start fast.
COVER_PROGRAM = r"""
import ctypes, json, os, sys
plan, command = json.loads(sys.argv[1]), sys.argv[2:]
libc = ctypes.CDLL(None, use_errno=True)
RDONLY, NOSUID, NODEV, REMOUNT, BIND, REC, DETACH = 1, 2, 4, 32, 4096, 16384, 2
def mount(source, target, kind, flags, data):
    if libc.mount(source.encode(), target.encode(), kind.encode(), flags, data.encode()) != 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error), target)
os.umask(0o022)
for step, *args in plan:
    if step == "tmpfs":
        mount("harness-hidden", args[0], "tmpfs", NOSUID | NODEV, args[1])
    elif step == "bind":
        mount(args[0], args[1], "", BIND | REC, "")
    elif step == "readonly":
        mount("", args[0], "", REMOUNT | BIND | RDONLY | (NOSUID | NODEV if args[1] else 0), "")
    elif step == "mkdir":
        os.makedirs(args[0], exist_ok=True)
    elif step == "touch":
        os.close(os.open(args[0], os.O_CREAT | os.O_WRONLY, 0o644))
    elif step == "symlink":
        os.symlink(args[0], args[1])
    elif step == "detach":
        libc.umount2(args[0].encode(), DETACH)
os.execvp(command[0], command)
"""


def _covering_command(hide: list[str], keep: list[str], stash: str, command: list[str]) -> list[str]:
    """Run inside the new mount namespace: cover each hidden folder with an empty read-only tmpfs, mount back (read-only)
    what the worker needs from inside it (held meanwhile under `stash`), then exec `command`."""
    plan = _covering_plan(hide, keep, stash)
    return [_runtime().executable, "-I", "-S", "-B", "-c", COVER_PROGRAM, json.dumps(plan), *command]


def _covering_plan(hide: list[str], keep: list[str], stash: str) -> list[list]:
    links = dict(_runtime().links)
    plan: list[list] = [["tmpfs", stash, "size=64k,mode=0700"]]
    covered: list[str] = []
    count = 0
    for folder in sorted(hide, key=lambda path: path.count("/")):
        if any(path == folder for path in keep):
            continue  # needed whole
        if _covered_by(folder, covered) and not any(_covered_by(folder, [path]) for path in keep if path not in links):
            continue  # already hidden by a covered folder around it
        inner = [path for path in keep if _covered_by(path, [folder]) and path != folder]
        inner = [path for path in inner if not any(_covered_by(path, [other]) and other != path for other in inner
                                                   if other not in links)]
        saved: list[tuple[str, Optional[str]]] = []
        for path in inner:
            if path in links:
                saved.append((path, None))
            elif os.path.lexists(path):
                count += 1
                place = f"{stash}/{count}"
                plan += [["mkdir" if os.path.isdir(path) else "touch", place], ["bind", path, place]]
                saved.append((path, place))
        plan.append(["tmpfs", folder, "size=64k,mode=0755"])
        for path, stashed in saved:
            plan.append(["mkdir", os.path.dirname(path)])
            if stashed is None:
                plan.append(["symlink", links[path], path])
            else:
                plan += [["mkdir" if os.path.isdir(path) else "touch", path], ["bind", stashed, path], ["readonly", path, False]]
        plan.append(["readonly", folder, True])
        covered.append(folder)
    plan.append(["detach", stash])
    return plan


def _can_drop(mode: str) -> bool:
    """Whether the worker can run as 65534 here: setpriv exists and that user can reach the Python installation."""
    if not shutil.which("setpriv"):
        return False
    if mode == "bwrap":
        return _bwrap_works(drop=True)  # bwrap makes the folders above what it shows; what it shows must be world-readable
    runtime = _runtime()
    covered = _hidden_folders(()) if mode == "unshare" else []
    keep = [*runtime.trees, *runtime.files, *runtime.entries, str(WORKER_PATH)]
    return all(_reachable_by_others(path, covered, keep) for path in [runtime.executable, *keep])


def _reachable_by_others(path: str, covered: list[str], keep: list[str]) -> bool:
    """Whether a user with no rights but "others'" can reach and read `path` once `covered` are covered (their
    folders made 0755) and `keep` mounted back inside them."""
    def synthetic(folder: str) -> bool:
        return _covered_by(folder, covered) and not any(_covered_by(folder, [other]) for other in keep)

    current = "/"
    try:
        for part in Path(path).parts[1:]:
            if not synthetic(current) and not os.stat(current).st_mode & stat.S_IXOTH:
                return False
            current = os.path.join(current, part)
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return bool(mode & stat.S_IROTH) and (not stat.S_ISDIR(mode) or bool(mode & stat.S_IXOTH))


# ---------------------------------------------------------------- processes


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat_line = handle.read()
        except OSError:
            continue
        fields = stat_line[stat_line.rfind(b")") + 2:].split()
        children.setdefault(int(fields[1]), []).append(int(entry))
    return children


def _descendants(root: int) -> list[int]:
    """The process and every process below it, as seen from here."""
    children = _children_map()
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _start_time(pid: int) -> Optional[int]:
    """When the process started (clock ticks after boot), or None if it has gone or is a zombie: tells it from a
    later process that reuses its pid."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] in (b"Z", b"X") else int(fields[19])


def _parent(pid: int) -> Optional[int]:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return int(handle.read().rsplit(b")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", "rb") as handle:
            return int(handle.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)
    except (OSError, IndexError, ValueError):
        return 0


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
