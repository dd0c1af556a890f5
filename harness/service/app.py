"""The HTTP API (FastAPI): submissions in, reports out, challenges to read. `create_app(settings)` builds it; the
store and the queue are opened when the server starts (so building the app, for the OpenAPI document, touches
nothing).

Every refusal is a 4xx with `{"detail": "<what is wrong and what to do>"}`: 401 (no key, an unknown or revoked
one), 403 (a submitter asking for the grader's view), 404 (an unknown challenge, a submission that is not the
key's), 413 (a file over the key's or the grader's limit, a request over 16 MiB), 415 (not multipart/form-data),
422 (a bad file or field, a callback address not allowed), 429 (over a key's limit, with Retry-After). 503 when
the store or the queue cannot be reached (then nothing is stored). Endpoints are plain functions that FastAPI
runs in its thread pool: the store is SQLite, whose calls block.
"""

from __future__ import annotations

import logging
import re
import secrets
import sqlite3
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from enum import Enum
from typing import Annotated, Any, AsyncIterator, Optional

from fastapi import Depends, FastAPI, File, Form, HTTPException, Path, Query, Request, Security, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

import harness
from harness.parsing import log_exception
from harness.challenge import (ID_PATTERN, Challenge, ChallengeError, Limits, UnknownChallengeError, all_challenges,
                               find_challenge)
from harness.report import Audience, Report, for_candidate
from harness.service.callbacks import CallbackPolicy, CallbackRefused
from harness.service.keys import ApiKey, Role, looks_like_token
from harness.service.queue import JobQueue
from harness.service.settings import Settings
from harness.service.store import NewSubmission, RateLimited, Store, StoreError, SubmissionRecord
from harness.service.uploads import MAX_NOTEBOOK_BYTES, UploadRefused, check_upload
from harness.submission import accepted_files

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = MAX_NOTEBOOK_BYTES + 64 * 1024  # the largest file the grader takes, plus the form around it
MAX_STUDENT_ID_CHARS = 200


class ErrorBody(BaseModel):
    detail: str = Field(description="What is wrong, and what to do about it.")


class Health(BaseModel):
    status: str = Field(description="'ok' when the store and the queue answer.")
    version: str = Field(description="The harness's version.")
    store: str
    queue: str
    submissions: dict[str, int] = Field(default_factory=dict, description="Submissions by status.")


class ChallengeSummary(BaseModel):
    id: str
    title: str
    summary: str
    topic: str
    difficulty: str
    kind: str = Field(description="'code' (a .py file or a notebook) or 'quiz' (an answers.toml file).")
    max_score: float
    accepted_files: list[str] = Field(description="The file names it grades; an upload's suffix picks one.")


class StarterFile(BaseModel):
    file_name: str
    content: str


class ChallengeDetail(ChallengeSummary):
    statement: str = Field(description="The statement, in Markdown.")
    starter: StarterFile
    limits: Limits = Field(description="What the submission may use in the sandbox.")


class Accepted(BaseModel):
    id: str = Field(description="The submission's id, for GET /v1/submissions/{id}.")
    status: str = Field(description="'queued'.")
    challenge_id: str
    student_id: Optional[str]
    seed: int = Field(description="The seed it is graded with (drawn when none was given): a regrade reproduces it.")
    created_at: datetime
    url: str = Field(description="Where to poll for the report.")


class CallbackView(BaseModel):
    url: str
    state: Optional[str] = Field(description="'pending', 'delivered' or 'failed' once the report is stored.")
    attempts: int
    error: Optional[str] = Field(description="The last failed try's error.")


class SubmissionView(BaseModel):
    id: str
    challenge_id: str
    student_id: Optional[str]
    status: str = Field(description="'queued', 'running' or 'done'.")
    seed: int
    file_name: str = Field(description="The name it is graded under.")
    upload_name: str = Field(description="The name it was uploaded with.")
    sha256: str
    size_bytes: int
    created_at: datetime
    started_at: Optional[datetime]
    finished_at: Optional[datetime]
    attempts: int = Field(description="How many times a worker took it (more than 1 after a worker died).")
    callback: Optional[CallbackView]
    report: Optional[Report] = Field(description="Once done: the report, as `harness grade` gives it (the candidate "
                                                 "view for a submitter key or ?audience=candidate).")


class ExportFormat(str, Enum):
    gradescope = "gradescope"
    prairielearn = "prairielearn"
    junit = "junit"


