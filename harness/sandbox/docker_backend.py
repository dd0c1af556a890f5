"""The docker backend: one locked-down container per worker run, through the Docker SDK.

No network, read-only root, a small tmpfs, a non-root user, no capabilities, no new privileges,
memory (swap equal), pids and CPU limits; the job folder is mounted read-only; nothing is logged
by the engine. The kill timer is the driver's: a timed-out `wait()` stops nothing.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Optional

import docker
import docker.errors
import requests.exceptions
from docker.types import LogConfig, Ulimit

from harness.sandbox.base import Backend, ExitInfo, Job, SandboxError, Worker

log = logging.getLogger(__name__)

LABEL = "harness.sandbox"
GRADER_LABEL = "harness.grader-pid"  # which grader process started the container
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
        return DockerWorker(self.client, self.image, job)


class DockerWorker(Worker):
    def __init__(self, client: docker.DockerClient, image: str, job: Job) -> None:
        super().__init__()
        self.container = None
        limits = job.limits
        try:
            self.container = client.containers.create(
                image,
                command=["python3", "-I", "-B", WORKER_IN_IMAGE, "/job/job.json"],
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
                labels={LABEL: "1", GRADER_LABEL: str(os.getpid())},
                stdin_open=False,
                tty=False,
            )
            stream = self.container.attach(stdout=True, stderr=True, stream=True, demux=True)
            self.container.start()
        except ENGINE_ERRORS as error:
            self.close()
            raise SandboxError(f"could not start the sandbox container: {error}") from None
        self._reader = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._reader.start()

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

    def kill(self) -> None:
        try:
            self.container.kill()
        except ENGINE_ERRORS:
            pass  # already gone

    def wait(self) -> ExitInfo:
        try:
            status = self.container.wait(timeout=60)
            self.container.reload()
            oom = bool(self.container.attrs["State"].get("OOMKilled"))
        except ENGINE_ERRORS as error:
            raise SandboxError(f"the Docker engine failed while the sandbox ended: {error}") from None
        return ExitInfo(code=status.get("StatusCode"), oom=oom)

    def close(self) -> None:
        if self.container is None:
            return
        try:
            self.container.remove(force=True)
        except docker.errors.NotFound:
            pass
        except ENGINE_ERRORS as error:
            log.warning("could not remove container %s: %s", self.container.short_id, error)
        self.container = None
