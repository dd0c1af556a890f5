"""Probes for weight-decay-debug: call the candidate's train() on seeded models and data and report the weights.

Every input (architecture, initial values, data, lr, weight decay, epochs) comes from a local
`random.Random(seed)` or `torch.Generator` before the candidate's code runs, so the reference
run in the trusted process (same seed) sees the very same inputs and the checks may trust its
reports of them. Models are described by an `arch` list ("linear:IN:OUT", "linear_nobias:IN:OUT",
"tanh", "relu") so the checks can rebuild them. Nothing is judged here.
"""

import random

import torch
from torch import nn

# Disjoint on purpose: a solution that swaps lr and weight_decay must not land on the same numbers.
LR_CHOICES = [0.02, 0.05, 0.08, 0.1]
WD_CHOICES = [0.15, 0.2, 0.25, 0.3]


def _build(arch: list) -> nn.Sequential:
    layers = []
    for token in arch:
        kind, *sizes = token.split(":")
        sizes = [int(s) for s in sizes]
        if kind == "linear":
            layers.append(nn.Linear(*sizes))
        elif kind == "linear_nobias":
            layers.append(nn.Linear(*sizes, bias=False))
        elif kind == "tanh":
            layers.append(nn.Tanh())
        elif kind == "relu":
            layers.append(nn.ReLU())
        else:
            raise ValueError(token)
    return nn.Sequential(*layers)


def _fill(model: nn.Module, generator: torch.Generator) -> None:
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=generator) * 0.5)


def _params(model: nn.Module) -> dict:
    return {name: p.detach().clone() for name, p in model.named_parameters()}


def _hyper(r: random.Random) -> dict:
    return {"lr": r.choice(LR_CHOICES), "weight_decay": r.choice(WD_CHOICES), "epochs": r.randint(8, 25)}


def _train_case(solution, r: random.Random, generator: torch.Generator, arch: list, d: int) -> dict:
    """Seeded data with y of shape (n,), a seeded model, then train(); the weights before and after."""
    n = r.randint(8, 24)
    x = torch.randn(n, d, generator=generator)
    w_true = torch.randn(d, generator=generator)
    y = torch.tanh(x @ w_true) + 0.1 * torch.randn(n, generator=generator)
    model = _build(arch)
    _fill(model, generator)
    config = _hyper(r)
    initial = _params(model)
    trained = solution.train(model, x.clone(), y.clone(), config["epochs"], config["lr"], config["weight_decay"])
    return {"arch": arch, "config": config, "x": x, "y": y, "initial": initial, "trained": _params(trained)}


def probe_train_linear(solution, seed):
    """train() on a single Linear(d, 1) (linear regression with weight decay)."""
    r = random.Random(seed)
    generator = torch.Generator().manual_seed(seed)
    d = r.randint(2, 6)
    return _train_case(solution, r, generator, [f"linear:{d}:1"], d)


def probe_train_mlp(solution, seed):
    """train() on two MLPs of seeded widths: Linear-Tanh-Linear and Linear-ReLU-Linear-Tanh-Linear."""
    r = random.Random(seed)
    generator = torch.Generator().manual_seed(seed)
    out = {}
    d, h = r.randint(2, 5), r.randint(3, 8)
    out["mlp"] = _train_case(solution, r, generator, [f"linear:{d}:{h}", "tanh", f"linear:{h}:1"], d)
    d, h1, h2 = r.randint(2, 5), r.randint(3, 8), r.randint(3, 8)
    arch = [f"linear:{d}:{h1}", "relu", f"linear:{h1}:{h2}", "tanh", f"linear:{h2}:1"]
    out["deep"] = _train_case(solution, r, generator, arch, d)
    return out


def probe_zero_data(solution, seed):
    """train() with X = 0 and y = 0 on two models.

    "decay_only": Linear(d, h) with negative biases, ReLU, Linear(h, 1) without bias. Every hidden
    unit is 0, the output is 0 = y, so every loss gradient is exactly zero and only decay acts.
    "output_bias": Linear(d, 1). The weight's loss gradient is zero (X = 0); the bias's is 2 * b.
    """
    r = random.Random(seed)
    generator = torch.Generator().manual_seed(seed)
    config = _hyper(r)
    n, d, h = r.randint(4, 12), r.randint(2, 5), r.randint(3, 6)
    out = {"config": config, "cases": {}}
    archs = {
        "decay_only": [f"linear:{d}:{h}", "relu", f"linear_nobias:{h}:1"],
        "output_bias": [f"linear:{d}:1"],
    }
    for case, arch in archs.items():
        model = _build(arch)
        _fill(model, generator)
        if case == "decay_only":
            with torch.no_grad():
                model[0].bias.copy_(-(model[0].bias.abs() + 0.1))
        initial = _params(model)
        x, y = torch.zeros(n, d), torch.zeros(n)
        trained = solution.train(model, x, y, config["epochs"], config["lr"], config["weight_decay"])
        out["cases"][case] = {"arch": arch, "initial": initial, "trained": _params(trained)}
    return out
