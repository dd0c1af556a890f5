"""The score report: pydantic models, the one source of truth for the JSON that platforms read."""

from __future__ import annotations

from enum import Enum
from typing import Optional, overload

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = "1.1"
MAX_MESSAGE_CHARS = 1000


class CheckStatus(str, Enum):
    passed = "passed"
    failed = "failed"
    error = "error"
    timeout = "timeout"
    oom = "oom"
    skipped = "skipped"


class Visibility(str, Enum):
    visible = "visible"
    hidden = "hidden"
    after_due_date = "after_due_date"


class RunStatus(str, Enum):
    graded = "graded"
    ungradable = "ungradable"
    error = "error"


class Audience(str, Enum):
    grader = "grader"
    candidate = "candidate"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CheckResult(_Model):
    """The outcome of one check."""

    name: str = Field(description="The check's test name, unique within the challenge.")
    description: str = Field(description="One line saying what the check checks.")
    status: CheckStatus = Field(description="How the check ended; only 'passed' earns points.")
    points: float = Field(ge=0, description="Points earned: max_points if passed, else 0.")
    max_points: float = Field(ge=0, description="Points the check is worth.")
    duration_seconds: float = Field(ge=0, description="Time the check took on the trusted side.")
    visibility: Visibility = Field(description="Who may see the check's details, as Gradescope names it.")
    message: Optional[str] = Field(None, description="For a failure or error: what was expected and what was found.")
    truncated: bool = Field(False, description="True when the message was cut to fit.")


class Submission(_Model):
    """What was graded."""

    file_name: str = Field(description="The submission file's name (no directories).")
    sha256: Optional[str] = Field(None, description="SHA-256 of the submission's bytes, when it could be read.")
    size_bytes: Optional[int] = Field(None, description="The submission's size, when it could be read.")


class LimitsUsed(_Model):
    """The limits the sandbox ran under."""

    wall_seconds: float = Field(description="Wall-clock seconds allowed for the import and for each probe.")
    memory_mb: int = Field(description="Memory in MiB, swap included.")
    cpus: float = Field(description="CPUs allowed.")
    pids: int = Field(description="Processes and threads allowed at once.")
    output_kb: int = Field(description="KiB the submission may print.")


class Timings(_Model):
    """Seconds spent in each phase of grading."""

    sandbox_start: float = Field(0.0, description="Starting the sandbox and importing the submission.")
    probes: float = Field(0.0, description="Running the probes in the sandbox.")
    checks: float = Field(0.0, description="Judging the probe results on the trusted side.")
    total: float = Field(0.0, description="The whole grading run.")


class Environment(_Model):
    """Where the grading ran."""

    backend: Optional[str] = Field(None, description="'docker' or 'local' (None when no sandbox ran).")
    image: Optional[str] = Field(None, description="The Docker image, for the docker backend.")
    harness_version: str = Field(description="Version of this harness.")
    challenge_hash: Optional[str] = Field(None, description="SHA-256 over the challenge's files and reference solution: two reports with one hash, seed, harness version and submission SHA-256 are the same grading.")
    torch_version: Optional[str] = Field(None, description="torch inside the sandbox, as it reported itself.")
    python_version: Optional[str] = Field(None, description="Python inside the sandbox, as it reported itself.")
    limits: Optional[LimitsUsed] = Field(None, description="The sandbox limits.")


class Report(_Model):
    """The score report for one submission to one challenge."""

    schema_version: str = Field(SCHEMA_VERSION, description="Version of this report format.")
    challenge_id: str = Field(description="The challenge graded against.")
    submission: Submission = Field(description="The file that was graded: its name, SHA-256 and size.")
    status: RunStatus = Field(description="'graded'; 'ungradable' (the candidate must fix something first: see reason); 'error' (the grader failed, never the candidate's fault).")
    reason: Optional[str] = Field(None, description="For 'ungradable' or 'error': what went wrong and what to do.")
    notes: list[str] = Field(default_factory=list, description="What the grader noticed that did not stop grading and the candidate may want to fix (such as keys of an answers file that name no question, which were ignored); each cut to 1000 characters, at most 10. Never reveals hidden checks, so candidate reports keep them.")
    score: float = Field(ge=0, description="Points earned.")
    max_score: float = Field(ge=0, description="Points available.")
    percent: float = Field(ge=0, le=100, description="score / max_score * 100, rounded to two decimals.")
    seed: Optional[int] = Field(None, description="The seed the probes' inputs were drawn from; the same seed reproduces the report.")
    audience: Audience = Field(Audience.grader, description="'candidate' reports omit the messages of hidden checks.")
    checks: list[CheckResult] = Field(default_factory=list, description="One entry per check, in the order they ran.")
    output: Optional[str] = Field(None, description="The start of what the submission printed (grader audience only).")
    output_truncated: bool = Field(False, description="True when the output was cut.")
    environment: Environment = Field(description="Where and how grading ran.")
    timings: Timings = Field(default_factory=Timings, description="Seconds spent in each phase.")


@overload
def clip(text: str, limit: int = ...) -> tuple[str, bool]: ...
@overload
def clip(text: None, limit: int = ...) -> tuple[None, bool]: ...
def clip(text: Optional[str], limit: int = MAX_MESSAGE_CHARS) -> tuple[Optional[str], bool]:
    """Cut a message to `limit` characters; say whether it was cut."""
    if text is None or len(text) <= limit:
        return text, False
    return text[: limit - 3] + "...", True


def percent(score: float, max_score: float) -> float:
    return round(100.0 * score / max_score, 2) if max_score else 0.0


ISOLATION_NOTE = "sandbox: "  # starts a note on what the backend left open: the grader's to know, not the candidate's


def for_candidate(report: Report) -> Report:
    """The report a candidate may see: no messages of hidden checks, no captured output, the reason's first line only,
    no note on the sandbox's isolation (it tells an operator what to fix, and a candidate where to look; inside a
    platform's bundle, where the grader's files are locked, it would not even be true)."""
    checks = [
        check if check.visibility is Visibility.visible
        else check.model_copy(update={"message": None, "truncated": False})
        for check in report.checks
    ]
    notes = [note for note in report.notes if not note.startswith(ISOLATION_NOTE)]
    return report.model_copy(update={"checks": checks, "audience": Audience.candidate, "output": None, "output_truncated": False,
                                     "reason": candidate_reason(report.reason), "notes": notes})


CANDIDATE_REASON_CHARS = 300


def candidate_reason(reason: Optional[str]) -> Optional[str]:
    """A reason as a candidate sees it: its first line, cut short (the exception's type and the start of its message),
    nothing more of what the submission wrote (it could have put any text it found in the sandbox there)."""
    if reason is None:
        return None
    first = reason.strip().splitlines()[0] if reason.strip() else ""
    return first if len(first) <= CANDIDATE_REASON_CHARS else first[: CANDIDATE_REASON_CHARS - 3] + "..."


def summary_line(report: Report) -> str:
    """A one-line human summary for stderr; never claims 'all passed' while hidden checks exist."""
    if report.status is not RunStatus.graded:
        return f"{report.challenge_id}: {report.status.value}: {report.reason}"
    passed = sum(check.status is CheckStatus.passed for check in report.checks)
    hidden = sum(check.visibility is not Visibility.visible for check in report.checks)
    text = f"{report.challenge_id}: {report.score:g}/{report.max_score:g} points ({report.percent:g}%), {passed} of {len(report.checks)} checks passed"
    if hidden and report.audience is Audience.candidate:
        text += f" ({hidden} hidden checks count toward the score)"
    return text
