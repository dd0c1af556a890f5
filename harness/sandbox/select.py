"""Choosing a backend: docker wherever an engine answers and the image is built, else local (with a warning)."""

from __future__ import annotations

import logging

from harness.sandbox.base import Backend, SandboxError
from harness.sandbox.local import LocalBackend

log = logging.getLogger(__name__)

BACKENDS = ("auto", "docker", "local")
LOCAL_WARNING = "the local backend isolates less than docker: the submission runs as your user, outside a container"


def make_backend(name: str) -> Backend:
    """The backend called `name` ('auto', 'docker' or 'local'); raise SandboxError if it cannot be had."""
    if name == "local":
        log.warning(LOCAL_WARNING)
        return LocalBackend()
    from harness.image import image_tag
    from harness.sandbox.docker_backend import DockerBackend

    try:
        return DockerBackend(image_tag())
    except SandboxError as error:
        if name == "docker":
            raise
        log.warning("docker backend unavailable (%s); falling back to local", error)
        log.warning(LOCAL_WARNING)
        return LocalBackend()
