"""Checks for cyclic-lr.

Expected values come from torch's own CyclicLR, run here on the trusted side: an SGD optimizer over
one dummy parameter, CyclicLR(optimizer, base_lr, max_lr, step_size_up, ..., cycle_momentum=False),
and after each of `n_steps` calls to scheduler.step() the optimizer's lr is read. The cases are read
from `reference[...]`: the same probe run on the reference solution in this trusted process with the
same seed. Nothing the candidate's probe reports about its inputs is believed; only its `lrs` are
compared.

The rule "do not run torch's CyclicLR" is checked by parsing `submission_source` with `ast` (never
running it).
"""


import pytest
from torch.optim.lr_scheduler import CyclicLR

from harness.testing import TORCH_LR_SCHEDULERS, assert_float_close, expect, forbid_references, torch_lr_trace

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


def compare(found, trusted) -> None:
    """Compare the candidate's lrs with torch's CyclicLR for every case of one probe, every step."""
    expect(isinstance(found, dict) and isinstance(found.get("lrs"), list), "probe result",
           "a dict with a list 'lrs'", found)
    rows = found["lrs"]
    cases = trusted["cases"]
    expect(len(rows) == len(cases), "number of schedules in the probe result", len(cases), len(rows))
    for case, row in zip(cases, rows):
        expected = torch_trajectory(case)
        expect(isinstance(row, list) and len(row) == len(expected),
               f"{describe(case)}: values for steps 0..{case['n_steps']}", f"a list of {len(expected)} values", row)
        for step, (got, want) in enumerate(zip(row, expected)):
            assert_float_close(got, want, f"{describe(case)} at step={step} (torch's CyclicLR value)",
                               rtol=RTOL, atol=ATOL)


@pytest.mark.points(2)
def test_triangular_defaults(probes, reference):
    """cyclic_lr(step, base_lr, max_lr, step_size_up) with defaults follows CyclicLR's symmetric triangle."""
    compare(probes["triangular"], reference["triangular"])


@pytest.mark.points(2)
def test_triangular_asymmetric(probes, reference):
    """With step_size_down != step_size_up the rise and the fall have their own lengths, as in CyclicLR."""
    compare(probes["asymmetric"], reference["asymmetric"])


@pytest.mark.points(2)
def test_triangular2(probes, reference):
    """mode='triangular2': full amplitude in the first cycle, halved at the start of each later cycle."""
    compare(probes["triangular2"], reference["triangular2"])


@pytest.mark.points(2)
def test_exp_range(probes, reference):
    """mode='exp_range': the amplitude shrinks by gamma at every step, as in CyclicLR."""
    compare(probes["exp_range"], reference["exp_range"])


@pytest.mark.points(1)
def test_does_not_use_torch_cyclic_lr(submission_source):
    """The submission computes the lr itself: it never refers to torch.optim.lr_scheduler, CyclicLR or another scheduler class."""
    forbid_references(submission_source, TORCH_LR_SCHEDULERS, "no torch lr schedulers in solution.py")


@pytest.fixture(autouse=True)
def own_implementation_only(request, submission_source):
    """The rule gates every behaviour check: values that torch computed for the submission earn nothing."""
    if request.node.name != "test_does_not_use_torch_cyclic_lr":
        forbid_references(submission_source, TORCH_LR_SCHEDULERS,
                          "no torch lr schedulers in solution.py (every check fails while it is broken)")
