"""`harness bundle gradescope|prairielearn`: what the bundles hold, and each one run as its platform runs it.

The unit tests read the generated files (zip members and their modes, info.json, question.html, the scripts).
The platform tests (marked docker) build, once per content hash, an image FROM the sandbox image in which the
Gradescope bundle's own setup.sh installed the harness offline from the bundle's wheels (as Gradescope builds its
image: the zip's contents in /autograder/source, setup.sh run there, run_autograder copied to /autograder), then
for each platform lay out its documented folders in a fresh container (no network) and run its entry point as root:
the reference must get full marks, the starter less, a submission that writes results.json wherever it can its
true score, and one that walks the whole file system for the hidden checks and the reference solution must find
nothing (and must find the control file planted for it, and run as uid 65534).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import stat
import subprocess
import tarfile
import tempfile
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.challenge import find_challenge
from harness.cli import main
from harness.export.gradescope import GradescopeResults
from harness.export.prairielearn import PrairieLearnResults

from conftest import REQUIRE_DOCKER

CHALLENGE = "weight-decay-exclude-bias"
REPOSITORY = Path(__file__).resolve().parents[1]
IMAGE_REPOSITORY = "harness-bundle-test"
BUILD_ROOT = REPOSITORY / "build" / "bundle-test"


def _invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def gradescope_zip(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gradescope") / "autograder.zip"
    result = _invoke("bundle", "gradescope", CHALLENGE, "-o", str(out))
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def question(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("prairielearn") / "question"
    image_dir = out.parent / "image"
    result = _invoke("bundle", "prairielearn", CHALLENGE, "-o", str(out), "--image", "me/grader:1",
                     "--image-dir", str(image_dir), "--timeout", "240")
    assert result.exit_code == 0, result.output
    return out


# ---------------------------------------------------------------- the Gradescope zip


def test_gradescope_zip_has_the_documented_files_at_its_root_with_executable_scripts(gradescope_zip: Path) -> None:
    with zipfile.ZipFile(gradescope_zip) as archive:
        infos = {info.filename: info for info in archive.infolist()}
        manifest = json.loads(archive.read("bundle.json"))
        requirements = archive.read("wheels/requirements.txt").decode()
    assert {"setup.sh", "run_autograder"} <= infos.keys()  # at the root, not in a folder
    for name in ("setup.sh", "run_autograder"):
        assert (infos[name].external_attr >> 16) & 0o111 == 0o111, f"{name} is not executable in the zip"
    assert manifest["challenge"] == CHALLENGE and manifest["platform"] == "gradescope"
    assert manifest["offline"] is False and manifest["submission_file"] == "solution.py"
    challenge = find_challenge(CHALLENGE)
    hidden = {f"challenges/{CHALLENGE}/hidden/{path.name}" for path in challenge.hidden_dir.iterdir() if path.is_file()}
    assert hidden <= infos.keys()
    assert f"reference_solutions/{CHALLENGE}/solution.py" in infos
    assert not any("/mutants/" in name for name in infos), "the mutants are for authors, not for the platform"
    wheels = sorted(name for name in infos if name.endswith(".whl"))
    assert [name.split("/")[1].split("-")[0] for name in wheels] == ["pip", "pytorch_training_grader"]
    lines = [line for line in requirements.splitlines() if line.strip()]
    assert all(" --hash=sha256:" in line for line in lines), "every requirement is pinned with its hash"
    names = {line.split("==")[0] for line in lines}
    assert {"torch", "numpy", "pydantic", "pytest", "click"} <= names and "mypy" not in names


def test_gradescope_scripts_parse_and_their_fallback_results_are_valid(gradescope_zip: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(gradescope_zip) as archive:
        setup, run = archive.read("setup.sh").decode(), archive.read("run_autograder").decode()
    for name, text in (("setup.sh", setup), ("run_autograder", run)):
        (tmp_path / name).write_text(text)
        done = subprocess.run(["bash", "-n", str(tmp_path / name)], capture_output=True, text=True)
        assert done.returncode == 0, f"{name}: {done.stderr}"
        assert text.startswith("#!/usr/bin/env bash\n")
    assert "--index-url https://pypi.org/simple" in setup and "--no-index --find-links" not in setup.split("\n\"${pip")[1]
    assert "--platform gradescope" in run and "/autograder/submission" in run
    fallback = run.split("<<'RESULTS_JSON'\n")[1].split("\nRESULTS_JSON")[0]
    results = GradescopeResults.model_validate_json(fallback)
    assert results.score == 0 and "not a fault of your code" in results.output


def test_gradescope_zip_with_a_wheelhouse_installs_offline(tmp_path: Path) -> None:
    out = tmp_path / "offline.zip"
    result = _invoke("bundle", "gradescope", CHALLENGE, "-o", str(out), "--wheelhouse")
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out) as archive:
        names = set(archive.namelist())
        setup = archive.read("setup.sh").decode()
        requirements = archive.read("wheels/requirements.txt").decode()
        stored = {info.filename: info.compress_type for info in archive.infolist()}
    assert 'install --no-index --find-links "$here/wheels"' in setup and "pypi.org" not in setup
    for line in requirements.splitlines():
        name = line.split("==")[0].replace("-", "_").lower()
        assert any(member.split("/")[-1].lower().startswith(name + "-") for member in names), f"no wheel for {name}"
    assert all(kind == zipfile.ZIP_STORED for name, kind in stored.items() if name.endswith(".whl"))


def test_gradescope_bundle_refuses_a_missing_folder_and_an_unknown_challenge(tmp_path: Path) -> None:
    result = _invoke("bundle", "gradescope", CHALLENGE, "-o", str(tmp_path / "no" / "such" / "a.zip"))
    assert result.exit_code == 2 and "does not exist" in result.output
    result = _invoke("bundle", "gradescope", "no-such-challenge", "-o", str(tmp_path / "a.zip"))
    assert result.exit_code == 2 and "no challenge named" in result.output
    assert not (tmp_path / "a.zip").exists()


# ---------------------------------------------------------------- the PrairieLearn question


def test_prairielearn_info_json_enables_external_grading(question: Path) -> None:
    info = json.loads((question / "info.json").read_text())
    challenge = find_challenge(CHALLENGE)
    assert info["gradingMethod"] == "External" and info["type"] == "v3" and info["title"] == challenge.meta.title
    assert info["externalGradingOptions"] == {"enabled": True, "image": "me/grader:1", "entrypoint": "/grade/tests/run",
                                              "timeout": 240, "enableNetworking": False}
    assert os.stat(question / "tests" / "run").st_mode & 0o111 == 0o111
    assert (question / "tests" / "challenges" / CHALLENGE / "hidden" / "probes.py").is_file()
    assert (question / "tests" / "reference_solutions" / CHALLENGE / "solution.py").is_file()
    assert json.loads((question / "tests" / "bundle.json").read_text())["platform"] == "prairielearn"


def test_prairielearn_question_page_uploads_the_file_and_offers_no_hidden_file(question: Path) -> None:
    page = (question / "question.html").read_text()
    assert '<pl-file-upload file-names="solution.py"></pl-file-upload>' in page
    assert "<pl-external-grader-results></pl-external-grader-results>" in page
    assert "{{" not in page and "}}" not in page, "question.html is a Mustache template: braces must be escaped"
    offered = sorted(path.name for path in (question / "clientFilesQuestion").iterdir())
    assert offered == ["solution.py", "statement.md", "test_example.py"]
    assert (question / "clientFilesQuestion" / "solution.py").read_bytes() == find_challenge(CHALLENGE).starter.read_bytes()
    for name in offered:
        assert f'<pl-file-download file-name="{name}"></pl-file-download>' in page


def test_prairielearn_run_script_and_image_context(question: Path) -> None:
    run = (question / "tests" / "run").read_text()
    assert subprocess.run(["bash", "-n", str(question / "tests" / "run")]).returncode == 0
    fallback = run.split("<<'RESULTS_JSON'\n")[1].split("\nRESULTS_JSON")[0]
    results = PrairieLearnResults.model_validate_json(fallback)
    assert results.gradable is False and results.format_errors
    image = question.parent / "image"
    dockerfile = (image / "Dockerfile").read_text()
    assert "RUN bash /opt/harness-setup/setup.sh" in dockerfile and "ARG BASE=" in dockerfile
    assert os.stat(image / "setup.sh").st_mode & 0o111 and (image / "wheels" / "requirements.txt").is_file()


def test_prairielearn_uuid_is_stable_and_a_full_folder_is_refused_unless_forced(question: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    assert _invoke("bundle", "prairielearn", CHALLENGE, "-o", str(again)).exit_code == 0
    first, second = (json.loads((folder / "info.json").read_text()) for folder in (question, again))
    assert first["uuid"] == second["uuid"]
    result = _invoke("bundle", "prairielearn", CHALLENGE, "-o", str(again))
    assert result.exit_code == 2 and "not empty" in result.output
    result = _invoke("bundle", "prairielearn", CHALLENGE, "-o", str(again), "--force", "--uuid", "not-a-uuid")
    assert result.exit_code == 2 and "not a UUID" in result.output
    result = _invoke("bundle", "prairielearn", CHALLENGE, "-o", str(again), "--wheelhouse")
    assert result.exit_code == 2 and "--image-dir" in result.output


# ---------------------------------------------------------------- the README's three commands


def test_the_readmes_three_commands_go_from_a_class_folder_to_grades_a_page_and_a_gradescope_zip(tmp_path: Path) -> None:
    """The commands as the README's bundle section shows them, run on a class of a notebook, a .py file and a
    folder: grades.csv, report.html and a Gradescope zip."""
    import sys

    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    readme = (REPOSITORY / "README.md").read_text()
    section = readme.split("### Ready-made autograders (bundles)", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    commands = [line.split("#", 1)[0].split() for line in section.splitlines() if line.strip()]
    assert [command[:2] for command in commands] == [["harness", "grade"], ["harness", "report"], ["harness", "bundle"]]
    challenge = find_challenge(CHALLENGE)
    (tmp_path / "class" / "carol").mkdir(parents=True)
    notebook = new_notebook(cells=[new_markdown_cell("My answer"), new_code_cell(challenge.reference.read_text())])
    (tmp_path / "class" / "alice.ipynb").write_text(nbformat.writes(notebook))
    shutil.copyfile(challenge.starter, tmp_path / "class" / "bob.py")
    shutil.copyfile(challenge.reference, tmp_path / "class" / "carol" / "solution.py")
    for command in commands:
        done = subprocess.run([sys.executable, "-m", "harness", *command[1:]], cwd=tmp_path, capture_output=True,
                              text=True, timeout=600)
        assert done.returncode == 0, f"{' '.join(command)}: {done.stderr[-3000:]}"
    rows = {row.split(",")[0]: row.split(",") for row in (tmp_path / "results" / "grades.csv").read_text().splitlines()[1:]}
    assert sorted(rows) == ["alice", "bob", "carol"]
    assert float(rows["alice"][1]) == float(rows["carol"][1]) == challenge.meta.max_score > float(rows["bob"][1])
    assert (tmp_path / "results" / "report.html").read_text().count("alice") >= 1
    with zipfile.ZipFile(tmp_path / "autograder.zip") as archive:
        assert {"setup.sh", "run_autograder", "bundle.json"} <= set(archive.namelist())


# ---------------------------------------------------------------- the entry point's choices, on this machine


def test_entry_picks_the_submitted_file(tmp_path: Path) -> None:
    from harness.bundle.entry import pick_submission

    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "solution.ipynb").write_text("{}")
    (tmp_path / "a" / "notes.txt").write_text("")
    assert pick_submission(tmp_path / "a", "solution.py") == tmp_path / "a" / "solution.ipynb"
    (tmp_path / "a" / "solution.py").write_text("")
    assert pick_submission(tmp_path / "a", "solution.py") == tmp_path / "a" / "solution.py"
    (tmp_path / "b" / "repo" / "src").mkdir(parents=True)
    (tmp_path / "b" / "repo" / "src" / "solution.py").write_text("")
    assert pick_submission(tmp_path / "b", "solution.py") == tmp_path / "b" / "repo" / "src" / "solution.py"
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "my_answer.py").write_text("")
    assert pick_submission(tmp_path / "c", "solution.py") == tmp_path / "c" / "my_answer.py"
    (tmp_path / "c" / "other.py").write_text("")
    (tmp_path / "c" / "solution.py").symlink_to("/etc/passwd")  # a link is never followed
    reason = pick_submission(tmp_path / "c", "solution.py")
    assert isinstance(reason, str) and "my_answer.py, other.py" in reason and "solution.py" in reason
    assert "nothing was submitted" in str(pick_submission(tmp_path / "missing", "solution.py"))


def test_entry_writes_results_saying_what_went_wrong_without_running_anything(tmp_path: Path) -> None:
    """No file submitted: an ungradable result for each platform; a damaged bundle: the grader's error."""
    source = tmp_path / "source"
    source.mkdir()
    (source / "bundle.json").write_text(json.dumps({"challenge": CHALLENGE, "submission_file": "solution.py",
                                                    "max_score": 12, "timeout_seconds": 300}))
    (tmp_path / "submission").mkdir()
    (tmp_path / "submission" / "readme.txt").write_text("hello")
    for platform in ("gradescope", "prairielearn"):
        results = tmp_path / platform / "results" / "results.json"
        done = _entry("grade", "--platform", platform, "--bundle", str(source), "--submission",
                      str(tmp_path / "submission"), "--results", str(results))
        assert done.returncode == 0, done.stdout + done.stderr
        data = json.loads(results.read_text())
        if platform == "gradescope":
            assert data["score"] == 0 and "no solution.py or solution.ipynb was submitted" in data["output"]
            assert "readme.txt" in data["output"]
        else:
            assert data["gradable"] is False and "readme.txt" in data["format_errors"][0]
    (source / "bundle.json").write_text("{not json")
    results = tmp_path / "damaged" / "results.json"
    done = _entry("grade", "--platform", "gradescope", "--bundle", str(source), "--submission",
                  str(tmp_path / "submission"), "--results", str(results))
    assert done.returncode == 0
    assert "grader failed" in json.loads(results.read_text())["output"]


