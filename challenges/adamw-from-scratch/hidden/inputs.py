"""Inputs for adamw-from-scratch, drawn on the trusted side from a seed the sandbox never learns.

Every probe that steps an optimizer gets its initial float64 parameters, the gradient of every
parameter at every step (None where it is left None), the constructor's keyword arguments and the
param groups. The expected values are torch.optim.AdamW (or a closed form) on these very inputs,
computed by the checks; there are no `answers_*`.

Layout of a run's inputs:
    initial: list of float64 tensors, one per parameter
    grads:   list over steps of lists over parameters: a float64 tensor, or None (grad left None)
    kwargs:  keyword arguments for the constructor (betas as a list)
    groups:  None (a plain list of all parameters is passed) or a list of
             {"params": [parameter indices], "options": {hyperparameters set in that group}}
"""

import random

import torch

DTYPE = torch.float64
SHAPES = [(3,), (4, 3), (2, 3, 2), (5,), (2, 2), (3, 1)]


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


def _start(seed: int) -> tuple:
    return random.Random(seed), torch.Generator().manual_seed(seed)


def inputs_defaults(seed):
    """AdamW(params) with every hyperparameter at its default, one plain list of parameters, 20 steps."""
    r, gen = _start(seed)
    initial = _draw_params(r, gen, 3)
    scales = [1e-4, r.choice([1e-2, 1e-1]), 1.0]
    r.shuffle(scales)
    return {"initial": initial, "grads": _draw_grads(r, gen, initial, 20, scales), "kwargs": {}, "groups": None}


def _three_groups(r: random.Random) -> tuple:
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


def inputs_groups(seed):
    """Three param groups with their own lr / betas / eps / weight_decay over constructor defaults, 20 steps."""
    r, gen = _start(seed)
    kwargs, groups = _three_groups(r)
    initial = _draw_params(r, gen, 5)
    scales = [r.choice([1e-3, 1e-2, 1e-1, 1.0]) for _ in initial]
    return {"initial": initial, "grads": _draw_grads(r, gen, initial, 20, scales), "kwargs": kwargs, "groups": groups}


def inputs_first_step(seed):
    """A single step from fresh state; every group sets lr, betas, eps and weight_decay explicitly."""
    r, gen = _start(seed)
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
    return {"initial": initial, "grads": _draw_grads(r, gen, initial, 1, scales), "kwargs": {}, "groups": groups}


def inputs_zero_grads(seed):
    """Gradients that are exactly zero for several steps: only the decoupled decay may move the weights."""
    r, gen = _start(seed)
    groups = [
        {"params": [0, 1], "options": {"lr": round(r.uniform(0.05, 0.1), 4), "weight_decay": round(r.uniform(0.1, 0.5), 3)}},
        {"params": [2], "options": {"lr": round(r.uniform(0.01, 0.05), 4), "weight_decay": round(r.uniform(0.5, 1.0), 3)}},
    ]
    initial = _draw_params(r, gen, 3)
    steps = r.randint(6, 12)
    grads = [[torch.zeros_like(p) for p in initial] for _ in range(steps)]
    return {"initial": initial, "grads": grads, "kwargs": {}, "groups": groups}


def _missing_grads(seed: int, steps: int) -> dict:
    """Four parameters: one gets its first grad late, one misses random steps, one always has a grad, one never."""
    r, gen = _start(seed)
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


def inputs_missing_grads(seed):
    """Parameters whose .grad is None on some steps (or always), 20 steps."""
    return _missing_grads(seed, 20)


def inputs_state(seed):
    """The run whose optimizer.state[p] is read afterwards: missing grads, 12 steps."""
    return _missing_grads(seed, 12)


def inputs_resume(seed):
    """Three param groups, 16 steps, a checkpoint after `save_at`; one parameter gets no grad until after it."""
    r, gen = _start(seed)
    kwargs, groups = _three_groups(r)
    steps = 16
    save_at = r.randint(4, 9)
    initial = _draw_params(r, gen, 5)
    scales = [r.choice([1e-3, 1e-2, 1e-1, 1.0]) for _ in initial]
    late = r.randrange(len(initial))  # no grad until after the checkpoint: no state for it when saved
    grads = _draw_grads(r, gen, initial, steps, scales, present=lambda step, index: index != late or step >= save_at + 2)
    return {"initial": initial, "grads": grads, "kwargs": kwargs, "groups": groups, "save_at": save_at}


def inputs_closure(seed):
    """A least-squares problem for step(closure): x, y, the initial (w, b), the constructor's kwargs, the step count."""
    r, gen = _start(seed)
    n, d = r.randint(6, 12), r.randint(2, 4)
    x = torch.randn(n, d, generator=gen, dtype=DTYPE)
    y = torch.randn(n, generator=gen, dtype=DTYPE)
    initial = [torch.randn(d, generator=gen, dtype=DTYPE), torch.randn((), generator=gen, dtype=DTYPE)]
    kwargs = {"lr": round(r.uniform(0.02, 0.1), 4), "weight_decay": round(r.uniform(0.1, 0.4), 3)}
    return {"x": x, "y": y, "initial": initial, "kwargs": kwargs, "steps": r.randint(4, 8)}


def inputs_resume__stage2(seed):
    """The same run, for the stage that resumes from the checkpoint in a fresh process."""
    return inputs_resume(seed)
