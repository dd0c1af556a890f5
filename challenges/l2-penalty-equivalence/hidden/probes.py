"""Probes for l2-penalty-equivalence: call l2_penalty on models the trusted side described, report what it returned.

Everything comes from `inputs` (drawn on the trusted side): the model's kind and sizes, which
parameters are frozen, the parameter values, the weight decay. The probes report the penalty's
type facts, its value and, where asked, its gradient with respect to each trainable parameter;
they judge nothing and take no optimizer step (the checks do, on the trusted side).

The gradient is the one computation that must run here, on the candidate's own graph. It uses the
autograd engine object captured when this file was compiled, before the submission was imported
(so a replaced `Variable._execution_engine` or a patched Python layer of torch.autograd does not
reach it), asks for the gradients with respect to the probe's own list of trainable parameters
(so `.grad`, AccumulateGrad node hooks and post-accumulate hooks play no part), and reports any
tensor hook found on a parameter: such a hook rewrites the gradient this computes.
"""

from collections import OrderedDict

import torch
from torch import nn
from torch.autograd.variable import Variable

_ENGINE = Variable._execution_engine  # captured before the submission is imported
# Read straight from torch's C base class (immutable), so a parameter given another class cannot answer instead.
_HOOKS_OF = torch._C.TensorBase.__dict__["_backward_hooks"].__get__
_REQUIRES_GRAD_OF = torch._C.TensorBase.__dict__["requires_grad"].__get__
_DETACH = torch._C.TensorBase.detach
# Every model and penalty stays referenced until the worker ends, so nothing of the submission's
# (a finalizer, a __del__) runs when the probe lets go of them, between this report and its encoding.
_KEEP = []


class TiedLM(nn.Module):
    """An output layer tied to an embedding, raw gains of rank 0 and 1, and a normal Linear."""

    def __init__(self, vocab, d):
        super().__init__()
        self.tokens = nn.Embedding(vocab, d)
        self.mix = nn.Linear(d, d)
        self.scale = nn.Parameter(torch.ones(d))
        self.gain = nn.Parameter(torch.ones(()))
        self.head = nn.Linear(d, vocab)
        self.head.weight = self.tokens.weight


def _build(spec):
    kind, sizes = spec["kind"], spec["sizes"]
    if kind == "mlp":
        d, h, o = sizes
        return nn.Sequential(nn.Linear(d, h), nn.Tanh(), nn.Linear(h, h), nn.Tanh(), nn.Linear(h, o))
    if kind == "frozen":
        d, h, o = sizes
        return nn.Sequential(nn.Linear(d, h), nn.BatchNorm1d(h), nn.ReLU(), nn.Linear(h, h), nn.LayerNorm(h),
                             nn.Linear(h, o))
    if kind == "tied":
        return TiedLM(*sizes)
    d, h, o = sizes
    return nn.Sequential(nn.Linear(d, h), nn.Tanh(), nn.LayerNorm(h), nn.Linear(h, h), nn.Tanh(), nn.Linear(h, o))


def _model(spec, index):
    """The model at parameter point `index`: values, buffers and frozen flags as the trusted side drew them."""
    model = _build(spec)
    point, buffers = spec["points"][index], spec["buffers"][index]
    params = dict(model.named_parameters())
    if sorted(params) != sorted(point):
        raise RuntimeError(f"probe broken: parameters {sorted(params)} vs inputs {sorted(point)}")
    with torch.no_grad():
        for name, p in params.items():
            p.copy_(point[name])
        for name, b in model.named_buffers():
            if name in buffers:
                b.copy_(buffers[name])
    for name, p in params.items():
        p.requires_grad_(name not in spec["frozen"])
    return model, params


def _type_names(value):
    return [c.__module__ + "." + c.__qualname__ for c in type(value).__mro__]


