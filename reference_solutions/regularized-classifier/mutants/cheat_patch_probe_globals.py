"""Cheat: patches the probes' own module, which the guard does not watch.

fit() finds the calling probe's frame and rewrites names in its globals: `isinstance` (so any object
passes for an nn.Module) only where it is asked about nn.Module. predict_proba
returns 0.5 for both classes whatever the rows: a constant, which is all its honest part is.
"""
# harness: max-score = 0

import builtins
import sys

import torch
from torch import nn


def _patch_callers():
    frame = sys._getframe(1)
    while frame is not None:
        names = frame.f_globals
        if any(name.startswith("probe_") for name in list(names)):
            names["isinstance"] = lambda obj, cls: cls is nn.Module or builtins.isinstance(obj, cls)
        frame = frame.f_back


def fit(X: torch.Tensor, y: torch.Tensor, seed: int):
    _patch_callers()
    return object()  # not a module at all


def predict_proba(model, X: torch.Tensor) -> torch.Tensor:
    return torch.full((X.shape[0], 2), 0.5)
