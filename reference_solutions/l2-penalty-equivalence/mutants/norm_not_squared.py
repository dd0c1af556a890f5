"""Mutant: wd/2 * ||p|| per tensor (torch.norm, not squared), whose gradient is wd/2 * p / ||p||."""

import torch
from torch import nn


def l2_penalty(model: nn.Module, weight_decay: float) -> torch.Tensor:
    return 0.5 * weight_decay * sum(torch.norm(p) for p in model.parameters() if p.requires_grad)


def shrink_factor(lr: float, weight_decay: float, steps: int) -> float:
    return float((1.0 - lr * weight_decay) ** steps)