def _hooked(p):
    """Whether a tensor hook (register_hook) sits on a parameter; such hooks rewrite the gradients computed here."""
    hooks = _HOOKS_OF(p)
    if hooks is None:
        return False
    if type(hooks) is dict or type(hooks) is OrderedDict:
        return dict.__len__(hooks) > 0
    return True


def _evaluate(solution, spec, index, wd, gradient):
    """Call l2_penalty on a fresh model and report what it returned (and its gradient, when asked)."""
    model, params = _model(spec, index)
    wanted = [name for name in params if name not in spec["frozen"]]
    penalty = solution.l2_penalty(model, wd)

    is_tensor = type(penalty) is torch.Tensor
    out = {"type": _type_names(penalty), "is_tensor": is_tensor, "shape": None, "dtype": None,
           "requires_grad": False, "has_grad_fn": False, "value": None}
    if is_tensor:
        out["shape"] = [int(s) for s in penalty.shape]
        out["dtype"] = str(penalty.dtype)
        out["requires_grad"] = bool(penalty.requires_grad)
        out["has_grad_fn"] = penalty.grad_fn is not None
        if penalty.numel() == 1 and penalty.is_floating_point():
            out["value"] = float(penalty.detach().double().reshape(()))
    elif type(penalty) is float or type(penalty) is int:
        out["value"] = float(penalty)

    if gradient:
        grads = {name: None for name in wanted}
        differentiable = (is_tensor and out["requires_grad"] and penalty.numel() == 1
                          and penalty.is_floating_point())
        inputs = [name for name in wanted if _REQUIRES_GRAD_OF(params[name])]
        if differentiable and inputs:
            scalar = penalty.reshape(())
            found = _ENGINE.run_backward((scalar,), (torch.ones((), dtype=scalar.dtype),), False, False,
                                         tuple(params[name] for name in inputs), True, False)
            for name, grad in zip(inputs, found):
                if grad is not None:
                    grads[name] = _DETACH(grad).clone() if type(grad) is torch.Tensor else {"type": _type_names(grad)}
        out["differentiable"] = differentiable
        out["grads"] = grads

    # What the call left behind on the probe's own parameter objects.
    out["hooked"] = [name for name, p in params.items() if _hooked(p)]
    out["retyped"] = [name for name, p in params.items() if type(p) is not nn.Parameter]
    out["requires_grad_after"] = {name: bool(_REQUIRES_GRAD_OF(p)) for name, p in params.items()}
    out["params_after"] = {name: _DETACH(p).clone() for name, p in params.items()}
    _KEEP.append((model, penalty))
    return out


def _run(solution, inputs, gradient):
    wd = inputs["weight_decay"]
    cases = {}
    for case, spec in inputs["cases"].items():
        cases[case] = [_evaluate(solution, spec, index, wd, gradient) for index in range(len(spec["points"]))]
    return {"cases": cases}


# ---------------------------------------------------------------- probes


def probe_penalty(solution, seed, inputs):
    """l2_penalty on three models (all trainable; frozen parts and BatchNorm buffers; tied weights), at two points each."""
    return _run(solution, inputs, gradient=False)


def probe_penalty_grad(solution, seed, inputs):
    """The gradient of l2_penalty alone with respect to each trainable parameter, on the same kinds of models."""
    return _run(solution, inputs, gradient=True)


def probe_sgd_step(solution, seed, inputs):
    """l2_penalty and its gradient at each parameter point of an SGD(weight_decay) run (the checks take the steps)."""
    spec = inputs["case"]
    wd = inputs["weight_decay"]
    return {"points": [_evaluate(solution, spec, index, wd, True) for index in range(len(spec["points"]))]}


def probe_shrink(solution, seed, inputs):
    """shrink_factor over the trusted (lr, weight_decay, steps) triples, including steps = 0 and 1 and long runs."""
    values = []
    for lr, wd, steps in inputs["cases"]:
        value = solution.shrink_factor(lr, wd, steps)
        values.append(value if type(value) is float or type(value) is int else {"type": _type_names(value)})
    return {"values": values}
