"""Starter code: it trains and validates, but the plateau scheduler is wired up wrong. Fix fit."""

import torch
from torch import nn
from torch.optim.lr_scheduler import ReduceLROnPlateau


def fit(model, train_loader, val_loader, epochs, lr):
    """Train with SGD and MSE; return one dict per epoch with epoch, train_loss, val_loss and lr."""
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    scheduler = ReduceLROnPlateau(optimizer, mode="max", factor=0.5, patience=2)
    loss_fn = nn.MSELoss()
    history = []
    for epoch in range(epochs):
        epoch_lr = optimizer.param_groups[0]["lr"]

        model.train()
        total, count = 0.0, 0
        for x, y in train_loader:
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            scheduler.step(loss.item())
            total += loss.item() * x.shape[0]
            count += x.shape[0]
        train_loss = total / count

        model.eval()
        total, count = 0.0, 0
        with torch.no_grad():
            for x, y in val_loader:
                total += loss_fn(model(x), y).item() * x.shape[0]
                count += x.shape[0]
        val_loss = total / count

        history.append({"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss, "lr": epoch_lr})
    return history
