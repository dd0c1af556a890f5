"""Probes for adamw-from-scratch.

Every probe draws its inputs (initial float64 parameters, gradients for every step, which
gradients are missing, hyperparameters) from its seed before the candidate's code runs, and
returns those inputs next to what the candidate's optimizer did. The checks rebuild the same run
with torch.optim.AdamW from the inputs the *reference* run of the probe reports (computed in the
trusted process), so nothing the candidate's probe says about its own inputs is believed.
Nothing is judged here.

Input layout returned as "inputs":
    initial: list of float64 tensors, one per parameter
    grads:   list over steps of lists over parameters: a float64 tensor, or None (grad left None)
    kwargs:  keyword arguments for the constructor (betas as a list)
    groups:  None (a plain list of all parameters is passed) or a list of
             {"params": [parameter indices], "options": {hyperparameters set in that group}}
"""

import copy
import random

import torch
from torch import nn

DTYPE = torch.float64
SHAPES = [(3,), (4, 3), (2, 3, 2), (5,), (2, 2), (3, 1)]


# ---------------------------------------------------------------- building inputs


def _draw_params(r: random.Random, gen: torch.Generator, count: int) -> list:
    return [torch.randn(r.choice(SHAPES), generator=gen, dtype=DTYPE) for _ in range(count)]


def _draw_grads(r: random.Random, gen: torch.Generator, initial: list, steps: int, scales: list, present=None) -> list:
    """Gradients with a per-parameter drift and noise, scaled per parameter; present(step, index) -> bool."""
    drifts = [torch.randn(p.shape, generator=gen, dtype=DTYPE) for p in initial]
    grads = []
    for step in range(steps):
        row = []
        for index, p in enumerate(initial):
            noise = torch.randn(p.shape, generator=gen, dtype=DTYPE)
            g = scales[index] * (drifts[index] + noise)
            row.append(g if present is None or present(step, index) else None)
        grads.append(row)
    return grads


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
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return float(value.detach().item())
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return f"<{type(value).__name__}>"


# ---------------------------------------------------------------- probes


def probe_class_info(solution, seed):
    """What the candidate's AdamW class is: its MRO, and whether an instance is a torch Optimizer."""
    optimizer = solution.AdamW([nn.Parameter(torch.zeros(2, dtype=DTYPE))])
    return {
        "is_optimizer": isinstance(optimizer, torch.optim.Optimizer),
        "mro": [f"{c.__module__}.{c.__qualname__}" for c in type(optimizer).__mro__],
    }


def probe_defaults(solution, seed):
    """AdamW(params) with every hyperparameter at its default, one plain list of parameters, 20 steps."""
    r = random.Random(seed)
    gen = torch.Generator().manual_seed(seed)
    initial = _draw_params(r, gen, 3)
    scales = [1e-4, r.choice([1e-2, 1e-1]), 1.0]
    r.shuffle(scales)
    inputs = {"initial": initial, "grads": _draw_grads(r, gen, initial, 20, scales), "kwargs": {}, "groups": None}
    params = _fresh(initial)
    optimizer = _build(solution, inputs, params)
    return {"inputs": inputs, "trajectory": _run(optimizer, params, inputs["grads"])}


def _three_groups(r: random.Random) -> tuple[dict, list]:
    """Constructor defaults, then groups that inherit them, override lr/wd, and override betas/eps (wd 0)."""
    kwargs = {
        "lr": r.choice([0.01, 0.02, 0.04]),
        "betas": [r.choice([0.8, 0.85, 0.9]), r.choice([0.95, 0.98, 0.99])],
        "eps": r.choice([1e-8, 1e-7, 1e-6]),
        "weight_decay": r.choice([0.05, 0.1, 0.2]),
    }
    groups = [
        {"params": [0, 1], "options": {}},
        {"params": [2], "options": {"lr": r.choice([0.06, 0.08, 0.1]), "weight_decay": r.choice([0.3, 0.4, 0.5])}},
        {"params": [3, 4], "options": {"betas": [r.choice([0.6, 0.7]), r.choice([0.9, 0.93])],
                                       "eps": r.choice([1e-5, 1e-4, 1e-3]), "weight_decay": 0.0}},
    ]
    return kwargs, groups


