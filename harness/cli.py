"""The `harness` command line: parse, call one core function, map outcomes to exit codes.

Exit codes: 0 graded (whatever the score) or command succeeded; 1 ungradable submission, or a
validation that found problems; 2 usage error (unknown challenge, bad option); 3 the grader or
a challenge failed (never the candidate's fault); 130 interrupted (Ctrl-C), after the sandbox
was stopped and removed. A batch (`grade ID PATH... --out DIR`) exits 0 when every submission
has a report, whatever its score or whether it was gradable, 3 when the grader failed on any
(running it again grades those again), 130 when interrupted (finished reports are kept).
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import json
import logging
import os
import shutil
import sys
import threading
from pathlib import Path
from typing import Callable, NoReturn, Optional

import click

import harness
from harness.challenge import (CHALLENGES_DIR, Challenge, ChallengeError, UnknownChallengeError, all_challenges,
                               find_challenge)
from harness.dispatch import needs_sandbox
from harness.report import Audience, Report, RunStatus, for_candidate, summary_line

EXIT_OK, EXIT_UNGRADABLE, EXIT_USAGE, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
log = logging.getLogger("harness")


def _challenge(ctx: click.Context, param: click.Parameter, value: Optional[str]) -> Optional[Challenge]:
    if value is None:
        return None
    try:
        return find_challenge(value, _catalog(ctx))
    except UnknownChallengeError as error:
        raise click.BadParameter(str(error)) from None
    except ChallengeError as error:
        _fail(str(error))


def _catalog(ctx: click.Context) -> Path:
    return ctx.find_root().obj or CHALLENGES_DIR


def _fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def backend_option(function: Callable) -> Callable:
    """--backend, shared by every command that runs submissions."""
    return click.option("--backend", type=click.Choice(["auto", "docker", "local"]), default="auto", show_default=True,
                        help="Where submissions run: docker (locked-down container), local (child process; isolates less), auto (docker if available).")(function)


def seed_option(function: Callable) -> Callable:
    return click.option("--seed", type=click.IntRange(0, 2**31 - 1), default=None,
                        help="Seed for the hidden inputs (default: fresh for each run). The same seed reproduces a report.")(function)


def _backend(name: str, size: int = 1):
    from harness.sandbox.base import SandboxError
    from harness.sandbox.select import make_backend

    try:
        return make_backend(name, size)
    except SandboxError as error:
        _fail(str(error))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(harness.__version__, prog_name="harness")
@click.option("-v", "--verbose", is_flag=True, help="Log what the harness does to stderr.")
@click.option("--challenges", "challenges_dir", type=click.Path(file_okay=False, exists=True, path_type=Path),
              envvar="HARNESS_CHALLENGES", default=CHALLENGES_DIR, show_default=True,
              help="The folder of challenges (its sibling reference_solutions/ holds their solutions).")
@click.pass_context
def main(ctx: click.Context, verbose: bool, challenges_dir: Path) -> None:
    """Grade PyTorch training challenges in a locked-down sandbox."""
    ctx.obj = challenges_dir.resolve()
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s: %(message)s")


@main.command("list")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text", show_default=True)
@click.pass_context
def list_command(ctx: click.Context, fmt: str) -> None:
    """List the challenges."""
    from harness.catalog import render_catalog

    try:
        click.echo(render_catalog(all_challenges(_catalog(ctx)), fmt))
    except ChallengeError as error:
        _fail(str(error))


@main.command()
@click.argument("challenge", callback=_challenge)
def show(challenge: Challenge) -> None:
    """Print a challenge's statement."""
    click.echo(challenge.statement.read_text(encoding="utf-8"))


@main.command()
@click.argument("challenge", callback=_challenge)
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--notebook", is_flag=True, help="Write the starter as a Jupyter notebook (solution.ipynb: the "
              "statement, the starter code, a cell running the example tests) instead of the starter .py file.")
def init(challenge: Challenge, directory: Path, notebook: bool) -> None:
    """Set up DIRECTORY for a candidate: statement, starter and public tests (never hidden files)."""
    files = {challenge.statement: directory / "statement.md", challenge.starter: directory / challenge.starter.name}
    if challenge.public_dir.is_dir():
        files.update({path: directory / path.name for path in sorted(challenge.public_dir.iterdir()) if path.is_file()})
    written = None
    if notebook:  # the notebook replaces the starter; a solution.py left there would be graded in its place
        from harness.starter_notebook import NotebookStarterError, notebook_name, starter_notebook

        try:
            written = (directory / notebook_name(challenge), starter_notebook(challenge))
        except NotebookStarterError as error:
            _fail(str(error), EXIT_USAGE)
        files.pop(challenge.starter)
    targets = [*files.values(), *([written[0], directory / challenge.starter.name] if written else [])]
    clashes = [str(target) for target in targets if target.exists()]
    if clashes:
        _fail(f"will not overwrite existing files: {', '.join(clashes)}", EXIT_USAGE)
    directory.mkdir(parents=True, exist_ok=True)
    for source, target in files.items():
        shutil.copyfile(source, target)
    if written:
        written[0].write_bytes(written[1])
    edit = written[0].name if written else challenge.starter.name
    click.echo(f"{challenge.id}: wrote {len(files) + bool(written)} files to {directory}; edit {edit}, then "
               + ("run its cells (one runs the example tests)" if written else "run pytest there"))


