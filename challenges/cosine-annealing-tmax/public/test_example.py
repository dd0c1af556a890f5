"""Example tests: run `pytest` in the folder that holds your solution.py.

Passing these does not guarantee full marks: the grader uses other epochs, batch counts,
eta_min values and param groups, and also checks the weights your train() produces.
"""

import math

import torch
from torch import nn

from solution import make_scheduler, train


def cosine(base, eta_min, t, total):
    return eta_min + (base - eta_min) * (1 + math.cos(math.pi * t / total)) / 2


def test_scheduler_spans_all_steps_for_every_group():
    weights = torch.zeros(3, requires_grad=True)
    bias = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([{"params": [weights], "lr": 0.1}, {"params": [bias], "lr": 0.04}], lr=0.1)
    epochs, steps_per_epoch, eta_min = 4, 3, 0.001
    scheduler = make_scheduler(optimizer, epochs, steps_per_epoch=steps_per_epoch, eta_min=eta_min)
    total = epochs * steps_per_epoch
    for t in range(total + 1):
        if t > 0:
            weights.grad = torch.ones_like(weights)
            bias.grad = torch.ones_like(bias)
            optimizer.step()
            scheduler.step()
        for group, base in zip(optimizer.param_groups, (0.1, 0.04)):
            assert math.isclose(group["lr"], cosine(base, eta_min, t, total), rel_tol=1e-6, abs_tol=1e-10), (
                f"step {t}: group with base lr {base} has lr {group['lr']}, "
                f"expected {cosine(base, eta_min, t, total)}"
            )


def test_train_reports_the_lr_of_every_batch():
    torch.manual_seed(0)
    model = nn.Linear(2, 1)
    loader = [(torch.randn(4, 2), torch.randn(4, 1)) for _ in range(3)]
    epochs, lr = 4, 0.1
    lrs = train(model, loader, epochs, lr)
    total = epochs * len(loader)
    assert len(lrs) == total, f"expected {total} lrs (one per batch), got {len(lrs)}"
    expected = [cosine(lr, 0.0, t, total) for t in range(total)]
    for t, (got, want) in enumerate(zip(lrs, expected)):
        assert math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-10), f"batch {t}: lr {got}, expected {want}"
