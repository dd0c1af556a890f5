"""The service's store: submissions, their reports and the API keys, in one SQLite database that is the source of
truth. The queue only carries submission ids; whatever a queue loses or duplicates, this store decides what runs.

A submission is `queued`, then `running` under a claim (an attempt number and a lease that the grading worker
renews), then `done` with exactly one report: storing a report is conditional on still holding the claim (same
attempt, still running), in the same transaction that writes the report, whose table has the submission id as its
primary key. A claim whose lease ran out (its worker died or hangs) goes back to `queued`; the next worker to take
it gets a higher attempt number, so the late one can no longer store anything.

SQLite in WAL mode (readers never wait for the writer), `synchronous=FULL` (a committed report survives a power
cut), every write in a `BEGIN IMMEDIATE` transaction (writers queue on the lock instead of failing half-way), one
connection per thread. Several processes (the API, any number of workers) may open the same file on one machine.
"""

from __future__ import annotations

import math
import secrets
import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Iterator, Optional

from harness.service.keys import ApiKey, KeyLimits, Role, new_key_id, new_token, token_hash
from harness.service.settings import sqlite_path

SCHEMA_VERSION = 1
BUSY_TIMEOUT_SECONDS = 30.0
RATE_WINDOW_SECONDS = 60.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('submitter', 'grader')),
    token_hash TEXT NOT NULL UNIQUE,
    created_at REAL NOT NULL,
    revoked_at REAL,
    per_minute INTEGER NOT NULL,
    max_queued INTEGER NOT NULL,
    max_file_bytes INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS submissions (
    id TEXT PRIMARY KEY,
    key_id TEXT NOT NULL REFERENCES keys(id),
    challenge_id TEXT NOT NULL,
    student_id TEXT,
    file_name TEXT NOT NULL,
    upload_name TEXT NOT NULL,
    content BLOB NOT NULL,
    sha256 TEXT NOT NULL,
    seed INTEGER NOT NULL,
    callback_url TEXT,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done')),
    attempt INTEGER NOT NULL DEFAULT 0,
    tries INTEGER NOT NULL DEFAULT 0,
    worker TEXT,
    lease_until REAL,
    enqueued_at REAL,
    created_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    report_status TEXT,
    score REAL,
    callback_state TEXT CHECK (callback_state IN ('pending', 'delivered', 'failed')),
    callback_attempts INTEGER NOT NULL DEFAULT 0,
    callback_error TEXT,
    callback_at REAL
);
CREATE INDEX IF NOT EXISTS submissions_by_key ON submissions (key_id, created_at);
CREATE INDEX IF NOT EXISTS submissions_by_status ON submissions (status, lease_until);
CREATE TABLE IF NOT EXISTS reports (
    submission_id TEXT PRIMARY KEY REFERENCES submissions(id),
    attempt INTEGER NOT NULL,
    worker TEXT NOT NULL,
    report TEXT NOT NULL,
    stored_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    submission_id TEXT NOT NULL,
    at REAL NOT NULL,
    kind TEXT NOT NULL,
    attempt INTEGER,
    worker TEXT,
    detail TEXT
);
CREATE INDEX IF NOT EXISTS events_by_submission ON events (submission_id, id);
"""

_SUBMISSION_COLUMNS = ("id, key_id, challenge_id, student_id, file_name, upload_name, sha256, length(content), seed, "
                       "callback_url, status, attempt, tries, worker, lease_until, created_at, started_at, finished_at, "
                       "report_status, score, callback_state, callback_attempts, callback_error")


class StoreError(Exception):
    """The store cannot be opened or used; the message names the file."""


class RateLimited(Exception):
    """A key is over one of its limits: `retry_after` seconds until it may try again."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class NewSubmission:
    """A checked upload, ready to be stored."""

    challenge_id: str
    file_name: str  # the name it is graded under (solution.py, solution.ipynb, answers.toml)
    upload_name: str  # the name the client sent
    content: bytes
    sha256: str
    seed: int
    student_id: Optional[str] = None
    callback_url: Optional[str] = None


