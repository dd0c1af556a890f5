"""Mutant: validation runs in train mode, so BatchNorm normalises with batch statistics and updates its running stats."""

import torch
from torch import nn
from torch.optim.lr_scheduler import ReduceLROnPlateau


def _mean_loss(model, loader, loss_fn):
    """Mean MSE over every sample of `loader`: batch losses weighted by batch size."""
    total, count = 0.0, 0
    with torch.no_grad():
        for x, y in loader:
            total += loss_fn(model(x), y).item() * x.shape[0]
            count += x.shape[0]
    return total / count


def fit(model, train_loader, val_loader, epochs, lr):
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    scheduler = ReduceLROnPlateau(optimizer, mode="min", factor=0.5, patience=2)
    loss_fn = nn.MSELoss()
    history = []
    for epoch in range(epochs):
        epoch_lr = optimizer.param_groups[0]["lr"]  # the lr every step of this epoch uses

        model.train()
        total, count = 0.0, 0
        for x, y in train_loader:
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            total += loss.item() * x.shape[0]
            count += x.shape[0]
        train_loss = total / count

        val_loss = _mean_loss(model, val_loader, loss_fn)

        scheduler.step(val_loss)  # once per epoch, after validation, on the validation loss
        history.append({"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss, "lr": float(epoch_lr)})
    return history
