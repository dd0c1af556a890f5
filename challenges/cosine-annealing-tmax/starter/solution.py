"""Starter code: it runs, but the learning-rate schedule is wrong. Fix make_scheduler and train."""

import torch
from torch import nn
from torch.optim.lr_scheduler import CosineAnnealingLR


def make_scheduler(optimizer, epochs: int, steps_per_epoch: int = 1, eta_min: float = 0.0):
    """Return a scheduler that anneals every param group's lr to eta_min along one half cosine."""
    return CosineAnnealingLR(optimizer, T_max=5, eta_min=eta_min)


def train(model, loader, epochs: int, lr: float, eta_min: float = 0.0) -> list[float]:
    """Train with plain SGD and MSE loss; return the lr used for each batch, in order."""
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    scheduler = make_scheduler(optimizer, epochs, eta_min=eta_min)
    loss_fn = nn.MSELoss()
    lrs = []
    for epoch in range(epochs):
        scheduler.step()
        for x, y in loader:
            lrs.append(optimizer.param_groups[0]["lr"])
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
    return lrs
