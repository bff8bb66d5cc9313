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
  agree to ``10**-(precision+1)`` times the norm ``sqrt(E sigma^2)``) -- a ``ValueError`` saying
  which integral did not reach how many digits (and at which ``kmax``) is raised if they do not.
  Coefficients are then accurate to about ``10**-precision * sqrt(E sigma^2)`` in absolute value
  (for every ``k``: coefficients can be exactly zero, so the accuracy is relative to the norm of
  ``sigma``, not to each ``c_k``). The Hermite polynomials are summed in fixed point with enough
  bits for every degree (``|He_k(x)|/sqrt(k!)`` reaches ``~e^(x^2/4)``, Cramer's inequality), so
  every named quadrature activation works up to ``kmax = QUADRATURE_KMAX_LIMIT = 500`` at 30
  digits (``kmax = 100``: about 0.5 s each).

``kmax`` is at most ``KMAX_LIMIT = 10000`` (closed forms; sympy expressions up to
``EXACT_KMAX_LIMIT = 1000``) and ``QUADRATURE_KMAX_LIMIT = 500`` (quadrature). Summaries that
exceed the float64 range (``exp`` or ``relu_p`` at a huge ``q``) raise ``ValueError``.

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
from asymptotics.numerics.expressions import parse_expression

__all__ = ["HermiteExpansion", "hermite_coefficients", "gaussian_expectation", "normalized_hermite",
           "coefficient_by_integration", "EXACT_KMAX_LIMIT", "KMAX_LIMIT", "QUADRATURE_KMAX_LIMIT",
           "QUADRATURE_COST_LIMIT", "quadrature_cost", "max_quadrature_precision"]

#: Largest ``kmax`` for which sympy expressions of the coefficients are built (the integers in
#: ``sqrt(k!)`` grow past Python's default integer-to-string limit around ``k ~ 1500``). Above it
#: closed-form activations are still evaluated from their closed forms to ``precision`` digits.
EXACT_KMAX_LIMIT = 1000

#: Largest ``kmax`` of :func:`hermite_coefficients` from closed forms (evaluated numerically above
#: ``EXACT_KMAX_LIMIT``; ``relu`` at ``kmax = 10000`` takes ~0.2 s).
KMAX_LIMIT = 10000

#: Largest ``kmax`` of :func:`hermite_coefficients` by quadrature (``tanh`` at ``kmax = 500`` and 30
#: digits takes a few seconds; the cost grows like ``kmax`` times the number of nodes).
QUADRATURE_KMAX_LIMIT = 500

#: Budget of the quadrature cost model (see :func:`quadrature_cost`): about one minute on one core.
QUADRATURE_COST_LIMIT = 60.0

_FLOAT_MAX = mpmath.mpf(np.finfo(float).max)
_GUARD = 15          # extra working digits for quadrature and closed-form evaluation
_BASE_DEGREE = 10    # tanh-sinh levels always tried at <= 45 working digits (level m has step 2**-m)
_MAX_DEGREE = 16     # hard cap on the levels, reached only while the quadrature converges fast


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
        with np.errstate(over="ignore", invalid="ignore"):
            g = x / math.sqrt(self.q)
            if not np.isfinite(g).all():
                raise ValueError(f"x / sqrt(q) exceeds the float64 range (q = {self.q:g})")
            out = np.tensordot(self.coeffs, normalized_hermite(self.kmax, g), axes=1)
        if not np.isfinite(out).all():
            raise ValueError("the truncated Hermite series exceeds the float64 range at some x; lower |x|")
        return out


def normalized_hermite(kmax: int, x) -> np.ndarray:
    """``He_k(x) / sqrt(k!)`` for ``k = 0..kmax``, stacked along a new first axis (float64).

    Uses the stable recurrence ``h_{k+1} = (x h_k - sqrt(k) h_{k-1}) / sqrt(k+1)``.
    ``0 <= kmax <= KMAX_LIMIT``; ``x`` finite. ``|He_k(x)| / sqrt(k!) <= 1.09 e^(x^2/4)`` (Cramer's
    inequality), so every ``|x| <= 53`` is safe; a value beyond the float64 range raises
    ``ValueError`` (rather than ``inf``, or ``nan`` from ``inf - inf``).

    >>> normalized_hermite(3, 2.0) * np.sqrt([1, 1, 2, 6])  # He_0..He_3 at 2: 1, 2, 3, 2
    array([1., 2., 3., 2.])
    >>> normalized_hermite(200, 1e3)
    Traceback (most recent call last):
    ...
    ValueError: He_k(x)/sqrt(k!) exceeds the float64 range for k = 145 at |x| = 1000; lower kmax or |x|
    """
    kmax = check_int("kmax", kmax, low=0, high=KMAX_LIMIT)
    x = check_real("x", x)
    out = np.empty((kmax + 1,) + x.shape)
    out[0] = 1.0
    if kmax >= 1:
        out[1] = x
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(1, kmax):
            out[k + 1] = (x * out[k] - math.sqrt(k) * out[k - 1]) / math.sqrt(k + 1)
            if not np.isfinite(out[k + 1]).all():
                bad = float(np.max(np.abs(x[~np.isfinite(out[k + 1])])))
                raise ValueError(f"He_k(x)/sqrt(k!) exceeds the float64 range for k = {k + 1} at |x| = {bad:g}; "
                                 "lower kmax or |x|")
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
    def expm1(v):
        return sympy.exp(v) - 1

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
    expm1 = staticmethod(mpmath.expm1)  # no cancellation in 1 - e^(-2 b^2) for small b
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

    def _one_minus_e(self, s, ns):  # 1 - e^(-2 b^2), accurate for small b
        return -ns.expm1(-2 * (ns.num(self.a) * s) ** 2)

    def second(self, s, ns):
        return self._one_minus_e(s, ns) / 2 if self.kind == "sin" else (1 + self._e(s, ns)) / 2

    def reflected(self, s, ns):
        v = self.second(s, ns)
        return -v if self.kind == "sin" else v

    def deriv_second(self, s, ns):
        b2 = (ns.num(self.a) * s) ** 2
        return b2 * (1 + self._e(s, ns)) / 2 if self.kind == "sin" else b2 * self._one_minus_e(s, ns) / 2

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
    k = check_int("k", k, low=-1, high=EXACT_KMAX_LIMIT)
    x = symbol if symbol is not None else SYMBOL
    q = to_exact("q", q, low=0, low_open=True)
    g = sympy.Dummy("g", real=True)
    f = (parse_expression(expr, name="expr", symbols=[x]) if isinstance(expr, str) else sympy.sympify(expr)).subs(x, sympy.sqrt(q) * g)
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


def _level_budget(dps: int) -> int:
    """Levels always tried: ``_BASE_DEGREE`` up to 45 working digits, one more per doubling of the
    digits (tanh-sinh roughly doubles the number of correct digits per level)."""
    return min(_BASE_DEGREE + max(0, math.ceil(math.log2(dps / 45))), _MAX_DEGREE)


def _tanh_sinh(level_sum, ncomp, breaks, tol_of, describe, node_cache=None):
    """Integrate a vector function over the real line split at ``breaks`` (tanh-sinh quadrature).

    ``level_sum(nodes)`` returns the ``ncomp`` weighted sums ``sum_j w_j f_i(x_j)`` over the given
    ``(x_j, w_j)`` nodes. Every piece is refined level by level (level ``m`` has step ``2**-m`` and
    reuses the nodes of level ``m-1``) until, from level 3 on, two successive levels of the piece
    agree to within ``tol_of(total)[i] / n_pieces`` for every component ``i``, where ``total`` is
    the current estimate of the whole integral (so that a negligible piece is not asked for digits
    relative to itself) -- a conservative test, since tanh-sinh roughly doubles the number of
    correct digits per level.

    Levels up to :func:`_level_budget` are always tried; beyond it (up to ``_MAX_DEGREE``) only while
    each level still shrinks the worst difference at least ``1000``-fold (the double-exponential
    convergence of an analytic integrand), so that a kink, a jump or a rounding-noise floor fails
    fast instead of doubling the work for nothing. On failure ``ValueError(describe(info))`` is
    raised, ``info`` a dict with ``a, b`` (the piece), ``level``, ``component``, ``diff``,
    ``needed`` and ``trend`` (a phrase: how the differences behaved over the last levels).
    ``node_cache`` (a dict) shares the mapped nodes between calls on the same pieces.
    Returns ``(values, error_estimates)``.
    """
    prec = mpmath.mp.prec
    budget = _level_budget(mpmath.mp.dps)
    pieces = [{"a": a, "b": b, "levels": [], "ratios": [], "diffs": None, "done": False}
              for a, b in zip(breaks[:-1], breaks[1:])]
    npieces = len(pieces)
    for degree in range(1, _MAX_DEGREE + 1):
        h = mpmath.ldexp(mpmath.mpf(1), -degree)
        for pc in pieces:
            if pc["done"]:
                continue
            key = (pc["a"], pc["b"], degree, prec)
            nodes = node_cache.get(key) if node_cache is not None else None
            if nodes is None:
                nodes = _nodes(pc["a"], pc["b"], degree, prec)
                if node_cache is not None:
                    node_cache[key] = nodes
            new = level_sum(nodes)
            levels = pc["levels"]
            if levels:
                levels.append([v / 2 + h * n for v, n in zip(levels[-1], new)])
            else:
                levels.append([h * n for n in new])
        if degree < 2:
            continue
        total = [mpmath.fsum(pc["levels"][-1][i] for pc in pieces) for i in range(ncomp)]
        needed = [t / npieces for t in tol_of(total)]
        for pc in pieces:
            if pc["done"]:
                continue
            lv = pc["levels"]
            diffs = [abs(lv[-1][i] - lv[-2][i]) for i in range(ncomp)]
            ratio = [d / n if n > 0 else (mpmath.mpf(0) if d == 0 else mpmath.inf) for d, n in zip(diffs, needed)]
            worst = max(range(ncomp), key=lambda i: ratio[i])
            pc["diffs"] = diffs
            pc["ratios"].append(ratio[worst])
            if degree >= 3 and ratio[worst] <= 1:
                pc["done"] = True
                continue
            rs = pc["ratios"]
            fast = len(rs) >= 2 and rs[-1] * 1000 < rs[-2]
            if degree >= budget and not (fast and degree < _MAX_DEGREE):
                raise ValueError(describe({
                    "a": pc["a"], "b": pc["b"], "level": degree, "component": worst, "diff": diffs[worst],
                    "needed": needed[worst], "trend": _trend(rs)}))
        if all(pc["done"] for pc in pieces):
            break
    values = [mpmath.fsum(pc["levels"][-1][i] for pc in pieces) for i in range(ncomp)]
    errors = [mpmath.fsum(pc["diffs"][i] for pc in pieces) for i in range(ncomp)]
    return values, errors


def _trend(ratios) -> str:
    """How the worst normalized level difference behaved over the last three levels, in words."""
    last = ratios[-3:]
    shown = ", ".join(mpmath.nstr(r, 2) for r in last)
    if len(last) >= 2 and all(r > 0 for r in last) and last[-1] >= last[0] / 2:
        kind = "not decreasing"
    elif len(last) >= 2 and all(r > 0 for r in last) and last[-1] >= last[0] / 1e4:
        kind = "decreasing only slowly (algebraically, not double-exponentially)"
    else:
        kind = "decreasing"
    return f"the differences, in units of the tolerance, were {kind} ({shown}) over the last levels"


def _failure(label, what, precision, info, advice) -> str:
    """The message of a quadrature that did not converge: what, where, by how much, and what to do."""
    comp = f" ({info['component_name']})" if info.get("component_name") else ""
    return (f"{label}: the quadrature of {what} did not reach {precision} digits{comp}: on "
            f"[{mpmath.nstr(info['a'], 6)}, {mpmath.nstr(info['b'], 6)}] (standardized variable) levels "
            f"{info['level'] - 1} and {info['level']} differ by {mpmath.nstr(info['diff'], 3)}, needed "
            f"{mpmath.nstr(info['needed'], 3)}; {info['trend']}. {advice}")


#: Advice when a quadrature of sigma itself (``E sigma^2``, ``E f``) fails: there the function is the
#: suspect.
_ADVICE_FUNCTION = ("Possible causes: kinks or jumps of sigma not declared with get_activation(f, kinks=[...]); "
                    "a singularity (then sigma may not be square-integrable under the Gaussian); or a "
                    "precision too high for how accurately sigma is computed.")


def quadrature_cost(precision: int, kmax: int, pieces: int = 2) -> float:
    """Estimated cost of :func:`hermite_coefficients` by quadrature, in units of ~1 s (one core).

    Measured (tanh and softplus, ratios side by side in one run): the cost grows like
    ``precision^1.6`` (30 -> 300 digits at ``kmax = 10``: x38 and x32) and like ``(kmax + 30)/40``
    (``kmax`` 10 -> 200 at 30 digits: x5.9 and x5.9), and with the number of pieces between kinks;
    30 digits at ``kmax = 10`` (two pieces) takes 0.7-1.7 s on a loaded two-core machine. Hence
    ``cost = (precision/30)^1.6 (kmax + 30)/40 pieces/2`` (``tanh`` at 1000 digits: ~270 s; measured
    at 300 digits: 63 s against the model's 40).

    >>> round(quadrature_cost(30, 10), 2), quadrature_cost(1000, 10) > QUADRATURE_COST_LIMIT
    (1.0, True)
    """
    return (precision / 30) ** 1.6 * (kmax + 30) / 40 * pieces / 2


def max_quadrature_precision(kmax: int, pieces: int = 2) -> int:
    """The largest ``precision`` whose :func:`quadrature_cost` is within ``QUADRATURE_COST_LIMIT``.

    >>> max_quadrature_precision(10), max_quadrature_precision(500)
    (387, 77)
    """
    scale = QUADRATURE_COST_LIMIT / ((kmax + 30) / 40 * pieces / 2)
    return max(5, int(30 * scale ** (1 / 1.6)))


def _check_cost(act: Activation, kmax: int, precision: int):
    """Refuse, before any work, a quadrature that the cost model says cannot finish in about a minute."""
    pieces = len(_breaks(act.kinks, mpmath.mpf(1))) - 1
    cost = quadrature_cost(precision, max(kmax, 1), pieces)
    if cost > QUADRATURE_COST_LIMIT:
        limit = max_quadrature_precision(max(kmax, 1), pieces)
        raise ValueError(f"precision={precision} at kmax={kmax} is too expensive for activation {act.name!r}, whose "
                         f"Hermite coefficients are computed by quadrature (estimated {cost:.0f} s, limit about "
                         f"{QUADRATURE_COST_LIMIT:.0f} s): the largest supported precision at kmax={kmax} is {limit} "
                         "(closed-form activations take any precision up to 1000)")


def _check_precision(act: Activation, precision: int):
    if act.max_precision is not None and precision > act.max_precision:
        raise ValueError(f"precision must be <= {act.max_precision} for activation {act.name!r}: it "
                         "evaluates in double precision only (it does not accept mpmath numbers); pass "
                         f"precision<={act.max_precision}, or a function that computes with mpmath")


def _quad_second_moment(func, s, kinks, precision, label, node_cache=None):
    """``E func(sG)^2`` to relative accuracy ``10**-(precision+1)``; also returns the integrand."""
    cutoff = _find_cutoff(func, s, precision, label)
    integrand = _Integrand(func, s, cutoff)

    def comp(g):
        v = integrand.value(g)
        if v is None:
            return None
        return (v[0] * v[0] * v[1],)

    rel = mpmath.mpf(10) ** -(precision + 1)
    (m2,), _ = _tanh_sinh(_pointwise(comp, 1), 1, _breaks(kinks, s), lambda total: [rel * abs(total[0])],
                          lambda info: _failure(label, "E[sigma^2]", precision, info, _ADVICE_FUNCTION), node_cache)
    return m2, integrand


def _to_fixed(x, bits):
    """``x * 2**bits`` truncated to a Python int (``x`` an mpf)."""
    return int(mpmath.ldexp(x, bits))


class _HermiteSums:
    """``level_sum`` for the coefficients: ``sum_j w_j sigma(s x_j) phi(x_j) h_k(x_j)``, k = 0..K.

    The normalized Hermite recurrence ``h_{k+1} = (x h_k - sqrt(k) h_{k-1}) / sqrt(k+1)`` runs in
    fixed-point integer arithmetic with ``bits`` fractional bits (exact integer products, one
    rounding per step), which is ~30x faster than mpf arithmetic for the same accuracy.

    The node weight ``w sigma phi`` gets ``2 * bits`` fractional bits. It is tiny where ``h_k`` is
    huge, and its absolute rounding error is multiplied by ``|h_k(x)|``, which can be as large as
    ``~1.09 e^(x^2/4)`` (Cramer's inequality ``|He_k(x)| <= 1.09 sqrt(k!) e^(x^2/4)``, attained for
    ``k ~ x^2/4``): with ``bits`` fractional bits only (the former choice) that product reached
    ``2**-(bits/2)`` at ``x ~ sqrt(2 bits ln 2)`` -- about ``10**-24`` at 30 digits -- as soon as
    ``kmax`` exceeded ``~ x^2/4 ~ 40``, and the levels never agreed to 30 digits. With ``2 * bits``
    the product stays below ``2**-bits`` for every ``k``: a nonzero weight ``2**-(2 bits)`` sits at
    ``e^(-x^2/2) >~ 2**-(2 bits)``, where ``e^(x^2/4) <~ 2**bits``. ``sigma`` is divided by ``norm``
    (``sqrt(E sigma^2)``) first, so that the fixed point is relative to the size of ``sigma`` (at
    ``q = 1e-300``, ``tanh(sqrt(q) G) ~ 1e-150`` would otherwise round to 0).
    """

    def __init__(self, integrand, K, bits, norm):
        self.integrand, self.K, self.bits, self.norm = integrand, K, bits, norm
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
            weight = _to_fixed(w * v[0] * v[1] / self.norm, 2 * bits)
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
        return [mpmath.ldexp(mpmath.mpf(a), -3 * bits) * self.norm for a in acc]


def _quadrature_values(act: Activation, kmax: int, q_exact, precision: int):
    """Coefficients ``c_0..c_K`` (``K = max(kmax, 1)``), ``E sigma^2`` and ``mu_star^2`` by quadrature,
    as mpf at the working precision. Must be called inside ``workdps``.

    ``mu_star^2`` is integrated directly as ``E[(sigma(sG) - c_0 - c_1 G)^2]`` so that it is accurate
    relative to itself (the difference ``E sigma^2 - c_0^2 - c_1^2`` would lose all digits when the
    nonlinear part is small).
    """
    label = f"activation {act.name!r}"
    s = mpmath.sqrt(_mp_of(q_exact))
    cache = {}  # the three quadratures below share their nodes
    m2, integrand = _quad_second_moment(act.mp_func, s, act.kinks, precision, label, cache)
    K = max(kmax, 1)
    zero = mpmath.mpf(0)
    if m2 == 0:
        return [zero] * (K + 1), m2, zero
    level_sum = _HermiteSums(integrand, K, mpmath.mp.prec + 10 + K.bit_length(), mpmath.sqrt(m2))
    tol = mpmath.mpf(10) ** -(precision + 1) * mpmath.sqrt(m2)
    breaks = _breaks(act.kinks, s)
    advice = ("Lower kmax or precision"
              + ("." if act.kind == "named" else
                 "; if sigma has kinks or jumps, declare them with get_activation(f, kinks=[...])."))

    def describe(info):
        info = dict(info, component_name=f"worst coefficient c_{info['component']}")
        return _failure(label, f"the Hermite coefficients at kmax={kmax}", precision, info, advice)

    coeffs, _ = _tanh_sinh(level_sum, K + 1, breaks, lambda total: [tol] * (K + 1), describe, cache)
    c0, c1 = coeffs[0], coeffs[1]

    def residual(g):
        v = integrand.value(g)
        if v is None:
            return None
        r = v[0] - c0 - c1 * g
        return (r * r * v[1],)

    floor = mpmath.mpf(10) ** -(2 * precision + 2) * m2
    (star2,), _ = _tanh_sinh(_pointwise(residual, 1), 1, breaks,
                             lambda total: [mpmath.mpf(10) ** -(precision + 1) * abs(total[0]) + floor],
                             lambda info: _failure(label, "mu_star^2 = E[(sigma - c_0 - c_1 G)^2]", precision,
                                                   info, _ADVICE_FUNCTION), cache)
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
    all_kinks = tuple(sorted(set(act.kinks) | {float(k) for k in check_real("kinks", list(kinks), allow_empty=True).ravel()}))
    with mpmath.workdps(precision + _GUARD):
        val, _ = _expectation(act.mp_func, mpmath.sqrt(_mp_of(q_exact)), all_kinks, precision, f"E[{act.name}]")
    with mpmath.workdps(precision):
        return +val


def _expectation(func, s, kinks, precision, label):
    """``(E func(sG), E|func(sG)|)`` by quadrature (inside workdps): the first to
    ``10**-(precision+1) E|func|``, the second -- only a scale -- to 1%: ``|func|`` has kinks where
    ``func`` changes sign (``silu'(x) silu'(-x)`` at ``x = +-1.28``), at which a full-precision
    demand on it made the (smooth) expectation fail."""
    cutoff = _find_cutoff(func, s, precision, label)
    integrand = _Integrand(func, s, cutoff)

    def comp(g):
        v = integrand.value(g)
        if v is None:
            return None
        return (v[0] * v[1], abs(v[0]) * v[1])

    rel = mpmath.mpf(10) ** -(precision + 1)
    (val, absval), _ = _tanh_sinh(_pointwise(comp, 2), 2, _breaks(kinks, s),
                                  lambda total: [rel * total[1], total[1] / 100],
                                  lambda info: _failure(label, "the expectation", precision, info,
                                                        _ADVICE_FUNCTION))
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
                             f"< 0) at kmax={kmax}; the quadrature is not accurate enough for this function -- "
                             "declare its kinks, or lower kmax or the precision")
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
    biggest = max([abs(c) for c in mp_c[: kmax + 1]] + [mp_m2, mu_star])
    if biggest > _FLOAT_MAX:
        raise ValueError(f"activation {act.name!r} at q={float(q_exact):g}: the Hermite summaries exceed the "
                         f"float64 range (E sigma^2 = {mpmath.nstr(mp_m2, 5)}); use a smaller q"
                         + (" or parameter" if act.params else ""))
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


