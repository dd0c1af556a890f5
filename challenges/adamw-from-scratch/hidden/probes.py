"""Probes for adamw-from-scratch.

Every input (initial float64 parameters, the gradient of every step, which gradients are missing,
hyperparameters, param groups) is drawn on the trusted side by hidden/inputs.py and arrives as
`inputs`; a probe only builds the candidate's optimizer from them, steps it, and reports what the
parameters (or the state) became. Nothing is judged here: the checks replay each run with
torch.optim.AdamW on the trusted side. Nothing in here uses torch's Adam or AdamW either (the probes
run under the same rule as the submission). Facts about the candidate's objects are read with
type() and identity, never isinstance.
"""

import io

import torch
from torch import nn

# Captured when this module is compiled, before the submission is imported.
_OPTIMIZER = torch.optim.Optimizer
_TYPE_MRO = type.__dict__["__mro__"]  # the real MRO of a class, whatever its metaclass says
_TENSORS = (torch.Tensor, nn.Parameter)


def _options(options: dict) -> dict:
    out = dict(options)
    if "betas" in out:
        out["betas"] = tuple(out["betas"])
    return out


def _build(solution, inputs: dict, params: list, override_kwargs=None, strip_group_options: bool = False):
    """Construct the candidate's optimizer over `params` as the inputs describe."""
    kwargs = _options(inputs["kwargs"]) if override_kwargs is None else override_kwargs
    if inputs["groups"] is None:
        return solution.AdamW(params, **kwargs)
    groups = []
    for group in inputs["groups"]:
        entry = {"params": [params[i] for i in group["params"]]}
        if not strip_group_options:
            entry.update(_options(group["options"]))
        groups.append(entry)
    return solution.AdamW(groups, **kwargs)


def _fresh(tensors: list) -> list:
    return [nn.Parameter(t.detach().clone()) for t in tensors]


def _set_grads(params: list, row: list) -> None:
    for p, g in zip(params, row):
        p.grad = None if g is None else g.clone()


def _snapshot(params: list) -> list:
    return [p.detach().clone() for p in params]


def _run(optimizer, params: list, grads: list) -> list:
    """Step once per row of gradients; the parameters after every step."""
    trajectory = []
    for row in grads:
        _set_grads(params, row)
        optimizer.step()
        trajectory.append(_snapshot(params))
    return trajectory


def _number(value):
    """A plain float for a number or a one-element tensor; otherwise the type's name in angle brackets."""
    kind = type(value)
    if kind in _TENSORS and value.numel() == 1:
        return float(value.detach().item())
    if kind is int or kind is float:
        return float(value)
    return f"<{kind.__name__}>"


def _trajectory(solution, inputs: dict) -> dict:
    params = _fresh(inputs["initial"])
    optimizer = _build(solution, inputs, params)
    return {"trajectory": _run(optimizer, params, inputs["grads"])}


def _class_name(cls) -> str:
    """module.qualname of a class, read with type's own descriptors (a metaclass cannot answer for it)."""
    module = type.__dict__["__module__"].__get__(cls)
    return f"{module if type(module) is str else '?'}.{type.__dict__['__qualname__'].__get__(cls)}"


# ---------------------------------------------------------------- probes


def probe_class_info(solution, seed):
    """What the candidate's AdamW class is: its MRO by name, and whether torch's Optimizer itself is in it."""
    optimizer = solution.AdamW([nn.Parameter(torch.zeros(2, dtype=torch.float64))])
    mro = _TYPE_MRO.__get__(type(optimizer))
    return {
        "mro": [_class_name(c) for c in mro],
        "optimizer_in_mro": any(c is _OPTIMIZER for c in mro),
    }


def probe_defaults(solution, seed, inputs):
    """AdamW(params) with every hyperparameter at its default, one plain list of parameters, 20 steps."""
    return _trajectory(solution, inputs)


def probe_groups(solution, seed, inputs):
    """Three param groups with their own lr / betas / eps / weight_decay over constructor defaults, 20 steps."""
    return _trajectory(solution, inputs)