def _entry(*args: str) -> subprocess.CompletedProcess:
    import sys

    return subprocess.run([sys.executable, "-m", "harness.bundle.entry", *args], capture_output=True, text=True,
                          cwd=REPOSITORY, timeout=120)


# ---------------------------------------------------------------- each platform, in a container


def _client():
    try:
        import docker

        client = docker.from_env(timeout=600)
        client.ping()
        return client
    except Exception as error:  # no engine: skip, or fail where Docker is required
        if REQUIRE_DOCKER:
            pytest.fail(f"Docker is required here (CI=true or HARNESS_REQUIRE_DOCKER=1): {error}")
        pytest.skip(f"no Docker engine: {error}")


def _sandbox_base(client) -> str:
    import docker.errors

    from harness.image import image_tag

    base = image_tag()
    try:
        client.images.get(base)
    except docker.errors.ImageNotFound:
        if REQUIRE_DOCKER:
            pytest.fail(f"the sandbox image {base} is not built (harness image build)")
        pytest.skip(f"the sandbox image {base} is not built (harness image build)")
    return base


def _cached_image(client, repository: str, base: str, members: dict[str, tuple[bytes, int]], lay_out) -> str:
    """The image `repository:<hash of base and members>`, built unless the engine has it (`lay_out(context)` writes
    the build context), the repository's other tags removed."""
    import docker.errors

    digest = hashlib.sha256(base.encode())
    for name in sorted(members):
        data, mode = members[name]
        digest.update(f"{name}\0{mode}\0".encode() + hashlib.sha256(data).digest())
    tag = f"{repository}:{digest.hexdigest()[:12]}"
    try:
        client.images.get(tag)
        return tag
    except docker.errors.ImageNotFound:
        pass
    BUILD_ROOT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="context-", dir=BUILD_ROOT) as tmp:
        lay_out(Path(tmp))
        try:
            client.images.build(path=tmp, tag=tag, network_mode="none", rm=True, forcerm=True, pull=False,
                                buildargs={"BASE": base})
        except docker.errors.BuildError as error:
            log = "".join(str(line.get("stream", line.get("error", ""))) for line in error.build_log)
            pytest.fail(f"{tag} did not build: {error}\n{log[-4000:]}")
    for image in client.images.list(name=repository):  # the previous contents' images
        for old in image.tags:
            if old != tag and old.split(":")[0] == repository:
                client.images.remove(old, noprune=False)
    return tag