def _closed_star2(cf, q_exact, precision):
    """``mu_star^2 = E sigma^2 - c_0^2 - c_1^2`` from a closed form, to about ``precision + 5`` digits
    *relative to itself*. The difference cancels when the nonlinear part is small (``exp(a x)`` at
    ``q = 1e-300`` keeps ``~1e-600`` of ``E sigma^2 ~ 1``), so it is evaluated at ``2 precision + 20``
    digits, and the working precision is doubled until the result exceeds the round-off of the
    difference (``10**-dps`` times the largest term) by ``10**(precision + 5)``. A difference that
    stays 0 or negative up to 2000 digits is taken as an exact 0 (identity, an affine poly, a
    constant); the loop stops at 20000 digits in any case."""
    dps = 2 * precision + 20
    while True:
        with mpmath.workdps(dps):
            ns = _Mp()
            s = mpmath.sqrt(_mp_of(q_exact))
            m2, c0, c1 = cf.second(s, ns), cf.coeff(0, s, ns), cf.coeff(1, s, ns)
            star2 = m2 - c0 ** 2 - c1 ** 2
            noise = mpmath.mpf(10) ** -(dps - 2) * max(abs(m2), c0 ** 2, c1 ** 2)
            if star2 > noise * mpmath.mpf(10) ** (precision + 5) or dps >= 20000:
                return star2
            if dps >= 2000 and star2 <= noise:
                return mpmath.mpf(0)
        dps *= 2


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
        star2 = _closed_star2(cf, q_exact, precision)
        with mpmath.workdps(work):
            ns = _Mp()
            s = mpmath.sqrt(_mp_of(q_exact))
            mp_c = [cf.coeff(k, s, ns) for k in range(K + 1)]
            return _finish(act, kmax, q_exact, precision, mp_c, cf.second(s, ns), +star2, exact_c, exact_m2,
                           "closed form", work)
    if kmax > QUADRATURE_KMAX_LIMIT:
        raise ValueError(f"kmax must be <= {QUADRATURE_KMAX_LIMIT} for activation {act.name!r}, whose coefficients "
                         f"are computed by quadrature, got {kmax}")
    _check_precision(act, precision)
    _check_cost(act, kmax, precision)
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
        kmax: the largest degree, ``0 <= kmax <= KMAX_LIMIT`` (10000); at most
            ``QUADRATURE_KMAX_LIMIT`` (500) when computed by quadrature.
        q: the input variance, ``> 0``. A float is read as the decimal it prints as.
        exact: ``None``: closed form where one exists, quadrature otherwise; ``True``: closed form
            (or sympy integration for a sympy expression) or ``ValueError``; ``False``: quadrature.
        precision: decimal digits of the high-precision values, ``5 <= precision <= 1000``.

    Returns:
        A frozen :class:`HermiteExpansion`. Results for named activations are cached.

    Raises:
        ValueError: unknown activation, ``kmax`` out of range, ``q <= 0``, no closed form with
            ``exact=True``, a function that is not square-integrable under the Gaussian, a
            quadrature that does not reach ``precision`` (the message names the integral, the
            digits and ``kmax``), or summaries beyond the float64 range.

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
    kmax = check_int("kmax", kmax, low=0, high=KMAX_LIMIT)
    precision = check_int("precision", precision, low=5, high=1000)
    q_exact = to_exact("q", q, low=0, low_open=True)
    if exact is not None and not isinstance(exact, (bool, np.bool_)):
        raise ValueError(f"exact must be None, True or False, got {exact!r}")
    mode = "auto" if exact is None else ("exact" if exact else "quadrature")
    act = get_activation(activation)
    if act.kind == "callable":
        return _compute(act, kmax, q_exact, precision, mode)
    return _compute_cached(act, kmax, q_exact, precision, mode)
