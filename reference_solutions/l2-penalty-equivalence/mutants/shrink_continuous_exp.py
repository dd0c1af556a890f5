"""Mutant: shrink_factor uses the continuous-time approximation exp(-lr * wd * steps) instead of the discrete product."""

import math

import torch
from torch import nn


def l2_penalty(model: nn.Module, weight_decay: float) -> torch.Tensor:
    return 0.5 * weight_decay * sum(p.pow(2).sum() for p in model.parameters() if p.requires_grad)


def shrink_factor(lr: float, weight_decay: float, steps: int) -> float:
    return math.exp(-lr * weight_decay * steps)
