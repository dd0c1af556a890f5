"""Cheat: finds torch's AdamW through torch.optim.Optimizer.__subclasses__() (by a name built at run time) and
derives from it, so the source never names it; torch's own step does all the work."""
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


class AdamW(_find("".join(["Ad", "am", "W"]))):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, foreach=False)
