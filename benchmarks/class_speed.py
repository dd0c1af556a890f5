"""How fast and how lean a class is graded on docker, next to a floor with no isolation at all.

1. a class of N submissions, cycled from the reference, the starter and every mutant, with about 2 % synthetic
   failures spread through it (at least one each): a timeout (the reference with its last public function
   redefined to loop forever, so one probe runs out its wall_seconds) and a crash (RuntimeError at import);
2. the batch: `harness grade ID FOLDER --out DIR -j J --seed 1 --backend docker` in a subprocess, timed, while
   the memory of each of its sandbox containers (label harness.grader-pid=<its pid>) is sampled every 0.5 s;
3. the floor: one plain Python process that imports torch once and then, for each submission, imports it, runs
   the probes the way the trusted side runs the reference (harness/reference.py) and the checks the way
   harness/grader.py judges, serially, with no sandbox. Every submission: the synthetic timeout waits out the
   challenge's wall_seconds as in the sandbox (an alarm per import and per probe), the crash stays in. A
   submission that rebinds what the challenge pins (torch.optim.AdamW.step, say) is undone after its turn, so it
   cannot change the next one's grade.

The ratio to the floor is the two whole runs' (both over every submission, start included): the floor as the
issue describes it. A stricter one is printed beside it: the batch's seconds per submission over the floor's
loop alone without the timeouts (the floor's start and its serial waits left out, the batch's kept), what
isolation costs at the most. Prints the figures next to the issue's targets; exits non-zero when the batch
command fails.

Usage: python benchmarks/class_speed.py [CHALLENGE] [-n 100] [-j 2]
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

TARGET_SECONDS_PER_SUBMISSION = 0.25  # on 2 cores
TARGET_FLOOR_RATIO = 1.5
TARGET_SLOT_MB = 400
SYNTHETIC_SHARE = 0.01  # of each kind: about 2 % of the class in all
SAMPLE_SECONDS = 0.5
MB = 1024 * 1024


# ---------------------------------------------------------------- the class


def timeout_source(reference: Path) -> str:
    """The reference, with its last public top-level function redefined to loop forever."""
    text = reference.read_text(encoding="utf-8")
    public = [node.name for node in ast.parse(text).body
              if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")]
    if not public:
        return text + "\n\nwhile True:\n    pass\n"  # no function to hang: hang the import
    return text + f"\n\ndef {public[-1]}(*args, **kwargs):  # synthetic: never returns\n    while True:\n        pass\n"


CRASH_SOURCE = 'raise RuntimeError("synthetic crash at import")\n'


def build_class(challenge, folder: Path, size: int, timeouts: bool = True) -> dict[str, str]:
    """Write student0000.py ... into `folder`; returns {student id: what it is}. Without `timeouts`, the synthetic
    timeouts' places hold the reference instead (what isolation costs, apart from a hung submission's wall time)."""
    sources = [challenge.reference, challenge.starter, *sorted((challenge.solutions_dir / "mutants").glob("*.py"))]
    each = max(1, round(size * SYNTHETIC_SHARE))
    synthetic = ["timeout"] * each + ["crash"] * each
    # spread evenly through the class (interleaved kinds), never all at the end where they would be the tail
    interleaved = [kind for pair in zip(synthetic[:each], synthetic[each:]) for kind in pair]
    spots = {round((k + 1) * size / (len(interleaved) + 1)): kind for k, kind in enumerate(interleaved)}
    kinds, cycled = {}, 0
    for number in range(size):
        student = f"student{number:04d}"
        target = folder / f"{student}.py"
        kind = spots.get(number)
        if kind == "timeout" and not timeouts:
            shutil.copyfile(challenge.reference, target)
            kind = "reference"
        elif kind == "timeout":
            target.write_text(timeout_source(challenge.reference), encoding="utf-8")
        elif kind == "crash":
            target.write_text(CRASH_SOURCE, encoding="utf-8")
        else:
            source = sources[cycled % len(sources)]
            cycled += 1
            shutil.copyfile(source, target)
            kind = "reference" if source == challenge.reference else "starter" if source == challenge.starter \
                else f"mutant {source.stem}"
        kinds[student] = kind
    return kinds


# ---------------------------------------------------------------- the batch, with its containers' memory


class MemorySampler:
    """Every SAMPLE_SECONDS, the memory of each container labelled with the grading process's pid; peak per container."""

    def __init__(self, pid: int) -> None:
        import docker

        self.client = docker.from_env()
        self.label = f"harness.grader-pid={pid}"
        self.peak_usage: dict[str, int] = {}  # memory_stats.usage (page cache included)
        self.peak_working: dict[str, int] = {}  # usage less inactive file pages, as `docker stats` shows it
        self.peak_max_usage: dict[str, int] = {}  # memory_stats.max_usage, where the cgroup reports it (v1)
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "MemorySampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.client.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                containers = self.client.containers.list(filters={"label": self.label})
            except Exception:
                containers = []
            for container in containers:
                try:
                    memory = container.stats(stream=False, one_shot=True).get("memory_stats") or {}
                except Exception:  # the container went away between the list and the read
                    continue
                usage = memory.get("usage")
                if usage is None:
                    continue
                stats = memory.get("stats") or {}
                inactive = stats.get("inactive_file", stats.get("total_inactive_file", 0))
                self._peak(self.peak_usage, container.id, usage)
                self._peak(self.peak_working, container.id, usage - inactive)
                if memory.get("max_usage") is not None:
                    self._peak(self.peak_max_usage, container.id, memory["max_usage"])
                self.samples += 1
            self._stop.wait(max(0.0, SAMPLE_SECONDS - (time.monotonic() - started)))

    @staticmethod
    def _peak(table: dict[str, int], key: str, value: int) -> None:
        table[key] = max(table.get(key, 0), value)


