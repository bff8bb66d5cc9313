"""Random features ridge regression: the Mei–Montanari asymptotic test error.

Source: S. Mei and A. Montanari, "The generalization error of random features regression: precise
asymptotics and double descent curve", arXiv `1908.05355 <https://arxiv.org/abs/1908.05355>`_
(CPAM 2022), Definition 1 (the fixed point ``nu1, nu2``), Theorem 1 (the risk, with the polynomials
``E0, E1, E2``), Theorem 3 (the ridgeless limit); Lecture 4 of Misiakiewicz & Montanari, "Six lectures
on linearized neural networks", arXiv 2308.13431.

Setting (the paper's conventions):

* ``x_i``, ``theta_a`` i.i.d. uniform on the sphere of radius ``sqrt(d)``; ``N = psi1 d`` features
  ``sigma(<theta_a, x>/sqrt(d))``, ``n = psi2 d`` samples;
* ``a = argmin (1/n) sum_i (y_i - sum_a a_a sigma(<theta_a, x_i>/sqrt(d)))^2 + (N lam/d) ||a||^2``;
* target ``y = beta0 + <beta1, x> + f_NL(x) + eps`` with ``||beta1||^2 = F1sq``,
  ``E f_NL^2 = Fstar_sq`` (``f_NL`` orthogonal to polynomials of degree <= 1), ``Var eps = tau2``;
* the activation enters through ``mu0 = E sigma(G)``, ``mu1 = E G sigma(G)``,
  ``mu_star^2 = E sigma(G)^2 - mu0^2 - mu1^2`` (:func:`asymptotics.hermite_coefficients`);
  ``zeta = mu1/mu_star``, ``lam_bar = lam/mu_star^2``; ``mu0`` does not enter the limit;
* the risk ``R = E_x (f_d(x) - f_hat(x))^2`` (excess risk: no label noise of the test point).

The fixed point. For ``xi`` in the upper half plane, ``nu1, nu2`` are the analytic solution of
(Definition 1)::

    nu1 = psi1 (-xi - nu2 - zeta^2 nu2 / (1 - zeta^2 nu1 nu2))^{-1},
    nu2 = psi2 (-xi - nu1 - zeta^2 nu1 / (1 - zeta^2 nu1 nu2))^{-1},   |nu_j| <= psi_j / Im xi,

evaluated at ``xi = i s``, ``s = sqrt(psi1 psi2 lam_bar)``, and ``chi = nu1 nu2``. On the imaginary
axis ``nu_j = i t_j`` with ``t_j > 0``; writing ``P = t1 t2 = -chi`` and
``h(P) = P (1 + zeta^2/(1 + zeta^2 P))``, the two equations read ``s t_j + h(P) = psi_j``, hence
the single equation for ``P`` solved here::

    s^2 P = (psi1 - h(P)) (psi2 - h(P)),    0 < P <= P*,  h(P*) = min(psi1, psi2),

multiplied by ``(1 + zeta^2 P)^2`` to a quartic (no poles). Its left minus right side is increasing
on ``[0, P*]``, so the physical root is unique; at ``lam = 0`` it is ``P*`` itself (Theorem 3).

The risk (Theorem 1): ``B = E1/E0``, ``V = E2/E0`` and::

    R = F1sq B + (tau2 + Fstar_sq) V + Fstar_sq,

with the polynomials ``E0, E1, E2`` of ``chi, zeta, psi1, psi2`` below. ``bias`` and ``variance`` are
the paper's ``B`` and ``V`` (the coefficients of ``F1sq`` and ``tau2 + Fstar_sq``). At ``lam = 0``,
``psi1 = psi2`` (the interpolation threshold) ``E0 = 0`` and the risk is ``inf``.

Examples:
    >>> sol = risk(psi1=2.0, psi2=0.5, lam=1e-3, activation="relu", F1sq=1.0, tau2=0.1)
    >>> round(sol.risk, 6), round(sol.bias, 6), round(sol.variance, 6)
    (0.861508, 0.801808, 0.597005)
    >>> risk(psi1=1.0, psi2=1.0, lam=0.0, activation="relu").risk
    inf
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from .._validation import as_output, check_real
from ..engine.fixedpoint import DEFAULT_ACCURACY, DEFAULT_TOL, FixedPointModel, Solution, keep_mp, solve
from ..engine.roundoff import group, hypot, logsigmoid, ratio, sigmoid

__all__ = ["RANDOM_FEATURES", "risk", "optimal_lam", "activation_constants", "E0", "E1", "E2", "SOURCE"]

SOURCE = ("Mei & Montanari 2019, arXiv 1908.05355, Definition 1, Theorem 1 (risk, E0, E1, E2), "
          "Theorem 3 (ridgeless); Misiakiewicz & Montanari, arXiv 2308.13431, Lecture 4")

psi1, psi2, lam, mu1, mu_star, F1sq, Fstar_sq, tau2 = sp.symbols(
    "psi1 psi2 lam mu1 mu_star F1sq Fstar_sq tau2", positive=True)
P = sp.Symbol("P", nonnegative=True)
chi, zeta = sp.symbols("chi zeta", real=True)

zeta_of = mu1 / mu_star
lam_bar_of = lam / mu_star ** 2


def _E(chi, zeta, psi1, psi2):
    """The polynomials E0, E1, E2 of Mei & Montanari (2019), Theorem 1 (numbering as recalled, not
    re-verified against the PDF here; the formulas themselves are checked against Monte Carlo and
    against their limits in the tests)."""
    z, c = zeta, chi
    e0 = (-c ** 5 * z ** 6 + 3 * c ** 4 * z ** 4 + (psi1 * psi2 - psi2 - psi1 + 1) * c ** 3 * z ** 6
          - 2 * c ** 3 * z ** 4 - 3 * c ** 3 * z ** 2 + (psi1 + psi2 - 3 * psi1 * psi2 + 1) * c ** 2 * z ** 4
          + 2 * c ** 2 * z ** 2 + c ** 2 + 3 * psi1 * psi2 * c * z ** 2 - psi1 * psi2)
    e1 = psi2 * c ** 3 * z ** 4 - psi2 * c ** 2 * z ** 2 + psi1 * psi2 * c * z ** 2 - psi1 * psi2
    e2 = (c ** 5 * z ** 6 - 3 * c ** 4 * z ** 4 + (psi1 - 1) * c ** 3 * z ** 6 + 2 * c ** 3 * z ** 4
          + 3 * c ** 3 * z ** 2 + (-psi1 - 1) * c ** 2 * z ** 4 - 2 * c ** 2 * z ** 2 - c ** 2)
    return e0, e1, e2


E0, E1, E2 = _E(chi, zeta, psi1, psi2)


def _quartic(P, zeta2, psi1, psi2, s2):
    """(psi1 - h)(psi2 - h)(1 + zeta^2 P)^2 - s^2 P (1 + zeta^2 P)^2, h(P) = P(1 + zeta^2/(1 + zeta^2 P))."""
    g = 1 + zeta2 * P
    a1 = psi1 * g - P * (g + zeta2)
    a2 = psi2 * g - P * (g + zeta2)
    return a1 * a2 - s2 * P * g * g


_z2 = zeta_of ** 2
_s2 = psi1 * psi2 * lam_bar_of
_chi = -P
_e0, _e1, _e2 = _E(_chi, zeta_of, psi1, psi2)


def _P_star(psi, zeta2):
    """The root ``P* > 0`` of ``h(P) = psi``: ``zeta2 P^2 + (1 + zeta2 - psi zeta2) P - psi = 0``,
    without cancellation (and valid at ``zeta2 = 0``, where ``P* = psi``)."""
    b = 1 + zeta2 - psi * zeta2
    root = np.sqrt(b * b + 4 * zeta2 * psi)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, 2 * psi / (root + b), (root - b) / (2 * zeta2))


def _initial_guess(psi1, psi2, lam, mu1, mu_star, F1sq, Fstar_sq, tau2):
    """Bisection on ``[0, P*]`` (where the equation is monotone), 16 vectorized steps (the bracket is
    then ``P*/65536`` wide), then Newton polishes: a start inside the basin of the physical root,
    whatever the parameters (Newton's steps are damped and the branch is checked afterwards)."""
    z2 = (mu1 / mu_star) ** 2
    s2 = psi1 * psi2 * lam / mu_star ** 2
    hi = _P_star(np.minimum(psi1, psi2), z2)
    lo = np.zeros_like(hi)
    for _ in range(16):
        mid = 0.5 * (lo + hi)
        pos = _quartic(mid, z2, psi1, psi2, s2) > 0  # positive left of the root
        lo = np.where(pos, mid, lo)
        hi = np.where(pos, hi, mid)
    return (np.where(lam == 0, _P_star(np.minimum(psi1, psi2), z2), 0.5 * (lo + hi)),)


def _admissible(p, u, t):
    z2 = (p["mu1"] / p["mu_star"]) ** 2
    Pstar = _P_star(np.minimum(p["psi1"], p["psi2"]), z2)
    return (u["P"] > 0) & (u["P"] <= Pstar * (1 + 1e-10))


def _singular(p, spectrum):
    # ridgeless at the interpolation threshold psi1 = psi2: E0 = 0, B = V = +inf
    mask = (p["lam"] == 0) & (p["psi1"] == p["psi2"])
    z2 = (p["mu1"] / p["mu_star"]) ** 2
    Pstar = _P_star(p["psi1"], z2)
    noise = p["tau2"] + p["Fstar_sq"]
    r = np.where((p["F1sq"] > 0) | (noise > 0), np.inf, p["Fstar_sq"])
    return mask, {"P": Pstar, "chi": -Pstar, "bias": np.inf, "variance": np.inf, "risk": r}


# ---------------------------------------------------------------------- the numeric form (issue 12)
# The quartic in P cancels catastrophically near the ridgeless root P* (psi1 ~ psi2, small lam: the
# root sits at P* - u with u ~ sqrt(lam)), its coefficients span hundreds of orders of magnitude at
# large widths, and E0, E1, E2 as polynomials in chi cancel near the threshold (E0 = 0 there). The
# solver therefore works in the unknown
#
#     y = log(u / P),   P = P* sigmoid(-y),   u = P* - P = P* sigmoid(y),
#
# which gives both P and the gap u to the ridgeless root without cancellation. With
# a_j = psi_j - h(P) = s t_j >= 0 (so that a1 a2 = s^2 P is the equation), exactly
#
#     a_min = h(P*) - h(P) = u k,   k = 1 + zeta^2/((1 + zeta^2 P*)(1 + zeta^2 P)),
#     a_max = |psi1 - psi2| + a_min,
#
# and the equation a_min a_max = s^2 P in logarithms (P cancels against u/P = e^y):
#
#     L(y) = y + log k + log a_max - log(psi1 psi2 lam / mu_star^2) = 0,
#
# strictly increasing (dL/dy >= 1), one root, no overflow for any lam > 0 (lam = 0: y = -oo, exactly
# u = 0). The polynomials, rewritten with sympy in a1, a2, P (g = 1 + zeta^2 P, G = 1/g,
# w = zeta^2 P G, R = P + w, Q = P + w G), have terms of one sign only:
#
#     B = E1/E0 = G (a2 + R) (G a1 + Q) / (a1 a2 + Q (a1 + a2)),
#     V = E2/E0 = (w^2 a1 + R Q) / (a1 a2 + Q (a1 + a2)),
#
# (tests check both identities symbolically), evaluated with a_j, P, R, Q divided by max(psi1, psi2)
# so that no product under- or overflows.
y_ = sp.Symbol("y", real=True)
_za = sp.Abs(mu1) / mu_star                      # |zeta|
_zz = _za ** 2                                   # zeta^2
_psim, _psiM = sp.Min(psi1, psi2), sp.Max(psi1, psi2)
_Delta = sp.Abs(psi1 - psi2)                     # exact when psi1, psi2 are close (Sterbenz)
_b = 1 + _zz - _psim * _zz
_root = hypot(_b, 2 * _za * sp.sqrt(_psim))
# 2 psi/(root + b) for b > 0, (root - b)/(2 zeta^2) otherwise: both are root + |b| (no cancellation)
_Pstar = sp.Piecewise((2 * _psim / (_root + sp.Abs(_b)), _b > 0), ((_root + sp.Abs(_b)) / (2 * _zz), True))
_Pn = _Pstar * sigmoid(-y_)                      # P
_k = 1 + group(_zz / (1 + _zz * _Pstar)) / (1 + _zz * _Pn)
_ph = group(_Pstar / _psiM)
_Ph, _uh = _ph * sigmoid(-y_), _ph * sigmoid(y_)
_am = _uh * _k
_aM = group(_Delta / _psiM) + _am
_a1 = sp.Piecewise((_am, psi1 <= psi2), (_aM, True))
_a2 = sp.Piecewise((_aM, psi1 <= psi2), (_am, True))
_G = 1 / (1 + _zz * _Pn)
_w = ratio(_zz * _Pn, 1)
_Rh = _Ph + _w / _psiM
_Qh = _Ph + _w * _G / _psiM
_den = _a1 * _a2 + _Qh * (_a1 + _a2)
_log_aM = sp.Piecewise((sp.log(_psiM) + sp.log(_aM), _Delta > 0),
                       (sp.log(_Pstar) + logsigmoid(y_) + sp.log(_k), True))
_L = y_ + sp.log(_k) + _log_aM - sp.log(psi1) - sp.log(psi2) - sp.log(lam) + 2 * sp.log(mu_star)


def _np_Pstar(psi, z, za):
    b = 1 + z - psi * z
    root = np.hypot(b, 2 * za * np.sqrt(psi))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, 2 * psi / (root + b), (root - b) / (2 * z))


