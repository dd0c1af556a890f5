"""What both platforms' bundles share: the challenge's files, the install script, the bundle's manifest.

A bundle's files are produced as a mapping {relative path: (bytes, mode)} (`Files`), which each platform writes
its own way (a zip for Gradescope, a folder for PrairieLearn), so the unit tests can read what a bundle holds
without unpacking anything.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import harness
from harness.challenge import Challenge

# Where setup.sh makes the grader's virtual environment in the platform's container.
PREFIX = "/opt/harness-grader"
EXECUTABLE = 0o755
REGULAR = 0o644
MANIFEST = "bundle.json"
DISTRIBUTION = "pytorch-training-grader"  # the harness's own distribution name (pyproject.toml)
# The lock pins torch's CPU build, which lives on PyTorch's index; everything else comes from PyPI.
INDEX_URL = "https://pypi.org/simple"
TORCH_INDEX_URL = "https://download.pytorch.org/whl/cpu"

Files = dict[str, tuple[bytes, int]]


class BundleError(Exception):
    """A bundle could not be made; the message says what and why."""


class BundleUsageError(BundleError):
    """The command asked for something that cannot be done as asked (a folder that is not empty, a bad option)."""


def challenge_files(challenge: Challenge, prefix: str) -> Files:
    """The challenge folder and its reference solution, laid out as `--challenges` expects: `<prefix>challenges/<id>/`
    and `<prefix>reference_solutions/<id>/<submission file>` (the mutants are for authors and are left out)."""
    files: Files = {}
    for path in sorted(challenge.root.rglob("*")):
        relative = path.relative_to(challenge.root)
        if path.is_file() and not any(part == "__pycache__" or part.endswith(".pyc") for part in relative.parts):
            files[f"{prefix}challenges/{challenge.id}/{relative.as_posix()}"] = (path.read_bytes(), REGULAR)
    reference = challenge.reference
    if not reference.is_file():
        raise BundleError(f"{challenge.id}: the reference solution {reference} is missing; the grader needs it")
    files[f"{prefix}reference_solutions/{challenge.id}/{reference.name}"] = (reference.read_bytes(), REGULAR)
    return files


def manifest(challenge: Challenge, platform: str, *, offline: bool, timeout: int, harness_wheel: str) -> bytes:
    """bundle.json: what the bundle grades and with what, for the entry point and for a teacher reading it."""
    data = {"platform": platform, "challenge": challenge.id, "submission_file": challenge.meta.submission_file,
            "max_score": challenge.meta.max_score, "harness_version": harness.__version__,
            "harness_wheel": harness_wheel, "offline": offline, "timeout_seconds": timeout, "prefix": PREFIX}
    return (json.dumps(data, indent=2) + "\n").encode()


def setup_script(*, offline: bool, pip_wheel: str, harness_wheel: str, torch_version: str) -> bytes:
    """setup.sh: make the grader's virtual environment from the files beside the script, then lock the grader's
    files (the installed harness, the script's own folder) away from the submission's user (uid 65534). Used as
    Gradescope's setup.sh and as the PrairieLearn grading image's build step."""
    if not re.fullmatch(r"[0-9A-Za-z.+!-]+", torch_version):
        raise BundleError(f"the lock's torch version {torch_version!r} is not a plain version")
    if offline:
        source = 'install --no-index --find-links "$here/wheels"'
        where = "from the wheels in this bundle, offline"
    else:
        source = f'install --index-url {INDEX_URL} --extra-index-url {TORCH_INDEX_URL}'
        where = "from PyPI (torch's CPU build from PyTorch's index)"
    text = f"""#!/usr/bin/env bash
# Made by `harness bundle` (harness {harness.__version__}). Installs the grader into a virtual environment at
# $HARNESS_PREFIX (default {PREFIX}) {where}, every requirement pinned with its hash by the harness's lock.
# Needs CPython 3.11 (installed with apt-get where it is missing) and root.
set -euo pipefail
here="$(cd "$(dirname "${{BASH_SOURCE[0]}}")" && pwd)"
prefix="${{HARNESS_PREFIX:-{PREFIX}}}"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_ROOT_USER_ACTION=ignore

find_python() {{
    local candidate
    for candidate in python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1 \\
            && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}}

python="$(find_python || true)"
if [ -z "$python" ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup.sh: installing Python 3.11 with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3.11 python3.11-venv >/dev/null
    python="$(find_python || true)"
fi
if [ -z "$python" ]; then
    echo "setup.sh: error: the grader needs CPython 3.11 (its lock pins 3.11 wheels), and none was found" >&2
    exit 1
fi

# A base that already has the locked torch (the harness's sandbox image, a course's own image) lends it to the
# environment instead of installing it again; any other base gets an environment of its own.
shared=""
if "$python" -I -c 'import torch, sys; sys.exit(torch.__version__ != "{torch_version}")' >/dev/null 2>&1; then
    shared="--system-site-packages"
fi
"$python" -m venv --without-pip $shared "$prefix"
pip=("$prefix/bin/python" "$here/wheels/{pip_wheel}/pip")
# --no-deps: requirements.txt is the whole closure already, exactly as locked
"${{pip[@]}}" {source} --require-hashes --only-binary=:all: --no-deps -r "$here/wheels/requirements.txt"
"${{pip[@]}}" install --no-index --no-deps --force-reinstall "$here/wheels/{harness_wheel}"
"$prefix/bin/python" -I -c 'import harness.bundle.entry, torch, pytest, pydantic; print("setup.sh: grader installed, harness", __import__("harness").__version__, "torch", torch.__version__)'
# Nothing the submission's user (uid 65534) may read: the catalog and reference solutions inside the installed
# harness, and this bundle's own files. The entry point does this again before every grading.
"$prefix/bin/python" -I -m harness.bundle.entry lock "$here"
"""
    return text.encode()
