"""Ridge regression in high dimension: isotropic and general-spectrum Gaussian designs.

Setting (Hastie, Montanari, Rosset & Tibshirani 2019, "Surprises in high-dimensional ridgeless
least squares interpolation", arXiv 1903.08560): ``n`` samples ``x_i ~ N(0, Sigma)`` in ``d``
dimensions, ``y_i = <x_i, beta> + eps_i`` with ``Var eps_i = sigma2``, and the ridge estimator

    b_hat = argmin_b (1/n) ||y - X b||^2 + lam ||b||^2 = (X^T X / n + lam I)^{-1} X^T y / n,

at ``lam = 0`` the minimum-norm least-squares solution (the ``lam -> 0+`` limit). The **risk** is the
excess risk ``E_x (x^T (b_hat - beta))^2 = (b_hat - beta)^T Sigma (b_hat - beta)`` (no label noise
of the test point), in the proportional limit ``n, d -> oo``; ``risk_total = risk + sigma2``.

Names (used by every function here and by the command line):

* ``gamma = d / n`` -- the aspect ratio (isotropic case, ``Sigma = I_d``);
* ``lam`` -- the ridge penalty, normalized as above (penalty on the *average* squared loss);
* ``r2 = ||beta||^2`` -- the signal strength; ``sigma2`` -- the noise variance;
* ``eigs`` -- eigenvalues ``s_i`` of ``Sigma``; ``beta2`` -- ``<beta, v_i>^2``, the squared
  coefficients of ``beta`` along the eigenvectors (so the signal energy is ``sum_i s_i beta2_i``);
* ``kappa`` -- the effective regularization, the unique positive (largest) root of the
  deterministic-equivalent equation (Hastie et al. 2019, Thm 11 in their notation; Bach 2023,
  eq. (8); Cheng & Montanari 2022, eq. (11))::

      kappa - lam = (kappa / n) * sum_i s_i / (s_i + kappa);

* ``df1 = sum_i s_i/(s_i+kappa)``, ``df2 = sum_i s_i^2/(s_i+kappa)^2`` -- degrees of freedom;
* ``bias = kappa^2 sum_i beta2_i s_i/(s_i+kappa)^2 / (1 - df2/n)`` and
  ``variance = sigma2 (df2/n) / (1 - df2/n)``.

In the isotropic case (``s_i = 1``, ``sum_i beta2_i = r2``) the equation reads
``kappa - lam = gamma kappa / (1 + kappa)`` and ``df2/n = gamma/(1+kappa)^2``. The generic solver of
:mod:`asymptotics.engine` solves it; the hand-written Marchenko–Pastur formula
(:func:`mp_closed_form`, Hastie et al. 2019, Thm 2 / Cor. 5:
``B = r2 lam^2 m'(-lam)``, ``V = sigma2 gamma (m(-lam) - lam m'(-lam))`` with ``m`` the Stieltjes
transform of the Marchenko–Pastur law) is the independent witness the tests hold it to.

At ``lam = 0``: for ``gamma < 1`` the risk is ``sigma2 gamma / (1 - gamma)``, for ``gamma > 1``
it is ``r2 (1 - 1/gamma) + sigma2 / (gamma - 1)`` (Hastie et al. 2019, Thm 1), and at ``gamma = 1``
it is ``inf`` (the interpolation peak), returned as ``inf``, never as a large finite number.

Examples:
    >>> sol = risk(gamma=0.5, lam=0.0, r2=1.0, sigma2=1.0)
    >>> round(sol.risk, 12), round(sol.risk_total, 12)
    (1.0, 2.0)
    >>> risk(gamma=1.0, lam=0.0).risk
    inf
    >>> float(risk(gamma=2.0, lam=0.0, r2=1.0, sigma2=0.5).risk)
    1.0
"""
from __future__ import annotations

import dataclasses
import math

import mpmath
import numpy as np
import sympy as sp

from .._validation import as_output, check_array_1d, check_int, check_real, check_same_length
from ..engine.fixedpoint import DEFAULT_ACCURACY, DEFAULT_TOL, FixedPointModel, Solution, Trace, keep_mp, solve
from ..engine.roundoff import group, ratio

__all__ = [
    "RIDGE", "RIDGE_SPECTRUM", "LIMIT_WITNESSES", "risk", "spectrum_risk", "mp_closed_form", "ridgeless_risk",
    "optimal_lam", "optimal_risk", "power_law", "spiked", "marchenko_pastur",
]

SOURCE_ISO = ("Hastie, Montanari, Rosset & Tibshirani 2019, arXiv 1903.08560, Thm 1, Thm 2/Cor. 5 "
              "(isotropic design); written as the deterministic equivalent of Bach 2023, eq. (8)")
