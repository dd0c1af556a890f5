"""Building the sandbox image with no registry and no network inside the build.

The base is `python:3.11-slim` where the engine can pull it, else a Debian bookworm root file
system made with debootstrap and imported with `docker import`. The wheels are the lines of
`requirements.lock` for torch, numpy and everything they depend on (the closure is read from the
installed distributions' metadata), downloaded on the host with `pip download --require-hashes`
into a wheelhouse; the build installs exactly those with --no-index --require-hashes. The image's
tag is a hash of the Dockerfile, the worker and the lock, so a changed worker or dependency never
runs in a stale image.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Callable, Iterable

import docker
import docker.errors
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.tags import Tag, compatible_tags, cpython_tags
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import Version

from harness.resources import cache_dir, data_root
from harness.sandbox.base import WORKER_PATH
from harness.sandbox.docker_backend import ENGINE_ERRORS, connect

log = logging.getLogger(__name__)

DOCKERFILE = data_root() / "docker" / "Dockerfile"
LOCK = data_root() / "requirements.lock"
REPOSITORY = "pytorch-grader-sandbox"
PULL_BASE = "python:3.11-slim"
DEBOOTSTRAP_BASE = "pytorch-grader-base:bookworm"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
SANDBOX_PACKAGES = ("torch", "numpy")  # what the worker imports; installed with their dependencies
INSTALLER = "pip"  # runs the install inside the build (a Debian minbase has no pip); not installed
WHEELHOUSE = cache_dir() / "wheels"
# Both bases are Debian bookworm: CPython 3.11, glibc 2.36.
TARGET_PYTHON = (3, 11)
TARGET_GLIBC = (2, 36)


class ImageError(Exception):
    """The sandbox image could not be built; the message says which step failed."""


@dataclass(frozen=True)
class LockEntry:
    """One pinned requirement of the lock: its name, version and accepted sha256 hashes."""

    name: str
    version: str
    hashes: frozenset[str]
    text: str  # the requirement as the lock writes it, hashes included, on one line


def image_tag() -> str:
    """The tag of the image that matches this checkout's Dockerfile, worker and the lock's lines for what the
    image installs (torch, numpy, their dependencies, the installer): a grader-only dependency changing in the
    lock does not call for a new image."""
    digest = hashlib.sha256()
    for part in (DOCKERFILE, WORKER_PATH):
        digest.update(part.read_bytes() + b"\0")
    for entry in sandbox_entries():
        digest.update(entry.text.encode() + b"\n")
    return f"{REPOSITORY}:{digest.hexdigest()[:12]}"


def image_exists(client: docker.DockerClient, tag: str) -> bool:
    try:
        client.images.get(tag)
        return True
    except docker.errors.ImageNotFound:
        return False
    except ENGINE_ERRORS as error:
        raise ImageError(f"the Docker engine did not answer: {error}") from None


def ensure_image(*, base: str = "auto", wheelhouse: Path | None = None) -> str:
    """The current tag, built only when the engine does not have it yet (no pull, no download otherwise)."""
    tag = image_tag()
    if image_exists(connect(), tag):
        log.info("%s is already built", tag)
        return tag
    return build_image(base=base, wheelhouse=wheelhouse)


def build_image(*, base: str = "auto", wheelhouse: Path | None = None) -> str:
    """Build the sandbox image (base: auto, pull or debootstrap) and return its tag."""
    wheelhouse = wheelhouse or WHEELHOUSE
    client = connect()
    base_image = _base_image(client, base)
    log.info("filling the wheelhouse %s from %s", wheelhouse, LOCK.name)
    entries, wheels = fill_wheelhouse(wheelhouse)
    with tempfile.TemporaryDirectory(prefix="harness-image-", dir=wheelhouse.parent) as tmp:
        context = Path(tmp)
        shutil.copy(DOCKERFILE, context / "Dockerfile")
        shutil.copy(WORKER_PATH, context / "worker.py")
        (context / "wheels").mkdir()
        for wheel in wheels:
            _link_or_copy(wheel, context / "wheels" / wheel.name)
        requirements = "".join(entry.text + "\n" for entry in entries if entry.name != INSTALLER)
        (context / "wheels" / "requirements.txt").write_text(requirements, encoding="utf-8")
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


def read_lock(path: Path | None = None) -> dict[str, LockEntry]:
    """The lock's pinned requirements by canonical name (continuation lines joined, comments dropped)."""
    path = path or LOCK
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ImageError(f"cannot read the lock {path}: {error}") from None
    entries: dict[str, LockEntry] = {}
    for line in re.sub(r"\\\n", " ", text).splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        spec, *options = line.split(" --hash=")
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", spec.split(";")[0].strip())
        if not match or not options:
            raise ImageError(f"{path}: not an exact pin with hashes: {line[:200]}")
        hashes = frozenset(option.strip().removeprefix("sha256:") for option in options)
        name = canonicalize_name(match.group(1))
        entries[name] = LockEntry(name, match.group(2), hashes, " ".join(line.split()))
    return entries


