"""Mutant: a hand-written cosine schedule that takes the base lr from the first param group and applies it to every group."""

import math

import torch
from torch import nn


class CosineSchedule:
    """Cosine decay from the optimizer's lr to eta_min over total_steps calls to step()."""

    def __init__(self, optimizer, total_steps, eta_min=0.0):
        self.optimizer = optimizer
        self.total_steps = total_steps
        self.eta_min = eta_min
        self.base_lr = optimizer.param_groups[0]["lr"]
        self.step_count = 0

    def step(self):
        self.step_count += 1
        progress = min(self.step_count, self.total_steps) / self.total_steps
        lr = self.eta_min + (self.base_lr - self.eta_min) * (1 + math.cos(math.pi * progress)) / 2
        for group in self.optimizer.param_groups:
            group["lr"] = lr


def make_scheduler(optimizer, epochs: int, steps_per_epoch: int = 1, eta_min: float = 0.0):
    # The scheduler is stepped once per optimizer step, so its period is counted in steps.
    total_steps = epochs * steps_per_epoch
    return CosineSchedule(optimizer, total_steps, eta_min=eta_min)


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
