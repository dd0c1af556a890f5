"""Taking a submission: from a file or a folder, only the challenge's submission file, checked before anything runs."""

from __future__ import annotations

import ast
import hashlib
from dataclasses import dataclass
from pathlib import Path

from harness.challenge import Challenge, Kind
from harness.report import Submission

MAX_SUBMISSION_BYTES = 512 * 1024


class SubmissionError(Exception):
    """The submission cannot be graded; the message tells the candidate what to fix."""


@dataclass(frozen=True)
class SubmissionFile:
    """A submission file that was read and passed the checks that need no sandbox."""

    path: Path
    text: str


def read_submission(challenge: Challenge, path: Path, record: Submission) -> SubmissionFile:
    """Find, read and pre-check the submission, filling in `record` (name, sha256, size) as it goes."""
    expected = challenge.meta.submission_file
    if path.is_dir():
        path = path / expected
        if path.is_symlink():
            raise SubmissionError(f"{path} is a symbolic link; submit the file itself")
        if not path.is_file():
            raise SubmissionError(f"the folder {path.parent} has no {expected}; this challenge grades only {expected} (other files are ignored)")
    record.file_name = path.name
    if not path.exists():
        raise SubmissionError(f"no such file: {path}")
    if not path.is_file():
        raise SubmissionError(f"{path} is not a regular file")
    suffix = Path(expected).suffix
    if path.suffix != suffix:
        kind = "a Python source file (.py)" if challenge.meta.kind is Kind.code else "a TOML answers file (.toml)"
        raise SubmissionError(f"{path.name} is not {kind}; submit {expected}")
    data = path.read_bytes()[: MAX_SUBMISSION_BYTES + 1]
    if len(data) > MAX_SUBMISSION_BYTES:
        raise SubmissionError(f"{path.name} is larger than {MAX_SUBMISSION_BYTES // 1024} KiB")
    record.sha256, record.size_bytes = hashlib.sha256(data).hexdigest(), len(data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SubmissionError(f"{path.name} is not UTF-8 text (byte {error.start})") from None
    if challenge.meta.kind is Kind.code:
        _check_syntax(path.name, text)
    return SubmissionFile(path=path, text=text)


def _check_syntax(name: str, text: str) -> None:
    """Parse (never run) the source, so a syntax error is reported before any sandbox starts."""
    try:
        ast.parse(text, filename=name)
    except SyntaxError as error:
        if error.lineno is None:  # null bytes, for one
            raise SubmissionError(f"{name} cannot be parsed: {error.msg}") from None
        raise SubmissionError(f"{name} has a syntax error at line {error.lineno}: {error.msg}") from None
    except ValueError as error:  # null bytes, on Pythons that raise ValueError for them
        raise SubmissionError(f"{name} cannot be parsed: {error}") from None