def probe_groups(solution, seed):
    """Three param groups with their own lr / betas / eps / weight_decay over constructor defaults, 20 steps."""
    r = random.Random(seed)
    gen = torch.Generator().manual_seed(seed)
    kwargs, groups = _three_groups(r)
    initial = _draw_params(r, gen, 5)
    scales = [r.choice([1e-3, 1e-2, 1e-1, 1.0]) for _ in initial]
    inputs = {"initial": initial, "grads": _draw_grads(r, gen, initial, 20, scales), "kwargs": kwargs, "groups": groups}
    params = _fresh(initial)
    optimizer = _build(solution, inputs, params)
    return {"inputs": inputs, "trajectory": _run(optimizer, params, inputs["grads"])}


def probe_first_step(solution, seed):
    """A single step from fresh state; every group sets lr, betas, eps and weight_decay explicitly."""
    r = random.Random(seed)
    gen = torch.Generator().manual_seed(seed)
    groups = []
    for index in range(3):
        groups.append({"params": [index], "options": {
            "lr": round(r.uniform(0.02, 0.1), 4),
            "betas": [r.choice([0.8, 0.9]), r.choice([0.99, 0.999])],
            "eps": r.choice([1e-8, 1e-6]),
            "weight_decay": round(r.uniform(0.1, 0.5), 3),
        }})
    initial = _draw_params(r, gen, 3)
    scales = [1e-4, 1e-2, 1.0]
    r.shuffle(scales)
    inputs = {"initial": initial, "grads": _draw_grads(r, gen, initial, 1, scales), "kwargs": {}, "groups": groups}
    params = _fresh(initial)
    optimizer = _build(solution, inputs, params)
    return {"inputs": inputs, "trajectory": _run(optimizer, params, inputs["grads"])}


def probe_zero_grads(solution, seed):
    """Gradients that are exactly zero for several steps: only the decoupled decay may move the weights."""
    r = random.Random(seed)
    gen = torch.Generator().manual_seed(seed)
    groups = [
        {"params": [0, 1], "options": {"lr": round(r.uniform(0.05, 0.1), 4), "weight_decay": round(r.uniform(0.1, 0.5), 3)}},
        {"params": [2], "options": {"lr": round(r.uniform(0.01, 0.05), 4), "weight_decay": round(r.uniform(0.5, 1.0), 3)}},
    ]
    initial = _draw_params(r, gen, 3)
    steps = r.randint(6, 12)
    grads = [[torch.zeros_like(p) for p in initial] for _ in range(steps)]
    inputs = {"initial": initial, "grads": grads, "kwargs": {}, "groups": groups}
    params = _fresh(initial)
    optimizer = _build(solution, inputs, params)
    return {"inputs": inputs, "trajectory": _run(optimizer, params, inputs["grads"])}


def _missing_grads_inputs(seed: int, steps: int) -> dict:
    """Four parameters: one gets its first grad late, one misses random steps, one always has a grad, one never."""
    r = random.Random(seed)
    gen = torch.Generator().manual_seed(seed)
    late_start = r.randint(3, 7)
    skipped = {step for step in range(steps) if r.random() < 0.4}
    skipped.discard(steps - 1)
    present = {
        0: lambda step: step >= late_start,   # first grad arrives late
        1: lambda step: step not in skipped,  # misses some steps
        2: lambda step: True,                 # always
        3: lambda step: False,                # never: stays exactly as it was
    }
    groups = [
        {"params": [0, 2], "options": {"lr": round(r.uniform(0.02, 0.08), 4), "weight_decay": round(r.uniform(0.1, 0.4), 3)}},
        {"params": [1, 3], "options": {"lr": round(r.uniform(0.02, 0.08), 4), "weight_decay": round(r.uniform(0.1, 0.4), 3),
                                       "betas": [r.choice([0.7, 0.8]), r.choice([0.95, 0.99])]}},
    ]
    initial = _draw_params(r, gen, 4)
    scales = [r.choice([1e-2, 1e-1, 1.0]) for _ in initial]
    grads = _draw_grads(r, gen, initial, steps, scales, present=lambda step, index: present[index](step))
    return {"initial": initial, "grads": grads, "kwargs": {"eps": r.choice([1e-8, 1e-6])}, "groups": groups}


