"""Checks for resume-training.

Every restart ran in a fresh sandbox process that received only the bytes of the checkpoint file
(probes.py), so nothing kept in the saving process's memory, or in files beside the checkpoint,
could help it. The expected values are the uninterrupted run, trained on this side from the job's
recipe (`answers[...]`, hidden/inputs.py), never by the candidate's code and never reported by the
sandbox. The checkpoint file itself is never opened on this side: the probe opened it inside the
sandbox with `torch.load(path, weights_only=True)` and reported what happened as plain data.
"""

import pytest

from harness.testing import assert_equal, assert_float_close, assert_tensor_close, expect

TRAINING_PROBES = ("resume_steplr", "resume_onecycle")
REQUIRED_KEYS = ["epoch", "generator", "model", "optimizer", "scheduler"]
# A resumed run that restores every piece of state repeats the uninterrupted run bit for bit; the
# tolerances only absorb arithmetic differences between the sandbox's torch and this process's.
WEIGHT_RTOL = 1e-5
WEIGHT_ATOL = 1e-6
LR_RTOL = 1e-7
LR_ATOL = 1e-12


def describe(straight: dict) -> str:
    settings = straight["settings"]
    return (f"optimizer {settings['optimizer']}, scheduler {settings['scheduler']}, "
            f"{straight['epochs']} epochs of {settings['batches_per_epoch']} batches, crashes after {straight['crashes']} epochs")


def restarts(probes, name: str, straight: dict) -> list:
    """The probe's restart reports (stages 2, 3...), each with the epochs it had to train: [(report, first, stop)]."""
    found = probes[name]
    crashes = straight["crashes"]
    expect(isinstance(found, list) and len(found) == len(crashes) + 1, f"{name} (probe result)",
           f"a list of {len(crashes) + 1} stage reports", found)
    stops = crashes + [straight["epochs"]]
    out = []
    for index, report in enumerate(found[1:]):
        expect(isinstance(report, dict) and "start" in report, f"{name}: restart {index + 1} (probe result)",
               "a dict", report)
        out.append((report, stops[index], stops[index + 1]))
    return out


def compare_weights(found, expected: dict, what: str) -> None:
    expect(isinstance(found, dict) and sorted(found) == sorted(expected), f"{what} (state_dict keys)",
           sorted(expected), sorted(found) if isinstance(found, dict) else found)
    for key, tensor in expected.items():
        assert_tensor_close(found[key], tensor, f"{what}: {key}", rtol=WEIGHT_RTOL, atol=WEIGHT_ATOL)


@pytest.mark.points(2)
def test_checkpoint_loads_with_weights_only(probes):
    """The checkpoint file loads with torch.load(path, weights_only=True) as a dict holding model, optimizer, scheduler, epoch and generator."""
    found = probes["checkpoint_file"]
    expect(isinstance(found, list) and len(found) == 2 and isinstance(found[0], dict) and "loaded" in found[0],
           "checkpoint_file (probe result)", "two stage reports", found)
    found = found[0]
    assert_equal(found["exists"], True, "save_checkpoint(path, ...) wrote a file at path")
    expect(found["loaded"] is True, "torch.load(path, weights_only=True) on the checkpoint (torch's own allowlist only)",
           "it loads without error", found.get("error"))
    expect("builtins.dict" in found["mro"], "type of the object torch.load returns for the checkpoint",
           "a dict", found["mro"][:1])
    missing = [key for key in REQUIRED_KEYS if key not in found["keys"]]
    expect(not missing, "top-level keys of the checkpoint dict", f"at least {REQUIRED_KEYS}",
           f"{found['keys']} (missing {missing})")
    assert_equal(found["value_types"].get("epoch"), "int", "type of checkpoint['epoch']")


