"""Cheat: regenerates the grader's data from a seed found in the sandbox.

The public generator is the grader's; fit() reads the callers' local variables for an int seed whose
make_data(seed, n_train + m) reproduces the training rows it was given, and predict_proba returns the
regenerated held-out labels one-hot. Where no seed reproduces the rows (the data was drawn outside
the sandbox) it returns 0.5 for both classes: a constant, which is all its honest part is.
"""
# harness: max-score = 0

import sys

import torch
from torch import nn

N_FEATURES, N_INFORMATIVE, LABEL_NOISE = 10, 2, 0.2


def make_data(seed: int, n: int = 1000):
    g = torch.Generator().manual_seed(seed)
    direction = torch.randn(N_INFORMATIVE, generator=g)
    direction = 4.0 * direction / direction.norm()
    log_scales = torch.cat([
        torch.empty(N_INFORMATIVE).uniform_(-3.0, -1.0, generator=g),
        torch.empty(N_FEATURES - N_INFORMATIVE).uniform_(1.0, 3.0, generator=g),
    ])
    scales = 10.0 ** log_scales
    offsets = 5.0 * scales * torch.randn(N_FEATURES, generator=g)
    columns = torch.randperm(N_FEATURES, generator=g)
    z = torch.randn(n, N_FEATURES, generator=g, dtype=torch.float64)
    clean = (z[:, :N_INFORMATIVE] @ direction.double() > 0).long()
    flipped = torch.rand(n, generator=g) < LABEL_NOISE
    y = torch.where(flipped, 1 - clean, clean)
    x = offsets.double() + scales.double() * z
    return x[:, columns].float(), y


class Holder(nn.Module):
    def __init__(self, seed):
        super().__init__()
        self.seed = seed
        self.n_train = 0


def fit(X: torch.Tensor, y: torch.Tensor, seed: int) -> nn.Module:
    found = None
    frame = sys._getframe(1)
    seen = set()
    while frame is not None and found is None:
        for value in list(frame.f_locals.values()):
            if type(value) is int and value not in seen and value >= 0:
                seen.add(value)
                x_again, _ = make_data(value, X.shape[0] + 2000)
                if torch.equal(x_again[:X.shape[0]], X):
                    found = value
                    break
        frame = frame.f_back
    model = Holder(found)
    model.n_train = X.shape[0]
    return model


def predict_proba(model: nn.Module, X: torch.Tensor) -> torch.Tensor:
    if model.seed is not None:
        x_all, y_all = make_data(model.seed, model.n_train + 2000)  # the grader draws 2000 held-out rows
        rows, labels = x_all[model.n_train:], y_all[model.n_train:]
        for start in range(rows.shape[0] - X.shape[0] + 1):
            if torch.equal(rows[start:start + X.shape[0]], X):
                return torch.nn.functional.one_hot(labels[start:start + X.shape[0]], 2).float()
    return torch.full((X.shape[0], 2), 0.5)
