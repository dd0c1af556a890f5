"""Checks for weight-decay-debug.

Models, data and hyperparameters are read from `reference[...]` (the same probes run on the
reference solution in the trusted process with the same seed), never from the candidate's report.
Expected weights come from torch itself (a rebuilt model trained here with
`torch.optim.SGD(weight_decay=wd)` on MSE against y as a column) and, for all-zero data, from
closed forms: (1 - lr*wd)**epochs where the loss gradient is zero, and (1 - lr*(2 + wd))**epochs
for the output bias, whose MSE gradient is 2*b when X = 0 and y = 0.
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


def _torch_trajectory(trusted: dict) -> dict:
    """Full-batch torch.optim.SGD(lr, weight_decay) on MSE(model(X), y[:, None]), `epochs` steps, from the same start."""
    config = trusted["config"]
    model = _build(trusted["arch"])
    model.load_state_dict(trusted["initial"])
    optimizer = torch.optim.SGD(model.parameters(), lr=config["lr"], weight_decay=config["weight_decay"])
    target = trusted["y"].reshape(-1, 1)
    for _ in range(config["epochs"]):
        optimizer.zero_grad()
        nn.functional.mse_loss(model(trusted["x"]), target).backward()
        optimizer.step()
    return {name: p.detach().clone() for name, p in model.named_parameters()}


def _compare_trained(found: dict, trusted: dict, label: str) -> None:
    expected = _torch_trajectory(trusted)
    for name, want in expected.items():
        if not torch.allclose(trusted["trained"][name], want, rtol=TRAIN_RTOL, atol=TRAIN_ATOL):
            raise RuntimeError(f"challenge broken: the reference disagrees with torch's SGD on {label}: {name}")
    got = found["trained"]
    assert_equal(sorted(got), sorted(expected), f"{label}: parameter names of the returned model")
    config = trusted["config"]
    setting = (f"{' -> '.join(trusted['arch'])}, X {list(trusted['x'].shape)}, y {list(trusted['y'].shape)}, "
               f"epochs {config['epochs']}, lr {config['lr']}, weight_decay {config['weight_decay']}")
    for name, want in expected.items():
        assert_tensor_close(got[name], want, f"{label}: {name} after train(...) vs full-batch SGD with weight decay ({setting})",
                            rtol=TRAIN_RTOL, atol=TRAIN_ATOL)


@pytest.mark.points(2)
def test_linear_regression_weights(probes, reference):
    """On a Linear(d, 1) with y of shape (n,), the trained weights match full-batch SGD(weight_decay) on MSE."""
    _compare_trained(probes["train_linear"], reference["train_linear"], "Linear(d, 1)")


@pytest.mark.points(3)
def test_mlp_weights(probes, reference):
    """On two MLPs of seeded widths, every trained parameter matches full-batch SGD(weight_decay) on MSE."""
    found, trusted = probes["train_mlp"], reference["train_mlp"]
    for case in trusted:
        _compare_trained(found[case], trusted[case], f"MLP {case!r}")


def _zero_data_setting(config: dict) -> str:
    return f"X = 0, y = 0, epochs {config['epochs']}, lr {config['lr']}, weight_decay {config['weight_decay']}"


@pytest.mark.points(2)
def test_zero_gradient_weights_shrink_by_decay(probes, reference):
    """With X = 0 and y = 0, every parameter whose loss gradient is zero (biases too) shrinks by (1 - lr*wd)**epochs."""
    trusted = reference["zero_data"]
    config = trusted["config"]
    factor = (1.0 - config["lr"] * config["weight_decay"]) ** config["epochs"]
    found = probes["zero_data"]["cases"]
    names = {"decay_only": list(trusted["cases"]["decay_only"]["initial"]), "output_bias": ["0.weight"]}
    for case, params in names.items():
        initial = trusted["cases"][case]["initial"]
        got = found[case]["trained"]
        for name in params:
            expect(name in got, f"{case!r}: parameter {name} of the returned model", name, sorted(got))
            assert_tensor_close(got[name], initial[name] * factor,
                                f"{case!r} ({' -> '.join(trusted['cases'][case]['arch'])}): {name} after train(...) "
                                f"(= initial * (1 - lr*wd)**epochs = initial * {factor:.6g}; {_zero_data_setting(config)})",
                                rtol=DECAY_RTOL, atol=DECAY_ATOL)


@pytest.mark.points(1)
def test_zero_data_output_bias(probes, reference):
    """With X = 0 and y = 0, a Linear(d, 1)'s bias b gets MSE gradient 2*b plus decay: it becomes b * (1 - lr*(2 + wd))**epochs."""
    trusted = reference["zero_data"]
    config = trusted["config"]
    factor = (1.0 - config["lr"] * (2.0 + config["weight_decay"])) ** config["epochs"]
    initial = trusted["cases"]["output_bias"]["initial"]["0.bias"]
    got = probes["zero_data"]["cases"]["output_bias"]["trained"]
    expect("0.bias" in got, "Linear(d, 1): parameter 0.bias of the returned model", "0.bias", sorted(got))
    assert_tensor_close(got["0.bias"], initial * factor,
                        f"Linear(d, 1): bias after train(...) (= initial * (1 - lr*(2 + wd))**epochs = initial * {factor:.6g}; "
                        f"{_zero_data_setting(config)})", rtol=DECAY_RTOL, atol=DECAY_ATOL)
