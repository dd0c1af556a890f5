"""The one place that knows the kinds of submission: a code challenge's file goes to the sandbox and its checks,
a quiz's answers file to its key. The CLI, batches and the service all grade through here.

Grading has two phases. `prepare` does everything that may run in any thread: reading the submission and, for
code, running the probes in the sandbox. `conclude` runs the trusted checks, which use pytest and its alarm, so
it runs in the main thread. `grade_submission` is both, one after the other.
"""

from __future__ import annotations

import concurrent.futures
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from harness.challenge import Challenge, Kind
from harness.probing import content_hash
from harness.report import Report
from harness.sandbox.base import Backend


def needs_sandbox(challenge: Challenge) -> bool:
    """Whether grading this challenge runs the submission (and so needs a backend)."""
    return challenge.meta.kind is Kind.code


@dataclass
class Prepared:
    """A submission between the phases: the code grading's pending state, or a quiz's path and seed."""

    challenge: Challenge
    path: Path
    seed: Optional[int]
    pending: object = None  # harness.grader.Pending for code


def prepare(challenge: Challenge, path: Path, backend: Optional[Backend], seed: Optional[int]) -> Prepared:
    """The first phase (any thread): for code, the sandbox run; a quiz has nothing to do before its key."""
    prepared = Prepared(challenge, path, seed)
    if challenge.meta.kind is Kind.code:
        from harness.grader import run_sandbox_phase

        if backend is None:
            raise ValueError(f"{challenge.id} runs code: grading it needs a sandbox backend")
        prepared.pending = run_sandbox_phase(challenge=challenge, submission=path, backend=backend, seed=seed)
    return prepared


def ready_checks(challenge: Challenge) -> None:
    """Main thread, while the first sandboxes start: configure pytest and collect the challenge's checks now, not
    after the first sandbox run (about 0.3 s of a batch's start). A failure is left to the first `conclude`, which
    collects again and reports it."""
    if challenge.meta.kind is Kind.code and threading.current_thread() is threading.main_thread():
        from harness.checks import ChecksError, check_session

        try:
            check_session(challenge.hidden_dir)
        except ChecksError:
            pass


def conclude(prepared: Prepared) -> Report:
    """The second phase (main thread): the trusted checks; the report is stamped with the challenge's content hash."""
    challenge = prepared.challenge
    if challenge.meta.kind is Kind.quiz:
        from harness.quiz import grade_quiz

        report = grade_quiz(challenge=challenge, submission=prepared.path, seed=prepared.seed)
    else:
        from harness.grader import Pending, judge

        assert isinstance(prepared.pending, Pending)
        report = judge(prepared.pending)
    report.environment.challenge_hash = content_hash(challenge)
    return report


def grade_submission(challenge: Challenge, path: Path, backend: Optional[Backend], seed: Optional[int]) -> Report:
    """Grade one submission of any kind; always returns a report. From the main thread, the sandbox phase runs in
    a thread of its own while this one collects the checks (`ready_checks`)."""
    if not (needs_sandbox(challenge) and threading.current_thread() is threading.main_thread()):
        return conclude(prepare(challenge, path, backend, seed))
    executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="sandbox-phase")
    try:
        future = executor.submit(prepare, challenge, path, backend, seed)
        ready_checks(challenge)
        prepared = future.result()
    finally:
        executor.shutdown(wait=False)  # after a Ctrl-C, the caller stops the sandbox, which ends the phase
    return conclude(prepared)
