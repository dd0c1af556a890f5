"""Cheat: reaches torch's CyclicLR with getattr and names made from chr codes at run time (nothing in the source
names the scheduler module or the class), and steps it instead of computing the value."""
# harness: max-score = 0

import torch


def _name(codes):
    return "".join(chr(code) for code in codes)


def cyclic_lr(step, base_lr, max_lr, step_size_up, step_size_down=None, mode="triangular", gamma=1.0) -> float:
    module = getattr(torch.optim, _name([108, 114, 95, 115, 99, 104, 101, 100, 117, 108, 101, 114]))
    scheduler_class = getattr(module, _name([67, 121, 99, 108, 105, 99, 76, 82]))
    param = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([param], lr=base_lr)
    scheduler = scheduler_class(optimizer, base_lr=base_lr, max_lr=max_lr, step_size_up=step_size_up,
                                step_size_down=step_size_down, mode=mode, gamma=gamma, cycle_momentum=False)
    for _ in range(step):
        optimizer.step()
        scheduler.step()
    return float(optimizer.param_groups[0]["lr"])
