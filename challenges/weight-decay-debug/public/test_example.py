"""Examples for weight-decay-debug: run `pytest` in a folder holding these tests and your solution.py.

Passing these does not guarantee full marks: the grader uses other models, sizes, learning
rates, weight decays and epoch counts.
"""

import copy

import torch
from torch import nn

from solution import train


def test_zero_data_only_decay_moves_the_weight():
    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    w0, b0 = model.weight.detach().clone(), model.bias.detach().clone()
    lr, wd, epochs = 0.1, 0.2, 10
    trained = train(model, torch.zeros(5, 3), torch.zeros(5), epochs=epochs, lr=lr, weight_decay=wd)
    expected_w = w0 * (1 - lr * wd) ** epochs
    expected_b = b0 * (1 - lr * (2 + wd)) ** epochs
    assert torch.allclose(trained.weight.detach(), expected_w, rtol=1e-5), f"weight {trained.weight}, expected {expected_w}"
    assert torch.allclose(trained.bias.detach(), expected_b, rtol=1e-5), f"bias {trained.bias}, expected {expected_b}"


def test_matches_full_batch_sgd_with_weight_decay():
    torch.manual_seed(1)
    X = torch.randn(12, 4)
    y = torch.randn(12)                      # shape (n,), as train() receives it
    model = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 1))
    twin = copy.deepcopy(model)
    lr, wd, epochs = 0.05, 0.3, 15

    optimizer = torch.optim.SGD(twin.parameters(), lr=lr, weight_decay=wd)
    for _ in range(epochs):
        optimizer.zero_grad()
        nn.functional.mse_loss(twin(X), y.unsqueeze(1)).backward()
        optimizer.step()

    trained = train(model, X, y, epochs=epochs, lr=lr, weight_decay=wd)
    for (name, got), want in zip(trained.named_parameters(), twin.parameters()):
        assert torch.allclose(got.detach(), want.detach(), rtol=1e-4, atol=1e-6), f"{name}: {got} vs expected {want}"
