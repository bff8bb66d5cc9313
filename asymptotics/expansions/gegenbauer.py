r"""Spherical harmonics on ``S^{d-1}(sqrt d)``: multiplicities, Gegenbauer polynomials, kernel eigenvalues.

Setting (Ghorbani, Mei, Misiakiewicz & Montanari, "Linearized two-layers neural networks in high
dimension", arXiv:1904.12191, Sec. 2 and App.; Misiakiewicz & Montanari, "Six lectures on
linearized neural networks", arXiv:2308.13431, Lecture 3; Atkinson & Han, *Spherical Harmonics and
Approximations on the Unit Sphere*, Springer LNM 2044, 2012, ch. 2): ``x, y`` on the sphere of
radius ``sqrt(d)`` in ``R^d`` (``d >= 2``), so ``<x, y> in [-d, d]``.

* ``B(d, k)`` (:func:`multiplicity`) is the dimension of the space of degree-``k`` spherical
  harmonics in ``d`` dimensions: ``B(d, 0) = 1`` and
  ``B(d, k) = (2k + d - 2)/k * binom(k + d - 3, k - 1)`` for ``k >= 1``.
* ``Q_k = Q_k^{(d)}`` (:func:`gegenbauer`) is the degree-``k`` Gegenbauer polynomial normalized so
  that ``Q_k(d) = 1`` and ``E_x[Q_k(<x, e>) Q_l(<x, e>)] = delta_kl / B(d, k)`` for ``x`` uniform
  on ``S^{d-1}(sqrt d)`` and any fixed ``e`` on it. In terms of the classical polynomials,
  ``Q_k^{(d)}(t) = C_k^{(d/2-1)}(t/d) / C_k^{(d/2-1)}(1)`` (``d >= 3``) and
  ``Q_k^{(2)}(t) = T_k(t/2)`` (Chebyshev). They are evaluated by the three-term recurrence of the
  normalized polynomials ``P_k(s) = Q_k(d s)``:
  ``P_0 = 1``, ``P_1 = s``, ``P_{k+1} = ((2k + d - 2) s P_k - k P_{k-1}) / (k + d - 2)``,
  which is forward-stable on ``[-1, 1]`` and covers ``d = 2`` without a special case.
* The law of ``s = <x, e>/d`` for ``x`` uniform on the sphere has density
  ``proportional to (1 - s^2)^((d-3)/2)`` on ``[-1, 1]``.
* An inner-product kernel ``K(x, y) = h(<x, y>/d)`` has the Funk--Hecke expansion
  ``K(x, y) = sum_k xi_{d,k} B(d, k) Q_k(<x, y>)``, with eigenvalue
  ``xi_{d,k} = E_x[h(<x, e>/d) Q_k(<x, e>)]`` of multiplicity ``B(d, k)``
  (:func:`kernel_eigenvalues`). On the diagonal ``K(x, x) = h(1) = sum_k B(d, k) xi_{d,k}``.

**The d -> oo limit** (:func:`limit_scaled_eigenvalues`). For ``h(s) = sum_j a_j s^j`` analytic
at 0 (``a_j = h^{(j)}(0)/j!``, the *Taylor coefficients*),

    ``B(d, k) xi_{d,k} -> a_k = h^{(k)}(0) / k!``  as ``d -> oo``, with error ``O(1/d)``.

Derivation: ``<x, e> = sqrt(d) G_d`` with ``G_d -> N(0, 1)``, ``B(d, k) ~ d^k/k!`` and
``sqrt(B(d, k)) Q_k(sqrt(d) g) -> He_k(g)/sqrt(k!)``, so ``Q_k(sqrt(d) g) ~ He_k(g) d^{-k/2}``.
The monomials ``s^j`` with ``j < k`` are orthogonal to ``Q_k`` exactly; the ``j = k`` term gives
``a_k d^{-k} E[G^k He_k(G)] (1 + O(1/d)) = a_k k! d^{-k} (1 + O(1/d))`` and the ``j >= k + 2`` terms
are ``O(d^{-(j+k)/2})``. Hence ``xi_{d,k} = a_k k!/d^k (1 + O(1/d))`` and
``B(d, k) xi_{d,k} = a_k + O(1/d)``. (Check: ``sum_k a_k = h(1)``, matching the trace identity;
for ``h = exp`` the limit is ``1/k!``, not 1.) When ``h`` is the dual kernel of an activation,
``h(rho) = sum_k c_k^2 rho^k`` (Mehler; ``c_k`` the normalized Hermite coefficients), so the limit
is ``c_k^2`` -- the "Hermite route" (:func:`dual_kernel_limit`), which is the statement
``B(d, k) lambda_{d,k}(sigma)^2 -> mu_k(sigma)^2`` of Ghorbani et al. (2019).

>>> multiplicity(3, 4), multiplicity(10, [0, 1, 2])
(9, array([1, 10, 54], dtype=object))
>>> round(float(gegenbauer(2, 1.0, 3)), 15)   # Q_2^{(3)}(t) = P_2(t/3), Legendre
-0.333333333333333
>>> r = kernel_eigenvalues("exp", 3, 8)
>>> bool(abs(r.trace_check) < 1e-6), bool(r.quadrature_error.max() < 1e-14)
(True, True)
"""
from __future__ import annotations

import functools
import math
import numbers
from dataclasses import dataclass
from fractions import Fraction

import mpmath
import numpy as np
import scipy.linalg
import scipy.special

from asymptotics._validation import as_output, check_int, check_real

__all__ = ["multiplicity", "gegenbauer", "kernel_eigenvalues", "KernelEigenvalues",
           "limit_scaled_eigenvalues", "dual_kernel_limit", "gauss_jacobi_nodes", "resolve_kernel", "KERNELS"]

KERNELS = ("exp", "relu-nngp", "poly:c0,c1,...")
_MAX_D = 10 ** 7
_MAX_KMAX = 2000
_MAX_NODES = 4096


# ----------------------------------------------------------------------------------------------
# Multiplicities
# ----------------------------------------------------------------------------------------------
def _check_int_array(name, value, low):
    arr = check_real(name, value, low=low)
    if not np.all(arr == np.floor(arr)):
        bad = arr[arr != np.floor(arr)].flat[0]
        raise ValueError(f"{name} must be an integer, got {float(bad)!r}")
    return arr.astype(np.int64)


def _B(d: int, k: int) -> int:
    if k == 0:
        return 1
    num = (2 * k + d - 2) * math.comb(k + d - 3, k - 1)
    return num // k


def multiplicity(d, k):
    """Dimension ``B(d, k)`` of the degree-``k`` spherical harmonics on ``S^{d-1}``, as exact ints.

    ``B(d, 0) = 1``, ``B(d, k) = (2k + d - 2)/k * binom(k + d - 3, k - 1)`` for ``k >= 1``
    (Atkinson & Han 2012, eq. (2.10); Ghorbani et al. arXiv:1904.12191, Sec. 2).
    Equivalently ``B(d, k) = binom(d+k-1, k) - binom(d+k-3, k-2)``.

    Args:
        d: the ambient dimension, an integer ``>= 2``.
        k: a degree ``>= 0``, or an array of degrees.

    Returns:
        A Python ``int`` for scalar ``k``, else a numpy ``object`` array of Python ints of ``k``'s
        shape (exact; no overflow).

    >>> multiplicity(3, [0, 1, 2, 3])
    array([1, 3, 5, 7], dtype=object)
    >>> multiplicity(2, 5), multiplicity(100, 2)
    (2, 5049)
    >>> multiplicity(1, 2)
    Traceback (most recent call last):
    ...
    ValueError: d must be an integer >= 2, got 1
    """
    d = check_int("d", d, low=2)
    kk = _check_int_array("k", k, low=0)
    if kk.ndim == 0:
        return _B(d, int(kk))
    out = np.empty(kk.shape, dtype=object)
    for idx, kv in np.ndenumerate(kk):
        out[idx] = _B(d, int(kv))
    return out


# ----------------------------------------------------------------------------------------------
# Gegenbauer polynomials
# ----------------------------------------------------------------------------------------------
def _gegenbauer_table(kmax: int, s, d):
    """Rows ``P_0(s) .. P_kmax(s)`` of the normalized Gegenbauer polynomials (``P_k(1) = 1``)."""
    s = np.asarray(s, dtype=float)
    d = np.asarray(d, dtype=float)
    out = np.empty((kmax + 1,) + np.broadcast(s, d).shape)
    out[0] = 1.0
    if kmax >= 1:
        out[1] = s
    for k in range(1, kmax):
        out[k + 1] = ((2 * k + d - 2) * s * out[k] - k * out[k - 1]) / (k + d - 2)
    return out


