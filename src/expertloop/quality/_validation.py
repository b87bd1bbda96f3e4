"""Small input checks shared by the quality modules."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import numpy.typing as npt

# Array types of the package's public signatures: inputs are anything numpy can turn into an
# array; outputs are numpy arrays.
Array = npt.NDArray[Any]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]


def check_random_state(random_state: Any) -> np.random.Generator:
    """Return a ``np.random.Generator`` from ``None``, an int seed or a Generator.

    ``None`` gives a freshly seeded generator (non-reproducible); pass an int for
    reproducible results.
    """
    if isinstance(random_state, np.random.Generator):
        return random_state
    if random_state is None or isinstance(random_state, numbers.Integral):
        return np.random.default_rng(None if random_state is None else int(random_state))
    raise TypeError(
        f"random_state must be None, an int or a numpy Generator, got {type(random_state).__name__}"
    )


def as_1d(values: Any, name: str = "values") -> Array:
    """Turn an array-like into a 1-D array without copying when possible.

    Sequences of tuples (composite ids) become a 1-D object array of tuples
    instead of a 2-D array.
    """
    arr: Array = np.asarray(values)
    if arr.ndim == 1:
        return arr
    if arr.ndim == 0:
        raise ValueError(f"{name} must be 1-D array-like, got a scalar")
    items = list(values)
    out = np.empty(len(items), dtype=object)
    for i, v in enumerate(items):
        out[i] = v
    return out


def missing_mask(arr: Array) -> npt.NDArray[np.bool_]:
    """True where a value is missing: NaN for float arrays, None or NaN for object arrays."""
    if arr.dtype.kind in "fc":
        return np.isnan(arr)
    if arr.dtype.kind == "O":
        return np.fromiter((v is None or (isinstance(v, float) and v != v) for v in arr),
                           dtype=bool, count=arr.size)
    return np.zeros(arr.shape, dtype=bool)


def check_same_length(**arrays: Any) -> int:
    """Raise if the named arrays do not all have the same length; return it."""
    lengths = {name: len(a) for name, a in arrays.items() if a is not None}
    if len(set(lengths.values())) > 1:
        desc = ", ".join(f"{k}={v}" for k, v in lengths.items())
        raise ValueError(f"inputs must have equal lengths, got {desc}")
    return next(iter(lengths.values()), 0)


def check_confidence(confidence: float) -> float:
    confidence = float(confidence)
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    return confidence


def params_repr(obj: object) -> str:
    """``Name(param=value, ...)`` from the attributes named like constructor params."""
    import inspect

    sig = inspect.signature(type(obj).__init__)
    parts = [
        f"{name}={getattr(obj, name)!r}"
        for name in list(sig.parameters)[1:]
        if hasattr(obj, name)
    ]
    return f"{type(obj).__name__}({', '.join(parts)})"
