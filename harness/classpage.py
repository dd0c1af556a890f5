"""The class page: one static HTML file to look at a graded class, for the teacher (grader view).

`render_class_page` turns (id, report) pairs into one self-contained HTML document: no external resources (no
CDN, fonts or images by URL), so it works opened from disk and offline. It holds

- a banner saying the page is for graders only (it shows the messages of hidden checks);
- a header: challenge id(s), number of submissions, seed(s), harness version(s), when the page was generated;
- counts by status and the mean and median score, from `harness.batch.summary.summarize` (so they agree with
  summary.json: ungradable submissions count as 0, errors are left out; pass rates are over graded reports);
- two charts drawn with matplotlib (Figure, no pyplot, no display) and embedded inline as SVG: a histogram of the
  percent scores and each check's pass rate, each also given as a table;
- the slowest submissions (the report's timings.total) and the pairs of submissions most alike
  (harness.similarity, given by the caller: `write_class_page` compares the code a batch kept);
- a table with a row per student (sorted by id): status, score, percent, seconds, a cell per check, the reason's
  first line and a link to the student's feedback as the candidate sees it (harness.feedback: a separate page
  per student, so that a teacher can hand that page, and only it, to that student); each row links to that
  student's details further down (every check with its status, points and message, the notes, the full reason,
  the length of the captured output but never the output itself).

The students table sorts by any column: one small inline script (SORT_SCRIPT), allowed by the page's
Content-Security-Policy through its SHA-256 hash and nothing else (no 'unsafe-inline', so no other script can run
should one ever slip in), turns the column headers into links to `#sort=<column>-<asc|desc>` and sorts the rows
when the URL's fragment says so. A sorted view can thus be bookmarked and reloaded, and it works from disk. Without
scripts the page is whole, the rows in id order.

Everything in a report can come from a submission (ids, reasons, messages, notes, even check names in a forged
report file), so every piece of report text goes through `html.escape` (quotes included) before it reaches the
page; the script reads only the page's own cells, as text, and writes no markup. Two renders of the same reports
are byte-identical apart from the generation time, which callers can fix with `generated`.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import re
import statistics
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Sequence

from harness import __version__
from harness.batch.store import atomic_write
from harness.batch.summary import summarize
from harness.export import ExportError, load_reports
from harness.feedback import FEEDBACK_DIR, page_names, write_feedback_pages
from harness.report import Audience, CheckStatus, Report, RunStatus, Visibility, candidate_reason

if TYPE_CHECKING:
    from harness.similarity import Comparison

Reports = Sequence[tuple[str, Report]]

CHART_LABEL_CHARS = 40  # a check name on the pass-rate chart is cut to this (the tables show it whole)
MAX_CHART_CHECKS = 60  # the pass-rate chart shows at most this many checks (the table below it shows all)
SVG_HASHSALT = "harness-class-page"  # matplotlib's SVG ids are hashes salted with this: fixed, so output is stable

SLOWEST_SHOWN = 10  # rows of the slowest submissions' table
PAIRS_SHOWN = 10  # rows of the similar pairs' table

# Sorts the students table by the column and direction in the URL's fragment (#sort=score-desc); the column
# headers become links to those fragments. Reads cells' data-v (numbers) or their text; writes no markup.
SORT_SCRIPT = """
(function () {
  "use strict";
  var table = document.getElementById("students");
  if (!table || !table.tHead || !table.tBodies.length) { return; }
  var body = table.tBodies[0], heads = table.tHead.rows[0].cells, rows = Array.prototype.slice.call(body.rows);
  rows.forEach(function (row, index) { row.setAttribute("data-i", String(index)); });
  function value(row, col) {
    var cell = row.cells[col];
    if (!cell) { return ""; }
    var v = cell.getAttribute("data-v");
    return v === null ? cell.textContent : v;
  }
  function number(text) { var n = parseFloat(text); return isNaN(n) ? -Infinity : n; }
  function first(col) { return heads[col].hasAttribute("data-num") ? "desc" : "asc"; }
  function link(col, dir) { return "#sort=" + heads[col].getAttribute("data-key") + "-" + dir; }
  function sort(key, dir) {
    var col = -1, i;
    for (i = 0; i < heads.length; i++) { if (heads[i].getAttribute("data-key") === key) { col = i; } }
    if (col < 0) { return; }
    var numeric = heads[col].hasAttribute("data-num"), sign = dir === "desc" ? -1 : 1;
    rows.slice().sort(function (a, b) {
      var x = value(a, col), y = value(b, col), r;
      if (numeric) { x = number(x); y = number(y); r = x === y ? 0 : (x < y ? -1 : 1); }
      else { r = x.localeCompare(y); }
      return sign * r || number(a.getAttribute("data-i")) - number(b.getAttribute("data-i"));
    }).forEach(function (row) { body.appendChild(row); });
    for (i = 0; i < heads.length; i++) {
      var anchor = heads[i].querySelector("a.sort");
      if (!anchor) { continue; }
      heads[i].setAttribute("aria-sort", i === col ? (sign > 0 ? "ascending" : "descending") : "none");
      anchor.setAttribute("href", link(i, i === col ? (sign > 0 ? "desc" : "asc") : first(i)));
    }
  }
  for (var i = 0; i < heads.length; i++) {
    if (!heads[i].hasAttribute("data-key")) { continue; }
    var anchor = document.createElement("a");
    anchor.className = "sort";
    anchor.setAttribute("href", link(i, first(i)));
    anchor.title = "sort by this column";
    while (heads[i].firstChild) { anchor.appendChild(heads[i].firstChild); }
    heads[i].appendChild(anchor);
  }
  function fromFragment() {
    var match = /^#sort=([A-Za-z0-9-]+)-(asc|desc)$/.exec(window.location.hash);
    if (match) { sort(match[1], match[2]); }
  }
  window.addEventListener("hashchange", fromFragment);
  fromFragment();
})();
"""
SCRIPT_HASH = "sha256-" + base64.b64encode(hashlib.sha256(SORT_SCRIPT.encode("utf-8")).digest()).decode("ascii")
CSP = (f"default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src '{SCRIPT_HASH}'; "
       "base-uri 'none'; form-action 'none'")

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:1.5em;color:#1a1a1a;
line-height:1.4}
h1{margin:.2em 0 .4em;font-size:1.6em}h2{margin-top:1.6em;border-bottom:1px solid #ccc}
.banner{background:#fff3cd;border:2px solid #d39e00;padding:.6em 1em;font-weight:600;border-radius:4px}
dl.meta{display:grid;grid-template-columns:max-content auto;gap:.1em 1em;margin:.5em 0}dl.meta dt{font-weight:600}
dl.meta dd{margin:0}
table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #ddd;padding:.15em .45em;text-align:left;
vertical-align:top}th{background:#f3f3f3}td.n{text-align:right;font-variant-numeric:tabular-nums}
th.check{writing-mode:vertical-rl;transform:rotate(180deg);max-height:12em;overflow:hidden;white-space:nowrap;
font-weight:500}
td.c{text-align:center;padding:.15em .25em}
.passed{color:#137333}.failed{color:#c5221f}.error,.timeout,.oom{color:#b06000}.skipped{color:#777}
tr.ungradable td,tr.error td{background:#fafafa}
.status-graded{color:#137333}.status-ungradable{color:#b06000}.status-error{color:#c5221f}
.charts{display:flex;flex-wrap:wrap;gap:1.5em;align-items:flex-start}
.chart svg{max-width:100%;height:auto}
.student{border-top:1px solid #ccc;margin-top:1em;padding-top:.3em}
pre{white-space:pre-wrap;word-break:break-word;margin:0;font-size:.9em}
.muted{color:#666}.reason{max-width:40em}
nav{margin:.6em 0;font-size:.95em}nav a{margin-right:1em}
.tiles{display:flex;flex-wrap:wrap;gap:.8em;margin:.6em 0}
.tile{border:1px solid #ddd;border-radius:6px;padding:.4em .9em;min-width:6.5em;background:#fafafa}
.tile dd{margin:0;font-size:1.6em;font-weight:600;font-variant-numeric:tabular-nums}.tile dt{color:#555;font-size:.9em}
.side{display:flex;flex-wrap:wrap;gap:0 2.5em;align-items:flex-start}.side>section{flex:1 1 30em;max-width:48em}
th a.sort{color:inherit;text-decoration:none}th a.sort:hover{text-decoration:underline}
th[aria-sort=ascending] a.sort::after{content:" \\25B2";font-size:.75em}
th[aria-sort=descending] a.sort::after{content:" \\25BC";font-size:.75em}
table.students tbody tr:hover td{background:#f5f9ff}td.view{white-space:nowrap}
"""


