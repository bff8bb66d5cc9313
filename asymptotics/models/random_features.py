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
from ..engine.fixedpoint import DEFAULT_TOL, FixedPointModel, Solution, solve

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


def activation_constants(activation=None, mu0=None, mu1=None, mu_star=None):
    """``(mu0, mu1, mu_star)`` from an activation of the Hermite layer or given directly.

    >>> [round(v, 10) for v in activation_constants("relu")]
    [0.3989422804, 0.5, 0.3014051375]
    """
    if activation is not None:
        if mu1 is not None or mu_star is not None:
            raise ValueError("give either activation or (mu0, mu1, mu_star), not both")
        from ..expansions.hermite import hermite_coefficients
        h = hermite_coefficients(activation, kmax=1)
        return float(h.mu0), float(h.mu1), float(h.mu_star)
    if mu1 is None or mu_star is None:
        raise ValueError("give an activation, or mu1 and mu_star (mu0 optional)")
    return (0.0 if mu0 is None else as_output(check_real("mu0", mu0)),
            as_output(check_real("mu1", mu1)), as_output(check_real("mu_star", mu_star, low=0.0, low_open=True)))


def risk(psi1, psi2, lam, *, activation=None, mu0=None, mu1=None, mu_star=None, F1sq=1.0,
         Fstar_sq=0.0, tau2=0.0, precision: int | None = None, tol: float = DEFAULT_TOL,
         errors: str = "raise") -> Solution:
    """Asymptotic test error of random features ridge regression (Mei & Montanari 2019, Thm 1).

    Broadcasts over ``psi1, psi2, lam, F1sq, Fstar_sq, tau2`` (a whole grid in one call).

    Args:
        psi1: ``N/d > 0``; psi2: ``n/d > 0``.
        lam: ridge penalty ``>= 0`` in the paper's normalization (``(N lam/d)||a||^2`` added to the
            average squared loss); ``0`` is the min-norm interpolator's limit.
        activation: a name or callable of the Hermite layer (``"relu"``, ``"tanh"``, ...), or
        mu0, mu1, mu_star: the activation's constants directly (``mu_star > 0``).
        F1sq, Fstar_sq, tau2: energy of the linear part, of the nonlinear part, noise (``>= 0``).
        precision, tol, errors: as in :func:`asymptotics.engine.solve`.

    Returns:
        A Solution with ``risk`` (R), ``bias`` (B), ``variance`` (V), ``chi`` and unknown ``P = -chi``.
    """
    mu0_, mu1_, mu_star_ = activation_constants(activation, mu0, mu1, mu_star)
    p = dict(psi1=check_real("psi1", psi1, low=0.0, high=1e100, low_open=True),
             psi2=check_real("psi2", psi2, low=0.0, high=1e100, low_open=True),
             lam=check_real("lam", lam, low=0.0, high=1e100),
             mu1=check_real("mu1", mu1_, low=-1e100, high=1e100),
             mu_star=check_real("mu_star", mu_star_, low=0.0, high=1e100, low_open=True),
             F1sq=check_real("F1sq", F1sq, low=0.0, high=1e100),
             Fstar_sq=check_real("Fstar_sq", Fstar_sq, low=0.0, high=1e100),
             tau2=check_real("tau2", tau2, low=0.0, high=1e100))
    return solve(RANDOM_FEATURES, p, precision=precision, tol=tol, errors=errors)


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
