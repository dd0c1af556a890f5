"""Mutant: steps torch's own CyclicLR on a dummy optimizer instead of computing the value (forbidden)."""

import torch


def cyclic_lr(step, base_lr, max_lr, step_size_up, step_size_down=None, mode="triangular", gamma=1.0) -> float:
    param = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([param], lr=base_lr)
    scheduler = torch.optim.lr_scheduler.CyclicLR(
        optimizer, base_lr=base_lr, max_lr=max_lr, step_size_up=step_size_up, step_size_down=step_size_down,
        mode=mode, gamma=gamma, cycle_momentum=False)
    for _ in range(step):
        optimizer.step()
        scheduler.step()
    return float(optimizer.param_groups[0]["lr"])
