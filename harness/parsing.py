"""Python source parsed on the grader's side, one thread at a time.

CPython 3.11 keeps the AST converter's recursion depth in state shared by every thread (fixed per thread only in
later versions). When two threads build or convert syntax trees at once, which a batch does (submissions and
probe plans parsed in its sandbox threads while pytest rewrites the check files' assertions in the main thread),
one of them can fail with "SystemError: AST constructor recursion depth mismatch" — a grading lost to the
grader's own race. Every parse and compile of source on the grader's side goes through this lock.
"""

from __future__ import annotations

import ast
import threading
from types import CodeType

AST_LOCK = threading.RLock()


def parse(source: str, filename: str = "<unknown>") -> ast.Module:
    """ast.parse under the lock."""
    with AST_LOCK:
        return ast.parse(source, filename=filename)


def compile_source(source: str, filename: str) -> CodeType:
    """compile(..., "exec") under the lock (syntax checks of what a candidate wrote)."""
    with AST_LOCK:
        return compile(source, filename, "exec", dont_inherit=True)
