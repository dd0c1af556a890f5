"""Mutant: standardizes with a BatchNorm1d layer but never switches to eval mode, so predictions use each batch's own statistics."""

import torch
import torch.nn.functional as F
from torch import nn

HIDDEN = 64
STEPS = 300
LR = 1e-2
WEIGHT_DECAY = 0.05


class Classifier(nn.Module):
    def __init__(self, n_features: int, hidden: int = HIDDEN) -> None:
        super().__init__()
        self.norm = nn.BatchNorm1d(n_features, affine=False)  # "standardizes the inputs for me"
        self.net = nn.Sequential(nn.Linear(n_features, hidden), nn.ReLU(), nn.Linear(hidden, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self.norm(x))


def fit(X: torch.Tensor, y: torch.Tensor, seed: int) -> nn.Module:
    X = X.float()
    y = y.long()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Classifier(X.shape[1])
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
    return model


@torch.no_grad()
def predict_proba(model: nn.Module, X: torch.Tensor) -> torch.Tensor:
    return torch.softmax(model(X.float()), dim=1)