def render_class_page(reports: Reports, *, title: str | None = None, generated: str | None = None,
                      similar: Comparison | None = None, feedback: str | None = None) -> str:
    """The class page for `reports` as one HTML document. `title` defaults to the challenge id(s); `generated`
    (shown as the generation time) defaults to now, in UTC: pass a fixed value for reproducible output.
    `similar`: the comparison of the class's code to show (None: the code was not compared). `feedback`: the
    folder, relative to the page, holding each student's candidate page named by `harness.feedback.page_names`
    over the ids in id order (None: no such pages, no links)."""
    rows = sorted(reports, key=lambda item: item[0])
    only = [report for _, report in rows]
    challenges = _unique(report.challenge_id for report in only)
    seeds = _unique(str(report.seed) for report in only if report.seed is not None)
    first_seed = next((report.seed for report in only if report.seed is not None), 0)
    summary = summarize(only, challenge_id=", ".join(challenges), seed=first_seed)
    names = _check_names(only)
    anchors = _anchors(student_id for student_id, _ in rows)
    links = ([f"{feedback}/{name}" for name in page_names(student_id for student_id, _ in rows)]
             if feedback is not None else [None] * len(rows))
    when = generated if generated is not None else datetime.now(timezone.utc).isoformat(timespec="seconds")
    heading = title if title is not None else f"{', '.join(challenges) or 'no challenge'}: class report"

    parts = [
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{_e(CSP)}\">\n",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
        "<meta name=\"robots\" content=\"noindex, nofollow\">\n",
        f"<title>{_e(heading)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        "<p class=\"banner\" role=\"alert\" id=\"top\">For graders only: this page shows the messages of hidden checks "
        "(what was expected and what was found). Do not share it with students.</p>\n",
        f"<h1>{_e(heading)}</h1>\n",
        _header(rows, challenges, seeds, when),
        "<nav><a href=\"#overview\">Overview</a><a href=\"#charts\">Charts</a><a href=\"#slowest\">Slowest</a>"
        "<a href=\"#similar\">Similar submissions</a><a href=\"#students\">Students</a>"
        "<a href=\"#details\">Details</a></nav>\n",
        _overview(summary, only),
        _charts(summary),
        "<div class=\"side\">\n",
        _slowest(rows, anchors),
        _similar(similar, rows, anchors),
        "</div>\n",
        _table(rows, names, anchors, links),
        _details(rows, anchors, links),
        f"<p class=\"muted\">Made by harness {_e(__version__)}. <a href=\"#top\">Back to the top</a></p>\n",
        f"<script>{SORT_SCRIPT}</script>\n</body>\n</html>\n",
    ]
    return "".join(parts)


