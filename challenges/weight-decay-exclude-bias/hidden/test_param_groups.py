"""Checks for weight-decay-exclude-bias.

Expected groups come from the reference solution run on the same seed-built models
(`reference[...]`); the step check also derives the expected parameters in closed form: with
zero gradients AdamW's adaptive update is exactly zero, so a decayed parameter becomes
`p * (1 - lr * weight_decay)` and every other parameter stays as it was.
"""

import pytest
import torch

from harness.testing import assert_equal, assert_float_close, assert_tensor_close, expect

DECAY, NO_DECAY = 0, 1
GROUP_LABEL = {DECAY: "group 0 (decayed)", NO_DECAY: "group 1 (not decayed)"}


def _case_groups(probes, reference, case):
    """The candidate's and the reference's name lists for one model, decayed group first.

    Groups are matched by their weight_decay values when those are right (wd and 0.0 in either
    order), so that swapping the two groups costs only the checks about group order and values;
    otherwise by position.
    """
    found = probes["groups"]["cases"][case]
    expected = reference["groups"]["cases"][case]
    wd = reference["groups"]["weight_decay"]
    expect(found["type"] in ("list", "tuple"), f"model {case!r}: param_groups return type", "list", found["type"])
    expect(len(found["groups"]) == 2, f"model {case!r}: number of groups", 2, len(found["groups"]))
    names = [g["names"] for g in found["groups"]]
    if [g["weight_decay"] for g in found["groups"]] == [0.0, wd]:
        names.reverse()
    return names, [g["names"] for g in expected["groups"]]


def _compare_case(probes, reference, case):
    """Each group must hold exactly the reference's parameters (compared as multisets of names)."""
    found, expected = _case_groups(probes, reference, case)
    for index in (DECAY, NO_DECAY):
        got, want = sorted(found[index]), sorted(expected[index])
        if got != want:
            missing = sorted(set(want) - set(got))
            extra = sorted(set(got) - set(want))
            repeated = sorted({n for n in got if got.count(n) > 1})
            detail = f"missing {missing}, unexpected {extra}" + (f", listed more than once {repeated}" if repeated else "")
            expect(False, f"model {case!r}, {GROUP_LABEL[index]}: {detail}", want, got)


@pytest.mark.points(1)
def test_two_groups_with_their_weight_decay(probes, reference):
    """param_groups returns two dicts with 'params': weight_decay first, then 0.0."""
    found = probes["groups"]
    wd = reference["groups"]["weight_decay"]
    for case in reference["groups"]["cases"]:
        report = found["cases"][case]
        expect(report["type"] in ("list", "tuple"), f"model {case!r}: param_groups return type", "list", report["type"])
        expect(len(report["groups"]) == 2, f"model {case!r}: number of groups", 2, len(report["groups"]))
        for index, want in ((DECAY, wd), (NO_DECAY, 0.0)):
            group = report["groups"][index]
            expect("params" in group["keys"], f"model {case!r}, {GROUP_LABEL[index]}: keys", "a dict with 'params'", group["keys"])
            assert_float_close(group["weight_decay"], want, f"model {case!r}, {GROUP_LABEL[index]}: weight_decay")
        expect(any(report["groups"][DECAY]["names"]), f"model {case!r}, {GROUP_LABEL[DECAY]}: size", "some parameters", 0)
        expect(any(report["groups"][NO_DECAY]["names"]), f"model {case!r}, {GROUP_LABEL[NO_DECAY]}: size", "some parameters", 0)


@pytest.mark.points(1)
def test_convolutions_and_normalization_layers(probes, reference):
    """Conv weights are decayed; conv biases and every BatchNorm/GroupNorm/InstanceNorm/LayerNorm parameter are not."""
    _compare_case(probes, reference, "conv")


@pytest.mark.points(1)
def test_embeddings_are_not_decayed(probes, reference):
    """Embedding tables (2-D) and RMSNorm/LayerNorm weights are left undecayed; Linear weights are decayed."""
    _compare_case(probes, reference, "lm")


@pytest.mark.points(1)
def test_names_do_not_decide(probes, reference):
    """Layers are judged by type and shape, not name: a Linear called bias_proj is still decayed."""
    _compare_case(probes, reference, "names")


