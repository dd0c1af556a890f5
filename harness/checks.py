"""Judging on the trusted side: the challenge's hidden pytest checks run in the grader's process over decoded probe results.

The candidate's code is never imported here. A pytest plugin object collects one outcome per
check from pytest's own hooks (a pass counts only from the `call` phase), and scoring fails
closed: a check without an outcome of its own is an error, and a skip earns nothing.
"""

from __future__ import annotations

import collections
import contextlib
import io
import logging
import os
import signal
import sys
import threading
import tempfile
from pathlib import Path
from typing import Any, Callable, Optional, cast

import pytest
import torch

from harness.parsing import AST_LOCK
from harness.report import CheckResult, CheckStatus, Visibility, clip
from harness.sandbox.base import ProbeOutcome
from harness.reference import ChecksError, ReferenceResults
from harness.wire import WireError, decode_value

log = logging.getLogger(__name__)

CHECK_TIMEOUT_SECONDS = 120
_PROBE_STATUS = {"error": CheckStatus.error, "timeout": CheckStatus.timeout, "oom": CheckStatus.oom,
                 "tampered": CheckStatus.failed}


class ProbeUnavailable(Exception):
    """A check asked for a probe that did not produce a value; the check ends with the probe's status."""

    def __init__(self, name: str, status: str, message: str) -> None:
        super().__init__(f"probe {name!r} {status}: {message}")
        self.status = _PROBE_STATUS.get(status, CheckStatus.error)


class ProbeResults:
    """The candidate's probe values, decoded strictly on first use."""

    def __init__(self, outcomes: dict[str, ProbeOutcome]) -> None:
        self._outcomes = outcomes
        self._decoded: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._decoded:
            outcome = self._outcomes.get(name)
            if outcome is None:
                raise ProbeUnavailable(name, "error", "the sandbox returned no result for this probe")
            if outcome.status != "ok":
                raise ProbeUnavailable(name, outcome.status, outcome.message or "")
            try:
                self._decoded[name] = decode_value(outcome.value)
            except WireError as error:
                raise ProbeUnavailable(name, "error", f"its result could not be decoded: {error}") from None
        return self._decoded[name]


class _Collector:
    """The pytest plugin: provides the fixtures and records one outcome per check."""

    def __init__(self, fixtures: dict[str, Any]) -> None:
        self._fixtures = fixtures
        self.items: dict[str, dict] = {}
        self.results: dict[str, CheckResult] = {}
        self.collect_errors: list[str] = []
        self.grader_errors: list[str] = []

    def reset(self, fixtures: dict[str, Any]) -> None:
        """A new submission: its fixtures, and no outcome yet (the collected checks stay)."""
        self._fixtures = fixtures
        self.results = {}
        self.grader_errors = []

    @pytest.fixture
    def probes(self) -> ProbeResults:
        return self._fixtures["probes"]

    @pytest.fixture
    def reference(self) -> ReferenceResults:
        return self._fixtures["reference"]

    @pytest.fixture
    def seed(self) -> int:
        return self._fixtures["seed"]

    @pytest.fixture
    def submission_source(self) -> str:
        return self._fixtures["submission_source"]

    @pytest.fixture
    def inputs(self):
        """inputs["name"]: what went into the sandbox for that probe, drawn on the trusted side."""
        return self._fixtures["inputs"]

    @pytest.fixture
    def answers(self):
        """answers["name"]: what hidden/inputs.py's answers_<name> says; never in the sandbox."""
        return self._fixtures["answers"]

    @pytest.fixture
    def violations(self) -> list:
        """(rule, what) pairs that the sandbox's tripwires reported."""
        return self._fixtures["violations"]

    def pytest_configure(self, config: pytest.Config) -> None:
        config.addinivalue_line("markers", "points(n): points the check is worth (default 1)")
        config.addinivalue_line("markers", "visibility(v): visible, hidden or after_due_date")

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collect_errors.append(f"{report.nodeid}: {str(report.longrepr)[-1500:]}")

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            points = item.get_closest_marker("points")
            visibility = item.get_closest_marker("visibility")
            function = getattr(item, "function", None)
            doc = (function.__doc__ or "").strip() if function else ""
            self.items[item.nodeid] = {
                "name": item.name,
                "description": doc.splitlines()[0] if doc else item.name,
                "max_points": float(points.args[0]) if points else 1.0,
                "visibility": Visibility(visibility.args[0]) if visibility else Visibility.visible,
            }

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        # pytest parses the check file to describe a failure (and Python 3.11's tracebacks parse source lines)
        # while a batch's sandbox threads parse submissions: see harness.parsing. Only here, never around a whole
        # check, which may wait for the reference's thread, itself waiting for this lock to compile the reference.
        with AST_LOCK:
            outcome = yield
        report = outcome.get_result()
        if call.excinfo is not None:
            error = call.excinfo.value
            if isinstance(error, ProbeUnavailable):
                report.harness_status = error.status
            elif isinstance(error, ChecksError):
                report.harness_status = "grader"
            elif call.excinfo.typename == "Failed" and str(error).startswith("Timeout"):  # pytest-timeout: the grader's time
                report.harness_status = "grader"
                error = ChecksError(f"check {item.name} ran past {CHECK_TIMEOUT_SECONDS} s on the grader's side")
            elif isinstance(error, AssertionError):  # a fixture that judged (a rule gating a check): failed, not error
                report.harness_status = CheckStatus.failed
            message = str(error) if isinstance(error, AssertionError) else f"{type(error).__name__}: {error}"
            report.harness_message = message

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        meta = self.items.get(report.nodeid)
        if meta is None:
            return
        message = getattr(report, "harness_message", None)
        special = getattr(report, "harness_status", None)
        if special == "grader":
            self.grader_errors.append(str(message))
            return
        if report.when == "call":
            status = CheckStatus.passed if report.passed else CheckStatus.skipped if report.skipped else special or CheckStatus.failed
        elif report.when == "setup" and not report.passed:
            status = CheckStatus.skipped if report.skipped else special or CheckStatus.error
        elif report.when == "teardown" and report.failed:
            status = CheckStatus.error
        else:
            return
        if status is CheckStatus.skipped:
            message = "skipped: a skipped check earns no points"
        text, truncated = clip(message)
        self.results[report.nodeid] = CheckResult(
            name=meta["name"], description=meta["description"], status=status,
            points=meta["max_points"] if status is CheckStatus.passed else 0.0,
            max_points=meta["max_points"], duration_seconds=round(report.duration, 4),
            visibility=meta["visibility"], message=text, truncated=truncated,
        )


