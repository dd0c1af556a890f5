"""Examples for adamw-from-scratch: run `pytest` in a folder holding these tests and your solution.py.

torch.optim.AdamW is the yardstick here; it may be used in tests, not in solution.py.
Passing these does not guarantee full marks: the grader uses other shapes, hyperparameters,
gradients and step counts.
"""

import copy

import torch

from solution import AdamW

F64 = torch.float64
RTOL, ATOL = 1e-6, 1e-9


def make_params(seed, shapes):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(s, generator=g, dtype=F64) for s in shapes]


def params_from(tensors):
    return [torch.nn.Parameter(t.clone()) for t in tensors]


def two_groups(params):
    return [
        {"params": params[:2]},                                           # inherits the constructor's values
        {"params": params[2:], "lr": 0.05, "betas": (0.8, 0.95), "eps": 1e-6, "weight_decay": 0.3},
    ]


def run(optimizer, params, grads):
    for row in grads:
        for p, grad in zip(params, row):
            p.grad = None if grad is None else grad.clone()
        optimizer.step()


def test_matches_torch_with_two_groups_and_missing_grads():
    init = make_params(0, [(3,), (2, 2), (4,)])
    g = torch.Generator().manual_seed(1)
    grads = []
    for step in range(12):
        row = [torch.randn(t.shape, generator=g, dtype=F64) * scale for t, scale in zip(init, (1.0, 1e-3, 0.1))]
        if step < 4:
            row[1] = None  # the second parameter has no grad for the first four steps
        grads.append(row)
    mine, ref = params_from(init), params_from(init)
    run(AdamW(two_groups(mine), lr=0.02, weight_decay=0.1), mine, grads)
    run(torch.optim.AdamW(two_groups(ref), lr=0.02, weight_decay=0.1), ref, grads)
    for index, (a, b) in enumerate(zip(mine, ref)):
        assert torch.allclose(a, b, rtol=RTOL, atol=ATOL), f"parameter {index}: {a.tolist()} vs torch {b.tolist()}"


def test_first_step_closed_form():
    (p0,) = make_params(2, [(6,)])
    grad = torch.tensor([1e-4, -2e-4, 0.5, -3.0, 1e-2, -1e-3], dtype=F64)
    lr, wd, eps = 0.05, 0.2, 1e-8
    (p,) = params_from([p0])
    optimizer = AdamW([p], lr=lr, weight_decay=wd, eps=eps)
    p.grad = grad.clone()
    optimizer.step()
    expected = p0 * (1 - lr * wd) - lr * grad / (grad.abs() + eps)
    assert torch.allclose(p.detach(), expected, rtol=RTOL, atol=ATOL), f"{p.tolist()} vs {expected.tolist()}"


def test_zero_gradients_only_decay():
    (p0,) = make_params(3, [(5,)])
    (p,) = params_from([p0])
    optimizer = AdamW([p], lr=0.1, weight_decay=0.5)
    for _ in range(4):
        p.grad = torch.zeros_like(p)
        optimizer.step()
    expected = p0 * (1 - 0.1 * 0.5) ** 4
    assert torch.allclose(p.detach(), expected, rtol=RTOL, atol=ATOL), f"{p.tolist()} vs {expected.tolist()}"


def test_state_dict_round_trip():
    init = make_params(4, [(3,), (2, 2), (4,)])
    g = torch.Generator().manual_seed(5)
    grads = [[torch.randn(t.shape, generator=g, dtype=F64) for t in init] for _ in range(10)]

    straight = params_from(init)
    run(AdamW(two_groups(straight), lr=0.02), straight, grads)

    first = params_from(init)
    optimizer = AdamW(two_groups(first), lr=0.02)
    run(optimizer, first, grads[:6])
    checkpoint = copy.deepcopy(optimizer.state_dict())
    assert set(checkpoint["state"][0]) >= {"step", "exp_avg", "exp_avg_sq"}

    resumed = params_from([p.detach() for p in first])
    fresh = AdamW(two_groups(resumed), lr=0.02)
    fresh.load_state_dict(checkpoint)
    run(fresh, resumed, grads[6:])
    for index, (a, b) in enumerate(zip(resumed, straight)):
        assert torch.allclose(a, b, rtol=RTOL, atol=ATOL), f"parameter {index}: resumed {a.tolist()} vs straight {b.tolist()}"


def test_closure_is_called_and_its_loss_returned():
    (w,) = params_from(make_params(6, [(3,)]))
    x = torch.arange(6, dtype=F64).reshape(2, 3)
    optimizer = AdamW([w], lr=0.1)

    def closure():
        optimizer.zero_grad()
        loss = (x @ w).pow(2).sum()
        loss.backward()
        return loss

    expected_loss = (x @ w).pow(2).sum().item()
    before = w.detach().clone()
    loss = optimizer.step(closure)
    assert loss is not None and abs(float(loss.detach()) - expected_loss) < 1e-9
    assert not torch.equal(w.detach(), before)
