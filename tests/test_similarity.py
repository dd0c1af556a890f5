"""Similar submissions: winnowed fingerprints of normalized tokens, the starter left out; `harness similar`, the
kept sources of a batch, and the pairs on the class page."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from harness.batch.discover import Entry
from harness.batch.store import SOURCES_DIR, STARTER_SOURCE, ResultStore, keep_sources
from harness.challenge import find_challenge
from harness.cli import main
from harness.similarity import DEFAULT_THRESHOLD, compare, fingerprints, normalized_tokens

REPO = Path(__file__).resolve().parent.parent
CHALLENGE_ID = "weight-decay-exclude-bias"
REFERENCE = (REPO / "reference_solutions" / CHALLENGE_ID / "solution.py").read_text()
STARTER = (REPO / "challenges" / CHALLENGE_ID / "starter" / "solution.py").read_text()
FIXTURES = Path(__file__).parent / "fixtures" / "similarity"
INDEPENDENT_A = (FIXTURES / "independent_a.py").read_text()  # two correct solutions written apart from the
INDEPENDENT_B = (FIXTURES / "independent_b.py").read_text()  # reference and from each other (12/12 each)


def disguised(source: str) -> str:
    """A copy dressed up: every name of its own renamed, comments and docstrings rewritten, blank lines and
    spacing changed, one long call wrapped over lines."""
    source = source.replace("torch.optim.AdamW(param_groups(model, weight_decay), lr=lr)",
                            "torch.optim.AdamW(\n        param_groups(model,\n                     weight_decay),\n"
                            "        lr=lr)")
    renames = [("NO_DECAY_MODULES", "SKIP"), ("_owned_by_no_decay_module", "find_owned"), ("special", "owned"),
               ("no_decay", "plain"), ("decay", "decayed"), ("param", "tensor"), ("module", "layer"), ("ids", "seen")]
    for old, new in renames:
        source = re.sub(rf"\b{old}\b", new, source)
    source = re.sub(r"#[^\n]*", "# my own idea", source)
    source = re.sub(r'"""[^"]*"""', '"""Homework 3, all my own work."""', source)
    return source.replace("\n\n\n", "\n\n\n\n").replace(" = ", "=").replace(", ", " , ")


# --- the comparison -------------------------------------------------------------------------------


def test_tokens_drop_comments_docstrings_and_layout_and_name_every_identifier_alike():
    source = '"""Module doc."""\nimport torch  # why\n\n\ndef f(x, *, y=2):\n    """Doc."""\n    return len(x) + y, "s"\n'
    assert normalized_tokens(source) == ["import", "V", ";", "def", "V", "(", "V", ",", "*", ",", "V", "=", "2",
                                         ")", ":", ";", "{", "return", "len", "(", "V", ")", "+", "V", ",", "S",
                                         ";", "}"]
    renamed = "import torch as t\n# another comment\ndef g(a,*,b = 2):\n  return len(a)+b,'other'\n"
    assert normalized_tokens(renamed)[3:] == normalized_tokens(source)[1:]  # `as t` adds two tokens


def test_a_disguised_copy_is_flagged_whole():
    copy = disguised(REFERENCE)
    assert not re.search(r"\bparam\b|NO_DECAY_MODULES|#.*[Mm]odule", copy) and "lr=lr)" in copy  # disguised
    result = compare({"alice": REFERENCE, "bob": copy}, starter=STARTER)
    assert [(pair.a, pair.b) for pair in result.pairs] == [("alice", "bob")]
    pair = result.pairs[0]
    assert pair.similarity == pair.share_a == pair.share_b == 1.0 and pair.shared > 50


def test_a_copy_padded_with_more_code_is_still_caught_through_the_larger_share():
    padded = disguised(REFERENCE) + "\n\n" + INDEPENDENT_A.replace("def param_groups", "def other_groups").replace(
        "def make_optimizer", "def other_optimizer")
    result = compare({"alice": REFERENCE, "bob": padded}, starter=STARTER)
    (pair,) = result.pairs
    assert pair.share_a == 1.0 and pair.share_b < 0.6  # all of alice is in bob; half of bob is alice


def test_independent_correct_solutions_stay_under_the_default_threshold():
    sources = {"reference": REFERENCE, "a": INDEPENDENT_A, "b": INDEPENDENT_B}
    result = compare(sources, starter=STARTER, threshold=0.0)
    assert result.compared == 3 and len(result.pairs) == 3
    assert max(pair.similarity for pair in result.pairs) < 0.2 < DEFAULT_THRESHOLD
    assert compare(sources, starter=STARTER).pairs == []


def test_the_starter_alone_is_never_flagged():
    untouched = {"dave": STARTER, "erin": STARTER, "fred": STARTER.replace("# TODO", "# done?") + "\n\n# end\n"}
    result = compare(untouched, starter=STARTER, threshold=0.0)
    assert result.pairs == [] and result.compared == 0 and result.too_short == ["dave", "erin", "fred"]
    # without the starter to leave out, the same files are identical: it is the starter that makes them harmless
    assert len(compare(untouched, threshold=0.0).pairs) == 3


def test_starter_code_does_not_count_toward_a_pair():
    own_a = STARTER + "\n\n" + INDEPENDENT_A.split("\n\n\n", 1)[1].replace("def param_groups", "def helper_a")
    own_b = STARTER + "\n\n" + INDEPENDENT_B.split("\n\n\n", 1)[1].replace("def param_groups", "def helper_b")
    with_starter = compare({"a": own_a, "b": own_b}, starter=STARTER, threshold=0.0).pairs
    without = compare({"a": own_a, "b": own_b}, threshold=0.0).pairs
    assert max(pair.similarity for pair in with_starter) < 0.2
    assert without[0].similarity > with_starter[0].similarity + 0.2


def test_the_threshold_decides_which_pairs_are_listed():
    mutant = (REPO / "reference_solutions" / CHALLENGE_ID / "mutants" / "bias_suffix_rule.py").read_text()
    sources = {"alice": REFERENCE, "bob": disguised(REFERENCE), "carol": mutant, "dave": INDEPENDENT_A}
    everything = compare(sources, starter=STARTER, threshold=0.0).pairs
    scores = {(pair.a, pair.b): pair.similarity for pair in everything}
    assert scores[("alice", "bob")] == 1.0 and 0.5 < scores[("alice", "carol")] < 1.0
    assert [pair.similarity for pair in everything] == sorted((pair.similarity for pair in everything), reverse=True)
    assert {(pair.a, pair.b) for pair in compare(sources, starter=STARTER, threshold=1.0).pairs} == {("alice", "bob")}
    middle = compare(sources, starter=STARTER, threshold=0.5).pairs
    assert {(pair.a, pair.b) for pair in middle} == {("alice", "bob"), ("alice", "carol"), ("bob", "carol")}
    with pytest.raises(ValueError, match="between 0 and 1"):
        compare(sources, threshold=1.5)


def test_code_that_cannot_be_tokenized_is_named_not_fatal():
    result = compare({"alice": REFERENCE, "bob": 'x = """never closed\n', "carol": "def f():\n  x\n y\n"})
    assert result.compared == 1
    assert [line.split(":")[0] for line in result.unreadable] == ["bob", "carol"]
    assert all("cannot be read as Python tokens" in line for line in result.unreadable)


def test_fingerprints_are_the_same_in_every_process():
    """Python's hash() of a string changes with every process; the fingerprints must not."""
    here = sorted(fingerprints(REFERENCE))
    code = ("import sys; from harness.similarity import fingerprints; "
            "print(sorted(fingerprints(sys.stdin.read())))")
    # PYTHONHASHSEED=0 turns hash() randomization off: another hash() than this process's (random) one
    result = subprocess.run([sys.executable, "-c", code], input=REFERENCE, capture_output=True, text=True,
                            timeout=60, env={**os.environ, "PYTHONHASHSEED": "0"}, check=True)
    assert json.loads(result.stdout) == here and len(here) > 50


# --- the kept sources and the command ---------------------------------------------------------------------


def notebook_of(source: str) -> bytes:
    head, rest = source.split("\n\n\ndef param_groups", 1)
    cells = [new_markdown_cell("# My solution"), new_code_cell(head), new_code_cell("def param_groups" + rest),
             new_code_cell("param_groups(None, 0.1)  # exploration: left out when converted")]
    return nbformat.writes(new_notebook(cells=cells)).encode("utf-8")


@pytest.fixture
def klass(tmp_path: Path) -> Path:
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "alice.py").write_text(REFERENCE)
    (folder / "bob.py").write_text(disguised(REFERENCE))
    (folder / "carol.py").write_text(INDEPENDENT_A)
    (folder / "dave.py").write_text(STARTER)
    (folder / "erin.py").write_bytes(bytes(range(256)) * 4)  # binary
    (folder / "frank.ipynb").write_text('{"cells": [')  # a notebook that cannot be read
    (folder / "gina.ipynb").write_bytes(notebook_of(disguised(REFERENCE)))  # compared by its code cells
    (folder / "notes.txt").write_text("not a submission")
    return folder


