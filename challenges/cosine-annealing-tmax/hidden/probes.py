"""Probes for cosine-annealing-tmax: they run the candidate's code on inputs drawn on the trusted side and report what it did.

Nothing is judged here. Learning rates are read from the optimizer's own param groups with exact
type checks (a dict subclass, or anything but an int or float lr, is reported by its type, never
read through its methods), and each scheduler probe also reports where its float64 parameters
went: every parameter gets a gradient of ones, so plain SGD moves it by exactly the lr it used,
which the checks compare with the closed form.
"""

import torch
from torch import nn

# Taken when this file is compiled, before the submission is imported.
_SGD = torch.optim.SGD
_OPTIMIZER_DICT = torch.optim.Optimizer.__dict__["__dict__"].__get__  # an optimizer's own __dict__, whatever its class says
_QUALNAME_OF = type.__dict__["__qualname__"].__get__
MAX_NUMBERS = 10_000


def _name(value) -> str:
    return f"<{_QUALNAME_OF(type(value))}>"


def _number(value):
    """An int or float as a float; anything else (a tensor, a bool, a subclass) by its type."""
    kind = type(value)
    return float(value) if kind is float or kind is int else _name(value)


def _numbers(values):
    """A list or tuple of numbers as a list of floats; anything else by its type."""
    kind = type(values)
    if (kind is not list and kind is not tuple) or len(values) > MAX_NUMBERS:
        return _name(values)
    return [_number(value) for value in values]


def _group_lrs(optimizer):
    """Each param group's lr, read from the optimizer's own list of plain dicts."""
    groups = _OPTIMIZER_DICT(optimizer).get("param_groups")
    if type(groups) is not list:
        return _name(groups)
    return [_number(group.get("lr")) if type(group) is dict else _name(group) for group in groups]


def _positions(params):
    return [param.detach()[0].item() for param in params]


def _scheduler_trace(solution, inputs, pass_defaults):
    """An SGD optimizer with one group (and one float64 parameter) per base lr; optimizer + scheduler stepped T times.

    Reports every group's lr and every parameter right after make_scheduler (t = 0) and after each
    step (t = 1 .. T): T + 1 rows each.
    """
    base_lrs = inputs["base_lrs"]
    params = [torch.zeros(1, dtype=torch.float64, requires_grad=True) for _ in base_lrs]
    optimizer = _SGD([{"params": [param], "lr": base} for param, base in zip(params, base_lrs)], lr=base_lrs[0])
    if pass_defaults:
        scheduler = solution.make_scheduler(optimizer, inputs["epochs"])
    else:
        scheduler = solution.make_scheduler(optimizer, inputs["epochs"], steps_per_epoch=inputs["steps_per_epoch"],
                                            eta_min=inputs["eta_min"])
    lrs, positions = [_group_lrs(optimizer)], [_positions(params)]
    for _ in range(inputs["epochs"] * inputs["steps_per_epoch"]):
        for param in params:
            param.grad = torch.ones_like(param)
        optimizer.step()
        scheduler.step()
        lrs.append(_group_lrs(optimizer))
        positions.append(_positions(params))
    return {"lrs": lrs, "params": positions}


def probe_scheduler_defaults(solution, seed, inputs):
    """One param group, make_scheduler(optimizer, epochs) with steps_per_epoch and eta_min left at their defaults."""
    return _scheduler_trace(solution, inputs, pass_defaults=True)


def probe_scheduler_steps(solution, seed, inputs):
    """One param group, several steps per epoch, eta_min = 0."""
    return _scheduler_trace(solution, inputs, pass_defaults=False)


def probe_scheduler_groups(solution, seed, inputs):
    """Two or three param groups with different base lrs, eta_min > 0, one or more steps per epoch."""
    return _scheduler_trace(solution, inputs, pass_defaults=False)


def _model(inputs):
    """An nn.Linear holding the trusted initial weights, and its two Parameter objects (kept to read after training)."""
    weight, bias = inputs["initial_weight"], inputs["initial_bias"]
    model = nn.Linear(weight.shape[1], weight.shape[0])
    with torch.no_grad():
        model.weight.copy_(weight)
        model.bias.copy_(bias)
    return model, model.weight, model.bias


def _train_result(lrs, weight, bias):
    return {"lrs": _numbers(lrs), "final_weight": weight.detach().clone(), "final_bias": bias.detach().clone()}


def probe_train_plain(solution, seed, inputs):
    """train() with eta_min left at its default, on a list of (x, y) batches."""
    x, y, size = inputs["x"], inputs["y"], inputs["batch_size"]
    loader = [(x[i:i + size].clone(), y[i:i + size].clone()) for i in range(0, x.shape[0], size)]
    model, weight, bias = _model(inputs)
    lrs = solution.train(model, loader, inputs["epochs"], inputs["lr"])
    return _train_result(lrs, weight, bias)


def probe_train_eta_min(solution, seed, inputs):
    """train() with eta_min > 0, on a torch DataLoader without shuffling."""
    dataset = torch.utils.data.TensorDataset(inputs["x"].clone(), inputs["y"].clone())
    loader = torch.utils.data.DataLoader(dataset, batch_size=inputs["batch_size"], shuffle=False)
    model, weight, bias = _model(inputs)
    lrs = solution.train(model, loader, inputs["epochs"], inputs["lr"], eta_min=inputs["eta_min"])
    return _train_result(lrs, weight, bias)
