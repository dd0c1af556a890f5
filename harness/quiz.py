"""Quiz challenges: the candidate submits `answers.toml`; the key and points stay on the trusted side. No sandbox: answers are data.

Answers files are taken as people save them: a UTF-8 byte-order mark is skipped, a UTF-16 file (with its
byte-order mark, as Windows Notepad's "Unicode" and PowerShell 5's `>` write) is decoded, and an answer is
one choice letter, in either case, optionally wrapped in () or [] and/or followed by one '.', ')' or ':',
with any spaces around ("b", "(B)", "[B]", "B.", "B)", "B:"). Anything else ("B, C", "B and C",
"Option B", a number, a list) fails that question alone, with a message; a key naming no question is
ignored and reported in the report's notes. Only a file that cannot be read as TOML at all (or is
too large, or is not text) is ungradable.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import time
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime, time as clock_time
from pathlib import Path
from typing import Annotated, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

import harness
from harness.challenge import Challenge, ChallengeError
from harness.grader import finish
from harness.report import CheckResult, CheckStatus, Environment, Report, RunStatus, Submission, Visibility, clip
from harness.submission import MAX_SUBMISSION_BYTES, SubmissionError, read_submission

MAX_ANSWERS_BYTES = 64 * 1024
MAX_NOTES = 10                  # notes a quiz report carries at most; each is cut to 1000 characters
MAX_LISTED = 10                 # keys or questions one note names before it says "and N more"
MAX_SHOWN_CHARS = 60            # of one key or answer, inside a note
BOM = "\ufeff"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
ACCEPTED_FORM = 'one choice letter in quotes, such as "B" ("b", "(B)", "[B]", "B." and "B)" also read as B)'

# One letter, either case, optionally wrapped in () or [], optionally followed by one of . ) :, spaces anywhere around.
_ANSWER = re.compile(r"\s*(?:\(\s*(?P<paren>[A-Za-z])\s*\)|\[\s*(?P<bracket>[A-Za-z])\s*\]|(?P<bare>[A-Za-z]))\s*[.):]?\s*")


class Question(BaseModel):
    """One question of a quiz key."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9]+(_[a-z0-9]+)*$", description="The key the candidate answers under.")
    prompt: str = Field(min_length=1, description="One line naming what the question asks (shown in reports).")
    choices: list[Annotated[str, Field(pattern=r"^[A-Z]$")]] = Field(
        min_length=2, description="The choice letters (one upper-case letter each), such as ['A', 'B', 'C', 'D'].")
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


@dataclass(frozen=True)
class Answers:
    """An answers file as read: the raw TOML value under each question id it names, and the keys that name no question."""

    values: dict[str, object]
    unknown: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Reading:
    """How one raw answer reads: the choice letter, or why it cannot be read."""

    letter: Optional[str] = None
    problem: Optional[str] = None      # the check's message when the answer cannot be read
    short: Optional[str] = None        # the same problem in a few words, for the report's notes


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


def grade_quiz(*, challenge: Challenge, submission: Path, seed: Optional[int] = None) -> Report:
    """Grade an answers file; always returns a report.

    Quiz grading draws nothing at random, so `seed` changes nothing; the report records it as given (None when
    none was given), so a report states the run's `--seed` and two runs with one seed give one report.
    """
    started = time.monotonic()
    report = Report(challenge_id=challenge.id, submission=Submission(file_name=submission.name),
                    status=RunStatus.error, score=0.0, max_score=challenge.meta.max_score, percent=0.0, seed=seed,
                    environment=Environment(harness_version=harness.__version__))
    try:
        key = load_key(challenge)
        answers = parse_answers(_read_text(challenge, submission, report.submission), key, report.submission.file_name)
        checks_started = time.monotonic()
        readings = {question.id: read_answer(question, answers.values.get(question.id)) for question in key.question}
        finish(report, [_judge(question, readings[question.id]) for question in key.question])
        report.timings.checks = round(time.monotonic() - checks_started, 4)
        _add_notes(report, key, answers, readings)
    except SubmissionError as error:
        report.status, report.reason = RunStatus.ungradable, clip(str(error))[0]
    except ChallengeError as error:
        report.status, report.reason = RunStatus.error, clip(f"the grader failed (not the submission's fault): {error}")[0]
    except Exception as error:  # a grader bug: still a report
        report.status, report.reason = RunStatus.error, clip(f"the grader crashed (not the submission's fault): {type(error).__name__}: {error}")[0]
    report.timings.total = round(time.monotonic() - started, 4)
    return report


def _read_text(challenge: Challenge, submission: Path, record: Submission) -> str:
    """The answers file's text: UTF-8 (a leading byte-order mark skipped), or UTF-16 with its byte-order mark."""
    text: Optional[str]
    try:
        text = read_submission(challenge, submission, record).text
    except SubmissionError:
        text = _utf16_text(challenge, submission, record)
        if text is None:
            raise
    return text.removeprefix(BOM)


