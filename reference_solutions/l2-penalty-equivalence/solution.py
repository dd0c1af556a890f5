"""Reference solution: the L2 penalty whose gradient is exactly SGD's weight-decay term."""

import torch
from torch import nn


def l2_penalty(model: nn.Module, weight_decay: float) -> torch.Tensor:
    # d/dp (wd/2 * p^2) = wd * p: the term SGD(weight_decay=wd) adds to each gradient.
    # model.parameters() lists a shared (tied) parameter once, as the optimizer sees it.
    squares = [p.pow(2).sum() for p in model.parameters() if p.requires_grad]
    if not squares:
        return torch.zeros(())
    return 0.5 * weight_decay * torch.stack(squares).sum()


def shrink_factor(lr: float, weight_decay: float, steps: int) -> float:
    # With a zero loss gradient each step is p <- p - lr * wd * p = (1 - lr * wd) * p.
    return float((1.0 - lr * weight_decay) ** steps)