@pytest.fixture(scope="module")
def grader_image():
    """(client, tag): the sandbox image plus the Gradescope bundle installed by its setup.sh, offline, as Gradescope
    builds its image: the zip's contents in /autograder/source, setup.sh run there, run_autograder copied."""
    from harness.bundle import gradescope
    from harness.bundle.build import collect

    client = _client()
    base = _sandbox_base(client)
    members = gradescope.files(find_challenge(CHALLENGE), collect(offline=True))

    def lay_out(context: Path) -> None:
        gradescope.write_zip(members, context / "autograder.zip")
        _unzip(context / "autograder.zip", context / "source")
        (context / "autograder.zip").unlink()
        (context / "Dockerfile").write_text(
            "ARG BASE\nFROM ${BASE}\nUSER root\nWORKDIR /autograder\nCOPY source/ /autograder/source/\n"
            "RUN cp /autograder/source/run_autograder /autograder/run_autograder && bash /autograder/source/setup.sh\n")

    return client, _cached_image(client, IMAGE_REPOSITORY, base, members, lay_out)


@pytest.fixture(scope="module")
def prairielearn_image():
    """(client, tag): the grading image `harness bundle prairielearn --image-dir --wheelhouse` describes, built from
    its own Dockerfile with the sandbox image as BASE."""
    from harness.bundle import prairielearn
    from harness.bundle.build import collect

    client = _client()
    base = _sandbox_base(client)
    members = prairielearn.image_files(collect(offline=True))
    return client, _cached_image(client, IMAGE_REPOSITORY + "-pl", base, members,
                                 lambda context: prairielearn.write_folder(members, context, force=True))


