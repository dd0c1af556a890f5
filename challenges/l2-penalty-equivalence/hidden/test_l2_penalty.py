"""Checks for l2-penalty-equivalence.

Models, parameter values, weight decays, (lr, wd, steps) triples come from `inputs[...]` (drawn on
the trusted side, a copy went into the sandbox); the SGD run's lr and data from `answers[...]`
(never in the sandbox). Expected values are closed forms computed here (wd/2 * sum of squares,
wd * p, (1 - lr*wd)**steps) and torch's own `SGD(weight_decay=wd)` step, taken here on a model
rebuilt from the inputs. The sandbox only reports what l2_penalty returned at each parameter
point and, for the gradient checks, the gradient autograd gives for it; every optimizer step is
taken here. A gradient report counts only when the call left the probe's parameters as they were:
same values, same requires_grad flags, same class, and no hook on them (a hook would rewrite the
gradient the probe computes).
"""

import importlib.util
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from harness.testing import assert_float_close, assert_tensor_close, expect


def _trusted_inputs_module():
    """hidden/inputs.py (trusted code): its model builder, so that the checks rebuild the very models the probes built."""
    spec = importlib.util.spec_from_file_location("_l2_penalty_equivalence_inputs", Path(__file__).with_name("inputs.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MODELS = _trusted_inputs_module()
PENALTY_RTOL = 1e-5
GRAD_RTOL, GRAD_ATOL = 1e-5, 1e-7
STEP_RTOL, STEP_ATOL = 1e-5, 1e-6
CASE_NAMES = {"mlp": "MLP, all trainable", "frozen": "model with frozen layers, BatchNorm and LayerNorm",
              "tied": "model with an output layer tied to its embedding", "step": "the SGD model"}


def _closed_form_penalty(spec: dict, index: int, wd: float) -> float:
    """wd/2 times the sum of squares of every trainable parameter, each (tied ones too) counted once."""
    point = spec["points"][index]
    return 0.5 * wd * sum(float(point[name].double().pow(2).sum()) for name in MODELS.trainable(spec, point))


def _reports(probe_value, case: str, count: int, what: str) -> list:
    """The probe's reports for one model, one per parameter point."""
    expect(isinstance(probe_value, dict) and isinstance(probe_value.get("cases"), dict), f"{what} (probe result)",
           "a dict with 'cases'", probe_value)
    found = probe_value["cases"].get(case)
    expect(isinstance(found, list) and len(found) == count, f"{what}: reports", f"{count} parameter points", found)
    return found


def _check_value(probes, inputs, case: str) -> None:
    trusted = inputs["penalty"]
    wd, spec = trusted["weight_decay"], trusted["cases"][case]
    what = CASE_NAMES[case]
    reports = _reports(probes["penalty"], case, len(spec["points"]), what)
    frozen = spec["frozen"]
    for index, found in enumerate(reports):
        expected = _closed_form_penalty(spec, index, wd)
        expect(found["value"] is not None, f"{what}, point {index + 1}: l2_penalty(model, {wd}) (a one-element float tensor)",
               f"a value close to {expected:.8g}", f"{found['type'][0]} of shape {found['shape']} and dtype {found['dtype']}")
        assert_float_close(found["value"], expected,
                           f"{what}, point {index + 1}: l2_penalty(model, {wd}) = {wd}/2 * sum of squares of the "
                           f"trainable parameters (frozen, left out: {frozen})", rtol=PENALTY_RTOL, atol=0.0)


def _check_untouched(found: dict, spec: dict, index: int, what: str) -> None:
    """The call left the probe's parameters as they were, so the gradient the probe computed is the penalty's own."""
    point = spec["points"][index]
    expect(not found["hooked"], f"{what}: hooks on the parameters after l2_penalty(...)",
           "none (a hook rewrites the gradient that backward() computes; the penalty itself must carry it)", found["hooked"])
    expect(not found["retyped"], f"{what}: parameters whose class l2_penalty(...) changed", "none", found["retyped"])
    for name, value in point.items():
        wanted = name not in spec["frozen"]
        expect(found["requires_grad_after"].get(name) is wanted, f"{what}: {name}.requires_grad after l2_penalty(...)",
               wanted, found["requires_grad_after"].get(name))
        after = found["params_after"].get(name)
        expect(isinstance(after, torch.Tensor) and after.dtype == value.dtype and after.shape == value.shape
               and torch.equal(after, value), f"{what}: {name} after l2_penalty(...) (don't modify the parameters)",
               value, after)


def _check_gradient(found: dict, spec: dict, index: int, wd: float, what: str) -> None:
    """Backpropagating the penalty gave wd * p for every trainable parameter, at this point."""
    _check_untouched(found, spec, index, what)
    expect(found["differentiable"], f"{what}: l2_penalty(...) can be backpropagated",
           "a one-element float tensor with requires_grad=True", f"{found['type'][0]} (requires_grad={found['requires_grad']})")
    point = spec["points"][index]
    for name in MODELS.trainable(spec, point):
        grad = found["grads"].get(name)
        expect(grad is not None, f"{what}: gradient of l2_penalty(...) with respect to {name}",
               f"{wd} * {name}", "none: backward() through the penalty does not reach this parameter")
        assert_tensor_close(grad, point[name] * wd, f"{what}: d l2_penalty / d {name} (= {wd} * {name})",
                            rtol=GRAD_RTOL, atol=GRAD_ATOL)


@pytest.mark.points(1)
def test_penalty_value_all_trainable(probes, inputs):
    """On an MLP with every parameter trainable, the penalty equals wd/2 * sum of p**2 over weights and biases."""
    _check_value(probes, inputs, "mlp")


@pytest.mark.points(1)
def test_penalty_value_skips_frozen_and_buffers(probes, inputs):
    """Frozen parameters and BatchNorm buffers are not in the penalty; trainable norm weights and biases are."""
    _check_value(probes, inputs, "frozen")


@pytest.mark.points(1)
def test_penalty_value_counts_tied_weight_once(probes, inputs):
    """A weight shared by an Embedding and an output Linear counts once, as the optimizer sees it."""
    _check_value(probes, inputs, "tied")


@pytest.mark.points(1)
def test_penalty_is_a_differentiable_scalar(probes, inputs):
    """l2_penalty returns a 0-dim tensor of the parameters' dtype whose backward() reaches every parameter of an MLP with gradient wd * p."""
    trusted = inputs["penalty_grad"]
    wd = trusted["weight_decay"]
    for case, spec in trusted["cases"].items():
        reports = _reports(probes["penalty_grad"], case, len(spec["points"]), CASE_NAMES[case])
        dtype = str(next(iter(spec["points"][0].values())).dtype)
        for index, found in enumerate(reports):
            what = f"{CASE_NAMES[case]}, point {index + 1}: l2_penalty(...)"
            expect(found["is_tensor"], f"{what} (type)", "a torch.Tensor", " < ".join(found["type"][:3]))
            expect(found["shape"] == [], f"{what} (shape)", "[] (a 0-dim tensor)", found["shape"])
            expect(found["dtype"] == dtype, f"{what} (dtype)", dtype, found["dtype"])
            expect(found["requires_grad"], f"{what}.requires_grad", True, found["requires_grad"])
    spec = trusted["cases"]["mlp"]
    for index, found in enumerate(_reports(probes["penalty_grad"], "mlp", len(spec["points"]), CASE_NAMES["mlp"])):
        _check_gradient(found, spec, index, wd, f"{CASE_NAMES['mlp']}, point {index + 1}")


@pytest.mark.points(2)
def test_penalty_gradient_is_weight_decay_term(probes, inputs):
    """With frozen parameters, norms, buffers and a tied weight, backpropagating the penalty gives wd * p for every trainable parameter."""
    trusted = inputs["penalty_grad"]
    wd = trusted["weight_decay"]
    for case in ("frozen", "tied"):
        spec = trusted["cases"][case]
        for index, found in enumerate(_reports(probes["penalty_grad"], case, len(spec["points"]), CASE_NAMES[case])):
            _check_gradient(found, spec, index, wd, f"{CASE_NAMES[case]}, point {index + 1}")


def _sgd_step(spec: dict, point: dict, x: torch.Tensor, y: torch.Tensor, lr: float, wd: float, extra=None) -> dict:
    """One step of torch's SGD on the MSE from `point`: with weight_decay=wd, or plain with `extra` added to each gradient."""
    model = MODELS.load(MODELS.build(spec), spec, point, {})
    params = dict(model.named_parameters())
    trainable = MODELS.trainable(spec, point)
    optimizer = torch.optim.SGD([params[name] for name in trainable], lr=lr, weight_decay=wd if extra is None else 0.0)
    optimizer.zero_grad()
    F.mse_loss(model(x), y).backward()
    if extra is not None:
        with torch.no_grad():
            for name in trainable:
                params[name].grad.add_(extra[name])
    optimizer.step()
    return {name: p.detach().clone() for name, p in params.items()}


@pytest.mark.points(3)
def test_sgd_on_loss_plus_penalty_equals_sgd_weight_decay(probes, inputs, answers):
    """Plain SGD on MSE + l2_penalty moves every parameter exactly as torch's SGD(weight_decay=wd) on MSE alone, at each point of a run."""
    trusted, setting = inputs["sgd_step"], answers["sgd_step"]
    spec, wd = trusted["case"], trusted["weight_decay"]
    lr, x, y = setting["lr"], setting["x"], setting["y"]
    points = spec["points"]
    found = probes["sgd_step"]
    expect(isinstance(found, dict) and isinstance(found.get("points"), list) and len(found["points"]) == len(points),
           "reports from the SGD probe", f"{len(points)} parameter points", found)
    setting_text = f"lr {lr}, weight_decay {wd}, frozen {spec['frozen']}"
    for index, (point, report) in enumerate(zip(points, found["points"])):
        what = f"SGD run ({setting_text}), step {index + 1}"
        expected = _sgd_step(spec, point, x, y, lr, wd)
        if index + 1 < len(points):
            for name, value in points[index + 1].items():
                if not torch.allclose(expected[name], value, rtol=1e-6, atol=1e-7):
                    raise RuntimeError(f"challenge broken: torch's SGD step {index + 1} disagrees with inputs.py for {name}")
        _check_untouched(report, spec, index, what)
        expect(report["differentiable"], f"{what}: l2_penalty(...) can be backpropagated",
               "a one-element float tensor with requires_grad=True",
               f"{report['type'][0]} (requires_grad={report['requires_grad']})")
        grads = {}
        for name in MODELS.trainable(spec, point):
            grad = report["grads"].get(name)
            expect(isinstance(grad, torch.Tensor) and grad.dtype == point[name].dtype and grad.shape == point[name].shape,
                   f"{what}: gradient of l2_penalty(...) with respect to {name}",
                   f"a {point[name].dtype} tensor of shape {list(point[name].shape)}",
                   "none: backward() through the penalty does not reach this parameter" if grad is None else grad)
            grads[name] = grad
        taken = _sgd_step(spec, point, x, y, lr, wd, extra=grads)
        for name in point:
            kind = "frozen" if name in spec["frozen"] else "trainable"
            assert_tensor_close(taken[name], expected[name],
                                f"{what}: {name} ({kind}) after plain SGD on MSE + l2_penalty vs SGD(weight_decay) on MSE",
                                rtol=STEP_RTOL, atol=STEP_ATOL)


@pytest.mark.points(2)
def test_shrink_factor_closed_form(probes, inputs):
    """shrink_factor(lr, wd, steps) equals (1 - lr*wd)**steps, the shrink of a weight whose loss gradient is zero."""
    cases = inputs["shrink"]["cases"]
    found = probes["shrink"]
    expect(isinstance(found, dict) and isinstance(found.get("values"), list) and len(found["values"]) == len(cases),
           "number of shrink_factor results", len(cases), found)
    for (lr, wd, steps), got in zip(cases, found["values"]):
        what = f"shrink_factor(lr={lr}, weight_decay={wd}, steps={steps})"
        expect(not isinstance(got, dict), f"{what} (type)", "a Python float", " < ".join(got.get("type", [])[:3])
               if isinstance(got, dict) else got)
        assert_float_close(got, (1.0 - lr * wd) ** steps, what, rtol=1e-9, atol=0.0)
