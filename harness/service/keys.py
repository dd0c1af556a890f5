"""API keys: random tokens shown once and stored only as their SHA-256, a role each, and limits per key.

A token is 32 random bytes (URL-safe base64 after a `hk_` prefix), so a plain SHA-256 is enough to store it: there
is nothing to guess that a slow hash would protect. Two roles: `submitter` (a platform acting for students: sees
only its own submissions, and only the candidate view) and `grader` (teachers and their tools: everything).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from enum import Enum
from typing import Optional

TOKEN_PREFIX = "hk_"
MAX_FILE_BYTES = 16 * 1024 * 1024  # the largest file the grader takes at all (a notebook)
DEFAULT_PER_MINUTE = 30
DEFAULT_MAX_QUEUED = 20
DEFAULT_FILE_BYTES = 8 * 1024 * 1024


class Role(str, Enum):
    submitter = "submitter"
    grader = "grader"


@dataclass(frozen=True)
class KeyLimits:
    """What one key may do: submissions per minute, submissions waiting or grading at once, bytes per file."""

    per_minute: int = DEFAULT_PER_MINUTE
    max_queued: int = DEFAULT_MAX_QUEUED
    max_file_bytes: int = DEFAULT_FILE_BYTES

    def __post_init__(self) -> None:
        if self.per_minute < 1 or self.max_queued < 1:
            raise ValueError("a key's per-minute and queued limits must be at least 1")
        if not 1 <= self.max_file_bytes <= MAX_FILE_BYTES:
            raise ValueError(f"a key's file size limit must be between 1 byte and {MAX_FILE_BYTES // (1024 * 1024)} MiB")


@dataclass(frozen=True)
class ApiKey:
    """A stored key (never its token)."""

    id: str
    name: str
    role: Role
    created_at: float
    revoked_at: Optional[float]
    limits: KeyLimits

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_key_id() -> str:
    return "key_" + secrets.token_hex(6)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def looks_like_token(token: str) -> bool:
    """A cheap shape check before touching the store (an empty or absurd header is refused as missing)."""
    return token.startswith(TOKEN_PREFIX) and 10 < len(token) < 200 and token.isascii()
