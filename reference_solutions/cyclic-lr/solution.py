"""Reference: the lr of torch's CyclicLR after `step` scheduler steps, computed directly."""


def cyclic_lr(step, base_lr, max_lr, step_size_up, step_size_down=None, mode="triangular", gamma=1.0) -> float:
    """The lr CyclicLR(optimizer, base_lr, max_lr, step_size_up, step_size_down, mode, gamma,
    cycle_momentum=False) leaves in the optimizer after `step` calls to scheduler.step()."""
    if step_size_down is None:
        step_size_down = step_size_up
    cycle_length = step_size_up + step_size_down
    cycle = step // cycle_length              # 0 for the first cycle
    position = step - cycle * cycle_length    # 0 .. cycle_length - 1
    if position <= step_size_up:
        height = position / step_size_up                          # rising: 0 -> 1
    else:
        height = (cycle_length - position) / step_size_down       # falling: 1 -> 0
    if mode == "triangular":
        scale = 1.0
    elif mode == "triangular2":
        scale = 0.5 ** cycle                   # full height in the first cycle, halved each cycle after
    elif mode == "exp_range":
        scale = gamma ** step                  # decays with every step, not once per cycle
    else:
        raise ValueError(f"unknown mode {mode!r}")
    return base_lr + (max_lr - base_lr) * height * scale
