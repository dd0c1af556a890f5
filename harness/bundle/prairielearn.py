"""A PrairieLearn question folder for one challenge: `harness bundle prairielearn ID -o DIR`.

PrairieLearn's "External Grading" page (https://prairielearn.readthedocs.io/en/latest/externalGrading/; source:
github.com/PrairieLearn/PrairieLearn, docs/externalGrading.md) shapes it:

- `info.json` sets `gradingMethod: "External"` and `externalGradingOptions`: `enabled`, `image` ("any image
  specification that is understood by the docker pull command"; required), `entrypoint` (an absolute path; a file
  under /grade is made executable by the grader itself), `timeout` (seconds, default 30, at most 600), and
  `enableNetworking` (off by default; written out as false). `serverFilesCourse` is not needed: everything the
  grader needs is in the question's `tests/`, so one question folder is the whole autograder;
- the question's `tests/` is copied to /grade/tests, the student's files to /grade/student, the `data` object to
  /grade/data/data.json, listed `serverFilesCourse` entries to /grade/serverFilesCourse; the entrypoint must write
  /grade/results/results.json (a folder it must create itself), which `harness.export.prairielearn` renders;
- `question.html` uses `<pl-file-upload file-names="...">` for the submission and `<pl-external-grader-results>`
  with `<pl-file-preview>` in the submission panel (as PrairieLearn's exampleCourse demo/autograder/codeUpload
  does), and `<pl-file-download>` for the statement and the starter, kept in `clientFilesQuestion/`.

The grading image must hold the harness and torch: with `--image-dir`, the bundle also writes its Docker build
context (a Dockerfile running the same setup.sh as the Gradescope bundle). The entrypoint locks /grade/tests,
/grade/data and /grade/serverFilesCourse away from the submission's user before it runs (`harness.bundle.entry`).
"""

from __future__ import annotations

import html
import json
import os
import shutil
import uuid
from pathlib import Path

import harness
from harness.bundle.build import Artifacts
from harness.bundle.common import (EXECUTABLE, MANIFEST, PREFIX, REGULAR, BundleUsageError, Files, challenge_files,
                                   manifest, setup_script)
from harness.challenge import Challenge
from harness.export.prairielearn import PrairieLearnResults

ENTRYPOINT = "/grade/tests/run"
DEFAULT_IMAGE = "YOUR-DOCKERHUB-NAME/harness-grader:" + harness.__version__
DEFAULT_TIMEOUT = 300
MAX_TIMEOUT = 600  # "This value cannot exceed 600 seconds"
# uuid5 names: the same challenge bundled again keeps its question's uuid, so PrairieLearn sees the same question.
UUID_NAMESPACE = uuid.UUID("3f1c3bb4-6d0e-5a55-9a59-2c7c2b0f8a10")


def question_files(challenge: Challenge, *, image: str = DEFAULT_IMAGE, timeout: int = DEFAULT_TIMEOUT,
                   question_uuid: str | None = None) -> Files:
    """The question folder: info.json, question.html, clientFilesQuestion/, tests/ (entrypoint, challenge, manifest)."""
    if not 1 <= timeout <= MAX_TIMEOUT:
        raise BundleUsageError(f"PrairieLearn's timeout must be 1 to {MAX_TIMEOUT} seconds, not {timeout}")
    members: Files = {
        "info.json": (info_json(challenge, image=image, timeout=timeout, question_uuid=question_uuid), REGULAR),
        "question.html": (question_html(challenge), REGULAR),
        "tests/run": (run_script(challenge), EXECUTABLE),
        f"tests/{MANIFEST}": (manifest(challenge, "prairielearn", offline=False, timeout=timeout,
                                       harness_wheel="(installed in the grading image)"), REGULAR),
    }
    members.update(challenge_files(challenge, "tests/"))
    members[f"clientFilesQuestion/{challenge.statement.name}"] = (challenge.statement.read_bytes(), REGULAR)
    members[f"clientFilesQuestion/{challenge.starter.name}"] = (challenge.starter.read_bytes(), REGULAR)
    for path in _public_files(challenge):
        members[f"clientFilesQuestion/{path.name}"] = (path.read_bytes(), REGULAR)
    return members


def image_files(artifacts: Artifacts) -> Files:
    """The grading image's Docker build context: Dockerfile, setup.sh, wheels/."""
    members: Files = {
        "Dockerfile": (dockerfile(), REGULAR),
        "setup.sh": (setup_script(offline=bool(artifacts.wheels), pip_wheel=artifacts.pip_wheel.name,
                                  harness_wheel=artifacts.harness_wheel.name,
                                  torch_version=artifacts.torch_version), EXECUTABLE),
        "wheels/requirements.txt": (artifacts.requirements.encode(), REGULAR),
    }
    for wheel in (artifacts.pip_wheel, artifacts.harness_wheel, *artifacts.wheels):
        members[f"wheels/{wheel.name}"] = (wheel.read_bytes(), REGULAR)
    return members