SOURCE_SPECTRUM = ("Hastie, Montanari, Rosset & Tibshirani 2019, arXiv 1903.08560, Thm 11; Bach 2023 "
                   "'High-dimensional analysis of double descent for linear regression with random "
                   "projections', eqs. (8)-(10); Cheng & Montanari 2022, arXiv 2210.08571, eq. (11)")

gamma, lam, r2, sigma2, kappa, n = sp.symbols("gamma lam r2 sigma2 kappa n", nonnegative=True)
s, b = sp.symbols("s beta2", nonnegative=True)
df1, df2, bsum, ddf = sp.symbols("df1 df2 bias_sum df1_minus_df2", nonnegative=True)
# 1 - df2/n without cancellation: at the fixed point 1 - df1/n = lam/kappa, and df1 - df2 =
# sum_i s_i kappa/(s_i + kappa)^2 >= 0, so 1 - df2/n = lam/kappa + (df1 - df2)/n, a sum of
# non-negative terms (at kappa = 0, i.e. lam = 0 and d < n, the plain form has no cancellation)
_one_minus_df2n = sp.Piecewise((lam / kappa + ddf / n, kappa > 0), (1 - df2 / n, True))
_one_minus_gamma = sp.UnevaluatedExpr(1 - gamma)

_SYMBOLS_DOC = {
    "gamma": "aspect ratio d/n", "lam": "ridge penalty on the average squared loss",
    "r2": "signal strength ||beta||^2", "sigma2": "noise variance",
    "kappa": "effective regularization", "n": "number of samples",
    "s": "eigenvalue of the covariance", "beta2": "squared coefficient of beta along its eigenvector",
}


def _iso_kappa(gamma, lam):
    """The positive root of ``kappa^2 + (1 - gamma - lam) kappa - lam = 0`` (the isotropic equation
    times ``1 + kappa``), written without cancellation; Newton then only polishes and verifies it."""
    b = gamma + lam - 1
    root = np.sqrt(b * b + 4 * lam)
    with np.errstate(divide="ignore", invalid="ignore"):
        k = np.where(b > 0, (b + root) / 2, 2 * lam / (root - b))
    return np.where(lam == 0, np.maximum(b, 0.0), k)


def _iso_singular(p, spectrum):
    # the interpolation peak: the variance sigma2 gamma/(1 - gamma + kappa(2 + kappa)) is infinite,
    # unless sigma2 = 0 (then it is 0 for every lam); the bias tends to 0 from both sides
    mask = (p["lam"] == 0) & (p["gamma"] == 1)
    var = np.where(p["sigma2"] > 0, np.inf, 0.0)
    return mask, {"kappa": 0.0, "df1_over_n": 1.0, "df2_over_n": 1.0, "bias": 0.0,
                  "variance": var, "risk": var, "risk_total": var + p["sigma2"]}


def _iso_exact(p, spectrum):
    # ridgeless below the threshold: kappa = 0 exactly (the other root, gamma - 1, is negative)
    return (p["lam"] == 0) & (p["gamma"] < 1), {"kappa": 0.0}


def _admissible(p, u, one_minus_df2_over_n):
    # the physical (Stieltjes) branch: kappa >= lam >= 0 and 1 - df2/n > 0
    return (u["kappa"] >= p["lam"] * (1 - 1e-12)) & (one_minus_df2_over_n > 0)


_D_iso = _one_minus_gamma + kappa * (2 + kappa)   # (1 + kappa)^2 (1 - df2/n)
_ISO = dict(
    name="ridge",
    parameters=(gamma, lam, r2, sigma2),
    unknowns=(kappa,),
    # (kappa - lam)(1 + kappa) = gamma kappa, expanded; 1 - gamma is kept as one term (exact in
    # floating point near gamma = 1, by Sterbenz's lemma) so that neither the residual, its
    # Jacobian 2 kappa + 1 - gamma - lam, nor 1 - df2/n cancels catastrophically at the threshold.
    equations=(kappa ** 2 + (_one_minus_gamma - lam) * kappa - lam,),
    source=SOURCE_ISO,
    lower_bounds=(0.0,),
    initial_guess=lambda gamma, lam, r2, sigma2: (_iso_kappa(gamma, lam),),
    admissible=lambda p, u, t: _admissible(p, u, (1 - p["gamma"]) + u["kappa"] * (2 + u["kappa"])),
    singular=_iso_singular,
    exact=_iso_exact,
    symbols_doc=_SYMBOLS_DOC,
)
_ISO_OUTPUTS = {
    "df1_over_n": gamma / (1 + kappa),
    "df2_over_n": gamma / (1 + kappa) ** 2,
    # 1 - df2/n = (1 - gamma + kappa (2 + kappa)) / (1 + kappa)^2
    "bias": r2 * kappa ** 2 / _D_iso,
    "variance": sigma2 * gamma / _D_iso,
    "risk": sp.Symbol("bias") + sp.Symbol("variance"),
    "risk_total": sp.Symbol("risk") + sigma2,
}

