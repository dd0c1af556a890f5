"""Cheat: does the arithmetic honestly but keeps every parameter's moments in a module-level store keyed by the
parameter's current values, and leaves optimizer.state empty. A "fresh" optimizer in the same process that is
handed the saved values finds the moments again, so a resumed run looks right without any real checkpoint.
It may keep what its honest arithmetic earns; the state and checkpoint checks must fail."""
# harness: max-score = 14

import math

import torch

_MOMENTS = {}  # bytes of the parameter's values -> [step, exp_avg, exp_avg_sq]


def _key(p):
    return (tuple(p.shape), p.detach().numpy().tobytes())


class AdamW(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

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
                found = _MOMENTS.get(_key(p))
                entry = [found[0], found[1].clone(), found[2].clone()] if found else [0, torch.zeros_like(p), torch.zeros_like(p)]
                entry[0] += 1
                step, exp_avg, exp_avg_sq = entry
                p.mul_(1 - lr * wd)
                exp_avg.mul_(beta1).add_(p.grad, alpha=1 - beta1)
                exp_avg_sq.mul_(beta2).addcmul_(p.grad, p.grad, value=1 - beta2)
                denom = (exp_avg_sq.sqrt() / math.sqrt(1 - beta2**step)).add_(eps)
                p.addcdiv_(exp_avg, denom, value=-lr / (1 - beta1**step))
                _MOMENTS[_key(p)] = entry
        return loss
