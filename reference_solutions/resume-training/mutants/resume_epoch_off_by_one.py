"""Mutant: load_checkpoint returns the saved epoch itself, so the finished epoch is trained a second time."""

import torch


def save_checkpoint(path, model, optimizer, scheduler, epoch, generator=None):
    checkpoint = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "epoch": int(epoch),
    }
    if generator is not None:
        checkpoint["generator"] = generator.get_state()
    torch.save(checkpoint, path)


def load_checkpoint(path, model, optimizer, scheduler, generator=None) -> int:
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    scheduler.load_state_dict(checkpoint["scheduler"])
    if generator is not None and "generator" in checkpoint:
        generator.set_state(checkpoint["generator"])
    return checkpoint["epoch"]