def sandbox_closure(roots: tuple[str, ...] = SANDBOX_PACKAGES) -> set[str]:
    """Canonical names of `roots` and everything they need, read from the installed distributions'
    metadata, with markers evaluated for the sandbox's Python (CPython 3.11 on Linux)."""
    environment = {key: str(value) for key, value in default_environment().items()}
    environment.update({"python_version": "%d.%d" % TARGET_PYTHON, "python_full_version": "%d.%d.0" % TARGET_PYTHON,
                        "implementation_name": "cpython", "platform_python_implementation": "CPython",
                        "sys_platform": "linux", "platform_system": "Linux", "os_name": "posix", "extra": ""})

    def missing(name: str) -> bool:
        raise ImageError(f"{name} is not installed in this environment ({sys.prefix}), so the sandbox's "
                         f"dependencies cannot be read; install from {LOCK.name}")

    return requirement_closure(roots, environment, missing)


def requirement_closure(roots: Iterable[str], environment: dict[str, str], missing: Callable[[str], bool]) -> set[str]:
    """Canonical names of `roots` and everything they need, read from the installed distributions' metadata, with
    requirement markers evaluated in `environment`. For a requirement that is not installed, `missing(name)` says
    whether to keep it (true) or leave it and what it needs out (false); it may raise instead."""
    found: set[str] = set()
    todo = [canonicalize_name(root) for root in roots]
    while todo:
        name = todo.pop()
        if name in found:
            continue
        try:
            requires = metadata.distribution(name).requires or []
        except metadata.PackageNotFoundError:
            if missing(name):
                found.add(name)
            continue
        found.add(name)
        for line in requires:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate(environment):
                todo.append(canonicalize_name(requirement.name))
    return found


def sandbox_entries(lock: dict[str, LockEntry] | None = None) -> list[LockEntry]:
    """The lock's lines for the installer and for torch, numpy and their dependencies, by name."""
    lock = read_lock() if lock is None else lock
    names = sandbox_closure() | {INSTALLER}
    missing = sorted(names - lock.keys())
    if missing:
        raise ImageError(f"{LOCK.name} has no line for {', '.join(missing)}: run `make lock`")
    return [lock[name] for name in sorted(names)]


def target_tags() -> set[Tag]:
    """The wheel tags the sandbox's Python accepts."""
    machine = platform.machine().lower() or "x86_64"
    machine = {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)
    platforms = target_platforms(machine)
    return {*cpython_tags(TARGET_PYTHON, abis=["cp%d%d" % TARGET_PYTHON], platforms=platforms),
            *compatible_tags(TARGET_PYTHON, "cp%d%d" % TARGET_PYTHON, platforms=platforms)}


def target_platforms(machine: str) -> list[str]:
    major, newest = TARGET_GLIBC
    return [*(f"manylinux_{major}_{minor}_{machine}" for minor in range(newest, 16, -1)),
            f"manylinux2014_{machine}", f"manylinux2010_{machine}", f"manylinux1_{machine}"]


def fill_wheelhouse(folder: Path, entries: list[LockEntry] | None = None) -> tuple[list[LockEntry], list[Path]]:
    """Make `folder` hold one wheel for each of the sandbox's lock entries (a wheel already there
    whose hash the lock accepts is kept; the others are fetched with `pip download --no-deps
    --require-hashes`, pip's own index and find-links settings applying). Returns the entries and
    the wheel chosen for each."""
    entries = sandbox_entries() if entries is None else entries
    folder.mkdir(parents=True, exist_ok=True)
    tags = target_tags()
    chosen = _wheels_in(folder, entries, tags)
    missing = [entry for entry in entries if entry.name not in chosen]
    if missing:
        log.info("downloading %s", ", ".join(f"{entry.name}=={entry.version}" for entry in missing))
        with tempfile.NamedTemporaryFile("w", suffix=".txt", prefix="harness-wheels-", delete=False) as listing:
            listing.write("".join(entry.text + "\n" for entry in missing))
        platform_options = [option for name in sorted({tag.platform for tag in tags} - {"any"})
                            for option in ("--platform", name)]
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--require-hashes", "--only-binary=:all:",
                   "--python-version", "%d.%d" % TARGET_PYTHON, "--implementation", "cp",
                   "--abi", "cp%d%d" % TARGET_PYTHON, *platform_options,
                   "--quiet", "--disable-pip-version-check", "-d", str(folder), "-r", listing.name]
        try:
            done = subprocess.run(command, capture_output=True, text=True)
        finally:
            os.unlink(listing.name)
        if done.returncode != 0:
            raise ImageError(f"pip could not fill the wheelhouse {folder}: {done.stderr[-2000:]}")
        chosen = _wheels_in(folder, entries, tags)
    still = [entry.name for entry in entries if entry.name not in chosen]
    if still:
        raise ImageError(f"no wheel for {', '.join(still)} in {folder} matches the lock and the sandbox's Python")
    return entries, [chosen[entry.name] for entry in entries]


def _wheels_in(folder: Path, entries: list[LockEntry], tags: set[Tag]) -> dict[str, Path]:
    """For each entry, a wheel in `folder` of that name and version, for the sandbox, with a hash the lock accepts."""
    wanted = {entry.name: entry for entry in entries}
    chosen: dict[str, Path] = {}
    for wheel in sorted(folder.glob("*.whl")):
        try:
            name, version, _, wheel_tags = parse_wheel_filename(wheel.name)
        except ValueError:
            continue
        entry = wanted.get(name)
        if entry is None or name in chosen or version != Version(entry.version) or not (wheel_tags & tags):
            continue
        if _sha256(wheel) in entry.hashes:
            chosen[name] = wheel
    return chosen


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


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
