"""The strict decoder: what the worker encodes comes back exactly; anything else is refused."""

from __future__ import annotations

import base64
import json
import math

import pytest
import torch

from harness.sandbox.worker import encode
from harness.wire import MAX_LINE_BYTES, WireError, decode_line, decode_value


def roundtrip(value):
    return decode_value(json.loads(json.dumps(encode(value), allow_nan=False)))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.int64, torch.int32, torch.bool])
def test_tensors_round_trip_with_dtype_and_shape(dtype):
    tensor = (torch.randn(3, 4, 2) * 10).to(dtype)
    back = roundtrip(tensor)
    assert back.dtype == dtype and back.shape == tensor.shape and torch.equal(back, tensor)


def test_plain_values_round_trip():
    value = {"a": [1, 2.5, None, True, "x"], "nan": math.nan, "inf": -math.inf, "t": (1, 2), "empty": torch.zeros(0, 3)}
    back = roundtrip(value)
    assert back["a"] == [1, 2.5, None, True, "x"] and back["t"] == [1, 2]
    assert math.isnan(back["nan"]) and back["inf"] == -math.inf and back["empty"].shape == (0, 3)


def test_a_non_contiguous_tensor_with_grad_is_encoded_as_values():
    tensor = torch.randn(4, 3, requires_grad=True).t()
    assert torch.equal(roundtrip(tensor), tensor.detach())


@pytest.mark.parametrize("value, error", [
    (object(), "cannot leave the sandbox"),
    ({1: 2}, "not a plain string"),
    ({"__tensor__": 1}, "not a plain string"),
    (torch.zeros(2, dtype=torch.complex64), "cannot leave the sandbox"),
])
def test_the_worker_refuses_values_that_may_not_cross(value, error):
    with pytest.raises((TypeError, ValueError), match=error):
        encode(value)


def tensor_spec(**changes):
    spec = {"dtype": "float32", "shape": [2], "data": base64.b64encode(bytes(8)).decode()}
    spec.update(changes)
    return {"__tensor__": spec}


@pytest.mark.parametrize("data, error", [
    (tensor_spec(dtype="object"), "dtype 'object' is not allowed"),
    (tensor_spec(shape=[3]), "needs 12"),
    (tensor_spec(shape=[-1]), "shape"),
    (tensor_spec(shape=[100000, 100000]), "over the"),
    (tensor_spec(data="!!notbase64"), "not valid base64"),
    ({"__tensor__": {"dtype": "float32", "shape": [1]}}, "exactly 'dtype', 'shape' and 'data'"),
    ({"__tensor__": {"dtype": "bool", "shape": [2], "data": base64.b64encode(b"\x00\x07").decode()}}, "other than 0 and 1"),
    (dict(tensor_spec(), extra=1), "only key"),
    ({"__float__": "1e999"}, "unknown special float"),
    ({"__class__": "x"}, "reserved key"),
    (2**300, "wider than"),
    ("x" * 200_000, "longer than"),
    (b"bytes", "not allowed"),
])
def test_the_decoder_refuses_malformed_values(data, error):
    with pytest.raises(WireError, match=error):
        decode_value(data)


def test_the_decoder_refuses_deep_nesting():
    data = []
    for _ in range(100):
        data = [data]
    with pytest.raises(WireError, match="deeper"):
        decode_value(data)


@pytest.mark.parametrize("line, error", [
    (b'{"event": "result", "value": NaN}', "bare NaN"),
    (b"not json", "not valid JSON"),
    (b"[1, 2]", "'event' string"),
    (b"\xff\xfe", "not valid JSON"),
    (b"[" * 100_000, "not valid JSON"),
    (b" " * (MAX_LINE_BYTES + 1), "over the"),
])
def test_message_lines_are_parsed_strictly(line, error):
    with pytest.raises(WireError, match=error):
        decode_line(line)
