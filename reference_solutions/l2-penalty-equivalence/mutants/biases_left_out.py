"""Mutant: parameters with "bias" in their name are skipped, but SGD(weight_decay=wd) decays biases too."""

import torch
from torch import nn


def l2_penalty(model: nn.Module, weight_decay: float) -> torch.Tensor:
    return 0.5 * weight_decay * sum(
        p.pow(2).sum() for name, p in model.named_parameters() if p.requires_grad and "bias" not in name
    )


def shrink_factor(lr: float, weight_decay: float, steps: int) -> float:
    return float((1.0 - lr * weight_decay) ** steps)
