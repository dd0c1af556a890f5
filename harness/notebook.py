"""Jupyter notebook submissions: a `.ipynb` turned into the Python module that is graded. Never executed here.

A code challenge takes a notebook wherever it takes its `.py` file (`harness grade ID alice.ipynb`, or a
folder holding `solution.ipynb` and no `solution.py`). The notebook is read with nbformat (versions 3 and 4)
and must pass its schema validation; its outputs are never read and nothing in it is run while it is turned
into a module. The module is made by these rules:

- Code cells are taken in the notebook's order (not by execution count); markdown and raw cells and every
  cell's outputs are ignored.
- A code cell tagged `skip-grading` (cell metadata `tags`) is left out.
- IPython syntax is not Python, so: a cell that starts with a cell magic (`%%time`, `%%writefile`, ...) is
  left out, whole; a line magic, shell escape or help line (`%matplotlib inline`, `!pip install x`,
  `files = !ls`, `t = %timeit f()`, `nn.Linear?`) becomes a comment (`pass  # ...` where it is indented
  inside a block), and so do the lines it continues onto with a trailing backslash.
- A top-level bare expression (`train(model)`, `plt.plot(losses)`, `model` to display it) is exploration,
  not part of the module: its lines become comments (or, when it shares a line with another statement
  through `;`, it is wrapped as `None and (...)`, so it is never evaluated). A bare string literal (a
  docstring) and an assignment expression `(x := ...)` are kept.
- Everything else is kept as written: imports, `def` and `class`, assignments, and top-level `if`, `for`,
  `while`, `with` and `try` blocks. They all run when the module is imported, so a long training loop at
  the top level counts against the import's time limit (`wall_seconds`): put it in a function, under
  `if __name__ == "__main__":`, or in a cell tagged `skip-grading`.
- Each cell is parsed on its own, as Jupyter runs it, then the module is compiled (never run) as a whole; a
  syntax error makes the notebook ungradable: "cell N has a syntax error at line L", N counting code cells
  from 1 (markdown cells not counted), L a line of that cell. Compiling as one module catches what
  Jupyter allows but a module does not: `x = await f()` at the top level, a `from __future__` import
  after the first statement.
- Line numbers: the module is each code cell's lines, in order, every cell headed by one marker line,
  `# cell N` (`# cell N: left out (...)` for a cell left out, without its lines). Lines left out inside a
  cell stay as comments, so line L of cell N is line (the `# cell N` line's number + L) of the module,
  which is what tracebacks in the report count. `cell_line` maps one back.
- The report's notes say what was left out, in one note ("solution.ipynb: 12 code cells taken as the
  module; left out: 2 cells tagged skip-grading, ..."); none when nothing was.
- Limits: the notebook file up to 16 MiB (outputs make notebooks big: clearing them helps), the module
  made from it up to the submission limit (512 KiB). A notebook with no code cell to take is ungradable.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from typing import Any, Optional

import nbformat
from nbformat import reader as nbformat_reader

from harness.parsing import compile_source, parse
from harness import submission as _submission
from harness.submission import SubmissionError

MAX_NOTEBOOK_BYTES = 16 * 1024 * 1024
SKIP_TAG = "skip-grading"
MAX_ERROR_CHARS = 200  # of a JSON or schema error, quoted in a message

_MARKER = re.compile(r"# cell (\d+)(?::.*)?")
# `files = !ls`, `a, b = %time f()`: an assignment from a shell escape or a line magic.
_ASSIGNED = re.compile(r"[A-Za-z_][\w.]*(?:\s*,\s*[A-Za-z_][\w.]*)*\s*=\s*[!%]")
# IPython's help: `?name`, `??name`, `name?`, `name??`, `f()?` (dotted names only: never valid Python).
_HELP = re.compile(r"(?:\?{1,2}[A-Za-z_][\w.]*|[A-Za-z_][\w.]*(?:\(\))?\?{1,2})\s*")


@dataclass
class _Tally:
    """What was taken and what was left out, for the note."""

    taken: int = 0
    skipped: int = 0
    cell_magics: list[str] = field(default_factory=list)
    expressions: int = 0
    ipython_lines: int = 0


def notebook_source(data: bytes, name: str) -> tuple[str, list[str]]:
    """The module made from the notebook `data` (the file `name`) by the rules above, and notes for the report."""
    notebook = _read(data, name)
    cells = [cell for cell in notebook.cells if cell.get("cell_type") == "code"]
    if not cells:
        raise SubmissionError(f"{name} has no code cells; the module to grade is made from its code cells")
    tally = _Tally()
    plan: list[tuple[int, Optional[str], str]] = []  # (cell number, why it is left out or None, its source)
    for number, cell in enumerate(cells, start=1):
        source = _newlines(cell.get("source", ""))
        magic = _cell_magic(source)
        if SKIP_TAG in (cell.get("metadata", {}).get("tags") or []):
            tally.skipped += 1
            plan.append((number, f"tagged {SKIP_TAG}", source))
        elif magic is not None:
            tally.cell_magics.append(magic)
            plan.append((number, f"cell magic {magic}", source))
        else:
            tally.taken += 1
            plan.append((number, None, source))
    if not tally.taken:
        raise SubmissionError(f"{name} has no code cell to grade: every code cell was left out ({_left_out(tally)})")
    if sum(len(source.encode("utf-8")) for _, why, source in plan if why is None) > _submission.MAX_SUBMISSION_BYTES:
        raise _too_large(name)  # before parsing any of it
    module: list[str] = []
    for number, why, source in plan:
        if why is None:
            module.append(f"# cell {number}")
            module.extend(_convert_cell(number, source, tally))
        else:
            module.append(f"# cell {number}: left out ({why})")
    text = "\n".join(module) + "\n"
    if len(text.encode("utf-8")) > _submission.MAX_SUBMISSION_BYTES:
        raise _too_large(name)
    _compile(text, name)
    left_out = _left_out(tally)
    cells_taken = _plural(tally.taken, "code cell")
    return text, [f"{name}: {cells_taken} taken as the module; left out: {left_out}"] if left_out else []


def cell_line(source: str, lineno: int) -> Optional[tuple[int, int]]:
    """Where line `lineno` (from 1) of a module made by `notebook_source` came from: (cell N, line L of that
    cell), or None for a marker line or a line out of range."""
    lines = source.split("\n")
    if not 0 < lineno <= len(lines):
        return None
    for index in range(lineno - 1, -1, -1):
        found = _MARKER.fullmatch(lines[index])
        if found:
            return (int(found.group(1)), lineno - 1 - index) if index != lineno - 1 else None
    return None


# --- reading -----------------------------------------------------------------------------------------


def _read(data: bytes, name: str) -> Any:
    """The notebook as nbformat's v4 NotebookNode, checked against its schema; SubmissionError otherwise."""
    if len(data) > MAX_NOTEBOOK_BYTES:
        raise SubmissionError(f"{name} is larger than {MAX_NOTEBOOK_BYTES // (1024 * 1024)} MiB "
                              "(outputs make notebooks big: clear them and save it again)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise SubmissionError(f"{name} is not UTF-8 text (byte {error.start}); a notebook is JSON saved as UTF-8") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise SubmissionError(f"{name} is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg}), "
                              "so not a notebook Jupyter saved") from None
    except (ValueError, RecursionError) as error:
        raise SubmissionError(f"{name} is not valid JSON: {_one_line(str(error))}") from None
    if not isinstance(raw, dict) or "nbformat" not in raw:
        raise SubmissionError(f"{name} is JSON but not a Jupyter notebook (no 'nbformat' field at its top level)")
    version = raw["nbformat"]
    if type(version) is not int or version not in (3, 4):
        raise SubmissionError(f"{name} says it is nbformat {_one_line(repr(version))}; versions 3 and 4 are read "
                              "(open and save it in a current Jupyter)")
    try:
        # nbformat.reads would validate too, but it logs what is invalid (to the CLI's stderr); validate() raises.
        notebook = nbformat_reader.reads(text)
        if version == 3:
            nbformat.validate(notebook)  # before converting, which would log an invalid v3 notebook
            notebook = nbformat.convert(notebook, 4)
        _fill_cell_ids(notebook)
        nbformat.validate(notebook)
    except nbformat.ValidationError as error:
        where = "/".join(str(part) for part in getattr(error, "relative_path", ()) or ())
        raise SubmissionError(f"{name} is not a valid notebook: {_one_line(str(error))}"
                              + (f" (at {where})" if where else "")) from None
    except Exception as error:  # nbformat on JSON it does not expect: any error means not a notebook
        raise SubmissionError(f"{name} is not a valid notebook: {type(error).__name__}: {_one_line(str(error))}") from None
    return notebook