@pytest.mark.points(1)
def test_load_returns_next_epoch(probes, inputs, answers):
    """load_checkpoint, in a new process, returns the epoch to resume from: the saved epoch + 1 (with and without a generator)."""
    found = probes["checkpoint_file"]
    saved = inputs["checkpoint_file"]["saved_epoch"]
    expect(isinstance(found, list) and len(found) == 2 and isinstance(found[1], dict),
           "checkpoint_file (probe result)", "two stage reports", found)
    assert_equal(found[1].get("start"), saved + 1,
                 f"load_checkpoint(...) without a generator, after save_checkpoint(..., epoch={saved})")
    for name in TRAINING_PROBES:
        straight = answers[name]
        for index, (report, done, _) in enumerate(restarts(probes, name, straight)):
            assert_equal(report["start"], done,
                         f"{name}: load_checkpoint(...) at restart {index + 1}, after a crash with epochs 0..{done - 1} "
                         f"done (the last save_checkpoint had epoch={done - 1})")


@pytest.mark.points(1)
def test_model_weights_restored(probes, answers):
    """Right after load_checkpoint, in a new process, the fresh model holds exactly the weights the run had when it crashed."""
    for name in TRAINING_PROBES:
        straight = answers[name]
        # The first restart only: before it, the run used nothing of the candidate's but save_checkpoint,
        # so the uninterrupted run's weights after those epochs are what the file must give back.
        report, done, _ = restarts(probes, name, straight)[0]
        compare_weights(report.get("after_load"), straight["weights"][done - 1],
                        f"{name}: model right after load_checkpoint (crash after {done} epochs)")


@pytest.mark.points(2)
def test_data_order_continues(probes, answers):
    """After each restart the shuffling DataLoader visits the samples in the same order as in the uninterrupted run."""
    for name in TRAINING_PROBES:
        straight = answers[name]
        for index, (report, first, stop) in enumerate(restarts(probes, name, straight)):
            expected = straight["orders"][first:stop]
            found = report.get("orders")
            expect(isinstance(found, list) and len(found) == len(expected),
                   f"{name}: epochs trained after restart {index + 1} (crash after {first} epochs)", len(expected),
                   len(found) if isinstance(found, list) else found)
            for epoch, (got, want) in enumerate(zip(found, expected), start=first):
                expect(got == want, f"{name}: sample order in epoch {epoch}, after restart {index + 1}", want, got)


@pytest.mark.points(2)
def test_lr_trace_matches_uninterrupted(probes, answers):
    """Every batch after each restart uses the same learning rate, in every param group, as the uninterrupted run."""
    for name in TRAINING_PROBES:
        straight = answers[name]
        per_epoch = straight["settings"]["batches_per_epoch"]
        setting = describe(straight)
        for index, (report, first, stop) in enumerate(restarts(probes, name, straight)):
            expected = straight["lrs"][first * per_epoch:stop * per_epoch]
            found = report.get("lrs")
            expect(isinstance(found, list) and len(found) == len(expected),
                   f"{name}: batches trained after restart {index + 1} ({setting})", len(expected),
                   len(found) if isinstance(found, list) else found)
            for step, (row, want) in enumerate(zip(found, expected), start=first * per_epoch):
                expect(isinstance(row, list) and len(row) == len(want), f"{name}: param-group lrs at batch {step}",
                       want, row)
                for group, (got, lr) in enumerate(zip(row, want)):
                    assert_float_close(got, lr, f"{name}: lr of param group {group} at batch {step} ({setting})",
                                       rtol=LR_RTOL, atol=LR_ATOL)


@pytest.mark.points(2)
def test_final_weights_match_uninterrupted(probes, answers):
    """The resumed run ends with the same weights as the uninterrupted run (momentum buffers, lr and data order all restored)."""
    for name in TRAINING_PROBES:
        straight = answers[name]
        report, _, _ = restarts(probes, name, straight)[-1]
        compare_weights(report.get("final"), straight["weights"][-1],
                        f"{name}: final weights after resuming ({describe(straight)})")
