"""Example tests: run `pytest` in the folder that holds your solution.py.

Passing these does not guarantee full marks: the grader draws other settings and param groups,
and also checks get_last_lr() and a checkpoint round trip at a random step.
"""

import io
import math

import torch

from solution import WarmupCosine


def expected_lr(base, t, warmup, total, min_lr, start):
    if t < warmup:
        return base * (start + (1 - start) * t / warmup)
    if t >= total:
        return min_lr
    return min_lr + (base - min_lr) * (1 + math.cos(math.pi * (t - warmup) / (total - warmup))) / 2


def make_optimizer(lrs):
    params = [torch.zeros(2, requires_grad=True) for _ in lrs]
    optimizer = torch.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(params, lrs)], lr=lrs[0])
    return optimizer, params


def take_step(optimizer, params, scheduler):
    for p in params:
        p.grad = torch.ones_like(p)
    optimizer.step()
    scheduler.step()


def assert_lrs(optimizer, lrs, t, settings):
    for group, base in zip(optimizer.param_groups, lrs):
        want = expected_lr(base, t, *settings)
        assert math.isclose(group["lr"], want, rel_tol=1e-6, abs_tol=1e-10), (
            f"after {t} steps: group with base lr {base} has lr {group['lr']}, expected {want}"
        )


def test_statement_example():
    optimizer, params = make_optimizer([0.1])
    scheduler = WarmupCosine(optimizer, warmup_steps=2, total_steps=6, min_lr=0.01, warmup_start_factor=0.2)
    found = [optimizer.param_groups[0]["lr"]]
    for _ in range(7):
        take_step(optimizer, params, scheduler)
        found.append(optimizer.param_groups[0]["lr"])
    expected = [0.02, 0.06, 0.1, 0.0868198, 0.055, 0.0231802, 0.01, 0.01]
    assert all(math.isclose(f, e, rel_tol=1e-5) for f, e in zip(found, expected)), f"expected {expected}, got {found}"


def test_two_groups_past_total_steps():
    lrs, settings = [0.3, 0.05], (3, 9, 0.002, 0.1)
    optimizer, params = make_optimizer(lrs)
    scheduler = WarmupCosine(optimizer, 3, 9, min_lr=0.002, warmup_start_factor=0.1)
    assert_lrs(optimizer, lrs, 0, settings)
    for t in range(1, 14):
        take_step(optimizer, params, scheduler)
        assert_lrs(optimizer, lrs, t, settings)
        assert scheduler.get_last_lr() == [g["lr"] for g in optimizer.param_groups]


def test_resume_from_checkpoint():
    lrs, settings = [0.2, 0.04], (2, 8, 0.001, 0.0)
    optimizer, params = make_optimizer(lrs)
    scheduler = WarmupCosine(optimizer, 2, 8, min_lr=0.001)
    for _ in range(5):
        take_step(optimizer, params, scheduler)
    buffer = io.BytesIO()
    torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}, buffer)
    buffer.seek(0)
    checkpoint = torch.load(buffer)

    optimizer, params = make_optimizer(lrs)
    scheduler = WarmupCosine(optimizer, 2, 8, min_lr=0.001)
    optimizer.load_state_dict(checkpoint["optimizer"])
    scheduler.load_state_dict(checkpoint["scheduler"])
    for t in range(6, 11):
        take_step(optimizer, params, scheduler)
        assert_lrs(optimizer, lrs, t, settings)