def write_class_page(path_in: Path, out: Path, *, title: str | None = None, generated: str | None = None) -> Path:
    """Read the reports at `path_in` (a report JSON file or a batch's --out folder, as `load_reports` reads them),
    render the class page and write it to `out` atomically, with each student's candidate page in the folder
    `feedback/` beside it. When `path_in` is a batch folder that kept its submissions' code (submissions/), the
    page lists the pairs most alike. Returns `out`; ExportError when the reports cannot be read or the pages
    cannot be written."""
    reports = load_reports(path_in)
    if not out.parent.is_dir():
        raise ExportError(f"{out}: cannot be written: the folder {out.parent} does not exist")
    if out.is_dir():
        raise ExportError(f"{out}: is a folder; give a file name (such as class.html) to write the class page to")
    similar = _compare_kept(path_in)
    rows = sorted(reports, key=lambda item: item[0])
    folder = out.parent / FEEDBACK_DIR
    try:
        write_feedback_pages(rows, folder)
    except OSError as error:
        raise ExportError(f"{folder}: the students' feedback pages cannot be written there: "
                          f"{error.strerror or error}") from None
    data = render_class_page(rows, title=title, generated=generated, similar=similar,
                             feedback=FEEDBACK_DIR).encode("utf-8")
    try:
        atomic_write(out, data)
    except OSError as error:
        raise ExportError(f"{out}: cannot be written: {error.strerror or error}") from None
    return out