#: What the solver evaluates: the same outputs, the bias as r2 kappa (kappa/D) instead of
#: r2 kappa^2/D (at gamma -> 1-, lam -> 0, kappa^2 underflows before the division by the small D
#: would bring it back; issue 12).
RIDGE_NUMERIC = FixedPointModel(
    outputs={"kappa": kappa, **_ISO_OUTPUTS, "bias": r2 * kappa * group(kappa / _D_iso)}, **_ISO)

RIDGE = FixedPointModel(
    outputs=_ISO_OUTPUTS,
    sample_ranges={"gamma": (0.1, 5.0), "lam": (0.01, 2.0), "r2": (0.1, 3.0), "sigma2": (0.1, 3.0)},
    regimes={"gamma<1": {"gamma": (0, 1)}, "gamma>1": {"gamma": (1, sp.oo)}},
    numeric=RIDGE_NUMERIC,
    **_ISO,
)


#: Hastie et al. (2019), Thm 1, as sympy expressions: the published ridgeless risks that the limits
#: derived from RIDGE must reproduce, keyed by (parameter, value, regime).
LIMIT_WITNESSES = {
    ("lam", "0", "gamma<1"): sigma2 * gamma / (1 - gamma),
    ("lam", "0", "gamma>1"): r2 * (1 - 1 / gamma) + sigma2 / (gamma - 1),
}


def _spec_singular(p, spectrum):
    rank = np.count_nonzero(spectrum["s"] > 0)
    mask = (p["lam"] == 0) & (p["n"] == rank)
    var = np.where(p["sigma2"] > 0, np.inf, 0.0)
    return mask, {"kappa": 0.0, "df1": float(rank), "df2": float(rank), "bias": 0.0, "variance": var, "risk": var, "risk_total": var + p["sigma2"]}


def _spec_exact(p, spectrum):
    # ridgeless with more samples than dimensions: 1 - df1/n >= 1 - d/n > 0 for every kappa > 0,
    # so the only root is kappa = 0, exactly (Newton would only approach it through subnormals)
    d = np.count_nonzero(spectrum["s"] > 0)
    return (p["lam"] == 0) & (p["n"] > d), {"kappa": 0.0}


# The spectral model, written without cancellation or overflow (issue 12): with q_i = s_i/(s_i + kappa)
# and c_i = kappa/(s_i + kappa) = 1 - q_i, both computed directly (``ratio``), and d_> the number of
# components with s_i >= kappa,
#   n (1 - df1/n) = n - d_> + sum_{s_i >= kappa} c_i - sum_{s_i < kappa} q_i,
# where n - d_> is one exact number (``group``) and every term of the sums is at most 1/2: the
# equation kappa (1 - df1/n) = lam then loses no digits to the O(1) parts of the degrees of freedom
# (the plain form kappa - lam - kappa df1/n lost all of them at n = d, lam -> 0, and the roots of
# spectra spanning many orders of magnitude). kappa^2 beta2 s/(s+kappa)^2 = kappa beta2 q c never
# forms (s + kappa)^2 (eigenvalues up to ~1e300) nor kappa^2 (underflow), and the bias is
# kappa (sum_i beta2_i q_i c_i / (1 - df2/n)). At kappa = 0 (lam = 0, n > d): 1 - df2/n = (n - d)/n.
nd, dmix = sp.symbols("d_kappa delta_kappa", real=True)
_q, _c = ratio(s, kappa), ratio(kappa, s)
_one_minus_df2n_spec = sp.Piecewise((lam / kappa + ddf / n, kappa > 0), (group(n - nd) / n, True))

