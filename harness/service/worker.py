"""`harness worker`: one process that grades from the queue with `-j N` slots and one warm backend.

The threads of a worker process, and why each is there:
- N slot threads, each taking `grade` tasks off the queue and running them (Huey's `execute`, as its own consumer
  does): the sandbox phase runs in the slot thread, in one of the backend's N warm sandboxes (as a batch's);
- the main thread, which runs every job's trusted checks (`dispatch.conclude`: pytest's alarm works only there),
  one at a time as the slots hand them over, as `harness grade --out` does;
- a callback thread, taking `callback` tasks off their own queue, so a slow receiver never holds a slot;
- a heartbeat thread, renewing the lease of every claim in flight (a third of the lease apart);
- a housekeeping thread: scheduled tasks whose time came (retries) onto their queue, as Huey's scheduler does;
  submissions whose lease ran out (their worker died) back on the queue; tasks the queue may have lost.

SIGTERM or Ctrl-C stops taking tasks, lets the jobs in flight finish for up to `grace` seconds, gives back the
claims of those still running (queued again, not counted as a try), removes the sandboxes and exits 0. A
second signal skips the wait. A `kill -9` leaves its claims to run out: another worker grades them.
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
import queue as queue_module
import shutil
import signal
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Optional

from harness.parsing import log_exception
from harness.dispatch import Prepared, conclude
from harness.report import Report
from harness.sandbox.base import Backend
from harness.service.callbacks import CallbackPolicy, DeliveryFailed, deliver
from harness.service.jobs import Claims, Grading
from harness.service.queue import JobQueue
from harness.service.settings import Settings
from harness.service.store import Store

log = logging.getLogger("harness.service.worker")

HOUSEKEEPING_TICK = 0.25  # seconds between looks at the schedule
STALE_CHECK_SECONDS = 60.0  # between looks for tasks the queue may have lost
CALLBACK_STALE_SECONDS = 900.0  # a pending callback untouched this long has lost its task
SCRATCH_PREFIX = "harness-worker-"  # + pid: each worker's folder for the files it grades


class MainThreadCalls:
    """Calls that other threads hand to the main thread (which alone may use pytest's alarm), with their results."""

    def __init__(self) -> None:
        self._calls: "queue_module.Queue[tuple[Callable[..., Any], tuple, concurrent.futures.Future]]" = queue_module.Queue()

    def call(self, function: Callable[..., Any], *args: Any) -> Any:
        future: concurrent.futures.Future = concurrent.futures.Future()
        self._calls.put((function, args, future))
        return future.result()

    def serve(self, keep_going: Callable[[], bool], tick: float = 0.2) -> None:
        """Run handed-over calls in this (the main) thread while `keep_going()`."""
        while keep_going():
            try:
                function, args, future = self._calls.get(timeout=tick)
            except queue_module.Empty:
                continue
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(function(*args))
            except BaseException as error:  # noqa: BLE001  (the caller's thread re-raises it)
                future.set_exception(error)

    def fail_waiting(self) -> None:
        """Wake every thread still waiting: the process is stopping and will not run their calls."""
        while True:
            try:
                _, _, future = self._calls.get_nowait()
            except queue_module.Empty:
                return
            if future.set_running_or_notify_cancel():
                future.set_exception(RuntimeError("the worker is stopping"))


def remove_dead_scratch() -> None:
    """Remove the temporary folders of workers on this machine that are gone (killed with -9: no clean-up ran)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*-*"):
        pid = folder.name[len(SCRATCH_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not os.path.exists(f"/proc/{pid}"):
            shutil.rmtree(folder, ignore_errors=True)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Worker:
    """The grading process: see the module's docstring."""

    def __init__(self, settings: Settings, *, slots: int, backend: Optional[Backend], grace: float = 30.0) -> None:
        self.settings = settings
        self.slots = slots
        self.backend = backend
        self.grace = grace
        self.name = worker_name()
        self.stopping = threading.Event()
        self.busy = 0
        self._busy_lock = threading.Lock()
        self.main_calls = MainThreadCalls()
        self.claims = Claims()
        self.policy = CallbackPolicy(settings.callback_allow)
        self.store = Store.from_url(settings.store_url)
        self.grading: Optional[Grading] = None
        self.queue = JobQueue(settings.queue_url, grade=self._grade, deliver=self._deliver,
                              callback_retries=settings.callback_retries, callback_delay=settings.callback_delay,
                              callback_backoff=settings.callback_backoff)
        remove_dead_scratch()
        self.scratch = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-"))
        self.grading = Grading(store=self.store, queue=self.queue, settings=settings, backend=backend,
                               worker_id=self.name, conclude_in_main=self._conclude, claims=self.claims,
                               stopping=self.stopping, scratch=self.scratch)
        self.done = threading.Event()  # set once the worker has given back what it held: the heartbeat stops then
        self._threads: list[threading.Thread] = []
        self._signals = 0

    # --- the tasks --------------------------------------------------------------------------------------------------

    def _grade(self, submission_id: str) -> None:
        assert self.grading is not None
        try:
            self.grading.grade(submission_id)
        except Exception:  # the store failed under it: its lease (or the stale-queue check) brings it back later
            log_exception(log, "grading %s failed", submission_id)
            raise

    def _conclude(self, prepared: Prepared) -> Report:
        return self.main_calls.call(conclude, prepared)

    def _deliver(self, submission_id: str, final: bool) -> None:
        try:
            deliver(self.store, self.policy, submission_id, final=final, timeout=self.settings.callback_timeout,
                    secret=self.settings.callback_secret)
        except DeliveryFailed:
            raise  # logged by deliver; Huey retries it after its delay
        except Exception:
            log_exception(log, "the callback of %s failed", submission_id)
            raise

    # --- the threads ------------------------------------------------------------------------------------------------

    def _slot(self) -> None:
        self._consume(self.queue.next_grade, self.queue.grading, counts=True)

    def _callbacks(self) -> None:
        self._consume(self.queue.next_callback, self.queue.callbacks, counts=False)

    def _consume(self, take: Callable[[float], Any], huey: Any, counts: bool) -> None:
        failures = 0
        while not self.stopping.is_set():
            try:
                task = take(1.0)
            except Exception as error:  # noqa: BLE001  (the queue is down or a message is bad: say so, go on)
                failures += 1
                if failures in (1, 10) or failures % 100 == 0:
                    log.warning("reading the queue failed (%s); trying again", error)
                time.sleep(min(5.0, 0.2 * failures))
                continue
            failures = 0
            if task is None:
                continue
            if counts:
                with self._busy_lock:
                    self.busy += 1
            try:
                self.queue.execute(huey, task)
            except Exception:  # noqa: BLE001  (Huey reports task errors itself; this is its own failure)
                log_exception(log, "running task %s failed", task)
            finally:
                if counts:
                    with self._busy_lock:
                        self.busy -= 1

    def _heartbeat(self) -> None:
        while not self.done.wait(self.settings.heartbeat_seconds):  # on through the grace period, jobs still run
            self._renew()

    def _renew(self) -> None:
        for claim in self.claims.held():
            try:
                if not self.store.renew(claim, self.settings.lease_seconds):
                    log.warning("%s: the lease of attempt %d ran out before it was renewed; its report will be dropped",
                                claim.submission_id, claim.attempt)
            except Exception as error:  # noqa: BLE001  (a busy store: the next beat tries again, well in time)
                log.warning("renewing the lease of %s failed: %s", claim.submission_id, error)

    def _housekeeping(self) -> None:
        next_reap = next_stale = 0.0
        while not self.stopping.wait(HOUSEKEEPING_TICK):
            now = time.monotonic()
            try:
                self.queue.move_due()
                if now >= next_reap:
                    next_reap = now + self.settings.reap_seconds
                    for submission_id in self.store.requeue_expired():
                        log.warning("%s: its worker's lease ran out; queued again", submission_id)
                        self.queue.enqueue_grade(submission_id)
                if now >= next_stale:
                    next_stale = now + STALE_CHECK_SECONDS
                    for submission_id in self.store.requeue_stale(self.settings.requeue_after):
                        log.warning("%s: queued long ago and not graded; queued again", submission_id)
                        self.queue.enqueue_grade(submission_id)
                    for submission_id in self.store.stale_callbacks(CALLBACK_STALE_SECONDS):
                        self.queue.enqueue_callback(submission_id)
            except Exception as error:  # noqa: BLE001  (the queue or store is down for now: try at the next tick)
                log.warning("housekeeping failed: %s", error)

    def _start(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    # --- running ----------------------------------------------------------------------------------------------------

    def _on_signal(self, signum: int, frame: Any) -> None:
        self._signals += 1
        if self._signals == 1:
            log.warning("stopping: no new jobs; waiting up to %.0f s for the %d in flight (again to stop now)",
                        self.grace, len(self.claims))
        self.stopping.set()

    def run(self, install_signals: bool = True) -> int:
        """Grade until a signal (or `stopping` is set); returns the exit code."""
        if install_signals:
            signal.signal(signal.SIGTERM, self._on_signal)
            signal.signal(signal.SIGINT, self._on_signal)
        for number in range(self.slots):
            self._start(self._slot, f"grade-slot-{number + 1}")
        self._start(self._callbacks, "callbacks")
        self._start(self._heartbeat, "heartbeat")
        self._start(self._housekeeping, "housekeeping")
        log.info("harness worker %s ready: %d grading slot%s, backend %s, queue %s, store %s", self.name, self.slots,
                 "" if self.slots == 1 else "s", self.backend.name if self.backend else "none", self.settings.queue_url,
                 self.settings.store_url)
        self.main_calls.serve(lambda: not self.stopping.is_set())
        deadline = time.monotonic() + self.grace
        self.main_calls.serve(lambda: (self.busy > 0 or len(self.claims) > 0) and time.monotonic() < deadline
                              and self._signals < 2)
        return self._shut_down()

    def _shut_down(self) -> int:
        assert self.grading is not None
        given = self.grading.give_back()
        self.done.set()
        if given:
            log.warning("gave back %d jobs still running: %s", len(given), ", ".join(given))
        self.main_calls.fail_waiting()
        if self.backend is not None:
            self.backend.close()
        for thread in self._threads:
            thread.join(timeout=0.1)  # threads blocked in the queue or a sandbox are daemons: the process ends anyway
        self.queue.close()
        self.store.close()
        shutil.rmtree(self.scratch, ignore_errors=True)
        log.warning("harness worker %s stopped", self.name)
        return 0
