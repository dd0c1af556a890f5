"""Mutant: lr and weight_decay are swapped; pure decay (lr * wd) looks right, but the loss gradient gets the wrong step size."""

import torch
from torch import nn


def train(model: nn.Module, X: torch.Tensor, y: torch.Tensor, epochs: int, lr: float, weight_decay: float) -> nn.Module:
    optimizer = torch.optim.SGD(model.parameters(), lr=weight_decay, weight_decay=lr)
    loss_fn = nn.MSELoss()
    target = y.reshape(-1, 1)
    model.train()
    for _ in range(epochs):
        optimizer.zero_grad()
        loss = loss_fn(model(X), target)
        loss.backward()
        optimizer.step()
    return model
