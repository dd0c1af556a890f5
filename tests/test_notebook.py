"""Notebook submissions: a .ipynb turned into the module that is graded, by the rules in harness/notebook.py."""

from __future__ import annotations

import ast
import hashlib
import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_raw_cell

import harness.notebook as notebook_module
import harness.submission as submission_module
from harness.challenge import find_challenge, load_challenge
from harness.notebook import cell_line, notebook_source
from harness.report import RunStatus, Submission
from harness.submission import SubmissionError, read_submission

from conftest import CATALOG

REPO = Path(__file__).resolve().parent.parent
REFERENCE = REPO / "reference_solutions" / "cosine-annealing-tmax" / "solution.py"


def nb_bytes(*cells) -> bytes:
    return nbformat.writes(new_notebook(cells=list(cells))).encode("utf-8")


def convert(*cells) -> tuple[str, list[str]]:
    return notebook_source(nb_bytes(*cells), "solution.ipynb")


def module_lines(text: str) -> list[str]:
    """The module's lines (it ends with a newline)."""
    assert text.endswith("\n")
    return text.split("\n")[:-1]


def refused(data: bytes, match: str) -> None:
    with pytest.raises(SubmissionError, match=match):
        notebook_source(data, "alice.ipynb")


@pytest.fixture(scope="module")
def cosine():
    return find_challenge("cosine-annealing-tmax")


@pytest.fixture(scope="module")
def quiz():
    return load_challenge(CATALOG / "challenges" / "tiny-quiz")


# --- what is taken, and where it lands --------------------------------------------------------------


def test_code_cells_in_order_with_a_marker_each_markdown_raw_and_outputs_ignored():
    code = new_code_cell("x = 1\ny = x + 1", outputs=[nbformat.v4.new_output("stream", text="Traceback: boom\n")],
                         execution_count=7)
    later = new_code_cell("def f():\n    return y", execution_count=2)  # execution counts do not reorder
    text, notes = convert(new_markdown_cell("# Notes\n%not code"), code, new_raw_cell("!raw"), later)
    assert text == "# cell 1\nx = 1\ny = x + 1\n# cell 2\ndef f():\n    return y\n"
    assert notes == []
    assert "boom" not in text


def test_line_magics_and_shell_lines_become_comments_keeping_every_line_number():
    source = ("%matplotlib inline\n"
              "import torch\n"
              "!pip install tqdm\n"
              "files = !ls -l\n"
              "t = %timeit -o sum(range(3))\n"
              "torch.optim.SGD?\n"
              "??torch.nn\n"
              "for i in range(2):\n"
              "    %time total = i\n"
              "!echo one \\\n"
              "   two\n"
              "after = 2\n")
    text, notes = convert(new_code_cell(source))
    lines = module_lines(text)
    assert lines[0] == "# cell 1"
    assert lines[1:] == [
        "# %matplotlib inline",
        "import torch",
        "# !pip install tqdm",
        "# files = !ls -l",
        "# t = %timeit -o sum(range(3))",
        "# torch.optim.SGD?",
        "# ??torch.nn",
        "for i in range(2):",
        "    pass  # %time total = i",  # a comment alone would leave the block empty
        "# !echo one \\",
        "#    two",  # the backslash carried the shell line on
        "after = 2",
        "",
    ]
    assert len(lines) == 1 + len(source.split("\n"))
    assert notes == ["solution.ipynb: 1 code cell taken as the module; left out: 8 magic, shell or help lines"]
    ast.parse(text)


def test_percent_and_bang_inside_brackets_strings_and_continuations_are_python():
    source = ('x = (7\n'
              '     % 3)\n'
              'y = 7 \\\n'
              '    % 2\n'
              's = """\n'
              '%not a magic\n'
              '!nor a shell line\n'
              '"""\n'
              "t = 'it''s' if x != y else '#'  # (\n"
              '%who\n')
    text, notes = convert(new_code_cell(source))
    lines = module_lines(text)[1:]
    assert lines[:9] == source.split("\n")[:9]
    assert lines[9] == "# %who"
    assert notes == ["solution.ipynb: 1 code cell taken as the module; left out: 1 magic, shell or help line"]
    namespace: dict = {}
    exec(compile(text, "solution.py", "exec"), namespace)
    assert namespace["x"] == 1 and namespace["y"] == 1 and namespace["s"] == "\n%not a magic\n!nor a shell line\n"


