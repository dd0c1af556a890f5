"""Trusted side of resume-training: each job's recipe, and the uninterrupted run the checks compare with.

A job is plain data: the dataset, the optimizer and schedule settings, the loader's seed, the number
of epochs and where the run stops (`stop_after`, in epochs done). Stage 1 of a probe gets the job
with its initial weights; every later stage (a restart in a new process) gets the same job with
*other* initial weights, drawn from their own stream, and never the first ones: a restarted process
that could replay the run from its start would not need the checkpoint file.

`answers_<name>` trains the job straight through, with the very functions the probes use (read from
probes.py beside this file), and records what the checks need: the lrs of every batch, each epoch's
sample order, the weights after every epoch, and the crash points.
"""

import hashlib
import math
import random
from pathlib import Path

import torch

IN_FEATURES = 4
BATCH_SIZE = 8

_SCRIPT: dict = {}
exec(compile(Path(__file__).with_name("probes.py").read_text(encoding="utf-8"), "probes.py", "exec"), _SCRIPT)


def _stream(seed: int, what: str) -> int:
    """An independent seed for one kind of draw: knowing one stream's values says nothing about another's."""
    digest = hashlib.sha256(f"resume-training:{seed}:{what}".encode()).digest()
    return int.from_bytes(digest[:8], "big") & (2**63 - 1)


def _dataset(seed: int, n: int) -> dict:
    gen = torch.Generator().manual_seed(_stream(seed, "data"))
    x = torch.randn(n, IN_FEATURES, generator=gen)
    w = torch.randn(IN_FEATURES, 1, generator=gen)
    y = torch.sin(x @ w) + 0.1 * torch.randn(n, 1, generator=gen)
    return {"x": x, "y": y}


def _initial_weights(seed: int, what: str, hidden: int) -> dict:
    """A model's initial weights, drawn as nn.Linear draws them (uniform in +-1/sqrt(fan_in))."""
    gen = torch.Generator().manual_seed(_stream(seed, what))

    def uniform(shape, fan_in):
        return (torch.rand(shape, generator=gen) * 2 - 1) / math.sqrt(fan_in)

    return {"0.weight": uniform((hidden, IN_FEATURES), IN_FEATURES), "0.bias": uniform((hidden,), IN_FEATURES),
            "2.weight": uniform((1, hidden), hidden), "2.bias": uniform((1,), hidden)}


# ---------------------------------------------------------------- recipes


