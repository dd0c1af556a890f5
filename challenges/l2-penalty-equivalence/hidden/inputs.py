"""Trusted side only: every model, parameter value, weight decay and SGD setting the probes use.

The sandbox gets a model *description* (kind, sizes, which parameters are frozen) and the
parameter values to load; it never gets the SGD setting (learning rate, data), which stays in
`answers_sgd_step`: the checks take the SGD steps themselves. `build` is also what the checks
use to rebuild a model on the trusted side (the probe has its own copy of the same builder).
"""

import random

import torch
from torch import nn

LR_CHOICES = [0.05, 0.1, 0.2, 0.3]
WD_CHOICES = [0.05, 0.1, 0.2, 0.3, 0.5]
POINTS = 2  # parameter points at which l2_penalty is evaluated, per model


# ---------------------------------------------------------------- models (the probe builds the same ones)


class TiedLM(nn.Module):
    """An output layer tied to an embedding, raw gains of rank 0 and 1, and a normal Linear."""

    def __init__(self, vocab: int, d: int) -> None:
        super().__init__()
        self.tokens = nn.Embedding(vocab, d)
        self.mix = nn.Linear(d, d)
        self.scale = nn.Parameter(torch.ones(d))
        self.gain = nn.Parameter(torch.ones(()))
        self.head = nn.Linear(d, vocab)
        self.head.weight = self.tokens.weight


def build(spec: dict) -> nn.Module:
    """The model a spec describes, with default values and every parameter trainable."""
    kind, sizes = spec["kind"], spec["sizes"]
    if kind == "mlp":
        d, h, o = sizes
        return nn.Sequential(nn.Linear(d, h), nn.Tanh(), nn.Linear(h, h), nn.Tanh(), nn.Linear(h, o))
    if kind == "frozen":
        d, h, o = sizes
        return nn.Sequential(nn.Linear(d, h), nn.BatchNorm1d(h), nn.ReLU(), nn.Linear(h, h), nn.LayerNorm(h),
                             nn.Linear(h, o))
    if kind == "tied":
        return TiedLM(*sizes)
    if kind == "step":
        d, h, o = sizes
        return nn.Sequential(nn.Linear(d, h), nn.Tanh(), nn.LayerNorm(h), nn.Linear(h, h), nn.Tanh(), nn.Linear(h, o))
    raise ValueError(f"unknown model kind {kind!r}")


