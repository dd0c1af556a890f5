"""A batch's results on disk, each written whole as it finishes, so an interrupted batch resumes where it stopped.

Layout of the output folder:

    batch.json        {"seed": ..., "challenge_id": ...}: a resumed batch reuses the first run's seed
    reports/<id>.json  each submission's full report (grader audience)
    grades.csv         one row per submission: id,score,max_score,percent,status,reason,seconds,sha256
    summary.json       the class at a glance (harness.batch.summary.summarize)
    submissions/<id>.py  each submission's code (a notebook's converted module), and .starter.py, the challenge's
                       starter: what `harness similar` and the class page compare (keep_sources)
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from pydantic import ValidationError

from harness.batch.discover import BatchInputError, Entry, id_problem
from harness.batch.summary import summarize
from harness.challenge import Challenge, Kind
from harness.report import Report, RunStatus, Submission, candidate_reason
from harness.submission import SubmissionError, read_submission

logger = logging.getLogger(__name__)

REPORTS_DIR = "reports"
GRADES_CSV = "grades.csv"
SUMMARY_JSON = "summary.json"
BATCH_JSON = "batch.json"
SOURCES_DIR = "submissions"
STARTER_SOURCE = ".starter.py"  # never a student's: ids cannot start with '.'
CSV_HEADER = ["id", "score", "max_score", "percent", "status", "reason", "seconds", "sha256"]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _current_umask() -> int:
    """Read once, at import (before any grading thread starts): os.umask can only be read by setting it."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_current_umask()


def atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that readers see the old file or the new one, never half of one,
    even if the process dies mid-write; the temporary file is removed if anything fails."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), _FILE_MODE)  # mkstemp makes 0600; give the mode open() would
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def submission_sha256(challenge: Challenge, path: Path) -> str | None:
    """The SHA-256 that grading would record for the submission at `path` (a file or a folder), or None
    when it cannot be read; read_submission computes it, so the two never disagree."""
    record = Submission(file_name=challenge.meta.submission_file)
    try:
        read_submission(challenge, path, record)
    except SubmissionError:
        pass  # it may still have been read (a syntax error, say): its sha256 is then set
    except OSError:
        return None
    return record.sha256


@dataclass
class Row:
    """One line of grades.csv."""

    student_id: str
    score: float
    max_score: float
    percent: float
    status: str
    reason: str
    seconds: float
    sha256: str


def row_for(student_id: str, report: Report) -> Row:
    """The grades.csv line for one report; the reason is its first line, at most 300 characters."""
    return Row(student_id=student_id, score=report.score, max_score=report.max_score, percent=report.percent,
               status=report.status.value, reason=candidate_reason(report.reason) or "",
               seconds=report.timings.total, sha256=report.submission.sha256 or "")