def _y_guess(psi1, psi2, lam, mu1, mu_star, F1sq, Fstar_sq, tau2):
    """A start for Newton's method in y, within a few units of the root: the equation
    a (Delta + a) = s^2 P with k frozen (so that P = P* - a/k is linear in a = a_min), a quadratic in
    a solved without overflow (scaled by c = max(psi1, psi2), in logarithms where s^2/c is below
    1e-600 or above 1e600), then y = log s^2 - log k - log(Delta + a) (the equation itself); twice,
    the second time with k at the first guess's P."""
    za = np.abs(mu1) / mu_star
    z = za * za
    psim, c = np.minimum(psi1, psi2), np.maximum(psi1, psi2)
    D = np.abs(psi1 - psi2) / c
    p = _np_Pstar(psim, z, za)
    ph = p / c
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        lS = np.log(psi1) + np.log(psi2) + np.log(lam) - 2 * np.log(mu_star)
        lSh = lS - np.log(c)
        kp = z / (1 + z * p)
        k = 1 + kp / (1 + z * p)
        y = np.zeros_like(lS)
        for _ in range(2):
            S = np.exp(np.clip(lSh, -600, 600))
            B = D + S / k
            a_mod = 2 * S * ph / (B + np.hypot(B, 2 * np.sqrt(S * ph)))
            lSp = lSh + np.log(ph)
            la_small = np.log(2) + lSp - np.logaddexp(np.log(D), np.log(2) + lSp / 2)
            la_large = np.log(ph) + np.log(k)
            la = np.where(lSh < -600, la_small, np.where(lSh > 600, la_large, np.log(a_mod)))
            y = lS - np.log(k) - np.log(c) - np.logaddexp(np.log(D), la)
            P = p / (1 + np.exp(np.clip(y, -700, 700)))
            k = 1 + kp / (1 + z * P)
    return (np.where(np.isfinite(y), y, 0.0),)


