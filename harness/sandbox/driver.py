"""Drives workers in a backend: the kill timer, the output caps, decoding the message stream, restarts after a hung or crashed probe."""

from __future__ import annotations

import json
import logging
import queue
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from harness.challenge import Limits
from harness.sandbox.base import Backend, Job, ProbeOutcome, SandboxError, SandboxRun, Worker
from harness.wire import MAX_LINE_BYTES, WireError, decode_line

log = logging.getLogger(__name__)

STARTUP_SECONDS = 90.0  # the worker's own start (container, torch import): the grader's cost, not the candidate's
KEEP_OUTPUT_CHARS = 16_000
MAX_MESSAGE_BYTES = 64 * 1024 * 1024


@dataclass
class _Attempt:
    """The state of one worker run, as its messages arrive."""

    pending: list[str]
    phase: str = "starting"  # starting | importing | between | probe | done
    probe: Optional[str] = None
    outcomes: dict[str, ProbeOutcome] = field(default_factory=dict)
    import_error: Optional[str] = None
    stop_reason: Optional[str] = None  # why the grader stopped the worker
    phase_status: str = "error"  # how the import ended, when it failed
    probe_started: float = 0.0
    imported_at: Optional[float] = None
    ended_at: Optional[float] = None  # when the last message arrived or the worker was stopped


def run_sandbox(backend: Backend, *, submission: Path, probes: Path, module: str, seed: int,
                probe_names: list[str], limits: Limits, hide: tuple[Path, ...] = ()) -> SandboxRun:
    """Run every probe against the submission in `backend`, restarting the worker after a probe that hangs or crashes."""
    folder = Path(tempfile.mkdtemp(prefix="harness-job-"))
    try:
        folder.chmod(0o755)
        shutil.copyfile(submission, folder / f"{module}.py")
        shutil.copyfile(probes, folder / "probes.py")
        result = SandboxRun(backend=backend.name, image=backend.image)
        output = _Output(limits.output_kb * 1024)
        remaining = list(probe_names)
        first = True
        while first or remaining:
            (folder / "job.json").write_text(json.dumps({"seed": seed, "module": module, "submission": f"{module}.py", "probes": "probes.py", "run": remaining}))
            for path in folder.iterdir():
                path.chmod(0o644)
            attempt = _run_once(backend, Job(folder, limits, hide), remaining, output, result)
            if attempt.import_error is not None:
                if first:
                    result.import_error, result.import_status = attempt.import_error, attempt.phase_status
                    break
                for name in remaining:
                    result.probes[name] = ProbeOutcome("error", message=f"the submission failed to import again when the sandbox restarted: {attempt.import_error}")
                break
            result.probes.update(attempt.outcomes)
            remaining = [name for name in remaining if name not in attempt.outcomes]
            if remaining and not attempt.outcomes:  # guarantee progress: a worker that dies between probes costs the next one
                result.probes[remaining.pop(0)] = ProbeOutcome("error", message=attempt.stop_reason or "the sandbox ended before this probe started")
            first = False
        result.output, result.output_truncated = output.text(), output.truncated
        return result
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class _Output:
    """What the submission printed: counted in full, kept only in part."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.count = 0
        self._kept = bytearray()

    def add(self, data: bytes) -> bool:
        """Record printed bytes; False once the submission has printed more than its limit."""
        self.count += len(data)
        room = KEEP_OUTPUT_CHARS - len(self._kept)
        if room > 0:
            self._kept += data[:room]
        return self.count <= self.limit

    @property
    def truncated(self) -> bool:
        return self.count > len(self._kept)

    def text(self) -> str:
        return self._kept.decode("utf-8", errors="replace")


def _run_once(backend: Backend, job: Job, pending: list[str], output: _Output, result: SandboxRun) -> _Attempt:
    attempt = _Attempt(pending=list(pending))
    started = time.monotonic()
    worker = backend.start(job)
    try:
        _consume(worker, attempt, job.limits, output, result)
        attempt.ended_at = time.monotonic()
        if attempt.phase == "done":
            worker.kill()  # every result is in: no need to wait a second or more for torch's interpreter shutdown
        exit_info = worker.wait()
    finally:
        worker.close()
    _settle(attempt, exit_info.code, exit_info.oom, exit_info.reason)
    if attempt.imported_at is not None:
        result.start_seconds = result.start_seconds or attempt.imported_at - started
        result.probe_seconds += attempt.ended_at - attempt.imported_at
    if attempt.phase == "starting":
        raise SandboxError(f"the sandbox worker failed to start (exit status {exit_info.code}): {output.text()[-2000:] or 'no output'}")
    return attempt


def _consume(worker: Worker, attempt: _Attempt, limits: Limits, output: _Output, result: SandboxRun) -> None:
    """Read the worker's streams until it ends or must be stopped; stop it on a deadline or a broken limit."""
    buffer = bytearray()
    received = 0
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        try:
            kind, data = worker.chunks.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            attempt.stop_reason = "timeout"
            worker.kill()
            return
        if kind == "eof":
            return
        if kind == "err":
            if not output.add(data):
                attempt.stop_reason = f"printed more than {limits.output_kb} KiB"
                worker.kill()
                return
            continue
        received += len(data)
        buffer += data
        while b"\n" in buffer:
            line, _, rest = bytes(buffer).partition(b"\n")
            buffer = bytearray(rest)
            problem = _handle(line, attempt, result)
            if problem:
                attempt.stop_reason = problem
                worker.kill()
                return
            if attempt.phase == "done":
                return
            deadline = time.monotonic() + (STARTUP_SECONDS if attempt.phase == "starting" else limits.wall_seconds)
        if len(buffer) > MAX_LINE_BYTES or received > MAX_MESSAGE_BYTES:
            attempt.stop_reason = "sent a message over the size limit"
            worker.kill()
            return