@main.command()
@click.argument("challenge", callback=_challenge)
@click.argument("submissions", nargs=-1, required=True, type=click.Path(path_type=Path))
@backend_option
@seed_option
@click.option("--audience", type=click.Choice([a.value for a in Audience]), default="grader", show_default=True,
              help="'candidate' drops the messages of hidden checks and the captured output.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="One submission: write the JSON report here instead of stdout.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="A batch: the folder for reports/<id>.json, grades.csv and summary.json (resumed when it exists).")
@click.option("-j", "--jobs", type=click.IntRange(1, 64), default=None,
              help="A batch: submissions graded at once (default: the number of CPUs).")
@click.option("--id-pattern", default=None,
              help="A batch: a regular expression that picks each student id out of the file or folder name "
                   "(its group 'id', else its first group, else the whole match).")
@click.option("--regrade", is_flag=True, help="A batch: grade again even what an earlier run already graded.")
def grade(challenge: Challenge, submissions: tuple[Path, ...], backend: str, seed: Optional[int], audience: str,
          output: Optional[Path], out_dir: Optional[Path], jobs: Optional[int], id_pattern: Optional[str],
          regrade: bool) -> None:
    """Grade SUBMISSIONS. One file, or a folder holding the challenge's submission file, prints its JSON report.
    With --out DIR: a whole class (files, folders of them, .zip files), one report per student (see the README)."""
    if out_dir is None and len(submissions) == 1 and submissions[0].suffix.lower() != ".zip":
        if jobs is not None or id_pattern is not None or regrade:
            _fail("-j, --id-pattern and --regrade are for a batch (--out DIR)", EXIT_USAGE)
        _grade_one(challenge, submissions[0], backend, seed, audience, output)
    if output is not None:
        _fail("--output names one report's file; a batch writes its reports into --out DIR", EXIT_USAGE)
    if out_dir is None:
        _fail(f"{len(submissions)} paths may hold many submissions: give --out DIR for their reports, grades.csv "
              "and summary.json", EXIT_USAGE)
    _grade_batch(challenge, submissions, out_dir, backend, seed, audience, jobs or os.cpu_count() or 1, id_pattern,
                 regrade)


def _grade_one(challenge: Challenge, submission: Path, backend: str, seed: Optional[int], audience: str,
               output: Optional[Path]) -> NoReturn:
    sandbox = None
    try:
        try:
            sandbox = _backend(backend) if needs_sandbox(challenge) else None
            report = _grade_with(challenge, sandbox, submission, seed)
        finally:
            if sandbox is not None:
                sandbox.close()
    except KeyboardInterrupt:
        _fail("interrupted; the sandbox was stopped and removed", EXIT_INTERRUPTED)
    if audience == Audience.candidate.value:
        report = for_candidate(report)
    text = report.model_dump_json(indent=2)
    if output:
        try:
            output.write_text(text + "\n", encoding="utf-8")
        except OSError as error:
            click.echo(text)  # the report is not lost: it goes to stdout instead
            _fail(f"could not write {output} ({error}); the report is on stdout")
    else:
        click.echo(text)
    click.echo(summary_line(report), err=True)
    sys.exit({RunStatus.graded: EXIT_OK, RunStatus.ungradable: EXIT_UNGRADABLE}.get(report.status, EXIT_ERROR))


