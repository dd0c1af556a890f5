# Cheat: monkeypatches what the probes compute with. torch.optim.SGD.step adds wd * p to each
# gradient before stepping, and torch.Tensor.backward adds wd * p to the gradients of the model
# last passed to l2_penalty, while l2_penalty itself returns a zero that only looks
# differentiable. Only shrink_factor is honest work.
# harness: max-score = 0
"""Cheat mutant: patched SGD.step and Tensor.backward, zero penalty."""

import torch
from torch import nn

_last = {}
_real_step = torch.optim.SGD.step
_real_backward = torch.Tensor.backward


def _step(self, closure=None):
    # Stepping after the patched backward already added wd * p: plain SGD now decays.
    _last["steps"] = _last.get("steps", 0) + 1
    return _real_step(self, closure)


def _backward(self, *args, **kwargs):
    result = _real_backward(self, *args, **kwargs)
    model, wd = _last.get("model"), _last.get("wd", 0.0)
    if model is not None:
        with torch.no_grad():
            for p in model.parameters():
                if p.requires_grad:
                    p.grad = wd * p.detach() if p.grad is None else p.grad + wd * p.detach()
    return result


torch.optim.SGD.step = _step
torch.Tensor.backward = _backward


def l2_penalty(model: nn.Module, weight_decay: float) -> torch.Tensor:
    _last["model"], _last["wd"] = model, weight_decay
    return torch.zeros((), requires_grad=True) * 1.0


def shrink_factor(lr: float, weight_decay: float, steps: int) -> float:
    return float((1.0 - lr * weight_decay) ** steps)
