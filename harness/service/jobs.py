"""One grading job: claim a stored submission, grade it, store its report exactly once, then queue its callback.

Runs in a worker's slot thread (Huey's `grade` task). The sandbox phase (`dispatch.prepare`) runs right here; the
trusted checks (`dispatch.conclude`) use pytest's alarm, so they are handed to the worker process's main thread
(`conclude_in_main`). While the job runs, the worker's heartbeat renews its lease (`Claims`).

What happens to the report:
- stored, when this claim still holds (same attempt, still running): once, whatever else happened meanwhile;
- dropped, when the claim was lost (the lease ran out and the submission went back to the queue: another worker's
  attempt will store it);
- not stored but retried later, when it is the grader's own `error` (an engine hiccup, a sandbox that would not
  start) and attempts remain: the submission goes back to the queue after a pause;
- and when a submission was claimed `max_attempts` times without a report (its workers died each time), an
  `error` report saying so is stored instead of trying again.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable, Optional

import harness
from harness.parsing import log_exception
from harness.challenge import ChallengeError, find_challenge
from harness.dispatch import Prepared, prepare
from harness.probing import content_hash
from harness.report import Environment, Report, RunStatus, Submission
from harness.sandbox.base import Backend
from harness.service.queue import JobQueue
from harness.service.settings import Settings
from harness.service.store import Claim, Store

log = logging.getLogger(__name__)

ERROR_RETRY_SECONDS = 5.0  # pause before a grader error is tried again (times the attempt number)


class Claims:
    """The claims this worker holds, for the heartbeat to renew and for a stopping worker to give back."""

    def __init__(self) -> None:
        self._held: dict[str, Claim] = {}
        self._lock = threading.Lock()

    def add(self, claim: Claim) -> None:
        with self._lock:
            self._held[claim.submission_id] = claim

    def remove(self, claim: Claim) -> None:
        with self._lock:
            if self._held.get(claim.submission_id) is claim:
                del self._held[claim.submission_id]

    def held(self) -> list[Claim]:
        with self._lock:
            return list(self._held.values())

    def __len__(self) -> int:
        with self._lock:
            return len(self._held)


class Grading:
    """Grades stored submissions for one worker process."""

    def __init__(self, *, store: Store, queue: Optional[JobQueue], settings: Settings, backend: Optional[Backend],
                 worker_id: str, conclude_in_main: Callable[[Prepared], Report], claims: Claims,
                 stopping: threading.Event, scratch: Optional[Path] = None) -> None:
        self.store = store
        self.queue = queue
        self.settings = settings
        self.backend = backend
        self.worker_id = worker_id
        self.conclude_in_main = conclude_in_main
        self.claims = claims
        self.stopping = stopping
        self.scratch = scratch  # the worker's own temporary folder (removed with it), else the system's
        self.abandoned = threading.Event()  # set when a stopping worker gave its claims back: store nothing more

    def grade(self, submission_id: str) -> None:
        """The `grade` task."""
        if self.stopping.is_set():
            if self.queue is not None:  # taken off the queue just as the worker began to stop: put it back
                self.queue.enqueue_grade(submission_id)
            return
        claim = self.store.claim(submission_id, self.worker_id, self.settings.lease_seconds)
        if claim is None:
            log.info("%s: already done or held by another worker; nothing to do", submission_id)
            return
        self.claims.add(claim)
        try:
            if claim.tries > self.settings.max_attempts:
                report = self._error_report(claim, f"grading was started {claim.tries - 1} times and never finished "
                                                   "(its worker stopped each time); the grader gave up on it")
                self._store(claim, report)
                return
            report = self._grade(claim)
            if self.abandoned.is_set():
                return  # the claim was given back: another attempt grades it
            if report.status is RunStatus.error and claim.tries < self.settings.max_attempts:
                self._retry_later(claim, report)
                return
            self._store(claim, report)
        finally:
            self.claims.remove(claim)

    def _grade(self, claim: Claim) -> Report:
        """Both phases on a private copy of the file; a crash anywhere is this submission's error report."""
        folder = Path(tempfile.mkdtemp(prefix="job-", dir=self.scratch))
        try:
            path = folder / claim.file_name
            path.write_bytes(claim.content)
            try:
                challenge = find_challenge(claim.challenge_id, self.settings.challenges_dir)
            except ChallengeError as error:
                return self._error_report(claim, f"the challenge cannot be loaded (not the submission's fault): {error}")
            try:
                prepared = prepare(challenge, path, self.backend, claim.seed)
                return self.conclude_in_main(prepared)
            except Exception as error:  # noqa: BLE001  (a grader bug must end as this submission's report)
                log_exception(log, "grading %s crashed", claim.submission_id)
                return self._error_report(claim, f"the grader crashed (not the submission's fault): "
                                                 f"{type(error).__name__}: {error}")
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _store(self, claim: Claim, report: Report) -> None:
        stored = self.store.complete(claim, report.model_dump_json(), report.status.value, report.score)
        if not stored:
            log.warning("%s: attempt %d lost its claim before storing (another attempt took over); report dropped",
                        claim.submission_id, claim.attempt)
            return
        log.info("%s: %s, %g/%g (attempt %d)", claim.submission_id, report.status.value, report.score,
                 report.max_score, claim.attempt)
        record = self.store.submission(claim.submission_id)
        if record is not None and record.callback_url and self.queue is not None:
            try:
                self.queue.enqueue_callback(claim.submission_id)
            except Exception as error:  # noqa: BLE001  (the store keeps it pending: the reaper enqueues it later)
                log.warning("%s: could not queue its callback now (%s); it stays pending", claim.submission_id, error)

    def _retry_later(self, claim: Claim, report: Report) -> None:
        delay = ERROR_RETRY_SECONDS * claim.tries
        log.warning("%s: the grader failed (%s); trying again in %.0f s (try %d of %d)", claim.submission_id,
                    report.reason, delay, claim.tries, self.settings.max_attempts)
        if self.store.release(claim, counted=True, retry_at=time.time() + delay, why=report.reason or "") \
                and self.queue is not None:
            self.queue.enqueue_grade(claim.submission_id, delay=delay)

    def give_back(self) -> list[str]:
        """A stopping worker's claims back to the queue, not counted as tries; from here on nothing is stored."""
        self.abandoned.set()
        given = []
        for claim in self.claims.held():
            if self.store.release(claim, counted=False, why="the worker stopped"):
                given.append(claim.submission_id)
                if self.queue is not None:
                    try:
                        self.queue.enqueue_grade(claim.submission_id)
                    except Exception as error:  # noqa: BLE001  (the store keeps it queued: the reaper enqueues it)
                        log.warning("%s: could not queue it again now (%s)", claim.submission_id, error)
        return given

    def _error_report(self, claim: Claim, reason: str) -> Report:
        challenge_hash = None
        max_score = 0.0
        try:
            challenge = find_challenge(claim.challenge_id, self.settings.challenges_dir)
            challenge_hash, max_score = content_hash(challenge), challenge.meta.max_score
        except ChallengeError:
            pass
        return Report(challenge_id=claim.challenge_id, submission=Submission(file_name=claim.file_name),
                      status=RunStatus.error, reason=reason, score=0.0, max_score=max_score, percent=0.0,
                      seed=claim.seed, environment=Environment(harness_version=harness.__version__,
                                                               challenge_hash=challenge_hash))
