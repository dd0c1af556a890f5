"""Trusted side only: every probe's settings, drawn from a seed the sandbox never learns.

The checks read these through `inputs[...]` and compute the expected learning rates from them.
The resumed run (stage 2 of `resume`) gets its own copy without `resume_at`: the step count it
must resume from has to come from the checkpoint, not from its inputs.
"""

import random


def _distinct_lrs(r: random.Random, count: int) -> list[float]:
    """`count` base lrs at least 0.02 apart, so a schedule that uses one group's lr for all shows."""
    lrs: list[float] = []
    while len(lrs) < count:
        candidate = round(r.uniform(0.02, 0.5), 4)
        if all(abs(candidate - other) > 0.02 for other in lrs):
            lrs.append(candidate)
    return lrs


def _config(r: random.Random, n_groups: int, warmup_range: tuple[int, int], with_min_lr: bool, with_start_factor: bool) -> dict:
    warmup = r.randint(*warmup_range)
    total = warmup + r.randint(4, 14)
    return {
        "base_lrs": _distinct_lrs(r, n_groups),
        "warmup_steps": warmup,
        "total_steps": total,
        "min_lr": round(r.uniform(0.001, 0.01), 5) if with_min_lr else 0.0,
        "warmup_start_factor": round(r.uniform(0.05, 0.5), 3) if with_start_factor else 0.0,
        "extra_steps": r.randint(3, 6),  # steps taken past total_steps
    }


def inputs_defaults(seed: int) -> dict:
    """One group; the probe calls WarmupCosine(optimizer, warmup_steps, total_steps), so min_lr and the start factor are 0."""
    return _config(random.Random(seed), 1, (2, 8), with_min_lr=False, with_start_factor=False)


def inputs_groups(seed: int) -> dict:
    """Two or three groups with different base lrs, min_lr > 0 and a start factor > 0."""
    r = random.Random(seed)
    return _config(r, r.randint(2, 3), (1, 8), with_min_lr=True, with_start_factor=True)


def inputs_no_warmup(seed: int) -> dict:
    """warmup_steps = 0 (a start factor given but irrelevant), two groups, min_lr > 0."""
    return _config(random.Random(seed), 2, (0, 0), with_min_lr=True, with_start_factor=True)


def inputs_last_lr(seed: int) -> dict:
    r = random.Random(seed)
    return _config(r, r.randint(2, 3), (1, 6), with_min_lr=True, with_start_factor=True)


def inputs_resume(seed: int) -> dict:
    """The first run: its settings, and after how many steps it is checkpointed."""
    r = random.Random(seed)
    config = _config(r, r.randint(2, 3), (1, 6), with_min_lr=True, with_start_factor=True)
    config["resume_at"] = r.randint(1, config["total_steps"] - 1)
    return config


def inputs_resume__stage2(seed: int) -> dict:
    """The resumed run, in a fresh sandbox: the same settings, without resume_at."""
    config = inputs_resume(seed)
    del config["resume_at"]
    return config