def _compare_kept(path_in: Path) -> Comparison | None:
    """The comparison of the code a batch folder kept, at the default threshold; None when it kept none."""
    from harness.similarity import SimilarityError, compare, kept_class_sources

    if not path_in.is_dir():
        return None
    try:
        kept = kept_class_sources(path_in)
    except SimilarityError as error:
        raise ExportError(str(error)) from None
    if kept is None:
        return None
    sources, starter, _notes = kept
    return compare(sources, starter=starter)


# --- pieces of the page ---------------------------------------------------------------------------


def _e(text: object) -> str:
    """Escape for HTML text and for attribute values in double or single quotes."""
    return html.escape(str(text), quote=True)


def _unique(values: Iterable[str]) -> list[str]:
    return sorted(set(values))


def _num(value: float | None, digits: int = 2) -> str:
    """8 rather than 8.0, 0.3 rather than 0.30000000000000004; an em dash for None."""
    if value is None:
        return "—"
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _check_names(reports: Iterable[Report]) -> list[str]:
    """Every check name in the reports, once each, in the order first seen."""
    seen: dict[str, None] = {}
    for report in reports:
        for check in report.checks:
            seen.setdefault(check.name)
    return list(seen)


_ANCHOR_SAFE = re.compile(r"[A-Za-z0-9.-]")


def _anchors(student_ids: Iterable[str]) -> list[str]:
    """A fragment id per student, readable and stable (`s-alice`): characters other than ASCII letters, digits,
    '.' and '-' become `_<hex>_`, so distinct ids give distinct anchors; a repeated id gets `_dup<n>` (a suffix the
    encoding never makes)."""
    anchors, seen = [], set()
    for student_id in student_ids:
        anchor = "s-" + "".join(char if _ANCHOR_SAFE.fullmatch(char) else f"_{ord(char):x}_" for char in student_id)
        base, count = anchor, 1
        while anchor in seen:
            count += 1
            anchor = f"{base}_dup{count}"
        seen.add(anchor)
        anchors.append(anchor)
    return anchors


def _header(rows: Reports, challenges: list[str], seeds: list[str], when: str) -> str:
    versions = _unique(report.environment.harness_version for _, report in rows)
    items = [
        ("challenge" if len(challenges) == 1 else "challenges", ", ".join(challenges) or "—"),
        ("submissions", str(len(rows))),
        ("seed" if len(seeds) == 1 else "seeds", ", ".join(seeds) or "—"),
        ("harness version" if len(versions) == 1 else "harness versions", ", ".join(versions) or "—"),
        ("generated", when),
    ]
    body = "".join(f"<dt>{_e(name)}</dt><dd>{_e(value)}</dd>" for name, value in items)
    warning = ""
    if len(challenges) > 1:
        warning = ("<p class=\"muted\">These reports are of more than one challenge: the statistics and pass rates "
                   "below mix them.</p>\n")
    return f"<dl class=\"meta\">{body}</dl>\n{warning}"


def _overview(summary: dict[str, Any], reports: Sequence[Report]) -> str:
    by_status = summary["by_status"]
    tiles = [("submissions", str(summary["submissions"]), "")]
    tiles += [(status.value, str(by_status.get(status.value, 0)),
               f" status-{status.value}" if by_status.get(status.value, 0) else " muted") for status in RunStatus]
    score, percent = summary["score"], summary["percent"]
    if percent["mean"] is not None:
        tiles += [("mean score", f"{_num(percent['mean'], 1)}%", ""), ("median score", f"{_num(percent['median'], 1)}%", "")]
    seconds = [report.timings.total for report in reports if report.timings.total > 0]
    if seconds:
        tiles.append(("median time", f"{_num(statistics.median(seconds), 1)} s", ""))
    body = "".join(f"<div class=\"tile{css}\"><dt>{_e(name)}</dt><dd>{_e(value)}</dd></div>" for name, value, css in tiles)
    if score["mean"] is None:
        stats = "<p>No graded or ungradable submissions, so no scores.</p>\n"
    else:
        out_of = f"/{_num(summary['max_score'])}" if summary["max_score"] is not None else ""
        stats = (f"<p>Score: mean <b>{_num(score['mean'])}{out_of}</b> ({_num(percent['mean'])}%), "
                 f"median <b>{_num(score['median'])}{out_of}</b> ({_num(percent['median'])}%). "
                 "Ungradable submissions count as 0; errors (the grader's failures) are left out.</p>\n")
    return f"<h2 id=\"overview\">Overview</h2>\n<dl class=\"tiles\">{body}</dl>\n{stats}"