def test_a_cell_tagged_skip_grading_is_left_out():
    text, notes = convert(new_code_cell("x = 1"),
                          new_code_cell("def broken(:\n    undefined()", metadata={"tags": ["slow", "skip-grading"]}),
                          new_code_cell("y = 2", metadata={"tags": ["other"]}))
    assert text == "# cell 1\nx = 1\n# cell 2: left out (tagged skip-grading)\n# cell 3\ny = 2\n"
    assert notes == ["solution.ipynb: 2 code cells taken as the module; left out: 1 cell tagged skip-grading"]


def test_a_cell_starting_with_a_cell_magic_is_left_out_whole():
    text, notes = convert(new_code_cell("\n%%time\nmodel = train()\n"), new_code_cell("%%writefile helper.py\nx = 1"),
                          new_code_cell("z = 3"))
    assert text == ("# cell 1: left out (cell magic %%time)\n# cell 2: left out (cell magic %%writefile)\n"
                    "# cell 3\nz = 3\n")
    assert notes == ["solution.ipynb: 1 code cell taken as the module; left out: 2 cell magics (%%time, %%writefile)"]


def test_top_level_expressions_are_neutralised_and_everything_else_kept():
    source = ('"""A docstring stays."""\n'
              "import math\n"
              "def f(x):\n"
              "    f_inner = x * 2\n"
              "    f_inner  # inside a function: kept\n"
              "    return f_inner\n"
              "class Model:\n"
              "    size = 3\n"
              "value = f(2)\n"
              "if value > 1:\n"
              "    flag = True\n"
              "for i in range(2):\n"
              "    print(i)\n"
              "(kept := 5)\n"
              "undefined_function()\n"
              "value\n"
              "plot(\n"
              "    value,\n"
              ")\n"
              "a = 1; undefined_function(a)\n")
    text, notes = convert(new_code_cell(source))
    lines = module_lines(text)[1:]
    source_lines = source.split("\n")
    assert lines[:14] == source_lines[:14]
    assert lines[14:19] == ["# undefined_function()", "# value", "# plot(", "#     value,", "# )"]
    assert lines[19] == "a = 1; None and (undefined_function(a))"
    assert len(lines) == len(source_lines)
    assert notes == ["solution.ipynb: 1 code cell taken as the module; "
                     "left out: 4 top-level expressions (display or exploration)"]
    namespace: dict = {}
    exec(compile(text, "solution.py", "exec"), namespace)  # none of the exploration runs
    assert namespace["value"] == 4 and namespace["flag"] and namespace["kept"] == 5 and namespace["a"] == 1
    assert namespace["__doc__"] == "A docstring stays." and namespace["Model"].size == 3


def test_one_note_counts_everything_left_out():
    _, notes = convert(new_code_cell("%matplotlib inline\nimport math"), new_code_cell("x = 1\nx"),
                       new_code_cell("%%time\nx"), new_code_cell("x", metadata={"tags": ["skip-grading"]}),
                       new_code_cell("x", metadata={"tags": ["skip-grading"]}), new_code_cell("!ls\nmath.pi"))
    assert notes == ["solution.ipynb: 3 code cells taken as the module; left out: 2 cells tagged skip-grading, "
                     "1 cell magic (%%time), 2 top-level expressions (display or exploration), "
                     "2 magic, shell or help lines"]


def test_cell_line_maps_a_module_line_back_to_its_cell():
    text, _ = convert(new_code_cell("a = 1\nb = 2"), new_code_cell("x", metadata={"tags": ["skip-grading"]}),
                      new_code_cell("c = 3\n\nd = 4"))
    lines = module_lines(text)
    assert cell_line(text, lines.index("b = 2") + 1) == (1, 2)
    assert cell_line(text, lines.index("d = 4") + 1) == (3, 3)
    assert cell_line(text, 1) is None and cell_line(text, 0) is None and cell_line(text, 999) is None


# --- syntax errors --------------------------------------------------------------------------------------


