"""The grader's entry point inside a platform's grading container: `python -I -m harness.bundle.entry ...`.

Gradescope's `run_autograder` and PrairieLearn's `tests/run` call it as root, in a container that the platform starts
for one submission and throws away after: that container is the sandbox's outer wall, and the harness runs the
submission with the local backend inside it (as uid 65534 where the Python installation is readable by that user;
in a container without namespaces that is all the isolation there is, and the report's notes say so). So what the
submission must not read is made unreadable to uid 65534 before it runs:

- `lock PATH...` (meant for the platform's container: it changes the owner and modes of the installed harness; a
  checkout is never changed): the bundle's own folder (the challenge with its hidden checks, the reference solution, the
  wheels), the catalog and reference solutions bundled inside the installed harness (`harness/_bundle/`), the rest
  of the harness package and its RECORD (which lists the catalog's file names), and any PATH given: owned by root,
  nothing for group or others. Only the way to the sandbox worker (`harness/sandbox/worker.py`) stays open, since
  the worker runs as 65534.
- `grade`: locks again (cheap, and a platform may copy files in with any mode), makes the results folder root's and
  closed to others (so a submission cannot leave a results.json of its own there, nor swap the folder), picks the
  submitted file, copies it into a private folder, runs `harness grade ID FILE --backend local`, and writes the
  platform's results.json from the report (always the candidate view, through harness.export). Whatever goes
  wrong (no file submitted, the grader failing, the time running out), a valid results.json says so; exit 0
  means results.json was written.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Optional

import harness
from harness.bundle.common import DISTRIBUTION, MANIFEST
from harness.report import Environment, Report, RunStatus, Submission
from harness.resources import bundle as installed_bundle

PLATFORMS = ("gradescope", "prairielearn")
NOBODY = 65534
GRACE_SECONDS = 10  # after an interrupt, how long the harness has to stop its sandbox and exit
MAX_SUBMISSION_BYTES = 32 * 2**20  # not copied beyond this; the harness's own limits (512 KiB, notebooks 16 MiB) say more


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.bundle.entry", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    lock_parser = commands.add_parser("lock", help="make the grader's files unreadable to the submission's user")
    lock_parser.add_argument("paths", nargs="*", type=Path)
    grade_parser = commands.add_parser("grade", help="grade the submission and write the platform's results.json")
    grade_parser.add_argument("--platform", choices=PLATFORMS, required=True)
    grade_parser.add_argument("--bundle", type=Path, required=True, help="the bundle's folder (holds bundle.json)")
    grade_parser.add_argument("--submission", type=Path, required=True, help="the folder the platform put the files in")
    grade_parser.add_argument("--results", type=Path, required=True, help="the results.json to write")
    grade_parser.add_argument("--hide", type=Path, action="append", default=[], help="more paths to lock first")
    args = parser.parse_args(argv)
    if args.command == "lock":
        for line in lock([*args.paths]):
            print(line)
        return 0
    return grade(args.platform, args.bundle, args.submission, args.results, args.hide)


# ---------------------------------------------------------------- locking


def lock(paths: list[Path]) -> list[str]:
    """Make `paths` and the installed harness unreadable to anyone but root (only the sandbox worker stays
    reachable); returns a line per path saying what was done. A no-op but for the message when not root."""
    if os.geteuid() != 0:
        return ["not root: nothing locked (the submission runs as this user and can read what it can)"]
    done = []
    for path in paths:
        if os.path.lexists(path):
            _close_tree(path)
            done.append(f"locked {path}")
    package = Path(harness.__file__).resolve().parent
    if installed_bundle() is None:  # a checkout (an editable install): its owner's files, never changed from here
        done.append(f"{package} is a checkout, not an installed wheel: left as it is")
        return done
    worker = package / "sandbox" / "worker.py"
    _close_tree(package)
    for folder in (package, worker.parent):
        folder.chmod(0o711)  # passable, not listable: the worker runs as 65534 from here
    worker.chmod(0o644)
    done.append(f"locked {package} but for {worker.relative_to(package.parent)}")
    for info in _dist_info_folders():
        _close_tree(info)
        done.append(f"locked {info}")
    return done


def _close_tree(top: Path) -> None:
    """Root's, with nothing for group and others, all the way down (links are changed, never followed)."""
    _close(top)
    if top.is_dir() and not top.is_symlink():
        for folder, folders, files in os.walk(top):
            for name in [*folders, *files]:
                _close(Path(folder) / name)


def _close(path: Path) -> None:
    info = path.lstat()
    os.lchown(path, 0, 0)
    if not stat.S_ISLNK(info.st_mode):
        path.chmod(stat.S_IMODE(info.st_mode) & 0o700 | (0o700 if stat.S_ISDIR(info.st_mode) else 0))


