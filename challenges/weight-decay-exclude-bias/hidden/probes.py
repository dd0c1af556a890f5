"""Probes for weight-decay-exclude-bias.

Each probe builds a handful of small models from its seed (sizes, which layers are frozen,
learning rate and weight decay all come from the seed), calls the candidate's code and reports
what it did as plain data: parameters are reported by the name `model.named_parameters()` gives
them, matched by identity. Nothing is judged here.
"""

import random

import torch
from torch import nn

LR_CHOICES = [0.01, 0.02, 0.05, 0.1]
WD_CHOICES = [0.05, 0.1, 0.2, 0.3, 0.5]
UNKNOWN = "<unknown>"


# ---------------------------------------------------------------- models


class ConvNet(nn.Module):
    """Convolutions with and without bias, and four kinds of normalization (one with a 3-D weight)."""

    def __init__(self, r: random.Random) -> None:
        super().__init__()
        c_in = r.choice([1, 3])
        c1 = r.choice([4, 6, 8])
        c2 = 2 * r.choice([2, 3, 4])
        side = r.choice([4, 5, 6])
        self.stem = nn.Conv2d(c_in, c1, 3, padding=1, bias=False)
        self.stem_bn = nn.BatchNorm2d(c1)
        self.conv = nn.Conv2d(c1, c2, 3, padding=1)
        self.group_norm = nn.GroupNorm(2, c2)
        self.instance_norm = nn.InstanceNorm2d(c2, affine=True)
        self.spatial_norm = nn.LayerNorm([c2, side, side])
        self.pointwise = nn.Conv1d(c2, c2, 1)
        self.feature_bn = nn.BatchNorm1d(c2)
        self.head = nn.Linear(c2, r.choice([2, 5, 10]))


class TinyLM(nn.Module):
    """Token and position embeddings, LayerNorm, RMSNorm, MLP and an untied output layer."""

    def __init__(self, r: random.Random) -> None:
        super().__init__()
        vocab = r.choice([11, 17, 23])
        d = r.choice([8, 12, 16])
        self.tokens = nn.Embedding(vocab, d)
        self.positions = nn.Embedding(r.choice([5, 7, 9]), d)
        self.norm_in = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, 2 * d), nn.GELU(), nn.Linear(2 * d, d))
        self.norm_out = nn.RMSNorm(d)
        self.out = nn.Linear(d, vocab)


class Misleading(nn.Module):
    """Attribute names that suggest the opposite of what the layers are."""

    def __init__(self, r: random.Random) -> None:
        super().__init__()
        d = r.choice([6, 8, 10])
        self.bias_proj = nn.Linear(d, d)
        self.norm_gate = nn.Linear(d, d, bias=False)
        self.embedding_mixer = nn.Linear(d, d)
        self.layer_scale_proj = nn.Linear(d, 2 * d)
        self.proj = nn.LayerNorm(d)
        self.table = nn.Embedding(r.choice([4, 9]), d)
        self.weight_mix = nn.RMSNorm([2, d])
        self.linear = nn.GroupNorm(2, d)


class Gated(nn.Module):
    """A hand-written layer holding raw parameters of several ranks."""

    def __init__(self, d: int, h: int) -> None:
        super().__init__()
        self.w_in = nn.Parameter(torch.randn(d, h) * 0.1)
        self.w_out = nn.Parameter(torch.randn(h, d) * 0.1)
        self.kernel = nn.Parameter(torch.randn(d, 1, 3) * 0.1)
        self.gain = nn.Parameter(torch.ones(()))
        self.scale = nn.Parameter(torch.ones(d))
        self.temperature = nn.Parameter(torch.full((1,), 2.0))
        self.inner = nn.Linear(d, d)


class CustomStack(nn.Module):
    def __init__(self, r: random.Random) -> None:
        super().__init__()
        d = r.choice([4, 6, 8])
        self.blocks = nn.ModuleList(Gated(d, r.choice([3, 5, 7])) for _ in range(r.choice([1, 2, 3])))
        self.alpha = nn.Parameter(torch.tensor(0.5))
        self.readout = nn.Parameter(torch.randn(d, 3) * 0.1)


class PartlyFrozen(nn.Module):
    """A backbone with seed-chosen frozen layers, a frozen bias alone, and a frozen embedding."""

    def __init__(self, r: random.Random) -> None:
        super().__init__()
        a, b = r.choice([5, 7]), r.choice([6, 8])
        self.embed = nn.Embedding(r.choice([6, 10]), a)
        self.backbone = nn.Sequential(nn.Linear(a, b), nn.LayerNorm(b), nn.Linear(b, b), nn.BatchNorm1d(b), nn.Linear(b, b))
        self.adapter = nn.Linear(b, b)
        self.head = nn.Linear(b, 3)
        layers = [0, 1, 2, 3, 4]
        frozen = r.sample(layers, r.choice([2, 3, 4]))
        if not any(self.backbone[i].weight.ndim == 2 for i in frozen):
            frozen.append(r.choice([0, 2, 4]))
        for i in frozen:
            self.backbone[i].requires_grad_(False)
        self.adapter.bias.requires_grad_(False)
        if r.random() < 0.5:
            self.embed.requires_grad_(False)
        else:
            self.head.weight.requires_grad_(False)


