"""Named activation functions, and user-supplied ones, in the three forms the toolkit needs.

An :class:`Activation` carries one function ``sigma`` as

* a **sympy** expression in the real symbol :data:`SYMBOL` (``None`` for a plain user callable),
* an **mpmath** callable (one ``mpf`` in, one ``mpf`` out, at the caller's working precision),
  used by the arbitrary-precision Gaussian quadrature of :mod:`asymptotics.expansions.hermite`,
* a **numpy** callable (vectorized), used by the Monte Carlo witnesses in :mod:`theory_checks`,

together with its **kinks** (points where ``sigma`` or a derivative jumps; the quadrature splits
its integrals there) and, when ``sigma`` is differentiable with an honest function as derivative,
``sigma'`` in mpmath and numpy form (used for ``E[sigma'(u) sigma'(v)]`` and the NTK).

Named activations (``ACTIVATIONS``; parameters in brackets, with their defaults):

============== ================================================ =========================
name           sigma(x)                                          Hermite coefficients
============== ================================================ =========================
``relu``       ``max(x, 0)``                                     exact (closed form)
``leaky_relu`` ``x`` if ``x > 0`` else ``slope * x``  [slope=1/100] exact (closed form)
``abs``        ``|x|``                                           exact (closed form)
``sign``       ``sign(x)`` (``sign(0) = 0``)                     exact (closed form)
``step``       ``1{x > 0}`` (Heaviside, ``step(0) = 0``)         exact (closed form)
``relu_p``     ``max(x, 0)**p``, integer ``1 <= p <= 100`` [p=2] exact (closed form)
``erf``        ``erf(a x)``, ``a > 0``  [a=1]                    exact (closed form)
``exp``        ``exp(a x)``, real ``a``  [a=1]                   exact (closed form)
``sin``        ``sin(a x)``, real ``a``  [a=1]                   exact (closed form)
``cos``        ``cos(a x)``, real ``a``  [a=1]                   exact (closed form)
``identity``   ``x``                                             exact (closed form)
``quad``       ``x**2``                                          exact (closed form)
``poly``       ``sum_m coeffs[m] x**m`` (lowest first, deg<=100) exact (closed form)
``gelu``       ``x Phi(x)``, ``Phi`` the standard normal CDF     exact (closed form)
``tanh``       ``tanh(x)``                                       mpmath quadrature
``sigmoid``    ``1 / (1 + exp(-x))``                             mpmath quadrature
``softplus``   ``log(1 + exp(x))``                               mpmath quadrature
``silu``       ``x / (1 + exp(-x))`` (swish)                     mpmath quadrature
============== ================================================ =========================

Aliases: ``linear`` -> ``identity``, ``heaviside`` -> ``step``, ``polynomial`` -> ``poly``,
``quadratic`` -> ``quad``, ``swish`` -> ``silu``, and ``relu2``/``relu3`` -> ``relu_p`` with
``p = 2``/``3``.

**Name rules.** Names are case-insensitive, surrounding blanks are ignored and ``-`` is read as
``_``: ``"RELU"``, ``" ReLU "`` and ``"Leaky-ReLU"`` are ``relu`` and ``leaky_relu``. The canonical
name (``Activation.name``) is always the lower-case one of the table. Any other string raises a
``ValueError`` listing the known names; a value that is not a string, a callable, a sympy
expression or an ``Activation`` (``None``, a number, bytes, a list) raises a ``ValueError`` too.
Parameters must be real numbers (``a``, ``slope``; an exact string such as ``"1/3"`` is read
exactly), an integer (``p``) or a 1-d sequence of real numbers (``coeffs``); ``None``, booleans,
complex numbers, NaN, infinities and arrays are refused with a ``ValueError`` naming the parameter.

>>> get_activation("RELU") is get_activation("relu"), get_activation("Leaky-ReLU").name
(True, 'leaky_relu')
>>> get_activation("erf", a=None)
Traceback (most recent call last):
...
ValueError: a must be a real number, got None

Parameters are stored **exactly** (sympy numbers): an int stays an integer, a ``Fraction`` or a
sympy number is kept, and a float is read as the decimal it prints as (``0.1`` means ``1/10``),
so that the exact Hermite coefficients are exact in the number the user typed.

>>> act = get_activation("relu")
>>> act.sympy_form
Max(0, x)
>>> act.kinks
(0.0,)
>>> get_activation("erf", a=0.5).params
(('a', 1/2),)
>>> float(get_activation("leaky_relu", slope=0.2).np_func(-1.0))
-0.2
>>> get_activation("swish").name
'silu'
>>> get_activation("softmax")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
ValueError: unknown activation 'softmax'; known activations are: relu, leaky_relu, abs, ...
"""
from __future__ import annotations

