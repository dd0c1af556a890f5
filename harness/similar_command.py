"""`harness similar OUT_DIR [PATH...]`: list the pairs of a class's submissions whose code is suspiciously alike.

The code compared is what a batch's --out folder keeps in `submissions/` (harness.batch.store.keep_sources:
each submission's code, a notebook's converted module, and the challenge's starter). Given PATHs (as to
`harness grade ID PATH... --out OUT_DIR`: files, folders, zips, notebooks), their submissions are found the same
way and kept there first, so that `harness report OUT_DIR` shows the pairs too. The comparison itself is
harness.similarity's. Registered on the `harness` group by harness/cli.py; the CLI's helpers are imported when
the command runs (harness.cli imports this module).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Optional

import click

from harness.similarity import DEFAULT_THRESHOLD, Comparison, percent


@click.command("similar")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--threshold", type=click.FloatRange(0.0, 1.0), default=DEFAULT_THRESHOLD, show_default=True,
              help="List pairs sharing at least this share (0 to 1) of the smaller submission's code.")
@click.option("--challenge", "challenge_id", default=None,
              help="The challenge whose starter code is left out (default: the batch's, from OUT_DIR/batch.json).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_context
def similar_command(ctx: click.Context, out_dir: Path, paths: tuple[Path, ...], threshold: float,
                    challenge_id: Optional[str], fmt: str) -> None:
    """List pairs of submissions whose code is suspiciously alike (starter code, comments and names left out).
    OUT_DIR is a batch's --out folder; PATHs, when given, are the submissions to compare (kept in OUT_DIR)."""
    from harness.batch.store import SOURCES_DIR
    from harness.cli import EXIT_USAGE, _fail
    from harness.similarity import SimilarityError, compare, kept_class_sources

    if out_dir.exists() and not out_dir.is_dir():
        _fail(f"{out_dir}: is not a folder; give a batch's --out folder", EXIT_USAGE)
    if paths:
        _keep(ctx, out_dir, paths, challenge_id)
    elif not out_dir.is_dir():
        _fail(f"{out_dir}: no such folder; give a batch's --out folder (and the submissions' PATHs to compare "
              "them when the batch did not keep their code)", EXIT_USAGE)
    try:
        kept = kept_class_sources(out_dir)
    except SimilarityError as error:
        _fail(str(error), EXIT_USAGE)
    if kept is None:
        _fail(f"{out_dir / SOURCES_DIR}: no such folder: this batch did not keep its submissions' code; give their "
              f"PATHs, as to harness grade: harness similar {out_dir} PATH...", EXIT_USAGE)
    sources, starter, notes = kept
    for note in notes:
        click.echo(note, err=True)
    if starter is None:
        click.echo(f"{out_dir / SOURCES_DIR}: the starter code was not kept, so it is compared too", err=True)
    result = compare(sources, starter=starter, threshold=threshold)
    for line in result.unreadable:
        click.echo(f"not compared: {line}", err=True)
    if fmt == "json":
        click.echo(json.dumps(_as_json(result), indent=2))
    else:
        click.echo(_as_text(result))


def _keep(ctx: click.Context, out_dir: Path, paths: tuple[Path, ...], challenge_id: Optional[str]) -> None:
    """Find the submissions at `paths` as `harness grade` does and keep their code in OUT_DIR/submissions/."""
    from harness.batch.discover import BatchInputError, discover
    from harness.batch.store import ResultStore, keep_sources
    from harness.challenge import ChallengeError, Kind, UnknownChallengeError, find_challenge
    from harness.cli import EXIT_USAGE, _catalog, _fail
    from harness.submission import accepted_files

    name = challenge_id or _batch_challenge(out_dir)
    if name is None:
        _fail(f"{out_dir}: no batch.json names the challenge; give --challenge ID", EXIT_USAGE)
    try:
        challenge = find_challenge(name, _catalog(ctx))
    except UnknownChallengeError as error:
        _fail(str(error), EXIT_USAGE)
    except ChallengeError as error:
        _fail(str(error))
    if challenge.meta.kind is not Kind.code:
        _fail(f"{challenge.id} is a quiz: its answers are not code, so there is nothing to compare", EXIT_USAGE)
    with tempfile.TemporaryDirectory(prefix="harness-similar-") as unpack:
        try:
            found = discover(list(paths), accepted_files(challenge), unpack_dir=Path(unpack))
            store = ResultStore(out_dir)
        except BatchInputError as error:
            _fail(str(error), EXIT_USAGE)
        for note in found.skipped:
            click.echo(f"skipped {note}", err=True)
        try:
            notes = keep_sources(store, challenge, found.entries)
        except OSError as error:
            _fail(f"{out_dir}: cannot keep the submissions' code there: {error.strerror or error}")
    for note in notes:
        click.echo(note, err=True)


def _batch_challenge(out_dir: Path) -> Optional[str]:
    """The challenge id batch.json names, or None (no batch.json, unreadable, or no id in it)."""
    from harness.batch.store import BATCH_JSON

    try:
        data = json.loads((out_dir / BATCH_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    found = data.get("challenge_id") if isinstance(data, dict) else None
    return found if isinstance(found, str) else None


def _as_text(result: Comparison) -> str:
    threshold = f"{100 * result.threshold:g}%"
    lines = [f"{result.compared} submissions compared"
             + (f", {len(result.too_short)} with too little code beyond the starter to judge" if result.too_short
                else "")
             + (f", {len(result.unreadable)} not Python" if result.unreadable else "")
             + f"; {len(result.pairs)} {'pair' if len(result.pairs) == 1 else 'pairs'} at or above {threshold}"
             + (":" if result.pairs else ".")]
    if result.pairs:
        width = max(len(pair.a) for pair in result.pairs)
        lines.append(f"{'similar':>7}  {'A in B':>6}  {'B in A':>6}  {'A':<{width}}  B")
        lines += [f"{percent(pair.similarity):>7}  {percent(pair.share_a):>6}  {percent(pair.share_b):>6}  "
                  f"{pair.a:<{width}}  {pair.b}" for pair in result.pairs]
    return "\n".join(lines)


def _as_json(result: Comparison) -> dict:
    return {
        "threshold": result.threshold,
        "compared": result.compared,
        "too_short": result.too_short,
        "unreadable": result.unreadable,
        "pairs": [{"a": pair.a, "b": pair.b, "similarity": round(pair.similarity, 4),
                   "a_in_b": round(pair.share_a, 4), "b_in_a": round(pair.share_b, 4), "shared": pair.shared}
                  for pair in result.pairs],
    }