@dataclass(frozen=True)
class SubmissionRecord:
    """A stored submission without its file; `report` is the stored report's JSON (grader view) once done."""

    id: str
    key_id: str
    challenge_id: str
    student_id: Optional[str]
    file_name: str
    upload_name: str
    sha256: str
    size_bytes: int
    seed: int
    callback_url: Optional[str]
    status: str
    attempt: int
    tries: int
    worker: Optional[str]
    lease_until: Optional[float]
    created_at: float
    started_at: Optional[float]
    finished_at: Optional[float]
    report_status: Optional[str]
    score: Optional[float]
    callback_state: Optional[str]
    callback_attempts: int
    callback_error: Optional[str]
    report: Optional[str] = None


_RECORD_FIELDS = [item.name for item in fields(SubmissionRecord) if item.name != "report"]


@dataclass(frozen=True)
class Claim:
    """A worker's hold on one submission: only the holder of this attempt may store its report."""

    submission_id: str
    attempt: int
    tries: int
    worker: str
    challenge_id: str
    file_name: str
    content: bytes
    seed: int


@dataclass(frozen=True)
class CallbackJob:
    """What a callback delivery needs: where, what, and for whom (the submitting key's role picks the view)."""

    submission_id: str
    url: str
    state: str
    attempts: int
    role: Role
    challenge_id: str
    student_id: Optional[str]
    report: str


