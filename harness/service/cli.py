"""The service's commands: `harness serve`, `harness worker`, `harness keys create|list|revoke`.

Imported by `harness.cli` at start-up, so this module imports only click and the settings; FastAPI, uvicorn,
Huey, the store and torch load inside the commands.

`harness serve` runs the API (uvicorn) and, unless `--no-worker`, an embedded worker: a child process running
`harness worker` with the same store and queue, restarted if it dies, stopped (gracefully) when the server stops,
and sent SIGTERM by the kernel if the server itself is killed. One command serves a course on one machine.
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from typing import Any, Callable, NoReturn, Optional

import click

from harness.service.settings import (CALLBACK_ALLOW_ENV, CALLBACK_SECRET_ENV, DEFAULT_LEASE_SECONDS, LEASE_ENV,
                                      QUEUE_ENV, STORE_ENV, Settings, SettingsError, absolute_url, default_queue_url,
                                      default_store_url, split_allow)

EXIT_USAGE, EXIT_ERROR = 2, 3
PARENT_ENV = "HARNESS_SERVICE_PARENT"  # set for an embedded worker: the pid of the `harness serve` that started it
PR_SET_PDEATHSIG = 1
log = logging.getLogger("harness.service")


def _fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def store_option(function: Callable) -> Callable:
    return click.option("--store", "store_url", envvar=STORE_ENV, default=None, metavar="URL",
                        help=f"The store of submissions, reports and keys: sqlite:///file.db (relative), "
                             f"sqlite:////abs/file.db, or a path [env {STORE_ENV}; default: "
                             "$HARNESS_SERVICE_DIR/service.db, else ~/.local/share/harness/service/service.db].")(function)


def service_options(function: Callable) -> Callable:
    """The options that the API and every worker must agree on."""
    function = click.option("--lease", "lease_seconds", type=click.FloatRange(0.5, 3600), envvar=LEASE_ENV,
                            default=DEFAULT_LEASE_SECONDS, show_default=True,
                            help=f"Seconds a grading holds its job without renewing it: a worker that dies loses its "
                                 f"job to another after this long [env {LEASE_ENV}].")(function)
    function = click.option("--allow-callback", "allow_callback", multiple=True, envvar=CALLBACK_ALLOW_ENV,
                            metavar="HOST|NETWORK",
                            help=f"A host name (hooks.example.edu, *.example.edu) or IP network (10.0.0.0/8) that "
                                 f"callbacks may go to; repeat it, or separate with commas. Default: none "
                                 f"[env {CALLBACK_ALLOW_ENV}]. Callbacks are signed when ${CALLBACK_SECRET_ENV} is "
                                 "set.")(function)
    function = click.option("--queue", "queue_url", envvar=QUEUE_ENV, default=None, metavar="URL",
                            help=f"The job queue: sqlite:///file.db on one machine, redis://host:6379/0 across "
                                 f"machines [env {QUEUE_ENV}; default: queue.db beside the default store].")(function)
    return store_option(function)


def callback_options(function: Callable) -> Callable:
    """How a worker retries a callback that failed (the API never sends one)."""
    function = click.option("--callback-delay", type=click.FloatRange(0.01, 3600), default=2.0, show_default=True,
                            help="Seconds before a failed callback is tried again; each later retry waits twice as "
                                 "long.")(function)
    return click.option("--callback-retries", type=click.IntRange(0, 20), default=5, show_default=True,
                        help="Retries of a callback that failed, after its first try.")(function)


def backend_choice(function: Callable) -> Callable:
    return click.option("--backend", type=click.Choice(["auto", "docker", "local"]), default="auto", show_default=True,
                        help="Where submissions run (as for `harness grade`).")(function)


def _settings(ctx: click.Context, store_url: Optional[str], queue_url: Optional[str] = None,
              allow_callback: tuple[str, ...] = (), lease_seconds: float = DEFAULT_LEASE_SECONDS,
              callback_retries: int = 5, callback_delay: float = 2.0) -> Settings:
    from harness.challenge import CHALLENGES_DIR

    try:
        settings = Settings(store_url=absolute_url(store_url or default_store_url()),
                            queue_url=absolute_url(queue_url or default_queue_url()),
                            challenges_dir=ctx.find_root().obj or CHALLENGES_DIR,
                            callback_allow=split_allow(allow_callback),
                            callback_secret=os.environ.get(CALLBACK_SECRET_ENV) or None,
                            lease_seconds=lease_seconds, callback_retries=callback_retries,
                            callback_delay=callback_delay)
        from harness.service.callbacks import CallbackPolicy

        CallbackPolicy(settings.callback_allow)  # a bad entry is a usage error now, not a surprise later
    except (SettingsError, ValueError) as error:
        _fail(str(error), EXIT_USAGE)
    return settings


def _open_store(settings: Settings) -> Any:
    from harness.service.store import Store, StoreError

    try:
        return Store.from_url(settings.store_url)
    except StoreError as error:
        _fail(str(error))


# --- harness serve ------------------------------------------------------------------------------------------------


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@service_options
@click.option("--workers", "-j", "slots", type=click.IntRange(1, 64), default=None,
              help="Grading slots of the embedded worker (default: the number of CPUs).")
@click.option("--no-worker", is_flag=True, help="Serve the API only; `harness worker` processes grade.")
@backend_choice
@callback_options
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, store_url: Optional[str], queue_url: Optional[str],
          allow_callback: tuple[str, ...], lease_seconds: float, slots: Optional[int], no_worker: bool,
          backend: str, callback_retries: int, callback_delay: float) -> None:
    """Serve the grading API (and grade, unless --no-worker): POST /v1/submissions, GET /v1/submissions/{id}."""
    import uvicorn

    from harness.service.app import create_app

    settings = _settings(ctx, store_url, queue_url, allow_callback, lease_seconds, callback_retries, callback_delay)
    _open_store(settings).close()  # creates the tables, and says now when the store cannot be opened
    logging.getLogger("harness.service").setLevel(logging.INFO)
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:  # uvicorn hands the signal back here once it has stopped
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    embedded = None if no_worker else EmbeddedWorker(_worker_command(settings, slots or os.cpu_count() or 1, backend))
    if embedded is not None:
        embedded.start()
    click.echo(f"harness serve: http://{host}:{port} (store {settings.store_url}, queue {settings.queue_url}"
               f"{', no worker' if no_worker else ''})", err=True)
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host=host, port=port, log_level="warning",
                                           timeout_graceful_shutdown=10))
    try:
        server.run()
    except SystemExit:  # uvicorn exits this way when it cannot listen (it has said why)
        server.started = False
    finally:
        if embedded is not None:
            embedded.stop()
    if not server.started and not stop.is_set():
        _fail(f"could not serve on {host}:{port} (see above)")
    sys.exit(0)


def _worker_command(settings: Settings, slots: int, backend: str) -> list[str]:
    command = [sys.executable, "-m", "harness", "--challenges", str(settings.challenges_dir), "worker",
               "--store", settings.store_url, "--queue", settings.queue_url, "-j", str(slots), "--backend", backend,
               "--lease", repr(settings.lease_seconds), "--callback-retries", str(settings.callback_retries),
               "--callback-delay", repr(settings.callback_delay)]
    for allowed in settings.callback_allow:
        command += ["--allow-callback", allowed]
    return command


class EmbeddedWorker:
    """`harness worker` as a child of `harness serve`: started, restarted when it dies, stopped with the server."""

    def __init__(self, command: list[str], grace: float = 30.0) -> None:
        self.command = command
        self.grace = grace
        self.process: Optional[subprocess.Popen] = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._supervise, name="embedded-worker", daemon=True)
        self._started = threading.Event()

    def start(self) -> None:
        self._thread.start()  # the child is forked from this long-lived thread: its parent-death signal is tied to it
        self._started.wait(10)

    def _supervise(self) -> None:
        env = dict(os.environ, **{PARENT_ENV: str(os.getpid())})
        failures = 0
        while not self._stopping.is_set():
            started = time.monotonic()
            self.process = subprocess.Popen(self.command, env=env, stdin=subprocess.DEVNULL)
            self._started.set()
            code = self.process.wait()
            if self._stopping.is_set():
                return
            failures = failures + 1 if time.monotonic() - started < 30 else 1
            delay = min(30.0, 2.0 ** failures)
            log.warning("the embedded worker exited (%s); starting another in %.0f s", code, delay)
            self._stopping.wait(delay)

    def stop(self) -> None:
        self._stopping.set()
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(self.grace + 10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _die_with_parent() -> None:
    """For an embedded worker: SIGTERM when the `harness serve` that started it ends (even by kill -9), and an exit
    now if it already has."""
    parent = os.environ.get(PARENT_ENV, "")
    if not parent.isdigit():
        return
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    except (OSError, AttributeError):
        pass
    if os.getppid() != int(parent):
        _fail("the harness serve that started this worker has already ended")


# --- harness worker -----------------------------------------------------------------------------------------------


@click.command()
@service_options
@click.option("-j", "--jobs", "slots", type=click.IntRange(1, 64), default=None,
              help="Grading slots: submissions graded at once, each in a warm sandbox (default: the number of CPUs).")
@backend_choice
@click.option("--grace", type=click.FloatRange(0, 3600), default=30.0, show_default=True,
              help="On SIGTERM or Ctrl-C, seconds the jobs in flight may take to finish before they go back to the queue.")
@callback_options
@click.pass_context
def worker(ctx: click.Context, store_url: Optional[str], queue_url: Optional[str], allow_callback: tuple[str, ...],
           lease_seconds: float, slots: Optional[int], backend: str, grace: float, callback_retries: int,
           callback_delay: float) -> None:
    """Grade submissions from the queue (runs alongside `harness serve --no-worker`, on this or another machine)."""
    _die_with_parent()
    settings = _settings(ctx, store_url, queue_url, allow_callback, lease_seconds, callback_retries, callback_delay)
    logging.getLogger("harness.service").setLevel(logging.INFO)
    if not logging.getLogger().isEnabledFor(logging.INFO):
        logging.getLogger("huey").setLevel(logging.CRITICAL)  # task errors are logged by the service's own code
    from harness.sandbox.base import SandboxError
    from harness.sandbox.select import make_backend
    from harness.service.worker import Worker

    count = slots or os.cpu_count() or 1
    try:
        sandbox = make_backend(backend, count)
    except SandboxError as error:
        _fail(str(error))
    try:
        code = Worker(settings, slots=count, backend=sandbox, grace=grace).run()
    except BaseException:
        sandbox.close()
        raise
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # a thread may still be inside torch or a sandbox: the interpreter's teardown would wait or abort


# --- harness keys ---------------------------------------------------------------------------------------------------


@click.group()
def keys() -> None:
    """API keys of the grading service (stored hashed: a token is shown once, when created)."""


@keys.command("create")
@click.option("--role", type=click.Choice(["submitter", "grader"]), required=True,
              help="submitter: submits, and sees only its own submissions' candidate view; grader: everything.")
@click.option("--name", default="", help="Who holds it (shown by `keys list`).")
@click.option("--per-minute", type=click.IntRange(1, 100000), default=None,
              help="Submissions a minute (default 30).")
@click.option("--max-queued", type=click.IntRange(1, 100000), default=None,
              help="Submissions waiting or grading at once (default 20).")
@click.option("--max-file-mb", type=click.FloatRange(0.001, 16), default=None,
              help="Largest file, in MiB (default 8; the grader takes at most 16 for a notebook, 0.5 for a .py file).")
@store_option
def keys_create(role: str, name: str, per_minute: Optional[int], max_queued: Optional[int],
                max_file_mb: Optional[float], store_url: Optional[str]) -> None:
    """Create a key; prints its token (alone, on stdout) once: it is not stored, only its hash is."""
    from harness.service.keys import KeyLimits, Role

    defaults = KeyLimits()
    limits = KeyLimits(per_minute=per_minute or defaults.per_minute, max_queued=max_queued or defaults.max_queued,
                       max_file_bytes=int(max_file_mb * 1024 * 1024) if max_file_mb else defaults.max_file_bytes)
    store = _open_store(_key_settings(store_url))
    key, token = store.create_key(name, Role(role), limits)
    store.close()
    click.echo(token)
    click.echo(f"created {key.id} ({key.role.value}{', ' + key.name if key.name else ''}): {_limits(key)}; "
               "the token above is shown only now", err=True)


@keys.command("list")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@store_option
def keys_list(fmt: str, store_url: Optional[str]) -> None:
    """List the keys (never their tokens)."""
    store = _open_store(_key_settings(store_url))
    found = store.keys()
    store.close()
    if fmt == "json":
        click.echo(json.dumps([{"id": key.id, "name": key.name, "role": key.role.value, "created_at": _when(key.created_at),
                                "revoked_at": _when(key.revoked_at) if key.revoked_at else None,
                                "per_minute": key.limits.per_minute, "max_queued": key.limits.max_queued,
                                "max_file_bytes": key.limits.max_file_bytes} for key in found], indent=2))
        return
    if not found:
        click.echo("no keys yet: harness keys create --role grader --name NAME", err=True)
    for key in found:
        state = f"revoked {_when(key.revoked_at)}" if key.revoked_at else "active"
        click.echo(f"{key.id}  {key.role.value:9}  {state:28}  {_limits(key)}  {key.name}")


@keys.command("revoke")
@click.argument("key_id")
@store_option
def keys_revoke(key_id: str, store_url: Optional[str]) -> None:
    """Revoke KEY_ID: its token stops working at once (its submissions and reports stay)."""
    store = _open_store(_key_settings(store_url))
    key = store.revoke_key(key_id)
    store.close()
    if key is None:
        _fail(f"no key {key_id!r}; `harness keys list` shows them", EXIT_USAGE)
    click.echo(f"revoked {key.id} ({key.role.value}{', ' + key.name if key.name else ''})", err=True)


def _key_settings(store_url: Optional[str]) -> Settings:
    from harness.challenge import CHALLENGES_DIR

    try:
        return Settings(store_url=absolute_url(store_url or default_store_url()), queue_url=default_queue_url(),
                        challenges_dir=CHALLENGES_DIR)
    except SettingsError as error:
        _fail(str(error), EXIT_USAGE)


def _limits(key: Any) -> str:
    return (f"{key.limits.per_minute}/min, {key.limits.max_queued} queued, "
            f"{key.limits.max_file_bytes / (1024 * 1024):g} MiB files")


def _when(seconds: Optional[float]) -> str:
    if seconds is None:
        return ""
    return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


serve_commands = [serve, worker, keys]
