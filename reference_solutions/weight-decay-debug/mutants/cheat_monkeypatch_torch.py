"""Cheat: monkeypatches torch. Instead of fixing its own loop, train() relies on patches made at
import: torch.nn.functional.mse_loss reshapes a (n,) target to the prediction's shape, and
torch.optim.SGD.zero_grad is called from a patched step. A probe must not trust anything computed
with a torch the submission rewrote: the guard reports every probe as tampered, so this scores 0.
"""
# harness: max-score = 0

import copy

import torch
from torch import nn

_mse_loss = torch.nn.functional.mse_loss
_step = torch.optim.SGD.step


def _mse_loss_any_shape(input, target, *args, **kwargs):
    return _mse_loss(input, target.reshape(input.shape), *args, **kwargs)


def _step_then_zero(self, closure=None):
    loss = _step(self, closure)
    self.zero_grad()
    return loss


torch.nn.functional.mse_loss = _mse_loss_any_shape
torch.optim.SGD.step = _step_then_zero


def train(model: nn.Module, X: torch.Tensor, y: torch.Tensor, epochs: int, lr: float, weight_decay: float) -> nn.Module:
    model = copy.deepcopy(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, weight_decay=weight_decay)
    loss_fn = nn.MSELoss()
    model.train()
    for _ in range(epochs):
        loss = loss_fn(model(X), y)  # (n, 1) vs (n,): "fixed" by the patched mse_loss
        loss.backward()
        optimizer.step()  # zeroes the gradients too, by the patched step
    return model