def _numeric_exact(p, spectrum):
    # ridgeless: P = P*, u = 0 exactly
    return p["lam"] == 0, {"y": -np.inf}


def _numeric_singular(p, spectrum):
    mask, vals = _singular(p, spectrum)
    return mask, {"y": -np.inf, **vals}


RANDOM_FEATURES_NUMERIC = FixedPointModel(
    name="rf",
    parameters=(psi1, psi2, lam, mu1, mu_star, F1sq, Fstar_sq, tau2),
    unknowns=(y_,),
    equations=(_L,),
    outputs={
        "P": _Pn,
        "chi": -_Pn,
        "bias": _G * (_a2 + _Rh) * (_G * _a1 + _Qh) / _den,
        "variance": (_w ** 2 * _a1 / _psiM + _Rh * _Qh) / _den,
        "risk": F1sq * sp.Symbol("bias") + (tau2 + Fstar_sq) * sp.Symbol("variance") + Fstar_sq,
    },
    source=SOURCE,
    initial_guess=_y_guess,
    singular=_numeric_singular,
    exact=_numeric_exact,
    scales=(1.0,),
    symbols_doc={"y": "log(u/P), u = P* - P the gap to the ridgeless root"},
)


RANDOM_FEATURES = FixedPointModel(
    name="rf",
    parameters=(psi1, psi2, lam, mu1, mu_star, F1sq, Fstar_sq, tau2),
    unknowns=(P,),
    equations=(_quartic(P, _z2, psi1, psi2, _s2),),
    outputs={
        "chi": _chi,
        "bias": _e1 / _e0,
        "variance": _e2 / _e0,
        "risk": F1sq * sp.Symbol("bias") + (tau2 + Fstar_sq) * sp.Symbol("variance") + Fstar_sq,
    },
    source=SOURCE,
    lower_bounds=(0.0,),
    initial_guess=_initial_guess,
    admissible=_admissible,
    singular=_singular,
    symbols_doc={
        "psi1": "N/d, features per dimension", "psi2": "n/d, samples per dimension",
        "lam": "ridge penalty (N lam/d)||a||^2 on the average squared loss",
        "mu1": "E G sigma(G)", "mu_star": "sqrt(E sigma^2 - mu0^2 - mu1^2)",
        "F1sq": "||beta1||^2", "Fstar_sq": "E f_NL^2", "tau2": "noise variance",
        "P": "-chi = t1 t2, nu_j(i s) = i t_j",
    },
    sample_ranges={"psi1": (0.2, 5.0), "psi2": (0.2, 5.0), "lam": (1e-3, 1.0), "mu1": (0.5, 0.5),
                   "mu_star": (0.3, 0.3), "F1sq": (0.5, 2.0), "Fstar_sq": (0.0, 1.0), "tau2": (0.0, 1.0)},
    regimes={"psi1<psi2": {"psi1": (0, psi2)}, "psi1>psi2": {"psi1": (psi2, sp.oo)}},
    numeric=RANDOM_FEATURES_NUMERIC,
)


