r"""The neural tangent (NT) model of a two-layer network: its kernel, its ridge risk, and NT versus RF.

Sources: Ghorbani, Mei, Misiakiewicz & Montanari, "Linearized two-layers neural networks in high
dimension", arXiv `1904.12191 <https://arxiv.org/abs/1904.12191>`_ (Ann. Statist. 2021), Sec. 2
(the RF and NT classes, eqs. (RF), (NT)), Theorem 1 (RF approximation error), Theorem 2 (NT
approximation error); Misiakiewicz & Montanari, "Six lectures on linearized neural networks", arXiv
`2308.13431 <https://arxiv.org/abs/2308.13431>`_, Lecture 3 (kernel ridge regression on the sphere)
and Lecture 5 (the neural tangent model); Montanari & Zhong, "The interpolation phase transition in
neural networks", arXiv `2007.12826 <https://arxiv.org/abs/2007.12826>`_ (NT ridge regression with
``N d >> n`` has the test error of kernel ridge regression with the infinite-width NT kernel);
Jacot, Gabriel & Hongler, arXiv `1806.07572 <https://arxiv.org/abs/1806.07572>`_ (the NTK).

Setting and normalization (Ghorbani et al., Sec. 2)
---------------------------------------------------
* inputs ``x`` uniform on the sphere ``S^{d-1}(sqrt d)`` (so ``<x, x'>/d = rho`` in ``[-1, 1]``);
* first-layer weights ``w_i``, ``i <= N``, i.i.d. uniform on the **unit** sphere ``S^{d-1}(1)``
  (so ``<w_i, x>`` has variance 1; this is ``sigma(<theta_i, x>/sqrt d)`` with
  ``theta_i = sqrt(d) w_i`` in the conventions of :mod:`asymptotics.models.random_features`);
* the NT class ``f(x) = sum_{i <= N} <s_i, x> sigma'(<w_i, x>)``, ``s_i in R^d`` (``N d``
  parameters); the RF class ``f(x) = sum_i a_i sigma(<w_i, x>)`` (``N`` parameters);
* the NT feature map ``Phi(x) = (x sigma'(<w_i, x>))_{i <= N} / sqrt(N d)`` in ``R^{N d}``, whose
  kernel is the **finite-N NT kernel** (:func:`nt_kernel_matrix`)::

      K_N(x, x') = <Phi(x), Phi(x')> = (<x, x'>/d) (1/N) sum_i sigma'(<w_i, x>) sigma'(<w_i, x'>),

  with ``E_W K_N = K`` for every ``N``, the infinite-width kernel
  ``K(x, x') = h_{NT,d}(<x, x'>/d) = rho E_w[sigma'(<w, x>) sigma'(<w, x'>)]``.

Eigenvalues at finite ``d`` (exact)
-----------------------------------
With ``lambda_{d,k}(f) = E_x[f(<w, x>) Q_k(sqrt(d) <w, x>)]`` the Gegenbauer coefficients of a
ridge function (:func:`gegenbauer_coefficients`; Ghorbani et al., Sec. 2 and App.; ``Q_k`` as in
:mod:`asymptotics.expansions.gegenbauer`), ``f(<w, x>) = sum_k lambda_{d,k}(f) B(d, k)
Q_k(sqrt(d) <w, x>)`` and, by the addition formula,
``E_w[f(<w, x>) f(<w, x'>)] = sum_k lambda_{d,k}(f)^2 B(d, k) Q_k(<x, x'>)``. Hence

* the RF kernel ``E_w sigma sigma`` has eigenvalues ``xi^RF_{d,k} = lambda_{d,k}(sigma)^2``
  (multiplicity ``B(d, k)``);
* the NT kernel is ``(t/d) sum_j lambda_{d,j}(sigma')^2 B(d, j) Q_j(t)`` at ``t = <x, x'>``, and
  the three-term recurrence ``(t/d) Q_j(t) = [(j + d - 2) Q_{j+1}(t) + j Q_{j-1}(t)]/(2j + d - 2)``
  (``(t/d) Q_0 = Q_1``) gives, for ``k >= 0`` (the ``k - 1`` term absent at ``k = 0``),

      ``B(d,k) xi^NT_{d,k} = lambda_{d,k-1}(sigma')^2 B(d,k-1) (k+d-3)/(2k+d-4)
                            + lambda_{d,k+1}(sigma')^2 B(d,k+1) (k+1)/(2k+d)``

  (``(k+d-3)/(2k+d-4)`` read as 1 at ``k = 1``). This is the decomposition used by Ghorbani et
  al. (App., the NT kernel through ``sigma'``); it is exact at every ``d`` and is *not* the
  Gaussian dual kernel: ``E_w`` over the sphere is not a Gaussian expectation at finite ``d``
  (except for positively homogeneous ``sigma'``, e.g. relu, where
  ``h_{NT,d}(rho) = rho (pi - arccos rho)/(2 pi)`` at every ``d``; the tests use this witness).

The ``d -> oo`` limit (``B(d,k) xi_{d,k} -> a_k``, error ``O(1/d)``; Ghorbani et al., Lemma on
``B(d,k) lambda_{d,k}(sigma)^2 -> mu_k(sigma)^2``), two routes (:func:`limit_eigenvalues`):

* RF: ``a^RF_k = c_k(sigma)^2`` (normalized Hermite coefficients; the Taylor coefficients of the
  dual kernel ``k(rho)``);
* NT: ``a^NT_k = c_{k-1}(sigma')^2`` (``a^NT_0 = 0``) -- the route through ``sigma'`` -- and,
  by Stein's identity ``c_{k-1}(sigma') = sqrt(k) c_k(sigma)``, ``a^NT_k = k c_k(sigma)^2``, the
  Taylor coefficients of ``rho k'(rho)`` (:func:`asymptotics.kernels.ntk` ``first_layer``;
  the NT model here is the first-layer part of the two-layer NTK of Jacot et al.).

Risk of NT ridge regression, ``N d >> n`` (:func:`risk`)
--------------------------------------------------------
``f_hat(x) = K(x, X)(K(X, X) + lam I_n)^{-1} y`` with ``y_i = f(x_i) + eps_i``,
``Var eps = sigma2`` (``lam`` **not** multiplied by ``n``; the feature-space ridge is
``argmin ||y - Phi s||^2 + lam ||s||^2``). Montanari & Zhong (2020) prove that for ``N d >> n`` the
test error of NT ridge regression (min-norm interpolation included) is that of kernel ridge
regression with the infinite-width kernel ``K``; the latter is computed at finite ``d`` by
:mod:`asymptotics.models.kernel_ridge` (deterministic equivalent with the exact eigenvalues
``xi^NT_{d,k}``, degrees ``> kmax`` as the extra ridge ``tail``), or -- until that module is
present -- by the identical general-spectrum ridge formula of :mod:`asymptotics.models.ridge`
(multiplicities expanded). ``risk`` = ``E_x (f(x) - f_hat(x))^2`` (excess risk).

Approximation error with infinite data (:func:`approximation_error`, :func:`staircase_limit`)
-----------------------------------------------------------------------------------------------
``R_M(f, W) = min_{g in F_M(W)} E_x (f(x) - g(x))^2`` (population least squares on the features).
Ghorbani et al., Thm 1-2: for ``d^{l+delta} <= N <= d^{l+1-delta}``,
``R_RF = ||P_{>l} f||^2 + o(1)`` and ``R_NT = ||P_{>l+1} f||^2 + o(1)``; against the number of
parameters ``p`` (``N`` for RF, ``N d`` for NT) both read ``||P_{> floor(log p / log d)} f||^2``.
A finite-``d`` prediction is not given by the source; the one here is derived in this module
(:func:`approximation_error`): the projection onto the span of ``N`` random features
``z_i = Sigma^{1/2} g_i`` satisfies ``E[I - P] ~ kappa (Sigma + kappa)^{-1}`` with
``sum_i s_i/(s_i + kappa) = N`` (the ridgeless deterministic equivalent of random projections,
cf. Bach 2023, arXiv 2303.01372; the second-order term cancels at zero ridge), so

    ``R_RF ~ sum_k ||P_k f||^2 kappa/(kappa + xi^RF_{d,k})``,   ``N = sum_k B(d,k) xi^RF_{d,k}/(xi^RF_{d,k} + kappa)``.

For NT the ``N`` features come in blocks of ``d`` (one block per neuron) whose Gram matrix given
``w`` is ``alpha I + beta w w^T``; the same leave-one-block-out argument gives

    ``R_NT ~ sum_k ||P_k f||^2 u_k``,   ``u_k = kappa/(kappa + xi^NT_{d,k} - t psi_k/d)``,
    ``N (d + t/(1-t)) = sum_k B(d,k) xi^NT_{d,k}/(kappa + xi^NT_{d,k} - t psi_k/d)``,
    ``N d/(1-t)      = sum_k B(d,k) psi_k/(kappa + xi^NT_{d,k} - t psi_k/d)``,

with ``psi_k = lambda_{d,k}(t sigma'(t))^2`` (the kernel of the feature ``<w, x> sigma'(<w, x>)``
along the weight; ``t = 0`` gives the RF formula with ``N d`` features and the NT kernel). Both are
asymptotic in the number of features per fitted dimension; they ignore the *common* part of the
features (the constant ``lambda_{d,0}(sigma)`` of RF, the degree-1 part ``lambda_{d,0}(sigma') x``
of every NT block), which makes them inaccurate at ``N = O(1)`` neurons for the degree-0 (RF) and
degree-1 (NT) components (relative error ``O(1/N)``; the exact ``d -> oo`` value at fixed ``N`` for
the NT degree-1 part is ``v/(v + N mu_0(sigma')^2)``, ``v = Var sigma'(G)``, see docs).

Not implemented: the finite-width NTK risk of Adlam & Pennington (arXiv 2008.06786, proportional
regime, both layers trained): its system of equations (Thm 1) was not available in readable form to
transcribe exactly; see ``docs/neural_tangent.md``.

Examples:
    >>> spec = nt_spectrum("relu", 20, 3)
    >>> spec.scaled.round(6)            # B(d,k) xi^NT_{d,k}
    array([0.008159, 0.25    , 0.158538, 0.      ])
    >>> limit_eigenvalues("relu", 3, model="nt").round(6)   # k c_k(relu)^2
    array([0.      , 0.25    , 0.159155, 0.      ])
    >>> r = risk(n=[100, 400], d=20, lam=1e-3, sigma2=0.1, activation="relu", energy=[0, 1, 1])
    >>> r.risk.round(4)
    array([0.8653, 0.1864])
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import mpmath
import numpy as np
import scipy.special
import sympy

from .._validation import as_output, check_int, check_real
from ..expansions.gegenbauer import _B, _gegenbauer_table
from ..engine.fixedpoint import DEFAULT_TOL as DEFAULT_SOLVER_TOL
from .kernel_ridge import _auto_kmax, parse_energy

__all__ = [
    "SOURCE", "Spectrum", "NTResult", "gegenbauer_coefficients", "nt_spectrum", "rf_spectrum",
    "limit_eigenvalues", "nt_kernel_function", "nt_features", "nt_kernel_matrix", "rf_kernel_matrix",
    "risk", "polynomial_risk", "approximation_error", "staircase", "staircase_limit", "staircase_result",
    "parse_energy",
]

SOURCE = ("Ghorbani, Mei, Misiakiewicz & Montanari 2019, arXiv 1904.12191, Sec. 2, Thm 1-2 (RF/NT "
          "approximation), App. (NT kernel via sigma'); Montanari & Zhong 2020, arXiv 2007.12826 (NT ridge = "
          "KRR with the infinite-width kernel when N d >> n); Misiakiewicz & Montanari, arXiv 2308.13431, "
          "Lectures 3 and 5")

_MAX_D = 10 ** 7
_MAX_KMAX = 200
_MAX_NODES = 2048


# ----------------------------------------------------------------------------------------------
# Activations
# ----------------------------------------------------------------------------------------------
def _activation(activation):
    from ..activations import get_activation
    return get_activation(activation)


def _derivative(act):
    if act.np_derivative is None:
        raise ValueError(f"activation {act.name!r}: the NT model needs sigma' as a function, and "
                         f"{act.name!r} has none (for sign/step sigma' is a Dirac mass); pass "
                         "derivative= to get_activation for a user function")
    return act.np_derivative


def _np(func):
    def f(t):
        with np.errstate(all="ignore"):
            v = np.asarray(func(t), dtype=float)
        if v.shape != np.shape(t):
            v = np.broadcast_to(v, np.shape(t)).copy()
        return v
    return f


# ----------------------------------------------------------------------------------------------
# Gegenbauer coefficients of ridge functions
# ----------------------------------------------------------------------------------------------
def _breakpoints(d, kinks):
    """Break points in ``u = arcsin(s)`` (``s = sin u`` in ``[-1, 1]``): the kinks, and a mesh geometric
    in ``|u|`` on the scale ``1/sqrt(d)`` of the weight ``cos^{d-2} u``."""
    r = math.sqrt(d)
    br = {-math.pi / 2, math.pi / 2}
    for k in kinks:
        if -r < k < r:
            br.add(math.asin(k / r))
    w = 1.0 / math.sqrt(max(d - 2, 1))
    m = 2.0
    while m * w < math.pi / 2:
        br.add(-m * w)
        br.add(m * w)
        m *= 2
    return sorted(br)


@functools.lru_cache(maxsize=256)
def _nodes(d, kinks, n):
    """Nodes ``s`` and weights (summing to 1) for ``E_s[.]``, ``s`` with density
    ``prop. to (1 - s^2)^((d-3)/2)``: composite ``n``-point Gauss--Legendre in ``u = arcsin s``
    against ``cos^{d-2} u`` (smooth in ``u`` for every ``d >= 2``). The log-weight
    ``(d - 2) log cos u`` is computed as ``(d - 2) log1p(-sin^2 u)/2`` near ``u = 0``: in ``theta =
    pi/2 - u`` (the former variable) ``log sin theta`` carried the absolute rounding ``1e-16`` of
    ``sin theta`` near 1, i.e. a relative error ``~1e-16 d`` of every weight (1e-10 at ``d = 1e6``,
    where the quadrature could no longer reach ``tol = 1e-13``)."""
    br = _breakpoints(d, kinks)
    x, wgl = np.polynomial.legendre.leggauss(n)
    u = np.concatenate([(a + b) / 2 + (b - a) / 2 * x for a, b in zip(br[:-1], br[1:])])
    wt = np.concatenate([(b - a) / 2 * wgl for a, b in zip(br[:-1], br[1:])])
    # log Z = log(sqrt(pi) Gamma((d-1)/2) / Gamma(d/2)); gammaln's difference lost 1e-10 at d = 1e6
    from ..expansions.gegenbauer import log_gamma_ratio
    log_z = 0.5 * math.log(math.pi) + float(log_gamma_ratio(np.array([(d - 1) / 2]), 0.5)[0])
    s = np.sin(u)
    with np.errstate(divide="ignore"):
        lc = np.where(np.abs(u) < 0.7, 0.5 * np.log1p(-s * s), np.log(np.cos(u)))
    w = wt * np.exp((d - 2) * lc - log_z)
    s.setflags(write=False)
    w.setflags(write=False)
    return s, w


def _quad(funcs, d, kmax, kinks, tol):
    """``E_s[f(sqrt(d) s) P_k(s)]`` for every ``f`` in ``funcs`` and ``k <= kmax``, with the node count
    doubled from 32 per piece until two agree to ``tol`` (relative to ``sqrt(E f^2)``)."""
    n = 32
    prev = None
    while True:
        s, w = _nodes(d, tuple(kinks), n)
        with np.errstate(under="ignore"):
            P = _gegenbauer_table(kmax, s, d)
        vals = [_np(f)(math.sqrt(d) * s) for f in funcs]
        if not all(np.isfinite(v).all() for v in vals):
            raise ValueError("the activation returned a non-finite value on the sphere")
        cur = np.stack([P @ (w * v) for v in vals])
        norms = np.array([math.sqrt(float(np.sum(w * v * v))) for v in vals])
        if prev is not None:
            err = np.abs(cur - prev).max(axis=1)
            if np.all(err <= tol * np.maximum(norms, 1e-300)):
                return cur, err, norms
            if 2 * n > _MAX_NODES:
                raise ValueError(f"gegenbauer_coefficients: the quadrature did not reach tol={tol:g} with "
                                 f"{n} nodes per piece (d={d}, kmax={kmax}; error {err.max():.3g}); declare "
                                 "the activation's kinks, or raise tol")
        prev = cur
        n *= 2


def gegenbauer_coefficients(func, d, kmax, *, kinks=(), tol=1e-13):
    r"""``lambda_{d,k}(f) = E_x[f(<w, x>) Q_k(sqrt(d) <w, x>)]``, ``k = 0..kmax``.

    ``x`` uniform on ``S^{d-1}(sqrt d)``, ``w`` a unit vector (Ghorbani et al., arXiv 1904.12191,
    Sec. 2), so that ``f(<w, x>) = sum_k lambda_{d,k}(f) B(d, k) Q_k(sqrt(d) <w, x>)``. With
    ``s = <w, x>/sqrt(d) = sin u`` the expectation is
    ``int f(sqrt(d) sin u) P_k(sin u) cos^{d-2} u du / Z_d`` over ``|u| <= pi/2``, computed by
    composite Gauss--Legendre quadrature in ``u`` split at the kinks of ``f`` and on a mesh of
    width ``~1/sqrt d`` around ``0``, node count doubled until it agrees to ``tol``.

    Args:
        func: a numpy-vectorized function of one variable (``<w, x>``).
        d: dimension, integer ``>= 2``.
        kmax: largest degree, ``0 <= kmax <= 200``.
        kinks: points (in ``<w, x>``) where ``func`` or a derivative jumps.
        tol: relative tolerance (to ``sqrt(E f^2)``), ``> 0``.

    Returns:
        ``(coefficients, error)``: float64 arrays of length ``kmax + 1`` (error: the difference of the
        last two node counts). The error is absolute: a coefficient much smaller than
        ``sqrt(E f^2)`` has a correspondingly larger relative error (see :func:`nt_spectrum` for the
        exact routes used by the NT model).

    >>> lam, err = gegenbauer_coefficients(lambda t: t ** 2, 5, 3)   # t^2 = 1 + (d-1) Q_2 with t = <w,x>
    >>> (lam * [1, 5, 14, 30]).round(12) + 0.0    # B(5,k) lambda_k: 1, 0, 5-1 = 4, 0
    array([1., 0., 4., 0.])
    """
    d = check_int("d", d, low=2, high=_MAX_D)
    kmax = check_int("kmax", kmax, low=0, high=_MAX_KMAX)
    tol = float(check_real("tol", tol, low=0.0, low_open=True))
    kinks = tuple(sorted(float(k) for k in kinks))
    cur, err, _ = _quad([func], d, kmax, kinks, tol)
    return cur[0], np.full(kmax + 1, err[0])


# ----------------------------------------------------------------------------------------------
# Exact routes to the Gegenbauer coefficients of sigma' (and t sigma'(t))
# ----------------------------------------------------------------------------------------------
_U = 2.0 ** -53


def _power_form(act):
    """``(q, a, b)`` with ``sigma'(t) = a t_+^q + b t_-^q`` (``t_- = max(-t, 0)``, ``t_+^0`` the step)
    for the named activations with a positively homogeneous derivative (relu, leaky_relu, abs,
    relu_p), else ``None``."""
    if act.kind != "named":
        return None
    if act.name == "relu":
        return 0, 1.0, 0.0
    if act.name == "abs":
        return 0, 1.0, -1.0
    der = act.mp_derivative
    if act.name in ("leaky_relu", "relu_p") and hasattr(der, "p") and hasattr(der, "ap"):
        return int(der.p), float(der.ap), float(der.am)
    return None


def _taylor_form(act, I):
    """Taylor coefficients ``t_0..t_I`` of ``sigma'(x)`` (mpmath numbers at 30 digits) for the named
    activations whose derivative is entire with a known series (exp, sin, cos, erf, gelu, identity,
    quad, poly), else ``None``."""
    if act.kind != "named" or act.name not in ("exp", "sin", "cos", "erf", "gelu", "identity", "quad", "poly"):
        return None
    P = act.param_dict
    with mpmath.workdps(30):
        t = [mpmath.mpf(0)] * (I + 1)
        if act.name in ("identity", "quad", "poly"):
            c = {"identity": [0, 1], "quad": [0, 0, 1]}.get(act.name)
            c = [mpmath.mpf(sympy.Rational(v).p) / sympy.Rational(v).q if not isinstance(v, float) else mpmath.mpf(v)
                 for v in (c if c is not None else P["coeffs"])]
            for m in range(1, len(c)):
                if m - 1 <= I:
                    t[m - 1] = m * c[m]
        else:
            a = mpmath.mpf(sympy.Rational(P["a"]).p) / sympy.Rational(P["a"]).q if act.name != "gelu" else None
            for i in range(I + 1):
                if act.name == "exp":
                    t[i] = a ** (i + 1) / mpmath.factorial(i)
                elif act.name == "sin" and i % 2 == 0:
                    t[i] = a * (-1) ** (i // 2) * a ** i / mpmath.factorial(i)
                elif act.name == "cos" and i % 2 == 1:
                    t[i] = -a * (-1) ** (i // 2) * a ** i / mpmath.factorial(i)
                elif act.name == "erf" and i % 2 == 0:
                    t[i] = 2 * a / mpmath.sqrt(mpmath.pi) * (-a * a) ** (i // 2) / mpmath.factorial(i // 2)
                elif act.name == "gelu":
                    if i == 0:
                        t[i] = mpmath.mpf(1) / 2
                    elif i % 2 == 1:
                        m = i // 2
                        t[i] = ((-1) ** m * (2 * m + 2)
                                / (mpmath.sqrt(2 * mpmath.pi) * mpmath.ldexp(mpmath.factorial(m), m) * (2 * m + 1)))
        return t


@dataclass(frozen=True)
class _Coefficients:
    lam: np.ndarray        # lambda_j(f), j = 0..J (float64)
    c: np.ndarray          # B(d, j) lambda_j^2 (no overflow on the Taylor route)
    err: np.ndarray        # absolute error bound of lambda_j
    norm2: float           # E f(<w,x>)^2 = sum_j c_j
    beyond: float          # sum_{j > J} c_j (power law: closed form; Taylor: bound; quadrature: by difference)
    route: str


def _power_c(q, gamma, d, j):
    """``B(d, j) lambda_j^2`` of ``f = a t_+^q + b t_-^q`` at real ``j`` (array) of the class ``j - q``
    odd (``gamma = a + b (-1)^j`` there), float64."""
    from ..expansions.gegenbauer import multiplicity_float, power_magnitude_float
    return float(d) ** q * gamma ** 2 * power_magnitude_float(q, d, j) ** 2 * multiplicity_float(d, j)


def _power_c_mp(q, gamma, d, j):
    from ..expansions.gegenbauer import _power_coefficient_magnitude, multiplicity_real
    return (mpmath.mpf(d) ** q * mpmath.mpf(gamma) ** 2 * _power_coefficient_magnitude(q, d, j) ** 2
            * multiplicity_real(d, j))


def _power_beyond(q, gamma, d, J):
    """``sum_{j > J, j - q odd} B(d, j) lambda_j^2`` (:func:`gegenbauer.power_tail_mass`)."""
    from ..expansions.gegenbauer import power_tail_mass
    return power_tail_mass(q, float(gamma), d, J)


def _b_float(d, J):
    return np.array([float(_B(d, j)) for j in range(J + 1)])


def _coef_power(form, d, J):
    from ..expansions.gegenbauer import power_coefficients
    q, a, b = form
    E = power_coefficients(q, d, J)
    with mpmath.workdps(30):
        sd = mpmath.mpf(d) ** (mpmath.mpf(q) / 2)
        lam_mp = [sd * (a + b * (-1) ** j) * E[j] for j in range(J + 1)]
        lam = np.array([float(v) for v in lam_mp])
        c = np.array([float(v * v * _B(d, j)) for j, v in enumerate(lam_mp)])
        gamma = a + b * (-1) ** (q + 1)
        # E f^2 = d^q (a^2 + b^2) E[s_+^(2q)] (odd part cancels), E[s_+^r] = M_r / 2
        M = (mpmath.gamma(mpmath.mpf(2 * q + 1) / 2) * mpmath.gamma(mpmath.mpf(d) / 2)
             / (mpmath.sqrt(mpmath.pi) * mpmath.gamma(mpmath.mpf(2 * q + d) / 2)))
        norm2 = float(mpmath.mpf(d) ** q * (mpmath.mpf(a) ** 2 + mpmath.mpf(b) ** 2) * M / 2)
    return _Coefficients(lam, c, 4 * _U * np.abs(lam), norm2, _power_beyond(q, gamma, d, J), "closed form")


def _coef_taylor(t_of, d, J):
    """The Taylor route (:func:`gegenbauer.ridge_taylor_values`; ``t_of(I)`` the mpmath Taylor
    coefficients ``t_0..t_I``) with as many terms as the bound ``sum_{i > I} |t_i| E|x|^i`` on the
    series remainder (from the next 8 terms, in logarithms: a term may be far outside the float64
    range while its coefficient underflows) needs to fall below ``2^-60`` of every nonzero coefficient
    (at most 4096 terms). Degrees where the series does not converge in float64 (a Gaussian factor at
    large ``d``: erf, gelu, whose terms grow like ``2^i`` up to ``i ~ d``) get an infinite error bound."""
    from ..expansions.gegenbauer import log_abs_moment_x, ridge_taylor_values

    def log_terms(t, lo, hi, half=False):
        with mpmath.workdps(20):
            return [float(mpmath.log(abs(v))) + (0.5 * log_abs_moment_x(d, 2 * i) if half else log_abs_moment_x(d, i))
                    for i, v in enumerate(t) if lo < i <= hi and v != 0]

    I = J + 40
    with np.errstate(under="ignore", over="ignore", invalid="ignore", divide="ignore"):
        while True:
            tm = t_of(I + 8)
            # scale t_i -> t_i R^i (R a power of 2) so that no coefficient leaves the float64 range
            with mpmath.workdps(20):
                lt_ = [(i, float(mpmath.log(abs(v)))) for i, v in enumerate(tm[:I + 1]) if v != 0]
                logR = max([0.0] + [(-300.0 - l) / i for i, l in lt_ if i > 0])
                logR = math.log(2) * math.ceil(logR / math.log(2))
                R = math.exp(logR)
                t = np.array([float(v * mpmath.mpf(2) ** (i * round(logR / math.log(2)))) for i, v in enumerate(tm[:I + 1])])
            gone = [i for i, v in enumerate(tm[:I + 1]) if v != 0 and (t[i] == 0 or not math.isfinite(t[i]))]
            llost = max(log_terms([tm[i] if i in gone else 0 for i in range(I + 1)], -1, I), default=-math.inf)
            W, Wabs, r = ridge_taylor_values(np.where(np.isfinite(t), t, 0.0), d, J, R)
            scale = np.exp(-0.5 * np.arange(J + 1) * math.log(d))
            lam = W * scale
            rnd = 1.01 * _U * Wabs * scale
            logs = log_terms(tm, I, I + 8)
            lrem = max(max(logs) + math.log(2) if logs else -math.inf, llost + math.log(I + 1.0))
            ok = np.isfinite(W) & np.isfinite(Wabs)
            # coefficients below 1e-250 carry no mass that float64 could represent (c = B lambda^2)
            big = ok & (np.abs(lam) > 1e-250)
            small = np.abs(lam[big]).min() if np.any(big) else 1.0
            if lrem <= math.log(small) - 60 * math.log(2) or I >= 4096:
                break
            if len(logs) >= 2 and logs[-1] >= logs[0]:
                break           # the terms still grow: the series cancels beyond float64 (erf, gelu at large d)
            I *= 2
        rem = math.exp(min(lrem, 700.0))
        bad = ~ok | (lrem > math.log(small) - 60 * math.log(2))
        err = np.where(bad, np.inf, rnd + rem)
        lam = np.where(bad, 0.0, lam)
        c = np.where(bad, 0.0, W * W * r)
        c = np.where(np.isfinite(c), c, 0.0)
        # sum_{j > J} c_j = || f - P_{<=J} f ||^2 <= || f - T_J f ||^2 <= (sum_{i > J} |t_i| (E x^{2i})^{1/2})^2
        # (the projection is the best degree-J approximation; Minkowski)
        lt = log_terms(tm, J, I + 8, half=True)
        if bad.any() or not lt:
            beyond = math.inf if bad.any() else 0.0
        else:
            top = max(lt)
            beyond = math.exp(2 * top) * math.fsum(math.exp(v - top) for v in lt) ** 2 if top < 300 else math.inf
    return _Coefficients(lam, c, err, math.fsum(c) + beyond, beyond, "taylor")


def _coef_quadrature(f, d, J, kinks, tol):
    (lam,), err, norms = _quad([f], d, J, kinks, tol)
    norm2 = float(norms[0] ** 2)
    # below its accuracy a coefficient is noise; with B(d, j) huge its square would be too: zero it (its mass
    # stays in the trace and is counted beyond the last reliable degree)
    acc = 10 * err[0] + 64 * _U * norms[0]
    lam = np.where(np.abs(lam) <= acc, 0.0, lam)
    B = _b_float(d, J)
    c = lam ** 2 * B
    rel = np.abs(lam) > 1e3 * acc
    last = int(np.nonzero(rel)[0].max()) if rel.any() else -1
    beyond = max(norm2 - math.fsum(c[:last + 1]), 0.0)     # by difference: noise ~1e-16 norm2
    nz = [j for j in range(last + 1) if lam[j] != 0]
    if len(nz) >= 4:
        # an analytic sigma' has geometrically decaying coefficients: if the last resolved ones do, the mass
        # beyond is their geometric continuation (far below the difference's rounding noise)
        j1, j2, j3 = nz[-3:]
        r1 = abs(lam[j2] / lam[j1]) ** (1.0 / (j2 - j1))
        r2 = abs(lam[j3] / lam[j2]) ** (1.0 / (j3 - j2))
        if r1 < 0.95 and r2 < 0.95 and abs(r1 - r2) <= 0.2 * max(r1, r2):
            r, step = max(r1, r2), j3 - j2
            from ..expansions.gegenbauer import log_multiplicity
            jj = np.arange(j3 + step, j3 + step * 4000, step, dtype=float)
            with np.errstate(under="ignore"):
                geo = np.exp(2 * math.log(abs(lam[j3])) + 2 * (jj - j3) * math.log(r) + log_multiplicity(d, jj))
            if np.all(np.isfinite(geo)) and geo[-1] <= 1e-30 * geo[0]:
                beyond = min(beyond, math.fsum(geo))
    c = np.where(np.arange(J + 1) <= last, c, 0.0)
    lam = np.where(np.arange(J + 1) <= last, lam, 0.0)
    return _Coefficients(lam, c, np.full(J + 1, acc), norm2, beyond, "quadrature")


def _jcap(d):
    """Largest degree ``j <= _MAX_KMAX + 1`` with ``B(d, j) < 1e300``."""
    j = 0
    while j < _MAX_KMAX + 1 and _B(d, j + 1) < 1e300:
        j += 1
    return j


@functools.lru_cache(maxsize=256)
def _derivative_coefficients(act, d, tol, which="dsigma"):
    """``lambda_j(f)`` for ``f = sigma'`` (``which="dsigma"``) or ``t sigma'(t)`` (``"tdsigma"``),
    ``j = 0..J`` (``J`` = :func:`_jcap`), by the most accurate route available: the closed form for a
    positively homogeneous ``sigma'`` (relu, leaky_relu, abs, relu_p; relative accuracy ~1e-16 at every
    degree), the Taylor route for an entire ``sigma'`` with a known series (exp, sin, cos, identity,
    quad, poly, and erf, gelu where the series does not cancel), else quadrature (absolute accuracy
    ``~1e-16 sqrt(E f^2)``). Taylor and quadrature are combined degree by degree (the smaller error
    bound wins)."""
    J = _jcap(d)
    form = _power_form(act)
    if form is not None:
        q, a, b = form
        return _coef_power(form if which == "dsigma" else (q + 1, a, -b), d, J)
    I0 = J + 40
    t0 = _taylor_form(act, I0)
    dsig = _np(_derivative(act))
    f = dsig if which == "dsigma" else (lambda t: t * dsig(t))
    kinks = tuple(sorted(set(act.kinks)))
    if t0 is not None:
        def t_of(I):
            t = _taylor_form(act, I)
            return t if which == "dsigma" else [mpmath.mpf(0)] + t[:-1]
        tay = _coef_taylor(t_of, d, J)
        if np.all((tay.err <= 1e-12 * np.abs(tay.lam)) | (tay.err <= 1e-260)) and math.isfinite(tay.beyond):
            return tay          # relative accuracy 1e-12 (rigorous bound) at every degree
        try:
            quad = _coef_quadrature(f, d, J, kinks, tol)
        except ValueError:
            if np.all(np.isfinite(tay.err)) and math.isfinite(tay.beyond):
                return tay      # e.g. exp at d = 1e6: sigma' overflows on the sphere's edge
            raise
        use_t = tay.err <= quad.err
        lam = np.where(use_t, tay.lam, quad.lam)
        c = np.where(use_t, tay.c, quad.c)
        beyond = tay.beyond if use_t[-1] and tay.beyond <= quad.norm2 else max(quad.norm2 - math.fsum(c), 0.0)
        return _Coefficients(lam, c, np.minimum(tay.err, quad.err), quad.norm2, beyond, "taylor+quadrature")
    return _coef_quadrature(f, d, J, kinks, tol)


# ----------------------------------------------------------------------------------------------
# Spectra of the RF and NT kernels
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Spectrum:
    """Eigen-decomposition of an inner-product kernel on ``S^{d-1}(sqrt d)`` by degree.

    Attributes:
        model: ``"nt"`` or ``"rf"``.
        activation: the activation's name.
        d, kmax: dimension and largest degree kept.
        eigenvalues: ``xi_{d,k}``, ``k = 0..kmax`` (read-only float64).
        multiplicities: ``B(d, k)`` as exact Python ints (tuple).
        scaled: ``B(d, k) xi_{d,k}`` (tends to :func:`limit_eigenvalues` as ``d -> oo``).
        trace: ``K(x, x) = sum_k B(d, k) xi_{d,k}`` (``E sigma'(<w,x>)^2`` for NT, ``E sigma^2`` RF).
        tail: the kernel's trace beyond ``kmax`` (``>= 0``). NT: computed from the coefficients beyond
            ``kmax`` without the cancellation of ``trace - sum`` (closed form and Taylor routes; the
            quadrature route by difference beyond its last reliable degree); RF:
            ``trace - sum_{k <= kmax} B(d, k) xi_{d,k}``.
        psi: for NT, ``lambda_{d,k}(t sigma'(t))^2`` (the kernel along the weight), else ``None``.
        psi_tail: the trace of that kernel beyond ``kmax`` (NT), else ``None``.
        quadrature_error: bound on the absolute error of ``scaled`` from the quadrature.
        route: NT: how the coefficients of ``sigma'`` were computed (``"closed form"``, ``"taylor"``,
            ``"taylor+quadrature"`` or ``"quadrature"``; see :func:`nt_spectrum`); RF: ``"quadrature"``.
    """

    model: str
    activation: str
    d: int
    kmax: int
    eigenvalues: np.ndarray
    multiplicities: tuple
    scaled: np.ndarray
    trace: float
    tail: float
    psi: np.ndarray | None
    psi_tail: float | None
    quadrature_error: float
    route: str = "quadrature"

    @property
    def mult_float(self) -> np.ndarray:
        """``B(d, k)`` as float64 (``inf`` beyond the float range)."""
        return np.array([float(b) if b < 1e308 else math.inf for b in self.multiplicities])


def _ro(a):
    a = np.array(a, dtype=float)
    a.setflags(write=False)
    return a


def _mult(d, kmax):
    return tuple(_B(d, k) for k in range(kmax + 1))


def _tail(trace, scaled, what, tol):
    """``trace - sum(scaled)``; 0 when below the quadrature's accuracy ``100 tol trace``."""
    t = trace - float(np.sum(scaled))
    if t < -1e-10 * max(1.0, abs(trace)):
        raise ValueError(f"{what}: the eigenvalues sum to more than the trace ({-t:.3g}); quadrature failure")
    return t if t > 100 * tol * abs(trace) else 0.0


def _up_down(d, j):
    """Fractions of ``c_j = B(d, j) lambda_j(sigma')^2`` that go to degrees ``j + 1`` and ``j - 1`` of the
    NT kernel (the recurrence ``(t/d) Q_j = [(j + d - 2) Q_{j+1} + j Q_{j-1}]/(2j + d - 2)``)."""
    if j == 0:
        return 1.0, 0.0
    return (j + d - 2) / (2 * j + d - 2), j / (2 * j + d - 2)


def _nt_masses(c, d, kmax):
    """``B(d, k) xi^NT_{d,k}``, ``k = 0..kmax``, from ``c_j``, ``j = 0..kmax + 1`` (module docstring)."""
    scaled = np.zeros(kmax + 1)
    for k in range(kmax + 1):
        up = c[k - 1] * _up_down(d, k - 1)[0] if k >= 1 else 0.0
        scaled[k] = up + c[k + 1] * _up_down(d, k + 1)[1]
    return scaled


def _nt_beyond(coef: _Coefficients, d, K):
    """The NT kernel's trace beyond degree ``K``: ``c_K u_K + c_{K+1} u_{K+1} + sum_{j >= K+2} c_j``
    (``u_j`` the upward fraction of :func:`_up_down`), no cancellation."""
    c = coef.c
    J = c.size - 1
    s = c[K] * _up_down(d, K)[0] + (c[K + 1] * _up_down(d, K + 1)[0] if K + 1 <= J else 0.0)
    return float(s + math.fsum(c[K + 2:]) + coef.beyond)


@functools.lru_cache(maxsize=128)
def _spectrum(model, act, d, kmax, tol):
    mult = _mult(d, kmax + 1)
    if _B(d, kmax + 1) >= 1e300:
        raise ValueError(f"kmax = {kmax} is beyond the float64 range of B(d, k) at d = {d} (B(d, kmax + 1) >= 1e300); "
                         f"the largest kmax here is {_jcap(d) - 1}")
    Bf = np.array([float(b) for b in mult])
    kinks = tuple(sorted(set(act.kinks)))
    if model == "rf":
        sig = _np(act.np_func)
        (lam,), err, norms = _quad([sig], d, kmax, kinks, tol)
        lam = np.where(np.abs(lam) <= 10 * tol * norms[0], 0.0, lam)   # zero to quadrature accuracy
        xi = lam[:kmax + 1] ** 2
        trace = float(norms[0] ** 2)
        scaled = Bf[:kmax + 1] * xi
        qerr = float(2 * norms[0] * err[0] * np.max(Bf[:kmax + 1] * np.abs(lam[:kmax + 1])) + 1e-15 * trace)
        return Spectrum("rf", act.name, d, kmax, _ro(xi), mult[:kmax + 1], _ro(scaled), trace,
                        _tail(trace, scaled, "rf_spectrum", tol), None, None, qerr)
    _derivative(act)
    co = _derivative_coefficients(act, d, tol, "dsigma")
    cp = _derivative_coefficients(act, d, tol, "tdsigma")
    scaled = _nt_masses(co.c, d, kmax)
    xi = scaled / Bf[:kmax + 1]
    trace = float(co.norm2)            # E sigma'(<w,x>)^2 (|x|^2/d = 1)
    psi = cp.lam[:kmax + 1] ** 2
    psi_tail = max(cp.norm2 - math.fsum(Bf[:kmax + 1] * psi), 0.0) if cp.route == "quadrature" else \
        float(math.fsum(cp.c[kmax + 1:]) + cp.beyond)
    qerr = float(2 * math.sqrt(trace) * np.max(co.err[:kmax + 2]) * np.max(Bf * np.abs(co.lam[:kmax + 2]))
                 + 1e-15 * trace)
    return Spectrum("nt", act.name, d, kmax, _ro(xi), mult[:kmax + 1], _ro(scaled), trace,
                    _nt_beyond(co, d, kmax), _ro(psi), psi_tail, qerr, co.route)


def nt_spectrum(activation, d, kmax, *, tol=1e-13) -> Spectrum:
    """Exact eigenvalues ``xi^NT_{d,k}`` of the infinite-width NT kernel at finite ``d``.

    Computed from ``lambda_{d,j}(sigma')``, ``j <= kmax + 1``, by the three-term recurrence of the
    module docstring (Ghorbani et al., arXiv 1904.12191, App.). The coefficients come from the most
    accurate route available (``route``):

    * ``"closed form"`` -- ``sigma'`` positively homogeneous (relu, leaky_relu, abs, relu_p:
      ``sigma'(t) = a t_+^q + b t_-^q``): ``lambda_j = d^{q/2} (a + b (-1)^j) E[s_+^q P_j]`` with the
      closed form of :func:`asymptotics.expansions.gegenbauer.power_coefficients` (relative accuracy
      ~1e-16 at every degree; the tail beyond ``kmax`` by the degree quadrature of the power law);
    * ``"taylor"`` -- ``sigma'`` entire with a known series (exp, sin, cos, identity, quad, poly, erf,
      gelu): the Funk--Hecke series of :func:`asymptotics.expansions.gegenbauer.ridge_taylor_values`,
      used degree by degree where its rounding bound is below the quadrature's (``"taylor+quadrature"``);
    * ``"quadrature"`` -- otherwise (tanh, sigmoid, softplus, silu, user functions): composite
      Gauss--Legendre, absolute accuracy ``~1e-16 sqrt(E sigma'^2)`` per coefficient (coefficients
      below their accuracy are 0 and their mass is counted in the tail).

    The coefficients are computed once per activation and ``d`` for every degree up to 201 (so the
    eigenvalues do not depend on ``kmax``). Also returns ``psi_k`` (the kernel of
    ``<w, x> sigma'(<w, x>)``), used by :func:`approximation_error`.

    Args:
        activation: a name or :class:`~asymptotics.activations.Activation` with a derivative.
        d: dimension, integer ``>= 2``.
        kmax: largest degree, ``0 <= kmax <= 200`` and ``B(d, kmax + 1) < 1e300``.
        tol: quadrature tolerance (relative).

    Returns:
        A frozen :class:`Spectrum`.

    >>> s = nt_spectrum("relu", 3, 2)       # exact: 1/16, 1/4, 35/256
    >>> (s.scaled * 256).round(10), s.route
    (array([16., 64., 35.]), 'closed form')
    >>> nt_spectrum("sign", 10, 2)
    Traceback (most recent call last):
    ...
    ValueError: activation 'sign': the NT model needs sigma' as a function, and 'sign' has none (for sign/step sigma' is a Dirac mass); pass derivative= to get_activation for a user function
    """
    d = check_int("d", d, low=2, high=_MAX_D)
    kmax = check_int("kmax", kmax, low=0, high=_MAX_KMAX)
    tol = float(check_real("tol", tol, low=0.0, low_open=True))
    return _spectrum("nt", _activation(activation), d, kmax, tol)


def rf_spectrum(activation, d, kmax, *, tol=1e-13) -> Spectrum:
    """Exact eigenvalues ``xi^RF_{d,k} = lambda_{d,k}(sigma)^2`` of the RF kernel ``E_w sigma sigma``.

    >>> rf_spectrum("relu", 20, 3).scaled.round(6)
    array([0.163182, 0.25    , 0.077336, 0.      ])
    """
    d = check_int("d", d, low=2, high=_MAX_D)
    kmax = check_int("kmax", kmax, low=0, high=_MAX_KMAX)
    tol = float(check_real("tol", tol, low=0.0, low_open=True))
    return _spectrum("rf", _activation(activation), d, kmax, tol)


def _unresolved_eig(act, d, tol):
    """An upper bound of the NT eigenvalues that are listed as 0 without being exactly 0.

    * quadrature routes: degrees whose coefficients the quadrature could not resolve (set to 0):
      ``xi_k B(d, k) <= c_{k-1} + c_{k+1}`` with ``|lambda_j| <= 1e3 acc`` there, so
      ``xi_k <= 2 (1e3 acc)^2 max B(d, k +- 1)/B(d, k)``;
    * the Taylor route: a ``c_j = B(d, j) lambda_j^2`` that underflows float64 is ``< 2^-1020`` (formed
      as ``W_j^2 r_j`` with ``r_j = B(d, j)/d^j <= 1``), so an eigenvalue listed as 0 is at most
      ``2^-1019`` (before, 0: a super-exponentially decaying spectrum -- gelu, erf, exp at small ``d``
      -- whose eigenvalues underflow beyond some degree had no bound at all and ``truncation_error``
      was ``inf`` at every ``kmax``);
    * the closed form: 0 (power-law coefficients, no underflow below the cap ``B(d, k) < 1e300``).

    The bound is capped by the tail's mass in :func:`_nt_truncation_estimate`."""
    co = _derivative_coefficients(act, d, tol, "dsigma")
    if co.route == "closed form":
        return 0.0
    if co.route == "taylor":
        return 2.0 ** -1019
    acc = float(np.max(co.err[np.isfinite(co.err)])) if np.any(np.isfinite(co.err)) else 0.0
    return 2 * (1e3 * acc) ** 2 * (d + 1.0)


def _nt_truncation_estimate(xi, mult, K, tail, d, energy, n, lam, sigma2, e_floor):
    """:func:`asymptotics.models.kernel_ridge._truncation_estimate` with the largest eigenvalue beyond
    ``K``, ``e = max(max_{K < k <= K+4} xi_k, e_floor)``, capped by the tail's mass:
    ``B(d, k) xi_k <= tail`` for every ``k > K`` and ``B(d, k) >= B(d, K + 1)`` there, so
    ``e <= tail/B(d, K + 1)`` is rigorous (and keeps the multiplicity ``tail/e >= 1`` that
    ``kernel_ridge.risk`` requires: a pessimistic quadrature floor above the tail's mass gave
    "mult must be >= 1", e.g. erf at ``d = 3``)."""
    from .kernel_ridge import _truncation_estimate
    if tail == 0:
        return 0.0
    e = max(float(np.max(xi[K + 1:K + 5])) if xi.size > K + 1 else 0.0, e_floor)
    e = min(e, tail / float(_B(d, K + 1)))
    return _truncation_estimate(xi, mult, K, tail, energy, n, lam, sigma2, e=e)


def _nt_choose_truncation(upto, d, energy, n, lam, sigma2, kmin, cap, trunc_tol, what):
    """:func:`asymptotics.models.kernel_ridge._choose_truncation` (doubling, then bisection, for the
    smallest ``K >= kmin`` whose estimate is ``<= trunc_tol``) with :func:`_nt_truncation_estimate`.
    Returns ``(K, estimate)``; ``kernel_ridge._CapExceeded`` past ``cap``."""
    from .kernel_ridge import _choose_truncation, _tail_of

    def estimate(data, K):
        xi, mult, _rest, floor = data
        return _nt_truncation_estimate(xi, mult, K, _tail_of(data, K), d, energy, n, lam, sigma2, floor)

    K, est, _data = _choose_truncation(upto, energy, n, lam, sigma2, kmin, cap, trunc_tol, what, estimate=estimate)
    return K, est


# the NT kernel of a positively homogeneous sigma' beyond the listed degrees (kernel_ridge._tail_solve)
@functools.lru_cache(maxsize=128)
def _nt_tail_model(act, d):
    from ..expansions.gegenbauer import multiplicity_float, multiplicity_real
    from .kernel_ridge import _TailModel
    form = _power_form(act)
    if form is None:
        return None
    q, a, b = form
    gamma = a + b * (-1) ** (q + 1)
    if gamma == 0:
        return None

    def xi(k):
        k = np.asarray(k, dtype=float)
        cm = _power_c(q, gamma, d, k - 1) * (k + d - 3) / (2 * k + d - 4)
        cp = _power_c(q, gamma, d, k + 1) * (k + 1) / (2 * k + d)
        return (cm + cp) / multiplicity_float(d, k)

    def xi_mp(k):
        cm = _power_c_mp(q, gamma, d, k - 1) * (k + d - 3) / (2 * k + d - 4)
        cp = _power_c_mp(q, gamma, d, k + 1) * (k + 1) / (2 * k + d)
        return (cm + cp) / multiplicity_real(d, k)
    return _TailModel(xi, xi_mp, q + 2, 2, 2.0 * q + d)


def limit_eigenvalues(activation, kmax, *, model="nt", route="hermite"):
    """``lim_{d -> oo} B(d, k) xi_{d,k}`` for ``k = 0..kmax`` (error ``O(1/d)`` at finite ``d``).

    * ``model="rf"``: ``c_k(sigma)^2`` (:func:`asymptotics.expansions.gegenbauer.dual_kernel_limit`).
    * ``model="nt"``, ``route="hermite"``: ``k c_k(sigma)^2`` (Stein's identity; the Taylor
      coefficients of ``rho k'(rho)``); ``route="derivative"``: ``c_{k-1}(sigma')^2`` from the Hermite
      coefficients of ``sigma'`` itself (``step`` for relu, else the activation's mpmath derivative
      by quadrature). The two routes are independent computations of the same numbers.

    >>> np.round(limit_eigenvalues("relu", 4, route="derivative"), 12)
    array([0.        , 0.25      , 0.15915494, 0.        , 0.02652582])
    """
    from ..expansions.gegenbauer import dual_kernel_limit
    from ..expansions.hermite import hermite_coefficients
    kmax = check_int("kmax", kmax, low=0, high=_MAX_KMAX)
    if model not in ("nt", "rf"):
        raise ValueError(f"model must be 'nt' or 'rf', got {model!r}")
    if route not in ("hermite", "derivative"):
        raise ValueError(f"route must be 'hermite' or 'derivative', got {route!r}")
    act = _activation(activation)
    if model == "rf":
        return dual_kernel_limit(act, kmax)
    _derivative(act)
    if route == "hermite":
        he = hermite_coefficients(act, kmax)
        return np.array([float(k * c * c) for k, c in enumerate(he.mp_coeffs)])
    if act.name == "relu" and act.kind == "named":
        dact = "step"
    else:
        from ..activations import get_activation
        dact = get_activation(act.mp_derivative, kinks=list(act.kinks), name=f"{act.name}'")
    out = np.zeros(kmax + 1)
    if kmax >= 1:
        he = hermite_coefficients(dact, kmax - 1)
        out[1:] = [float(c * c) for c in he.mp_coeffs]
    return out


def nt_kernel_function(activation, rho):
    """The ``d -> oo`` NT kernel ``h_NT(rho) = rho E[sigma'(u) sigma'(v)] = rho k'(rho)``.

    ``(u, v)`` standard Gaussians with correlation ``rho``; the first-layer part of
    :func:`asymptotics.kernels.ntk` (Jacot et al. 2018 for two layers).

    >>> round(float(nt_kernel_function("relu", 0.5)), 12)   # 0.5 (pi - acos 0.5)/(2 pi)
    0.166666666667
    """
    from ..kernels import ntk
    return ntk(_activation(activation), rho, parts=True).first_layer


# ----------------------------------------------------------------------------------------------
# Finite-N random kernels
# ----------------------------------------------------------------------------------------------
def _check_points(name, X, d=None):
    X = check_real(name, X)
    if X.ndim != 2 or X.shape[1] < 2:
        raise ValueError(f"{name} must be a 2-d array (points x d, d >= 2), got shape {X.shape}")
    if d is not None and X.shape[1] != d:
        raise ValueError(f"{name} must have {d} columns, got {X.shape[1]}")
    return X


def nt_features(X, W, activation="relu"):
    """The NT feature map ``Phi(x) = (x sigma'(<w_i, x>))_i / sqrt(N d)``, shape ``(m, N d)``.

    >>> X = np.array([[1.0, 1.0], [1.0, -1.0]]); W = np.array([[1.0, 0.0]])
    >>> nt_features(X, W)          # relu: sigma' = step
    array([[ 0.70710678,  0.70710678],
           [ 0.70710678, -0.70710678]])
    """
    X = _check_points("X", X)
    W = _check_points("W", W, X.shape[1])
    dsig = _np(_derivative(_activation(activation)))
    N, d = W.shape
    S = dsig(X @ W.T)                                    # (m, N)
    return (S[:, :, None] * X[:, None, :]).reshape(X.shape[0], N * d) / math.sqrt(N * d)


def nt_kernel_matrix(X, Y, W, activation="relu"):
    """The finite-N NT kernel ``K_N(x, y) = (<x, y>/d) (1/N) sum_i sigma'(<w_i,x>) sigma'(<w_i,y>)``.

    Computed as the Hadamard product ``(X Y^T/d) * (S_X S_Y^T/N)``, ``S = sigma'(X W^T)``:
    ``O(m m' N)``, never forming the ``N d`` features (:func:`nt_features` gives the same Gram).

    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((3, 4)); W = rng.standard_normal((5, 4))
    >>> F = nt_features(X, W)
    >>> bool(np.allclose(nt_kernel_matrix(X, X, W), F @ F.T))
    True
    """
    X = _check_points("X", X)
    Y = _check_points("Y", Y, X.shape[1])
    W = _check_points("W", W, X.shape[1])
    dsig = _np(_derivative(_activation(activation)))
    d = X.shape[1]
    return (X @ Y.T / d) * (dsig(X @ W.T) @ dsig(Y @ W.T).T / W.shape[0])


def rf_kernel_matrix(X, Y, W, activation="relu"):
    """The finite-N RF kernel ``(1/N) sum_i sigma(<w_i, x>) sigma(<w_i, y>)``.

    >>> X = np.eye(2); W = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> rf_kernel_matrix(X, X, W)
    array([[0.5, 0. ],
           [0. , 0.5]])
    """
    X = _check_points("X", X)
    Y = _check_points("Y", Y, X.shape[1])
    W = _check_points("W", W, X.shape[1])
    sig = _np(_activation(activation).np_func)
    return sig(X @ W.T) @ sig(Y @ W.T).T / W.shape[0]


# ----------------------------------------------------------------------------------------------
# Target energies
# ----------------------------------------------------------------------------------------------
# ----------------------------------------------------------------------------------------------
# Kernel ridge regression with the NT kernel
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NTResult:
    """A Solution-like result: parameters and outputs broadcast to ``shape``.

    Attribute access (``r.risk``, ``r.n``) returns floats for 0-d results, arrays otherwise;
    :meth:`records` gives flat dicts (C order), as :class:`asymptotics.engine.fixedpoint.Solution`.
    """

    model: str
    shape: tuple
    params: dict
    outputs: dict
    source: str = SOURCE
    precision: int | None = None
    truncation_error: np.ndarray | None = None   # estimated relative truncation error of risk (nt.risk)
    rel_accuracy: np.ndarray | None = None       # solver's accuracy of risk + truncation_error (nt.risk)
    status: np.ndarray | None = None             # the solver's status per point (nt.risk)
    accuracy: dict | None = None                 # output -> its own accuracy (solver's + truncation_error)

    def __getattr__(self, name):
        for group in ("outputs", "params"):
            d = object.__getattribute__(self, group)
            if name in d:
                return as_output(d[name])
        raise AttributeError(name)

    def __getitem__(self, name):
        return self.__getattr__(name)

    def records(self, include_unknowns: bool = True) -> list[dict]:
        flat = {k: np.broadcast_to(np.asarray(v, dtype=float), self.shape).ravel()
                for g in (self.params, self.outputs) for k, v in g.items()}
        n = int(np.prod(self.shape))
        return [{k: float(v[i]) for k, v in flat.items()} for i in range(n)]


def _krr(spec: Spectrum, energy, n, lam, sigma2, precision=None):
    """KRR risk with the spectrum ``spec`` (degrees ``<= kmax``; the rest as the extra ridge ``tail``)
    by :func:`asymptotics.models.kernel_ridge.risk`. Returns a dict of arrays."""
    from .kernel_ridge import risk as krr_risk
    e = np.zeros(spec.kmax + 1)
    e[:energy.size] = energy
    sol = krr_risk(spec.eigenvalues, spec.mult_float, e, n, lam, sigma2, tail=spec.tail, precision=precision)
    return _outputs_of(sol)


_ACC_OUTPUTS = ("risk", "bias", "variance", "risk_total")


def _outputs_of(sol):
    """The outputs of a kernel-ridge Solution as float arrays, with the solver's accuracy of the risk
    (``_acc``) and the status per point (``_status``)."""
    out = {k: np.asarray(getattr(sol, k), dtype=float) for k in
           ("risk", "bias", "variance", "risk_total", "kappa", "df1", "df2")}
    out["_acc"] = np.asarray(sol.rel_accuracy, dtype=float)
    for k in _ACC_OUTPUTS:
        out["_acc_" + k] = np.asarray(sol.accuracy.get(k, sol.rel_accuracy), dtype=float)
    out["_status"] = np.asarray(sol.status, dtype=object) if sol.status is not None else np.asarray("ok", dtype=object)
    return out


#: Below this effective regularization (for a kernel of infinite rank) ``kappa`` is set by eigenvalues that
#: the float64 spectrum does not resolve (an underflowed Taylor coefficient lists an eigenvalue ``< 2^-1019``
#: as 0, and the unresolved mass is not in ``tail``): no digit of the risk is determined by the computed
#: spectrum (see docs/neural_tangent.md). ``kernel_ridge.risk`` itself solves down to subnormal ``kappa``
#: (it no longer forms ``kappa^2`` or ``(xi + kappa)^2``); the former limit was ``2^-500``.
_KAPPA_MIN = 2.0 ** -960


def _refuse_below_solver_range(data, n, lam, what, exc, limit=_KAPPA_MIN, infinite_rank=False):
    """Turn a failure of the kernel-ridge solver (or a truncation estimate that is ``inf`` because of it)
    at points whose effective regularization is below :data:`_KAPPA_MIN` into a ValueError naming
    ``lam`` and the point. ``kappa`` is bracketed from above by the root of
    ``n = sum m xi/(xi + kappa) + (lam + t)/kappa`` on the spectrum to the cap (the tail ``t`` as ridge
    raises the right-hand side: ``kernel_ridge._kappa_lower`` with ``lam + t``). Returns if no point is
    below (the caller re-raises the original error)."""
    from .kernel_ridge import _kappa_lower
    xi, mult, rest = data[:3]
    ku = _kappa_lower(np.asarray(xi, dtype=float), np.asarray(mult, dtype=float), n, lam + rest)
    # kappa = 0 is a legitimate (ridgeless, n >= rank) branch of a finite-rank kernel: only points whose
    # kappa is known to be positive count (lam + t > 0, or a kernel of infinite rank)
    low = np.nonzero((ku < limit) & ((lam + rest > 0) | infinite_rank))[0]
    if low.size == 0:
        return
    i = int(low[0])
    raise ValueError(
        f"{what}: lam={float(lam[i]):.6g} at n={float(n[i]):.6g} gives an effective regularization kappa <= "
        f"{float(ku[i]):.2g}, below 2^-960 = {limit:.2g}, where kappa is set by kernel eigenvalues below the "
        f"float64 range of the spectrum (< 2^-1019, listed as 0) and by degrees beyond the cap: the risk is not "
        f"determined by the computed spectrum (outside the domain of nt.risk, see docs/neural_tangent.md); lam "
        f"must be large enough that kappa >= 2^-960 (at this n and d: lam >= n 2^-960 suffices, or a smaller n) "
        f"[{len(low)} such point(s)" + ("" if exc is None else f"; original error: {str(exc)[:160]}") + "]") from None


def risk(n, d, lam=0.0, sigma2=0.0, *, activation="relu", energy=(0.0, 1.0), kmax=None,
         tol=1e-13, precision=None, trunc_tol=1e-12) -> NTResult:
    """Test error of NT ridge regression with ``N d >> n``: KRR with the NT kernel at finite ``d``.

    Montanari & Zhong (2020, arXiv 2007.12826): for ``N d >> n`` the test error of NT ridge regression
    equals, to leading order, that of kernel ridge regression with the infinite-width kernel; the
    latter is the deterministic equivalent with the exact finite-``d`` eigenvalues of
    :func:`nt_spectrum` (:mod:`asymptotics.models.kernel_ridge`; see :func:`_krr`). Broadcasts over
    ``n, d, lam, sigma2``.

    Args:
        n: number of samples, ``> 0``.
        d: dimension, integer ``>= 2`` (inputs on ``S^{d-1}(sqrt d)``).
        lam: ridge ``>= 0`` on the ``n x n`` system ``(K + lam I)`` (not multiplied by ``n``).
            Domain: for a kernel of infinite rank (every named activation but identity, quad, poly), the
            effective regularization ``kappa`` must be at least ``2^-960`` (checked by its lower bracket, the
            root of ``n = sum m xi/(xi + kappa) + (lam + t)/kappa`` on the spectrum to the cap): below, ``kappa``
            is set by eigenvalues under the float64 range of the spectrum (``< 2^-1019``, listed as 0) and by
            degrees beyond the cap of 196, so the computed spectrum determines no digit of the risk (e.g. exp
            at ``d = 2``, ``n = 400``, ``lam = 0``: the truncated spectrum has finite rank ``< 400`` and would
            give ``kappa = 0``). Such points (small ``d``, ``n`` beyond the rank the float64 spectrum resolves,
            ``lam < n 2^-960``) raise a ValueError naming ``lam``; ``lam >= n 2^-960`` is always inside.
        sigma2: label-noise variance ``>= 0``.
        activation: activation name (with a derivative).
        energy: target energies ``||P_k f||^2`` of degrees ``0, 1, ...`` (sequence or ``"e0,e1,..."``).
        kmax: largest degree of the spectrum; the rest enters as the extra ridge ``tail``. Default: per
            ``d``, the smallest degree (at least ``len(energy) - 1``, at least 2) at which the risk is
            within ``trunc_tol`` relative of its untruncated value at every ``n, lam, sigma2`` of that
            ``d``, estimated as in :func:`asymptotics.models.kernel_ridge.sphere_risk` (the tail bracketed
            between pure ridge and all its mass on the largest tail eigenvalue); at most 196 degrees
            (``ValueError`` where ``trunc_tol`` cannot be met, e.g. relu at ``d = 3`` with ``n >= 100``).
            The estimate is returned as ``truncation_error`` (per point, also for an explicit ``kmax``).
        tol: quadrature tolerance of the eigenvalues.
        precision: mpmath digits for the fixed point of :func:`asymptotics.models.kernel_ridge.risk`
            (the eigenvalues themselves are float64 quadratures, passed as they are); ``None``: double
            precision.
        trunc_tol: relative tolerance of the default truncation, in ``[1e-15, 0.5]`` (the same keyword
            as :func:`asymptotics.models.kernel_ridge.sphere_risk`).

    Returns:
        An :class:`NTResult` with ``risk`` (excess), ``bias``, ``variance``, ``risk_total``
        (``risk + sigma2``), ``kappa`` (effective regularization: ``df1 + lam/kappa = n``), ``df1``,
        ``df2`` and the parameters ``n, d, lam, sigma2``; per point ``truncation_error``, ``rel_accuracy``
        (the kernel-ridge solver's accuracy estimate of ``risk`` plus ``truncation_error``; relative to
        ``max(|risk|, 2^-1022)`` as in :mod:`asymptotics.engine.fixedpoint`; for the float64 eigenvalues of
        :func:`nt_spectrum`, whose quadrature tolerance ``tol`` is not included) and ``status`` (the solver's;
        ``"ok (underflow: ...)"`` where ``|risk| < 2^-1022``: the value, often 0, is then accurate to
        ``rel_accuracy * 2^-1022`` absolute, not relative to itself -- e.g. gelu, ``d = 3``, ``n = 1.8e5``,
        ``lam = 2.7e-212``: risk 0.0, the true value 3.7e-432).

    >>> float(risk(10_000, 10, 1e-8, 0.0, energy=[0, 1]).risk) < 1e-3   # n >> B(d,1): learned
    True
    """
    from ..engine.fixedpoint import ConvergenceError
    from .kernel_ridge import _CapExceeded, _check_grid, _check_trunc_tol, _tail_solve
    n = _check_grid("n", n, low=0.0, high=1e100, low_open=True)
    d = _check_grid("d", d, low=2, high=_MAX_D)
    if not np.all(d == np.floor(d)):
        raise ValueError(f"d must be an integer, got {float(d[d != np.floor(d)].flat[0])!r}")
    lam = _check_grid("lam", lam, low=0.0, high=1e100)
    sigma2 = _check_grid("sigma2", sigma2, low=0.0, high=1e100)
    e = parse_energy(energy)
    if kmax is not None:
        kmax = check_int("kmax", kmax, low=e.size - 1, high=_MAX_KMAX)
    try:
        shape = np.broadcast_shapes(n.shape, d.shape, lam.shape, sigma2.shape)
    except ValueError:
        raise ValueError("n, d, lam, sigma2 must broadcast together") from None
    n, d, lam, sigma2 = (np.broadcast_to(a, shape).ravel() for a in (n, d, lam, sigma2))
    trunc_tol = _check_trunc_tol(trunc_tol)
    act = _activation(activation)
    _derivative(act)
    for dv in np.unique(d):
        top = _jcap(int(dv)) - 1
        if kmax is not None and kmax > top:
            raise ValueError(f"kmax must be <= {top} at d = {int(dv)} (B(d, kmax + 1) < 1e300), got {kmax}")
        if e.size - 1 > top:
            raise ValueError(f"energy lists degrees up to {e.size - 1}, beyond the float64 range of B(d, k) at "
                             f"d = {int(dv)} (at most degree {top})")
    outs = {k: np.empty(n.size) for k in ("risk", "bias", "variance", "risk_total", "kappa", "df1", "df2")}
    trunc = np.empty(n.size)
    acc = np.empty(n.size)
    acc_of = {k: np.empty(n.size) for k in _ACC_OUTPUTS}
    status = np.empty(n.size, dtype=object)
    # a named activation whose sigma' is not a polynomial has an NT kernel of infinite rank (kappa > 0 always)
    inf_rank = act.kind == "named" and act.name not in ("identity", "quad", "poly")
    for dv in np.unique(d):
        idx = np.nonzero(d == dv)[0]
        di = int(dv)
        top = _jcap(di) - 1                     # B(d, k) < 1e300 up to k = top + 1
        cap = max(min(_MAX_KMAX - 4, top - 4), 0)

        def upto(Kc, di=di, top=top):
            sp = nt_spectrum(act, di, int(min(Kc, _MAX_KMAX, top)), tol=tol)
            return np.asarray(sp.eigenvalues), sp.mult_float, sp.tail, _unresolved_eig(act, di, tol)

        ee = np.zeros(max(e.size, 1))
        ee[:e.size] = e
        what = f"nt.risk (activation {act.name!r}, d={di})"
        if inf_rank and np.any(lam[idx] < n[idx] * _KAPPA_MIN):      # kappa >= lam/n: else no point can be below
            # up front: kappa below the resolution of the float64 spectrum (an answer there would be silently
            # wrong: e.g. exp at d = 2, n = 400, lam = 0 gave kappa = 0, the finite-rank answer)
            _refuse_below_solver_range(upto(cap + 4), n[idx], lam[idx], what, None, _KAPPA_MIN, inf_rank)
        try:
            res = None
            if kmax is None:
                kmin = min(max(e.size - 1, 2), cap)
                try:
                    K, est = _nt_choose_truncation(upto, di, ee, n[idx], lam[idx], sigma2[idx], kmin, cap, trunc_tol, what)
                except _CapExceeded as exc:
                    model = _nt_tail_model(act, di)
                    if model is None or di > 60:
                        raise ValueError(str(exc)) from None
                    kx = max(kmin, model.first)
                    sp = nt_spectrum(act, di, kx, tol=tol)
                    sol, *_, est, _nodes_, _e = _tail_solve(
                        model, (np.asarray(sp.eigenvalues), sp.mult_float, None), di, ee, n[idx], lam[idx], sigma2[idx],
                        trunc_tol, precision, DEFAULT_SOLVER_TOL, "raise", what, kx)
                    if est > trunc_tol:
                        raise ValueError(f"{what}: the degree quadrature of the power-law tail reaches only {est:.2g} "
                                         f"(above trunc_tol={trunc_tol:g}); pass a larger trunc_tol") from None
                    res = _outputs_of(sol)
            else:
                K = kmax
                xi, mult, rest, floor = upto(min(K + 4, _MAX_KMAX))
                tail_k = math.fsum(mult[K + 1:] * xi[K + 1:]) + rest
                est = _nt_truncation_estimate(xi, mult, K, tail_k, di, ee, n[idx], lam[idx], sigma2[idx], floor)
            if res is None:
                spec = nt_spectrum(act, di, K, tol=tol)
                res = _krr(spec, e, n[idx], lam[idx], sigma2[idx], precision)
        except (ValueError, ConvergenceError) as exc:
            _refuse_below_solver_range(upto(cap + 4), n[idx], lam[idx], what, exc, infinite_rank=inf_rank)
            raise
        for k in outs:
            outs[k][idx] = np.broadcast_to(np.asarray(res[k], dtype=float), idx.shape)
        trunc[idx] = est
        acc[idx] = np.broadcast_to(res["_acc"], idx.shape) + est
        for k in _ACC_OUTPUTS:
            acc_of[k][idx] = np.broadcast_to(res["_acc_" + k], idx.shape) + est
        status[idx] = np.broadcast_to(res["_status"], idx.shape)
    params = {"n": n.reshape(shape), "d": d.reshape(shape), "lam": lam.reshape(shape),
              "sigma2": sigma2.reshape(shape)}
    # below the normal range (|risk| < 2^-1022, from underflow) the value is accurate to rel_accuracy * 2^-1022
    # absolute (the engine's convention, fixedpoint.TINY), not relative to itself: said so in the status
    from ..engine.fixedpoint import TINY
    under = (np.abs(outs["risk"]) < TINY) & (status == "ok") & ((sigma2 > 0) | (float(np.sum(e)) > 0))
    status[under] = "ok (underflow: |risk| < 2^-1022, accurate to rel_accuracy * 2^-1022 absolute)"
    return NTResult("nt", shape, params, {k: v.reshape(shape) for k, v in outs.items()},
                    truncation_error=trunc.reshape(shape), rel_accuracy=acc.reshape(shape),
                    status=status.reshape(shape), accuracy={k: v.reshape(shape) for k, v in acc_of.items()})


def polynomial_risk(alpha, exponent, lam=0.0, sigma2=0.0, *, activation="relu", energy=(0.0, 1.0),
                    precision=None):
    """The ``d -> oo`` limit of :func:`risk` with ``n = alpha d^exponent`` (``exponent = 1``: the
    proportional regime ``n = alpha d``; integer or not).

    Delegates to :func:`asymptotics.models.kernel_ridge.polynomial_risk` with the limiting NT
    eigenvalues ``a_k = k c_k(sigma)^2`` (Ghorbani et al., arXiv 1904.12191, Thm 4; Misiakiewicz,
    arXiv 2204.10425; Montanari & Zhong 2020: KRR with the NT kernel is polynomial ridge regression
    with the self-induced ridge ``a_{>l} = E sigma'(G)^2 - sum_{k <= l} a_k``). The Taylor
    coefficients are passed up to the degree ``K`` that function uses, the last one carrying the
    whole remainder ``E sigma'(G)^2 - sum_{k < K} a_k`` (only ``a_l`` and the sum above ``l`` enter).
    Broadcasts over ``alpha, exponent, lam, sigma2``; ``precision``: mpmath digits of the solver.
    Returns the Solution of :func:`asymptotics.models.kernel_ridge.polynomial_risk`.

    >>> polynomial_risk(2.0, 1.5, activation="relu", energy=[0, 1, 1]).risk    # degree 1 learned, 2 not
    1.0
    """
    from . import kernel_ridge
    e = parse_energy(energy)
    ex = check_real("exponent", exponent, low=0.0, high=_MAX_KMAX - 2, low_open=True)
    act = _activation(activation)
    K = int(max(np.floor(ex).max(), e.size - 1)) + 1
    a = limit_eigenvalues(act, K, model="nt")
    second = _second_moment_derivative(act)
    a[K] = max(second - float(np.sum(a[:K])), 0.0)
    return kernel_ridge.polynomial_risk(list(a), list(e), alpha, ex, lam, sigma2, precision=precision)


def _second_moment_derivative(act):
    """``E sigma'(G)^2`` (= ``h_NT(1)``) at 30 digits: closed form or quadrature."""
    from ..kernels import dual_kernel_derivative
    return float(dual_kernel_derivative(act, 1.0))


# ----------------------------------------------------------------------------------------------
# Approximation error with infinite data
# ----------------------------------------------------------------------------------------------
def _solve_log(f, lo=-200.0, hi=60.0, iters=200):
    """Root of the decreasing function ``f(log kappa)`` by bisection in ``log kappa``."""
    flo, fhi = f(lo), f(hi)
    if not (flo > 0 > fhi):
        return None
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        if f(mid) > 0:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-14:
            break
    return 0.5 * (lo + hi)


def _rf_u(spec, N):
    B, xi, tail = spec.mult_float, spec.eigenvalues, spec.tail
    rank = float(np.sum(B[xi > 0]))
    if tail == 0.0 and N >= rank:
        return np.where(xi > 0, 0.0, 1.0)
    lk = _solve_log(lambda l: float(np.sum(B * xi / (xi + math.exp(l)))) + tail / math.exp(l) - N)
    if lk is None:
        raise ValueError(f"approximation_error: no effective regularization for N={N:g}")
    k = math.exp(lk)
    return k / (k + xi)


def _nt_u(spec, N):
    B, xi, psi, d = spec.mult_float, spec.eigenvalues, spec.psi, spec.d
    tail, ptail = spec.tail, spec.psi_tail

    def kappa_of(t):
        lhs = N * (d + t / (1 - t))
        eff = xi - t * psi / d
        lk = _solve_log(lambda l: float(np.sum(B * xi / (math.exp(l) + eff))) + tail / math.exp(l) - lhs)
        return None if lk is None else math.exp(lk)

    def h(tau):          # t = 1 - e^tau, 1 - t = e^tau > 0
        t = 1 - math.exp(tau)
        k = kappa_of(t)
        if k is None:
            return None
        return float(np.sum(B * psi / (k + xi - t * psi / d))) + ptail / k - N * d / (1 - t)

    taus = np.linspace(-20.0, 12.0, 129)
    vals = [h(t) for t in taus]
    lo = hi = None
    for a, b, fa, fb in zip(taus[:-1], taus[1:], vals[:-1], vals[1:]):
        if fa is not None and fb is not None and (fa == 0 or (fa > 0) != (fb > 0)):
            lo, hi, flo = a, b, fa
            break
    if lo is None:
        raise ValueError(f"approximation_error: the NT fixed point was not found for N={N:g}, d={d}")
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        fm = h(mid)
        if (fm > 0) == (flo > 0):
            lo, flo = mid, fm
        else:
            hi = mid
        if hi - lo < 1e-13:
            break
    t = 1 - math.exp(0.5 * (lo + hi))
    k = kappa_of(t)
    return k / (k + xi - t * psi / d)


def approximation_error(N, d, *, model="nt", activation="relu", energy=(0.0, 1.0), kmax=None):
    """Finite-``d`` prediction of the approximation error ``R_M(f, W)`` (infinite data), ``M`` = RF or NT.

    The deterministic equivalents of the module docstring (derived in this module; the limits
    ``d -> oo`` at ``d^{l+delta} <= N <= d^{l+1-delta}`` are Ghorbani et al.'s Thm 1-2, see
    :func:`staircase_limit`). ``N`` (neurons; may be non-integer and an array) and ``d`` broadcast.
    Degrees beyond ``kmax`` enter through the kernel's trace (default: as
    :func:`asymptotics.models.kernel_ridge.sphere_spectrum`, a tail bound ``p/B(d, kmax+1) <= 1e-12``
    within the quadrature's accuracy, ``p`` the number of parameters).

    Args:
        N: number of neurons, ``> 0`` (RF: ``N`` parameters; NT: ``N d``).
        d: dimension, integer ``>= 3``.
        model: ``"nt"`` or ``"rf"``.
        activation, energy: as in :func:`risk`.
        kmax: largest degree treated exactly.

    Returns:
        The predicted ``E_W R_M`` (float or array).

    >>> round(approximation_error(400, 20, model="rf", energy=[0, 1, 1]), 4)
    0.1195
    """
    N = check_real("N", N, low=0.0, high=1e100, low_open=True)
    d = check_real("d", d, low=3, high=_MAX_D)
    if not np.all(d == np.floor(d)):
        raise ValueError("d must be an integer")
    if model not in ("nt", "rf"):
        raise ValueError(f"model must be 'nt' or 'rf', got {model!r}")
    e = parse_energy(energy)
    if kmax is not None:
        kmax = check_int("kmax", kmax, low=e.size - 1, high=_MAX_KMAX)
    N, d = np.broadcast_arrays(N, d)
    out = np.empty(N.shape)
    for idx in np.ndindex(N.shape):
        dv = int(d[idx])
        # the tail beyond K counts as ridge with relative error <= p/B(d, K+1), p = number of parameters
        p = float(N[idx]) * (dv if model == "nt" else 1)
        K = kmax if kmax is not None else min(_auto_kmax(dv, p, e.size + 1), _MAX_KMAX)
        spec = (nt_spectrum if model == "nt" else rf_spectrum)(activation, dv, K)
        u = (_nt_u if model == "nt" else _rf_u)(spec, float(N[idx]))
        out[idx] = float(np.sum(e * u[:e.size]))
    return as_output(out)


def staircase(exponent, d, *, activation="relu", energy=(0.0, 1.0), kmax=None):
    """RF and NT approximation errors at ``p = d^exponent`` parameters (``N_RF = p``, ``N_NT = p/d``).

    Returns:
        ``(rf, nt)`` arrays from :func:`approximation_error`. NT needs ``p >= d`` (one neuron):
        ``ValueError`` for ``exponent < 1``.

    >>> rf, nt = staircase([1.5, 2.2], 20, energy=[0, 1, 1])
    >>> rf.round(3), nt.round(3)
    (array([0.784, 0.048]), array([0.975, 0.172]))
    """
    ex = check_real("exponent", exponent, low=0.0, high=50.0)
    d = check_int("d", d, low=3, high=_MAX_D)
    p = float(d) ** np.atleast_1d(ex)
    if np.any(p < d * (1 - 1e-12)):
        raise ValueError("exponent must be >= 1 for the NT model (at least one neuron, p = N d >= d)")
    rf = approximation_error(p, d, model="rf", activation=activation, energy=energy, kmax=kmax)
    nt = approximation_error(p / d, d, model="nt", activation=activation, energy=energy, kmax=kmax)
    return np.reshape(rf, np.shape(ex)), np.reshape(nt, np.shape(ex))


def staircase_limit(exponent, energy=(0.0, 1.0)):
    """Ghorbani et al. (arXiv 1904.12191, Thm 1-2) as ``d -> oo`` at ``p = d^exponent`` parameters.

    RF with ``N = p``: ``||P_{>l} f||^2`` for ``l < log N/log d < l + 1``; NT with ``N = p/d``:
    ``||P_{>l+1} f||^2`` for ``l < log N/log d < l + 1``. Both equal
    ``sum_{k > floor(exponent)} ||P_k f||^2`` (for an activation whose Hermite coefficients do not
    vanish at the degrees of the target). At integer exponents the limit depends on the constant
    in ``p = c d^l`` and is not given here: ``ValueError``.

    >>> staircase_limit([0.5, 1.5, 2.5], energy=[0.1, 0.5, 0.4])
    array([0.9, 0.4, 0. ])
    """
    ex = check_real("exponent", exponent, low=0.0, high=1e6)
    if np.any(ex == np.floor(ex)):
        raise ValueError("staircase_limit: the limit at an integer exponent depends on the constant in "
                         "p = c d^l; use a non-integer exponent")
    e = parse_energy(energy)
    cum = np.concatenate([np.cumsum(e[::-1])[::-1], [0.0]])      # cum[j] = sum_{k >= j} e_k
    j = np.minimum(np.floor(ex).astype(int) + 1, e.size)
    return as_output(cum[j])


def staircase_result(exponent, d, *, activation="relu", energy=(0.0, 1.0), model="both", kmax=None) -> NTResult:
    """RF and NT approximation errors at ``p = d^exponent`` parameters as an :class:`NTResult`
    (broadcast over ``exponent`` and ``d``), for sweeps and the command line.

    Outputs: ``rf`` and ``nt`` (:func:`approximation_error` at ``N_rf = p``, ``N_nt = p/d``; ``model``
    ``"rf"`` or ``"nt"`` computes one of them only), ``risk`` (= ``nt``, or ``rf`` when
    ``model="rf"``), ``limit`` (:func:`staircase_limit`; at an integer exponent, where the source gives
    no value, its right limit ``||P_{> exponent} f||^2``), ``N_rf``, ``N_nt``. NT needs ``p >= d``
    (``exponent >= 1``).

    >>> r = staircase_result([1.5, 2.0], 20, energy=[0, 0.5, 0.5])
    >>> r.nt.round(4), r.limit
    (array([0.4873, 0.1666]), array([0.5, 0. ]))
    """
    if model not in ("both", "rf", "nt"):
        raise ValueError(f"model must be 'both', 'rf' or 'nt', got {model!r}")
    ex = check_real("exponent", exponent, low=0.0, high=50.0)
    dd = check_real("d", d, low=3, high=_MAX_D)
    if not np.all(dd == np.floor(dd)):
        raise ValueError("d must be an integer")
    ex, dd = np.broadcast_arrays(ex, dd)
    if model != "rf" and np.any(ex < 1.0):
        raise ValueError("exponent must be >= 1 for the NT model (at least one neuron, p = N d >= d); "
                         "use model='rf' below")
    p = dd ** ex
    e = parse_energy(energy)
    out = {"N_rf": p, "N_nt": p / dd}
    if model in ("both", "rf"):
        out["rf"] = np.asarray(approximation_error(p, dd, model="rf", activation=activation, energy=e, kmax=kmax))
    if model in ("both", "nt"):
        out["nt"] = np.asarray(approximation_error(p / dd, dd, model="nt", activation=activation, energy=e,
                                                   kmax=kmax))
    out["risk"] = out["rf"] if model == "rf" else out["nt"]
    right = np.where(ex == np.floor(ex), ex + 0.5, ex)
    out["limit"] = np.asarray(staircase_limit(right, e))
    shape = ex.shape
    return NTResult("nt-staircase", shape, {"exponent": ex, "d": dd},
                    {k: np.asarray(v, dtype=float).reshape(shape) for k, v in out.items()})
