"""Checks for cosine-annealing-tmax.

Expected learning rates come from the closed form, computed here with `math`; expected weights come
from plain SGD run here with those closed-form lrs. The inputs (epochs, batch counts, base lrs,
eta_min, data, initial weights) are read from `reference[...]`: the same probe run on the reference
solution in the trusted process with the same seed, so nothing the candidate's probe reports about
its own inputs is believed.
"""

import math

import pytest
import torch
import torch.nn.functional as F

from harness.testing import assert_float_close, assert_tensor_close, expect

LR_RTOL = 1e-6
LR_ATOL = 1e-10
# float32 training: correct solutions land within ~1e-7 of the trusted replay; a one-step lr shift moves weights far more.
WEIGHT_RTOL = 2e-5
WEIGHT_ATOL = 2e-6


def cosine_lr(base: float, eta_min: float, t: int, total: int) -> float:
    """eta_min + (base - eta_min) * (1 + cos(pi * t / T)) / 2."""
    return eta_min + (base - eta_min) * (1 + math.cos(math.pi * t / total)) / 2


def compare_trace(found, expected: list[float], what: str, describe) -> None:
    """A list of numbers as long as `expected`, each close to its twin; `describe(t)` names entry t."""
    expect(isinstance(found, list), f"{what} (type)", "a list", type(found).__name__)
    expect(len(found) == len(expected), f"{what} (length)", len(expected), len(found))
    for t, (got, want) in enumerate(zip(found, expected)):
        assert_float_close(got, want, describe(t), rtol=LR_RTOL, atol=LR_ATOL)


def group_column(rows, group: int, n_groups: int, what: str) -> list:
    """Column `group` of a per-step list of per-group lrs, after checking the rows' shape."""
    expect(isinstance(rows, list), f"{what} (type)", "a list of per-step rows", type(rows).__name__)
    for step, row in enumerate(rows):
        expect(isinstance(row, list) and len(row) == n_groups, f"{what}: param-group lrs after step {step}",
               f"a list of {n_groups} lrs", row)
    return [row[group] for row in rows]


def check_scheduler_trace(found: dict, trusted: dict, what: str) -> None:
    config = trusted["config"]
    total = config["epochs"] * config["steps_per_epoch"]
    eta_min = config["eta_min"]
    base_lrs = config["base_lrs"]
    expect(isinstance(found, dict) and "lrs" in found, f"{what} (probe result)", "a dict with 'lrs'", found)
    rows = found["lrs"]
    expect(isinstance(rows, list) and len(rows) == total + 1, f"{what} (rows: t = 0 .. T with T = {total})",
           total + 1, len(rows) if isinstance(rows, list) else rows)
    for group, base in enumerate(base_lrs):
        expected = [cosine_lr(base, eta_min, t, total) for t in range(total + 1)]
        found_column = group_column(rows, group, len(base_lrs), what)
        setting = (f"base lr {base}, eta_min {eta_min}, "
                   f"T = epochs {config['epochs']} x steps_per_epoch {config['steps_per_epoch']} = {total}")
        compare_trace(found_column, expected, f"{what}: lrs of param group {group}",
                      lambda t: f"{what}: lr of param group {group} after {t} scheduler steps ({setting})")


def expected_train_lrs(config: dict) -> list[float]:
    total = config["epochs"] * config["n_batches"]
    return [cosine_lr(config["lr"], config["eta_min"], t, total) for t in range(total)]


def sgd_with_closed_form(trusted: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """Plain SGD (no momentum) on MSE loss, batches in order, with the closed-form lr for each batch."""
    config = trusted["config"]
    x, y = trusted["x"], trusted["y"]
    size = config["batch_size"]
    weight = trusted["initial_weight"].clone()
    bias = trusted["initial_bias"].clone()
    lrs = iter(expected_train_lrs(config))
    for _ in range(config["epochs"]):
        for start in range(0, x.shape[0], size):
            lr = next(lrs)
            w = weight.clone().requires_grad_(True)
            b = bias.clone().requires_grad_(True)
            loss = F.mse_loss(F.linear(x[start:start + size], w, b), y[start:start + size])
            grad_w, grad_b = torch.autograd.grad(loss, (w, b))
            weight = weight - lr * grad_w
            bias = bias - lr * grad_b
    return weight, bias


@pytest.mark.points(2)
def test_scheduler_defaults(probes, reference):
    """make_scheduler(optimizer, epochs) with default arguments anneals from the base lr to 0 over exactly `epochs` steps."""
    check_scheduler_trace(probes["scheduler_defaults"], reference["scheduler_defaults"], "make_scheduler(opt, epochs)")


@pytest.mark.points(2)
def test_scheduler_counts_steps_not_epochs(probes, reference):
    """With steps_per_epoch > 1 the half cosine spans epochs * steps_per_epoch scheduler steps."""
    check_scheduler_trace(probes["scheduler_steps"], reference["scheduler_steps"],
                          "make_scheduler(opt, epochs, steps_per_epoch)")


@pytest.mark.points(2)
def test_scheduler_param_groups_and_eta_min(probes, reference):
    """Every param group anneals from its own base lr down to eta_min > 0."""
    check_scheduler_trace(probes["scheduler_groups"], reference["scheduler_groups"],
                          "make_scheduler(opt, epochs, steps_per_epoch, eta_min) with several param groups")


@pytest.mark.points(2)
def test_train_returns_per_batch_lrs(probes, reference):
    """train() returns the lr used for each batch: the closed-form cosine over epochs * len(loader) steps."""
    for name in ("train_plain", "train_eta_min"):
        found, trusted = probes[name], reference[name]
        config = trusted["config"]
        expect(isinstance(found, dict) and "lrs" in found, f"{name} (probe result)", "a dict with 'lrs'", found)
        total = config["epochs"] * config["n_batches"]
        setting = (f"lr {config['lr']}, eta_min {config['eta_min']}, "
                   f"{config['epochs']} epochs x {config['n_batches']} batches = {total} steps")
        compare_trace(found["lrs"], expected_train_lrs(config), f"{name}: list returned by train(...)",
                      lambda t: f"{name}: lr train(...) reports for batch {t} ({setting})")


@pytest.mark.points(2)
def test_train_weights_follow_schedule(probes, reference):
    """The trained weights equal plain SGD run with the closed-form lr on each batch, optimizer step before scheduler step."""
    for name in ("train_plain", "train_eta_min"):
        found, trusted = probes[name], reference[name]
        expect(isinstance(found, dict) and "final_weight" in found and "final_bias" in found,
               f"{name} (probe result)", "a dict with the final weights", found)
        weight, bias = sgd_with_closed_form(trusted)
        assert_tensor_close(found["final_weight"], weight, f"{name}: final weight after train(...)", rtol=WEIGHT_RTOL, atol=WEIGHT_ATOL)
        assert_tensor_close(found["final_bias"], bias, f"{name}: final bias after train(...)", rtol=WEIGHT_RTOL, atol=WEIGHT_ATOL)