def run_batch(challenge_id: str, folder: Path, out: Path, jobs: int):
    command = [sys.executable, "-m", "harness", "grade", challenge_id, str(folder), "--out", str(out),
               "-j", str(jobs), "--seed", "1", "--backend", "docker"]
    started = time.perf_counter()
    with tempfile.TemporaryFile(mode="w+") as stderr:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr, text=True)
        with MemorySampler(process.pid) as sampler:
            code = process.wait()
        wall = time.perf_counter() - started
        stderr.seek(0)
        return code, wall, stderr.read(), sampler


# ---------------------------------------------------------------- the floor (runs in its own process)


def _pinned_objects(challenge) -> list:
    """What the challenge pins, plus torch.optim.Optimizer and nn.Module: the objects a submission may rebind."""
    import importlib

    import torch

    found = [torch.optim.Optimizer, torch.nn.Module, torch.Tensor]
    for dotted in challenge.meta.pinned:
        parts, obj = dotted.split("."), None
        for cut in range(len(parts), 0, -1):
            try:
                obj = importlib.import_module(".".join(parts[:cut]))
            except ImportError:
                continue
            try:
                for attr in parts[cut:]:
                    obj = getattr(obj, attr)
            except AttributeError:
                obj = None
            break
        if obj is not None and all(obj is not other for other in found):
            found.append(obj)
    return found


def _snapshot(objects: list) -> list:
    return [(obj, dict(vars(obj))) for obj in objects]


def _restore(snapshot: list) -> None:
    for obj, saved in snapshot:
        now = vars(obj)
        for key in [key for key in now if key not in saved]:
            try:
                delattr(obj, key)
            except (AttributeError, TypeError):
                pass
        for key, value in saved.items():
            if now.get(key) is not value:
                try:
                    setattr(obj, key, value)
                except (AttributeError, TypeError):
                    pass