_zeta_p, _lam_bar_p = sp.symbols("zeta lam_bar", positive=True)


def present(expr):
    """``expr`` in the paper's variables: ``mu1 = zeta mu_star``, ``lam = lam_bar mu_star^2``
    (``mu_star`` then cancels from every formula of the model).

    >>> present(sp.Symbol("lam", positive=True) / sp.Symbol("mu_star", positive=True) ** 2)
    lam_bar
    """
    e = sp.sympify(expr).subs({mu1: _zeta_p * mu_star, lam: _lam_bar_p * mu_star ** 2})
    return sp.simplify(e)


def activation_constants(activation=None, mu0=None, mu1=None, mu_star=None, *, precision=None):
    """``(mu0, mu1, mu_star)`` from an activation of the Hermite layer or given directly.

    With ``precision``, an activation's constants are mpmath numbers at that many digits (the
    Hermite layer's ``mp_mu0, mp_mu1, mp_mu_star``), so that a high-precision solve uses them at full
    precision; given constants are returned as given.

    >>> [round(v, 10) for v in activation_constants("relu")]
    [0.3989422804, 0.5, 0.3014051375]
    >>> import mpmath
    >>> mpmath.nstr(activation_constants("relu", precision=30)[2], 30)
    '0.301405137494543487137949768847'
    """
    if activation is not None:
        if mu1 is not None or mu_star is not None:
            raise ValueError("give either activation or (mu0, mu1, mu_star), not both")
        from ..expansions.hermite import hermite_coefficients
        if precision is not None:
            h = hermite_coefficients(activation, kmax=1, precision=int(precision))
            return h.mp_mu0, h.mp_mu1, h.mp_mu_star
        h = hermite_coefficients(activation, kmax=1)
        return float(h.mu0), float(h.mu1), float(h.mu_star)
    if mu1 is None or mu_star is None:
        raise ValueError("give an activation, or mu1 and mu_star (mu0 optional)")
    out = (0.0 if mu0 is None else check_real("mu0", mu0),
           check_real("mu1", mu1), check_real("mu_star", mu_star, low=0.0, low_open=True))
    if precision is not None:
        out = tuple(keep_mp(raw, chk, precision) for raw, chk in zip((mu0 or 0.0, mu1, mu_star), out))
    return tuple(as_output(v) for v in out)


