r"""Dual (NNGP) and neural-tangent kernels of an activation, from its Hermite series.

Setting: ``u, v`` jointly Gaussian, each ``N(0, q)`` (``q = 1`` by default), with correlation
``rho in [-1, 1]``. With the normalized Hermite coefficients ``c_k`` of ``sigma(sqrt(q) G)``
(:func:`asymptotics.expansions.hermite.hermite_coefficients`), Mehler's formula gives

* the **dual kernel**      ``k(rho)  = E[sigma(u) sigma(v)] = sum_k c_k^2 rho^k``,
* its **derivative**       ``k'(rho) = sum_k k c_k^2 rho^(k-1) = q E[sigma'(u) sigma'(v)]``
  (for ``sigma`` weakly differentiable with ``sigma' in L^2``),
* the **two-layer NTK**    ``K_NT(rho) = rho k'(rho) + k(rho)``.

Truncation bounds (rigorous, and returned with ``return_error=True``): with the Parseval tail
``T_K = E sigma^2 - sum_{k <= K} c_k^2`` and ``r = |rho| < 1``,

* ``|k(rho) - sum_{k <= K} c_k^2 rho^k| <= T_K r^(K+1)``,
* ``|k'(rho) - sum_{k <= K} k c_k^2 rho^(k-1)| <= min(T_K max_{k > K} k r^(k-1), D_K r^K)``
  (the maximum of the unimodal ``k r^(k-1)`` is attained at ``K+1`` or next to ``-1/log r``), with
  ``D_K = q E sigma'(u)^2 - sum_{k <= K} k c_k^2`` the Parseval tail of ``sqrt(q) sigma'`` (Stein's
  identity), known when ``sigma'`` is (closed forms; quadrature of ``E sigma'^2`` at 20 digits). The
  second bound does not grow as ``r -> 1``, so every activation with ``sigma'`` in ``L^2`` certifies
  ``tol`` at every ``|rho| < 1``; a polynomial's tails are exactly 0 beyond its degree.

``K`` is chosen automatically (smallest ``K`` meeting the absolute ``tol`` at the largest
``|rho| < 1``), unless ``kmax`` is given. The returned bound also covers the float64 rounding of
the summation (Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., sec. 5.1:
Horner's rule returns
``sum_k a_k rho^k (1 + theta_{2k+1})``, ``|theta_n| <= n u / (1 - n u)``) and the accuracy of the
coefficients (exact for closed forms; ``10**-20`` times the norm for quadrature).

At ``|rho| = 1`` the series path does not sum the series: ``k(1) = E sigma(u)^2``, ``k(-1) = E[sigma(u) sigma(-u)]``,
``k'(1) = q E[sigma'(u)^2]``, ``k'(-1) = q E[sigma'(u) sigma'(-u)]`` (closed forms, or quadrature).
``k'(+-1)`` is ``inf`` when ``sigma'`` is not square-integrable, e.g. for ``step`` and ``sign``
(``sigma'`` is a Dirac mass); the NTK is then ``+-inf`` there.

Closed forms (``method="auto"``, the default, uses them when ``kmax`` is not given; near
``|rho| = 1`` the series of a non-smooth activation cannot converge): arc-cosine kernels (Cho &
Saul, "Kernel methods for deep learning", NIPS 2009) for relu, leaky_relu, abs, step, sign and
relu_p with ``p <= 2`` (``k'`` up to ``p = 3``), ``(2/pi) arcsin rho`` for ``sign``, Williams' erf
kernel (C. K. I. Williams, "Computing with infinite networks", NIPS 1996 / Neural Computation 1998),
and ``e^(b^2 (1 + rho))``, ``e^(-b^2) sinh(b^2 rho)``, ``e^(-b^2) cosh(b^2 rho)`` for exp, sin,
cos (``b^2 = a^2 q``). Their bound is their float64 rounding. ``method="series"`` always sums the
Hermite series: the closed forms and the series are independent witnesses of each other.

>>> float(dual_kernel("relu", 0.5))  # (sqrt(3)/2 + pi/3) / (2 pi)
0.30449889052211...
>>> float(arccos_kernel(1, 0.5))
0.30449889052211...
>>> value, bound = dual_kernel("tanh", 0.3, return_error=True)
>>> bool(bound < 1e-14)
True
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import mpmath
import numpy as np

from asymptotics._validation import check_int, check_real
from asymptotics.activations import get_activation, to_exact
from asymptotics.expansions.hermite import (
    _GUARD, QUADRATURE_KMAX_LIMIT, _closed_form, _expectation, _ErfCF, _ExpCF, _Mp, _mp_of, _PolyCF, _PowerCF,
    _TrigCF,
    _check_precision, hermite_coefficients,
)

__all__ = ["dual_kernel", "dual_kernel_derivative", "ntk", "NTKParts", "arccos_kernel", "sign_kernel",
           "erf_kernel"]

_CLOSED_DPS = 30          # digits for closed-form coefficients in the kernel series
_QUAD_PRECISION = 20      # digits for quadrature coefficients in the kernel series
_K_START = 64
_K_CAP_CLOSED = 2 ** 15   # largest automatic K for closed-form activations
_K_CAP_QUAD = QUADRATURE_KMAX_LIMIT  # largest automatic K for quadrature activations (500)
_U = 2.0 ** -53           # unit round-off of float64
_TINY = np.finfo(float).tiny  # covers the absolute error of results that underflow
_METHODS = ("auto", "series", "closed")


# ----------------------------------------------------------------------------------------------
# Coefficient data
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Series:
    c2: np.ndarray        # float64 c_k^2, k = 0..K
    c2_err: np.ndarray    # bound on |c2[k] - c_k^2| beyond float rounding
    tails: np.ndarray     # upper bounds on T_j = sum_{k > j} c_k^2, j = 0..K
    dtails: np.ndarray | None = None  # upper bounds on D_j = sum_{k > j} k c_k^2 (None: unknown/infinite)


def _series_uncached(act, K, q_exact) -> _Series:
    cf = _closed_form(act)
    if cf is not None:
        with mpmath.workdps(_CLOSED_DPS + 10):
            ns = _Mp()
            s = mpmath.sqrt(_mp_of(q_exact))
            c = [cf.coeff(k, s, ns) for k in range(K + 1)]
            m2 = cf.second(s, ns)
            sq = [ci * ci for ci in c]
            slack = mpmath.mpf(10) ** -(_CLOSED_DPS - 2) * m2  # relative: tiny q gives tiny kernels
            degree = len(cf.coeffs) - 1 if isinstance(cf, _PolyCF) else None  # polynomial: exact tails
            tails, cum = [], mpmath.mpf(0)
            for j, v in enumerate(sq):
                cum += v
                tails.append(0 if degree is not None and j >= degree else max(m2 - cum, mpmath.mpf(0)) + slack)
            md = cf.deriv_second(s, ns)  # sum_k k c_k^2 = E f'(G)^2, f(g) = sigma(s g) (may be inf)
            dtails = None
            if not mpmath.isinf(md):
                dslack = mpmath.mpf(10) ** -(_CLOSED_DPS - 2) * md
                dtails, cum = [], mpmath.mpf(0)
                for j, v in enumerate(sq):
                    cum += j * v
                    dtails.append(0 if degree is not None and j >= degree else max(md - cum, mpmath.mpf(0)) + dslack)
            c2 = np.array([float(v) for v in sq])
            c2_err = np.zeros(K + 1)
    else:
        h = hermite_coefficients(act, K, q=q_exact, exact=False, precision=_QUAD_PRECISION)
        eps = 10.0 ** -_QUAD_PRECISION * math.sqrt(h.second_moment)
        c = np.abs(np.asarray(h.coeffs))
        c2 = np.array([float(v * v) for v in h.mp_coeffs])
        c2_err = 2 * c * eps + eps * eps
        with mpmath.workdps(_QUAD_PRECISION + _GUARD):
            m2 = mpmath.mpf(h.mp_second_moment)
            cum = mpmath.mpf(0)
            tails = []
            for j, v in enumerate(h.mp_coeffs):
                cum += mpmath.mpf(v) ** 2
                tails.append(max(m2 - cum, mpmath.mpf(0)) + 10.0 ** -_QUAD_PRECISION * m2 + float(c2_err[: j + 1].sum()))
        dtails = None
        md = _deriv_second_mp(act, q_exact)
        if md is not None:
            with mpmath.workdps(_QUAD_PRECISION + _GUARD):
                mval, merr = md
                weighted_err = np.cumsum(np.arange(K + 1) * c2_err)
                dtails, cum = [], mpmath.mpf(0)
                for j, v in enumerate(h.mp_coeffs):
                    cum += j * mpmath.mpf(v) ** 2
                    dtails.append(max(mval - cum, mpmath.mpf(0)) + merr + 10.0 ** -_QUAD_PRECISION * mval
                                  + float(weighted_err[j]))
    tails = np.nextafter(np.array([float(t) for t in tails]), np.inf)
    if dtails is not None:
        dtails = np.nextafter(np.array([float(t) for t in dtails]), np.inf)
        if not np.isfinite(dtails).all():
            dtails = None
    if not (np.isfinite(c2).all() and np.isfinite(tails).all()):
        raise ValueError(f"activation {act.name!r} at q={float(q_exact):g}: the squared Hermite coefficients exceed "
                         "the float64 range; use a smaller q")
    for arr in (c2, c2_err, tails) + ((dtails,) if dtails is not None else ()):
        arr.setflags(write=False)
    return _Series(c2, c2_err, tails, dtails)


def _deriv_second_mp(act, q_exact):
    """``(q E sigma'(u)^2, abs error)`` as mpf at ``_QUAD_PRECISION`` digits for a quadrature activation,
    or ``None`` when ``sigma'`` is unknown (a callable without ``derivative=``) or the quadrature fails
    (then only the Parseval tail of ``c_k^2`` bounds the series of ``k'``)."""
    if act.mp_derivative is None or (act.max_precision is not None and act.max_precision < _QUAD_PRECISION):
        return None
    f = act.mp_derivative
    kinks = tuple(sorted(set(act.kinks) | {-k for k in act.kinks}))
    try:
        with mpmath.workdps(_QUAD_PRECISION + _GUARD):
            s = mpmath.sqrt(_mp_of(q_exact))
            val, absval = _expectation(lambda x: f(x) ** 2, s, kinks, _QUAD_PRECISION,
                                       f"activation {act.name!r}: E[sigma'^2]")
            scale = s * s
            return scale * val, scale * absval * 2 * mpmath.mpf(10) ** -_QUAD_PRECISION
    except ValueError:
        return None


_series_cached = functools.lru_cache(maxsize=64)(_series_uncached)


def _series(act, K, q_exact) -> _Series:
    return _series_uncached(act, K, q_exact) if act.kind == "callable" else _series_cached(act, K, q_exact)


def _moment_uncached(act, q_exact, key):
    """``(value, abs error)`` of an endpoint moment: ``second``, ``reflected``, ``deriv_second`` or
    ``deriv_reflected`` (see the module docstring)."""
    cf = _closed_form(act)
    if cf is not None:
        with mpmath.workdps(_CLOSED_DPS + 10):
            ns = _Mp()
            s = mpmath.sqrt(_mp_of(q_exact))
            v = getattr(cf, key)(s, ns)
            if mpmath.isinf(v):
                return math.inf, 0.0
            if not math.isfinite(float(v)):
                raise ValueError(f"activation {act.name!r} at q={float(q_exact):g}: the kernel at |rho| = 1 "
                                 f"({mpmath.nstr(v, 5)}) exceeds the float64 range; use a smaller q")
            return float(v), 0.0
    _check_precision(act, _QUAD_PRECISION)
    if key.startswith("deriv") and act.mp_derivative is None:
        raise ValueError(f"k'(rho) at |rho| = 1 needs E[sigma'(u)^2], but activation {act.name!r} has no "
                         "derivative; pass derivative= to get_activation, or use |rho| < 1")
    f = act.mp_derivative if key.startswith("deriv") else act.mp_func
    kinks = tuple(sorted(set(act.kinks) | {-k for k in act.kinks}))
    with mpmath.workdps(_QUAD_PRECISION + _GUARD):
        s = mpmath.sqrt(_mp_of(q_exact))
        scale = s * s if key.startswith("deriv") else mpmath.mpf(1)
        if key.endswith("second"):
            def func(x):
                return f(x) ** 2
        else:
            def func(x):
                return f(x) * f(-x)
        val, absval = _expectation(func, s, kinks, _QUAD_PRECISION, f"activation {act.name!r}: {key} moment")
        return float(scale * val), float(scale * absval) * 2 * 10.0 ** -_QUAD_PRECISION  # E|f| to 1%


_moment_cached = functools.lru_cache(maxsize=256)(_moment_uncached)


def _moment(act, q_exact, key):
    return _moment_uncached(act, q_exact, key) if act.kind == "callable" else _moment_cached(act, q_exact, key)


# ----------------------------------------------------------------------------------------------
# Series evaluation with bounds
# ----------------------------------------------------------------------------------------------
def _horner(a, r):
    acc = np.zeros_like(r)
    for coef in a[::-1]:
        acc = acc * r + coef
    return acc


def _deriv_factor(K, r):
    """``max_{k > K} k r^(k-1)`` for ``r`` in ``[0, 1)``; ``K`` and ``r`` broadcast.

    ``k r^(k-1)`` is unimodal in ``k`` with its real maximum at ``-1/log r``, so the maximum over
    ``k >= K+1`` is attained at ``K+1`` or at the floor/ceiling of ``-1/log r``.
    """
    r, K = np.broadcast_arrays(np.asarray(r, dtype=float), np.asarray(K, dtype=float))
    pos = r > 0
    logr = np.log(np.where(pos, r, 0.5))
    kstar = np.where(pos, -1.0 / logr, 0.0)
    best = np.where(pos, 0.0, np.where(K == 0, 1.0, 0.0))  # r = 0: only the k = 1 term, 1 * 0^0
    for cand in (K + 1, np.floor(kstar), np.ceil(kstar)):
        k = np.maximum(cand, K + 1)
        with np.errstate(over="ignore", under="ignore"):
            val = np.where(pos, k * np.exp((k - 1) * logr), 0.0)
        best = np.maximum(best, val)
    return best


def _truncation(tails_j, j, r, derivative, dtails_j=None):
    """Bound on the truncation error after degree ``j`` at ``|rho| = r < 1``: ``T_j r^(j+1)`` for ``k``;
    for ``k'`` the smaller of ``T_j max_{k>j} k r^(k-1)`` and ``D_j r^j`` (``D_j = sum_{k>j} k c_k^2``,
    the Parseval tail of ``sqrt(q) sigma'``, finite for ``sigma'`` in ``L^2``: it stays bounded as
    ``r -> 1``, where the first one grows like ``T_j / (e (1 - r))``)."""
    if not derivative:
        return tails_j * r ** (j + 1)
    out = tails_j * _deriv_factor(j, r)
    if dtails_j is not None:
        out = np.minimum(out, dtails_j * r ** j)
    return out


def _choose_K(act, q_exact, r, tol, derivative, fname):
    closed = _closed_form(act) is not None
    cap = _K_CAP_CLOSED if closed else _K_CAP_QUAD
    K = _K_START
    while True:
        data = _series(act, K, q_exact)
        j = np.arange(K + 1)
        with np.errstate(under="ignore"):
            bounds = _truncation(data.tails, j, r, derivative, data.dtails)
        ok = np.nonzero(bounds <= tol)[0]
        if ok.size:
            return int(ok[0]), data
        if K >= cap:
            raise ValueError(
                f"{fname}: cannot certify tol={tol:g} at |rho| = {r!r} with at most {cap} Hermite terms for "
                f"activation {act.name!r} (the rigorous truncation bound is {bounds[-1]:.3g}); pass a larger tol, "
                "an explicit kmax (then read the bound with return_error=True), or, near |rho| = 1, use a closed "
                "form (method='auto' does for relu, leaky_relu, abs, step, sign, relu_p with p <= 2, erf, exp, "
                "sin, cos)")
        K = min(cap, 4 * K)


# ----------------------------------------------------------------------------------------------
# Closed-form kernels (method="auto" / "closed")
# ----------------------------------------------------------------------------------------------
def _series_in(t2, coeffs):
    """``sum_n coeffs[n] t2^n`` by Horner's rule."""
    acc = np.zeros_like(t2)
    for c in coeffs[::-1]:
        acc = acc * t2 + c
    return acc


# Taylor coefficients (in phi^2 and (2 phi)^2) of the cancelling forms of J_1, J_2 next to rho = -1:
# sin(phi) - phi cos(phi) = sum_{n>=1} (-1)^(n+1) 2n phi^(2n+1)/(2n+1)!,
# phi (1 + 2 cos^2 phi) - 3 sin(phi) cos(phi) = sum_{n>=2} (-1)^n (n-1) x^(2n+1)/(2n+1)!, x = 2 phi.
_J1_TAYLOR = [(-1) ** (n + 1) * 2 * n / math.factorial(2 * n + 1) for n in range(1, 14)]
_J2_TAYLOR = [(-1) ** n * (n - 1) / math.factorial(2 * n + 1) for n in range(2, 15)]
_PHI_SMALL = 1.0


def _arccos_j(order, rho):
    """``(J_order(theta), M)`` for ``theta = arccos(rho)`` (Cho & Saul), ``M`` a magnitude that bounds
    the float64 rounding of the evaluation by ``~6 u M``. ``sin(theta) = sqrt((1 - rho)(1 + rho))``
    and ``pi - theta = arccos(-rho)`` keep full relative accuracy next to ``rho = +-1`` (the textbook
    ``sqrt(1 - rho^2)`` and ``pi - arccos(rho)`` lose up to half the digits there), and next to
    ``rho = -1`` (``phi = pi - theta < 1``), where ``J_1 ~ phi^3/3`` and ``J_2 ~ 4 phi^5/15`` are
    differences of nearly equal terms, their Taylor series are used instead."""
    rho = np.asarray(rho, dtype=float)
    sin_t = np.sqrt((1.0 - rho) * (1.0 + rho))
    pi_minus = np.arccos(-rho)
    if order == 0:
        return pi_minus, pi_minus
    small = pi_minus < _PHI_SMALL
    phi = np.where(small, pi_minus, 0.0)
    if order == 1:
        direct = sin_t + pi_minus * rho
        taylor = phi ** 3 * _series_in(phi * phi, _J1_TAYLOR)
        mag = np.where(small, np.abs(taylor), sin_t + pi_minus * np.abs(rho))
    else:
        direct = 3.0 * sin_t * rho + pi_minus * (1.0 + 2.0 * rho * rho)
        x = 2.0 * phi
        taylor = x ** 5 * _series_in(x * x, _J2_TAYLOR)
        mag = np.where(small, np.abs(taylor), 3.0 * sin_t * np.abs(rho) + pi_minus * (1.0 + 2.0 * rho * rho))
    return np.where(small, taylor, direct), mag


def _power_kernel(order, ap, am, rho, scale):
    """``scale [(ap^2 + am^2) k_n(rho) + 2 ap am k_n(-rho)]``, ``k_n = J_n / (2 pi)``, and its bound."""
    j_pos, m_pos = _arccos_j(order, rho)
    j_neg, m_neg = _arccos_j(order, -rho)
    w_same, w_cross = ap * ap + am * am, 2.0 * ap * am
    val = scale * (w_same * j_pos + w_cross * j_neg) / (2 * np.pi)
    # each J to ~6u of its terms (one ulp in acos/sqrt, a few products), then 4 more roundings
    bound = 12 * _U * scale * (w_same * m_pos + abs(w_cross) * m_neg) / (2 * np.pi)
    return val, bound


def _erf_parts(rho, z, w):
    """``x = z rho`` and ``1 - |x| = (1 - |rho|) + |rho| w`` (``w = 1 - z`` given separately: no
    cancellation when ``z`` is within rounding of 1)."""
    ar = np.abs(rho)
    return z * rho, (1.0 - ar) + ar * w


def _closed_kernel(act, q_exact, derivative):
    """``rho -> (values, bounds)`` of a closed form of ``k`` (or ``k'``) at variance ``q``, or ``None``.

    Closed forms: the power family ``ap relu(x)^p + am relu(-x)^p`` (relu, leaky_relu, abs, step,
    sign, relu_p) through the arc-cosine kernels of orders 0-2 (``k`` for ``p <= 2``, ``k'`` for
    ``p <= 3`` via ``k'_p = p^2 k_{p-1}``), positively homogeneous so ``k_q = q^p k_1``; erf
    (Williams), exp, sin and cos. The bounds cover float64 rounding (a few ulps of the terms).
    """
    if act.kind != "named":
        return None
    cf = _closed_form(act)
    if isinstance(cf, _PowerCF):
        p, ap, am = cf.p, float(cf.ap), float(cf.am)
        if p > (3 if derivative else 2):
            return None
        with mpmath.workdps(30):
            scale = float(_mp_of(q_exact) ** p * (p * p if derivative and p else 1))
        if not math.isfinite(scale):
            return _overflow(act, q_exact)
        if not derivative:
            return lambda rho: _power_kernel(p, ap, am, rho, scale)
        if p >= 1:
            return lambda rho: _power_kernel(p - 1, ap, -am, rho, scale)

        def step_derivative(rho):  # p = 0: (ap - am)^2 / (2 pi sqrt(1 - rho^2)), infinite at |rho| = 1
            c = (ap - am) ** 2 / (2 * np.pi)
            root = np.sqrt((1.0 - rho) * (1.0 + rho))
            edge = root == 0
            with np.errstate(divide="ignore"):
                val = np.where(edge, math.inf if c else 0.0, c / np.where(edge, 1.0, root))
            return val, np.where(edge, 0.0, 4 * _U * val)
        return step_derivative
    if isinstance(cf, _ErfCF):
        with mpmath.workdps(30):
            b2 = _mp_of(cf.a) ** 2 * _mp_of(q_exact)
            z, w = float(2 * b2 / (1 + 2 * b2)), float(1 / (1 + 2 * b2))

        def erf_kernel_q(rho):
            x, d = _erf_parts(rho, z, w)
            if derivative:  # (2/pi) z / sqrt(1 - x^2), 1 - x^2 = (1 - |x|)(1 + |x|)
                if np.any(d <= 0):
                    return _overflow(act, q_exact)(rho)
                val = 2 / np.pi * z / np.sqrt(d * (1.0 + np.abs(x)))
                return val, 8 * _U * val
            small = np.abs(x) <= 0.5
            # (2/pi) asin x = sign(x) (1 - (4/pi) asin(sqrt((1 - |x|)/2))) away from 0
            far = np.sign(rho) * (1.0 - 4 / np.pi * np.arcsin(np.sqrt(np.where(small, 0.5, d) / 2)))
            val = np.where(small, 2 / np.pi * np.arcsin(np.where(small, x, 0.0)), far)
            return val, np.full(val.shape, 8 * _U)
        return erf_kernel_q
    if isinstance(cf, (_ExpCF, _TrigCF)):
        with mpmath.workdps(30):
            b2 = float(_mp_of(cf.a) ** 2 * _mp_of(q_exact))
        if not math.isfinite(b2):
            return _overflow(act, q_exact)
        kind = "exp" if isinstance(cf, _ExpCF) else cf.kind
        factor = b2 if derivative else 1.0

        def smooth_kernel(rho):
            with np.errstate(over="ignore"):
                if kind == "exp":  # E e^(a u + a v) = e^(b^2 (1 + rho)); exp adds ~|y| u relative
                    y = b2 * (1.0 + rho)
                    val = factor * np.exp(y)
                    bound = 2 * _U * (3.0 + y) * val
                else:
                    # e^(-b^2) sinh(b^2 rho) (sin) and e^(-b^2) cosh(b^2 rho) (cos); k' swaps them
                    odd = (kind == "sin") != derivative
                    if b2 <= 700:  # relative accuracy even for tiny b^2 (no difference of exponentials)
                        x = b2 * rho
                        val = factor * math.exp(-b2) * (np.sinh(x) if odd else np.cosh(x))
                        bound = 2 * _U * (4.0 + b2 + np.abs(x)) * np.abs(val)
                    else:  # no overflow: both exponents are <= 0 on [-1, 1]
                        y1, y2 = b2 * (rho - 1.0), -b2 * (1.0 + rho)
                        e1, e2 = np.exp(y1), np.exp(y2)
                        val = factor * ((e1 - e2) / 2 if odd else (e1 + e2) / 2)
                        bound = 3 * _U * factor * ((1.0 - y1) * e1 + (1.0 - y2) * e2)
            if not np.isfinite(val).all():
                return _overflow(act, q_exact)(rho)
            return val, bound
        return smooth_kernel
    return None


def _overflow(act, q_exact):
    def fail(rho):
        raise ValueError(f"activation {act.name!r} at q={float(q_exact):g}: the kernel exceeds the float64 range; "
                         "use a smaller q" + (" or parameter" if act.params else ""))
    return fail


def _kernel(activation, rho, kmax, tol, q, derivative, fname, method="auto"):
    act = get_activation(activation)
    rho = check_real("rho", rho, low=-1, high=1)     # an empty array: ValueError naming rho
    tol = float(check_real("tol", tol, low=0, low_open=True))
    if kmax is not None:
        kmax = check_int("kmax", kmax, low=0, high=_K_CAP_CLOSED)
    q_exact = to_exact("q", q, low=0, low_open=True)
    if method not in _METHODS:
        raise ValueError(f"method must be one of {', '.join(map(repr, _METHODS))}, got {method!r}")
    if method != "series" and (kmax is None or method == "closed"):
        if method == "closed" and kmax is not None:
            raise ValueError("kmax applies to the series only; drop kmax or use method='series'")
        closed = _closed_kernel(act, q_exact, derivative)
        if closed is not None:
            vals, errs = closed(rho)
            vals = np.asarray(vals, dtype=float)
            errs = np.where(np.isinf(vals), 0.0, np.asarray(errs, dtype=float) + _TINY)  # + gradual underflow
            return (vals[()], errs[()])
        if method == "closed":
            what = "k'(rho)" if derivative else "k(rho)"
            raise ValueError(f"method='closed': no closed form of {what} is known for activation {act.name!r}; "
                             "use method='auto' or method='series'")
    shape = rho.shape
    r = rho.ravel()
    vals = np.zeros(r.shape)
    errs = np.zeros(r.shape)
    ar = np.abs(r)
    inner = ar < 1
    if inner.any():
        ri, ai = r[inner], ar[inner]
        if kmax is None:
            K, data = _choose_K(act, q_exact, float(ai.max()), tol, derivative, fname)
        else:
            K, data = kmax, _series(act, kmax, q_exact)
        c2, c2_err = data.c2[: K + 1], data.c2_err[: K + 1]
        if derivative:
            weights = np.arange(1, K + 1)
            a, a_err = weights * c2[1:], weights * c2_err[1:]
        else:
            a, a_err = c2, c2_err
        n = len(a)
        vals[inner] = _horner(a, ri) if n else 0.0
        with np.errstate(under="ignore"):
            trunc = _truncation(data.tails[K], K, ai, derivative,
                                None if data.dtails is None else data.dtails[K])
        gamma = _U / (1 - (2 * n + 2) * _U) * 1.01
        rounding = gamma * _horner((2 * np.arange(n) + 2) * np.abs(a), ai) if n else 0.0
        coef = _horner(a_err, ai) if n else 0.0
        errs[inner] = trunc + rounding + coef
    for edge, key in ((1.0, "second"), (-1.0, "reflected")):
        mask = r == edge
        if mask.any():
            v, e = _moment(act, q_exact, ("deriv_" + key) if derivative else key)
            vals[mask] = v
            errs[mask] = 0.0 if math.isinf(v) else e + _U * abs(v)
    vals, errs = vals.reshape(shape), errs.reshape(shape)
    return (vals[()], errs[()]) if shape == () else (vals, errs)


def dual_kernel(activation, rho, *, kmax=None, tol=1e-14, q=1.0, return_error=False, method="auto"):
    """The dual (NNGP) kernel ``k(rho) = E[sigma(u) sigma(v)] = sum_k c_k^2 rho^k``.

    ``u, v ~ N(0, q)`` with correlation ``rho``; ``c_k`` the normalized Hermite coefficients of
    ``sigma(sqrt(q) G)``. Broadcasts over ``rho`` like a ``scipy.special`` function.

    Args:
        activation: a name, an ``Activation``, a sympy expression or a callable (see
            :func:`asymptotics.activations.get_activation`).
        rho: correlation(s) in ``[-1, 1]``.
        kmax: truncation degree ``K`` of the series (giving it selects the series); ``None``
            chooses the smallest ``K`` whose rigorous truncation bound ``T_K |rho|^(K+1)`` is
            ``<= tol`` at the largest ``|rho| < 1`` (up to ``2**15`` terms for closed-form
            activations, 500 for quadrature ones; beyond, ``ValueError``).
        tol: target truncation error of the series, ``> 0``. (Float64 rounding adds about
            ``1e-16 k(1)``.)
        q: input variance, ``> 0``.
        return_error: also return a rigorous bound on ``|returned - exact|`` (truncation,
            float64 summation round-off and coefficient accuracy; for a closed form, its float64
            rounding).
        method: ``"auto"`` (default): the closed form of the kernel when one is known and
            ``kmax`` is not given -- arc-cosine kernels for relu, leaky_relu, abs, step, sign and
            relu_p with ``p <= 2`` (Cho & Saul; these are positively ``p``-homogeneous, so
            ``k_q = q^p k_1``), Williams' kernel for erf, and exp, sin, cos -- else the series;
            ``"series"``: always the Hermite series (an independent check of the closed forms);
            ``"closed"``: the closed form or ``ValueError``.

    Returns:
        ``k(rho)`` (a float64 scalar for scalar ``rho``, else an array of ``rho``'s shape), and
        the bound if ``return_error``. On the series path, at ``rho = 1`` the exact second moment
        ``E sigma(u)^2`` is returned, at ``rho = -1`` the exact ``E[sigma(u) sigma(-u)]``.

    >>> float(dual_kernel("relu", 1.0)), float(dual_kernel("relu", -1.0))
    (0.5, 0.0)
    >>> dual_kernel("erf", [0.0, 0.5])
    array([0.       , 0.2163469])
    >>> float(dual_kernel("relu", 0.999999)), float(arccos_kernel(1, 0.999999))  # closed form
    (0.4999995001500527, 0.4999995001500527)
    >>> dual_kernel("relu", 0.999999, method="series")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: dual_kernel: cannot certify tol=1e-14 at |rho| = 0.999999 with at most 32768 Hermite terms ...
    >>> dual_kernel("relu", 1.5)
    Traceback (most recent call last):
    ...
    ValueError: rho must be >= -1 and <= 1, got 1.5
    """
    v, e = _kernel(activation, rho, kmax, tol, q, False, "dual_kernel", method)
    return (v, e) if return_error else v


def dual_kernel_derivative(activation, rho, *, kmax=None, tol=1e-14, q=1.0, return_error=False, method="auto"):
    """``k'(rho) = sum_k k c_k^2 rho^(k-1)``, which is ``q E[sigma'(u) sigma'(v)]`` for a weakly
    differentiable ``sigma`` with ``sigma'`` square-integrable.

    Same arguments as :func:`dual_kernel`. ``method="auto"`` uses a closed form for relu,
    leaky_relu, abs (``sigma'`` is a step/sign: arc-cosine order 0), relu_p with ``p <= 3``
    (``k'_p = p^2 q^p k_{p-1}``), step and sign (``(ap - am)^2 / (2 pi sqrt(1 - rho^2))``), erf,
    exp, sin and cos. On the series path the truncation bound is the rigorous
    ``T_K max_{k > K} k |rho|^(k-1)`` (a tail of ``sum k c_k^2 |rho|^(k-1)`` is at most the
    Parseval tail times the largest weight). At ``rho = +1`` the value is ``q E[sigma'(u)^2]`` and
    at ``rho = -1`` it is ``q E[sigma'(u) sigma'(-u)]``; both are ``inf`` for ``step`` and ``sign``,
    whose derivative is a Dirac mass.

    >>> float(dual_kernel_derivative("relu", 0.5))  # = E[step(u) step(v)] = arccos_kernel(0, 0.5)
    0.3333333333...
    >>> float(dual_kernel_derivative("step", 1.0))
    inf
    >>> float(dual_kernel_derivative("relu", -0.999999))  # closed form: arccos_kernel(0, rho)
    0.0002250790977991...
    """
    v, e = _kernel(activation, rho, kmax, tol, q, True, "dual_kernel_derivative", method)
    return (v, e) if return_error else v


@dataclass(frozen=True)
class NTKParts:
    """The two layers' contributions to the two-layer NTK, and a bound on the total's error.

    Attributes:
        first_layer: ``rho k'(rho)`` (gradients with respect to the first-layer weights ``w_i``).
        second_layer: ``k(rho)`` (gradients with respect to the output weights ``a_i``).
        total: ``first_layer + second_layer``.
        error: a rigorous bound on the error of ``total``.
    """

    first_layer: np.ndarray | float
    second_layer: np.ndarray | float
    total: np.ndarray | float
    error: np.ndarray | float


def ntk(activation, rho, *, parts=False, kmax=None, tol=1e-14, q=1.0, return_error=False, method="auto"):
    """The infinite-width NTK of a two-layer network on the sphere: ``K_NT = rho k'(rho) + k(rho)``.

    Normalization: ``f(x) = (1/sqrt(N)) sum_{i <= N} a_i sigma(<w_i, x> / sqrt(d))`` with
    ``w_i ~ N(0, I_d)``, ``a_i ~ N(0, 1)`` and inputs on the sphere of radius ``sqrt(q d)``; then
    ``<w_i, x>/sqrt(d) ~ N(0, q)``, and with ``rho = <x, x'> / (q d)`` the tangent kernel
    ``sum_params d_theta f(x) d_theta f(x')`` converges as ``N -> oo`` to
    ``E[sigma(u) sigma(v)] + E[a^2] E[sigma'(u) sigma'(v)] <x, x'>/d = k(rho) + rho k'(rho)``.
    The first term comes from the output weights ``a_i`` (``second_layer``), the second from the
    first-layer weights ``w_i`` (``first_layer``).

    Args:
        activation, rho, kmax, tol, q, method: as in :func:`dual_kernel` (``method`` applies to both
            ``k`` and ``k'``).
        parts: return an :class:`NTKParts` (``first_layer``, ``second_layer``, ``total``,
            ``error``) instead of the total.
        return_error: with ``parts=False``, also return the error bound.

    >>> p = ntk("relu", 0.5, parts=True)
    >>> round(float(p.first_layer), 12), round(float(p.second_layer), 12), round(float(p.total), 12)
    (0.166666666667, 0.304498890522, 0.471165557189)
    """
    k, ek = _kernel(activation, rho, kmax, tol, q, False, "ntk", method)
    kp, ekp = _kernel(activation, rho, kmax, tol, q, True, "ntk", method)
    rho_arr = np.asarray(rho, dtype=float)
    first = rho_arr * kp
    total = first + k
    err = np.abs(rho_arr) * ekp + ek
    if parts:
        return NTKParts(first_layer=first, second_layer=k, total=total, error=err)
    return (total, err) if return_error else total


# ----------------------------------------------------------------------------------------------
# Closed forms (independent witnesses)
# ----------------------------------------------------------------------------------------------
def arccos_kernel(order, rho):
    """Arc-cosine kernel ``E[relu(u)^n relu(v)^n]`` for standard Gaussians with correlation ``rho``.

    Cho & Saul (NIPS 2009) define ``k_n(x, y) = 2 E_w[Theta(w.x) Theta(w.y) (w.x)^n (w.y)^n]
    = (1/pi) |x|^n |y|^n J_n(theta)``; for unit vectors this is *twice* the expectation here, so
    ``E[relu(u)^n relu(v)^n] = J_n(theta) / (2 pi)``, ``theta = arccos(rho)``, with
    ``J_0 = pi - theta``, ``J_1 = sin(theta) + (pi - theta) cos(theta)``,
    ``J_2 = 3 sin(theta) cos(theta) + (pi - theta)(1 + 2 cos(theta)^2)``.
    Order 0 is the dual kernel of ``step``, order 1 of ``relu``, order 2 of ``relu_p`` (p=2).
    ``sin(theta)`` is computed as ``sqrt((1 - rho)(1 + rho))`` and ``pi - theta`` as
    ``arccos(-rho)``, which keeps full accuracy next to ``rho = +-1``.

    >>> float(arccos_kernel(0, 0.0)), float(arccos_kernel(1, 1.0)), float(arccos_kernel(2, 1.0))
    (0.25, 0.5, 1.5)
    """
    order = check_int("order", order, low=0, high=2)
    rho = check_real("rho", rho, low=-1, high=1, allow_empty=True)
    j, _ = _arccos_j(order, rho)
    return (j / (2 * np.pi))[()]


def sign_kernel(rho):
    """``E[sign(u) sign(v)] = (2/pi) arcsin(rho)`` for standard Gaussians with correlation ``rho``
    (Sheppard's formula).

    >>> float(sign_kernel(1.0)), round(float(sign_kernel(0.5)), 15)
    (1.0, 0.333333333333333)
    """
    rho = check_real("rho", rho, low=-1, high=1, allow_empty=True)
    return (2 / np.pi * np.arcsin(rho))[()]


def erf_kernel(rho, a=1.0):
    """``E[erf(a u) erf(a v)] = (2/pi) arcsin(2 a^2 rho / (1 + 2 a^2))`` (Williams 1996/1998).

    Williams' kernel for ``sigma = erf`` and Gaussian weights of covariance ``Sigma`` is
    ``(2/pi) arcsin(2 x^T Sigma y / sqrt((1 + 2 x^T Sigma x)(1 + 2 y^T Sigma y)))``; for
    ``a u = <w, a x>`` with unit ``x, y`` and ``Sigma = a^2 I`` this is the formula above. Evaluated
    without overflow for any ``a`` and, for ``|2 a^2 rho / (1 + 2 a^2)| > 1/2``, as
    ``1 - (4/pi) arcsin(sqrt((1 - x)/2))`` (no loss of accuracy next to ``rho = +-1``).

    >>> bool(float(erf_kernel(1.0)) == 2 / np.pi * np.arcsin(2 / 3))
    True
    """
    rho = check_real("rho", rho, low=-1, high=1, allow_empty=True)
    a = float(check_real("a", a, low=0, low_open=True))
    with mpmath.workdps(30):  # z = 2a^2/(1 + 2a^2) without overflow or underflow of a^2
        a2 = mpmath.mpf(a) ** 2
        z, w = float(2 * a2 / (1 + 2 * a2)), float(1 / (1 + 2 * a2))
    x, d = _erf_parts(rho, z, w)
    small = np.abs(x) <= 0.5
    far = np.sign(rho) * (1.0 - 4 / np.pi * np.arcsin(np.sqrt(np.where(small, 0.5, d) / 2)))
    return np.where(small, 2 / np.pi * np.arcsin(np.where(small, x, 0.0)), far)[()]
