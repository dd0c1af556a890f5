"""Drives workers in a backend: the kill timer, the output caps, decoding the message stream, restarts after a hung or crashed probe."""

from __future__ import annotations

import json
import logging
import queue
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from harness.challenge import Limits
from harness.sandbox.base import Backend, Job, ProbeOutcome, SandboxError, SandboxRun, Worker
from harness.wire import MAX_LINE_BYTES, WireError, decode_line

log = logging.getLogger(__name__)

STARTUP_SECONDS = 90.0  # the worker's own start (container, torch import): the grader's cost, not the candidate's
KEEP_OUTPUT_CHARS = 16_000
DRAIN_SECONDS = 5.0  # after `done`, for the rest of what was printed
MAX_MESSAGE_BYTES = 64 * 1024 * 1024


@dataclass
class _Attempt:
    """The state of one worker run, as its messages arrive."""

    pending: list[str]
    lines: list[str] = field(default_factory=list)  # the submission's source, for naming its frames in errors
    phase: str = "starting"  # starting | importing | between | probe | done
    probe: Optional[str] = None
    outcomes: dict[str, ProbeOutcome] = field(default_factory=dict)
    import_error: Optional[str] = None
    stop_reason: Optional[str] = None  # why the grader stopped the worker
    forged: Optional[str] = None  # a message that came out of the protocol's order: the worker's stream cannot be believed
    phase_status: str = "error"  # how the import ended, when it failed
    probe_started: float = 0.0
    imported_at: Optional[float] = None
    ended_at: Optional[float] = None  # when the last message arrived or the worker was stopped


@dataclass(frozen=True)
class SandboxJob:
    """What the sandbox needs for one grading: the submission, the probes' text, and what each probe gets."""

    source: str  # the submission's text, as read_submission took it (a notebook already turned into a module)
    module: str
    probes_source: str
    probes: list["ProbeSpec"]
    import_seed: int
    rules: list[dict] = field(default_factory=list)
    pinned: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ProbeSpec:
    """One probe: its name, how many stages it has, its sandbox seed, and each stage's inputs (already encoded)."""

    name: str
    stages: int
    seed: int
    inputs: tuple[Any, ...] = ()
    has_inputs: tuple[bool, ...] = ()


def run_sandbox(backend: Backend, job: SandboxJob, limits: Limits, hide: tuple[Path, ...] = ()) -> SandboxRun:
    """Run every probe stage against the submission in `backend`.

    Stage k of every probe runs in one worker, stage k+1 in a fresh one (so that only what a stage
    hands over crosses: a checkpoint file's bytes, say); a probe that hangs or crashes costs
    only itself, and the rest of its stage runs in a restarted worker.
    """
    folder = Path(tempfile.mkdtemp(prefix="harness-job-"))
    try:
        folder.chmod(0o755)
        target = folder / f"{job.module}.py"
        text = job.source
        target.write_text(text, encoding="utf-8")
        target.chmod(0o644)
        lines = text.splitlines()
        result = SandboxRun(backend=backend.name, image=backend.image)
        output = _Output(limits.output_kb * 1024)
        values: dict[str, list[Any]] = {spec.name: [] for spec in job.probes}
        for stage in range(1, max((spec.stages for spec in job.probes), default=1) + 1):
            remaining = [spec for spec in job.probes if spec.stages >= stage and spec.name not in result.probes]
            if stage > 1 and not remaining:
                break
            first = stage == 1
            while first or remaining:
                payload = _payload(job, text, remaining, stage, values)
                attempt = _run_once(backend, Job(folder, limits, hide), payload, [spec.name for spec in remaining],
                                    output, result, lines)
                if attempt.forged:  # a real worker never breaks the order: everything this run said is void
                    for spec in job.probes:
                        result.probes[spec.name] = ProbeOutcome("tampered", message=(
                            f"the sandbox's messages were forged (one came out of order: {attempt.forged}), "
                            "so none of its results count"))
                    return _finish(result, output)
                if attempt.import_error is not None:
                    if stage == 1 and first:
                        result.import_error, result.import_status = attempt.import_error, attempt.phase_status
                        return _finish(result, output)
                    for spec in remaining:
                        result.probes[spec.name] = ProbeOutcome("error", message=f"the submission failed to import again when the sandbox restarted: {attempt.import_error}")
                    break
                for name, outcome in attempt.outcomes.items():
                    if outcome.status == "ok":
                        values[name].append(outcome.value)
                    else:
                        result.probes[name] = outcome
                remaining = [spec for spec in remaining if spec.name not in attempt.outcomes]
                if remaining and not attempt.outcomes:  # guarantee progress: a worker that dies between probes costs the next one
                    result.probes[remaining.pop(0).name] = ProbeOutcome("error", message=attempt.stop_reason or "the sandbox ended before this probe started")
                first = False
        for spec in job.probes:
            if spec.name not in result.probes:
                stages = values[spec.name]
                result.probes[spec.name] = ProbeOutcome("ok", value=stages[0] if spec.stages == 1 else stages)
        return _finish(result, output)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _finish(result: SandboxRun, output: "_Output") -> SandboxRun:
    result.output, result.output_truncated = output.text(), output.truncated
    return result


