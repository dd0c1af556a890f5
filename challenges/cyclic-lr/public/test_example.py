"""Example tests: run `pytest` in the folder that holds your solution.py.

These tests build torch's CyclicLR to get the expected values; your solution.py must not (the
grader checks that). Passing them does not guarantee full marks: the grader draws other
learning rates, step sizes and gammas.
"""

import math

import pytest
import torch
from torch.optim.lr_scheduler import CyclicLR

from solution import cyclic_lr

CASES = [
    (0.01, 0.1, 3, None, "triangular", 1.0),
    (0.01, 0.1, 2, 5, "triangular", 1.0),
    (0.002, 0.05, 3, 2, "triangular2", 1.0),
    (0.01, 0.1, 4, None, "exp_range", 0.97),
]


def torch_lrs(base_lr, max_lr, up, down, mode, gamma, n_steps):
    param = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([param], lr=base_lr)
    scheduler = CyclicLR(optimizer, base_lr=base_lr, max_lr=max_lr, step_size_up=up, step_size_down=down,
                         mode=mode, gamma=gamma, cycle_momentum=False)
    lrs = [optimizer.param_groups[0]["lr"]]
    for _ in range(n_steps):
        optimizer.step()
        scheduler.step()
        lrs.append(optimizer.param_groups[0]["lr"])
    return lrs


@pytest.mark.parametrize("base_lr, max_lr, up, down, mode, gamma", CASES)
def test_matches_torch(base_lr, max_lr, up, down, mode, gamma):
    for step, want in enumerate(torch_lrs(base_lr, max_lr, up, down, mode, gamma, 30)):
        got = cyclic_lr(step, base_lr, max_lr, up, step_size_down=down, mode=mode, gamma=gamma)
        assert math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-12), (
            f"cyclic_lr({step}, {base_lr}, {max_lr}, {up}, step_size_down={down}, mode={mode!r}, gamma={gamma}) "
            f"= {got}, torch's CyclicLR gives {want}"
        )


def test_defaults_give_a_symmetric_triangle():
    lrs = [cyclic_lr(step, 0.01, 0.1, 2) for step in range(9)]
    expected = [0.01, 0.055, 0.1, 0.055, 0.01, 0.055, 0.1, 0.055, 0.01]
    assert all(math.isclose(got, want) for got, want in zip(lrs, expected)), f"{lrs} != {expected}"