def _unzip(archive_path: Path, target: Path) -> None:
    """Extract with the modes the zip records (zipfile's own extract drops them)."""
    with zipfile.ZipFile(archive_path) as archive:
        for info in archive.infolist():
            path = target / info.filename
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(archive.read(info))
            path.chmod((info.external_attr >> 16) & 0o777 or 0o644)


def _tar(files: dict[str, tuple[bytes, int]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        folders = sorted({str(Path(name).parent) for name in files} - {"."})
        for folder in folders:
            info = tarfile.TarInfo(folder)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            archive.addfile(info)
        for name, (data, mode) in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _run_platform(client, image: str, files: dict[str, tuple[bytes, int]], command: str,
                  read: list[str]) -> tuple[int, str, dict[str, str]]:
    """A fresh container of `image` (no network) with `files` put at their absolute paths, `command` run as root;
    returns its exit status, its output, and the text of each path in `read` ('' when missing)."""
    container = client.containers.create(image, command=["sleep", "900"], user="root", network_disabled=True,
                                         working_dir="/")
    try:
        container.start()
        container.put_archive("/", _tar({name.lstrip("/"): value for name, value in files.items()}))
        code, output = container.exec_run(["bash", "-c", command], user="root")
        texts = {}
        for path in read:
            _, text = container.exec_run(["cat", path], user="root")
            texts[path] = text.decode(errors="replace")
        return code, output.decode(errors="replace"), texts
    finally:
        container.remove(force=True)


WALK_RESULT = "/tmp/harness-walk.json"
FORGE_RESULT = "/tmp/harness-forge.json"
CONTROL = "/opt/planted-for-the-walk/harness-control-0d41.txt"
CONTROL_TEXT = "the walk reads this control text: 7f3a91c2"


def _markers(extra: list[str]) -> tuple[list[str], list[str]]:
    """File names and texts the walk looks for: every hidden file's name beginning with test_, and the longest line
    of every hidden file and of the reference solution that the candidate's own files (statement, starter, public
    tests) do not hold; then the planted control's name and text, and `extra`."""
    challenge = find_challenge(CHALLENGE)
    files = [path for path in sorted(challenge.hidden_dir.iterdir()) if path.is_file()] + [challenge.reference]
    public = "\n".join(path.read_text() for path in [challenge.statement, challenge.starter,
                                                     *sorted(challenge.public_dir.iterdir())])
    names = [path.name for path in files if path.name.startswith("test_")]
    texts = [max((line.strip() for line in path.read_text().splitlines() if line.strip() not in public), key=len)
             for path in files]
    return [*names, Path(CONTROL).name], [*texts, CONTROL_TEXT, *extra]


def _hostile(names: list[str], texts: list[str], max_score: float) -> str:
    """The starter, then at import: a results.json claiming full marks written everywhere a platform reads one (and
    its folder and the folder above swapped), the attempts recorded; then a walk over the whole file system for the
    hidden checks and the reference solution, by file name and by content. The markers are written as hex, so that
    this file itself (in the submission folder, in the job folder) holds none of them."""
    starter = find_challenge(CHALLENGE).starter.read_text()
    gradescope = json.dumps({"score": max_score, "output": "forged", "tests": []})
    prairielearn = json.dumps({"gradable": True, "score": 1.0, "message": "forged"})
    return starter + f'''

import json as _json, os as _os

def _forge():
    attempts = {{}}
    for folder, text in (("/autograder/results", {gradescope!r}), ("/grade/results", {prairielearn!r})):
        for name, action in (
            ("mkdir", lambda: _os.makedirs(folder, exist_ok=True)),
            ("write", lambda: open(_os.path.join(folder, "results.json"), "w").write(text)),
            ("swap", lambda: _os.rename(folder, "/tmp/moved-results")),
            ("swap-parent", lambda: _os.rename(_os.path.dirname(folder), "/tmp/moved-parent")),
        ):
            try:
                action()
                attempts[folder + ":" + name] = "done"
            except OSError as error:
                attempts[folder + ":" + name] = type(error).__name__
    with open({FORGE_RESULT!r}, "w") as handle:
        _json.dump(attempts, handle)

def _walk():
    names = {{bytes.fromhex(h).decode() for h in {[name.encode().hex() for name in names]!r}}}
    texts = [bytes.fromhex(h) for h in {[text.encode().hex() for text in texts]!r}]
    found, seen, denied = [], 0, 0
    for root, folders, files in _os.walk("/", onerror=lambda error: None):
        if root == "/":
            folders[:] = [f for f in folders if f not in ("proc", "sys", "dev")]
        for name in files:
            path = _os.path.join(root, name)
            if name in names:
                found.append(["name", path])
            try:
                if _os.path.islink(path) or _os.path.getsize(path) > 2_000_000:
                    continue
                with open(path, "rb") as handle:
                    data = handle.read()
            except OSError:
                denied += 1
                continue
            seen += 1
            found += [["text", path, text.decode()[:40]] for text in texts if text in data]
    report = {{"uid": _os.getuid(), "found": found, "read": seen, "denied": denied}}
    with open({WALK_RESULT!r}, "w") as handle:
        _json.dump(report, handle)
    print("walk:", _json.dumps(report)[:3000])

_forge()
_walk()
'''


def _submissions() -> dict[str, str]:
    challenge = find_challenge(CHALLENGE)
    names, texts = _markers(["gradescope-metadata-secret-5c1e", "prairielearn-data-secret-9b2d",
                             "prairielearn-course-file-secret-3e77"])
    return {"reference": challenge.reference.read_text(), "starter": challenge.starter.read_text(),
            "hostile": _hostile(names, texts, challenge.meta.max_score)}


def _gradescope_layout(solution: str) -> dict[str, tuple[bytes, int]]:
    return {"/autograder/submission/solution.py": (solution.encode(), 0o644),
            "/autograder/submission_metadata.json": (b'{"users": [{"name": "gradescope-metadata-secret-5c1e"}]}', 0o644),
            "/autograder/results/.keep": (b"", 0o644),
            CONTROL: (CONTROL_TEXT.encode(), 0o644)}


def _prairielearn_layout(solution: str, question: Path) -> dict[str, tuple[bytes, int]]:
    files = {f"/grade/tests/{path.relative_to(question / 'tests').as_posix()}": (path.read_bytes(), 0o644)
             for path in sorted((question / "tests").rglob("*")) if path.is_file()}
    files.update({"/grade/student/solution.py": (solution.encode(), 0o644),
                  "/grade/data/data.json": (b'{"params": {"secret": "prairielearn-data-secret-9b2d"}}', 0o644),
                  "/grade/serverFilesCourse/shared/notes.txt": (b"prairielearn-course-file-secret-3e77", 0o644),
                  CONTROL: (CONTROL_TEXT.encode(), 0o644)})
    return files


GRADESCOPE_RUN = "cd /autograder && /autograder/run_autograder > /autograder/results/stdout 2>&1; echo exit $?"
PRAIRIELEARN_RUN = "cd /grade && chmod +x /grade/tests/run && /grade/tests/run; echo exit $?"  # as PrairieGrader does


def _grade_all(client, image: str, platform: str, question: Path | None) -> dict[str, tuple[dict, str, dict]]:
    """Each submission graded in its own container: (results.json, the run's output, the files it read)."""
    results_path = "/autograder/results/results.json" if platform == "gradescope" else "/grade/results/results.json"
    outcomes = {}
    for kind, solution in _submissions().items():
        if platform == "gradescope":
            layout, command = _gradescope_layout(solution), GRADESCOPE_RUN
            read = [results_path, "/autograder/results/stdout", WALK_RESULT, FORGE_RESULT]
        else:
            assert question is not None
            layout, command = _prairielearn_layout(solution, question), PRAIRIELEARN_RUN
            read = [results_path, WALK_RESULT, FORGE_RESULT]
        code, output, texts = _run_platform(client, image, layout, command, read)
        assert code == 0 and output.strip().endswith("exit 0"), f"{platform} {kind}: {output[-3000:]}"
        try:
            results = json.loads(texts[results_path])
        except ValueError:
            pytest.fail(f"{platform} {kind}: results.json is not JSON: {texts[results_path][:500]!r}\n{output[-3000:]}")
        outcomes[kind] = (results, output + texts.get("/autograder/results/stdout", ""), texts)
    return outcomes


def _check_outcomes(platform: str, outcomes: dict[str, tuple[dict, str, dict]], max_score: float) -> None:
    def score(kind: str) -> float:
        results = outcomes[kind][0]
        if platform == "gradescope":
            GradescopeResults.model_validate(results)
            return results["score"]
        PrairieLearnResults.model_validate(results)
        assert results["gradable"] is True, f"{kind}: {results}"
        return results["score"] * max_score

    full = max_score
    assert score("reference") == pytest.approx(full), f"reference: {outcomes['reference'][0]}\n{outcomes['reference'][1][-3000:]}"
    starter = score("starter")
    assert 0 <= starter < full, f"starter: {outcomes['starter'][0]}"
    assert score("hostile") == pytest.approx(starter), f"the forged results.json counted: {outcomes['hostile'][0]}"
    assert "forged" not in json.dumps(outcomes["hostile"][0])
    texts = outcomes["hostile"][2]
    attempts = json.loads(texts[FORGE_RESULT] or "null")
    assert attempts, f"the forging did not run: {outcomes['hostile'][1][-3000:]}"
    assert all(value != "done" for key, value in attempts.items() if not key.endswith(":mkdir")), attempts
    walk = json.loads(texts[WALK_RESULT] or "null")
    assert walk is not None, f"the walk did not run: {outcomes['hostile'][1][-3000:]}"
    assert walk["uid"] == 65534, f"the submission ran as uid {walk['uid']}"
    control = [hit for hit in walk["found"] if Path(hit[1]) == Path(CONTROL)]
    assert {hit[0] for hit in control} == {"name", "text"}, f"the walk missed the planted control file: {walk}"
    leaks = [hit for hit in walk["found"] if Path(hit[1]) != Path(CONTROL)]
    assert leaks == [], f"the submission found the grader's files: {leaks}"
    assert walk["read"] > 1000, f"the walk read only {walk['read']} files"


@pytest.mark.docker
def test_gradescope_bundle_grades_in_gradescopes_layout(grader_image) -> None:
    client, image = grader_image
    challenge = find_challenge(CHALLENGE)
    outcomes = _grade_all(client, image, "gradescope", None)
    _check_outcomes("gradescope", outcomes, challenge.meta.max_score)
    stdout = outcomes["reference"][1]
    assert '"audience": "grader"' in stdout, "run_autograder's log (instructors only) holds the grader's report"
    assert "namespaces" in stdout, "the report's notes say what the local backend could not isolate"


@pytest.mark.docker
def test_a_grading_image_that_cannot_drop_to_uid_65534_runs_no_submission(grader_image) -> None:
    """Without setpriv the submission would run as root and read everything: the grader refuses, and says so."""
    client, image = grader_image
    command = "mv /usr/bin/setpriv /usr/bin/setpriv.gone && " + GRADESCOPE_RUN
    results_path = "/autograder/results/results.json"
    code, output, texts = _run_platform(client, image, _gradescope_layout(_submissions()["hostile"]), command,
                                        [results_path, WALK_RESULT, FORGE_RESULT])
    assert code == 0 and output.strip().endswith("exit 0"), output
    results = GradescopeResults.model_validate_json(texts[results_path])
    assert results.score == 0 and "cannot run a submission as uid 65534" in results.output, results
    assert "No such file" in texts[WALK_RESULT] and "No such file" in texts[FORGE_RESULT], "the submission ran"


@pytest.mark.docker
def test_prairielearn_bundle_grades_in_prairielearns_layout(prairielearn_image, question: Path) -> None:
    client, image = prairielearn_image
    challenge = find_challenge(CHALLENGE)
    outcomes = _grade_all(client, image, "prairielearn", question)
    _check_outcomes("prairielearn", outcomes, challenge.meta.max_score)
    assert outcomes["reference"][0]["score"] == 1.0


@pytest.mark.docker
def test_an_installed_harness_bundles_by_repacking_its_own_wheel(grader_image) -> None:
    """`harness bundle` after a pip install (no checkout to build from): the wheel is rebuilt from the installation."""
    client, image = grader_image
    pip_wheel = next((REPOSITORY / "build" / "wheels").glob("pip-*.whl"))
    check = ("import io, zipfile; z = zipfile.ZipFile('/tmp/a.zip'); "
             "w = next(n for n in z.namelist() if n.startswith('wheels/pytorch_training_grader-')); "
             "inner = zipfile.ZipFile(io.BytesIO(z.read(w))).namelist(); "
             f"print('ok' if 'harness/_bundle/challenges/{CHALLENGE}/hidden/probes.py' in inner and "
             "any(n.endswith('.dist-info/RECORD') for n in inner) and 'harness/cli.py' in inner else inner)")
    command = (f"cd /tmp && /opt/harness-grader/bin/harness bundle gradescope {CHALLENGE} -o /tmp/a.zip && "
               f"/opt/harness-grader/bin/python -c \"{check}\"")
    code, output, _ = _run_platform(client, image, {f"/root/.cache/harness/wheels/{pip_wheel.name}":
                                                    (pip_wheel.read_bytes(), 0o644)}, command, [])
    assert code == 0 and output.strip().endswith("ok"), output[-3000:]