def gegenbauer(k, t, d):
    """The normalized Gegenbauer polynomial ``Q_k^{(d)}(t)``, ``t in [-d, d]``, with ``Q_k(d) = 1``.

    ``Q_k^{(d)}(t) = C_k^{(d/2-1)}(t/d) / C_k^{(d/2-1)}(1)`` for ``d >= 3`` and ``T_k(t/2)`` for
    ``d = 2``, so that ``E_x[Q_k(<x, e>) Q_l(<x, e>)] = delta_kl / B(d, k)`` for ``x`` uniform on
    ``S^{d-1}(sqrt d)`` (Ghorbani et al., arXiv:1904.12191, Sec. 2; Misiakiewicz & Montanari,
    arXiv:2308.13431, Lecture 3). Computed by the stable three-term recurrence of the module
    docstring. Broadcasts over ``k``, ``t`` and ``d`` like a ``scipy.special`` function.

    Args:
        k: degree(s), integers ``>= 0``.
        t: argument(s); the polynomial is evaluated for any finite real ``t``, the natural range
            being ``[-d, d]`` (where ``|Q_k| <= 1``).
        d: dimension(s), integers ``>= 2``.

    Returns:
        A float for scalar inputs, else an array of the broadcast shape.

    >>> gegenbauer(3, 3.0, 3), gegenbauer([0, 1, 2], 0.0, 2)   # Q_k(d) = 1; T_2(0) = -1
    (1.0, array([ 1.,  0., -1.]))
    >>> gegenbauer(-1, 0.0, 3)
    Traceback (most recent call last):
    ...
    ValueError: k must be >= 0, got -1.0
    """
    kk = _check_int_array("k", k, low=0)
    tt = check_real("t", t)
    dd = _check_int_array("d", d, low=2)
    kk, tt, dd = np.broadcast_arrays(kk, tt, dd)
    if kk.size == 0:
        return np.empty(kk.shape)
    kmax = int(kk.max())
    check_int("k", kmax, high=10 ** 6)
    table = _gegenbauer_table(kmax, tt / dd, dd)
    out = np.take_along_axis(table, kk[None, ...], axis=0)[0]
    return as_output(out)


# ----------------------------------------------------------------------------------------------
# Kernels h
# ----------------------------------------------------------------------------------------------
def _relu_nngp(s):
    """Arc-cosine kernel of order 1 (dual kernel of relu), real or complex ``s`` (|s| <= 1)."""
    if np.iscomplexobj(s):
        return (np.sqrt(1 - s * s) + s * (np.pi / 2 + np.arcsin(s))) / (2 * np.pi)
    from asymptotics.kernels import arccos_kernel
    return np.asarray(arccos_kernel(1, np.clip(s, -1.0, 1.0)), dtype=float)


def _relu_nngp_mp(s):
    return (mpmath.sqrt(1 - s * s) + s * (mpmath.pi / 2 + mpmath.asin(s))) / (2 * mpmath.pi)


@dataclass(frozen=True)
class _Kernel:
    name: str
    np_fn: object            # numpy arrays -> arrays (real, and complex where possible)
    mp_fn: object            # mpmath numbers -> mpmath numbers, or None
    taylor: object           # callable kmax -> list of Taylor coefficients (exact route), or None
    exact: str | None = None  # exact eigenvalue route: "exp", "poly" or "relu-nngp" (None: quadrature only)
    coeffs: tuple = ()        # the coefficients of a "poly:" kernel (lowest degree first)


def _parse_poly(name: str, param: str = "h"):
    body = name.split(":", 1)[1]
    parts = body.split(",")
    if parts and parts[-1].strip() == "":
        parts = parts[:-1]                  # a trailing comma is harmless
    if any(c.strip() == "" for c in parts):
        raise ValueError(f"{param}: polynomial {name!r} has an empty coefficient (it would shift the degrees); "
                         "write every coefficient c0,c1,... (0 for a missing degree)")
    try:
        coeffs = [float(c) for c in parts]
    except ValueError:
        raise ValueError(f"{param}: could not parse polynomial coefficients in {name!r}; "
                         "expected 'poly:c0,c1,...'") from None
    if not coeffs or not all(math.isfinite(c) for c in coeffs):
        raise ValueError(f"{param}: polynomial {name!r} needs at least one finite coefficient")
    return coeffs


def _relu_nngp_taylor(kmax: int):
    """Exact Taylor coefficients of ``(sqrt(1-s^2) + s (pi/2 + asin s)) / (2 pi)``."""
    out = []
    for j in range(kmax + 1):
        if j == 0:
            out.append(1 / (2 * math.pi))
        elif j == 1:
            out.append(0.25)
        elif j % 2:
            out.append(0.0)
        else:
            n = j // 2
            sqrt_term = Fraction(1)
            for i in range(n):  # binom(1/2, n) (-1)^n
                sqrt_term *= Fraction(1, 2) - i
            sqrt_term = sqrt_term / math.factorial(n) * (-1) ** n
            asin_term = Fraction(math.factorial(2 * n - 2),
                                 4 ** (n - 1) * math.factorial(n - 1) ** 2 * (2 * n - 1))
            out.append(float(mpmath.mpf((sqrt_term + asin_term).numerator)
                             / (sqrt_term + asin_term).denominator / (2 * mpmath.pi)))
    return out


def resolve_kernel(h, name: str = "h") -> _Kernel:
    """Turn ``h`` (a name or a callable) into the kernel used by this module.

    Names: ``"exp"`` (``h(s) = e^s``), ``"relu-nngp"`` (the arc-cosine dual kernel of relu,
    :func:`asymptotics.kernels.arccos_kernel` of order 1), ``"poly:c0,c1,..."``
    (``h(s) = c0 + c1 s + ...``). A callable must map a numpy float array to an array of the same
    shape. ``name`` is the caller's name of the parameter, used in error messages
    (``kernel`` for :func:`asymptotics.models.kernel_ridge.sphere_risk`).

    >>> resolve_kernel("poly:1,0,2").np_fn(np.array([1.0]))
    array([3.])
    >>> resolve_kernel(3)
    Traceback (most recent call last):
    ...
    ValueError: h must be a callable or one of 'exp', 'relu-nngp', 'poly:c0,c1,...', got 3
    >>> resolve_kernel("softmax", name="kernel")
    Traceback (most recent call last):
    ...
    ValueError: kernel must be a callable or one of 'exp', 'relu-nngp', 'poly:c0,c1,...', got 'softmax'
    """
    if isinstance(h, _Kernel):
        return h
    if isinstance(h, str):
        low = h.strip().lower()
        if low == "exp":
            return _Kernel("exp", np.exp, mpmath.exp,
                           lambda K: [1 / math.factorial(j) for j in range(K + 1)], exact="exp")
        if low in ("relu-nngp", "relu_nngp"):
            return _Kernel("relu-nngp", _relu_nngp, _relu_nngp_mp, _relu_nngp_taylor, exact="relu-nngp")
        if low.startswith("poly:"):
            c = _parse_poly(low, name)
            return _Kernel(h, lambda s: np.polynomial.polynomial.polyval(s, c),
                           lambda s: mpmath.polyval(c[::-1], s),
                           lambda K: (c + [0.0] * (K + 1))[:K + 1], exact="poly", coeffs=tuple(c))
        raise ValueError(f"{name} must be a callable or one of {', '.join(map(repr, KERNELS))}, got {h!r}")
    if callable(h):
        return _Kernel(getattr(h, "__name__", "callable"), h, h, None)
    raise ValueError(f"{name} must be a callable or one of {', '.join(map(repr, KERNELS))}, got {h!r}")


def _eval_h(kern: _Kernel, s):
    try:
        with np.errstate(all="ignore"):
            v = np.asarray(kern.np_fn(s), dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"h ({kern.name}) could not be evaluated on a float array: {exc}") from None
    if v.shape != np.shape(s):
        v = np.broadcast_to(v, np.shape(s)).copy() if v.ndim == 0 else None
        if v is None:
            raise ValueError(f"h ({kern.name}) must return an array of its input's shape")
    if not np.isfinite(v).all():
        raise ValueError(f"h ({kern.name}) returned a non-finite value on [-1, 1]")
    return v


# ----------------------------------------------------------------------------------------------
# Eigenvalues by quadrature
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class KernelEigenvalues:
    """Eigenvalues of ``K(x, y) = h(<x, y>/d)`` on ``S^{d-1}(sqrt d)``.

    Attributes:
        kernel: the name of ``h``.
        d: the dimension.
        kmax: the largest degree.
        eigenvalues: ``xi_{d,0} .. xi_{d,kmax}`` (read-only float64 array).
        multiplicities: ``B(d, 0) .. B(d, kmax)`` as a tuple of exact Python ints.
        scaled: ``B(d, k) xi_{d,k}`` (float64; tends to ``h^{(k)}(0)/k!`` as ``d -> oo``).
        quadrature_error: per-degree estimate ``|xi(n) - xi(n/2)|`` of the quadrature error
            (Gauss--Jacobi with ``n`` and ``n/2`` nodes), or the mpmath error estimate.
        nodes: the number ``n`` of Gauss--Jacobi nodes of the returned values (0 for mpmath).
        h_at_one: ``h(1) = K(x, x)``.
        trace_sum: ``sum_{k <= kmax} B(d, k) xi_{d,k}``.
        trace_check: the truncation remainder ``h(1) - trace_sum`` (``>= 0`` up to rounding for a
            positive-definite kernel; it tends to 0 as ``kmax`` grows).
        method: ``"taylor"`` (exp, polynomials: the Funk--Hecke series of the Taylor coefficients),
            ``"closed form"`` (relu-nngp), ``"gauss-jacobi"`` (float64 quadrature) or ``"mpmath"``
            (mpmath quadrature).
        precision: decimal digits of the mpmath computation, or ``None``.
        mp_eigenvalues: with ``precision``, the eigenvalues as ``mpmath.mpf`` at ``precision`` digits
            (a tuple); else ``None``.
    """

    kernel: str
    d: int
    kmax: int
    eigenvalues: np.ndarray
    multiplicities: tuple
    scaled: np.ndarray
    quadrature_error: np.ndarray
    nodes: int
    h_at_one: float
    trace_sum: float
    trace_check: float
    method: str
    precision: int | None
    mp_eigenvalues: tuple | None = None


