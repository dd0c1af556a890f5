"""Checks for adamw-from-scratch.

The truth is torch.optim.AdamW itself (amsgrad and maximize off, the single-tensor path), run here
in the trusted process on the inputs that the reference run of each probe reports: the same seed
gives the same inputs, so the candidate's own report of its inputs is never used. Two checks also
state the expected values in closed form (one step from fresh state; zero gradients).

The rule against using torch's own Adam/AdamW is checked by parsing the submission's source text
with `ast` (it is never run), plus the class's MRO as reported by a probe.
"""

import ast
import re

import pytest
import torch

from harness.testing import CheckFailure, assert_float_close, assert_tensor_close, expect

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
    expect(isinstance(found, list), f"{what} (type)", "a list of per-step parameter lists", type(found).__name__)
    expect(len(found) == len(expected), f"{what} (number of steps)", len(expected), len(found))
    for offset, (row, want_row) in enumerate(zip(found, expected)):
        step = first_step + offset
        expect(isinstance(row, list) and len(row) == len(want_row), f"{what}: parameters after step {step}",
               f"{len(want_row)} tensors", row)
        for index, (got, want) in enumerate(zip(row, want_row)):
            assert_tensor_close(got, want, f"{what}: parameter {index} ({_describe_setting(inputs, index)}) after step {step}",
                                rtol=RTOL, atol=ATOL)


def _check_probe_against_torch(probes, reference, name: str, what: str) -> None:
    inputs = reference[name]["inputs"]
    expected, _, _ = torch_trajectory(inputs)
    found = probes[name]
    expect(isinstance(found, dict) and "trajectory" in found, f"{what} (probe result)", "a dict with 'trajectory'", found)
    compare_trajectory(found["trajectory"], expected, inputs, what)


# ---------------------------------------------------------------- behaviour


@pytest.mark.points(2)
def test_defaults_match_torch(probes, reference):
    """AdamW(params) with default lr, betas, eps and weight_decay matches torch.optim.AdamW over 20 steps."""
    _check_probe_against_torch(probes, reference, "defaults", "AdamW(params) with default hyperparameters")


@pytest.mark.points(3)
def test_param_groups_match_torch(probes, reference):
    """Three param groups, each with its own lr / betas / eps / weight_decay, match torch.optim.AdamW over 20 steps."""
    _check_probe_against_torch(probes, reference, "groups", "three param groups")


@pytest.mark.points(2)
def test_first_step_closed_form(probes, reference):
    """One step from fresh state gives p * (1 - lr*wd) - lr * g / (|g| + eps) for each group's hyperparameters."""
    inputs = reference["first_step"]["inputs"]
    found = probes["first_step"]
    expect(isinstance(found, dict) and "trajectory" in found, "first step (probe result)", "a dict with 'trajectory'", found)
    rows = found["trajectory"]
    expect(isinstance(rows, list) and len(rows) == 1, "first step: number of steps reported", 1,
           len(rows) if isinstance(rows, list) else rows)
    groups = _group_of(inputs)
    expected = []
    for index, (p0, g) in enumerate(zip(inputs["initial"], inputs["grads"][0])):
        options = inputs["groups"][groups[index]]["options"]
        lr, wd, eps = options["lr"], options["weight_decay"], options["eps"]
        expected.append(p0 * (1 - lr * wd) - lr * g / (g.abs() + eps))
    compare_trajectory(rows, [expected], inputs, "one AdamW step from fresh state (closed form)")
    # torch agrees with the closed form; this guards the formula above.
    truth, _, _ = torch_trajectory(inputs)
    for index, (a, b) in enumerate(zip(truth[0], expected)):
        assert_tensor_close(a, b, f"(grader self-check) torch vs closed form, parameter {index}", rtol=RTOL, atol=ATOL)


