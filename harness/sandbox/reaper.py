"""The local backend's plain mode runs its worker under this: `python -I -S reaper.py COMMAND...`.

Plain mode has no PID namespace whose end takes every process with it. So this process makes itself a child
subreaper (prctl PR_SET_CHILD_SUBREAPER) and runs COMMAND as its child: whatever the worker starts and leaves behind,
even in a session of its own or after a double fork, is re-parented here rather than to init. It reaps those as they
die; when the worker ends it kills every one still running, reaps them, and only then exits, with the worker's own
status (its exit code, or the same signal). Its stdout and stderr (the grader's pipes) close last, so the grader never
sees the end of a run while something of it still runs.

The standard library only, and no site: it runs as the grader's user, before any submission code, and reads nothing
the submission can write.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import time

PR_SET_CHILD_SUBREAPER = 36


def main(command: list[str]) -> int:
    if not command:
        sys.stderr.write("reaper: no command to run\n")
        return 2
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.stderr.write(f"reaper: cannot become a child subreaper: {os.strerror(ctypes.get_errno())}\n")
        return 2
    worker = os.fork()
    if worker == 0:
        try:
            os.execvp(command[0], command)
        finally:
            os._exit(127)
    status = _wait_for(worker)
    _kill_the_rest()
    if os.WIFSIGNALED(status):  # end as the worker did: the grader reads a signal as a kill
        number = os.WTERMSIG(status)
        signal.signal(number, signal.SIG_DFL)
        os.kill(os.getpid(), number)
    return os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1


def _wait_for(worker: int) -> int:
    """The worker's wait status; whatever else ends meanwhile (a re-parented leftover) is reaped on the way."""
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except InterruptedError:
            continue
        if pid == worker:
            return status


def _kill_the_rest() -> None:
    """Kill and reap every process still below this one. Each one killed hands its own children to this process
    (the subreaper), so go on until none is left."""
    me = str(os.getpid())
    while True:
        children = _children(me)
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        except ChildProcessError:  # no child at all, not even a zombie
            if not children:
                return
        time.sleep(0.001)


def _children(parent: str) -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[1].decode() == parent:
            found.append(int(name))
    return found


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