def _charts(summary: dict[str, Any]) -> str:
    with _chart_style():
        return _draw_charts(summary)


def _draw_charts(summary: dict[str, Any]) -> str:
    histogram, checks = summary["histogram"], summary["checks"]
    counted = sum(row["count"] for row in histogram)
    parts = ["<h2 id=\"charts\">Charts</h2>\n<div class=\"charts\">\n"]
    if counted:
        parts.append(f"<figure class=\"chart\">{_histogram_svg(histogram)}<figcaption>Percent scores of "
                     f"{counted} submissions (ungradable at 0, errors left out)</figcaption></figure>\n")
    else:
        parts.append("<p>No graded or ungradable submissions: no histogram.</p>\n")
    if checks:
        shown = checks[:MAX_CHART_CHECKS]
        more = (f"; the first {len(shown)} of {len(checks)} checks are drawn, the table lists all"
                if len(checks) > len(shown) else "")
        parts.append(f"<figure class=\"chart\">{_pass_rate_svg(shown)}<figcaption>Each check's pass rate over "
                     f"graded submissions{_e(more)}</figcaption></figure>\n")
    else:
        parts.append("<p>No graded submissions: no check pass rates.</p>\n")
    parts.append("</div>\n")
    bins = "".join(f"<tr><td>{row['from']}–{row['to']}%</td><td class=\"n\">{row['count']}</td></tr>"
                   for row in histogram)
    parts.append("<details><summary>The charts as tables</summary>\n<div class=\"charts\">"
                 f"<table><thead><tr><th>percent</th><th>submissions</th></tr></thead><tbody>{bins}</tbody></table>\n")
    rates = "".join(f"<tr><td>{_e(row['name'])}</td><td class=\"n\">{_num(row['max_points'])}</td>"
                    f"<td class=\"n\">{row['passed']}/{row['graded']}</td>"
                    f"<td class=\"n\">{_num(100 * row['pass_rate'], 1)}%</td></tr>" for row in checks)
    parts.append("<table><thead><tr><th>check</th><th>points</th><th>passed</th><th>pass rate</th></tr></thead>"
                 f"<tbody>{rates}</tbody></table>\n</div></details>\n")
    return "".join(parts)


def _slowest(rows: Reports, anchors: list[str]) -> str:
    """The submissions that took longest to grade (timings.total), slowest first: where a class's time went."""
    timed = sorted(((report.timings.total, student_id, anchor, report) for (student_id, report), anchor
                    in zip(rows, anchors) if report.timings.total > 0), key=lambda item: (-item[0], item[1]))
    parts = ["<section>\n<h2 id=\"slowest\">Slowest submissions</h2>\n"]
    if not timed:
        parts.append("<p>No report says how long its grading took.</p>\n</section>\n")
        return "".join(parts)
    lines = []
    for total, student_id, anchor, report in timed[:SLOWEST_SHOWN]:
        timings = report.timings
        lines.append(f"<tr><td><a href=\"#{anchor}\">{_e(student_id)}</a></td>"
                     f"<td class=\"status-{report.status.value}\">{report.status.value}</td>"
                     f"<td class=\"n\">{total:.1f}</td><td class=\"n\">{timings.sandbox_start:.1f}</td>"
                     f"<td class=\"n\">{timings.probes:.1f}</td><td class=\"n\">{timings.checks:.1f}</td></tr>\n")
    parts.append(f"<p class=\"muted\">The {min(SLOWEST_SHOWN, len(timed))} slowest of {len(timed)} timed "
                 "gradings, in seconds.</p>\n<table class=\"slowest\"><thead><tr><th>id</th><th>status</th>"
                 "<th>total</th><th>sandbox start</th><th>probes</th><th>checks</th></tr></thead>\n<tbody>\n"
                 f"{''.join(lines)}</tbody></table>\n</section>\n")
    return "".join(parts)


