"""Probes for lr-schedule-closed-forms: ask the candidate's lr_at for every step of the configurations drawn on
the trusted side (hidden/inputs.py), in the shuffled order given there, and report the values. Nothing is judged
here, and nothing in here uses torch's schedulers (the probes run under the same rule as the submission)."""


def _ask(solution, inputs):
    lrs = []
    for case, order in zip(inputs["cases"], inputs["orders"]):
        row = [None] * len(order)
        for step in order:
            params = {key: list(value) if type(value) is list else value for key, value in case["params"].items()}
            row[step] = solution.lr_at(case["kind"], step, case["base_lr"], **params)  # a fresh copy each call
        lrs.append(row)
    return {"lrs": lrs}


def probe_step(solution, seed, inputs):
    """StepLR configurations."""
    return _ask(solution, inputs)


def probe_multistep(solution, seed, inputs):
    """MultiStepLR configurations."""
    return _ask(solution, inputs)


def probe_exponential(solution, seed, inputs):
    """ExponentialLR configurations."""
    return _ask(solution, inputs)


def probe_cosine(solution, seed, inputs):
    """CosineAnnealingLR configurations, asked well past T_max."""
    return _ask(solution, inputs)


def probe_linear(solution, seed, inputs):
    """LinearLR configurations, asked past total_iters."""
    return _ask(solution, inputs)


def probe_polynomial(solution, seed, inputs):
    """PolynomialLR configurations, asked past total_iters."""
    return _ask(solution, inputs)
