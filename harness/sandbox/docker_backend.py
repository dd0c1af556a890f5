"""The docker backend: one locked-down container per worker run, through the Docker SDK.

No network, read-only root, a small tmpfs, a non-root user, no capabilities, no new privileges,
memory (swap equal), pids and CPU limits; the job folder is mounted read-only; nothing is logged
by the engine. The kill timer is the driver's: a timed-out `wait()` stops nothing.
"""

from __future__ import annotations

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

from harness.sandbox.base import Backend, ExitInfo, Job, SandboxError, Worker

log = logging.getLogger(__name__)

LABEL = "harness.sandbox"
GRADER_LABEL = "harness.grader-pid"  # which grader process started the container
WORKER_LABEL = "harness.worker"  # a fresh id per worker: finds its container even when creation was cut short
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
    """Runs each worker in a fresh container of the sandbox image."""

    name = "docker"

    def __init__(self, image: str, client: Optional[docker.DockerClient] = None) -> None:
        self.client = client or connect()
        self.image = image
        try:
            self.client.images.get(image)
        except docker.errors.ImageNotFound:
            raise SandboxError(f"the sandbox image {image} is not built; run `harness image build` (or `make image`)") from None
        except ENGINE_ERRORS as error:
            raise SandboxError(f"the Docker engine failed: {error}") from None

    def start(self, job: Job) -> Worker:
        assert self.image is not None  # set by __init__, which fails without an image
        return DockerWorker(self.client, self.image, job)


class DockerWorker(Worker):
    """One container running the worker. Whatever interrupts its creation (Ctrl-C included, at any point) removes it:
    each worker labels its container with its own id, so even a container whose id never reached us is found."""

    def __init__(self, client: docker.DockerClient, image: str, job: Job) -> None:
        super().__init__()
        self.client = client
        self.container = None
        self.worker_id = uuid.uuid4().hex
        self._unfinished = True  # creation has not finished: the engine may hold a container we hold no id for
        limits = job.limits
        try:
            with _sigint_deferred("creating the sandbox container"):  # a Ctrl-C waits for the id
                self.container = client.containers.create(
                    image,
                    command=["python3", "-I", "-B", WORKER_IN_IMAGE, "/job"],
                    user="65534:65534",
                    working_dir="/tmp",
                    environment={"HOME": "/tmp", "TMPDIR": "/tmp", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"},
                    network_mode="none",
                    read_only=True,
                    tmpfs={"/tmp": "size=64m,mode=1777,nosuid,nodev"},
                    volumes={str(job.folder): {"bind": "/job", "mode": "ro"}},
                    mem_limit=f"{limits.memory_mb}m",
                    memswap_limit=f"{limits.memory_mb}m",
                    pids_limit=limits.pids,
                    nano_cpus=int(limits.cpus * 1e9),
                    cap_drop=["ALL"],
                    security_opt=["no-new-privileges"],
                    ulimits=[Ulimit(name="nofile", soft=256, hard=256), Ulimit(name="core", soft=0, hard=0),
                             Ulimit(name="fsize", soft=64 << 20, hard=64 << 20)],
                    log_config=LogConfig(type=LogConfig.types.NONE),
                    labels={LABEL: "1", GRADER_LABEL: str(os.getpid()), WORKER_LABEL: self.worker_id},
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
            self.close()
            raise SandboxError(f"could not start the sandbox container: {error}") from None
        except BaseException:  # Ctrl-C (KeyboardInterrupt), SystemExit, a bug: no container outlives this
            self.close()
            raise

    def _pump(self, stream) -> None:
        try:
            for out, err in stream:
                if out:
                    self.chunks.put(("out", out))
                if err:
                    self.chunks.put(("err", err))
        except ENGINE_ERRORS as error:
            log.debug("container stream ended: %s", error)
        finally:
            self.chunks.put(("eof", None))

    def send(self, data: bytes) -> None:
        """The job goes in on stdin (it says its own length: the container's stdin stays open until it ends)."""
        sock = getattr(self._stdin, "_sock", self._stdin)
        try:
            sock.sendall(data)
        except OSError as error:  # the worker died already: how it ended says why
            log.debug("could not send the job: %s", error)
        finally:
            sock.close()

    def kill(self) -> None:
        container = self.container
        if container is None:
            return  # never created, or already removed
        try:
            container.kill()
        except ENGINE_ERRORS:
            pass  # already gone

    def wait(self) -> ExitInfo:
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

    def close(self) -> None:
        """Remove the container (and, if its creation did not finish, every container carrying this worker's label).

        Safe to call twice. A Ctrl-C during removal waits until removal is done (in the main thread; the third one
        gives up waiting) and is raised then; an interruption that could not wait gets one more try at removal first.
        """
        stdin = getattr(self, "_stdin", None)
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