def floor_main(challenge_id: str, folder: Path, seed: int, out: Path) -> None:
    """One process, no isolation: each submission imported, probed and judged in turn; writes its figures to `out`."""
    import resource
    import signal

    started = time.perf_counter()
    import numpy  # noqa: F401  (before torch, as the grader does)
    import torch

    from harness.challenge import find_challenge
    from harness.checks import ProbeResults, run_checks
    from harness.probing import Answers, Inputs, make_plan
    from harness.reference import reference_results
    from harness.rules import apply_rules
    from harness.sandbox.base import ProbeOutcome
    from harness.sandbox.worker import (call_probe, decode, encode, load_module, make_deterministic,
                                        module_from_source, probe_functions, seed_everything)
    from harness.wire import decode_value  # noqa: F401  (imported by the checks; here so that it is not timed)

    challenge = find_challenge(challenge_id)
    plan = make_plan(challenge, seed)
    reference = reference_results(challenge, plan, seed)
    for probe in plan.probes:  # the reference's values before any submission runs, as a batch's start does
        reference[probe.name]
    pinned = _snapshot(_pinned_objects(challenge))
    setup = time.perf_counter() - started

    class Alarm(BaseException):
        pass

    def ring(*_):
        raise Alarm()

    limit = challenge.meta.limits.wall_seconds  # the sandbox's: importing the submission, then each probe

    def alarm(seconds: float) -> None:
        signal.signal(signal.SIGALRM, ring)  # again: pytest-timeout leaves SIGALRM at its default when a check ends
        signal.setitimer(signal.ITIMER_REAL, seconds)

    results: dict[str, dict] = {}
    files = sorted(folder.glob("*.py"))
    loop_started = time.perf_counter()
    for number, path in enumerate(files):
        one_started = time.perf_counter()
        text = path.read_text(encoding="utf-8")
        plan = make_plan(challenge, seed)
        reference = reference_results(challenge, plan, seed)
        outcomes: dict[str, ProbeOutcome] = {}
        status = None
        alarm(limit)  # the submission's code only: the checks use pytest-timeout's own alarm
        try:
            try:
                make_deterministic()
                probes = probe_functions(module_from_source(f"_floor_probes_{number}", plan.source))
                seed_everything(plan.import_seed)
                solution = load_module(f"_floor_submission_{number}", str(path))
            except Alarm:
                raise
            except BaseException as error:
                status = f"import failed ({type(error).__name__})"
            else:
                for probe in plan.probes:
                    alarm(limit)
                    try:
                        values: list = []
                        for stage in range(1, probe.stages + 1):
                            carry = decode(values[-1]) if values else None
                            value = call_probe(probes[probe.name][stage - 1], solution, probe.seed,
                                               decode(probe.inputs[stage - 1]), carry, probe.has_inputs[stage - 1],
                                               stage)
                            values.append(encode(value))
                        outcomes[probe.name] = ProbeOutcome("ok", value=values[0] if probe.stages == 1 else values)
                    except Alarm:
                        raise
                    except BaseException as error:
                        outcomes[probe.name] = ProbeOutcome("error", message=f"{type(error).__name__}: {error}")
        except Alarm:
            status = "timeout"
        finally:
            alarm(0)
        score = None
        if status is None:
            checks = run_checks(challenge.hidden_dir, {
                "probes": ProbeResults(outcomes), "reference": reference, "seed": seed, "submission_source": text,
                "inputs": Inputs(plan), "answers": Answers(challenge, plan), "violations": []})
            apply_rules(challenge.meta.rules, checks, [], text)
            score = sum(check.points for check in checks if check.status.value == "passed")
            status = "graded"
        _restore(pinned)
        sys.modules.pop(f"_floor_submission_{number}", None)
        results[path.stem] = {"status": status, "score": score, "seconds": time.perf_counter() - one_started}
    loop = time.perf_counter() - loop_started
    out.write_text(json.dumps({"setup_seconds": setup, "loop_seconds": loop, "results": results,
                               "torch": torch.__version__,
                               "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def run_floor(challenge_id: str, folder: Path, out: Path) -> tuple[float, dict]:
    command = [sys.executable, __file__, "--floor", challenge_id, "--folder", str(folder), "--floor-out", str(out)]
    started = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"the floor process failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return wall, json.loads(out.read_text())


# ---------------------------------------------------------------- main


def _verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("challenge", nargs="?", default="weight-decay-exclude-bias")
    parser.add_argument("-n", "--size", type=int, default=100, help="submissions in the class")
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument("--keep", type=Path, default=None, help="copy the class and the batch's output here")
    parser.add_argument("--no-timeouts", action="store_true",
                        help="the reference where the synthetic timeouts would be: what isolation costs, apart from a "
                             "hung submission's wall_seconds (which no batch can shorten)")
    parser.add_argument("--floor", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--floor-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.floor:
        floor_main(args.challenge, args.folder, 1, args.floor_out)
        return

    from harness.challenge import find_challenge

    challenge = find_challenge(args.challenge)
    with tempfile.TemporaryDirectory(prefix="class-speed-") as tmp:
        folder, out = Path(tmp) / "class", Path(tmp) / "out"
        folder.mkdir()
        kinds = build_class(challenge, folder, args.size, timeouts=not args.no_timeouts)
        code, wall, stderr, memory = run_batch(challenge.id, folder, out, args.jobs)
        if args.keep is not None:
            shutil.copytree(tmp, args.keep, dirs_exist_ok=True)
        if code != 0:
            print(f"the batch command failed (exit {code}{', a grader error' if code == 3 else ''}); its stderr ends:\n"
                  f"{stderr[-3000:]}", file=sys.stderr)
            sys.exit(code or 1)
        summary = json.loads((out / "summary.json").read_text())
        reports = {path.stem: json.loads(path.read_text()) for path in (out / "reports").glob("*.json")}
        floor_wall, floor = run_floor(challenge.id, folder, Path(tmp) / "floor.json")

    n = args.size
    per = wall / n
    floored = floor["results"]
    floor_whole_per = floor_wall / len(floored)
    ratio = wall / floor_wall
    untimed = [result for student, result in floored.items() if kinds[student] != "timeout"]
    floor_per = sum(result["seconds"] for result in untimed) / len(untimed)
    strict = per / floor_per
    slot_mb = max(memory.peak_usage.values(), default=0) / MB
    working_mb = max(memory.peak_working.values(), default=0) / MB
    max_usage_mb = max(memory.peak_max_usage.values(), default=0) / MB
    phases = {}
    for phase in ("sandbox_start", "probes", "checks", "total"):
        values = [r["timings"][phase] for r in reports.values() if r["status"] == "graded"]
        phases[phase] = statistics.median(values) if values else float("nan")
    both = [student for student, result in floored.items()
            if result["status"] == "graded" and reports.get(student, {}).get("status") == "graded"]
    differ = [student for student in both if abs(floored[student]["score"] - reports[student]["score"]) > 1e-9]
    floor_statuses: dict[str, int] = {}
    for result in floored.values():
        floor_statuses[result["status"]] = floor_statuses.get(result["status"], 0) + 1
    synthetic = {kind: sum(k == kind for k in kinds.values()) for kind in ("timeout", "crash")}

    print(f"{challenge.id}: N={n} (of which {synthetic['timeout']} timeout, {synthetic['crash']} crash), -j {args.jobs}, "
          f"docker, seed 1, {os.cpu_count()} CPUs")
    print(f"batch: {wall:.1f} s wall, {per:.3f} s per submission, {n / wall:.2f} submissions/s   "
          f"[target <= {TARGET_SECONDS_PER_SUBMISSION} s per submission on 2 cores: {_verdict(per <= TARGET_SECONDS_PER_SUBMISSION)}]")
    print(f"floor: one process, no isolation, every submission in turn, torch {floor['torch']}: {floor_wall:.1f} s in "
          f"all, {floor_whole_per:.3f} s per submission (start {floor['setup_seconds']:.1f} s: imports, reference; "
          f"peak RSS {floor['max_rss_mb']:.0f} MB); its loop without the {synthetic['timeout']} timeouts: "
          f"{floor_per:.3f} s per submission")
    print(f"ratio batch/floor, whole runs over every submission: {ratio:.2f}x   [target <= {TARGET_FLOOR_RATIO}x: "
          f"{_verdict(ratio <= TARGET_FLOOR_RATIO)}]")
    print(f"stricter: batch per submission / the floor's loop per submission without the timeouts: {strict:.2f}x "
          f"(the batch's start and hung submissions counted, the floor's not)")
    print(f"peak memory per slot: {slot_mb:.0f} MB usage ({working_mb:.0f} MB less inactive file pages"
          + (f", {max_usage_mb:.0f} MB max_usage" if memory.peak_max_usage else ", no max_usage: cgroup v2")
          + f"; {len(memory.peak_usage)} containers, {memory.samples} samples)   "
          f"[target <= {TARGET_SLOT_MB} MB: {_verdict(slot_mb <= TARGET_SLOT_MB)}]")
    print("by status (summary.json): " + ", ".join(f"{k} {v}" for k, v in summary["by_status"].items())
          + "; floor: " + ", ".join(f"{k} {v}" for k, v in sorted(floor_statuses.items())))
    kinds_differ = sorted({kinds[student] for student in differ})
    print(f"floor scores equal to the batch's: {len(both) - len(differ)} of {len(both)} graded in both"
          + (f"; differ for {len(differ)}: {', '.join(kinds_differ)} (no guard in the floor)" if differ else ""))
    probe_times = [r["timings"]["probes"] for student, r in reports.items()
                   if r["status"] == "graded" and kinds[student] != "timeout"]
    print("per submission, medians over graded reports: " + ", ".join(f"{k} {v:.3f} s" for k, v in phases.items())
          + f"; all probes of one submission (the timeouts aside) took at most {max(probe_times, default=float('nan')):.2f} s "
          f"(wall_seconds {challenge.meta.limits.wall_seconds:g} per probe)")
    slowest = sorted(reports.items(), key=lambda item: -item[1]["timings"]["total"])[:4]
    print("slowest in the batch (total s): " + ", ".join(
        f"{student} {kinds[student]} {report['timings']['total']:.1f}" for student, report in slowest))


if __name__ == "__main__":
    main()