def _similar(similar: Comparison | None, rows: Reports, anchors: list[str]) -> str:
    """The pairs of submissions most alike, with a link to each student's row when the student has one."""
    from harness.similarity import percent

    parts = ["<section>\n<h2 id=\"similar\">Similar submissions</h2>\n"]
    if similar is None:
        parts.append("<p>The submissions' code was not kept with these reports, so it was not compared. "
                     "<code>harness similar OUT_DIR PATH...</code> compares the submissions at PATH and keeps "
                     "their code in OUT_DIR for this page.</p>\n</section>\n")
        return "".join(parts)
    where = {student_id: anchor for (student_id, _), anchor in reversed(list(zip(rows, anchors)))}

    def name(student_id: str) -> str:
        anchor = where.get(student_id)
        return f"<a href=\"#{anchor}\">{_e(student_id)}</a>" if anchor else _e(student_id)

    skipped = []
    if similar.too_short:
        skipped.append(f"{len(similar.too_short)} with too little code beyond the starter to judge")
    if similar.unreadable:
        skipped.append(f"{len(similar.unreadable)} that could not be read as Python")
    threshold = _num(100 * similar.threshold, 1)
    parts.append(f"<p class=\"muted\">{similar.compared} submissions compared"
                 + (f" (left out: {'; '.join(skipped)})" if skipped else "")
                 + f"; {len(similar.pairs)} {'pair shares' if len(similar.pairs) == 1 else 'pairs share'} at least "
                 f"{threshold}% of the smaller one's code, the starter code, comments and names left out. "
                 "Read both files before concluding anything.</p>\n")
    if similar.pairs:
        lines = [f"<tr><td>{name(pair.a)}</td><td>{name(pair.b)}</td>"
                 f"<td class=\"n\"><b>{percent(pair.similarity)}</b></td><td class=\"n\">{percent(pair.share_a)}</td>"
                 f"<td class=\"n\">{percent(pair.share_b)}</td></tr>\n" for pair in similar.pairs[:PAIRS_SHOWN]]
        more = (f"<p class=\"muted\">The first {PAIRS_SHOWN} of {len(similar.pairs)}; <code>harness similar "
                "OUT_DIR</code> lists them all.</p>\n" if len(similar.pairs) > PAIRS_SHOWN else "")
        parts.append("<table class=\"similar\"><thead><tr><th>A</th><th>B</th><th>similarity</th>"
                     "<th title=\"share of A's fingerprints found in B\">A in B</th>"
                     "<th title=\"share of B's fingerprints found in A\">B in A</th></tr></thead>\n<tbody>\n"
                     f"{''.join(lines)}</tbody></table>\n{more}")
    parts.append("</section>\n")
    return "".join(parts)


STATUS_RANK = {RunStatus.graded: 0, RunStatus.ungradable: 1, RunStatus.error: 2}


