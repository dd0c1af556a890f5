"""A Gradescope autograder zip for one challenge: `harness bundle gradescope ID -o autograder.zip`.

Gradescope's "Autograder Specifications" (https://gradescope-autograders.readthedocs.io/en/latest/specs/; source:
github.com/gradescope/autograder_samples, docs/specs.md) shape it:

- the zip holds `setup.sh` ("a setup (Bash) script that installs all your dependencies") and `run_autograder` ("an
  executable script ... with appropriate #! line") at its root, not in a folder;
- the zip's contents are extracted to /autograder/source when the image is built, setup.sh runs there, and
  run_autograder is copied to /autograder/run_autograder; at grading time the working folder is /autograder, the
  student's files are in /autograder/submission, and /autograder/results/results.json is what Gradescope reads
  (`harness.export.gradescope` writes it: the candidate view only);
- /autograder/results/stdout, run_autograder's output, is shown "to the instructor for debugging purposes" only, so
  run_autograder prints the grader's full report there.

The container Gradescope starts for each submission is the sandbox's outer wall; inside it the harness grades with
the local backend, the submission running as uid 65534, and everything the grader holds (the bundle's folder, the
catalog inside the installed harness) is made unreadable to that user first (see `harness.bundle.entry`). Gradescope
also writes /autograder/submission_metadata.json (who submitted, earlier submissions): it is locked too.

The zip's members are written with a fixed date, sorted, so the same inputs make the same bytes.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import harness
from harness.bundle.build import Artifacts
from harness.bundle.common import (EXECUTABLE, MANIFEST, PREFIX, REGULAR, Files, challenge_files, manifest,
                                   setup_script)
from harness.challenge import Challenge
from harness.export.gradescope import GradescopeResults

SOURCE = "/autograder/source"
SUBMISSION = "/autograder/submission"
RESULTS = "/autograder/results/results.json"
METADATA = "/autograder/submission_metadata.json"
DEFAULT_TIMEOUT = 600  # Gradescope's own limit is set on the assignment's page; the entry stops a little before this
_DATE = (1980, 1, 1, 0, 0, 0)
_STORED = (".whl", ".zip")  # already compressed


def files(challenge: Challenge, artifacts: Artifacts, *, timeout: int = DEFAULT_TIMEOUT) -> Files:
    """Every member of the zip: {path: (bytes, mode)}."""
    offline = bool(artifacts.wheels)
    members: Files = {
        "setup.sh": (setup_script(offline=offline, pip_wheel=artifacts.pip_wheel.name,
                                  harness_wheel=artifacts.harness_wheel.name,
                                  torch_version=artifacts.torch_version), EXECUTABLE),
        "run_autograder": (run_autograder(challenge), EXECUTABLE),
        MANIFEST: (manifest(challenge, "gradescope", offline=offline, timeout=timeout,
                            harness_wheel=artifacts.harness_wheel.name), REGULAR),
        "wheels/requirements.txt": (artifacts.requirements.encode(), REGULAR),
    }
    for wheel in (artifacts.pip_wheel, artifacts.harness_wheel, *artifacts.wheels):
        members[f"wheels/{wheel.name}"] = (wheel.read_bytes(), REGULAR)
    members.update(challenge_files(challenge, ""))
    return members


def write_zip(members: Files, output: Path) -> None:
    """The zip at `output`, written to a temporary name first and renamed, so a reader never sees half of one."""
    partial = output.with_name(f".{output.name}.partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(members):
            data, mode = members[name]
            info = zipfile.ZipInfo(name, date_time=_DATE)
            info.external_attr = (0o100000 | mode) << 16  # a regular file with its permission bits, as unzip reads them
            info.create_system = 3  # Unix, so that the bits above count
            info.compress_type = zipfile.ZIP_STORED if name.endswith(_STORED) else zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    partial.replace(output)


def run_autograder(challenge: Challenge) -> bytes:
    """run_autograder: the entry point, and a results.json of its own when the grader cannot even start."""
    fallback = GradescopeResults(
        score=0, execution_time=0, tests=[],
        output=("The grader could not run on this submission; this is not a fault of your code. "
                "Please tell the course staff (the autograder's log says why).")).model_dump_json()
    text = f"""#!/usr/bin/env bash
# Made by `harness bundle gradescope {challenge.id}` (harness {harness.__version__}). Gradescope runs this as root in
# /autograder for each submission; it grades {SUBMISSION} with the harness that setup.sh installed and writes
# {RESULTS}. This script's output goes to /autograder/results/stdout, which only the course staff see.
prefix="${{HARNESS_PREFIX:-{PREFIX}}}"
if "$prefix/bin/python" -I -m harness.bundle.entry grade --platform gradescope --bundle {SOURCE} \\
        --submission {SUBMISSION} --results {RESULTS} --hide {METADATA}; then
    exit 0
fi
echo "run_autograder: the grader did not write results.json (is setup.sh's environment at $prefix?); writing one that says so" >&2
mkdir -p "$(dirname {RESULTS})"
rm -rf {RESULTS}
cat > {RESULTS} <<'RESULTS_JSON'
{fallback}
RESULTS_JSON
"""
    return text.encode()