def similar(*args: str):
    return CliRunner().invoke(main, ["similar", *args])


def test_similar_compares_a_class_given_by_paths_and_keeps_its_code(klass, tmp_path):
    out = tmp_path / "out"
    result = similar(str(out), str(klass), "--challenge", CHALLENGE_ID)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == ("4 submissions compared, 1 with too little code beyond the starter to judge; 3 pairs at or "
                        "above 50%:")
    assert [line.split()[3:] for line in lines[2:]] == [["alice", "bob"], ["alice", "gina"], ["bob", "gina"]]
    assert all(line.split()[0] == "100%" for line in lines[2:])
    # what could not be compared is named, with why, on stderr
    assert "erin: code not kept for comparison: erin.py is not UTF-8 text" in result.stderr
    assert "frank: code not kept for comparison: frank.ipynb is not valid JSON" in result.stderr
    assert "notes.txt: not a .py file" in result.stderr
    kept = out / SOURCES_DIR
    assert sorted(path.name for path in kept.iterdir()) == [STARTER_SOURCE, "alice.py", "bob.py", "carol.py",
                                                            "dave.py", "gina.py"]
    assert "# cell 2" in (kept / "gina.py").read_text()  # the notebook's module, as graded
    # the kept code is enough the next time, and the threshold is an option
    again = similar(str(out), "--threshold", "0.01", "--format", "json")
    assert again.exit_code == 0, again.output
    data = json.loads(again.stdout)
    assert data["threshold"] == 0.01 and data["compared"] == 4 and data["too_short"] == ["dave"]
    pairs = {(pair["a"], pair["b"]): pair["similarity"] for pair in data["pairs"]}
    assert pairs[("alice", "bob")] == 1.0 and 0 < pairs[("alice", "carol")] < 0.2 and len(pairs) == 6


