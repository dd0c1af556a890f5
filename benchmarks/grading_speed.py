"""How fast grading is: one submission as `harness grade FILE` does it, and a class as a batch does it.

1. cold: a fresh backend per grading (a container started and torch imported each time), RUNS times;
2. warm: one backend, RUNS gradings one after another (each a fresh child of a warm container);
3. batch: a class of CLASS_SIZE submissions (the reference, the starter and the mutants, repeated)
   through `harness grade ID FOLDER --out DIR -j JOBS`, in a subprocess, as a teacher runs it.

Prints the median seconds per grading for 1 and 2, and for 3 the wall time, submissions per second
and the per-phase medians read back from the reports.

Usage: python benchmarks/grading_speed.py [CHALLENGE] [--runs N] [--class-size N] [-j N] [--backend docker|local]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed_gradings(challenge, make_backend, runs: int, fresh: bool) -> list[float]:
    from harness.grader import grade

    seconds = []
    backend = None if fresh else make_backend()
    try:
        for run in range(runs):
            started = time.perf_counter()
            if fresh:
                with make_backend() as one:
                    report = grade(challenge=challenge, submission=challenge.reference, backend=one, seed=run)
            else:
                report = grade(challenge=challenge, submission=challenge.reference, backend=backend, seed=run)
            seconds.append(time.perf_counter() - started)
            assert report.score == report.max_score, report.reason
    finally:
        if backend is not None:
            backend.close()
    return seconds


def build_class(challenge, folder: Path, size: int) -> None:
    sources = [challenge.reference, challenge.starter, *sorted((challenge.solutions_dir / "mutants").glob("*.py"))]
    for number in range(size):
        shutil.copyfile(sources[number % len(sources)], folder / f"student{number:04d}.py")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("challenge", nargs="?", default="cosine-annealing-tmax")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--class-size", type=int, default=100)
    parser.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--backend", default="docker", choices=["docker", "local"])
    args = parser.parse_args()

    from harness.challenge import all_challenges
    from harness.sandbox.select import make_backend

    challenge = next(c for c in all_challenges() if c.id == args.challenge)
    cold = timed_gradings(challenge, lambda: make_backend(args.backend), args.runs, fresh=True)
    warm = timed_gradings(challenge, lambda: make_backend(args.backend), args.runs, fresh=False)
    print(f"{challenge.id} on {args.backend}: one grading, cold {statistics.median(cold):.2f} s, "
          f"warm {statistics.median(warm):.2f} s (medians of {args.runs})")

    with tempfile.TemporaryDirectory() as tmp:
        folder, out = Path(tmp) / "class", Path(tmp) / "out"
        folder.mkdir()
        build_class(challenge, folder, args.class_size)
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "harness", "grade", challenge.id, str(folder), "--out", str(out),
                               "-j", str(args.jobs), "--seed", "1", "--backend", args.backend],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        wall = time.perf_counter() - started
        if done.returncode != 0:
            sys.exit(f"the batch failed ({done.returncode}):\n{done.stderr[-3000:]}")
        reports = [json.loads(path.read_text()) for path in (out / "reports").glob("*.json")]
        phases = {phase: statistics.median(r["timings"][phase] for r in reports)
                  for phase in ("sandbox_start", "probes", "checks", "total")}
    print(f"batch of {len(reports)} with -j {args.jobs}: {wall:.1f} s wall, {len(reports) / wall:.2f} submissions/s; "
          "per submission (medians): " + ", ".join(f"{k} {v:.3f} s" for k, v in phases.items()))


if __name__ == "__main__":
    main()
