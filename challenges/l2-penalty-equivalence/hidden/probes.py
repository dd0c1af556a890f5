"""Probes for l2-penalty-equivalence: run the candidate's code on seeded models and report what it did.

Every input (layer sizes, which parameters are frozen, initial values, data, lr, weight decay)
comes from a local `random.Random(seed)` or `torch.Generator` before the candidate's code runs,
so the reference run in the trusted process (same seed) sees the very same inputs and the
checks may trust its reports of them. Nothing is judged here.
"""

import random

import torch
import torch.nn.functional as F
from torch import nn

LR_CHOICES = [0.05, 0.1, 0.2, 0.3]
WD_CHOICES = [0.05, 0.1, 0.2, 0.3, 0.5]


# ---------------------------------------------------------------- models


def _fill(model: nn.Module, generator: torch.Generator) -> None:
    """Seeded values for every parameter (a tied parameter is filled once)."""
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=generator) * 0.5)


def _mlp(r: random.Random) -> nn.Module:
    d, h, o = r.choice([3, 4, 5]), r.choice([5, 6, 8]), r.choice([1, 2, 3])
    return nn.Sequential(nn.Linear(d, h), nn.Tanh(), nn.Linear(h, h), nn.Tanh(), nn.Linear(h, o))


def _frozen(r: random.Random) -> nn.Module:
    """BatchNorm (with buffers), LayerNorm, a frozen layer chosen by the seed and a frozen bias alone."""
    d, h, o = r.choice([3, 4, 5]), r.choice([5, 6, 8]), r.choice([1, 2, 3])
    model = nn.Sequential(nn.Linear(d, h), nn.BatchNorm1d(h), nn.ReLU(), nn.Linear(h, h), nn.LayerNorm(h), nn.Linear(h, o))
    model[r.choice([0, 3])].requires_grad_(False)
    model[r.choice([1, 4])].weight.requires_grad_(False)
    model[5].bias.requires_grad_(False)
    return model


class TiedLM(nn.Module):
    """An output layer tied to an embedding, raw gains of rank 0 and 1, and a normal Linear."""

    def __init__(self, r: random.Random) -> None:
        super().__init__()
        vocab, d = r.choice([7, 9, 11]), r.choice([4, 6])
        self.tokens = nn.Embedding(vocab, d)
        self.mix = nn.Linear(d, d)
        self.scale = nn.Parameter(torch.ones(d))
        self.gain = nn.Parameter(torch.ones(()))
        self.head = nn.Linear(d, vocab)
        self.head.weight = self.tokens.weight


CASES = {"mlp": _mlp, "frozen": _frozen, "tied": TiedLM}


def _build(seed: int, index: int, case: str) -> nn.Module:
    model = CASES[case](random.Random(seed * 1009 + index))
    _fill(model, torch.Generator().manual_seed(seed * 31 + index))
    return model


def _wd(seed: int) -> float:
    return random.Random(seed ^ 0x5EED).choice(WD_CHOICES)


# ---------------------------------------------------------------- reporting helpers


def _params(model: nn.Module) -> dict:
    return {name: p.detach().clone() for name, p in model.named_parameters()}


def _trainable(model: nn.Module) -> list:
    return [name for name, p in model.named_parameters() if p.requires_grad]


def _describe(value) -> dict:
    """What l2_penalty returned, in plain data."""
    if isinstance(value, torch.Tensor):
        out = {
            "type": "Tensor",
            "shape": list(value.shape),
            "dtype": str(value.dtype),
            "requires_grad": bool(value.requires_grad),
            "has_grad_fn": value.grad_fn is not None,
            "value": None,
        }
        if value.numel() == 1 and value.is_floating_point():
            out["value"] = float(value.detach().double().reshape(()))
        return out
    number = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    return {"type": type(value).__name__, "shape": None, "dtype": None, "requires_grad": False,
            "has_grad_fn": False, "value": number}


# ---------------------------------------------------------------- probes