def test_similar_reads_the_batchs_challenge_and_refuses_bad_input_clearly(klass, tmp_path):
    out = tmp_path / "out"
    result = similar(str(out), str(klass))
    assert result.exit_code == 2 and "no batch.json names the challenge; give --challenge ID" in result.output
    ResultStore(out).write_batch_seed(1, CHALLENGE_ID)
    assert similar(str(out), str(klass)).exit_code == 0
    missing = similar(str(out), str(tmp_path / "nowhere"))
    assert missing.exit_code == 2 and f"{tmp_path / 'nowhere'}: no such file or folder" in missing.output
    nothing = similar(str(tmp_path / "empty"))
    assert nothing.exit_code == 2 and "no such folder; give a batch's --out folder" in nothing.output
    (tmp_path / "graded").mkdir()
    unkept = similar(str(tmp_path / "graded"))
    assert unkept.exit_code == 2 and "this batch did not keep its submissions' code; give their PATHs" in unkept.output
    quiz = similar(str(out), str(klass), "--challenge", "weight-decay-quiz")
    assert quiz.exit_code == 2 and "is a quiz" in quiz.output
    bad = similar(str(out), "--threshold", "1.5")
    assert bad.exit_code == 2 and "1.5" in bad.output
    for result in (missing, nothing, unkept, quiz, bad):
        assert "Traceback" not in result.output
    # a kept file that is not text is skipped with a note; the rest is still compared
    (out / SOURCES_DIR / "zed.py").write_bytes(b"\xff\xfe\x00")
    skipped = similar(str(out))
    assert skipped.exit_code == 0 and "zed.py: not UTF-8 text (byte 0), skipped" in skipped.stderr
    assert "alice" in skipped.stdout