import functools
import math
import numbers
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable

import mpmath
import numpy as np
import scipy.special
import sympy

from asymptotics._validation import check_array_1d, check_int, check_real
from asymptotics.numerics.expressions import parse_number

__all__ = ["Activation", "ACTIVATIONS", "ALIASES", "PARAM_ALIASES", "SYMBOL", "get_activation"]

#: The real symbol in which every ``Activation.sympy_form`` is written.
SYMBOL = sympy.Symbol("x", real=True)

#: Canonical names of the named activations, in the order of the table above.
ACTIVATIONS: tuple[str, ...] = (
    "relu", "leaky_relu", "abs", "sign", "step", "relu_p", "erf", "exp", "sin", "cos",
    "identity", "quad", "poly", "gelu", "tanh", "sigmoid", "softplus", "silu",
)

#: Alternative spellings accepted by :func:`get_activation`.
ALIASES: dict[str, str] = {
    "linear": "identity", "heaviside": "step", "polynomial": "poly", "quadratic": "quad",
    "swish": "silu",
}

#: Short names that fix a parameter: ``relu2`` is ``relu_p`` with ``p = 2``, ``relu3`` with ``p = 3``.
PARAM_ALIASES: dict[str, tuple[str, dict]] = {"relu2": ("relu_p", {"p": 2}), "relu3": ("relu_p", {"p": 3})}


@dataclass(frozen=True)
class Activation:
    """One activation function in sympy, mpmath and numpy form, with its kinks.

    Instances are immutable and hashable; ``get_activation`` returns the *same* object for the
    same name and parameters, so results can be cached on it.

    Attributes:
        name: canonical name (``"relu"``) or, for a user function, its ``__name__`` / given name.
        params: the parameters as a tuple of ``(name, exact sympy value)`` pairs, e.g.
            ``(("a", 1/2),)``; ``()`` when there are none.
        sympy_form: ``sigma`` as a sympy expression in :data:`SYMBOL`, or ``None``.
        mp_func: ``sigma`` for one ``mpmath.mpf`` argument, evaluated at the caller's working
            precision.
        np_func: ``sigma`` vectorized over numpy arrays.
        kinks: points where ``sigma`` or one of its derivatives jumps (sorted floats); the
            quadrature splits its integrals there.
        mp_derivative, np_derivative: ``sigma'`` in the two numeric forms, or ``None`` when
            ``sigma'`` is not a function (``sign``, ``step``: a Dirac mass) or unknown.
        kind: ``"named"`` (from the registry), ``"callable"`` (a user function) or ``"sympy"``
            (a user sympy expression).
        max_precision: the largest number of correct digits the numeric forms can deliver
            (``14`` for a float-only user function), or ``None`` for unlimited.
        doc: one line stating the exact form; it is also the instance's ``__doc__``.
    """

    name: str
    params: tuple = ()
    sympy_form: sympy.Expr | None = None
    mp_func: Callable | None = None
    np_func: Callable | None = None
    kinks: tuple = ()
    mp_derivative: Callable | None = None
    np_derivative: Callable | None = None
    kind: str = "named"
    max_precision: int | None = None
    doc: str = field(default="", compare=False)

    def __post_init__(self):
        if self.doc:
            object.__setattr__(self, "__doc__", self.doc)

    @property
    def param_dict(self) -> dict:
        """The parameters as a ``dict`` (exact sympy values; tuples for ``poly`` coefficients)."""
        return dict(self.params)

    def __repr__(self) -> str:
        ps = ", ".join(f"{k}={_fmt_param(v)}" for k, v in self.params)
        return f"Activation({self.name!r}{', ' if ps else ''}{ps})"


def _fmt_param(v) -> str:
    if isinstance(v, tuple):
        return "(" + ", ".join(str(t) for t in v) + ")"
    return str(v)


