"""The job queue: Huey, with its SQLite storage on one machine (a file, no server) and Redis across machines.

Two Huey queues share one storage: `harness-grade` carries submission ids to grade, `harness-callback` carries
submission ids whose report is to be POSTed (with Huey's retries and backoff). They are apart so that a slow
callback receiver never holds up a grading slot.

Huey takes a task off its queue when a worker reads it: a worker killed mid-job loses that task. The store, not
the queue, is what makes a job survive that (see harness.service.store: claims, leases, and reports stored only
by the current claim's holder); the queue carries ids and may lose or duplicate them without harm.

Messages are JSON, not Huey's default pickle: whoever can write to the Redis server could otherwise make every
worker run code of their choosing. Only plain tasks are serialised (no pipelines, chords or error callbacks).
"""

from __future__ import annotations

import datetime
import json
import logging
import time
from typing import Any, Callable, Optional

from huey import RedisHuey, SqliteHuey  # type: ignore[import-untyped]
from huey.api import Huey, Task  # type: ignore[import-untyped]
from huey.registry import Message  # type: ignore[import-untyped]
from huey.serializer import Serializer  # type: ignore[import-untyped]

from harness.service.settings import check_queue_url, sqlite_path

log = logging.getLogger(__name__)

GRADE_QUEUE = "harness-grade"
CALLBACK_QUEUE = "harness-callback"
SQLITE_POLL_SECONDS = (0.005, 0.05)  # first and longest pause between two looks at an empty SQLite queue


class QueueError(Exception):
    """A message on the queue is not one of ours, or the queue cannot be reached."""


class JsonSerializer(Serializer):
    """Huey's messages as JSON: datetimes as ISO strings, nothing that runs code when read."""

    def _serialize(self, data: Any) -> bytes:
        if not isinstance(data, Message):
            raise QueueError(f"only task messages are queued, not {type(data).__name__}")
        fields = data._asdict()
        for nested in ("on_complete", "on_error", "chord_config"):
            if fields[nested] is not None:
                raise QueueError(f"task {data.name}: {nested} is not supported by this queue")
        for moment in ("eta", "expires", "expires_resolved"):
            if isinstance(fields[moment], datetime.datetime):
                fields[moment] = {"datetime": fields[moment].isoformat()}
        fields["args"] = list(fields["args"] or ())
        return json.dumps(fields, separators=(",", ":")).encode("utf-8")

    def _deserialize(self, data: bytes) -> Message:
        try:
            fields = json.loads(data)
            if not isinstance(fields, dict) or set(fields) - set(Message._fields):
                raise ValueError("not a task message")
            for moment in ("eta", "expires", "expires_resolved"):
                if isinstance(fields.get(moment), dict):
                    fields[moment] = datetime.datetime.fromisoformat(fields[moment]["datetime"])
            fields["args"] = tuple(fields.get("args") or ())
            return Message(**fields)
        except (ValueError, TypeError, KeyError) as error:
            raise QueueError(f"a message on the queue is not a task of this harness: {error}") from None


def _huey(url: str, name: str) -> Huey:
    common: dict[str, Any] = {"results": False, "utc": True, "serializer": JsonSerializer()}
    if check_queue_url(url) == "redis":
        return RedisHuey(name, url=url, blocking=True, read_timeout=1, **common)
    path = sqlite_path(url, "--queue")
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(name, filename=str(path), timeout=30, **common)


class JobQueue:
    """The two queues. A worker passes the functions that run the tasks; the API passes none (it only enqueues)."""

    def __init__(self, url: str, *, grade: Optional[Callable[[str], None]] = None,
                 deliver: Optional[Callable[[str, bool], None]] = None, callback_retries: int = 5,
                 callback_delay: float = 2.0, callback_backoff: float = 2.0) -> None:
        self.url = url
        self.redis = check_queue_url(url) == "redis"
        self.grading = _huey(url, GRADE_QUEUE)
        self.callbacks = _huey(url, CALLBACK_QUEUE)
        self._grade_function = grade
        self._deliver_function = deliver

        def grade_task(submission_id: str) -> None:
            if self._grade_function is None:
                raise QueueError("this process only enqueues: it has no grading function")
            self._grade_function(submission_id)

        def callback_task(submission_id: str, task: Optional[Task] = None) -> None:
            if self._deliver_function is None:
                raise QueueError("this process only enqueues: it has no callback function")
            final = task is None or not task.retries  # Huey counts retries down; none left: this try is the last
            self._deliver_function(submission_id, final)

        self._grade = self.grading.task(name="grade")(grade_task)
        self._callback = self.callbacks.task(name="callback", context=True, retries=callback_retries,
                                             retry_delay=callback_delay, retry_backoff=callback_backoff)(callback_task)

    # --- enqueueing (API and workers) -------------------------------------------------------------------------------

    def enqueue_grade(self, submission_id: str, delay: Optional[float] = None) -> None:
        if delay:
            self._grade.schedule(args=(submission_id,), delay=delay)
        else:
            self._grade(submission_id)

    def enqueue_callback(self, submission_id: str) -> None:
        self._callback(submission_id)

    # --- consuming (workers) ----------------------------------------------------------------------------------------

    def next_grade(self, wait: float = 1.0) -> Optional[Task]:
        return self._next(self.grading, wait)

    def next_callback(self, wait: float = 1.0) -> Optional[Task]:
        return self._next(self.callbacks, wait)

    def _next(self, huey: Huey, wait: float) -> Optional[Task]:
        """The next task, waiting up to about `wait` seconds: Redis blocks on the server (BRPOP); SQLite has no
        way to wait, so it looks again after a short pause that grows while the queue stays empty."""
        if self.redis:
            return huey.dequeue()
        deadline = time.monotonic() + wait
        pause = SQLITE_POLL_SECONDS[0]
        while True:
            task = huey.dequeue()
            if task is not None or time.monotonic() >= deadline:
                return task
            time.sleep(pause)
            pause = min(pause * 2, SQLITE_POLL_SECONDS[1])

    @staticmethod
    def execute(huey: Huey, task: Task) -> None:
        """Run one task the way Huey's own consumer does (retries and their delays included)."""
        huey.execute(task)

    def move_due(self) -> int:
        """Scheduled tasks whose time has come (retries after their delay) onto their queue, as Huey's scheduler
        does; several workers may do it at once (each storage pops the schedule atomically)."""
        moved = 0
        for huey in (self.grading, self.callbacks):
            for task in huey.read_schedule():
                huey.enqueue(task)
                moved += 1
        return moved

    def ping(self) -> None:
        """Raise when the queue's storage cannot be reached."""
        if self.redis:
            self.grading.storage.conn.ping()
        else:
            self.grading.storage.queue_size()

    def sizes(self) -> dict[str, int]:
        return {"grade": self.grading.pending_count(), "callback": self.callbacks.pending_count(),
                "scheduled": self.grading.scheduled_count() + self.callbacks.scheduled_count()}

    def close(self) -> None:
        for huey in (self.grading, self.callbacks):
            try:
                if self.redis:
                    huey.storage.pool.disconnect()
                else:
                    huey.storage.close()
            except Exception as error:  # noqa: BLE001  (closing is best effort at shutdown)
                log.debug("closing the queue: %s", error)