_PYTEST_ARGS = ["-p", "no:cacheprovider", "-p", "no:randomly", "-p", "no:unraisableexception",
                "-p", "no:threadexception", "-p", "no:doctest", "-p", "no:junitxml", "-p", "no:pastebin",
                "-p", "no:stepwise", "-p", "no:legacypath", "-p", "no:logging", "--capture=no", "--noconftest",
                "--import-mode=importlib", "-o", "python_files=test_*.py", "--timeout", str(CHECK_TIMEOUT_SECONDS),
                "-q", "--tb=no"]
_SESSIONS_KEPT = 8  # challenges whose collected checks stay in memory (a service grades many)


class CheckSession:
    """pytest configured and one challenge's checks collected once, then run over one submission's fixtures at a
    time (`run`). Collection (importing and rewriting the check files, building the fixtures) is most of a
    pytest.main call; a batch or a service pays it once per challenge instead of once per submission. Every run
    sets up and tears down every fixture, session-scoped ones included, exactly as a fresh pytest.main would.

    Use from the main thread only (pytest-timeout's alarm); `run_checks` keeps one session per challenge folder.
    """

    def __init__(self, hidden_dir: Path) -> None:
        from _pytest.config import _prepareconfig
        from _pytest.main import Session

        self.hidden_dir = hidden_dir
        self.collector = _Collector({})
        # pytest's terminal reporter (which pytest-timeout needs to report a timeout) writes here, and so does what
        # a check prints: never the grader's stdout. pytest itself captures nothing: its capture would outlive
        # the sys.stdout it saved (a CLI runner's, say) and put it back after every run.
        self._sink = io.StringIO()
        self._tmp = tempfile.TemporaryDirectory(prefix="harness-checks-")
        self._config: Optional[pytest.Config] = None
        ini = Path(self._tmp.name) / "pytest.ini"
        ini.write_text("[pytest]\n")
        args = [str(hidden_dir), "-c", str(ini), "--rootdir", str(hidden_dir), *_PYTEST_ARGS]
        dont_write = sys.dont_write_bytecode
        sys.dont_write_bytecode = True  # assertion rewriting would write .pyc files into the challenge
        try:
            with contextlib.redirect_stdout(self._sink), _fresh_modules(hidden_dir), AST_LOCK, _ctrl_c_seen() as seen:
                config = self._config = _prepareconfig(args, [self.collector])
                config._do_configure()
                self._session = Session.from_config(config)
                config.hook.pytest_sessionstart(session=self._session)
                self._session.perform_collect()
        except (Exception, pytest.exit.Exception) as error:
            self.close()
            raise ChecksError(f"the checks could not be collected: {type(error).__name__}: {error}") from None
        except KeyboardInterrupt:
            self.close()
            if seen:
                raise
            raise ChecksError("the checks could not be collected: a check file raised KeyboardInterrupt") from None
        finally:
            sys.dont_write_bytecode = dont_write
        if seen:  # the user's Ctrl-C, which pytest's collection reports as a collection error: it stops grading
            self.close()
            raise KeyboardInterrupt
        if self.collector.collect_errors:
            self.close()
            raise ChecksError("the checks could not be collected: " + "; ".join(self.collector.collect_errors))
        if not self.collector.items:
            self.close()
            raise ChecksError(f"pytest collected 0 checks in {hidden_dir} (test_*.py files with test_ functions)")
        self.items = list(self._session.items)

    def run(self, fixtures: dict[str, Any]) -> list[CheckResult]:
        """Run every check over `fixtures`; one result per check, in order."""
        if self._config is None:
            raise ChecksError("the checks' pytest session was closed")
        collector = self.collector
        collector.reset(fixtures)
        cwd = os.getcwd()
        try:
            with contextlib.redirect_stdout(self._sink), _one_thread(), _ctrl_c_seen() as seen:
                try:
                    for index, item in enumerate(self.items):
                        following = self.items[index + 1] if index + 1 < len(self.items) else None
                        item.config.hook.pytest_runtest_protocol(item=item, nextitem=following)
                except KeyboardInterrupt:
                    self.close()  # its fixtures may be half set up: the next run starts a fresh session
                    if seen:
                        raise  # the user's Ctrl-C
                    raise ChecksError("a check raised KeyboardInterrupt") from None
                except pytest.exit.Exception as error:
                    self.close()
                    raise ChecksError(f"a check called pytest.exit: {error}") from None
        finally:
            os.chdir(cwd)
            self._sink.seek(0)
            self._sink.truncate()
        if collector.grader_errors:
            raise ChecksError(collector.grader_errors[0])
        results = []
        for nodeid, meta in collector.items.items():
            result = collector.results.get(nodeid)
            if result is None:  # fail closed: no outcome of its own is never a pass
                result = CheckResult(name=meta["name"], description=meta["description"], status=CheckStatus.error,
                                     points=0.0, max_points=meta["max_points"], duration_seconds=0.0,
                                     visibility=meta["visibility"], message="the check ended without an outcome")
            results.append(result)
        return results

    @property
    def closed(self) -> bool:
        return self._config is None

    def close(self) -> None:
        config, self._config = self._config, None
        if config is not None:
            try:
                with contextlib.redirect_stdout(self._sink):
                    session = getattr(self, "_session", None)
                    if session is not None:
                        config.hook.pytest_sessionfinish(session=session, exitstatus=pytest.ExitCode.OK)
                    config._ensure_unconfigure()
            except Exception as error:  # a teardown of trusted code that fails must not hide the grading's outcome
                log.warning("closing the checks' pytest session failed: %r", error)
        self._tmp.cleanup()


