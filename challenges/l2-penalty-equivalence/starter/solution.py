"""Starter for l2-penalty-equivalence.

It runs, but neither function does what statement.md asks: the penalty has the wrong form and
no gradient, and the shrink factor forgets part of the SGD update. Fix both.
"""

import torch
from torch import nn


def l2_penalty(model: nn.Module, weight_decay: float) -> torch.Tensor:
    """A loss term such that plain SGD on loss + l2_penalty(model, wd) matches SGD(weight_decay=wd) on loss."""
    total = sum(p.norm().item() for p in model.parameters())
    return torch.tensor(weight_decay * total)


def shrink_factor(lr: float, weight_decay: float, steps: int) -> float:
    """How much a parameter with zero loss gradient shrinks after `steps` SGD steps with weight decay."""
    return (1 - weight_decay) ** steps
