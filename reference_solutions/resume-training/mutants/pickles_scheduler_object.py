"""Mutant: torch.save of the scheduler object (and with it the optimizer), so the file only loads with weights_only=False."""

import torch


def save_checkpoint(path, model, optimizer, scheduler, epoch, generator=None):
    checkpoint = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler,
        "epoch": int(epoch),
    }
    if generator is not None:
        checkpoint["generator"] = generator.get_state()
    torch.save(checkpoint, path)


def load_checkpoint(path, model, optimizer, scheduler, generator=None) -> int:
    checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    scheduler.load_state_dict(checkpoint["scheduler"].state_dict())
    if generator is not None and "generator" in checkpoint:
        generator.set_state(checkpoint["generator"])
    return checkpoint["epoch"] + 1