def _ro(a):
    a = np.array(a, dtype=float)
    a.setflags(write=False)
    return a


@functools.lru_cache(maxsize=64)
def gauss_jacobi_nodes(n: int, d: int):
    """Nodes and weights (summing to 1) of the ``n``-point Gauss rule for ``(1 - s^2)^((d-3)/2)``.

    Golub--Welsch: eigenvalues and first eigenvector components of the Jacobi matrix of the
    normalized Gegenbauer weight (off-diagonal ``sqrt(k (k + 2 lam - 1) / (4 (k + lam)(k + lam - 1)))``,
    ``lam = d/2 - 1``; ``1/sqrt 2, 1/2, 1/2, ...`` for ``d = 2``), by
    ``scipy.linalg.eigh_tridiagonal``, symmetrized. It is used instead of
    ``scipy.special.roots_jacobi(n, a, a)``, which agrees with it where both work but loses
    accuracy at ``a = 0`` (``d = 3``: errors ~``1e-13`` for ``n >= 2048``) and returns NaN for large
    ``a`` and ``n`` (e.g. ``d = 500``, ``n = 1024``). Cached; read-only arrays.

    >>> s, w = gauss_jacobi_nodes(3, 3)       # Gauss-Legendre: nodes 0, +-sqrt(3/5)
    >>> np.round(s ** 2, 15) + 0.0, np.round(w * 18, 13)
    (array([0.6, 0. , 0.6]), array([5., 8., 5.]))
    """
    n = check_int("n", n, low=1, high=_MAX_NODES)
    d = check_int("d", d, low=2)
    if n == 1:
        s, w = np.zeros(1), np.ones(1)
    else:
        k = np.arange(1, n, dtype=float)
        if d == 2:
            beta = np.full(n - 1, 0.5)
            beta[0] = math.sqrt(0.5)
        else:
            lam = (d - 2) / 2.0
            beta = np.sqrt(k * (k + 2 * lam - 1) / (4 * (k + lam) * (k + lam - 1)))
        s, v = scipy.linalg.eigh_tridiagonal(np.zeros(n), beta)
        w = v[0] ** 2
        s = (s - s[::-1]) / 2
        w = (w + w[::-1]) / 2
        w = w / w.sum()
    s.setflags(write=False)
    w.setflags(write=False)
    return s, w


def _jacobi_values(kern, d, kmax, n):
    s, w = gauss_jacobi_nodes(n, d)
    hv = _eval_h(kern, s)
    P = _gegenbauer_table(kmax, s, d)
    return P @ (w * hv)


def _mp_values(kern, d, kmax, precision):
    """All ``xi_{d,k}``, ``k <= kmax``, by one vector tanh-sinh quadrature in mpmath (the tables
    ``P_0..P_kmax`` are computed once per node; the former loop of one ``mpmath.quad`` per degree, each
    recomputing the table, took 41 s for ``kmax = 52``), in ``theta`` with ``s = cos theta`` (the
    weight ``sin(theta)^(d-2)`` has no endpoint singularity; at ``d = 2`` the one of
    ``(1 - s^2)^(-1/2)`` lost 10 digits). Levels are refined until two agree to
    ``10**-(precision+1)`` times ``max |h|``; the difference is the error estimate."""
    from .hermite import _tanh_sinh
    if kern.mp_fn is None:
        raise ValueError(f"h ({kern.name}) has no mpmath form")
    with mpmath.workdps(precision + 10):
        a = mpmath.mpf(d - 3) / 2
        norm = mpmath.beta(mpmath.mpf(1) / 2, a + 1)
        one = mpmath.mpf(1)

        def h(sv):
            try:
                return kern.mp_fn(sv)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"h ({kern.name}) could not be evaluated on an mpmath number: {exc}") from None

        scale = max(abs(h(mpmath.mpf(t))) for t in ("-1", "-0.5", "0", "0.5", "1")) or one

        def level_sum(nodes):   # in theta (s = cos theta): no endpoint singularity of the weight
            acc = [mpmath.mpf(0)] * (kmax + 1)
            for th, w in nodes:
                sv = mpmath.cos(th)
                hv = w * h(sv) * mpmath.sin(th) ** (d - 2)
                p0, p1 = one, sv
                acc[0] += hv
                if kmax >= 1:
                    acc[1] += hv * sv
                for k in range(1, kmax):
                    p0, p1 = p1, ((2 * k + d - 2) * sv * p1 - k * p0) / (k + d - 2)
                    acc[k + 1] += hv * p1
            return acc

        need = mpmath.mpf(10) ** -(precision + 1) * scale * norm

        def describe(info):
            return (f"kernel_eigenvalues: the mpmath quadrature of xi_{{d,{info['component']}}} (d={d}) did not "
                    f"reach {precision} digits (levels {info['level'] - 1} and {info['level']} differ by "
                    f"{mpmath.nstr(info['diff'], 3)}, needed {mpmath.nstr(info['needed'], 3)}); lower kmax or "
                    "precision")

        vals, errs = _tanh_sinh(level_sum, kmax + 1, [mpmath.mpf(0), mpmath.pi / 2, +mpmath.pi],
                                lambda total: [need] * (kmax + 1), describe)
        vals = [v / norm for v in vals]
        errs = [e / norm for e in errs]
        with mpmath.workdps(precision):
            mp_vals = tuple(+v for v in vals)
        return [float(v) for v in vals], [float(e) for e in errs], mp_vals


# ----------------------------------------------------------------------------------------------
# Eigenvalues without quadrature: the Taylor (Funk--Hecke) series and the relu-nngp closed form
# ----------------------------------------------------------------------------------------------
_U = 2.0 ** -53


def _shift_coefficients(d, N, one=1.0):
    """``alpha_k, beta_k`` of ``s P_k = alpha_k P_{k+1} + beta_k P_{k-1}``, ``k = 0..N-1``
    (``alpha_k = (k + d - 2)/(2k + d - 2)``, ``beta_k = k/(2k + d - 2)``; ``alpha_0 = 1``)."""
    alpha = [one] + [one * (k + d - 2) / (2 * k + d - 2) for k in range(1, N)]
    beta = [0 * one] + [one * k / (2 * k + d - 2) for k in range(1, N)]
    return alpha, beta


def _taylor_series_values(a, d, kmax, mp=False):
    """``sum_j a_j E[s^j P_k(s)]``, ``k = 0..kmax``, for the finite sequence ``a`` (and the same with
    ``|a_j|``), by Horner's rule on the operator "multiply by ``s``" in the basis ``P_k``:
    ``W^(m) = a_m e_0 + S W^(m+1)``, ``(S W)_k = alpha_k W_{k+1} + beta_k W_{k-1}`` (the three-term
    recurrence read on the test function). ``S`` has non-negative entries, so for ``a_j >= 0`` no
    difference is ever formed. The second result is ``sum_j (3 j + 3) |a_j| E[s^j P_k]``: the
    contribution of ``a_j`` passes through ``j`` applications of ``S`` (three roundings each), so
    ``u`` times it bounds the rounding error (to first order in ``u``)."""
    J = len(a) - 1
    N = max(J, kmax) + 2
    if mp:
        alpha, beta = _shift_coefficients(d, N, mpmath.mpf(1))
        W = [mpmath.mpf(0)] * N
        Wabs = [mpmath.mpf(0)] * N
        for m in range(J, -1, -1):
            new, newa = [mpmath.mpf(0)] * N, [mpmath.mpf(0)] * N
            top = min(J - m, N - 2)   # W^(m) vanishes above degree J - m
            for k in range(top + 1):
                v = alpha[k] * W[k + 1] + (beta[k] * W[k - 1] if k else 0)
                va = alpha[k] * Wabs[k + 1] + (beta[k] * Wabs[k - 1] if k else 0)
                new[k], newa[k] = v, va
            new[0] += a[m]
            newa[0] += (3 * m + 3) * abs(a[m])
            W, Wabs = new, newa
        return W[:kmax + 1], Wabs[:kmax + 1]
    alpha, beta = (np.array(v, dtype=float) for v in _shift_coefficients(d, N))
    a = np.asarray(a, dtype=float)
    W, Wabs = _backward_sum(a, alpha, beta, N)
    return W[:kmax + 1], Wabs[:kmax + 1]


