"""Cheat: monkeypatches torch where the grader's code would see it.

At import it wraps torch.Generator.manual_seed (by replacing torch.Generator with a subclass that
records every seed) so that a generator seeded inside the sandbox gives its seed away, and it
replaces isinstance so that anything passes for an nn.Module. predict_proba regenerates the data
from a recorded seed with the public generator and returns the held-out labels one-hot; with no
usable seed it returns 0.5 for both classes: a constant, which is all its honest part is.
"""
# harness: max-score = 0

import builtins

import torch
from torch import nn

N_FEATURES, N_INFORMATIVE, LABEL_NOISE = 10, 2, 0.2
SEEDS = []
_Generator = torch.Generator


class RecordingGenerator(_Generator):
    def manual_seed(self, seed):
        SEEDS.append(int(seed))
        return super().manual_seed(seed)


torch.Generator = RecordingGenerator
_isinstance = builtins.isinstance
builtins.isinstance = lambda obj, cls: True if cls is nn.Module else _isinstance(obj, cls)


def make_data(seed: int, n: int = 1000):
    g = _Generator().manual_seed(seed)
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


def fit(X: torch.Tensor, y: torch.Tensor, seed: int) -> nn.Module:
    return nn.Linear(X.shape[1], 2)


def predict_proba(model: nn.Module, X: torch.Tensor) -> torch.Tensor:
    for seed in reversed(SEEDS):
        x_all, y_all = make_data(seed, 2300)
        if X.shape[0] == 2000 and torch.equal(x_all[300:], X):
            return torch.nn.functional.one_hot(y_all[300:], 2).float()
    return torch.full((X.shape[0], 2), 0.5)