@pytest.mark.points(2)
def test_zero_grads_only_decay(probes, reference):
    """With zero gradients each step multiplies the weights by exactly (1 - lr*weight_decay) of their group."""
    inputs = reference["zero_grads"]["inputs"]
    found = probes["zero_grads"]
    expect(isinstance(found, dict) and "trajectory" in found, "zero gradients (probe result)", "a dict with 'trajectory'", found)
    groups = _group_of(inputs)
    expected, current = [], list(inputs["initial"])
    for _ in inputs["grads"]:
        factors = [1 - inputs["groups"][groups[i]]["options"]["lr"] * inputs["groups"][groups[i]]["options"]["weight_decay"]
                   for i in range(len(current))]
        current = [p * f for p, f in zip(current, factors)]
        expected.append(current)
    compare_trajectory(found["trajectory"], expected, inputs, "zero gradients: p <- p * (1 - lr * weight_decay) each step")


@pytest.mark.points(2)
def test_missing_grads_are_skipped(probes, reference):
    """Parameters whose grad is None are left untouched (no decay, no step counted), as torch.optim.AdamW does."""
    inputs = reference["missing_grads"]["inputs"]
    found = probes["missing_grads"]
    expect(isinstance(found, dict) and "trajectory" in found, "missing grads (probe result)", "a dict with 'trajectory'", found)
    rows = found["trajectory"]
    # The parameter that never gets a grad must stay bit-for-bit as it was.
    never = 3
    if isinstance(rows, list):
        for step, row in enumerate(rows, start=1):
            if isinstance(row, list) and len(row) > never and isinstance(row[never], torch.Tensor) \
                    and row[never].shape == inputs["initial"][never].shape:
                expect(torch.equal(row[never], inputs["initial"][never]),
                       f"parameter {never}, whose grad is always None, after step {step}",
                       "unchanged values " + str(inputs["initial"][never].flatten()[:4].tolist()),
                       row[never].flatten()[:4].tolist())
    expected, _, _ = torch_trajectory(inputs)
    compare_trajectory(rows, expected, inputs, "grads None on some steps (param 0: first grad late, param 1: some "
                                               "steps missed, param 3: never)")


@pytest.mark.points(1)
def test_state_matches_torch(probes, reference):
    """optimizer.state[p] holds 'step', 'exp_avg' and 'exp_avg_sq' equal to torch.optim.AdamW's."""
    inputs = reference["state"]["inputs"]
    found = probes["state"]
    expect(isinstance(found, dict) and isinstance(found.get("states"), list), "state (probe result)",
           "a list of per-parameter states", found)
    _, optimizer, params = torch_trajectory(inputs)
    states = found["states"]
    expect(len(states) == len(params), "state: number of parameters reported", len(params), len(states))
    for index, p in enumerate(params):
        want = optimizer.state.get(p)
        got = states[index]
        if not want:
            continue  # torch keeps no state for a parameter that never had a grad; anything harmless is fine
        what = f"optimizer.state[p] for parameter {index} ({_describe_setting(inputs, index)})"
        expect(isinstance(got, dict), what, "a dict with 'step', 'exp_avg', 'exp_avg_sq'",
               f"no state (optimizer.state is a {found.get('store_type')})" if got is None else got)
        missing = [k for k in ("step", "exp_avg", "exp_avg_sq") if k not in got["keys"]]
        expect(not missing, f"{what}: keys", ["step", "exp_avg", "exp_avg_sq"], got["keys"])
        assert_float_close(got["step"], float(want["step"]), f"{what}['step'] (steps this parameter had a grad)")
        assert_tensor_close(got["exp_avg"], want["exp_avg"], f"{what}['exp_avg']", rtol=RTOL, atol=ATOL)
        assert_tensor_close(got["exp_avg_sq"], want["exp_avg_sq"], f"{what}['exp_avg_sq']", rtol=RTOL, atol=ATOL)


