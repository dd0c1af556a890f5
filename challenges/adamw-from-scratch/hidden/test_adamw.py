"""Checks for adamw-from-scratch.

The truth is torch.optim.AdamW itself (amsgrad and maximize off, the single-tensor path), run here
in the trusted process on `inputs[...]`, drawn on the trusted side by hidden/inputs.py; nothing the
candidate's probes say about their inputs is used. Two checks also state the expected values in
closed form (one step from fresh state; zero gradients).

The rule "no torch Adam/AdamW in solution.py" is declared in challenge.toml: the harness enforces it
at run time in the sandbox and in the source text, and while it is broken every check here fails.
"""

import pytest
import torch

from harness.testing import assert_float_close, assert_tensor_close, expect

RTOL = 1e-6
ATOL = 1e-9


# ---------------------------------------------------------------- trusted replay with torch.optim.AdamW


def _options(options: dict) -> dict:
    out = dict(options)
    if "betas" in out:
        out["betas"] = tuple(out["betas"])
    return out


def _torch_optimizer(inputs: dict, params: list) -> torch.optim.AdamW:
    kwargs = _options(inputs["kwargs"])
    if inputs["groups"] is None:
        return torch.optim.AdamW(params, **kwargs, foreach=False)
    groups = [{"params": [params[i] for i in g["params"]], **_options(g["options"])} for g in inputs["groups"]]
    return torch.optim.AdamW(groups, **kwargs, foreach=False)


def torch_trajectory(inputs: dict) -> tuple[list, torch.optim.AdamW, list]:
    """Parameters after every step of torch.optim.AdamW on the probe's inputs (and the optimizer, params)."""
    params = [torch.nn.Parameter(t.clone()) for t in inputs["initial"]]
    optimizer = _torch_optimizer(inputs, params)
    trajectory = []
    for row in inputs["grads"]:
        for p, g in zip(params, row):
            p.grad = None if g is None else g.clone()
        optimizer.step()
        trajectory.append([p.detach().clone() for p in params])
    return trajectory, optimizer, params


def _group_of(inputs: dict) -> dict:
    if inputs["groups"] is None:
        return {}
    return {i: index for index, g in enumerate(inputs["groups"]) for i in g["params"]}


def _describe_setting(inputs: dict, index: int) -> str:
    groups = _group_of(inputs)
    if index not in groups:
        return "defaults"
    group = inputs["groups"][groups[index]]
    settings = {**inputs["kwargs"], **group["options"]}
    return f"group {groups[index]}: {settings}" if settings else f"group {groups[index]}: defaults"


def compare_trajectory(found, expected: list, inputs: dict, what: str, first_step: int = 1) -> None:
    """Step by step and parameter by parameter; the first difference fails, naming step, parameter and group."""
    expect(type(found) is list, f"{what} (type)", "a list of per-step parameter lists", type(found).__name__)
    expect(len(found) == len(expected), f"{what} (number of steps)", len(expected), len(found))
    for offset, (row, want_row) in enumerate(zip(found, expected)):
        step = first_step + offset
        expect(type(row) is list and len(row) == len(want_row), f"{what}: parameters after step {step}",
               f"{len(want_row)} tensors", row)
        for index, (got, want) in enumerate(zip(row, want_row)):
            assert_tensor_close(got, want, f"{what}: parameter {index} ({_describe_setting(inputs, index)}) after step {step}",
                                rtol=RTOL, atol=ATOL)


def _trajectory_of(found, what: str):
    expect(type(found) is dict and "trajectory" in found, f"{what} (probe result)", "a dict with 'trajectory'", found)
    return found["trajectory"]


def _check_probe_against_torch(probes, inputs, name: str, what: str) -> None:
    expected, _, _ = torch_trajectory(inputs[name])
    compare_trajectory(_trajectory_of(probes[name], what), expected, inputs[name], what)


# ---------------------------------------------------------------- behaviour


@pytest.mark.points(2)
def test_defaults_match_torch(probes, inputs):
    """AdamW(params) with default lr, betas, eps and weight_decay matches torch.optim.AdamW over 20 steps."""
    _check_probe_against_torch(probes, inputs, "defaults", "AdamW(params) with default hyperparameters")


@pytest.mark.points(3)
def test_param_groups_match_torch(probes, inputs):
    """Three param groups, each with its own lr / betas / eps / weight_decay, match torch.optim.AdamW over 20 steps."""
    _check_probe_against_torch(probes, inputs, "groups", "three param groups")


