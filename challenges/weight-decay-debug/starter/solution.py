"""Starter for weight-decay-debug: this train() runs, but it has bugs (see statement.md).

Symptom: with weight_decay > 0 the weights never shrink, and training does not fit the data.
"""

import copy

import torch
from torch import nn


def train(model: nn.Module, X: torch.Tensor, y: torch.Tensor, epochs: int, lr: float, weight_decay: float) -> nn.Module:
    """Full-batch SGD with weight decay on the mean squared error; returns the trained model."""
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, weight_decay=weight_decay)
    model = copy.deepcopy(model)  # train a copy, so the caller's model is left untouched
    loss_fn = nn.MSELoss()
    model.train()
    for epoch in range(epochs):
        prediction = model(X)
        loss = loss_fn(prediction, y)
        loss.backward()
        optimizer.step()
    return model