class Store:
    """The SQLite store at `path` (created with its tables when missing)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreError(f"cannot make the store's folder {self.path.parent}: {error.strerror or error}") from None
        with self._write() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreError(f"{self.path} was made by a newer harness (store schema {version}; this one knows "
                                 f"{SCHEMA_VERSION}): upgrade the harness")
        self._connection().executescript(SCHEMA + f"PRAGMA user_version = {SCHEMA_VERSION};")

    @classmethod
    def from_url(cls, url: str) -> "Store":
        return cls(sqlite_path(url, "--store"))

    # --- connections and transactions ---------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None,
                                       check_same_thread=False)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=FULL")
                conn.execute("PRAGMA foreign_keys=ON")
            except sqlite3.Error as error:
                raise StoreError(f"cannot open the store {self.path}: {error}") from None
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at its start (BEGIN IMMEDIATE): all or nothing, never a lock upgrade that fails."""
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                try:
                    conn.close()
                except sqlite3.Error:
                    pass
            self._connections.clear()
        self._local = threading.local()

    def ping(self) -> None:
        self._connection().execute("SELECT count(*) FROM keys").fetchone()

    @staticmethod
    def _event(db: sqlite3.Connection, submission_id: str, kind: str, attempt: Optional[int] = None,
               worker: Optional[str] = None, detail: Optional[str] = None) -> None:
        db.execute("INSERT INTO events (submission_id, at, kind, attempt, worker, detail) VALUES (?, ?, ?, ?, ?, ?)",
                   (submission_id, time.time(), kind, attempt, worker, detail))

    # --- keys -----------------------------------------------------------------------------------------------------

    def create_key(self, name: str, role: Role, limits: KeyLimits) -> tuple[ApiKey, str]:
        """A new key and its token (the token is not stored: shown once, to the caller)."""
        token, key_id, now = new_token(), new_key_id(), time.time()
        with self._write() as db:
            db.execute("INSERT INTO keys (id, name, role, token_hash, created_at, per_minute, max_queued, max_file_bytes) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       (key_id, name, role.value, token_hash(token), now, limits.per_minute, limits.max_queued,
                        limits.max_file_bytes))
        return ApiKey(key_id, name, role, now, None, limits), token

    def keys(self) -> list[ApiKey]:
        rows = self._connection().execute(
            "SELECT id, name, role, created_at, revoked_at, per_minute, max_queued, max_file_bytes FROM keys "
            "ORDER BY created_at, id").fetchall()
        return [_key(row) for row in rows]

    def key_for_token(self, token: str) -> Optional[ApiKey]:
        row = self._connection().execute(
            "SELECT id, name, role, created_at, revoked_at, per_minute, max_queued, max_file_bytes FROM keys "
            "WHERE token_hash = ?", (token_hash(token),)).fetchone()
        return _key(row) if row else None

    def revoke_key(self, key_id: str) -> Optional[ApiKey]:
        """Revoke a key (its token stops working at once); None when no key has that id."""
        with self._write() as db:
            db.execute("UPDATE keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (time.time(), key_id))
            row = db.execute("SELECT id, name, role, created_at, revoked_at, per_minute, max_queued, max_file_bytes "
                             "FROM keys WHERE id = ?", (key_id,)).fetchone()
        return _key(row) if row else None

    # --- submissions: the API's side ------------------------------------------------------------------------------

    def add_submission(self, new: NewSubmission, key: ApiKey) -> SubmissionRecord:
        """Store a submission as `queued`, after checking the key's limits in the same transaction (two requests at
        once cannot both slip under a limit); RateLimited when over one, and then nothing is stored."""
        now = time.time()
        submission_id = "sub_" + secrets.token_hex(12)
        with self._write() as db:
            recent = [row[0] for row in db.execute(
                "SELECT created_at FROM submissions WHERE key_id = ? AND created_at > ? ORDER BY created_at",
                (key.id, now - RATE_WINDOW_SECONDS))]
            if len(recent) >= key.limits.per_minute:
                frees_at = recent[len(recent) - key.limits.per_minute] + RATE_WINDOW_SECONDS
                raise RateLimited(f"this key may submit {key.limits.per_minute} times a minute and has; try again in "
                                  f"{max(1, math.ceil(frees_at - now))} s", max(1, math.ceil(frees_at - now)))
            waiting = db.execute("SELECT count(*) FROM submissions WHERE key_id = ? AND status != 'done'",
                                 (key.id,)).fetchone()[0]
            if waiting >= key.limits.max_queued:
                raise RateLimited(f"this key has {waiting} submissions waiting or being graded, its limit; try again "
                                  "once one is done", 5)
            db.execute("INSERT INTO submissions (id, key_id, challenge_id, student_id, file_name, upload_name, content, "
                       "sha256, seed, callback_url, status, enqueued_at, created_at) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?)",
                       (submission_id, key.id, new.challenge_id, new.student_id, new.file_name, new.upload_name,
                        new.content, new.sha256, new.seed, new.callback_url, now, now))
            self._event(db, submission_id, "created", detail=key.id)
        record = self.submission(submission_id)
        assert record is not None
        return record

    def delete_submission(self, submission_id: str) -> None:
        """Undo an insert whose task could not be enqueued (the client was told 503: nothing may stay behind)."""
        with self._write() as db:
            db.execute("DELETE FROM events WHERE submission_id = ?", (submission_id,))
            db.execute("DELETE FROM submissions WHERE id = ? AND status = 'queued' AND attempt = 0", (submission_id,))

    def submission(self, submission_id: str, with_report: bool = False) -> Optional[SubmissionRecord]:
        db = self._connection()
        row = db.execute(f"SELECT {_SUBMISSION_COLUMNS} FROM submissions WHERE id = ?", (submission_id,)).fetchone()
        if row is None:
            return None
        report = None
        if with_report and row[10] == "done":
            found = db.execute("SELECT report FROM reports WHERE submission_id = ?", (submission_id,)).fetchone()
            report = found[0] if found else None
        values: dict[str, Any] = dict(zip(_RECORD_FIELDS, row))  # the columns are in the dataclass's order
        return SubmissionRecord(**values, report=report)

    def counts(self) -> dict[str, int]:
        """Submissions by status (for /healthz and the tests)."""
        counts = {"queued": 0, "running": 0, "done": 0}
        for status, count in self._connection().execute("SELECT status, count(*) FROM submissions GROUP BY status"):
            counts[status] = count
        return counts

    def report_count(self, submission_id: Optional[str] = None) -> int:
        db = self._connection()
        if submission_id is None:
            return db.execute("SELECT count(*) FROM reports").fetchone()[0]
        return db.execute("SELECT count(*) FROM reports WHERE submission_id = ?", (submission_id,)).fetchone()[0]

    def events(self, submission_id: str) -> list[tuple[str, Optional[int], Optional[str]]]:
        """(kind, attempt, worker) of everything that happened to a submission, in order: the audit trail."""
        return [(row[0], row[1], row[2]) for row in self._connection().execute(
            "SELECT kind, attempt, worker FROM events WHERE submission_id = ? ORDER BY id", (submission_id,))]

    # --- submissions: the workers' side ---------------------------------------------------------------------------

    def claim(self, submission_id: str, worker: str, lease_seconds: float) -> Optional[Claim]:
        """Take a queued submission (or a running one whose lease ran out) for `worker`; None when it is done or
        another worker holds a live lease on it (a duplicate task: nothing to do)."""
        now = time.time()
        with self._write() as db:
            row = db.execute("SELECT status, lease_until FROM submissions WHERE id = ?", (submission_id,)).fetchone()
            if row is None or row[0] == "done" or (row[0] == "running" and (row[1] or 0) > now):
                return None
            db.execute("UPDATE submissions SET status = 'running', attempt = attempt + 1, tries = tries + 1, worker = ?, "
                       "lease_until = ?, started_at = ? WHERE id = ?", (worker, now + lease_seconds, now, submission_id))
            found = db.execute("SELECT attempt, tries, challenge_id, file_name, content, seed FROM submissions "
                               "WHERE id = ?", (submission_id,)).fetchone()
            self._event(db, submission_id, "claimed", found[0], worker)
        return Claim(submission_id, found[0], found[1], worker, found[2], found[3], bytes(found[4]), found[5])

    def renew(self, claim: Claim, lease_seconds: float) -> bool:
        """Extend a claim's lease; False when the claim is lost (it expired and went back to the queue)."""
        with self._write() as db:
            cursor = db.execute("UPDATE submissions SET lease_until = ? WHERE id = ? AND status = 'running' AND "
                                "attempt = ?", (time.time() + lease_seconds, claim.submission_id, claim.attempt))
            return cursor.rowcount == 1

    def complete(self, claim: Claim, report_json: str, report_status: str, score: float) -> bool:
        """Store the report of a claim, once: True when stored; False when the claim was lost meanwhile (another
        attempt owns the submission now) or the report is already there."""
        now = time.time()
        with self._write() as db:
            cursor = db.execute(
                "UPDATE submissions SET status = 'done', finished_at = ?, lease_until = NULL, report_status = ?, "
                "score = ?, callback_state = CASE WHEN callback_url IS NULL THEN NULL ELSE 'pending' END, "
                "callback_at = ? WHERE id = ? AND status = 'running' AND attempt = ?",
                (now, report_status, score, now, claim.submission_id, claim.attempt))
            if cursor.rowcount != 1:
                return False
            db.execute("INSERT INTO reports (submission_id, attempt, worker, report, stored_at) VALUES (?, ?, ?, ?, ?)",
                       (claim.submission_id, claim.attempt, claim.worker, report_json, now))
            self._event(db, claim.submission_id, "stored", claim.attempt, claim.worker, report_status)
        return True

    def release(self, claim: Claim, *, counted: bool, retry_at: Optional[float] = None, why: str = "") -> bool:
        """Give a claim back (the worker is stopping, or the grader failed and will try again): the submission is
        queued again. `counted`: whether this try counts toward the attempts allowed (a worker that stops cleanly
        does not use one up)."""
        with self._write() as db:
            cursor = db.execute(
                "UPDATE submissions SET status = 'queued', lease_until = NULL, worker = NULL, enqueued_at = ?, "
                "tries = tries - ? WHERE id = ? AND status = 'running' AND attempt = ?",
                (retry_at or time.time(), 0 if counted else 1, claim.submission_id, claim.attempt))
            if cursor.rowcount == 1:
                self._event(db, claim.submission_id, "released", claim.attempt, claim.worker, why or None)
                return True
            return False

    def requeue_expired(self, limit: int = 200) -> list[str]:
        """Running submissions whose lease ran out (their worker died or hangs), put back in the queue: the caller
        enqueues their ids. The late worker's claim is void from here on."""
        now = time.time()
        with self._write() as db:
            rows = db.execute("SELECT id, attempt, worker FROM submissions WHERE status = 'running' AND lease_until < ? "
                              "LIMIT ?", (now, limit)).fetchall()
            for submission_id, attempt, worker in rows:
                db.execute("UPDATE submissions SET status = 'queued', lease_until = NULL, worker = NULL, "
                           "enqueued_at = ? WHERE id = ?", (now, submission_id))
                self._event(db, submission_id, "lease-expired", attempt, worker)
        return [row[0] for row in rows]

    def requeue_stale(self, older_than: float, limit: int = 200) -> list[str]:
        """Queued submissions enqueued longer ago than `older_than` seconds (their task may have been lost: a
        Redis without persistence restarted, an API killed between its insert and its enqueue), marked as enqueued
        now: the caller enqueues them again. A duplicate task is harmless: the claim decides."""
        return self._touch_stale("SELECT id FROM submissions WHERE status = 'queued' AND enqueued_at < ? "
                                 "ORDER BY created_at LIMIT ?", "enqueued_at", older_than, limit)

    # --- callbacks --------------------------------------------------------------------------------------------------

    def callback_job(self, submission_id: str) -> Optional[CallbackJob]:
        row = self._connection().execute(
            "SELECT s.id, s.callback_url, s.callback_state, s.callback_attempts, k.role, s.challenge_id, s.student_id, "
            "r.report FROM submissions s JOIN keys k ON k.id = s.key_id JOIN reports r ON r.submission_id = s.id "
            "WHERE s.id = ? AND s.callback_url IS NOT NULL", (submission_id,)).fetchone()
        if row is None:
            return None
        return CallbackJob(row[0], row[1], row[2], row[3], Role(row[4]), row[5], row[6], row[7])

    def callback_attempted(self, submission_id: str, *, delivered: bool, error: Optional[str], final: bool) -> None:
        """Record one delivery try: delivered, failed for good (`final`), or still pending a retry."""
        state = "delivered" if delivered else ("failed" if final else "pending")
        with self._write() as db:
            db.execute("UPDATE submissions SET callback_state = ?, callback_attempts = callback_attempts + 1, "
                       "callback_error = ?, callback_at = ? WHERE id = ? AND callback_state = 'pending'",
                       (state, None if delivered else error, time.time(), submission_id))
            self._event(db, submission_id, "callback-" + state, detail=error)

    def stale_callbacks(self, older_than: float, limit: int = 200) -> list[str]:
        """Pending callbacks with nothing done for `older_than` seconds (their task was lost with a worker that died
        right after storing the report), marked as touched now: the caller enqueues them again."""
        return self._touch_stale("SELECT id FROM submissions WHERE callback_state = 'pending' AND callback_at < ? "
                                 "LIMIT ?", "callback_at", older_than, limit)

    def _touch_stale(self, query: str, column: str, older_than: float, limit: int) -> list[str]:
        """The ids `query` finds (its parameters: a time `older_than` seconds ago, `limit`), with `column` set to
        now in the same transaction, so that two callers never both take one."""
        now = time.time()
        with self._write() as db:
            rows = [row[0] for row in db.execute(query, (now - older_than, limit))]
            db.executemany(f"UPDATE submissions SET {column} = ? WHERE id = ?", [(now, row) for row in rows])
        return rows


def _key(row: tuple) -> ApiKey:
    return ApiKey(row[0], row[1], Role(row[2]), row[3], row[4], KeyLimits(row[5], row[6], row[7]))