@pytest.mark.points(1)
def test_raw_parameters_by_dimension(probes, reference):
    """Raw nn.Parameters: 2-D and higher are decayed, scalar and 1-D gains and scales are not."""
    _compare_case(probes, reference, "custom")


@pytest.mark.points(1)
def test_frozen_parameters_left_out(probes, reference):
    """Parameters with requires_grad=False are in neither group."""
    _compare_case(probes, reference, "frozen")


@pytest.mark.points(1)
def test_shared_parameters_listed_once(probes, reference):
    """A module used twice or a parameter registered in two modules appears exactly once."""
    _compare_case(probes, reference, "shared")


@pytest.mark.points(1)
def test_tied_embedding_weight_not_decayed(probes, reference):
    """A weight an output layer shares with an Embedding is not decayed, whichever was registered first."""
    _compare_case(probes, reference, "tied")


@pytest.mark.points(1)
def test_group_order_follows_named_parameters(probes, reference):
    """Within each group, parameters come in model.named_parameters() order.

    Only the order of the names a group shares with the expected group is judged here (membership
    and repeats have their own checks), but each group must share at least one name with it.
    """
    for case in reference["groups"]["cases"]:
        found, expected = _case_groups(probes, reference, case)
        for index in (DECAY, NO_DECAY):
            want = expected[index]
            common = set(want) & set(found[index])
            expect(bool(common) or not want, f"model {case!r}, {GROUP_LABEL[index]}: parameters in common with the expected group",
                   f"some of {want}", found[index])
            got_order = list(dict.fromkeys(n for n in found[index] if n in common))  # repeats are judged elsewhere
            want_order = [n for n in want if n in common]
            expect(got_order == want_order, f"model {case!r}, {GROUP_LABEL[index]}: order", want_order, got_order)


@pytest.mark.points(1)
def test_optimizer_is_adamw_over_the_groups(probes, reference):
    """make_optimizer returns torch.optim.AdamW over param_groups' two groups, with the given lr."""
    found = probes["optimizer"]
    expected = reference["optimizer"]
    lr, wd = expected["lr"], expected["weight_decay"]
    for case, want in expected["cases"].items():
        got = found["cases"][case]
        assert_equal(got["class"], want["class"], f"model {case!r}: optimizer class")
        expect(len(got["groups"]) == 2, f"model {case!r}: optimizer param_groups", 2, len(got["groups"]))
        for index, group_wd in ((DECAY, wd), (NO_DECAY, 0.0)):
            group = got["groups"][index]
            assert_float_close(group["lr"], lr, f"model {case!r}, optimizer {GROUP_LABEL[index]}: lr")
            assert_float_close(group["weight_decay"], group_wd, f"model {case!r}, optimizer {GROUP_LABEL[index]}: weight_decay")
            own = got["own_names"][index] if index < len(got["own_names"]) else None
            expect(group["names"] == own, f"model {case!r}, optimizer {GROUP_LABEL[index]}: parameters (vs. param_groups)",
                   own, group["names"])


@pytest.mark.points(2)
def test_step_with_zero_grads_shrinks_only_decayed_weights(probes, reference):
    """One step with zero gradients multiplies decayed weights by (1 - lr*wd) and leaves all else unchanged."""
    found = probes["step"]
    expected = reference["step"]
    lr, wd = expected["lr"], expected["weight_decay"]
    factor = 1.0 - lr * wd
    for case, want in expected["cases"].items():
        decayed = set(want["optimizer_groups"][DECAY])  # the reference's grouping of this very model
        got_after = found["cases"][case]["after"]
        assert_equal(sorted(got_after), sorted(want["before"]), f"model {case!r}: parameter names after the step")
        for name, before in want["before"].items():
            target = before * factor if name in decayed else before.clone()
            if not torch.allclose(want["after"][name], target, rtol=1e-6, atol=1e-9):
                raise RuntimeError(f"challenge broken: the reference disagrees with the closed form on {case!r}: {name}")
            kind = f"decayed, x{factor:g}" if name in decayed else "not decayed, unchanged"
            assert_tensor_close(got_after[name], target, f"model {case!r}: {name} after one step ({kind})",
                                rtol=1e-6, atol=1e-9)
