"""What every sandbox backend provides, and the data that crosses between a backend and the grader."""

from __future__ import annotations

import abc
import queue
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from harness.challenge import Limits

WORKER_PATH = Path(__file__).with_name("worker.py")
REAPER_PATH = Path(__file__).with_name("reaper.py")  # the local backend's plain mode


class SandboxError(Exception):
    """The sandbox could not be started or driven; this is the grader's problem, not the candidate's."""


@dataclass(frozen=True)
class Job:
    """One worker run: a folder holding job.json, the submission and the probes, and the limits."""

    folder: Path
    limits: Limits
    hide: tuple[Path, ...] = ()  # host folders the worker must not see (checks, reference solutions)


@dataclass
class ExitInfo:
    """How a worker ended."""

    code: Optional[int]
    oom: bool = False
    reason: Optional[str] = None  # set when the backend itself stopped the worker for breaking a limit


@dataclass
class ProbeOutcome:
    """One probe's result as it came out of the sandbox: the value is still encoded."""

    status: str  # ok | error | timeout | oom | tampered
    value: Any = None
    message: Optional[str] = None
    seconds: float = 0.0


@dataclass
class SandboxRun:
    """Everything a sandbox run produced, for the grader to judge."""

    backend: str
    image: Optional[str] = None
    import_error: Optional[str] = None  # set when the submission could not be imported
    import_status: str = "ok"  # ok | error | timeout | oom
    probes: dict[str, ProbeOutcome] = field(default_factory=dict)
    output: str = ""
    output_truncated: bool = False
    python_version: Optional[str] = None
    torch_version: Optional[str] = None
    start_seconds: float = 0.0
    probe_seconds: float = 0.0
    violations: list[tuple[str, str]] = field(default_factory=list)  # (rule id, what was used), as tripwires reported them


class Worker(abc.ABC):
    """A started worker: its output arrives on `chunks` as ("out"|"err", bytes), then ("eof", None)."""

    def __init__(self) -> None:
        self.chunks: "queue.Queue[tuple[str, Optional[bytes]]]" = queue.Queue()

    @abc.abstractmethod
    def send(self, data: bytes) -> None:
        """Write the job to the worker's stdin, then close it."""

    @abc.abstractmethod
    def kill(self) -> None:
        """Stop the worker and everything it started, now."""

    @abc.abstractmethod
    def wait(self) -> ExitInfo:
        """Wait (briefly: the worker has ended or been killed) and say how it ended."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release everything the worker used: container, processes. Safe to call twice."""


class Backend(abc.ABC):
    """A way to run the worker in isolation."""

    name: str = ""
    image: Optional[str] = None

    @abc.abstractmethod
    def start(self, job: Job) -> Worker:
        """Start a worker for `job`; raise SandboxError if that cannot be done."""

    def prewarm(self, limits: Limits, count: Optional[int] = None) -> None:
        """Start workers for these limits ahead of need, where the backend keeps warm ones (a batch calls this)."""

    def close(self) -> None:
        """Release whatever the backend holds between runs (warm containers). Safe to call twice."""

    def __enter__(self) -> "Backend":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def isolation_notes(self) -> list[str]:
        """What this backend could not isolate here, one plain sentence each ("runs as uid 0", "the file system is
        visible ..."), for the report; empty when the worker sees only itself, the job and the Python installation."""
        return []
