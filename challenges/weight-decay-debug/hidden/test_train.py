"""Checks for weight-decay-debug.

Models, initial values, data and hyperparameters are read from `inputs[...]` (drawn on the
trusted side, hidden/inputs.py), never from the candidate's report: the probes only report the
trained parameters. Expected weights come from torch itself (a rebuilt model trained here with
`torch.optim.SGD(weight_decay=wd)` on MSE against y as a column) and, for all-zero data, from
closed forms: (1 - lr*wd)**epochs where the loss gradient is zero, and (1 - lr*(2 + wd))**epochs
for the output bias, whose MSE gradient is 2*b when X = 0 and y = 0. The documented closed forms
(a Linear(d, 1)'s weight and bias) and the undocumented all-decay model are judged by separate checks.
"""

import pytest
import torch
from torch import nn

from harness.testing import assert_equal, assert_tensor_close, expect

TRAIN_RTOL = 1e-4
TRAIN_ATOL = 1e-5
DECAY_RTOL = 2e-5
DECAY_ATOL = 1e-7


def _build(arch: list) -> nn.Sequential:
    layers = []
    for token in arch:
        kind, *sizes = token.split(":")
        sizes = [int(s) for s in sizes]
        if kind == "linear":
            layers.append(nn.Linear(*sizes))
        elif kind == "linear_nobias":
            layers.append(nn.Linear(*sizes, bias=False))
        elif kind == "tanh":
            layers.append(nn.Tanh())
        elif kind == "relu":
            layers.append(nn.ReLU())
        else:
            raise RuntimeError(f"challenge broken: unknown layer {token!r}")
    return nn.Sequential(*layers)


def _torch_trajectory(case: dict) -> dict:
    """Full-batch torch.optim.SGD(lr, weight_decay) on MSE(model(X), y[:, None]), `epochs` steps, from the same start."""
    config = case["config"]
    model = _build(case["arch"])
    model.load_state_dict(case["initial"])
    optimizer = torch.optim.SGD(model.parameters(), lr=config["lr"], weight_decay=config["weight_decay"])
    target = case["y"].reshape(-1, 1)
    for _ in range(config["epochs"]):
        optimizer.zero_grad()
        nn.functional.mse_loss(model(case["x"]), target).backward()
        optimizer.step()
    return {name: p.detach().clone() for name, p in model.named_parameters()}


def _trained(found, label: str) -> dict:
    """The candidate's report for one case: a dict of parameter names to values."""
    expect(isinstance(found, dict) and all(isinstance(name, str) for name in found),
           f"{label}: the returned model's named_parameters()", "a dict of names to tensors", found)
    return found


def _setting(case: dict) -> str:
    config = case["config"]
    return (f"{' -> '.join(case['arch'])}, X {list(case['x'].shape)}, y {list(case['y'].shape)}, "
            f"epochs {config['epochs']}, lr {config['lr']}, weight_decay {config['weight_decay']}")


def _compare_trained(found, case: dict, label: str) -> None:
    expected = _torch_trajectory(case)
    got = _trained(found, label)
    assert_equal(sorted(got), sorted(expected), f"{label}: parameter names of the returned model")
    for name, want in expected.items():
        assert_tensor_close(got[name], want, f"{label}: {name} after train(...) vs full-batch SGD with weight decay ({_setting(case)})",
                            rtol=TRAIN_RTOL, atol=TRAIN_ATOL)


@pytest.mark.points(2)
def test_linear_regression_weights(probes, inputs):
    """On a Linear(d, 1) with y of shape (n,), the trained weights match full-batch SGD(weight_decay) on MSE."""
    _compare_trained(probes["train_linear"], inputs["train_linear"], "Linear(d, 1)")


@pytest.mark.points(3)
def test_mlp_weights(probes, inputs):
    """On two MLPs of seeded widths, every trained parameter matches full-batch SGD(weight_decay) on MSE."""
    found, sent = probes["train_mlp"], inputs["train_mlp"]
    expect(isinstance(found, dict), "train_mlp (probe result)", "a dict", found)
    for case in ("mlp", "deep"):
        _compare_trained(found.get(case), sent[case], f"MLP {case!r}")


def _zero_case(probes, inputs, case: str):
    sent = inputs["zero_data"]["cases"][case]
    found = probes["zero_data"]
    expect(isinstance(found, dict), "zero_data (probe result)", "a dict", found)
    return _trained(found.get(case), case), sent


def _assert_scaled(got: dict, sent: dict, name: str, factor: float, formula: str, label: str) -> None:
    expect(name in got, f"{label}: parameter {name} of the returned model", name, sorted(got))
    config = sent["config"]
    assert_tensor_close(got[name], sent["initial"][name] * factor,
                        f"{label} ({' -> '.join(sent['arch'])}): {name} after train(...) (= initial * {formula} = initial * "
                        f"{factor:.6g}; X = 0, y = 0, epochs {config['epochs']}, lr {config['lr']}, "
                        f"weight_decay {config['weight_decay']})", rtol=DECAY_RTOL, atol=DECAY_ATOL)


@pytest.mark.points(1)
def test_zero_data_weight_shrinks_by_decay(probes, inputs):
    """With X = 0 and y = 0, a Linear(d, 1)'s weight gets no loss gradient and becomes w * (1 - lr*wd)**epochs (the statement's closed form)."""
    got, sent = _zero_case(probes, inputs, "output_bias")
    config = sent["config"]
    factor = (1.0 - config["lr"] * config["weight_decay"]) ** config["epochs"]
    _assert_scaled(got, sent, "0.weight", factor, "(1 - lr*wd)**epochs", "Linear(d, 1)")


@pytest.mark.points(1)
def test_zero_data_output_bias(probes, inputs):
    """With X = 0 and y = 0, a Linear(d, 1)'s bias b gets MSE gradient 2*b plus decay: it becomes b * (1 - lr*(2 + wd))**epochs."""
    got, sent = _zero_case(probes, inputs, "output_bias")
    config = sent["config"]
    factor = (1.0 - config["lr"] * (2.0 + config["weight_decay"])) ** config["epochs"]
    _assert_scaled(got, sent, "0.bias", factor, "(1 - lr*(2 + wd))**epochs", "Linear(d, 1)")


@pytest.mark.points(1)
def test_zero_gradient_model_only_decays(probes, inputs):
    """With X = 0 and y = 0, an MLP whose ReLU units are all off gets no loss gradient: every parameter, biases too, shrinks by (1 - lr*wd)**epochs."""
    got, sent = _zero_case(probes, inputs, "decay_only")
    config = sent["config"]
    factor = (1.0 - config["lr"] * config["weight_decay"]) ** config["epochs"]
    assert_equal(sorted(got), sorted(sent["initial"]), "the MLP's parameter names of the returned model")
    for name in sent["initial"]:
        _assert_scaled(got, sent, name, factor, "(1 - lr*wd)**epochs", "MLP with inactive ReLU units")