def _fill_cell_ids(notebook: Any) -> None:
    """Give nbformat 4.5+ cells without an id (or with a repeated one) an id, as nbformat's validate would,
    without the warning it prints for it. Ids play no part in grading."""
    cells = notebook.get("cells")
    minor = notebook.get("nbformat_minor")
    if notebook.get("nbformat") != 4 or not isinstance(minor, int) or minor < 5 or not isinstance(cells, list):
        return
    seen: set[object] = set()
    for index, cell in enumerate(cells):
        if not isinstance(cell, dict):
            continue
        if "id" not in cell or cell["id"] in seen:
            cell["id"] = next(f"cell-{index}-{n}" for n in range(len(cells) + 1) if f"cell-{index}-{n}" not in seen)
        if isinstance(cell["id"], str):
            seen.add(cell["id"])


# --- converting one cell -----------------------------------------------------------------------------


def _convert_cell(number: int, source: str, tally: _Tally) -> list[str]:
    """One code cell's lines as Python: IPython lines commented, top-level expressions neutralised."""
    lines = _comment_ipython(source.split("\n"), tally)
    text = "\n".join(lines)
    try:
        tree = parse(text)
    except SyntaxError as error:
        if error.lineno is None:
            raise SubmissionError(f"cell {number} cannot be parsed: {error.msg}") from None
        raise SubmissionError(f"cell {number} has a syntax error at line {error.lineno}: {error.msg}") from None
    except ValueError as error:  # null bytes, on Pythons that raise ValueError for them
        raise SubmissionError(f"cell {number} cannot be parsed: {error}") from None
    lines = _neutralise(tree, lines, tally)
    try:
        parse("\n".join(lines))
    except (SyntaxError, ValueError) as error:  # the conversion's fault, never the candidate's
        raise RuntimeError(f"converting cell {number} broke its syntax: {error}") from None
    return lines


