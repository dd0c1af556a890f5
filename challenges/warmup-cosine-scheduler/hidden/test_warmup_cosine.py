"""Checks for warmup-cosine-scheduler.

Expected learning rates come from the closed form in the statement, computed here with `math`.
The settings (base lrs, warmup_steps, total_steps, min_lr, start factor, resume point) are read from
`reference[...]`: the same probe run on the reference solution in the trusted process with the same
seed, so nothing the candidate's probe reports about its own inputs is believed.
"""

import math

import pytest

from harness.testing import assert_float_close, expect

LR_RTOL = 1e-6
LR_ATOL = 1e-10


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
    """found[key]: a list of `count` rows, each a list of `n_groups` numbers."""
    expect(isinstance(found, dict) and key in found, f"{what} (probe result)", f"a dict with {key!r}", found)
    rows = found[key]
    expect(isinstance(rows, list) and len(rows) == count, f"{what}: number of recorded steps",
           count, len(rows) if isinstance(rows, list) else rows)
    for index, row in enumerate(rows):
        expect(isinstance(row, list) and len(row) == n_groups, f"{what}: entry {index}",
               f"a list of {n_groups} lrs (one per param group)", row)
    return rows


def check_steps(found: dict, trusted: dict, steps, what: str, key: str = "lrs", first_t: int = 0) -> None:
    """Every group's lr at every t in `steps` equals the closed form; rows start at t = first_t."""
    config = trusted["config"]
    count = config["total_steps"] + config["extra_steps"] + 1 - first_t
    rows = rows_of(found, key, count, len(config["base_lrs"]), what)
    for t in steps:
        for group, base in enumerate(config["base_lrs"]):
            assert_float_close(rows[t - first_t][group], closed_form(base, t, config),
                               f"{what}: lr of param group {group} after {t} scheduler steps ({describe(config)})",
                               rtol=LR_RTOL, atol=LR_ATOL)


@pytest.mark.points(2)
def test_warmup_ramp(probes, reference):
    """During warmup the lr rises linearly from warmup_start_factor * base_lr and reaches each group's base lr at t = warmup_steps."""
    for name in ("defaults", "groups"):
        config = reference[name]["config"]
        check_steps(probes[name], reference[name], range(0, config["warmup_steps"] + 1), name)


@pytest.mark.points(3)
def test_cosine_decay(probes, reference):
    """From t = warmup_steps to t = total_steps every group follows a half cosine from its base lr down to min_lr."""
    for name in ("defaults", "groups"):
        config = reference[name]["config"]
        check_steps(probes[name], reference[name], range(config["warmup_steps"], config["total_steps"] + 1), name)


@pytest.mark.points(1)
def test_min_lr_after_total(probes, reference):
    """After total_steps the lr stays at min_lr: no restart and no climb back up."""
    for name in ("defaults", "groups"):
        config = reference[name]["config"]
        last = config["total_steps"] + config["extra_steps"]
        check_steps(probes[name], reference[name], range(config["total_steps"], last + 1), name)


@pytest.mark.points(1)
def test_no_warmup(probes, reference):
    """With warmup_steps = 0 the schedule starts at the base lr and is a pure half cosine to min_lr."""
    config = reference["no_warmup"]["config"]
    check_steps(probes["no_warmup"], reference["no_warmup"],
                range(0, config["total_steps"] + config["extra_steps"] + 1), "warmup_steps=0")


@pytest.mark.points(1)
def test_get_last_lr(probes, reference):
    """get_last_lr() returns the lrs just set: the closed form for every group, at construction and after every step."""
    config = reference["last_lr"]["config"]
    check_steps(probes["last_lr"], reference["last_lr"],
                range(0, config["total_steps"] + config["extra_steps"] + 1), "get_last_lr()", key="last_lrs")


@pytest.mark.points(2)
def test_resume_from_state_dict(probes, reference):
    """A fresh scheduler loaded from state_dict() (after optimizer.load_state_dict) continues the schedule where it stopped."""
    trusted = reference["resume"]
    config = trusted["config"]
    k = config["resume_at"]
    what = f"resumed after {k} steps (torch.save/torch.load of both state_dicts, fresh optimizer and scheduler)"
    check_steps(probes["resume"], trusted, range(k, config["total_steps"] + config["extra_steps"] + 1), what, first_t=k)