RIDGE_SPECTRUM = FixedPointModel(
    name="ridge-spectrum",
    parameters=(n, lam, sigma2),
    unknowns=(kappa,),
    equations=(kappa * (group(n - nd) + dmix) / n - lam,),
    traces=(Trace(nd, sp.Piecewise((1, s >= kappa), (0, True)), "number of eigenvalues >= kappa"),
            Trace(dmix, sp.Piecewise((_c, s >= kappa), (-_q, True)), "d_> - df1"),
            Trace(df1, _q, "first degrees of freedom"),
            Trace(df2, _q ** 2, "second degrees of freedom"),
            Trace(bsum, b * _q * _c, "signal left by the shrinkage over kappa"),
            Trace(ddf, _q * _c, "df1 - df2")),
    components=(s, b),
    outputs={
        "df1": df1,
        "df2": df2,
        # kappa (sum beta2 q c / D): never kappa^2 (or c^2) before the division by the small D
        "bias": kappa * group(bsum / _one_minus_df2n_spec),
        "variance": sigma2 * (df2 / n) / _one_minus_df2n_spec,
        "risk": sp.Symbol("bias") + sp.Symbol("variance"),
        "risk_total": sp.Symbol("risk") + sigma2,
    },
    source=SOURCE_SPECTRUM,
    lower_bounds=(0.0,),
    # kappa <= lam + tr(Sigma)/n; Newton from this upper bound converges monotonically (the residual,
    # kappa - lam - kappa df1/n written as above, is convex in kappa)
    initial_guess=lambda n, lam, sigma2, spectrum: (lam + np.sum(spectrum["s"]) / n,),
    admissible=lambda p, u, t: _admissible(p, u, np.where(
        u["kappa"] > 0, p["lam"] / np.where(u["kappa"] > 0, u["kappa"], 1.0) + t["df1_minus_df2"] / p["n"],
        (p["n"] - t["d_kappa"]) / p["n"])),
    singular=_spec_singular,
    exact=_spec_exact,
    symbols_doc=_SYMBOLS_DOC,
    sample_ranges={"n": (10.0, 1000.0), "lam": (0.01, 2.0), "sigma2": (0.1, 3.0)},
)


#: The domain of every ridge parameter: (low, high, low_open). Wider than any use (the solver works in
#: double precision, where kappa^2 must not overflow) and checked by one helper.
_DOMAIN = {
    "gamma": (0.0, 1e100, True), "n": (0.0, 1e100, True), "lam": (0.0, 1e100, False),
    "r2": (0.0, 1e100, False), "sigma2": (0.0, 1e100, False),
}


def _check(**values) -> dict:
    """Validate parameters against :data:`_DOMAIN`; returns float arrays."""
    out = {}
    for name, v in values.items():
        low, high, low_open = _DOMAIN[name]
        out[name] = check_real(name, v, low=low, high=high, low_open=low_open)
    return out


def risk(gamma, lam=0.0, r2=1.0, sigma2=1.0, *, precision: int | None = None,
         tol: float = DEFAULT_TOL, errors: str = "raise", accuracy: float = DEFAULT_ACCURACY,
         resolve: bool = True) -> Solution:
    """Asymptotic risk of ridge regression with isotropic Gaussian design.

    Broadcasts over its array arguments like a numpy ufunc: a whole grid is solved in one call.

    Args:
        gamma: ``d/n`` > 0.
        lam: ridge penalty >= 0 (``0`` gives the minimum-norm interpolator for ``gamma > 1``).
        r2: ``||beta||^2`` >= 0.
        sigma2: noise variance >= 0.
        precision: if given, re-solve each point in mpmath at this many digits (parameters given as
            mpmath numbers are then used at their full precision).
        tol: Newton step tolerance (double precision).
        errors: ``"raise"`` or ``"mask"`` for points that could not be solved (see
            :func:`asymptotics.engine.solve`).
        accuracy: bound on the estimated relative error of every output (default ``1e-10``);
        resolve: re-solve points whose estimate exceeds it in mpmath (default), else mask or raise
            (the accuracy contract of :mod:`asymptotics.engine.fixedpoint`).

    Returns:
        A :class:`~asymptotics.engine.fixedpoint.Solution` with outputs ``risk`` (excess risk),
        ``bias``, ``variance``, ``risk_total`` (= risk + sigma2), ``df1_over_n``, ``df2_over_n`` and
        unknown ``kappa``. ``risk = inf`` at ``gamma = 1, lam = 0``.

    Raises:
        ValueError: for parameters out of range.

    Examples:
        >>> sol = risk(gamma=[0.5, 2.0], lam=0.1)
        >>> sol.risk.round(6)
        array([0.603567, 1.227707])
    """
    raw = dict(gamma=gamma, lam=lam, r2=r2, sigma2=sigma2)
    p = {k: keep_mp(raw[k], v, precision) for k, v in _check(**raw).items()}
    return solve(RIDGE, p, precision=precision, tol=tol, errors=errors, accuracy=accuracy, resolve=resolve)


