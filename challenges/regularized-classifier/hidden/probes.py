"""Probes for regularized-classifier: call the candidate's fit and predict_proba on rows drawn on the trusted side.

Every row, label and seed comes in through `inputs` (hidden/inputs.py); the held-out labels never
enter the sandbox, and nothing here draws, computes or judges anything: each probe only reports
what predict_proba returned. Every tensor handed to the candidate is a fresh copy, so an in-place
change to one call's input cannot leak into another call.
"""

import torch


def _wire(value):
    """A plain float tensor goes back as it is (other float dtypes as float64); anything else is described."""
    if type(value) is torch.Tensor:
        value = value.detach()
        if value.dtype in (torch.float32, torch.float64):
            return value.clone()
        return value.double() if value.is_floating_point() else f"<tensor of dtype {value.dtype}>"
    return f"<{type(value).__name__}>"


def probe_holdout(solution, seed, inputs):
    """Three problems: fit on 300 rows, predict_proba on 2000 held-out rows of each; then problem 0's rows again."""
    models, proba = [], []
    for problem in inputs["problems"]:
        model = solution.fit(problem["x_train"].clone(), problem["y_train"].clone(), problem["fit_seed"])
        models.append(model)
        proba.append(_wire(solution.predict_proba(model, problem["x_test"].clone())))
    # The first model once more, after two other models were fitted: the same rows must get the same numbers.
    again = _wire(solution.predict_proba(models[0], inputs["problems"][0]["x_test"].clone()))
    return {"proba": proba, "again": again}


def probe_single_rows(solution, seed, inputs):
    """One fitted model: a 64-row batch, each of its first rows alone, and its first two rows as a pair."""
    model = solution.fit(inputs["x_train"].clone(), inputs["y_train"].clone(), inputs["fit_seed"])
    return {
        "batch": _wire(solution.predict_proba(model, inputs["batch"].clone())),
        "single": [_wire(solution.predict_proba(model, row.clone())) for row in inputs["single"]],
        "pair": _wire(solution.predict_proba(model, inputs["pair"].clone())),
    }
