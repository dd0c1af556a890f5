"""Mutant: the triangle height written as abs(1 - x) instead of 1 - abs(x), with x the signed distance from the peak, so the rising half overshoots max_lr."""


def cyclic_lr(step, base_lr, max_lr, step_size_up, step_size_down=None, mode="triangular", gamma=1.0) -> float:
    if step_size_down is None:
        step_size_down = step_size_up
    total = step_size_up + step_size_down
    cycle = step // total
    position = step - cycle * total
    # signed distance from the peak, in units of the half-cycle it lies in: -1 .. 0 rising, 0 .. 1 falling
    if position <= step_size_up:
        x = (position - step_size_up) / step_size_up
    else:
        x = (position - step_size_up) / step_size_down
    height = abs(1 - x)
    if mode == "triangular":
        scale = 1.0
    elif mode == "triangular2":
        scale = 0.5 ** cycle
    else:
        scale = gamma ** step
    return base_lr + (max_lr - base_lr) * height * scale