def _compile(text: str, name: str) -> None:
    """Compile (never run) the whole module: what parses cell by cell can still fail as one module, as
    `x = await f()` at the top level (Jupyter runs it) or a `from __future__` import after the first cell."""
    try:
        compile_source(text, name)
    except SyntaxError as error:
        where = cell_line(text, error.lineno) if error.lineno else None
        if where is None:
            raise SubmissionError(f"{name} cannot be compiled: {error.msg}") from None
        raise SubmissionError(f"cell {where[0]} has a syntax error at line {where[1]}: {error.msg}") from None
    except ValueError as error:
        raise SubmissionError(f"{name} cannot be compiled: {error}") from None


def _newlines(source: object) -> str:
    text = "".join(source) if isinstance(source, list) else str(source)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _cell_magic(source: str) -> Optional[str]:
    """The cell magic (`%%time`) the cell starts with (after blank lines, as IPython allows), if any."""
    for line in source.split("\n"):
        if line.strip():
            stripped = line.strip()
            return stripped.split()[0][:40] if stripped.startswith("%%") else None
    return None


def _is_ipython(line: str) -> bool:
    """A line magic, shell escape or help line (at the start of a logical line): none of them is Python."""
    stripped = line.strip()
    return (stripped.startswith(("%", "!")) or _ASSIGNED.match(stripped) is not None
            or _HELP.fullmatch(stripped) is not None)


def _comment_ipython(lines: list[str], tally: _Tally) -> list[str]:
    """Comment out IPython lines, only where a logical line starts: never inside a bracket, a string or a
    backslash continuation (where `% b` is Python's modulo)."""
    out: list[str] = []
    scanner = _Scanner()
    in_magic = False  # the previous IPython line ended with a backslash: this line is part of it
    for line in lines:
        if in_magic:
            out.append("# " + line)
        elif scanner.at_logical_start() and _is_ipython(line):
            tally.ipython_lines += 1
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}pass  # {line.lstrip()}" if indent else "# " + line)
        else:
            out.append(line)
            scanner.feed(line)
            continue
        in_magic = line.endswith("\\")
    return out


