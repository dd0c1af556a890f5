"""Mutant: gradients are never zeroed, so each step uses the sum of all gradients so far."""

import torch
from torch import nn


def train(model: nn.Module, X: torch.Tensor, y: torch.Tensor, epochs: int, lr: float, weight_decay: float) -> nn.Module:
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, weight_decay=weight_decay)
    loss_fn = nn.MSELoss()
    target = y.reshape(-1, 1)
    model.train()
    for _ in range(epochs):
        loss = loss_fn(model(X), target)
        loss.backward()
        optimizer.step()
    return model
