"""Probes for resume-training.

Each training probe runs one seeded training job twice: once straight through, and once cut short
after some epochs (the "crash"), then continued from the candidate's checkpoint in brand-new
model, optimizer, scheduler and loader-generator objects, exactly as a restarted script would.
The straight run never touches the candidate's code, so the checks can take it from the
reference run in the trusted process. Nothing is judged here: the probes only report what
happened.
"""

import os
import random
import tempfile

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

IN_FEATURES = 4
HIDDEN = 8
BATCH_SIZE = 8


# ---------------------------------------------------------------- shared pieces


def _data(seed, n):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, IN_FEATURES, generator=gen)
    w = torch.randn(IN_FEATURES, 1, generator=gen)
    y = torch.sin(x @ w) + 0.1 * torch.randn(n, 1, generator=gen)
    return TensorDataset(torch.arange(n), x, y)


def _model(init_seed):
    torch.manual_seed(init_seed)
    return nn.Sequential(nn.Linear(IN_FEATURES, HIDDEN), nn.Tanh(), nn.Linear(HIDDEN, 1))


def _weights(model):
    return {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}


class Job:
    """One training run's fixed recipe: data, model init, optimizer, scheduler, loader seed."""

    def __init__(self, dataset, init_seed, loader_seed, epochs, make_optimizer, make_scheduler, per_batch):
        self.dataset = dataset
        self.init_seed = init_seed
        self.loader_seed = loader_seed
        self.epochs = epochs
        self.make_optimizer = make_optimizer
        self.make_scheduler = make_scheduler
        self.per_batch = per_batch

    def fresh(self, init_seed):
        """What a (re)started script builds before it looks for a checkpoint."""
        model = _model(init_seed)
        optimizer = self.make_optimizer(model)
        scheduler = self.make_scheduler(optimizer)
        generator = torch.Generator().manual_seed(self.loader_seed)
        loader = DataLoader(self.dataset, batch_size=BATCH_SIZE, shuffle=True, generator=generator)
        return model, optimizer, scheduler, generator, loader

    def run_epoch(self, model, optimizer, scheduler, loader, trace):
        order = []
        for index, x, y in loader:
            order.extend(int(i) for i in index)
            trace["lrs"].append([float(group["lr"]) for group in optimizer.param_groups])
            optimizer.zero_grad()
            loss = F.mse_loss(model(x), y)
            loss.backward()
            optimizer.step()
            if self.per_batch:
                scheduler.step()
        if not self.per_batch:
            scheduler.step()
        trace["orders"].append(order)


def _straight(job):
    model, optimizer, scheduler, _, loader = job.fresh(job.init_seed)
    trace = {"lrs": [], "orders": []}
    for _ in range(job.epochs):
        job.run_epoch(model, optimizer, scheduler, loader, trace)
    trace["final"] = _weights(model)
    return trace


def _with_crashes(solution, job, crash_after, folder):
    """Train, saving after every epoch; stop after each epoch count in `crash_after`, restart from the file.

    Every restart builds new objects (the model with different initial weights) and loads the
    checkpoint after it was moved to a new name, as when a job is resubmitted on another machine.
    """
    trace = {"lrs": [], "orders": [], "starts": [], "after_load": [], "at_crash": []}
    model, optimizer, scheduler, generator, loader = job.fresh(job.init_seed)
    epoch = 0
    stops = list(crash_after) + [None]
    for restart, stop in enumerate(stops):
        path = os.path.join(folder, f"run{restart}.pt")
        while epoch < job.epochs and (stop is None or epoch < stop):
            job.run_epoch(model, optimizer, scheduler, loader, trace)
            solution.save_checkpoint(path, model, optimizer, scheduler, epoch, generator=generator)
            epoch += 1
        if stop is None:
            break
        trace["at_crash"].append(_weights(model))
        moved = os.path.join(folder, f"moved{restart}.pt")
        os.replace(path, moved)
        del model, optimizer, scheduler, generator, loader
        model, optimizer, scheduler, generator, loader = job.fresh(job.init_seed + 1000 + restart)
        start = solution.load_checkpoint(moved, model, optimizer, scheduler, generator=generator)
        trace["starts"].append(start if isinstance(start, int) and not isinstance(start, bool) else repr(start))
        trace["after_load"].append(_weights(model))
        epoch = start if isinstance(start, int) else epoch
    trace["final"] = _weights(model)
    return trace


def _report(solution, job, crash_after, config):
    straight = _straight(job)
    with tempfile.TemporaryDirectory() as folder:
        resumed = _with_crashes(solution, job, crash_after, folder)
    return {"config": dict(config, crash_after=list(crash_after)), "straight": straight, "resumed": resumed}


# ---------------------------------------------------------------- probes


