"""Cheat: an honest-looking Optimizer subclass whose step hands every param group to a torch AdamW found through
torch.optim.Optimizer.__subclasses__() by a name built at run time, sharing its own state and param groups with it.
Nothing in the source names torch's Adam."""
# harness: max-score = 0

import torch


def _find(name):
    todo = [torch.optim.Optimizer]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub.__name__ == name:
                return sub
            todo.append(sub)
    raise LookupError(name)


_TORCH = _find("".join(map(chr, [65, 100, 97, 109, 87])))


class AdamW(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        inner = _TORCH([torch.zeros(1, requires_grad=True)], foreach=False)
        for group in self.param_groups:  # torch's defaults for what this class does not set, shared state
            for key, value in inner.defaults.items():
                group.setdefault(key, value)
        inner.param_groups, inner.state = self.param_groups, self.state
        inner.step()
        return loss
