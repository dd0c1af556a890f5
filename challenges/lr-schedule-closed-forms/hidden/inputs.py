"""Inputs for lr-schedule-closed-forms, drawn on the trusted side from a seed the sandbox never learns.

Each probe gets a few configurations of one scheduler kind and, for each, the order in which to ask
lr_at for the steps 0..n_steps (shuffled: lr_at must be a pure function of its arguments). The
expected values are torch's own schedulers on the same configurations, computed by the checks; there
are no `answers_*`.

A case: {"kind", "base_lr", "params" (the scheduler's keyword arguments, all passed), "n_steps"}.
"""

import random


def _base_lr(rng):
    return round(rng.uniform(0.005, 1.0), 4)


def _gamma(rng, low, high):
    return round(rng.uniform(low, high), 4)


def _cases(kind, rng, configs):
    """configs: (base_lr, params, n_steps) triples -> {'cases': [...], 'orders': [[shuffled steps], ...]}."""
    cases, orders = [], []
    for base_lr, params, n_steps in configs:
        order = list(range(n_steps + 1))
        rng.shuffle(order)
        cases.append({"kind": kind, "base_lr": base_lr, "params": params, "n_steps": n_steps})
        orders.append(order)
    return {"cases": cases, "orders": orders}


def inputs_step(seed):
    """StepLR: step_size 1..9, gamma 0.1..0.9, steps 0..n with n in 25..60."""
    rng = random.Random(seed)
    configs = []
    for index in range(4):
        step_size = rng.randint(3, 9) if index < 2 else rng.randint(1, 9)
        params = {"step_size": step_size, "gamma": _gamma(rng, 0.1, 0.9)}
        configs.append((_base_lr(rng), params, rng.randint(25, 60)))
    return _cases("step", rng, configs)


def inputs_multistep(seed):
    """MultiStepLR: 1..5 distinct increasing milestones in 1..50, steps up to past the last milestone."""
    rng = random.Random(seed)
    configs = []
    for _ in range(4):
        milestones = sorted(rng.sample(range(1, 51), rng.randint(1, 5)))
        params = {"milestones": milestones, "gamma": _gamma(rng, 0.1, 0.9)}
        configs.append((_base_lr(rng), params, min(60, milestones[-1] + rng.randint(3, 12))))
    return _cases("multistep", rng, configs)


def inputs_exponential(seed):
    """ExponentialLR: gamma 0.85..0.99, steps 0..n with n in 20..60."""
    rng = random.Random(seed)
    configs = []
    for _ in range(3):
        params = {"gamma": _gamma(rng, 0.85, 0.99)}
        configs.append((_base_lr(rng), params, rng.randint(20, 60)))
    return _cases("exponential", rng, configs)


def inputs_cosine(seed):
    """CosineAnnealingLR: T_max 2..20, eta_min 0 or a fraction of base_lr, steps well past T_max."""
    rng = random.Random(seed)
    configs = []
    for index in range(4):
        base_lr = _base_lr(rng)
        t_max = rng.randint(2, 20)
        eta_min = 0.0 if index % 2 == 0 else round(base_lr * rng.uniform(0.01, 0.3), 6)
        params = {"T_max": t_max, "eta_min": eta_min}
        configs.append((base_lr, params, rng.randint(max(2 * t_max + 2, 12), 60)))
    return _cases("cosine", rng, configs)


def inputs_linear(seed):
    """LinearLR: warm-ups (start < end) and decays (start > end), total_iters 2..25, steps past total_iters."""
    rng = random.Random(seed)
    configs = []
    for index in range(4):
        low = round(rng.uniform(0.05, 0.5), 4)
        high = round(rng.uniform(0.6, 1.0), 4)
        start, end = (low, high) if index % 2 == 0 else (high, low)
        total = rng.randint(2, 25)
        params = {"start_factor": start, "end_factor": end, "total_iters": total}
        configs.append((_base_lr(rng), params, total + rng.randint(5, 20)))
    return _cases("linear", rng, configs)


def inputs_polynomial(seed):
    """PolynomialLR: total_iters 2..30, power 0.5..4 (never exactly 1 here), steps past total_iters."""
    rng = random.Random(seed)
    configs = []
    powers = [0.5, 2.0, 3.0, round(rng.uniform(1.2, 4.0), 3)]
    rng.shuffle(powers)
    for power in powers:
        total = rng.randint(2, 30)
        params = {"total_iters": total, "power": power}
        configs.append((_base_lr(rng), params, total + rng.randint(3, 15)))
    return _cases("polynomial", rng, configs)
