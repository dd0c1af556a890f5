"""Probes for weight-decay-exclude-bias.

Every model is built from a spec drawn on the trusted side (hidden/inputs.py: sizes, which layers are
frozen), and the learning rate and weight decay come from there too. The probes call the candidate's code
and report what it returned as plain data: parameters by the name `named_parameters()` gives them (read
before the candidate's code runs, matched by identity), types with `type()` and identity (never
`isinstance`), the optimizer's class compared by identity with torch's own optimizer classes as they were
before the submission was imported. Nothing is judged and nothing is stepped here: the checks compute
what one optimizer step over the reported groups does, on the trusted side.
"""

import torch
from torch import nn

UNKNOWN = "<not a parameter of the model>"

# Taken when this file is compiled, before the submission is imported: what the submission may rebind later
# (torch.optim.AdamW, Module.named_parameters, type's own attributes) cannot change what these point to.
TORCH_OPTIMIZERS = {name: getattr(torch.optim, name) for name in (
    "AdamW", "Adam", "SGD", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam", "ASGD", "Rprop")}
_NAMED_PARAMETERS = nn.Module.named_parameters
_OPTIMIZER_DICT = torch.optim.Optimizer.__dict__["__dict__"].__get__  # an optimizer's own __dict__, whatever its class says
_MODULE_OF = type.__dict__["__module__"].__get__
_QUALNAME_OF = type.__dict__["__qualname__"].__get__
_MRO_OF = type.__dict__["__mro__"].__get__
_PARAMETER, _TENSOR = nn.Parameter, torch.Tensor

# torch wraps an optimizer class's step() with its profiling hook the first time that class is instantiated;
# do it now, before the guard's snapshot, so that an honest first AdamW or Adam does not read as tampering.
for _cls in TORCH_OPTIMIZERS.values():
    _cls([torch.zeros(1, requires_grad=True)])
del _cls


# ---------------------------------------------------------------- models (their specs come from hidden/inputs.py)


class ConvNet(nn.Module):
    """Convolutions with and without bias, and four kinds of normalization (one with a 3-D weight)."""

    def __init__(self, s: dict) -> None:
        super().__init__()
        c_in, c1, c2, side = s["c_in"], s["c1"], s["c2"], s["side"]
        self.stem = nn.Conv2d(c_in, c1, 3, padding=1, bias=False)
        self.stem_bn = nn.BatchNorm2d(c1)
        self.conv = nn.Conv2d(c1, c2, 3, padding=1)
        self.group_norm = nn.GroupNorm(2, c2)
        self.instance_norm = nn.InstanceNorm2d(c2, affine=True)
        self.spatial_norm = nn.LayerNorm([c2, side, side])
        self.pointwise = nn.Conv1d(c2, c2, 1)
        self.feature_bn = nn.BatchNorm1d(c2)
        self.head = nn.Linear(c2, s["classes"])


class TinyLM(nn.Module):
    """Token and position embeddings, LayerNorm, RMSNorm, MLP and an untied output layer."""

    def __init__(self, s: dict) -> None:
        super().__init__()
        vocab, d = s["vocab"], s["d"]
        self.tokens = nn.Embedding(vocab, d)
        self.positions = nn.Embedding(s["positions"], d)
        self.norm_in = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, 2 * d), nn.GELU(), nn.Linear(2 * d, d))
        self.norm_out = nn.RMSNorm(d)
        self.out = nn.Linear(d, vocab)


class Misleading(nn.Module):
    """Attribute names that suggest the opposite of what the layers are."""

    def __init__(self, s: dict) -> None:
        super().__init__()
        d = s["d"]
        self.bias_proj = nn.Linear(d, d)
        self.norm_gate = nn.Linear(d, d, bias=False)
        self.embedding_mixer = nn.Linear(d, d)
        self.layer_scale_proj = nn.Linear(d, 2 * d)
        self.proj = nn.LayerNorm(d)
        self.table = nn.Embedding(s["table"], d)
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
    def __init__(self, s: dict) -> None:
        super().__init__()
        d = s["d"]
        self.blocks = nn.ModuleList(Gated(d, h) for h in s["hidden"])
        self.alpha = nn.Parameter(torch.tensor(0.5))
        self.readout = nn.Parameter(torch.randn(d, 3) * 0.1)


class PartlyFrozen(nn.Module):
    """A backbone with some frozen layers (at least one Linear), a frozen bias alone, and a frozen embedding or head weight."""

    def __init__(self, s: dict) -> None:
        super().__init__()
        a, b = s["a"], s["b"]
        self.embed = nn.Embedding(s["vocab"], a)
        self.backbone = nn.Sequential(nn.Linear(a, b), nn.LayerNorm(b), nn.Linear(b, b), nn.BatchNorm1d(b), nn.Linear(b, b))
        self.adapter = nn.Linear(b, b)
        self.head = nn.Linear(b, 3)
        for i in s["frozen_layers"]:
            self.backbone[i].requires_grad_(False)
        self.adapter.bias.requires_grad_(False)
        if s["freeze_embedding"]:
            self.embed.requires_grad_(False)
        else:
            self.head.weight.requires_grad_(False)


