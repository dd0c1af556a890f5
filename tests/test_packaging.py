"""Packaging: where the harness finds its data in a checkout and in an installed wheel, what the
wheel carries, and how the sandbox image's wheels come from requirements.lock."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
import tomllib
import zipfile
from pathlib import Path

import pytest

import harness
from harness import image, resources
from harness.challenge import CHALLENGES_DIR, find_challenge

ROOT = Path(__file__).resolve().parent.parent
FROM_CHECKOUT = Path(harness.__file__).resolve().parent == ROOT / "harness"
# What building the wheel reads from the repository.
SOURCES = ["pyproject.toml", "README.md", "requirements.lock", "harness", "challenges", "reference_solutions", "docker"]


def test_every_subpackage_is_in_the_wheel():
    packages = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(path.parent.relative_to(ROOT).parts) for path in (ROOT / "harness").rglob("__init__.py")}
    assert found - packages == set(), "add these to [tool.setuptools] packages in pyproject.toml"


@pytest.mark.skipif(not FROM_CHECKOUT, reason="harness is imported from an installed wheel, not this checkout")
def test_a_checkout_uses_the_repository_folders():
    assert resources.bundle() is None
    assert resources.data_root() == ROOT
    assert CHALLENGES_DIR == ROOT / "challenges"
    assert image.DOCKERFILE == ROOT / "docker" / "Dockerfile"
    assert image.LOCK == ROOT / "requirements.lock"
    assert image.WHEELHOUSE == ROOT / "build" / "wheels"
    challenge = find_challenge("cosine-annealing-tmax")
    assert challenge.solutions_dir == ROOT / "reference_solutions" / "cosine-annealing-tmax"


def test_outside_a_checkout_downloads_go_to_the_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setattr(resources, "bundle", lambda: tmp_path / "bundle")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert resources.cache_dir() == tmp_path / "cache" / "harness"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert resources.cache_dir() == Path.home() / ".cache" / "harness"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The project's wheel, built from a copy of its sources (nothing is written into the checkout)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=ignore)
        else:
            shutil.copy2(ROOT / name, source / name)
    (source / "harness" / "__pycache__").mkdir(exist_ok=True)  # must not be shipped
    (source / "harness" / "__pycache__" / "stale.cpython-311.pyc").write_bytes(b"")
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                           "--disable-pip-version-check", "-w", str(work / "dist"), str(source)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    (built,) = (work / "dist").glob("*.whl")
    return built


def test_the_wheel_carries_the_catalog_solutions_dockerfile_and_lock(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for challenge in sorted(path.name for path in (ROOT / "challenges").iterdir() if (path / "challenge.toml").is_file()):
        assert f"harness/_bundle/challenges/{challenge}/challenge.toml" in names
        assert f"harness/_bundle/challenges/{challenge}/statement.md" in names
        assert f"harness/_bundle/reference_solutions/{challenge}/" + _submission_file(challenge) in names
    for name in ("harness/_bundle/challenges/cosine-annealing-tmax/hidden/probes.py",
                 "harness/_bundle/docker/Dockerfile", "harness/_bundle/requirements.lock",
                 "harness/resources.py", "harness/sandbox/worker.py"):
        assert name in names
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]
    top_of_bundle = {name.split("/")[2] for name in names if name.startswith("harness/_bundle/")}
    assert top_of_bundle == {"challenges", "reference_solutions", "docker", "requirements.lock"}
    assert zipfile.ZipFile(wheel).read("harness/_bundle/requirements.lock") == (ROOT / "requirements.lock").read_bytes()


@pytest.mark.slow
def test_the_installed_wheel_works_from_any_directory(wheel, tmp_path):
    """The wheel unpacked alone (what `pip install` puts in site-packages), run from an unrelated
    folder: it lists and grades with its bundled catalog, and downloads would go to the cache dir."""
    target = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(target)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    submission = elsewhere / "my-solution.py"
    shutil.copy(ROOT / "reference_solutions" / "cosine-annealing-tmax" / "solution.py", submission)
    environment = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    environment.pop("HARNESS_CHALLENGES", None)
    run = f"import sys; sys.path.insert(0, {str(target)!r}); from harness.cli import main; sys.exit(main())"

    def harness_command(*arguments: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-c", run, *arguments], cwd=elsewhere, env=environment,
                              capture_output=True, text=True, timeout=600)

    where = subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(target)!r}); "
                            "from harness import image, resources; print(resources.data_root()); print(image.WHEELHOUSE)"],
                           cwd=elsewhere, env=environment, capture_output=True, text=True)
    assert where.stdout.split() == [str(target / "harness" / "_bundle"), str(tmp_path / "cache" / "harness" / "wheels")], where.stderr
    listed = harness_command("list")
    assert listed.returncode == 0 and "cosine-annealing-tmax" in listed.stdout, listed.stderr
    graded = harness_command("grade", "cosine-annealing-tmax", str(submission), "--backend", "local", "--seed", "1")
    assert graded.returncode == 0, graded.stderr[-2000:]
    assert "10/10 points" in graded.stderr


def test_the_sandbox_wheels_are_the_locks_lines_for_torch_numpy_and_their_dependencies():
    lock = image.read_lock()
    assert lock["torch"].version == "2.13.0+cpu" and lock["torch"].hashes
    entries = {entry.name: entry for entry in image.sandbox_entries(lock)}
    assert {"torch", "numpy", "pip", "typing-extensions", "sympy", "filelock"} <= entries.keys()
    assert not {"pytest", "click", "pydantic", "docker", "mypy"} & entries.keys(), "only what the sandbox imports"
    for name, entry in entries.items():
        assert entry is lock[name] and entry.text.startswith(f"{name}=={entry.version} --hash=sha256:")


def test_the_image_tag_covers_the_dockerfile_worker_and_the_sandboxes_lock_lines(monkeypatch, tmp_path):
    tag = image.image_tag()
    assert tag.startswith(image.REPOSITORY + ":")
    text = image.LOCK.read_text()
    grader_only = tmp_path / "grader-only.lock"  # a dependency of the grader alone changes: same image
    grader_only.write_text(text.replace("click==", "click==0.0.0.dev0+", 1) if "click==" in text else text)
    monkeypatch.setattr(image, "LOCK", grader_only)
    assert "click==0.0.0.dev0+" in grader_only.read_text() and image.image_tag() == tag
    numpy_line = next(line for line in text.splitlines() if line.startswith("numpy=="))
    sandbox = tmp_path / "sandbox.lock"  # a pin the image installs changes: another image
    sandbox.write_text(text.replace(numpy_line, numpy_line.replace("numpy==", "numpy==0.0.0.dev0+", 1)))
    monkeypatch.setattr(image, "LOCK", sandbox)
    assert image.image_tag() != tag
    monkeypatch.setattr(image, "LOCK", grader_only)
    worker = tmp_path / "worker.py"
    worker.write_bytes(image.WORKER_PATH.read_bytes() + b"# changed\n")
    monkeypatch.setattr(image, "WORKER_PATH", worker)
    assert image.image_tag() != tag


def test_the_wheelhouse_keeps_wheels_whose_hash_the_lock_accepts(monkeypatch, tmp_path):
    good = tmp_path / "demo_pkg-1.0-py3-none-any.whl"
    good.write_bytes(b"good wheel")
    entry = image.LockEntry("demo-pkg", "1.0", frozenset({hashlib.sha256(b"good wheel").hexdigest()}),
                            "demo-pkg==1.0 --hash=sha256:...")
    calls = []
    monkeypatch.setattr(image.subprocess, "run", lambda command, **_: calls.append(command) or
                        subprocess.CompletedProcess(command, 1, "", "offline"))
    assert image.fill_wheelhouse(tmp_path, [entry]) == ([entry], [good])
    assert calls == [], "a wheel that is there and matches needs no download"
    good.write_bytes(b"tampered")
    with pytest.raises(image.ImageError, match="pip could not fill the wheelhouse"):
        image.fill_wheelhouse(tmp_path, [entry])
    (command,) = calls
    assert command[command.index("download"):][:3] == ["download", "--no-deps", "--require-hashes"]
    assert "--python-version" in command and "3.11" in command


@pytest.mark.docker
def test_image_ensure_returns_at_once_when_the_tag_exists(docker_backend, monkeypatch):
    def no_build(**_):
        raise AssertionError("ensure built although the image exists")

    monkeypatch.setattr(image, "build_image", no_build)
    started = time.monotonic()
    assert image.ensure_image() == image.image_tag()
    assert time.monotonic() - started < 10


def _submission_file(challenge: str) -> str:
    return tomllib.loads((ROOT / "challenges" / challenge / "challenge.toml").read_text()).get("submission_file", "solution.py")
