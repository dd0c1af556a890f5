"""Mutant: runs torch's own schedulers on a dummy optimizer instead of computing the closed forms (forbidden)."""

import torch
from torch.optim import lr_scheduler

_CLASSES = {
    "step": lr_scheduler.StepLR,
    "multistep": lr_scheduler.MultiStepLR,
    "exponential": lr_scheduler.ExponentialLR,
    "cosine": lr_scheduler.CosineAnnealingLR,
    "linear": lr_scheduler.LinearLR,
    "polynomial": lr_scheduler.PolynomialLR,
}


def lr_at(kind: str, step: int, base_lr: float, **params) -> float:
    param = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([param], lr=base_lr)
    scheduler = _CLASSES[kind](optimizer, **params)
    for _ in range(step):
        optimizer.step()
        scheduler.step()
    return float(optimizer.param_groups[0]["lr"])
