"""Warm sandboxes: serving workers that imported torch once and run many jobs, each in a fresh child.

A slot is one serving worker (`worker.py --serve`, process 1 of its own container). It forks a fresh
child per job and, between jobs, kills whatever the child left and empties every writable place, so a
job finds the slot as the previous job found it (see worker.serve). The pool keeps slots warm per set
of limits, hands one out per worker run (`lease`) and takes it back when the run ended cleanly; a slot
whose run was stopped (a timeout, output over its limit, a broken stream) is removed and replaced,
never reused. The driver sees an ordinary `Worker`.
"""

from __future__ import annotations

import abc
import json
import logging
import queue
import threading
import time
from typing import Callable, Optional

from harness.challenge import Limits
from harness.sandbox.base import ExitInfo, SandboxError, Worker

log = logging.getLogger(__name__)

READY_SECONDS = 90.0  # a slot's own start (container, torch import): the grader's cost, not the candidate's
EXIT_SECONDS = 60.0  # from the end of a job's stream to its exit frame
MAX_JOBS_PER_SLOT = 200  # then the slot is replaced: a bound on whatever slowly builds up in a long-lived worker
MAX_FRAME_BYTES = 64 * 1024 * 1024 + 64
KEEP_DIAGNOSTICS = 8000
START_ATTEMPTS = 3


class Slot(abc.ABC):
    """One serving worker. A backend starts it and feeds what it writes to `feed` (stdout: frames) and
    `feed_stderr` (its own errors), then calls `ended` when its stream closes."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.jobs = 0
        self.versions: dict = {}
        self.dead = False
        self.stopped = False  # the grader killed it: never reused
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._buffer = bytearray()
        self._current: Optional["queue.Queue[tuple[str, Optional[bytes]]]"] = None
        self._exit: Optional[dict] = None
        self._exit_seen = threading.Event()
        self.diagnostics = bytearray()

    # --- what a backend provides
    @abc.abstractmethod
    def write(self, data: bytes) -> None:
        """Write to the serving worker's stdin (raises OSError when it is gone)."""

    @abc.abstractmethod
    def kill(self) -> None:
        """Stop the serving worker now (its stream then ends)."""

    @abc.abstractmethod
    def remove(self) -> None:
        """Release everything it used. Safe to call twice."""

    @abc.abstractmethod
    def final_exit(self) -> ExitInfo:
        """How the serving worker itself ended (called once its stream has ended)."""

    # --- frames in
    def feed(self, data: bytes) -> None:
        with self._lock:
            self._buffer += data
            while True:
                newline = self._buffer.find(b"\n", 0, 40)
                if newline < 0:
                    if len(self._buffer) >= 40:
                        return self._broken("a malformed frame header")
                    return
                kind, _, size_text = bytes(self._buffer[:newline]).partition(b" ")
                if not size_text.isdigit() or int(size_text) > MAX_FRAME_BYTES:
                    return self._broken(f"a malformed frame header {bytes(self._buffer[:newline])[:40]!r}")
                size = int(size_text)
                if len(self._buffer) < newline + 1 + size:
                    return
                body = bytes(self._buffer[newline + 1:newline + 1 + size])
                del self._buffer[:newline + 1 + size]
                self._on_frame(kind, body)

    def _on_frame(self, kind: bytes, body: bytes) -> None:
        if kind == b"r":
            self.versions = _json_or_empty(body)
            self._ready.set()
        elif kind in (b"m", b"e") and self._current is not None:
            self._current.put(("out" if kind == b"m" else "err", body))
        elif kind == b"x" and self._current is not None:
            self._exit = _json_or_empty(body)
            if self._exit.get("oom") or self._exit.get("leftovers"):
                # retired after an anomaly: the engine's out-of-memory flag stays set for the container's life, and
                # a job that left processes running was one the next job should not follow, cleaned up or not
                self.stopped = True
            self._current.put(("eof", None))
            self._current = None
            self._exit_seen.set()
        else:
            self._broken(f"an unexpected frame {kind[:4]!r}")

    def _broken(self, what: str) -> None:
        log.warning("sandbox slot sent %s: stopping it", what)
        self.stopped = True
        self.kill()

    def feed_stderr(self, data: bytes) -> None:
        room = KEEP_DIAGNOSTICS - len(self.diagnostics)
        if room > 0:
            self.diagnostics += data[:room]

    def ended(self) -> None:
        with self._lock:
            self.dead = True
            if self._current is not None:
                self._current.put(("eof", None))
                self._current = None
            self._ready.set()
            self._exit_seen.set()

    # --- jobs
    def wait_ready(self, timeout: float = READY_SECONDS) -> None:
        if not self._ready.wait(timeout):
            self.stopped = True
            self.kill()
            raise SandboxError(f"the sandbox worker did not start within {timeout:.0f} s")
        if self.dead:
            exit_info = self.final_exit()
            text = self.diagnostics.decode("utf-8", errors="replace")[-2000:] or "no output"
            raise SandboxError(f"the sandbox worker failed to start (exit status {exit_info.code}): {text}")

    def begin(self) -> "queue.Queue[tuple[str, Optional[bytes]]]":
        with self._lock:
            chunks: "queue.Queue[tuple[str, Optional[bytes]]]" = queue.Queue()
            self.jobs += 1
            self._exit = None
            self._exit_seen.clear()
            if self.dead:
                chunks.put(("eof", None))
            else:
                self._current = chunks
            return chunks

    def job_exit(self) -> ExitInfo:
        """How the last job's child ended, or (when the slot itself ended) how the slot did."""
        self._exit_seen.wait(EXIT_SECONDS)
        found = self._exit
        if found is not None and not self.stopped:
            code, signal_number = found.get("code"), found.get("signal")
            return ExitInfo(code=code if isinstance(code, int) else -int(signal_number or 0),
                            oom=bool(found.get("oom")))
        if not self.dead:
            self.stopped = True
            self.kill()
        return self.final_exit()

    @property
    def usable(self) -> bool:
        """Alive, never stopped, not worn out, and either unused or its last job ended with an exit frame."""
        return (not (self.dead or self.stopped) and self.jobs < MAX_JOBS_PER_SLOT
                and (self.jobs == 0 or self._exit is not None))


