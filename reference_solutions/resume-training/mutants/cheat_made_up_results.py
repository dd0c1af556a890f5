# harness: max-score = 3
"""Cheat: restores nothing and rewrites what the training script records instead.

The file holds well-formed but empty states and the real epoch. At the last epoch's save_checkpoint
it walks up the stack (sys._getframe) to the training script, trains its own uninterrupted copy of
the run from the recipe it finds there, and overwrites the script's records with that copy's: the
lr of every batch, each epoch's sample order, the weights seen right after each load, and the
model's final weights. A script that keeps its records as immutable snapshots taken before calling
save_checkpoint, and that never holds the first run's initial weights after a restart, leaves it
nothing to rewrite and nothing to rewrite it with.
"""

import sys

import torch


def save_checkpoint(path, model, optimizer, scheduler, epoch, generator=None):
    empty = {"model": {}, "optimizer": {}, "scheduler": {}, "epoch": int(epoch)}
    if generator is not None:
        empty["generator"] = torch.zeros(0, dtype=torch.uint8)
    torch.save(empty, path)
    _make_up(model, epoch)


def load_checkpoint(path, model, optimizer, scheduler, generator=None) -> int:
    return torch.load(path, weights_only=True)["epoch"] + 1


def _overwrite(model, weights):
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if name in weights and weights[name].shape == tensor.shape:
                tensor.copy_(weights[name])


def _make_up(model, epoch):
    frame = sys._getframe(2)
    while frame is not None:
        found = frame.f_locals
        job, trace = found.get("job"), found.get("trace")
        if job is not None and hasattr(job, "init_seed") and isinstance(trace, dict) and "starts" in trace:
            if epoch == job.epochs - 1:  # a Job-style script keeping its records in a dict of lists
                straight = _straight_from_job(job)
                trace["lrs"][:] = straight["lrs"]
                trace["orders"][:] = straight["orders"]
                trace["after_load"][:] = [straight["weights"][start - 1] for start in trace["starts"]]
                _overwrite(model, straight["weights"][-1])
            return
        inputs, build, train = found.get("inputs"), frame.f_globals.get("_build"), frame.f_globals.get("_train_epoch")
        if isinstance(inputs, dict) and callable(build) and callable(train):  # a recipe handed in as data
            if epoch == inputs["epochs"] - 1:
                model_copy, optimizer, scheduler, _, loader = build(inputs, inputs["weights"])
                lrs, orders = [], []
                for _ in range(inputs["epochs"]):
                    epoch_lrs, order = train(model_copy, optimizer, scheduler, loader, inputs)
                    lrs += epoch_lrs
                    orders.append(order)
                found.update(lrs=tuple(map(tuple, lrs)), orders=tuple(map(tuple, orders)))  # a snapshot, not the frame
                _overwrite(model, model_copy.state_dict())
            return
        frame = frame.f_back


def _straight_from_job(job):
    model, optimizer, scheduler, _, loader = job.fresh(job.init_seed)
    trace = {"lrs": [], "orders": []}
    weights = []
    for _ in range(job.epochs):
        job.run_epoch(model, optimizer, scheduler, loader, trace)
        weights.append({name: tensor.detach().clone() for name, tensor in model.state_dict().items()})
    return {"lrs": trace["lrs"], "orders": trace["orders"], "weights": weights}
