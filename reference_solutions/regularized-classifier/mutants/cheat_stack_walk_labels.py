"""Cheat: predict_proba walks the call stack (sys._getframe) for the held-out labels.

It looks through every caller's local variables (and the dicts, lists and tuples they hold) for a 0/1
int64 tensor as long as X and returns it one-hot as the "probabilities". Where it finds none it
returns 0.5 for both classes: a constant, which is all its honest part is.
"""
# harness: max-score = 0

import sys

import torch
from torch import nn


def fit(X: torch.Tensor, y: torch.Tensor, seed: int) -> nn.Module:
    return nn.Linear(X.shape[1], 2)  # never trained: the labels come from the stack


def _candidates(value, depth=0):
    if type(value) is torch.Tensor:
        yield value
    elif depth < 3 and type(value) is dict:
        for item in list(value.values()):
            yield from _candidates(item, depth + 1)
    elif depth < 3 and type(value) in (list, tuple):
        for item in list(value):
            yield from _candidates(item, depth + 1)


def _labels_on_stack(m: int):
    frame = sys._getframe(1)
    while frame is not None:
        values = list(frame.f_locals.values())
        # plain local tensors first (the current labels), then those inside containers
        for tensor in [v for v in values if type(v) is torch.Tensor] + [t for v in values for t in _candidates(v)]:
            if tensor.dtype == torch.int64 and tuple(tensor.shape) == (m,) and bool(((tensor == 0) | (tensor == 1)).all()):
                return tensor
        frame = frame.f_back
    return None


def predict_proba(model: nn.Module, X: torch.Tensor) -> torch.Tensor:
    labels = _labels_on_stack(X.shape[0])
    if labels is None:
        return torch.full((X.shape[0], 2), 0.5)
    return torch.nn.functional.one_hot(labels, 2).float()
