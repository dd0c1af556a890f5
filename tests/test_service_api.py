"""The grading service's HTTP API, against a real `harness serve` (uvicorn on 127.0.0.1, its embedded worker, the
SQLite store and queue) grading the tiny fixture challenge: reports as the CLI gives them, who sees what, every
refusal a clear 4xx with nothing stored, the keys' limits, callbacks to a real receiver, and the committed OpenAPI
document."""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ElementTree
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import httpx
import pytest
from click.testing import CliRunner

from harness.cli import main
from harness.service.openapi import render
from harness.service.store import Store
from tests.service_support import (CATALOG, IDENTITY, REFERENCE, ROOT, Api, ServiceDir, auth, free_port,
                                   slow_reference, wait_for)


SECRET = "callback-test-secret"


class Receiver:
    """A callback receiver on 127.0.0.1: answers each path's scripted statuses in turn (then 200), records POSTs."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, str], bytes]] = []
        self.script: dict[str, list[int]] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802  (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.posts.append((self.path, dict(self.headers), body))
                statuses = receiver.script.get(self.path, [])
                status = statuses.pop(0) if statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def posts_to(self, path: str) -> list[tuple[str, dict[str, str], bytes]]:
        return [post for post in self.posts if post[0] == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def service(tmp_path_factory) -> Iterator[tuple[ServiceDir, Api]]:
    folder = ServiceDir(tmp_path_factory.mktemp("service"))
    folder.env["HARNESS_CALLBACK_SECRET"] = SECRET
    api = folder.serve("-j", "2", "--allow-callback", "127.0.0.1", "--callback-delay", "0.2", "--lease", "5")
    try:
        yield folder, api
    except BaseException:
        print(folder.logs())
        raise
    finally:
        api.close()
        folder.close()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.close()


def test_the_committed_openapi_document_is_current():
    committed = (ROOT / "docs" / "openapi.json").read_text(encoding="utf-8")
    assert committed == render(), "docs/openapi.json is stale: run `make openapi`"


def test_keys_are_created_listed_and_revoked_from_the_command_line(tmp_path):
    store = f"sqlite:///{tmp_path / 'service.db'}"  # where HARNESS_SERVICE_DIR puts it when --store is not given
    runner = CliRunner()
    made = runner.invoke(main, ["keys", "create", "--role", "submitter", "--name", "lms", "--per-minute", "5",
                                "--max-queued", "2", "--max-file-mb", "1"],
                         env={"HARNESS_SERVICE_DIR": str(tmp_path), "HARNESS_STORE": None})
    assert made.exit_code == 0, made.output
    token = made.stdout.strip()
    assert token.startswith("hk_") and len(token) > 40
    key_id = made.stderr.split()[1]
    listed = runner.invoke(main, ["keys", "list", "--format", "json", "--store", store])
    [entry] = json.loads(listed.stdout)
    assert entry["id"] == key_id and entry["role"] == "submitter" and entry["name"] == "lms"
    assert (entry["per_minute"], entry["max_queued"], entry["max_file_bytes"]) == (5, 2, 1024 * 1024)
    assert token not in listed.output  # only its hash is stored
    for file in tmp_path.glob("service.db*"):  # the database and its write-ahead log
        assert token.encode() not in file.read_bytes()
    assert runner.invoke(main, ["keys", "revoke", key_id, "--store", store]).exit_code == 0
    assert "revoked" in runner.invoke(main, ["keys", "list", "--store", store]).stdout
    unknown = runner.invoke(main, ["keys", "revoke", "key_nope", "--store", store])
    assert unknown.exit_code == 2 and "no key 'key_nope'" in unknown.stderr


def test_a_report_is_the_one_the_cli_gives_for_the_same_seed(service, tmp_path):
    folder, api = service
    token = folder.key("grader")
    accepted = api.submit(token, IDENTITY, name="alice.py", seed=7, student_id="alice")
    assert accepted.status_code == 202, accepted.text
    body = accepted.json()
    assert body["status"] == "queued" and body["seed"] == 7 and accepted.headers["Location"] == body["url"]
    done = api.wait_done(token, body["id"])
    report = done["report"]
    (tmp_path / "alice.py").write_bytes(IDENTITY)
    cli = subprocess.run([sys.executable, "-m", "harness", "--challenges", str(CATALOG), "grade", "tiny-scale",
                          str(tmp_path / "alice.py"), "--seed", "7", "--backend", folder.backend],
                         capture_output=True, text=True, cwd=ROOT, timeout=300)
    expected = json.loads(cli.stdout)
    assert (report["status"], report["score"], report["seed"]) == (expected["status"], expected["score"], 7)
    assert [(c["name"], c["status"], c["points"]) for c in report["checks"]] == \
        [(c["name"], c["status"], c["points"]) for c in expected["checks"]]
    assert report["score"] < report["max_score"]  # the mutant loses points: the comparison means something
    assert report["submission"]["sha256"] == expected["submission"]["sha256"]
    assert done["student_id"] == "alice" and done["upload_name"] == "alice.py" and done["file_name"] == "solution.py"
    assert done["attempts"] == 1 and report["audience"] == "grader"


def test_without_a_seed_one_is_drawn_and_stored_and_views_and_formats_are_served(service):
    folder, api = service
    token = folder.key("grader")
    body = api.submit(token, REFERENCE).json()
    assert isinstance(body["seed"], int)
    done = api.wait_done(token, body["id"])
    assert done["report"]["seed"] == body["seed"] and done["report"]["score"] == 3
    candidate = api.get(token, body["id"], audience="candidate").json()["report"]
    assert candidate["audience"] == "candidate" and candidate["output"] is None
    gradescope = api.get(token, body["id"], format="gradescope")
    assert gradescope.headers["content-type"].startswith("application/json")
    assert gradescope.json()["score"] == 3
    prairielearn = api.get(token, body["id"], format="prairielearn").json()
    assert prairielearn["gradable"] is True and prairielearn["score"] == 1
    junit = api.get(token, body["id"], format="junit")
    assert junit.headers["content-type"].startswith("application/xml")
    assert ElementTree.fromstring(junit.content).iter("testcase")
    assert api.get(token, body["id"], format="csv").status_code == 422


def test_a_submitter_sees_only_its_own_submissions_and_only_the_candidate_view(service):
    folder, api = service
    alice, bob, grader = folder.key("submitter"), folder.key("submitter"), folder.key("grader")
    submission = api.submit(alice, IDENTITY).json()["id"]
    done = api.wait_done(alice, submission)
    assert done["report"]["audience"] == "candidate"
    assert all(check["message"] is None for check in done["report"]["checks"] if check["visibility"] != "visible")
    refused = api.get(alice, submission, audience="grader")
    assert refused.status_code == 403 and "candidate view only" in refused.json()["detail"]
    assert api.get(alice, submission, format="junit").status_code == 200  # exports: candidate view too
    hidden = api.get(bob, submission)
    assert hidden.status_code == 404 and "no submission" in hidden.json()["detail"]
    assert api.get(grader, submission).json()["report"]["audience"] == "grader"


def test_the_challenges_are_listed_and_described(service):
    folder, api = service
    token = folder.key("submitter")
    listed = api.client.get("/v1/challenges", headers=auth(token))
    assert listed.status_code == 200
    assert {"tiny-scale", "tiny-quiz"} <= {challenge["id"] for challenge in listed.json()}
    detail = api.client.get("/v1/challenges/tiny-scale", headers=auth(token)).json()
    assert detail["accepted_files"] == ["solution.py", "solution.ipynb"]
    assert "scale" in detail["statement"] and detail["starter"]["file_name"] == "solution.py"
    assert detail["limits"]["wall_seconds"] == 8
    assert api.client.get("/v1/challenges/nope", headers=auth(token)).status_code == 404
    assert api.client.get("/v1/challenges").status_code == 401


def test_bad_requests_are_clear_4xx_answers_and_store_nothing(service):
    folder, api = service
    grader, other = folder.key("grader"), folder.key("submitter")
    revoked_id, revoked = folder.new_key("submitter")
    folder.store.revoke_key(revoked_id)
    theirs = api.submit(other, REFERENCE).json()["id"]
    notebook_10mb = b'{"nbformat": 4, "cells": [], "x": "' + b"a" * (10 * 1024 * 1024) + b'"}'
    before = sum(folder.store.counts().values())
    cases = [
        (api.submit(grader, REFERENCE, challenge="no-such-challenge"), 404, "no challenge 'no-such-challenge'"),
        (api.submit(grader, b""), 422, "is empty"),
        (api.submit(grader, b"   \n"), 422, "is empty"),
        (api.submit(grader, b"x" * (10 * 1024 * 1024)), 413, "larger than 512 KiB"),
        (api.submit(grader, notebook_10mb, name="big.ipynb"), 413, "this API key's limit"),
        (api.submit(grader, bytes(range(256)) * 4), 422, "binary file"),
        (api.submit(grader, b"\xff\xfe print('latin')"), 422, "not UTF-8 text"),
        (api.submit(grader, b"{this is not json", name="solution.ipynb"), 422, "not valid JSON"),
        (api.submit(grader, b'{"cells": []}', name="solution.ipynb"), 422, "not a Jupyter notebook"),
        (api.submit(grader, REFERENCE, name="solution.txt"), 422, "is not a Python source file"),
        (api.submit(grader, REFERENCE, seed=-1), 422, "seed"),
        (api.submit(grader, REFERENCE, callback_url="http://hooks.example.com/x"), 422, "not one this service"),
        (api.submit(grader, REFERENCE, callback_url="ftp://127.0.0.1/x"), 422, "http:// or https://"),
        (api.client.post("/v1/submissions", headers=auth(grader), json={"challenge_id": "tiny-scale"}), 415,
         "multipart/form-data"),
        (api.client.post("/v1/submissions", headers=auth(grader), data={"challenge_id": "tiny-scale"},
                         files={"other": ("solution.py", REFERENCE)}), 422, "file"),
        (api.client.post("/v1/submissions", headers={**auth(grader), "Content-Type": "multipart/form-data; boundary=b"},
                         content=_endless()), 413, "16 MiB"),
        (api.client.post("/v1/submissions", data={"challenge_id": "tiny-scale"},
                         files={"file": ("solution.py", REFERENCE)}), 401, "no API key"),
        (api.submit("hk_" + "x" * 40, REFERENCE), 401, "unknown API key"),
        (api.submit(revoked, REFERENCE), 401, "was revoked"),
        (api.get(revoked, theirs), 401, "was revoked"),
        (api.get(grader, "sub_0123"), 404, "no submission"),
    ]
    for answer, status, words in cases:
        assert answer.status_code == status, (status, words, answer.text)
        assert words in answer.json()["detail"], (words, answer.text)
    assert api.submit(grader, REFERENCE, challenge="x" * 5000).status_code in (400, 422)  # a field over the form's limits
    assert sum(folder.store.counts().values()) == before  # nothing stored
    assert api.client.get("/healthz").json()["status"] == "ok"  # and the service is still up
    assert folder.store.events(theirs)[0][0] == "created"


def _endless() -> Iterator[bytes]:
    """A chunked multipart body with no Content-Length and a 40 MiB file part: the server must cut it off."""
    yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.ipynb"\r\n\r\n'
    chunk = b"x" * (1024 * 1024)
    for _ in range(40):
        yield chunk
    yield b"\r\n--b--\r\n"


def test_a_key_over_its_limits_gets_429_with_retry_after_and_nothing_is_stored(service):
    folder, api = service
    per_minute = folder.key("submitter", per_minute=2)
    assert api.submit(per_minute, REFERENCE).status_code == 202
    assert api.submit(per_minute, REFERENCE).status_code == 202
    before = folder.store.counts()
    refused = api.submit(per_minute, REFERENCE)
    assert refused.status_code == 429 and "2 times a minute" in refused.json()["detail"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    queued = folder.key("submitter", max_queued=1)
    slow = api.submit(queued, slow_reference(3)).json()["id"]
    refused = api.submit(queued, REFERENCE)
    assert refused.status_code == 429 and "waiting or being graded" in refused.json()["detail"]
    assert int(refused.headers["Retry-After"]) >= 1
    assert sum(folder.store.counts().values()) == sum(before.values()) + 1
    api.wait_done(queued, slow)
    assert api.submit(queued, REFERENCE).status_code == 202  # the limit frees up once it is graded


def test_a_callback_is_posted_once_with_the_report(service, receiver):
    folder, api = service
    token = folder.key("submitter")
    submission = api.submit(token, IDENTITY, callback_url=receiver.url + "/ok", student_id="carol").json()["id"]
    done = api.wait_done(token, submission)
    wait_for(lambda: api.get(token, submission).json()["callback"]["state"] == "delivered", 30, "the callback")
    [(_, headers, body)] = receiver.posts_to("/ok")
    posted = json.loads(body)
    assert posted["submission_id"] == submission and posted["student_id"] == "carol" and posted["status"] == "done"
    assert posted["report"] == done["report"]  # the submitter's view: candidate
    assert posted["report"]["audience"] == "candidate"
    assert headers["X-Harness-Submission"] == submission
    signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Harness-Signature"] == f"sha256={signature}"
    assert api.get(token, submission).json()["callback"]["attempts"] == 1


def test_a_callback_that_never_gets_through_ends_failed_after_its_retries(service, receiver):
    folder, api = service
    token = folder.key("grader")
    receiver.script["/down"] = [500] * 10
    submission = api.submit(token, REFERENCE, callback_url=receiver.url + "/down").json()["id"]
    api.wait_done(token, submission)
    callback = wait_for(lambda: (found := api.get(token, submission).json()["callback"])["state"] == "failed" and found,
                        60, "the retries to run out")
    assert callback["attempts"] == 6 and callback["error"] == "the receiver answered 500"  # the first try and 5 retries
    assert len(receiver.posts_to("/down")) == 6


def test_a_failing_callback_receiver_gets_it_on_the_third_try(service, receiver):
    folder, api = service
    token = folder.key("grader")
    receiver.script["/flaky"] = [500, 503]
    submission = api.submit(token, REFERENCE, callback_url=receiver.url + "/flaky").json()["id"]
    api.wait_done(token, submission)
    wait_for(lambda: api.get(token, submission).json()["callback"]["state"] == "delivered", 30, "the third try")
    posts = receiver.posts_to("/flaky")
    assert len(posts) == 3
    assert [post[1]["X-Harness-Delivery"] for post in posts] == ["1", "2", "3"]
    assert json.loads(posts[2][2])["report"]["audience"] == "grader"  # a grader key's callback: the grader view
    callback = api.get(token, submission).json()["callback"]
    assert callback["attempts"] == 3 and callback["error"] is None


def test_the_callback_policy_allows_only_what_the_operator_listed():
    from harness.service.callbacks import CallbackPolicy, CallbackRefused

    policy = CallbackPolicy(["hooks.example.edu", "*.lms.example.org", "10.0.0.0/8", "::1"])
    for allowed in ["https://hooks.example.edu/x", "http://a.b.lms.example.org:8443/y", "http://10.2.3.4/",
                    "http://[::1]:9/", "https://HOOKS.example.edu./z"]:
        assert policy.check(allowed) == allowed
    for refused in ["https://evil.example.edu/", "https://lms.example.org.evil.com/", "http://11.0.0.1/",
                    "http://127.0.0.1/", "http://user:pw@hooks.example.edu/", "file:///etc/passwd",
                    "http://[::ffff:127.0.0.1]/", "https://hooks.example.edu:99999/", "http:///nohost"]:
        with pytest.raises(CallbackRefused):
            policy.check(refused)
    with pytest.raises(CallbackRefused, match="not enabled"):
        CallbackPolicy([]).check("http://127.0.0.1/")
    with pytest.raises(ValueError, match="neither a host name"):
        CallbackPolicy(["http://x/"])


def test_the_store_stores_a_report_only_for_the_current_claim(tmp_path):
    """The exactly-once rule on its own: a late worker whose lease ran out cannot store over the new attempt."""
    from harness.service.keys import KeyLimits, Role
    from harness.service.store import NewSubmission

    store = Store(tmp_path / "store.db")
    key, _ = store.create_key("k", Role.grader, KeyLimits())
    record = store.add_submission(NewSubmission("tiny-scale", "solution.py", "a.py", REFERENCE, "0" * 64, 1), key)
    first = store.claim(record.id, "host:1", lease_seconds=0.05)
    assert first is not None and first.attempt == 1
    assert store.requeue_expired() == []  # the lease still runs
    time.sleep(0.1)
    assert store.requeue_expired() == [record.id] and store.submission(record.id).status == "queued"
    second = store.claim(record.id, "host:2", lease_seconds=60)
    assert second is not None and second.attempt == 2
    assert store.claim(record.id, "host:3", lease_seconds=60) is None  # a live lease: a duplicate task does nothing
    assert not store.renew(first, 60) and store.renew(second, 60)
    assert store.complete(first, '{"late": true}', "graded", 3.0) is False
    assert store.complete(second, '{"on": "time"}', "graded", 3.0) is True
    assert store.complete(second, '{"again": true}', "graded", 3.0) is False
    assert store.report_count(record.id) == 1
    assert store.submission(record.id, with_report=True).report == '{"on": "time"}'
    assert store.claim(record.id, "host:4", lease_seconds=60) is None  # done: nothing more to claim
    store.close()


def test_uploads_and_the_notebook_reader_agree_on_the_largest_notebook():
    from harness import notebook
    from harness.service import uploads

    assert uploads.MAX_NOTEBOOK_BYTES == notebook.MAX_NOTEBOOK_BYTES


def test_a_quiz_is_graded_through_the_service_too(service):
    folder, api = service
    token = folder.key("grader")
    answers = (Path(CATALOG).parent / "reference_solutions" / "tiny-quiz" / "answers.toml").read_bytes()
    submission = api.submit(token, answers, challenge="tiny-quiz", name="answers.toml", seed=1).json()["id"]
    report = api.wait_done(token, submission)["report"]
    assert report["status"] == "graded" and report["score"] == report["max_score"] == 3
    wrong_kind = api.submit(token, REFERENCE, challenge="tiny-quiz")
    assert wrong_kind.status_code == 422 and "TOML answers file" in wrong_kind.json()["detail"]


def test_a_syntax_error_is_stored_and_graded_ungradable_as_the_cli_does(service):
    folder, api = service
    token = folder.key("grader")
    submission = api.submit(token, b"def scale(x, k)\n    return x\n").json()["id"]
    report = api.wait_done(token, submission)["report"]
    assert report["status"] == "ungradable" and "syntax error at line 1" in report["reason"]


def test_the_service_answers_health(service):
    folder, api = service
    health = api.client.get("/healthz").json()
    assert health["status"] == "ok" and health["store"] == health["queue"] == "ok"
    assert httpx.get(api.url + "/openapi.json").json()["info"]["title"] == "harness grading service"


def test_stale_queued_submissions_and_callbacks_are_handed_out_again_once(tmp_path):
    """A task lost on its way (Redis restarted, a worker died after storing a report) is found again by the
    housekeeping sweeps: each stale one once per sweep interval, never one that is running or already delivered."""
    from harness.service.keys import KeyLimits, Role
    from harness.service.store import NewSubmission

    store = Store(tmp_path / "store.db")
    key, _ = store.create_key("k", Role.grader, KeyLimits())
    queued = store.add_submission(NewSubmission("tiny-scale", "solution.py", "a.py", REFERENCE, "0" * 64, 1), key)
    hooked = store.add_submission(NewSubmission("tiny-scale", "solution.py", "b.py", REFERENCE, "1" * 64, 1,
                                                callback_url="http://127.0.0.1:9/hook"), key)
    claim = store.claim(hooked.id, "host:1", lease_seconds=60)
    assert claim is not None and store.complete(claim, '{"r": 1}', "graded", 3.0)
    assert store.requeue_stale(60) == [] and store.stale_callbacks(60) == []  # nothing old enough yet
    time.sleep(0.1)
    assert store.requeue_stale(0.05) == [queued.id]  # the running-then-done one is not queued
    assert store.requeue_stale(0.05) == []  # touched by the first sweep
    assert store.stale_callbacks(0.05) == [hooked.id]
    assert store.stale_callbacks(0.05) == []
    time.sleep(0.1)
    store.callback_attempted(hooked.id, delivered=True, error=None, final=False)
    assert store.stale_callbacks(0.05) == [] and store.requeue_stale(0.05) == [queued.id]
