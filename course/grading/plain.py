"""Plain values: what the kernel may export for a clean re-check, as JSON, never pickle.

A *plain* value is ``None``, a ``bool``, ``int``, ``float``, ``complex``, ``str`` or
``bytes``; a ``list``, ``tuple`` or ``dict`` of plain values; a NumPy array or scalar of a
numeric, boolean or fixed-width string dtype; an eager TensorFlow tensor or a plain
``tf.Variable`` (their values). Types are matched exactly (a subclass of ``float`` or of
``ndarray`` is not plain), so what the clean process rebuilds has the type the kernel saw.

:func:`_encode` runs inside the learner's kernel (shipped as source, :data:`PLAIN_SOURCE`:
builtins and local imports only) and in the clean process, which encodes the arguments its
checks pass to compare them with the kernel's. :func:`decode` runs only in the clean process:
it reads data that learner code may have written, so it checks every field and raises
``ValueError`` for anything else.
"""

from __future__ import annotations

import base64
import inspect
import json
import textwrap
from typing import Any

RECORD_BYTES = 5_000_000
"""The most a check cell's record may hold (encoded arrays and values); beyond it, values are
"not plain" and the exercise is judged in the kernel."""
ARGUMENT_BYTES = 64_000_000
"""The most one call's arguments may hold: they are only hashed (:func:`_digest`), not kept."""
MAX_DEPTH = 64
_ARRAY_KINDS = "biufcSU"


class _NotPlain(Exception):  # pragma: no cover - also runs inside the kernel
    """A value the clean process cannot rebuild; the message says what it is."""


def _encode(value, budget, depth=0):  # pragma: no cover - also runs inside the kernel
    """A JSON-ready encoding of ``value``; ``budget[0]`` bytes left (raises ``_NotPlain``)."""
    T = ().__class__.__class__
    kind = T(value)
    if budget[0] < 0 or depth > 64:
        raise _NotPlain("over the record's size cap" if budget[0] < 0 else "nested too deeply")
    budget[0] -= 16
    if kind is T([]) or kind is T(()):
        return [kind.__name__, [_encode(item, budget, depth + 1) for item in value]]
    if kind is T({}):
        return ["dict", [[_encode(k, budget, depth + 1), _encode(v, budget, depth + 1)]
                         for k, v in value.items()]]
    simple = _encode_simple(value, kind, budget)
    return simple if simple is not None else _encode_library(value, kind, budget)


def _encode_simple(value, kind, budget):  # pragma: no cover - also runs inside the kernel
    """None, bool, int, float, complex, str and bytes; None for any other type."""
    T = ().__class__.__class__
    if value is None:
        return ["none"]
    if kind is T(True) or kind is T(0):
        return [kind.__name__, value]
    if kind is T(0.0):
        return ["float", value.hex()]
    if kind is T(0j):
        return ["complex", value.real.hex(), value.imag.hex()]
    if kind is T("") or kind is T(b""):
        budget[0] -= len(value)
        return ["str", value] if kind is T("") else ["bytes", _b64(value)]
    return None


def _encode_library(value, kind, budget):  # pragma: no cover - also runs inside the kernel
    """NumPy arrays and scalars, eager tensors and variables (only if already imported)."""
    import sys

    np = sys.modules.get("numpy")
    if np is not None and kind is np.ndarray:
        return ["ndarray", *_array(value, budget)]
    if np is not None and kind.__module__ == "numpy" and isinstance(value, np.generic):
        return ["scalar", *_array(np.asarray(value), budget)]
    tf = sys.modules.get("tensorflow")
    if tf is not None and kind.__name__ == "EagerTensor" and isinstance(value, tf.Tensor):
        return ["tensor", *_array(value.numpy(), budget)]
    if tf is not None and kind.__name__ == "ResourceVariable" and isinstance(value, tf.Variable):
        return ["variable", *_array(value.numpy(), budget), value.trainable is True]
    raise _NotPlain("%s.%s" % (kind.__module__, kind.__qualname__))


def _array(array, budget):  # pragma: no cover - also runs inside the kernel
    """``[dtype, shape, base64 bytes]`` of a NumPy array of a plain dtype."""
    import numpy

    dtype = array.dtype
    if dtype.kind not in "biufcSU" or dtype.fields is not None or dtype.subdtype is not None:
        raise _NotPlain("an array of dtype %s" % (dtype,))
    budget[0] -= array.nbytes * 4 // 3
    if budget[0] < 0:
        raise _NotPlain("over the record's size cap")
    return [dtype.str, list(array.shape), _b64(numpy.ascontiguousarray(array).tobytes())]


