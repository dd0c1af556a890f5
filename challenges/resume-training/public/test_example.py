"""Examples for resume-training: run `pytest` in a folder holding these tests and your solution.py.

Passing them does not guarantee full marks: the grader also uses OneCycleLR stepped every batch,
two param groups, two crashes in one run, and other seeds and settings.
"""

import os

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from solution import load_checkpoint, save_checkpoint

EPOCHS = 7


def make_dataset():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(32, 4, generator=gen)
    y = torch.sin(x.sum(dim=1, keepdim=True)) + 0.1 * torch.randn(32, 1, generator=gen)
    return TensorDataset(torch.arange(32), x, y)


def build(dataset, init_seed):
    torch.manual_seed(init_seed)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.5)
    g = torch.Generator().manual_seed(1234)
    loader = DataLoader(dataset, batch_size=8, shuffle=True, generator=g)
    return model, optimizer, scheduler, g, loader


def train(path, crash_after=None):
    """Train EPOCHS epochs; if crash_after is set, stop after that many epochs and restart from the file."""
    dataset = make_dataset()
    model, optimizer, scheduler, g, loader = build(dataset, init_seed=0)
    lrs, orders = [], []
    epoch = 0
    while epoch < EPOCHS:
        if crash_after is not None and epoch == crash_after:
            crash_after = None
            model, optimizer, scheduler, g, loader = build(dataset, init_seed=1)  # different initial weights
            epoch = load_checkpoint(path, model, optimizer, scheduler, generator=g)
            continue
        lrs.append(optimizer.param_groups[0]["lr"])
        order = []
        for index, x, y in loader:
            order += index.tolist()
            optimizer.zero_grad()
            F.mse_loss(model(x), y).backward()
            optimizer.step()
        orders.append(order)
        scheduler.step()
        save_checkpoint(path, model, optimizer, scheduler, epoch, generator=g)
        epoch += 1
    return model, lrs, orders


def test_resumed_run_matches_uninterrupted(tmp_path):
    straight, straight_lrs, straight_orders = train(str(tmp_path / "straight.pt"))
    resumed, resumed_lrs, resumed_orders = train(str(tmp_path / "resumed.pt"), crash_after=4)
    assert straight_lrs == [0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125]
    assert resumed_lrs == straight_lrs, f"lr per epoch: expected {straight_lrs}, found {resumed_lrs}"
    assert resumed_orders == straight_orders, "the restarted loader shuffled differently"
    for (name, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), f"{name} differs after resuming"


def test_load_returns_next_epoch(tmp_path):
    path = str(tmp_path / "ckpt.pt")
    model, optimizer, scheduler, g, _ = build(make_dataset(), init_seed=0)
    save_checkpoint(path, model, optimizer, scheduler, 3, generator=g)
    model, optimizer, scheduler, g, _ = build(make_dataset(), init_seed=1)
    assert load_checkpoint(path, model, optimizer, scheduler, generator=g) == 4


def test_file_loads_with_weights_only(tmp_path):
    path = str(tmp_path / "ckpt.pt")
    model, optimizer, scheduler, g, _ = build(make_dataset(), init_seed=0)
    save_checkpoint(path, model, optimizer, scheduler, 0, generator=g)
    checkpoint = torch.load(path, weights_only=True)
    assert isinstance(checkpoint, dict)
    assert {"model", "optimizer", "scheduler", "epoch", "generator"} <= set(checkpoint)
    assert checkpoint["epoch"] == 0 and type(checkpoint["epoch"]) is int
    assert os.listdir(tmp_path) == ["ckpt.pt"]
