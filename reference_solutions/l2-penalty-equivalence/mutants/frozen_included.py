"""Mutant: frozen parameters (requires_grad=False) are counted in the penalty value."""

import torch
from torch import nn


def l2_penalty(model: nn.Module, weight_decay: float) -> torch.Tensor:
    return 0.5 * weight_decay * sum(p.pow(2).sum() for p in model.parameters())


def shrink_factor(lr: float, weight_decay: float, steps: int) -> float:
    return float((1.0 - lr * weight_decay) ** steps)
