"""Warm containers (harness/sandbox/pool.py, worker.serve): reused after a clean run, replaced after a stopped one,
and out of reach of the submissions they serve: no child can signal, trace, or write for the serving worker, and
nothing one job leaves behind reaches the next (the batch tests check that through the CLI as well)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from conftest import REQUIRE_DOCKER, leftover_sandboxes
from harness.grader import grade
from harness.report import CheckStatus, RunStatus
from harness.sandbox.base import SandboxError

pytestmark = pytest.mark.docker

CORRECT = "def scale(x, k):\n    return x * k\n"


@pytest.fixture
def one_slot():
    """A backend of its own with a single warm container, so that consecutive gradings share it."""
    from harness.image import image_tag
    from harness.sandbox.docker_backend import DockerBackend

    try:
        backend = DockerBackend(image_tag(), size=1)
    except SandboxError as error:
        if REQUIRE_DOCKER:
            pytest.fail(f"Docker is required here: {error}")
        pytest.skip(f"no Docker sandbox: {error}")
    yield backend
    backend.close()
    assert leftover_sandboxes(backend) == []


def _grade(tiny, backend, tmp_path: Path, source: str, name: str = "solution.py"):
    folder = tmp_path / name.removesuffix(".py")
    folder.mkdir(exist_ok=True)
    path = folder / "solution.py"
    path.write_text(textwrap.dedent(source))
    return grade(challenge=tiny, submission=path, backend=backend, seed=5)


def _containers(backend) -> list[str]:
    backend.pool.settle()
    return sorted(slot.container.id for slot in backend.pool.idle_slots() if slot.container is not None)


def test_a_clean_run_leaves_its_container_warm_for_the_next(tiny, one_slot, tmp_path):
    first = _grade(tiny, one_slot, tmp_path, CORRECT, "a")
    warm = _containers(one_slot)
    second = _grade(tiny, one_slot, tmp_path, CORRECT, "b")
    assert first.score == second.score == tiny.meta.max_score
    assert len(warm) == 1 and _containers(one_slot) == warm, "the second grading did not reuse the warm container"
    assert second.timings.sandbox_start < first.timings.sandbox_start


def test_a_stopped_run_gets_its_container_removed_and_a_fresh_one_next(tiny, one_slot, tmp_path):
    _grade(tiny, one_slot, tmp_path, CORRECT, "a")
    warm = _containers(one_slot)
    hung = _grade(tiny, one_slot, tmp_path, "def scale(x, k):\n    while True:\n        pass\n", "b")
    assert {check.status for check in hung.checks} == {CheckStatus.timeout}
    after = _containers(one_slot)
    assert after and not set(after) & set(warm), "a container whose run was stopped was used again"
    assert _grade(tiny, one_slot, tmp_path, CORRECT, "c").score == tiny.meta.max_score


ATTACK_THE_SERVING_WORKER = """
import ctypes, os, signal

def scale(x, k):
    done = []
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGKILL):
        try:
            os.kill(1, number)
        except OSError:
            pass
    try:
        with open("/proc/1/fd/1", "wb") as handle:  # the serving worker's frames
            handle.write(b"x 2\\n{}")
        done.append("wrote to process 1's stdout")
    except OSError:
        pass
    try:
        os.listdir("/proc/1/fd")
        done.append("listed process 1's files")
    except OSError:
        pass
    try:
        with open("/proc/1/mem", "rb") as handle:
            handle.read(1)
        done.append("read process 1's memory")
    except OSError:
        pass
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.ptrace(16, 1, 0, 0) == 0:  # PTRACE_ATTACH
        done.append("attached to process 1")
    for fd in range(3, 64):  # any inherited descriptor besides the message pipe
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if "pipe" not in target:
            done.append(f"inherited fd {fd} -> {target}")
    if done:
        raise RuntimeError("; ".join(done))
    return x * k
"""


def test_a_submission_cannot_signal_trace_or_write_for_the_serving_worker(tiny, one_slot, tmp_path):
    attacked = _grade(tiny, one_slot, tmp_path, ATTACK_THE_SERVING_WORKER, "a")
    assert attacked.status is RunStatus.graded, attacked.reason
    messages = [check.message for check in attacked.checks if check.status is not CheckStatus.passed]
    assert attacked.score == tiny.meta.max_score, messages
    warm = _containers(one_slot)
    assert len(warm) == 1, "the serving worker did not survive the attack"
    assert _grade(tiny, one_slot, tmp_path, CORRECT, "b").score == tiny.meta.max_score
    assert _containers(one_slot) == warm


LEAVE_TRACES = """
import ctypes, os, time

