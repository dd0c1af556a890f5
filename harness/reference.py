"""Expected values from the reference solution: the challenge's probes run on it in the trusted process.

Kept apart from the check runner so that the grader can start this work, and the sandbox, before
it imports torch and pytest itself: the imports then overlap with the sandbox starting up.
The reference runs as the sandbox runs the submission: one thread, deterministic algorithms,
each probe freshly seeded with its sandbox seed and given the same inputs, later stages given
what the earlier ones returned after a trip through the wire. Its values are computed once per
challenge content and seed and cached: time spent here is the grader's, never the candidate's.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Optional

from harness.challenge import Challenge, ChallengeError
from harness.parsing import AST_LOCK
from harness.probing import ProbePlan, content_hash
from harness.sandbox.worker import (call_probe, decode, encode, load_module, make_deterministic, module_from_source,
                                    probe_functions)

REFERENCE_SECONDS = 600.0  # past this the reference is the grader's failure (status error), never a failed check


class ChecksError(ChallengeError):
    """The challenge's checks could not be run (a broken challenge): the grader's problem."""


_cache_lock = threading.Lock()
_cache: dict[tuple[str, int], "ReferenceResults"] = {}
_torch_lock = threading.Lock()  # one reference run at a time: torch's thread and determinism settings are global


def reference_results(challenge: Challenge, plan: ProbePlan, seed: int) -> "ReferenceResults":
    """The reference's values for this challenge content and seed: started now, or the cached run."""
    key = (content_hash(challenge), seed)
    with _cache_lock:
        found = _cache.get(key)
        if found is None or found.failed_to_start:
            found = _cache[key] = ReferenceResults(plan, challenge.reference, challenge.module_name)
            if len(_cache) > 64:
                _cache.pop(next(iter(_cache)))
        return found


class ReferenceResults:
    """The probes run on the reference solution in this (trusted) process, computed once, in the background."""

    def __init__(self, plan: ProbePlan, reference_path: Path, module: str) -> None:
        self._values: dict[str, Any] = {}
        self._errors: dict[str, BaseException] = {}
        self.failed_to_start = False
        self._thread = threading.Thread(target=self._compute, args=(plan, reference_path, module), daemon=True)
        self._thread.start()

    def _compute(self, plan: ProbePlan, reference_path: Path, module: str) -> None:
        from harness.wire import decode_value

        with _torch_lock:
            import torch

            threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
            make_deterministic()
            try:
                try:
                    with AST_LOCK:  # compiling source: see harness.parsing
                        probes = probe_functions(module_from_source(f"_harness_trusted_probes_{id(self)}", plan.source))
                        solution = load_module(f"_harness_reference_{module}_{id(self)}", str(reference_path))
                except BaseException as error:  # a broken challenge: every reference read reports it
                    self._errors["*"] = error
                    self.failed_to_start = True
                    return
                for probe in plan.probes:
                    try:
                        values: list[Any] = []
                        for stage in range(1, probe.stages + 1):
                            carry = decode(values[-1]) if values else None  # what crossed the wire, fresh
                            value = call_probe(probes[probe.name][stage - 1], solution, probe.seed,
                                               decode(probe.inputs[stage - 1]), carry,
                                               probe.has_inputs[stage - 1], stage)
                            values.append(encode(value))
                        self._values[probe.name] = decode_value(values[0] if probe.stages == 1 else values)
                    except BaseException as error:
                        self._errors[probe.name] = error
            finally:
                torch.set_num_threads(threads)
                torch.use_deterministic_algorithms(deterministic)

    def __getitem__(self, name: str) -> Any:
        self._thread.join(REFERENCE_SECONDS)
        if self._thread.is_alive():
            raise ChecksError(f"the reference solution took longer than {REFERENCE_SECONDS:g} s on the grader's side")
        error: Optional[BaseException] = self._errors.get("*") or self._errors.get(name)
        if error is not None:
            raise ChecksError(f"the reference solution failed on probe {name!r}: {type(error).__name__}: {error}")
        if name not in self._values:
            raise ChecksError(f"no probe named {name!r} in probes.py")
        return self._values[name]
