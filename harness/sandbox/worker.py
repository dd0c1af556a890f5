"""Sandbox worker: imports a submission once and runs a challenge's probes, streaming results.

This file runs inside the sandbox (a container or a child process) with `python -I`.
It uses only the standard library and torch, so the sandbox image needs nothing else.

Usage: python -I -B worker.py JOB_JSON

JOB_JSON names the seed, the submission's module name, and which probes to run; the submission
and probes files lie beside it (read-only).
Every message goes to the original stdout as one JSON object a line; everything the
submission prints goes to stderr instead (fd 1 is pointed at fd 2 before it is imported).
The grader treats every message as untrusted data: the submission runs in this process
and could forge any of them, so nothing here is believed without the trusted checks.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import math
import os
import random
import sys
import time
import traceback

PROBE_PREFIX = "probe_"
MAX_TRACEBACK_CHARS = 4000


def probe_seed(run_seed: int, probe_name: str) -> int:
    """The seed a probe runs with: derived from the run's seed and the probe's name."""
    digest = hashlib.sha256(f"{run_seed}:{probe_name}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def seed_everything(seed: int) -> None:
    """Seed python, numpy (when present) and torch."""
    random.seed(seed)
    try:
        import numpy
    except ImportError:
        pass
    else:
        numpy.random.seed(seed)
    import torch

    torch.manual_seed(seed)


def make_deterministic() -> None:
    """Pin torch to one thread and deterministic algorithms."""
    import torch

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)


def encode(value, depth: int = 0):
    """Turn a probe's return value into JSON-ready data, with tensors in an explicit encoding."""
    import torch

    if depth > 32:
        raise ValueError("probe result nested more than 32 levels deep")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return {"__float__": repr(value)}
    if isinstance(value, torch.Tensor):
        tensor = value.detach().to("cpu").contiguous()
        dtypes = _tensor_dtypes()
        if tensor.dtype not in dtypes:
            raise TypeError(f"tensor dtype {tensor.dtype} cannot leave the sandbox")
        data = tensor.numpy().tobytes() if tensor.numel() else b""
        return {
            "__tensor__": {
                "dtype": dtypes[tensor.dtype],
                "shape": list(tensor.shape),
                "data": base64.b64encode(data).decode("ascii"),
            }
        }
    if isinstance(value, (list, tuple)):
        return [encode(item, depth + 1) for item in value]
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str) or key.startswith("__"):
                raise TypeError(f"probe result dict key {key!r} is not a plain string")
            out[key] = encode(item, depth + 1)
        return out
    raise TypeError(f"probe result of type {type(value).__name__} cannot leave the sandbox")


def _tensor_dtypes() -> dict:
    import torch

    return {
        torch.float64: "float64",
        torch.float32: "float32",
        torch.int64: "int64",
        torch.int32: "int32",
        torch.bool: "bool",
    }


def load_module(name: str, path: str):
    """Import a file as a module under `name`."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def probe_functions(probes_module) -> dict:
    """The module's `probe_*` functions, in the order they are defined."""
    found = {}
    for attr, value in vars(probes_module).items():
        if attr.startswith(PROBE_PREFIX) and callable(value):
            found[attr[len(PROBE_PREFIX):]] = value
    return found


def run_probe(function, solution, run_seed: int, name: str):
    """Run one probe the way the sandbox does: freshly seeded, with its derived seed."""
    seed = probe_seed(run_seed, name)
    seed_everything(seed)
    return function(solution, seed)


def describe_error(error: BaseException) -> dict:
    """A short, JSON-ready account of an exception raised by the submission or a probe."""
    text = "".join(traceback.format_exception(error))
    return {
        "type": type(error).__name__,
        "message": str(error)[:1000],
        "traceback": text[-MAX_TRACEBACK_CHARS:],
    }


class Channel:
    """The private copy of stdout that carries messages to the grader."""

    def __init__(self) -> None:
        self._file = os.fdopen(os.dup(1), "w", encoding="utf-8", closefd=True)
        os.dup2(2, 1)
        sys.stdout = sys.stderr

    def send(self, **message) -> None:
        line = json.dumps(message, allow_nan=False, separators=(",", ":"))
        self._file.write(line + "\n")
        self._file.flush()


def main(argv: list[str]) -> int:
    channel = Channel()
    sys.dont_write_bytecode = True
    with open(argv[1], encoding="utf-8") as handle:
        job = json.load(handle)
    folder = os.path.dirname(os.path.abspath(argv[1]))
    submission_path = os.path.join(folder, job["submission"])
    import torch

    make_deterministic()
    channel.send(event="ready", python=sys.version.split()[0], torch=torch.__version__)

    run_seed = int(job["seed"])
    seed_everything(run_seed)
    started = time.perf_counter()
    sys.path.insert(0, folder)
    try:
        solution = load_module(job["module"], submission_path)
    except BaseException as error:  # SystemExit and KeyboardInterrupt included: all are the submission's
        channel.send(event="import_failed", error=describe_error(error))
        return 0
    channel.send(event="imported", seconds=time.perf_counter() - started)

    probes = probe_functions(load_module("_harness_probes", os.path.join(folder, job["probes"])))
    for name in job["run"]:
        channel.send(event="start", probe=name)
        started = time.perf_counter()
        try:
            value = encode(run_probe(probes[name], solution, run_seed, name))
        except BaseException as error:
            channel.send(event="result", probe=name, status="error", error=describe_error(error),
                         seconds=time.perf_counter() - started)
        else:
            channel.send(event="result", probe=name, status="ok", value=value,
                         seconds=time.perf_counter() - started)
    channel.send(event="done")
    return 0

if __name__ == "__main__":
    sys.exit(main(sys.argv))
