"""Checks for regularized-classifier.

The rows every probe used come from `inputs[...]` and the held-out labels from `answers[...]`
(hidden/inputs.py, trusted side: the labels never entered the sandbox). The candidate's probes
only contribute the probabilities predict_proba returned; every judgement is made here, from
those numbers.

A constant answer (the same probabilities for every row) is well formed and trivially the same
alone as in a batch, but it is no prediction: the checks of the format, of row independence and
of the model keeping its own state earn their points only for probabilities that vary with the
row (`assert_varies`).
"""

import math

import pytest
import torch

from harness.testing import expect

ACCURACY_THRESHOLD = 0.69  # mean over three problems; the reference scores about 0.75, no weight decay about 0.64
SUM_ATOL = 1e-6  # float32 rounding; two sigmoids, one per logit, miss 1 by far more
ROW_ATOL = 1e-5
MIN_SPREAD = 0.01  # P(y=1) must vary by at least this much over the rows predicted


def check_matrix(found, n_rows: int, what: str) -> torch.Tensor:
    """A float tensor of shape (n_rows, 2), returned as float64 (values not judged here)."""
    expect(isinstance(found, torch.Tensor), f"{what} (type)", "a float tensor", found)
    expect(found.dtype in (torch.float32, torch.float64), f"{what} (dtype)", "float32 or float64", found.dtype)
    expect(tuple(found.shape) == (n_rows, 2), f"{what} (shape)", [n_rows, 2], list(found.shape))
    return found.double()


def check_probabilities(found, n_rows: int, what: str) -> torch.Tensor:
    """A float tensor of shape (n_rows, 2), finite, in [0, 1], rows summing to 1; returned as float64."""
    p = check_matrix(found, n_rows, what)
    finite = torch.isfinite(p).all(dim=1)
    expect(bool(finite.all()), f"{what}: rows with only finite values", f"all {n_rows}",
           f"{int((~finite).sum())} rows with NaN or inf, e.g. row {int((~finite).nonzero()[0])}"
           if not finite.all() else n_rows)
    low, high = float(p.min()), float(p.max())
    expect(low >= 0.0 and high <= 1.0, f"{what}: range of the values", "every value in [0, 1]", f"min {low:.6g}, max {high:.6g}")
    sums = p.sum(dim=1)
    worst = int((sums - 1).abs().argmax())
    expect(abs(float(sums[worst]) - 1.0) <= SUM_ATOL, f"{what}: row sums (column k is P(y = k), so P(y=0) + P(y=1) = 1)",
           f"1 within {SUM_ATOL:g} for every row", f"{float(sums[worst]):.9g} in row {worst}")
    return p


def assert_varies(p: torch.Tensor, what: str) -> None:
    """P(y=1) must not be one number for every row: a constant is no prediction (NaN never varies enough)."""
    spread = float(p[:, 1].max() - p[:, 1].min())
    expect(math.isfinite(spread) and spread >= MIN_SPREAD,
           f"{what}: spread of P(y=1) over the rows (a constant answer earns nothing here)",
           f"at least {MIN_SPREAD}", f"{spread:.3g}")


def holdout_probabilities(found, answers) -> list:
    labels = answers["holdout"]["y_test"]
    expect(isinstance(found, dict) and isinstance(found.get("proba"), list) and len(found["proba"]) == len(labels),
           "holdout (probe result)", f"{len(labels)} predict_proba results", found)
    return found["proba"]


