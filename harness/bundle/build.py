"""What every bundle installs: the harness's own wheel, the lock's lines for what it needs, and (offline) their wheels.

A platform's grading container installs the harness from files the bundle carries, never from this machine's
checkout, so the bundle must hold:

- the harness wheel. In a checkout it is built with `pip wheel --no-deps --no-build-isolation` from a copy of the
  files the wheel is made of (in a temporary folder, so that the checkout's `build/` and egg-info, which other
  builds use, are never touched), and cached by their content hash under `cache_dir()/bundle`; an installed
  harness is repacked from its own RECORD, so that `harness bundle` also works after `pip install`;
- `requirements.txt`: the lock's exact lines (with hashes) for the harness's runtime dependencies and everything
  they need, read from the wheel's Requires-Dist and the installed distributions' metadata. The markers are
  evaluated for this Python (the lock was compiled for it); the container installs them with `--no-deps`, so a
  marker that would pull one more package on another 3.11 patch release (redis's async-timeout below 3.11.3)
  cannot stop the install;
- pip itself, as a wheel (run as `python pip.whl/pip`), because a minimal Debian base has no pip;
- with `--wheelhouse`, one wheel per requirement, for CPython 3.11 on manylinux x86_64, checked against the lock's
  hashes (`harness.image.fill_wheelhouse`, sharing its download cache `build/wheels/`).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from email import message_from_bytes
from importlib import metadata
from pathlib import Path

from harness.bundle.common import DISTRIBUTION, BundleError
from harness.resources import PACKAGE_PARENT, bundle, cache_dir

# What the wheel is made of (pyproject.toml's [tool.setuptools]): copied to build it, hashed to cache it.
WHEEL_SOURCES = ("pyproject.toml", "README.md", "requirements.lock", "harness", "challenges", "reference_solutions",
                 "docker/Dockerfile")
_SKIP = ("__pycache__", ".pyc", ".pyo", ".mypy_cache", ".pytest_cache")


@dataclass(frozen=True)
class Artifacts:
    """The files a bundle installs from."""

    harness_wheel: Path
    pip_wheel: Path
    requirements: str  # requirements.txt's text: the lock's lines, hashes included
    wheels: tuple[Path, ...]  # empty unless offline: a wheel per requirement

    @property
    def torch_version(self) -> str:
        """torch's pinned version, which setup.sh looks for in the base image before installing its own."""
        for line in self.requirements.splitlines():
            if line.startswith("torch=="):
                return line.split("==", 1)[1].split()[0].split(";")[0]
        return "none"


def collect(offline: bool) -> Artifacts:
    """The harness wheel, the installer, the pinned requirements and, when `offline`, their wheels."""
    from harness.image import ImageError, WHEELHOUSE, fill_wheelhouse, read_lock

    wheel = harness_wheel()
    try:
        lock = read_lock()
        names = closure(wheel_requirements(wheel), set(lock))
        missing = sorted(names - lock.keys())
        if missing:
            raise BundleError(f"the lock has no line for {', '.join(missing)}: run `make lock`")
        if "pip" not in lock:
            raise BundleError("the lock has no line for pip, which the bundle's setup.sh runs: run `make lock`")
        entries = [lock[name] for name in sorted(names)]
        chosen, found = fill_wheelhouse(WHEELHOUSE, [*entries, lock["pip"]] if offline else [lock["pip"]])
    except ImageError as error:
        raise BundleError(str(error)) from None
    pip_wheel = found[[entry.name for entry in chosen].index("pip")]
    requirements = "".join(entry.text + "\n" for entry in entries)
    wheels = tuple(path for entry, path in zip(chosen, found) if entry.name != "pip")
    return Artifacts(wheel, pip_wheel, requirements, wheels)


def wheel_requirements(wheel: Path) -> list[str]:
    """The names the wheel requires (Requires-Dist), extras left out, markers evaluated for this Python."""
    from packaging.markers import default_environment
    from packaging.requirements import Requirement

    try:
        with zipfile.ZipFile(wheel) as archive:
            name = next(item for item in archive.namelist() if item.endswith(".dist-info/METADATA"))
            message = message_from_bytes(archive.read(name))
    except (OSError, zipfile.BadZipFile, StopIteration) as error:
        raise BundleError(f"{wheel}: not a readable wheel ({error or 'no METADATA'})") from None
    environment = {key: str(value) for key, value in default_environment().items()} | {"extra": ""}
    names = []
    for line in message.get_all("Requires-Dist") or []:
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate(environment):
            names.append(requirement.name)
    return names


