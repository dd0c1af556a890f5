"""Reference solution: one weights_only-safe dict with every piece of state the run depends on."""

import os

import torch


def save_checkpoint(path, model, optimizer, scheduler, epoch, generator=None):
    checkpoint = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),  # momentum buffers, current lr, initial_lr
        "scheduler": scheduler.state_dict(),  # last_epoch and the schedule's own counters
        "epoch": int(epoch),  # the epoch that has just finished
    }
    if generator is not None:
        checkpoint["generator"] = generator.get_state()  # where the shuffling stream stands
    tmp = f"{path}.tmp"
    torch.save(checkpoint, tmp)
    os.replace(tmp, path)  # a crash while writing never leaves a half-written checkpoint


def load_checkpoint(path, model, optimizer, scheduler, generator=None) -> int:
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    scheduler.load_state_dict(checkpoint["scheduler"])
    if generator is not None and "generator" in checkpoint:
        generator.set_state(checkpoint["generator"])
    return checkpoint["epoch"] + 1  # the saved epoch is done: resume with the next one
