"""Mutant: the loader's generator is ignored, so the restarted loader replays the shuffles from its seed."""

import torch


def save_checkpoint(path, model, optimizer, scheduler, epoch, generator=None):
    checkpoint = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "epoch": int(epoch),
    }
    torch.save(checkpoint, path)


def load_checkpoint(path, model, optimizer, scheduler, generator=None) -> int:
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    scheduler.load_state_dict(checkpoint["scheduler"])
    return checkpoint["epoch"] + 1
