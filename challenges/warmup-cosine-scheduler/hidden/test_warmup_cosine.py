"""Checks for warmup-cosine-scheduler.

The settings (base lrs, warmup_steps, total_steps, min_lr, start factor, resume point) are read from
`inputs[...]`, drawn on the trusted side; nothing the candidate's probe reports about its own inputs
is believed. Expected learning rates come from the closed form in the statement, computed here with
`math`. Every group's float64 parameter gets a gradient of ones at every step, so each step moves it
by exactly the lr SGD used: the checks compare that too, so an lr that is shown to the probe but not
used by the optimizer does not pass.
"""

import math

import pytest

from harness.testing import assert_float_close, expect

LR_RTOL = 1e-6
LR_ATOL = 1e-10
USED_ATOL = 1e-12  # a move of a float64 parameter of size < 10: rounding stays near 1e-15


def closed_form(base: float, t: int, config: dict) -> float:
    """The statement's lr after t scheduler steps, for a group whose base lr is `base`."""
    warmup, total = config["warmup_steps"], config["total_steps"]
    start, min_lr = config["warmup_start_factor"], config["min_lr"]
    if t < warmup:
        return base * (start + (1.0 - start) * t / warmup)
    if t >= total:
        return min_lr
    return min_lr + (base - min_lr) * (1.0 + math.cos(math.pi * (t - warmup) / (total - warmup))) / 2.0


def describe(config: dict) -> str:
    return (f"warmup_steps {config['warmup_steps']}, total_steps {config['total_steps']}, "
            f"min_lr {config['min_lr']}, warmup_start_factor {config['warmup_start_factor']}, "
            f"base lrs {config['base_lrs']}")


def rows_of(found, key: str, count: int, n_groups: int, what: str) -> list:
    """found[key]: a list of `count` rows, each a list of `n_groups` floats."""
    expect(isinstance(found, dict) and key in found, f"{what} (probe result)", f"a dict with {key!r}", found)
    rows = found[key]
    expect(isinstance(rows, list) and len(rows) == count, f"{what}: number of recorded steps ({key})",
           count, len(rows) if isinstance(rows, list) else rows)
    for index, row in enumerate(rows):
        expect(isinstance(row, list) and len(row) == n_groups and all(isinstance(value, float) for value in row),
               f"{what}: {key} at entry {index}", f"a list of {n_groups} numbers (a plain dict per group, an int or float lr)", row)
    return rows


def check_steps(found, config: dict, steps, what: str, first_t: int = 0) -> None:
    """Every group's lr at every t in `steps`, as the group holds it and as SGD used it, equals the closed form.

    found["lrs"][j] and found["params"][j] are the state after t = first_t + j steps; every probe records
    total_steps + extra_steps steps after its first row (the resumed run too, whatever its first_t).
    """
    count = config["total_steps"] + config["extra_steps"] + 1
    lrs = rows_of(found, "lrs", count, len(config["base_lrs"]), what)
    positions = rows_of(found, "params", count, len(config["base_lrs"]), what)
    for t in steps:
        for group, base in enumerate(config["base_lrs"]):
            assert_float_close(lrs[t - first_t][group], closed_form(base, t, config),
                               f"{what}: lr of param group {group} after {t} scheduler steps ({describe(config)})",
                               rtol=LR_RTOL, atol=LR_ATOL)
            if t - first_t + 1 < count:  # the lr SGD used for the step from t to t + 1 moved the parameter by exactly that
                used = positions[t - first_t][group] - positions[t - first_t + 1][group]
                assert_float_close(used, closed_form(base, t, config),
                                   f"{what}: lr SGD used for param group {group} at step {t + 1} (its parameter's move; "
                                   f"{describe(config)})", rtol=LR_RTOL, atol=USED_ATOL)


@pytest.mark.points(2)
def test_warmup_ramp(probes, inputs):
    """During warmup the lr rises linearly from warmup_start_factor * base_lr and reaches each group's base lr at t = warmup_steps."""
    for name in ("defaults", "groups"):
        config = inputs[name]
        check_steps(probes[name], config, range(0, config["warmup_steps"] + 1), name)


@pytest.mark.points(3)
def test_cosine_decay(probes, inputs):
    """From t = warmup_steps to t = total_steps every group follows a half cosine from its base lr down to min_lr."""
    for name in ("defaults", "groups"):
        config = inputs[name]
        check_steps(probes[name], config, range(config["warmup_steps"], config["total_steps"] + 1), name)


@pytest.mark.points(1)
def test_min_lr_after_total(probes, inputs):
    """After total_steps the lr stays at min_lr: no restart and no climb back up."""
    for name in ("defaults", "groups"):
        config = inputs[name]
        check_steps(probes[name], config, range(config["total_steps"], config["total_steps"] + config["extra_steps"] + 1), name)


@pytest.mark.points(1)
def test_no_warmup(probes, inputs):
    """With warmup_steps = 0 the schedule starts at the base lr and is a pure half cosine to min_lr."""
    config = inputs["no_warmup"]
    check_steps(probes["no_warmup"], config, range(0, config["total_steps"] + config["extra_steps"] + 1), "warmup_steps=0")


@pytest.mark.points(1)
def test_get_last_lr(probes, inputs):
    """get_last_lr() returns the lrs just set: one float per group, equal to the groups' lrs, at construction and after every step.

    Gated on real data: the groups' lrs it is compared with must be plain numbers that SGD actually
    stepped with (each parameter moved by exactly its group's lr). Whether they follow the schedule
    is judged by the other checks.
    """
    config = inputs["last_lr"]
    found = probes["last_lr"]
    count, n_groups = config["total_steps"] + config["extra_steps"] + 1, len(config["base_lrs"])
    what = "get_last_lr()"
    lrs = rows_of(found, "lrs", count, n_groups, f"{what} probe")
    positions = rows_of(found, "params", count, n_groups, f"{what} probe")
    for t in range(count - 1):
        for group in range(n_groups):
            assert_float_close(positions[t][group] - positions[t + 1][group], lrs[t][group],
                               f"{what} probe (the data this check compares with): lr SGD used for param group {group} at "
                               f"step {t + 1} (its parameter's move) vs. the lr the group held", rtol=LR_RTOL, atol=USED_ATOL)
    last = rows_of(found, "last_lrs", count, n_groups, what)
    for t in range(count):
        for group in range(n_groups):
            assert_float_close(last[t][group], lrs[t][group],
                               f"{what} after {t} steps, param group {group} (vs. the lr the group holds; {describe(config)})",
                               rtol=LR_RTOL, atol=LR_ATOL)


@pytest.mark.points(2)
def test_resume_from_state_dict(probes, inputs):
    """In a fresh process, a fresh scheduler loaded from state_dict() (after optimizer.load_state_dict) continues the schedule where it stopped."""
    config = inputs["resume"]
    k = config["resume_at"]
    stages = probes["resume"]
    expect(isinstance(stages, list) and len(stages) == 2, "resume (probe result)", "two stages", stages)
    what = f"resumed after {k} steps (torch.save/torch.load of both state_dicts, fresh process, optimizer and scheduler)"
    last = k + config["total_steps"] + config["extra_steps"]
    check_steps(stages[1], config, range(k, last + 1), what, first_t=k)