def _check_spectrum(eigs, beta2, precision=None):
    eigs_f = check_array_1d("eigs", eigs, low=0.0)
    beta2_f = check_array_1d("beta2", beta2, low=0.0)
    check_same_length(eigs=eigs_f, beta2=beta2_f)
    if not (eigs_f > 0).any():
        raise ValueError("eigs must have at least one positive eigenvalue")
    if not np.isfinite(np.sum(eigs_f)):
        raise ValueError("eigs: the trace sum(eigs) overflows double precision; rescale the spectrum")
    keep = eigs_f > 0  # null directions of Sigma carry no risk and no degrees of freedom
    e = keep_mp(eigs, eigs_f, precision)
    b2 = keep_mp(beta2, beta2_f, precision)
    return np.asarray(e).ravel()[keep], np.asarray(b2).ravel()[keep]


def spectrum_risk(eigs, beta2, n, lam=0.0, sigma2=1.0, *, precision: int | None = None,
                  tol: float = DEFAULT_TOL, errors: str = "raise", accuracy: float = DEFAULT_ACCURACY,
                  resolve: bool = True) -> Solution:
    """Deterministic-equivalent risk of ridge regression with covariance eigenvalues ``eigs``.

    Args:
        eigs: 1-d array of covariance eigenvalues (>= 0; zero eigenvalues carry no risk and are
            dropped).
        beta2: 1-d array, same length, of ``<beta, v_i>^2`` (>= 0).
        n: number of samples (> 0; may be an array to sweep the sample size).
        lam: ridge penalty >= 0.
        sigma2: noise variance >= 0.
        precision, tol, errors, accuracy, resolve: as in :func:`risk` (eigenvalues and weights given
            as mpmath numbers enter the ``precision`` path at full precision).

    Returns:
        A Solution with ``risk``, ``bias``, ``variance``, ``risk_total``, ``df1``, ``df2`` and
        ``kappa``. ``risk = inf`` when ``lam = 0`` and ``n`` equals the number of positive eigenvalues.

    Examples:
        >>> sol = spectrum_risk(eigs=np.ones(200), beta2=np.full(200, 1 / 200), n=400, lam=0.0)
        >>> round(sol.risk, 12)  # = sigma2 gamma/(1-gamma) at gamma = 1/2
        1.0
    """
    eigs, beta2 = _check_spectrum(eigs, beta2, precision)
    raw = dict(n=n, lam=lam, sigma2=sigma2)
    p = {k: keep_mp(raw[k], v, precision) for k, v in _check(**raw).items()}
    tr = float(np.sum(np.asarray(eigs, dtype=float)))
    n_min = float(np.min(np.asarray(p["n"], dtype=float)))
    if tr <= 1e300 * n_min:
        return solve(RIDGE_SPECTRUM, p, spectrum={"s": eigs, "beta2": beta2}, precision=precision,
                     tol=tol, errors=errors, accuracy=accuracy, resolve=resolve)
    # kappa ~ tr(Sigma)/n would overflow: solve the exactly equivalent problem (c Sigma, beta/sqrt(c),
    # c lam), c = 2^-k (exact in binary), whose bias, variance, risk and df are the same and whose
    # kappa is c kappa; refused only if the spectrum's dynamic range does not survive the scaling
    k = math.ceil(math.log2(tr) - math.log2(n_min) - math.log2(1e300))
    c = 2.0 ** -k
    es = np.asarray(eigs, dtype=float) * c
    bs = np.asarray(beta2, dtype=float) * 2.0 ** k
    lam_f = np.asarray(p["lam"], dtype=float)
    tiny = np.finfo(float).tiny
    if (es < tiny).any() or not np.isfinite(bs).all() or ((lam_f > 0) & (lam_f * c < tiny)).any():
        # the spectrum's dynamic range does not survive the rescaling: solve in mpmath (no exponent
        # range), and return doubles unless ``precision`` was asked for
        return _solved_in_mpmath(p, eigs, beta2, precision, tol, errors, accuracy, resolve)
    scaled = dict(p, lam=_times(p["lam"], c))
    sol = solve(RIDGE_SPECTRUM, scaled, spectrum={"s": _times(eigs, c), "beta2": _times(beta2, 2.0 ** k)},
                precision=precision, tol=tol, errors=errors, accuracy=accuracy, resolve=resolve)
    return _unscaled(sol, p, ("lam",), k)


def _unscaled(sol, p, names, k):
    """The solution of a problem rescaled by ``2^-k`` (:func:`spectrum_risk`, ``kernel_ridge.risk``)
    in the caller's units: the parameters ``names`` as given in ``p``, ``kappa`` times ``2^k`` (``inf``
    where the true kappa exceeds 1.8e308); every other output is scale invariant."""
    with np.errstate(over="ignore"):
        kappa = _times(sol.unknowns["kappa"], 2.0 ** k)
    shape = np.shape(sol.params[names[0]])
    params = {**sol.params, **{nm: np.broadcast_to(np.asarray(p[nm]), shape) for nm in names}}
    return dataclasses.replace(sol, params=params, unknowns={**sol.unknowns, "kappa": kappa})