def test_a_syntax_error_names_the_code_cell_and_its_line():
    with pytest.raises(SubmissionError, match=r"^cell 2 has a syntax error at line 3: "):
        convert(new_markdown_cell("not counted"), new_code_cell("x = 1"),
                new_code_cell("%matplotlib inline\ny = 2\ndef broken(:\n    pass"))


def test_what_parses_per_cell_but_not_as_a_module_is_named_too():
    with pytest.raises(SubmissionError, match=r"^cell 1 has a syntax error at line 2: 'await' outside function"):
        convert(new_code_cell("await setup()\nx = await fetch()"))  # the bare await is exploration, left out
    with pytest.raises(SubmissionError, match=r"^cell 2 has a syntax error at line 1: from __future__ imports"):
        convert(new_code_cell("x = 1"), new_code_cell("from __future__ import annotations"))


def test_null_bytes_in_a_cell_cannot_be_parsed():
    with pytest.raises(SubmissionError, match=r"^cell 1 cannot be parsed"):
        convert(new_code_cell("x = 1\x00"))


# --- what is not a notebook -------------------------------------------------------------------------------


def test_invalid_json_is_refused_with_where():
    refused(b'{"cells": [', r"^alice\.ipynb is not valid JSON \(line 1, column 12: ")
    refused(b"\xff\xfe{}", r"^alice\.ipynb is not UTF-8 text \(byte 0\)")
    refused(b"[" * 100_000, r"^alice\.ipynb is not valid JSON")


@pytest.mark.parametrize("document", [[1, 2], "text", {"cells": []}, {"metadata": {}}])
def test_json_that_is_not_a_notebook_is_refused(document):
    refused(json.dumps(document).encode(), r"^alice\.ipynb is JSON but not a Jupyter notebook")


@pytest.mark.parametrize("version", [2, 5, "4", None])
def test_unsupported_nbformat_versions_are_refused(version):
    refused(json.dumps({"nbformat": version, "nbformat_minor": 0, "metadata": {}, "cells": []}).encode(),
            r"^alice\.ipynb says it is nbformat .*; versions 3 and 4 are read")


def v4(cells, **extra) -> bytes:
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells, **extra}).encode()


def code(source, **extra) -> dict:
    return {"cell_type": "code", "id": "c1", "metadata": {}, "source": source, "outputs": [],
            "execution_count": None, **extra}


@pytest.mark.parametrize("data, match", [
    (v4([code(3)]), r"is not a valid notebook: .*\(at cells/0/source\)$"),
    (v4([{"cell_type": "chart", "id": "a", "metadata": {}, "source": ""}]), r"is not a valid notebook: "),
    (v4([code("x = 1", metadata={"tags": "skip-grading"})]), r"is not a valid notebook: .*\(at cells/0/metadata/tags\)$"),
    (v4([1]), r"is not a valid notebook: "),
    (v4({"a": 1}), r"is not a valid notebook: "),
    (json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}}).encode(), r"is not a valid notebook: .*cells"),
    (v4([code("x = 1")], surprise=True), r"is not a valid notebook: "),
])
def test_a_notebook_failing_validation_is_refused_with_the_first_error_on_one_line(data, match):
    with pytest.raises(SubmissionError, match=r"^alice\.ipynb " + match) as raised:
        notebook_source(data, "alice.ipynb")
    assert "\n" not in str(raised.value) and len(str(raised.value)) < 400


def test_no_code_cell_to_take_is_refused():
    refused(nb_bytes(new_markdown_cell("only words")), r"^alice\.ipynb has no code cells")
    refused(nb_bytes(new_code_cell("x", metadata={"tags": ["skip-grading"]}), new_code_cell("%%time\nx")),
            r"^alice\.ipynb has no code cell to grade: every code cell was left out \(1 cell tagged skip-grading, "
            r"1 cell magic \(%%time\)\)")