def accuracy(proba: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of rows whose larger column is the true label; rows with NaN count as wrong."""
    p = proba.double()
    predicted = (p[:, 1] > p[:, 0]).long()
    correct = (predicted == labels) & torch.isfinite(p).all(dim=1)
    return float(correct.double().mean())


def rows(t: torch.Tensor) -> list:
    return [[round(v, 6) for v in r] for r in t.tolist()]


@pytest.mark.points(2)
def test_predict_proba_returns_probabilities(probes, answers):
    """predict_proba returns a float (n, 2) tensor of probabilities: values in [0, 1], rows summing to 1, varying with the row."""
    labels = answers["holdout"]["y_test"]
    for k, proba in enumerate(holdout_probabilities(probes["holdout"], answers)):
        what = f"predict_proba(model, X_test) on problem {k} ({labels[k].shape[0]} rows)"
        assert_varies(check_probabilities(proba, labels[k].shape[0], what), what)


@pytest.mark.points(2)
def test_single_row_matches_batch(probes, inputs):
    """Predicting one row alone, or two rows, gives the same probabilities as predicting them inside a 64-row batch."""
    found, sent = probes["single_rows"], inputs["single_rows"]
    expect(isinstance(found, dict) and isinstance(found.get("single"), list) and len(found["single"]) == len(sent["single"]),
           "single_rows (probe result)", f"{len(sent['single'])} single-row results", found)
    n_batch = sent["batch"].shape[0]
    batch = check_matrix(found["batch"], n_batch, f"predict_proba(model, X[:{n_batch}])")
    assert_varies(batch, f"predict_proba(model, X[:{n_batch}])")
    for i, row in enumerate(found["single"]):
        p = check_matrix(row, 1, f"predict_proba(model, X[{i}:{i + 1}]) (one row alone)")
        diff = float((p[0] - batch[i]).abs().max())
        expect(math.isfinite(diff) and diff <= ROW_ATOL,
               f"probabilities of row {i} predicted alone vs inside the {n_batch}-row batch (within {ROW_ATOL:g})",
               rows(batch[i:i + 1])[0], rows(p)[0])
    pair = check_matrix(found["pair"], 2, "predict_proba(model, X[:2])")
    diff = float((pair - batch[:2]).abs().max())
    expect(math.isfinite(diff) and diff <= ROW_ATOL,
           f"probabilities of rows 0 and 1 predicted as a pair vs inside the {n_batch}-row batch (within {ROW_ATOL:g})",
           rows(batch[:2]), rows(pair))


@pytest.mark.points(1)
def test_model_keeps_its_own_state(probes, answers):
    """A fitted model predicts the same rows the same way after two more models were fitted (no state outside the model)."""
    found = probes["holdout"]
    first = holdout_probabilities(found, answers)[0]
    n_rows = answers["holdout"]["y_test"][0].shape[0]
    before = check_matrix(first, n_rows, "predict_proba(model_0, X_test_0), first call")
    assert_varies(before, "predict_proba(model_0, X_test_0), first call")
    after = check_matrix(found.get("again"), n_rows,
                         "predict_proba(model_0, X_test_0) again, after fit(...) on two other problems")
    diff = (after - before).abs().max(dim=1).values
    bad = ~(diff <= ROW_ATOL)
    worst = int(diff.nan_to_num(nan=math.inf).argmax())
    expect(not bool(bad.any()),
           f"problem 0's {n_rows} rows predicted again by its own model after two other models were fitted "
           f"(within {ROW_ATOL:g}; {int(bad.sum())} rows differ, e.g. row {worst})",
           rows(before[worst:worst + 1])[0], rows(after[worst:worst + 1])[0])


@pytest.mark.points(5)
def test_holdout_accuracy(probes, answers):
    """Mean held-out accuracy over three fresh problems (300 training rows each) reaches 0.69."""
    labels = answers["holdout"]["y_test"]
    scores = []
    for k, proba in enumerate(holdout_probabilities(probes["holdout"], answers)):
        expect(isinstance(proba, torch.Tensor) and tuple(proba.shape) == (labels[k].shape[0], 2),
               f"predict_proba(model, X_test) on problem {k} (shape)", [labels[k].shape[0], 2],
               list(proba.shape) if isinstance(proba, torch.Tensor) else proba)
        scores.append(accuracy(proba, labels[k]))
    mean = sum(scores) / len(scores)
    expect(math.isfinite(mean) and mean >= ACCURACY_THRESHOLD,
           "mean held-out accuracy (argmax of predict_proba vs the true labels)",
           f">= {ACCURACY_THRESHOLD}", f"{mean:.4f} (per problem: {', '.join(f'{s:.4f}' for s in scores)})")
