"""A grading run's probe plan, made on the trusted side: which probes and stages run, with which seeds and inputs.

Inputs whose expected outputs matter are drawn here, by `hidden/inputs.py`, from a seed the
sandbox never learns; only the inputs go in. What a check needs besides them (held-out labels,
say) comes from the same file's `answers_<name>` functions and never leaves the trusted side.
"""

from __future__ import annotations

import ast
import hashlib
import threading
from dataclasses import dataclass
from typing import Any

from harness.parsing import parse
from harness.challenge import Challenge, ChallengeError
from harness.sandbox.worker import (PROBE_PREFIX, STAGE_SEPARATOR, encode, input_seed, module_from_source,
                                    probe_seed)

INPUTS_PREFIX = "inputs_"
ANSWERS_PREFIX = "answers_"


@dataclass(frozen=True)
class PlannedProbe:
    name: str
    stages: int
    seed: int  # the sandbox seed
    input_seed: int  # the trusted seed its inputs and answers are drawn from
    inputs: list[Any]  # per stage: encoded (JSON-ready), or None
    has_inputs: list[bool]  # per stage: whether inputs_<name>[__stageK] exists


@dataclass(frozen=True)
class ProbePlan:
    """Everything about one run's probes that both the sandbox job and the trusted side use."""

    source: str
    probes: list[PlannedProbe]
    import_seed: int

    def by_name(self) -> dict[str, PlannedProbe]:
        return {probe.name: probe for probe in self.probes}


def probe_stages(source: str) -> dict[str, int]:
    """The probes' names with their number of stages, read from probes.py as text (never run), in order."""
    stages: dict[str, set[int]] = {}
    for node in parse(source).body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith(PROBE_PREFIX):
            name, _, stage = node.name[len(PROBE_PREFIX):].partition(STAGE_SEPARATOR)
            stages.setdefault(name, set()).add(int(stage) if stage.isdigit() else 1)
    return {name: len(found) for name, found in stages.items()}


_inputs_lock = threading.Lock()
_inputs_modules: dict[tuple[str, str], Any] = {}


def inputs_module(challenge: Challenge):
    """The challenge's hidden/inputs.py, loaded once per content (trusted code), or None."""
    path = challenge.inputs
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8")
    key = (str(path), hashlib.sha256(text.encode()).hexdigest())
    with _inputs_lock:
        if key not in _inputs_modules:
            try:
                _inputs_modules[key] = module_from_source(f"_harness_inputs_{challenge.id.replace('-', '_')}", text, str(path))
            except Exception as error:
                raise ChallengeError(f"{path}: cannot be loaded: {type(error).__name__}: {error}") from None
        return _inputs_modules[key]


def make_plan(challenge: Challenge, run_seed: int) -> ProbePlan:
    """Draw every probe's inputs for `run_seed`; a broken inputs.py is the challenge's error."""
    source = challenge.probes.read_text(encoding="utf-8")
    module = inputs_module(challenge)
    probes = []
    for name, stages in probe_stages(source).items():
        seed = input_seed(run_seed, name)
        inputs, has = [], []
        for stage in range(1, stages + 1):
            function = INPUTS_PREFIX + name + (f"{STAGE_SEPARATOR}{stage}" if stage > 1 else "")
            draw = getattr(module, function, None) if module is not None else None
            has.append(draw is not None)
            try:
                inputs.append(encode(draw(seed)) if draw is not None else None)
            except Exception as error:
                raise ChallengeError(f"{challenge.inputs}: {function} failed: {type(error).__name__}: {error}") from None
        probes.append(PlannedProbe(name, stages, probe_seed(run_seed, name), seed, inputs, has))
    return ProbePlan(source=source, probes=probes, import_seed=probe_seed(run_seed, "<import>"))


class Answers:
    """`answers[name]`: what `answers_<name>(input_seed)` in hidden/inputs.py returns; computed on first use."""

    def __init__(self, challenge: Challenge, plan: ProbePlan) -> None:
        self._module = inputs_module(challenge)
        self._plan = plan.by_name()
        self._cache: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._cache:
            function = getattr(self._module, ANSWERS_PREFIX + name, None) if self._module is not None else None
            if function is None or name not in self._plan:
                raise ChallengeError(f"hidden/inputs.py has no {ANSWERS_PREFIX}{name}")
            self._cache[name] = function(self._plan[name].input_seed)
        return self._cache[name]


class Inputs:
    """`inputs[name]`: the inputs that went into the sandbox for probe `name`, as trusted values."""

    def __init__(self, plan: ProbePlan) -> None:
        self._plan = plan.by_name()

    def __getitem__(self, name: str) -> Any:
        from harness.wire import decode_value

        probe = self._plan.get(name)
        if probe is None or not probe.has_inputs[0]:
            raise ChallengeError(f"probe {name!r} has no inputs drawn by hidden/inputs.py")
        return decode_value(probe.inputs[0])


def content_hash(challenge: Challenge) -> str:
    """A hash of everything in the challenge folder and its reference solution that grading depends on
    (recomputed when any file's size or modification time changed; a batch asks once per submission)."""
    roots = (challenge.root, challenge.solutions_dir)
    stamp = tuple((str(path), stat.st_size, stat.st_mtime_ns) for path, stat in
                  ((p, p.stat()) for root in roots for p in sorted(root.rglob("*")) if p.is_file()))
    with _hash_lock:
        cached = _hash_cache.get(roots)
        if cached is not None and cached[0] == stamp:
            return cached[1]
    value = _content_hash(challenge)
    with _hash_lock:
        _hash_cache[roots] = (stamp, value)
    return value


_hash_cache: dict = {}
_hash_lock = threading.Lock()


def _content_hash(challenge: Challenge) -> str:
    digest = hashlib.sha256()
    for root in (challenge.root, challenge.solutions_dir):
        for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts and "mutants" not in p.parts):
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()