def test_cells_without_ids_lists_of_lines_and_version_3_are_read_quietly(recwarn):
    old_minor = json.dumps({"nbformat": 4, "nbformat_minor": 2, "metadata": {},
                            "cells": [{"cell_type": "code", "metadata": {}, "source": ["x = 1\n", "y = 2"],
                                       "outputs": [], "execution_count": None}]}).encode()
    assert notebook_source(old_minor, "a.ipynb")[0] == "# cell 1\nx = 1\ny = 2\n"
    no_ids = v4([{key: value for key, value in code("x = 1").items() if key != "id"}, code("y = 2"), code("z = 3")])
    assert notebook_source(no_ids, "a.ipynb")[0] == "# cell 1\nx = 1\n# cell 2\ny = 2\n# cell 3\nz = 3\n"
    version3 = json.dumps({"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": [{"cells": [
        {"cell_type": "markdown", "source": "words", "metadata": {}},
        {"cell_type": "code", "input": "x = 1\r\nx", "language": "python", "outputs": [], "metadata": {}}]}]})
    assert notebook_source(version3.encode(), "a.ipynb")[0] == "# cell 1\nx = 1\n# x\n"
    assert notebook_source(b"\xef\xbb\xbf" + nb_bytes(new_code_cell("x = 1")), "a.ipynb")[0] == "# cell 1\nx = 1\n"
    assert [str(warning.message) for warning in recwarn] == []


# --- limits -----------------------------------------------------------------------------------------------


def test_a_notebook_over_its_size_limit_is_refused(monkeypatch):
    data = nb_bytes(new_code_cell("x = 1"))
    monkeypatch.setattr(notebook_module, "MAX_NOTEBOOK_BYTES", len(data) - 1)
    refused(data, r"^alice\.ipynb is larger than .* MiB \(outputs make notebooks big")
    monkeypatch.setattr(notebook_module, "MAX_NOTEBOOK_BYTES", len(data))
    assert notebook_source(data, "alice.ipynb")[0] == "# cell 1\nx = 1\n"


def test_code_over_the_submission_limit_is_refused(monkeypatch):
    monkeypatch.setattr(submission_module, "MAX_SUBMISSION_BYTES", 1024)
    refused(nb_bytes(new_code_cell("x = 1\n" * 200)), r"^the code in alice\.ipynb is larger than 1 KiB")
    # within the limit as cells, over it once markers and comments are added
    refused(nb_bytes(*[new_code_cell("%who\n" * 30) for _ in range(6)]), r"^the code in alice\.ipynb is larger than")
    big_outputs = new_code_cell("x = 1", outputs=[nbformat.v4.new_output("stream", text="y" * 10_000)])
    assert notebook_source(nb_bytes(big_outputs), "alice.ipynb")[0] == "# cell 1\nx = 1\n"  # outputs do not count


# --- read_submission ------------------------------------------------------------------------------------------


def test_read_submission_takes_a_notebook_file_and_records_its_bytes(cosine, tmp_path):
    data = nb_bytes(new_code_cell("%matplotlib inline\nx = 1"))
    path = tmp_path / "alice.ipynb"
    path.write_bytes(data)
    record = Submission(file_name="alice.ipynb")
    submitted = read_submission(cosine, path, record)
    assert submitted.text == "# cell 1\n# %matplotlib inline\nx = 1\n"
    assert submitted.notes == ("alice.ipynb: 1 code cell taken as the module; left out: 1 magic, shell or help line",)
    assert record.file_name == "alice.ipynb"
    assert record.sha256 == hashlib.sha256(data).hexdigest() and record.size_bytes == len(data)


def test_a_python_file_has_no_notes(cosine, tmp_path):
    path = tmp_path / "solution.py"
    path.write_text("x = 1\n")
    assert read_submission(cosine, path, Submission(file_name="solution.py")).notes == ()


def test_a_broken_notebook_is_still_measured(cosine, tmp_path):
    path = tmp_path / "alice.ipynb"
    path.write_bytes(b"{broken")
    record = Submission(file_name="alice.ipynb")
    with pytest.raises(SubmissionError, match="not valid JSON"):
        read_submission(cosine, path, record)
    assert record.sha256 == hashlib.sha256(b"{broken").hexdigest() and record.size_bytes == 7


def test_a_folder_holding_solution_ipynb_is_graded_as_its_notebook(cosine, tmp_path):
    (tmp_path / "solution.ipynb").write_bytes(nb_bytes(new_code_cell("x = 1")))
    (tmp_path / "scratch.ipynb").write_bytes(b"not even json")
    record = Submission(file_name="solution.py")
    submitted = read_submission(cosine, tmp_path, record)
    assert submitted.path == tmp_path / "solution.ipynb" and submitted.text == "# cell 1\nx = 1\n"
    assert record.file_name == "solution.ipynb"