def _solved_in_mpmath(p, eigs, beta2, precision, tol, errors, accuracy, resolve):
    """:func:`spectrum_risk` where ``kappa`` is beyond the double range and cannot be rescaled: the
    mpmath solve at ``precision`` (30 digits by default), rounded to double unless ``precision`` was
    given; the accuracy then adds the rounding to double (2^-53 relative)."""
    digits = 30 if precision is None else precision
    sol = solve(RIDGE_SPECTRUM, p, spectrum={"s": eigs, "beta2": beta2}, precision=digits, tol=tol,
                errors=errors, accuracy=max(accuracy, 10.0 ** (1 - digits)), resolve=resolve)
    if precision is not None:
        return sol

    def to_float(a):
        data = np.asarray(np.ma.getdata(a), dtype=object)
        out = np.array([float(v) for v in data.ravel()], dtype=float).reshape(data.shape)
        return np.ma.masked_array(out, mask=np.ma.getmaskarray(a)) if isinstance(a, np.ma.MaskedArray) else out

    acc = {k: np.asarray(v, dtype=float) + 2.0 ** -53 for k, v in sol.accuracy.items()}
    status = np.asarray(sol.status, dtype=object).copy()
    for i, st in enumerate(status.ravel()):
        if st in ("ok", "exact"):
            status.ravel()[i] = f"re-solved at {digits} digits"
    return dataclasses.replace(sol, precision=None, unknowns={k: to_float(v) for k, v in sol.unknowns.items()},
                               outputs={k: to_float(v) for k, v in sol.outputs.items()}, accuracy=acc,
                               status=status, bound=accuracy)


def _times(a, c):
    """``a * c`` for a float, array or mpmath object array, ``c`` a power of two (exact); masks kept."""
    if isinstance(a, np.ma.MaskedArray):
        return np.ma.masked_array(_times(np.ma.getdata(a), c), mask=np.ma.getmaskarray(a))
    arr = np.asarray(a)
    if arr.dtype == object:
        return np.array([v * mpmath.mpf(c) for v in arr.ravel()], dtype=object).reshape(arr.shape)
    return arr * c


def _has_obj(a):
    return isinstance(a, np.ndarray) and a.dtype == object


# ---------------------------------------------------------------------- hand-written witnesses
def _mp_stieltjes(gamma, lam, sqrt):
    """``m(-lam)`` of the Marchenko-Pastur law of ratio gamma, ``root`` and ``root + b`` (Hastie et
    al. 2019, eq. (11)): ``m`` is the positive root of ``gamma lam m^2 + a m - 1 = 0``,
    ``a = 1 - gamma + lam``, ``root = sqrt(a^2 + 4 gamma lam) = sqrt(b^2 + 4 lam)`` with
    ``b = 1 - gamma - lam``.

    Written without cancellation: ``m = 2/(root + a)`` when ``a >= 0`` and ``(root - a)/(2 gamma lam)``
    otherwise; ``root + b = 4 lam/(root - b)`` when ``b < 0``.
    """
    a = 1 - gamma + lam
    b = 1 - gamma - lam
    root = sqrt(a * a + 4 * gamma * lam)
    if isinstance(a, mpmath.mpf):
        m = 2 / (root + a) if a >= 0 else (root - a) / (2 * gamma * lam)
        rb = root + b if b >= 0 else 4 * lam / (root - b)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            m = np.where(a >= 0, 2 / (root + a), (root - a) / (2 * gamma * lam))
            rb = np.where(b >= 0, root + b, 4 * lam / (root - b))
    return m, root, rb


def _mp_bias_variance(gamma, lam, r2, sigma2, sqrt):
    m, root, rb = _mp_stieltjes(gamma, lam, sqrt)
    # m'(-lam) = m (gamma m + 1)/root (implicit differentiation of the quadratic, whose derivative in
    # m at the root is root); B = r2 lam^2 m' grouped as (lam m)(lam (gamma m + 1)/root) (no overflow)
    bias = r2 * (lam * m) * (lam * (gamma * m + 1) / root)
    # m - lam m' = m (root - lam gamma m - lam)/root, and lam gamma m = 1/m - a = (root - a)/2 by the
    # quadratic, so m - lam m' = m (root + b)/(2 root): a product of positive factors (the plain
    # difference cancels completely at small lam for gamma > 1 and at large lam)
    var = sigma2 * gamma * m * rb / (2 * root)
    return bias, var