def _grade_batch(challenge: Challenge, paths: tuple[Path, ...], out_dir: Path, backend: str, seed: Optional[int],
                 audience: str, jobs: int, id_pattern: Optional[str], regrade: bool) -> NoReturn:
    import tempfile

    from harness.batch.discover import BatchInputError, discover
    from harness.batch.runner import batch_seed, run_batch
    from harness.batch.store import ResultStore
    from harness.batch.summary import render_summary, summarize
    from harness.submission import accepted_files

    logging.getLogger("harness.batch").setLevel(logging.INFO)
    with tempfile.TemporaryDirectory(prefix="harness-batch-") as unpack:
        try:
            found = discover(list(paths), accepted_files(challenge), id_pattern=id_pattern, unpack_dir=Path(unpack))
            store = ResultStore(out_dir)
            seed = batch_seed(store, challenge, seed)
        except BatchInputError as error:
            _fail(str(error), EXIT_USAGE)
        for note in found.skipped:
            click.echo(f"skipped {note}", err=True)
        click.echo(f"{challenge.id}: {len(found.entries)} submissions, seed {seed}, {jobs} at a time, into {out_dir}",
                   err=True)
        cpus = os.cpu_count() or 1
        if jobs > cpus and needs_sandbox(challenge):
            click.echo(f"note: -j {jobs} on {cpus} CPUs: the sandboxes share the CPUs, every probe takes longer, and a "
                       f"slow but correct submission may run past its {challenge.meta.limits.wall_seconds:g} s limit",
                       err=True)
        sandbox = None
        try:
            try:
                sandbox = _backend(backend, jobs) if needs_sandbox(challenge) else None
                outcome = run_batch(challenge, found.entries, store, backend=sandbox, seed=seed, jobs=jobs,
                                    regrade=regrade, candidate_view=audience == Audience.candidate.value)
            finally:
                if sandbox is not None:
                    sandbox.close()
        except KeyboardInterrupt:
            _fail(f"interrupted; the sandboxes were stopped and removed. Finished reports are in {out_dir}; "
                  "run the same command again to grade the rest", EXIT_INTERRUPTED)
    reports = [report for report in outcome.reports if report is not None]
    click.echo(render_summary(summarize(reports, challenge_id=challenge.id, seed=seed)), err=True)
    click.echo(f"{outcome.graded} graded now, {outcome.reused} kept from an earlier run, in {outcome.seconds:.1f} s; "
               f"grades: {out_dir / 'grades.csv'}", err=True)
    sys.exit(EXIT_ERROR if outcome.counts.get(RunStatus.error.value) else EXIT_OK)


@main.command()
@click.argument("challenges", nargs=-1)
@backend_option
@seed_option
@click.pass_context
def validate(ctx: click.Context, challenges: tuple[str, ...], backend: str, seed: Optional[int]) -> None:
    """For authors: check that each challenge's checks work (all challenges when none are named)."""
    from harness.validate import validate_challenge

    catalog = _catalog(ctx)
    try:
        chosen = [find_challenge(name, catalog) for name in challenges] if challenges else all_challenges(catalog)
    except UnknownChallengeError as error:
        _fail(str(error), EXIT_USAGE)
    except ChallengeError as error:
        _fail(str(error))
    seed = 12345 if seed is None else seed
    failures = 0
    sandbox = None
    try:
        try:
            for challenge in chosen:
                if needs_sandbox(challenge) and sandbox is None:
                    sandbox = _backend(backend)
                grade = functools.partial(_grade_with, challenge, sandbox)
                for verdict in validate_challenge(challenge, grade, seed):
                    failures += not verdict.ok
                    click.echo(f"{'ok  ' if verdict.ok else 'FAIL'} {verdict.challenge_id}: {verdict.subject}: {verdict.detail}")
        finally:
            if sandbox is not None:
                sandbox.close()
    except KeyboardInterrupt:
        _fail("interrupted; the sandbox was stopped and removed", EXIT_INTERRUPTED)
    click.echo(f"{len(chosen)} challenges, {failures} problems", err=True)
    sys.exit(EXIT_UNGRADABLE if failures else EXIT_OK)


def _grade_with(challenge: Challenge, sandbox, path: Path, seed: Optional[int]) -> Report:
    from harness.dispatch import grade_submission

    return grade_submission(challenge, path, sandbox, seed)


@main.command("export")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--format", "fmt", required=True,
              type=click.Choice(["gradescope", "prairielearn", "junit", "csv", "jsonl", "html"]),
              help="gradescope / prairielearn: one report's results.json, always the candidate view; junit: a "
                   "testsuite per report; csv: a row per student, a column per check; jsonl: a report per line; "
                   "html: the class page for graders (charts, a row per student, every check's message).")
@click.option("--audience", type=click.Choice([a.value for a in Audience]), default="grader", show_default=True,
              help="For junit, csv and jsonl: 'candidate' drops hidden checks' messages and the captured output.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write here (atomically) instead of stdout.")
def export_command(path: Path, fmt: str, audience: str, output: Optional[Path]) -> None:
    """Export PATH (a report JSON file, or a batch's --out folder) to a platform's format."""
    from harness.export import ExportError, export, load_reports

    try:
        if fmt == "html":  # the class page: one writer for `export --format html` and `report`
            from harness.classpage import render_class_page, write_class_page

            if output is not None:
                data = write_class_page(path, output).read_bytes()
            else:
                data = render_class_page(load_reports(path)).encode("utf-8")
        else:
            data = export(load_reports(path), fmt, output, audience=audience)
    except ExportError as error:
        _fail(str(error), EXIT_USAGE)
    except OSError as error:
        _fail(f"could not write {output}: {error}")
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        click.echo(f"wrote {output} ({fmt}, {len(data)} bytes)", err=True)


