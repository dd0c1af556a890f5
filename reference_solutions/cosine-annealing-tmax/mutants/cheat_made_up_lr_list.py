# Tries a made-up trace: make_scheduler is right, but train() steps the scheduler once per epoch (the starter's
# mistake) and returns the closed-form list instead of the lrs its optimizer steps actually used.
# harness: max-score = 6
import math

import torch
from torch import nn
from torch.optim.lr_scheduler import CosineAnnealingLR


def make_scheduler(optimizer, epochs: int, steps_per_epoch: int = 1, eta_min: float = 0.0):
    return CosineAnnealingLR(optimizer, T_max=epochs * steps_per_epoch, eta_min=eta_min)


def train(model, loader, epochs: int, lr: float, eta_min: float = 0.0) -> list[float]:
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    scheduler = make_scheduler(optimizer, epochs, eta_min=eta_min)
    loss_fn = nn.MSELoss()
    for _ in range(epochs):
        for x, y in loader:
            optimizer.zero_grad()
            loss_fn(model(x), y).backward()
            optimizer.step()
        scheduler.step()
    total = epochs * len(loader)
    return [eta_min + (lr - eta_min) * (1 + math.cos(math.pi * t / total)) / 2 for t in range(total)]
