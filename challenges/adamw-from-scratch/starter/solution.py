"""Starter for adamw-from-scratch.

This runs, but it is Adam with an L2 penalty, not AdamW: the weight decay is added to the
gradient (so it gets rescaled by the adaptive denominator), and the moments are used without
bias correction. Read statement.md and fix step().
"""

import torch


class AdamW(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()

        for group in self.param_groups:
            lr = group["lr"]
            beta1, beta2 = group["betas"]
            eps = group["eps"]
            weight_decay = group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                # TODO: this is coupled L2 regularisation, not decoupled weight decay.
                grad = p.grad + weight_decay * p

                state = self.state[p]
                if len(state) == 0:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                state["step"] += 1
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]

                exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
                exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                # TODO: the moments start at zero; nothing corrects for that here.
                p.addcdiv_(exp_avg, exp_avg_sq.sqrt().add_(eps), value=-lr)

        return loss
