"""What the service tests share: real `harness serve` / `harness worker` / `redis-server` processes on 127.0.0.1,
each logging to a file in the test's folder, stopped (and their sandboxes removed) at the end."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Optional

import httpx
import pytest

from harness.service.keys import KeyLimits, Role
from harness.service.store import Store

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "tests" / "fixtures" / "catalog" / "challenges"
SOLUTIONS = ROOT / "tests" / "fixtures" / "catalog" / "reference_solutions"
REFERENCE = (SOLUTIONS / "tiny-scale" / "solution.py").read_bytes()
IDENTITY = (SOLUTIONS / "tiny-scale" / "mutants" / "identity.py").read_bytes()


def slow_reference(seconds: float) -> bytes:
    """tiny-scale's reference, sleeping at import: long enough to be caught mid-job (the import limit is 8 s)."""
    return f"import time\ntime.sleep({seconds})\n".encode() + REFERENCE


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _pick_backend() -> str:
    """docker where an engine answers and has the sandbox image (always in CI), else local (bubblewrap)."""
    if os.environ.get("CI") == "true" or os.environ.get("HARNESS_REQUIRE_DOCKER") == "1":
        return "docker"
    try:
        import docker

        from harness.image import image_tag

        client = docker.from_env(timeout=5)
        client.images.get(image_tag())
        return "docker"
    except Exception:  # noqa: BLE001  (no engine or no image: the local backend)
        return "local"


BACKEND = _pick_backend()


def wait_for(condition: Callable[[], object], timeout: float, what: str, every: float = 0.1) -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


class Proc:
    """A child process of the test, its output in a log file."""

    def __init__(self, args: list[str], log: Path, env: dict[str, str]) -> None:
        self.log = log
        self.handle = open(log, "ab")
        self.process = subprocess.Popen(args, stdout=self.handle, stderr=subprocess.STDOUT, env=env, cwd=ROOT,
                                        stdin=subprocess.DEVNULL)

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> Optional[int]:
        if self.alive():
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.handle.close()
        return self.process.returncode

    def output(self) -> str:
        return self.log.read_text(errors="replace")


class ServiceDir:
    """One service's folder: its store, its default SQLite queue, and its processes' logs."""

    def __init__(self, folder: Path, backend: str | None = None) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.store_url = "sqlite:///" + str(folder / "service.db")
        self.backend = backend or BACKEND
        self.env = dict(os.environ, HARNESS_SERVICE_DIR=str(folder), PYTHONUNBUFFERED="1")
        self.env.pop("HARNESS_CALLBACK_ALLOW", None)
        self.env.pop("HARNESS_STORE", None)
        self.env.pop("HARNESS_QUEUE", None)
        self.processes: list[Proc] = []
        self._store: Optional[Store] = None

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store.from_url(self.store_url)
        return self._store

    def key(self, role: str = "grader", **limits: int) -> str:
        return self.new_key(role, **limits)[1]

    def new_key(self, role: str = "grader", **limits: int) -> tuple[str, str]:
        """(key id, token) of a new key."""
        key, token = self.store.create_key(f"test {role}", Role(role), KeyLimits(**limits))
        return key.id, token

    def _harness(self, *args: str, name: str) -> Proc:
        command = [sys.executable, "-m", "harness", "--challenges", str(CATALOG), *args]
        proc = Proc(command, self.folder / f"{name}-{len(self.processes)}.log", self.env)
        self.processes.append(proc)
        return proc

    def serve(self, *args: str, port: Optional[int] = None, wait: bool = True) -> "Api":
        port = port or free_port()
        proc = self._harness("serve", "--port", str(port), "--backend", self.backend, *args, name="serve")
        api = Api(f"http://127.0.0.1:{port}", proc)
        if wait:
            api.wait_ready()
        return api

    def worker(self, *args: str) -> Proc:
        return self._harness("worker", "--backend", self.backend, *args, name="worker")

    def close(self) -> None:
        for proc in reversed(self.processes):
            proc.stop()
        if self._store is not None:
            self._store.close()
        if self.backend == "docker":  # a worker killed with -9 could not remove its warm containers
            from harness.sandbox.docker_backend import connect, remove_orphans

            remove_orphans(connect())

    def logs(self) -> str:
        return "\n".join(f"--- {proc.log.name} ---\n{proc.output()[-4000:]}" for proc in self.processes)


class Api:
    """A running `harness serve`."""

    def __init__(self, url: str, proc: Proc) -> None:
        self.url = url
        self.proc = proc
        self.client = httpx.Client(base_url=url, timeout=30, trust_env=False)

    def wait_ready(self, timeout: float = 60) -> None:
        def ready() -> bool:
            if not self.proc.alive():
                raise AssertionError(f"harness serve exited ({self.proc.process.returncode}):\n{self.proc.output()}")
            try:
                return self.client.get("/healthz").status_code == 200
            except httpx.TransportError:
                return False

        wait_for(ready, timeout, "harness serve to answer /healthz", every=0.2)

    def submit(self, token: str, content: bytes, *, challenge: str = "tiny-scale", name: str = "solution.py",
               **fields: object) -> httpx.Response:
        data = {"challenge_id": challenge, **{key: str(value) for key, value in fields.items()}}
        return self.client.post("/v1/submissions", headers=auth(token), data=data, files={"file": (name, content)})

    def get(self, token: str, submission_id: str, **params: str) -> httpx.Response:
        return self.client.get(f"/v1/submissions/{submission_id}", headers=auth(token), params=params)

    def wait_done(self, token: str, submission_id: str, timeout: float = 90) -> dict:
        def done() -> Optional[dict]:
            answer = self.get(token, submission_id)
            assert answer.status_code == 200, answer.text
            body = answer.json()
            return body if body["status"] == "done" else None

        return wait_for(done, timeout, f"{submission_id} to be graded", every=0.2)  # type: ignore[return-value]

    def close(self) -> None:
        self.client.close()


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def redis_server(folder: Path) -> tuple[Proc, str]:
    """Debian's redis-server on 127.0.0.1, a free port, its files in `folder`; skipped where it is not installed."""
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(binary).exists():
        if os.environ.get("CI") == "true":
            pytest.fail("redis-server is required in CI (apt-get install redis-server)")
        pytest.skip("no redis-server (apt-get install redis-server)")
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    proc = Proc([binary, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(folder), "--save", "",
                 "--appendonly", "yes", "--protected-mode", "yes"], folder / "redis.log", dict(os.environ))
    url = f"redis://127.0.0.1:{port}/0"

    def answers() -> bool:
        import redis

        try:
            return bool(redis.Redis.from_url(url, socket_timeout=1).ping())
        except redis.RedisError:
            if not proc.alive():
                raise AssertionError(f"redis-server exited:\n{proc.output()}")
            return False

    wait_for(answers, 20, "redis-server to answer")
    return proc, url
