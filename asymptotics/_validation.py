"""One set of input-validation helpers shared by every model (scikit-learn style).

Every public function validates its inputs here, early, and raises a ``ValueError`` that names the
parameter and its allowed range, instead of letting a NaN or a traceback from deep inside numpy or
scipy reach the user.

Types, in the Python API (the command line parses its text first, see
:mod:`asymptotics.numerics.expressions`): a real parameter is a number (``int``, ``float``, numpy
scalars, ``Fraction``, sympy/mpmath reals) or an array of numbers. Strings (``gamma="0.5"``),
booleans (``gamma=True``) and ``None`` are rejected with a ``ValueError`` naming the parameter --
numpy would silently turn them into ``0.5``, ``1.0`` and NaN. Empty arrays (``n=[]``) are rejected too
(an empty grid is always a mistake), except where a function documents an empty list as valid
(``allow_empty=True``, e.g. a list of kinks).

>>> check_real("lam", -1.0, low=0.0)
Traceback (most recent call last):
...
ValueError: lam must be >= 0, got -1.0
"""
from __future__ import annotations

import numbers

import numpy as np

__all__ = ["check_real", "check_int", "check_array_1d", "check_same_length", "as_output"]


def _fmt_range(low, high, low_open, high_open) -> str:
    parts = []
    if low is not None:
        parts.append(f"{'>' if low_open else '>='} {low:g}")
    if high is not None:
        parts.append(f"{'<' if high_open else '<='} {high:g}")
    return " and ".join(parts)


def _reject_non_numbers(name: str, value) -> None:
    """``ValueError`` for strings, booleans, ``None`` and complex values (alone or inside arrays)."""
    def bad(v):
        return v is None or isinstance(v, (str, bytes, bool, np.bool_))

    if bad(value):
        what = "a string" if isinstance(value, (str, bytes)) else repr(value)
        raise ValueError(f"{name} must be a real number or an array of real numbers, got {what}"
                         + (f" {value!r} (pass a number, e.g. {name}=0.5)" if isinstance(value, (str, bytes)) else ""))
    if isinstance(value, (numbers.Real, np.floating, np.integer)):
        return
    try:
        raw = np.asarray(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number or an array of real numbers, got {value!r}") from None
    if raw.dtype.kind in "USb":
        kind = {"U": "strings", "S": "bytes", "b": "booleans"}[raw.dtype.kind]
        raise ValueError(f"{name} must be real numbers, got an array of {kind}")
    if raw.dtype.kind == "c" or isinstance(value, complex):
        raise ValueError(f"{name} must be real, got a complex value")
    if raw.dtype.kind == "O":
        for v in raw.flat:
            if bad(v) or isinstance(v, complex):
                raise ValueError(f"{name} must be real numbers, got an entry {v!r}")


def check_real(name: str, value, low=None, high=None, *, low_open: bool = False,
               high_open: bool = False, allow_inf: bool = False, allow_empty: bool = False) -> np.ndarray:
    """Return ``value`` as a float array after checking it is real, finite and in range.

    Args:
        name: the parameter's name, used in the error message.
        value: a scalar or array-like.
        low, high: bounds (``None`` for none); closed unless ``low_open``/``high_open``.
        allow_inf: accept ``+inf`` (e.g. an infinite width limit).
        allow_empty: accept an empty array (default: ``ValueError``).

    Strings, booleans and ``None`` are rejected (see the module docstring).

    Returns:
        ``np.asarray(value, dtype=float)`` (a 0-d array for a scalar).

    >>> check_real("gamma", [0.5, 2.0], low=0.0, low_open=True)
    array([0.5, 2. ])
    >>> check_real("gamma", 0.0, low=0.0, low_open=True)
    Traceback (most recent call last):
    ...
    ValueError: gamma must be > 0, got 0.0
    >>> check_real("gamma", "0.5")
    Traceback (most recent call last):
    ...
    ValueError: gamma must be a real number or an array of real numbers, got a string '0.5' (pass a number, e.g. gamma=0.5)
    >>> check_real("gamma", None)
    Traceback (most recent call last):
    ...
    ValueError: gamma must be a real number or an array of real numbers, got None
    """
    _reject_non_numbers(name, value)
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{name} must be a real number or array of real numbers, got {value!r}") from None
    if arr.size == 0 and not allow_empty:
        raise ValueError(f"{name} must not be empty (give at least one value)")
    if np.isnan(arr).any():
        raise ValueError(f"{name} must not be NaN")
    if not allow_inf and np.isinf(arr).any():
        raise ValueError(f"{name} must be finite, got {float(arr[np.isinf(arr)].flat[0])!r}")
    bad = np.zeros(arr.shape, dtype=bool)
    if low is not None:
        bad |= (arr <= low) if low_open else (arr < low)
    if high is not None:
        bad |= (arr >= high) if high_open else (arr > high)
    if bad.any():
        first = float(arr[bad].flat[0]) if arr.ndim else float(arr)
        raise ValueError(f"{name} must be {_fmt_range(low, high, low_open, high_open)}, got {first!r}")
    return arr


def check_int(name: str, value, low=None, high=None) -> int:
    """Return ``value`` as a Python int after checking it is an integer in ``[low, high]``.

    >>> check_int("kmax", 3, low=0)
    3
    >>> check_int("kmax", -1, low=0)
    Traceback (most recent call last):
    ...
    ValueError: kmax must be an integer >= 0, got -1
    """
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)):
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            value = int(value)
        else:
            raise ValueError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{name} must be an integer {_fmt_range(low, high, False, False)}, got {value!r}")
    return value


def check_array_1d(name: str, value, low=None, *, low_open: bool = False,
                   min_length: int = 1) -> np.ndarray:
    """Return a 1-d float array, finite, with entries ``>= low`` (``> low`` if ``low_open``).

    >>> check_array_1d("eigs", [1.0, -2.0], low=0.0)
    Traceback (most recent call last):
    ...
    ValueError: eigs must be >= 0, got -2.0
    """
    arr = check_real(name, value, low=low, low_open=low_open, allow_empty=True)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-d array, got shape {arr.shape}")
    if arr.size < min_length:
        raise ValueError(f"{name} must have at least {min_length} entries, got {arr.size}")
    return arr


def check_same_length(**arrays) -> None:
    """Raise ``ValueError`` unless the given 1-d arrays have equal lengths.

    >>> check_same_length(eigs=[1, 2], beta2=[1])
    Traceback (most recent call last):
    ...
    ValueError: eigs and beta2 must have the same length, got 2 and 1
    """
    names = list(arrays)
    lengths = [len(np.atleast_1d(arrays[k])) for k in names]
    if len(set(lengths)) > 1:
        raise ValueError(f"{' and '.join(names)} must have the same length, got "
                         f"{' and '.join(map(str, lengths))}")


def as_output(arr):
    """A 0-d result as a Python float (or the object it holds), an n-d result as the array itself.

    >>> as_output(np.asarray(2.0)), as_output(np.array([1.0]))
    (2.0, array([1.]))
    """
    arr = np.asarray(arr) if not np.ma.isMaskedArray(arr) else arr
    if arr.ndim == 0 and not np.ma.isMaskedArray(arr):
        return arr.item()
    return arr