EXPORT_MEDIA = {ExportFormat.gradescope: "application/json", ExportFormat.prairielearn: "application/json",
                ExportFormat.junit: "application/xml"}


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    texts = {401: "No API key, or an unknown or revoked one.", 403: "The key's role may not do this.",
             404: "No such challenge or submission (or not this key's).", 409: "Not graded yet.",
             413: "The file (or the request) is too large.", 415: "The request is not multipart/form-data.",
             422: "A field or the file is not acceptable.", 429: "Over one of the key's limits; see Retry-After.",
             503: "The store or the queue cannot be reached; nothing was stored."}
    return {code: {"model": ErrorBody, "description": texts[code]} for code in codes}


class Services:
    """What the endpoints use, opened at start-up."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.policy = CallbackPolicy(settings.callback_allow)
        self.store = Store.from_url(settings.store_url)
        self.queue = JobQueue(settings.queue_url)

    def close(self) -> None:
        self.queue.close()
        self.store.close()


bearer = HTTPBearer(auto_error=False, description="An API key from `harness keys create`: `Authorization: Bearer hk_...`.")


def services(request: Request) -> Services:
    return request.app.state.services


def caller(request: Request, credentials: Annotated[Optional[HTTPAuthorizationCredentials], Security(bearer)]) -> ApiKey:
    """The API key making the request; 401 unless it is a known key that was not revoked."""
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None:
        raise HTTPException(401, "no API key: send the header 'Authorization: Bearer <key>' with a key from "
                                 "`harness keys create`", headers=challenge)
    token = credentials.credentials
    key = services(request).store.key_for_token(token) if looks_like_token(token) else None
    if key is None:
        raise HTTPException(401, "unknown API key: check the token (it starts with hk_), or ask for a key",
                            headers=challenge)
    if not key.active:
        raise HTTPException(401, f"the API key {key.id} was revoked; ask for a new one", headers=challenge)
    return key


Caller = Annotated[ApiKey, Depends(caller)]


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.services = Services(settings)
        try:
            yield
        finally:
            app.state.services.close()

    app = FastAPI(title="harness grading service", version=harness.__version__, lifespan=lifespan,
                  description="Submit a file to a challenge, get its score report: the same report as `harness grade`. "
                              "Authenticate with `Authorization: Bearer <key>` (`harness keys create`).",
                  form_limits={"max_files": 1, "max_fields": 8, "max_part_size": 4096})
    app.add_middleware(BodyLimit, limit=MAX_REQUEST_BYTES)
    _install_error_handlers(app)

    @app.get("/healthz", response_model=Health, tags=["service"], responses=_errors(503))
    def healthz(request: Request) -> Any:
        """Whether the store and the queue answer (no key needed)."""
        found = services(request)
        store = queue = "ok"
        counts: dict[str, int] = {}
        try:
            counts = found.store.counts()
        except Exception as error:  # noqa: BLE001  (reported, not raised: this is the health check)
            log.warning("health: the store failed: %s", error)
            store = f"error: {type(error).__name__}"  # no details for whoever asks: they are in the server's log
        try:
            found.queue.ping()
        except Exception as error:  # noqa: BLE001
            log.warning("health: the queue failed: %s", error)
            queue = f"error: {type(error).__name__}"
        health = Health(status="ok" if store == queue == "ok" else "degraded", version=harness.__version__,
                        store=store, queue=queue, submissions=counts)
        return JSONResponse(health.model_dump(), status_code=200 if health.status == "ok" else 503)

    @app.get("/v1/challenges", response_model=list[ChallengeSummary], tags=["challenges"], responses=_errors(401, 503))
    def list_challenges(request: Request, key: Caller) -> Any:
        """Every challenge of the catalog."""
        try:
            return [_summary(challenge) for challenge in all_challenges(services(request).settings.challenges_dir)]
        except ChallengeError as error:
            raise HTTPException(503, f"the catalog cannot be read (the operator's to fix): {error}") from None

    @app.get("/v1/challenges/{challenge_id}", response_model=ChallengeDetail, tags=["challenges"],
             responses=_errors(401, 404, 503))
    def get_challenge(request: Request, key: Caller,
                      challenge_id: Annotated[str, Path(max_length=100)]) -> Any:
        """One challenge: its statement, starter file and limits."""
        challenge = _challenge(services(request), challenge_id)
        return ChallengeDetail(**_summary(challenge).model_dump(),
                               statement=challenge.statement.read_text(encoding="utf-8"),
                               starter=StarterFile(file_name=challenge.starter.name,
                                                   content=challenge.starter.read_text(encoding="utf-8")),
                               limits=challenge.meta.limits)

    @app.post("/v1/submissions", status_code=202, response_model=Accepted, tags=["submissions"],
              responses=_errors(401, 404, 413, 415, 422, 429, 503))
    def submit(request: Request, response: Response, key: Caller,
               challenge_id: Annotated[str, Form(description="The challenge to grade against.", max_length=100)],
               file: Annotated[UploadFile, File(description="The submission: a .py file or a notebook (.ipynb) for "
                                                            "a code challenge, a .toml answers file for a quiz.")],
               student_id: Annotated[Optional[str], Form(description="Yours to set: comes back with the report.",
                                                         max_length=MAX_STUDENT_ID_CHARS)] = None,
               seed: Annotated[Optional[int], Form(description="The seed of the hidden inputs (default: drawn and "
                                                               "stored).", ge=0, le=2**31 - 1)] = None,
               callback_url: Annotated[Optional[str], Form(description="POSTed the report once it is stored (only "
                                                                       "to hosts the operator allows).",
                                                           max_length=2000)] = None) -> Any:
        """Queue a file for grading: 202 with its id; poll GET /v1/submissions/{id}, or give a callback_url."""
        found = services(request)
        challenge = _challenge(found, challenge_id)
        if callback_url is not None and callback_url.strip():
            try:
                callback_url = found.policy.check(callback_url.strip())
            except CallbackRefused as refused:
                raise HTTPException(422, str(refused)) from None
        else:
            callback_url = None
        if student_id is not None and (not student_id.isprintable() or not student_id.strip()):
            raise HTTPException(422, "student_id must be printable text (no control characters), or left out")
        try:
            upload = check_upload(challenge, file.filename or "", _read(file, key.limits.max_file_bytes),
                                  key.limits.max_file_bytes)
        except UploadRefused as refused:
            raise HTTPException(refused.status, str(refused)) from None
        new = NewSubmission(challenge_id=challenge.id, file_name=upload.file_name, upload_name=upload.upload_name,
                            content=upload.content, sha256=upload.sha256,
                            seed=secrets.randbelow(2**31) if seed is None else seed,
                            student_id=student_id.strip() if student_id else None, callback_url=callback_url)
        try:
            record = found.store.add_submission(new, key)
        except RateLimited as limited:
            raise HTTPException(429, str(limited), headers={"Retry-After": str(limited.retry_after)}) from None
        try:
            found.queue.enqueue_grade(record.id)
        except Exception as error:  # noqa: BLE001  (Redis down: say so, and keep nothing)
            log.warning("could not queue %s: %s", record.id, error)
            found.store.delete_submission(record.id)
            raise HTTPException(503, f"the job queue cannot be reached ({type(error).__name__}); nothing was "
                                     "stored: try again shortly") from None
        url = f"/v1/submissions/{record.id}"
        response.headers["Location"] = url
        return Accepted(id=record.id, status=record.status, challenge_id=record.challenge_id,
                        student_id=record.student_id, seed=record.seed, created_at=_time(record.created_at), url=url)

    @app.get("/v1/submissions/{submission_id}", response_model=SubmissionView, tags=["submissions"],
             responses={**_errors(401, 403, 404, 409),
                        200: {"description": "The submission's status and, once done, its report; with ?format=, the "
                                             "report in that platform's format.",
                              "content": {"application/xml": {}}}})
    def get_submission(request: Request, key: Caller,
                       submission_id: Annotated[str, Path(max_length=40)],
                       audience: Annotated[Optional[Audience], Query(description="'candidate' for the redacted view "
                                                                                 "(always, for a submitter key).")] = None,
                       format: Annotated[Optional[ExportFormat], Query(description="The report in a platform's format "
                                                                                   "instead (once done).")] = None) -> Any:
        """A submission's status (queued, running, done) and, once done, its report."""
        found = services(request)
        record = found.store.submission(submission_id, with_report=True)
        if record is None or (key.role is Role.submitter and record.key_id != key.id):
            raise HTTPException(404, f"no submission {submission_id!r} (for this key)")
        if key.role is Role.submitter:
            if audience is Audience.grader:
                raise HTTPException(403, "a submitter key sees the candidate view only: leave out audience, or use "
                                         "audience=candidate")
            audience = Audience.candidate
        audience = audience or Audience.grader
        report = Report.model_validate_json(record.report) if record.report is not None else None
        if report is not None and audience is Audience.candidate:
            report = for_candidate(report)
        if format is not None:
            if report is None:
                raise HTTPException(409, f"{submission_id} is {record.status}, not graded yet: ask again once its "
                                         "status is done")
            from harness.export import FORMATS

            data = FORMATS[format.value].render([(record.student_id or record.id, report)], audience)
            return Response(content=data, media_type=EXPORT_MEDIA[format])
        return _view(record, report)

    return app


