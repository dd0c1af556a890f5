"""Probes for warmup-cosine-scheduler: they drive the candidate's WarmupCosine with settings drawn on the trusted side and report the lrs.

Nothing is judged here. Learning rates are read from the optimizer's own param groups with exact
type checks (a dict subclass, or anything but an int or float lr, is reported by its type, never
read through its methods). Every group holds one float64 parameter that gets a gradient of ones at
every step, so plain SGD moves it by exactly the lr it used; the probes report where it went.
The resume runs in two stages: the checkpoint crosses to a fresh sandbox as bytes, and the resumed
run's inputs do not say at which step it was taken.
"""

import io

import torch

# Taken when this file is compiled, before the submission is imported.
_SGD = torch.optim.SGD
_OPTIMIZER_DICT = torch.optim.Optimizer.__dict__["__dict__"].__get__  # an optimizer's own __dict__, whatever its class says
_QUALNAME_OF = type.__dict__["__qualname__"].__get__


def _name(value) -> str:
    return f"<{_QUALNAME_OF(type(value))}>"


def _number(value):
    """An int or float as a float; anything else (a tensor, a bool, a subclass) by its type."""
    kind = type(value)
    return float(value) if kind is float or kind is int else _name(value)


def _numbers(values):
    """get_last_lr() as reported: a list or tuple of numbers as a list of floats; anything else by its type."""
    kind = type(values)
    if (kind is not list and kind is not tuple) or len(values) > 64:
        return _name(values)
    return [_number(value) for value in values]


def _optimizer(base_lrs):
    params = [torch.zeros(1, dtype=torch.float64, requires_grad=True) for _ in base_lrs]
    groups = [{"params": [param], "lr": base} for param, base in zip(params, base_lrs)]
    return _SGD(groups, lr=base_lrs[0]), params


def _optimizer_step(optimizer, params):
    for param in params:
        param.grad = torch.ones_like(param)
    optimizer.step()


def _group_lrs(optimizer):
    """Each param group's lr, read from the optimizer's own list of plain dicts."""
    groups = _OPTIMIZER_DICT(optimizer).get("param_groups")
    if type(groups) is not list:
        return _name(groups)
    return [_number(group.get("lr")) if type(group) is dict else _name(group) for group in groups]


def _positions(params):
    return [param.detach()[0].item() for param in params]


def _build(solution, inputs, optimizer, pass_defaults=False):
    if pass_defaults:
        return solution.WarmupCosine(optimizer, inputs["warmup_steps"], inputs["total_steps"])
    return solution.WarmupCosine(optimizer, inputs["warmup_steps"], inputs["total_steps"], min_lr=inputs["min_lr"],
                                 warmup_start_factor=inputs["warmup_start_factor"])


def _run(optimizer, params, scheduler, steps, last_lr=False):
    """The groups' lrs and parameters now and after each of `steps` optimizer + scheduler steps (and get_last_lr())."""
    out = {"lrs": [_group_lrs(optimizer)], "params": [_positions(params)]}
    if last_lr:
        out["last_lrs"] = [_numbers(scheduler.get_last_lr())]
    for _ in range(steps):
        _optimizer_step(optimizer, params)
        scheduler.step()
        out["lrs"].append(_group_lrs(optimizer))
        out["params"].append(_positions(params))
        if last_lr:
            out["last_lrs"].append(_numbers(scheduler.get_last_lr()))
    return out


def _trace(solution, inputs, pass_defaults=False, last_lr=False):
    """t = 0 (right after construction) .. total_steps + extra_steps."""
    optimizer, params = _optimizer(inputs["base_lrs"])
    scheduler = _build(solution, inputs, optimizer, pass_defaults)
    return _run(optimizer, params, scheduler, inputs["total_steps"] + inputs["extra_steps"], last_lr)


def probe_defaults(solution, seed, inputs):
    """One param group, WarmupCosine(optimizer, warmup_steps, total_steps): min_lr = 0 and start factor = 0 by default."""
    return _trace(solution, inputs, pass_defaults=True)


def probe_groups(solution, seed, inputs):
    """Two or three param groups with different base lrs, min_lr > 0 and a start factor > 0."""
    return _trace(solution, inputs)


def probe_no_warmup(solution, seed, inputs):
    """warmup_steps = 0 (start factor given but irrelevant), two param groups, min_lr > 0."""
    return _trace(solution, inputs)


def probe_last_lr(solution, seed, inputs):
    """get_last_lr() right after construction and after every step, next to the groups' lrs and parameters."""
    return _trace(solution, inputs, last_lr=True)


def probe_resume(solution, seed, inputs):
    """Run resume_at steps, then checkpoint both state_dicts with torch.save; the bytes go on to stage 2."""
    optimizer, params = _optimizer(inputs["base_lrs"])
    scheduler = _build(solution, inputs, optimizer)
    for _ in range(inputs["resume_at"]):
        _optimizer_step(optimizer, params)
        scheduler.step()
    buffer = io.BytesIO()
    torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}, buffer)
    return {"checkpoint": torch.frombuffer(bytearray(buffer.getvalue()), dtype=torch.uint8).clone()}


def probe_resume__stage2(solution, seed, inputs, carry):
    """In a fresh sandbox: torch.load the checkpoint (weights_only), build a fresh optimizer and WarmupCosine with the
    same arguments, optimizer.load_state_dict then scheduler.load_state_dict, as a training script does after a
    restart; then report the groups' lrs and parameters right after loading and after each of total_steps +
    extra_steps further steps (more than the run has left, whatever step it was saved at)."""
    checkpoint = torch.load(io.BytesIO(carry["checkpoint"].numpy().tobytes()), weights_only=True)
    optimizer, params = _optimizer(inputs["base_lrs"])
    scheduler = _build(solution, inputs, optimizer)
    optimizer.load_state_dict(checkpoint["optimizer"])
    scheduler.load_state_dict(checkpoint["scheduler"])
    return _run(optimizer, params, scheduler, inputs["total_steps"] + inputs["extra_steps"])
