"""Mutant: the optimizer is built before the model is deep-copied, so it steps the caller's parameters (which get no gradients) and the returned copy never changes."""

import copy

import torch
from torch import nn


def train(model: nn.Module, X: torch.Tensor, y: torch.Tensor, epochs: int, lr: float, weight_decay: float) -> nn.Module:
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, weight_decay=weight_decay)
    model = copy.deepcopy(model)  # train a copy, so the caller's model is left untouched
    loss_fn = nn.MSELoss()
    target = y.reshape(-1, 1)
    model.train()
    for _ in range(epochs):
        optimizer.zero_grad()
        loss = loss_fn(model(X), target)
        loss.backward()
        optimizer.step()
    return model