def _handle(line: bytes, attempt: _Attempt, result: SandboxRun) -> Optional[str]:
    """Apply one message to the attempt's state; return why the worker must be stopped, if it must."""
    try:
        message = decode_line(line)
    except WireError as error:
        return f"sent a malformed message ({error})"
    event = message["event"]
    if event == "ready" and attempt.phase == "starting":
        attempt.phase = "importing"
        result.python_version = str(message.get("python"))[:40]
        result.torch_version = str(message.get("torch"))[:40]
    elif event == "imported" and attempt.phase == "importing":
        attempt.phase, attempt.imported_at = "between", time.monotonic()
    elif event == "import_failed" and attempt.phase == "importing":
        attempt.import_error = _error_text(message.get("error"))
        attempt.phase = "done"
    elif event == "start" and attempt.phase == "between" and attempt.pending and message.get("probe") == attempt.pending[0]:
        attempt.phase, attempt.probe = "probe", attempt.pending.pop(0)
        attempt.probe_started = time.monotonic()
    elif event == "result" and attempt.phase == "probe" and message.get("probe") == attempt.probe:
        seconds = time.monotonic() - attempt.probe_started
        if message.get("status") == "ok" and "value" in message:
            attempt.outcomes[attempt.probe] = ProbeOutcome("ok", value=message["value"], seconds=seconds)
        else:
            attempt.outcomes[attempt.probe] = ProbeOutcome("error", message=_error_text(message.get("error")), seconds=seconds)
        attempt.phase, attempt.probe = "between", None
    elif event == "done" and attempt.phase == "between" and not attempt.pending:
        attempt.phase = "done"
    else:
        return f"sent an unexpected message ({event!r} while {attempt.phase})"
    return None


def _error_text(error: object) -> str:
    if not isinstance(error, dict):
        return "an error the sandbox did not describe"
    kind, text, trace = (str(error.get(key, ""))[:4000] for key in ("type", "message", "traceback"))
    return f"{kind}: {text}\n{trace}".strip()


def _settle(attempt: _Attempt, code: Optional[int], oom: bool, reason: Optional[str]) -> None:
    """Turn how the worker ended into an outcome for whatever it was doing then."""
    if attempt.phase == "done":
        return
    attempt.stop_reason = attempt.stop_reason or reason
    status = "oom" if oom else "timeout" if attempt.stop_reason == "timeout" else "error"
    if status == "oom":
        why = "ran out of memory"
    elif status == "timeout":
        why = "ran past the time limit"
    elif attempt.stop_reason:
        why = f"was stopped: the sandbox {attempt.stop_reason}"
    else:
        why = f"ended the sandbox process (exit status {code})"
    if attempt.phase == "importing":
        attempt.import_error = f"the submission {why} while being imported"
        attempt.phase_status = status
    elif attempt.phase == "probe":
        attempt.outcomes[attempt.probe] = ProbeOutcome(status, message=f"the submission {why} during this probe")
    elif attempt.phase == "between":
        attempt.stop_reason = f"the submission {why} between probes"
