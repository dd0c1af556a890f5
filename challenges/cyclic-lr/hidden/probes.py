"""Probes for cyclic-lr: ask the candidate's cyclic_lr for every step of the configurations drawn on the trusted
side (hidden/inputs.py), in the shuffled order given there, and report the values. Nothing is judged here, and
nothing in here uses torch's schedulers (the probes run under the same rule as the submission)."""


def _ask(solution, inputs):
    lrs = []
    for case, order in zip(inputs["cases"], inputs["orders"]):
        row = [None] * len(order)
        for step in order:
            row[step] = solution.cyclic_lr(step, case["base_lr"], case["max_lr"], case["step_size_up"], **case["kwargs"])
        lrs.append(row)
    return {"lrs": lrs}


def probe_triangular(solution, seed, inputs):
    """Default arguments: cyclic_lr(step, base_lr, max_lr, step_size_up), a symmetric triangle."""
    return _ask(solution, inputs)


def probe_asymmetric(solution, seed, inputs):
    """mode 'triangular' with step_size_down different from step_size_up (both shorter and longer)."""
    return _ask(solution, inputs)


def probe_triangular2(solution, seed, inputs):
    """mode 'triangular2' over three or more cycles, symmetric and asymmetric."""
    return _ask(solution, inputs)


def probe_exp_range(solution, seed, inputs):
    """mode 'exp_range' with gamma 0.95..0.995, symmetric and asymmetric."""
    return _ask(solution, inputs)
