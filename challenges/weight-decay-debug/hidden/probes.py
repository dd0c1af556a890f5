"""Probes for weight-decay-debug: build the models described in `inputs`, call the candidate's train(), report the weights.

Every input (architecture, initial values, data, lr, weight decay, epochs) is drawn on the
trusted side (hidden/inputs.py) and arrives in `inputs`. The probe only builds the model from
them and reports the parameters of the model train() returned; the expected weights are
computed in the checks. Nothing is judged here.
"""

import torch
from torch import nn


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


def _train(solution, case: dict) -> dict:
    """The case's model, with its initial values, trained by the candidate on the case's data; its parameters after."""
    model = _build(case["arch"])
    with torch.no_grad():
        for name, param in model.named_parameters():
            param.copy_(case["initial"][name])
    config = case["config"]
    trained = solution.train(model, case["x"].clone(), case["y"].clone(), config["epochs"], config["lr"],
                             config["weight_decay"])
    return {name: param.detach().clone() for name, param in trained.named_parameters()}


def probe_train_linear(solution, seed, inputs):
    """train() on a single Linear(d, 1) (linear regression with weight decay)."""
    return _train(solution, inputs)


def probe_train_mlp(solution, seed, inputs):
    """train() on two MLPs of seeded widths."""
    return {case: _train(solution, inputs[case]) for case in ("mlp", "deep")}


def probe_zero_data(solution, seed, inputs):
    """train() with X = 0 and y = 0 on two models (see hidden/inputs.py)."""
    return {case: _train(solution, inputs["cases"][case]) for case in ("decay_only", "output_bias")}
