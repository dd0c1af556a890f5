"""Probes for cyclic-lr: call the candidate's cyclic_lr on seeded cyclic schedules and report the values.

Each probe draws a few configurations from `random.Random(seed)` and asks cyclic_lr for every step
0..n_steps of each (n_steps covers two to four cycles), in a shuffled order: cyclic_lr must be a
pure function of its arguments. The configurations are drawn before the candidate's code runs, so
the same probe run on the reference solution in the trusted process (same seed) yields the very
same `cases`; the checks take the inputs from there, never from the candidate's report.
"""

import random


def _lrs(rng):
    base_lr = round(rng.uniform(0.0005, 0.05), 5)
    max_lr = round(base_lr * rng.uniform(2.0, 20.0), 5)
    return base_lr, max_lr


def _n_steps(rng, up, down, cycles_low=2.2, cycles_high=4.0):
    return min(90, int((up + down) * rng.uniform(cycles_low, cycles_high)))


def _run(solution, rng, configs):
    """configs: list of dicts with base_lr, max_lr, step_size_up, n_steps and the keyword args to pass ('kwargs')."""
    results = []
    for config in configs:
        steps = list(range(config["n_steps"] + 1))
        rng.shuffle(steps)
        lrs = [None] * len(steps)
        for step in steps:
            lrs[step] = solution.cyclic_lr(step, config["base_lr"], config["max_lr"], config["step_size_up"],
                                           **config["kwargs"])
        results.append(lrs)
    return {"cases": configs, "lrs": results}


def _asymmetric_sizes(rng, index):
    """Distinct up and down half-cycle lengths; even index: a short rise, odd: a long rise."""
    short, long = rng.randint(1, 4), rng.randint(5, 12)
    return (short, long) if index % 2 == 0 else (long, short)


def probe_triangular(solution, seed):
    """Default arguments: cyclic_lr(step, base_lr, max_lr, step_size_up), a symmetric triangle."""
    rng = random.Random(seed)
    configs = []
    for _ in range(3):
        base_lr, max_lr = _lrs(rng)
        up = rng.randint(2, 12)
        configs.append({"base_lr": base_lr, "max_lr": max_lr, "step_size_up": up, "kwargs": {},
                        "torch_kwargs": {"mode": "triangular"}, "n_steps": _n_steps(rng, up, up)})
    return _run(solution, rng, configs)


def probe_asymmetric(solution, seed):
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
    return _run(solution, rng, configs)


def probe_triangular2(solution, seed):
    """mode 'triangular2' over three or more cycles, symmetric and asymmetric."""
    rng = random.Random(seed)
    configs = []
    for index in range(3):
        base_lr, max_lr = _lrs(rng)
        if index == 0:
            up = rng.randint(2, 8)
            down = None
        else:
            up, down = _asymmetric_sizes(rng, index)
        kwargs = {"step_size_down": down, "mode": "triangular2"}
        configs.append({"base_lr": base_lr, "max_lr": max_lr, "step_size_up": up, "kwargs": kwargs,
                        "torch_kwargs": dict(kwargs),
                        "n_steps": _n_steps(rng, up, up if down is None else down, 3.2, 4.5)})
    return _run(solution, rng, configs)


def probe_exp_range(solution, seed):
    """mode 'exp_range' with gamma 0.95..0.995, symmetric and asymmetric."""
    rng = random.Random(seed)
    configs = []
    for index in range(3):
        base_lr, max_lr = _lrs(rng)
        if index == 0:
            up = rng.randint(2, 10)
            down = None
        else:
            up, down = _asymmetric_sizes(rng, index)
        kwargs = {"step_size_down": down, "mode": "exp_range", "gamma": round(rng.uniform(0.95, 0.995), 4)}
        configs.append({"base_lr": base_lr, "max_lr": max_lr, "step_size_up": up, "kwargs": kwargs,
                        "torch_kwargs": dict(kwargs),
                        "n_steps": _n_steps(rng, up, up if down is None else down)})
    return _run(solution, rng, configs)
