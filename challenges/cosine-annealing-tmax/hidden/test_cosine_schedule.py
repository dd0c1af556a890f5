"""Checks for cosine-annealing-tmax.

Every setting and all the data (epochs, batch counts, base lrs, eta_min, x, y, initial weights) are
read from `inputs[...]`, drawn on the trusted side; nothing the candidate's probe reports about its
own inputs is believed. Expected learning rates come from the closed form, computed here with
`math`; expected weights come from plain SGD run here. The scheduler probes' float64 parameters
get a gradient of ones at every step, so each step moves them by exactly the lr SGD used, which is
compared with the closed form too.
"""

import math

import pytest
import torch
import torch.nn.functional as F

from harness.testing import assert_float_close, assert_tensor_close, expect

LR_RTOL = 1e-6
LR_ATOL = 1e-10
USED_ATOL = 1e-12  # a move of a float64 parameter of size < 50: rounding stays near 1e-14
# float32 training: correct solutions land within ~1e-7 of the trusted replay; a one-step lr shift moves weights far more.
WEIGHT_RTOL = 2e-5
WEIGHT_ATOL = 2e-6


def cosine_lr(base: float, eta_min: float, t: int, total: int) -> float:
    """eta_min + (base - eta_min) * (1 + cos(pi * t / T)) / 2."""
    return eta_min + (base - eta_min) * (1 + math.cos(math.pi * t / total)) / 2


def rows_of(found, key: str, count: int, n_groups: int, what: str) -> list:
    """found[key]: a list of `count` rows, each a list of `n_groups` numbers."""
    expect(isinstance(found, dict) and key in found, f"{what} (probe result)", f"a dict with {key!r}", found)
    rows = found[key]
    expect(isinstance(rows, list) and len(rows) == count, f"{what}: recorded steps (t = 0 .. T)", count,
           len(rows) if isinstance(rows, list) else rows)
    for step, row in enumerate(rows):
        expect(isinstance(row, list) and len(row) == n_groups and all(isinstance(value, float) for value in row),
               f"{what}: {key} of the param groups after step {step}",
               f"a list of {n_groups} numbers (a plain dict per group, an int or float lr)", row)
    return rows


def check_scheduler_trace(found: dict, config: dict, what: str) -> None:
    """Every group's lr after t = 0 .. T scheduler steps, as the group holds it and as SGD used it, is the closed form."""
    total = config["epochs"] * config["steps_per_epoch"]
    eta_min, base_lrs = config["eta_min"], config["base_lrs"]
    setting = (f"eta_min {eta_min}, T = epochs {config['epochs']} x steps_per_epoch {config['steps_per_epoch']} = {total}")
    lrs = rows_of(found, "lrs", total + 1, len(base_lrs), what)
    positions = rows_of(found, "params", total + 1, len(base_lrs), what)
    for group, base in enumerate(base_lrs):
        expected = [cosine_lr(base, eta_min, t, total) for t in range(total + 1)]
        for t in range(total + 1):
            assert_float_close(lrs[t][group], expected[t],
                               f"{what}: lr of param group {group} after {t} scheduler steps (base lr {base}, {setting})",
                               rtol=LR_RTOL, atol=LR_ATOL)
        for t in range(total):  # the lr SGD used for the step from t to t + 1 moved the parameter by exactly that
            assert_float_close(positions[t][group] - positions[t + 1][group], expected[t],
                               f"{what}: lr SGD used for param group {group} at step {t + 1} (its parameter's move; "
                               f"base lr {base}, {setting})", rtol=LR_RTOL, atol=USED_ATOL)


def sgd_replay(config: dict, lrs: list[float]) -> tuple[torch.Tensor, torch.Tensor]:
    """Plain SGD (no momentum) on MSE loss, batches in order, from the trusted initial weights, with lrs[k] for batch k."""
    x, y = config["x"], config["y"]
    size = config["batch_size"]
    weight = config["initial_weight"].clone()
    bias = config["initial_bias"].clone()
    lrs = iter(lrs)
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


def closed_form_train_lrs(config: dict) -> list[float]:
    total = config["epochs"] * config["n_batches"]
    return [cosine_lr(config["lr"], config["eta_min"], t, total) for t in range(total)]