def _payload(job: SandboxJob, text: str, specs: list[ProbeSpec], stage: int, values: dict[str, list[Any]]) -> bytes:
    """The job as the worker reads it on stdin: its length on a line, then one JSON document."""
    run = [{"probe": spec.name, "stage": stage, "seed": spec.seed,
            "has_inputs": bool(spec.has_inputs[stage - 1]) if stage <= len(spec.has_inputs) else False,
            "inputs": spec.inputs[stage - 1] if stage <= len(spec.inputs) else None,
            "carry": values[spec.name][-1] if stage > 1 else None} for spec in specs]
    data = json.dumps({"module": job.module, "submission": f"{job.module}.py", "files": {f"{job.module}.py": text},
                       "probes_source": job.probes_source,
                       "rules": job.rules, "pinned": job.pinned, "import_seed": job.import_seed, "run": run},
                      allow_nan=False, separators=(",", ":")).encode()
    return b"%d\n" % len(data) + data


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


def _run_once(backend: Backend, job: Job, payload: bytes, pending: list[str], output: _Output, result: SandboxRun,
              lines: list[str]) -> _Attempt:
    attempt = _Attempt(pending=list(pending), lines=lines)
    started = time.monotonic()
    worker: Optional[Worker] = None
    try:
        worker = backend.start(job)
        worker.send(payload)
        _consume(worker, attempt, job.limits, output, result)
        attempt.ended_at = time.monotonic()
        exit_info = worker.wait()  # after `done` the worker leaves at once (no interpreter teardown)
    finally:
        if worker is not None:
            worker.close()
    _settle(attempt, exit_info.code, exit_info.oom, exit_info.reason)
    if attempt.imported_at is not None:
        result.start_seconds = result.start_seconds or attempt.imported_at - started
        result.probe_seconds += (attempt.ended_at or time.monotonic()) - attempt.imported_at
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
        if kind == "eof" or data is None:
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
                _drain(worker, output)
                return
            deadline = time.monotonic() + (STARTUP_SECONDS if attempt.phase == "starting" else limits.wall_seconds)
        if len(buffer) > MAX_LINE_BYTES or received > MAX_MESSAGE_BYTES:
            attempt.stop_reason = "sent a message over the size limit"
            worker.kill()
            return


def _drain(worker: Worker, output: "_Output") -> None:
    """After `done`: what the submission printed just before still arrives (another pipe, another reader) until the
    stream ends, a moment later; messages after `done` are ignored."""
    deadline = time.monotonic() + DRAIN_SECONDS
    while True:
        try:
            kind, data = worker.chunks.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            return
        if kind == "eof" or data is None:
            return
        if kind == "err":
            output.add(data)