class _Scanner:
    """Just enough of Python's tokenizer to know whether a line starts a logical line: open brackets, open
    strings (triple-quoted, or continued with a backslash) and backslash continuations, line by line."""

    def __init__(self) -> None:
        self.quote: Optional[str] = None  # the open string's closing quote, carried to the next line
        self.depth = 0
        self.continued = False

    def at_logical_start(self) -> bool:
        return self.quote is None and self.depth == 0 and not self.continued

    def feed(self, line: str) -> None:
        self.continued = False
        i, n = 0, len(line)
        while i < n:
            char = line[i]
            if self.quote is not None:
                if char == "\\":
                    if i == n - 1:
                        return  # a backslash-newline inside the string: it goes on
                    i += 2
                elif line.startswith(self.quote, i):
                    i += len(self.quote)
                    self.quote = None
                else:
                    i += 1
                continue
            if char == "#":
                break
            if char in "\"'":
                self.quote = char * 3 if line.startswith(char * 3, i) else char
                i += len(self.quote)
                continue
            if char in "([{":
                self.depth += 1
            elif char in ")]}":
                self.depth = max(0, self.depth - 1)
            elif char == "\\" and i == n - 1:
                self.continued = True
            i += 1
        if self.quote is not None and len(self.quote) == 1:
            self.quote = None  # an unterminated string: Python reports that syntax error


def _neutralise(tree: ast.Module, lines: list[str], tally: _Tally) -> list[str]:
    """Top-level bare expressions: their lines commented out, or wrapped as `None and (...)` where they share
    a line with another statement."""
    statements = tree.body
    groups: list[list[ast.stmt]] = []  # statements sharing lines (`a = 1; b`)
    for statement in statements:
        end = groups[-1][-1].end_lineno if groups else None
        if groups and end is not None and statement.lineno <= end:
            groups[-1].append(statement)
        else:
            groups.append([statement])
    lines = list(lines)
    for group in groups:
        exploration = [statement for statement in group if _is_exploration(statement)]
        tally.expressions += len(exploration)
        if not exploration:
            continue
        if len(exploration) == len(group):
            first, last = group[0].lineno, max(statement.end_lineno or statement.lineno for statement in group)
            for index in range(first - 1, last):
                lines[index] = "# " + lines[index] if lines[index].strip() else lines[index]
            continue
        for statement in reversed(exploration):  # right to left, so earlier columns stay put
            end_line, end_col = statement.end_lineno or statement.lineno, statement.end_col_offset or 0
            lines[end_line - 1] = _insert(lines[end_line - 1], end_col, ")")
            lines[statement.lineno - 1] = _insert(lines[statement.lineno - 1], statement.col_offset, "None and (")
    return lines


def _is_exploration(statement: ast.stmt) -> bool:
    if not isinstance(statement, ast.Expr):
        return False
    value = statement.value
    is_docstring = isinstance(value, ast.Constant) and isinstance(value.value, str)
    return not is_docstring and not isinstance(value, ast.NamedExpr)


def _insert(line: str, byte_offset: int, text: str) -> str:
    """Insert `text` at a column that the ast counts in UTF-8 bytes."""
    encoded = line.encode("utf-8")
    return (encoded[:byte_offset] + text.encode("utf-8") + encoded[byte_offset:]).decode("utf-8")


# --- messages ----------------------------------------------------------------------------------------


def _left_out(tally: _Tally) -> str:
    parts = []
    if tally.skipped:
        parts.append(f"{_plural(tally.skipped, 'cell')} tagged {SKIP_TAG}")
    if tally.cell_magics:
        names = ", ".join(dict.fromkeys(tally.cell_magics))
        parts.append(f"{_plural(len(tally.cell_magics), 'cell magic')} ({names[:100]})")
    if tally.expressions:
        parts.append(f"{_plural(tally.expressions, 'top-level expression')} (display or exploration)")
    if tally.ipython_lines:
        parts.append(_plural(tally.ipython_lines, "magic, shell or help line"))
    return ", ".join(parts)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _too_large(name: str) -> SubmissionError:
    limit = _submission.MAX_SUBMISSION_BYTES // 1024
    return SubmissionError(f"the code in {name} is larger than {limit} KiB; a notebook's code cells are graded as one module")


def _one_line(text: str) -> str:
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first if len(first) <= MAX_ERROR_CHARS else first[: MAX_ERROR_CHARS - 3] + "..."
