"""Progress while a batch grades: a live bar on a terminal, one flushed line per submission anywhere else.

Plain lines are what logs and CI keep, so each says everything about its submission:

    [12/300] alice: graded 8/10 (1.2 s)
    [13/300] bob: ungradable: <the reason's first line, at most 120 characters>
    [14/300] carol: already graded, skipped

`advance` may be called from several grading threads at once.
"""

from __future__ import annotations

import sys
import threading
import time
from types import TracebackType
from typing import Any, TextIO

from harness.report import Report, RunStatus

REASON_CHARS = 120
SKIPPED = "skipped"


def _first_line(text: str | None, limit: int = REASON_CHARS) -> str:
    lines = (text or "").strip().splitlines()
    first = lines[0] if lines else "(no reason given)"
    return first if len(first) <= limit else first[: limit - 3] + "..."


def describe(student_id: str, report: Report | None, *, skipped: bool = False) -> str:
    """What happened to one submission, without the counter: 'alice: graded 8/10 (1.2 s)'."""
    if skipped:
        return f"{student_id}: already graded, skipped"
    if report is None:
        return f"{student_id}: finished without a report"
    if report.status is RunStatus.graded:
        return f"{student_id}: graded {report.score:g}/{report.max_score:g} ({report.timings.total:.1f} s)"
    return f"{student_id}: {report.status.value}: {_first_line(report.reason)}"


def _is_terminal(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


class Progress:
    """Counts finished submissions and shows them; use it as a context manager around the grading.

    `already_done` counts submissions finished before this run that will not be passed to `advance`
    (the count starts there); those that are, pass `skipped=True`. Neither enters the rate or the ETA,
    which measure only the grading done in this run.
    """

    def __init__(self, total: int, *, stream: TextIO = sys.stderr, already_done: int = 0, label: str = "grading") -> None:
        self.total = total
        self.stream = stream
        self.label = label
        self.done = already_done
        self.graded_now = 0  # submissions graded (not skipped) in this run: what the rate is made of
        self.counts: dict[str, int] = {status.value: 0 for status in RunStatus} | {SKIPPED: 0}
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._bar: Any = None  # a rich.progress.Progress while the live bar is shown
        self._task: Any = None

    def __enter__(self) -> Progress:
        self._started = time.monotonic()
        if _is_terminal(self.stream):
            self._start_bar()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def advance(self, student_id: str, report: Report | None, *, skipped: bool = False) -> None:
        """Record one finished submission and show it."""
        with self._lock:
            self.done += 1
            if skipped:
                self.counts[SKIPPED] += 1
            else:
                self.graded_now += 1
                if report is not None:
                    self.counts[report.status.value] += 1
            if self._bar is not None:
                self._bar.update(self._task, completed=self.done, description=self._description())
            else:
                self.stream.write(f"[{self.done}/{self.total}] {describe(student_id, report, skipped=skipped)}\n")
                self.stream.flush()

    def rate(self) -> float | None:
        """Submissions graded per second in this run, or None before the first."""
        elapsed = time.monotonic() - self._started
        return self.graded_now / elapsed if self.graded_now and elapsed > 0 else None

    def eta_seconds(self) -> float | None:
        rate = self.rate()
        return max(self.total - self.done, 0) / rate if rate else None

    def _description(self) -> str:
        counts = ", ".join(f"{count} {name}" for name, count in self.counts.items() if count or name != SKIPPED)
        return f"{self.label} ({counts})"

    def _start_bar(self) -> None:
        """The live bar; rich is imported only here, so plain mode never pays for it."""
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress as Bar, TextColumn

        self._bar = Bar(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("{task.fields[speed]}"), console=Console(file=self.stream),
                        transient=False)
        self._task = self._bar.add_task(self._description(), total=self.total, completed=self.done,
                                        speed=_RateText(self))
        self._bar.start()


class _RateText:
    """Rendered by the bar on every refresh, so the rate and the ETA stay live between submissions."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress

    def __str__(self) -> str:
        rate, eta = self.progress.rate(), self.progress.eta_seconds()
        if rate is None or eta is None:
            return "-/s  ETA -"
        return f"{rate:.2f}/s  ETA {_clock(eta)}"


def _clock(seconds: float) -> str:
    whole = int(round(seconds))
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
