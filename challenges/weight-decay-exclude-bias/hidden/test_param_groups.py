"""Checks for weight-decay-exclude-bias.

The settings (learning rate, weight decay, each model's spec) are read from `inputs[...]`, drawn on the
trusted side. Expected groups come from the reference solution run on the same models in the trusted
process (`reference[...]`), and with them the models' parameter names and shapes. What one step of the
candidate's optimizer does is computed here, with torch's own optimizer class (the one the probe found
by identity) over the groups and settings the probe reported; nothing stepped in the sandbox is believed.
With zero gradients AdamW's adaptive update is exactly zero, so a decayed parameter becomes
`p * (1 - lr * weight_decay)` and every other parameter stays as it was.
"""

import pytest
import torch

from harness.reference import ChecksError
from harness.testing import assert_float_close, assert_tensor_close, expect

DECAY, NO_DECAY = 0, 1
GROUP_LABEL = {DECAY: "group 0 (decayed)", NO_DECAY: "group 1 (not decayed)"}
UNKNOWN = "<not a parameter of the model>"


def _returned_groups(report: dict, case: str, what: str) -> list:
    """The described groups of one model's param_groups result, after checking it is a list of two dicts with 'params'."""
    expect(isinstance(report, dict) and report.get("type") in ("list", "tuple"), f"model {case!r}: {what} return type",
           "a list", report.get("type") if isinstance(report, dict) else report)
    groups = report["groups"]
    expect(len(groups) == 2, f"model {case!r}: {what}: number of groups", 2, len(groups))
    for index, group in enumerate(groups):
        expect(group["type"] == "dict" and "params" in group["keys"], f"model {case!r}, {what} group {index}",
               "a dict with 'params'", f"{group['type']} with keys {group['keys']}")
    return groups


def _case_groups(probes, reference, inputs, case):
    """The candidate's and the reference's name lists for one model, decayed group first.

    Groups are matched by their weight_decay values when those are right (wd and 0.0 in either
    order), so that swapping the two groups costs only the checks about group order and values;
    otherwise by position.
    """
    groups = _returned_groups(probes["groups"]["cases"][case]["groups"], case, "param_groups")
    wd = inputs["groups"]["weight_decay"]
    names = [group["names"] for group in groups]
    if [group["settings"].get("weight_decay") for group in groups] == [0.0, wd]:
        names.reverse()
    expected = reference["groups"]["cases"][case]["groups"]["groups"]
    return names, [group["names"] for group in expected]


def _compare_case(probes, reference, inputs, case):
    """Each group must hold exactly the reference's parameters (compared as multisets of names)."""
    found, expected = _case_groups(probes, reference, inputs, case)
    for index in (DECAY, NO_DECAY):
        got, want = sorted(found[index]), sorted(expected[index])
        if got != want:
            missing = sorted(set(want) - set(got))
            extra = sorted(set(got) - set(want))
            repeated = sorted({n for n in got if got.count(n) > 1})
            detail = f"missing {missing}, unexpected {extra}" + (f", listed more than once {repeated}" if repeated else "")
            expect(False, f"model {case!r}, {GROUP_LABEL[index]}: {detail}", want, got)


@pytest.mark.points(1)
def test_two_groups_with_their_weight_decay(probes, inputs):
    """param_groups returns two dicts with 'params': weight_decay first, then 0.0, neither empty."""
    wd = inputs["groups"]["weight_decay"]
    for case in inputs["groups"]["models"]:
        groups = _returned_groups(probes["groups"]["cases"][case]["groups"], case, "param_groups")
        for index, want in ((DECAY, wd), (NO_DECAY, 0.0)):
            settings = groups[index]["settings"]
            expect("weight_decay" in settings, f"model {case!r}, {GROUP_LABEL[index]}: keys", "a 'weight_decay' key",
                   groups[index]["keys"])
            assert_float_close(settings["weight_decay"], want, f"model {case!r}, {GROUP_LABEL[index]}: weight_decay")
            expect(bool(groups[index]["names"]), f"model {case!r}, {GROUP_LABEL[index]}: size", "some parameters", 0)


