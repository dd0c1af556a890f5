"""Examples for l2-penalty-equivalence: run `pytest` in a folder holding these tests and your solution.py.

Passing these does not guarantee full marks: the grader uses other models (frozen layers,
normalization layers, tied weights), other learning rates and weight decays.
"""

import copy

import torch
import torch.nn.functional as F
from torch import nn

from solution import l2_penalty, shrink_factor


def make_model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))


def test_penalty_value():
    model = make_model()
    wd = 0.3
    expected = wd / 2 * sum(float(p.detach().double().pow(2).sum()) for p in model.parameters())
    penalty = l2_penalty(model, wd)
    assert isinstance(penalty, torch.Tensor) and penalty.shape == (), f"expected a 0-dim tensor, got {penalty!r}"
    assert penalty.requires_grad and penalty.grad_fn is not None, "the penalty must be part of the autograd graph"
    assert abs(penalty.item() - expected) <= 1e-5 * expected, f"penalty {penalty.item()}, expected {expected}"


def test_frozen_layer_is_left_out():
    model = make_model()
    model[0].requires_grad_(False)
    wd = 0.1
    expected = wd / 2 * sum(float(p.detach().double().pow(2).sum()) for p in model[2].parameters())
    assert abs(l2_penalty(model, wd).item() - expected) <= 1e-5 * expected


def test_one_step_matches_sgd_weight_decay():
    model = make_model()
    twin = copy.deepcopy(model)
    torch.manual_seed(1)
    x, y = torch.randn(8, 3), torch.randn(8, 2)
    lr, wd = 0.1, 0.2

    plain = torch.optim.SGD(model.parameters(), lr=lr)
    (F.mse_loss(model(x), y) + l2_penalty(model, wd)).backward()
    plain.step()

    decayed = torch.optim.SGD(twin.parameters(), lr=lr, weight_decay=wd)
    F.mse_loss(twin(x), y).backward()
    decayed.step()

    for (name, got), want in zip(model.named_parameters(), twin.parameters()):
        assert torch.allclose(got, want, rtol=1e-5, atol=1e-6), f"{name}: {got} vs SGD(weight_decay) {want}"


def test_shrink_factor():
    assert abs(shrink_factor(0.1, 0.2, 3) - 0.98 ** 3) < 1e-12
    assert shrink_factor(0.5, 0.5, 0) == 1.0
    p = torch.tensor([1.5, -2.0], requires_grad=True)
    optimizer = torch.optim.SGD([p], lr=0.05, weight_decay=0.4)
    for _ in range(7):
        p.grad = torch.zeros_like(p)
        optimizer.step()
    assert torch.allclose(p.detach(), torch.tensor([1.5, -2.0]) * shrink_factor(0.05, 0.4, 7))
