"""One student's feedback as the candidate sees it: a self-contained HTML page a teacher may hand to that student.

The class page (harness.classpage) is for graders: it shows the messages of hidden checks. Next to it,
`write_feedback_pages` writes one page per student, `feedback/<name>.html`, made from `for_candidate(report)`
whatever the report holds: the score, each check's name, description, status and points, the messages of visible
checks only, the notes, the reason's first line, never the captured output. A teacher opens it from the class
page to see what the student sees, and can send that one file to that one student: it names no other student
and links to nothing.

Like the class page: no script at all (a Content-Security-Policy forbids them), no external resource, every
piece of report text escaped.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Iterable, Sequence

from harness import __version__
from harness.batch.store import atomic_write
from harness.report import CheckStatus, Report, RunStatus, Visibility, for_candidate

FEEDBACK_DIR = "feedback"
CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:1.5em auto;
max-width:60em;padding:0 1em;color:#1a1a1a;line-height:1.45}
h1{font-size:1.5em;margin:.2em 0}.muted{color:#666}
.score{font-size:1.3em;margin:.4em 0}
table{border-collapse:collapse;margin:.6em 0;width:100%}th,td{border:1px solid #ddd;padding:.25em .5em;
text-align:left;vertical-align:top}th{background:#f3f3f3}td.n{text-align:right;font-variant-numeric:tabular-nums;
white-space:nowrap}
.passed{color:#137333}.failed{color:#c5221f}.error,.timeout,.oom{color:#b06000}.skipped{color:#777}
.status-graded{color:#137333}.status-ungradable{color:#b06000}.status-error{color:#c5221f}
pre{white-space:pre-wrap;word-break:break-word;margin:0;font-size:.9em}
tr.details td{background:#fafafa;padding-left:1.5em}td b{word-break:break-word}
"""

_SAFE = re.compile(r"[A-Za-z0-9.-]")


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _num(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def page_names(student_ids: Iterable[str]) -> list[str]:
    """A file name per student (`s-alice.html`): ASCII letters, digits, '.' and '-' kept, any other character
    written `_<hex>_`, so distinct ids give distinct names; a name equal to an earlier one ignoring case (which
    a case-insensitive file system would merge) gets `_dup<n>`, a suffix the encoding never makes."""
    names, seen = [], set()
    for student_id in student_ids:
        base = "s-" + "".join(char if _SAFE.fullmatch(char) else f"_{ord(char):x}_" for char in student_id)
        name, count = base, 1
        while name.casefold() in seen:
            count += 1
            name = f"{base}_dup{count}"
        seen.add(name.casefold())
        names.append(name + ".html")
    return names


def render_feedback_page(student_id: str, report: Report) -> str:
    """The candidate's view of `report` as one HTML document (redacted here, whatever the report's audience)."""
    shown = for_candidate(report)
    status = shown.status.value
    parts = [
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{_e(CSP)}\">\n",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
        "<meta name=\"robots\" content=\"noindex, nofollow\">\n",
        f"<title>{_e(shown.challenge_id)}: feedback for {_e(student_id)}</title>\n<style>{STYLE}</style>\n</head>\n"
        "<body>\n",
        f"<h1>{_e(shown.challenge_id)}: your feedback</h1>\n",
        f"<p class=\"muted\">For {_e(student_id)} · file {_e(shown.submission.file_name)}"
        + (f" · seed {shown.seed}" if shown.seed is not None else "") + "</p>\n",
    ]
    if shown.status is RunStatus.graded:
        passed = sum(check.status is CheckStatus.passed for check in shown.checks)
        parts.append(f"<p class=\"score\"><b>{_num(shown.score)}/{_num(shown.max_score)}</b> points "
                     f"({_num(shown.percent)}%): {passed} of {len(shown.checks)} checks passed.</p>\n")
    elif shown.status is RunStatus.ungradable:
        parts.append(f"<p class=\"score status-ungradable\"><b>Not graded</b>: fix this and submit again "
                     f"(0/{_num(shown.max_score)} points).</p>\n")
    else:
        parts.append("<p class=\"score status-error\"><b>Not graded</b>: the grader failed; this is not your "
                     "fault; it needs grading again.</p>\n")
    if shown.reason:
        parts.append(f"<p>Reason:</p><pre>{_e(shown.reason)}</pre>\n")
    if shown.notes:
        notes = "".join(f"<li>{_e(note)}</li>" for note in shown.notes)
        parts.append(f"<p>Notes:</p><ul>{notes}</ul>\n")
    if shown.checks:
        hidden = sum(check.visibility is not Visibility.visible for check in shown.checks)
        rows = []
        for check in shown.checks:
            if check.visibility is Visibility.visible:
                message = "" if check.message is None else f"<pre>{_e(check.message)}</pre>"
            else:
                message = "<span class=\"muted\">hidden check: its details are not shown</span>"
            rows.append(f"<tr><td><b>{_e(check.name)}</b><br><span class=\"muted\">{_e(check.description)}</span>"
                        f"</td><td class=\"{check.status.value}\">{check.status.value}</td>"
                        f"<td class=\"n\">{_num(check.points)}/{_num(check.max_points)}</td></tr>")
            if message:
                rows.append(f"<tr class=\"details\"><td colspan=\"3\">{message}</td></tr>")
        parts.append("<table><thead><tr><th>check</th><th>status</th><th>points</th></tr></thead>"
                     f"<tbody>{''.join(rows)}</tbody></table>\n")
        if hidden:
            counts, whose = ("check counts", "its") if hidden == 1 else ("checks count", "their")
            parts.append(f"<p class=\"muted\">{hidden} hidden {counts} toward the score; only {whose} status and "
                         "points are shown.</p>\n")
    parts.append(f"<p class=\"muted\">Graded by harness {_e(shown.environment.harness_version)}; page made by "
                 f"harness {_e(__version__)}.</p>\n</body>\n</html>\n")
    return "".join(parts)


def write_feedback_pages(reports: Sequence[tuple[str, Report]], folder: Path) -> list[str]:
    """Write each student's feedback page into `folder` (made if missing), atomically; returns the file names, in
    the order of `reports`. OSError when the folder cannot be made or written."""
    folder.mkdir(exist_ok=True)
    names = page_names(student_id for student_id, _ in reports)
    for (student_id, report), name in zip(reports, names):
        atomic_write(folder / name, render_feedback_page(student_id, report).encode("utf-8"))
    return names


__all__ = ["FEEDBACK_DIR", "page_names", "render_feedback_page", "write_feedback_pages"]
