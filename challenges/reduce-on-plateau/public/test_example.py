"""Example tests: run `pytest` in the folder that holds your solution.py.

Passing these does not guarantee full marks: the grader uses other data, sizes, epochs and lrs,
and also compares your losses and final weights with a correct run.
"""

import math

import torch
from torch import nn

from solution import fit


def make_task(seed, noisy_validation):
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(3, 1, generator=g)
    x_train = torch.randn(44, 3, generator=g)
    y_train = 2 * torch.tanh(x_train @ w)
    x_val = torch.randn(30, 3, generator=g)
    y_val = torch.randn(30, 1, generator=g) if noisy_validation else 2 * torch.tanh(x_val @ w)
    train = [(x_train[i:i + 8], y_train[i:i + 8]) for i in range(0, 44, 8)]  # last batch: 4 samples
    val = [(x_val[i:i + 7], y_val[i:i + 7]) for i in range(0, 30, 7)]  # last batch: 2 samples
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(3, 8), nn.BatchNorm1d(8), nn.Tanh(), nn.Linear(8, 1))
    return model, train, val


def torch_plateau_lrs(val_losses, lr):
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=0.5, patience=2)
    lrs = []
    for loss in val_losses:
        lrs.append(optimizer.param_groups[0]["lr"])
        scheduler.step(loss)
    return lrs


def test_lr_follows_the_validation_loss():
    model, train, val = make_task(0, noisy_validation=True)
    history = fit(model, train, val, epochs=12, lr=0.02)
    assert [h["epoch"] for h in history] == list(range(12))
    val_losses = [h["val_loss"] for h in history]
    expected = torch_plateau_lrs(val_losses, 0.02)
    found = [h["lr"] for h in history]
    assert all(math.isclose(f, e, rel_tol=1e-7) for f, e in zip(found, expected)), (
        f"val losses {val_losses} call for lrs {expected}, got {found}"
    )
    assert found[-1] < found[0], f"validation loss stalls on this task, so the lr should drop; got {found}"


def test_val_loss_is_the_mean_over_all_validation_samples():
    model, train, val = make_task(1, noisy_validation=False)
    history = fit(model, train, val, epochs=3, lr=0.02)
    model.eval()
    with torch.no_grad():
        x = torch.cat([xb for xb, _ in val])
        y = torch.cat([yb for _, yb in val])
        expected = nn.functional.mse_loss(model(x), y).item()
    assert math.isclose(history[-1]["val_loss"], expected, rel_tol=1e-5), (
        f"last epoch's val_loss: expected {expected}, got {history[-1]['val_loss']}"
    )