def _utf16_text(challenge: Challenge, submission: Path, record: Submission) -> Optional[str]:
    """Decode the file `read_submission` read (and measured) but could not decode as UTF-8, if it is UTF-16."""
    if record.sha256 is None:  # it failed before reading the file: not an encoding problem
        return None
    path = submission / challenge.meta.submission_file if submission.is_dir() else submission
    try:
        data = path.read_bytes()[: MAX_SUBMISSION_BYTES + 1]
    except OSError:
        return None
    if hashlib.sha256(data).hexdigest() != record.sha256 or not data.startswith(UTF16_BOMS):
        return None
    try:
        return data.decode("utf-16")  # the byte-order mark says which byte order, and is dropped
    except UnicodeDecodeError as error:
        raise SubmissionError(f"{path.name} starts with a UTF-16 byte-order mark but is not UTF-16 text "
                              f"(byte {error.start}); save it as UTF-8") from None


def parse_answers(text: str, key: QuizKey, name: str = "answers.toml") -> Answers:
    """Read the file as TOML: a file that is not TOML is an error the candidate can fix; what is in it is judged per question."""
    if len(text.encode("utf-8")) > MAX_ANSWERS_BYTES:
        raise SubmissionError(f"{name} is larger than {MAX_ANSWERS_BYTES // 1024} KiB")
    try:
        data = tomllib.loads(text.removeprefix(BOM))
    except tomllib.TOMLDecodeError as error:
        raise SubmissionError(f"{name} is not valid TOML: {error}; each line should read like wd_purpose = \"B\"") from None
    known = {question.id for question in key.question}
    return Answers(values={k: v for k, v in data.items() if k in known}, unknown=[k for k in data if k not in known])


def read_answer(question: Question, value: object) -> Reading:
    """Read one raw TOML value as a choice letter (see the module's docstring for the accepted forms)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return Reading()
    if not isinstance(value, str):
        kind = _toml_type(value)
        return Reading(problem=f"the answer must be {ACCEPTED_FORM}; found {kind}: {value!r}", short=f"found {kind}")
    match = _ANSWER.fullmatch(value)
    if match is None:
        return Reading(problem=f"not one choice letter: the answer must be {ACCEPTED_FORM}; found {value!r}",
                       short=f"found {_shown(value)}")
    letter = (match["paren"] or match["bracket"] or match["bare"]).upper()
    if letter not in question.choices:
        written = "" if value == letter else f" (written {value!r})"
        return Reading(problem=f"{letter!r}{written} is not one of the choices {', '.join(question.choices)}",
                       short=f"{letter!r} is not a choice")
    return Reading(letter=letter)


def _toml_type(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, (datetime, date, clock_time)):
        return "a date or time"
    return type(value).__name__


def _shown(text: str) -> str:
    """A key or answer as a note shows it: quoted, and cut short."""
    return repr(text if len(text) <= MAX_SHOWN_CHARS else text[:MAX_SHOWN_CHARS] + "...")


def _listing(items: list[str]) -> str:
    more = len(items) - MAX_LISTED
    return ", ".join(items[:MAX_LISTED]) + (f" and {more} more" if more > 0 else "")


def _add_notes(report: Report, key: QuizKey, answers: Answers, readings: dict[str, Reading]) -> None:
    """What a candidate should fix although it did not stop grading. Notes never reveal the key, so candidates see them too."""
    name = report.submission.file_name
    ids = [question.id for question in key.question]
    if answers.unknown:
        named = []
        for unknown in answers.unknown:
            close = difflib.get_close_matches(unknown.lower(), ids, n=1)
            named.append(_shown(unknown) + (f" (did you mean {close[0]}?)" if close else ""))
        many = len(answers.unknown) > 1
        _note(report, f"{name}: ignored {len(answers.unknown)} key{'s that name' if many else ' that names'} no question "
                      f"of this quiz: {_listing(named)}. The question ids are: {', '.join(ids)}")
    unreadable = [f"{question_id} ({reading.short})" for question_id, reading in readings.items() if reading.problem]
    if unreadable:
        _note(report, f"{name}: {len(unreadable)} answer{'s' if len(unreadable) > 1 else ''} could not be read and "
                      f"score 0: {_listing(unreadable)}. Write {ACCEPTED_FORM}")


def _note(report: Report, text: str) -> None:
    if len(report.notes) < MAX_NOTES:
        report.notes.append(clip(text)[0])


def _judge(question: Question, reading: Reading) -> CheckResult:
    if reading.problem is not None:
        status, message = CheckStatus.failed, reading.problem
    elif reading.letter is None:
        status, message = CheckStatus.failed, "no answer given"
    elif reading.letter == question.answer:
        status, message = CheckStatus.passed, None
    else:
        status, message = CheckStatus.failed, f"expected {question.answer}, found {reading.letter}"
    message, truncated = clip(message)
    return CheckResult(name=question.id, description=question.prompt, status=status,
                       points=question.points if status is CheckStatus.passed else 0.0, max_points=question.points,
                       duration_seconds=0.0, visibility=Visibility.hidden, message=message, truncated=truncated)
