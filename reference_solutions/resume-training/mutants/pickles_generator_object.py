"""Mutant: stores the torch.Generator object itself, which needs full unpickling: torch.load(weights_only=True) refuses the file."""

import torch


def save_checkpoint(path, model, optimizer, scheduler, epoch, generator=None):
    checkpoint = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "epoch": int(epoch),
        "generator": generator,
    }
    torch.save(checkpoint, path)


def load_checkpoint(path, model, optimizer, scheduler, generator=None) -> int:
    checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    scheduler.load_state_dict(checkpoint["scheduler"])
    if generator is not None and checkpoint["generator"] is not None:
        generator.set_state(checkpoint["generator"].get_state())
    return checkpoint["epoch"] + 1
