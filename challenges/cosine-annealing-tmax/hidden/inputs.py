"""Trusted side only: every probe's settings and data, drawn from a seed the sandbox never learns.

The checks read these through `inputs[...]`; the expected learning rates and weights are computed
from them in the checks, never in the sandbox.
"""

import random

import torch


def _base_lrs(r: random.Random, count: int) -> list[float]:
    """`count` base lrs at least 0.02 apart, so a formula that uses one group's lr for all shows."""
    lrs: list[float] = []
    while len(lrs) < count:
        candidate = round(r.uniform(0.02, 0.5), 4)
        if all(abs(candidate - other) > 0.02 for other in lrs):
            lrs.append(candidate)
    return lrs


def inputs_scheduler_defaults(seed: int) -> dict:
    """One group; the probe calls make_scheduler(optimizer, epochs), leaving steps_per_epoch = 1 and eta_min = 0."""
    r = random.Random(seed)
    return {"epochs": r.randint(3, 12), "steps_per_epoch": 1, "eta_min": 0.0, "base_lrs": [round(r.uniform(0.01, 0.5), 4)]}


def inputs_scheduler_steps(seed: int) -> dict:
    """One group, several steps per epoch, eta_min = 0."""
    r = random.Random(seed)
    return {"epochs": r.randint(3, 12), "steps_per_epoch": r.randint(2, 7), "eta_min": 0.0,
            "base_lrs": [round(r.uniform(0.01, 0.5), 4)]}


def inputs_scheduler_groups(seed: int) -> dict:
    """Two or three groups with different base lrs, eta_min > 0, one or more steps per epoch."""
    r = random.Random(seed)
    epochs, steps = r.randint(3, 12), r.randint(1, 7)
    base_lrs = _base_lrs(r, r.randint(2, 3))
    return {"epochs": epochs, "steps_per_epoch": steps, "eta_min": round(r.uniform(0.001, 0.01), 5), "base_lrs": base_lrs}


def _train(seed: int, with_eta_min: bool) -> dict:
    r = random.Random(seed)
    generator = torch.Generator().manual_seed(seed)
    epochs, n_batches, batch_size = r.randint(3, 10), r.randint(2, 6), r.randint(4, 8)
    in_features, out_features = r.randint(2, 5), r.randint(1, 2)
    lr = round(r.uniform(0.02, 0.2), 4)
    eta_min = round(r.uniform(0.002, 0.02), 5) if with_eta_min else 0.0
    n = n_batches * batch_size
    x = torch.randn(n, in_features, generator=generator)
    true_w = torch.randn(out_features, in_features, generator=generator)
    y = x @ true_w.T + 0.5 * torch.randn(n, out_features, generator=generator)
    return {
        "epochs": epochs, "n_batches": n_batches, "batch_size": batch_size, "lr": lr, "eta_min": eta_min,
        "x": x, "y": y,
        "initial_weight": 0.5 * torch.randn(out_features, in_features, generator=generator),
        "initial_bias": 0.5 * torch.randn(out_features, generator=generator),
    }


def inputs_train_plain(seed: int) -> dict:
    """train() with eta_min left at its default, on a list of (x, y) batches."""
    return _train(seed, with_eta_min=False)


def inputs_train_eta_min(seed: int) -> dict:
    """train() with eta_min > 0, on a torch DataLoader without shuffling."""
    return _train(seed, with_eta_min=True)