@main.command("report")
@click.argument("out_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to write the page (default: OUT_DIR/report.html).")
def report_command(out_dir: Path, output: Optional[Path]) -> None:
    """Write the class page of a batch's OUT_DIR, with each student's candidate-view feedback page beside it
    (feedback/) and the most similar pairs of the code the batch kept. `export --format html` to stdout gives the
    page alone."""
    from harness.classpage import write_class_page
    from harness.export import ExportError

    target = output or out_dir / "report.html"
    try:
        write_class_page(out_dir, target)
    except ExportError as error:
        _fail(str(error), EXIT_USAGE)
    click.echo(f"wrote {target}", err=True)


@main.command()
def schema() -> None:
    """Print the JSON Schema of the report."""
    click.echo(json.dumps(Report.model_json_schema(), indent=2))


@main.group()
def image() -> None:
    """The Docker sandbox image."""


@image.command("build")
@click.option("--base", type=click.Choice(["auto", "pull", "debootstrap"]), default="auto", show_default=True,
              help="Base image: pull python:3.11-slim, or make a Debian one with debootstrap (auto: pull if a registry answers).")
def image_build(base: str) -> None:
    """Build the sandbox image (no network needed inside the build)."""
    from harness.image import ImageError, build_image
    from harness.sandbox.base import SandboxError

    logging.getLogger("harness.image").setLevel(logging.INFO)  # a build takes minutes: say what it is doing

    try:
        click.echo(build_image(base=base))
    except (ImageError, SandboxError) as error:
        _fail(str(error))


@image.command("ensure")
@click.option("--base", type=click.Choice(["auto", "pull", "debootstrap"]), default="auto", show_default=True,
              help="Base image, when a build is needed (as for `image build`).")
def image_ensure(base: str) -> None:
    """Print the sandbox image's tag, building it only if the engine does not have it (returns at once when it does)."""
    from harness.image import ImageError, ensure_image
    from harness.sandbox.base import SandboxError

    logging.getLogger("harness.image").setLevel(logging.INFO)
    try:
        click.echo(ensure_image(base=base))
    except (ImageError, SandboxError) as error:
        _fail(str(error))


@image.command("tag")
def image_tag_command() -> None:
    """Print the tag of the image this harness grades with (a hash of the Dockerfile, the worker and the lock)."""
    from harness.image import image_tag

    click.echo(image_tag())


from harness.similar_command import similar_command  # noqa: E402  (its module imports this one's helpers lazily)
main.add_command(similar_command)
from harness.bundle.cli import bundle as bundle_command  # noqa: E402  (imports this module's helpers)
main.add_command(bundle_command)
from harness.service.cli import serve_commands  # noqa: E402  (click and the settings only: the rest loads lazily)
for _service_command in serve_commands:
    main.add_command(_service_command)


def run() -> None:
    """The `harness` program: the command line, with Ctrl-C anywhere (even while starting) exiting 130."""
    try:
        main(standalone_mode=False)
    except (click.exceptions.Abort, KeyboardInterrupt):  # click turns some Ctrl-Cs into Abort
        click.echo("error: interrupted", err=True)
        _exit_now(EXIT_INTERRUPTED)
    except click.exceptions.ClickException as error:
        error.show()
        sys.exit(error.exit_code)
    except SystemExit as done:
        if done.code == EXIT_INTERRUPTED:
            _exit_now(EXIT_INTERRUPTED)
        _finish(done.code)
    _finish(EXIT_OK)


def _finish(code: "str | int | None") -> NoReturn:
    """Exit as Python would (other threads joined, atexit handlers run, logs flushed), but once torch is loaded,
    without tearing down the interpreter's modules: that alone takes 0.3-0.5 s of every grading command."""
    if "torch" not in sys.modules:
        sys.exit(code)
    try:
        for thread in threading.enumerate():
            if thread is not threading.current_thread() and not thread.daemon:
                thread.join()
        atexit._run_exitfuncs()  # the sandbox backends' last-resort cleanup among them
        logging.shutdown()
    except KeyboardInterrupt:  # a Ctrl-C while leaving: as one anywhere else
        click.echo("error: interrupted", err=True)
        _exit_now(EXIT_INTERRUPTED)
    if code is None:
        code = EXIT_OK
    elif not isinstance(code, int):  # sys.exit("message"): printed, exit status 1, as Python does
        with contextlib.suppress(OSError, ValueError):
            print(code, file=sys.stderr)
        code = 1
    _exit_now(code)


def _exit_now(code: int) -> NoReturn:
    """Exit without the interpreter's shutdown: after a Ctrl-C, a trusted-side thread (the reference run)
    may still be inside torch, and tearing the interpreter down under it aborts the process (SIGABRT)."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe (`| head`) loses nothing worth a traceback
            stream.flush()
    os._exit(code)
