"""How fast the grading service is: a real `harness serve` (its embedded worker, warm sandboxes) on 127.0.0.1.

1. latency: SEQUENTIAL submissions of the challenge's reference solution, one after another; for each, the seconds
   from the start of its POST to its report being stored (the store's own timestamp), then p50 and p95;
2. throughput: a class of CLASS_SIZE submissions (the reference, the starter and the mutants, repeated) POSTed at
   once, graded with JOBS slots: submissions per second from the first POST to the last report stored, next to
   `harness grade ID FOLDER --out DIR -j JOBS` on the same class (its own "in N s", and its whole run).

Targets (the issue's): p50 <= 0.5 s; service throughput within 1.2x of the batch CLI's. Not a test: run it on a
quiet machine. Usage: python benchmarks/service_latency.py [CHALLENGE] [-n 100] [--class-size 60] [-j 2]
[--backend docker|local]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stored_at(database: Path, submission_id: str) -> float | None:
    with sqlite3.connect(database, timeout=30) as db:
        row = db.execute("SELECT stored_at FROM reports WHERE submission_id = ?", (submission_id,)).fetchone()
    return row[0] if row else None


def wait_stored(database: Path, submission_id: str, timeout: float = 300) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = stored_at(database, submission_id)
        if found is not None:
            return found
        time.sleep(0.005)
    raise SystemExit(f"{submission_id} was not graded within {timeout:.0f} s")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("challenge", nargs="?", default="weight-decay-exclude-bias")
    parser.add_argument("-n", "--sequential", type=int, default=100)
    parser.add_argument("--class-size", type=int, default=60)
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument("--backend", choices=["docker", "local"], default="docker")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    from harness.challenge import find_challenge
    from harness.service.keys import KeyLimits, Role
    from harness.service.store import Store

    challenge = find_challenge(args.challenge)
    reference = challenge.reference.read_bytes()
    folder = Path(tempfile.mkdtemp(prefix="harness-service-bench-"))
    store_path = folder / "service.db"
    store = Store(store_path)
    _, token = store.create_key("benchmark", Role.grader, KeyLimits(per_minute=100000, max_queued=100000))
    store.close()
    env = dict(os.environ, HARNESS_SERVICE_DIR=str(folder))
    port = free_port()
    log = open(folder / "serve.log", "wb")
    serve = subprocess.Popen([sys.executable, "-m", "harness", "serve", "--port", str(port), "-j", str(args.jobs),
                              "--backend", args.backend], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60, trust_env=False,
                          headers={"Authorization": f"Bearer {token}"})
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if client.get("/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or serve.poll() is not None:
                raise SystemExit(f"harness serve did not start; see {folder / 'serve.log'}")
            time.sleep(0.1)

        def post(content: bytes, name: str = "solution.py", seed: int = 1) -> str:
            answer = client.post("/v1/submissions", data={"challenge_id": challenge.id, "seed": str(seed)},
                                 files={"file": (name, content)})
            answer.raise_for_status()
            return answer.json()["id"]

        # Warm-up: every slot's sandbox started and torch imported in it, the checks' modules loaded.
        with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
            for submission in list(pool.map(lambda n: post(reference, seed=1000 + n), range(args.jobs * 2))):
                wait_stored(store_path, submission)

        latencies = []
        for number in range(args.sequential):
            started = time.time()
            submission = post(reference, seed=number)
            latencies.append(wait_stored(store_path, submission) - started)
        print(f"{challenge.id}, {args.backend}, {args.jobs} slots: latency POST -> report stored over "
              f"{len(latencies)} sequential submissions: p50 {statistics.median(latencies):.3f} s, "
              f"p95 {percentile(latencies, 0.95):.3f} s, min {min(latencies):.3f} s, max {max(latencies):.3f} s")

        sources = [challenge.reference, challenge.starter, *sorted((challenge.solutions_dir / "mutants").glob("*.py"))]
        klass = folder / "class"
        klass.mkdir()
        for number in range(args.class_size):
            shutil.copyfile(sources[number % len(sources)], klass / f"student{number:04d}.py")
        files = sorted(klass.glob("*.py"))
        started = time.time()
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            ids = list(pool.map(lambda path: post(path.read_bytes(), path.name, seed=7), files))
        last = max(wait_stored(store_path, submission) for submission in ids)
        service_seconds = last - started
        print(f"service throughput: {len(ids)} submissions in {service_seconds:.1f} s = "
              f"{len(ids) / service_seconds:.2f} per second ({args.jobs} slots, warm)")
    finally:
        client.close()
        serve.send_signal(signal.SIGTERM)
        serve.wait(120)
        log.close()

    began = time.monotonic()
    batch = subprocess.run([sys.executable, "-m", "harness", "grade", challenge.id, str(klass), "--out",
                            str(folder / "out"), "-j", str(args.jobs), "--seed", "7", "--backend", args.backend],
                           capture_output=True, text=True, cwd=ROOT)
    whole = time.monotonic() - began
    found = re.search(r"graded now, \d+ kept from an earlier run, in ([0-9.]+) s", batch.stderr)
    if batch.returncode != 0 or not found:
        raise SystemExit(f"the batch failed ({batch.returncode}):\n{batch.stderr[-2000:]}")
    batch_seconds = float(found.group(1))
    print(f"batch CLI (harness grade --out -j {args.jobs}): {len(files)} submissions in {batch_seconds:.1f} s = "
          f"{len(files) / batch_seconds:.2f} per second (its own timing; {whole:.1f} s with start-up and "
          f"warm-up, {len(files) / whole:.2f} per second)")
    print(f"service / batch time: {service_seconds / batch_seconds:.2f}x (target <= 1.2x); with the batch's "
          f"start-up counted: {service_seconds / whole:.2f}x")
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
