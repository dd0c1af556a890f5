"""Example tests: run `pytest` in the folder that holds your solution.py.

These tests build torch's schedulers to get the expected values; your solution.py must not (the
grader checks that). Passing them does not guarantee full marks: the grader draws other
parameters and steps, and goes further past T_max and total_iters.
"""

import math

import pytest
import torch
from torch.optim import lr_scheduler

from solution import lr_at

CASES = [
    ("step", 0.1, lr_scheduler.StepLR, {"step_size": 3, "gamma": 0.5}),
    ("multistep", 0.1, lr_scheduler.MultiStepLR, {"milestones": [2, 5, 9], "gamma": 0.1}),
    ("exponential", 0.3, lr_scheduler.ExponentialLR, {"gamma": 0.9}),
    ("cosine", 0.1, lr_scheduler.CosineAnnealingLR, {"T_max": 4, "eta_min": 0.001}),
    ("linear", 0.1, lr_scheduler.LinearLR, {"start_factor": 0.25, "end_factor": 1.0, "total_iters": 3}),
    ("polynomial", 0.2, lr_scheduler.PolynomialLR, {"total_iters": 4, "power": 2.0}),
]


def torch_lrs(scheduler_class, base_lr, params, n_steps):
    param = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([param], lr=base_lr)
    scheduler = scheduler_class(optimizer, **params)
    lrs = [optimizer.param_groups[0]["lr"]]
    for _ in range(n_steps):
        optimizer.step()
        scheduler.step()
        lrs.append(optimizer.param_groups[0]["lr"])
    return lrs


@pytest.mark.parametrize("kind, base_lr, scheduler_class, params", CASES, ids=[case[0] for case in CASES])
def test_matches_torch(kind, base_lr, scheduler_class, params):
    for step, want in enumerate(torch_lrs(scheduler_class, base_lr, params, 12)):
        got = lr_at(kind, step, base_lr, **params)
        assert math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-12), (
            f"lr_at({kind!r}, {step}, {base_lr}, **{params}) = {got}, torch's scheduler gives {want}"
        )


def test_a_few_values_by_hand():
    assert math.isclose(lr_at("step", 6, 0.1, step_size=3, gamma=0.5), 0.025)
    assert math.isclose(lr_at("multistep", 2, 0.1, milestones=[2, 5], gamma=0.1), 0.01)
    assert math.isclose(lr_at("cosine", 6, 0.1, T_max=4, eta_min=0.0), 0.05)
    assert math.isclose(lr_at("linear", 0, 0.1, start_factor=0.25, end_factor=1.0, total_iters=3), 0.025)