def _digest(value, budget):  # pragma: no cover - also runs inside the kernel
    """The SHA-256 of ``value``'s canonical encoding: arguments are compared, not kept."""
    import hashlib
    import json

    text = json.dumps(_encode(value, budget), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _b64(data):  # pragma: no cover - also runs inside the kernel
    import base64

    return base64.b64encode(data).decode("ascii")


PLAIN_SOURCE = "\n\n".join(
    textwrap.dedent(inspect.getsource(part)).replace(
        "  # pragma: no cover - also runs inside the kernel", "")
    for part in (_NotPlain, _encode, _encode_simple, _encode_library, _array, _digest, _b64)
)
"""The in-kernel half: ``_NotPlain``, ``_encode`` and its helpers."""


def encode(value: Any, budget: int = RECORD_BYTES) -> list:
    """The plain encoding of ``value`` (raises :class:`_NotPlain` when it is not plain)."""
    return _encode(value, [budget])


def digest(value: Any) -> str:
    """:func:`_digest` of ``value``, as the kernel computes it for a call's arguments."""
    return _digest(value, [ARGUMENT_BYTES])


def canonical(encoded: Any) -> str:
    """One string per encoding, for comparing two of them."""
    return json.dumps(encoded, sort_keys=True, separators=(",", ":"))


def _bytes(text: Any) -> bytes:
    if not isinstance(text, str):
        raise ValueError("expected base64 text")
    return base64.b64decode(text.encode("ascii"), validate=True)


def _dtype(text: Any) -> Any:
    import numpy as np

    if not isinstance(text, str) or len(text) > 16:
        raise ValueError("bad dtype")
    dtype = np.dtype(text)
    if dtype.kind not in _ARRAY_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise ValueError(f"dtype {dtype} is not plain")
    return dtype


def _decode_array(fields: list) -> Any:
    import numpy as np

    dtype_text, shape, data = fields
    dtype = _dtype(dtype_text)
    if (not isinstance(shape, list) or len(shape) > 32
            or not all(type(n) is int and n >= 0 for n in shape)):
        raise ValueError("bad shape")
    raw = _bytes(data)
    count = 1
    for n in shape:
        count *= n
    if count * dtype.itemsize != len(raw):
        raise ValueError("the array's bytes do not match its shape")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def _decode_number(tag: str, fields: list) -> Any:
    if tag == "bool" and type(fields[0]) is bool:
        return fields[0]
    if tag == "int" and type(fields[0]) is int:
        return fields[0]
    if tag == "float" and isinstance(fields[0], str):
        return float.fromhex(fields[0])
    if tag == "complex" and all(isinstance(f, str) for f in fields[:2]):
        return complex(float.fromhex(fields[0]), float.fromhex(fields[1]))
    raise ValueError(f"bad {tag}")


def _decode_tensor(tag: str, fields: list) -> Any:
    import tensorflow as tf

    array = _decode_array(fields[:3])
    if tag == "tensor":
        return tf.constant(array)
    return tf.Variable(array, trainable=fields[3] is True)


def _decode_container(tag: str, fields: list, depth: int) -> Any:
    if len(fields) != 1 or not isinstance(fields[0], list):
        raise ValueError(f"bad {tag}")
    if tag != "dict":
        items = [decode(item, depth + 1) for item in fields[0]]
        return items if tag == "list" else tuple(items)
    if not all(isinstance(pair, list) and len(pair) == 2 for pair in fields[0]):
        raise ValueError("bad dict")
    return {decode(k, depth + 1): decode(v, depth + 1) for k, v in fields[0]}


def _decode_text(tag: str, fields: list) -> Any:
    if len(fields) != 1:
        raise ValueError(f"bad {tag}")
    if tag == "bytes":
        return _bytes(fields[0])
    if not isinstance(fields[0], str):
        raise ValueError("bad str")
    return fields[0]


def decode(encoded: Any, depth: int = 0) -> Any:
    """Rebuild the value an encoding stands for (``ValueError`` for anything malformed)."""
    if not isinstance(encoded, list) or not encoded or not isinstance(encoded[0], str):
        raise ValueError("not an encoded value")
    if depth > MAX_DEPTH:
        raise ValueError("nested too deeply")
    tag, fields = encoded[0], encoded[1:]
    if tag == "none" and not fields:
        return None
    if tag in ("bool", "int", "float", "complex") and fields:
        return _decode_number(tag, fields)
    if tag in ("str", "bytes"):
        return _decode_text(tag, fields)
    if tag in ("list", "tuple", "dict"):
        return _decode_container(tag, fields, depth)
    if tag in ("ndarray", "scalar") and len(fields) == 3:
        array = _decode_array(fields)
        return array if tag == "ndarray" else array[()]
    if tag in ("tensor", "variable") and len(fields) == 3 + (tag == "variable"):
        return _decode_tensor(tag, fields)
    raise ValueError(f"unknown encoding {tag!r}")
