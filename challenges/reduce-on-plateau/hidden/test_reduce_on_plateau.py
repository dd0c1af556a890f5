"""Checks for reduce-on-plateau.

Each task (data, initial weights, epochs, lr) comes from `inputs[...]`, drawn on the trusted side.
The expected losses and final weights are those of a correct run on it: `reference[...]`, the same
probe run on the reference solution in the trusted process. The expected lrs come from torch's own
ReduceLROnPlateau(mode="min", factor=0.5, patience=2), run here.

The two lr checks count only for a run that really happened: the grader replays the training
here (hidden/inputs.py's `run`: SGD, MSE, the task's batches in order) from the same initial
weights with the lr the submission reported for each epoch, and the weights fit() left in the
model must be the replay's. The lrs are then judged against the validation losses of that replay,
computed here, never against losses the submission merely reports.
"""

import importlib.util
from pathlib import Path

import pytest
import torch

from harness.testing import assert_equal, assert_float_close, assert_tensor_close, expect


def _trusted_inputs_module():
    """hidden/inputs.py (trusted code): the grader's own training loop and torch's plateau lrs."""
    spec = importlib.util.spec_from_file_location("_reduce_on_plateau_inputs", Path(__file__).with_name("inputs.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TASKS = _trusted_inputs_module()
KEYS = ("epoch", "train_loss", "val_loss", "lr")
PARAMETERS = ("0.weight", "0.bias", "1.weight", "1.bias", "3.weight", "3.bias")
LR_RTOL, LR_ATOL = 1e-7, 1e-12
# float32 training: equivalent correct code (other reduction order, loss written by hand) stays
# within ~1e-6 of the reference; an lr that differs for even one epoch moves things far more.
LOSS_RTOL, LOSS_ATOL = 1e-5, 1e-7
STATE_RTOL, STATE_ATOL = 1e-4, 1e-6


def _number_type(value) -> str:
    if isinstance(value, dict) and "unsupported type" in value:
        return " < ".join(value["unsupported type"][:3])
    return type(value).__name__


def history_of(found, task: dict, what: str) -> list:
    """The candidate's history: one dict per epoch with the four keys, epochs numbered 0, 1, ..."""
    epochs = task["epochs"]
    expect(isinstance(found, dict) and "history" in found, f"{what} (probe result)", "a dict with 'history'", found)
    history = found["history"]
    expect(isinstance(history, list), f"{what}: type of fit(...)'s return value", "a list", _number_type(history))
    expect(len(history) == epochs, f"{what}: entries returned by fit(..., epochs={epochs}, ...)", epochs, len(history))
    for index, record in enumerate(history):
        expect(isinstance(record, dict) and all(key in record for key in KEYS),
               f"{what}: entry {index}", f"a dict with keys {list(KEYS)}", record)
        assert_equal(record["epoch"], index, f"{what}: entry {index}, 'epoch' (0-based)")
        for key in ("train_loss", "val_loss", "lr"):
            value = record[key]
            expect(isinstance(value, (int, float)) and not isinstance(value, bool),
                   f"{what}: entry {index}, {key!r} (type)", "a Python float", _number_type(value))
    return history


def replay_of_reported_run(found, task: dict, history: list, what: str) -> dict:
    """The grader's replay of training with the reported lrs; fails unless fit() left the replay's weights in the model."""
    lrs = [float(record["lr"]) for record in history]
    replay = TASKS.run(task, lrs)
    expect(isinstance(found.get("final_state"), dict), f"{what} (probe result)", "a dict with 'final_state'", found)
    for name in PARAMETERS:
        assert_tensor_close(
            found["final_state"].get(name), replay["final_state"][name],
            f"{what}: {name} after fit(...) vs a replay of training with the lrs it reported "
            f"{[round(lr, 8) for lr in lrs]} (the lr checks count only for a run that really trained with them)",
            rtol=STATE_RTOL, atol=STATE_ATOL)
    return replay


def compare_lrs(history: list, expected: list, what: str, because: str) -> None:
    for epoch, (record, want) in enumerate(zip(history, expected)):
        assert_float_close(record["lr"], want, f"{what}: lr used in epoch {epoch} ({because})", rtol=LR_RTOL, atol=LR_ATOL)


def _correct_run(reference, task: dict, name: str) -> dict:
    trusted = reference[name]
    val_losses = [record["val_loss"] for record in trusted["history"]]
    lrs = [record["lr"] for record in trusted["history"]]
    if lrs != TASKS.plateau_lrs(val_losses, task["lr"]) or len(lrs) != task["epochs"]:
        raise RuntimeError(f"challenge broken: the reference's lrs on {name} are not torch's plateau lrs for its losses")
    return trusted


@pytest.mark.points(3)
def test_lr_follows_val_losses(probes, inputs):
    """Each epoch's lr is what ReduceLROnPlateau(min, factor 0.5, patience 2) gives when stepped after each epoch with the run's validation loss."""
    for name in ("steady", "plateau"):
        task = inputs[name]
        history = history_of(probes[name], task, name)
        replay = replay_of_reported_run(probes[name], task, history, name)
        expected = TASKS.plateau_lrs(replay["val_loss"], task["lr"])
        compare_lrs(history, expected, name,
                    f"torch's ReduceLROnPlateau fed the validation losses of your run, "
                    f"{[round(v, 6) for v in replay['val_loss']]}, as the grader's replay computes them")


@pytest.mark.points(2)
def test_lr_drops_when_val_loss_plateaus(probes, inputs, reference):
    """When the validation loss stalls while the training loss keeps falling, the lr is halved at the right epochs."""
    task = inputs["plateau"]
    trusted = _correct_run(reference, task, "plateau")
    expected = [record["lr"] for record in trusted["history"]]
    if not expected[-1] < expected[0]:
        raise RuntimeError("challenge broken: the plateau task's correct run never lowers the lr")
    history = history_of(probes["plateau"], task, "plateau")
    replay_of_reported_run(probes["plateau"], task, history, "plateau")
    compare_lrs(history, expected, "plateau",
                f"a correct run's validation losses {[round(r['val_loss'], 6) for r in trusted['history']]} call for lrs {expected}")


@pytest.mark.points(2)
def test_val_losses_are_real(probes, inputs, reference):
    """The reported val_loss is the model's mean MSE over all validation samples, in eval mode, after each epoch."""
    for name in ("steady", "plateau"):
        task = inputs[name]
        trusted = _correct_run(reference, task, name)
        history = history_of(probes[name], task, name)
        for epoch, (record, want) in enumerate(zip(history, trusted["history"])):
            assert_float_close(record["val_loss"], want["val_loss"], f"{name}: val_loss of epoch {epoch}",
                               rtol=LOSS_RTOL, atol=LOSS_ATOL)


@pytest.mark.points(1)
def test_train_losses(probes, inputs, reference):
    """The reported train_loss is the epoch's training-batch MSE averaged over samples (batches weighted by size)."""
    for name in ("steady", "plateau"):
        task = inputs[name]
        trusted = _correct_run(reference, task, name)
        history = history_of(probes[name], task, name)
        for epoch, (record, want) in enumerate(zip(history, trusted["history"])):
            assert_float_close(record["train_loss"], want["train_loss"], f"{name}: train_loss of epoch {epoch}",
                               rtol=LOSS_RTOL, atol=LOSS_ATOL)


@pytest.mark.points(2)
def test_final_model_state(probes, inputs, reference):
    """After fit(), the model's weights and BatchNorm running statistics equal those of a correct run on the same data."""
    for name in ("steady", "plateau"):
        task, found = inputs[name], probes[name]
        trusted = _correct_run(reference, task, name)
        expect(isinstance(found, dict) and isinstance(found.get("final_state"), dict),
               f"{name} (probe result)", "a dict with 'final_state'", found)
        state = found["final_state"]
        for key in task["initial_state"]:
            want = trusted["final_state"][key]
            expect(key in state, f"{name}: model.state_dict() after fit(...)", f"an entry {key!r}", sorted(state))
            if want.dtype.is_floating_point:
                assert_tensor_close(state[key], want, f"{name}: model.state_dict()[{key!r}] after fit(...)",
                                    rtol=STATE_RTOL, atol=STATE_ATOL)
            else:
                assert_tensor_close(state[key], want, f"{name}: model.state_dict()[{key!r}] after fit(...)", rtol=0, atol=0)