def _backward_sum(a, alpha, beta, N, over="warn"):
    """``W = sum_m a_m T^m e_0`` by Horner's rule for the tridiagonal shift ``(T W)_k = alpha_k W_{k+1} +
    beta_k W_{k-1}`` (coefficients ``a_J .. a_0``), with the running bound ``Wabs`` of the same sums of
    ``(3m + 3)|a_m|`` (the rounding error of the recurrence). Underflow is silent; ``over`` as numpy's."""
    W = np.zeros(N)
    Wabs = np.zeros(N)
    with np.errstate(under="ignore", over=over):
        for m in range(len(a) - 1, -1, -1):
            up = np.concatenate([W[1:], [0.0]])
            down = np.concatenate([[0.0], W[:-1]])
            upa = np.concatenate([Wabs[1:], [0.0]])
            downa = np.concatenate([[0.0], Wabs[:-1]])
            W = alpha * up + beta * down
            Wabs = alpha * upa + beta * downa
            W[0] += a[m]
            Wabs[0] += (3 * m + 3) * abs(a[m])
    return W, Wabs


def _log_abs_moment(d, j):
    """``log E|s|^j = log[Gamma(d/2) Gamma((j+1)/2) / (sqrt(pi) Gamma((j+d)/2))]`` for the law of ``s``."""
    return (math.lgamma(d / 2) + math.lgamma((j + 1) / 2) - 0.5 * math.log(math.pi) - math.lgamma((j + d) / 2))


def _exp_values(d, kmax, precision=None):
    """``xi_{d,k}`` of ``h = exp`` from its Taylor series ``a_j = 1/j!``: ``(values, bounds, mp values)``.

    Truncated after ``J`` terms; since ``|P_k| <= 1`` and ``E|s|^j`` decreases in ``j``, the remainder is
    at most ``E|s|^(J+1) sum_{j > J} 1/j! <= 2 E|s|^(J+1)/(J+1)!``. ``J`` grows until that is below
    ``2^-60`` times every ``xi_k`` (or below the float64 range). Reference: the Funk--Hecke integral
    ``E[e^s P_k(s)] = Gamma(d/2) 2^(d/2-1) I_(k+d/2-1)(1)`` (modified Bessel function; used in the
    tests as an independent witness)."""
    J = kmax + 40
    while True:
        log_tail = _log_abs_moment(d, J + 1) + math.log(2) - math.lgamma(J + 2)
        if precision is None:
            a = [1 / math.factorial(j) for j in range(J + 1)]
            vals, absv = _taylor_series_values(a, d, kmax)
            vals = np.asarray(vals)
            small = np.where(vals > 0, vals, np.inf)
            ok = log_tail < -745 or np.all(log_tail <= np.log(small) - 60 * math.log(2))
            if ok or J > 8 * kmax + 4000:
                bound = 1.01 * _U * np.abs(absv) + math.exp(max(log_tail, -745)) + 5e-324
                return vals, bound, None
        else:
            with mpmath.workdps(precision + 10):
                a, f = [], mpmath.mpf(1)
                for j in range(J + 1):
                    a.append(1 / f)
                    f *= j + 1
                vals, absv = _taylor_series_values(a, d, kmax, mp=True)
                tail = mpmath.exp(mpmath.mpf(log_tail))
                if all(tail <= v * mpmath.mpf(10) ** -(precision + 5) for v in vals) or J > 8 * kmax + 4000:
                    bound = np.array([float(mpmath.mpf(10) ** -(precision + 10) * v + tail)
                                      for v in absv])
                    return np.array([float(v) for v in vals]), bound, tuple(vals)
        J *= 2


def _poly_values(coeffs, d, kmax, precision=None):
    """``xi_{d,k}`` of a polynomial kernel: the finite Taylor (Funk--Hecke) sum, exact but for rounding
    (bounded as in :func:`_taylor_series_values`); 0 for ``k > deg``."""
    if precision is None:
        vals, absv = _taylor_series_values(list(coeffs), d, kmax)
        return np.asarray(vals), 1.01 * _U * np.asarray(absv), None
    with mpmath.workdps(precision + 10):
        vals, absv = _taylor_series_values([mpmath.mpf(c) for c in coeffs], d, kmax, mp=True)
        bound = np.array([float(mpmath.mpf(10) ** -(precision + 10) * v) for v in absv])
        return np.array([float(v) for v in vals]), bound, tuple(vals)


def _relu_nngp_values(d, kmax, precision=None):
    """``xi_{d,k}`` of the relu NNGP (arc-cosine) kernel in closed form, ``xi_{d,k} = lambda_k^2``.

    ``h(<x, y>/d) = E_{w ~ N(0, I_d)}[relu(<w, x>/sqrt d) relu(<w, y>/sqrt d)]`` and relu is positively
    homogeneous, so with ``w = R theta`` (``E R^2 = d``, ``theta`` uniform on the unit sphere)
    ``h = E_theta[relu(<theta, x>) relu(<theta, y>)]``, and the addition formula (as in
    :mod:`asymptotics.models.neural_tangent`) gives ``xi_{d,k} = lambda_k^2``,
    ``lambda_k = sqrt(d) E[s_+ P_k(s)]``. With ``nu = (d - 3)/2``, ``Z = B(1/2, nu + 1)`` and the
    Rodrigues formula ``P_k(s) (1 - s^2)^nu = (-1)^k / (2^k (nu + 1)_k) (d/ds)^k (1 - s^2)^(k + nu)``,
    two integrations by parts give, for even ``k >= 2``,
    ``E[s_+ P_k] = (-1)^k (k-2)! binom(k + nu, k/2 - 1) (-1)^(k/2 - 1) / (2^k (nu + 1)_k Z)``,
    0 for odd ``k >= 3``; ``E[s_+] = 1/(2 (nu + 1) Z)`` and ``E[s_+ s] = B(3/2, nu + 1)/(2 Z)``
    (``= 1/(2d)``). Evaluated at 30 digits (``precision + 10`` when given)."""
    dps = 30 if precision is None else precision + 10
    with mpmath.workdps(dps):
        nu = (mpmath.mpf(d) - 3) / 2
        Z = mpmath.beta(mpmath.mpf(1) / 2, nu + 1)
        rd = mpmath.sqrt(d)
        vals = []
        for k in range(kmax + 1):
            if k == 0:
                lam = 1 / (2 * (nu + 1) * Z)
            elif k == 1:
                lam = mpmath.beta(mpmath.mpf(3) / 2, nu + 1) / (2 * Z)
            elif k % 2:
                lam = mpmath.mpf(0)
            else:
                m = k // 2 - 1
                lam = (mpmath.factorial(k - 2) * mpmath.binomial(k + nu, m) * (-1) ** m
                       / (mpmath.ldexp(mpmath.rf(nu + 1, k), k) * Z))
            vals.append((rd * lam) ** 2)
        out = np.array([float(v) for v in vals])
        bound = np.abs(out) * (2 * _U if precision is None else 0.0) + np.array(
            [float(abs(v)) for v in vals]) * float(mpmath.mpf(10) ** (5 - dps)) + 5e-324 * (out == 0)
        with mpmath.workdps(precision or 30):
            mp_vals = tuple(+v for v in vals) if precision is not None else None
        return out, bound, mp_vals


def _exact_values(kern, d, kmax, precision):
    if kern.exact == "exp":
        return _exp_values(d, kmax, precision)
    if kern.exact == "poly":
        return _poly_values(kern.coeffs, d, kmax, precision)
    return _relu_nngp_values(d, kmax, precision)


