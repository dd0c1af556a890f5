"""The comparison helpers that checks use (harness.testing): what passes, and failure messages that say which value
is wrong, what was expected and found (with the digits that differ), the tolerance, and how many values are wrong."""

from __future__ import annotations

import math
import re

import pytest
import torch

from harness.testing import CheckFailure, assert_float_close, assert_floats_close, assert_tensor_close


def failure(call, *args, **kwargs) -> str:
    with pytest.raises(CheckFailure) as caught:
        call(*args, **kwargs)
    return str(caught.value)


def expected_and_found(message: str) -> tuple[str, str]:
    match = re.search(r"expected (\S+), found (\S+)", message)
    assert match, message
    return match.group(1), match.group(2)


def test_tensor_names_the_first_element_outside_the_tolerance_not_the_largest_difference():
    expected = torch.tensor([[1000.0, 0.5, 0.25], [0.001, 2.0, 3.0]], dtype=torch.float64)
    found = expected.clone()
    found[0, 0] += 1e-3  # the largest difference, but well inside rtol * 1000 = 1e-2
    found[1, 0] += 5e-6  # a small difference, outside atol + rtol * 0.001
    found[1, 2] += 1e-4  # outside too, but not the first
    message = failure(assert_tensor_close, found, expected, "weights", rtol=1e-5, atol=1e-7)
    assert message.startswith("weights: 2 of 6 values outside the tolerance (rtol=1e-05, atol=1e-07)"), message
    assert "first at index [1, 0]: expected 0.001, found 0.001005 " in message, message
    assert "difference 5e-06, more than the 1.1e-07 allowed" in message, message


def test_tensor_message_shows_the_digits_that_differ():
    # the example: '.6g' printed 'expected -0.307904, found -0.307904', which reads like a pass
    expected = torch.tensor([0.5, -0.307904], dtype=torch.float64)
    found = expected + torch.tensor([0.0, 2e-7], dtype=torch.float64)
    message = failure(assert_tensor_close, found, expected, "bias", rtol=0.0, atol=1e-7)
    want, got = expected_and_found(message)
    assert want != got and float(want) == pytest.approx(-0.307904) and float(got) == pytest.approx(-0.3079038)
    assert "1 of 2 values" in message and "index [1]" in message, message


@pytest.mark.parametrize("bad, why", [(math.nan, "NaN"), (math.inf, "infinity"), (-math.inf, "infinity")])
def test_tensor_non_finite_values_are_outside_and_named(bad, why):
    expected = torch.zeros(2, 3)
    found = expected.clone()
    found[1, 1] = bad
    message = failure(assert_tensor_close, found, expected, "grad")
    assert "1 of 6 values" in message and "first at index [1, 1]" in message and why in message, message
    assert f"found {bad}" in message, message


def test_tensor_nan_is_never_close_and_equal_infinities_are():
    with pytest.raises(CheckFailure, match="NaN"):
        assert_tensor_close(torch.tensor([math.nan]), torch.tensor([math.nan]), "x")
    assert_tensor_close(torch.tensor([math.inf, -math.inf, 1.0]), torch.tensor([math.inf, -math.inf, 1.0]), "x")
    with pytest.raises(CheckFailure, match="index \\[0\\]"):
        assert_tensor_close(torch.tensor([-math.inf]), torch.tensor([math.inf]), "x")


def test_tensor_within_the_tolerance_passes_and_a_0d_tensor_is_described():
    expected = torch.linspace(-1, 1, 24).reshape(2, 3, 4)
    assert_tensor_close(expected * (1 + 1e-6), expected, "close", rtol=1e-5, atol=0.0)
    assert_tensor_close(expected.clone().requires_grad_(), expected, "with grad")
    message = failure(assert_tensor_close, torch.tensor(1.5), torch.tensor(1.0), "loss")
    assert "1 of 1 values" in message and "0-d tensor" in message and "expected 1, found 1.5" in message, message


def test_tensor_exact_comparison_shows_all_the_digits_when_nine_are_not_enough():
    expected = torch.tensor([0.1, 0.2], dtype=torch.float64)
    found = expected.clone()
    found[1] = torch.nextafter(found[1], torch.tensor(1.0, dtype=torch.float64))
    message = failure(assert_tensor_close, found, expected, "lr", rtol=0, atol=0)
    want, got = expected_and_found(message)
    assert want != got and float(want) == 0.2 and float(got) == found[1].item(), message


def test_tensor_integer_and_three_dimensional_index():
    expected = torch.arange(24).reshape(2, 3, 4)
    found = expected.clone()
    found[1, 2, 3] = -1
    message = failure(assert_tensor_close, found, expected, "counts", rtol=0, atol=0)
    assert "1 of 24 values" in message and "index [1, 2, 3]: expected 23, found -1" in message, message


def test_tensor_type_dtype_and_shape_are_checked_first():
    assert "(type)" in failure(assert_tensor_close, [1.0], torch.tensor([1.0]), "x")
    assert "(dtype)" in failure(assert_tensor_close, torch.tensor([1.0], dtype=torch.float64), torch.tensor([1.0]), "x")
    assert "(shape)" in failure(assert_tensor_close, torch.zeros(2, 1), torch.zeros(2), "x")


def test_float_message_has_distinguishing_digits_and_the_tolerance():
    message = failure(assert_float_close, 0.3079041, 0.307904, "lr at step 3", rtol=1e-8, atol=0.0)
    want, got = expected_and_found(message)
    assert want != got, message
    assert "rtol=1e-08, atol=0" in message and "difference 1e-07" in message, message


@pytest.mark.parametrize("found", [math.nan, math.inf, 10**400], ids=["nan", "inf", "huge-int"])
def test_float_non_finite_or_huge_found_fails_with_a_message(found):
    message = failure(assert_float_close, found, 0.1, "lr")
    assert message.startswith("lr: expected 0.1, found "), message


def test_float_type_and_passing_values():
    assert "(type)" in failure(assert_float_close, True, 1.0, "lr")
    assert "(type)" in failure(assert_float_close, "0.1", 0.1, "lr")
    assert_float_close(1, 1.0, "an int counts as a number")
    assert_float_close(0.1 + 0.2, 0.3, "rounding")


def test_floats_name_the_first_value_outside_and_count_them():
    message = failure(assert_floats_close, [1.0, 2.1, 3.0, math.nan], [1.0, 2.0, 3.0, 4.0], "lrs")
    assert message.startswith("lrs: 2 of 4 values outside the tolerance (rtol=1e-06, atol=1e-09)"), message
    assert "first at index 1: expected 2.0, found 2.1" in message, message
    assert "(type)" in failure(assert_floats_close, [1.0, "x"], [1.0, 2.0], "lrs")
    assert "(length)" in failure(assert_floats_close, [1.0], [1.0, 2.0], "lrs")
    assert_floats_close([1.0, 2], [1.0, 2.0], "lrs")
