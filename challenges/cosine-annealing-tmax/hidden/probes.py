"""Probes for cosine-annealing-tmax: they run the candidate's code on seeded inputs and report what it did.

Every input is drawn from a local `random.Random(seed)` or `torch.Generator` before the candidate's
code runs, so the reference run in the trusted process (same seed) sees the very same inputs and
its `config` / data fields can be trusted by the checks.
"""

import random

import torch
from torch import nn


def _group_lrs(optimizer):
    return [float(group["lr"]) for group in optimizer.param_groups]


def _scheduler_trace(solution, base_lrs, epochs, steps_per_epoch, eta_min, pass_defaults):
    """Build an SGD optimizer with one group per base lr, then step optimizer + scheduler T times.

    Returns every group's lr right after make_scheduler (t = 0) and after each scheduler step
    (t = 1 .. T), as a list of T + 1 rows.
    """
    params = [torch.zeros(2, requires_grad=True) for _ in base_lrs]
    groups = [{"params": [param], "lr": base} for param, base in zip(params, base_lrs)]
    optimizer = torch.optim.SGD(groups, lr=base_lrs[0])
    if pass_defaults:
        scheduler = solution.make_scheduler(optimizer, epochs)
    else:
        scheduler = solution.make_scheduler(optimizer, epochs, steps_per_epoch=steps_per_epoch, eta_min=eta_min)
    rows = [_group_lrs(optimizer)]
    for _ in range(epochs * steps_per_epoch):
        for param in params:
            param.grad = torch.ones_like(param)
        optimizer.step()
        scheduler.step()
        rows.append(_group_lrs(optimizer))
    return rows


def probe_scheduler_defaults(solution, seed):
    """One param group, make_scheduler(optimizer, epochs) with steps_per_epoch and eta_min left at their defaults."""
    rng = random.Random(seed)
    epochs = rng.randint(3, 12)
    base_lr = round(rng.uniform(0.01, 0.5), 4)
    lrs = _scheduler_trace(solution, [base_lr], epochs, 1, 0.0, pass_defaults=True)
    return {"config": {"epochs": epochs, "steps_per_epoch": 1, "eta_min": 0.0, "base_lrs": [base_lr]}, "lrs": lrs}


def probe_scheduler_steps(solution, seed):
    """One param group, several steps per epoch, eta_min = 0."""
    rng = random.Random(seed)
    epochs = rng.randint(3, 12)
    steps_per_epoch = rng.randint(2, 7)
    base_lr = round(rng.uniform(0.01, 0.5), 4)
    lrs = _scheduler_trace(solution, [base_lr], epochs, steps_per_epoch, 0.0, pass_defaults=False)
    config = {"epochs": epochs, "steps_per_epoch": steps_per_epoch, "eta_min": 0.0, "base_lrs": [base_lr]}
    return {"config": config, "lrs": lrs}


def probe_scheduler_groups(solution, seed):
    """Two or three param groups with different base lrs, eta_min > 0, one or more steps per epoch."""
    rng = random.Random(seed)
    epochs = rng.randint(3, 12)
    steps_per_epoch = rng.randint(1, 7)
    n_groups = rng.randint(2, 3)
    base_lrs = []
    while len(base_lrs) < n_groups:  # distinct lrs, so a formula that uses one group's lr for all shows
        candidate = round(rng.uniform(0.02, 0.5), 4)
        if all(abs(candidate - other) > 0.02 for other in base_lrs):
            base_lrs.append(candidate)
    eta_min = round(rng.uniform(0.001, 0.01), 5)
    lrs = _scheduler_trace(solution, base_lrs, epochs, steps_per_epoch, eta_min, pass_defaults=False)
    config = {"epochs": epochs, "steps_per_epoch": steps_per_epoch, "eta_min": eta_min, "base_lrs": base_lrs}
    return {"config": config, "lrs": lrs}


def _train_setup(seed):
    rng = random.Random(seed)
    generator = torch.Generator().manual_seed(seed)
    epochs = rng.randint(3, 10)
    n_batches = rng.randint(2, 6)
    batch_size = rng.randint(4, 8)
    in_features = rng.randint(2, 5)
    out_features = rng.randint(1, 2)
    lr = round(rng.uniform(0.02, 0.2), 4)
    n = n_batches * batch_size
    x = torch.randn(n, in_features, generator=generator)
    true_w = torch.randn(out_features, in_features, generator=generator)
    y = x @ true_w.T + 0.5 * torch.randn(n, out_features, generator=generator)
    weight = 0.5 * torch.randn(out_features, in_features, generator=generator)
    bias = 0.5 * torch.randn(out_features, generator=generator)
    config = {
        "epochs": epochs,
        "n_batches": n_batches,
        "batch_size": batch_size,
        "lr": lr,
    }
    return rng, config, x, y, weight, bias


def _model(weight, bias):
    model = nn.Linear(weight.shape[1], weight.shape[0])
    with torch.no_grad():
        model.weight.copy_(weight)
        model.bias.copy_(bias)
    return model


def _train_result(config, x, y, weight, bias, model, lrs):
    return {
        "config": config,
        "x": x,
        "y": y,
        "initial_weight": weight,
        "initial_bias": bias,
        "lrs": lrs,
        "final_weight": model.weight.detach().clone(),
        "final_bias": model.bias.detach().clone(),
    }


def probe_train_plain(solution, seed):
    """train() with eta_min left at its default, on a list of (x, y) batches."""
    _, config, x, y, weight, bias = _train_setup(seed)
    config["eta_min"] = 0.0
    size = config["batch_size"]
    loader = [(x[i:i + size].clone(), y[i:i + size].clone()) for i in range(0, x.shape[0], size)]
    model = _model(weight, bias)
    lrs = solution.train(model, loader, config["epochs"], config["lr"])
    return _train_result(config, x, y, weight, bias, model, lrs)


def probe_train_eta_min(solution, seed):
    """train() with eta_min > 0, on a torch DataLoader without shuffling."""
    rng, config, x, y, weight, bias = _train_setup(seed)
    config["eta_min"] = round(rng.uniform(0.002, 0.02), 5)
    dataset = torch.utils.data.TensorDataset(x.clone(), y.clone())
    loader = torch.utils.data.DataLoader(dataset, batch_size=config["batch_size"], shuffle=False)
    model = _model(weight, bias)
    lrs = solution.train(model, loader, config["epochs"], config["lr"], eta_min=config["eta_min"])
    return _train_result(config, x, y, weight, bias, model, lrs)
