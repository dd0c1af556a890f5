"""Grading one submission: take the submission file, run the probes in the sandbox, judge with the checks, build the report."""

from __future__ import annotations

import logging
import secrets
import time
from pathlib import Path
from typing import Optional

import harness
from harness.challenge import Challenge, Kind
from harness.probing import Answers, Inputs, make_plan
from harness.reference import ChecksError, reference_results
from harness.report import (CheckStatus, Environment, LimitsUsed, Report, RunStatus, Submission, clip,
                            percent)
from harness.sandbox.base import Backend, SandboxError
from harness.sandbox.driver import ProbeSpec, SandboxJob, run_sandbox
from harness.submission import SubmissionError, SubmissionFile, read_submission

log = logging.getLogger(__name__)


def grade(*, challenge: Challenge, submission: Path, backend: Backend, seed: Optional[int] = None) -> Report:
    """Grade `submission` against `challenge` in `backend`; always returns a report, whatever happened."""
    started = time.monotonic()
    seed = secrets.randbelow(2**31) if seed is None else seed
    report = Report(
        challenge_id=challenge.id, submission=Submission(file_name=submission.name), status=RunStatus.error,
        score=0.0, max_score=challenge.meta.max_score, percent=0.0, seed=seed,
        environment=Environment(backend=backend.name, image=backend.image, harness_version=harness.__version__,
                                limits=LimitsUsed(**challenge.meta.limits.model_dump())),
    )
    try:
        report.notes.extend(backend.isolation_notes())
        _grade_file(challenge, read_submission(challenge, submission, report.submission), backend, seed, report)
    except SubmissionError as error:
        report.status, report.reason = RunStatus.ungradable, str(error)
    except (SandboxError, ChecksError) as error:
        report.status, report.reason = RunStatus.error, f"the grader failed (not the submission's fault): {error}"
    except Exception as error:  # the grader's own bug: still a report, never a traceback
        log.exception("grading crashed")
        report.status, report.reason = RunStatus.error, f"the grader crashed (not the submission's fault): {type(error).__name__}: {error}"
    finally:
        report.timings.total = round(time.monotonic() - started, 3)
    return report


def _grade_file(challenge: Challenge, submitted: SubmissionFile, backend: Backend, seed: int, report: Report) -> None:
    if challenge.meta.kind is not Kind.code:
        raise ChecksError(f"{challenge.id} is a {challenge.meta.kind.value} challenge; it is graded without a sandbox")
    import numpy  # noqa: F401  (before torch: torch swallows a Ctrl-C that lands while it imports numpy)

    plan = make_plan(challenge, seed)
    reference = reference_results(challenge, plan, seed)
    job = SandboxJob(submission=submitted.path, module=challenge.module_name, probes_source=plan.source,
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
    from harness.checks import ProbeResults, run_checks  # torch and pytest: imported while the sandbox ran
    from harness.rules import apply_rules

    checks_started = time.monotonic()
    checks = run_checks(challenge.hidden_dir, {"probes": ProbeResults(run.probes), "reference": reference,
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