def _challenge(found: Services, challenge_id: str) -> Challenge:
    if not re.match(ID_PATTERN, challenge_id):
        raise HTTPException(404, f"{challenge_id!r} is not a challenge id (lower-case words joined by '-'); "
                                 "GET /v1/challenges lists them")
    try:
        return find_challenge(challenge_id, found.settings.challenges_dir)
    except UnknownChallengeError:
        raise HTTPException(404, f"no challenge {challenge_id!r}; GET /v1/challenges lists them") from None
    except ChallengeError as error:
        raise HTTPException(503, f"the challenge {challenge_id!r} cannot be loaded (the operator's to fix): "
                                 f"{error}") from None


def _summary(challenge: Challenge) -> ChallengeSummary:
    meta = challenge.meta
    return ChallengeSummary(id=meta.id, title=meta.title, summary=meta.summary, topic=meta.topic,
                            difficulty=meta.difficulty.value, kind=meta.kind.value, max_score=meta.max_score,
                            accepted_files=list(accepted_files(challenge)))


def _read(file: UploadFile, key_limit: int) -> bytes:
    """The upload's bytes, never more than one past the largest size any check could take."""
    return file.file.read(min(key_limit, MAX_NOTEBOOK_BYTES) + 1)


def _time(seconds: Optional[float]) -> Optional[datetime]:
    return None if seconds is None else datetime.fromtimestamp(seconds, tz=timezone.utc)


