"""The one place that knows the kinds of submission: a code challenge's file goes to the sandbox and its checks,
a quiz's answers file to its key. The CLI, batches and the service all grade through `grade_submission`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from harness.challenge import Challenge, Kind
from harness.probing import content_hash
from harness.report import Report
from harness.sandbox.base import Backend


def needs_sandbox(challenge: Challenge) -> bool:
    """Whether grading this challenge runs the submission (and so needs a backend)."""
    return challenge.meta.kind is Kind.code


def grade_submission(challenge: Challenge, path: Path, backend: Optional[Backend], seed: Optional[int]) -> Report:
    """Grade one submission of any kind; always returns a report, stamped with the challenge's content hash."""
    if challenge.meta.kind is Kind.quiz:
        from harness.quiz import grade_quiz

        report = grade_quiz(challenge=challenge, submission=path, seed=seed)
    else:
        from harness.grader import grade as grade_code

        if backend is None:
            raise ValueError(f"{challenge.id} runs code: grading it needs a sandbox backend")
        report = grade_code(challenge=challenge, submission=path, backend=backend, seed=seed)
    report.environment.challenge_hash = content_hash(challenge)
    return report