# ----------------------------------------------------------------------------------------------
# Power functions s_+^q: Gegenbauer coefficients in closed form, at every (also real) degree
# ----------------------------------------------------------------------------------------------
def power_coefficients(q: int, d: int, jmax: int, *, dps: int = 30):
    r"""``E[s_+^q P_j(s)]``, ``j = 0..jmax``, in closed form (mpmath numbers at ``dps`` digits).

    ``s`` has the density ``prop. to (1 - s^2)^((d-3)/2)`` (the law of ``<x, e>/d`` on
    ``S^{d-1}(sqrt d)``) and ``q >= 0`` is an integer. Split ``s_+^q`` into its even and odd parts
    ``(|s|^q +- sgn(s) |s|^q)/2``; the Mellin-type integrals of a power against ``P_j`` (Rodrigues'
    formula and ``k`` integrations by parts, or the hypergeometric form of ``P_j``) give

        ``E[|s|^q P_{2m}] = M_q (-1)^m (-q/2)_m / ((q + d)/2)_m``,
        ``E[sgn(s) |s|^q P_{2m+1}] = M_{q+1} (-1)^m ((1 - q)/2)_m / ((q + d + 1)/2)_m``,

    ``M_r = E|s|^r = Gamma((r+1)/2) Gamma(d/2) / (sqrt(pi) Gamma((r+d)/2))``. For ``j > q`` only
    ``j - q`` odd survives, with the magnitude (:func:`_power_coefficient_magnitude`)
    ``q! Gamma(d/2) Gamma((j - q)/2) / (2^(q+1) pi Gamma((j + q + d)/2))``; ``q = 1`` is the
    relu-nngp closed form of :func:`_relu_nngp_values`. The tests check both against 40-digit
    quadrature.

    >>> [float(v) for v in power_coefficients(0, 3, 3)]   # Legendre: int_0^1 P_j / 2
    [0.5, 0.25, 0.0, -0.0625]
    """
    with mpmath.workdps(dps + 10):
        qq, dd = mpmath.mpf(q), mpmath.mpf(d)
        half = mpmath.mpf(1) / 2
        M = [mpmath.gamma((r + 1) / 2) * mpmath.gamma(dd / 2) / (mpmath.sqrt(mpmath.pi) * mpmath.gamma((r + dd) / 2))
             for r in (qq, qq + 1)]
        out = []
        for j in range(jmax + 1):
            m = j // 2
            if j % 2 == 0:
                v = M[0] * half * (-1) ** m * mpmath.rf(-qq / 2, m) / mpmath.rf((qq + dd) / 2, m)
            else:
                v = M[1] * half * (-1) ** m * mpmath.rf((1 - qq) / 2, m) / mpmath.rf((qq + dd + 1) / 2, m)
            out.append(v)
    with mpmath.workdps(dps):
        return [+v for v in out]


def _power_coefficient_magnitude(q, d, j):
    """``|E[s_+^q P_j(s)]|`` for ``j > q``, ``j - q`` odd, continued to real ``j`` (mpmath, at the
    working precision): ``q! Gamma(d/2) Gamma((j-q)/2) / (2^(q+1) pi Gamma((j+q+d)/2))``."""
    j = mpmath.mpf(j)
    return (mpmath.factorial(q) * mpmath.gamma(mpmath.mpf(d) / 2) * mpmath.gamma((j - q) / 2)
            / (mpmath.ldexp(mpmath.pi, q + 1) * mpmath.gamma((j + q + d) / 2)))


# log Gamma(x + 1/2) - log Gamma(x) = log(x)/2 + sum_n c_n x^-n (n odd; Bernoulli polynomials:
# c_n = (-1)^(n+1) (B_{n+1}(1/2) - B_{n+1}(0)) / (n (n+1))), used for x >= 12 (error < 4e-16)
_HALF_SERIES = ((1, -0.125), (3, 0.005208333333333333), (5, -0.0015625), (7, 0.0011858258928571428),
                (9, -0.001681857638888889), (11, 0.0038341175426136365), (13, -0.012819730318509616),
                (15, 0.059100405375162764))


def _gamma_ratio(x, a):
    """``Gamma(x) / Gamma(x + a)`` in float64 for real ``x > 0`` (array) and ``a >= 0`` with ``2a`` an
    integer: the product of the ``floor(a)`` factors ``1/(x + f + i)`` times
    ``Gamma(x)/Gamma(x + 1/2)`` (``f = 1/2``) from its asymptotic series after an upward shift to
    ``x >= 12``. Relative accuracy ~``(a + 10) 1e-16`` (``scipy.special.poch`` is off by up to 7e-13
    at non-integer ``a``)."""
    x = np.asarray(x, dtype=float)
    n = int(math.floor(a))
    f = a - n
    out = np.ones(x.shape)
    with np.errstate(under="ignore"):
        for i in range(n):
            out = out / (x + f + i)
        if f:
            N = np.maximum(0.0, np.ceil(12.0 - x))
            y = x + N
            r = 0.5 * np.log(y)
            for p, c in _HALF_SERIES:
                r = r + c / y ** p
            # Gamma(x+1/2)/Gamma(x) = [Gamma(y+1/2)/Gamma(y)] prod_{i<N} (x+i)/(x+i+1/2)
            corr = np.zeros(x.shape)
            for i in range(int(N.max()) if N.size else 0):
                corr = corr + np.where(i < N, np.log1p(-0.5 / (x + i + 0.5)), 0.0)
            out = out * np.exp(-(r + corr))
    return out


def log_gamma_ratio(x, a):
    """``log Gamma(x) - log Gamma(x + a)`` in float64 (vectorized over real ``x > 0``; ``2a`` an
    integer ``>= 0``), as a sum of ``log(x + f + i)`` and the series of :data:`_HALF_SERIES`: no
    overflow, absolute error ~``sqrt(a) 1e-15``."""
    x = np.asarray(x, dtype=float)
    n = int(math.floor(a))
    f = a - n
    out = np.zeros(x.shape)
    for i in range(n):
        out = out - np.log(x + f + i)
    if f:
        N = np.maximum(0.0, np.ceil(12.0 - x))
        y = x + N
        r = 0.5 * np.log(y)
        for p, c in _HALF_SERIES:
            r = r + c / y ** p
        for i in range(int(N.max()) if N.size else 0):
            r = r + np.where(i < N, np.log1p(-0.5 / (x + i + 0.5)), 0.0)
        out = out - r
    return out


def log_multiplicity(d: int, k):
    """``log B(d, k)`` continued to real ``k > 0``, float64, vectorized, without overflow."""
    k = np.asarray(k, dtype=float)
    if d == 2:
        return np.full(k.shape, math.log(2.0))
    out = np.log(2 * k + d - 2) - math.lgamma(d - 1)
    for i in range(1, d - 2):
        out = out + np.log(k + i)
    return out


def _degree_nodes(k0: int, step: int, k_end: int, m: int, ratio: float):
    """Nodes ``k`` and weights ``w`` of the degrees ``k0, k0 + step, ... < k_end`` cut into blocks
    ``[a, ratio a)``: a block of ``N > 2m`` degrees by its ``m``-point discrete Gauss rule
    (:func:`discrete_gauss`), smaller blocks degree by degree; and the number of degrees."""
    ks, ws = [], []
    i, total = 0, (k_end - k0 + step - 1) // step
    while i < total:
        a = k0 + step * i
        j = min(total, max(i + 1, int(math.ceil((ratio * a - k0) / step))))
        N = j - i
        x, w = discrete_gauss(N, m) if N > 2 * m else (np.arange(N, dtype=float), np.ones(N))
        ks.append(a + step * x)
        ws.append(w)
        i = j
    k = np.concatenate(ks) if ks else np.zeros(0)
    w = np.concatenate(ws) if ws else np.zeros(0)
    return k, w, total


def degree_sum(f, k0: int, step: int, k_end: int, *, m: int = 20, ratio: float = 2.0, f_mp=None):
    """``sum_{k0 <= k, k = k0 (mod step)} f(k)`` for a positive ``f`` analytic in ``k`` and smooth on the
    scale of ``k`` (a trace ``B(d, k) xi_k`` of a power-law tail): the blocks and discrete Gauss rules
    of :func:`degree_tail` up to ``k_end`` (``f`` float64 and vectorized, or ``f_mp`` an mpmath
    function of one degree), plus the Euler--Maclaurin remainder beyond ``k_end`` of the local power
    law. Returns ``(sum up to k_end, remainder)``."""
    k, w, total = _degree_nodes(k0, step, k_end, m, ratio)
    ke = float(k0 + step * total)
    if f_mp is None:
        with np.errstate(under="ignore"):
            vals = np.asarray(f(np.concatenate([k, [ke, 2 * ke]])), dtype=float)
    else:
        with mpmath.workdps(20):
            vals = np.array([float(f_mp(mpmath.mpf(float(v)))) for v in np.concatenate([k, [ke, 2 * ke]])])
    total_sum = math.fsum(w * vals[:-2])
    f1, f2 = float(vals[-2]), float(vals[-1])
    if f1 == 0:
        return total_sum, 0.0
    alpha = math.log(f1 / f2) / math.log(2) if f2 > 0 else 50.0
    if alpha <= 1:
        return total_sum, math.inf
    rest = f1 * math.exp(alpha * math.log(ke) + (1 - alpha) * math.log(ke - step / 2)) / ((alpha - 1) * step)
    return total_sum, rest


def multiplicity_float(d: int, k):
    """``B(d, k)`` continued to real ``k > 0``, float64, vectorized: 2 for ``d = 2``, else
    ``(2k + d - 2) prod_{i=1}^{d-3} (k + i) / (d - 2)!`` (relative accuracy ~``d 1e-16``)."""
    k = np.asarray(k, dtype=float)
    if d == 2:
        return np.full(k.shape, 2.0)
    out = (2 * k + d - 2) / math.factorial(d - 2) if d < 170 else None
    if out is None:
        return np.exp(np.log(2 * k + d - 2) + scipy.special.gammaln(k + d - 2) - scipy.special.gammaln(k + 1)
                      - math.lgamma(d - 1))
    with np.errstate(over="ignore"):
        for i in range(1, d - 2):
            out = out * (k + i)
    return out


