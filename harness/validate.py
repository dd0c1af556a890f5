"""Proving a challenge's checks work: the reference scores full marks, the starter and every mutant lose points, and one seed gives one report."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from harness.challenge import Challenge
from harness.report import Report, RunStatus


@dataclass(frozen=True)
class Verdict:
    """One line of a validation: what was graded, what it scored, and whether that is what it must score."""

    challenge_id: str
    subject: str
    ok: bool
    detail: str


Grader = Callable[[Path, int], Report]


def comparable(report: Report) -> dict:
    """A report without what legitimately varies between two runs: timings and durations."""
    data = report.model_dump(mode="json", exclude={"timings": True})
    for check in data["checks"]:
        check.pop("duration_seconds")
    return data


def validate_challenge(challenge: Challenge, grade: Grader, seed: int, mutants: str = "all") -> list[Verdict]:
    """Grade the reference (twice), the starter and the mutants with one seed and judge each outcome.
    `mutants`: "all"; "cheats", only those with a `max-score` cap (the others test the checks, which judge on the
    trusted side alike whatever the backend); "none" (a second backend's smoke test: the reference and the starter)."""
    verdicts = []
    reference = grade(challenge.reference, seed)
    full = reference.status is RunStatus.graded and reference.score == reference.max_score
    verdicts.append(Verdict(challenge.id, "reference", full, _describe(reference)))
    again = grade(challenge.reference, seed)
    same = comparable(again) == comparable(reference)
    verdicts.append(Verdict(challenge.id, "reference, same seed again", same,
                            "identical report" if same else f"reports differ: {_first_difference(comparable(reference), comparable(again))}"))
    chosen = [path for path in challenge.mutants
              if mutants == "all" or (mutants == "cheats" and score_cap(path) is not None)]
    wrong = [("starter", challenge.starter)] + [(f"mutant {path.stem}", path) for path in chosen]
    if len(challenge.mutants) < 4:
        verdicts.append(Verdict(challenge.id, "mutants", False, f"{len(challenge.mutants)} mutants; at least 4 are required"))
    for subject, path in wrong:
        report = grade(path, seed)
        loses = report.status is RunStatus.graded and report.score < report.max_score
        cap = score_cap(path)
        if cap is not None:  # a cheat: ungradable (0 points) is as good as caught; graded, it must stay under its cap
            loses = report.status is RunStatus.ungradable or (loses and report.score <= cap)
            subject += f" (may score at most {cap:g})"
        verdicts.append(Verdict(challenge.id, subject, loses, _describe(report)))
    return verdicts


def score_cap(path: Path) -> float | None:
    """A mutant that cheats says in its first lines how much it may score at most: `# harness: max-score = 0`."""
    try:
        head = path.read_text(encoding="utf-8", errors="replace").splitlines()[:10]
    except OSError:
        return None
    for line in head:
        found = re.match(r"#\s*harness:\s*max-score\s*=\s*([0-9.]+)\s*$", line.strip())
        if found:
            return float(found.group(1))
    return None


def _describe(report: Report) -> str:
    if report.status is not RunStatus.graded:
        return f"{report.status.value}: {(report.reason or '')[:300]}"
    failing = [check.name for check in report.checks if check.status.value != "passed"]
    text = f"{report.score:g}/{report.max_score:g}"
    return text + (f" (lost: {', '.join(failing)})" if failing else "")


def _first_difference(left: object, right: object, path: str = "") -> str:
    if isinstance(left, dict) and isinstance(right, dict):
        for key in sorted(set(left) | set(right)):
            if left.get(key) != right.get(key):
                return _first_difference(left.get(key), right.get(key), f"{path}.{key}")
    if isinstance(left, list) and isinstance(right, list) and len(left) == len(right):
        for index, (a, b) in enumerate(zip(left, right)):
            if a != b:
                return _first_difference(a, b, f"{path}[{index}]")
    return f"{path or 'report'}: {str(left)[:120]} != {str(right)[:120]}"