def trained(found, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    expect(isinstance(found, dict) and "final_weight" in found and "final_bias" in found,
           f"{name} (probe result)", "a dict with the final weights", found)
    return found["final_weight"], found["final_bias"]


def describe_train(config: dict) -> str:
    total = config["epochs"] * config["n_batches"]
    return (f"lr {config['lr']}, eta_min {config['eta_min']}, "
            f"{config['epochs']} epochs x {config['n_batches']} batches = {total} steps")


@pytest.mark.points(2)
def test_scheduler_defaults(probes, inputs):
    """make_scheduler(optimizer, epochs) with default arguments anneals from the base lr to 0 over exactly `epochs` steps."""
    check_scheduler_trace(probes["scheduler_defaults"], inputs["scheduler_defaults"], "make_scheduler(opt, epochs)")


@pytest.mark.points(2)
def test_scheduler_counts_steps_not_epochs(probes, inputs):
    """With steps_per_epoch > 1 the half cosine spans epochs * steps_per_epoch scheduler steps."""
    check_scheduler_trace(probes["scheduler_steps"], inputs["scheduler_steps"],
                          "make_scheduler(opt, epochs, steps_per_epoch)")


@pytest.mark.points(2)
def test_scheduler_param_groups_and_eta_min(probes, inputs):
    """Every param group anneals from its own base lr down to eta_min > 0."""
    check_scheduler_trace(probes["scheduler_groups"], inputs["scheduler_groups"],
                          "make_scheduler(opt, epochs, steps_per_epoch, eta_min) with several param groups")


@pytest.mark.points(2)
def test_train_returns_the_lrs_it_used(probes, inputs):
    """train() returns one lr per batch, and they are the lrs its optimizer steps used: plain SGD replayed here with them gives the trained weights.

    Gated on real data: training must have moved the weights, so that an untouched model and a list
    of zeros cannot agree. Whether those lrs follow the cosine is judged by the next check.
    """
    for name in ("train_plain", "train_eta_min"):
        config = inputs[name]
        found = probes[name]
        total = config["epochs"] * config["n_batches"]
        expect(isinstance(found, dict) and isinstance(found.get("lrs"), list), f"{name}: train(...)'s result",
               "a list of floats", found.get("lrs") if isinstance(found, dict) else found)
        lrs = found["lrs"]
        expect(len(lrs) == total, f"{name}: length of train(...)'s list ({describe_train(config)})", total, len(lrs))
        for index, value in enumerate(lrs):
            expect(isinstance(value, float) and math.isfinite(value), f"{name}: train(...)'s list, entry {index}",
                   "a finite float", value)
        weight, bias = trained(found, name)
        moved = not (torch.allclose(weight, config["initial_weight"], rtol=WEIGHT_RTOL, atol=WEIGHT_ATOL)
                     and torch.allclose(bias, config["initial_bias"], rtol=WEIGHT_RTOL, atol=WEIGHT_ATOL))
        expect(moved, f"{name}: the model after train(...) (the data this check compares with)",
               "weights moved by training", "the initial weights")
        replay_weight, replay_bias = sgd_replay(config, lrs)
        what = f"{name}: weights after train(...) vs. plain SGD replayed with the lrs train(...) returned"
        assert_tensor_close(weight, replay_weight, f"{what} (weight)", rtol=WEIGHT_RTOL, atol=WEIGHT_ATOL)
        assert_tensor_close(bias, replay_bias, f"{what} (bias)", rtol=WEIGHT_RTOL, atol=WEIGHT_ATOL)


@pytest.mark.points(2)
def test_train_weights_follow_schedule(probes, inputs):
    """The trained weights equal plain SGD run with the closed-form lr on each batch, optimizer step before scheduler step."""
    for name in ("train_plain", "train_eta_min"):
        config = inputs[name]
        weight, bias = trained(probes[name], name)
        expected_weight, expected_bias = sgd_replay(config, closed_form_train_lrs(config))
        what = f"{name}: final {{}} after train(...) ({describe_train(config)})"
        assert_tensor_close(weight, expected_weight, what.format("weight"), rtol=WEIGHT_RTOL, atol=WEIGHT_ATOL)
        assert_tensor_close(bias, expected_bias, what.format("bias"), rtol=WEIGHT_RTOL, atol=WEIGHT_ATOL)
