"""The class summary (numbers, histogram, checks, terminal text) and the progress display."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import threading

from harness.batch.progress import Progress
from harness.batch.summary import render_summary, summarize
from harness.report import CheckResult, CheckStatus, Environment, Report, RunStatus, Submission, Timings, Visibility


def check(name: str, passed: bool, points: float = 5) -> CheckResult:
    return CheckResult(name=name, description="d", status=CheckStatus.passed if passed else CheckStatus.failed,
                       points=points if passed else 0, max_points=points, duration_seconds=0.1,
                       visibility=Visibility.visible)


def graded(*passed: bool, names: tuple[str, ...] = ("first", "second"), seconds: float = 1.23) -> Report:
    checks = [check(name, ok) for name, ok in zip(names, passed)]
    score, max_score = sum(c.points for c in checks), sum(c.max_points for c in checks)
    return Report(challenge_id="tiny-scale", submission=Submission(file_name="solution.py"), status=RunStatus.graded,
                  score=score, max_score=max_score, percent=round(100 * score / max_score, 2), seed=7, checks=checks,
                  environment=Environment(harness_version="0"), timings=Timings(total=seconds))


def other(status: RunStatus, reason: str = "solution.py has a syntax error at line 3: invalid syntax",
          score: float = 0) -> Report:
    return Report(challenge_id="tiny-scale", submission=Submission(file_name="solution.py"), status=status,
                  reason=reason, score=score, max_score=10, percent=10 * score, seed=7,
                  environment=Environment(harness_version="0"))


def with_percent(value: float) -> Report:
    return Report(challenge_id="tiny-scale", submission=Submission(file_name="solution.py"), status=RunStatus.graded,
                  score=value / 10, max_score=10, percent=value, environment=Environment(harness_version="0"))


CLASS = [graded(True, True), graded(True, False), graded(False, False), other(RunStatus.ungradable),
         other(RunStatus.error, "the sandbox did not start")]


# --- summarize ---------------------------------------------------------------------------------


def test_summary_of_a_small_class():
    summary = summarize(CLASS, challenge_id="tiny-scale", seed=7)
    assert summary["challenge_id"] == "tiny-scale" and summary["seed"] == 7
    assert summary["submissions"] == 5
    assert summary["by_status"] == {"graded": 3, "ungradable": 1, "error": 1}
    assert summary["max_score"] == 10
    # scores 10, 5, 0 and the ungradable 0; the error is left out
    assert summary["score"] == {"mean": 3.75, "median": 2.5}
    assert summary["percent"] == {"mean": 37.5, "median": 25.0}
    assert [row["count"] for row in summary["histogram"]] == [2, 0, 0, 0, 0, 1, 0, 0, 0, 1]
    assert summary["checks"] == [
        {"name": "first", "max_points": 5, "passed": 2, "graded": 3, "pass_rate": 0.6667},
        {"name": "second", "max_points": 5, "passed": 1, "graded": 3, "pass_rate": 0.3333},
    ]
    json.dumps(summary)  # JSON-ready as it is


def test_an_ungradable_submission_counts_as_zero_whatever_its_report_says():
    summary = summarize([graded(True, True), other(RunStatus.ungradable, score=4)], challenge_id="x", seed=1)
    assert summary["score"] == {"mean": 5.0, "median": 5.0}
    assert summary["percent"]["mean"] == 50.0


def test_histogram_bins_and_their_edges():
    values = [0, 9.99, 10, 55, 89.99, 90, 99.99, 100]
    histogram = summarize([with_percent(v) for v in values], challenge_id="x", seed=1)["histogram"]
    assert [(row["from"], row["to"]) for row in histogram] == [(10 * i, 10 * i + 10) for i in range(10)]
    assert [row["count"] for row in histogram] == [2, 1, 0, 0, 0, 1, 0, 0, 1, 3]


def test_checks_appear_in_the_order_they_first_appear():
    reports = [graded(True, names=("b",)), graded(True, False, names=("a", "b")), graded(False, True, names=("c", "a"))]
    checks = summarize(reports, challenge_id="x", seed=1)["checks"]
    assert [(c["name"], c["passed"], c["graded"]) for c in checks] == [("b", 1, 2), ("a", 2, 2), ("c", 0, 1)]


def test_an_empty_or_all_error_batch_has_no_statistics():
    for reports in ([], [other(RunStatus.error)]):
        summary = summarize(reports, challenge_id="x", seed=1)
        assert summary["score"] == {"mean": None, "median": None} == summary["percent"]
        assert sum(row["count"] for row in summary["histogram"]) == 0
        assert summary["checks"] == []
        assert set(summary["by_status"]) == {"graded", "ungradable", "error"}
    assert summarize([], challenge_id="x", seed=1)["max_score"] is None


# --- render_summary ----------------------------------------------------------------------------


def test_render_summary_text():
    text = render_summary(summarize(CLASS, challenge_id="tiny-scale", seed=7), width=10)
    assert text.isascii()
    lines = text.splitlines()
    assert lines[0] == "tiny-scale (seed 7): 5 submissions: 3 graded, 1 ungradable, 1 error"
    assert lines[1] == ("score: mean 3.75/10 (37.5%), median 2.5/10 (25%); ungradable counts as 0, "
                        "errors are left out")
    bars = [line for line in lines if re.match(r"\s*\d+-\s*\d+%", line)]
    assert bars[0] == "  0- 10%  |##########| 2"  # the largest bin fills the width
    assert bars[5] == " 50- 60%  |#####     | 1"
    assert bars[1] == " 10- 20%  |          | 0"
    assert bars[9] == " 90-100%  |#####     | 1"
    assert len(bars) == 10
    assert lines[-3:] == ["checks failed most often:",
                          "  second: failed by 2 of 3 graded (67%)",
                          "  first: failed by 1 of 3 graded (33%)"]


def test_render_summary_shows_at_most_three_failed_checks_and_none_when_all_passed():
    names = ("a", "b", "c", "d")
    reports = [graded(False, False, True, False, names=names), graded(True, False, True, False, names=names)]
    text = render_summary(summarize(reports, challenge_id="x", seed=1))
    assert text.splitlines()[-3:] == ["  b: failed by 2 of 2 graded (100%)", "  d: failed by 2 of 2 graded (100%)",
                                      "  a: failed by 1 of 2 graded (50%)"]
    assert "failed most often" not in render_summary(summarize([graded(True, True)], challenge_id="x", seed=1))


def test_a_small_bin_still_shows_a_mark():
    reports = [with_percent(100)] * 200 + [with_percent(0)]
    lines = render_summary(summarize(reports, challenge_id="x", seed=1), width=20).splitlines()
    assert "  0- 10%  |#                   | 1" in lines


def test_render_summary_of_an_empty_batch():
    text = render_summary(summarize([], challenge_id="x", seed=1))
    assert "0 submissions: 0 graded, 0 ungradable, 0 error" in text
    assert "no graded or ungradable submissions" in text


def test_render_summary_reads_a_summary_loaded_from_json():
    summary = json.loads(json.dumps(summarize(CLASS, challenge_id="tiny-scale", seed=7)))
    assert render_summary(summary) == render_summary(summarize(CLASS, challenge_id="tiny-scale", seed=7))


# --- Progress ----------------------------------------------------------------------------------


def test_plain_progress_lines():
    stream = io.StringIO()
    long_reason = "x" * 200 + "\nTraceback (most recent call last):"
    with Progress(300, stream=stream, already_done=11) as progress:
        progress.advance("alice", graded(True, False, seconds=1.23))
        progress.advance("bob", other(RunStatus.ungradable))
        progress.advance("carol", None, skipped=True)
        progress.advance("dave", other(RunStatus.error, long_reason))
        progress.advance("erin", None)
    assert stream.getvalue().splitlines() == [
        "[12/300] alice: graded 5/10 (1.2 s)",
        "[13/300] bob: ungradable: solution.py has a syntax error at line 3: invalid syntax",
        "[14/300] carol: already graded, skipped",
        "[15/300] dave: error: " + "x" * 117 + "...",
        "[16/300] erin: finished without a report",
    ]
    assert progress.counts == {"graded": 1, "ungradable": 1, "error": 1, "skipped": 1}
    assert progress.done == 16


class FlushCounter(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.flushed_at: list[int] = []

    def flush(self) -> None:
        self.flushed_at.append(len(self.getvalue()))
        super().flush()


def test_each_plain_line_is_flushed_at_once():
    stream = FlushCounter()
    progress = Progress(2, stream=stream)
    progress.advance("alice", graded(True, True))
    assert stream.flushed_at == [len(stream.getvalue())] and stream.getvalue().endswith("\n")


def test_progress_from_many_threads_writes_exactly_one_whole_line_each():
    stream = io.StringIO()
    threads, per_thread = 16, 50
    total = threads * per_thread
    report = graded(True, False)
    start = threading.Barrier(threads)
    with Progress(total, stream=stream) as progress:
        def work(index: int) -> None:
            start.wait()
            for step in range(per_thread):
                progress.advance(f"s{index}-{step}", report)

        workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    lines = stream.getvalue().splitlines()
    assert len(lines) == total
    assert [int(re.match(r"\[(\d+)/800\] s\d+-\d+: graded 5/10 \(1\.2 s\)$", line).group(1)) for line in lines] \
        == list(range(1, total + 1))
    assert progress.counts["graded"] == total


def test_plain_mode_does_not_import_rich():
    code = ("import io, sys\nfrom harness.batch.progress import Progress\n"
            "with Progress(1, stream=io.StringIO()) as p:\n    p.advance('a', None, skipped=True)\n"
            "assert not any(name == 'rich' or name.startswith('rich.') for name in sys.modules), 'rich imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True)


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_a_live_bar_with_counts(monkeypatch):
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.delenv("NO_COLOR", raising=False)
    stream = FakeTerminal()
    with Progress(3, stream=stream, already_done=1) as progress:
        progress.advance("alice", graded(True, True))
        progress.advance("bob", other(RunStatus.ungradable))
        assert progress.rate() is not None and progress.eta_seconds() is not None
    output = stream.getvalue()
    assert "3/3" in output
    assert "grading (1 graded, 1 ungradable, 0 error)" in output
    assert "[2/3]" not in output  # no plain lines on a terminal
    assert re.search(r"\d+\.\d\d/s", output)


def test_a_closed_or_odd_stream_is_not_a_terminal():
    class NoIsatty:
        def __init__(self) -> None:
            self.text = ""

        def write(self, text: str) -> None:
            self.text += text

        def flush(self) -> None:
            pass

    stream = NoIsatty()
    with Progress(1, stream=stream) as progress:  # type: ignore[arg-type]
        progress.advance("alice", None, skipped=True)
    assert stream.text == "[1/1] alice: already graded, skipped\n"


def test_skipped_submissions_do_not_make_a_rate():
    progress = Progress(10, stream=io.StringIO())
    progress.advance("a", None, skipped=True)
    assert progress.rate() is None and progress.eta_seconds() is None
    progress.advance("b", graded(True, True))
    assert progress.rate() is not None and progress.eta_seconds() is not None
