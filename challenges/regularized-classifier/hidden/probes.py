"""Probes for regularized-classifier.

The probes draw fresh train and test sets from the probe seed with their own copy of the
public generator (`public/data.py`; the sandbox only holds this file and the submission), call
the candidate's `fit` and `predict_proba`, and report the probabilities. Nothing is judged
here: the checks compare the reported probabilities with the labels taken from the reference
run of the same probe in the trusted process.
"""

import torch
from torch import nn

N_FEATURES = 10
N_INFORMATIVE = 2
LABEL_NOISE = 0.2

N_TRAIN = 300
N_TEST = 2000
N_DATASETS = 3
N_SINGLE = 6


def make_data(seed: int, n: int = 1000):
    """A copy of public/data.py's make_data: keep the two identical."""
    g = torch.Generator().manual_seed(seed)
    direction = torch.randn(N_INFORMATIVE, generator=g)
    direction = 4.0 * direction / direction.norm()
    log_scales = torch.cat([
        torch.empty(N_INFORMATIVE).uniform_(-3.0, -1.0, generator=g),
        torch.empty(N_FEATURES - N_INFORMATIVE).uniform_(1.0, 3.0, generator=g),
    ])
    scales = 10.0 ** log_scales
    offsets = 5.0 * scales * torch.randn(N_FEATURES, generator=g)
    columns = torch.randperm(N_FEATURES, generator=g)
    z = torch.randn(n, N_FEATURES, generator=g, dtype=torch.float64)
    clean = (z[:, :N_INFORMATIVE] @ direction.double() > 0).long()
    flipped = torch.rand(n, generator=g) < LABEL_NOISE
    y = torch.where(flipped, 1 - clean, clean)
    x = offsets.double() + scales.double() * z
    return x[:, columns].float(), y


def _split(seed: int):
    x, y = make_data(seed, N_TRAIN + N_TEST)
    return x[:N_TRAIN].clone(), y[:N_TRAIN].clone(), x[N_TRAIN:].clone(), y[N_TRAIN:].clone()


def _tensor_or_type(value):
    """Tensors go back as they are (the wire takes float32/float64); anything else is described."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        if value.dtype in (torch.float32, torch.float64):
            return value.clone()
        return value.double() if value.is_floating_point() else f"<tensor of dtype {value.dtype}>"
    return f"<{type(value).__name__}>"


def probe_holdout(solution, seed):
    """Three fresh problems: fit on 300 rows, predict_proba on 2000 held-out rows of each."""
    out = {"seeds": [], "y_test": [], "proba": []}
    for k in range(N_DATASETS):
        data_seed = (seed * 7 + k * 7919) % (2**31)
        x_train, y_train, x_test, y_test = _split(data_seed)
        model = solution.fit(x_train, y_train, data_seed % 10007)
        out["seeds"].append(data_seed)
        out["y_test"].append(y_test)
        out["proba"].append(_tensor_or_type(solution.predict_proba(model, x_test.clone())))
    return out


def probe_single_rows(solution, seed):
    """One fitted model: a 64-row batch, each of its first rows alone, and its first two rows as a pair."""
    data_seed = (seed * 13 + 1) % (2**31)
    x_train, y_train, x_test, _ = _split(data_seed)
    model = solution.fit(x_train, y_train, data_seed % 10007)
    batch = x_test[:64].clone()
    return {
        "is_module": isinstance(model, nn.Module),
        "batch": _tensor_or_type(solution.predict_proba(model, batch.clone())),
        "single": [_tensor_or_type(solution.predict_proba(model, batch[i:i + 1].clone())) for i in range(N_SINGLE)],
        "pair": _tensor_or_type(solution.predict_proba(model, batch[:2].clone())),
    }