def _dist_info_folders() -> list[Path]:
    try:
        dist = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return []
    folders = {item.parts[0] for item in dist.files or [] if item.parts and item.parts[0].endswith(".dist-info")}
    return [Path(str(dist.locate_file(name))) for name in sorted(folders)]


def secure_results(results: Path) -> None:
    """The results folder is root's and closed to writers other than root, and so is the folder above it, so a
    submission can neither write results.json nor replace the folder; a results.json already there goes."""
    folder = results.parent
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        results.unlink(missing_ok=True)
        return
    for path in (folder.parent, folder):
        info = path.lstat()
        if path == folder or info.st_uid != 0 or info.st_mode & 0o022:
            os.lchown(path, 0, 0)
            path.chmod(stat.S_IMODE(info.st_mode) & ~0o022 | (0o755 if path == folder else 0))
    if results.is_dir() and not results.is_symlink():
        shutil.rmtree(results)
    else:
        results.unlink(missing_ok=True)


# ---------------------------------------------------------------- grading


def grade(platform: str, bundle: Path, submission: Path, results: Path, hide: list[Path]) -> int:
    """Grade and write results.json; 0 when it was written (whatever it says), 1 when even that failed."""
    try:
        return _grade(platform, bundle, submission, results, hide)
    except Exception as error:  # the grader's own failure: the student still gets a results.json saying so
        print(f"error: the entry point failed: {type(error).__name__}: {error}", file=sys.stderr)
        try:
            _write(platform, results, _plain("unknown", 0.0, "unknown", RunStatus.error,
                                             f"the autograder failed: {type(error).__name__}"))
        except OSError:
            return 1
        return 0