def probe_missing_grads(solution, seed):
    """Parameters whose .grad is None on some steps (or always), 20 steps."""
    inputs = _missing_grads_inputs(seed, 20)
    params = _fresh(inputs["initial"])
    optimizer = _build(solution, inputs, params)
    return {"inputs": inputs, "trajectory": _run(optimizer, params, inputs["grads"])}


def probe_state(solution, seed):
    """The optimizer's per-parameter state (optimizer.state[p]) after a run with missing grads."""
    inputs = _missing_grads_inputs(seed, 12)
    params = _fresh(inputs["initial"])
    optimizer = _build(solution, inputs, params)
    _run(optimizer, params, inputs["grads"])
    store = getattr(optimizer, "state", None)
    states = []
    for p in params:
        entry = store.get(p) if hasattr(store, "get") else None
        if not isinstance(entry, dict) or not entry:
            states.append(None)
            continue
        states.append({
            "keys": sorted(str(k) for k in entry),
            "step": _number(entry.get("step")),
            "exp_avg": entry["exp_avg"].detach().clone() if isinstance(entry.get("exp_avg"), torch.Tensor) else None,
            "exp_avg_sq": entry["exp_avg_sq"].detach().clone() if isinstance(entry.get("exp_avg_sq"), torch.Tensor) else None,
        })
    return {"inputs": inputs, "states": states, "store_type": type(store).__name__}


def probe_resume(solution, seed):
    """state_dict() after k steps, load_state_dict() into a fresh optimizer over fresh parameters, continue.

    Resumed twice from the same checkpoint: once with an optimizer built exactly like the first,
    once with one built from bare groups at default hyperparameters (load_state_dict must bring
    the checkpoint's hyperparameters back).
    """
    r = random.Random(seed)
    gen = torch.Generator().manual_seed(seed)
    kwargs, groups = _three_groups(r)
    steps = 16
    save_at = r.randint(4, 9)
    initial = _draw_params(r, gen, 5)
    scales = [r.choice([1e-3, 1e-2, 1e-1, 1.0]) for _ in initial]
    late = r.randrange(len(initial))  # no grad until after the checkpoint: no state for it when saved
    grads = _draw_grads(r, gen, initial, steps, scales, present=lambda step, index: index != late or step >= save_at + 2)
    inputs = {"initial": initial, "grads": grads, "kwargs": kwargs, "groups": groups}

    params = _fresh(initial)
    optimizer = _build(solution, inputs, params)
    before = _run(optimizer, params, grads[:save_at])
    checkpoint = copy.deepcopy(optimizer.state_dict())
    saved_params = _snapshot(params)
    del optimizer

    resumed = {}
    for name, options in (("same_construction", {}), ("default_construction", {"override_kwargs": {}, "strip_group_options": True})):
        fresh = _fresh(saved_params)
        optimizer = _build(solution, inputs, fresh, **options)
        optimizer.load_state_dict(copy.deepcopy(checkpoint))
        resumed[name] = _run(optimizer, fresh, grads[save_at:])
    return {"inputs": inputs, "save_at": save_at, "before": before, **resumed}


def probe_closure(solution, seed):
    """step(closure): the closure zeroes grads, computes a loss and calls backward; step returns its loss."""
    r = random.Random(seed)
    gen = torch.Generator().manual_seed(seed)
    n, d = r.randint(6, 12), r.randint(2, 4)
    x = torch.randn(n, d, generator=gen, dtype=DTYPE)
    y = torch.randn(n, generator=gen, dtype=DTYPE)
    initial = [torch.randn(d, generator=gen, dtype=DTYPE), torch.randn((), generator=gen, dtype=DTYPE)]
    kwargs = {"lr": round(r.uniform(0.02, 0.1), 4), "weight_decay": round(r.uniform(0.1, 0.4), 3)}
    steps = r.randint(4, 8)
    params = _fresh(initial)
    optimizer = solution.AdamW(params, **kwargs)
    w, b = params

    def closure():
        optimizer.zero_grad()
        loss = ((x @ w + b - y) ** 2).mean()
        loss.backward()
        return loss

    losses, trajectory = [], []
    for _ in range(steps):
        for p in params:
            p.grad = None
        returned = optimizer.step(closure)
        losses.append(None if returned is None else _number(returned))
        trajectory.append(_snapshot(params))
    return {"inputs": {"x": x, "y": y, "initial": initial, "kwargs": kwargs, "steps": steps},
            "losses": losses, "trajectory": trajectory}