def test_a_folder_holding_both_takes_the_python_file(cosine, tmp_path):
    (tmp_path / "solution.ipynb").write_bytes(b"not even json")
    (tmp_path / "solution.py").write_text("x = 2\n")
    record = Submission(file_name="solution.py")
    submitted = read_submission(cosine, tmp_path, record)
    assert submitted.path == tmp_path / "solution.py" and submitted.text == "x = 2\n" and submitted.notes == ()
    assert record.file_name == "solution.py"


def test_a_folder_holding_neither_names_both(cosine, tmp_path):
    (tmp_path / "notes.ipynb").write_bytes(nb_bytes(new_code_cell("x = 1")))
    with pytest.raises(SubmissionError, match=r"has no solution\.py or solution\.ipynb; this challenge grades only"):
        read_submission(cosine, tmp_path, Submission(file_name="solution.py"))


def test_a_symlinked_notebook_in_a_folder_is_refused(cosine, tmp_path):
    real = tmp_path / "real.ipynb"
    real.write_bytes(nb_bytes(new_code_cell("x = 1")))
    folder = tmp_path / "sub"
    folder.mkdir()
    (folder / "solution.ipynb").symlink_to(real)
    with pytest.raises(SubmissionError, match="is a symbolic link"):
        read_submission(cosine, folder, Submission(file_name="solution.py"))


def test_wrong_suffixes_mention_notebooks_for_code_challenges_only(cosine, quiz, tmp_path):
    text_file = tmp_path / "solution.txt"
    text_file.write_text("x = 1\n")
    with pytest.raises(SubmissionError, match=r"is not a Python source file \(\.py\) or a Jupyter notebook \(\.ipynb\); "
                                              r"submit solution\.py"):
        read_submission(cosine, text_file, Submission(file_name="solution.txt"))
    with pytest.raises(SubmissionError, match=r"is not a TOML answers file \(\.toml\); submit answers\.toml$"):
        read_submission(quiz, text_file, Submission(file_name="solution.txt"))


def test_a_quiz_refuses_a_notebook(quiz, tmp_path):
    path = tmp_path / "answers.ipynb"
    path.write_bytes(nb_bytes(new_code_cell('first = "B"')))
    with pytest.raises(SubmissionError, match=r"answers\.ipynb is a Jupyter notebook, but this is a quiz: submit answers\.toml"):
        read_submission(quiz, path, Submission(file_name="answers.ipynb"))
    (tmp_path / "answers.toml").unlink(missing_ok=True)
    with pytest.raises(SubmissionError, match=r"has no answers\.toml;"):  # a quiz folder never falls back to a notebook
        read_submission(quiz, tmp_path, Submission(file_name="answers.toml"))


# --- end to end ------------------------------------------------------------------------------------------


def reference_notebook(path: Path) -> Path:
    """The reference solution of cosine-annealing-tmax as a notebook someone would hand in."""
    source = REFERENCE.read_text()
    imports, rest = source.split("\n\n\ndef make_scheduler", 1)
    scheduler, train = ("def make_scheduler" + rest).split("\n\n\ndef train", 1)
    cells = [
        new_markdown_cell("# Cosine annealing\nThe period is counted in optimizer steps."),
        new_code_cell("%matplotlib inline\n" + imports),
        new_code_cell(scheduler),
        new_code_cell("def train" + train),
        new_code_cell("undefined_function()  # exploration: would crash if it ran"),
        new_code_cell("%%time\nundefined_function()"),
    ]
    path.write_bytes(nb_bytes(*cells))
    return path


def test_a_notebook_of_the_reference_solution_scores_full_marks(cosine, tmp_path):
    from harness.grader import grade
    from harness.sandbox.local import LocalBackend

    path = reference_notebook(tmp_path / "alice.ipynb")
    report = grade(challenge=cosine, submission=path, backend=LocalBackend(), seed=1)
    assert report.status is RunStatus.graded, report.reason
    assert report.score == report.max_score, report.model_dump_json()[:2000]
    assert report.submission.file_name == "alice.ipynb"
    assert report.submission.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert any("left out" in note and "cell magic" in note and "top-level expression" in note for note in report.notes), \
        report.notes