def probe_penalty(solution, seed):
    """l2_penalty on three models (all trainable; frozen parts and BatchNorm buffers; tied weights): what it returned."""
    wd = _wd(seed)
    out = {"weight_decay": wd, "cases": {}}
    for index, case in enumerate(CASES):
        model = _build(seed, index, case)
        params, trainable = _params(model), _trainable(model)
        penalty = solution.l2_penalty(model, wd)
        out["cases"][case] = {"params": params, "trainable": trainable, "result": _describe(penalty)}
    return out


def probe_penalty_grad(solution, seed):
    """The gradient of l2_penalty alone (backward on it when it can be backpropagated) for every named parameter."""
    wd = _wd(seed)
    out = {"weight_decay": wd, "cases": {}}
    for index, case in enumerate(CASES):
        model = _build(seed, index, case)
        params = _params(model)
        for p in model.parameters():
            p.grad = None
        penalty = solution.l2_penalty(model, wd)
        backpropagated = isinstance(penalty, torch.Tensor) and penalty.requires_grad and penalty.numel() == 1
        if backpropagated:
            penalty.reshape(()).backward()
        grads = {name: (None if p.grad is None else p.grad.detach().clone()) for name, p in model.named_parameters()}
        out["cases"][case] = {"params": params, "trainable": _trainable(model), "backpropagated": backpropagated,
                              "grads": grads}
    return out


def _step_model(r: random.Random):
    d, h, o = r.choice([3, 4, 5]), r.choice([5, 6, 8]), r.choice([1, 2])
    arch = [f"linear:{d}:{h}", "tanh", f"layernorm:{h}", f"linear:{h}:{h}", "tanh", f"linear:{h}:{o}"]
    model = nn.Sequential(nn.Linear(d, h), nn.Tanh(), nn.LayerNorm(h), nn.Linear(h, h), nn.Tanh(), nn.Linear(h, o))
    frozen = r.choice([["0.weight", "0.bias"], ["3.weight", "3.bias"], ["3.weight"], ["2.weight", "2.bias"]])
    frozen = frozen + [r.choice(["0.bias", "5.bias", "2.bias"])]
    frozen = sorted(set(frozen))
    for name, p in model.named_parameters():
        if name in frozen:
            p.requires_grad_(False)
    return arch, model, frozen, d, o


def probe_sgd_step(solution, seed):
    """Plain SGD (no weight_decay) on MSE + l2_penalty for a few full-batch steps: the parameters after each step."""
    r = random.Random(seed)
    generator = torch.Generator().manual_seed(seed)
    arch, model, frozen, d, o = _step_model(r)
    _fill(model, generator)
    n = r.choice([6, 8, 10])
    x = torch.randn(n, d, generator=generator)
    y = torch.randn(n, o, generator=generator)
    lr, wd, steps = r.choice(LR_CHOICES), r.choice(WD_CHOICES), r.choice([2, 3, 4])
    initial = _params(model)
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=lr)
    history = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = F.mse_loss(model(x), y) + solution.l2_penalty(model, wd)
        loss.backward()
        optimizer.step()
        history.append(_params(model))
    return {"arch": arch, "frozen": frozen, "lr": lr, "weight_decay": wd, "steps": steps,
            "x": x, "y": y, "initial": initial, "history": history}


def probe_shrink(solution, seed):
    """shrink_factor over seeded (lr, weight_decay, steps), including steps = 0 and 1 and long runs."""
    r = random.Random(seed)
    cases = [
        [round(r.uniform(0.01, 0.5), 4), round(r.uniform(0.001, 0.5), 4), 0],
        [round(r.uniform(0.01, 0.5), 4), round(r.uniform(0.001, 0.5), 4), 1],
    ]
    for _ in range(4):
        cases.append([round(r.uniform(0.05, 0.5), 4), round(r.uniform(0.05, 0.3), 4), r.randint(2, 60)])
    for _ in range(3):
        cases.append([round(r.uniform(0.001, 0.1), 5), round(r.uniform(0.0001, 0.1), 5), r.randint(100, 5000)])
    values = [solution.shrink_factor(lr, wd, steps) for lr, wd, steps in cases]
    return {"cases": cases, "values": values}