def _resume_check(probes, reference, variant: str, what: str) -> None:
    trusted = reference["resume"]
    inputs, save_at = trusted["inputs"], trusted["save_at"]
    found = probes["resume"]
    expect(isinstance(found, dict) and variant in found and "before" in found, f"{what} (probe result)",
           f"a dict with 'before' and '{variant}'", found)
    expected, _, _ = torch_trajectory(inputs)
    compare_trajectory(found["before"], expected[:save_at], inputs, f"{what}: steps before state_dict()")
    compare_trajectory(found[variant], expected[save_at:], inputs,
                       f"{what}: after state_dict() at step {save_at} and load_state_dict() into a fresh optimizer",
                       first_step=save_at + 1)


@pytest.mark.points(2)
def test_state_dict_round_trip(probes, reference):
    """state_dict() mid-run, load_state_dict() into a fresh optimizer over fresh params: the run continues unchanged."""
    _resume_check(probes, reference, "same_construction", "resumed run")


@pytest.mark.points(1)
def test_load_state_dict_restores_hyperparameters(probes, reference):
    """A fresh optimizer built with default hyperparameters takes each group's lr/betas/eps/wd from the loaded state_dict."""
    _resume_check(probes, reference, "default_construction", "resumed run (fresh optimizer built with defaults)")


@pytest.mark.points(1)
def test_step_with_closure(probes, reference):
    """step(closure) evaluates the closure with grad enabled, steps on its gradients and returns its loss."""
    inputs = reference["closure"]["inputs"]
    found = probes["closure"]
    expect(isinstance(found, dict) and "losses" in found and "trajectory" in found, "closure (probe result)",
           "a dict with 'losses' and 'trajectory'", found)
    x, y = inputs["x"], inputs["y"]
    params = [torch.nn.Parameter(t.clone()) for t in inputs["initial"]]
    optimizer = torch.optim.AdamW(params, **inputs["kwargs"], foreach=False)
    w, b = params

    def closure():
        optimizer.zero_grad()
        loss = ((x @ w + b - y) ** 2).mean()
        loss.backward()
        return loss

    losses, trajectory = [], []
    for _ in range(inputs["steps"]):
        losses.append(float(optimizer.step(closure).detach()))
        trajectory.append([p.detach().clone() for p in params])
    got_losses = found["losses"]
    expect(isinstance(got_losses, list) and len(got_losses) == len(losses), "values returned by step(closure) (count)",
           len(losses), got_losses)
    for step, (got, want) in enumerate(zip(got_losses, losses), start=1):
        assert_float_close(got, want, f"value returned by step(closure) at step {step} (the closure's loss)", rtol=RTOL, atol=ATOL)
    fake_inputs = {"groups": None, "kwargs": inputs["kwargs"]}
    compare_trajectory(found["trajectory"], trajectory, fake_inputs, "parameters after step(closure)")


# ---------------------------------------------------------------- the rule: no torch Adam / AdamW

FORBIDDEN = re.compile(r"adam|_functional|_fused", re.IGNORECASE)
# Strings that could name something to look up ("AdamW", "torch.optim.adamw", "_fused_adamw_"): no spaces or punctuation.
# Messages such as "AdamW: invalid lr" are fine.
NAME_LIKE = re.compile(r"^[\w.]*(adam|_functional|_fused)[\w.]*$", re.IGNORECASE)