def load(model: nn.Module, spec: dict, point: dict, buffers: dict) -> nn.Module:
    """Set every parameter to `point` (by name), the buffers to `buffers`, and freeze `spec['frozen']`."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(point[name])
        for name, b in model.named_buffers():
            if name in buffers:
                b.copy_(buffers[name])
    for name, p in model.named_parameters():
        p.requires_grad_(name not in spec["frozen"])
    return model


def trainable(spec: dict, point: dict) -> list:
    """The names of the trainable parameters, in named_parameters() order (a tied parameter once)."""
    return [name for name in point if name not in spec["frozen"]]


def _spec(kind: str, r: random.Random) -> dict:
    if kind == "mlp":
        return {"kind": kind, "sizes": [r.choice([3, 4, 5]), r.choice([5, 6, 8]), r.choice([1, 2, 3])], "frozen": []}
    if kind == "frozen":
        # BatchNorm (with buffers), LayerNorm, a whole frozen Linear, a frozen norm weight alone, a frozen bias alone.
        layer, norm = r.choice([0, 3]), r.choice([1, 4])
        frozen = sorted({f"{layer}.weight", f"{layer}.bias", f"{norm}.weight", "5.bias"})
        return {"kind": kind, "sizes": [r.choice([3, 4, 5]), r.choice([5, 6, 8]), r.choice([1, 2, 3])], "frozen": frozen}
    if kind == "tied":
        return {"kind": kind, "sizes": [r.choice([7, 9, 11]), r.choice([4, 6])], "frozen": []}
    d, h, o = r.choice([3, 4, 5]), r.choice([5, 6, 8]), r.choice([1, 2])
    frozen = r.choice([["0.weight", "0.bias"], ["3.weight", "3.bias"], ["3.weight"], ["2.weight", "2.bias"]])
    frozen = sorted(set(frozen + [r.choice(["0.bias", "5.bias", "2.bias"])]))
    return {"kind": "step", "sizes": [d, h, o], "frozen": frozen}


def _point(model: nn.Module, g: torch.Generator) -> dict:
    return {name: torch.randn(p.shape, generator=g) * 0.5 for name, p in model.named_parameters()}


def _buffers(model: nn.Module, g: torch.Generator) -> dict:
    """Running statistics far from their defaults, so that counting them changes the penalty."""
    out = {}
    for name, b in model.named_buffers():
        if name.endswith("running_mean"):
            out[name] = torch.randn(b.shape, generator=g)
        elif name.endswith("running_var"):
            out[name] = torch.rand(b.shape, generator=g) * 2.0 + 0.5
    return out


def _cases(seed: int) -> dict:
    r, g = random.Random(seed), torch.Generator().manual_seed(seed)
    out = {"weight_decay": r.choice(WD_CHOICES), "cases": {}}
    for kind in ("mlp", "frozen", "tied"):
        spec = _spec(kind, r)
        model = build(spec)
        spec["points"] = [_point(model, g) for _ in range(POINTS)]
        spec["buffers"] = [_buffers(model, g) for _ in range(POINTS)]
        out["cases"][kind] = spec
    return out


# ---------------------------------------------------------------- probes' inputs and answers


def inputs_penalty(seed):
    """Three models (all trainable; frozen parts and BatchNorm buffers; tied weights), each at two parameter points."""
    return _cases(seed)


def inputs_penalty_grad(seed):
    """The same kinds of models, drawn independently."""
    return _cases(seed)


def _sgd_setting(seed: int) -> dict:
    """A model, data, lr and wd, and the trajectory torch's SGD(weight_decay=wd) takes on the MSE from a seeded start."""
    r, g = random.Random(seed), torch.Generator().manual_seed(seed)
    spec = _spec("step", r)
    d, _, o = spec["sizes"]
    model = build(spec)
    start = _point(model, g)
    load(model, spec, start, {})
    n = r.choice([6, 8, 10])
    x = torch.randn(n, d, generator=g)
    y = torch.randn(n, o, generator=g)
    lr, wd, steps = r.choice(LR_CHOICES), r.choice(WD_CHOICES), r.choice([2, 3, 4])
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=lr, weight_decay=wd)
    points = [start]
    for _ in range(steps - 1):
        optimizer.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()
        points.append({name: p.detach().clone() for name, p in model.named_parameters()})
    return {"spec": spec, "weight_decay": wd, "points": points, "lr": lr, "x": x, "y": y}


def inputs_sgd_step(seed):
    """The model and the parameter points of a run of SGD(weight_decay=wd); not its lr or data."""
    setting = _sgd_setting(seed)
    spec = dict(setting["spec"], points=setting["points"], buffers=[{} for _ in setting["points"]])
    return {"weight_decay": setting["weight_decay"], "case": spec}


def answers_sgd_step(seed):
    """The run's lr and data: the checks take each SGD step themselves; the sandbox never sees these."""
    setting = _sgd_setting(seed)
    return {"lr": setting["lr"], "x": setting["x"], "y": setting["y"]}


def inputs_shrink(seed):
    """(lr, weight_decay, steps) triples: steps = 0 and 1, short runs, and long runs with small lr * wd."""
    r = random.Random(seed)
    cases = [
        [round(r.uniform(0.01, 0.5), 4), round(r.uniform(0.001, 0.5), 4), 0],
        [round(r.uniform(0.01, 0.5), 4), round(r.uniform(0.001, 0.5), 4), 1],
    ]
    for _ in range(4):
        cases.append([round(r.uniform(0.05, 0.5), 4), round(r.uniform(0.05, 0.3), 4), r.randint(2, 60)])
    for _ in range(3):
        cases.append([round(r.uniform(0.001, 0.1), 5), round(r.uniform(0.0001, 0.1), 5), r.randint(100, 5000)])
    return {"cases": cases}
