"""The class at a glance: counts, score statistics, a histogram and each check's pass rate, from the reports.

Who counts where: 'graded' and 'ungradable' submissions enter the score statistics and the
histogram, an ungradable one at 0 (it is the student's to fix); 'error' ones are left out (the
grader failed, not the student). Check pass rates are over graded reports only.
"""

from __future__ import annotations

import statistics
from typing import Any

from harness.report import CheckStatus, Report, RunStatus

BINS = 10
TOP_FAILED = 3
DIGITS = 4


def summarize(reports: list[Report], *, challenge_id: str, seed: int) -> dict[str, Any]:
    """A JSON-ready summary of a batch's reports (summary.json)."""
    counted = [report for report in reports if report.status is not RunStatus.error]
    scores = [_counted(report, report.score) for report in counted]
    percents = [_counted(report, report.percent) for report in counted]
    return {
        "challenge_id": challenge_id,
        "seed": seed,
        "submissions": len(reports),
        "by_status": {status.value: sum(report.status is status for report in reports) for status in RunStatus},
        "max_score": max((report.max_score for report in reports), default=None),
        "score": _statistics(scores),
        "percent": _statistics(percents),
        "histogram": _histogram(percents),
        "checks": _checks([report for report in reports if report.status is RunStatus.graded]),
    }


def _counted(report: Report, value: float) -> float:
    """An ungradable submission counts as 0, whatever its report carries."""
    return value if report.status is RunStatus.graded else 0.0


def _statistics(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"mean": None, "median": None}
    return {"mean": round(statistics.fmean(values), DIGITS), "median": round(statistics.median(values), DIGITS)}


def _histogram(percents: list[float]) -> list[dict[str, int]]:
    """Ten bins of ten points each, [from, to), except that 100 % goes in the last."""
    width = 100 // BINS
    counts = [0] * BINS
    for value in percents:
        counts[min(int(value // width), BINS - 1)] += 1
    return [{"from": index * width, "to": (index + 1) * width, "count": count} for index, count in enumerate(counts)]


def _checks(graded: list[Report]) -> list[dict[str, Any]]:
    """Each check, in the order checks first appear, with how many graded reports passed it."""
    table: dict[str, dict[str, Any]] = {}
    for report in graded:
        for check in report.checks:
            row = table.setdefault(check.name, {"name": check.name, "max_points": check.max_points,
                                                "passed": 0, "graded": 0})
            row["graded"] += 1
            row["passed"] += check.status is CheckStatus.passed
    for row in table.values():
        row["pass_rate"] = round(row["passed"] / row["graded"], DIGITS)
    return list(table.values())


def render_summary(summary: dict[str, Any], width: int = 40) -> str:
    """The summary for a terminal or a log file, in plain ASCII."""
    lines = [_status_line(summary), *_score_lines(summary), "", "percent      submissions"]
    lines += _histogram_lines(summary["histogram"], width)
    lines += _failed_lines(summary["checks"])
    return "\n".join(lines)


def _status_line(summary: dict[str, Any]) -> str:
    by_status = summary["by_status"]
    counts = ", ".join(f"{by_status.get(status.value, 0)} {status.value}" for status in RunStatus)
    return f"{summary['challenge_id']} (seed {summary['seed']}): {summary['submissions']} submissions: {counts}"


def _score_lines(summary: dict[str, Any]) -> list[str]:
    score, percent = summary["score"], summary["percent"]
    if score["mean"] is None:
        return ["no graded or ungradable submissions, so no scores"]
    out_of = f"/{summary['max_score']:g}" if summary["max_score"] is not None else ""
    return [f"score: mean {score['mean']:g}{out_of} ({percent['mean']:g}%), "
            f"median {score['median']:g}{out_of} ({percent['median']:g}%); ungradable counts as 0, errors are left out"]


def _histogram_lines(histogram: list[dict[str, int]], width: int) -> list[str]:
    """One line per bin: a bar scaled to the largest bin (a bin with any submission shows at least one #)."""
    largest = max((row["count"] for row in histogram), default=0)
    lines = []
    for row in histogram:
        count = row["count"]
        length = max(1, round(count / largest * width)) if count else 0
        lines.append(f"{row['from']:3d}-{row['to']:3d}%  |{'#' * length:<{width}}| {count}")
    return lines


def _failed_lines(checks: list[dict[str, Any]]) -> list[str]:
    """The checks failed most often (ties in the order checks run), or nothing when none failed."""
    failed = [(check["graded"] - check["passed"], check) for check in checks if check["graded"] > check["passed"]]
    failed.sort(key=lambda item: -item[0])  # stable: ties keep the checks' order
    if not failed:
        return []
    lines = ["", "checks failed most often:"]
    for count, check in failed[:TOP_FAILED]:
        lines.append(f"  {check['name']}: failed by {count} of {check['graded']} graded "
                     f"({100 * count / check['graded']:.0f}%)")
    return lines
