"""Strict decoding of what comes out of the sandbox: size-limited JSON, tensors rebuilt with dtype and shape checked.

Nothing from the sandbox is unpickled or passed to `torch.load`. A message is one line of JSON;
a probe value may hold only None, bools, ints, finite floats, strings, lists, string-keyed dicts,
non-finite floats as {"__float__": "nan"}, and tensors as
{"__tensor__": {"dtype": ..., "shape": [...], "data": base64 of little-endian bytes}}.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch  # imported lazily: the grader loads torch while the sandbox starts

MAX_LINE_BYTES = 8 * 1024 * 1024
MAX_DEPTH = 32
MAX_INT_BITS = 256
MAX_TENSOR_ELEMENTS = 4_000_000
MAX_STRING_CHARS = 100_000

DTYPES = ("float64", "float32", "int64", "int32", "uint8", "bool")  # torch dtype names that may cross
_FLOATS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


class WireError(ValueError):
    """A message from the sandbox is malformed, oversized or of a type that may not cross."""


def _reject_constant(name: str) -> Any:
    raise WireError(f"bare {name} is not allowed in a message")


def decode_line(line: bytes) -> dict:
    """Parse one message line into a dict; the probe value inside it is still encoded."""
    if len(line) > MAX_LINE_BYTES:
        raise WireError(f"message of {len(line)} bytes is over the {MAX_LINE_BYTES}-byte limit")
    try:
        message = json.loads(line.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise WireError(f"message is not valid JSON: {error}") from None
    if not isinstance(message, dict) or not isinstance(message.get("event"), str):
        raise WireError("message is not an object with an 'event' string")
    return message


def decode_value(data: Any, depth: int = 0) -> Any:
    """Rebuild a probe value from its encoding, checking every type, dtype and shape."""
    if depth > MAX_DEPTH:
        raise WireError(f"value nested deeper than {MAX_DEPTH} levels")
    if data is None or isinstance(data, bool):
        return data
    if isinstance(data, int):
        if data.bit_length() > MAX_INT_BITS:
            raise WireError(f"integer wider than {MAX_INT_BITS} bits")
        return data
    if isinstance(data, float):
        return data
    if isinstance(data, str):
        if len(data) > MAX_STRING_CHARS:
            raise WireError(f"string longer than {MAX_STRING_CHARS} characters")
        return data
    if isinstance(data, list):
        return [decode_value(item, depth + 1) for item in data]
    if isinstance(data, dict):
        if "__tensor__" in data or "__float__" in data:
            return _decode_special(data)
        for key in data:
            if key.startswith("__"):
                raise WireError(f"reserved key {key!r} in a value")
        return {key: decode_value(item, depth + 1) for key, item in data.items()}
    raise WireError(f"value of type {type(data).__name__} is not allowed")


def _decode_special(data: dict) -> Any:
    if len(data) != 1:
        raise WireError("an encoded tensor or float must be the only key of its object")
    if "__float__" in data:
        name = data["__float__"]
        if name not in _FLOATS:
            raise WireError(f"unknown special float {name!r}")
        return _FLOATS[name]
    return decode_tensor(data["__tensor__"])


def decode_tensor(spec: Any) -> "torch.Tensor":
    """Rebuild one tensor: the dtype must be allowed and the bytes must match the shape exactly."""
    import torch

    if not isinstance(spec, dict) or set(spec) != {"dtype", "shape", "data"}:
        raise WireError("a tensor needs exactly 'dtype', 'shape' and 'data'")
    if spec["dtype"] not in DTYPES:
        raise WireError(f"tensor dtype {spec['dtype']!r} is not allowed")
    dtype = getattr(torch, spec["dtype"])
    shape = spec["shape"]
    if not isinstance(shape, list) or len(shape) > 8 or not all(
        isinstance(size, int) and not isinstance(size, bool) and 0 <= size for size in shape
    ):
        raise WireError(f"tensor shape {shape!r} is not a list of at most 8 sizes")
    count = math.prod(shape)
    if count > MAX_TENSOR_ELEMENTS:
        raise WireError(f"tensor of {count} elements is over the {MAX_TENSOR_ELEMENTS} limit")
    if not isinstance(spec["data"], str):
        raise WireError("tensor data is not a string")
    try:
        raw = base64.b64decode(spec["data"].encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise WireError("tensor data is not valid base64") from None
    itemsize = torch.empty((), dtype=dtype).element_size()
    if len(raw) != count * itemsize:
        raise WireError(f"tensor data has {len(raw)} bytes, shape {shape} of {spec['dtype']} needs {count * itemsize}")
    if dtype is torch.bool and raw.translate(None, b"\x00\x01"):
        raise WireError("bool tensor data holds bytes other than 0 and 1")
    if count == 0:
        return torch.empty(shape, dtype=dtype)
    return torch.frombuffer(bytearray(raw), dtype=dtype).reshape(shape).clone()
