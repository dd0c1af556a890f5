"""Mutant: the CLR paper's symmetric triangle, cycle = floor(1 + step / (2 * step_size_up)); step_size_down is accepted but ignored."""

import math


def cyclic_lr(step, base_lr, max_lr, step_size_up, step_size_down=None, mode="triangular", gamma=1.0) -> float:
    step_size = step_size_up
    cycle = math.floor(1 + step / (2 * step_size))
    x = abs(step / step_size - 2 * cycle + 1)
    height = max(0.0, 1 - x)
    if mode == "triangular":
        scale = 1.0
    elif mode == "triangular2":
        scale = 1 / (2.0 ** (cycle - 1))
    else:
        scale = gamma ** step
    return base_lr + (max_lr - base_lr) * height * scale