@pytest.mark.points(2)
def test_first_step_closed_form(probes, inputs):
    """One step from fresh state gives p * (1 - lr*wd) - lr * g / (|g| + eps) for each group's hyperparameters."""
    trusted = inputs["first_step"]
    rows = _trajectory_of(probes["first_step"], "first step")
    expect(type(rows) is list and len(rows) == 1, "first step: number of steps reported", 1,
           len(rows) if type(rows) is list else rows)
    groups = _group_of(trusted)
    expected = []
    for index, (p0, g) in enumerate(zip(trusted["initial"], trusted["grads"][0])):
        options = trusted["groups"][groups[index]]["options"]
        lr, wd, eps = options["lr"], options["weight_decay"], options["eps"]
        expected.append(p0 * (1 - lr * wd) - lr * g / (g.abs() + eps))
    compare_trajectory(rows, [expected], trusted, "one AdamW step from fresh state (closed form)")
    # torch agrees with the closed form; this guards the formula above.
    truth, _, _ = torch_trajectory(trusted)
    for index, (a, b) in enumerate(zip(truth[0], expected)):
        assert_tensor_close(a, b, f"(grader self-check) torch vs closed form, parameter {index}", rtol=RTOL, atol=ATOL)


@pytest.mark.points(2)
def test_zero_grads_only_decay(probes, inputs):
    """With zero gradients each step multiplies the weights by exactly (1 - lr*weight_decay) of their group."""
    trusted = inputs["zero_grads"]
    rows = _trajectory_of(probes["zero_grads"], "zero gradients")
    groups = _group_of(trusted)
    expected, current = [], list(trusted["initial"])
    for _ in trusted["grads"]:
        factors = [1 - trusted["groups"][groups[i]]["options"]["lr"] * trusted["groups"][groups[i]]["options"]["weight_decay"]
                   for i in range(len(current))]
        current = [p * f for p, f in zip(current, factors)]
        expected.append(current)
    compare_trajectory(rows, expected, trusted, "zero gradients: p <- p * (1 - lr * weight_decay) each step")


@pytest.mark.points(2)
def test_missing_grads_are_skipped(probes, inputs):
    """Parameters whose grad is None are left untouched (no decay, no step counted), as torch.optim.AdamW does."""
    trusted = inputs["missing_grads"]
    rows = _trajectory_of(probes["missing_grads"], "missing grads")
    # The parameter that never gets a grad must stay bit-for-bit as it was.
    never = 3
    if type(rows) is list:
        for step, row in enumerate(rows, start=1):
            if type(row) is list and len(row) > never and type(row[never]) is torch.Tensor \
                    and row[never].shape == trusted["initial"][never].shape:
                expect(torch.equal(row[never], trusted["initial"][never]),
                       f"parameter {never}, whose grad is always None, after step {step}",
                       "unchanged values " + str(trusted["initial"][never].flatten()[:4].tolist()),
                       row[never].flatten()[:4].tolist())
    expected, _, _ = torch_trajectory(trusted)
    compare_trajectory(rows, expected, trusted, "grads None on some steps (param 0: first grad late, param 1: some "
                                                "steps missed, param 3: never)")


@pytest.mark.points(1)
def test_state_matches_torch(probes, inputs):
    """optimizer.state[p] holds 'step', 'exp_avg' and 'exp_avg_sq' equal to torch.optim.AdamW's."""
    trusted = inputs["state"]
    found = probes["state"]
    expect(type(found) is dict and type(found.get("states")) is list, "optimizer.state after the run",
           "a dict keyed by parameter (the base class's self.state)",
           f"an optimizer.state of type {found.get('store_type')}" if type(found) is dict else found)
    _, optimizer, params = torch_trajectory(trusted)
    states = found["states"]
    expect(len(states) == len(params), "state: number of parameters reported", len(params), len(states))
    for index, p in enumerate(params):
        want = optimizer.state.get(p)
        got = states[index]
        if not want:
            continue  # torch keeps no state for a parameter that never had a grad; anything harmless is fine
        what = f"optimizer.state[p] for parameter {index} ({_describe_setting(trusted, index)})"
        expect(type(got) is dict, what, "a dict with 'step', 'exp_avg', 'exp_avg_sq'", got)
        missing = [k for k in ("step", "exp_avg", "exp_avg_sq") if k not in got["keys"]]
        expect(not missing, f"{what}: keys", ["step", "exp_avg", "exp_avg_sq"], got["keys"])
        assert_float_close(got["step"], float(want["step"]), f"{what}['step'] (steps this parameter had a grad)")
        assert_tensor_close(got["exp_avg"], want["exp_avg"], f"{what}['exp_avg']", rtol=RTOL, atol=ATOL)
        assert_tensor_close(got["exp_avg_sq"], want["exp_avg_sq"], f"{what}['exp_avg_sq']", rtol=RTOL, atol=ATOL)


