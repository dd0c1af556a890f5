"""Mutant: the optimizer is not checkpointed; the lr is put back from the scheduler, but the momentum buffers restart at zero."""

import torch


def save_checkpoint(path, model, optimizer, scheduler, epoch, generator=None):
    checkpoint = {
        "model": model.state_dict(),
        "optimizer": {},  # "SGD has no state worth saving, the scheduler knows the lr"
        "scheduler": scheduler.state_dict(),
        "epoch": int(epoch),
    }
    if generator is not None:
        checkpoint["generator"] = generator.get_state()
    torch.save(checkpoint, path)


def load_checkpoint(path, model, optimizer, scheduler, generator=None) -> int:
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(checkpoint["model"])
    scheduler.load_state_dict(checkpoint["scheduler"])
    for group, lr in zip(optimizer.param_groups, scheduler.get_last_lr()):
        group["lr"] = lr
    if generator is not None and "generator" in checkpoint:
        generator.set_state(checkpoint["generator"])
    return checkpoint["epoch"] + 1
