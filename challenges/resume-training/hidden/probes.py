"""Probes for resume-training.

Each training probe runs one job drawn on the trusted side (hidden/inputs.py: data, initial weights,
optimizer and schedule settings, the loader's seed, the crash points) the way a restarted script
would. Stage 1 trains from the job's initial weights, saving after every epoch, until the first
crash, and hands on only the bytes of the checkpoint file. Stage 2 runs in a fresh sandbox process:
it builds new objects (the model with other initial weights, which is all that stage's inputs
hold), writes those bytes to a new path, calls load_checkpoint and trains on, saving after every
epoch; for OneCycleLR it crashes again, and stage 3, in yet another process, resumes from the
second file. Nothing but the file crosses from one stage to the next (no stage's inputs hold the
first run's initial weights), so only what the file holds can carry the run over.

The uninterrupted run never touches the candidate's code: the checks compute it on the trusted
side, with these same functions. Nothing is judged here: the probes only report what happened.
"""

import collections
import io
import os
import tempfile

import torch
import torch.nn.functional as F
import torch.optim.optimizer as optimizer_module
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

MAX_FILE_BYTES = 8 * 1024 * 1024  # a checkpoint of these small models is a few KiB

# Pickling a tensor the first time makes copyreg cache `torch.Tensor.__slotnames__`. This module is
# loaded before the sandbox's guard takes its snapshot, so filling that cache now keeps the first
# torch.save in a probe (the candidate's, honestly) from reading as a new attribute on torch.Tensor.
torch.save(torch.zeros(1), io.BytesIO())


# ---------------------------------------------------------------- the training script (shared with the trusted side)


def _build(job, weights):
    """What a (re)started script builds before it looks for a checkpoint: model, optimizer, scheduler, generator, loader."""
    hidden, features = weights["0.weight"].shape
    model = nn.Sequential(nn.Linear(features, hidden), nn.Tanh(), nn.Linear(hidden, 1))
    model.load_state_dict(weights)
    settings = job["optimizer"]
    if settings["groups"] == 2:
        params = [{"params": model[0].parameters()}, {"params": model[2].parameters()}]
    else:
        params = model.parameters()
    optimizer = torch.optim.SGD(params, lr=settings["lr"], momentum=settings["momentum"],
                                nesterov=settings["nesterov"], weight_decay=settings["weight_decay"])
    schedule = job["scheduler"]
    if schedule["kind"] == "step":
        scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=schedule["step_size"], gamma=schedule["gamma"])
    else:
        scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=list(schedule["max_lr"]),
                                                        total_steps=schedule["total_steps"])
    generator = torch.Generator().manual_seed(job["loader_seed"])
    dataset = TensorDataset(torch.arange(job["x"].shape[0]), job["x"], job["y"])
    loader = DataLoader(dataset, batch_size=job["batch_size"], shuffle=True, generator=generator)
    return model, optimizer, scheduler, generator, loader


def _lr(value):
    """A param group's lr as plain data: a float, or the name of whatever else it holds."""
    return value if type(value) is float else f"a {type(value).__name__}"


def _train_epoch(model, optimizer, scheduler, loader, job):
    """One epoch of the script's loop; returns the lrs of every batch (one per param group) and the sample order."""
    lrs, order = [], []
    for index, x, y in loader:
        order.extend(index.tolist())
        lrs.append([_lr(group["lr"]) for group in optimizer.param_groups])
        optimizer.zero_grad()
        F.mse_loss(model(x), y).backward()
        optimizer.step()
        if job["per_batch"]:
            scheduler.step()
    if not job["per_batch"]:
        scheduler.step()
    return lrs, order


def _weights(model):
    """The model's parameters by state_dict name, read straight from the parameters (no state_dict hooks run)."""
    return {name: tensor.detach().clone() for name, tensor in model.named_parameters()}


def _frozen(model):
    """The parameters as immutable data, so code that runs later (a save_checkpoint call) cannot rewrite the record."""
    return tuple((name, str(p.dtype).rpartition(".")[2], tuple(p.shape), tuple(p.detach().flatten().tolist()))
                 for name, p in model.named_parameters())


def _thawed(frozen):
    return {name: torch.tensor(values, dtype=getattr(torch, dtype)).reshape(shape) for name, dtype, shape, values in frozen}


# ---------------------------------------------------------------- what the candidate's code may change

_PLAIN = (type(None), bool, int, float, str)


def _plain(value, depth=0):
    """Data that runs no code when the script reads it or computes with it: plain values, exact tensors, containers of them."""
    kind = type(value)
    if kind in _PLAIN or kind is torch.Tensor:
        return True
    if depth < 8 and (kind is list or kind is tuple):
        return all(_plain(item, depth + 1) for item in value)
    if depth < 8 and kind is dict:
        return all(type(key) in _PLAIN and _plain(item, depth + 1) for key, item in value.items())
    return False