# ----------------------------------------------------------------------------------------------
# Exact parameters
# ----------------------------------------------------------------------------------------------
def to_exact(name: str, value, low=None, *, low_open: bool = False, nonzero: bool = False):
    """Return ``value`` as an exact sympy real number, validated like ``check_real``.

    Ints stay integers, ``Fraction`` and sympy numbers are kept, strings are parsed by sympy
    (``"1/3"``), and floats are read as the decimal they print as (``0.1`` -> ``1/10``).

    >>> to_exact("a", 0.1)
    1/10
    >>> to_exact("a", "1/3")
    1/3
    >>> to_exact("a", -2, low=0, low_open=True)
    Traceback (most recent call last):
    ...
    ValueError: a must be > 0, got -2.0
    """
    if isinstance(value, (bool, np.bool_)) or value is None:
        raise ValueError(f"{name} must be a real number, got {value!r}")
    if isinstance(value, str):
        try:  # a whitelist parser, never eval (asymptotics.numerics.expressions)
            exact = parse_number(value, name=name)
        except ValueError as e:
            raise ValueError(f"{name} must be a real number, got {value!r} ({str(e).split(': ', 1)[-1]})") from None
    elif isinstance(value, sympy.Basic):
        exact = value
    elif isinstance(value, (numbers.Integral, np.integer)):
        exact = sympy.Integer(int(value))
    elif isinstance(value, Fraction):
        exact = sympy.Rational(value.numerator, value.denominator)
    else:
        arr = check_real(name, value)
        if arr.ndim != 0:
            raise ValueError(f"{name} must be a scalar, got an array of shape {arr.shape}")
        exact = sympy.Rational(repr(float(arr)))
    if not (isinstance(exact, sympy.Expr) and exact.is_number and exact.is_extended_real):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    if not exact.is_finite:
        raise ValueError(f"{name} must be finite, got {value!r}")
    if exact != 0 and float(exact) == 0:
        raise ValueError(f"{name} must be 0 or of magnitude >= 5e-324 (the float64 range), got {value!r}")
    check_real(name, float(exact), low=low, low_open=low_open)
    if nonzero and exact == 0:
        raise ValueError(f"{name} must be nonzero, got {value!r}")
    return exact


def _mp_of(v):
    """An exact sympy number as an ``mpf`` at the current mpmath precision."""
    if isinstance(v, sympy.Integer):
        return mpmath.mpf(int(v))
    if isinstance(v, sympy.Rational):
        return mpmath.mpf(int(v.p)) / int(v.q)
    return mpmath.mpf(str(sympy.N(v, mpmath.mp.dps + 10)))


# ----------------------------------------------------------------------------------------------
# Numeric building blocks (module level so that equal parameters give equal objects)
# ----------------------------------------------------------------------------------------------
_ZERO = mpmath.mpf(0)


def _mp_relu(x):
    return x if x > 0 else _ZERO


def _mp_step(x):
    return mpmath.mpf(1) if x > 0 else _ZERO


def _mp_sign(x):
    return mpmath.mpf(mpmath.sign(x))


def _mp_abs(x):
    return abs(x)


def _np_step(x):
    return np.where(np.asarray(x) > 0, 1.0, 0.0)


def _np_relu(x):
    return np.maximum(np.asarray(x, dtype=float), 0.0)


def _np_abs(x):
    return np.abs(np.asarray(x, dtype=float))


def _np_sign(x):
    return np.sign(np.asarray(x, dtype=float))


def _mp_sigmoid(x):
    return 1 / (1 + mpmath.exp(-x))


def _mp_sigmoid_prime(x):
    s = _mp_sigmoid(x)
    return s * (1 - s)


def _np_sigmoid_prime(x):
    s = scipy.special.expit(x)
    return s * (1 - s)


def _mp_softplus(x):
    # log(1 + e^x) = x + log(1 + e^-x) for x > 0 (no loss of relative precision either way)
    return x + mpmath.log1p(mpmath.exp(-x)) if x > 0 else mpmath.log1p(mpmath.exp(x))


def _np_softplus(x):
    return np.logaddexp(0.0, x)


def _mp_tanh_prime(x):
    return 1 / mpmath.cosh(x) ** 2


def _np_tanh_prime(x):
    return 1.0 / np.cosh(np.clip(x, -350, 350)) ** 2


def _mp_gelu(x):
    return x * mpmath.ncdf(x)


def _np_gelu(x):
    return x * scipy.special.ndtr(x)


def _mp_gelu_prime(x):
    return mpmath.ncdf(x) + x * mpmath.npdf(x)


def _np_gelu_prime(x):
    x = np.asarray(x, dtype=float)
    return scipy.special.ndtr(x) + x * np.exp(-0.5 * np.minimum(x * x, 1e4)) / math.sqrt(2 * math.pi)


def _mp_silu(x):
    return x * _mp_sigmoid(x)


def _np_silu(x):
    return x * scipy.special.expit(x)


def _mp_silu_prime(x):
    s = _mp_sigmoid(x)
    return s * (1 + x * (1 - s))


def _np_silu_prime(x):
    s = scipy.special.expit(x)
    return s * (1 + x * (1 - s))


def _np_tanh(x):
    return np.tanh(x)


