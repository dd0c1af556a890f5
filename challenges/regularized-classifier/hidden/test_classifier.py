"""Checks for regularized-classifier.

The test labels come from `reference[...]`: the same probe run on the reference solution in the
trusted process with the same seed, which draws the very same data. The candidate's probe only
contributes the probabilities its predict_proba returned; accuracy is computed here.
"""

import math

import pytest
import torch

from harness.testing import assert_equal, expect

ACCURACY_THRESHOLD = 0.69  # mean over three problems; the reference scores about 0.75, no weight decay about 0.64
SUM_ATOL = 1e-4
ROW_ATOL = 1e-5


def check_probabilities(found, n_rows: int, what: str) -> torch.Tensor:
    """A float tensor of shape (n_rows, 2), finite, in [0, 1], rows summing to 1; returned as float64."""
    expect(isinstance(found, torch.Tensor), f"{what} (type)", "a float tensor", found)
    expect(found.dtype in (torch.float32, torch.float64), f"{what} (dtype)", "float32 or float64", found.dtype)
    expect(tuple(found.shape) == (n_rows, 2), f"{what} (shape)", [n_rows, 2], list(found.shape))
    p = found.double()
    finite = torch.isfinite(p).all(dim=1)
    expect(bool(finite.all()), f"{what}: rows with only finite values", f"all {n_rows}",
           f"{int((~finite).sum())} rows with NaN or inf, e.g. row {int((~finite).nonzero()[0])}"
           if not finite.all() else n_rows)
    low, high = float(p.min()), float(p.max())
    expect(low >= 0.0 and high <= 1.0, f"{what}: range of the values", "every value in [0, 1]", f"min {low:.6g}, max {high:.6g}")
    sums = p.sum(dim=1)
    worst = int((sums - 1).abs().argmax())
    expect(abs(float(sums[worst]) - 1.0) <= SUM_ATOL, f"{what}: row sums", "1 for every row",
           f"{float(sums[worst]):.6g} in row {worst}")
    return p


def check_matrix(found, n_rows: int, what: str) -> torch.Tensor:
    """A float tensor of shape (n_rows, 2), returned as float64 (values not judged here)."""
    expect(isinstance(found, torch.Tensor), f"{what} (type)", "a float tensor", found)
    expect(found.dtype in (torch.float32, torch.float64), f"{what} (dtype)", "float32 or float64", found.dtype)
    expect(tuple(found.shape) == (n_rows, 2), f"{what} (shape)", [n_rows, 2], list(found.shape))
    return found.double()


def accuracy(proba: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of rows whose larger column is the true label; rows with NaN count as wrong."""
    p = proba.double()
    predicted = (p[:, 1] > p[:, 0]).long()
    correct = (predicted == labels) & torch.isfinite(p).all(dim=1)
    return float(correct.double().mean())


@pytest.mark.points(2)
def test_predict_proba_returns_probabilities(probes, reference):
    """predict_proba returns a float tensor of shape (n, 2) with values in [0, 1] and rows that sum to 1."""
    found, trusted = probes["holdout"], reference["holdout"]
    expect(isinstance(found, dict) and isinstance(found.get("proba"), list) and len(found["proba"]) == len(trusted["y_test"]),
           "holdout (probe result)", f"{len(trusted['y_test'])} predict_proba results", found)
    for k, (proba, labels) in enumerate(zip(found["proba"], trusted["y_test"])):
        check_probabilities(proba, labels.shape[0], f"predict_proba(model, X_test) on problem {k} ({labels.shape[0]} rows)")


@pytest.mark.points(3)
def test_single_row_matches_batch(probes):
    """Predicting one row alone, or two rows, gives the same probabilities as predicting them inside a larger batch."""
    found = probes["single_rows"]
    expect(isinstance(found, dict) and isinstance(found.get("single"), list), "single_rows (probe result)", "a dict", found)
    assert_equal(found.get("is_module"), True, "fit(...) returns an nn.Module")
    batch = check_matrix(found["batch"], 64, "predict_proba(model, X[:64])")
    for i, row in enumerate(found["single"]):
        p = check_matrix(row, 1, f"predict_proba(model, X[{i}:{i + 1}]) (one row alone)")
        diff = float((p[0] - batch[i]).abs().max())
        expect(math.isfinite(diff) and diff <= ROW_ATOL, f"probabilities of row {i} predicted alone vs inside the 64-row batch",
               [round(v, 6) for v in batch[i].tolist()], [round(v, 6) for v in p[0].tolist()])
    pair = check_matrix(found["pair"], 2, "predict_proba(model, X[:2])")
    diff = float((pair - batch[:2]).abs().max())
    expect(math.isfinite(diff) and diff <= ROW_ATOL, "probabilities of rows 0 and 1 predicted as a pair vs inside the 64-row batch",
           [[round(v, 6) for v in r] for r in batch[:2].tolist()], [[round(v, 6) for v in r] for r in pair.tolist()])


@pytest.mark.points(5)
def test_holdout_accuracy(probes, reference):
    """Mean held-out accuracy over three fresh problems (300 training rows each) reaches 0.69."""
    found, trusted = probes["holdout"], reference["holdout"]
    expect(isinstance(found, dict) and isinstance(found.get("proba"), list) and len(found["proba"]) == len(trusted["y_test"]),
           "holdout (probe result)", f"{len(trusted['y_test'])} predict_proba results", found)
    scores = []
    for k, (proba, labels) in enumerate(zip(found["proba"], trusted["y_test"])):
        expect(isinstance(proba, torch.Tensor) and tuple(proba.shape) == (labels.shape[0], 2),
               f"predict_proba(model, X_test) on problem {k} (shape)", [labels.shape[0], 2],
               list(proba.shape) if isinstance(proba, torch.Tensor) else proba)
        scores.append(accuracy(proba, labels))
    mean = sum(scores) / len(scores)
    expect(math.isfinite(mean) and mean >= ACCURACY_THRESHOLD,
           "mean held-out accuracy (argmax of predict_proba vs the true labels)",
           f">= {ACCURACY_THRESHOLD}", f"{mean:.4f} (per problem: {', '.join(f'{s:.4f}' for s in scores)})")
