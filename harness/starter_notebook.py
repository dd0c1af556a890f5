"""The starter as a Jupyter notebook, for `harness init ID DIR --notebook`: what a candidate who works in Jupyter
edits and hands in instead of the starter `.py` file.

The notebook holds, in order: the statement (a markdown cell), the starter code (a code cell), and, when the
challenge has public example tests, a markdown cell saying how the notebook is graded and a code cell tagged
`skip-grading` that runs those tests in the kernel against the code above (pytest imports the notebook's names
as the module the tests import, `solution`). Grading leaves the tagged cell out (harness.notebook), so the
module graded is the starter's code and whatever the candidate adds. The file is named as a notebook submission
must be (`solution.ipynb`: harness.submission.accepted_files), passes `nbformat.validate`, and its cell ids are
fixed, so two inits write the same bytes.
"""

from __future__ import annotations

import nbformat
from nbformat import v4

from harness.challenge import Challenge
from harness.notebook import SKIP_TAG
from harness.submission import accepted_files


class NotebookStarterError(Exception):
    """The challenge cannot be started as a notebook (a quiz: its answers file is TOML)."""


def notebook_name(challenge: Challenge) -> str:
    """The file name a notebook submission of `challenge` must have; NotebookStarterError for a quiz."""
    names = [name for name in accepted_files(challenge) if name.endswith(".ipynb")]
    if not names:
        raise NotebookStarterError(f"{challenge.id} is a quiz: its answers file {challenge.meta.submission_file} "
                                   "cannot be a notebook")
    return names[0]


def _test_cell(module: str, tests: list[str]) -> str:
    listed = ", ".join(repr(name) for name in tests)
    return f'''# Runs the example tests ({", ".join(tests)}) on the code above, in this kernel. Grading leaves this cell
# out (it is tagged {SKIP_TAG}), so nothing here counts toward your score.
import sys
import types

import pytest

_module = types.ModuleType({module!r})
_module.__dict__.update({{name: value for name, value in globals().items() if not name.startswith("_")}})
sys.modules[{module!r}] = _module
for _name in [{listed}]:
    sys.modules.pop(_name[:-3], None)  # a test module imported by an earlier run would keep the old code
pytest.main(["-q", "-p", "no:cacheprovider", {listed}])
'''


def starter_notebook(challenge: Challenge) -> bytes:
    """The starter notebook of `challenge` as the bytes of a .ipynb file (nbformat 4, validated)."""
    notebook_name(challenge)  # a quiz has none
    tests = sorted(path.name for path in challenge.public_dir.glob("test_*.py")) if challenge.public_dir.is_dir() \
        else []
    cells = [
        v4.new_markdown_cell(challenge.statement.read_text(encoding="utf-8"), id="statement"),
        v4.new_code_cell(challenge.starter.read_text(encoding="utf-8"), id="starter"),
    ]
    if tests:
        cells += [
            v4.new_markdown_cell(
                "## How this notebook is graded\n\n"
                "Its code cells, in order, are graded as one module (`" + challenge.meta.submission_file + "`). "
                "Top-level code in them runs when it is imported, so keep experiments and training runs in "
                f"functions or in cells tagged `{SKIP_TAG}` (cell metadata `tags`), as is the cell below; "
                "outputs and markdown are ignored. Run the cell below to check your code against the example "
                "tests; the hidden checks that grade it test more.", id="how-graded"),
            v4.new_code_cell(_test_cell(challenge.module_name, tests), id="example-tests",
                             metadata={"tags": [SKIP_TAG]}),
        ]
    notebook = v4.new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
    })
    nbformat.validate(notebook)
    return nbformat.writes(notebook).encode("utf-8") + b"\n"


__all__ = ["NotebookStarterError", "notebook_name", "starter_notebook"]
