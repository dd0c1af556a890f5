"""Checks for cyclic-lr.

Expected values come from torch's own CyclicLR, run here on the trusted side: an SGD optimizer over
one dummy parameter, CyclicLR(optimizer, base_lr, max_lr, step_size_up, ..., cycle_momentum=False),
and after each of `n_steps` calls to scheduler.step() the optimizer's lr is read. The configurations
come from `inputs[...]`, drawn on the trusted side (hidden/inputs.py); only the candidate's `lrs` are
read from the probes.

The rule "no torch lr schedulers in solution.py" is declared in challenge.toml: the harness enforces
it at run time in the sandbox and in the source text, and while it is broken every check here fails.
"""

import pytest
from torch.optim.lr_scheduler import CyclicLR

from harness.testing import assert_float_close, expect, torch_lr_trace

RTOL = 1e-6
ATOL = 1e-12


def torch_trajectory(case: dict) -> list[float]:
    """The lr torch's CyclicLR leaves in the optimizer after 0, 1, ..., n_steps calls to step()."""
    return torch_lr_trace(
        lambda optimizer: CyclicLR(optimizer, base_lr=case["base_lr"], max_lr=case["max_lr"],
                                   step_size_up=case["step_size_up"], cycle_momentum=False, **case["torch_kwargs"]),
        case["base_lr"], case["n_steps"])


def describe(case: dict) -> str:
    extra = "".join(f", {key}={value!r}" for key, value in case["kwargs"].items())
    return f"cyclic_lr(step, {case['base_lr']!r}, {case['max_lr']!r}, {case['step_size_up']!r}{extra})"


def compare(found, trusted: dict) -> None:
    """Compare the candidate's lrs with torch's CyclicLR for every case of one probe, every step."""
    expect(type(found) is dict and type(found.get("lrs")) is list, "probe result", "a dict with a list 'lrs'", found)
    rows = found["lrs"]
    cases = trusted["cases"]
    expect(len(rows) == len(cases), "number of schedules in the probe result", len(cases), len(rows))
    for case, row in zip(cases, rows):
        expected = torch_trajectory(case)
        expect(type(row) is list and len(row) == len(expected),
               f"{describe(case)}: values for steps 0..{case['n_steps']}", f"a list of {len(expected)} values", row)
        for step, (got, want) in enumerate(zip(row, expected)):
            assert_float_close(got, want, f"{describe(case)} at step={step} (torch's CyclicLR value)",
                               rtol=RTOL, atol=ATOL)


@pytest.mark.points(2)
def test_triangular_defaults(probes, inputs):
    """cyclic_lr(step, base_lr, max_lr, step_size_up) with defaults follows CyclicLR's symmetric triangle."""
    compare(probes["triangular"], inputs["triangular"])


@pytest.mark.points(2)
def test_triangular_asymmetric(probes, inputs):
    """With step_size_down != step_size_up the rise and the fall have their own lengths, as in CyclicLR."""
    compare(probes["asymmetric"], inputs["asymmetric"])


@pytest.mark.points(2)
def test_triangular2(probes, inputs):
    """mode='triangular2': full amplitude in the first cycle, halved at the start of each later cycle."""
    compare(probes["triangular2"], inputs["triangular2"])


@pytest.mark.points(2)
def test_exp_range(probes, inputs):
    """mode='exp_range': the amplitude shrinks by gamma at every step, as in CyclicLR."""
    compare(probes["exp_range"], inputs["exp_range"])
