"""Examples for regularized-classifier: run `pytest` in a folder holding these tests, data.py and your solution.py.

The grader runs the same kinds of checks on problems drawn from seeds of its own.
"""

import torch
from torch import nn

from data import make_data
from solution import fit, predict_proba

N_TRAIN = 300


def split(seed):
    X, y = make_data(seed, N_TRAIN + 2000)
    return X[:N_TRAIN], y[:N_TRAIN], X[N_TRAIN:], y[N_TRAIN:]


def test_probabilities_have_the_right_shape_and_sum_to_one():
    X_train, y_train, X_test, _ = split(3)
    model = fit(X_train, y_train, seed=0)
    assert isinstance(model, nn.Module)
    proba = predict_proba(model, X_test)
    assert proba.shape == (X_test.shape[0], 2)
    assert torch.isfinite(proba).all()
    assert proba.min() >= 0 and proba.max() <= 1
    assert torch.allclose(proba.sum(dim=1).double(), torch.ones(X_test.shape[0], dtype=torch.float64), rtol=0, atol=1e-6)
    assert proba[:, 1].max() - proba[:, 1].min() >= 0.01, "the same probabilities for every row are no prediction"


def test_one_row_alone_matches_the_batch():
    X_train, y_train, X_test, _ = split(4)
    model = fit(X_train, y_train, seed=0)
    batch = predict_proba(model, X_test[:64])
    for i in range(5):
        alone = predict_proba(model, X_test[i:i + 1])
        assert torch.allclose(alone, batch[i:i + 1], atol=1e-5), f"row {i}: alone {alone}, in the batch {batch[i]}"


def test_model_keeps_its_own_state():
    X_train, y_train, X_test, _ = split(5)
    model = fit(X_train, y_train, seed=0)
    before = predict_proba(model, X_test)
    for seed in (6, 7):  # two more models, on other problems
        other_train, other_y, _, _ = split(seed)
        fit(other_train, other_y, seed=1)
    after = predict_proba(model, X_test)
    assert torch.allclose(after, before, rtol=0, atol=1e-5), "the first model's predictions changed after fitting others"


def test_mean_holdout_accuracy():
    scores = []
    for seed in (10, 11, 12):
        X_train, y_train, X_test, y_test = split(seed)
        proba = predict_proba(fit(X_train, y_train, seed=seed), X_test)
        scores.append((proba.argmax(dim=1) == y_test).double().mean().item())
    mean = sum(scores) / len(scores)
    assert mean >= 0.69, f"mean held-out accuracy {mean:.4f} (per problem {scores}), needs 0.69"
