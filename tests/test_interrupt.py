"""Ctrl-C at any point removes the sandbox container: the real CLI interrupted at many delays, and DockerSlot's
creation and removal interrupted at each engine call, deterministically (before and after the call returns)."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import containers_of, leftover_sandboxes

pytestmark = pytest.mark.docker

REPO = Path(__file__).resolve().parents[1]
CHALLENGE = "weight-decay-exclude-bias"
GRADE = [sys.executable, "-X", "faulthandler", "-m", "harness", "grade", CHALLENGE,
         f"reference_solutions/{CHALLENGE}/solution.py", "--backend", "docker", "--seed", "1"]
POINTS = 12  # interruption delays, spread from 0.3 s to the time one grading takes
BUDGET_SECONDS = 80  # the whole test; on a slow or busy machine, several gradings are interrupted at once to keep it
INTERRUPTED = (130, -signal.SIGINT)  # the CLI's exit code, or killed by SIGINT itself (which a shell shows as 130)
# An interrupt landing in the CLI's own start-up (imports, argument parsing, connecting to the engine) can also end
# with 1 and a KeyboardInterrupt traceback or click's "Aborted!". No container exists yet then; the leftover check
# runs all the same.
STARTUP_ENDINGS = (b"KeyboardInterrupt", b"Aborted!")


def _grade(delay: float | None) -> tuple[int, bytes, float, list]:
    """Run `harness grade`, send SIGINT after `delay` seconds (None: never); exit code, stderr, seconds, leftovers.

    A grader still running two minutes later gets SIGABRT, so that its stderr shows where every thread was
    (faulthandler), and ends with that signal's exit code."""
    started = time.monotonic()
    grader = subprocess.Popen(GRADE, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        if delay is not None:
            try:
                grader.wait(timeout=delay)
            except subprocess.TimeoutExpired:
                grader.send_signal(signal.SIGINT)
        try:
            _, err = grader.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            grader.send_signal(signal.SIGABRT)
            _, err = grader.communicate(timeout=30)
            err = b"HUNG: still running two minutes after SIGINT (or its start); SIGABRT sent, tracebacks follow\n" + err
    finally:
        if grader.poll() is None:
            grader.kill()
            grader.wait()
    import docker

    client = docker.from_env()
    left = client.containers.list(all=True, filters={"label": ["harness.sandbox", f"harness.grader-pid={grader.pid}"]})
    return grader.returncode, err, time.monotonic() - started, [c.short_id for c in left]


def _excerpt(err: bytes) -> str:
    text = err.decode(errors="replace")
    return text if len(text) <= 9000 else f"{text[:3000]}\n[...]\n{text[-6000:]}"


@pytest.mark.timeout(400)
def test_ctrl_c_at_any_moment_of_a_grading_leaves_no_container(docker_backend):
    code, err, full, left = _grade(None)
    assert code == 0 and left == [], _excerpt(err)
    delays = [round(0.3 + (full - 0.3) * i / (POINTS - 1), 2) for i in range(POINTS)]
    results: dict[float, tuple] = {}

    def lane(mine: list[float]) -> None:
        for delay in mine:
            try:
                results[delay] = _grade(delay)
            except Exception as error:  # noqa: BLE001  (reported below, with the delay)
                results[delay] = (None, repr(error).encode(), 0.0, [])

    # one after another where that fits the budget (each costs its delay, then ~1/4 grading to stop), else in lanes
    lanes = min(4, max(1, math.ceil(sum(delay + full / 4 for delay in delays) / max(BUDGET_SECONDS - full, 10))))
    threads = [threading.Thread(target=lane, args=(delays[i::lanes],)) for i in range(lanes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    summary = "\n".join(f"SIGINT at {delay:5.2f} s: exit {code}, {seconds:5.2f} s, left {left}"
                        for delay, (code, _, seconds, left) in sorted(results.items()))
    print(f"uninterrupted grading: {full:.2f} s; {POINTS} interruptions in {lanes} lane(s)\n{summary}")
    assert len(results) == POINTS
    for delay, (code, err, _, left) in sorted(results.items()):
        assert left == [], f"SIGINT at {delay} s left containers {left}\n{summary}"
        startup = code == 1 and err.rstrip().endswith(STARTUP_ENDINGS)
        assert code in (*INTERRUPTED, 0) or startup, f"SIGINT at {delay} s: exit {code}\n{_excerpt(err)}"
        if code == 130:
            assert b"interrupted" in err
    assert sum(code in INTERRUPTED for code, *_ in results.values()) >= POINTS // 4, summary  # it did interrupt


# --- DockerSlot's own creation and removal, interrupted at each engine call -------------------------------------

ENGINE_CALLS = ["create_container", "inspect_container", "attach", "attach_socket", "start"]


@pytest.fixture
def clean(docker_backend):
    """Starts with no container of this process, and removes whatever a failing test left, so failures do not spread."""
    assert leftover_sandboxes(docker_backend) == []
    yield
    for short_id in leftover_sandboxes(docker_backend):
        docker_backend.client.containers.get(short_id).remove(force=True)


def _interrupt_once(monkeypatch, method: str, when: str, how: str) -> list:
    """Make the engine client's `method` be interrupted once, `when` ('before' or 'after') the real call: by raising
    KeyboardInterrupt ('raise') or by a real SIGINT to this process ('signal'). Returns a list that records the hit."""
    from docker.api.client import APIClient

    real = getattr(APIClient, method)
    hits: list = []

    def interrupt() -> None:
        hits.append(method)
        if how == "raise":
            raise KeyboardInterrupt
        signal.raise_signal(signal.SIGINT)

    def wrapped(self, *args, **kwargs):
        if when == "before" and not hits:
            interrupt()
        result = real(self, *args, **kwargs)
        if when == "after" and not hits:
            interrupt()
        return result

    monkeypatch.setattr(APIClient, method, wrapped)
    return hits


def _slot(docker_backend, tiny):
    """A slot that is never sent anything: these tests only create and remove its container."""
    from harness.sandbox.docker_backend import DockerSlot

    return DockerSlot(docker_backend.client, docker_backend.image, tiny.meta.limits)


@pytest.mark.parametrize("how", ["raise", "signal"])
@pytest.mark.parametrize("when", ["before", "after"])
@pytest.mark.parametrize("method", ENGINE_CALLS)
def test_interrupted_container_creation_leaves_no_container(docker_backend, clean, tiny, tmp_path, monkeypatch,
                                                             method, when, how):
    hits = _interrupt_once(monkeypatch, method, when, how)
    with pytest.raises(KeyboardInterrupt):
        _slot(docker_backend, tiny)
    monkeypatch.undo()
    assert hits == [method]
    assert leftover_sandboxes(docker_backend) == [], f"Ctrl-C {when} {method} ({how}) left a container"


@pytest.mark.parametrize("how", ["raise", "signal"])
@pytest.mark.parametrize("when", ["before", "after"])
def test_interrupted_removal_still_removes_the_container(docker_backend, clean, tiny, tmp_path, monkeypatch, when, how):
    worker = _slot(docker_backend, tiny)
    assert leftover_sandboxes(docker_backend) == [worker.container.short_id]
    hits = _interrupt_once(monkeypatch, "remove_container", when, how)
    try:
        with pytest.raises(KeyboardInterrupt):
            worker.remove()
    finally:
        monkeypatch.undo()
    assert hits == ["remove_container"]
    assert leftover_sandboxes(docker_backend) == [], f"Ctrl-C {when} the removal ({how}) left a container"
    worker.remove()  # a second removal does nothing
    worker.kill()  # nor does killing a removed worker


def test_ctrl_c_pressed_twice_during_removal_waits_for_it(docker_backend, clean, tiny, tmp_path, monkeypatch):
    from docker.api.client import APIClient

    worker = _slot(docker_backend, tiny)
    real = APIClient.remove_container

    def pressed_twice(self, *args, **kwargs):
        signal.raise_signal(signal.SIGINT)
        signal.raise_signal(signal.SIGINT)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(APIClient, "remove_container", pressed_twice)
    with pytest.raises(KeyboardInterrupt):
        worker.remove()
    monkeypatch.undo()
    assert leftover_sandboxes(docker_backend) == []
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
