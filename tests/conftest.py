"""Shared fixtures: the tiny test challenge, real backends, and leftover detection.

Docker tests run against a real engine and the real sandbox image. Without them they skip with
a one-line reason, except where CI=true or HARNESS_REQUIRE_DOCKER=1, where they fail instead.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import pytest

from harness.challenge import Challenge, load_challenge
from harness.sandbox.base import Backend, SandboxError

FIXTURES = Path(__file__).parent / "fixtures"
CATALOG = FIXTURES / "catalog"
REQUIRE_DOCKER = os.environ.get("CI") == "true" or os.environ.get("HARNESS_REQUIRE_DOCKER") == "1"
# A runner may start the tests with SIGINT ignored (a background job of a non-interactive shell inherits SIG_IGN),
# and an ignored SIGINT is inherited by every child: the Ctrl-C tests, which send SIGINT to a grader they start,
# would then test nothing but that. A handler is never inherited across exec, so the children get the default.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

SESSION_BACKENDS: list[Backend] = []  # the session-wide backends: their idle warm sandboxes are nobody's leftovers


@pytest.fixture(scope="session")
def tiny() -> Challenge:
    return load_challenge(CATALOG / "challenges" / "tiny-scale")


@pytest.fixture(scope="session")
def docker_backend() -> Iterator[Backend]:
    from harness.image import image_tag
    from harness.sandbox.docker_backend import DockerBackend

    try:
        backend = DockerBackend(image_tag(), size=2)
    except SandboxError as error:
        if REQUIRE_DOCKER:
            pytest.fail(f"Docker is required here (CI=true or HARNESS_REQUIRE_DOCKER=1): {error}")
        pytest.skip(f"no Docker sandbox: {error}")
    SESSION_BACKENDS.append(backend)
    yield backend
    SESSION_BACKENDS.remove(backend)
    backend.close()


@pytest.fixture(scope="session")
def local_backend() -> Iterator[Backend]:
    from harness.sandbox.local import LocalBackend

    backend = LocalBackend(size=2)
    yield backend
    backend.close()


@pytest.fixture(params=[pytest.param("docker", marks=pytest.mark.docker), "local"])
def backend(request) -> Backend:
    """Each real backend in turn; checks afterwards that the test left no sandbox behind."""
    chosen = request.getfixturevalue(f"{request.param}_backend")
    yield chosen
    assert leftover_sandboxes(chosen) == [], "a sandbox was left behind"


def containers_of(backend: Backend, grader_pid: int) -> list:
    """The sandbox containers that the grader process `grader_pid` started and that still exist."""
    from harness.sandbox.docker_backend import GRADER_LABEL

    return backend.client.containers.list(all=True, filters={"label": f"{GRADER_LABEL}={grader_pid}"})


def leftover_sandboxes(backend: Backend) -> list[str]:
    """Containers (docker) or worker processes (local) that outlived their grading run; a docker backend's idle
    warm containers, which wait for the next run by design, are not leftovers, nor are the idle ones of the
    session-wide docker backend (they belong to every test of the session, not to the one that asks)."""
    if backend.name == "docker":
        idle = set()
        for owner in [backend, *(b for b in SESSION_BACKENDS if b.name == "docker" and b is not backend)]:
            owner.pool.settle()
            idle |= {slot.container.id for slot in owner.pool.idle_slots() if slot.container is not None}
        return [c.short_id for c in containers_of(backend, os.getpid()) if c.id not in idle]
    if getattr(backend, "pool", None) is not None:  # warm bwrap workers: only the idle ones may remain
        from harness.sandbox.local import _descendants

        backend.pool.settle()
        idle = {pid for slot in backend.pool.idle_slots() for pid in _descendants(slot.worker.process.pid)}
        return [str(pid) for pid in _descendants(os.getpid())
                if pid not in idle and backend.pool_id.encode() in _cmdline(pid)]
    markers = {str(folder).encode() for folder in backend.job_folders}
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if any(marker in cmdline for marker in markers):
                found.append(entry)
    return found


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def report_files(out: Path) -> dict[str, Path]:
    """A batch folder's reports/<id>.json by id (temporary files, which start with '.', left out)."""
    return {path.stem: path for path in sorted((out / "reports").glob("*.json")) if not path.name.startswith(".")}


@dataclass
class Interrupted:
    code: int  # the grader's exit status
    stderr: str
    pid: int
    found: Any  # what `ready` returned when it first held


def interrupt_when(command: list[str], ready: Callable[[int], Any], what: str, *, cwd: Optional[Path] = None,
                   env: Optional[dict[str, str]] = None, settle: float = 0.0, poll: float = 0.02) -> Interrupted:
    """Start the grader `command`, wait (120 s at most) until `ready(its pid)` holds (`what`, in words, for a
    failure), wait `settle` seconds more, then send it SIGINT as a user's Ctrl-C would, and wait for its end."""
    grader = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not (found := ready(grader.pid)):
            assert grader.poll() is None, f"the grader ended (exit {grader.returncode}) before {what}"
            assert time.monotonic() < deadline, f"{what}: not within 120 s"
            time.sleep(poll)
        time.sleep(settle)
        grader.send_signal(signal.SIGINT)
        _, err = grader.communicate(timeout=90)
    finally:
        if grader.poll() is None:
            grader.kill()
            grader.wait()
    return Interrupted(grader.returncode, err.decode(errors="replace"), grader.pid, found)


def interrupt_batch(command: list[str], cwd: Path, out: Path, at_least: int) -> tuple[int, str, int]:
    """Run a batch `harness grade ... --out out` and send it SIGINT once `at_least` reports exist, as a user's
    Ctrl-C would; (exit code, stderr, the grader's pid)."""
    done = interrupt_when(command, lambda _: (out / "reports").is_dir() and len(report_files(out)) >= at_least,
                          f"{at_least} reports existed", cwd=cwd)
    return done.code, done.stderr, done.pid
