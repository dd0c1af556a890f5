"""Cheat: fit returns an object that only claims to be an nn.Module (a `__class__` property), and
predict_proba returns 0.5 for both classes whatever the rows: a constant, no classifier at all.
"""
# harness: max-score = 0

import torch
from torch import nn


class NotAModule:
    @property
    def __class__(self):  # isinstance(obj, nn.Module) believes this
        return nn.Module


def fit(X: torch.Tensor, y: torch.Tensor, seed: int):
    return NotAModule()


def predict_proba(model, X: torch.Tensor) -> torch.Tensor:
    return torch.full((X.shape[0], 2), 0.5)
