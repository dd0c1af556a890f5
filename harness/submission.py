"""Taking a submission: from a file or a folder, only the challenge's submission file, checked before anything runs.

A code challenge also takes a Jupyter notebook in place of its `.py` file: a path ending `.ipynb`, or a
folder holding `<stem>.ipynb` (`solution.ipynb`) and no `<stem>.py`. The notebook is turned into the module
that is graded by `harness.notebook` (its rules are there); the record's name, SHA-256 and size are the
notebook file's.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from harness.parsing import parse
from harness.challenge import Challenge, Kind
from harness.report import Submission

MAX_SUBMISSION_BYTES = 512 * 1024
NOTEBOOK_SUFFIX = ".ipynb"


class SubmissionError(Exception):
    """The submission cannot be graded; the message tells the candidate what to fix."""


@dataclass(frozen=True)
class SubmissionFile:
    """A submission file that was read and passed the checks that need no sandbox."""

    path: Path
    text: str  # the module's source: the file's text, or the module made from a notebook
    notes: tuple[str, ...] = ()  # for the report's notes (what a notebook's conversion left out)


def accepted_files(challenge: Challenge) -> tuple[str, ...]:
    """The file names a submission folder may hold, preferred first: `solution.py`, then (for code) `solution.ipynb`."""
    name = challenge.meta.submission_file
    if challenge.meta.kind is Kind.code:
        return (name, Path(name).stem + NOTEBOOK_SUFFIX)
    return (name,)


def read_submission(challenge: Challenge, path: Path, record: Submission) -> SubmissionFile:
    """Find, read and pre-check the submission, filling in `record` (name, sha256, size) as it goes."""
    expected = challenge.meta.submission_file
    code = challenge.meta.kind is Kind.code
    if path.is_dir():
        folder, path = path, path / expected
        notebook = folder / (Path(expected).stem + NOTEBOOK_SUFFIX)
        if code and not _present(path) and _present(notebook):
            path = notebook
        if path.is_symlink():
            raise SubmissionError(f"{path} is a symbolic link; submit the file itself")
        if not path.is_file():
            also = f" or {notebook.name}" if code else ""
            raise SubmissionError(f"the folder {folder} has no {expected}{also}; this challenge grades only {expected}{also} "
                                  "(other files are ignored)")
    record.file_name = path.name
    if not path.exists():
        raise SubmissionError(f"no such file: {path}")
    if not path.is_file():
        raise SubmissionError(f"{path} is not a regular file")
    if path.suffix == NOTEBOOK_SUFFIX:
        if not code:
            raise SubmissionError(f"{path.name} is a Jupyter notebook, but this is a quiz: submit {expected}, "
                                  "a TOML answers file (.toml)")
        return _read_notebook(path, record)
    suffix = Path(expected).suffix
    if path.suffix != suffix:
        kind = ("a Python source file (.py) or a Jupyter notebook (.ipynb)" if code
                else "a TOML answers file (.toml)")
        raise SubmissionError(f"{path.name} is not {kind}; submit {expected}")
    data = path.read_bytes()[: MAX_SUBMISSION_BYTES + 1]
    if len(data) > MAX_SUBMISSION_BYTES:
        raise SubmissionError(f"{path.name} is larger than {MAX_SUBMISSION_BYTES // 1024} KiB")
    record.sha256, record.size_bytes = hashlib.sha256(data).hexdigest(), len(data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SubmissionError(f"{path.name} is not UTF-8 text (byte {error.start})") from None
    if code:
        _check_syntax(path.name, text)
    return SubmissionFile(path=path, text=text)


def _present(path: Path) -> bool:
    """Something is there (a broken symbolic link included, which is then refused as a link)."""
    return path.exists() or path.is_symlink()


def _read_notebook(path: Path, record: Submission) -> SubmissionFile:
    """A notebook: measured as the file it is, graded as the module made from its code cells."""
    from harness import notebook  # nbformat and jsonschema: loaded only for notebooks

    data = path.read_bytes()[: notebook.MAX_NOTEBOOK_BYTES + 1]
    if len(data) <= notebook.MAX_NOTEBOOK_BYTES:
        record.sha256, record.size_bytes = hashlib.sha256(data).hexdigest(), len(data)
    text, notes = notebook.notebook_source(data, path.name)
    _check_syntax(path.name, text)
    return SubmissionFile(path=path, text=text, notes=tuple(notes))


def _check_syntax(name: str, text: str) -> None:
    """Parse (never run) the source, so a syntax error is reported before any sandbox starts."""
    try:
        parse(text, filename=name)
    except SyntaxError as error:
        if error.lineno is None:  # null bytes, for one
            raise SubmissionError(f"{name} cannot be parsed: {error.msg}") from None
        raise SubmissionError(f"{name} has a syntax error at line {error.lineno}: {error.msg}") from None
    except ValueError as error:  # null bytes, on Pythons that raise ValueError for them
        raise SubmissionError(f"{name} cannot be parsed: {error}") from None
