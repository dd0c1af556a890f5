"""Quiz challenges: the candidate submits `answers.toml`; the key and points stay on the trusted side. No sandbox: answers are data."""

from __future__ import annotations

import time
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

import harness
from harness.challenge import Challenge, ChallengeError
from harness.grader import finish
from harness.report import CheckResult, CheckStatus, Environment, Report, RunStatus, Submission, Visibility
from harness.submission import SubmissionError, read_submission

MAX_ANSWERS_BYTES = 64 * 1024


class Question(BaseModel):
    """One question of a quiz key."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9]+(_[a-z0-9]+)*$", description="The key the candidate answers under.")
    prompt: str = Field(min_length=1, description="One line naming what the question asks (shown in reports).")
    choices: list[str] = Field(min_length=2, description="The choice letters, such as ['A', 'B', 'C', 'D'].")
    answer: str = Field(description="The right choice letter.")
    points: float = Field(1.0, gt=0)
    explanation: str = Field("", description="Why the answer is right; shown to graders only.")

    @model_validator(mode="after")
    def _answer_is_a_choice(self) -> "Question":
        if self.answer not in self.choices:
            raise ValueError(f"answer {self.answer!r} is not one of the choices {self.choices}")
        return self


class QuizKey(BaseModel):
    """The contents of `hidden/key.toml`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    question: list[Question] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> "QuizKey":
        ids = [q.id for q in self.question]
        if len(ids) != len(set(ids)):
            raise ValueError("question ids are not unique")
        return self


def key_path(challenge: Challenge) -> Path:
    return challenge.hidden_dir / "key.toml"


def load_key(challenge: Challenge) -> QuizKey:
    """Load a quiz's key; a malformed key is the challenge's error, named by file and field."""
    path = key_path(challenge)
    try:
        return QuizKey.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ChallengeError(f"{path}: {error}") from None
    except ValidationError as error:
        fields = "; ".join(f"field '{'.'.join(map(str, e['loc']))}': {e['msg']}" for e in error.errors())
        raise ChallengeError(f"{path}: {fields}") from None


def grade_quiz(*, challenge: Challenge, submission: Path) -> Report:
    """Grade an answers file; always returns a report."""
    started = time.monotonic()
    report = Report(challenge_id=challenge.id, submission=Submission(file_name=submission.name),
                    status=RunStatus.error, score=0.0, max_score=challenge.meta.max_score, percent=0.0,
                    environment=Environment(harness_version=harness.__version__))
    try:
        key = load_key(challenge)
        answers = parse_answers(read_submission(challenge, submission, report.submission).text, key)
        checks_started = time.monotonic()
        finish(report, [_judge(question, answers.get(question.id)) for question in key.question])
        report.timings.checks = round(time.monotonic() - checks_started, 4)
    except SubmissionError as error:
        report.status, report.reason = RunStatus.ungradable, str(error)
    except ChallengeError as error:
        report.status, report.reason = RunStatus.error, f"the grader failed (not the submission's fault): {error}"
    except Exception as error:  # a grader bug: still a report
        report.status, report.reason = RunStatus.error, f"the grader crashed (not the submission's fault): {type(error).__name__}: {error}"
    report.timings.total = round(time.monotonic() - started, 4)
    return report


def parse_answers(text: str, key: QuizKey) -> dict[str, str]:
    """Read `question_id = "letter"` lines; anything else is an error the candidate can fix."""
    if len(text.encode("utf-8")) > MAX_ANSWERS_BYTES:
        raise SubmissionError(f"answers.toml is larger than {MAX_ANSWERS_BYTES // 1024} KiB")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise SubmissionError(f"answers.toml is not valid TOML: {error}") from None
    known = {question.id for question in key.question}
    unknown = sorted(set(data) - known)
    if unknown:
        raise SubmissionError(f"answers.toml names questions this quiz does not have: {', '.join(unknown[:10])}; the questions are {', '.join(sorted(known))}")
    for name, value in data.items():
        if not isinstance(value, str):
            raise SubmissionError(f"answers.toml: the answer to {name!r} must be a string such as \"B\", not {type(value).__name__}")
    return {name: value.strip().upper() for name, value in data.items() if value.strip()}


def _judge(question: Question, given: str | None) -> CheckResult:
    if given is None:
        status, message = CheckStatus.failed, "no answer given"
    elif given not in question.choices:
        status, message = CheckStatus.failed, f"{given!r} is not one of the choices {', '.join(question.choices)}"
    elif given == question.answer:
        status, message = CheckStatus.passed, None
    else:
        status, message = CheckStatus.failed, f"expected {question.answer}, found {given}"
    return CheckResult(name=question.id, description=question.prompt, status=status,
                       points=question.points if status is CheckStatus.passed else 0.0, max_points=question.points,
                       duration_seconds=0.0, visibility=Visibility.hidden, message=message)
