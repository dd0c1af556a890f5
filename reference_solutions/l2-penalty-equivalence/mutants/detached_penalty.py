"""Mutant: the squares are taken of p.detach(), so the value is right but the penalty adds no gradient."""

import torch
from torch import nn


def l2_penalty(model: nn.Module, weight_decay: float) -> torch.Tensor:
    total = torch.zeros(())
    for p in model.parameters():
        if p.requires_grad:
            total = total + p.detach().pow(2).sum()
    return 0.5 * weight_decay * total


def shrink_factor(lr: float, weight_decay: float, steps: int) -> float:
    return float((1.0 - lr * weight_decay) ** steps)