def _steplr(seed: int) -> tuple[dict, list[int]]:
    """SGD with momentum (and maybe weight decay), StepLR stepped once per epoch; one crash between two lr drops."""
    rng = random.Random(_stream(seed, "recipe"))
    step_size = rng.choice([2, 3])
    epochs = rng.randint(7, 9)
    gamma = rng.choice([0.2, 0.3, 0.5])
    lr = round(rng.uniform(0.03, 0.08), 4)
    weight_decay = rng.choice([0.0, 1e-4, 1e-3])
    n_batches = rng.randint(3, 5)
    hidden = rng.choice([6, 8, 10])
    # Crash off a step_size boundary, with an lr drop still to come: a scheduler restarted from
    # zero then drops at the wrong epochs.
    crash = rng.choice([k for k in range(1, epochs - 1) if k % step_size and (k // step_size + 1) * step_size < epochs])
    job = {**_dataset(seed, n_batches * BATCH_SIZE), "batch_size": BATCH_SIZE, "epochs": epochs,
           "loader_seed": rng.randrange(2**31), "per_batch": False, "hidden": hidden,
           "optimizer": {"lr": lr, "momentum": 0.9, "nesterov": False, "weight_decay": weight_decay, "groups": 1},
           "scheduler": {"kind": "step", "step_size": step_size, "gamma": gamma}}
    return job, [crash]


def _onecycle(seed: int) -> tuple[dict, list[int]]:
    """Nesterov SGD, two param groups, OneCycleLR stepped every batch; two crashes."""
    rng = random.Random(_stream(seed, "recipe"))
    epochs = rng.randint(6, 8)
    n_batches = rng.randint(3, 5)
    max_lrs = [round(rng.uniform(0.05, 0.1), 4), round(rng.uniform(0.01, 0.04), 4)]
    first = rng.randint(1, epochs - 4)
    second = rng.randint(first + 1, epochs - 2)
    hidden = rng.choice([6, 8, 10])
    # Two spare epochs of schedule (one per crash), so restarts that train an epoch twice are
    # reported, not stopped by OneCycleLR's "Tried to step ... times" error.
    job = {**_dataset(seed, n_batches * BATCH_SIZE), "batch_size": BATCH_SIZE, "epochs": epochs,
           "loader_seed": rng.randrange(2**31), "per_batch": True, "hidden": hidden,
           "optimizer": {"lr": max_lrs[0], "momentum": 0.9, "nesterov": True, "weight_decay": 0.0, "groups": 2},
           "scheduler": {"kind": "onecycle", "max_lr": max_lrs, "total_steps": (epochs + 2) * n_batches}}
    return job, [first, second]


def _stage(job: dict, crashes: list[int], seed: int, stage: int) -> dict:
    """Stage `stage`'s inputs: the job, its own initial weights, and where it stops."""
    stops = crashes + [job["epochs"]]
    what = "initial weights" if stage == 1 else f"weights of restart {stage - 1}"
    return {**job, "weights": _initial_weights(seed, what, job["hidden"]), "stop_after": stops[stage - 1]}


def _straight(job: dict, crashes: list[int], seed: int) -> dict:
    """The uninterrupted run, trained here from the job's initial weights with the probes' own functions."""
    run = _stage(job, crashes, seed, 1)
    model, optimizer, scheduler, _, loader = _SCRIPT["_build"](run, run["weights"])
    lrs, orders, weights = [], [], []
    for _ in range(job["epochs"]):
        epoch_lrs, order = _SCRIPT["_train_epoch"](model, optimizer, scheduler, loader, run)
        lrs.extend(epoch_lrs)
        orders.append(order)
        weights.append(_SCRIPT["_weights"](model))
    return {"crashes": list(crashes), "epochs": job["epochs"], "lrs": lrs, "orders": orders, "weights": weights,
            "settings": {"optimizer": job["optimizer"], "scheduler": job["scheduler"],
                         "batches_per_epoch": job["x"].shape[0] // job["batch_size"]}}


def inputs_resume_steplr(seed: int) -> dict:
    return _stage(*_steplr(seed), seed, 1)


def inputs_resume_steplr__stage2(seed: int) -> dict:
    return _stage(*_steplr(seed), seed, 2)


def answers_resume_steplr(seed: int) -> dict:
    return _straight(*_steplr(seed), seed)


def inputs_resume_onecycle(seed: int) -> dict:
    return _stage(*_onecycle(seed), seed, 1)


def inputs_resume_onecycle__stage2(seed: int) -> dict:
    return _stage(*_onecycle(seed), seed, 2)


def inputs_resume_onecycle__stage3(seed: int) -> dict:
    return _stage(*_onecycle(seed), seed, 3)


def answers_resume_onecycle(seed: int) -> dict:
    return _straight(*_onecycle(seed), seed)


# ---------------------------------------------------------------- the file-format probe


def _format_job(seed: int) -> dict:
    rng = random.Random(_stream(seed, "recipe"))
    return {**_dataset(seed, 2 * BATCH_SIZE), "batch_size": BATCH_SIZE, "epochs": 1, "stop_after": 1,
            "loader_seed": rng.randrange(2**31), "per_batch": False, "hidden": 8,
            "optimizer": {"lr": 0.05, "momentum": 0.9, "nesterov": False, "weight_decay": 0.0, "groups": 1},
            "scheduler": {"kind": "step", "step_size": 1, "gamma": 0.5}, "saved_epoch": rng.randint(0, 5)}


def inputs_checkpoint_file(seed: int) -> dict:
    job = _format_job(seed)
    return {**job, "weights": _initial_weights(seed, "initial weights", job["hidden"])}


def inputs_checkpoint_file__stage2(seed: int) -> dict:
    job = _format_job(seed)
    del job["saved_epoch"]  # the restarted process learns the epoch from the file only
    return {**job, "weights": _initial_weights(seed, "weights of restart 1", job["hidden"])}