def _number(value: float, digits: int = 4) -> str:
    """A number as a spreadsheet should show it: 8 rather than 8.0, 0.3 rather than 0.30000000000000004."""
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _cell(text: str) -> str:
    """Defuse spreadsheet formulas: a cell starting with = + - @ tab or CR is shown as text, not run."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _csv_cells(row: Row) -> list[str]:
    return [_cell(row.student_id), _number(row.score), _number(row.max_score), _number(row.percent, 2),
            _cell(row.status), _cell(row.reason), _number(row.seconds, 2), _cell(row.sha256)]


class ResultStore:
    """The output folder of one batch."""

    def __init__(self, out: Path) -> None:
        if out.exists() and not out.is_dir():
            raise BatchInputError(f"{out}: exists and is not a folder; give --out a folder (new or from an earlier batch)")
        self.out = out
        self.reports_dir = out / REPORTS_DIR
        try:
            self.reports_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise BatchInputError(f"{self.reports_dir}: cannot create the folder: {error.strerror or error}") from None

    def report_path(self, student_id: str) -> Path:
        problem = id_problem(student_id)
        if problem:
            raise ValueError(f"student id {student_id!r} {problem}")
        return self.reports_dir / f"{student_id}.json"

    def load(self, student_id: str) -> Report | None:
        """The saved report, or None when there is none or it cannot be read (it is then graded again)."""
        path = self.report_path(student_id)
        try:
            return Report.model_validate_json(path.read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, ValidationError, ValueError) as error:
            logger.warning("%s is not a readable report (%s); grading it again", path, str(error).splitlines()[0])
            return None

    def save(self, student_id: str, report: Report) -> None:
        atomic_write(self.report_path(student_id), report.model_dump_json(indent=2).encode("utf-8") + b"\n")

    def is_current(self, report: Report, *, sha256: str | None, challenge_hash: str, harness_version: str,
                   seed: int) -> bool:
        """Whether grading again would give the same report: same submission bytes, challenge, harness and
        seed. An 'error' is never current: it was the grader's fault, so resuming tries again."""
        return (sha256 is not None
                and report.status is not RunStatus.error
                and report.submission.sha256 == sha256
                and report.environment.challenge_hash == challenge_hash
                and report.environment.harness_version == harness_version
                and report.seed == seed)

    def write_tables(self, rows: list[Row], reports: list[Report], *, challenge_id: str, seed: int) -> None:
        """grades.csv (one row per submission, in the order given) and summary.json, each written atomically."""
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_HEADER)
        writer.writerows(_csv_cells(row) for row in rows)
        atomic_write(self.out / GRADES_CSV, buffer.getvalue().encode("utf-8"))
        summary = summarize(reports, challenge_id=challenge_id, seed=seed)
        atomic_write(self.out / SUMMARY_JSON, (json.dumps(summary, indent=2) + "\n").encode("utf-8"))

    def read_batch_seed(self, challenge_id: str | None = None) -> int | None:
        """The seed of the first run into this folder, or None for a new folder. With `challenge_id`, a
        folder holding another challenge's batch is refused rather than silently mixed."""
        path = self.out / BATCH_JSON
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            raise BatchInputError(f"{path}: cannot be read ({error}); delete it to start the batch afresh") from None
        seed = data.get("seed") if isinstance(data, dict) else None
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise BatchInputError(f"{path}: has no integer 'seed'; delete it to start the batch afresh")
        found = data.get("challenge_id")
        if challenge_id is not None and found is not None and found != challenge_id:
            raise BatchInputError(f"{self.out}: holds a batch of challenge {found!r}, not {challenge_id!r}; "
                                  "choose another --out")
        return seed

    def write_batch_seed(self, seed: int, challenge_id: str | None = None) -> None:
        data = {"seed": seed, "challenge_id": challenge_id}
        atomic_write(self.out / BATCH_JSON, (json.dumps(data, indent=2) + "\n").encode("utf-8"))


def keep_sources(store: ResultStore, challenge: Challenge, entries: Sequence[Entry]) -> list[str]:
    """Keep the code of every submission of `entries` as `submissions/<id>.py`, and the challenge's starter as
    `submissions/.starter.py`, each written atomically: `harness similar` and the class page compare them. A
    notebook is kept as the module made from its code cells (what is graded). A submission that cannot be read as
    code (ungradable before it runs: no file, not UTF-8, a syntax error) is not kept, and an earlier copy of it is
    removed, so nothing stale is compared. Quizzes keep nothing (answers are not code). Returns one note per
    submission not kept. OSError when the folder cannot be written."""
    if challenge.meta.kind is not Kind.code:
        return []
    folder = store.out / SOURCES_DIR
    folder.mkdir(exist_ok=True)
    atomic_write(folder / STARTER_SOURCE, challenge.starter.read_bytes())
    notes = []
    for entry in entries:
        target = folder / f"{entry.student_id}.py"
        if id_problem(entry.student_id):
            continue  # never a file name (discover refuses such ids before this is called)
        try:
            text = read_submission(challenge, entry.path, Submission(file_name=challenge.meta.submission_file)).text
        except (SubmissionError, OSError) as error:
            target.unlink(missing_ok=True)
            notes.append(f"{entry.student_id}: code not kept for comparison: {error}")
            continue
        atomic_write(target, text.encode("utf-8"))
    return notes