def _resume_check(probes, inputs, variant: str, what: str) -> None:
    trusted = inputs["resume"]
    save_at = trusted["save_at"]
    found = probes["resume"]  # [stage 1 (before the checkpoint), stage 2 (a fresh process, after it)]
    expect(type(found) is list and len(found) == 2 and type(found[0]) is dict and type(found[1]) is dict
           and "before" in found[0] and variant in found[1], f"{what} (probe result)",
           f"stage 1 with 'before', stage 2 with '{variant}'", found)
    expected, _, _ = torch_trajectory(trusted)
    compare_trajectory(found[0]["before"], expected[:save_at], trusted, f"{what}: steps before state_dict()")
    compare_trajectory(found[1][variant], expected[save_at:], trusted,
                       f"{what}: after state_dict() at step {save_at}, saved with torch.save and loaded with "
                       "load_state_dict() into a fresh optimizer in a fresh process", first_step=save_at + 1)


@pytest.mark.points(2)
def test_state_dict_round_trip(probes, inputs):
    """state_dict() mid-run, load_state_dict() in a fresh process into a fresh optimizer over fresh params: the run continues unchanged."""
    _resume_check(probes, inputs, "same_construction", "resumed run")


@pytest.mark.points(1)
def test_load_state_dict_restores_hyperparameters(probes, inputs):
    """A fresh optimizer built with default hyperparameters takes each group's lr/betas/eps/wd from the loaded state_dict."""
    _resume_check(probes, inputs, "default_construction", "resumed run (fresh optimizer built with defaults)")


@pytest.mark.points(1)
def test_step_with_closure(probes, inputs):
    """step(closure) evaluates the closure with grad enabled, steps on its gradients and returns its loss."""
    trusted = inputs["closure"]
    found = probes["closure"]
    expect(type(found) is dict and "losses" in found and "trajectory" in found, "closure (probe result)",
           "a dict with 'losses' and 'trajectory'", found)
    x, y = trusted["x"], trusted["y"]
    params = [torch.nn.Parameter(t.clone()) for t in trusted["initial"]]
    optimizer = torch.optim.AdamW(params, **trusted["kwargs"], foreach=False)
    w, b = params

    def closure():
        optimizer.zero_grad()
        loss = ((x @ w + b - y) ** 2).mean()
        loss.backward()
        return loss

    losses, trajectory = [], []
    for _ in range(trusted["steps"]):
        losses.append(float(optimizer.step(closure).detach()))
        trajectory.append([p.detach().clone() for p in params])
    got_losses = found["losses"]
    expect(type(got_losses) is list and len(got_losses) == len(losses), "values returned by step(closure) (count)",
           len(losses), got_losses)
    for step, (got, want) in enumerate(zip(got_losses, losses), start=1):
        assert_float_close(got, want, f"value returned by step(closure) at step {step} (the closure's loss)", rtol=RTOL, atol=ATOL)
    fake_inputs = {"groups": None, "kwargs": trusted["kwargs"]}
    compare_trajectory(found["trajectory"], trajectory, fake_inputs, "parameters after step(closure)")


# ---------------------------------------------------------------- what the class is


@pytest.mark.points(2)
def test_derives_from_torch_optimizer(probes):
    """AdamW is a torch.optim.Optimizer subclass: torch's Optimizer class itself is in type(AdamW(...)).__mro__."""
    info = probes["class_info"]
    expect(type(info) is dict and type(info.get("mro")) is list, "class information (probe result)",
           "a dict with 'mro'", info)
    expect(info.get("optimizer_in_mro") is True,
           "torch.optim.Optimizer among the classes of type(AdamW(...)).__mro__ (isinstance is not asked: it can be faked)",
           "torch.optim.optimizer.Optimizer", info["mro"])
