"""Checks for l2-penalty-equivalence.

Models, data and hyperparameters are read from `reference[...]` (the same probes run on the
reference solution in the trusted process with the same seed), never from the candidate's report.
Expected values come from closed forms computed here (wd/2 * sum of squares, wd * p,
(1 - lr*wd)**steps) and from torch's own `SGD(weight_decay=wd)` replayed here on a rebuilt model.
"""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from harness.testing import assert_float_close, assert_tensor_close, expect

PENALTY_RTOL = 1e-5
STEP_RTOL = 1e-5
STEP_ATOL = 1e-6


def _closed_form_penalty(case: dict, wd: float) -> float:
    """wd/2 times the sum of squares of every trainable parameter, each (tied ones too) counted once."""
    total = 0.0
    for name in case["trainable"]:
        total += float(case["params"][name].double().pow(2).sum())
    return 0.5 * wd * total


def _check_value(probes, reference, case_name: str, what: str) -> None:
    trusted = reference["penalty"]
    wd = trusted["weight_decay"]
    case = trusted["cases"][case_name]
    expected = _closed_form_penalty(case, wd)
    reference_value = case["result"]["value"]
    if reference_value is None or not math.isclose(reference_value, expected, rel_tol=PENALTY_RTOL):
        raise RuntimeError(f"challenge broken: the reference penalty {reference_value} disagrees with the closed form {expected}")
    found = probes["penalty"]["cases"][case_name]["result"]
    expect(found["value"] is not None, f"{what}: l2_penalty(model, {wd}) (a one-element float tensor)",
           f"a value close to {expected:.8g}", f"{found['type']} of shape {found['shape']} and dtype {found['dtype']}")
    frozen = sorted(set(case["params"]) - set(case["trainable"]))
    assert_float_close(found["value"], expected,
                       f"{what}: l2_penalty(model, {wd}) = {wd}/2 * sum of squares of the trainable parameters "
                       f"{case['trainable']} (frozen, left out: {frozen})", rtol=PENALTY_RTOL, atol=0.0)


@pytest.mark.points(1)
def test_penalty_value_all_trainable(probes, reference):
    """On an MLP with every parameter trainable, the penalty equals wd/2 * sum of p**2 over weights and biases."""
    _check_value(probes, reference, "mlp", "MLP, all trainable")


@pytest.mark.points(1)
def test_penalty_value_skips_frozen_and_buffers(probes, reference):
    """Frozen parameters and BatchNorm buffers are not in the penalty; trainable norm weights and biases are."""
    _check_value(probes, reference, "frozen", "model with frozen layers, BatchNorm and LayerNorm")


@pytest.mark.points(1)
def test_penalty_value_counts_tied_weight_once(probes, reference):
    """A weight shared by an Embedding and an output Linear counts once, as the optimizer sees it."""
    _check_value(probes, reference, "tied", "model with an output layer tied to its embedding")


@pytest.mark.points(1)
def test_penalty_is_a_differentiable_scalar(probes, reference):
    """l2_penalty returns a 0-dim float tensor connected to the parameters (requires_grad, with a grad_fn)."""
    found = probes["penalty"]
    for case, want in reference["penalty"]["cases"].items():
        result = found["cases"][case]["result"]
        what = f"model {case!r}: l2_penalty(...)"
        expect(result["type"] == "Tensor", f"{what} (type)", "a torch.Tensor", result["type"])
        expect(result["shape"] == [], f"{what} (shape)", "[] (a 0-dim tensor)", result["shape"])
        expect(result["dtype"] == want["result"]["dtype"], f"{what} (dtype)", want["result"]["dtype"], result["dtype"])
        expect(result["requires_grad"], f"{what}.requires_grad", True, result["requires_grad"])
        expect(result["has_grad_fn"], f"{what}.grad_fn is not None", True, result["has_grad_fn"])


