"""Python source parsed on the grader's side, one thread at a time.

CPython 3.11 keeps the AST converter's recursion depth in state shared by every thread (fixed per thread only in
later versions). When two threads build or convert syntax trees at once, which a batch does (submissions and
probe plans parsed in its sandbox threads while pytest rewrites the check files' assertions in the main thread),
one of them can fail with "SystemError: AST constructor recursion depth mismatch" — a grading lost to the
grader's own race (3 of 100 in a benchmark class). Every parse and compile of source on the grader's side goes
through this lock, and so do whole runs of the checks (pytest parses the check files to describe a failure)
and logging a traceback (Python 3.11 parses source lines to underline the failing expression).
"""

from __future__ import annotations

import ast
import logging
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


def log_exception(logger: logging.Logger, message: str, *args: object) -> None:
    """logger.exception under the lock: formatting the traceback parses source lines (Python 3.11's carets)."""
    with AST_LOCK:
        logger.exception(message, *args)
