"""Building the sandbox image with no registry and no network inside the build.

The base is `python:3.11-slim` where the engine can pull it, else a Debian bookworm root file
system made with debootstrap and imported with `docker import`. Wheels come from a wheelhouse
that pip fills on the host; the build installs them with --no-index. The image's tag is a hash
of the Dockerfile and the worker, so a changed worker never runs in a stale image.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import docker
import docker.errors

from harness.challenge import REPO_ROOT
from harness.sandbox.base import WORKER_PATH
from harness.sandbox.docker_backend import ENGINE_ERRORS, connect

log = logging.getLogger(__name__)

DOCKERFILE = REPO_ROOT / "docker" / "Dockerfile"
REPOSITORY = "pytorch-grader-sandbox"
PULL_BASE = "python:3.11-slim"
DEBOOTSTRAP_BASE = "pytorch-grader-base:bookworm"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
WHEELS = ["pip", "torch==2.13.0", "numpy"]
WHEELHOUSE = REPO_ROOT / "build" / "wheels"


class ImageError(Exception):
    """The sandbox image could not be built; the message says which step failed."""


def image_tag() -> str:
    """The tag of the image that matches this checkout's Dockerfile and worker."""
    digest = hashlib.sha256(DOCKERFILE.read_bytes() + b"\0" + WORKER_PATH.read_bytes()).hexdigest()
    return f"{REPOSITORY}:{digest[:12]}"


def build_image(*, base: str = "auto", wheelhouse: Path = WHEELHOUSE) -> str:
    """Build the sandbox image (base: auto, pull or debootstrap) and return its tag."""
    client = connect()
    base_image = _base_image(client, base)
    log.info("filling the wheelhouse %s with pip", wheelhouse)
    fill_wheelhouse(wheelhouse)
    with tempfile.TemporaryDirectory(prefix="harness-image-", dir=wheelhouse.parent) as tmp:
        context = Path(tmp)
        shutil.copy(DOCKERFILE, context / "Dockerfile")
        shutil.copy(WORKER_PATH, context / "worker.py")
        shutil.copytree(wheelhouse, context / "wheels", copy_function=os.link)
        tag = image_tag()
        log.info("building %s from %s", tag, base_image)
        try:
            client.images.build(path=str(context), tag=tag, buildargs={"BASE": base_image},
                                network_mode="none", rm=True, forcerm=True, pull=False)
        except docker.errors.BuildError as error:
            tail = "".join(str(line.get("stream", line.get("error", ""))) for line in error.build_log)[-3000:]
            raise ImageError(f"docker build failed: {error}\n{tail}") from None
        except ENGINE_ERRORS as error:
            raise ImageError(f"docker build failed: {error}") from None
    return tag


def fill_wheelhouse(folder: Path) -> None:
    """Download the sandbox's wheels on the host (pip's ordinary index and find-links settings apply)."""
    folder.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--only-binary=:all:", "--quiet", "-d", str(folder), *WHEELS]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise ImageError(f"pip could not fill the wheelhouse: {done.stderr[-2000:]}")


def _base_image(client: docker.DockerClient, base: str) -> str:
    if base in ("auto", "pull"):
        try:
            client.images.get(PULL_BASE)
            return PULL_BASE
        except docker.errors.ImageNotFound:
            pass
        try:
            client.images.pull(PULL_BASE)
            return PULL_BASE
        except ENGINE_ERRORS as error:
            if base == "pull":
                raise ImageError(f"could not pull {PULL_BASE}: {error}") from None
            log.info("cannot pull %s: %s", PULL_BASE, str(error).splitlines()[0][:200])
    return debootstrap_base(client)


def debootstrap_base(client: docker.DockerClient) -> str:
    """Make (once) a Debian bookworm base image with Python 3.11 from debootstrap and `docker import`."""
    try:
        client.images.get(DEBOOTSTRAP_BASE)
        return DEBOOTSTRAP_BASE
    except docker.errors.ImageNotFound:
        pass
    if not shutil.which("debootstrap"):
        raise ImageError("no base image can be pulled and debootstrap is not installed (apt-get install debootstrap)")
    log.info("making a Debian bookworm base with debootstrap (about a minute)")
    with tempfile.TemporaryDirectory(prefix="harness-rootfs-") as tmp:
        root = Path(tmp) / "rootfs"
        command = ["debootstrap", "--variant=minbase", "--include=python3", "bookworm", str(root), DEBIAN_MIRROR]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise ImageError(f"debootstrap failed: {(done.stdout + done.stderr)[-2000:]}")
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as archive:
            archive.add(str(root), arcname=".")
        buffer.seek(0)
        repository, tag = DEBOOTSTRAP_BASE.split(":")
        try:
            client.api.import_image_from_data(buffer.getvalue(), repository=repository, tag=tag)
        except ENGINE_ERRORS as error:
            raise ImageError(f"docker import of the Debian base failed: {error}") from None
    return DEBOOTSTRAP_BASE
