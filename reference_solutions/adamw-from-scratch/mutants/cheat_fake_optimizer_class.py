"""Cheat: AdamW is not a torch.optim.Optimizer subclass at all; a __class__ property makes isinstance(x,
torch.optim.Optimizer) say it is. It delegates everything to an honest inner optimizer, so only the check that it
derives from torch.optim.Optimizer may fail."""
# harness: max-score = 16

import math

import torch


class _Inner(torch.optim.Optimizer):
    def __init__(self, params, defaults):
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                state["step"] += 1
                step = state["step"]
                p.mul_(1 - lr * wd)
                state["exp_avg"].mul_(beta1).add_(p.grad, alpha=1 - beta1)
                state["exp_avg_sq"].mul_(beta2).addcmul_(p.grad, p.grad, value=1 - beta2)
                denom = (state["exp_avg_sq"].sqrt() / math.sqrt(1 - beta2**step)).add_(eps)
                p.addcdiv_(state["exp_avg"], denom, value=-lr / (1 - beta1**step))
        return loss


class AdamW:
    __class__ = property(lambda self: torch.optim.Optimizer)

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        self._inner = _Inner(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

    def __getattr__(self, name):
        return getattr(self.__dict__["_inner"], name)