@pytest.mark.points(1)
def test_convolutions_and_normalization_layers(probes, reference, inputs):
    """Conv weights are decayed; conv biases and every BatchNorm/GroupNorm/InstanceNorm/LayerNorm parameter are not."""
    _compare_case(probes, reference, inputs, "conv")


@pytest.mark.points(1)
def test_embeddings_are_not_decayed(probes, reference, inputs):
    """Embedding tables (2-D) and RMSNorm/LayerNorm weights are left undecayed; Linear weights are decayed."""
    _compare_case(probes, reference, inputs, "lm")


@pytest.mark.points(1)
def test_names_do_not_decide(probes, reference, inputs):
    """Layers are judged by type and shape, not name: a Linear called bias_proj is still decayed."""
    _compare_case(probes, reference, inputs, "names")


@pytest.mark.points(1)
def test_raw_parameters_by_dimension(probes, reference, inputs):
    """Raw nn.Parameters: 2-D and higher are decayed, scalar and 1-D gains and scales are not."""
    _compare_case(probes, reference, inputs, "custom")


@pytest.mark.points(1)
def test_frozen_parameters_left_out(probes, reference, inputs):
    """Parameters with requires_grad=False are in neither group."""
    _compare_case(probes, reference, inputs, "frozen")


@pytest.mark.points(1)
def test_shared_parameters_listed_once(probes, reference, inputs):
    """A module used twice or a parameter registered in two modules appears exactly once."""
    _compare_case(probes, reference, inputs, "shared")


@pytest.mark.points(1)
def test_tied_embedding_weight_not_decayed(probes, reference, inputs):
    """A weight an output layer shares with an Embedding is not decayed, whichever was registered first."""
    _compare_case(probes, reference, inputs, "tied")


@pytest.mark.points(1)
def test_group_order_follows_named_parameters(probes, reference, inputs):
    """Within each group, parameters come in model.named_parameters() order.

    Only the order of the names a group shares with the expected group is judged here (membership
    and repeats have their own checks), but each group must share at least one name with it.
    """
    for case in inputs["groups"]["models"]:
        found, expected = _case_groups(probes, reference, inputs, case)
        for index in (DECAY, NO_DECAY):
            want = expected[index]
            common = set(want) & set(found[index])
            expect(bool(common) or not want, f"model {case!r}, {GROUP_LABEL[index]}: parameters in common with the expected group",
                   f"some of {want}", found[index])
            got_order = list(dict.fromkeys(n for n in found[index] if n in common))  # repeats are judged elsewhere
            want_order = [n for n in want if n in common]
            expect(got_order == want_order, f"model {case!r}, {GROUP_LABEL[index]}: order", want_order, got_order)


@pytest.mark.points(1)
def test_optimizer_is_torch_adamw(probes, inputs):
    """make_optimizer returns a torch.optim.AdamW: that very class, not a subclass or a look-alike."""
    for case in inputs["optimizer"]["models"]:
        found = probes["optimizer"]["cases"][case]["optimizer"]
        expect(found["torch_class"] == "AdamW", f"model {case!r}: class of make_optimizer(...)'s result",
               "torch.optim.AdamW itself", f"{found['torch_class'] or 'not a torch optimizer'} (MRO {found['mro']})")


@pytest.mark.points(1)
def test_optimizer_holds_the_two_groups(probes, inputs):
    """The optimizer's param groups are param_groups' two groups, with the given lr and their own weight_decay.

    Gated on real data: param_groups' own result for the same model must be two non-empty groups of
    the model's parameters, so that two empty or made-up results cannot agree with each other.
    """
    lr, wd = inputs["optimizer"]["lr"], inputs["optimizer"]["weight_decay"]
    for case in inputs["optimizer"]["models"]:
        report = probes["optimizer"]["cases"][case]
        own = _returned_groups(report["own_groups"], case, "param_groups")
        for index in (DECAY, NO_DECAY):
            names = own[index]["names"]
            expect(bool(names) and UNKNOWN not in names, f"model {case!r}: param_groups {GROUP_LABEL[index]} (the data this check compares with)",
                   "some of the model's parameters", names)
        groups = _returned_groups(report["optimizer"]["groups"], case, "optimizer.param_groups")
        for index, group_wd in ((DECAY, wd), (NO_DECAY, 0.0)):
            settings = groups[index]["settings"]
            assert_float_close(settings.get("lr"), lr, f"model {case!r}, optimizer {GROUP_LABEL[index]}: lr")
            assert_float_close(settings.get("weight_decay"), group_wd, f"model {case!r}, optimizer {GROUP_LABEL[index]}: weight_decay")
            expect(groups[index]["names"] == own[index]["names"],
                   f"model {case!r}, optimizer {GROUP_LABEL[index]}: parameters (vs. param_groups for the same model)",
                   own[index]["names"], groups[index]["names"])


