"""Grading a batch: every submission of one challenge, `jobs` at a time, each report on disk as it finishes.

Threads run the first phase of each grading (the sandbox run, harness.dispatch.prepare); the main
thread runs the second (the trusted checks, which use pytest's alarm) as each first phase ends, writes
the report, and moves the progress on. A submission whose report is current (same submission bytes,
challenge content, harness version and seed, and not a grader error) is not graded again unless
`regrade`. Ctrl-C stops the sandboxes in flight, keeps every report already written, rewrites
grades.csv and summary.json for what finished, and raises KeyboardInterrupt to the caller.
"""

from __future__ import annotations

import concurrent.futures
import logging
import secrets
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Optional, TextIO

import harness
from harness.parsing import log_exception
from harness.batch.discover import Entry
from harness.batch.progress import Progress
from harness.batch.store import ResultStore, Row, keep_sources, row_for, submission_sha256
from harness.challenge import Challenge
from harness.dispatch import Prepared, conclude, needs_sandbox, prepare, ready_checks
from harness.probing import content_hash
from harness.report import Environment, Report, RunStatus, Submission, for_candidate
from harness.sandbox.base import Backend

log = logging.getLogger(__name__)

LONG_SECONDS = 5.0  # a sandbox phase this old no longer holds back the next one (see run_batch's admit)
ADMIT_INTERVAL = 0.5  # how often the main thread looks for such phases while it waits


@dataclass
class BatchOutcome:
    """What a batch run did: reports in the order of the entries (None where a submission did not finish)."""

    seed: int
    reports: list[Optional[Report]]
    graded: int = 0  # graded in this run
    reused: int = 0  # reports kept from an earlier run
    seconds: float = 0.0
    interrupted: bool = False
    counts: dict[str, int] = field(default_factory=dict)


def batch_seed(store: ResultStore, challenge: Challenge, seed: Optional[int]) -> int:
    """The seed of this batch: the one given, else the one the folder's first run used, else a fresh one."""
    if seed is None:
        seed = store.read_batch_seed(challenge.id)
    if seed is None:
        seed = secrets.randbelow(2**31)
    store.write_batch_seed(seed, challenge.id)
    return seed


def run_batch(challenge: Challenge, entries: list[Entry], store: ResultStore, *, backend: Optional[Backend],
              seed: int, jobs: int, regrade: bool = False, candidate_view: bool = False,
              stream: Optional[TextIO] = None) -> BatchOutcome:
    """Grade `entries` into `store`; returns when all are done or raises KeyboardInterrupt after saving what finished."""
    started = time.monotonic()
    challenge_hash = content_hash(challenge)
    outcome = BatchOutcome(seed=seed, reports=[None] * len(entries))
    todo: list[int] = []
    for index, entry in enumerate(entries):
        saved = None if regrade else _current_report(store, challenge, entry, challenge_hash, seed)
        if saved is not None:
            outcome.reports[index] = saved
            outcome.reused += 1
        else:
            todo.append(index)
    if outcome.reused:
        log.info("%d of %d submissions already graded with this challenge, harness and seed: kept", outcome.reused, len(entries))
    if backend is not None and needs_sandbox(challenge) and todo:
        backend.prewarm(challenge.meta.limits, min(jobs, len(todo)))
    stopping = threading.Event()
    with Progress(len(entries), already_done=outcome.reused, stream=stream or sys.stderr) as progress:
        jobs = max(1, jobs)
        executor = concurrent.futures.ThreadPoolExecutor(max_workers=2 * jobs, thread_name_prefix="grade")
        try:
            waiting = iter(todo)
            futures: dict = {}  # future -> (entry index, when it started)

            done_in: list[float] = []  # how long finished sandbox phases took

            def admit() -> None:
                """Keep `jobs` sandbox phases running. A phase that has run LONG_SECONDS and 4 times a typical one
                (a hung submission, mostly, which holds its slot up to wall_seconds per probe) stops counting, so
                one more starts beside it, up to 2 x jobs at once. Typical: the median of the phases that ran in
                warm sandboxes (after the first `jobs`, which include the sandboxes' cold start), else the quickest
                so far; before any has finished, nothing is long. No phase waits in a queue, so a report's time is
                its own grading's and an interruption drops little work."""
                now = time.monotonic()
                warm = done_in[jobs:]
                typical = statistics.median(warm) if warm else min(done_in, default=float("inf"))
                long = max(LONG_SECONDS, 4 * typical)
                while len(futures) < 2 * jobs and sum(now - begun < long for _, begun in futures.values()) < jobs:
                    later = next(waiting, None)
                    if later is None:
                        return
                    future = executor.submit(_first_phase, challenge, entries[later], backend, seed, stopping)
                    futures[future] = (later, now)

            admit()
            _keep_sources(store, challenge, entries)  # while the first sandboxes start
            if futures:
                ready_checks(challenge)  # so do these
            while futures:
                finished, _ = concurrent.futures.wait(futures, timeout=ADMIT_INTERVAL,
                                                      return_when=concurrent.futures.FIRST_COMPLETED)
                for future in finished:
                    index, begun = futures.pop(future)
                    done_in.append(time.monotonic() - begun)
                    admit()  # the next sandbox phase starts before this one's checks run
                    entry = entries[index]
                    report = _second_phase(challenge, entry, future, seed)
                    if candidate_view:
                        report = for_candidate(report)
                    store.save(entry.student_id, report)
                    outcome.reports[index] = report
                    outcome.graded += 1
                    progress.advance(entry.student_id, report)
                admit()
        except BaseException:  # Ctrl-C above all: stop what runs, keep what finished
            outcome.interrupted = True
            stopping.set()
            executor.shutdown(wait=False, cancel_futures=True)
            try:
                if backend is not None:
                    backend.close()  # the sandboxes in flight end now; their half-done gradings are dropped
                executor.shutdown(wait=True)  # seconds at most: every sandbox is gone, and no new one starts
                if backend is not None:
                    backend.close()  # one a thread was starting meanwhile
            finally:
                outcome.seconds = time.monotonic() - started
                _write_tables(store, challenge, entries, outcome)
            raise
        executor.shutdown(wait=True)
        outcome.seconds = time.monotonic() - started
        _write_tables(store, challenge, entries, outcome)
    return outcome


