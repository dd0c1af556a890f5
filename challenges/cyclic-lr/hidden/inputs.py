"""Inputs for cyclic-lr, drawn on the trusted side from a seed the sandbox never learns.

Each probe gets a few CyclicLR configurations and, for each, the order in which to ask for the steps
0..n_steps (shuffled: cyclic_lr must be a pure function of its arguments). The expected values are
torch's own CyclicLR on the same configurations, computed by the checks; nothing else is needed, so
there are no `answers_*`.

A configuration: base_lr, max_lr, step_size_up, n_steps, `kwargs` (what the probe passes to
cyclic_lr besides the first four arguments) and `torch_kwargs` (what the checks pass to CyclicLR
besides base_lr, max_lr, step_size_up and cycle_momentum=False).
"""

import random


def _lrs(rng):
    base_lr = round(rng.uniform(0.0005, 0.05), 5)
    max_lr = round(base_lr * rng.uniform(2.0, 20.0), 5)
    return base_lr, max_lr


def _n_steps(rng, up, down, cycles_low=2.2, cycles_high=4.0):
    """Two to four whole cycles (at most 90 steps)."""
    return min(90, int((up + down) * rng.uniform(cycles_low, cycles_high)))


def _asymmetric_sizes(rng, index):
    """Distinct up and down half-cycle lengths; even index: a short rise, odd: a long rise."""
    short, long = rng.randint(1, 4), rng.randint(5, 12)
    return (short, long) if index % 2 == 0 else (long, short)


def _with_orders(rng, configs):
    orders = []
    for config in configs:
        order = list(range(config["n_steps"] + 1))
        rng.shuffle(order)
        orders.append(order)
    return {"cases": configs, "orders": orders}


def inputs_triangular(seed):
    """Default arguments: cyclic_lr(step, base_lr, max_lr, step_size_up), a symmetric triangle."""
    rng = random.Random(seed)
    configs = []
    for _ in range(3):
        base_lr, max_lr = _lrs(rng)
        up = rng.randint(2, 12)
        configs.append({"base_lr": base_lr, "max_lr": max_lr, "step_size_up": up, "kwargs": {},
                        "torch_kwargs": {"mode": "triangular"}, "n_steps": _n_steps(rng, up, up)})
    return _with_orders(rng, configs)


def inputs_asymmetric(seed):
    """mode 'triangular' with step_size_down different from step_size_up (both shorter and longer)."""
    rng = random.Random(seed)
    configs = []
    for index in range(4):
        base_lr, max_lr = _lrs(rng)
        up, down = _asymmetric_sizes(rng, index)
        kwargs = {"step_size_down": down} if index < 2 else {"step_size_down": down, "mode": "triangular"}
        configs.append({"base_lr": base_lr, "max_lr": max_lr, "step_size_up": up, "kwargs": kwargs,
                        "torch_kwargs": {"step_size_down": down, "mode": "triangular"},
                        "n_steps": _n_steps(rng, up, down)})
    return _with_orders(rng, configs)


def inputs_triangular2(seed):
    """mode 'triangular2' over three or more cycles, symmetric and asymmetric."""
    rng = random.Random(seed)
    configs = []
    for index in range(3):
        base_lr, max_lr = _lrs(rng)
        if index == 0:
            up, down = rng.randint(2, 8), None
        else:
            up, down = _asymmetric_sizes(rng, index)
        kwargs = {"step_size_down": down, "mode": "triangular2"}
        configs.append({"base_lr": base_lr, "max_lr": max_lr, "step_size_up": up, "kwargs": kwargs,
                        "torch_kwargs": dict(kwargs), "n_steps": _n_steps(rng, up, up if down is None else down, 3.2, 4.5)})
    return _with_orders(rng, configs)


def inputs_exp_range(seed):
    """mode 'exp_range' with gamma 0.95..0.995, symmetric and asymmetric."""
    rng = random.Random(seed)
    configs = []
    for index in range(3):
        base_lr, max_lr = _lrs(rng)
        if index == 0:
            up, down = rng.randint(2, 10), None
        else:
            up, down = _asymmetric_sizes(rng, index)
        kwargs = {"step_size_down": down, "mode": "exp_range", "gamma": round(rng.uniform(0.95, 0.995), 4)}
        configs.append({"base_lr": base_lr, "max_lr": max_lr, "step_size_up": up, "kwargs": kwargs,
                        "torch_kwargs": dict(kwargs), "n_steps": _n_steps(rng, up, up if down is None else down)})
    return _with_orders(rng, configs)