def mp_closed_form(gamma, lam, r2=1.0, sigma2=1.0, *, precision: int | None = None):
    """Hastie et al. (2019) Thm 2 / Cor. 5: ``(bias, variance)`` from the Marchenko–Pastur Stieltjes
    transform ``m``, ``B = r2 lam^2 m'(-lam)``, ``V = sigma2 gamma (m(-lam) - lam m'(-lam))``.

    Domain ``1e-150 <= lam <= 1e100`` (``gamma m <= gamma/lam`` must stay finite and the bias
    ``~ lam^2`` must not underflow), the other parameters as in
    :func:`risk`. Written without cancellation (:func:`_mp_bias_variance`; the textbook difference
    ``m - lam m'`` lost every digit of the variance for ``gamma > 1`` at ``lam <= 1e-20`` and for
    ``lam >= 1e20``: tests hold both forms to a 300-digit evaluation). An independent, hand-written
    witness of :func:`risk`; with ``precision`` it is evaluated in mpmath at that many digits
    (scalars only).

    Examples:
        >>> bias, var = mp_closed_form(2.0, 0.3, 1.3, 0.7)
        >>> round(bias, 10), round(var, 10)
        (0.6882352941, 0.3294117647)
    """
    gamma, r2, sigma2 = _check(gamma=gamma, r2=r2, sigma2=sigma2).values()
    lam = check_real("lam", lam, low=1e-150, high=1e100)
    if precision is not None:
        with mpmath.workdps(precision + 10):
            g, l, rr, ss = (mpmath.mpf(float(v)) for v in (gamma, lam, r2, sigma2))
            out = _mp_bias_variance(g, l, rr, ss, mpmath.sqrt)
        with mpmath.workdps(precision):
            return tuple(+v for v in out)
    bias, var = _mp_bias_variance(gamma, lam, r2, sigma2, np.sqrt)
    return as_output(bias), as_output(var)


def ridgeless_risk(gamma, r2=1.0, sigma2=1.0):
    """Hastie et al. (2019), Thm 1: the ``lam -> 0`` risk of the min-norm interpolator.

    ``sigma2 gamma/(1-gamma)`` for ``gamma < 1``; ``r2 (1 - 1/gamma) + sigma2/(gamma - 1)`` for
    ``gamma > 1``; at ``gamma = 1`` ``inf`` if ``sigma2 > 0`` and ``0`` if ``sigma2 = 0`` (the
    noiseless limit: the bias ``r2 (1 - 1/gamma)_+`` is continuous and 0 there, and :func:`risk` at
    ``gamma = 1, lam = 0, sigma2 = 0`` gives 0 for every ``lam``).

    Examples:
        >>> ridgeless_risk([0.5, 1.0, 2.0], r2=1.0, sigma2=1.0)
        array([1. , inf, 1.5])
        >>> ridgeless_risk(1.0, r2=1.0, sigma2=0.0)
        0.0
    """
    g, r2, sigma2 = _check(gamma=gamma, r2=r2, sigma2=sigma2).values()
    g, r2, sigma2 = np.broadcast_arrays(g, r2, sigma2)
    out = np.where(sigma2 > 0, np.inf, 0.0)
    lo, hi = g < 1, g > 1
    out[lo] = sigma2[lo] * g[lo] / (1 - g[lo])
    # (g - 1)/g, not 1 - 1/g: g - 1 is exact near 1 (Sterbenz), 1 - 1/g loses the digits of 1/g
    out[hi] = r2[hi] * ((g[hi] - 1) / g[hi]) + sigma2[hi] / (g[hi] - 1)
    return as_output(out)


def optimal_lam(gamma, r2=1.0, sigma2=1.0):
    """The risk-minimizing ridge ``lam* = sigma2 gamma / r2`` (Dobriban & Wager 2018, Thm 2.1;
    Hastie et al. 2019, Cor. 5). ``r2 = 0`` gives ``inf`` (shrink everything).

    >>> optimal_lam(2.0, r2=1.0, sigma2=0.5)
    1.0
    """
    g, r2, sigma2 = _check(gamma=gamma, r2=r2, sigma2=sigma2).values()
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(r2 > 0, sigma2 * g / np.where(r2 > 0, r2, 1.0), np.inf)
    return as_output(out)


