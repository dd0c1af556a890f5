# Cheat: a made-up penalty that does nothing but looks differentiable: a zero tensor built from a
# requires_grad leaf, so it has requires_grad=True and a grad_fn, yet backward() never reaches the
# model's parameters. Only shrink_factor is honest work.
# harness: max-score = 2
"""Cheat mutant: zero penalty dressed up as part of the autograd graph."""

import torch
from torch import nn


def l2_penalty(model: nn.Module, weight_decay: float) -> torch.Tensor:
    return torch.zeros((), requires_grad=True) * 1.0


def shrink_factor(lr: float, weight_decay: float, steps: int) -> float:
    return float((1.0 - lr * weight_decay) ** steps)