class _Fn:
    """``sigma(x) = f(a x)`` or its derivative for ``f`` in erf/exp/sin/cos, on mpf or numpy input.

    Hashable by ``(kind, a)`` so that equal parameters give equal activations.
    """

    __slots__ = ("kind", "a", "_fa")

    def __init__(self, kind: str, a):
        self.kind, self.a, self._fa = kind, a, float(a)

    def __eq__(self, other):
        return type(other) is _Fn and (self.kind, self.a) == (other.kind, other.a)

    def __hash__(self):
        return hash((self.kind, self.a))

    def __call__(self, x):
        if isinstance(x, mpmath.mpf):
            a = _mp_of(self.a)
            y = a * x
            k = self.kind
            if k == "erf":
                return mpmath.erf(y)
            if k == "erf'":
                return 2 * a / mpmath.sqrt(mpmath.pi) * mpmath.exp(-y * y)
            if k == "exp":
                return mpmath.exp(y)
            if k == "exp'":
                return a * mpmath.exp(y)
            if k == "sin":
                return mpmath.sin(y)
            if k == "sin'":
                return a * mpmath.cos(y)
            if k == "cos":
                return mpmath.cos(y)
            if k == "cos'":
                return -a * mpmath.sin(y)
            raise AssertionError(k)  # pragma: no cover
        a = self._fa
        y = a * np.asarray(x, dtype=float)
        k = self.kind
        if k == "erf":
            return scipy.special.erf(y)
        if k == "erf'":
            return 2 * a / math.sqrt(math.pi) * np.exp(-np.minimum(y * y, 1e4))
        if k == "exp":
            return np.exp(y)
        if k == "exp'":
            return a * np.exp(y)
        if k == "sin":
            return np.sin(y)
        if k == "sin'":
            return a * np.cos(y)
        if k == "cos":
            return np.cos(y)
        if k == "cos'":
            return -a * np.sin(y)
        raise AssertionError(k)  # pragma: no cover


class _Poly:
    """A polynomial with exact coefficients (lowest degree first), callable on mpf and numpy."""

    __slots__ = ("coeffs", "_fc")

    def __init__(self, coeffs):
        self.coeffs = tuple(coeffs)
        self._fc = [float(c) for c in self.coeffs]

    def __eq__(self, other):
        return type(other) is _Poly and self.coeffs == other.coeffs

    def __hash__(self):
        return hash(("poly", self.coeffs))

    def __call__(self, x):
        if isinstance(x, (mpmath.mpf, mpmath.mpc)):
            acc = _ZERO
            for c in reversed(self.coeffs):
                acc = acc * x + _mp_of(c)
            return acc
        x = np.asarray(x, dtype=float)
        acc = np.zeros_like(x)
        for c in reversed(self._fc):
            acc = acc * x + c
        return acc

    def derivative(self) -> "_Poly":
        d = tuple(m * c for m, c in enumerate(self.coeffs))[1:]
        return _Poly(d or (sympy.Integer(0),))


class _PowerFamily:
    """``alpha_plus * max(x,0)**p + alpha_minus * max(-x,0)**p`` (``p = 0``: Heaviside steps)."""

    __slots__ = ("p", "ap", "am", "_fap", "_fam")

    def __init__(self, p, ap, am):
        self.p, self.ap, self.am = p, ap, am
        self._fap, self._fam = float(ap), float(am)

    def __eq__(self, other):
        return type(other) is _PowerFamily and (self.p, self.ap, self.am) == (other.p, other.ap, other.am)

    def __hash__(self):
        return hash(("power", self.p, self.ap, self.am))

    def __call__(self, x):
        p = self.p
        if isinstance(x, mpmath.mpf):
            if x > 0:
                return _mp_of(self.ap) * x ** p
            if x < 0:
                return _mp_of(self.am) * (-x) ** p
            return _ZERO
        x = np.asarray(x, dtype=float)
        pos = np.where(x > 0, np.abs(x) ** p if p else 1.0, 0.0)
        neg = np.where(x < 0, np.abs(x) ** p if p else 1.0, 0.0)
        return self._fap * pos + self._fam * neg

    def derivative(self):
        if self.p == 0:
            return None
        return _PowerFamily(self.p - 1, self.p * self.ap, -self.p * self.am)


# ----------------------------------------------------------------------------------------------
# Registry
# ----------------------------------------------------------------------------------------------
_PARAM_SPECS = {
    # name: {param: (default, validator)}
    "leaky_relu": {"slope": sympy.Rational(1, 100)},
    "relu_p": {"p": 2},
    "erf": {"a": 1},
    "exp": {"a": 1},
    "sin": {"a": 1},
    "cos": {"a": 1},
    "poly": {"coeffs": None},
}


#: Largest power ``p`` of ``relu_p`` and degree of ``poly``: ``E relu(G)^(2p)`` passes the float64
#: range near ``p = 150`` (and ``E poly^2`` near degree 150 for unit coefficients), and the exact
#: closed forms need factorials of ``2p``.
_MAX_P = 100
_MAX_POLY_DEGREE = 100


