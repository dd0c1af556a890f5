"""Starter code: the triangle from the cyclical-learning-rates paper. It runs, but it does not match torch's CyclicLR."""

import math


def cyclic_lr(step, base_lr, max_lr, step_size_up, step_size_down=None, mode="triangular", gamma=1.0) -> float:
    """The lr torch's CyclicLR (cycle_momentum=False) leaves in the optimizer after `step` scheduler steps."""
    step_size = step_size_up
    cycle = math.floor(1 + step / (2 * step_size))
    x = abs(step / step_size - 2 * cycle + 1)
    height = max(0.0, 1 - x)
    if mode == "triangular":
        scale = 1.0
    elif mode == "triangular2":
        scale = 0.5 ** cycle
    else:
        scale = gamma ** cycle
    return base_lr + (max_lr - base_lr) * height * scale