def _keep_sources(store: ResultStore, challenge: Challenge, entries: list[Entry]) -> None:
    """Keep every submission's code in the batch's folder: what `harness similar` and the class page compare."""
    try:
        for note in keep_sources(store, challenge, entries):
            log.info("%s", note)
    except OSError as error:
        log.warning("could not keep the submissions' code for harness similar: %s", error)


def _first_phase(challenge: Challenge, entry: Entry, backend: Optional[Backend], seed: int,
                 stopping: threading.Event) -> Optional[Prepared]:
    if stopping.is_set():
        return None
    return prepare(challenge, entry.path, backend, seed)


def _second_phase(challenge: Challenge, entry: Entry, future: "concurrent.futures.Future[Optional[Prepared]]",
                  seed: int) -> Report:
    """The checks for one finished sandbox run; a crash of either phase still ends in a report for this entry."""
    try:
        prepared = future.result()
        if prepared is None:
            raise RuntimeError("the batch was stopping")
        return conclude(prepared)
    except Exception as error:  # noqa: BLE001  (a grader bug in one grading must not stop the batch)
        log_exception(log, "grading %s crashed", entry.student_id)
        return _error_report(challenge, entry, seed, f"the grader crashed (not the submission's fault): "
                                                     f"{type(error).__name__}: {error}")


def _error_report(challenge: Challenge, entry: Entry, seed: int, reason: str) -> Report:
    return Report(challenge_id=challenge.id, submission=Submission(file_name=entry.path.name), status=RunStatus.error,
                  reason=reason, score=0.0, max_score=challenge.meta.max_score, percent=0.0, seed=seed,
                  environment=Environment(harness_version=harness.__version__, challenge_hash=content_hash(challenge)))


def _current_report(store: ResultStore, challenge: Challenge, entry: Entry, challenge_hash: str,
                    seed: int) -> Optional[Report]:
    """The saved report of `entry`, when it is the one grading it now would give (see ResultStore.is_current)."""
    saved = store.load(entry.student_id)
    if saved is not None and store.is_current(saved, sha256=submission_sha256(challenge, entry.path),
                                              challenge_hash=challenge_hash, harness_version=harness.__version__,
                                              seed=seed):
        return saved
    return None


def _write_tables(store: ResultStore, challenge: Challenge, entries: list[Entry], outcome: BatchOutcome) -> None:
    """grades.csv and summary.json for every entry with a report. The folder is the source of truth: a report
    saved just before an interruption, but not yet counted here, is read back (when it is this batch's)."""
    if outcome.interrupted:
        challenge_hash = content_hash(challenge)
        for index, entry in enumerate(entries):
            if outcome.reports[index] is None:
                outcome.reports[index] = _current_report(store, challenge, entry, challenge_hash, outcome.seed)
    rows: list[Row] = []
    reports: list[Report] = []
    counts = {status.value: 0 for status in RunStatus}
    for entry, report in zip(entries, outcome.reports):
        if report is None:
            continue
        rows.append(row_for(entry.student_id, report))
        reports.append(report)
        counts[report.status.value] += 1
    outcome.counts = counts
    store.write_tables(rows, reports, challenge_id=challenge.id, seed=outcome.seed)

