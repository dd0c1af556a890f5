# Cheat: returns an object that claims to be a tensor (a __class__ property, so isinstance says
# torch.Tensor) and forges every fact a probe might read: shape (), dtype, requires_grad, a
# grad_fn, the closed-form value, and a backward() that writes wd * p straight into .grad. No
# autograd graph exists. Only shrink_factor is honest work.
# harness: max-score = 2
"""Cheat mutant: a fake tensor object."""

import torch
from torch import nn


class _Fake:
    def __init__(self, model, wd):
        self._params = [p for p in model.parameters() if p.requires_grad]
        self._wd = wd
        self._value = 0.5 * wd * sum(float(p.detach().double().pow(2).sum()) for p in self._params)
        self.shape = torch.Size([])
        self.dtype = torch.float32
        self.requires_grad = True
        self.grad_fn = object()
        self.is_leaf = False

    @property
    def __class__(self):
        return torch.Tensor

    def numel(self):
        return 1

    def dim(self):
        return 0

    def is_floating_point(self):
        return True

    def detach(self):
        return torch.tensor(self._value, dtype=torch.float64)

    def item(self):
        return self._value

    def __float__(self):
        return self._value

    def reshape(self, *shape):
        return self

    def backward(self, *args, **kwargs):
        with torch.no_grad():
            for p in self._params:
                g = self._wd * p.detach()
                p.grad = g if p.grad is None else p.grad + g

    def __radd__(self, other):
        return other + torch.tensor(self._value)


def l2_penalty(model: nn.Module, weight_decay: float):
    return _Fake(model, weight_decay)


def shrink_factor(lr: float, weight_decay: float, steps: int) -> float:
    return float((1.0 - lr * weight_decay) ** steps)
