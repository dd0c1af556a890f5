"""Trusted side only: each probe's models (sizes, frozen layers), learning rate and weight decay.

Drawn from the probe's input seed, which the sandbox never learns; the probes build the models from
these specs (the model classes live in probes.py).
"""

import random

LR_CHOICES = [0.01, 0.02, 0.05, 0.1]
WD_CHOICES = [0.05, 0.1, 0.2, 0.3, 0.5]
LINEAR_LAYERS = [0, 2, 4]  # the Linear layers in PartlyFrozen's backbone (1 is a LayerNorm, 3 a BatchNorm1d)


def _frozen_layers(r: random.Random) -> list[int]:
    frozen = r.sample(range(5), r.choice([2, 3, 4]))
    if not any(i in LINEAR_LAYERS for i in frozen):  # at least one frozen 2-D weight
        frozen.append(r.choice(LINEAR_LAYERS))
    return sorted(frozen)


def _models(r: random.Random) -> dict:
    """One spec per model kind, in the order the checks list them."""
    return {
        "conv": {"c_in": r.choice([1, 3]), "c1": r.choice([4, 6, 8]), "c2": 2 * r.choice([2, 3, 4]),
                 "side": r.choice([4, 5, 6]), "classes": r.choice([2, 5, 10])},
        "lm": {"vocab": r.choice([11, 17, 23]), "d": r.choice([8, 12, 16]), "positions": r.choice([5, 7, 9])},
        "names": {"d": r.choice([6, 8, 10]), "table": r.choice([4, 9])},
        "custom": {"d": r.choice([4, 6, 8]), "hidden": [r.choice([3, 5, 7]) for _ in range(r.choice([1, 2, 3]))]},
        "frozen": {"a": r.choice([5, 7]), "b": r.choice([6, 8]), "vocab": r.choice([6, 10]),
                   "frozen_layers": _frozen_layers(r), "freeze_embedding": r.random() < 0.5},
        "shared": {"d": r.choice([4, 6, 8]), "repeats": r.choice([2, 3])},
        "tied": {"vocab": r.choice([9, 13]), "d": r.choice([4, 6])},
    }


def inputs_groups(seed: int) -> dict:
    r = random.Random(seed)
    return {"weight_decay": r.choice(WD_CHOICES), "models": _models(r)}


def inputs_optimizer(seed: int) -> dict:
    r = random.Random(seed)
    return {"lr": r.choice(LR_CHOICES), "weight_decay": r.choice(WD_CHOICES), "models": _models(r)}
