r"""Hermite expansions of activations under a Gaussian input: exact (sympy) or to any precision.

Conventions
-----------
``He_k`` are the *probabilists'* Hermite polynomials (``He_0 = 1``, ``He_1 = x``,
``He_{k+1} = x He_k - k He_{k-1}``), orthogonal for the standard Gaussian with
``E[He_j(G) He_k(G)] = k! delta_jk``. For an activation ``sigma`` and an input variance ``q > 0``
the **normalized** coefficients are taken with respect to the *standardized* variable
``G ~ N(0, 1)``::

    c_k = E[ sigma(sqrt(q) G) He_k(G) ] / sqrt(k!),        k = 0, 1, ..., kmax,

so that, in ``L^2(N(0, 1))``,  ``sigma(sqrt(q) G) = sum_k c_k He_k(G) / sqrt(k!)``  and
(Parseval)  ``E[sigma(sqrt(q) G)^2] = sum_k c_k^2``. The summaries of Mei & Montanari
(arXiv:1908.05355, eq. (6)-(7)) are, for ``q = 1``,

* ``mu0 = E sigma(G) = c_0``,  ``mu1 = E[G sigma(G)] = c_1``,
* ``mu_star = sqrt(E sigma(G)^2 - mu0^2 - mu1^2)``  (the norm of the nonlinear part),

and for general ``q`` the same expressions with ``sigma(sqrt(q) G)``. ``tail = E sigma^2 -
sum_{k <= kmax} c_k^2 >= 0`` is the Parseval remainder. Hermite analysis on Gaussian space:
R. O'Donnell, *Analysis of Boolean Functions* (CUP 2014), ch. 11.

Two ways to compute
-------------------
* **Exact** (``is_exact``): closed forms, returned as sympy expressions *and* evaluated to
  ``precision`` digits. Available for relu, leaky_relu, abs, sign, step, relu_p, erf, exp, sin,
  cos, identity, quad, poly and gelu (formulas in ``docs/hermite.md``), for a user sympy
  expression that is a polynomial, and (``exact=True`` only, possibly slow) for any user sympy
  expression that ``sympy.integrate`` can integrate against the Gaussian.
* **Quadrature**: tanh-sinh quadrature in mpmath at ``precision + 15`` working digits, split at
  the activation's kinks (and at 0), with a convergence check (successive quadrature levels must
  agree to ``10**-(precision+1)`` times the norm ``sqrt(E sigma^2)``) -- a ``ValueError`` is raised
  if they do not. Coefficients are then accurate to about ``10**-precision * sqrt(E sigma^2)``
  in absolute value (for every ``k``: coefficients can be exactly zero, so the accuracy is
  relative to the norm of ``sigma``, not to each ``c_k``).

Functions that are not square-integrable under the Gaussian (``exp(x^2)``, ``1/x``) are refused
with a ``ValueError``: growth is detected by probing ``sigma(x)^2 exp(-x^2/(2q))`` at large
``|x|``, singularities by the divergence of the quadrature for ``E sigma^2``.

>>> h = hermite_coefficients("relu", kmax=4)
>>> h.exact[:3]
(sqrt(2)/(2*sqrt(pi)), 1/2, 1/(2*sqrt(pi)))
>>> h.exact_mu_star
sqrt(1/4 - 1/(2*pi))
>>> print(h.mu0, h.mu1, round(h.mu_star, 12))
0.3989422804014327 0.5 0.301405137495
>>> t = hermite_coefficients("tanh", kmax=3, precision=20)
>>> t.is_exact, round(t.mu1, 15)
(False, 0.605705509602159)
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import mpmath
import numpy as np
import sympy
from mpmath.calculus.quadrature import TanhSinh

from asymptotics._validation import check_int, check_real
from asymptotics.activations import SYMBOL, Activation, _mp_of, get_activation, to_exact

__all__ = ["HermiteExpansion", "hermite_coefficients", "gaussian_expectation", "normalized_hermite",
           "coefficient_by_integration", "EXACT_KMAX_LIMIT"]

#: Largest ``kmax`` for which sympy expressions of the coefficients are built (the integers in
#: ``sqrt(k!)`` grow past Python's default integer-to-string limit around ``k ~ 1500``). Above it
#: closed-form activations are still evaluated from their closed forms to ``precision`` digits.
EXACT_KMAX_LIMIT = 1000

_GUARD = 15          # extra working digits for quadrature and closed-form evaluation
_MAX_DEGREE = 10     # largest tanh-sinh level (level m has step 2**-m)


# ----------------------------------------------------------------------------------------------
# Result type
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class HermiteExpansion:
    """Normalized Hermite coefficients of ``sigma(sqrt(q) G)``, ``G ~ N(0, 1)``, and summaries.

    ``sigma(sqrt(q) G) = sum_k coeffs[k] He_k(G) / sqrt(k!)`` with probabilists' ``He_k``.

    Attributes:
        activation: the activation's name.
        kmax: the largest degree ``k`` kept.
        q: the input variance.
        precision: decimal digits of the ``mp_*`` values (absolute, relative to the norm
            ``sqrt(E sigma^2)`` for quadrature results).
        coeffs: ``c_0 .. c_kmax`` as a read-only float64 array (each correctly rounded from the
            high-precision value).
        mp_coeffs: the same as ``mpmath.mpf`` values with ``precision`` digits.
        mu0, mu1, mu_star: ``c_0``, ``c_1`` and ``sqrt(E sigma^2 - c_0^2 - c_1^2)``.
        second_moment: ``E sigma(sqrt(q) G)^2``.
        tail: ``second_moment - sum_{k <= kmax} c_k^2`` (``>= 0``; the Parseval remainder).
        mp_mu0, mp_mu1, mp_mu_star, mp_second_moment, mp_tail: high-precision versions.
        exact: sympy expressions of ``c_0 .. c_kmax``, or ``None`` when not exact.
        exact_mu0, exact_mu1, exact_mu_star, exact_second_moment, exact_tail: sympy or ``None``.
        is_exact: whether the ``exact*`` fields are populated.
        method: ``"closed form"``, ``"sympy integration"`` or ``"quadrature"``.
        params: the activation's parameters (``(name, exact value)`` pairs).
    """

    activation: str
    kmax: int
    q: float
    precision: int
    coeffs: np.ndarray
    mp_coeffs: tuple
    mu0: float
    mu1: float
    mu_star: float
    second_moment: float
    tail: float
    mp_mu0: mpmath.mpf
    mp_mu1: mpmath.mpf
    mp_mu_star: mpmath.mpf
    mp_second_moment: mpmath.mpf
    mp_tail: mpmath.mpf
    exact: tuple | None
    exact_mu0: sympy.Expr | None
    exact_mu1: sympy.Expr | None
    exact_mu_star: sympy.Expr | None
    exact_second_moment: sympy.Expr | None
    exact_tail: sympy.Expr | None
    is_exact: bool
    method: str
    params: tuple = ()

    def to_dict(self) -> dict:
        """A JSON-ready ``dict`` (floats, lists, strings, ``None``).

        Keys: ``activation, params, q, kmax, precision, is_exact, method, mu0, mu1, mu_star,
        second_moment, tail, coeffs`` (list of floats) and ``exact`` (list of strings of the sympy
        expressions, or ``None``).

        >>> d = hermite_coefficients("sign", kmax=3).to_dict()
        >>> d["exact"], d["coeffs"][1]
        (['0', 'sqrt(2)/sqrt(pi)', '0', '-sqrt(3)/(3*sqrt(pi))'], 0.7978845608028654)
        """
        params = {}
        for k, v in self.params:
            params[k] = [float(t) for t in v] if isinstance(v, tuple) else float(v)
        return {
            "activation": self.activation,
            "params": params,
            "q": float(self.q),
            "kmax": int(self.kmax),
            "precision": int(self.precision),
            "is_exact": bool(self.is_exact),
            "method": self.method,
            "mu0": float(self.mu0),
            "mu1": float(self.mu1),
            "mu_star": float(self.mu_star),
            "second_moment": float(self.second_moment),
            "tail": float(self.tail),
            "coeffs": [float(c) for c in self.coeffs],
            "exact": [str(e) for e in self.exact] if self.exact is not None else None,
        }

    def evaluate(self, x) -> np.ndarray:
        """The truncated series ``sum_{k <= kmax} c_k He_k(x / sqrt(q)) / sqrt(k!)`` at ``x``.

        It approximates ``sigma(x)`` in ``L^2(N(0, q))`` (exactly, for a polynomial of degree
        ``<= kmax``).

        >>> h = hermite_coefficients(get_activation("poly", coeffs=[1, -2, 0, 1]), kmax=3)
        >>> round(float(h.evaluate(2.0)), 12)  # 1 - 2*2 + 2**3
        5.0
        """
        x = check_real("x", x)
        g = x / math.sqrt(self.q)
        return np.tensordot(self.coeffs, normalized_hermite(self.kmax, g), axes=1)


def normalized_hermite(kmax: int, x) -> np.ndarray:
    """``He_k(x) / sqrt(k!)`` for ``k = 0..kmax``, stacked along a new first axis (float64).

    Uses the stable recurrence ``h_{k+1} = (x h_k - sqrt(k) h_{k-1}) / sqrt(k+1)``.

    >>> normalized_hermite(3, 2.0) * np.sqrt([1, 1, 2, 6])  # He_0..He_3 at 2: 1, 2, 3, 2
    array([1., 2., 3., 2.])
    """
    kmax = check_int("kmax", kmax, low=0)
    x = np.asarray(x, dtype=float)
    out = np.empty((kmax + 1,) + x.shape)
    out[0] = 1.0
    if kmax >= 1:
        out[1] = x
    for k in range(1, kmax):
        out[k + 1] = (x * out[k] - math.sqrt(k) * out[k - 1]) / math.sqrt(k + 1)
    return out


# ----------------------------------------------------------------------------------------------
# Number back-ends for the closed forms: the same formula code gives sympy or mpmath values
# ----------------------------------------------------------------------------------------------
class _Sym:
    """Exact arithmetic (sympy)."""

    exact = True
    pi = sympy.pi
    inf = sympy.oo
    zero = sympy.Integer(0)
    one = sympy.Integer(1)
    sqrt = staticmethod(sympy.sqrt)
    exp = staticmethod(sympy.exp)
    asin = staticmethod(sympy.asin)

    @staticmethod
    def num(v):
        return sympy.Integer(v) if isinstance(v, int) else sympy.sympify(v)

    @staticmethod
    def rat(p, q=1):
        return sympy.Rational(p, q)

    @staticmethod
    def fac(n):
        return sympy.Integer(math.factorial(n))

    @staticmethod
    def pow2(n):
        return sympy.Integer(2) ** n

    @staticmethod
    def dfact(n):  # n!! for odd n >= -1
        return sympy.Integer(math.prod(range(1, n + 1, 2)))

    @staticmethod
    def half_power(b, n):  # b ** (n/2)
        return b ** sympy.Rational(n, 2)


class _Mp:
    """mpmath arithmetic at the current working precision, with a factorial table."""

    exact = False
    inf = mpmath.inf
    sqrt = staticmethod(mpmath.sqrt)
    exp = staticmethod(mpmath.exp)
    asin = staticmethod(mpmath.asin)

    def __init__(self):
        self.pi = +mpmath.pi
        self.zero = mpmath.mpf(0)
        self.one = mpmath.mpf(1)
        self._fac = [mpmath.mpf(1)]

    @staticmethod
    def num(v):
        return mpmath.mpf(v) if isinstance(v, int) else _mp_of(v)

    @staticmethod
    def rat(p, q=1):
        return mpmath.mpf(p) / q

    def fac(self, n):
        table = self._fac
        while len(table) <= n:
            table.append(table[-1] * len(table))
        return table[n]

    @staticmethod
    def pow2(n):
        return mpmath.ldexp(mpmath.mpf(1), n)

    def dfact(self, n):  # n!! for odd n >= -1, = (n+1)! / (2^((n+1)/2) ((n+1)/2)!)
        m = n + 1
        return self.fac(m) / (self.pow2(m // 2) * self.fac(m // 2))

    @staticmethod
    def half_power(b, n):
        return mpmath.sqrt(b) ** n


def _he0(m, ns):
    """``He_m(0)``: 0 for odd ``m``, ``(-1)^(m/2) (m-1)!!`` for even ``m``."""
    if m % 2:
        return ns.zero
    v = ns.dfact(m - 1)
    return -v if (m // 2) % 2 else v


def _half_moment(m, ns):
    """``E[G^m 1{G > 0}]``: ``(m-1)!!/2`` for even ``m``, ``2^j j!/sqrt(2 pi)`` for ``m = 2j+1``."""
    if m % 2 == 0:
        return ns.dfact(m - 1) / 2
    j = (m - 1) // 2
    return ns.pow2(j) * ns.fac(j) / ns.sqrt(2 * ns.pi)


# ----------------------------------------------------------------------------------------------
# Closed forms. Each gives, for f(g) = sigma(s g) (s = sqrt q):
#   coeff(k)           c_k = E[f(G) He_k(G)] / sqrt(k!)
#   second             E f(G)^2
#   reflected          E f(G) f(-G)               (= sum_k (-1)^k c_k^2, the dual kernel at rho = -1)
#   deriv_second       E f'(G)^2 = sum_k k c_k^2  (= k'(1); may be infinite)
#   deriv_reflected    E f'(G) f'(-G) = sum_k k c_k^2 (-1)^(k-1)   (= k'(-1))
# The derivations use Gaussian integration by parts, E[f(G) He_k(G)] = E[f^(k)(G)], in the sense
# of distributions (O'Donnell 2014, ch. 11); docs/hermite.md states each result.
# ----------------------------------------------------------------------------------------------
class _PowerCF:
    """``alpha_+ relu(x)^p + alpha_- relu(-x)^p`` (relu, leaky_relu, abs, relu_p; ``p = 0``: step, sign).

    With ``e_k = E[relu(G)^p He_k(G)]``: ``e_k = p!/(p-k)! E[G^(p-k) 1{G>0}]`` for ``k <= p`` and
    ``e_k = p! He_{k-p-1}(0) / sqrt(2 pi)`` for ``k > p`` (the ``(p+1)``-th derivative of
    ``relu^p`` is ``p! delta``), and ``c_k = s^p (alpha_+ + (-1)^k alpha_-) e_k / sqrt(k!)``.
    """

    def __init__(self, p, ap, am):
        self.p, self.ap, self.am = p, ap, am

    def coeff(self, k, s, ns):
        p = self.p
        sf = ns.num(self.ap) + (ns.num(self.am) if k % 2 == 0 else -ns.num(self.am))
        if sf == 0:
            return ns.zero
        if k <= p:
            e = ns.fac(p) / ns.fac(p - k) * _half_moment(p - k, ns)
        else:
            m = k - p - 1
            if m % 2:
                return ns.zero
            e = ns.fac(p) * _he0(m, ns) / ns.sqrt(2 * ns.pi)
        return s ** p * sf * e / ns.sqrt(ns.fac(k))

    def second(self, s, ns):
        ap, am = ns.num(self.ap), ns.num(self.am)
        return s ** (2 * self.p) * (ap ** 2 + am ** 2) * _half_moment(2 * self.p, ns)

    def reflected(self, s, ns):
        ap, am = ns.num(self.ap), ns.num(self.am)
        return 2 * ap * am * s ** (2 * self.p) * _half_moment(2 * self.p, ns)

    def deriv_second(self, s, ns):
        ap, am = ns.num(self.ap), ns.num(self.am)
        if self.p == 0:
            return ns.zero if ap == am else ns.inf
        return self.p ** 2 * s ** (2 * self.p) * (ap ** 2 + am ** 2) * _half_moment(2 * self.p - 2, ns)

    def deriv_reflected(self, s, ns):
        ap, am = ns.num(self.ap), ns.num(self.am)
        if self.p == 0:
            return ns.zero if ap == am else ns.inf
        return -2 * self.p ** 2 * ap * am * s ** (2 * self.p) * _half_moment(2 * self.p - 2, ns)


class _ErfCF:
    """``erf(a x)``; ``b = a s``. For ``k = 2j+1``:
    ``c_k = (2/sqrt(pi)) b^k (-1)^j (2j)!/j! (1 + 2b^2)^(-k/2) / sqrt(k!)``, even ``k``: 0.
    ``E erf(bG)^2 = (2/pi) asin(2b^2/(1+2b^2))`` (Williams 1997)."""

    def __init__(self, a):
        self.a = a

    def _b(self, s, ns):
        return ns.num(self.a) * s

    def coeff(self, k, s, ns):
        if k % 2 == 0:
            return ns.zero
        j = (k - 1) // 2
        b = self._b(s, ns)
        sgn = -1 if j % 2 else 1
        return (2 * sgn * b ** k * ns.fac(2 * j) / (ns.sqrt(ns.pi) * ns.fac(j))
                / ns.half_power(1 + 2 * b ** 2, k) / ns.sqrt(ns.fac(k)))

    def second(self, s, ns):
        b = self._b(s, ns)
        return 2 / ns.pi * ns.asin(2 * b ** 2 / (1 + 2 * b ** 2))

    def reflected(self, s, ns):
        return -self.second(s, ns)

    def deriv_second(self, s, ns):
        b = self._b(s, ns)
        return 4 * b ** 2 / (ns.pi * ns.sqrt(1 + 4 * b ** 2))

    deriv_reflected = deriv_second


class _ExpCF:
    """``exp(a x)``; ``b = a s``: ``c_k = exp(b^2/2) b^k / sqrt(k!)``, ``E f^2 = exp(2 b^2)``."""

    def __init__(self, a):
        self.a = a

    def coeff(self, k, s, ns):
        b = ns.num(self.a) * s
        return ns.exp(b ** 2 / 2) * b ** k / ns.sqrt(ns.fac(k))

    def second(self, s, ns):
        return ns.exp(2 * (ns.num(self.a) * s) ** 2)

    def reflected(self, s, ns):
        return ns.one

    def deriv_second(self, s, ns):
        b = ns.num(self.a) * s
        return b ** 2 * ns.exp(2 * b ** 2)

    def deriv_reflected(self, s, ns):
        return (ns.num(self.a) * s) ** 2


class _TrigCF:
    """``sin(a x)`` / ``cos(a x)``; ``b = a s``: ``E[f(G) He_k(G)] = b^k E f^(k)(G)`` gives
    ``c_k = (-1)^((k-1)/2) b^k e^(-b^2/2) / sqrt(k!)`` (sin, odd k) and
    ``c_k = (-1)^(k/2) b^k e^(-b^2/2) / sqrt(k!)`` (cos, even k)."""

    def __init__(self, kind, a):
        self.kind, self.a = kind, a

    def coeff(self, k, s, ns):
        parity = 1 if self.kind == "sin" else 0
        if k % 2 != parity:
            return ns.zero
        b = ns.num(self.a) * s
        sgn = -1 if ((k - parity) // 2) % 2 else 1
        return sgn * b ** k * ns.exp(-b ** 2 / 2) / ns.sqrt(ns.fac(k))

    def _e(self, s, ns):
        return ns.exp(-2 * (ns.num(self.a) * s) ** 2)

    def second(self, s, ns):
        e = self._e(s, ns)
        return (1 - e) / 2 if self.kind == "sin" else (1 + e) / 2

    def reflected(self, s, ns):
        v = self.second(s, ns)
        return -v if self.kind == "sin" else v

    def deriv_second(self, s, ns):
        b2, e = (ns.num(self.a) * s) ** 2, self._e(s, ns)
        return b2 * (1 + e) / 2 if self.kind == "sin" else b2 * (1 - e) / 2

    def deriv_reflected(self, s, ns):
        v = self.deriv_second(s, ns)
        return v if self.kind == "sin" else -v


class _PolyCF:
    """``sum_m a_m x^m``: ``x^m = sum_k m!/(k! ((m-k)/2)! 2^((m-k)/2)) He_k(x)`` over ``k <= m``,
    ``m - k`` even, so ``c_k = sum_m a_m s^m m! / (((m-k)/2)! 2^((m-k)/2) sqrt(k!))``; moments are
    the (finite) sums ``sum_k c_k^2``, ``sum_k (-1)^k c_k^2``, ``sum_k k c_k^2``, ..."""

    def __init__(self, coeffs):
        self.coeffs = tuple(coeffs)

    def coeff(self, k, s, ns):
        total = ns.zero
        for m in range(k, len(self.coeffs), 2):
            a = self.coeffs[m]
            if a == 0:
                continue
            j = (m - k) // 2
            total += ns.num(a) * s ** m * ns.fac(m) / (ns.fac(j) * ns.pow2(j))
        return total / ns.sqrt(ns.fac(k)) if total != 0 else ns.zero

    def _squares(self, s, ns):
        return [self.coeff(k, s, ns) ** 2 for k in range(len(self.coeffs))]

    def second(self, s, ns):
        return sum(self._squares(s, ns), ns.zero)

    def reflected(self, s, ns):
        return sum((c if k % 2 == 0 else -c for k, c in enumerate(self._squares(s, ns))), ns.zero)

    def deriv_second(self, s, ns):
        return sum((k * c for k, c in enumerate(self._squares(s, ns))), ns.zero)

    def deriv_reflected(self, s, ns):
        return sum((k * c if k % 2 else -k * c for k, c in enumerate(self._squares(s, ns))), ns.zero)


class _GeluCF:
    """``x Phi(x)``. With ``t_m = E[Phi(sG) He_m(G)]`` (``t_0 = 1/2``; for ``m = 2j+1``
    ``t_m = (s/sqrt 2)^m (-1)^j (2j)!/j! / (sqrt(pi) (1+s^2)^(m/2))``; 0 for even ``m >= 2``) and
    ``G He_k = He_{k+1} + k He_{k-1}``:  ``c_k = s (t_{k+1} + k t_{k-1}) / sqrt(k!)``.
    ``E f^2 = s^2 (1/4 + asin(s^2/(1+s^2))/(2 pi) + s^2/(pi (1+s^2) sqrt(1+2s^2)))``."""

    def _t(self, m, s, ns):
        if m < 0:
            return ns.zero
        if m == 0:
            return ns.rat(1, 2)
        if m % 2 == 0:
            return ns.zero
        j = (m - 1) // 2
        sgn = -1 if j % 2 else 1
        return (sgn * (s / ns.sqrt(2)) ** m * ns.fac(2 * j) / ns.fac(j)
                / (ns.sqrt(ns.pi) * ns.half_power(1 + s ** 2, m)))

    def coeff(self, k, s, ns):
        v = self._t(k + 1, s, ns) + k * self._t(k - 1, s, ns)
        return s * v / ns.sqrt(ns.fac(k)) if v != 0 else ns.zero

    def _phi2(self, s, ns):  # E[Phi(sG)^2]
        return ns.rat(1, 4) + ns.asin(s ** 2 / (1 + s ** 2)) / (2 * ns.pi)

    def second(self, s, ns):
        s2 = s ** 2
        return s2 * (self._phi2(s, ns) + s2 / (ns.pi * (1 + s2) * ns.sqrt(1 + 2 * s2)))

    def reflected(self, s, ns):
        return self.second(s, ns) - s ** 2 / 2

    def deriv_second(self, s, ns):
        s2 = s ** 2
        return s2 * (self._phi2(s, ns) + s2 / (ns.pi * (1 + s2) * ns.sqrt(1 + 2 * s2))
                     + s2 / (2 * ns.pi * ns.half_power(1 + 2 * s2, 3)))

    def deriv_reflected(self, s, ns):
        return s ** 2 / 2 - self.deriv_second(s, ns)


def _closed_form(act: Activation):
    """The closed-form object of an activation, or ``None``."""
    if act.kind == "named":
        P = act.param_dict
        one, zero = sympy.Integer(1), sympy.Integer(0)
        table = {
            "relu": lambda: _PowerCF(1, one, zero),
            "leaky_relu": lambda: _PowerCF(1, one, -P["slope"]),
            "abs": lambda: _PowerCF(1, one, one),
            "sign": lambda: _PowerCF(0, one, -one),
            "step": lambda: _PowerCF(0, one, zero),
            "relu_p": lambda: _PowerCF(int(P["p"]), one, zero),
            "erf": lambda: _ErfCF(P["a"]),
            "exp": lambda: _ExpCF(P["a"]),
            "sin": lambda: _TrigCF("sin", P["a"]),
            "cos": lambda: _TrigCF("cos", P["a"]),
            "identity": lambda: _PolyCF((zero, one)),
            "quad": lambda: _PolyCF((zero, zero, one)),
            "poly": lambda: _PolyCF(P["coeffs"]),
            "gelu": lambda: _GeluCF(),
        }
        maker = table.get(act.name)
        return maker() if maker else None
    if act.kind == "sympy":
        expr = act.sympy_form
        if expr.is_polynomial(SYMBOL):
            coeffs = sympy.Poly(expr, SYMBOL).all_coeffs()[::-1]
            if all(c.is_number and c.is_extended_real for c in coeffs):
                return _PolyCF(tuple(sympy.nsimplify(c) if c.is_Float else c for c in coeffs))
    return None


# ----------------------------------------------------------------------------------------------
# Generic sympy integration (exact=True for a user sympy expression; also an independent witness)
# ----------------------------------------------------------------------------------------------
def coefficient_by_integration(expr, k: int, *, q=1, symbol=None) -> sympy.Expr:
    """``E[sigma(sqrt(q) G) He_k(G)] / sqrt(k!)`` by ``sympy.integrate`` against the Gaussian.

    ``k = -1`` returns the second moment ``E sigma(sqrt(q) G)^2`` instead. Slow for anything but
    simple expressions; used for user sympy expressions with ``exact=True`` and in the tests as a
    witness independent of the closed forms.

    Raises:
        ValueError: sympy cannot integrate the expression, or the integral is not finite.

    >>> x = SYMBOL
    >>> coefficient_by_integration(x**3, 1)
    3
    >>> coefficient_by_integration(sympy.Max(x, 0), 2)
    1/(2*sqrt(pi))
    """
    k = check_int("k", k, low=-1)
    x = symbol if symbol is not None else SYMBOL
    q = to_exact("q", q, low=0, low_open=True)
    g = sympy.Dummy("g", real=True)
    f = sympy.sympify(expr).subs(x, sympy.sqrt(q) * g)
    f = f.rewrite(sympy.Piecewise) if f.has(sympy.Max, sympy.Min, sympy.Abs, sympy.sign, sympy.Heaviside) else f
    weight = sympy.exp(-g ** 2 / 2) / sympy.sqrt(2 * sympy.pi)
    integrand = (f ** 2 if k == -1 else f * sympy.hermite_prob(k, g)) * weight
    val = sympy.integrate(sympy.expand(integrand) if not integrand.has(sympy.Piecewise) else integrand,
                          (g, -sympy.oo, sympy.oo), conds="none")
    if val.has(sympy.Integral) or val.has(sympy.oo, -sympy.oo, sympy.zoo, sympy.nan):
        raise ValueError(f"sympy could not integrate {expr} against the Gaussian (k={k}), or the integral "
                         "diverges; use exact=None or exact=False for quadrature")
    if k >= 0:
        val = val / sympy.sqrt(sympy.factorial(k))
    return sympy.simplify(val)


class _SympyIntegralCF:
    """Exact coefficients of a user sympy expression by ``sympy.integrate``."""

    def __init__(self, expr):
        self.expr = expr

    def coeff(self, k, q):
        return coefficient_by_integration(self.expr, k, q=q)

    def second(self, q):
        return coefficient_by_integration(self.expr, -1, q=q)


# ----------------------------------------------------------------------------------------------
# Quadrature
# ----------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _rule() -> TanhSinh:
    return TanhSinh(mpmath.mp)


@functools.lru_cache(maxsize=64)
def _standard_nodes(degree: int, prec: int) -> tuple:
    """Tanh-sinh nodes and weights of one level on ``[-1, 1]`` (computed with 20 guard bits)."""
    with mpmath.workprec(prec + 20):
        return tuple(_rule().calc_nodes(degree, prec))


def _nodes(a, b, degree: int, prec: int):
    """The level-``degree`` nodes mapped to ``[a, b]`` (possibly infinite), as mpmath maps them.

    Only the standard nodes are cached (bounded), so sweeps over many intervals (kinks move with
    ``q``) do not accumulate memory.
    """
    with mpmath.workprec(prec + 20):
        return _rule().transform_nodes(list(_standard_nodes(degree, prec)), a, b)


def _phi(g):
    return mpmath.exp(-g * g / 2) / mpmath.sqrt(2 * mpmath.pi)


class _Integrand:
    """``sigma(s g)`` with memoization, a cutoff beyond which the Gaussian weight kills it."""

    def __init__(self, func, s, cutoff):
        self.func, self.s, self.cutoff = func, s, cutoff
        self.memo = {}

    def value(self, g):
        """``(sigma(s g), phi(g))`` or ``None`` beyond the cutoff."""
        if abs(g) > self.cutoff:
            return None
        v = self.memo.get(g)
        if v is None:
            v = (self.func(self.s * g), _phi(g))
            self.memo[g] = v
        return v


def _find_cutoff(func, s, precision, label):
    """Smallest ``G`` (in units of the standardized variable) beyond which ``sigma(sG)^2 phi(G)`` is
    negligible, checked on a ladder of probes; refuses growth faster than the Gaussian decay."""
    scale = mpmath.mpf(0)
    for t in ("0.5", "1", "2", "-0.5", "-1", "-2"):
        scale = max(scale, abs(func(s * mpmath.mpf(t))))
    if scale == 0:
        scale = mpmath.mpf(1)
    target = mpmath.mpf(10) ** (-2 * (precision + 8)) * scale ** 2
    big = 8
    while big <= 2 ** 14:
        ok = True
        for factor in (1, 1.5, 2, 3, 4):
            for sgn in (1, -1):
                g = mpmath.mpf(sgn * big * factor)
                if func(s * g) ** 2 * _phi(g) > target:
                    ok = False
                    break
            if not ok:
                break
        if ok:
            return mpmath.mpf(big)
        big *= 2
    raise ValueError(f"{label}: sigma(x)^2 exp(-x^2/(2q)) does not decay at large |x| (probed up to "
                     f"|x| = {float(s) * 4 * 2 ** 14:g}); the activation is not square-integrable under "
                     "the Gaussian N(0, q)")


def _breaks(kinks, s):
    pts = {mpmath.mpf(0)}
    for kk in kinks:
        pts.add(mpmath.mpf(kk) / s)
    return [mpmath.ninf] + sorted(pts) + [mpmath.inf]


def _pointwise(components, ncomp):
    """A ``level_sum`` for ``_tanh_sinh`` from ``components(g)`` -> list of ``ncomp`` mpf or None."""

    def level_sum(nodes):
        acc = [mpmath.mpf(0)] * ncomp
        for xg, w in nodes:
            vals = components(xg)
            if vals is None:
                continue
            for i in range(ncomp):
                acc[i] += w * vals[i]
        return acc

    return level_sum


def _tanh_sinh(level_sum, ncomp, breaks, tol_of, label):
    """Integrate a vector function over the real line split at ``breaks`` (tanh-sinh quadrature).

    ``level_sum(nodes)`` returns the ``ncomp`` weighted sums ``sum_j w_j f_i(x_j)`` over the given
    ``(x_j, w_j)`` nodes. Each piece is refined level by level (level ``m`` has step ``2**-m`` and
    reuses the nodes of level ``m-1``) until, from level 3 on, two successive levels agree to
    within ``tol_of(estimate)[i] / n_pieces`` for every component ``i`` -- a conservative test,
    since tanh-sinh roughly doubles the number of correct digits per level. Returns
    ``(values, error_estimates)``; raises ``ValueError`` when ``_MAX_DEGREE`` levels do not suffice.
    """
    prec = mpmath.mp.prec
    pieces = list(zip(breaks[:-1], breaks[1:]))
    npieces = len(pieces)
    results = []
    for a, b in pieces:
        levels = []
        for degree in range(1, _MAX_DEGREE + 1):
            h = mpmath.ldexp(mpmath.mpf(1), -degree)
            new = level_sum(_nodes(a, b, degree, prec))
            if levels:
                levels.append([v / 2 + h * n for v, n in zip(levels[-1], new)])
            else:
                levels.append([h * n for n in new])
            if degree >= 3:
                diffs = [abs(levels[-1][i] - levels[-2][i]) for i in range(ncomp)]
                tols = tol_of(levels[-1])
                if all(diffs[i] <= tols[i] / npieces for i in range(ncomp)):
                    break
        else:
            worst = max(range(ncomp), key=lambda i: diffs[i] / (tols[i] + _tiny()))
            raise ValueError(
                f"{label}: the quadrature did not converge on [{mpmath.nstr(a, 6)}, {mpmath.nstr(b, 6)}] "
                f"(component {worst}: successive levels differ by {mpmath.nstr(diffs[worst], 3)}, needed "
                f"{mpmath.nstr(tols[worst] / npieces, 3)}). sigma may not be square-integrable under the "
                "Gaussian (a singularity?), or it has kinks/discontinuities not declared with kinks=[...], "
                "or the requested precision is too high for this function")
        results.append((levels[-1], diffs))
    values = [mpmath.fsum(r[0][i] for r in results) for i in range(ncomp)]
    errors = [mpmath.fsum(r[1][i] for r in results) for i in range(ncomp)]
    return values, errors


def _check_precision(act: Activation, precision: int):
    if act.max_precision is not None and precision > act.max_precision:
        raise ValueError(f"precision must be <= {act.max_precision} for activation {act.name!r}: it "
                         "evaluates in double precision only (it does not accept mpmath numbers); pass "
                         f"precision<={act.max_precision}, or a function that computes with mpmath")


def _quad_second_moment(func, s, kinks, precision, label):
    """``E func(sG)^2`` to relative accuracy ``10**-(precision+1)``; also returns the integrand."""
    cutoff = _find_cutoff(func, s, precision, label)
    integrand = _Integrand(func, s, cutoff)

    def comp(g):
        v = integrand.value(g)
        if v is None:
            return None
        return (v[0] * v[0] * v[1],)

    rel = mpmath.mpf(10) ** -(precision + 1)
    (m2,), _ = _tanh_sinh(_pointwise(comp, 1), 1, _breaks(kinks, s), lambda cur: [rel * abs(cur[0]) + _tiny()],
                          f"{label}: E[sigma^2]")
    return m2, integrand


def _tiny():
    return mpmath.mpf(10) ** (-2 * mpmath.mp.dps)


def _to_fixed(x, bits):
    """``x * 2**bits`` truncated to a Python int (``x`` an mpf)."""
    return int(mpmath.ldexp(x, bits))


class _HermiteSums:
    """``level_sum`` for the coefficients: ``sum_j w_j sigma(s x_j) phi(x_j) h_k(x_j)``, k = 0..K.

    The normalized Hermite recurrence ``h_{k+1} = (x h_k - sqrt(k) h_{k-1}) / sqrt(k+1)`` runs in
    fixed-point integer arithmetic with ``bits`` fractional bits (exact integer products, one
    rounding per step), which is ~30x faster than mpf arithmetic for the same accuracy.
    """

    def __init__(self, integrand, K, bits):
        self.integrand, self.K, self.bits = integrand, K, bits
        self.sqrt_k = [_to_fixed(mpmath.sqrt(k), bits) for k in range(K + 1)]
        self.inv_sqrt = [0] + [_to_fixed(1 / mpmath.sqrt(k), bits) for k in range(1, K + 1)]

    def __call__(self, nodes):
        K, bits = self.K, self.bits
        sqk, inv = self.sqrt_k, self.inv_sqrt
        acc = [0] * (K + 1)
        one = 1 << bits
        for xg, w in nodes:
            v = self.integrand.value(xg)
            if v is None:
                continue
            weight = _to_fixed(w * v[0] * v[1], bits)
            if weight == 0:
                continue
            g = _to_fixed(xg, bits)
            acc[0] += weight * one
            if K == 0:
                continue
            h_prev, h = one, g
            acc[1] += weight * h
            for k in range(1, K):
                h_prev, h = h, (((g * h - sqk[k] * h_prev) >> bits) * inv[k + 1]) >> bits
                acc[k + 1] += weight * h
        return [mpmath.ldexp(mpmath.mpf(a), -2 * bits) for a in acc]


def _quadrature_values(act: Activation, kmax: int, q_exact, precision: int):
    """Coefficients ``c_0..c_K`` (``K = max(kmax, 1)``), ``E sigma^2`` and ``mu_star^2`` by quadrature,
    as mpf at the working precision. Must be called inside ``workdps``.

    ``mu_star^2`` is integrated directly as ``E[(sigma(sG) - c_0 - c_1 G)^2]`` so that it is accurate
    relative to itself (the difference ``E sigma^2 - c_0^2 - c_1^2`` would lose all digits when the
    nonlinear part is small).
    """
    label = f"activation {act.name!r}"
    s = mpmath.sqrt(_mp_of(q_exact))
    m2, integrand = _quad_second_moment(act.mp_func, s, act.kinks, precision, label)
    K = max(kmax, 1)
    zero = mpmath.mpf(0)
    if m2 == 0:
        return [zero] * (K + 1), m2, zero
    level_sum = _HermiteSums(integrand, K, mpmath.mp.prec + 10)
    tol = mpmath.mpf(10) ** -(precision + 1) * mpmath.sqrt(m2)
    breaks = _breaks(act.kinks, s)
    coeffs, _ = _tanh_sinh(level_sum, K + 1, breaks, lambda cur: [tol] * (K + 1),
                           f"{label}: Hermite coefficients")
    c0, c1 = coeffs[0], coeffs[1]

    def residual(g):
        v = integrand.value(g)
        if v is None:
            return None
        r = v[0] - c0 - c1 * g
        return (r * r * v[1],)

    floor = mpmath.mpf(10) ** -(2 * precision + 2) * m2
    (star2,), _ = _tanh_sinh(_pointwise(residual, 1), 1, breaks, lambda cur: [mpmath.mpf(10) ** -(precision + 1)
                                                                              * abs(cur[0]) + floor],
                             f"{label}: mu_star^2")
    return coeffs, m2, star2


def gaussian_expectation(func, *, q=1.0, kinks=(), precision: int = 30):
    """``E f(sqrt(q) G)``, ``G ~ N(0, 1)``, by tanh-sinh quadrature split at ``kinks``, as an mpf.

    Accurate to about ``10**-precision * E|f|`` (absolute); ``ValueError`` when the quadrature does
    not converge (non-integrable ``f``, undeclared kinks) or ``f`` is not finite.

    Args:
        func: an activation name, an ``Activation``, or a callable of one ``mpf``.
        q: the variance of the Gaussian.
        kinks: points (in the variable ``x = sqrt(q) G``) where ``f`` or a derivative jumps;
            added to the activation's own kinks.
        precision: decimal digits.

    >>> float(gaussian_expectation(lambda x: x**4, q=2.0))  # 3 q^2
    12.0
    >>> mpmath.nstr(gaussian_expectation("relu", precision=25), 25)  # 1/sqrt(2 pi)
    '0.3989422804014326779399461'
    """
    precision = check_int("precision", precision, low=5, high=1000)
    q_exact = to_exact("q", q, low=0, low_open=True)
    act = func if isinstance(func, Activation) else (
        get_activation(func) if isinstance(func, (str, sympy.Basic)) else get_activation(func, kinks=kinks))
    _check_precision(act, precision)
    all_kinks = tuple(sorted(set(act.kinks) | {float(k) for k in check_real("kinks", list(kinks)).ravel()}))
    with mpmath.workdps(precision + _GUARD):
        val, _ = _expectation(act.mp_func, mpmath.sqrt(_mp_of(q_exact)), all_kinks, precision, f"E[{act.name}]")
    with mpmath.workdps(precision):
        return +val


def _expectation(func, s, kinks, precision, label):
    """``(E func(sG), E|func(sG)|)`` by quadrature, to ``10**-(precision+1) E|func|`` (inside workdps)."""
    cutoff = _find_cutoff(func, s, precision, label)
    integrand = _Integrand(func, s, cutoff)

    def comp(g):
        v = integrand.value(g)
        if v is None:
            return None
        return (v[0] * v[1], abs(v[0]) * v[1])

    rel = mpmath.mpf(10) ** -(precision + 1)
    (val, absval), _ = _tanh_sinh(_pointwise(comp, 2), 2, _breaks(kinks, s),
                                  lambda cur: [rel * cur[1] + _tiny()] * 2, label)
    return val, absval


# ----------------------------------------------------------------------------------------------
# Assembly
# ----------------------------------------------------------------------------------------------
def _finish(act, kmax, q_exact, precision, mp_c, mp_m2, mp_star2, exact_c, exact_m2, method, work_dps):
    """Build the ``HermiteExpansion`` from working-precision values (inside ``workdps``).

    ``mp_star2`` is ``E sigma^2 - c_0^2 - c_1^2`` computed *accurately near zero* by the caller
    (``mu_star = sqrt(mp_star2)`` would otherwise inherit the square root of the round-off).
    """
    c0, c1 = mp_c[0], mp_c[1]
    sum_sq = mpmath.fsum(c * c for c in mp_c[: kmax + 1])
    # Allowed round-off/quadrature slack for quantities that must be >= 0.
    if method == "quadrature":
        slack = mpmath.mpf(10) ** -precision * mp_m2 * 4 * mpmath.sqrt(kmax + 2)
    else:
        slack = mpmath.mpf(10) ** -(work_dps - 5) * (mp_m2 + 1)
    tail = mp_m2 - sum_sq
    for name, val in (("tail", tail), ("mu_star^2", mp_star2)):
        if val < -slack:
            raise ValueError(f"activation {act.name!r}: Parseval check failed ({name} = {mpmath.nstr(val, 5)} "
                             "< 0); the quadrature is not accurate enough for this function -- declare its "
                             "kinks or lower the precision")
    exact_fields = (None,) * 6
    if exact_c is not None:
        ex = tuple(exact_c[: kmax + 1])
        e_m0, e_m1 = exact_c[0], exact_c[1]
        e_star2 = sympy.expand(exact_m2 - e_m0 ** 2 - e_m1 ** 2)
        e_tail = sympy.expand(exact_m2 - sympy.Add(*[e ** 2 for e in ex]))
        exact_fields = (ex, e_m0, e_m1, sympy.sqrt(e_star2), exact_m2, e_tail)
        if e_tail == 0:
            tail = mpmath.mpf(0)
        if e_star2 == 0:
            mp_star2 = mpmath.mpf(0)
    tail = max(tail, mpmath.mpf(0))
    mu_star = mpmath.sqrt(max(mp_star2, mpmath.mpf(0)))
    with mpmath.workdps(precision):
        rounded = tuple(+c for c in mp_c[: kmax + 1])
        r_m0, r_m1, r_star, r_m2, r_tail = +c0, +c1, +mu_star, +mp_m2, +tail
    coeffs = np.array([float(c) for c in mp_c[: kmax + 1]], dtype=float)
    coeffs.setflags(write=False)
    return HermiteExpansion(
        activation=act.name, kmax=kmax, q=float(q_exact), precision=precision, coeffs=coeffs,
        mp_coeffs=rounded, mu0=float(c0), mu1=float(c1), mu_star=float(mu_star), second_moment=float(mp_m2),
        tail=float(tail), mp_mu0=r_m0, mp_mu1=r_m1, mp_mu_star=r_star, mp_second_moment=r_m2, mp_tail=r_tail,
        exact=exact_fields[0], exact_mu0=exact_fields[1], exact_mu1=exact_fields[2],
        exact_mu_star=exact_fields[3], exact_second_moment=exact_fields[4], exact_tail=exact_fields[5],
        is_exact=exact_c is not None, method=method, params=act.params)


def _compute(act: Activation, kmax: int, q_exact, precision: int, mode: str) -> HermiteExpansion:
    K = max(kmax, 1)
    work = precision + _GUARD
    cf = _closed_form(act) if mode != "quadrature" else None
    if cf is None and mode == "exact" and act.kind == "sympy":
        if kmax > EXACT_KMAX_LIMIT:
            raise ValueError(f"kmax must be <= {EXACT_KMAX_LIMIT} for exact coefficients, got {kmax}")
        sic = _SympyIntegralCF(act.sympy_form)
        exact_c = [sic.coeff(k, q_exact) for k in range(K + 1)]
        exact_m2 = sic.second(q_exact)
        star2 = sympy.expand(exact_m2 - exact_c[0] ** 2 - exact_c[1] ** 2)
        with mpmath.workdps(work):
            mp_c = [_mp_of(e) for e in exact_c]
            mp_star2 = mpmath.mpf(str(sympy.N(star2, work))) if star2 != 0 else mpmath.mpf(0)
            return _finish(act, kmax, q_exact, precision, mp_c, _mp_of(exact_m2), mp_star2, exact_c, exact_m2,
                           "sympy integration", work)
    if cf is None and mode == "exact":
        raise ValueError(f"no closed form is known for activation {act.name!r}; use exact=None (quadrature) "
                         "or exact=False")
    if cf is not None:
        if kmax > EXACT_KMAX_LIMIT and mode == "exact":
            raise ValueError(f"kmax must be <= {EXACT_KMAX_LIMIT} for exact (sympy) coefficients, got {kmax}; "
                             "exact=None evaluates the closed forms numerically for any kmax")
        exact_c = exact_m2 = None
        if kmax <= EXACT_KMAX_LIMIT:
            s_sym = sympy.sqrt(q_exact)
            exact_c = [cf.coeff(k, s_sym, _Sym) for k in range(K + 1)]
            exact_m2 = sympy.expand(cf.second(s_sym, _Sym))
        with mpmath.workdps(2 * precision + 20):  # mu_star^2 = m2 - c0^2 - c1^2 cancels when mu_star ~ 0
            ns = _Mp()
            s = mpmath.sqrt(_mp_of(q_exact))
            star2 = cf.second(s, ns) - cf.coeff(0, s, ns) ** 2 - cf.coeff(1, s, ns) ** 2
        with mpmath.workdps(work):
            ns = _Mp()
            s = mpmath.sqrt(_mp_of(q_exact))
            mp_c = [cf.coeff(k, s, ns) for k in range(K + 1)]
            return _finish(act, kmax, q_exact, precision, mp_c, cf.second(s, ns), +star2, exact_c, exact_m2,
                           "closed form", work)
    _check_precision(act, precision)
    with mpmath.workdps(work):
        mp_c, m2, star2 = _quadrature_values(act, kmax, q_exact, precision)
        return _finish(act, kmax, q_exact, precision, mp_c, m2, star2, None, None, "quadrature", work)


@functools.lru_cache(maxsize=256)
def _compute_cached(act, kmax, q_exact, precision, mode):
    return _compute(act, kmax, q_exact, precision, mode)


def hermite_coefficients(activation, kmax: int = 10, *, q=1.0, exact=None, precision: int = 30
                         ) -> HermiteExpansion:
    """Normalized Hermite coefficients ``c_0..c_kmax`` of ``sigma(sqrt(q) G)`` and its summaries.

    ``c_k = E[sigma(sqrt(q) G) He_k(G)] / sqrt(k!)`` with ``G ~ N(0, 1)`` and probabilists'
    Hermite polynomials ``He_k``, so that ``sigma(sqrt(q) G) = sum_k c_k He_k(G) / sqrt(k!)``
    (the coefficients are taken with respect to the *standardized* variable ``G``). Also
    ``mu0 = c_0``, ``mu1 = c_1``, ``mu_star = sqrt(E sigma^2 - mu0^2 - mu1^2)`` (Mei & Montanari,
    arXiv:1908.05355), the second moment ``E sigma(sqrt(q) G)^2`` and the Parseval remainder
    ``tail = E sigma^2 - sum_{k <= kmax} c_k^2``. Hermite analysis: O'Donnell, *Analysis of
    Boolean Functions* (2014), ch. 11.

    Args:
        activation: a name from ``asymptotics.activations.ACTIVATIONS``, an ``Activation``
            (e.g. ``get_activation("erf", a=2)``), a sympy expression in one symbol, or a callable
            of one argument (an mpmath-compatible function; a float-only one limits ``precision``
            to 14). A callable's kinks are declared with ``get_activation(f, kinks=[...])``.
        kmax: the largest degree, ``>= 0``.
        q: the input variance, ``> 0``. A float is read as the decimal it prints as.
        exact: ``None``: closed form where one exists, quadrature otherwise; ``True``: closed form
            (or sympy integration for a sympy expression) or ``ValueError``; ``False``: quadrature.
        precision: decimal digits of the high-precision values, ``5 <= precision <= 1000``.

    Returns:
        A frozen :class:`HermiteExpansion`. Results for named activations are cached.

    Raises:
        ValueError: unknown activation, ``kmax < 0``, ``q <= 0``, no closed form with
            ``exact=True``, a function that is not square-integrable under the Gaussian, or a
            quadrature that does not reach ``precision``.

    >>> h = hermite_coefficients("erf", kmax=3)
    >>> h.exact[1], h.exact_second_moment
    (2*sqrt(3)/(3*sqrt(pi)), 2*asin(2/3)/pi)
    >>> hermite_coefficients("relu", kmax=2, q=4).exact  # relu is 1-homogeneous: scales by sqrt(q)
    (sqrt(2)/sqrt(pi), 1, 1/sqrt(pi))
    >>> hermite_coefficients("exp", kmax=2, exact=True).exact
    (exp(1/2), exp(1/2), sqrt(2)*exp(1/2)/2)
    >>> hermite_coefficients("tanh", exact=True)
    Traceback (most recent call last):
    ...
    ValueError: no closed form is known for activation 'tanh'; use exact=None (quadrature) or exact=False
    >>> hermite_coefficients(lambda x: mpmath.exp(x ** 2), kmax=2)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: activation '<lambda>': sigma(x)^2 exp(-x^2/(2q)) does not decay at large |x| ...
    """
    kmax = check_int("kmax", kmax, low=0)
    precision = check_int("precision", precision, low=5, high=1000)
    q_exact = to_exact("q", q, low=0, low_open=True)
    if exact is not None and not isinstance(exact, (bool, np.bool_)):
        raise ValueError(f"exact must be None, True or False, got {exact!r}")
    mode = "auto" if exact is None else ("exact" if exact else "quadrature")
    act = get_activation(activation)
    if act.kind == "callable":
        return _compute(act, kmax, q_exact, precision, mode)
    return _compute_cached(act, kmax, q_exact, precision, mode)
