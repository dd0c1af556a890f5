"""Expected values from the reference solution: the challenge's probes run on it in the trusted process.

Kept apart from the check runner so that the grader can start this work, and the sandbox, before
it imports torch and pytest itself: the imports then overlap with the sandbox starting up.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from harness.challenge import ChallengeError
from harness.sandbox.worker import encode, load_module, probe_functions, run_probe
from harness.wire import decode_value


class ChecksError(ChallengeError):
    """The challenge's checks could not be run (a broken challenge): the grader's problem."""


class ReferenceResults:
    """The probes run on the reference solution in this (trusted) process, computed once, in the background."""

    def __init__(self, probes_path: Path, reference_path: Path, module: str, seed: int) -> None:
        self._values: dict[str, Any] = {}
        self._errors: dict[str, BaseException] = {}
        self._thread = threading.Thread(target=self._compute, args=(probes_path, reference_path, module, seed), daemon=True)
        self._thread.start()

    def _compute(self, probes_path: Path, reference_path: Path, module: str, seed: int) -> None:
        try:
            probes = probe_functions(load_module(f"_harness_trusted_probes_{id(self)}", str(probes_path)))
            solution = load_module(f"_harness_reference_{module}_{id(self)}", str(reference_path))
        except BaseException as error:  # a broken challenge: every reference read reports it
            self._errors["*"] = error
            return
        for name, function in probes.items():
            try:
                self._values[name] = decode_value(encode(run_probe(function, solution, seed, name)))
            except BaseException as error:
                self._errors[name] = error

    def __getitem__(self, name: str) -> Any:
        self._thread.join()
        error = self._errors.get("*") or self._errors.get(name)
        if error is not None:
            raise ChecksError(f"the reference solution failed on probe {name!r}: {type(error).__name__}: {error}")
        if name not in self._values:
            raise ChecksError(f"no probe named {name!r} in probes.py")
        return self._values[name]
