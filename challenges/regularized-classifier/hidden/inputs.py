"""Trusted side only: the problems every probe trains and predicts on, and their held-out labels.

Each problem is drawn with the public generator (`public/data.py`, loaded from this challenge's
folder) from a 63-bit problem seed derived here from the probe's input seed; the sandbox never
learns either seed, so it cannot redraw a problem. The training rows, their labels and the
held-out rows go in (`inputs_<name>`); the held-out labels never do (`answers_<name>`).
"""

import hashlib
import importlib.util
from pathlib import Path

N_TRAIN = 300
N_TEST = 2000
N_DATASETS = 3  # problems in the holdout probe
N_BATCH = 64  # rows predicted as one batch in the single_rows probe
N_SINGLE = 6  # of which the first N_SINGLE are also predicted alone

_DATA = Path(__file__).resolve().parents[1] / "public" / "data.py"
_generator = None


def _make_data():
    global _generator
    if _generator is None:
        spec = importlib.util.spec_from_file_location("_harness_regularized_classifier_data", _DATA)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _generator = module.make_data
    return _generator


def _derive(seed: int, what: str, bits: int) -> int:
    digest = hashlib.sha256(f"regularized-classifier:{seed}:{what}".encode()).digest()
    return int.from_bytes(digest[:8], "big") & ((1 << bits) - 1)


def _problem(seed: int, k: int) -> dict:
    """Problem k of a probe: 300 training rows and 2000 held-out rows, and the seed passed to fit."""
    x, y = _make_data()(_derive(seed, f"problem {k}", 63), N_TRAIN + N_TEST)
    return {
        "x_train": x[:N_TRAIN].clone(), "y_train": y[:N_TRAIN].clone(),
        "x_test": x[N_TRAIN:].clone(), "y_test": y[N_TRAIN:].clone(),
        "fit_seed": _derive(seed, f"fit {k}", 31),  # independent of the problem seed: it gives nothing away
    }


def inputs_holdout(seed: int) -> dict:
    problems = [_problem(seed, k) for k in range(N_DATASETS)]
    return {"problems": [{key: p[key] for key in ("x_train", "y_train", "x_test", "fit_seed")} for p in problems]}


def answers_holdout(seed: int) -> dict:
    return {"y_test": [_problem(seed, k)["y_test"] for k in range(N_DATASETS)]}


def inputs_single_rows(seed: int) -> dict:
    p = _problem(seed, 0)
    batch = p["x_test"][:N_BATCH].clone()
    return {
        "x_train": p["x_train"], "y_train": p["y_train"], "fit_seed": p["fit_seed"],
        "batch": batch,
        "single": [batch[i:i + 1].clone() for i in range(N_SINGLE)],
        "pair": batch[:2].clone(),
    }