def probe_first_step(solution, seed, inputs):
    """A single step from fresh state; every group sets lr, betas, eps and weight_decay explicitly."""
    return _trajectory(solution, inputs)


def probe_zero_grads(solution, seed, inputs):
    """Gradients that are exactly zero for several steps: only the decoupled decay may move the weights."""
    return _trajectory(solution, inputs)


def probe_missing_grads(solution, seed, inputs):
    """Parameters whose .grad is None on some steps (or always), 20 steps."""
    return _trajectory(solution, inputs)


def probe_state(solution, seed, inputs):
    """The optimizer's per-parameter state (optimizer.state[p]) after a run with missing grads."""
    params = _fresh(inputs["initial"])
    optimizer = _build(solution, inputs, params)
    _run(optimizer, params, inputs["grads"])
    store = optimizer.state
    store_type = type(store).__name__
    if not issubclass(type(store), dict):  # read below with dict's own methods, never the store's
        return {"states": None, "store_type": store_type}
    states = []
    for p in params:
        entry = dict.get(store, p)
        if type(entry) is not dict or not entry:
            states.append(None)
            continue
        exp_avg, exp_avg_sq = dict.get(entry, "exp_avg"), dict.get(entry, "exp_avg_sq")
        states.append({
            "keys": sorted(key for key in entry if type(key) is str),
            "step": _number(dict.get(entry, "step")),
            "exp_avg": exp_avg.detach().clone() if type(exp_avg) in _TENSORS else None,
            "exp_avg_sq": exp_avg_sq.detach().clone() if type(exp_avg_sq) in _TENSORS else None,
        })
    return {"states": states, "store_type": store_type}


def probe_resume(solution, seed, inputs):
    """Stage 1: `save_at` steps, then state_dict(), saved with torch.save; the bytes cross to a fresh sandbox."""
    params = _fresh(inputs["initial"])
    optimizer = _build(solution, inputs, params)
    before = _run(optimizer, params, inputs["grads"][:inputs["save_at"]])
    buffer = io.BytesIO()
    torch.save(optimizer.state_dict(), buffer)
    return {"before": before, "checkpoint": torch.frombuffer(bytearray(buffer.getvalue()), dtype=torch.uint8)}


def probe_resume__stage2(solution, seed, inputs, carry):
    """Stage 2, in a fresh process: load_state_dict() into fresh optimizers over fresh parameters, continue.

    Twice from the same checkpoint: once with an optimizer built exactly like the first, once with one
    built from bare groups at default hyperparameters (load_state_dict must bring the checkpoint's
    hyperparameters back). Nothing the first process kept in memory survives.
    """
    data = bytes(carry["checkpoint"].numpy().tobytes())
    saved = carry["before"][-1]
    resumed = {}
    for name, options in (("same_construction", {}), ("default_construction", {"override_kwargs": {}, "strip_group_options": True})):
        fresh = _fresh(saved)
        optimizer = _build(solution, inputs, fresh, **options)
        optimizer.load_state_dict(torch.load(io.BytesIO(data), weights_only=True))
        resumed[name] = _run(optimizer, fresh, inputs["grads"][inputs["save_at"]:])
    return resumed


def probe_closure(solution, seed, inputs):
    """step(closure): the closure zeroes grads, computes a loss and calls backward; step returns its loss."""
    x, y = inputs["x"], inputs["y"]
    params = _fresh(inputs["initial"])
    optimizer = solution.AdamW(params, **inputs["kwargs"])
    w, b = params

    def closure():
        optimizer.zero_grad()
        loss = ((x @ w + b - y) ** 2).mean()
        loss.backward()
        return loss

    losses, trajectory = [], []
    for _ in range(inputs["steps"]):
        for p in params:
            p.grad = None
        returned = optimizer.step(closure)
        losses.append(None if returned is None else _number(returned))
        trajectory.append(_snapshot(params))
    return {"losses": losses, "trajectory": trajectory}
