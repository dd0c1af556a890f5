"""Probes for warmup-cosine-scheduler: they drive the candidate's WarmupCosine on seeded settings and report the lrs.

Every setting is drawn from a local `random.Random(seed)` before the candidate's code runs, so the
reference run in the trusted process (same seed) reports the very same `config`, which the checks
trust instead of the candidate's copy.
"""

import io
import random

import torch


def _distinct_lrs(rng, count):
    """`count` base lrs at least 0.02 apart, so a schedule that uses one group's lr for all shows."""
    lrs = []
    while len(lrs) < count:
        candidate = round(rng.uniform(0.02, 0.5), 4)
        if all(abs(candidate - other) > 0.02 for other in lrs):
            lrs.append(candidate)
    return lrs


def _optimizer(base_lrs):
    params = [torch.zeros(2, requires_grad=True) for _ in base_lrs]
    groups = [{"params": [param], "lr": base} for param, base in zip(params, base_lrs)]
    return torch.optim.SGD(groups, lr=base_lrs[0]), params


def _optimizer_step(optimizer, params):
    for param in params:
        param.grad = torch.ones_like(param)
    optimizer.step()


def _group_lrs(optimizer):
    return [float(group["lr"]) for group in optimizer.param_groups]


def _plain(values):
    """get_last_lr() as reported: a list of floats, or its type name when it is not a list of numbers."""
    if isinstance(values, (list, tuple)) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return [float(v) for v in values]
    return f"not a list of numbers: {type(values).__name__}"


def _config(rng, n_groups, warmup_range, with_min_lr, with_start_factor):
    warmup = rng.randint(*warmup_range)
    total = warmup + rng.randint(4, 14)
    config = {
        "base_lrs": _distinct_lrs(rng, n_groups),
        "warmup_steps": warmup,
        "total_steps": total,
        "min_lr": round(rng.uniform(0.001, 0.01), 5) if with_min_lr else 0.0,
        "warmup_start_factor": round(rng.uniform(0.05, 0.5), 3) if with_start_factor else 0.0,
        "extra_steps": rng.randint(3, 6),
    }
    return config


def _build(solution, config, optimizer, pass_defaults=False):
    if pass_defaults:
        return solution.WarmupCosine(optimizer, config["warmup_steps"], config["total_steps"])
    return solution.WarmupCosine(
        optimizer,
        config["warmup_steps"],
        config["total_steps"],
        min_lr=config["min_lr"],
        warmup_start_factor=config["warmup_start_factor"],
    )


def _trace(solution, config, pass_defaults=False):
    """Group lrs right after construction (t = 0) and after each optimizer + scheduler step, t = 0 .. T + extra."""
    optimizer, params = _optimizer(config["base_lrs"])
    scheduler = _build(solution, config, optimizer, pass_defaults)
    rows = [_group_lrs(optimizer)]
    for _ in range(config["total_steps"] + config["extra_steps"]):
        _optimizer_step(optimizer, params)
        scheduler.step()
        rows.append(_group_lrs(optimizer))
    return rows


def probe_defaults(solution, seed):
    """One param group, WarmupCosine(optimizer, warmup_steps, total_steps): min_lr = 0 and start factor = 0 by default."""
    rng = random.Random(seed)
    config = _config(rng, 1, (2, 8), with_min_lr=False, with_start_factor=False)
    return {"config": config, "lrs": _trace(solution, config, pass_defaults=True)}


def probe_groups(solution, seed):
    """Two or three param groups with different base lrs, min_lr > 0 and a start factor > 0."""
    rng = random.Random(seed)
    config = _config(rng, rng.randint(2, 3), (1, 8), with_min_lr=True, with_start_factor=True)
    return {"config": config, "lrs": _trace(solution, config)}


def probe_no_warmup(solution, seed):
    """warmup_steps = 0 (start factor given but irrelevant), two param groups, min_lr > 0."""
    rng = random.Random(seed)
    config = _config(rng, 2, (0, 0), with_min_lr=True, with_start_factor=True)
    return {"config": config, "lrs": _trace(solution, config)}


def probe_last_lr(solution, seed):
    """get_last_lr() right after construction and after every step, t = 0 .. T + extra, with two or three groups."""
    rng = random.Random(seed)
    config = _config(rng, rng.randint(2, 3), (1, 6), with_min_lr=True, with_start_factor=True)
    optimizer, params = _optimizer(config["base_lrs"])
    scheduler = _build(solution, config, optimizer)
    last = [_plain(scheduler.get_last_lr())]
    for _ in range(config["total_steps"] + config["extra_steps"]):
        _optimizer_step(optimizer, params)
        scheduler.step()
        last.append(_plain(scheduler.get_last_lr()))
    return {"config": config, "last_lrs": last}


def probe_resume(solution, seed):
    """Run k steps, checkpoint both state_dicts through torch.save/torch.load, rebuild and resume.

    The resumed run uses a fresh optimizer and a fresh WarmupCosine built with the same arguments,
    then optimizer.load_state_dict and scheduler.load_state_dict, as a training script does after
    a restart. Reports the lrs right after loading (t = k) and after each further step up to T + extra.
    """
    rng = random.Random(seed)
    config = _config(rng, rng.randint(2, 3), (1, 6), with_min_lr=True, with_start_factor=True)
    config["resume_at"] = rng.randint(1, config["total_steps"] - 1)

    optimizer, params = _optimizer(config["base_lrs"])
    scheduler = _build(solution, config, optimizer)
    for _ in range(config["resume_at"]):
        _optimizer_step(optimizer, params)
        scheduler.step()
    buffer = io.BytesIO()
    torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}, buffer)
    del optimizer, scheduler
    buffer.seek(0)
    checkpoint = torch.load(buffer)

    optimizer, params = _optimizer(config["base_lrs"])
    scheduler = _build(solution, config, optimizer)
    optimizer.load_state_dict(checkpoint["optimizer"])
    scheduler.load_state_dict(checkpoint["scheduler"])
    rows = [_group_lrs(optimizer)]
    for _ in range(config["resume_at"], config["total_steps"] + config["extra_steps"]):
        _optimizer_step(optimizer, params)
        scheduler.step()
        rows.append(_group_lrs(optimizer))
    return {"config": config, "lrs": rows}