#: |zeta| = |mu1|/mu_star at most this (zeta^2 P must stay finite for psi up to 1e100)
ZETA_MAX = 1e100


def risk(psi1, psi2, lam, *, activation=None, mu0=None, mu1=None, mu_star=None, F1sq=1.0,
         Fstar_sq=0.0, tau2=0.0, precision: int | None = None, tol: float = DEFAULT_TOL,
         errors: str = "raise", accuracy: float = DEFAULT_ACCURACY, resolve: bool = True) -> Solution:
    """Asymptotic test error of random features ridge regression (Mei & Montanari 2019, Thm 1).

    Broadcasts over ``psi1, psi2, lam, F1sq, Fstar_sq, tau2`` (a whole grid in one call).

    Args:
        psi1: ``N/d > 0``; psi2: ``n/d > 0`` (both at most ``1e100``).
        lam: ridge penalty ``>= 0`` in the paper's normalization (``(N lam/d)||a||^2`` added to the
            average squared loss); ``0`` is the min-norm interpolator's limit.
        activation: a name or callable of the Hermite layer (``"relu"``, ``"tanh"``, ...), or
        mu0, mu1, mu_star: the activation's constants directly (``mu_star > 0``,
            ``|mu1|/mu_star <= 1e100``).
        F1sq, Fstar_sq, tau2: energy of the linear part, of the nonlinear part, noise (``>= 0``).
        precision, tol, errors, accuracy, resolve: as in :func:`asymptotics.engine.solve`. With
            ``precision`` an activation's constants enter at ``precision + 10`` digits, and values
            given as mpmath numbers at their full precision.

    Returns:
        A Solution with ``risk`` (R), ``bias`` (B), ``variance`` (V), ``chi`` and unknown ``P = -chi``.
    """
    mu0_, mu1_, mu_star_ = activation_constants(activation, mu0, mu1, mu_star,
                                                precision=None if precision is None else precision + 10)
    raw = dict(psi1=psi1, psi2=psi2, lam=lam, mu1=mu1_, mu_star=mu_star_, F1sq=F1sq, Fstar_sq=Fstar_sq,
               tau2=tau2)
    chk = dict(psi1=check_real("psi1", psi1, low=0.0, high=1e100, low_open=True),
               psi2=check_real("psi2", psi2, low=0.0, high=1e100, low_open=True),
               lam=check_real("lam", lam, low=0.0, high=1e100),
               mu1=check_real("mu1", mu1_, low=-1e100, high=1e100),
               mu_star=check_real("mu_star", mu_star_, low=0.0, high=1e100, low_open=True),
               F1sq=check_real("F1sq", F1sq, low=0.0, high=1e100),
               Fstar_sq=check_real("Fstar_sq", Fstar_sq, low=0.0, high=1e100),
               tau2=check_real("tau2", tau2, low=0.0, high=1e100))
    zeta = np.abs(chk["mu1"]) / chk["mu_star"]
    if (zeta > ZETA_MAX).any():
        raise ValueError(f"|mu1|/mu_star must be <= {ZETA_MAX:g}, got {float(np.max(zeta)):.3g}")
    p = {k: keep_mp(raw[k], v, precision) for k, v in chk.items()}
    return solve(RANDOM_FEATURES, p, precision=precision, tol=tol, errors=errors, accuracy=accuracy,
                 resolve=resolve)


