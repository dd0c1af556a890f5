# Tries a faked type: make_optimizer returns plain SGD (whose coupled weight decay, with zero gradients,
# happens to shrink weights exactly like AdamW's) dressed up as AdamW: the class is called AdamW, claims the
# module torch.optim.adamw, and a __class__ property answers torch.optim.AdamW to isinstance.
# Its param_groups and the optimizer's groups (lr, weight_decay, parameters) are honest and right.
# harness: max-score = 10
import torch
from torch import nn

NO_DECAY_MODULES = (
    nn.Embedding,
    nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm,
    nn.InstanceNorm1d, nn.InstanceNorm2d, nn.InstanceNorm3d,
    nn.LayerNorm, nn.GroupNorm, nn.RMSNorm,
)


def param_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    special = set()
    for module in model.modules():
        if isinstance(module, NO_DECAY_MODULES):
            special.update(id(p) for p in module.parameters(recurse=False))
    decay, no_decay = [], []
    for _, param in model.named_parameters():
        if not param.requires_grad:
            continue
        (no_decay if param.ndim < 2 or id(param) in special else decay).append(param)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


class AdamW(torch.optim.SGD):
    @property
    def __class__(self):
        return torch.optim.AdamW


AdamW.__module__ = "torch.optim.adamw"
AdamW.__qualname__ = "AdamW"


def make_optimizer(model: nn.Module, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    return AdamW(param_groups(model, weight_decay), lr=lr)
