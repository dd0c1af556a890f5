"""Trusted side only: the two regression tasks fit() is run on, and the grader's own training loop.

Each task (sizes, epochs, lr, training and validation data, the model's initial state) is drawn
here from a seed the sandbox never learns; the sandbox gets a copy and builds the model from it.
`run` is the training the statement asks for, written out on the trusted side: the checks use it
to replay a submission's run with the lrs it reported (did it really train with them, and what
were the validation losses of that run?), and the plateau task is redrawn until its correct run
lowers the lr at least once.
"""

import random

import torch
from torch import nn

FACTOR, PATIENCE = 0.5, 2


def build(in_features: int, hidden: int) -> nn.Module:
    """Linear -> BatchNorm1d -> Tanh -> Linear (the probe builds the same)."""
    return nn.Sequential(nn.Linear(in_features, hidden), nn.BatchNorm1d(hidden), nn.Tanh(), nn.Linear(hidden, 1))


def _sizes(rng: random.Random):
    """Sample counts and batch sizes whose last batches are partial (but hold at least 2 samples: BatchNorm)."""
    while True:
        train_batch = rng.randint(6, 10)
        n_train = rng.randint(40, 64)
        val_batch = rng.randint(5, 9)
        n_val = rng.randint(30, 50)
        if n_train % train_batch >= 2 and n_val % val_batch >= 2:
            return n_train, train_batch, n_val, val_batch


def _draw(seed: int, plateau: bool) -> dict:
    """One task. Steady: validation data from the training distribution, a large lr, so the
    validation loss flattens out at a data-dependent epoch. Plateau: validation targets that only
    partly follow the training signal (a random share of it, plus noise), so the validation loss
    stops improving, and starts rising, at a data-dependent epoch."""
    rng = random.Random(seed)
    generator = torch.Generator().manual_seed(seed)
    n_train, train_batch, n_val, val_batch = _sizes(rng)
    in_features, hidden = rng.randint(3, 5), rng.randint(6, 10)
    epochs = rng.randint(12, 16)
    lr = round(rng.uniform(0.01, 0.06) if plateau else rng.uniform(0.2, 0.5), 4)
    share = rng.uniform(0.4, 1.0) if plateau else 1.0

    true_w = torch.randn(in_features, 1, generator=generator)
    x_train = torch.randn(n_train, in_features, generator=generator)
    y_train = 2.0 * torch.tanh(x_train @ true_w) + 0.1 * torch.randn(n_train, 1, generator=generator)
    x_val = torch.randn(n_val, in_features, generator=generator)
    y_val = share * 2.0 * torch.tanh(x_val @ true_w) + 0.3 * torch.randn(n_val, 1, generator=generator)

    model = build(in_features, hidden)
    with torch.no_grad():
        for param in model.parameters():
            if param.dim() > 1:
                param.copy_(torch.randn(param.shape, generator=generator) / param.shape[1] ** 0.5)
            else:
                param.copy_(0.1 * torch.randn(param.shape, generator=generator))
        model[1].weight.add_(1.0)  # BatchNorm gain around 1
        model[3].weight.mul_(0.1)  # the untrained model predicts values close to 0
    return {
        "epochs": epochs, "lr": lr, "train_batch": train_batch, "val_batch": val_batch,
        "x_train": x_train, "y_train": y_train, "x_val": x_val, "y_val": y_val,
        "initial_state": {name: value.detach().clone() for name, value in model.state_dict().items()},
    }


def _batches(x: torch.Tensor, y: torch.Tensor, size: int) -> list:
    return [(x[i:i + size], y[i:i + size]) for i in range(0, x.shape[0], size)]


def run(task: dict, lrs=None) -> dict:
    """The training the statement asks for, from the task's initial state.

    With `lrs` (one per epoch), epoch e trains with lrs[e] and no scheduler runs: a replay of a
    reported run. Without, ReduceLROnPlateau(min, 0.5, 2) sets the lr, stepped once per epoch on
    the validation loss. Returns the per-epoch lr, train_loss and val_loss, and the final state.
    """
    model = build(task["x_train"].shape[1], task["initial_state"]["0.weight"].shape[0])
    model.load_state_dict(task["initial_state"])
    optimizer = torch.optim.SGD(model.parameters(), lr=task["lr"])
    scheduler = None
    if lrs is None:
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=FACTOR, patience=PATIENCE)
    loss_fn = nn.MSELoss()
    train = _batches(task["x_train"], task["y_train"], task["train_batch"])
    val = _batches(task["x_val"], task["y_val"], task["val_batch"])
    out = {"lr": [], "train_loss": [], "val_loss": []}
    for epoch in range(task["epochs"]):
        if lrs is not None:
            optimizer.param_groups[0]["lr"] = float(lrs[epoch])
        out["lr"].append(float(optimizer.param_groups[0]["lr"]))
        model.train()
        total, count = 0.0, 0
        for x, y in train:
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            total += loss.item() * x.shape[0]
            count += x.shape[0]
        out["train_loss"].append(total / count)
        model.eval()
        total, count = 0.0, 0
        with torch.no_grad():
            for x, y in val:
                total += loss_fn(model(x), y).item() * x.shape[0]
                count += x.shape[0]
        out["val_loss"].append(total / count)
        if scheduler is not None:
            scheduler.step(out["val_loss"][-1])
    out["final_state"] = {name: value.detach().clone() for name, value in model.state_dict().items()}
    return out


def plateau_lrs(val_losses: list, lr: float) -> list:
    """The lr each epoch uses when torch's ReduceLROnPlateau(min, 0.5, 2) is stepped after each epoch with these losses."""
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=FACTOR, patience=PATIENCE)
    lrs = []
    for loss in val_losses:
        lrs.append(float(optimizer.param_groups[0]["lr"]))
        scheduler.step(loss)
    return lrs


def inputs_steady(seed):
    """Validation data from the training distribution."""
    return _draw(seed, plateau=False)


def inputs_plateau(seed):
    """Validation targets that only partly follow the training signal, redrawn until the correct run's validation
    loss improves for a while and then stalls: the lr first drops at epoch 5 or later (the epoch depends on the data)."""
    for attempt in range(100):
        task = _draw(seed * 128 + attempt, plateau=True)
        lrs = run(task)["lr"]
        first_drop = next((epoch for epoch, lr in enumerate(lrs) if lr < lrs[0]), None)
        if first_drop is not None and first_drop >= PATIENCE + 3:
            return task
    raise RuntimeError("no plateau task whose correct run lowers the lr after improving, in 100 draws")
