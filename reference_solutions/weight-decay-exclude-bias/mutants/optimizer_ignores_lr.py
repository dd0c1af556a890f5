"""Mutant: forgets to pass lr, so AdamW runs at its default 1e-3."""

import torch
from torch import nn

# Modules whose own parameters are never decayed, whatever their shape.
NO_DECAY_MODULES = (
    nn.Embedding,
    nn.BatchNorm1d,
    nn.BatchNorm2d,
    nn.BatchNorm3d,
    nn.SyncBatchNorm,
    nn.InstanceNorm1d,
    nn.InstanceNorm2d,
    nn.InstanceNorm3d,
    nn.LayerNorm,
    nn.GroupNorm,
    nn.RMSNorm,
)


def _owned_by_no_decay_module(model: nn.Module) -> set[int]:
    """Ids of parameters registered directly in at least one Embedding or normalization layer."""
    ids: set[int] = set()
    for module in model.modules():
        if isinstance(module, NO_DECAY_MODULES):
            ids.update(id(p) for p in module.parameters(recurse=False))
    return ids


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    special = _owned_by_no_decay_module(model)
    decay: list[nn.Parameter] = []
    no_decay: list[nn.Parameter] = []
    for _, param in model.named_parameters():  # deduplicates shared parameters
        if not param.requires_grad:
            continue
        if param.ndim < 2 or id(param) in special:
            no_decay.append(param)
        else:
            decay.append(param)
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def make_optimizer(model: nn.Module, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    return torch.optim.AdamW(param_groups(model, weight_decay))