def optimal_lam(psi1, psi2, *, activation=None, mu0=None, mu1=None, mu_star=None, F1sq=1.0,
                Fstar_sq=0.0, tau2=0.0, lam_min=1e-8, lam_max=1e4, xtol=1e-6):
    """The ridge minimizing the asymptotic risk, for each ``(psi1, psi2, ...)`` (broadcast).

    Vectorized: the risk is scanned on 49 log-spaced ``lam`` in ``[lam_min, lam_max]`` plus
    ``lam = 0`` (the whole scan is one call of the solver), then refined by golden-section search in
    ``log lam`` inside the bracket of the best scanned value, to a relative ``xtol``. When ``lam = 0``
    is at least as good as every ``lam >= lam_min`` (e.g. a noiseless, overparametrized problem),
    ``0`` is returned.

    Returns:
        ``(lam_star, risk_star)`` arrays (floats for scalar input).

    Examples:
        >>> lam, r = optimal_lam(3.0, 1.5, activation="relu", tau2=0.5)
        >>> round(lam, 4), round(r, 6)
        (0.1296, 0.570315)
    """
    consts = activation_constants(activation, mu0, mu1, mu_star)
    lam_min = float(check_real("lam_min", lam_min, low=0.0, low_open=True))
    lam_max = float(check_real("lam_max", lam_max, low=lam_min, low_open=True, high=1e100))
    b = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (psi1, psi2, consts[1], consts[2],
                                                                    F1sq, Fstar_sq, tau2)))
    shape = b[0].shape
    grid = np.concatenate([[0.0], np.geomspace(lam_min, lam_max, 49)])
    ex = [v[..., None] for v in b]
    scan = risk(ex[0], ex[1], grid, mu1=ex[2], mu_star=ex[3], F1sq=ex[4], Fstar_sq=ex[5], tau2=ex[6],
                errors="mask")
    vals = np.ma.filled(scan.risk, np.inf)
    best = np.argmin(vals, axis=-1)
    # golden section in log lam on [grid[best-1], grid[best+1]] (inside the positive part)
    logg = np.log(grid[1:])
    i = np.clip(best - 1, 0, logg.size - 1)
    lo = logg[np.clip(i - 1, 0, logg.size - 1)]
    hi = logg[np.clip(i + 1, 0, logg.size - 1)]
    g = (np.sqrt(5) - 1) / 2

    def f(loglam):
        return np.ma.filled(risk(b[0], b[1], np.exp(loglam), mu1=b[2], mu_star=b[3], F1sq=b[4],
                                 Fstar_sq=b[5], tau2=b[6], errors="mask").risk, np.inf)

    c, d_ = hi - g * (hi - lo), lo + g * (hi - lo)
    fc, fd = f(c), f(d_)
    while np.max(hi - lo) > xtol:
        left = fc < fd
        hi, lo = np.where(left, d_, hi), np.where(left, lo, c)
        d_new, c_new = np.where(left, c, lo + g * (hi - lo)), np.where(left, hi - g * (hi - lo), d_)
        c, d_ = c_new, d_new
        fc_new, fd_new = f(c), f(d_)
        fc, fd = np.where(left, fc_new, fd), np.where(left, fc, fd_new)
    lam_star = np.exp(0.5 * (lo + hi))
    r_star = f(np.log(lam_star))
    at_zero = vals[..., 0] <= np.minimum(r_star, vals[..., 1:].min(axis=-1))
    lam_star = np.where(at_zero, 0.0, lam_star)
    r_star = np.where(at_zero, vals[..., 0], r_star)
    return as_output(lam_star.reshape(shape)), as_output(r_star.reshape(shape))
