"""Reference: closed forms for six of torch's learning-rate schedulers, without running any of them."""

import bisect
import math


def lr_at(kind: str, step: int, base_lr: float, **params) -> float:
    """The lr the matching torch scheduler leaves in the optimizer after `step` calls to scheduler.step()."""
    if kind == "step":
        return base_lr * params["gamma"] ** (step // params["step_size"])
    if kind == "multistep":
        # A milestone m takes effect at step m itself: count the milestones <= step.
        passed = bisect.bisect_right(sorted(params["milestones"]), step)
        return base_lr * params["gamma"] ** passed
    if kind == "exponential":
        return base_lr * params["gamma"] ** step
    if kind == "cosine":
        # No clamping: past T_max the cosine keeps going, back up to base_lr at 2 * T_max.
        eta_min, t_max = params["eta_min"], params["T_max"]
        return eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * step / t_max)) / 2
    if kind == "linear":
        start, end, total = params["start_factor"], params["end_factor"], params["total_iters"]
        factor = start + (end - start) * min(step, total) / total
        return base_lr * factor
    if kind == "polynomial":
        total, power = params["total_iters"], params["power"]
        return base_lr * (1.0 - min(step, total) / total) ** power
    raise ValueError(f"unknown schedule kind {kind!r}")
