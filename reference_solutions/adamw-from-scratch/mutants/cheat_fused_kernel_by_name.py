"""Cheat: writes the bookkeeping itself but lets torch's fused AdamW kernel do the arithmetic, reached through
torch.ops.aten with an operator name built at run time (so the source never names it)."""
# harness: max-score = 0

import torch

_OPS = torch.ops.aten
_KERNEL = getattr(_OPS, "".join(["_fu", "sed_", "ad", "amw_"]))


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
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["step"] = torch.tensor(0.0)
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                state["step"] += 1
                _KERNEL([p], [p.grad], [state["exp_avg"]], [state["exp_avg_sq"]], [], [state["step"]], lr=group["lr"],
                        beta1=beta1, beta2=beta2, weight_decay=group["weight_decay"], eps=group["eps"],
                        amsgrad=False, maximize=False)
        return loss
