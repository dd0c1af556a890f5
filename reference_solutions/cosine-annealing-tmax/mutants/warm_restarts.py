"""Mutant: CosineAnnealingWarmRestarts, which jumps back to the base lr instead of ending at eta_min."""

import torch
from torch import nn
from torch.optim.lr_scheduler import CosineAnnealingWarmRestarts


def make_scheduler(optimizer, epochs: int, steps_per_epoch: int = 1, eta_min: float = 0.0):
    # The scheduler is stepped once per optimizer step, so its period is counted in steps.
    total_steps = epochs * steps_per_epoch
    return CosineAnnealingWarmRestarts(optimizer, T_0=total_steps, eta_min=eta_min)


def train(model, loader, epochs: int, lr: float, eta_min: float = 0.0) -> list[float]:
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    scheduler = make_scheduler(optimizer, epochs, steps_per_epoch=len(loader), eta_min=eta_min)
    loss_fn = nn.MSELoss()
    lrs = []
    model.train()
    for _ in range(epochs):
        for x, y in loader:
            lrs.append(optimizer.param_groups[0]["lr"])  # the lr this batch's step will use
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            scheduler.step()
    return lrs