def _same_items(found, items):
    return type(found) in (dict, collections.OrderedDict) and len(found) == len(items) and all(
        type(key) in _PLAIN and type(key) is type(old_key) and key == old_key and value is old_value
        for (key, value), (old_key, old_value) in zip(dict.items(found), items))


def _snapshot(model, optimizer, scheduler, loader):
    """The script's objects as built, before the candidate's code ran: each one's class and attributes (hook tables included)."""
    objects = [model, *model._modules.values(), optimizer, scheduler, loader, loader.sampler, loader.batch_sampler,
               loader.dataset]
    kept = []
    for obj in objects:
        attrs = dict(vars(obj))
        tables = {key: list(dict.items(value)) for key, value in attrs.items()
                  if type(value) in (dict, collections.OrderedDict) and not _plain(value)}
        kept.append((obj, type(obj), attrs, tables))
    return {"objects": kept, "params": list(model.parameters()), "optimizer": optimizer}


def _check_unchanged(snapshot):
    """After the candidate's code ran: the script's objects are still torch's own, with no hooks or code added.

    load_checkpoint may change their state (plain values and tensors, the optimizer's state and
    param groups) but not their classes, their methods, their hook tables or the objects they hold;
    otherwise the candidate's code could run again in the middle of the script and rewrite what it
    records. The probe fails, saying so.
    """
    def fail(what):
        raise RuntimeError(f"the submission changed more than the state of the training script's objects: {what} "
                           "(classes, methods and hook tables must stay torch's own)")

    optimizer = snapshot["optimizer"]
    for obj, cls, attrs, tables in snapshot["objects"]:
        name = cls.__name__
        if type(obj) is not cls:
            fail(f"the class of the {name}")
        found = vars(obj)
        if type(found) is not dict or any(key not in found for key in attrs):
            fail(f"the attributes of the {name}")
        for key, value in found.items():
            if obj is optimizer and key in ("state", "param_groups"):
                continue  # checked below
            before = attrs.get(key)  # torch adds a few plain flags as it trains (SGD._opt_called)
            if _plain(before):
                if not _plain(value):
                    fail(f"{name}.{key}")
            elif value is not before or (key in tables and not _same_items(value, tables[key])):
                fail(f"{name}.{key}")
    params = snapshot["params"]
    for param in params:
        if type(param) is not nn.Parameter or param._backward_hooks is not None or \
                getattr(param, "_post_accumulate_grad_hooks", None) is not None:
            fail("a parameter (its class or hooks)")
    groups = optimizer.param_groups
    if type(groups) is not list or any(type(group) is not dict for group in groups):
        fail("the optimizer's param groups")
    for group in groups:
        if type(group.get("params")) is not list or any(all(p is not q for q in params) for p in group["params"]):
            fail("the optimizer's params")
        if not all(type(key) is str and (key == "params" or _plain(value)) for key, value in group.items()):
            fail("the optimizer's param-group settings")
    state = optimizer.state
    if type(state) not in (dict, collections.defaultdict) or any(
            all(key is not q for q in params) or not _plain(value) for key, value in dict.items(state)):
        fail("the optimizer's state")
    if any(len(getattr(optimizer_module, table, ())) for table in ("_global_optimizer_pre_hooks",
                                                                    "_global_optimizer_post_hooks")):
        fail("torch's global optimizer hooks")


# ---------------------------------------------------------------- the checkpoint file as bytes


def _read_file(path):
    """The file's bytes as a uint8 tensor (None when there is no file): what a job resubmitted elsewhere gets."""
    if not os.path.isfile(path):
        return None
    size = os.path.getsize(path)
    if size > MAX_FILE_BYTES:
        raise ValueError(f"the checkpoint file has {size} bytes, more than the {MAX_FILE_BYTES} this grader carries over")
    with open(path, "rb") as handle:
        data = handle.read()
    return torch.frombuffer(bytearray(data), dtype=torch.uint8).clone() if data else torch.zeros(0, dtype=torch.uint8)


def _place_file(carried, name):
    """Write the carried bytes under a new name in a new folder (no file at all if none was carried)."""
    path = os.path.join(tempfile.mkdtemp(prefix="restart-"), name)
    if carried is not None:
        with open(path, "wb") as handle:
            handle.write(carried.numpy().tobytes())
    return path


# ---------------------------------------------------------------- one process's part of a job


def _first_part(solution, job):
    """Train from the job's initial weights to the first crash, saving after every epoch; hand on the file."""
    model, optimizer, scheduler, generator, loader = _build(job, job["weights"])
    path = os.path.join(tempfile.mkdtemp(prefix="run-"), "checkpoint.pt")
    for epoch in range(job["stop_after"]):
        _train_epoch(model, optimizer, scheduler, loader, job)
        solution.save_checkpoint(path, model, optimizer, scheduler, epoch, generator=generator)
    return {"file": _read_file(path)}