def probe_resume_steplr(solution, seed):
    """SGD with momentum and StepLR stepped once per epoch; one crash between two lr drops."""
    rng = random.Random(seed)
    step_size = rng.choice([2, 3])
    epochs = rng.randint(7, 9)
    gamma = rng.choice([0.2, 0.3, 0.5])
    lr = round(rng.uniform(0.03, 0.08), 4)
    weight_decay = rng.choice([0.0, 1e-4, 1e-3])
    n_batches = rng.randint(3, 5)
    # Crash off a step_size boundary, with an lr drop still to come: a scheduler restarted from
    # zero then drops at the wrong epochs.
    choices = [k for k in range(1, epochs - 1) if k % step_size and (k // step_size + 1) * step_size < epochs]
    crash = rng.choice(choices)
    job = Job(
        dataset=_data(seed, n_batches * BATCH_SIZE),
        init_seed=seed % 100003,
        loader_seed=rng.randrange(2**31),
        epochs=epochs,
        make_optimizer=lambda m: torch.optim.SGD(m.parameters(), lr=lr, momentum=0.9, weight_decay=weight_decay),
        make_scheduler=lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=step_size, gamma=gamma),
        per_batch=False,
    )
    config = {"epochs": epochs, "step_size": step_size, "gamma": gamma, "lr": lr, "weight_decay": weight_decay,
              "n_batches": n_batches}
    return _report(solution, job, [crash], config)


def probe_resume_onecycle(solution, seed):
    """Nesterov SGD, two param groups, OneCycleLR stepped every batch; two crashes."""
    rng = random.Random(seed)
    epochs = rng.randint(6, 8)
    n_batches = rng.randint(3, 5)
    max_lrs = [round(rng.uniform(0.05, 0.1), 4), round(rng.uniform(0.01, 0.04), 4)]
    first = rng.randint(1, epochs - 4)
    second = rng.randint(first + 1, epochs - 2)

    def make_optimizer(model):
        groups = [{"params": model[0].parameters()}, {"params": model[2].parameters()}]
        return torch.optim.SGD(groups, lr=max_lrs[0], momentum=0.9, nesterov=True)

    def make_scheduler(optimizer):
        # Two spare epochs of schedule (one per crash), so restarts that train an epoch twice are
        # reported, not stopped by OneCycleLR's "Tried to step ... times" error.
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=max_lrs, total_steps=(epochs + 2) * n_batches)

    job = Job(
        dataset=_data(seed, n_batches * BATCH_SIZE),
        init_seed=seed % 100019,
        loader_seed=rng.randrange(2**31),
        epochs=epochs,
        make_optimizer=make_optimizer,
        make_scheduler=make_scheduler,
        per_batch=True,
    )
    config = {"epochs": epochs, "n_batches": n_batches, "max_lrs": max_lrs}
    return _report(solution, job, [first, second], config)


def probe_checkpoint_file(solution, seed):
    """What torch.load(path, weights_only=True) makes of the candidate's checkpoint file.

    Also saves and loads once without a generator (the argument is optional).
    """
    rng = random.Random(seed)
    job = Job(
        dataset=_data(seed, 2 * BATCH_SIZE),
        init_seed=seed % 100043,
        loader_seed=rng.randrange(2**31),
        epochs=1,
        make_optimizer=lambda m: torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9),
        make_scheduler=lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=1, gamma=0.5),
        per_batch=False,
    )
    saved_epoch = rng.randint(0, 5)
    trace = {"lrs": [], "orders": []}
    report = {"saved_epoch": saved_epoch}
    with tempfile.TemporaryDirectory() as folder:
        model, optimizer, scheduler, generator, loader = job.fresh(job.init_seed)
        job.run_epoch(model, optimizer, scheduler, loader, trace)
        path = os.path.join(folder, "with_generator.pt")
        solution.save_checkpoint(path, model, optimizer, scheduler, saved_epoch, generator=generator)
        report["exists"] = os.path.isfile(path)
        try:
            loaded = torch.load(path, weights_only=True)
        except Exception as error:  # reported, not judged
            report["loaded"] = False
            report["error"] = f"{type(error).__name__}: {str(error)[:300]}"
            loaded = None
        else:
            report["loaded"] = True
            report["error"] = ""
        report["type"] = type(loaded).__name__
        if isinstance(loaded, dict):
            report["keys"] = sorted(str(key) for key in loaded)
            report["value_types"] = {str(key): type(value).__name__ for key, value in loaded.items()}
        else:
            report["keys"] = []
            report["value_types"] = {}

        plain = os.path.join(folder, "without_generator.pt")
        solution.save_checkpoint(plain, model, optimizer, scheduler, saved_epoch)
        fresh_model, fresh_optimizer, fresh_scheduler, _, _ = job.fresh(job.init_seed + 7)
        start = solution.load_checkpoint(plain, fresh_model, fresh_optimizer, fresh_scheduler)
        report["start_without_generator"] = start if isinstance(start, int) and not isinstance(start, bool) else repr(start)
    return report
