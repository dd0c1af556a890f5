"""Cheat: finds torch's CyclicLR by walking object.__subclasses__() for a class whose name is built at run time,
derives a class from it (so the source names neither), and steps that instead of computing the value."""
# harness: max-score = 0

import torch


def _find(name):
    seen, todo = set(), [object]
    while todo:
        cls = todo.pop()
        for sub in type.__subclasses__(cls):
            if sub not in seen:
                seen.add(sub)
                todo.append(sub)
                if sub.__name__ == name:
                    return sub
    raise LookupError(name)


class _Mine(_find("Cyclic" + "LR")):
    pass


def cyclic_lr(step, base_lr, max_lr, step_size_up, step_size_down=None, mode="triangular", gamma=1.0) -> float:
    param = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([param], lr=base_lr)
    scheduler = _Mine(optimizer, base_lr=base_lr, max_lr=max_lr, step_size_up=step_size_up,
                      step_size_down=step_size_down, mode=mode, gamma=gamma, cycle_momentum=False)
    for _ in range(step):
        optimizer.step()
        scheduler.step()
    return float(optimizer.param_groups[0]["lr"])
