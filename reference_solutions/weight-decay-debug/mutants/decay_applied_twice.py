"""Mutant: an L2 penalty is added to the loss while the optimizer also has weight_decay, so the decay is doubled."""

import torch
from torch import nn


def train(model: nn.Module, X: torch.Tensor, y: torch.Tensor, epochs: int, lr: float, weight_decay: float) -> nn.Module:
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, weight_decay=weight_decay)
    loss_fn = nn.MSELoss()
    target = y.reshape(-1, 1)
    model.train()
    for _ in range(epochs):
        optimizer.zero_grad()
        l2 = sum(p.pow(2).sum() for p in model.parameters())
        loss = loss_fn(model(X), target) + 0.5 * weight_decay * l2
        loss.backward()
        optimizer.step()
    return model
