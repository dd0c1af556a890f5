"""How long grading one submission takes, beside the floor of running the same probes with no sandbox.

Grades a challenge's reference solution RUNS times through the harness (one process, as when
grading a class) and runs the floor RUNS times: a plain `python` process that imports torch and
the solution and runs the same probes. Prints the medians and their ratio.

Usage: python benchmarks/grading_speed.py [CHALLENGE] [--runs N] [--backend docker|local]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

FLOOR = """
import sys
sys.path.insert(0, {harness_root!r})
from harness.sandbox.worker import load_module, make_deterministic, probe_functions, run_probe
make_deterministic()
solution = load_module({module!r}, {solution!r})
for name, function in probe_functions(load_module("probes", {probes!r})).items():
    run_probe(function, solution, 1, name)
"""


def floor_seconds(challenge) -> float:
    from harness.challenge import REPO_ROOT

    code = FLOOR.format(harness_root=str(REPO_ROOT), module=challenge.module_name,
                        solution=str(challenge.reference), probes=str(challenge.probes))
    started = time.perf_counter()
    subprocess.run([sys.executable, "-I", "-c", code], check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("challenge", nargs="?", default="weight-decay-exclude-bias")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--backend", choices=["docker", "local"], default="docker")
    args = parser.parse_args()

    from harness.challenge import find_challenge
    from harness.grader import grade
    from harness.sandbox.select import make_backend

    challenge = find_challenge(args.challenge)
    backend = make_backend(args.backend)
    grade(challenge=challenge, submission=challenge.reference, backend=backend, seed=0)  # warm caches once

    floors = [floor_seconds(challenge) for _ in range(args.runs)]
    walls, reports = [], []
    for run in range(args.runs):
        started = time.perf_counter()
        report = grade(challenge=challenge, submission=challenge.reference, backend=backend, seed=run)
        walls.append(time.perf_counter() - started)
        reports.append(report)
        assert report.score == report.max_score, report.reason

    floor, wall = statistics.median(floors), statistics.median(walls)
    phases = {phase: statistics.median(getattr(r.timings, phase) for r in reports)
              for phase in ("sandbox_start", "probes", "checks")}
    print(f"challenge {challenge.id}, backend {backend.name}, {args.runs} runs")
    print(f"floor (plain process, no sandbox): median {floor:.2f} s")
    print(f"harness grade:                     median {wall:.2f} s  ({wall / floor:.2f} x floor)")
    print("harness phases (median): " + ", ".join(f"{name} {value:.2f} s" for name, value in phases.items()))


if __name__ == "__main__":
    main()
