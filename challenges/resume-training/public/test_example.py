"""Examples for resume-training: run `pytest` in a folder holding these tests and your solution.py.

Passing them does not guarantee full marks: the grader also uses OneCycleLR stepped every batch,
two param groups, two crashes in one run (each restart in a new process), and other seeds and settings.
"""

import os
import subprocess
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from solution import load_checkpoint, save_checkpoint

EPOCHS = 7
CRASH_AFTER = 4


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


def run_epochs(path, model, optimizer, scheduler, g, loader, first, last):
    """Train epochs first..last-1 as the grader's script does, saving after each; return the lr and sample order of each."""
    lrs, orders = [], []
    for epoch in range(first, last):
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
    return lrs, orders


def resume_in_new_process(path, out):
    """Runs in a fresh Python process: new objects (other initial weights), load_checkpoint, train to the end; report to `out`."""
    model, optimizer, scheduler, g, loader = build(make_dataset(), init_seed=1)
    start = load_checkpoint(path, model, optimizer, scheduler, generator=g)
    lrs, orders = run_epochs(path, model, optimizer, scheduler, g, loader, start, EPOCHS)
    torch.save({"start": start, "lrs": lrs, "orders": orders, "weights": model.state_dict()}, out)


def test_resumed_run_matches_uninterrupted(tmp_path):
    """Crash after CRASH_AFTER epochs and resume in a new process that gets nothing but the (moved) checkpoint file."""
    dataset = make_dataset()
    straight = build(dataset, init_seed=0)
    straight_lrs, straight_orders = run_epochs(str(tmp_path / "straight.pt"), *straight, 0, EPOCHS)
    assert straight_lrs == [0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125]

    first_run = tmp_path / "first-run"
    first_run.mkdir()
    lrs, orders = run_epochs(str(first_run / "ckpt.pt"), *build(dataset, init_seed=0), 0, CRASH_AFTER)
    moved = tmp_path / "elsewhere.pt"  # the job is resubmitted elsewhere: only the file goes along
    os.replace(first_run / "ckpt.pt", moved)
    out = tmp_path / "resumed.pt"
    here = os.path.dirname(os.path.abspath(__file__))
    code = (f"import sys; sys.path[:0] = [{here!r}]; "
            f"from {Path(__file__).stem} import resume_in_new_process; resume_in_new_process({str(moved)!r}, {str(out)!r})")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=str(tmp_path))
    resumed = torch.load(str(out), weights_only=True)

    assert resumed["start"] == CRASH_AFTER, f"load_checkpoint returned {resumed['start']}, expected {CRASH_AFTER}"
    lrs, orders = lrs + resumed["lrs"], orders + resumed["orders"]
    assert lrs == straight_lrs, f"lr per epoch: expected {straight_lrs}, found {lrs}"
    assert orders == straight_orders, "the restarted loader shuffled differently"
    for (name, a), b in zip(straight[0].state_dict().items(), resumed["weights"].values()):
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