# --- harness init ID DIR --notebook ----------------------------------------------------------------------


def init_notebook(target: Path, challenge_id: str = "weight-decay-exclude-bias"):
    from click.testing import CliRunner

    from harness.cli import main

    return CliRunner().invoke(main, ["init", challenge_id, str(target), "--notebook"])


def test_init_notebook_writes_the_statement_and_starter_as_a_notebook_graded_like_the_starter(tmp_path):
    challenge = find_challenge("weight-decay-exclude-bias")
    result = init_notebook(tmp_path / "nb")
    assert result.exit_code == 0, result.output
    assert "edit solution.ipynb" in result.output
    assert sorted(path.name for path in (tmp_path / "nb").iterdir()) == ["solution.ipynb", "statement.md",
                                                                        "test_example.py"]
    data = (tmp_path / "nb" / "solution.ipynb").read_bytes()
    notebook = nbformat.reads(data.decode("utf-8"), as_version=4)
    nbformat.validate(notebook)
    statement, starter = notebook.cells[0], notebook.cells[1]
    assert statement.cell_type == "markdown" and statement.source == challenge.statement.read_text()
    assert starter.cell_type == "code" and starter.source == challenge.starter.read_text()
    assert notebook.cells[-1].metadata["tags"] == ["skip-grading"]  # the example tests' cell is never graded
    # grading the folder takes the notebook, and the module it grades is the starter's code, line for line
    record = Submission(file_name="solution.py")
    taken = read_submission(challenge, tmp_path / "nb", record)
    assert record.file_name == "solution.ipynb"
    assert taken.text == "# cell 1\n" + challenge.starter.read_text() + "\n# cell 2: left out (tagged skip-grading)\n"
    assert taken.notes == ("solution.ipynb: 1 code cell taken as the module; left out: 1 cell tagged skip-grading",)
    # the same bytes every time (fixed cell ids)
    assert init_notebook(tmp_path / "again").exit_code == 0
    assert (tmp_path / "again" / "solution.ipynb").read_bytes() == data


def test_init_notebook_refuses_to_overwrite_or_to_sit_beside_a_solution_py(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "solution.ipynb").write_text("mine")
    result = init_notebook(tmp_path / "a")
    assert result.exit_code == 2 and "will not overwrite existing files" in result.output
    assert (tmp_path / "a" / "solution.ipynb").read_text() == "mine"
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "solution.py").write_text("x = 1\n")  # grading the folder would take it, not the notebook
    result = init_notebook(tmp_path / "b")
    assert result.exit_code == 2 and "solution.py" in result.output
    assert not (tmp_path / "b" / "solution.ipynb").exists()


def test_init_notebook_refuses_a_quiz(tmp_path):
    result = init_notebook(tmp_path / "q", "weight-decay-quiz")
    assert result.exit_code == 2
    assert "weight-decay-quiz is a quiz: its answers file answers.toml cannot be a notebook" in result.output
    assert not (tmp_path / "q").exists()


def test_the_notebooks_test_cell_runs_the_example_tests_on_the_code_above(tmp_path):
    """As Jupyter would: every code cell run in order in one namespace, here with the reference in the starter's
    cell; the tests import `solution`, which must be the notebook's own code."""
    import subprocess
    import sys

    assert init_notebook(tmp_path / "nb").exit_code == 0
    path = tmp_path / "nb" / "solution.ipynb"
    notebook = nbformat.read(path, as_version=4)
    reference = REPO / "reference_solutions" / "weight-decay-exclude-bias" / "solution.py"
    notebook.cells[1].source = reference.read_text()
    nbformat.write(notebook, path)
    run = ("import nbformat\nnamespace = {}\nfor cell in nbformat.read('solution.ipynb', as_version=4).cells:\n"
           "    if cell.cell_type == 'code':\n        exec(compile(cell.source, cell.id, 'exec'), namespace)\n")
    result = subprocess.run([sys.executable, "-c", run], cwd=tmp_path / "nb", capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert "5 passed" in result.stdout, result.stdout
    assert not (tmp_path / "nb" / ".pytest_cache").exists()
