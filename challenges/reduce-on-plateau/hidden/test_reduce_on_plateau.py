"""Checks for reduce-on-plateau.

The expected lr sequence comes from torch's own ReduceLROnPlateau(mode="min", factor=0.5,
patience=2), run here and fed one validation loss per epoch. The expected losses and final
weights come from `reference[...]`: the same probe run on the reference solution in the trusted
process with the same seed (same data, same initial weights), which also supplies the trusted
`config` (epochs, lr).
"""

import pytest
import torch

from harness.testing import assert_equal, assert_float_close, assert_tensor_close, expect

KEYS = ("epoch", "train_loss", "val_loss", "lr")
LR_RTOL, LR_ATOL = 1e-7, 1e-12
# float32 training: equivalent correct code (other reduction order, loss written by hand) stays
# within ~1e-6 of the reference; an lr that differs for even one epoch moves things far more.
LOSS_RTOL, LOSS_ATOL = 1e-5, 1e-7
STATE_RTOL, STATE_ATOL = 1e-4, 1e-6


def history_of(found, trusted: dict, what: str) -> list:
    """The candidate's history: one dict per epoch with the four keys, epochs numbered 0, 1, ..."""
    epochs = trusted["config"]["epochs"]
    expect(isinstance(found, dict) and "history" in found, f"{what} (probe result)", "a dict with 'history'", found)
    history = found["history"]
    expect(isinstance(history, list), f"{what}: type of fit(...)'s return value", "a list", type(history).__name__)
    expect(len(history) == epochs, f"{what}: entries returned by fit(..., epochs={epochs}, ...)", epochs, len(history))
    for index, record in enumerate(history):
        expect(isinstance(record, dict) and all(key in record for key in KEYS),
               f"{what}: entry {index}", f"a dict with keys {list(KEYS)}", record)
        assert_equal(record["epoch"], index, f"{what}: entry {index}, 'epoch' (0-based)")
        for key in ("train_loss", "val_loss", "lr"):
            value = record[key]
            expect(isinstance(value, (int, float)) and not isinstance(value, bool),
                   f"{what}: entry {index}, {key!r} (type)", "a Python float", type(value).__name__)
    return history


def plateau_lrs(val_losses: list, lr: float) -> list:
    """The lr each epoch uses when torch's ReduceLROnPlateau(min, 0.5, 2) is stepped after each epoch with these losses."""
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=0.5, patience=2)
    lrs = []
    for loss in val_losses:
        lrs.append(float(optimizer.param_groups[0]["lr"]))
        scheduler.step(loss)
    return lrs


def compare_lrs(history: list, expected: list, what: str, because: str) -> None:
    for epoch, (record, want) in enumerate(zip(history, expected)):
        assert_float_close(record["lr"], want, f"{what}: lr used in epoch {epoch} ({because})", rtol=LR_RTOL, atol=LR_ATOL)


@pytest.mark.points(3)
def test_lr_follows_reported_val_losses(probes, reference):
    """Each epoch's lr is what ReduceLROnPlateau(min, factor 0.5, patience 2) gives when stepped after each epoch with the reported val_loss."""
    for name in ("steady", "plateau"):
        trusted = reference[name]
        history = history_of(probes[name], trusted, name)
        val_losses = [record["val_loss"] for record in history]
        expected = plateau_lrs(val_losses, trusted["config"]["lr"])
        compare_lrs(history, expected, name,
                    f"torch's ReduceLROnPlateau fed your reported val losses {[round(v, 6) for v in val_losses]}")


@pytest.mark.points(2)
def test_lr_drops_when_val_loss_plateaus(probes, reference):
    """With validation targets that are pure noise, train loss keeps falling but val loss stalls, so the lr is halved at the right epochs."""
    trusted = reference["plateau"]
    trusted_val = [record["val_loss"] for record in trusted["history"]]
    expected = plateau_lrs(trusted_val, trusted["config"]["lr"])
    expect(expected[-1] < expected[0], "the grader's own plateau task (lr must drop at least once)",
           "a falling lr", expected)
    history = history_of(probes["plateau"], trusted, "plateau")
    compare_lrs(history, expected, "plateau",
                f"the reference's validation losses {[round(v, 6) for v in trusted_val]} call for lrs {expected}")


@pytest.mark.points(2)
def test_val_losses_are_real(probes, reference):
    """The reported val_loss is the model's mean MSE over all validation samples, in eval mode, after each epoch."""
    for name in ("steady", "plateau"):
        trusted = reference[name]
        history = history_of(probes[name], trusted, name)
        for epoch, (record, want) in enumerate(zip(history, trusted["history"])):
            assert_float_close(record["val_loss"], want["val_loss"], f"{name}: val_loss of epoch {epoch}",
                               rtol=LOSS_RTOL, atol=LOSS_ATOL)


@pytest.mark.points(1)
def test_train_losses(probes, reference):
    """The reported train_loss is the epoch's training-batch MSE averaged over samples (batches weighted by size)."""
    for name in ("steady", "plateau"):
        trusted = reference[name]
        history = history_of(probes[name], trusted, name)
        for epoch, (record, want) in enumerate(zip(history, trusted["history"])):
            assert_float_close(record["train_loss"], want["train_loss"], f"{name}: train_loss of epoch {epoch}",
                               rtol=LOSS_RTOL, atol=LOSS_ATOL)


@pytest.mark.points(2)
def test_final_model_state(probes, reference):
    """After fit(), the model's weights and BatchNorm running statistics equal those of a correct run on the same data."""
    for name in ("steady", "plateau"):
        found, trusted = probes[name], reference[name]
        expect(isinstance(found, dict) and isinstance(found.get("final_state"), dict),
               f"{name} (probe result)", "a dict with 'final_state'", found)
        state = found["final_state"]
        for key, want in trusted["final_state"].items():
            expect(key in state, f"{name}: model.state_dict() after fit(...)", f"an entry {key!r}", sorted(state))
            if want.dtype.is_floating_point:
                assert_tensor_close(state[key], want, f"{name}: model.state_dict()[{key!r}] after fit(...)",
                                    rtol=STATE_RTOL, atol=STATE_ATOL)
            else:
                assert_tensor_close(state[key], want, f"{name}: model.state_dict()[{key!r}] after fit(...)", rtol=0, atol=0)