def _table(rows: Reports, names: list[str], anchors: list[str], links: Sequence[str | None]) -> str:
    head = "".join(f"<th class=\"check\" title=\"{_e(name)}\" data-key=\"check-{number}\" data-num>{_e(name)}</th>"
                   for number, name in enumerate(names, start=1))
    feedback = "<th>feedback</th>" if any(links) else ""
    lines = ["<h2>Students</h2>\n<p class=\"muted\">Sort by a column by clicking its header.</p>\n"
             "<table class=\"students\" id=\"students\"><thead><tr><th data-key=\"id\">id</th>"
             "<th data-key=\"status\" data-num>status</th><th data-key=\"score\" data-num>score</th>"
             f"<th data-key=\"percent\" data-num>percent</th><th data-key=\"seconds\" data-num>seconds</th>{head}"
             f"<th data-key=\"reason\">reason</th>{feedback}</tr></thead>\n<tbody>\n"]
    for (student_id, report), anchor, link in zip(rows, anchors, links):
        status = report.status.value
        if report.status is RunStatus.error:
            score = ("<td class=\"n\" data-v=\"\" title=\"left out of the statistics: the grader failed\">—</td>"
                     "<td class=\"n\" data-v=\"\">—</td>")
        else:
            counted, share = _counted(report, report.score), _counted(report, report.percent)
            score = (f"<td class=\"n\" data-v=\"{counted:g}\">{_num(counted)}/{_num(report.max_score)}</td>"
                     f"<td class=\"n\" data-v=\"{share:g}\">{_num(share)}%</td>")
        total = report.timings.total
        seconds = (f"<td class=\"n\" data-v=\"{total:.3f}\">{total:.1f}</td>" if total > 0
                   else "<td class=\"n\" data-v=\"\"></td>")
        by_name = {check.name: check for check in report.checks}
        cells = []
        for name in names:
            check = by_name.get(name)
            if check is None:
                cells.append("<td class=\"c\" data-v=\"\"></td>")
            else:
                passed = check.status is CheckStatus.passed
                cells.append(f"<td class=\"c {check.status.value}\" data-v=\"{int(passed)}\" "
                             f"title=\"{_e(name)}: {check.status.value}\">{'✓' if passed else '✗'}</td>")
        view = (f"<td class=\"view\"><a href=\"{_e(link)}\" title=\"this student's feedback as the candidate sees "
                f"it\">view</a></td>" if link else "")
        lines.append(f"<tr class=\"{status}\"><td><a href=\"#{anchor}\">{_e(student_id)}</a></td>"
                     f"<td class=\"status-{status}\" data-v=\"{STATUS_RANK[report.status]}\">{status}</td>{score}"
                     f"{seconds}{''.join(cells)}<td class=\"reason\">{_e(candidate_reason(report.reason) or '')}</td>"
                     f"{view}</tr>\n")
    lines.append("</tbody></table>\n")
    return "".join(lines)


def _counted(report: Report, value: float) -> float:
    """As summarize counts them: an ungradable submission scores 0, whatever its report carries."""
    return value if report.status is RunStatus.graded else 0.0


def _details(rows: Reports, anchors: list[str], links: Sequence[str | None]) -> str:
    parts = ["<h2 id=\"details\">Details</h2>\n"]
    for (student_id, report), anchor, link in zip(rows, anchors, links):
        parts.append(_student(student_id, report, anchor, link))
    return "".join(parts)


def _student(student_id: str, report: Report, anchor: str, link: str | None) -> str:
    status = report.status.value
    facts = [f"<span class=\"status-{status}\">{status}</span>"]
    if report.status is not RunStatus.error:
        facts.append(f"{_num(_counted(report, report.score))}/{_num(report.max_score)} points "
                     f"({_num(_counted(report, report.percent))}%)")
    facts.append(f"challenge {_e(report.challenge_id)}")
    if report.seed is not None:
        facts.append(f"seed {report.seed}")
    submission = report.submission
    file_text = f"file {_e(submission.file_name)}"
    if submission.size_bytes is not None:
        file_text += f", {submission.size_bytes} bytes"
    if submission.sha256:
        file_text += f", sha256 {_e(submission.sha256[:12])}…"
    facts.append(file_text)
    if report.output is not None:
        facts.append(f"printed {len(report.output)} characters{' (cut)' if report.output_truncated else ''}, "
                     "not shown here")
    if report.audience is Audience.candidate:
        facts.append("a candidate report: hidden checks' messages were already removed")
    view = f" · <a href=\"{_e(link)}\">feedback as the candidate sees it</a>" if link else ""
    parts = [f"<section class=\"student\" id=\"{anchor}\">\n<h3>{_e(student_id)}</h3>\n"
             f"<p>{' · '.join(facts)}{view} · <a href=\"#top\">top</a></p>\n"]
    if report.reason:
        parts.append(f"<p>Reason:</p><pre class=\"reason\">{_e(report.reason)}</pre>\n")
    if report.notes:
        notes = "".join(f"<li>{_e(note)}</li>" for note in report.notes)
        parts.append(f"<p>Notes:</p><ul>{notes}</ul>\n")
    if report.checks:
        rows = []
        for check in report.checks:
            message = "" if check.message is None else f"<pre>{_e(check.message)}</pre>"
            if check.truncated:
                message += "<span class=\"muted\">(message cut)</span>"
            seen = ("" if check.visibility is Visibility.visible
                    else f" <span class=\"muted\">({check.visibility.value})</span>")
            rows.append(f"<tr><td>{_e(check.name)}{seen}</td><td class=\"{check.status.value}\">{check.status.value}"
                        f"</td><td class=\"n\">{_num(check.points)}/{_num(check.max_points)}</td><td>{message}</td></tr>")
        parts.append("<table><thead><tr><th>check</th><th>status</th><th>points</th><th>message</th></tr></thead>"
                     f"<tbody>{''.join(rows)}</tbody></table>\n")
    parts.append("</section>\n")
    return "".join(parts)