def info_json(challenge: Challenge, *, image: str, timeout: int, question_uuid: str | None = None) -> bytes:
    meta = challenge.meta
    data = {
        "uuid": question_uuid or str(uuid.uuid5(UUID_NAMESPACE, challenge.id)),
        "title": meta.title,
        "topic": meta.topic,
        "tags": [*meta.tags, "harness"],
        "type": "v3",
        "singleVariant": True,
        "gradingMethod": "External",
        "externalGradingOptions": {
            "enabled": True,
            "image": image,
            "entrypoint": ENTRYPOINT,
            "timeout": timeout,
            "enableNetworking": False,
        },
    }
    return (json.dumps(data, indent=4) + "\n").encode()


def question_html(challenge: Challenge) -> bytes:
    """The page: the statement as plain text, links to the files, the upload and the results. Everything from the
    challenge is HTML-escaped, and its braces too, since PrairieLearn renders question.html as a Mustache template."""
    meta = challenge.meta
    downloads = [challenge.statement.name, challenge.starter.name, *(path.name for path in _public_files(challenge))]
    links = "\n".join(f'    <li><pl-file-download file-name="{_text(name)}"></pl-file-download></li>' for name in downloads)
    statement = _text(challenge.statement.read_text(encoding="utf-8"))
    text = f"""<pl-question-panel>
  <p><strong>{_text(meta.title)}</strong>: {_text(meta.summary)}</p>
  <p>Files: the statement, the starter file to edit, and example tests to run with pytest.</p>
  <ul>
{links}
  </ul>
  <pre style="white-space: pre-wrap;">{statement}</pre>
  <p>Upload your <code>{_text(meta.submission_file)}</code>. It is graded by checks that run your code on inputs
  drawn for each submission; some checks are hidden.</p>
  <pl-file-upload file-names="{_text(meta.submission_file)}"></pl-file-upload>
</pl-question-panel>

<pl-submission-panel>
  <pl-external-grader-results></pl-external-grader-results>
  <pl-file-preview></pl-file-preview>
</pl-submission-panel>
"""
    return text.encode()


def run_script(challenge: Challenge) -> bytes:
    """tests/run, the entrypoint: the harness in the grading image, and a results.json of its own when it cannot start."""
    fallback = PrairieLearnResults(
        gradable=False, score=0.0, output="", tests=[],
        message="The grader could not run; this attempt does not count. Please tell the course staff.",
        format_errors=["The grading image has no working harness at " + PREFIX + "; build it from the bundle's "
                       "image folder (harness bundle prairielearn --image-dir)."]).model_dump_json()
    text = f"""#!/usr/bin/env bash
# Made by `harness bundle prairielearn {challenge.id}` (harness {harness.__version__}). PrairieLearn runs this in
# the grading image for each submission: it grades /grade/student and writes /grade/results/results.json.
here="$(cd "$(dirname "${{BASH_SOURCE[0]}}")" && pwd)"
prefix="${{HARNESS_PREFIX:-{PREFIX}}}"
results=/grade/results/results.json
if "$prefix/bin/python" -I -m harness.bundle.entry grade --platform prairielearn --bundle "$here" \\
        --submission /grade/student --results "$results" --hide /grade/data --hide /grade/serverFilesCourse; then
    exit 0
fi
echo "run: the grader did not write results.json (is the harness installed at $prefix?); writing one that says so" >&2
mkdir -p "$(dirname "$results")"
rm -rf "$results"
cat > "$results" <<'RESULTS_JSON'
{fallback}
RESULTS_JSON
"""
    return text.encode()


def dockerfile() -> bytes:
    return f"""# The grading image for questions made by `harness bundle prairielearn` (harness {harness.__version__}):
# `docker build -t NAME .` here, push NAME where PrairieLearn can pull it, and give NAME to `--image` (it is
# externalGradingOptions.image in each question's info.json). BASE needs only CPython 3.11 (or apt-get to get it).
ARG BASE=python:3.11-slim
FROM ${{BASE}}
USER root
COPY . /opt/harness-setup/
RUN bash /opt/harness-setup/setup.sh && rm -rf /opt/harness-setup
""".encode()


def write_folder(members: Files, folder: Path, *, force: bool = False) -> None:
    """Write `members` under `folder`: a folder that does not exist or is empty, or with `force` any folder, whose
    old contents go first."""
    if folder.exists() and not folder.is_dir():
        raise BundleUsageError(f"{folder} is a file; give a folder for the bundle")
    if folder.is_dir() and any(folder.iterdir()):
        if not force:
            raise BundleUsageError(f"{folder} is not empty; give a new folder, or --force to replace what it holds")
        shutil.rmtree(folder)
    for name, (data, mode) in sorted(members.items()):
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        os.chmod(target, mode)


def _public_files(challenge: Challenge) -> list[Path]:
    folder = challenge.public_dir
    return sorted(path for path in folder.iterdir() if path.is_file()) if folder.is_dir() else []


def _text(value: str) -> str:
    return html.escape(value).replace("{", "&#123;").replace("}", "&#125;")
