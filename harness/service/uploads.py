"""What an uploaded file must be before it is stored: a file this challenge grades, of a size it takes, and text.

Refused here, with nothing stored (each with the HTTP status the API answers): an empty file (422), a file over
the key's limit or the grader's (413), a name this challenge does not take (422), bytes that are not UTF-8 text
(binary files, 422), a notebook that is not JSON or not a notebook at all (422). Anything past these is stored
and graded: a syntax error, an exception at import or a notebook with no code cell is the candidate's to fix and
gets the same `ungradable` report as `harness grade` gives, with the reason.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import PurePath

from harness.challenge import Challenge, Kind
from harness.submission import MAX_SUBMISSION_BYTES, NOTEBOOK_SUFFIX, accepted_files

MAX_NOTEBOOK_BYTES = 16 * 1024 * 1024  # as harness.notebook (not imported here: it loads nbformat)
MAX_NAME_CHARS = 255


class UploadRefused(Exception):
    """The upload cannot be stored; `status` is the HTTP status to answer, the message says what to change."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class CheckedUpload:
    file_name: str  # the name it is graded under: one of the challenge's accepted files
    upload_name: str
    content: bytes
    sha256: str


def graded_name(challenge: Challenge, upload_name: str) -> str:
    """Which of the challenge's accepted files an upload is, by its suffix (`alice.py` -> `solution.py`)."""
    name = PurePath(upload_name.replace("\\", "/")).name
    accepted = accepted_files(challenge)
    suffix = PurePath(name).suffix.lower()
    for candidate in accepted:
        if PurePath(candidate).suffix == suffix:
            return candidate
    if challenge.meta.kind is Kind.code:
        wanted = f"a Python source file (.py, graded as {accepted[0]}) or a Jupyter notebook ({NOTEBOOK_SUFFIX})"
    else:
        wanted = f"a TOML answers file (.toml, graded as {accepted[0]})"
    raise UploadRefused(422, f"the file {name!r} is not {wanted}; {challenge.id} grades {' or '.join(accepted)}")


def check_upload(challenge: Challenge, upload_name: str, content: bytes, key_limit: int) -> CheckedUpload:
    """The upload as it will be stored, or UploadRefused saying what is wrong with it."""
    if not upload_name or len(upload_name) > MAX_NAME_CHARS:
        raise UploadRefused(422, f"the file part needs a file name (1 to {MAX_NAME_CHARS} characters) ending in "
                                 f"the suffix of one of {', '.join(accepted_files(challenge))}")
    name = graded_name(challenge, upload_name)
    shown = PurePath(upload_name.replace("\\", "/")).name
    grader_limit = MAX_NOTEBOOK_BYTES if name.endswith(NOTEBOOK_SUFFIX) else MAX_SUBMISSION_BYTES
    limit = min(grader_limit, key_limit)
    if len(content) > limit:
        whose = "this API key's limit" if key_limit < grader_limit else f"the most a {PurePath(name).suffix} file may be"
        raise UploadRefused(413, f"{shown} is larger than {_size(limit)} ({whose})")
    if not content.strip():
        raise UploadRefused(422, f"{shown} is empty; upload the file with your solution in it")
    if b"\x00" in content:
        raise UploadRefused(422, f"{shown} is a binary file (it holds NUL bytes), not text; upload "
                                 f"{' or '.join(accepted_files(challenge))}")
    try:
        text = content.decode("utf-8-sig" if name.endswith(NOTEBOOK_SUFFIX) else "utf-8")
    except UnicodeDecodeError as error:
        raise UploadRefused(422, f"{shown} is not UTF-8 text (byte {error.start} cannot be decoded): a binary file, "
                                 "or text saved in another encoding; save it as UTF-8") from None
    if name.endswith(NOTEBOOK_SUFFIX):
        try:
            notebook = json.loads(text)
        except (ValueError, RecursionError) as error:
            where = f" (line {error.lineno}, column {error.colno}: {error.msg})" if isinstance(error, json.JSONDecodeError) else ""
            raise UploadRefused(422, f"{shown} is not valid JSON{where}, so not a notebook Jupyter saved") from None
        if not isinstance(notebook, dict) or "nbformat" not in notebook:
            raise UploadRefused(422, f"{shown} is JSON but not a Jupyter notebook (no 'nbformat' field at its top level)")
    return CheckedUpload(name, shown, content, hashlib.sha256(content).hexdigest())


def _size(count: int) -> str:
    if count >= 1024 * 1024:
        return f"{count / (1024 * 1024):.1f} MiB"
    if count >= 1024:
        return f"{count / 1024:.0f} KiB"
    return f"{count} bytes"