def _docstring_nodes(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                ids.add(id(first.value))
    return ids


def _chain_root(node: ast.AST):
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node


def _folded_string(node: ast.AST):
    """The value of a string built only from constants ('Ad' + 'amW', f'{"Ad"}amW'), else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _folded_string(node.left), _folded_string(node.right)
        return None if left is None or right is None else left + right
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            inner = value.value if isinstance(value, ast.FormattedValue) else value
            text = _folded_string(inner)
            if text is None:
                return None
            parts.append(text)
        return "".join(parts)
    return None


def forbidden_uses(source: str) -> list[str]:
    """Every place the source could reach torch's Adam/AdamW, as 'line N: what'."""
    tree = ast.parse(source)
    docstrings = _docstring_nodes(tree)
    imported: set[str] = set()    # names bound by import statements
    own_names: set[str] = set()   # names the submission binds itself (defs, classes, variables, arguments)
    own_attrs: set[str] = set()   # attribute names it defines (methods, attributes it assigns)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                imported.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                imported.add(alias.asname or alias.name)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            own_names.add(node.name)
            own_attrs.add(node.name)
        elif isinstance(node, ast.ClassDef):
            own_names.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            own_attrs.add(node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            own_names.add(node.id)
        elif isinstance(node, ast.arg):
            own_names.add(node.arg)
    own_names -= imported

    def from_module(node: ast.AST) -> bool:
        root = _chain_root(node)
        return isinstance(root, ast.Name) and root.id in imported

    found = []
    for node in ast.walk(tree):
        line = getattr(node, "lineno", "?")
        if isinstance(node, ast.Import):
            for alias in node.names:
                if FORBIDDEN.search(alias.name) or (alias.asname and FORBIDDEN.search(alias.asname)):
                    found.append(f"line {line}: import {alias.name}")
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            for alias in node.names:
                if FORBIDDEN.search(module) or FORBIDDEN.search(alias.name) or (alias.asname and FORBIDDEN.search(alias.asname)):
                    found.append(f"line {line}: from {module} import {alias.name}")
                elif alias.name == "*" and module.startswith("torch"):
                    found.append(f"line {line}: from {module} import *")
        elif isinstance(node, ast.Attribute):
            if FORBIDDEN.search(node.attr) and (from_module(node) or node.attr not in own_attrs):
                found.append(f"line {line}: attribute .{node.attr}")
            elif node.attr in ("__dict__", "__getattribute__") and from_module(node):
                found.append(f"line {line}: attribute .{node.attr} of a module")
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and FORBIDDEN.search(node.id):
            if node.id not in own_names:
                found.append(f"line {line}: name {node.id}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("getattr", "vars") \
                and node.args and from_module(node.args[0]):
            if node.func.id == "vars" or len(node.args) < 2 or _folded_string(node.args[1]) is None:
                found.append(f"line {line}: {node.func.id}(...) on a module with a computed name")
        if isinstance(node, (ast.Constant, ast.BinOp, ast.JoinedStr)) and id(node) not in docstrings:
            text = _folded_string(node)
            if text is not None and NAME_LIKE.match(text):
                found.append(f"line {line}: string {text[:40]!r}")
    return found


@pytest.mark.points(2)
def test_does_not_use_torch_adam(probes, submission_source):
    """The optimizer is written from scratch: no torch Adam/AdamW class or functional form is referenced or inherited."""
    try:
        uses = forbidden_uses(submission_source)
    except SyntaxError as error:
        raise CheckFailure(f"source: expected Python that parses, found a syntax error: {error}") from None
    expect(not uses, "references that could reach torch's Adam/AdamW (strings in docstrings are fine)",
           "none", "; ".join(uses[:8]))
    info = probes["class_info"]
    expect(isinstance(info, dict) and info.get("is_optimizer") is True, "isinstance(AdamW(...), torch.optim.Optimizer)",
           True, info.get("is_optimizer") if isinstance(info, dict) else info)
    mro = info.get("mro", [])
    torch_adams = [name for name in mro if name.startswith("torch.") and FORBIDDEN.search(name)]
    expect(not torch_adams, "torch Adam/AdamW classes among the class's bases", "none", torch_adams)


@pytest.fixture(autouse=True)
def own_implementation_only(request, submission_source):
    """The rule gates every behaviour check: values that torch computed for the submission earn nothing."""
    if request.node.name != "test_does_not_use_torch_adam":
        found = forbidden_uses(submission_source)
        expect(not found, "rule: no torch Adam/AdamW in solution.py (every check fails while it is broken)", "none", "; ".join(found[:8]))
