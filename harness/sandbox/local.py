"""The local backend: the worker as a child process with rlimits, a scrubbed environment and a fresh directory.

It isolates less than Docker: the child runs as the grader's user and can read what that user
can read. Where `unshare` works it gets its own PID and network namespaces (no network; every
process it starts dies with it); otherwise its process group is killed. Memory is watched from
outside (resident set of all its processes) because capping address space breaks torch.
"""

from __future__ import annotations

import functools
import logging
import os
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Optional

from harness.sandbox.base import WORKER_PATH, Backend, ExitInfo, Job, SandboxError, Worker

log = logging.getLogger(__name__)

WATCH_INTERVAL = 0.05
UNSHARE = ["unshare", "--pid", "--fork", "--kill-child", "--net", "--mount", "--mount-proc"]


@functools.lru_cache(maxsize=1)
def namespaces_available() -> bool:
    """True when `unshare` can give the child its own PID and network namespaces here."""
    if not shutil.which("unshare"):
        return False
    try:
        return subprocess.run([*UNSHARE, "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


class LocalBackend(Backend):
    """Runs the worker as a limited child process of the grader."""

    name = "local"

    def __init__(self) -> None:
        self.job_folders: list[Path] = []  # every job this backend ran, so that tests can look for leftovers

    def start(self, job: Job) -> Worker:
        self.job_folders.append(job.folder)
        return LocalWorker(job)


class LocalWorker(Worker):
    def __init__(self, job: Job) -> None:
        super().__init__()
        self.limits = job.limits
        self.scratch = Path(tempfile.mkdtemp(prefix="harness-scratch-"))
        self.oom = False
        self.reason: Optional[str] = None
        self._closed = False
        self._lock = threading.Lock()
        self._open_streams = 2
        command = [sys.executable, "-I", "-B", str(WORKER_PATH), str(job.folder / "job.json")]
        limits = self._rlimits()
        prlimit = shutil.which("prlimit")
        if prlimit:  # exec-based, so no code runs between fork and exec in this threaded process
            command = [prlimit, *(f"--{name}={value}" for name, (_, value) in limits.items()), "--", *command]
        if namespaces_available():
            command = [*UNSHARE, "/bin/sh", "-c", _hiding_script(job.hide, command)]
        try:
            self.process = subprocess.Popen(
                command, cwd=self.scratch, env=self._environment(), stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                preexec_fn=None if prlimit else functools.partial(_apply_rlimits, limits),
            )
        except OSError as error:
            shutil.rmtree(self.scratch, ignore_errors=True)
            raise SandboxError(f"could not start the local worker: {error}") from error
        self._threads = [
            threading.Thread(target=self._pump, args=(self.process.stdout, "out"), daemon=True),
            threading.Thread(target=self._pump, args=(self.process.stderr, "err"), daemon=True),
            threading.Thread(target=self._watch, daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _environment(self) -> dict[str, str]:
        return {"PATH": "/usr/bin:/bin", "HOME": str(self.scratch), "TMPDIR": str(self.scratch),
                "LANG": "C.UTF-8", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

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
        """Kill the worker when its processes together hold more memory, or are more, than allowed."""
        limit_kb = self.limits.memory_mb * 1024
        while self.process.poll() is None:
            pids = _descendants(self.process.pid)
            if sum(_rss_kb(pid) for pid in pids) > limit_kb:
                self.oom = True
                self.kill()
                return
            if len(pids) > self.limits.pids:
                self.reason = f"started more than {self.limits.pids} processes"
                self.kill()
                return
            time.sleep(WATCH_INTERVAL)

    def kill(self) -> None:
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
        if self._closed:
            return
        self._closed = True
        self.kill()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            log.warning("local worker %s did not end after SIGKILL", self.process.pid)
        shutil.rmtree(self.scratch, ignore_errors=True)


def _apply_rlimits(limits: dict[str, tuple[int, int]]) -> None:
    """Where prlimit is missing: set the limits in the child before exec."""
    for limit, value in limits.values():
        resource.setrlimit(limit, (value, value))


def _hiding_script(hide: tuple[Path, ...], command: list[str]) -> str:
    """Shell run inside the new mount namespace: cover each hidden folder with an empty read-only tmpfs, then exec."""
    mounts = [f"mount -t tmpfs -o size=4k,ro,mode=0 harness-hidden {shlex.quote(str(path))}" for path in hide if path.is_dir()]
    return " && ".join([*mounts, "exec " + shlex.join(command)])


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()
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