def _canonical_name(name: str) -> str:
    key = name.strip().lower().replace("-", "_")
    key = ALIASES.get(key, key)
    if key in PARAM_ALIASES:
        return key
    if key not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; known activations are: {', '.join(ACTIVATIONS)}"
                         f" (aliases: {', '.join(f'{k}={v}' for k, v in ALIASES.items())}, relu2, relu3), "
                         "or pass a callable or a sympy expression")
    return key


def _normalize_params(name: str, params: dict) -> tuple:
    spec = _PARAM_SPECS.get(name, {})
    unknown = sorted(set(params) - set(spec))
    if unknown:
        allowed = ", ".join(spec) if spec else "none"
        raise ValueError(f"activation {name!r} got unknown parameter(s) {', '.join(unknown)}; "
                         f"allowed parameters: {allowed}")
    out = []
    for key, default in spec.items():
        value = params.get(key, default)
        if key == "coeffs":
            if value is None:
                raise ValueError("activation 'poly' requires coeffs=[a0, a1, ...] (lowest degree first)")
            if isinstance(value, (str, sympy.Basic)) or np.ndim(value) != 1:
                raise ValueError(f"coeffs must be a 1-d sequence of real numbers, got {value!r}")
            check_array_1d("coeffs", [float(to_exact("coeffs", c)) for c in value])
            exact = [to_exact("coeffs", c) for c in value]
            while len(exact) > 1 and exact[-1] == 0:
                exact.pop()
            if len(exact) > _MAX_POLY_DEGREE + 1:
                raise ValueError(f"coeffs must have at most {_MAX_POLY_DEGREE + 1} entries (degree <= "
                                 f"{_MAX_POLY_DEGREE}) after trailing zeros, got {len(exact)}")
            out.append(("coeffs", tuple(exact)))
        elif key == "p":
            out.append(("p", sympy.Integer(check_int("p", value, low=1, high=_MAX_P))))
        elif key == "a" and name == "erf":
            out.append(("a", to_exact("a", value, low=0, low_open=True)))
        elif key == "slope":
            out.append(("slope", to_exact("slope", value)))
        else:
            out.append((key, to_exact(key, value)))
    return tuple(out)


@functools.lru_cache(maxsize=512)
def _named(name: str, params: tuple) -> Activation:
    x = SYMBOL
    P = dict(params)
    if name == "relu":
        return Activation("relu", (), sympy.Max(x, 0), _mp_relu, _np_relu, (0.0,), _mp_step, _np_step,
                          doc="relu(x) = max(x, 0); relu'(x) = 1{x > 0}.")
    if name == "abs":
        return Activation("abs", (), sympy.Abs(x), _mp_abs, _np_abs, (0.0,), _mp_sign, _np_sign,
                          doc="abs(x) = |x|; abs'(x) = sign(x).")
    if name == "sign":
        return Activation("sign", (), sympy.sign(x), _mp_sign, _np_sign, (0.0,), None, None,
                          doc="sign(x) = x/|x|, sign(0) = 0; sign' = 2 delta is not a function.")
    if name == "step":
        return Activation("step", (), sympy.Heaviside(x, 0), _mp_step, _np_step, (0.0,), None, None,
                          doc="step(x) = 1{x > 0} (Heaviside, step(0) = 0); step' = delta is not a function.")
    if name == "leaky_relu":
        a = P["slope"]
        fam = _PowerFamily(1, sympy.Integer(1), -a)
        der = fam.derivative()
        return Activation("leaky_relu", params, sympy.Piecewise((x, x > 0), (a * x, True)), fam, fam,
                          (0.0,), der, der, doc=f"leaky_relu(x) = x if x > 0 else slope*x, with slope = {a}.")
    if name == "relu_p":
        p = int(P["p"])
        fam = _PowerFamily(p, sympy.Integer(1), sympy.Integer(0))
        der = fam.derivative()
        return Activation("relu_p", params, sympy.Max(x, 0) ** p, fam, fam, (0.0,), der, der,
                          doc=f"relu_p(x) = max(x, 0)**{p}.")
    if name == "erf":
        a = P["a"]
        return Activation("erf", params, sympy.erf(a * x), _Fn("erf", a), _Fn("erf", a), (),
                          _Fn("erf'", a), _Fn("erf'", a),
                          doc=f"erf(a x) with a = {a}; erf(t) = (2/sqrt(pi)) int_0^t exp(-s^2) ds.")
    if name in ("exp", "sin", "cos"):
        a = P["a"]
        form = {"exp": sympy.exp, "sin": sympy.sin, "cos": sympy.cos}[name](a * x)
        return Activation(name, params, form, _Fn(name, a), _Fn(name, a), (), _Fn(name + "'", a),
                          _Fn(name + "'", a), doc=f"{name}(a x) with a = {a}.")
    if name in ("identity", "quad", "poly"):
        coeffs = {"identity": (sympy.Integer(0), sympy.Integer(1)),
                  "quad": (sympy.Integer(0), sympy.Integer(0), sympy.Integer(1))}.get(name)
        if coeffs is None:
            coeffs = P["coeffs"]
        poly = _Poly(coeffs)
        form = sympy.Add(*[c * x ** m for m, c in enumerate(coeffs)])
        der = poly.derivative()
        doc = {"identity": "identity(x) = x.", "quad": "quad(x) = x**2."}.get(
            name, f"poly(x) = {form} (coefficients lowest degree first).")
        return Activation(name, params, form, poly, poly, (), der, der, doc=doc)
    if name == "gelu":
        form = x * (1 + sympy.erf(x / sympy.sqrt(2))) / 2
        return Activation("gelu", (), form, _mp_gelu, _np_gelu, (), _mp_gelu_prime, _np_gelu_prime,
                          doc="gelu(x) = x Phi(x) = x (1 + erf(x/sqrt 2))/2 (the exact GELU, not the tanh "
                              "approximation).")
    if name == "tanh":
        return Activation("tanh", (), sympy.tanh(x), mpmath.tanh, _np_tanh, (), _mp_tanh_prime,
                          _np_tanh_prime, doc="tanh(x); tanh'(x) = 1 - tanh(x)^2.")
    if name == "sigmoid":
        return Activation("sigmoid", (), 1 / (1 + sympy.exp(-x)), _mp_sigmoid, scipy.special.expit, (),
                          _mp_sigmoid_prime, _np_sigmoid_prime, doc="sigmoid(x) = 1/(1 + exp(-x)).")
    if name == "softplus":
        return Activation("softplus", (), sympy.log(1 + sympy.exp(x)), _mp_softplus, _np_softplus, (),
                          _mp_sigmoid, scipy.special.expit, doc="softplus(x) = log(1 + exp(x)).")
    if name == "silu":
        return Activation("silu", (), x / (1 + sympy.exp(-x)), _mp_silu, _np_silu, (), _mp_silu_prime,
                          _np_silu_prime, doc="silu(x) = x sigmoid(x) = x/(1 + exp(-x)) (swish).")
    raise AssertionError(name)  # pragma: no cover


