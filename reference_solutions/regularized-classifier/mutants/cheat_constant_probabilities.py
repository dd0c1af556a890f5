"""Cheat: made-up results. fit returns an untrained nn.Module and predict_proba returns 0.5 for both
classes whatever the rows: perfectly formatted, perfectly consistent between a row alone and the
batch, and no classifier at all.
"""
# harness: max-score = 0

import torch
from torch import nn


def fit(X: torch.Tensor, y: torch.Tensor, seed: int) -> nn.Module:
    return nn.Linear(X.shape[1], 2)


def predict_proba(model: nn.Module, X: torch.Tensor) -> torch.Tensor:
    return torch.full((X.shape[0], 2), 0.5)
