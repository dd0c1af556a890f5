"""`harness bundle gradescope|prairielearn`: the click commands (registered in harness/cli.py).

Only click is imported at module level, so `harness --help` stays fast; the bundle's modules load when a command runs.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import click

from harness.challenge import Challenge
from harness.cli import EXIT_ERROR, EXIT_USAGE, _challenge, _fail


bundle: click.Group = click.Group("bundle", help="Ready-made autograders for Gradescope and PrairieLearn (see the README).")


def _wheelhouse_option(function):
    return click.option("--wheelhouse", is_flag=True,
                        help="Ship every wheel the grader installs (torch included, about 250 MB), so that setup.sh "
                             "installs offline; by default it installs the pinned versions from PyPI and PyTorch's "
                             "CPU index.")(function)


@bundle.command("gradescope")
@click.argument("challenge", callback=_challenge)
@click.option("--output", "-o", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The zip to write (upload it as the assignment's autograder).")
@_wheelhouse_option
@click.option("--timeout", type=click.IntRange(60, 3600), default=600, show_default=True,
              help="Seconds the grader may take; set the assignment's autograder timeout to at least this.")
def gradescope_command(challenge: Challenge, output: Path, wheelhouse: bool, timeout: int) -> None:
    """Write a Gradescope autograder zip for CHALLENGE: setup.sh, run_autograder, the challenge, the harness wheel."""
    from harness.bundle import gradescope
    from harness.bundle.common import BundleError

    if not output.parent.is_dir():
        _fail(f"{output}: the folder {output.parent} does not exist", EXIT_USAGE)
    started = time.monotonic()
    try:
        artifacts = _artifacts(wheelhouse)
        gradescope.write_zip(gradescope.files(challenge, artifacts, timeout=timeout), output)
    except BundleError as error:
        _fail(str(error), EXIT_ERROR)
    except OSError as error:
        _fail(f"could not write {output}: {error}", EXIT_ERROR)
    size = output.stat().st_size / 1e6
    click.echo(f"wrote {output} ({size:.1f} MB, {'offline wheels' if wheelhouse else 'installs from PyPI'}) in "
               f"{time.monotonic() - started:.1f} s; upload it as the autograder of a Gradescope programming "
               f"assignment whose students submit {challenge.meta.submission_file}", err=True)


@bundle.command("prairielearn")
@click.argument("challenge", callback=_challenge)
@click.option("--output", "-o", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="The question folder to write (put it under your course's questions/).")
@click.option("--image", default=None,
              help="The grading image's name for info.json (build it from --image-dir); default: a placeholder to edit.")
@click.option("--image-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also write the grading image's Docker build context here (Dockerfile, setup.sh, wheels).")
@_wheelhouse_option
@click.option("--timeout", type=click.IntRange(30, 600), default=300, show_default=True,
              help="externalGradingOptions.timeout: seconds PrairieLearn lets the grader run (at most 600).")
@click.option("--uuid", "question_uuid", default=None,
              help="The question's uuid (default: the same one each time for this challenge).")
@click.option("--force", is_flag=True, help="Replace what the output folders hold.")
def prairielearn_command(challenge: Challenge, output: Path, image: Optional[str], image_dir: Optional[Path],
                         wheelhouse: bool, timeout: int, question_uuid: Optional[str], force: bool) -> None:
    """Write a PrairieLearn question folder for CHALLENGE (info.json, question.html, tests/ with the grader's
    entrypoint), and with --image-dir the build context of the grading image it names."""
    import uuid

    from harness.bundle import prairielearn
    from harness.bundle.common import BundleError, BundleUsageError

    if wheelhouse and image_dir is None:
        _fail("--wheelhouse puts wheels into the grading image's build context: give --image-dir too", EXIT_USAGE)
    if question_uuid is not None:
        try:
            question_uuid = str(uuid.UUID(question_uuid))
        except ValueError:
            _fail(f"--uuid {question_uuid!r} is not a UUID", EXIT_USAGE)
    try:
        members = prairielearn.question_files(challenge, image=image or prairielearn.DEFAULT_IMAGE, timeout=timeout,
                                              question_uuid=question_uuid)
        image_members = prairielearn.image_files(_artifacts(wheelhouse)) if image_dir is not None else None
        prairielearn.write_folder(members, output, force=force)
        if image_dir is not None and image_members is not None:
            prairielearn.write_folder(image_members, image_dir, force=force)
    except BundleUsageError as error:
        _fail(str(error), EXIT_USAGE)
    except BundleError as error:
        _fail(str(error), EXIT_ERROR)
    except OSError as error:
        _fail(f"could not write the bundle: {error}", EXIT_ERROR)
    click.echo(f"wrote the question folder {output}" + (f" and the grading image's build context {image_dir}"
                                                         if image_dir else ""), err=True)
    if image is None:
        click.echo(f"note: info.json names the image {prairielearn.DEFAULT_IMAGE!r}; build and push the grading "
                   "image (--image-dir) and pass its name with --image", err=True)


def _artifacts(wheelhouse: bool):
    from harness.bundle.build import collect

    click.echo("collecting the harness wheel and the pinned requirements"
               + (" and downloading their wheels (torch is about 190 MB)" if wheelhouse else ""), err=True)
    return collect(offline=wheelhouse)
