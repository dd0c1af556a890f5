"""Mutant: the penalty is wd * sum(p^2) without the 1/2, so its gradient is 2 * wd * p: twice SGD's weight decay."""

import torch
from torch import nn


def l2_penalty(model: nn.Module, weight_decay: float) -> torch.Tensor:
    return weight_decay * sum(p.pow(2).sum() for p in model.parameters() if p.requires_grad)


def shrink_factor(lr: float, weight_decay: float, steps: int) -> float:
    return float((1.0 - lr * weight_decay) ** steps)