def _grade(platform: str, bundle: Path, submission: Path, results: Path, hide: list[Path]) -> int:
    started = time.monotonic()
    try:
        manifest = json.loads((bundle / MANIFEST).read_text(encoding="utf-8"))
        challenge_id, expected = str(manifest["challenge"]), str(manifest["submission_file"])
        max_score, timeout = float(manifest["max_score"]), float(manifest["timeout_seconds"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        print(f"error: {bundle / MANIFEST} cannot be read: {error}", file=sys.stderr)
        secure_results(results)
        _write(platform, results, _plain("unknown", 0.0, "unknown", RunStatus.error,
                                         f"the autograder's bundle is damaged ({MANIFEST}: {error})"))
        return 0
    try:
        for line in lock([bundle, *hide]):
            print(line)
        secure_results(results)
    except OSError as error:
        _write(platform, results, _plain(challenge_id, max_score, expected, RunStatus.error,
                                         f"the autograder could not protect its files: {error}"))
        return 0
    refusal = preflight()
    with tempfile.TemporaryDirectory(prefix="harness-entry-") as private:  # mkdtemp: 0700, root's
        chosen = pick_submission(submission, expected)
        if refusal is not None:
            report = _plain(challenge_id, max_score, expected, RunStatus.error, refusal)
        elif isinstance(chosen, str):
            report = _plain(challenge_id, max_score, expected, RunStatus.ungradable, chosen)
        elif chosen.stat().st_size > MAX_SUBMISSION_BYTES:
            report = _plain(challenge_id, max_score, expected, RunStatus.ungradable,
                            f"{chosen.name} is {chosen.stat().st_size / 2**20:.0f} MiB; a submission may be at most "
                            "512 KiB (a notebook 16 MiB)")
        else:
            target = Path(private) / "submission" / (Path(expected).stem + chosen.suffix.lower())
            target.parent.mkdir()
            shutil.copyfile(chosen, target, follow_symlinks=False)
            budget = max(30.0, timeout - max(15.0, 0.1 * timeout) - (time.monotonic() - started))
            report = _run_harness(challenge_id, max_score, expected, bundle, target, Path(private), budget,
                                  show_grader_view=platform == "gradescope")
        _write(platform, results, report)
    print(f"wrote {results}: {report.status.value}, {report.score:g}/{report.max_score:g}")
    return 0


def preflight() -> Optional[str]:
    """Why grading must not start here, or None: as root, the local backend must be able to run the submission as
    uid 65534 (setpriv present, the Python installation and the worker readable by that user), or the submission
    would run as root and could read everything this entry point locked."""
    if os.geteuid() != 0:
        print("note: not root, so the submission runs as this user and can read what it can")
        return None
    from harness.sandbox.base import SandboxError
    from harness.sandbox.local import LocalBackend

    try:
        backend = LocalBackend()
    except SandboxError as error:
        return f"the local sandbox cannot start in this grading image: {error}"
    try:
        if not backend.drop_to_nobody:
            why = "; ".join(note for note in backend.isolation_notes() if "uid 0" in note) or "unknown"
            return (f"this grading image cannot run a submission as uid 65534 ({why}); the grader will not run it "
                    "as root")
        print(f"local isolation: {backend.mode}, the submission runs as uid 65534")
        return None
    finally:
        backend.close()


def pick_submission(folder: Path, expected: str) -> Path | str:
    """The submitted file to grade, or why there is none. `expected` (solution.py), or for code its notebook
    (solution.ipynb), at the top or (once) anywhere below; else the one file of that kind at the top."""
    stem, suffix = Path(expected).stem, Path(expected).suffix
    names = [expected, stem + ".ipynb"] if suffix == ".py" else [expected]
    if not folder.is_dir():
        return f"nothing was submitted (no folder {folder}); submit {expected}"
    for name in names:
        if _regular(folder / name):
            return folder / name
    for name in names:
        found = [path for path in sorted(folder.rglob(name)) if _regular(path)]
        if len(found) == 1:
            return found[0]
    top = sorted(path for path in folder.iterdir() if _regular(path))
    kinds = [path for path in top if path.suffix.lower() in {Path(name).suffix for name in names}]
    if len(kinds) == 1:
        return kinds[0]
    listing = ", ".join(path.name for path in top[:10]) + (", ..." if len(top) > 10 else "")
    held = f"; the submission holds {listing}" if top else "; the submission is empty"
    return f"no {' or '.join(names)} was submitted{held}. Submit one file named {expected}"


def _regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(path.lstat().st_mode)
    except OSError:
        return False


def _run_harness(challenge_id: str, max_score: float, expected: str, bundle: Path, file: Path, private: Path,
                 budget: float, *, show_grader_view: bool) -> Report:
    """`harness grade` in a child process (a crash of torch in the grader's process still leaves us a results.json),
    stopped with an interrupt, then a kill, when `budget` seconds run out."""
    out = private / "report.json"
    command = [sys.executable, "-I", "-m", "harness", "--challenges", str(bundle / "challenges"), "grade",
               challenge_id, str(file), "--backend", "local", "--output", str(out)]
    environment = {key: value for key, value in os.environ.items()
                   if key in ("PATH", "LANG", "LC_ALL", "TZ", "HARNESS_LOCAL_ISOLATION")}
    environment["HOME"] = str(private)
    process = subprocess.Popen(command, cwd=private, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL)
    try:
        log, _ = process.communicate(timeout=budget)
        timed_out = False
    except subprocess.TimeoutExpired:
        timed_out = True
        process.send_signal(signal.SIGINT)  # the harness stops its sandbox and exits 130
        try:
            log, _ = process.communicate(timeout=GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            log, _ = process.communicate()
    text = log.decode("utf-8", errors="replace")
    if show_grader_view:  # Gradescope shows run_autograder's output to the course staff only
        print(text[-20_000:], end="" if text.endswith("\n") else "\n")
    else:  # elsewhere the log may reach the student: its exit status only
        print(f"harness grade exited with status {process.returncode}")
    if timed_out:
        return _plain(challenge_id, max_score, expected, RunStatus.error,
                      f"grading did not finish within {budget:.0f} seconds; raise the autograder's timeout")
    try:
        report = Report.model_validate_json(out.read_bytes())
    except (OSError, ValueError) as error:
        last = text.strip().splitlines()[-1] if text.strip() else f"exit status {process.returncode}"
        return _plain(challenge_id, max_score, expected, RunStatus.error,
                      f"the grader stopped without a report ({type(error).__name__}): {last[:300]}")
    if show_grader_view:
        print(report.model_dump_json(indent=2))  # Gradescope shows run_autograder's output to the course staff only
    return report


def _plain(challenge_id: str, max_score: float, file_name: str, status: RunStatus, reason: str) -> Report:
    """A report with no checks: a submission that never reached the harness, or a harness that never answered."""
    return Report(challenge_id=challenge_id, submission=Submission(file_name=file_name), status=status, reason=reason,
                  score=0.0, max_score=max_score, percent=0.0, environment=Environment(harness_version=harness.__version__))


def _write(platform: str, results: Path, report: Report) -> None:
    """The platform's results.json for `report` (candidate view), written whole, root's, readable by all."""
    if platform == "gradescope":
        from harness.export import gradescope as exporter
    else:
        from harness.export import prairielearn as exporter  # type: ignore[no-redef]
    data = exporter.render(report)
    results.parent.mkdir(parents=True, exist_ok=True)
    partial = results.with_name(f".{results.name}.partial")
    partial.unlink(missing_ok=True)
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    os.replace(partial, results)


if __name__ == "__main__":
    sys.exit(main())