def scale(x, k):
    with open("/tmp/left-behind", "w") as handle:
        handle.write("x")
    with open("/dev/shm/left-behind", "w") as handle:
        handle.write("x")
    libc = ctypes.CDLL(None, use_errno=True)
    libc.shmget(4242, 4096, 0o1666)  # IPC_CREAT | 0666
    assert os.path.exists("/tmp/left-behind") and libc.shmget(4242, 0, 0) >= 0
    return x * k
"""

LEAVE_A_PROCESS = """
import os, time

def scale(x, k):
    if os.fork() == 0:  # a process that outlives the job
        os.setsid()
        time.sleep(600)
        os._exit(0)
    return x * k
"""

FIND_TRACES = """
import ctypes, os

def scale(x, k):
    found = [path for path in ("/tmp/left-behind", "/dev/shm/left-behind") if os.path.exists(path)]
    if ctypes.CDLL(None, use_errno=True).shmget(4242, 0, 0) >= 0:
        found.append("shared memory 4242")
    mine = {os.getpid(), os.getppid(), 1}
    others = [pid for pid in os.listdir("/proc") if pid.isdigit() and int(pid) not in mine]
    if others:
        found.append(f"processes {others}")
    if found:
        raise RuntimeError(f"found {found}")
    return x * k
"""


def test_a_job_that_leaves_a_process_running_gets_its_container_replaced(tiny, one_slot, tmp_path):
    """The serving worker kills what a job left running, and the pool retires the container all the same: an
    anomaly, after which the next job should not follow in the same place."""
    from harness.sandbox.docker_backend import POOL_LABEL

    _grade(tiny, one_slot, tmp_path, CORRECT, "warm")
    (warm,) = _containers(one_slot)
    leaving = _grade(tiny, one_slot, tmp_path, LEAVE_A_PROCESS, "a")  # in the warm container
    assert leaving.score == tiny.meta.max_score, [c.message for c in leaving.checks]
    existing = {c.id for c in one_slot.client.containers.list(all=True, filters={"label": f"{POOL_LABEL}={one_slot.pool_id}"})}
    assert warm not in existing, "the container of a job that left a process running was kept"
    finding = _grade(tiny, one_slot, tmp_path, FIND_TRACES, "b")
    assert finding.score == tiny.meta.max_score, [c.message for c in finding.checks]


def test_nothing_one_job_leaves_reaches_the_next_in_the_same_container(tiny, one_slot, tmp_path):
    leaving = _grade(tiny, one_slot, tmp_path, LEAVE_TRACES, "a")
    assert leaving.score == tiny.meta.max_score, [c.message for c in leaving.checks]  # the traces were really made
    warm = _containers(one_slot)
    finding = _grade(tiny, one_slot, tmp_path, FIND_TRACES, "b")
    assert _containers(one_slot) == warm, "the second job did not run in the same container"
    assert finding.score == tiny.meta.max_score, [c.message for c in finding.checks]


def test_containers_of_a_grader_killed_with_sigkill_are_removed_by_the_next(docker_backend):
    """A grader killed with SIGKILL cannot remove its warm containers; the next backend to start does."""
    import os

    from harness.sandbox.docker_backend import GRADER_LABEL, LABEL, remove_orphans

    dead = next(pid for pid in range(4_000_000, 4_100_000) if not os.path.exists(f"/proc/{pid}"))
    orphan = docker_backend.client.containers.create(docker_backend.image, command=["true"],
                                                     labels={LABEL: "1", GRADER_LABEL: str(dead)})
    alive = docker_backend.client.containers.create(docker_backend.image, command=["true"],
                                                    labels={LABEL: "1", GRADER_LABEL: "1"})  # pid 1 always runs
    try:
        assert remove_orphans(docker_backend.client) >= 1
        ids = {c.id for c in docker_backend.client.containers.list(all=True, filters={"label": LABEL})}
        assert orphan.id not in ids and alive.id in ids
    finally:
        alive.remove(force=True)
        try:
            orphan.remove(force=True)
        except Exception:  # noqa: BLE001  (removed, as it should be)
            pass
