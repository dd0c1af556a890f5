"""Checks for lr-schedule-closed-forms.

Expected values come from torch's own schedulers, run here on the trusted side: for each case an
SGD optimizer over one dummy parameter is built with lr = base_lr, the matching scheduler is
constructed, and after each of `n_steps` calls to scheduler.step() the optimizer's lr is read.
The cases come from `inputs[...]`, drawn on the trusted side (hidden/inputs.py); only the
candidate's `lrs` are read from the probes.

The rule "no torch lr schedulers in solution.py" is declared in challenge.toml: the harness enforces
it at run time in the sandbox and in the source text, and while it is broken every check here fails.
"""

import pytest
from torch.optim import lr_scheduler

from harness.testing import assert_float_close, expect, torch_lr_trace

RTOL = 1e-6
ATOL = 1e-12

SCHEDULERS = {
    "step": lr_scheduler.StepLR,
    "multistep": lr_scheduler.MultiStepLR,
    "exponential": lr_scheduler.ExponentialLR,
    "cosine": lr_scheduler.CosineAnnealingLR,
    "linear": lr_scheduler.LinearLR,
    "polynomial": lr_scheduler.PolynomialLR,
}


def torch_trajectory(case: dict) -> list[float]:
    """The lr torch's scheduler leaves in the optimizer after 0, 1, ..., n_steps calls to step()."""
    return torch_lr_trace(lambda optimizer: SCHEDULERS[case["kind"]](optimizer, **case["params"]),
                          case["base_lr"], case["n_steps"])


def describe(case: dict) -> str:
    args = ", ".join(f"{key}={value!r}" for key, value in case["params"].items())
    return f"lr_at({case['kind']!r}, step, {case['base_lr']!r}, {args})"


def compare_kind(found, trusted: dict, keep=lambda case, step: True) -> int:
    """Compare the candidate's lrs with torch's for every case of one probe; returns how many were compared."""
    expect(type(found) is dict and type(found.get("lrs")) is list, "probe result", "a dict with a list 'lrs'", found)
    rows = found["lrs"]
    cases = trusted["cases"]
    expect(len(rows) == len(cases), "number of schedules in the probe result", len(cases), len(rows))
    compared = 0
    for case, row in zip(cases, rows):
        expected = torch_trajectory(case)
        expect(type(row) is list and len(row) == len(expected), f"{describe(case)}: values for steps 0..{case['n_steps']}",
               f"a list of {len(expected)} values", row)
        for step, (got, want) in enumerate(zip(row, expected)):
            if keep(case, step):
                assert_float_close(got, want, f"{describe(case)} at step={step} (torch's value)", rtol=RTOL, atol=ATOL)
                compared += 1
    return compared


@pytest.mark.points(2)
def test_step_lr(probes, inputs):
    """'step' matches StepLR: decays by gamma every step_size scheduler steps, at the right steps."""
    compare_kind(probes["step"], inputs["step"])


@pytest.mark.points(2)
def test_multistep_lr(probes, inputs):
    """'multistep' matches MultiStepLR, including the lr exactly at each milestone."""
    compare_kind(probes["multistep"], inputs["multistep"])


@pytest.mark.points(1)
def test_exponential_lr(probes, inputs):
    """'exponential' matches ExponentialLR."""
    compare_kind(probes["exponential"], inputs["exponential"])


@pytest.mark.points(1)
def test_cosine_up_to_tmax(probes, inputs):
    """'cosine' matches CosineAnnealingLR for steps 0..T_max."""
    compared = compare_kind(probes["cosine"], inputs["cosine"], keep=lambda case, step: step <= case["params"]["T_max"])
    expect(compared > 0, "steps compared", "at least one", compared)


@pytest.mark.points(2)
def test_cosine_past_tmax(probes, inputs):
    """'cosine' matches CosineAnnealingLR after T_max too, where torch's schedule climbs back up."""
    compared = compare_kind(probes["cosine"], inputs["cosine"], keep=lambda case, step: step > case["params"]["T_max"])
    expect(compared > 0, "steps compared", "at least one", compared)


@pytest.mark.points(2)
def test_linear_lr(probes, inputs):
    """'linear' matches LinearLR for warm-ups and decays, before and after total_iters."""
    compare_kind(probes["linear"], inputs["linear"])


@pytest.mark.points(2)
def test_polynomial_lr(probes, inputs):
    """'polynomial' matches PolynomialLR for powers other than 1, before and after total_iters."""
    compare_kind(probes["polynomial"], inputs["polynomial"])