def _json_or_empty(body: bytes) -> dict:
    try:
        value = json.loads(body)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


class PooledWorker(Worker):
    """One worker run on a leased slot, as the driver sees it."""

    def __init__(self, pool: "WarmPool", slot: Slot) -> None:
        super().__init__()
        self.pool, self.slot = pool, slot
        self.chunks = slot.begin()
        self._released = False

    def send(self, data: bytes) -> None:
        try:
            self.slot.write(data)
        except OSError as error:  # the worker died already: how it ended says why
            log.debug("could not send the job: %s", error)

    def kill(self) -> None:
        self.slot.stopped = True
        self.slot.kill()

    def wait(self) -> ExitInfo:
        return self.slot.job_exit()

    def close(self) -> None:
        if not self._released:
            self._released = True
            self.pool.release(self.slot)


def _key(limits: Limits) -> tuple:
    return (limits.memory_mb, limits.pids, limits.cpus)


class WarmPool:
    """Slots kept warm per set of limits: at most `size` of each (idle, leased and starting together)."""

    def __init__(self, start_slot: Callable[[Limits], Slot], size: int = 1) -> None:
        self._start_slot = start_slot
        self.size = max(1, size)
        self._lock = threading.Condition()
        self._idle: dict[tuple, list[Slot]] = {}
        self._leased: set[Slot] = set()
        self._starting: dict[tuple, int] = {}
        self._unready: set[Slot] = set()  # started, not ready yet: close() removes these too
        self._creating = 0  # slots being created right now: close() waits for them, then removes them
        self._closed = False
        self._threads: list[threading.Thread] = []

    def lease(self, limits: Limits) -> Slot:
        """A ready slot for these limits: an idle one, one being started, or a new one started now."""
        key = _key(limits)
        deadline = time.monotonic() + READY_SECONDS
        while True:
            unusable: list[Slot] = []
            with self._lock:
                if self._closed:
                    raise SandboxError("the sandbox pool is closed")
                idle = self._idle.setdefault(key, [])
                found = None
                while idle and found is None:
                    slot = idle.pop()
                    if slot.usable:
                        found = slot
                    else:
                        unusable.append(slot)
                if found is not None:
                    self._leased.add(found)
                    self._top_up(limits)
            for slot in unusable:  # died while idle
                slot.remove()
            if found is not None:
                return found
            with self._lock:
                if not self._starting.get(key):
                    self._starting[key] = self._starting.get(key, 0) + 1
                    break  # start one here
                if not self._lock.wait(timeout=max(0.0, deadline - time.monotonic())):
                    raise SandboxError(f"no sandbox worker became ready within {READY_SECONDS:.0f} s")
        try:
            slot = self._started(limits)
        finally:
            with self._lock:
                self._starting[key] -= 1
                self._lock.notify_all()
        with self._lock:
            if self._closed:
                slot.remove()
                raise SandboxError("the sandbox pool is closed")
            self._leased.add(slot)
            self._top_up(limits)
        return slot

    def _started(self, limits: Limits) -> Slot:
        """A new slot, ready. A failed start is tried again twice: the processes of a run just stopped (a fork bomb)
        can hold the sandbox user's process count up for a moment after they were killed."""
        for attempt in range(START_ATTEMPTS):
            try:
                slot = self._start_unready(limits)
            except SandboxError:
                if attempt == START_ATTEMPTS - 1 or self._closed:
                    raise
                time.sleep(0.5 * (attempt + 1))
                continue
            try:
                self._wait_ready(slot)
                return slot
            except SandboxError:
                slot.remove()
                if attempt == START_ATTEMPTS - 1 or self._closed:
                    raise
                time.sleep(0.5 * (attempt + 1))
            except BaseException:
                slot.remove()
                raise
        raise SandboxError("the sandbox worker did not start")  # not reached

    def _start_unready(self, limits: Limits) -> Slot:
        """A new slot, known to close() from the moment it exists: a close() while it starts (a Ctrl-C in another
        thread) waits for its creation to end, then removes it there and then, not whenever the thread starting it
        gets to it."""
        with self._lock:
            if self._closed:
                raise SandboxError("the sandbox pool is closed")
            self._creating += 1
        slot: Optional[Slot] = None
        try:
            slot = self._start_slot(limits)
        finally:
            with self._lock:
                if slot is not None:
                    self._unready.add(slot)  # even when the pool closed meanwhile: its close() removes it
                self._creating -= 1
                self._lock.notify_all()
        if self._closed:
            raise SandboxError("the sandbox pool is closed")
        return slot

    def _wait_ready(self, slot: Slot) -> None:
        try:
            slot.wait_ready()
        finally:
            with self._lock:
                self._unready.discard(slot)

    def release(self, slot: Slot) -> None:
        """Take a slot back after a worker run: idle again when its run ended cleanly, else removed."""
        with self._lock:
            self._leased.discard(slot)
            keep = slot.usable and not self._closed
            if keep:
                self._idle.setdefault(_key(slot.limits), []).append(slot)
                self._lock.notify_all()
        if not keep:
            slot.remove()
            with self._lock:
                if not self._closed:
                    self._top_up(slot.limits)

    def prewarm(self, limits: Limits, count: Optional[int] = None) -> None:
        """Start slots in the background until `count` (at most the pool's size) exist for these limits."""
        with self._lock:
            self._top_up(limits, min(self.size, count or self.size))

    def _top_up(self, limits: Limits, target: Optional[int] = None) -> None:
        key = _key(limits)
        target = self.size if target is None else target
        have = (len(self._idle.get(key, [])) + self._starting.get(key, 0)
                + sum(1 for slot in self._leased if _key(slot.limits) == key))
        for _ in range(max(0, target - have)):
            self._starting[key] = self._starting.get(key, 0) + 1
            thread = threading.Thread(target=self._start_in_background, args=(limits,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _start_in_background(self, limits: Limits) -> None:
        key = _key(limits)
        slot: Optional[Slot] = None
        try:
            slot = self._start_unready(limits)
            self._wait_ready(slot)
        except Exception as error:  # noqa: BLE001  (a lease starts its own when none became ready)
            (log.debug if self._closed else log.warning)("a warm sandbox failed to start: %s", error)
            if slot is not None:
                slot.remove()
            slot = None
        with self._lock:
            self._starting[key] -= 1
            if slot is not None and not self._closed:
                self._idle.setdefault(key, []).append(slot)
                slot = None
            self._lock.notify_all()
        if slot is not None:  # the pool closed meanwhile
            slot.remove()

    def settle(self, timeout: float = READY_SECONDS) -> None:
        """Wait until no slot is being started (the background ones have become idle or failed)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while any(self._starting.values()) and time.monotonic() < deadline:
                self._lock.wait(timeout=max(0.0, deadline - time.monotonic()))

    def idle_slots(self) -> list[Slot]:
        with self._lock:
            return [slot for slots in self._idle.values() for slot in slots]

    def close(self) -> None:
        """Remove every slot, waiting for those still starting (their creation is not interrupted)."""
        with self._lock:
            self._closed = True
            self._lock.wait_for(lambda: self._creating == 0, timeout=READY_SECONDS)
            slots = [slot for slots in self._idle.values() for slot in slots] + list(self._leased) + list(self._unready)
            self._idle.clear()
            self._leased.clear()
            self._unready.clear()
            threads = list(self._threads)
        for slot in slots:
            slot.remove()
        for thread in threads:
            thread.join(timeout=READY_SECONDS)