def optimal_risk(gamma, r2=1.0, sigma2=1.0):
    """The risk at ``lam*``: ``sigma2 gamma m(-lam*)`` (Dobriban & Wager 2018, Thm 2.1), with ``m`` the
    Marchenko–Pastur Stieltjes transform. Edge cases: ``sigma2 = 0`` gives ``lam* = 0`` and the
    ridgeless bias ``r2 (1 - 1/gamma)_+``; ``r2 = 0 < sigma2`` gives ``lam* = inf`` and risk 0.

    >>> round(optimal_risk(2.0, 1.3, 0.7), 12)
    0.9292667342
    """
    g, r2, sigma2 = _check(gamma=gamma, r2=r2, sigma2=sigma2).values()
    g, r2, sigma2 = np.broadcast_arrays(g, r2, sigma2)
    out = np.empty(g.shape)
    noisy = (sigma2 > 0) & (r2 > 0)
    # sigma2 gamma m(-lam*) = r2 lam* m(-lam*), and lam m(-lam) in (0, 1] is computed without overflow:
    # 2 lam/(root + a) for a = 1 - gamma + lam >= 0, (root - a)/(2 gamma) otherwise
    gn = g[noisy]
    ls = sigma2[noisy] * gn / r2[noisy]
    a = 1 - gn + ls
    root = np.sqrt(a * a + 4 * gn * ls)
    with np.errstate(divide="ignore", invalid="ignore"):
        lam_m = np.where(a >= 0, 2 * ls / (root + a), (root - a) / (2 * gn))
    out[noisy] = r2[noisy] * lam_m
    quiet = ~noisy & (sigma2 == 0)
    out[quiet] = r2[quiet] * np.maximum(0, 1 - 1 / g[quiet])
    out[~noisy & (sigma2 > 0)] = 0.0  # r2 = 0: predict 0 (lam* = inf), no error
    return as_output(out)


# ---------------------------------------------------------------------- spectra as laws
def power_law(d: int, alpha: float, scale: float = 1.0) -> np.ndarray:
    """Eigenvalues ``scale * i^(-alpha)``, ``i = 1..d`` (capacity condition of, e.g., Cheng &
    Montanari 2022, Sec. 4).

    >>> power_law(3, 1.0)
    array([1.        , 0.5       , 0.33333333])
    """
    d = check_int("d", d, low=1)
    alpha = float(check_real("alpha", alpha, low=0.0, low_open=True))
    scale = float(check_real("scale", scale, low=0.0, low_open=True))
    return scale * np.arange(1, d + 1, dtype=float) ** (-alpha)


def spiked(d: int, spikes, bulk: float = 1.0) -> np.ndarray:
    """``len(spikes)`` spike eigenvalues followed by ``d - len(spikes)`` eigenvalues ``bulk``.

    >>> spiked(4, [10.0, 5.0])
    array([10.,  5.,  1.,  1.])
    """
    d = check_int("d", d, low=1)
    spikes = check_array_1d("spikes", spikes, low=0.0, low_open=True, min_length=0)
    if spikes.size > d:
        raise ValueError(f"spikes must have at most d = {d} entries, got {spikes.size}")
    bulk = float(check_real("bulk", bulk, low=0.0, low_open=True))
    return np.concatenate([spikes, np.full(d - spikes.size, bulk)])


def marchenko_pastur(d: int, ratio: float, variance: float = 1.0) -> np.ndarray:
    """``d`` eigenvalues at the midpoint quantiles ``(i - 1/2)/d`` of the Marchenko–Pastur law of
    aspect ratio ``0 < ratio <= 1`` and scale ``variance`` (the spectrum of ``W^T W / m`` for an
    ``m x (ratio m)`` matrix with i.i.d. entries of that variance): support
    ``variance (1 -+ sqrt(ratio))^2``, mean ``variance``.

    >>> e = marchenko_pastur(2000, 0.25)
    >>> round(float(e.mean()), 3), round(float(e.min()), 2), round(float(e.max()), 2)
    (1.0, 0.25, 2.24)
    """
    d = check_int("d", d, low=1)
    c = float(check_real("ratio", ratio, low=0.0, high=1.0, low_open=True))
    v = float(check_real("variance", variance, low=0.0, low_open=True))
    a, bb = (1 - np.sqrt(c)) ** 2, (1 + np.sqrt(c)) ** 2
    # x = (a+b)/2 - (b-a)/2 cos(theta): the density becomes smooth in theta
    theta = np.linspace(0.0, np.pi, 20001)
    x = (a + bb) / 2 - (bb - a) / 2 * np.cos(theta)
    dens_dtheta = ((bb - a) / 2 * np.sin(theta)) ** 2 / (2 * np.pi * c * x)
    cdf = np.concatenate([[0.0], np.cumsum((dens_dtheta[1:] + dens_dtheta[:-1]) / 2 * np.diff(theta))])
    cdf /= cdf[-1]
    q = (np.arange(d) + 0.5) / d
    return v * np.interp(q, cdf, x)
