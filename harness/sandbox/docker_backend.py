"""The docker backend: locked-down containers, each running a serving worker, through the Docker SDK.

No network, read-only root, a small tmpfs, a non-root user, no capabilities, no new privileges,
memory (swap equal), pids and CPU limits; no host folder is mounted (the job, submission included,
arrives on stdin); nothing is logged by the engine. The kill timer is the driver's: a stopped run
removes its container.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import signal
import threading
import uuid
from typing import Optional

import docker
import docker.errors
import requests.exceptions
from docker.types import LogConfig, Ulimit

from harness.challenge import Limits
from harness.sandbox.base import Backend, ExitInfo, Job, SandboxError, Worker
from harness.sandbox.pool import PooledWorker, Slot, WarmPool

log = logging.getLogger(__name__)

LABEL = "harness.sandbox"
GRADER_LABEL = "harness.grader-pid"  # which grader process started the container
WORKER_LABEL = "harness.worker"  # a fresh id per container: finds it even when creation was cut short
POOL_LABEL = "harness.pool"  # the backend (pool) that owns the container
WORKER_IN_IMAGE = "/opt/harness/worker.py"
ENGINE_ERRORS = (docker.errors.DockerException, requests.exceptions.RequestException)


def connect() -> docker.DockerClient:
    """A client for the local engine, or SandboxError with what to do about it."""
    try:
        client = docker.from_env(timeout=60)
        client.ping()
        return client
    except ENGINE_ERRORS as error:
        raise SandboxError(f"no Docker engine answers ({error}); is Docker running? Use --backend local to grade without it") from None


class DockerBackend(Backend):
    """Runs workers in warm containers of the sandbox image (see pool.py): each worker run is a fresh child of
    a container's serving worker; a container whose run was stopped is removed, never reused.

    `size` is how many containers per set of limits may exist at once (a batch's slots). `close()` removes them
    all; so does the end of the process, as a last resort."""

    name = "docker"

    def __init__(self, image: str, client: Optional[docker.DockerClient] = None, size: int = 1) -> None:
        self.client = client or connect()
        self.image = self.tag = image
        self.pool_id = uuid.uuid4().hex
        try:
            self.client.images.get(image)
        except docker.errors.ImageNotFound:
            raise SandboxError(f"the sandbox image {image} is not built; run `harness image build` (or `make image`)") from None
        except ENGINE_ERRORS as error:
            raise SandboxError(f"the Docker engine failed: {error}") from None
        self.pool = WarmPool(self._start_slot, size)
        atexit.register(self.close)
        remove_orphans(self.client)

    def _start_slot(self, limits: Limits) -> Slot:
        return DockerSlot(self.client, self.tag, limits, self.pool_id)

    def start(self, job: Job) -> Worker:
        return PooledWorker(self.pool, self.pool.lease(job.limits))

    def prewarm(self, limits: Limits, count: Optional[int] = None) -> None:
        self.pool.prewarm(limits, count)

    def close(self) -> None:
        """Remove every container of this backend (the warm ones too)."""
        self.pool.close()
        try:
            found = self.client.api.containers(all=True, quiet=True, filters={"label": f"{POOL_LABEL}={self.pool_id}"})
            for container in found:
                _remove_container(self.client, container["Id"])
        except ENGINE_ERRORS as error:
            log.warning("could not list this grader's sandbox containers: %s", error)


class DockerSlot(Slot):
    """One container running the serving worker. Whatever interrupts its creation (Ctrl-C included, at any point)
    removes it: each slot labels its container with its own id, so even a container whose id never reached us is
    found."""

    def __init__(self, client: docker.DockerClient, image: str, limits: Limits, pool_id: str = "") -> None:
        super().__init__(limits)
        self.client = client
        self.container = None
        self.worker_id = uuid.uuid4().hex
        self._stdin = None
        self._unfinished = True  # creation has not finished: the engine may hold a container we hold no id for
        try:
            with _sigint_deferred("creating the sandbox container"):  # a Ctrl-C waits for the id
                self.container = client.containers.create(
                    image,
                    command=["python3", "-I", "-B", WORKER_IN_IMAGE, "--serve"],
                    user="65534:65534",
                    working_dir="/tmp",
                    environment={"HOME": "/tmp", "TMPDIR": "/tmp", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"},
                    network_mode="none",
                    read_only=True,
                    tmpfs={"/tmp": "size=64m,mode=1777,nosuid,nodev"},
                    mem_limit=f"{limits.memory_mb}m",
                    memswap_limit=f"{limits.memory_mb}m",
                    pids_limit=limits.pids,
                    nano_cpus=int(limits.cpus * 1e9),
                    cap_drop=["ALL"],
                    security_opt=["no-new-privileges"],
                    ulimits=[Ulimit(name="nofile", soft=256, hard=256), Ulimit(name="core", soft=0, hard=0),
                             Ulimit(name="fsize", soft=64 << 20, hard=64 << 20)],
                    log_config=LogConfig(type=LogConfig.types.NONE),
                    labels={LABEL: "1", GRADER_LABEL: str(os.getpid()), WORKER_LABEL: self.worker_id,
                            POOL_LABEL: pool_id},
                    stdin_open=True,
                    tty=False,
                )
            stream = self.container.attach(stdout=True, stderr=True, stream=True, demux=True)
            self._stdin = self.container.attach_socket(params={"stdin": 1, "stream": 1})
            with _sigint_deferred("starting the sandbox container"):  # an interrupted start can leave one the engine will not remove
                self.container.start()
            self._reader = threading.Thread(target=self._pump, args=(stream,), daemon=True)
            self._reader.start()
            self._unfinished = False
        except ENGINE_ERRORS as error:
            self.remove()
            raise SandboxError(f"could not start the sandbox container: {error}") from None
        except BaseException:  # Ctrl-C (KeyboardInterrupt), SystemExit, a bug: no container outlives this
            self.remove()
            raise

    def _pump(self, stream) -> None:
        try:
            for out, err in stream:
                if out:
                    self.feed(out)
                if err:
                    self.feed_stderr(err)
        except ENGINE_ERRORS as error:
            log.debug("container stream ended: %s", error)
        finally:
            self.ended()

    def write(self, data: bytes) -> None:
        """A job goes in on stdin (it says its own length: the container's stdin stays open for the next)."""
        stdin = self._stdin
        if stdin is None:
            raise OSError("the sandbox container is gone")
        getattr(stdin, "_sock", stdin).sendall(data)

    def kill(self) -> None:
        container = self.container
        if container is None:
            return  # never created, or already removed
        try:
            container.kill()
        except ENGINE_ERRORS:
            pass  # already gone

    def final_exit(self) -> ExitInfo:
        container = self.container
        if container is None:
            raise SandboxError("the sandbox container is already removed")
        try:
            status = container.wait(timeout=60)
            container.reload()
            oom = bool(container.attrs["State"].get("OOMKilled"))
        except ENGINE_ERRORS as error:
            raise SandboxError(f"the Docker engine failed while the sandbox ended: {error}") from None
        return ExitInfo(code=status.get("StatusCode"), oom=oom)

    def remove(self) -> None:
        """Remove the container (and, if its creation did not finish, every container carrying this slot's label).

        Safe to call twice. A Ctrl-C during removal waits until removal is done (in the main thread; the third one
        gives up waiting) and is raised then; an interruption that could not wait gets one more try at removal first.
        """
        stdin = self._stdin
        if stdin is not None:
            self._stdin = None
            try:
                getattr(stdin, "_sock", stdin).close()
            except OSError:
                pass
        if self.container is None and not self._unfinished:
            return  # removed already
        try:
            with _sigint_deferred("removing the sandbox container"):
                self._remove()
        except ENGINE_ERRORS as error:
            log.warning("could not remove the sandbox container (label %s=%s): %s", WORKER_LABEL, self.worker_id, error)
        except BaseException:
            try:
                self._remove()
            except BaseException as error:  # noqa: BLE001  (the first interruption goes on, whatever this was)
                log.warning("could not remove the sandbox container (label %s=%s): %r", WORKER_LABEL, self.worker_id, error)
            raise

    def _remove(self) -> None:
        if self.container is not None:
            _remove_container(self.client, self.container.id)
            self.container = None
        if self._unfinished:  # creation was cut short: the engine may hold a container whose id never reached us
            for found in self.client.api.containers(all=True, quiet=True, filters={"label": f"{WORKER_LABEL}={self.worker_id}"}):
                _remove_container(self.client, found["Id"])
        self._unfinished = False  # nothing left to search for


def remove_orphans(client: docker.DockerClient) -> int:
    """Remove the sandbox containers of graders that no longer run on this machine (killed with SIGKILL, so they
    could not clean up: warm containers wait for a next job forever). Returns how many were removed."""
    removed = 0
    try:
        found = client.api.containers(all=True, filters={"label": LABEL})
    except ENGINE_ERRORS as error:
        log.warning("could not list sandbox containers: %s", error)
        return 0
    for container in found:
        pid = (container.get("Labels") or {}).get(GRADER_LABEL, "")
        if pid.isdigit() and int(pid) != os.getpid() and not os.path.exists(f"/proc/{pid}"):
            try:
                _remove_container(client, container["Id"])
                removed += 1
            except ENGINE_ERRORS as error:
                log.warning("could not remove the orphaned sandbox container %s: %s", container["Id"][:12], error)
    if removed:
        log.info("removed %d sandbox containers left by graders that are gone", removed)
    return removed


def _remove_container(client: docker.DockerClient, container_id: str) -> None:
    try:
        client.api.remove_container(container_id, force=True)
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError as error:
        if error.status_code != 409:  # 409: removal already in progress (a first, interrupted try): it will finish
            raise


@contextlib.contextmanager
def _sigint_deferred(doing: str, escape_after: int = 3):
    """Hold Ctrl-C (SIGINT) back while a short engine call finishes, then deliver it; the `escape_after`-th Ctrl-C in
    the meantime is raised at once (a hung engine must not trap the user). Only the main thread can install signal
    handlers: elsewhere this holds nothing back."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous is None:  # a handler installed outside Python: leave it alone
        yield
        return
    received = 0

    def hold(signum, frame):
        nonlocal received
        received += 1
        if received >= escape_after:
            signal.signal(signal.SIGINT, previous)
            raise KeyboardInterrupt
        log.warning("interrupted while %s: finishing that first (Ctrl-C %d more times to stop waiting)",
                    doing, escape_after - received)

    signal.signal(signal.SIGINT, hold)
    try:
        yield
    finally:
        if signal.getsignal(signal.SIGINT) is hold:
            signal.signal(signal.SIGINT, previous)
        if 0 < received < escape_after:  # deliver the held Ctrl-C now, as the handler in place would have
            if callable(previous):
                previous(signal.SIGINT, None)  # the default handler raises KeyboardInterrupt
            elif previous == signal.SIG_DFL:
                signal.raise_signal(signal.SIGINT)