@pytest.mark.points(2)
def test_penalty_gradient_is_weight_decay_term(probes, reference):
    """Backpropagating the penalty alone gives wd * p for every trainable parameter and no gradient for frozen ones."""
    trusted = reference["penalty_grad"]
    wd = trusted["weight_decay"]
    found = probes["penalty_grad"]
    for case, want in trusted["cases"].items():
        got = found["cases"][case]
        expect(got["backpropagated"], f"model {case!r}: l2_penalty(...) can be backpropagated",
               "a one-element tensor with requires_grad=True", "a value without a graph back to the parameters")
        for name, p in want["params"].items():
            grad = got["grads"].get(name)
            if name in want["trainable"]:
                expect(grad is not None, f"model {case!r}: {name}.grad after penalty.backward()", f"{wd} * {name}", None)
                assert_tensor_close(grad, p * wd, f"model {case!r}: {name}.grad after penalty.backward() (= {wd} * {name})",
                                    rtol=PENALTY_RTOL, atol=1e-7)
            else:
                expect(grad is None, f"model {case!r}: {name}.grad (a frozen parameter)", None, grad)


def _build(arch: list) -> nn.Sequential:
    layers = []
    for token in arch:
        kind, *sizes = token.split(":")
        sizes = [int(s) for s in sizes]
        layers.append({"linear": lambda: nn.Linear(*sizes), "tanh": nn.Tanh,
                       "layernorm": lambda: nn.LayerNorm(sizes[0])}[kind]())
    return nn.Sequential(*layers)


def _torch_weight_decay_trajectory(trusted: dict) -> list:
    """torch.optim.SGD(weight_decay=wd) on the plain MSE loss, from the same start, on a rebuilt model."""
    model = _build(trusted["arch"])
    model.load_state_dict(trusted["initial"])
    for name, p in model.named_parameters():
        p.requires_grad_(name not in trusted["frozen"])
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=trusted["lr"],
                                weight_decay=trusted["weight_decay"])
    history = []
    for _ in range(trusted["steps"]):
        optimizer.zero_grad()
        F.mse_loss(model(trusted["x"]), trusted["y"]).backward()
        optimizer.step()
        history.append({name: p.detach().clone() for name, p in model.named_parameters()})
    return history


@pytest.mark.points(3)
def test_sgd_on_loss_plus_penalty_equals_sgd_weight_decay(probes, reference):
    """Plain SGD on MSE + l2_penalty moves every parameter exactly as torch's SGD(weight_decay=wd) on MSE alone."""
    trusted = reference["sgd_step"]
    expected = _torch_weight_decay_trajectory(trusted)
    for step, (want, ref) in enumerate(zip(expected, trusted["history"])):
        for name in want:
            if not torch.allclose(ref[name], want[name], rtol=STEP_RTOL, atol=STEP_ATOL):
                raise RuntimeError(f"challenge broken: the reference disagrees with torch's SGD at step {step + 1}: {name}")
    found = probes["sgd_step"]["history"]
    expect(isinstance(found, list) and len(found) == len(expected), "number of recorded steps", len(expected),
           len(found) if isinstance(found, list) else found)
    setting = f"lr {trusted['lr']}, weight_decay {trusted['weight_decay']}, frozen {trusted['frozen']}"
    for step, (got, want) in enumerate(zip(found, expected)):
        for name in want:
            kind = "frozen" if name in trusted["frozen"] else "trainable"
            assert_tensor_close(got.get(name), want[name],
                                f"{name} ({kind}) after step {step + 1} of SGD on MSE + l2_penalty vs SGD(weight_decay) ({setting})",
                                rtol=STEP_RTOL, atol=STEP_ATOL)


@pytest.mark.points(2)
def test_shrink_factor_closed_form(probes, reference):
    """shrink_factor(lr, wd, steps) equals (1 - lr*wd)**steps, the shrink of a weight whose loss gradient is zero."""
    trusted = reference["shrink"]
    found = probes["shrink"]
    expect(isinstance(found.get("values"), list) and len(found["values"]) == len(trusted["cases"]),
           "number of shrink_factor results", len(trusted["cases"]), found.get("values"))
    for (lr, wd, steps), got in zip(trusted["cases"], found["values"]):
        assert_float_close(got, (1.0 - lr * wd) ** steps, f"shrink_factor(lr={lr}, weight_decay={wd}, steps={steps})",
                           rtol=1e-9, atol=0.0)