# ----------------------------------------------------------------------------------------------
# User functions
# ----------------------------------------------------------------------------------------------
_PROBES = ("0.3183098861837906715377675267450287", "-0.7071067811865475244008443621048490",
           "1.6180339887498948482045868343656381", "-2.718281828459045235360287471352662")


def _as_real_mpf(y, where):
    """Convert one function value to an mpf, refusing complex, non-numeric and non-finite values."""
    if isinstance(y, mpmath.mpf):
        out = y
    elif isinstance(y, mpmath.mpc):
        if y.imag != 0:
            raise ValueError(f"activation returned a complex value {y} at {where}")
        out = y.real
    elif isinstance(y, (bool, np.bool_)):
        out = mpmath.mpf(int(y))
    elif isinstance(y, (numbers.Integral, np.integer)):
        out = mpmath.mpf(int(y))
    elif isinstance(y, (numbers.Real, np.floating)) or (isinstance(y, np.ndarray) and y.shape == ()):
        out = mpmath.mpf(float(y))
    elif isinstance(y, sympy.Expr) and y.is_number:
        out = mpmath.mpf(str(sympy.N(y, mpmath.mp.dps + 5)))
    else:
        raise ValueError(f"activation returned {y!r} (type {type(y).__name__}) at {where}; "
                         "it must return one real number")
    if not mpmath.isfinite(out):
        raise ValueError(f"activation is not finite at {where} (value {out}); a Hermite expansion needs "
                         "sigma to be finite and square-integrable under the Gaussian")
    return out


class _UserMp:
    """Wrap a user function for mpf input: native mpmath, or float-only (evaluated in double)."""

    __slots__ = ("f", "float_only")

    def __init__(self, f, float_only: bool):
        self.f, self.float_only = f, float_only

    def __eq__(self, other):
        return type(other) is _UserMp and self.f is other.f and self.float_only == other.float_only

    def __hash__(self):
        return hash((id(self.f), self.float_only))

    def __call__(self, x):
        where = f"x = {mpmath.nstr(x, 17)}"
        try:
            if self.float_only:
                with np.errstate(all="ignore"):
                    y = self.f(float(x))
            else:
                y = self.f(x)
        except (ArithmeticError, ValueError, TypeError, OverflowError) as exc:
            raise ValueError(f"activation raised {type(exc).__name__}: {exc} at {where}") from None
        return _as_real_mpf(y, where)