def power_magnitude_float(q: int, d: int, j):
    """Float64 version of :func:`_power_coefficient_magnitude` (vectorized over real ``j``), by
    :func:`_gamma_ratio`; relative accuracy ~1e-15 for ``d <= 60`` (else via mpmath)."""
    j = np.asarray(j, dtype=float)
    if d > 60:
        with mpmath.workdps(20):
            return np.array([float(_power_coefficient_magnitude(q, d, float(v))) for v in j.ravel()]).reshape(j.shape)
    const = math.factorial(q) * math.exp(math.lgamma(d / 2)) / (2 ** (q + 1) * math.pi)
    return const * _gamma_ratio((j - q) / 2, (2 * q + d) / 2)


def multiplicity_real(d: int, k):
    """``B(d, k)`` continued to real ``k > 0`` (mpmath): ``(2k + d - 2) Gamma(k + d - 2) /
    (Gamma(k + 1) Gamma(d - 1))`` for ``d >= 3`` (a polynomial of degree ``d - 2`` in ``k``), 2 for
    ``d = 2``."""
    if d == 2:
        return mpmath.mpf(2)
    k = mpmath.mpf(k)
    if d > 40:
        return (2 * k + d - 2) * mpmath.gammaprod([k + d - 2], [k + 1, mpmath.mpf(d - 1)])
    out = (2 * k + d - 2) / mpmath.factorial(d - 2)
    for i in range(1, d - 2):
        out *= k + i
    return out


def relu_nngp_eigenvalue(d: int, k):
    """``xi_{d,k}`` of relu-nngp for even ``k >= 2``, continued to real ``k`` (mpmath):
    ``d E[s_+ P_k]^2`` with the magnitude of :func:`power_coefficients` at ``q = 1``."""
    return d * _power_coefficient_magnitude(1, d, k) ** 2


def relu_nngp_eigenvalue_float(d: int, k):
    """Float64, vectorized version of :func:`relu_nngp_eigenvalue`."""
    return d * power_magnitude_float(1, d, k) ** 2


def log_power_mass(q: int, gamma: float, d: int, j, scale: float = 1.0):
    """``log[scale d^q gamma^2 E[s_+^q P_j]^2 B(d, j)]`` at real ``j`` (array) of the class ``j - q``
    odd, float64 without overflow (:func:`log_gamma_ratio`, :func:`log_multiplicity`; the constant at
    30 digits): the trace at degree ``j`` of the ridge function ``gamma t_+^q`` (``scale = 1``) --
    of ``sigma'`` for the NT kernel; ``q = 1``, ``gamma = 1`` is the relu-nngp trace
    ``B(d, k) xi_{d,k} = d E[s_+ P_k]^2 B(d, k)``. Relative accuracy ~``1e-15 sqrt(q + d)``."""
    with mpmath.workdps(30):
        const = float(mpmath.log(mpmath.mpf(scale)) + q * mpmath.log(d) + 2 * mpmath.log(abs(mpmath.mpf(gamma)))
                      + 2 * (mpmath.log(mpmath.factorial(q)) + mpmath.loggamma(mpmath.mpf(d) / 2)
                             - (q + 1) * mpmath.log(2) - mpmath.log(mpmath.pi)))
    j = np.asarray(j, dtype=float)
    return const + 2 * log_gamma_ratio((j - q) / 2, (2 * q + d) / 2) + log_multiplicity(d, j)


def power_mass_mp(q: int, gamma: float, d: int, j):
    """mpmath version of ``exp(log_power_mass(q, gamma, d, j))`` for one degree (any ``d``)."""
    return (mpmath.mpf(d) ** q * mpmath.mpf(gamma) ** 2 * _power_coefficient_magnitude(q, d, j) ** 2
            * multiplicity_real(d, j))


@functools.lru_cache(maxsize=512)
def power_tail_mass(q: int, gamma: float, d: int, J: int, scale: float = 1.0) -> float:
    """``sum_{j > J, j - q odd} scale d^q gamma^2 E[s_+^q P_j]^2 B(d, j)`` (the trace beyond degree ``J``
    of the power-law class), by :func:`degree_sum` up to ``max(10^4 j0, 10^4 d, 10^6)`` (past the
    crossover ``j ~ d`` from the Hermite-like regime to the power law ``j^-(2q+2)``) and the
    Euler--Maclaurin remainder; float64 for ``d <= 200``, mpmath beyond. Relative accuracy ~1e-14
    (tests: direct sums over 2 million degrees)."""
    if gamma == 0:
        return 0.0
    j0 = J + 1 if (J + 1 - q) % 2 == 1 else J + 2
    j0 = max(j0, q + 1)
    k_end = max(10 ** 4 * j0, 10 ** 4 * d, 10 ** 6)
    if d <= 200:
        tot, rest = degree_sum(lambda j: np.exp(log_power_mass(q, gamma, d, j, scale)), j0, 2, k_end)
    else:
        tot, rest = degree_sum(None, j0, 2, k_end, f_mp=lambda j: scale * power_mass_mp(q, gamma, d, j))
    return tot + rest


def ridge_taylor_values(t, d: int, kmax: int, R: float = 1.0):
    r"""``E[f(sqrt(d) s) P_k(s)]``, ``k = 0..kmax``, for ``f(x) = sum_i t_i x^i`` given by its Taylor
    coefficients ``t`` (finite sequence): the Funk--Hecke series of :func:`_taylor_series_values` in
    the variable ``x = sqrt(d) s`` of a ridge function (Gegenbauer coefficients
    ``lambda_{d,k}(f)`` of :mod:`asymptotics.models.neural_tangent`).

    Horner's rule on "multiply by ``x``" in the scaled basis ``d^{k/2} E[. P_k]``:
    ``(S W)_k = alpha_k W_{k+1} + (d beta_k) W_{k-1}``, ``alpha_k = (k+d-2)/(2k+d-2)``,
    ``d beta_k = d k/(2k+d-2)`` (``-> 1`` and ``k`` as ``d -> oo``: the Hermite recurrence), all
    non-negative, so that a series with ``t_i >= 0`` has no cancellation at all and the rounding
    error is at most ``u`` times the same series with ``|t_i|``.

    Returns ``(W, Wabs, r)``: the scaled values ``W_k = d^{k/2} E[f P_k]``, the same for ``|t_i|``
    weighted by ``3i + 3`` (the rounding bound, as in :func:`_taylor_series_values`), and
    ``r_k = B(d, k)/d^k`` (so that ``B(d, k) lambda_k^2 = W_k^2 r_k`` without overflow). With
    ``R != 1`` the coefficients are given as ``t_i R^i`` and the operator used is ``S/R`` (same result;
    keeps coefficients like ``1/i!`` inside the float64 range; ``R`` a power of 2 scales exactly).

    >>> W, Wa, r = ridge_taylor_values([0.0, 0.0, 1.0], 5, 2)   # x^2 = 1 + (d-1) Q_2 (t = <w,x>)
    >>> np.round(W * [1, 5 ** -0.5, 1 / 5] * r * [1, 5, 25], 12) + 0.0   # B lambda_k: 1, 0, 4
    array([1., 0., 4.])
    """
    t = np.asarray(t, dtype=float)
    J = t.size - 1
    N = max(J, kmax) + 2
    k = np.arange(N, dtype=float)
    alpha = np.where(k == 0, 1.0, (k + d - 2) / np.maximum(2 * k + d - 2, 1.0)) / R
    dbeta = np.where(k == 0, 0.0, d * k / np.maximum(2 * k + d - 2, 1.0)) / R
    W, Wabs = _backward_sum(t, alpha, dbeta, N, over="ignore")
    r = np.empty(kmax + 1)
    r[0] = 1.0
    for j in range(kmax):   # B(d, j+1)/B(d, j) = (2j+d)(j+d-2)/((j+1)(2j+d-2)), and B(d, 1) = d
        r[j + 1] = r[j] * (1.0 if j == 0 else (2 * j + d) * (j + d - 2) / ((j + 1) * (2 * j + d - 2) * d))
    return W[:kmax + 1], Wabs[:kmax + 1], r


def log_abs_moment_x(d: int, i: int) -> float:
    """``log E|x|^i`` for ``x = sqrt(d) s`` (the ridge variable ``<w, x>`` on ``S^{d-1}(sqrt d)``)."""
    return 0.5 * i * math.log(d) + _log_abs_moment(d, i)