# ---------------------------------------------------------------- one step, computed on the trusted side


def _start_values(params: dict, case_index: int) -> dict:
    """Values for the model's parameters (any will do: the expected step is a closed form in them)."""
    generator = torch.Generator().manual_seed(1000 + case_index)
    return {name: torch.randn(spec["shape"], generator=generator) for name, spec in params.items()}


def _settings_for_torch(settings: dict, what: str) -> dict:
    out = {}
    for key, value in settings.items():
        expect(not (isinstance(value, str) and value.startswith("<")), f"{what}: setting {key!r}",
               "a number, bool or None that torch can be given", value)
        out[key] = tuple(value) if isinstance(value, list) else value
    return out


def _one_zero_grad_step(optimizer: dict, values: dict, what: str) -> dict:
    """One step of torch's own optimizer class (as the probe identified it) over the reported groups, zero gradients."""
    expect(optimizer["torch_class"] is not None, f"{what}: make_optimizer(...)'s class",
           "a torch optimizer class, whose step can be reproduced here", f"MRO {optimizer['mro']}")
    tensors = {name: value.clone().requires_grad_(True) for name, value in values.items()}
    groups = []
    for index, group in enumerate(optimizer["groups"]["groups"]):
        expect(group["type"] == "dict", f"{what}: optimizer group {index}", "a dict", group["type"])
        params = [tensors[name] for name in group["names"] if name in tensors]  # a tensor outside the model changes nothing in it
        groups.append({**_settings_for_torch(group["settings"], f"{what}, optimizer group {index}"), "params": params})
    for tensor in tensors.values():
        tensor.grad = torch.zeros_like(tensor)
    try:
        step = getattr(torch.optim, optimizer["torch_class"])(groups)
        step.step()
    except (ValueError, TypeError, KeyError, RuntimeError) as error:
        expect(False, f"{what}: torch.optim.{optimizer['torch_class']} over the reported groups", "a step that runs",
               f"{type(error).__name__}: {error}")
    return {name: tensor.detach() for name, tensor in tensors.items()}


@pytest.mark.points(1)
def test_step_with_zero_grads_shrinks_only_decayed_weights(probes, reference, inputs):
    """One step of make_optimizer's optimizer with zero gradients multiplies decayed weights by (1 - lr*wd) and leaves all else unchanged.

    The step is taken here, with torch's own class (the one the probe found by identity) over the
    groups, lrs and other settings the candidate's optimizer reported.
    """
    lr, wd = inputs["optimizer"]["lr"], inputs["optimizer"]["weight_decay"]
    factor = 1.0 - lr * wd
    for case_index, case in enumerate(inputs["optimizer"]["models"]):
        trusted = reference["optimizer"]["cases"][case]
        values = _start_values(trusted["params"], case_index)
        decayed = set(trusted["own_groups"]["groups"][DECAY]["names"])
        expected = {name: value * factor if name in decayed else value.clone() for name, value in values.items()}
        for name, value in _one_zero_grad_step(trusted["optimizer"], values, f"reference, model {case!r}").items():
            if not torch.allclose(value, expected[name], rtol=1e-6, atol=1e-9):
                raise ChecksError(f"challenge broken: the reference's optimizer disagrees with the closed form on {case!r}: {name}")
        after = _one_zero_grad_step(probes["optimizer"]["cases"][case]["optimizer"], values, f"model {case!r}")
        for name, value in after.items():
            kind = f"decayed, x{factor:g}" if name in decayed else "not decayed, unchanged"
            assert_tensor_close(value, expected[name], f"model {case!r}: {name} after one step ({kind})", rtol=1e-6, atol=1e-9)
