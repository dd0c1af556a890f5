"""The class page: one self-contained HTML file with the class's counts, charts, a row per student and each
student's details, every piece of report text escaped, byte-identical across renders of the same reports."""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from harness.batch.store import ResultStore
from harness.classpage import SORT_SCRIPT, render_class_page, write_class_page
from harness.export import ExportError
from harness.report import CheckResult, CheckStatus, Environment, Report, RunStatus, Submission, Timings, Visibility

WHEN = "2024-05-01T12:00:00+00:00"
SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE = '"><img src=x onerror=alert(1)>'
HIDDEN_MESSAGE = "expected 9, found HIDDEN-DETAIL-42"


def check(name: str, status: CheckStatus = CheckStatus.passed, *, max_points: float = 1,
          visibility: Visibility = Visibility.visible, message: str | None = None) -> CheckResult:
    return CheckResult(name=name, description="checks a thing", status=status,
                       points=max_points if status is CheckStatus.passed else 0, max_points=max_points,
                       duration_seconds=0.25, visibility=visibility, message=message)


def graded(*checks: CheckResult, output: str | None = None, notes: list[str] | None = None, seed: int = 7,
           challenge_id: str = "tiny-scale") -> Report:
    score = sum(c.points for c in checks)
    max_score = sum(c.max_points for c in checks)
    return Report(challenge_id=challenge_id, submission=Submission(file_name="solution.py", sha256="ab" * 32),
                  status=RunStatus.graded, score=score, max_score=max_score,
                  percent=round(100 * score / max_score, 2) if max_score else 0, seed=seed, checks=list(checks),
                  output=output, notes=notes or [], environment=Environment(harness_version="0.1.0"),
                  timings=Timings(total=2.6))


def not_graded(status: RunStatus, reason: str) -> Report:
    return Report(challenge_id="tiny-scale", submission=Submission(file_name="solution.py"), status=status,
                  reason=reason, score=0, max_score=3, percent=0, seed=7,
                  environment=Environment(harness_version="0.1.0"))


def full(a: CheckStatus = CheckStatus.passed, b: CheckStatus = CheckStatus.passed,
         c: CheckStatus = CheckStatus.passed) -> Report:
    """Three checks worth 1 each: 'scales', 'shape', and the hidden 'secret'."""
    return graded(check("scales", a, message=None if a is CheckStatus.passed else "expected 2, found 3"),
                  check("shape", b, message=None if b is CheckStatus.passed else "wrong shape"),
                  check("secret", c, visibility=Visibility.hidden,
                        message=None if c is CheckStatus.passed else HIDDEN_MESSAGE))


def klass() -> list[tuple[str, Report]]:
    """Four graded (100, 67, 33, 67 %), one ungradable, one error."""
    f = CheckStatus.failed
    return [
        ("dave", full(b=f)),
        ("alice", full()),
        ("bob", full(a=f, c=f)),
        ("carol", full(c=CheckStatus.timeout)),
        ("erin", not_graded(RunStatus.ungradable, "SyntaxError: invalid syntax (solution.py, line 3)\n  more detail")),
        ("frank", not_graded(RunStatus.error, "docker engine did not answer\nTraceback line")),
    ]


