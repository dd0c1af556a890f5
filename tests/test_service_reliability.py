"""The grading service when things go wrong or get busy, with real processes on 127.0.0.1: a worker killed with -9
mid-job (two workers sharing nothing but a real redis-server and the store), the API and the workers restarted
(the SQLite default), and 200 submissions POSTed at once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from harness.challenge import find_challenge
from harness.dispatch import grade_submission
from tests.service_support import CATALOG, IDENTITY, REFERENCE, ServiceDir, auth, redis_server, slow_reference, wait_for

STARTER = (CATALOG / "tiny-scale" / "starter" / "solution.py").read_bytes()


@pytest.fixture
def service_dir(tmp_path):
    folder = ServiceDir(tmp_path / "service")
    try:
        yield folder
    except BaseException:
        print(folder.logs())
        raise
    finally:
        folder.close()


def test_a_worker_killed_mid_job_is_replaced_and_the_report_is_stored_once(service_dir, tmp_path):
    redis, queue = redis_server(tmp_path / "redis")
    try:
        common = ("--queue", queue, "--lease", "2")
        api = service_dir.serve("--no-worker", *common)
        workers = [service_dir.worker(*common, "-j", "1") for _ in range(2)]
        token = service_dir.key("grader")
        submission = api.submit(token, slow_reference(3), seed=5).json()["id"]
        store = service_dir.store
        running = wait_for(lambda: (record := store.submission(submission)) and record.status == "running" and record,
                           120, "a worker to take the job")
        victim = next(proc for proc in workers if running.worker.endswith(f":{proc.pid}"))
        survivor = next(proc for proc in workers if proc is not victim)
        time.sleep(1)  # well inside the sandbox's 3 s at import: mid-job
        os.kill(victim.pid, signal.SIGKILL)
        victim.process.wait()
        done = api.wait_done(token, submission, timeout=120)
        assert done["report"]["status"] == "graded" and done["report"]["score"] == 3
        assert done["attempts"] == 2
        assert store.report_count(submission) == 1
        events = store.events(submission)
        assert [kind for kind, _, _ in events] == ["created", "claimed", "lease-expired", "claimed", "stored"]
        assert events[1][2].endswith(f":{victim.pid}") and events[3][2].endswith(f":{survivor.pid}")
        assert events[4][1] == 2  # stored by the second attempt
        assert survivor.alive()
        import redis as redis_client

        client = redis_client.Redis.from_url(queue)
        assert client.llen("huey.redis.harness-grade") == 0  # nothing left behind on the queue
        client.close()
        redis.stop()  # the queue goes away: submissions are refused (503) and nothing is stored
        before = sum(store.counts().values())
        refused = api.submit(token, REFERENCE)
        assert refused.status_code == 503 and "nothing was stored" in refused.json()["detail"]
        assert sum(store.counts().values()) == before
        health = api.client.get("/healthz")
        assert health.status_code == 503 and health.json()["queue"].startswith("error")
    finally:
        for proc in service_dir.processes:  # before their Redis goes away
            proc.stop()
        redis.stop()


def test_restarting_the_api_and_the_workers_loses_nothing(service_dir):
    token = service_dir.key("grader", per_minute=100, max_queued=100)
    api = service_dir.serve("--no-worker", "--lease", "3")
    sources = [REFERENCE, IDENTITY, STARTER, REFERENCE, slow_reference(4)]
    ids = [api.submit(token, source, seed=number).json()["id"] for number, source in enumerate(sources)]
    api.proc.stop(signal.SIGKILL)  # the API dies with everything queued
    api.close()
    api = service_dir.serve("--no-worker", "--lease", "3")
    assert [api.get(token, submission).json()["status"] for submission in ids] == ["queued"] * 5
    worker = service_dir.worker("--lease", "3", "-j", "1", "--grace", "0")
    slow = ids[-1]
    wait_for(lambda: service_dir.store.submission(slow).status == "running", 180, "the slow job to start")
    assert worker.stop(signal.SIGTERM) == 0  # stops mid-job: its claim goes back to the queue
    assert not list(Path(tempfile.gettempdir()).glob(f"harness-worker-{worker.pid}-*"))  # its files went with it
    assert service_dir.store.submission(slow).status == "queued"
    assert [kind for kind, _, _ in service_dir.store.events(slow)][-1] == "released"
    worker = service_dir.worker("--lease", "3", "-j", "2")
    reports = {submission: api.wait_done(token, submission, timeout=180)["report"] for submission in ids}
    assert [reports[submission]["score"] for submission in ids] == [3, 0, 0, 3, 3]
    assert worker.stop(signal.SIGTERM) == 0
    api.proc.stop(signal.SIGTERM)
    api.close()
    api = service_dir.serve("--no-worker")
    for submission in ids:  # every report is still there, the same
        assert api.get(token, submission).json()["report"] == reports[submission]
        assert service_dir.store.report_count(submission) == 1
    assert service_dir.store.submission(slow).tries == 1  # a clean stop does not use up an attempt
    api.close()


@pytest.mark.slow
def test_200_submissions_at_once_are_all_graded_once_with_the_cli_grades(service_dir, request):
    api = service_dir.serve("-j", "2", "--lease", "10")
    token = service_dir.key("grader", per_minute=1000, max_queued=1000)
    sources = {"reference": REFERENCE, "identity": IDENTITY, "starter": STARTER}
    plan = [(name, number % 4) for number, name in zip(range(200), list(sources) * 70)]

    async def post_all() -> list[httpx.Response]:
        limit = asyncio.Semaphore(16)
        async with httpx.AsyncClient(base_url=api.url, timeout=60, trust_env=False) as client:
            async def post(index: int, name: str, seed: int) -> httpx.Response:
                async with limit:
                    return await client.post("/v1/submissions", headers=auth(token),
                                             data={"challenge_id": "tiny-scale", "seed": str(seed),
                                                   "student_id": f"s{index:03d}"},
                                             files={"file": (f"{name}.py", sources[name])})
            return await asyncio.gather(*(post(index, name, seed) for index, (name, seed) in enumerate(plan)))

    answers = asyncio.run(post_all())
    assert [answer.status_code for answer in answers] == [202] * 200, [a.text for a in answers if a.status_code != 202][:3]
    ids = [answer.json()["id"] for answer in answers]
    assert len(set(ids)) == 200
    store = service_dir.store
    wait_for(lambda: store.counts()["done"] == 200, 600, "200 reports", every=1)
    assert store.counts() == {"queued": 0, "running": 0, "done": 200} and store.report_count() == 200
    challenge = find_challenge("tiny-scale", CATALOG)
    expected: dict[tuple[str, int], float] = {}
    backend = request.getfixturevalue(f"{service_dir.backend}_backend")
    for name, seed in sorted(set(plan)):  # what `harness grade` gives for each file and seed
        path = service_dir.folder / f"{name}.py"
        path.write_bytes(sources[name])
        expected[(name, seed)] = grade_submission(challenge, path, backend, seed).score
    stored = Counter()
    for submission, (name, seed) in zip(ids, plan):
        record = store.submission(submission, with_report=True)
        assert record.attempt == 1 and record.seed == seed
        assert record.score == expected[(name, seed)], (submission, name, seed)
        stored.update(kind for kind, _, _ in store.events(submission) if kind == "stored")
    assert stored == Counter({"stored": 200})  # none graded twice, none lost
    assert api.client.get("/healthz").json()["submissions"] == {"queued": 0, "running": 0, "done": 200}


def _children(pid: int) -> list[int]:
    from harness.sandbox.local import _children_map

    return _children_map().get(pid, [])


def test_the_embedded_worker_ends_with_its_server_even_a_killed_one(service_dir):
    api = service_dir.serve("-j", "1")
    [worker] = wait_for(lambda: _children(api.proc.pid), 30, "the embedded worker")
    assert b"worker" in open(f"/proc/{worker}/cmdline", "rb").read()
    wait_for(lambda: "ready" in api.proc.output(), 60, "the embedded worker to be ready")  # its parent-death signal set
    api.proc.stop(signal.SIGKILL)
    wait_for(lambda: not os.path.exists(f"/proc/{worker}") or open(f"/proc/{worker}/stat").read().split()[2] == "Z",
             60, "the orphaned worker to stop")
    api.close()


def test_a_worker_removes_the_files_of_workers_killed_before_it(tmp_path, monkeypatch):
    from harness.service import worker

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = tmp_path / f"harness-worker-{int(gone.stdout)}-abc"
    alive = tmp_path / f"harness-worker-{os.getppid()}-def"
    for folder in (dead, alive):
        (folder / "job-x").mkdir(parents=True)
    worker.remove_dead_scratch()
    assert not dead.exists() and alive.exists()