# ----------------------------------------------------------------------------------------------
# The degrees beyond a truncation as a quadrature over the degree
# ----------------------------------------------------------------------------------------------
def discrete_gauss(N: int, m: int):
    """The ``m``-point Gauss rule of the uniform measure on ``{0, 1, ..., N - 1}``: real nodes
    ``x_i`` in ``(0, N - 1)`` and positive weights ``w_i`` with ``sum_i w_i p(x_i) = sum_{x=0}^{N-1}
    p(x)`` for every polynomial ``p`` of degree ``<= 2m - 1``.

    Golub--Welsch on the recurrence of the monic discrete Chebyshev (Gram) polynomials,
    ``alpha = (N - 1)/2``, ``beta_j = j^2 (N^2 - j^2) / (4 (4 j^2 - 1))`` (Gautschi, *Orthogonal
    Polynomials: Computation and Approximation*, 2004, Table 1.2), scaled by ``1/N`` so that ``N``
    may be huge. For ``N <= m`` the points themselves (weights 1).

    >>> x, w = discrete_gauss(100, 4)
    >>> round(float(w @ x ** 7) / sum(float(i) ** 7 for i in range(100)), 12)
    1.0
    """
    if N <= m:
        return np.arange(N, dtype=float), np.ones(N)
    j = np.arange(1, m, dtype=float)
    off = np.sqrt(j * j * (1 - (j / N) ** 2) / (4 * (4 * j * j - 1)))
    e, v = scipy.linalg.eigh_tridiagonal(np.zeros(m), off)
    x = (N - 1) / 2 + N * e
    w = N * v[0] ** 2
    w = w * (N / w.sum())
    return x, w


@dataclass(frozen=True)
class DegreeTail:
    """Degrees ``k0 <= k < k_end``, ``k = k0 (mod step)``, of an inner-product kernel on the sphere as
    pseudo-eigenspaces ``(eigs[i], mult[i])`` (see :func:`degree_tail`); beyond ``k_end`` the trace
    ``rest`` whose largest eigenvalue is ``rest_eig``.

    Attributes:
        k: the nodes (real degrees).
        eigs: ``xi(k)`` at the nodes (float64); ``mp_eigs`` the same at ``precision`` digits or ``None``.
        mult: quadrature weight times ``B(d, k)`` at the nodes.
        mass: ``sum_i mult_i eigs_i`` (the trace of the degrees ``k0 <= k < k_end``).
        rest, rest_eig: the trace beyond ``k_end`` (Euler--Maclaurin estimate of the power-law tail)
            and ``xi(k_end)``.
    """

    k: np.ndarray
    eigs: np.ndarray
    mult: np.ndarray
    mass: float
    rest: float
    rest_eig: float
    k0: int
    step: int
    k_end: int
    nodes: int
    mp_eigs: tuple | None = None


def degree_tail(xi_fn, d: int, k0: int, step: int, k_end: int, *, m: int = 20, ratio: float = 2.0,
                xi_mp=None, precision: int | None = None) -> DegreeTail:
    r"""``sum_{k0 <= k < k_end, k = k0 (mod step)} B(d, k) phi(xi_k)`` for every ``phi`` at once.

    ``xi_fn(k)`` (float64, vectorized over real ``k``; ``xi_mp`` the same in mpmath, needed with
    ``precision``) is the analytic continuation of the eigenvalues of one parity class. The degrees
    are cut into blocks ``[a, ratio a)``; a block of ``N > 2m`` degrees is replaced by the
    ``m``-point discrete Gauss rule of its ``N`` points (:func:`discrete_gauss`: exact for
    polynomials of degree ``2m - 1`` in ``k``), smaller blocks are kept degree by degree. The
    summands ``B(d, k) phi(xi(k))`` with ``phi(x) = x/(x + kappa)``, ``x^2/(x + kappa)^2``, ... are
    analytic in ``k`` with their nearest singularity (where ``xi(k) = -kappa``) at an angle
    ``pi/p`` off the real axis for ``xi ~ k^(-p)``, so with ``ratio - 1 ~ sin(pi/p)`` the rule
    converges geometrically in ``m`` (the callers compare two ``m`` to estimate the error; measured
    against direct sums over 2 million degrees: 1e-14 relative at ``m = 20``). Nodes, weights and
    ``B(d, k)`` are float64 (:func:`multiplicity_float`); with ``precision``, ``mp_eigs`` holds
    ``xi_mp`` at the nodes at ``precision`` digits.

    The remainder ``sum_{k >= k_end}`` of the trace is estimated by the Euler--Maclaurin integral of
    the local power law ``B xi ~ C k^(-alpha)`` (``alpha`` from ``k_end`` and ``2 k_end``):
    ``C (k_end - step/2)^(1 - alpha) / ((alpha - 1) step)`` (relative error ~1e-4 at
    ``k_end = 2e5``; callers make it negligible).
    """
    k, w, total = _degree_nodes(k0, step, k_end, m, ratio)
    with np.errstate(under="ignore", over="ignore"):
        eigs = np.asarray(xi_fn(k), dtype=float)
        mult = w * multiplicity_float(d, k)
        mass = math.fsum(mult * eigs)
        ke = float(k0 + step * total)
        f1 = float(multiplicity_float(d, np.array([ke]))[0] * xi_fn(np.array([ke]))[0])
        f2 = float(multiplicity_float(d, np.array([2 * ke]))[0] * xi_fn(np.array([2 * ke]))[0])
    alpha = math.log(f1 / f2) / math.log(2) if f2 > 0 and f1 > 0 else 50.0
    if f1 == 0:
        rest = 0.0
    elif alpha > 1:
        rest = f1 * math.exp(alpha * math.log(ke) + (1 - alpha) * math.log(ke - step / 2)) / ((alpha - 1) * step)
    else:
        rest = math.inf
    rest_eig = float(xi_fn(np.array([ke]))[0])
    mp_eigs = None
    if precision is not None:
        with mpmath.workdps(precision + 10):
            xs = [xi_mp(mpmath.mpf(float(kv))) for kv in k]
        with mpmath.workdps(precision):
            mp_eigs = tuple(+x for x in xs)
    return DegreeTail(k=k, eigs=eigs, mult=mult, mass=float(mass), rest=float(rest), rest_eig=rest_eig,
                      k0=k0, step=step, k_end=int(k0 + step * total), nodes=int(k.size), mp_eigs=mp_eigs)


