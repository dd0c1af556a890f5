"""Probes for reduce-on-plateau: run the candidate's fit() on a task drawn on the trusted side, report what it returned.

The task (data, batch sizes, epochs, lr, the model's initial state) is `inputs`; the probe only
builds the model and the loaders from it, calls fit(), and reports the returned history as plain
data together with the model's state_dict() afterwards. Nothing is judged here: the checks replay
the training on the trusted side.
"""

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

MAX_ITEMS = 1000


def _type_names(value):
    return [c.__module__ + "." + c.__qualname__ for c in type(value).__mro__]


def _plain(value, depth=0):
    """The returned history as plain data; a value of any other type is reported by its type's names."""
    kind = type(value)
    if value is None or kind is bool or kind is int or kind is float or kind is str:
        return value
    if depth < 4 and (kind is list or kind is tuple):
        return [_plain(item, depth + 1) for item in list(value)[:MAX_ITEMS]]
    if depth < 4 and kind is dict:
        return {key: _plain(item, depth + 1) for key, item in list(dict.items(value))[:MAX_ITEMS]
                if type(key) is str and not key.startswith("__")}
    return {"unsupported type": _type_names(value)}


def _run(solution, inputs):
    initial = inputs["initial_state"]
    model = nn.Sequential(nn.Linear(initial["0.weight"].shape[1], initial["0.weight"].shape[0]),
                          nn.BatchNorm1d(initial["0.weight"].shape[0]), nn.Tanh(), nn.Linear(initial["0.weight"].shape[0], 1))
    model.load_state_dict(initial)
    x_val, y_val, val_batch = inputs["x_val"], inputs["y_val"], inputs["val_batch"]
    train_loader = DataLoader(TensorDataset(inputs["x_train"], inputs["y_train"]), batch_size=inputs["train_batch"],
                              shuffle=False)
    val_loader = [(x_val[i:i + val_batch].clone(), y_val[i:i + val_batch].clone())
                  for i in range(0, x_val.shape[0], val_batch)]

    history = solution.fit(model, train_loader, val_loader, inputs["epochs"], inputs["lr"])

    state = nn.Module.state_dict(model)  # torch's own method, whatever the instance says
    return {"history": _plain(history),
            "final_state": {name: torch.Tensor.detach(value).clone() for name, value in state.items()}}


def probe_steady(solution, seed, inputs):
    """Validation data from the training distribution: the validation loss improves, then flattens out."""
    return _run(solution, inputs)


def probe_plateau(solution, seed, inputs):
    """Validation targets only partly follow the training signal: validation stalls, then rises; the lr must drop."""
    return _run(solution, inputs)