# --- charts ---------------------------------------------------------------------------------------


def _histogram_svg(histogram: list[dict[str, int]]) -> str:
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(4.8, 2.6))
    ax = fig.add_subplot()
    lefts = [row["from"] for row in histogram]
    widths = [row["to"] - row["from"] for row in histogram]
    bars = ax.bar(lefts, [row["count"] for row in histogram], width=widths, align="edge", color="#4477aa",
                  edgecolor="white")
    ax.bar_label(bars, labels=[str(row["count"]) if row["count"] else "" for row in histogram], fontsize=8)
    ax.set_xlim(0, 100)
    ax.set_xticks(range(0, 101, 10))
    ax.set_xlabel("percent score", fontsize=9)
    ax.set_ylabel("submissions", fontsize=9)
    ax.tick_params(labelsize=8)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.margins(y=0.15)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return _svg(fig, "histogram", "Histogram of percent scores")


def _pass_rate_svg(checks: list[dict[str, Any]]) -> str:
    from matplotlib.figure import Figure

    labels = [_short(row["name"]) for row in checks]
    rates = [100 * row["pass_rate"] for row in checks]
    fig = Figure(figsize=(5.2, 0.8 + 0.28 * len(checks)))
    ax = fig.add_subplot()
    positions = list(range(len(checks)))
    bars = ax.barh(positions, rates, color="#228833", height=0.7)
    ax.bar_label(bars, labels=[f"{rate:.0f}%" for rate in rates], fontsize=7, padding=2)
    ax.set_yticks(positions, labels=labels, fontsize=8, parse_math=False)
    ax.invert_yaxis()  # the first check on top, as in the table
    ax.set_xlim(0, 112)
    ax.set_xticks(range(0, 101, 25))
    ax.set_xlabel("passed, % of graded submissions", fontsize=9)
    ax.tick_params(axis="x", labelsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return _svg(fig, "passrate", "Pass rate of each check")


@contextmanager
def _chart_style() -> Iterator[None]:
    """matplotlib's default style whatever a matplotlibrc says, so every machine draws the same charts, with SVG
    ids salted by a fixed string (not a random one) and text drawn as paths (no font needed to view it)."""
    import matplotlib
    import matplotlib.style

    with matplotlib.style.context("default"), matplotlib.rc_context(
            {"svg.hashsalt": SVG_HASHSALT, "svg.fonttype": "path"}):
        yield


def _short(name: str) -> str:
    return name if len(name) <= CHART_LABEL_CHARS else name[: CHART_LABEL_CHARS - 1] + "…"


_XML_HEAD = re.compile(r"\A.*?(?=<svg\b)", re.S)
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.S)
_COMMENT = re.compile(r"<!--.*?-->\s*", re.S)
_ID = re.compile(r'\bid="([^"]*)"')
_REF = re.compile(r'(href="#|url\(#)([^")]*)')


def _svg(fig: Any, prefix: str, label: str) -> str:
    """The figure as SVG text to put inside HTML: no XML declaration or DOCTYPE, no metadata or comments (the
    comments repeat the labels' text), every id prefixed so that two charts on one page never share one."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    text = _XML_HEAD.sub("", buffer.getvalue(), count=1)
    text = _METADATA.sub("", text)
    text = _COMMENT.sub("", text)
    text = _ID.sub(lambda match: f'id="{prefix}-{match.group(1)}"', text)
    text = _REF.sub(lambda match: f"{match.group(1)}{prefix}-{match.group(2)}", text)
    return text.replace("<svg ", f"<svg role=\"img\" aria-label=\"{_e(label)}\" ", 1).strip()


__all__ = ["render_class_page", "write_class_page"]
