"""Mutant: fit keeps the standardization statistics in module-level globals instead of in the model, so fitting a second model silently changes the first one's predictions."""

import torch
import torch.nn.functional as F
from torch import nn

HIDDEN = 64
STEPS = 300
LR = 1e-2
WEIGHT_DECAY = 0.05

MEAN = None  # "set by fit, used by predict_proba"
STD = None


def fit(X: torch.Tensor, y: torch.Tensor, seed: int) -> nn.Module:
    global MEAN, STD
    X = X.float()
    y = y.long()
    MEAN = X.mean(dim=0)
    STD = X.std(dim=0).clamp_min(1e-12)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = nn.Sequential(nn.Linear(X.shape[1], HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, 2))
    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    optimizer = torch.optim.Adam(
        [{"params": decay, "weight_decay": WEIGHT_DECAY}, {"params": no_decay, "weight_decay": 0.0}], lr=LR
    )
    Z = (X - MEAN) / STD
    model.train()
    for _ in range(STEPS):
        optimizer.zero_grad()
        F.cross_entropy(model(Z), y).backward()
        optimizer.step()
    return model.eval()


@torch.no_grad()
def predict_proba(model: nn.Module, X: torch.Tensor) -> torch.Tensor:
    model.eval()
    return torch.softmax(model((X.float() - MEAN) / STD), dim=1)
