"""Mutant: exp_range decays the amplitude by gamma ** cycle, once per cycle, instead of gamma ** step (torch scales exp_range by iterations)."""

import math


def cyclic_lr(step, base_lr, max_lr, step_size_up, step_size_down=None, mode="triangular", gamma=1.0) -> float:
    if step_size_down is None:
        step_size_down = step_size_up
    total = step_size_up + step_size_down
    cycle = math.floor(1 + step / total)
    x = 1.0 + step / total - cycle
    ratio = step_size_up / total
    height = x / ratio if x <= ratio else (x - 1) / (ratio - 1)
    if mode == "triangular":
        scale = 1.0
    elif mode == "triangular2":
        scale = 1 / (2.0 ** (cycle - 1))
    else:
        scale = gamma ** cycle
    return base_lr + (max_lr - base_lr) * height * scale