class Shared(nn.Module):
    """One module used twice, and parameters registered in two modules."""

    def __init__(self, r: random.Random) -> None:
        super().__init__()
        d = r.choice([4, 6, 8])
        self.encoder = nn.Linear(d, d)
        self.norm_a = nn.LayerNorm(d)
        self.decoder = self.encoder  # the same module under a second name
        self.left = nn.Linear(d, 2 * d)
        self.right = nn.Linear(d, 2 * d)
        self.right.weight = self.left.weight  # one 2-D weight in two Linear layers
        self.norm_b = nn.LayerNorm(d)
        self.norm_b.weight = self.norm_a.weight  # one 1-D weight in two norms
        self.blocks = nn.ModuleList([nn.Linear(d, d, bias=False)] * r.choice([2, 3]))
        self.gate = nn.Parameter(torch.ones(d))
        self.blocks[0].gate = self.gate  # one 1-D raw parameter in two modules


class Tied(nn.Module):
    """Output layers that share their weight with an embedding, in both registration orders."""

    def __init__(self, r: random.Random) -> None:
        super().__init__()
        vocab = r.choice([9, 13])
        d = r.choice([4, 6])
        self.head = nn.Linear(d, vocab, bias=False)  # registered before the embedding it shares with
        self.body = nn.Sequential(nn.Linear(d, d), nn.Tanh())
        self.tokens = nn.Embedding(vocab, d)
        self.head.weight = self.tokens.weight
        self.enc_tokens = nn.Embedding(vocab, d)
        self.dec_head = nn.Linear(d, vocab)
        self.dec_head.weight = self.enc_tokens.weight  # embedding first, the usual order
        self.mix = nn.Linear(d, d, bias=False)


CASES = {
    "conv": ConvNet,
    "lm": TinyLM,
    "names": Misleading,
    "custom": CustomStack,
    "frozen": PartlyFrozen,
    "shared": Shared,
    "tied": Tied,
}


def _build(seed: int, index: int, case: str) -> nn.Module:
    torch.manual_seed(seed * 31 + index)
    return CASES[case](random.Random(seed * 1009 + index))


def _hyper(seed: int) -> tuple[float, float]:
    r = random.Random(seed ^ 0x5EED)
    return r.choice(LR_CHOICES), r.choice(WD_CHOICES)


# ---------------------------------------------------------------- reporting helpers


def _names_by_id(model: nn.Module) -> dict[int, str]:
    return {id(p): name for name, p in model.named_parameters()}


def _number(value):
    if isinstance(value, bool):
        return repr(value)
    if isinstance(value, (int, float)):
        return float(value)
    return f"<{type(value).__name__}>"


def _param_names(params, names: dict[int, str]) -> list[str]:
    if isinstance(params, torch.Tensor):
        params = [params]
    return [names.get(id(p), UNKNOWN) for p in list(params)]


def _describe_groups(groups, names: dict[int, str]) -> dict:
    """What the candidate's groups hold, in a plain shape; odd structures are described, not judged."""
    if not isinstance(groups, (list, tuple)):
        return {"type": type(groups).__name__, "groups": []}
    described = []
    for group in groups:
        if isinstance(group, dict) and "params" in group:
            described.append({
                "keys": sorted(str(k) for k in group),
                "names": _param_names(group["params"], names),
                "weight_decay": _number(group.get("weight_decay", None)) if "weight_decay" in group else "<missing>",
            })
        else:
            described.append({"keys": [], "names": [], "weight_decay": f"<{type(group).__name__}>"})
    return {"type": type(groups).__name__, "groups": described}


# ---------------------------------------------------------------- probes


def probe_groups(solution, seed):
    """param_groups on every model: the names in each group and each group's weight_decay."""
    _, wd = _hyper(seed)
    out = {"weight_decay": wd, "cases": {}}
    for index, case in enumerate(CASES):
        model = _build(seed, index, case)
        names = _names_by_id(model)
        report = _describe_groups(solution.param_groups(model, wd), names)
        report["all_names"] = list(names.values())
        out["cases"][case] = report
    return out


def probe_optimizer(solution, seed):
    """make_optimizer on every model: its class, and each group's lr, weight_decay and names,
    next to what param_groups returns for the same model."""
    lr, wd = _hyper(seed)
    out = {"lr": lr, "weight_decay": wd, "cases": {}}
    for index, case in enumerate(CASES):
        model = _build(seed, index, case)
        names = _names_by_id(model)
        own = _describe_groups(solution.param_groups(model, wd), names)
        optimizer = solution.make_optimizer(model, lr, wd)
        cls = type(optimizer)
        groups = getattr(optimizer, "param_groups", None)
        found = []
        if isinstance(groups, list):
            for group in groups:
                found.append({
                    "lr": _number(group.get("lr")),
                    "weight_decay": _number(group.get("weight_decay")),
                    "names": _param_names(group.get("params", []), names),
                })
        out["cases"][case] = {
            "class": f"{cls.__module__}.{cls.__qualname__}",
            "groups": found,
            "own_names": [g["names"] for g in own["groups"]],
        }
    return out


def probe_step(solution, seed):
    """One optimizer step with every gradient (frozen parameters included) set to zero:
    each named parameter before and after, and the names in each optimizer group."""
    lr, wd = _hyper(seed)
    out = {"lr": lr, "weight_decay": wd, "cases": {}}
    for index, case in enumerate(CASES):
        model = _build(seed, index, case)
        before = {name: p.detach().clone() for name, p in model.named_parameters()}
        optimizer = solution.make_optimizer(model, lr, wd)
        for p in model.parameters():
            p.grad = torch.zeros_like(p)
        optimizer.step()
        after = {name: p.detach().clone() for name, p in model.named_parameters()}
        names = _names_by_id(model)
        groups = [_param_names(g.get("params", []), names) for g in getattr(optimizer, "param_groups", [])]
        out["cases"][case] = {"before": before, "after": after, "optimizer_groups": groups}
    return out
