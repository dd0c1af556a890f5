"""Starter code: lr_at runs for every kind, but several of its formulas disagree with torch's schedulers."""

import math


def lr_at(kind: str, step: int, base_lr: float, **params) -> float:
    """The lr that torch's matching scheduler leaves in the optimizer after `step` calls to scheduler.step()."""
    if kind == "step":
        # "the first step is step 1"
        return base_lr * params["gamma"] ** ((step + 1) // params["step_size"])
    if kind == "multistep":
        passed = sum(1 for milestone in params["milestones"] if milestone < step)
        return base_lr * params["gamma"] ** passed
    if kind == "exponential":
        return base_lr * params["gamma"] ** step
    if kind == "cosine":
        # the schedule is over after T_max steps
        t = min(step, params["T_max"])
        eta_min = params["eta_min"]
        return eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * t / params["T_max"])) / 2
    if kind == "linear":
        start, end, total = params["start_factor"], params["end_factor"], params["total_iters"]
        return base_lr * (start + (end - start) * step / total)
    if kind == "polynomial":
        fraction = min(step, params["total_iters"]) / params["total_iters"]
        return base_lr * (1 - fraction ** params["power"])
    raise ValueError(f"unknown schedule kind {kind!r}")