def closure(roots: list[str], locked: set[str]) -> set[str]:
    """Canonical names of `roots` and everything they need, from the installed distributions' metadata. A requirement
    that is not installed is kept when the lock (`locked`, canonical names) pins it, and otherwise left out: its marker
    held here but not where the lock was compiled (redis's async-timeout on Python 3.11.2, below 3.11.3)."""
    from packaging.markers import default_environment

    from harness.image import requirement_closure

    def missing(name: str) -> bool:
        if name not in locked:
            return False
        raise BundleError(f"{name} is not installed in this environment ({sys.prefix}), so what it needs "
                          "cannot be read; install requirements.lock first")

    environment = {key: str(value) for key, value in default_environment().items()} | {"extra": ""}
    return requirement_closure(roots, environment, missing)


# ---------------------------------------------------------------- the harness wheel


def harness_wheel() -> Path:
    """A wheel of this harness: built from the checkout (cached by content), or repacked from the installation."""
    if bundle() is None and (PACKAGE_PARENT / "pyproject.toml").is_file():
        return _built_wheel(PACKAGE_PARENT)
    return _repacked_wheel()


def source_hash(root: Path) -> str:
    """A hash of the files the wheel is made of, names and contents."""
    digest = hashlib.sha256()
    for path in _source_files(root):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _source_files(root: Path) -> list[Path]:
    files = []
    for name in WHEEL_SOURCES:
        path = root / name
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files += [item for item in path.rglob("*") if item.is_file() and not _skipped(item.relative_to(root))]
    return sorted(files)


def _skipped(relative: Path) -> bool:
    return any(part in _SKIP or part.endswith(_SKIP) for part in relative.parts)


def _built_wheel(root: Path) -> Path:
    folder = cache_dir() / "bundle" / f"harness-{source_hash(root)}"
    found = sorted(folder.glob("*.whl")) if folder.is_dir() else []
    if found:
        return found[0]
    with tempfile.TemporaryDirectory(prefix="harness-wheel-") as tmp:
        copy = Path(tmp) / "src"
        for path in _source_files(root):
            target = copy / path.relative_to(root)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
        out = Path(tmp) / "out"
        command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                   "--disable-pip-version-check", str(copy), "-w", str(out)]
        done = subprocess.run(command, capture_output=True, text=True)
        wheels = sorted(out.glob("*.whl")) if out.is_dir() else []
        if done.returncode != 0 or len(wheels) != 1:
            raise BundleError(f"could not build the harness wheel: {(done.stdout + done.stderr)[-2000:]}")
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / wheels[0].name
        partial = folder / (wheels[0].name + ".partial")
        shutil.copyfile(wheels[0], partial)
        os.replace(partial, target)  # another process building the same hash writes the same content
    _prune(folder.parent, "harness-", keep=folder)
    return target


def _prune(parent: Path, prefix: str, keep: Path, count: int = 3) -> None:
    """Remove all but the `count` newest cached wheels (a checkout that changes makes a new one each time)."""
    folders = sorted((path for path in parent.glob(prefix + "*") if path.is_dir() and path != keep),
                     key=lambda path: path.stat().st_mtime, reverse=True)
    for old in folders[count - 1:]:
        shutil.rmtree(old, ignore_errors=True)


def _repacked_wheel() -> Path:
    """Rebuild the wheel of the installed distribution from the files its RECORD lists (scripts left out: pip makes
    them again), with a fresh RECORD."""
    try:
        dist = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        raise BundleError(f"the {DISTRIBUTION} distribution is not installed, and this is no checkout to build "
                          "its wheel from") from None
    files = [item for item in dist.files or [] if item.parts and item.parts[0] != ".."]
    info = next((item.parts[0] for item in files if item.parts[0].endswith(".dist-info")), None)
    if info is None:
        raise BundleError(f"the installed {DISTRIBUTION} has no .dist-info in its RECORD; reinstall it")
    name = f"{info.removesuffix('.dist-info')}-py3-none-any.whl"
    leave_out = {f"{info}/{entry}" for entry in ("RECORD", "INSTALLER", "REQUESTED", "direct_url.json")}
    digest = hashlib.sha256()
    members: list[tuple[str, bytes]] = []
    for item in sorted(files, key=str):
        path = str(item).replace(os.sep, "/")
        if path in leave_out or _skipped(Path(path)):
            continue
        data = Path(str(dist.locate_file(item))).read_bytes()
        members.append((path, data))
        digest.update(path.encode() + b"\0" + data + b"\0")
    folder = cache_dir() / "bundle" / f"installed-{digest.hexdigest()[:16]}"
    target = folder / name
    if target.is_file():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    partial = folder / (name + ".partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in members:
            archive.writestr(path, data)
            hashed = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            writer.writerow([path, f"sha256={hashed}", len(data)])
        writer.writerow([f"{info}/RECORD", "", ""])
        archive.writestr(f"{info}/RECORD", record.getvalue())
    os.replace(partial, target)
    return target