class Page(HTMLParser):
    """What a browser would build: element starts with their attributes, and the text."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.starts: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.starts.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def tags(self, name: str) -> list[dict[str, str | None]]:
        return [attrs for tag, attrs in self.starts if tag == name]


def student_rows(page: str) -> list[str]:
    body = page.split('<table class="students" id="students">', 1)[1].split("</table>", 1)[0]
    return re.findall(r"<tr class=\"[a-z]+\">.*?</tr>", body)


# --- content --------------------------------------------------------------------------------------


def test_header_counts_and_statistics():
    page = render_class_page(klass(), generated=WHEN)
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "<dt>challenge</dt><dd>tiny-scale</dd>" in page
    assert "<dt>submissions</dt><dd>6</dd>" in page
    assert "<dt>seed</dt><dd>7</dd>" in page
    assert "<dt>harness version</dt><dd>0.1.0</dd>" in page
    assert f"<dt>generated</dt><dd>{WHEN}</dd>" in page
    for status, count in [("submissions", 6), ("graded", 4), ("ungradable", 1), ("error", 1)]:
        assert re.search(f'<div class="tile[^"]*"><dt>{status}</dt><dd>{count}</dd></div>', page), status
    # the tiles: mean and median percent, and the median grading time (2.6 s for each graded report)
    assert "<dt>mean score</dt><dd>53.3%</dd>" in page and "<dt>median score</dt><dd>66.7%</dd>" in page
    assert "<dt>median time</dt><dd>2.6 s</dd>" in page
    # summarize: scores 3, 2, 1, 2 and the ungradable 0 -> mean 1.6, median 2; the error is left out
    assert "mean <b>1.6/3</b> (53.33%)" in page and "median <b>2/3</b> (66.67%)" in page


def test_grader_banner_comes_first_and_hidden_messages_are_shown():
    page = render_class_page(klass(), generated=WHEN)
    body = page.split("<body>", 1)[1]
    assert body.lstrip().startswith('<p class="banner"')
    assert "For graders only" in body[:300] and "hidden checks" in body[:300]
    assert HIDDEN_MESSAGE in page
    assert "secret <span class=\"muted\">(hidden)</span>" in page


def test_charts_are_inline_svg_without_xml_prolog_or_external_resources():
    page = render_class_page(klass(), generated=WHEN)
    assert page.count("<svg") == 2
    assert 'aria-label="Histogram of percent scores"' in page and 'aria-label="Pass rate of each check"' in page
    assert "<?xml" not in page and "<!DOCTYPE svg" not in page and "<metadata>" not in page
    assert page.lower().count("<script") == 1  # the sorting script, and nothing else
    # nothing is fetched: no src= at all, and every href is a fragment of this page (or an SVG namespace)
    assert not re.search(r"\bsrc\s*=", page)
    for link in re.findall(r'href="([^"]*)"', page):
        assert link.startswith("#"), link
    # with feedback pages, the only other links are to them, relative, beside the page
    with_feedback = render_class_page(klass(), generated=WHEN, feedback="feedback")
    others = [link for link in re.findall(r'href="([^"]*)"', with_feedback) if not link.startswith("#")]
    assert len(others) == 2 * 6 and all(re.fullmatch(r"feedback/s-[a-z]+\.html", link) for link in others)
    assert "@import" not in page and "url(http" not in page
    # each chart's ids are its own, so the two SVGs never share one
    ids = re.findall(r'\bid="([^"]*)"', page)
    assert len(ids) == len(set(ids))


def test_pass_rates_per_check_over_graded_reports():
    page = render_class_page(klass(), generated=WHEN)
    table = Page(page.split("<summary>The charts as tables</summary>", 1)[1].split("</details>", 1)[0]).text
    text = " ".join(table)
    # scales: bob failed (3/4); shape: dave failed (3/4); secret: bob failed, carol timed out (2/4)
    assert "scales 1 3/4 75% shape 1 3/4 75% secret 1 2/4 50%" in text
    # the histogram's bins: 33 %, 67 % twice, 100 %, and the ungradable at 0
    assert "0–10% 1" in text and "30–40% 1" in text and "60–70% 2" in text and "90–100% 1" in text


def test_one_row_per_student_sorted_by_id_with_check_marks_and_links():
    page = render_class_page(klass(), generated=WHEN)
    rows = student_rows(page)
    assert [re.search(r'<a href="#s-(\w+)">', row).group(1) for row in rows] == [
        "alice", "bob", "carol", "dave", "erin", "frank"]
    bob = rows[1]
    assert '<td class="n" data-v="1">1/3</td><td class="n" data-v="33.33">33.33%</td>' in bob
    assert '<td class="n" data-v="2.600">2.6</td>' in bob  # seconds
    assert 'title="scales: passed"' not in bob
    assert '<td class="c failed" data-v="0" title="scales: failed">✗</td>' in bob
    assert '<td class="c passed" data-v="1" title="shape: passed">✓</td>' in bob
    assert '<td class="c failed" data-v="0" title="secret: failed">✗</td>' in bob
    assert '<td class="c timeout" data-v="0" title="secret: timeout">✗</td>' in rows[2]
    # every row's link has a details section to land on
    for anchor in re.findall(r'<a href="#(s-[^"]+)">', page):
        assert page.count(f'id="{anchor}"') == 1
    assert '<section class="student" id="s-bob">' in page


def test_ungradable_and_error_rows_show_their_reason():
    rows = student_rows(render_class_page(klass(), generated=WHEN))
    erin, frank = rows[4], rows[5]
    assert erin.startswith('<tr class="ungradable">')
    assert '<td class="reason">SyntaxError: invalid syntax (solution.py, line 3)</td>' in erin
    assert "more detail" not in erin  # the row holds the first line; the details hold the rest
    assert '<td class="n" data-v="0">0/3</td><td class="n" data-v="0">0%</td>' in erin
    assert frank.startswith('<tr class="error">')
    assert '<td class="reason">docker engine did not answer</td>' in frank
    assert "—" in frank  # an error has no score: it is left out of the statistics
    assert erin.count('<td class="c" data-v=""></td>') == 3  # no checks ran
    assert '<td class="status-ungradable" data-v="1">' in erin and '<td class="status-error" data-v="2">' in frank


def test_details_hold_checks_notes_and_the_output_length_but_not_the_output():
    report = graded(check("scales", CheckStatus.failed, max_points=2, message="expected 2\nfound 3"),
                    output="PRINTED-BY-SUBMISSION " * 10, notes=["answers.json: key 'q9' names no question"])
    page = render_class_page([("alice", report)], generated=WHEN)
    details = page.split('<section class="student" id="s-alice">', 1)[1].split("</section>", 1)[0]
    assert "<td>scales</td><td class=\"failed\">failed</td><td class=\"n\">0/2</td>" in details
    assert "<pre>expected 2\nfound 3</pre>" in details
    assert "answers.json: key &#x27;q9&#x27; names no question" in details
    assert "printed 220 characters" in details
    assert "PRINTED-BY-SUBMISSION" not in page


def test_full_reason_is_in_the_details():
    page = render_class_page(klass(), generated=WHEN)
    details = page.split('id="s-erin">', 1)[1].split("</section>", 1)[0]
    assert "SyntaxError: invalid syntax (solution.py, line 3)\n  more detail" in details


# --- untrusted text -------------------------------------------------------------------------------


@pytest.mark.parametrize("evil", [SCRIPT, ATTRIBUTE, "' onmouseover='alert(1)", "</textarea></style><script>x()</script>"])
def test_everything_from_reports_is_escaped(evil):
    report = graded(check(f"check {evil}", CheckStatus.failed, message=f"message {evil}"),
                    check("fine", CheckStatus.passed), output=f"output {evil}", notes=[f"note {evil}"],
                    challenge_id=f"challenge {evil}")
    bad = not_graded(RunStatus.ungradable, f"reason {evil}\nsecond {evil}")
    page = render_class_page([(f"id {evil}", report), (f"other {evil}", bad)], generated=WHEN)
    # nothing the submission wrote became markup: the only elements are the page's own
    parsed = Page(page)
    tags = [tag for tag, _ in parsed.starts]
    assert tags.count("script") == 1 and "img" not in tags and "textarea" not in tags  # the one script is ours
    assert page.count(f"<script>{SORT_SCRIPT}</script>") == 1
    assert not any(name.startswith("on") for _, attrs in parsed.starts for name in attrs)
    assert page.lower().count("<script") == 1 and "<img" not in page.lower() and "onerror=alert" not in \
        page.replace("onerror=alert(1)&gt;", "")
    # the text comes back whole, as text, where a reader expects it (element and attribute contexts)
    text = "".join(parsed.text)
    for where in ("id", "other", "check", "message", "note", "reason", "challenge"):
        assert f"{where} {evil}" in text, where
    assert f"output {evil}" not in text  # the output is never shown
    titles = [attrs.get("title") for attrs in parsed.tags("td") + parsed.tags("th")]
    assert f"check {evil}: failed" in titles and f"check {evil}" in titles
    assert f"challenge {evil}, tiny-scale: class report" in text  # the default title, in <title> and <h1>


def test_xss_payloads_appear_only_escaped():
    report = graded(check(SCRIPT, CheckStatus.failed, message=ATTRIBUTE))
    ungradable = not_graded(RunStatus.ungradable, SCRIPT)
    page = render_class_page([(ATTRIBUTE, report), (SCRIPT, ungradable)], generated=WHEN)
    assert SCRIPT not in page and ATTRIBUTE not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    # an attribute value: the tooltip of the check's cell and the check's column header
    assert 'title="&lt;script&gt;alert(1)&lt;/script&gt;: failed"' in page
    assert 'title="&lt;script&gt;alert(1)&lt;/script&gt;"' in page
    # anchors made from ids keep to letters, digits, '.', '-' and '_'
    for anchor in re.findall(r'href="#([^"]*)"', page):
        assert re.fullmatch(r"[A-Za-z0-9._-]+", anchor), anchor


def test_a_content_security_policy_allows_only_the_sorting_script_by_its_hash():
    page = render_class_page(klass(), generated=WHEN)
    policy = [attrs["content"] for attrs in Page(page).tags("meta") if attrs.get("http-equiv") ==
              "Content-Security-Policy"]
    assert policy and "default-src 'none'" in policy[0]
    scripts = re.findall(r"script-src ([^;]*)", policy[0])
    digest = base64.b64encode(hashlib.sha256(SORT_SCRIPT.encode("utf-8")).digest()).decode()
    assert scripts == [f"'sha256-{digest}'"]  # no 'unsafe-inline', no host, no other hash
    assert "unsafe-inline" not in scripts[0] and "unsafe-eval" not in policy[0]


def test_check_names_with_mathtext_are_drawn_as_plain_text():
    report = graded(check("$\\frac{1}{0}$ {unbalanced", CheckStatus.passed), check("100% $x", CheckStatus.failed))
    page = render_class_page([("alice", report)], generated=WHEN)
    assert page.count("<svg") == 2


def test_distinct_ids_get_distinct_anchors_and_repeated_ids_do_not_collide():
    reports = [(name, full()) for name in ["a b", "a_20_b", "a/b", "a", "a"]]
    page = render_class_page(reports, generated=WHEN)
    anchors = re.findall(r'<tr class="graded"><td><a href="#(s-[^"]*)">', page)
    assert anchors == ["s-a", "s-a_dup2", "s-a_20_b", "s-a_2f_b", "s-a_5f_20_5f_b"]
    assert len(anchors) == 5 and len(set(anchors)) == 5
    for anchor in anchors:
        assert page.count(f'id="{anchor}"') == 1


# --- determinism, size, edges ---------------------------------------------------------------------


def test_two_renders_are_byte_identical_with_a_fixed_time():
    first = render_class_page(klass(), generated=WHEN)
    second = render_class_page(list(reversed(klass())), generated=WHEN)
    assert first == second


def test_charts_ignore_the_callers_matplotlib_settings():
    import matplotlib

    expected = render_class_page(klass(), generated=WHEN)
    with matplotlib.rc_context({"axes.facecolor": "black", "font.size": 20, "svg.fonttype": "none",
                                "svg.hashsalt": None}):
        assert render_class_page(klass(), generated=WHEN) == expected


def test_generation_time_defaults_to_now_and_is_the_only_difference():
    first = render_class_page(klass())
    second = render_class_page(klass(), generated="SOME-TIME")
    pattern = re.compile(r"<dt>generated</dt><dd>[^<]*</dd>")
    assert re.search(r"<dt>generated</dt><dd>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00</dd>", first)
    assert pattern.sub("", first) == pattern.sub("", second)


def test_title_can_be_given():
    page = render_class_page(klass(), title="CS 101 <week 3>", generated=WHEN)
    assert "<title>CS 101 &lt;week 3&gt;</title>" in page and "<h1>CS 101 &lt;week 3&gt;</h1>" in page


def test_mixed_challenges_and_seeds_are_all_named():
    reports = [("a", graded(check("x"), challenge_id="one", seed=1)), ("b", graded(check("x"), challenge_id="two",
                                                                                  seed=2))]
    page = render_class_page(reports, generated=WHEN)
    assert "<dt>challenges</dt><dd>one, two</dd>" in page and "<dt>seeds</dt><dd>1, 2</dd>" in page
    assert "more than one challenge" in page


def test_no_graded_reports_means_no_charts_but_a_page():
    page = render_class_page([("frank", not_graded(RunStatus.error, "boom"))], generated=WHEN)
    assert "<svg" not in page and "No graded or ungradable submissions" in page
    assert "No graded submissions: no check pass rates" in page
    assert render_class_page([], generated=WHEN).count("<svg") == 0


def synthetic_class(count: int) -> list[tuple[str, Report]]:
    names = ["scales", "shape", "decay_applied", "no_decay_on_bias", "warmup", "cosine_tail", "state_dict", "secret"]
    statuses = [CheckStatus.passed, CheckStatus.passed, CheckStatus.failed, CheckStatus.passed, CheckStatus.timeout,
                CheckStatus.passed, CheckStatus.error]
    reports = []
    for index in range(count):
        if index % 50 == 7:
            report = not_graded(RunStatus.ungradable, "SyntaxError: invalid syntax (solution.py, line 3)\n  x = (")
        elif index % 97 == 3:
            report = not_graded(RunStatus.error, "docker engine did not answer")
        else:
            checks = []
            for number, name in enumerate(names):
                status = statuses[(index * 7 + number * 3) % len(statuses)]
                message = None if status is CheckStatus.passed else (
                    f"expected tensor([1.0000, 2.0000, 3.0000]), found tensor([1.0000, 2.{index % 10}000, 3.0000]); "
                    "max abs difference 0.5 > tolerance 1e-5")
                visibility = Visibility.hidden if name == "secret" else Visibility.visible
                checks.append(check(name, status, max_points=2, message=message, visibility=visibility))
            report = graded(*checks, output="step 1 loss 0.5\n" * 200)
        reports.append((f"student{index:04d}", report))
    return reports


def test_a_thousand_students_stay_under_five_megabytes():
    reports = synthetic_class(1000)
    page = render_class_page(reports, generated=WHEN)
    size = len(page.encode("utf-8"))
    assert size < 5_000_000, size
    assert page.count("<svg") == 2
    assert len(student_rows(page)) == 1000
    assert page.count('<section class="student"') == 1000


# --- writing --------------------------------------------------------------------------------------


def batch_folder(tmp_path: Path) -> Path:
    store = ResultStore(tmp_path / "out")
    for student_id, report in klass():
        store.save(student_id, report)
    return tmp_path / "out"


def test_write_class_page_from_a_batch_folder(tmp_path):
    out = tmp_path / "class.html"
    written = write_class_page(batch_folder(tmp_path), out, generated=WHEN)
    assert written == out
    page = out.read_text(encoding="utf-8")
    assert page == render_class_page(klass(), generated=WHEN, feedback="feedback")
    assert len(student_rows(page)) == 6
    # each student's candidate page beside it, linked from the row and the details
    assert sorted(path.name for path in (tmp_path / "feedback").iterdir()) == [
        f"s-{name}.html" for name in ["alice", "bob", "carol", "dave", "erin", "frank"]]
    assert student_rows(page)[1].endswith('<td class="view"><a href="feedback/s-bob.html" title="this student\'s '
                                          'feedback as the candidate sees it">view</a></td></tr>')
    assert '<a href="feedback/s-bob.html">feedback as the candidate sees it</a>' in page
    bob = (tmp_path / "feedback" / "s-bob.html").read_text(encoding="utf-8")
    assert HIDDEN_MESSAGE not in bob and "expected 2, found 3" in bob and "1/3</b> points" in bob
    # no code was kept with these reports: the page says how to compare them
    assert "was not kept with these reports" in page
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".class.html")]  # no temporary file left


def test_write_class_page_from_a_single_report_file(tmp_path):
    path = tmp_path / "alice.json"
    path.write_text(full(b=CheckStatus.failed).model_dump_json(), encoding="utf-8")
    out = write_class_page(path, tmp_path / "alice.html", generated=WHEN)
    page = out.read_text(encoding="utf-8")
    assert [re.search(r'href="#s-(\w+)"', row).group(1) for row in student_rows(page)] == ["alice"]
    assert (tmp_path / "feedback" / "s-alice.html").is_file()
    assert "<dt>submissions</dt><dd>1</dd>" in page


def test_write_class_page_overwrites_an_earlier_page(tmp_path):
    folder = batch_folder(tmp_path)
    out = tmp_path / "class.html"
    out.write_text("old", encoding="utf-8")
    write_class_page(folder, out, generated=WHEN)
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_a_bad_input_path_is_an_export_error(tmp_path):
    with pytest.raises(ExportError, match="no such file or folder"):
        write_class_page(tmp_path / "missing", tmp_path / "class.html")
    with pytest.raises(ExportError, match="no reports/"):
        write_class_page(tmp_path, tmp_path / "class.html")
    broken = tmp_path / "broken.json"
    broken.write_text("{}", encoding="utf-8")
    with pytest.raises(ExportError, match="not a valid score report"):
        write_class_page(broken, tmp_path / "class.html")
    assert not (tmp_path / "class.html").exists()


def test_a_bad_output_path_is_an_export_error(tmp_path):
    folder = batch_folder(tmp_path)
    with pytest.raises(ExportError, match="does not exist"):
        write_class_page(folder, tmp_path / "nowhere" / "class.html")
    with pytest.raises(ExportError, match="is a folder"):
        write_class_page(folder, tmp_path)


# --- slowest, similar, feedback ---------------------------------------------------------------------


def timed(total: float, **parts: float) -> Report:
    return full().model_copy(update={"timings": Timings(total=total, **parts)})


def test_the_slowest_submissions_come_first_ten_at_most_with_their_phases():
    reports = [(f"s{index:02d}", timed(float(index), sandbox_start=0.5, probes=index / 2, checks=0.25))
               for index in range(1, 15)]
    reports.append(("untimed", not_graded(RunStatus.error, "boom")))  # no timing: not listed
    page = render_class_page(reports, generated=WHEN)
    section = page.split('<h2 id="slowest">', 1)[1].split("</section>", 1)[0]
    rows = re.findall(r"<tr><td><a href=\"#s-(\w+)\">", section)
    assert rows == [f"s{index:02d}" for index in range(14, 4, -1)]
    assert "The 10 slowest of 14 timed gradings, in seconds." in section
    assert ('<td class="n">14.0</td><td class="n">0.5</td><td class="n">7.0</td><td class="n">0.2</td>' in section)
    assert "untimed" not in section


def test_similar_pairs_are_shown_escaped_and_capped_and_their_absence_explained():
    from harness.similarity import Comparison, Pair

    pairs = [Pair(f"a{index:02d}", SCRIPT, 1 - index / 100, 1 - index / 100, 0.5, 40) for index in range(12)]
    comparison = Comparison(pairs=pairs, compared=13, too_short=["x"], unreadable=["y: bad"], threshold=0.5)
    page = render_class_page([("a00", full())], generated=WHEN, similar=comparison)
    section = page.split('<h2 id="similar">', 1)[1].split("</section>", 1)[0]
    assert ("13 submissions compared (left out: 1 with too little code beyond the starter to judge; 1 that could "
            "not be read as Python); 12 pairs share at least 50%") in section
    rows = re.findall(r"<tr><td>.*?</tr>", section)
    assert len(rows) == 10 and "The first 10 of 12" in section
    assert rows[0] == ('<tr><td><a href="#s-a00">a00</a></td><td>&lt;script&gt;alert(1)&lt;/script&gt;</td>'
                       '<td class="n"><b>100%</b></td><td class="n">100%</td><td class="n">50%</td></tr>')
    none = render_class_page(klass(), generated=WHEN)
    assert "The submissions&#x27; code was not kept" not in none and "code was not kept with these reports" in none


def test_feedback_pages_are_the_candidate_view_escaped_and_without_scripts():
    from harness.feedback import render_feedback_page

    report = graded(check("visible one", CheckStatus.failed, message=f"expected 2 {SCRIPT}"),
                    check("secret", CheckStatus.failed, visibility=Visibility.hidden, message=HIDDEN_MESSAGE),
                    output="PRINTED-BY-SUBMISSION", notes=[f"note {ATTRIBUTE}"])
    page = render_feedback_page(f"bob {SCRIPT}", report)
    assert HIDDEN_MESSAGE not in page and "PRINTED-BY-SUBMISSION" not in page
    assert SCRIPT not in page and ATTRIBUTE not in page and "<script" not in page.lower()
    text = " ".join(Page(page).text)
    assert f"expected 2 {SCRIPT}" in text and f"note {ATTRIBUTE}" in text and f"For bob {SCRIPT}" in text
    assert "<b>0/2</b> points (0%): 0 of 2 checks passed." in page
    assert "hidden check: its details are not shown" in text and "1 hidden check counts toward the score" in text
    policy = [attrs["content"] for attrs in Page(page).tags("meta") if attrs.get("http-equiv") ==
              "Content-Security-Policy"][0]
    assert "default-src 'none'" in policy and "script-src" not in policy
    assert not [attrs for _, attrs in Page(page).starts if "src" in attrs or "href" in attrs]  # links nowhere
    ungradable = render_feedback_page("erin", not_graded(RunStatus.ungradable, "SyntaxError: bad\n  secret detail"))
    assert "Not graded</b>: fix this" in ungradable and "SyntaxError: bad" in ungradable
    assert "secret detail" not in ungradable  # the reason's first line only


def test_feedback_file_names_are_safe_and_distinct_even_ignoring_case():
    from harness.feedback import page_names

    assert page_names(["alice", "Alice", "a/b", "a b", "alice"]) == [
        "s-alice.html", "s-Alice_dup2.html", "s-a_2f_b.html", "s-a_20_b.html", "s-alice_dup3.html"]


def test_write_class_page_refuses_a_feedback_path_that_is_a_file(tmp_path):
    folder = batch_folder(tmp_path)
    (tmp_path / "feedback").write_text("in the way")
    with pytest.raises(ExportError, match="feedback pages cannot be written there"):
        write_class_page(folder, tmp_path / "class.html")


# --- in a browser ---------------------------------------------------------------------------------

CHROMIUM = next((shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome")
                 if shutil.which(name)), None)
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="no headless chromium installed")


def chromium(tmp_path: Path, url: str, *options: str) -> subprocess.CompletedProcess:
    """Headless chromium on `url`, its console messages logged to stderr (one ':CONSOLE' line each)."""
    assert CHROMIUM is not None
    return subprocess.run([CHROMIUM, "--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars",
                           "--enable-logging=stderr", "--v=0", f"--user-data-dir={tmp_path / 'profile'}", *options,
                           url], capture_output=True, text=True, timeout=120, check=True)


def console(result: subprocess.CompletedProcess) -> list[str]:
    return [line for line in result.stderr.splitlines() if re.search(r":CONSOLE[(:]", line)]


def dom_ids(dom: str) -> list[str]:
    return re.findall(r'<tr class="[a-z]+"[^>]*><td><a href="#s-(\w+)">', dom)


@pytest.fixture
def class_page(tmp_path: Path) -> Path:
    folder = batch_folder(tmp_path)
    kept = folder / "submissions"
    kept.mkdir()
    reference = (Path(__file__).resolve().parent.parent / "reference_solutions" / "weight-decay-exclude-bias" /
                 "solution.py").read_text()
    (kept / "alice.py").write_text(reference)
    (kept / "bob.py").write_text(reference.replace("param", "p"))
    return write_class_page(folder, folder / "report.html", generated=WHEN)


@needs_chromium
def test_headless_chromium_loads_the_page_without_console_messages_and_a_row_per_student(class_page, tmp_path):
    result = chromium(tmp_path, class_page.as_uri(), "--dump-dom")
    assert console(result) == []
    dom = result.stdout
    assert dom_ids(dom) == ["alice", "bob", "carol", "dave", "erin", "frank"]
    assert dom.count("<svg") == 2 and "For graders only" in dom
    # the script ran under the page's policy: the headers became sort links
    assert '<a class="sort" href="#sort=score-desc" title="sort by this column">score</a>' in dom
    assert re.search(r'<td><a href="#s-alice">alice</a></td><td><a href="#s-bob">bob</a></td>', dom)
    # the console is really captured: a script the policy does not allow is reported there, and blocked
    tampered = class_page.with_name("tampered.html")
    tampered.write_text(class_page.read_text().replace("sha256-", "sha256-X", 1))
    blocked = chromium(tmp_path, tampered.as_uri(), "--dump-dom")
    assert any("Content Security Policy" in line for line in console(blocked)), blocked.stderr[-2000:]
    assert 'class="sort"' not in blocked.stdout and dom_ids(blocked.stdout) == dom_ids(dom)  # readable unsorted


@needs_chromium
def test_headless_chromium_sorts_the_table_by_the_column_in_the_fragment(class_page, tmp_path):
    by_score = chromium(tmp_path, class_page.as_uri() + "#sort=score-desc", "--dump-dom")
    assert console(by_score) == []
    # scores 3, 1, 2, 2, 0 (ungradable) and the error last; equal scores keep the id order
    assert dom_ids(by_score.stdout) == ["alice", "carol", "dave", "bob", "erin", "frank"]
    assert '<th data-key="score" data-num="" aria-sort="descending">' in by_score.stdout
    assert 'href="#sort=score-asc"' in by_score.stdout  # the header's next click reverses it
    by_check = chromium(tmp_path, class_page.as_uri() + "#sort=check-3-asc", "--dump-dom")
    # the hidden check 'secret' ascending: no result (nothing ran) first, then failed, then passed
    assert dom_ids(by_check.stdout) == ["erin", "frank", "bob", "carol", "alice", "dave"]


@needs_chromium
def test_a_headless_chromium_screenshot_of_the_page_is_not_blank(class_page, tmp_path):
    from matplotlib.image import imread

    shot = tmp_path / "shot.png"
    result = chromium(tmp_path, class_page.as_uri(), f"--screenshot={shot}", "--window-size=1200,1500")
    assert console(result) == []
    pixels = imread(shot)[:, :, :3]
    assert pixels.shape[:2] == (1500, 1200)
    assert pixels.std() > 0.1  # not one colour
    assert (pixels.mean(axis=2) < 0.8).mean() > 0.03  # text, charts and tables: more than 3 % dark pixels
