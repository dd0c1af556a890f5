"""The challenge catalog as text, a markdown table (challenges/README.md) or JSON."""

from __future__ import annotations

import json

from harness.challenge import Challenge


def render_catalog(challenges: list[Challenge], fmt: str) -> str:
    """Render the catalog in `fmt`: text, markdown or json."""
    rows = [(c.id, c.meta.topic, c.meta.kind.value, c.meta.difficulty.value, c.meta.max_score, c.meta.summary) for c in challenges]
    if fmt == "json":
        keys = ("id", "topic", "kind", "difficulty", "max_score", "summary")
        return json.dumps([dict(zip(keys, row)) for row in rows], indent=2)
    if fmt == "markdown":
        lines = ["| id | topic | kind | difficulty | max score | what it tests |", "|---|---|---|---|---|---|"]
        lines += [f"| `{id_}` | {topic} | {kind} | {level} | {score:g} | {summary} |" for id_, topic, kind, level, score, summary in rows]
        return "\n".join(lines)
    width = max((len(row[0]) for row in rows), default=0)
    return "\n".join(f"{id_:<{width}}  {level:<6}  {score:>4g}  {summary}" for id_, _, _, level, score, summary in rows)
