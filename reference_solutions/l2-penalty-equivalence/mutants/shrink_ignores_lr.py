"""Mutant: shrink_factor returns (1 - wd) ** steps, forgetting that SGD scales the decay term by lr."""

import torch
from torch import nn


def l2_penalty(model: nn.Module, weight_decay: float) -> torch.Tensor:
    return 0.5 * weight_decay * sum(p.pow(2).sum() for p in model.parameters() if p.requires_grad)


def shrink_factor(lr: float, weight_decay: float, steps: int) -> float:
    return float((1.0 - weight_decay) ** steps)