_sessions: "collections.OrderedDict[tuple, CheckSession]" = collections.OrderedDict()


def check_session(hidden_dir: Path) -> CheckSession:
    """The collected checks of this folder, collected again when one of its files changed."""
    stats = [(path.name, path.stat()) for path in sorted(hidden_dir.glob("*.py"))]
    key = (str(hidden_dir.resolve()), tuple((name, stat.st_mtime_ns, stat.st_size) for name, stat in stats))
    session = _sessions.get(key)
    if session is None or session.closed:
        for stale in [k for k in _sessions if k[0] == key[0]]:
            _sessions.pop(stale).close()
        session = _sessions[key] = CheckSession(hidden_dir)
        while len(_sessions) > _SESSIONS_KEPT:
            _sessions.popitem(last=False)[1].close()
    _sessions.move_to_end(key)
    return session


def run_checks(hidden_dir: Path, fixtures: dict[str, Any]) -> list[CheckResult]:
    """Run the hidden checks over the fixtures and return one result per check, in order."""
    if threading.current_thread() is not threading.main_thread():
        raise ChecksError("the checks run in the main thread only (pytest-timeout's alarm)")
    return check_session(hidden_dir).run(fixtures)


@contextlib.contextmanager
def _fresh_modules(hidden_dir: Path):
    """Make pytest import this challenge's check files afresh.

    pytest's importlib mode reuses any module already in sys.modules under a check file's bare
    name (another challenge's `test_checks.py`, say), which would run the wrong checks.
    """
    stems = {path.stem for path in hidden_dir.glob("*.py")}
    saved = {name: sys.modules.pop(name) for name in stems if name in sys.modules}
    before = set(sys.modules)
    folder = os.path.normpath(hidden_dir)
    try:
        yield
    finally:
        for name in set(sys.modules) - before:  # only what this run imported can be a check file
            file = getattr(sys.modules.get(name), "__file__", None)
            if isinstance(file, str) and os.path.dirname(os.path.normpath(file)) == folder:
                del sys.modules[name]
        sys.modules.update(saved)


@contextlib.contextmanager
def _ctrl_c_seen():
    """Record whether a real Ctrl-C (SIGINT) arrived while the checks ran: only that one stops grading; a check
    that raises KeyboardInterrupt itself or calls pytest.exit is a broken check, the grader's error."""
    seen: list[bool] = []
    if threading.current_thread() is not threading.main_thread() or not callable(signal.getsignal(signal.SIGINT)):
        yield seen
        return
    previous = signal.getsignal(signal.SIGINT)
    handler = cast(Callable[[int, Any], Any], previous)  # callable: checked above

    def record(signum, frame):
        seen.append(True)
        handler(signum, frame)  # Python's default: raise KeyboardInterrupt, which pytest catches

    signal.signal(signal.SIGINT, record)
    try:
        yield seen
    finally:
        signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
