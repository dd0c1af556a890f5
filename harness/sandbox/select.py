"""Choosing a backend: docker wherever an engine answers and the image is built, else local (with a warning)."""

from __future__ import annotations

import logging

from harness.sandbox.base import Backend, SandboxError
from harness.sandbox.local import LocalBackend

log = logging.getLogger(__name__)

BACKENDS = ("auto", "docker", "local")
LOCAL_WARNING = "the local backend isolates less than docker (no container, no memory cgroup)"


def _local(size: int = 1) -> Backend:
    backend = LocalBackend(size=size)
    notes = backend.isolation_notes()
    log.warning(LOCAL_WARNING + (": " + "; ".join(notes) if notes else ""))
    return backend


def make_backend(name: str, size: int = 1) -> Backend:
    """The backend called `name` ('auto', 'docker' or 'local'); raise SandboxError if it cannot be had.
    `size`: how many sandboxes may run at once (docker keeps that many warm)."""
    if name == "local":
        return _local(size)
    from harness.image import image_tag
    from harness.sandbox.docker_backend import DockerBackend

    try:
        return DockerBackend(image_tag(), size=size)
    except SandboxError as error:
        if name == "docker":
            raise
        log.warning("docker backend unavailable (%s); falling back to local", error)
        return _local(size)
