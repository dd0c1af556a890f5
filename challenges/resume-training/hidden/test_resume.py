"""Checks for resume-training.

The expected values are the straight (never interrupted) runs and the weights at each crash, read
from `reference[...]`: the same probe run on the reference solution in the trusted process with
the same seed. Neither depends on the candidate's code, so nothing the candidate's probe reports
about them is believed. The checkpoint file itself is never opened on this side: the probe opened
it inside the sandbox with `torch.load(path, weights_only=True)` and reported what happened as
plain strings and booleans.
"""

import pytest

from harness.testing import assert_equal, assert_float_close, assert_tensor_close, expect

TRAINING_PROBES = ("resume_steplr", "resume_onecycle")
REQUIRED_KEYS = ["epoch", "generator", "model", "optimizer", "scheduler"]
# A resumed run that restores every piece of state repeats the straight run bit for bit; the
# tolerances only absorb arithmetic differences between the sandbox and this process.
WEIGHT_RTOL = 1e-5
WEIGHT_ATOL = 1e-6
LR_RTOL = 1e-7
LR_ATOL = 1e-12


def describe(config: dict) -> str:
    return ", ".join(f"{key}={value}" for key, value in config.items())


def result(probes, reference, name):
    found, trusted = probes[name], reference[name]
    expect(isinstance(found, dict) and isinstance(found.get("resumed"), dict), f"{name} (probe result)",
           "a dict with the resumed run", found)
    return found["resumed"], trusted


def compare_weights(found, expected: dict, what: str) -> None:
    expect(isinstance(found, dict) and sorted(found) == sorted(expected), f"{what} (state_dict keys)",
           sorted(expected), sorted(found) if isinstance(found, dict) else found)
    for key, tensor in expected.items():
        assert_tensor_close(found[key], tensor, f"{what}: {key}", rtol=WEIGHT_RTOL, atol=WEIGHT_ATOL)


@pytest.mark.points(2)
def test_checkpoint_loads_with_weights_only(probes):
    """The checkpoint file loads with torch.load(path, weights_only=True) as a dict holding model, optimizer, scheduler, epoch and generator."""
    found = probes["checkpoint_file"]
    expect(isinstance(found, dict) and "loaded" in found, "checkpoint_file (probe result)", "a dict", found)
    assert_equal(found["exists"], True, "save_checkpoint(path, ...) wrote a file at path")
    expect(found["loaded"] is True, "torch.load(path, weights_only=True) on the checkpoint",
           "it loads without error", found.get("error"))
    assert_equal(found["type"], "dict", "type of the object torch.load returns for the checkpoint")
    missing = [key for key in REQUIRED_KEYS if key not in found["keys"]]
    expect(not missing, "top-level keys of the checkpoint dict", f"at least {REQUIRED_KEYS}",
           f"{found['keys']} (missing {missing})")
    assert_equal(found["value_types"].get("epoch"), "int", "type of checkpoint['epoch']")


@pytest.mark.points(1)
def test_load_returns_next_epoch(probes, reference):
    """load_checkpoint returns the epoch to resume from: the saved epoch + 1."""
    found = probes["checkpoint_file"]
    trusted = reference["checkpoint_file"]
    expect(isinstance(found, dict), "checkpoint_file (probe result)", "a dict", found)
    assert_equal(found.get("start_without_generator"), trusted["saved_epoch"] + 1,
                 f"load_checkpoint(...) after save_checkpoint(..., epoch={trusted['saved_epoch']}) without a generator")
    for name in TRAINING_PROBES:
        resumed, trusted = result(probes, reference, name)
        crashes = trusted["config"]["crash_after"]
        for index, done in enumerate(crashes):
            starts = resumed.get("starts")
            expect(isinstance(starts, list) and len(starts) > index, f"{name}: restarts that reached load_checkpoint",
                   len(crashes), starts)
            assert_equal(starts[index], done,
                         f"{name}: load_checkpoint(...) after a crash with epochs 0..{done - 1} done "
                         f"(last save_checkpoint had epoch={done - 1})")


@pytest.mark.points(1)
def test_model_weights_restored(probes, reference):
    """Right after load_checkpoint, the fresh model holds exactly the weights it had when the run crashed."""
    for name in TRAINING_PROBES:
        resumed, trusted = result(probes, reference, name)
        # Only the first crash: before it, the run used nothing of the candidate's but save_checkpoint,
        # so the trusted weights at that crash are what the file must give back.
        expected = trusted["resumed"]["at_crash"][0]
        found = resumed.get("after_load")
        expect(isinstance(found, list) and len(found) >= 1, f"{name}: restarts that reached load_checkpoint",
               "at least 1", found)
        done = trusted["config"]["crash_after"][0]
        compare_weights(found[0], expected, f"{name}: model right after load_checkpoint (crash after {done} epochs)")


@pytest.mark.points(2)
def test_data_order_continues(probes, reference):
    """After a restart the shuffling DataLoader visits the samples in the same order as in the uninterrupted run."""
    for name in TRAINING_PROBES:
        resumed, trusted = result(probes, reference, name)
        expected = trusted["straight"]["orders"]
        found = resumed.get("orders")
        crashes = trusted["config"]["crash_after"]
        expect(isinstance(found, list) and len(found) == len(expected),
               f"{name}: epochs trained in total (crashes after {crashes} epochs)", len(expected),
               len(found) if isinstance(found, list) else found)
        for epoch, (got, want) in enumerate(zip(found, expected)):
            expect(got == want, f"{name}: sample order in epoch {epoch} (crashes after {crashes} epochs)", want, got)


@pytest.mark.points(2)
def test_lr_trace_matches_uninterrupted(probes, reference):
    """Every batch of the resumed run uses the same learning rate, in every param group, as the uninterrupted run."""
    for name in TRAINING_PROBES:
        resumed, trusted = result(probes, reference, name)
        expected = trusted["straight"]["lrs"]
        found = resumed.get("lrs")
        setting = f"{describe(trusted['config'])}"
        expect(isinstance(found, list) and len(found) == len(expected), f"{name}: batches trained in total ({setting})",
               len(expected), len(found) if isinstance(found, list) else found)
        for step, (row, want) in enumerate(zip(found, expected)):
            expect(isinstance(row, list) and len(row) == len(want), f"{name}: param-group lrs at batch {step}",
                   want, row)
            for group, (got, lr) in enumerate(zip(row, want)):
                assert_float_close(got, lr, f"{name}: lr of param group {group} at batch {step} ({setting})",
                                   rtol=LR_RTOL, atol=LR_ATOL)


@pytest.mark.points(2)
def test_final_weights_match_uninterrupted(probes, reference):
    """The resumed run ends with the same weights as the uninterrupted run (momentum buffers, lr and data order all restored)."""
    for name in TRAINING_PROBES:
        resumed, trusted = result(probes, reference, name)
        compare_weights(resumed.get("final"), trusted["straight"]["final"],
                        f"{name}: final weights after resuming ({describe(trusted['config'])})")