class Shared(nn.Module):
    """One module used twice, and parameters registered in two modules."""

    def __init__(self, s: dict) -> None:
        super().__init__()
        d = s["d"]
        self.encoder = nn.Linear(d, d)
        self.norm_a = nn.LayerNorm(d)
        self.decoder = self.encoder  # the same module under a second name
        self.left = nn.Linear(d, 2 * d)
        self.right = nn.Linear(d, 2 * d)
        self.right.weight = self.left.weight  # one 2-D weight in two Linear layers
        self.norm_b = nn.LayerNorm(d)
        self.norm_b.weight = self.norm_a.weight  # one 1-D weight in two norms
        self.blocks = nn.ModuleList([nn.Linear(d, d, bias=False)] * s["repeats"])
        self.gate = nn.Parameter(torch.ones(d))
        self.blocks[0].gate = self.gate  # one 1-D raw parameter in two modules


class Tied(nn.Module):
    """Output layers that share their weight with an embedding, in both registration orders."""

    def __init__(self, s: dict) -> None:
        super().__init__()
        vocab, d = s["vocab"], s["d"]
        self.head = nn.Linear(d, vocab, bias=False)  # registered before the embedding it shares with
        self.body = nn.Sequential(nn.Linear(d, d), nn.Tanh())
        self.tokens = nn.Embedding(vocab, d)
        self.head.weight = self.tokens.weight
        self.enc_tokens = nn.Embedding(vocab, d)
        self.dec_head = nn.Linear(d, vocab)
        self.dec_head.weight = self.enc_tokens.weight  # embedding first, the usual order
        self.mix = nn.Linear(d, d, bias=False)


MODELS = {
    "conv": ConvNet,
    "lm": TinyLM,
    "names": Misleading,
    "custom": CustomStack,
    "frozen": PartlyFrozen,
    "shared": Shared,
    "tied": Tied,
}


# ---------------------------------------------------------------- reporting helpers


def _class_name(cls) -> str:
    """'module.QualName' of a class, read through type's own descriptors (a metaclass cannot answer instead)."""
    module = _MODULE_OF(cls)
    return f"{module if type(module) is str else '?'}.{_QUALNAME_OF(cls)}"


def _plain(value):
    """A setting as plain data: numbers (as floats), bools, None, strings, short lists of those; else its type in <>."""
    kind = type(value)
    if value is None or kind is bool or kind is str:
        return value
    if kind is int or kind is float:
        return float(value)
    if (kind is tuple or kind is list) and len(value) <= 8:
        return [_plain(item) for item in value]
    return f"<{_class_name(kind)}>"


def _model_report(model: nn.Module) -> tuple[dict, dict]:
    """The model's parameters as the probe built them ({name: shape and trainable}) and a lookup by identity."""
    params, names = {}, {}
    for name, param in _NAMED_PARAMETERS(model):
        params[name] = {"shape": list(param.shape), "trainable": bool(param.requires_grad)}
        names[id(param)] = name
    return params, names


def _param_names(params, names: dict) -> list:
    kind = type(params)
    if kind is _PARAMETER or kind is _TENSOR:
        params = [params]
    elif kind is not list and kind is not tuple:
        return [f"<params is a {_class_name(kind)}, not a list>"]
    return [names.get(id(p), UNKNOWN) for p in params]


def _describe_group(group, names: dict) -> dict:
    """One group: its type, keys, parameter names and other settings; a non-dict is described by its type only."""
    if type(group) is not dict:
        return {"type": _class_name(type(group)), "keys": [], "names": [], "settings": {}}
    plain = {key: value for key, value in group.items() if type(key) is str}
    return {
        "type": "dict",
        "keys": sorted(plain),
        "names": _param_names(plain["params"], names) if "params" in plain else [],
        "settings": {key: _plain(value) for key, value in plain.items() if key != "params"},
    }


def _describe_groups(groups, names: dict) -> dict:
    """What param_groups returned, in a plain shape; odd structures are described, not judged."""
    kind = type(groups)
    if kind is not list and kind is not tuple:
        return {"type": _class_name(kind), "groups": []}
    return {"type": kind.__name__, "groups": [_describe_group(group, names) for group in groups]}


def _describe_optimizer(optimizer, names: dict) -> dict:
    """The optimizer's class (by identity with torch's, and its MRO by name) and its param groups."""
    cls = type(optimizer)
    torch_class = next((name for name, known in TORCH_OPTIMIZERS.items() if cls is known), None)
    if torch_class is not None:
        groups = _OPTIMIZER_DICT(optimizer).get("param_groups")  # the instance's own, past any class attribute
    else:
        groups = getattr(optimizer, "param_groups", None)
    return {
        "torch_class": torch_class,
        "mro": [_class_name(c) for c in _MRO_OF(cls)],
        "groups": _describe_groups(groups, names),
    }


# ---------------------------------------------------------------- probes


def probe_groups(solution, seed, inputs):
    """param_groups on every model: each model's parameters, and the names and settings in each returned group."""
    cases = {}
    for case, spec in inputs["models"].items():
        model = MODELS[case](spec)
        params, names = _model_report(model)
        returned = solution.param_groups(model, inputs["weight_decay"])
        cases[case] = {"params": params, "groups": _describe_groups(returned, names)}
    return {"cases": cases}


def probe_optimizer(solution, seed, inputs):
    """make_optimizer on every model (after param_groups on the same model): its class and its param groups."""
    cases = {}
    for case, spec in inputs["models"].items():
        model = MODELS[case](spec)
        params, names = _model_report(model)
        own = _describe_groups(solution.param_groups(model, inputs["weight_decay"]), names)
        optimizer = solution.make_optimizer(model, inputs["lr"], inputs["weight_decay"])
        cases[case] = {"params": params, "own_groups": own, "optimizer": _describe_optimizer(optimizer, names)}
    return {"cases": cases}