def test_keep_sources_writes_each_code_and_the_starter_and_removes_what_turned_unreadable(tmp_path):
    challenge = find_challenge(CHALLENGE_ID)
    store = ResultStore(tmp_path / "out")
    (tmp_path / "alice.py").write_text(REFERENCE)
    (tmp_path / "bob.ipynb").write_bytes(notebook_of(REFERENCE))
    entries = [Entry("alice", tmp_path / "alice.py", "alice.py"), Entry("bob", tmp_path / "bob.ipynb", "bob.ipynb")]
    assert keep_sources(store, challenge, entries) == []
    kept = tmp_path / "out" / SOURCES_DIR
    assert (kept / "alice.py").read_text() == REFERENCE and (kept / STARTER_SOURCE).read_text() == STARTER
    assert (kept / "bob.py").read_text().startswith("# cell 1\n")
    (tmp_path / "alice.py").write_text("def broken(:\n")
    notes = keep_sources(store, challenge, entries)
    assert notes == ["alice: code not kept for comparison: alice.py has a syntax error at line 1: invalid syntax"]
    assert not (kept / "alice.py").exists()  # never compared stale
    quiz = find_challenge("weight-decay-quiz")
    assert keep_sources(ResultStore(tmp_path / "quiz"), quiz, []) == []
    assert not (tmp_path / "quiz" / SOURCES_DIR).exists()


def test_the_class_page_lists_the_pairs_from_the_kept_code(klass, tmp_path):
    from harness.classpage import write_class_page
    from harness.report import Environment, Report, RunStatus, Submission

    out = tmp_path / "out"
    assert similar(str(out), str(klass), "--challenge", CHALLENGE_ID).exit_code == 0
    store = ResultStore(out)
    for student_id in ["alice", "bob", "carol"]:  # gina has no report: her name is shown without a link
        store.save(student_id, Report(challenge_id=CHALLENGE_ID, submission=Submission(file_name="x.py"),
                                      status=RunStatus.graded, score=1, max_score=1, percent=100,
                                      environment=Environment(harness_version="0")))
    page = write_class_page(out, out / "report.html", generated="now").read_text()
    section = page.split('<h2 id="similar">', 1)[1].split("</section>", 1)[0]
    assert "4 submissions compared (left out: 1 with too little code beyond the starter to judge); 3 pairs " \
           "share at least 50%" in section
    rows = re.findall(r"<tr><td>.*?</tr>", section)
    assert rows[0] == ('<tr><td><a href="#s-alice">alice</a></td><td><a href="#s-bob">bob</a></td>'
                       '<td class="n"><b>100%</b></td><td class="n">100%</td><td class="n">100%</td></tr>')
    assert rows[1].startswith('<tr><td><a href="#s-alice">alice</a></td><td>gina</td>')
    assert len(rows) == 3 and "carol" not in section
