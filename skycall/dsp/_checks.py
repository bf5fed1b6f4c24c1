"""Argument checks shared by the DSP wrappers: one clear message per bad input."""

import numpy as np

from skycall.errors import SkycallError


class DspArgumentError(SkycallError, ValueError):
    """A DSP block was given an invalid parameter or input array; the message says what is allowed."""


def positive_int(name: str, value, minimum: int = 1) -> int:
    """Return ``value`` as an int, or raise if it is not an integer ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise DspArgumentError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def positive_float(name: str, value) -> float:
    """Return ``value`` as a finite float > 0, or raise."""
    value = float(value)
    if not np.isfinite(value) or value <= 0.0:
        raise DspArgumentError(f"{name} must be a finite number > 0, got {value!r}")
    return value


def taps_array(taps) -> np.ndarray:
    """Filter taps as a non-empty 1-D float32 (real) or complex64 (complex) contiguous array."""
    arr = np.asarray(taps)
    if arr.ndim != 1 or arr.size == 0:
        raise DspArgumentError(f"taps must be a non-empty 1-D array, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise DspArgumentError("taps must be finite (no NaN/inf)")
    dtype = np.complex64 if np.iscomplexobj(arr) else np.float32
    return np.ascontiguousarray(arr, dtype=dtype)


_COMPLEX64 = np.dtype(np.complex64)


def _is_c64_vector(arr) -> bool:
    """True for a 1-D contiguous complex64 ndarray: the streaming fast path (a few attribute reads)."""
    return type(arr) is np.ndarray and arr.dtype is _COMPLEX64 and arr.ndim == 1 and arr.strides[0] == 8


def complex_input(x) -> np.ndarray:
    """Input samples as a 1-D contiguous complex64 array (no copy when already so)."""
    if _is_c64_vector(x):
        return x
    arr = np.asarray(x)
    if arr.ndim != 1:
        raise DspArgumentError(f"input samples must be a 1-D array, got shape {arr.shape}")
    return np.ascontiguousarray(arr, dtype=np.complex64)


def index_table(name: str, index, values) -> tuple[np.ndarray, np.ndarray]:
    """Validate a piecewise-linear table keyed by absolute sample index.

    ``index`` must be int64, strictly increasing, and as long as ``values`` (finite float64).
    """
    idx = np.asarray(index)
    val = np.asarray(values, dtype=np.float64)
    if idx.ndim != 1 or val.ndim != 1 or idx.size == 0 or idx.size != val.size:
        raise DspArgumentError(
            f"{name}: index and values must be non-empty 1-D arrays of equal length, got {idx.shape} and {val.shape}"
        )
    if not np.issubdtype(idx.dtype, np.integer):
        raise DspArgumentError(f"{name}: index must hold integer absolute sample indices, got {idx.dtype}")
    idx = np.ascontiguousarray(idx, dtype=np.int64)
    if np.any(np.diff(idx) <= 0):
        raise DspArgumentError(f"{name}: index must be strictly increasing")
    if not np.all(np.isfinite(val)):
        raise DspArgumentError(f"{name}: values must be finite (no NaN/inf)")
    return idx, np.ascontiguousarray(val)


def output_array(out, n: int) -> np.ndarray:
    """A complex64 output buffer of length ``n``: ``out`` itself when given (checked), else a new one.

    Reusing ``out`` across calls avoids a fresh allocation (and its page faults) per chunk.
    """
    if out is None:
        return np.empty(n, dtype=np.complex64)
    if not (_is_c64_vector(out) and out.size == n):
        raise DspArgumentError(f"out must be a contiguous complex64 array of shape ({n},)")
    return out