class _UserNp:
    """Wrap a user function for numpy input: vectorized if it accepts arrays, else elementwise."""

    __slots__ = ("f", "vectorized")

    def __init__(self, f, vectorized: bool):
        self.f, self.vectorized = f, vectorized

    def __eq__(self, other):
        return type(other) is _UserNp and self.f is other.f and self.vectorized == other.vectorized

    def __hash__(self):
        return hash((id(self.f), self.vectorized))

    def __call__(self, x):
        x = np.asarray(x, dtype=float)
        if self.vectorized:
            return np.asarray(self.f(x), dtype=float)
        flat = [float(self.f(float(t))) for t in x.ravel()]
        return np.asarray(flat, dtype=float).reshape(x.shape)


def _classify(f, label: str) -> bool:
    """Return ``float_only`` for a user function: False if it computes in mpmath precision."""
    float_only = False
    with mpmath.workdps(34):
        for p in _PROBES:
            x = mpmath.mpf(p)
            try:
                y = f(x)
            except (TypeError, AttributeError):
                float_only = True
                break
            except (ArithmeticError, ValueError) as exc:
                raise ValueError(f"{label} raised {type(exc).__name__}: {exc} at x = {p[:8]}") from None
            if isinstance(y, mpmath.mpc) and y.imag == 0:
                y = y.real
            if isinstance(y, (numbers.Real, np.floating, np.ndarray)) and not isinstance(
                    y, (mpmath.mpf, numbers.Integral, np.integer, np.bool_)):
                if not float(np.asarray(y, dtype=float)).is_integer():
                    float_only = True
                    break
    if float_only:
        try:
            with np.errstate(all="ignore"):
                _as_real_mpf(f(float(mpmath.mpf(_PROBES[0]))), f"x = {_PROBES[0][:8]}")
        except (ArithmeticError, ValueError, TypeError, AttributeError) as exc:
            raise ValueError(f"{label} cannot be evaluated at a real number: {exc}") from None
    return float_only


def _accepts_arrays(f) -> bool:
    x = np.array([-1.25, -0.5, 0.25, 1.5])
    try:
        with np.errstate(all="ignore"):
            y = np.asarray(f(x), dtype=float)
    except Exception:  # noqa: BLE001 - any failure means "not vectorized"; fall back to a loop
        return False
    return y.shape == x.shape


def _check_kinks(kinks) -> tuple:
    arr = check_real("kinks", kinks if np.ndim(kinks) else [kinks], allow_empty=True)
    if arr.ndim != 1:
        raise ValueError(f"kinks must be a 1-d sequence of real numbers, got shape {arr.shape}")
    return tuple(sorted({float(k) for k in arr}))


def _from_callable(f, kinks=(), name=None, derivative=None) -> Activation:
    kinks = _check_kinks(kinks)
    float_only = _classify(f, "activation")
    mp_der = np_der = None
    if derivative is not None:
        if not callable(derivative):
            raise ValueError(f"derivative must be a callable, got {derivative!r}")
        mp_der = _UserMp(derivative, _classify(derivative, "derivative"))
        np_der = _UserNp(derivative, _accepts_arrays(derivative))
        float_only = float_only or mp_der.float_only
    label = name if name is not None else getattr(f, "__name__", "custom")
    return Activation(str(label), (), None, _UserMp(f, float_only), _UserNp(f, _accepts_arrays(f)), kinks,
                      mp_der, np_der, kind="callable", max_precision=14 if float_only else None,
                      doc=f"user function {label!r} ({'double precision only' if float_only else 'mpmath'}); "
                          f"kinks at {list(kinks)}.")


def _sympy_kinks(expr, x) -> set:
    """Real roots where Abs/sign/Heaviside/Max/Min/Piecewise switch, when those are polynomial."""
    found = set()

    def roots_of(u):
        try:
            poly = sympy.Poly(u, x)
        except sympy.PolynomialError:
            return
        if poly.degree() < 1 or poly.degree() > 8:
            return
        for r in poly.real_roots():
            found.add(float(r))

    for sub in sympy.preorder_traversal(expr):
        if isinstance(sub, (sympy.Abs, sympy.sign, sympy.Heaviside)):
            roots_of(sub.args[0])
        elif isinstance(sub, (sympy.Max, sympy.Min)):
            args = sub.args
            for i in range(len(args)):
                for j in range(i + 1, len(args)):
                    roots_of(args[i] - args[j])
        elif isinstance(sub, sympy.Piecewise):
            for _, cond in sub.args:
                if isinstance(cond, sympy.core.relational.Relational):
                    roots_of(cond.lhs - cond.rhs)
    return found


