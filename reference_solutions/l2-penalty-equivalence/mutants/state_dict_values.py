"""Mutant: sums over model.state_dict().values(): detached tensors, frozen params and BatchNorm buffers included."""

import torch
from torch import nn


def l2_penalty(model: nn.Module, weight_decay: float) -> torch.Tensor:
    total = torch.zeros(())
    for tensor in model.state_dict().values():
        total = total + tensor.float().pow(2).sum()
    return 0.5 * weight_decay * total


def shrink_factor(lr: float, weight_decay: float, steps: int) -> float:
    return float((1.0 - lr * weight_decay) ** steps)
