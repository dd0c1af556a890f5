"""Trusted side only: every model, initial value, data set and hyperparameter the probes train with.

Drawn from the probe's input seed, which the sandbox never learns. Models are described by an
`arch` list ("linear:IN:OUT", "linear_nobias:IN:OUT", "tanh", "relu") with their initial
parameters by name ("0.weight", "0.bias", ...), so the probe builds the very model the checks
rebuild. The expected weights are computed in the checks, from these inputs alone.
"""

import random

import torch

# Disjoint on purpose: a solution that swaps lr and weight_decay must not land on the same numbers.
LR_CHOICES = [0.02, 0.05, 0.08, 0.1]
WD_CHOICES = [0.15, 0.2, 0.25, 0.3]


def _initial(arch: list, generator: torch.Generator) -> dict:
    """Initial parameters, named as nn.Sequential names them, in its parameter order: N(0, 0.5**2)."""
    params = {}
    for index, token in enumerate(arch):
        kind, *sizes = token.split(":")
        if kind in ("linear", "linear_nobias"):
            n_in, n_out = (int(s) for s in sizes)
            params[f"{index}.weight"] = torch.randn(n_out, n_in, generator=generator) * 0.5
            if kind == "linear":
                params[f"{index}.bias"] = torch.randn(n_out, generator=generator) * 0.5
    return params


def _hyper(r: random.Random) -> dict:
    return {"lr": r.choice(LR_CHOICES), "weight_decay": r.choice(WD_CHOICES), "epochs": r.randint(8, 25)}


def _train_case(r: random.Random, generator: torch.Generator, arch: list, d: int) -> dict:
    """Data with y of shape (n,) from a noisy tanh of a random direction, a model, and hyperparameters."""
    n = r.randint(8, 24)
    x = torch.randn(n, d, generator=generator)
    w_true = torch.randn(d, generator=generator)
    y = torch.tanh(x @ w_true) + 0.1 * torch.randn(n, generator=generator)
    return {"arch": arch, "initial": _initial(arch, generator), "x": x, "y": y, "config": _hyper(r)}


def _start(seed: int):
    return random.Random(seed), torch.Generator().manual_seed(seed)


def inputs_train_linear(seed: int) -> dict:
    """A single Linear(d, 1): linear regression with weight decay."""
    r, generator = _start(seed)
    d = r.randint(2, 6)
    return _train_case(r, generator, [f"linear:{d}:1"], d)


def inputs_train_mlp(seed: int) -> dict:
    """Two MLPs of seeded widths: Linear-Tanh-Linear and Linear-ReLU-Linear-Tanh-Linear."""
    r, generator = _start(seed)
    d, h = r.randint(2, 5), r.randint(3, 8)
    mlp = _train_case(r, generator, [f"linear:{d}:{h}", "tanh", f"linear:{h}:1"], d)
    d, h1, h2 = r.randint(2, 5), r.randint(3, 8), r.randint(3, 8)
    deep = _train_case(r, generator, [f"linear:{d}:{h1}", "relu", f"linear:{h1}:{h2}", "tanh", f"linear:{h2}:1"], d)
    return {"mlp": mlp, "deep": deep}


def inputs_zero_data(seed: int) -> dict:
    """X = 0 and y = 0 on two models, one configuration.

    "decay_only": Linear(d, h) with negative biases, ReLU, Linear(h, 1) without bias. Every hidden
    unit is 0, the output is 0 = y, so every loss gradient is exactly zero and only decay acts.
    "output_bias": Linear(d, 1). The weight's loss gradient is zero (X = 0); the bias's is 2 * b.
    """
    r, generator = _start(seed)
    config = _hyper(r)
    n, d, h = r.randint(4, 12), r.randint(2, 5), r.randint(3, 6)
    cases = {}
    for case, arch in (("decay_only", [f"linear:{d}:{h}", "relu", f"linear_nobias:{h}:1"]),
                       ("output_bias", [f"linear:{d}:1"])):
        initial = _initial(arch, generator)
        if case == "decay_only":
            initial["0.bias"] = -(initial["0.bias"].abs() + 0.1)
        cases[case] = {"arch": arch, "initial": initial, "x": torch.zeros(n, d), "y": torch.zeros(n), "config": config}
    return {"config": config, "cases": cases}