@functools.lru_cache(maxsize=128)
def _from_sympy(expr, kinks: tuple, name) -> Activation:
    free = sorted(expr.free_symbols, key=str)
    if len(free) > 1:
        raise ValueError(f"a sympy activation must have one free symbol, got {free}")
    if free:
        expr = expr.subs(free[0], SYMBOL)
    x = SYMBOL
    all_kinks = tuple(sorted(set(kinks) | _sympy_kinks(expr, x)))
    mp_raw = sympy.lambdify(x, expr, modules="mpmath")
    np_raw = sympy.lambdify(x, expr, modules=["scipy", "numpy"])
    der = sympy.diff(expr, x)
    mp_der = np_der = None
    if not der.has(sympy.DiracDelta):
        mp_der = _UserMp(sympy.lambdify(x, der, modules="mpmath"), False)
        np_der = _UserNp(sympy.lambdify(x, der, modules=["scipy", "numpy"]), True)
    return Activation(str(name) if name is not None else str(expr), (), expr, _UserMp(mp_raw, False),
                      _UserNp(np_raw, True), all_kinks, mp_der, np_der, kind="sympy",
                      doc=f"user sympy expression sigma(x) = {expr}; kinks at {list(all_kinks)}.")


def get_activation(name_or_callable, **params) -> Activation:
    """Return an :class:`Activation` from a registry name, a callable or a sympy expression.

    Args:
        name_or_callable: one of ``ACTIVATIONS`` (or an alias), an ``Activation`` (returned as
            is), a sympy expression in one real symbol, or a Python callable of one argument.
            A callable should accept an ``mpmath.mpf`` and compute in mpmath (then any precision
            is available); one that only works on floats (``numpy.tanh``, ``math.tanh``) is
            accepted but limited to 14 digits (``max_precision = 14``).
        **params: for a name, its parameters (``a`` for erf/exp/sin/cos, ``p`` for relu_p,
            ``slope`` for leaky_relu, ``coeffs`` for poly); for a callable, ``kinks`` (points
            where sigma or a derivative jumps), ``name`` and ``derivative`` (sigma', optional);
            for a sympy expression, ``kinks`` (added to those found in Abs/Max/Heaviside/
            Piecewise) and ``name``.

    Returns:
        The activation; the same object for the same registry name and parameters.

    Raises:
        ValueError: unknown name (the message lists the known ones), unknown or out-of-range
            parameter, or a callable that cannot be evaluated at a real number.

    >>> get_activation("relu_p", p=3)
    Activation('relu_p', p=3)
    >>> get_activation("poly", coeffs=[1, 0, "1/2"]).sympy_form
    x**2/2 + 1
    >>> import mpmath
    >>> shifted = get_activation(lambda t: max(t - 1, 0), kinks=[1], name="shifted_relu")
    >>> shifted.kinks, shifted.max_precision
    ((1.0,), None)
    >>> get_activation("erf", a=-1)
    Traceback (most recent call last):
    ...
    ValueError: a must be > 0, got -1.0
    """
    if isinstance(name_or_callable, Activation):
        if params:
            raise ValueError("parameters cannot be combined with an Activation instance; "
                             "call get_activation(name, **params) instead")
        return name_or_callable
    if isinstance(name_or_callable, str):
        name = _canonical_name(name_or_callable)
        if name in PARAM_ALIASES:
            if params:
                raise ValueError(f"activation {name!r} takes no parameters (it is {PARAM_ALIASES[name][0]!r} "
                                 f"with {PARAM_ALIASES[name][1]}); call get_activation({PARAM_ALIASES[name][0]!r}, "
                                 "...) instead")
            name, params = PARAM_ALIASES[name]
        return _named(name, _normalize_params(name, params))
    allowed = {"kinks", "name", "derivative"}
    unknown = sorted(set(params) - allowed)
    if isinstance(name_or_callable, sympy.Basic):
        if unknown or "derivative" in params:
            raise ValueError(f"a sympy activation accepts only kinks= and name=, got "
                             f"{', '.join(sorted(set(params) - {'kinks', 'name'}))}")
        if not isinstance(name_or_callable, sympy.Expr):
            raise ValueError(f"a sympy activation must be an expression, got {name_or_callable!r}")
        return _from_sympy(name_or_callable, _check_kinks(params.get("kinks", ())), params.get("name"))
    if callable(name_or_callable):
        if unknown:
            raise ValueError(f"a callable activation accepts only kinks=, name= and derivative=, got "
                             f"{', '.join(unknown)}")
        return _from_callable(name_or_callable, **params)
    raise ValueError(f"activation must be a name (one of {', '.join(ACTIVATIONS)}), a callable, a sympy "
                     f"expression or an Activation, got {name_or_callable!r}")