def _restart(solution, job, carry):
    """A restarted process: fresh objects, load the carried file, train on to the next crash or to the end.

    What it observes is kept as immutable data the moment it is observed, before the candidate's
    code runs again (each save_checkpoint), so that code cannot rewrite the record.
    """
    model, optimizer, scheduler, generator, loader = _build(job, job["weights"])
    snapshot = _snapshot(model, optimizer, scheduler, loader)
    path = _place_file(carry["file"], "resubmitted.pt")
    returned = solution.load_checkpoint(path, model, optimizer, scheduler, generator=generator)
    _check_unchanged(snapshot)
    start = returned if type(returned) is int else None
    start_text = start if start is not None else f"a {type(returned).__name__}"
    after_load = last = _frozen(model)
    lrs, orders = (), ()
    first = start if start is not None and 0 <= start <= job["epochs"] else job["stop_after"]  # nonsense trains nothing
    for epoch in range(first, job["stop_after"]):
        epoch_lrs, order = _train_epoch(model, optimizer, scheduler, loader, job)
        lrs += tuple(tuple(row) for row in epoch_lrs)
        orders += (tuple(order),)
        last = _frozen(model)
        solution.save_checkpoint(path, model, optimizer, scheduler, epoch, generator=generator)
        _check_unchanged(snapshot)
    report = {"start": start_text, "after_load": _thawed(after_load), "lrs": [list(row) for row in lrs],
              "orders": [list(order) for order in orders]}
    if job["stop_after"] < job["epochs"]:
        report["file"] = _read_file(path)  # another crash: the next stage resumes from this file
    else:
        report["final"] = _thawed(last)
    return report


# ---------------------------------------------------------------- probes


def probe_resume_steplr(solution, seed, inputs):
    """SGD with momentum and StepLR stepped once per epoch: train to the crash, save (the restart is stage 2)."""
    return _first_part(solution, inputs)


def probe_resume_steplr__stage2(solution, seed, inputs, carry):
    """The restart, in a new process: load the file into fresh objects and train to the end."""
    return _restart(solution, inputs, carry)


def probe_resume_onecycle(solution, seed, inputs):
    """Nesterov SGD, two param groups, OneCycleLR stepped every batch: train to the first crash, save."""
    return _first_part(solution, inputs)


def probe_resume_onecycle__stage2(solution, seed, inputs, carry):
    """The first restart, in a new process: load, train to the second crash, save."""
    return _restart(solution, inputs, carry)


def probe_resume_onecycle__stage3(solution, seed, inputs, carry):
    """The second restart, in yet another process: load the second file and train to the end."""
    return _restart(solution, inputs, carry)


def _safe_load_report(path):
    """What torch.load(path, weights_only=True) makes of the file with only torch's own allowlist (as in a new process)."""
    allowlist = getattr(torch._weights_only_unpickler, "_marked_safe_globals_set", None)
    if type(allowlist) is set:
        allowlist.clear()  # in place: anything torch.serialization.add_safe_globals added goes, torch's own list stays
    report = {"exists": os.path.isfile(path)}
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # reported, not judged
        report.update(loaded=False, error=f"{type(error).__name__}: {str(error)[:300]}")
        loaded = None
    else:
        report.update(loaded=True, error="")
    report["mro"] = [cls.__module__ + "." + cls.__qualname__ for cls in type(loaded).__mro__]
    is_dict = dict in type(loaded).__mro__
    items = list(dict.items(loaded)) if is_dict else []
    report["keys"] = sorted(key if type(key) is str else repr(key) for key, _ in items)
    report["value_types"] = {key: type(value).__name__ for key, value in items if type(key) is str}
    return report


def probe_checkpoint_file(solution, seed, inputs):
    """What the safe loader makes of the candidate's file; also saves once without a generator, for stage 2."""
    model, optimizer, scheduler, generator, loader = _build(inputs, inputs["weights"])
    _train_epoch(model, optimizer, scheduler, loader, inputs)
    folder = tempfile.mkdtemp(prefix="format-")
    path = os.path.join(folder, "with_generator.pt")
    solution.save_checkpoint(path, model, optimizer, scheduler, inputs["saved_epoch"], generator=generator)
    plain = os.path.join(folder, "without_generator.pt")
    solution.save_checkpoint(plain, model, optimizer, scheduler, inputs["saved_epoch"])
    report = _safe_load_report(path)  # after the candidate's last call: nothing of theirs runs while it is built
    report["file"] = _read_file(plain)
    return report


def probe_checkpoint_file__stage2(solution, seed, inputs, carry):
    """In a new process: load the file saved without a generator into fresh objects, without a generator."""
    model, optimizer, scheduler, _, _ = _build(inputs, inputs["weights"])
    path = _place_file(carry["file"], "resubmitted.pt")
    returned = solution.load_checkpoint(path, model, optimizer, scheduler)
    return {"start": returned if type(returned) is int else f"a {type(returned).__name__}"}