def _view(record: SubmissionRecord, report: Optional[Report]) -> SubmissionView:
    callback = None
    if record.callback_url:
        callback = CallbackView(url=record.callback_url, state=record.callback_state,
                                attempts=record.callback_attempts, error=record.callback_error)
    created = _time(record.created_at)
    assert created is not None
    return SubmissionView(id=record.id, challenge_id=record.challenge_id, student_id=record.student_id,
                          status=record.status, seed=record.seed, file_name=record.file_name,
                          upload_name=record.upload_name, sha256=record.sha256, size_bytes=record.size_bytes,
                          created_at=created, started_at=_time(record.started_at),
                          finished_at=_time(record.finished_at), attempts=record.attempt, callback=callback,
                          report=report)


TOO_LARGE = (f"the request is larger than {MAX_REQUEST_BYTES // (1024 * 1024)} MiB, more than any file this service "
             "grades")


class BodyLimit:
    """A 413 for a request body over `limit` bytes: at once when its Content-Length says so, else as soon as that
    many bytes have arrived (a chunked upload), so no request makes the server read or spool more."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                await JSONResponse({"detail": TOO_LARGE}, status_code=413, headers={"Connection": "close"})(
                    scope, receive, send)
                return
        received = 0

        async def counting_receive() -> Any:
            nonlocal received
            message = await receive()
            if message.get("type") == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise HTTPException(413, TOO_LARGE)
            return message

        await self.app(scope, counting_receive, send)


def _install_error_handlers(app: FastAPI) -> None:
    """Refusals as {"detail": "<one clear sentence>"}, never a traceback."""
    from fastapi.exception_handlers import http_exception_handler

    @app.exception_handler(400)
    async def unreadable(request: Request, error: Any) -> Response:
        if error.detail == "There was an error parsing the body":
            return JSONResponse({"detail": "the request body could not be read as multipart/form-data (one file "
                                           "part named 'file', at most 8 short fields)"}, status_code=400)
        return await http_exception_handler(request, error)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> Response:
        content_type = request.headers.get("content-type", "")
        if request.method == "POST" and not content_type.lower().startswith("multipart/form-data"):
            return JSONResponse({"detail": f"send multipart/form-data (a 'file' part and a 'challenge_id' field), "
                                           f"not {content_type.split(';')[0] or 'a body without a content type'}"},
                                status_code=415)
        problems = []
        for item in error.errors():
            where = ".".join(str(part) for part in item.get("loc", ()) if part not in ("body", "query", "path"))
            problems.append(f"{where or 'request'}: {item.get('msg', 'invalid')}")
        return JSONResponse({"detail": "; ".join(problems)}, status_code=422)

    @app.exception_handler(Exception)
    async def crashed(request: Request, error: Exception) -> Response:
        if isinstance(error, (sqlite3.Error, StoreError)):
            log.warning("%s %s: the store failed: %s", request.method, request.url.path, error)
            return JSONResponse({"detail": "the store is busy or cannot be reached; nothing was changed, try again "
                                           "shortly"}, status_code=503)
        log_exception(log, "%s %s failed", request.method, request.url.path)
        return JSONResponse({"detail": "the service failed on this request (logged on the server); try again"},
                            status_code=500)


__all__ = ["create_app", "Services", "MAX_REQUEST_BYTES"]
