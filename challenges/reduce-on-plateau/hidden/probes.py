"""Probes for reduce-on-plateau: they run the candidate's fit() on seeded data and report what it returned.

Every input (sizes, lr, data, initial weights) is drawn from a local `random.Random(seed)` and
`torch.Generator` before the candidate's code runs, so the reference run in the trusted process
(same seed) sees the very same inputs and its `config` can be trusted by the checks.
"""

import random

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def _model(generator, in_features, hidden):
    """Linear -> BatchNorm1d -> Tanh -> Linear, with weights drawn from `generator`."""
    model = nn.Sequential(nn.Linear(in_features, hidden), nn.BatchNorm1d(hidden), nn.Tanh(), nn.Linear(hidden, 1))
    with torch.no_grad():
        for param in model.parameters():
            if param.dim() > 1:
                param.copy_(torch.randn(param.shape, generator=generator) / param.shape[1] ** 0.5)
            else:
                param.copy_(0.1 * torch.randn(param.shape, generator=generator))
        model[1].weight.add_(1.0)  # BatchNorm gain around 1
        model[3].weight.mul_(0.1)  # the untrained model predicts values close to 0
    return model


def _sizes(rng):
    """Sample counts and batch sizes whose last batches are partial (but hold at least 2 samples: BatchNorm)."""
    while True:
        train_batch = rng.randint(6, 10)
        n_train = rng.randint(40, 64)
        val_batch = rng.randint(5, 9)
        n_val = rng.randint(30, 50)
        if n_train % train_batch >= 2 and n_val % val_batch >= 2:
            return n_train, train_batch, n_val, val_batch


def _run(solution, seed, noise_targets, epoch_range):
    rng = random.Random(seed)
    generator = torch.Generator().manual_seed(seed)
    n_train, train_batch, n_val, val_batch = _sizes(rng)
    in_features = rng.randint(3, 5)
    hidden = rng.randint(6, 10)
    epochs = rng.randint(*epoch_range)
    lr = round(rng.uniform(0.01, 0.03), 4)

    true_w = torch.randn(in_features, 1, generator=generator)
    x_train = torch.randn(n_train, in_features, generator=generator)
    y_train = 2.0 * torch.tanh(x_train @ true_w) + 0.1 * torch.randn(n_train, 1, generator=generator)
    x_val = torch.randn(n_val, in_features, generator=generator)
    if noise_targets:
        # Targets independent of the inputs: nothing learned on the training set helps here.
        y_val = torch.randn(n_val, 1, generator=generator)
        y_val -= y_val.mean()
    else:
        y_val = 2.0 * torch.tanh(x_val @ true_w) + 0.1 * torch.randn(n_val, 1, generator=generator)
    model = _model(generator, in_features, hidden)

    train_loader = DataLoader(TensorDataset(x_train, y_train), batch_size=train_batch, shuffle=False)
    val_loader = [(x_val[i:i + val_batch].clone(), y_val[i:i + val_batch].clone()) for i in range(0, n_val, val_batch)]

    history = solution.fit(model, train_loader, val_loader, epochs, lr)
    config = {
        "epochs": epochs,
        "lr": lr,
        "n_train": n_train,
        "train_batch": train_batch,
        "n_val": n_val,
        "val_batch": val_batch,
    }
    state = {name: value.detach().clone() for name, value in model.state_dict().items()}
    return {"config": config, "history": history, "final_state": state}


def probe_steady(solution, seed):
    """Validation data from the training distribution: validation loss mostly keeps improving."""
    return _run(solution, seed, noise_targets=False, epoch_range=(8, 12))


def probe_plateau(solution, seed):
    """Validation targets are pure noise: training loss keeps falling, validation loss stalls, the lr must drop."""
    return _run(solution, seed, noise_targets=True, epoch_range=(12, 16))
