"""Mutant: cycle counted from 0 (step // cycle_length) but fed to torch's triangular2 scale 1 / 2 ** (cycle - 1), which expects cycles counted from 1: the first cycle peaks at twice max_lr - base_lr."""


def cyclic_lr(step, base_lr, max_lr, step_size_up, step_size_down=None, mode="triangular", gamma=1.0) -> float:
    if step_size_down is None:
        step_size_down = step_size_up
    total = step_size_up + step_size_down
    cycle = step // total
    position = step - cycle * total
    if position <= step_size_up:
        height = position / step_size_up
    else:
        height = (total - position) / step_size_down
    if mode == "triangular":
        scale = 1.0
    elif mode == "triangular2":
        scale = 1 / (2.0 ** (cycle - 1))
    else:
        scale = gamma ** step
    return base_lr + (max_lr - base_lr) * height * scale
