"""Callbacks: the report POSTed to the submission's `callback_url` once it is stored, retried with backoff, and only
ever to an address the operator allowed.

The allow list (`--allow-callback`, `$HARNESS_CALLBACK_ALLOW`) holds host names (`hooks.example.edu`, or
`*.example.edu` for its subdomains) and IP networks (`10.0.0.0/8`, `127.0.0.1`). An IP address in a URL must lie
in an allowed network (or be listed as written); a host name must be listed: a name is never allowed because of
where it resolves, since DNS is the client's to change (an allowed name is one the operator trusts). Empty by
default: no callback is allowed, and a submission naming one is refused (422) before anything is stored. The
check runs again before each delivery, against the list the worker was started with.

Delivery: one POST of JSON {"submission_id", "challenge_id", "student_id", "status": "done", "report"}, the report
as the submitting key may see it (candidate view for a submitter key). Redirects are not followed and proxies from
the environment are not used. Any 2xx is success; anything else, or no answer in time, is retried by the queue
(Huey's retries: delay, then delay x backoff, ...); after the last try the submission's callback state is
`failed`, with the last error. Delivery is at least once: a worker that dies between the POST and recording it
makes the next worker POST again; receivers deduplicate on `submission_id`. With `$HARNESS_CALLBACK_SECRET` set,
`X-Harness-Signature: sha256=<hex HMAC of the body>` lets the receiver check the sender.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
from typing import Iterable, Optional, Union
from urllib.parse import urlsplit

import harness
from harness.report import Report, for_candidate
from harness.service.keys import Role
from harness.service.store import CallbackJob, Store

log = logging.getLogger(__name__)

MAX_URL_CHARS = 2000
Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]


class CallbackRefused(ValueError):
    """The callback URL is malformed or its host is not allowed; the message says which."""


class DeliveryFailed(Exception):
    """The receiver did not take the callback (no answer, or a status other than 2xx)."""


class CallbackPolicy:
    """Which callback URLs may be used: built from the operator's allow list."""

    def __init__(self, allow: Iterable[str]) -> None:
        self.names: set[str] = set()
        self.suffixes: set[str] = set()
        self.networks: list[Network] = []
        for entry in allow:
            entry = entry.strip().lower().rstrip(".")
            if not entry:
                continue
            try:
                self.networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
                continue
            except ValueError:
                pass
            if entry.startswith("*.") and _is_host_name(entry[2:]):
                self.suffixes.add(entry[1:])
            elif _is_host_name(entry):
                self.names.add(entry)
            else:
                raise ValueError(f"--allow-callback: {entry!r} is neither a host name (hooks.example.edu, "
                                 "*.example.edu) nor an IP network (10.0.0.0/8, 127.0.0.1)")

    @property
    def empty(self) -> bool:
        return not (self.names or self.suffixes or self.networks)

    def check(self, url: str) -> str:
        """The URL when it may be called back; CallbackRefused saying why not."""
        if len(url) > MAX_URL_CHARS:
            raise CallbackRefused(f"callback_url is longer than {MAX_URL_CHARS} characters")
        try:
            parts = urlsplit(url)
            host = parts.hostname
            parts.port  # noqa: B018  (raises ValueError for a port that is not a number in range)
        except ValueError as error:
            raise CallbackRefused(f"callback_url is not a valid URL: {error}") from None
        if parts.scheme not in ("http", "https"):
            raise CallbackRefused("callback_url must be an http:// or https:// URL")
        if not host:
            raise CallbackRefused("callback_url names no host")
        if parts.username is not None or parts.password is not None:
            raise CallbackRefused("callback_url may not hold a user name or password")
        if self.empty:
            raise CallbackRefused("callbacks are not enabled on this service (the operator allows no callback "
                                  "address); poll GET /v1/submissions/{id} instead")
        if not self.allows_host(host):
            raise CallbackRefused(f"callback_url's host {host!r} is not one this service may call back "
                                  "(the operator's --allow-callback list)")
        return url

    def allows_host(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return host in self.names or any(host.endswith(suffix) for suffix in self.suffixes)
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.networks) or host in self.names


def _is_host_name(text: str) -> bool:
    labels = text.split(".")
    return 0 < len(text) <= 253 and all(
        0 < len(label) <= 63 and label.replace("-", "").isalnum() and label.isascii() and not label.startswith("-")
        for label in labels)


def payload(job: CallbackJob) -> bytes:
    """The JSON body: the report as the submitting key may see it."""
    report = Report.model_validate_json(job.report)
    if job.role is Role.submitter:
        report = for_candidate(report)
    return json.dumps({"submission_id": job.submission_id, "challenge_id": job.challenge_id,
                       "student_id": job.student_id, "status": "done",
                       "report": json.loads(report.model_dump_json())}, separators=(",", ":")).encode("utf-8")


def post(url: str, body: bytes, *, submission_id: str, attempt: int, timeout: float,
         secret: Optional[str] = None) -> None:
    """One delivery try; DeliveryFailed unless the receiver answers 2xx in time."""
    import httpx

    headers = {"Content-Type": "application/json", "User-Agent": f"harness/{harness.__version__}",
               "X-Harness-Submission": submission_id, "X-Harness-Delivery": str(attempt)}
    if secret:
        headers["X-Harness-Signature"] = "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
            response = client.post(url, content=body, headers=headers)
    except httpx.HTTPError as error:
        raise DeliveryFailed(f"{type(error).__name__}: {error}"[:300]) from None
    if not 200 <= response.status_code < 300:
        raise DeliveryFailed(f"the receiver answered {response.status_code}")


def deliver(store: Store, policy: CallbackPolicy, submission_id: str, *, final: bool, timeout: float,
            secret: Optional[str] = None) -> None:
    """The callback task: POST the stored report once; raise DeliveryFailed to have the queue retry it later."""
    job = store.callback_job(submission_id)
    if job is None or job.state != "pending":
        return  # delivered already (a duplicate task), or no report or no callback: nothing to do
    try:
        policy.check(job.url)
    except CallbackRefused as refused:
        store.callback_attempted(submission_id, delivered=False, error=str(refused), final=True)
        log.warning("callback of %s not sent: %s", submission_id, refused)
        return
    try:
        post(job.url, payload(job), submission_id=submission_id, attempt=job.attempts + 1, timeout=timeout,
             secret=secret)
    except DeliveryFailed as failed:
        store.callback_attempted(submission_id, delivered=False, error=str(failed), final=final)
        log.warning("callback of %s failed (try %d%s): %s", submission_id, job.attempts + 1,
                    ", the last" if final else ", will retry", failed)
        if not final:
            raise
        return
    store.callback_attempted(submission_id, delivered=True, error=None, final=True)
    log.info("callback of %s delivered to %s", submission_id, job.url)