def _handle(line: bytes, attempt: _Attempt, result: SandboxRun) -> Optional[str]:
    """Apply one message to the attempt's state; return why the worker must be stopped, if it must."""
    try:
        message = decode_line(line)
    except WireError as error:
        return f"sent a malformed message ({error})"
    event = message["event"]
    if event == "rule" and attempt.phase in ("importing", "between", "probe"):
        if len(result.violations) < 50:  # a broken rule, reported by a tripwire (a forged one only costs the submission)
            result.violations.append((str(message.get("rule"))[:60], str(message.get("what"))[:200]))
    elif event == "ready" and attempt.phase == "starting":
        attempt.phase = "importing"
        result.python_version = str(message.get("python"))[:40]
        result.torch_version = str(message.get("torch"))[:40]
    elif event == "imported" and attempt.phase == "importing":
        attempt.phase, attempt.imported_at = "between", time.monotonic()
    elif event == "import_failed" and attempt.phase == "importing":
        attempt.import_error = _error_text(message.get("error"), attempt.lines)
        attempt.phase = "done"
    elif event == "start" and attempt.phase == "between" and attempt.pending and message.get("probe") == attempt.pending[0]:
        attempt.phase, attempt.probe = "probe", attempt.pending.pop(0)
        attempt.probe_started = time.monotonic()
    elif event == "result" and attempt.phase == "probe" and attempt.probe and message.get("probe") == attempt.probe:
        probe, seconds = attempt.probe, time.monotonic() - attempt.probe_started
        status = message.get("status")
        if status == "ok" and "value" in message:
            attempt.outcomes[probe] = ProbeOutcome("ok", value=message["value"], seconds=seconds)
        elif status == "tampered":
            attempt.outcomes[probe] = ProbeOutcome("tampered", seconds=seconds, message=(
                "the submission changed what the probe computes with, so its results cannot be used: "
                + _error_text(message.get("error"), attempt.lines)))
        else:
            attempt.outcomes[probe] = ProbeOutcome("error", message=_error_text(message.get("error"), attempt.lines), seconds=seconds)
        attempt.phase, attempt.probe = "between", None
    elif event == "done" and attempt.phase == "between" and not attempt.pending:
        attempt.phase = "done"
    else:
        attempt.forged = f"{event!r} while {attempt.phase}"
        return f"sent an unexpected message ({attempt.forged})"
    return None


def _error_text(error: object, lines: list[str]) -> str:
    """An exception as the report shows it: its type, its first line cut short, and only the submission's own frames.

    The frames' source lines come from the grader's copy of the submission, never from the sandbox,
    so nothing else (the probes' text, say) can ride along.
    """
    if not isinstance(error, dict):
        return "an error the sandbox did not describe"
    kind = re.sub(r"[^\w.]", "", str(error.get("type", "")))[:80] or "Exception"
    first = str(error.get("message", "")).strip().splitlines()
    text = f"{kind}: {first[0][:200]}" if first else kind
    frames = error.get("frames")
    own = []
    for frame in frames if isinstance(frames, list) else []:
        if isinstance(frame, dict) and frame.get("file") == "submission" and isinstance(frame.get("line"), int):
            number = frame["line"]
            function = re.sub(r"[^\w<>.]", "", str(frame.get("function", "")))[:60]
            source = lines[number - 1].strip()[:120] if 0 < number <= len(lines) else ""
            own.append(f"  line {number}, in {function}: {source}")
    if own:
        text += "\n" + "\n".join(own[-8:])
    return text


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
    elif attempt.phase == "probe" and attempt.probe:
        attempt.outcomes[attempt.probe] = ProbeOutcome(status, message=f"the submission {why} during this probe")
    elif attempt.phase == "between":
        attempt.stop_reason = f"the submission {why} between probes"