def kernel_eigenvalues(h, d, kmax, *, precision=None, nodes=None, tol=1e-14, method="auto") -> KernelEigenvalues:
    """Eigenvalues ``xi_{d,k} = E_x[h(<x, e>/d) Q_k(<x, e>)]`` of ``K(x, y) = h(<x, y>/d)``.

    ``x`` is uniform on ``S^{d-1}(sqrt d)`` (Funk--Hecke; Ghorbani et al., arXiv:1904.12191,
    Sec. 2). The expectation is an integral against the law of ``s = <x, e>/d``, density
    ``proportional to (1 - s^2)^((d-3)/2)`` on ``[-1, 1]``.

    Two routes:

    * **exact** (``method="auto"`` for the named kernels): ``exp`` and ``poly:`` by the Taylor
      (Funk--Hecke) series ``xi_{d,k} = sum_j a_j E[s^j P_k(s)]`` summed by Horner's rule on the
      three-term recurrence, in which every term is non-negative for ``a_j >= 0`` (no cancellation:
      relative accuracy ``~1e-16 J`` at every degree), and ``relu-nngp`` in closed form
      (:func:`_relu_nngp_values`: ``xi_{d,k} = d E[s_+ P_k(s)]^2``). The integral route below loses
      ``log10(E|h P_k| / xi_{d,k})`` digits to cancellation -- for ``exp`` at ``d = 3`` already
      8 digits at degree 8 and everything beyond degree ~12 (``xi ~ 1/(2k+1)!!``) -- which is why
      it is not used for them.
    * **quadrature** (callables, or ``method="quadrature"``): Gauss--Jacobi quadrature
      (``alpha = beta = (d-3)/2``; nodes by :func:`gauss_jacobi_nodes`), exact for polynomial ``h``
      of degree ``< 2n - kmax``. The node count ``n`` doubles (from ``max(64, 2 kmax + 32)``) until
      two consecutive counts agree to ``tol`` (absolute, relative to ``max |h|`` on the nodes);
      their difference is reported as ``quadrature_error``. Float64 round-off makes the relative
      error of ``xi_{d,k}`` of order ``1e-16 E|h P_k| / xi_{d,k}`` (the eigenvalue is ``~ d^{-k}``
      while the integrand is ``~ d^{-k/2}``); use ``precision`` for large ``d^{k}``.

    Args:
        h: ``"exp"``, ``"relu-nngp"``, ``"poly:c0,c1,..."`` or a callable of numpy arrays
            (see :func:`resolve_kernel`).
        d: dimension, integer ``>= 2``.
        kmax: largest degree, ``0 <= kmax <= 2000``.
        precision: ``None`` (float64) or decimal digits ``15..200``: the exact routes are evaluated
            in mpmath at ``precision + 10`` digits, the quadrature route by mpmath quadrature
            (``h`` must then accept mpmath numbers; named kernels do); ``mp_eigenvalues`` then holds
            the ``precision``-digit values.
        nodes: a fixed Gauss--Jacobi node count instead of the adaptive choice (the error is
            estimated against ``nodes // 2``); selects the quadrature route.
        tol: target of the adaptive node choice, ``> 0``.
        method: ``"auto"`` (exact route where there is one) or ``"quadrature"``.

    Returns:
        A frozen :class:`KernelEigenvalues`; ``quadrature_error`` is a bound on the absolute error
        of each eigenvalue (exact routes: rounding and series remainder) or the quadrature's
        estimate.

    Raises:
        ValueError: bad ``d``, ``kmax``, ``h``, ``precision``, ``method``, or a quadrature that does
            not reach ``tol`` with 4096 nodes.

    >>> r = kernel_eigenvalues("poly:0,0,1", 3, 3)   # s^2 = 1/3 P_0 + 2/3 P_2 (Legendre)
    >>> np.round(r.eigenvalues, 14) + 0.0, r.multiplicities, r.method
    (array([0.33333333, 0.        , 0.13333333, 0.        ]), (1, 3, 5, 7), 'taylor')
    >>> float(kernel_eigenvalues("exp", 3, 20).eigenvalues[20])   # i_20(1) = sqrt(pi/2) I_20.5(1)
    7.7151475650656...e-26
    >>> kernel_eigenvalues("relu-nngp", 1, 3)
    Traceback (most recent call last):
    ...
    ValueError: d must be an integer >= 2 and <= 1e+07, got 1
    """
    kern = resolve_kernel(h)
    d = check_int("d", d, low=2, high=_MAX_D)
    kmax = check_int("kmax", kmax, low=0, high=_MAX_KMAX)
    tol = float(check_real("tol", tol, low=0, low_open=True))
    if method not in ("auto", "quadrature"):
        raise ValueError(f"method must be 'auto' or 'quadrature', got {method!r}")
    if precision is not None:
        precision = check_int("precision", precision, low=15, high=200)
    mult = tuple(_B(d, k) for k in range(kmax + 1))
    try:
        mult_f = np.array([float(b) for b in mult])
    except OverflowError:
        raise ValueError(f"B(d, k) exceeds the float64 range for d={d}, kmax={kmax}; lower kmax") from None
    h1 = float(_eval_h(kern, np.array([1.0]))[0])
    mp_vals = None
    if kern.exact is not None and method == "auto" and nodes is None:
        xi, err, mp_vals = _exact_values(kern, d, kmax, precision)
        n = 0
        method = "closed form" if kern.exact == "relu-nngp" else "taylor"
    elif precision is not None:
        vals, errs, mp_vals = _mp_values(kern, d, kmax, precision)
        xi, err, n, method = np.array(vals), np.abs(errs), 0, "mpmath"
    else:
        method = "gauss-jacobi"
        if nodes is not None:
            n = check_int("nodes", nodes, low=2, high=_MAX_NODES)
            xi = _jacobi_values(kern, d, kmax, n)
            err = np.abs(xi - _jacobi_values(kern, d, kmax, max(n // 2, 1)))
        else:
            n = max(64, 2 * kmax + 32)
            prev = _jacobi_values(kern, d, kmax, n)
            while True:
                n *= 2
                xi = _jacobi_values(kern, d, kmax, n)
                err = np.abs(xi - prev)
                scale = max(1.0, abs(h1))
                if err.max() <= tol * scale:
                    break
                if 2 * n > _MAX_NODES:
                    raise ValueError(
                        f"kernel_eigenvalues: Gauss-Jacobi quadrature did not reach tol={tol:g} with "
                        f"{n} nodes (d={d}, kmax={kmax}; error estimate {err.max():.3g}); pass a larger "
                        "tol or a smaller kmax, or use precision=")
                prev = xi
    scaled = mult_f * xi
    trace_sum = float(np.sum(scaled))
    return KernelEigenvalues(kernel=kern.name, d=d, kmax=kmax, eigenvalues=_ro(xi), multiplicities=mult,
                             scaled=_ro(scaled), quadrature_error=_ro(err), nodes=int(n), h_at_one=h1,
                             trace_sum=trace_sum, trace_check=h1 - trace_sum, method=method,
                             precision=precision, mp_eigenvalues=mp_vals)


# ----------------------------------------------------------------------------------------------
# d -> oo limit
# ----------------------------------------------------------------------------------------------
def _cauchy_taylor(fn, kmax, radius, m):
    z = radius * np.exp(2j * np.pi * np.arange(m) / m)
    with np.errstate(all="ignore"):
        v = np.asarray(fn(z), dtype=complex)
    if v.shape != z.shape or not np.isfinite(v).all():
        raise ValueError("h must accept complex arrays and be finite on the circle |s| = radius "
                         "(analytic there) for the Taylor route")
    c = np.fft.fft(v) / m
    return (c[:kmax + 1] / radius ** np.arange(kmax + 1)).real


def limit_scaled_eigenvalues(h, kmax, *, radius=0.8):
    """The ``d -> oo`` limit of ``B(d, k) xi_{d,k}``: the Taylor coefficients ``a_k = h^{(k)}(0)/k!``.

    See the module docstring for the derivation (the error at finite ``d`` is ``O(1/d)``). The
    Taylor coefficients come from

    * a name: ``"exp"`` (``1/k!``), ``"poly:c0,c1,..."`` (the ``c_k``), ``"relu-nngp"`` (exact
      series of ``(sqrt(1-s^2) + s (pi/2 + arcsin s)) / (2 pi)``);
    * a sequence of numbers: taken to *be* the Taylor coefficients ``a_0, a_1, ...``
      (i.e. ``h^{(k)}(0)/k!``; zero-padded to ``kmax``);
    * a callable: the Cauchy integral ``a_k = (1/2 pi i) oint h(z) z^{-k-1} dz`` on ``|z| = radius``
      by the FFT (``h`` must accept complex arrays and be analytic on ``|z| <= radius``); the
      discretization is doubled from 256 points until two agree to ``1e-13`` relative to
      ``max |h|`` (``ValueError`` otherwise).

    Args:
        h: a name, a sequence of Taylor coefficients, or a callable (see above).
        kmax: the largest degree, ``>= 0``.
        radius: the Cauchy circle's radius, ``0 < radius``; used for callables only.

    Returns:
        ``a_0 .. a_kmax`` as a float64 array.

    >>> limit_scaled_eigenvalues("exp", 3)
    array([1.        , 1.        , 0.5       , 0.16666667])
    >>> np.round(limit_scaled_eigenvalues(np.exp, 3), 14)
    array([1.        , 1.        , 0.5       , 0.16666667])
    """
    kmax = check_int("kmax", kmax, low=0, high=_MAX_KMAX)
    radius = float(check_real("radius", radius, low=0, low_open=True))
    if isinstance(h, str) or isinstance(h, _Kernel):
        kern = resolve_kernel(h)
        if kern.taylor is not None:
            return np.array(kern.taylor(kmax), dtype=float)
        h = kern.np_fn
    if not callable(h):
        if isinstance(h, (numbers.Number, np.ndarray, list, tuple)):
            a = check_real("h", h)
            if a.ndim != 1 or a.size == 0:
                raise ValueError("h as Taylor coefficients must be a non-empty 1-d sequence")
            return np.concatenate([a, np.zeros(kmax + 1)])[:kmax + 1]
        raise ValueError(f"h must be a callable, a sequence of Taylor coefficients or one of "
                         f"{', '.join(map(repr, KERNELS))}, got {h!r}")
    m = max(256, 4 * (kmax + 1))
    prev = _cauchy_taylor(h, kmax, radius, m)
    while True:
        m *= 2
        cur = _cauchy_taylor(h, kmax, radius, m)
        scale = max(1.0, float(np.max(np.abs(h(radius * np.exp(2j * np.pi * np.arange(16) / 16))))))
        if np.max(np.abs(cur - prev) * radius ** np.arange(kmax + 1)) <= 1e-13 * scale:
            return cur
        if m > 2 ** 16:
            raise ValueError(f"the Cauchy integral for the Taylor coefficients did not converge on "
                             f"|z| = {radius:g}; is h analytic there? lower radius")
        prev = cur


def dual_kernel_limit(activation, kmax, *, q=1.0):
    """The Hermite route to the ``d -> oo`` limit: ``c_k^2`` for the dual kernel of an activation.

    For ``h(rho) = E[sigma(u) sigma(v)] = sum_k c_k^2 rho^k`` (Mehler; ``c_k`` from
    :func:`asymptotics.expansions.hermite.hermite_coefficients`), the Taylor coefficients are
    ``h^{(k)}(0)/k! = c_k^2``, hence ``B(d, k) xi_{d,k} -> c_k^2`` (Ghorbani et al. 2019:
    ``B(d, k) lambda_{d,k}(sigma)^2 -> mu_k(sigma)^2``). ``c_k^2`` is squared at 30 digits.

    >>> np.allclose(dual_kernel_limit("relu", 6), limit_scaled_eigenvalues("relu-nngp", 6), rtol=0, atol=1e-15)
    True
    """
    from asymptotics.expansions.hermite import hermite_coefficients
    kmax = check_int("kmax", kmax, low=0, high=_MAX_KMAX)
    he = hermite_coefficients(activation, kmax, q=q)
    return np.array([float(c * c) for c in he.mp_coeffs])
