"""Mutant: no standardization. With weight decay the tiny-scale informative features cannot be used, and the huge noise features swamp the rest."""

import torch
import torch.nn.functional as F
from torch import nn

HIDDEN = 64
STEPS = 300
LR = 1e-2
WEIGHT_DECAY = 0.05


def fit(X: torch.Tensor, y: torch.Tensor, seed: int) -> nn.Module:
    X = X.float()
    y = y.long()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = nn.Sequential(nn.Linear(X.shape[1], HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, 2))  # "the network learns the scales"
    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    optimizer = torch.optim.Adam(
        [{"params": decay, "weight_decay": WEIGHT_DECAY}, {"params": no_decay, "weight_decay": 0.0}], lr=LR
    )
    model.train()
    for _ in range(STEPS):
        optimizer.zero_grad()
        F.cross_entropy(model(X), y).backward()
        optimizer.step()
    return model.eval()


@torch.no_grad()
def predict_proba(model: nn.Module, X: torch.Tensor) -> torch.Tensor:
    model.eval()
    return torch.softmax(model(X.float()), dim=1)
