"""Starter for resume-training.

This runs, but a run restarted from its checkpoint does not continue where it stopped: the
checkpoint only holds the model, the optimizer's momentum, the scheduler's position and the
loader's shuffling stream are all lost, and the epoch it returns is off by one.
Read statement.md and fix both functions; keep their signatures.
"""

import torch


def save_checkpoint(path, model, optimizer, scheduler, epoch, generator=None):
    # TODO: everything the rest of the run depends on must go into the file.
    torch.save({"model": model.state_dict(), "epoch": epoch}, path)


def load_checkpoint(path, model, optimizer, scheduler, generator=None) -> int:
    checkpoint = torch.load(path)
    model.load_state_dict(checkpoint["model"])
    # TODO: restore the rest, and return the epoch the loop should start from.
    return checkpoint["epoch"]
