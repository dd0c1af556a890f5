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

from harness.parsing import parse
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


def _number(value: Any) -> str:
    """A number with enough digits to tell it from a close neighbour (floats: 9 significant digits)."""
    if isinstance(value, float):
        return f"{value:.9g}"
    if isinstance(value, complex):
        return f"({value.real:.9g}{value.imag:+.9g}j)"
    return repr(value)


def _tolerance(rtol: float, atol: float) -> str:
    return f"rtol={rtol:g}, atol={atol:g}"


def _mismatch(found: Any, expected: Any, rtol: float, atol: float) -> str:
    """'expected E, found F (difference D, more than the A allowed)' for one tensor element outside the tolerance."""
    shown = _number(expected), _number(found)
    if shown[0] == shown[1]:  # 9 digits do not tell them apart: all the digits do
        shown = repr(expected), repr(found)
    text = f"expected {shown[0]}, found {shown[1]}"
    if isinstance(found, bool) or isinstance(expected, bool):
        return text
    if _is_nan(found) or _is_nan(expected):
        return f"{text} (NaN is never within the tolerance)"
    if not (_is_finite(found) and _is_finite(expected)):
        return f"{text} (an infinity matches only itself)"
    allowed = atol + rtol * abs(expected)
    return f"{text} (difference {abs(found - expected):.3g}, more than the {allowed:.3g} allowed)"


def _is_nan(value: Any) -> bool:
    return isinstance(value, (float, complex)) and math.isnan(abs(value))


def _is_finite(value: Any) -> bool:
    return not isinstance(value, (float, complex)) or math.isfinite(abs(value))


def assert_tensor_close(found: Any, expected: torch.Tensor, what: str, *, rtol: float = 1e-5, atol: float = 1e-7) -> None:
    """The found value must be a tensor of the expected dtype and shape, with close values.

    Element by element, |found - expected| <= atol + rtol * |expected| (as torch.isclose; NaN is never close). A
    failure names the first element outside the tolerance (its index, expected and found values) and how many are.
    """
    expect(isinstance(found, torch.Tensor), f"{what} (type)", "a tensor", type(found).__name__)
    expect(found.dtype == expected.dtype, f"{what} (dtype)", expected.dtype, found.dtype)
    expect(tuple(found.shape) == tuple(expected.shape), f"{what} (shape)", list(expected.shape), list(found.shape))
    found, expected = found.detach().cpu(), expected.detach().cpu()
    outside = ~torch.isclose(found, expected, rtol=rtol, atol=atol, equal_nan=False)
    count = int(outside.sum())
    if count == 0:
        return
    first = int(outside.flatten().nonzero()[0, 0])
    index = [int(i) for i in torch.unravel_index(torch.tensor(first), tuple(expected.shape))] if expected.dim() else []
    where = f"at index {index}" if expected.dim() else "(a 0-d tensor)"
    detail = _mismatch(found.flatten()[first].item(), expected.flatten()[first].item(), rtol, atol)
    raise CheckFailure(
        f"{what}: {count} of {expected.numel()} values outside the tolerance ({_tolerance(rtol, atol)}); "
        f"first {where}: {detail}"
    )


def _real_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _float_close(found: Any, expected: float, rtol: float, atol: float) -> bool:
    try:
        return math.isfinite(found) and math.isclose(found, expected, rel_tol=rtol, abs_tol=atol)
    except OverflowError:  # an int too large for a float
        return False


def assert_float_close(found: Any, expected: float, what: str, *, rtol: float = 1e-6, atol: float = 1e-9) -> None:
    """The found value must be a finite real number close to the expected one (ints are accepted as numbers):
    |found - expected| <= max(rtol * max(|found|, |expected|), atol), as math.isclose."""
    expect(_real_number(found), f"{what} (type)", "a number", type(found).__name__)
    if not _float_close(found, expected, rtol, atol):
        raise CheckFailure(f"{what}: {_float_mismatch(found, expected, rtol, atol)}; tolerance {_tolerance(rtol, atol)}")


def _float_mismatch(found: Any, expected: float, rtol: float, atol: float) -> str:
    text = f"expected {_short(expected, 60)}, found {_short(found, 60)}"  # repr: the shortest digits that tell two floats apart
    try:
        found_float = float(found)
    except OverflowError:
        return f"{text} (too large for a float)"
    if not math.isfinite(found_float):
        return f"{text} (not a finite number)"
    if not math.isfinite(expected):
        return text
    allowed = max(rtol * max(abs(found_float), abs(expected)), atol)
    return f"{text} (difference {abs(found_float - expected):.3g}, more than the {allowed:.3g} allowed)"


def assert_floats_close(found: Any, expected: list[float], what: str, *, rtol: float = 1e-6, atol: float = 1e-9) -> None:
    """The found value must be a list of numbers as long as the expected one, each close to its twin (as
    assert_float_close). A failure names the first value outside the tolerance and how many are."""
    expect(isinstance(found, list), f"{what} (type)", "a list", type(found).__name__)
    expect(len(found) == len(expected), f"{what} (length)", len(expected), len(found))
    for index, got in enumerate(found):
        expect(_real_number(got), f"{what}[{index}] (type)", "a number", type(got).__name__)
    outside = [index for index, (got, want) in enumerate(zip(found, expected)) if not _float_close(got, want, rtol, atol)]
    if outside:
        first = outside[0]
        raise CheckFailure(
            f"{what}: {len(outside)} of {len(expected)} values outside the tolerance ({_tolerance(rtol, atol)}); "
            f"first at index {first}: {_float_mismatch(found[first], expected[first], rtol, atol)}"
        )


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
    hits: set[tuple[int, str]] = set()
    for node in ast.walk(parse(source)):
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
