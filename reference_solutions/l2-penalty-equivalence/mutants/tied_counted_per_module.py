"""Mutant: walks every module's own parameters, so a weight tied between two modules is counted twice."""

import torch
from torch import nn


def l2_penalty(model: nn.Module, weight_decay: float) -> torch.Tensor:
    total = torch.zeros(())
    for module in model.modules():
        for p in module.parameters(recurse=False):
            if p.requires_grad:
                total = total + p.pow(2).sum()
    return 0.5 * weight_decay * total


def shrink_factor(lr: float, weight_decay: float, steps: int) -> float:
    return float((1.0 - lr * weight_decay) ** steps)
