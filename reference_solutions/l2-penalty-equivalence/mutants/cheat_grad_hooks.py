# Cheat: the penalty's value is the closed form computed off the graph, tied to the parameters
# by a zero (0 * sum(p)), and the gradient is faked with hooks registered on the parameters
# (p.register_hook adding wd * p), so backward() "reaches" them with the right numbers although
# the penalty is not differentiable. Honest parts: the value (3 value checks) and shrink_factor.
# harness: max-score = 5
"""Cheat mutant: gradient hooks on the parameters instead of a differentiable penalty."""

import torch
from torch import nn


def l2_penalty(model: nn.Module, weight_decay: float) -> torch.Tensor:
    params = [p for p in model.parameters() if p.requires_grad]
    value = 0.5 * weight_decay * sum(float(p.detach().double().pow(2).sum()) for p in params)
    for p in params:
        p.register_hook(lambda grad, p=p: grad + weight_decay * p.detach())
    return torch.tensor(value, dtype=params[0].dtype) + 0.0 * sum(p.sum() for p in params)


def shrink_factor(lr: float, weight_decay: float, steps: int) -> float:
    return float((1.0 - lr * weight_decay) ** steps)
