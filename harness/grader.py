"""Grading one submission: take the submission file, run the probes in the sandbox, judge with the checks, build the report."""

from __future__ import annotations

import contextlib
import logging
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import harness
from harness.parsing import log_exception
from harness.challenge import Challenge, Kind
from harness.probing import Answers, Inputs, ProbePlan, make_plan
from harness.reference import ChecksError, ReferenceResults, reference_results
from harness.report import (ISOLATION_NOTE, CheckStatus, Environment, LimitsUsed, Report, RunStatus, Submission, clip,
                            percent)
from harness.sandbox.base import Backend, SandboxError, SandboxRun
from harness.sandbox.driver import ProbeSpec, SandboxJob, run_sandbox
from harness.submission import SubmissionError, SubmissionFile, read_submission

log = logging.getLogger(__name__)


@dataclass
class Pending:
    """A grading between its two phases: what the sandbox returned, waiting for the trusted checks.
    `report` is already final when the run ended early (ungradable, the grader's error)."""

    challenge: Challenge
    report: Report
    started: float
    submitted: Optional[SubmissionFile] = None
    run: Optional[SandboxRun] = None
    plan: Optional[ProbePlan] = None
    reference: Optional[ReferenceResults] = None


def grade(*, challenge: Challenge, submission: Path, backend: Backend, seed: Optional[int] = None) -> Report:
    """Grade `submission` against `challenge` in `backend`; always returns a report, whatever happened."""
    return judge(run_sandbox_phase(challenge=challenge, submission=submission, backend=backend, seed=seed))


def run_sandbox_phase(*, challenge: Challenge, submission: Path, backend: Backend, seed: Optional[int] = None) -> Pending:
    """The first phase: read the submission, start the reference, run the probes in the sandbox. Any thread may
    run it (a batch runs several at once)."""
    started = time.monotonic()
    seed = secrets.randbelow(2**31) if seed is None else seed
    report = Report(
        challenge_id=challenge.id, submission=Submission(file_name=submission.name), status=RunStatus.error,
        score=0.0, max_score=challenge.meta.max_score, percent=0.0, seed=seed,
        environment=Environment(backend=backend.name, image=backend.image, harness_version=harness.__version__,
                                limits=LimitsUsed(**challenge.meta.limits.model_dump())),
    )
    pending = Pending(challenge, report, started)
    with _reported(report):
        report.notes.extend(ISOLATION_NOTE + note for note in backend.isolation_notes())
        pending.submitted = read_submission(challenge, submission, report.submission)
        report.notes.extend(pending.submitted.notes)  # what a notebook's conversion left out
        _run_probes(pending, backend, seed)
    return pending


def judge(pending: Pending) -> Report:
    """The second phase: the hidden checks over what the sandbox returned. Runs pytest, so only in the main thread
    (pytest-timeout's alarm); a batch judges one submission at a time while others are in their sandboxes."""
    report = pending.report
    with _reported(report):
        if pending.run is not None and report.reason is None:
            _judge(pending)
    report.timings.total = round(time.monotonic() - pending.started, 3)
    return report


@contextlib.contextmanager
def _reported(report: Report):
    """Whatever goes wrong ends in the report (ungradable: the candidate's to fix; error: the grader's)."""
    try:
        yield
    except SubmissionError as error:
        report.status, report.reason = RunStatus.ungradable, str(error)
    except (SandboxError, ChecksError) as error:
        report.status, report.reason = RunStatus.error, f"the grader failed (not the submission's fault): {error}"
    except Exception as error:  # the grader's own bug: still a report, never a traceback
        log_exception(log, "grading crashed")
        report.status, report.reason = RunStatus.error, f"the grader crashed (not the submission's fault): {type(error).__name__}: {error}"


def _run_probes(pending: Pending, backend: Backend, seed: int) -> None:
    challenge, report, submitted = pending.challenge, pending.report, pending.submitted
    assert submitted is not None
    if challenge.meta.kind is not Kind.code:
        raise ChecksError(f"{challenge.id} is a {challenge.meta.kind.value} challenge; it is graded without a sandbox")
    import numpy  # noqa: F401  (before torch: torch swallows a Ctrl-C that lands while it imports numpy)

    plan = make_plan(challenge, seed)
    reference = reference_results(challenge, plan, seed)
    job = SandboxJob(source=submitted.text, module=challenge.module_name, probes_source=plan.source,
                     probes=[ProbeSpec(p.name, p.stages, p.seed, tuple(p.inputs), tuple(p.has_inputs)) for p in plan.probes],
                     import_seed=plan.import_seed, rules=[_rule_for_sandbox(rule) for rule in challenge.meta.rules],
                     pinned=list(challenge.meta.pinned))
    run = run_sandbox(backend, job, challenge.meta.limits, hide=(challenge.root.parent, challenge.solutions_dir.parent))
    report.environment.torch_version, report.environment.python_version = run.torch_version, run.python_version
    report.output, report.output_truncated = run.output or None, run.output_truncated
    report.timings.sandbox_start, report.timings.probes = round(run.start_seconds, 3), round(run.probe_seconds, 3)
    if run.import_error is not None:
        reason, _ = clip(f"the submission could not be imported ({run.import_status}): {run.import_error}", 4000)
        report.status, report.reason = RunStatus.ungradable, reason
        return
    pending.run, pending.plan, pending.reference = run, plan, reference


def _judge(pending: Pending) -> None:
    from harness.checks import ProbeResults, run_checks  # torch and pytest: imported while the sandbox ran
    from harness.rules import apply_rules

    challenge, report, run, plan, submitted = pending.challenge, pending.report, pending.run, pending.plan, pending.submitted
    assert run is not None and plan is not None and submitted is not None and pending.reference is not None
    seed = report.seed
    checks_started = time.monotonic()
    checks = run_checks(challenge.hidden_dir, {"probes": ProbeResults(run.probes), "reference": pending.reference,
                                               "seed": seed, "submission_source": submitted.text,
                                               "inputs": Inputs(plan), "answers": Answers(challenge, plan),
                                               "violations": list(run.violations)})
    report.notes.extend(apply_rules(challenge.meta.rules, checks, run.violations, submitted.text))
    report.timings.checks = round(time.monotonic() - checks_started, 3)
    finish(report, checks)


def _rule_for_sandbox(rule) -> dict:
    return {"id": rule.id, "forbid": list(rule.forbid)}


def finish(report: Report, checks: list) -> None:
    """Fill in the score from the checks; a challenge whose points do not add up is the grader's error."""
    total = sum(check.max_points for check in checks)
    if abs(total - report.max_score) > 1e-9:
        raise ChecksError(f"the checks are worth {total:g} points but challenge.toml says max_score = {report.max_score:g}")
    report.checks = checks
    report.score = sum(check.points for check in checks if check.status is CheckStatus.passed)
    report.percent = percent(report.score, report.max_score)
    report.status, report.reason = RunStatus.graded, None
