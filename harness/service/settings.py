"""The service's configuration: where the store and the queue are, which callback addresses are allowed, and the
lease that lets another worker take over a job whose worker died.

Every value comes from a command-line option or its environment variable, so the API, each worker and each
machine are configured the same way (docker-compose passes environment variables). Standard library only: the
command line imports this module at start-up.

URLs: a store or a SQLite queue is `sqlite:///relative/path.db` or `sqlite:////absolute/path.db` (SQLAlchemy's
convention), or a plain file path; a queue across machines is `redis://host:6379/0` (`rediss://` for TLS,
`unix:///path/redis.sock`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional
from urllib.parse import urlsplit

SERVICE_DIR_ENV = "HARNESS_SERVICE_DIR"
STORE_ENV = "HARNESS_STORE"
QUEUE_ENV = "HARNESS_QUEUE"
CALLBACK_ALLOW_ENV = "HARNESS_CALLBACK_ALLOW"
CALLBACK_SECRET_ENV = "HARNESS_CALLBACK_SECRET"
LEASE_ENV = "HARNESS_LEASE_SECONDS"

DEFAULT_LEASE_SECONDS = 60.0  # a grading renews its lease every third of this; a dead worker's job waits this long
DEFAULT_MAX_ATTEMPTS = 3  # claims of one submission (worker deaths, grader errors) before its report says error
DEFAULT_REQUEUE_AFTER = 1800.0  # a queued submission whose task may have been lost is enqueued again after this
REDIS_SCHEMES = ("redis", "rediss", "unix")


class SettingsError(ValueError):
    """A configuration value is wrong; the message names the option and what is accepted."""


@dataclass(frozen=True)
class Settings:
    """Everything the API and the workers must agree on, plus the workers' own knobs."""

    store_url: str
    queue_url: str
    challenges_dir: Path
    callback_allow: tuple[str, ...] = ()  # host names (`hooks.example.edu`, `*.example.edu`) and IP networks
    callback_secret: Optional[str] = field(default=None, repr=False)  # signs callbacks (HMAC-SHA256) when set
    lease_seconds: float = DEFAULT_LEASE_SECONDS
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    requeue_after: float = DEFAULT_REQUEUE_AFTER
    callback_retries: int = 5
    callback_delay: float = 2.0  # seconds before the first retry; each later one waits callback_backoff times more
    callback_backoff: float = 2.0
    callback_timeout: float = 10.0

    @property
    def heartbeat_seconds(self) -> float:
        """How often a grading renews its lease: three renewals fit in one lease, so one slow write loses nothing."""
        return self.lease_seconds / 3

    @property
    def reap_seconds(self) -> float:
        """How often a worker looks for expired leases (the other half of how long a dead worker's job waits)."""
        return max(0.25, min(self.lease_seconds / 2, 30.0))

    def __post_init__(self) -> None:
        if not self.lease_seconds > 0:
            raise SettingsError(f"the lease must be a positive number of seconds, not {self.lease_seconds}")
        if self.max_attempts < 1:
            raise SettingsError(f"max_attempts must be at least 1, not {self.max_attempts}")
        sqlite_path(self.store_url, "--store")
        check_queue_url(self.queue_url)


def service_dir() -> Path:
    """Where the default store and queue live: $HARNESS_SERVICE_DIR, else $XDG_DATA_HOME/harness/service (the same
    folder whatever the current directory, so `harness keys create` and `harness serve` find one store)."""
    explicit = os.environ.get(SERVICE_DIR_ENV)
    if explicit:
        return Path(explicit).expanduser()
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "harness" / "service"


def default_store_url() -> str:
    return "sqlite:///" + str(service_dir().resolve() / "service.db")


def default_queue_url() -> str:
    return "sqlite:///" + str(service_dir().resolve() / "queue.db")


def sqlite_path(url: str, option: str = "--store") -> Path:
    """The file of a SQLite URL (or plain path); SettingsError for anything else."""
    if "://" not in url:
        if not url.strip():
            raise SettingsError(f"{option}: empty; give sqlite:///path/to/file.db or a file path")
        return Path(url).expanduser()
    scheme, rest = url.split("://", 1)
    if scheme.lower() != "sqlite":
        raise SettingsError(f"{option}: {url!r} is not a SQLite URL; this store is SQLite: "
                            "sqlite:///relative/file.db, sqlite:////absolute/file.db or a file path")
    if not rest.startswith("/") or rest == "/":
        raise SettingsError(f"{option}: {url!r} names no file; write sqlite:///relative/file.db or "
                            "sqlite:////absolute/file.db")
    return Path(rest[1:]).expanduser()  # sqlite:///a.db -> a.db; sqlite:////abs/a.db -> /abs/a.db


def check_queue_url(url: str) -> str:
    """'sqlite' or 'redis', the queue's kind; SettingsError naming what is accepted."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme in REDIS_SCHEMES:
        if scheme != "unix" and not urlsplit(url).hostname:
            raise SettingsError(f"--queue: {url!r} names no Redis host; write redis://host:6379/0")
        return "redis"
    sqlite_path(url, "--queue")
    return "sqlite"


def absolute_url(url: str) -> str:
    """A SQLite URL with its file made absolute (a child process may start elsewhere); others unchanged."""
    if "://" in url and url.split("://", 1)[0].lower() != "sqlite":
        return url
    return "sqlite:///" + str(sqlite_path(url).resolve())


def split_allow(values: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """--allow-callback values (each may hold several, separated by commas or spaces), cleaned, order kept."""
    found: list[str] = []
    for value in values:
        for part in value.replace(",", " ").split():
            if part not in found:
                found.append(part)
    return tuple(found)


def float_from_env(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return float(raw)
    except ValueError:
        raise SettingsError(f"${name} is {raw!r}, not a number") from None
