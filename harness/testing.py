"""Helpers for challenge authors' checks: exact comparisons whose failures say what was expected and what was found.

Checks run on the trusted side and receive probe values already decoded from the sandbox; these
helpers compare them with values computed on the trusted side, checking type, dtype and shape
exactly before comparing numbers.
"""

from __future__ import annotations

import ast
import math
import re
from typing import Any

import torch

from harness.sandbox.worker import probe_seed  # noqa: F401  (re-exported for checks)


class CheckFailure(AssertionError):
    """A check found the wrong thing; its message says what was expected and what was found."""


def _short(value: Any, limit: int = 200) -> str:
    if isinstance(value, torch.Tensor):
        text = f"tensor(shape={list(value.shape)}, dtype={value.dtype}, values={value.flatten()[:8].tolist()}{'...' if value.numel() > 8 else ''})"
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def expect(condition: bool, what: str, expected: Any, found: Any) -> None:
    """Fail with 'WHAT: expected E, found F' unless `condition` holds."""
    if not condition:
        raise CheckFailure(f"{what}: expected {_short(expected)}, found {_short(found)}")


def assert_tensor_close(found: Any, expected: torch.Tensor, what: str, *, rtol: float = 1e-5, atol: float = 1e-7) -> None:
    """The found value must be a tensor of the expected dtype and shape, with close values."""
    expect(isinstance(found, torch.Tensor), f"{what} (type)", "a tensor", type(found).__name__)
    expect(found.dtype == expected.dtype, f"{what} (dtype)", expected.dtype, found.dtype)
    expect(tuple(found.shape) == tuple(expected.shape), f"{what} (shape)", list(expected.shape), list(found.shape))
    if not torch.allclose(found, expected, rtol=rtol, atol=atol, equal_nan=False):
        diff = (found.double() - expected.double()).abs()
        worst = int(torch.nan_to_num(diff, nan=math.inf).flatten().argmax())
        raise CheckFailure(
            f"{what}: values differ (largest difference {diff.flatten()[worst].item():.3g} at flat index {worst}: "
            f"expected {expected.flatten()[worst].item():.6g}, found {found.flatten()[worst].item():.6g})"
        )


def assert_float_close(found: Any, expected: float, what: str, *, rtol: float = 1e-6, atol: float = 1e-9) -> None:
    """The found value must be a real number close to the expected one (ints are accepted as numbers)."""
    is_number = isinstance(found, (int, float)) and not isinstance(found, bool)
    expect(is_number, f"{what} (type)", "a number", type(found).__name__)
    expect(math.isfinite(found) and math.isclose(found, expected, rel_tol=rtol, abs_tol=atol), what, expected, found)


def assert_floats_close(found: Any, expected: list[float], what: str, *, rtol: float = 1e-6, atol: float = 1e-9) -> None:
    """The found value must be a list of numbers as long as the expected one, each close to its twin."""
    expect(isinstance(found, list), f"{what} (type)", "a list", type(found).__name__)
    expect(len(found) == len(expected), f"{what} (length)", len(expected), len(found))
    for index, (got, want) in enumerate(zip(found, expected)):
        assert_float_close(got, want, f"{what}[{index}]", rtol=rtol, atol=atol)


def assert_equal(found: Any, expected: Any, what: str) -> None:
    """The found value must equal the expected one exactly, type included."""
    expect(type(found) is type(expected) and found == expected, what, expected, found)


TORCH_LR_SCHEDULERS = frozenset({
    "lr_scheduler", "LRScheduler", "_LRScheduler", "LambdaLR", "MultiplicativeLR", "StepLR",
    "MultiStepLR", "ConstantLR", "LinearLR", "ExponentialLR", "SequentialLR", "PolynomialLR",
    "CosineAnnealingLR", "ChainedScheduler", "ReduceLROnPlateau", "CyclicLR",
    "CosineAnnealingWarmRestarts", "OneCycleLR",
})


def name_references(source: str, names: frozenset[str] | set[str]) -> list[str]:
    """Where the source (parsed, never run) names one of `names`: as a name, an attribute, an import,
    or a string that looks like an identifier or dotted path (as passed to getattr or import_module)."""
    hits = set()
    for node in ast.walk(ast.parse(source)):
        found: list[str] = []
        if isinstance(node, ast.Name):
            found = [node.id]
        elif isinstance(node, ast.Attribute):
            found = [node.attr]
        elif isinstance(node, ast.alias):
            found = node.name.split(".") + ([node.asname] if node.asname else [])
        elif isinstance(node, ast.ImportFrom) and node.module:
            found = node.module.split(".")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and re.fullmatch(r"[\w.]+", node.value.strip()):
            found = node.value.strip().split(".")
        hits.update((getattr(node, "lineno", 0), name) for name in found if name in names)
    return [f"line {line}: {name}" for line, name in sorted(hits)]


def forbid_references(source: str, names: frozenset[str] | set[str], rule: str) -> None:
    """Fail with the lines that break `rule` if the source names any of `names` (see name_references)."""
    hits = name_references(source, names)
    expect(not hits, f"rule: {rule}", "no such reference", "; ".join(hits[:8]))


def torch_lr_trace(make_scheduler, base_lr: float, n_steps: int) -> list[float]:
    """The lr a torch scheduler leaves in its optimizer after 0, 1, ..., n_steps calls to step().

    `make_scheduler(optimizer)` builds the scheduler over a one-parameter SGD optimizer at `base_lr`.
    """
    param = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([param], lr=base_lr)
    scheduler = make_scheduler(optimizer)
    lrs = [float(optimizer.param_groups[0]["lr"])]
    for _ in range(n_steps):
        optimizer.step()  # no gradient: a no-op, but keeps the scheduler's call-order warning quiet
        scheduler.step()
        lrs.append(float(optimizer.param_groups[0]["lr"]))
    return lrs
