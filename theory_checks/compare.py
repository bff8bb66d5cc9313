r"""Finite-size extrapolation: the statistics behind every theory-versus-simulation verdict.

A Monte Carlo simulation at finite size does not estimate the ``d -> oo`` limit ``T`` of a risk but
its finite-size expectation ``E R(d) = T + a/d + O(1/d^2)``. A check therefore simulates each
parameter point at a **ladder** of sizes ``d_1 < ... < d_K`` (the model's ratios held fixed), and
extrapolates the residuals to ``1/d = 0``.

The fit
-------
At size ``d_i`` the simulation has ``S_i`` independent seeds with mean ``m_i`` and standard error
``se_i = sd_i / sqrt(S_i)``; the theory is evaluated at the *simulated* parameters of that size
(integer ``n``, ``N``, so rounding is not mistaken for a finite-size effect), ``T_i``. The residuals
``y_i = m_i - T_i`` are fitted by weighted least squares (weights ``S_i / v_i``, the per-draw
variances ``v_i`` smoothed by a power law in ``d``, :func:`smoothed_variances`) as

    ``y_i = delta + a / d_i + b / d_i^2``   (``fit = "1/d+1/d^2"``) with ``K >= 4`` sizes,
    ``y_i = delta + a / d_i``               (``fit = "1/d"``) with 2 or 3 sizes.

Three-size ladders (e.g. the ``nt-staircase`` default ``t = 1/2, 2^(-1/2), 1``) cover less than the
nominal 95 %: on synthetic ladders ``d = 100, 200, 400`` (``a/d`` bias, noise ``~ d^(-1/2)``, 2000
runs) the interval covered 90.7-91.9 % under centred ``chi2_3`` noise and 92.5-94.6 % under Gaussian
noise at 6-20 seeds per size (``tests/test_compare.py``, ``_synthetic``; an independent review found
90.5-92.5 % and 93.5-94.2 %).

Why the ``1/d^2`` term from four sizes on, instead of adding it only when a test rejects the line:
a curvature that the line absorbs into its intercept is *invisible* to any goodness-of-fit test.
Measured on random features (``psi1 = 3, psi2 = 1.5, lam = 1, tau2 = 0.1``, ladder ``d = 50..200``,
10 seeds): ``d (mean - T_i)/T`` rises from 0.66 to 0.91, the line fits with ``p = 0.67`` and puts the
intercept at ``+0.17 %`` with a half-width of ``0.13 %`` -- a correct theory rejected; the quadratic
gives ``0.00 % +- 0.41 %``. On synthetic ladders (below) the quadratic covers at the nominal rate with
or without a true ``1/d^2`` term; the line with a test-triggered ``1/d^2`` did not.

Goodness of fit: ``chi2 = sum (y_i - fit_i)^2 / se_i^2`` of the chi-square-minimal fit, read as
``F = chi2 / dof`` (``dof = K - p``, ``p`` coefficients) against the F distribution with
``(dof, nu_h)`` degrees of freedom, ``nu_h = 1 / mean(1 / (S_i - 1))`` (the standard errors are
themselves estimated; with the plain chi-square distribution the test fired in 2.5 % instead of 1 %
of exact-model data at 10 seeds). Its p-value is reported. When it is below ``0.01`` the fit is
worse than its error bars: for three sizes the line is replaced by the quadratic; otherwise the
variance of ``delta`` is multiplied by the Birge ratio (the Particle Data Group's scale factor), so
an evident misfit widens the interval instead of producing a false verdict. The Birge ratio is
computed from the residuals of the fit actually used -- the smoothed-weight fit that gives
``delta_hat`` -- measured in the raw standard errors, ``B = max(1, sum (y_i - fit_i)^2 / se_i^2 / dof)``;
it is not the chi-square-minimal ``chi2`` of the test (which is reported). Since the chi-square-minimal
fit minimises that sum, ``B >= chi2 / dof``: conservative (a wider interval).

``delta_hat = sum_i c_i y_i`` is a linear combination of the per-size means (``c`` is the first row
of ``(A^T W A)^{-1} A^T W``), so its variance is ``V = B sum_i c_i^2 se_i^2`` and its confidence
interval is ``delta_hat +- t_{nu, (1 + level)/2} sqrt(V)`` with the Welch-Satterthwaite degrees of
freedom ``nu = (sum_i u_i)^2 / sum_i u_i^2 / (S_i - 1)``, ``u_i = c_i^2 se_i^2`` (each ``se_i^2`` is
estimated on ``S_i - 1`` degrees of freedom). The extrapolated risk is ``R_inf = T + delta_hat``
with ``T`` the theory at the requested point, and the interval is ``R_inf +- h``, ``h = t sqrt(V)``.

Calibration on synthetic ladders (4 and 5 sizes from 100 to 400, ``a/d`` bias with or without a
``b/d^2`` term as large as the noise at the smallest size, per-draw standard deviation
``~ d^{-1/2}``, Gaussian or strongly skewed (centred chi-square with 3 degrees of freedom) draws,
2000 runs each): coverage of the 95 % interval 93.8-95.5 % at 6, 10 and 20 seeds per size. The line
with raw ``1/se^2`` weights and a chi-square-triggered ``1/d^2`` term covered 86-94 %, and under a
``b/d^2`` term 87-93 %. The models' calibration tests measure the coverage on the real simulations.

Verdict and resolution
----------------------
* ``agree``: ``T`` lies in ``[R_inf - h, R_inf + h]`` (equivalently ``|delta_hat| <= h``);
* ``disagree``: it does not;
* ``inconclusive``: the interval contains ``T`` but cannot tell right from wrong: either it is not
  informative (``resolution >= 1``: the half-width is at least ``|T|``, so the interval cannot tell
  ``T`` from ``0`` or ``2T``; with or without a target; not applied where ``T = 0``), or a
  resolution target was given and *this point* did not meet it (``resolution > target``: the budget
  ran out first). A ``disagree`` stays ``disagree`` whatever the width or the budget;
* ``diverges``: the theory is ``+inf`` (the means are still reported; nothing is fitted).

``resolution = h / |T|``: the relative half-width of the interval, i.e. the smallest relative error
of a theory that the check detects (a theory off by ``2 * resolution`` is rejected in about 97.5 %
of runs). When ``T = 0`` a relative error is undefined and ``resolution`` is the absolute
half-width ``h`` (the summary says so).

A **single size** (``K = 1``) makes no finite-size correction: ``delta_hat = m_1 - T_1`` with the
Student-t quantile on ``S_1 - 1`` degrees of freedom, ``fit = "none"``. A two-size ladder fits the
line exactly (no goodness-of-fit test, ``p_value`` is ``None``); a four-size quadratic keeps one
degree of freedom for its test.

>>> f = fit_ladder([100, 200, 400], [0.03, 0.015, 0.0075], [0.002, 0.002, 0.002], [10, 10, 10])
>>> f.kind, abs(round(f.delta, 12)), round(f.slope, 9), round(f.p_value, 6)
('1/d', 0.0, 3.0, 1.0)
>>> round(f.half_width, 6) == round(f.t_quantile * f.se, 6)
True
>>> c = make_check({"lam": 0.1}, 1.0, [100, 200, 400], [1.0] * 3,
...                [1.03, 1.015, 1.0075], [0.002] * 3, [10] * 3)
>>> c.verdict, round(c.extrapolated, 9)
('agree', 1.0)
>>> make_check({}, float("inf"), [100], [float("inf")], [1e3], [50.0], [10]).verdict
'diverges'
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from asymptotics._validation import check_int, check_real

__all__ = ["Fit", "Check", "fit_ladder", "smoothed_variances", "make_check", "compare", "compare_many", "mc_scale", "LEVEL",
           "QUADRATIC_P", "RESERVED_KEYS", "METHOD", "method_text"]

#: Confidence level of the interval.
LEVEL = 0.95
#: Goodness-of-fit level (F test): below it a 3-size line becomes a quadratic, other fits get the Birge ratio.
QUADRATIC_P = 0.01
#: One line describing the method (the table's summary line).
METHOD = ("finite-size ladder: residuals mean - theory(size) fitted as delta + a/d + b/d^2 (4 or more "
          "sizes; delta + a/d with 2-3) by weighted least squares, {level:g} % interval of delta with a "
          "Student-t quantile on Welch-Satterthwaite degrees of freedom (widened by the Birge ratio if "
          "the fit's F test has p < 0.01)")

#: Keys of :meth:`Check.to_record` besides the parameters; parameter names must avoid them.
RESERVED_KEYS = ("theory", "extrapolated", "ci_low", "ci_high", "resolution", "slope", "fit", "p_value",
                 "verdict", "target_met", "sizes", "means", "ses", "seeds", "theories")


# ------------------------------------------------------------------------------------------------
# the fit
# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Fit:
    """A weighted least-squares fit of residuals against ``1/d`` (module docstring).

    Attributes:
        kind: ``"none"`` (single size), ``"1/d"`` or ``"1/d+1/d^2"``.
        delta: the extrapolated residual at ``1/d = 0``.
        slope: ``a`` (``None`` for a single size).
        curvature: ``b`` (``None`` unless ``kind == "1/d+1/d^2"``).
        se: standard error of ``delta``, ``sqrt(sum c_i^2 se_i^2)``.
        dof: Welch-Satterthwaite degrees of freedom of ``se`` (``S_1 - 1`` for a single size).
        t_quantile: the Student-t quantile at ``(1 + level)/2`` on ``dof``.
        half_width: ``t_quantile * se``.
        chi2, p_value: chi-square statistic of the fit used and the p-value of its F test
            (``None`` without residual degrees of freedom).
        coefficients: ``c_i`` with ``delta = sum c_i y_i``.
        level: confidence level.
        scale: the Birge ratio by which the variance of ``delta`` was multiplied (1 unless the
            goodness-of-fit test rejected the fit).
    """

    kind: str
    delta: float
    slope: float | None
    curvature: float | None
    se: float
    dof: float
    t_quantile: float
    half_width: float
    chi2: float | None
    p_value: float | None
    coefficients: tuple
    level: float = LEVEL
    scale: float = 1.0


def smoothed_variances(sizes, ses, seeds) -> np.ndarray:
    """Per-draw variances ``v_i`` from the pooled power law ``log(S_i se_i^2) = alpha + beta log d_i``
    (ordinary least squares over the ``K >= 3`` sizes); the raw ``S_i se_i^2`` for ``K <= 2``.

    Used for the fit's *weights* only: weights computed from the noisy per-size variances
    themselves make the estimated variance of ``delta_hat`` optimistic (coverage 92 % instead of
    95 % at 10 seeds per size in a Gaussian simulation of the fit); smoothed weights are nearly as
    efficient and leave the variance estimate ``sum c_i^2 se_i^2`` honest. Any weights give an
    unbiased ``delta_hat``; a wrong variance law only costs efficiency.
    """
    d = np.asarray(sizes, dtype=float)
    v = np.asarray(ses, dtype=float) ** 2 * np.asarray(seeds, dtype=float)
    if d.size <= 2:
        return v
    floor = max(1e-24 * float(np.max(v)), 1e-300)
    A = np.vstack([np.ones_like(d), np.log(d)]).T
    coef = np.linalg.lstsq(A, np.log(np.maximum(v, floor)), rcond=None)[0]
    return np.exp(A @ coef)


def _wls(x, y, se, degree):
    """Weighted least squares of ``y`` on ``1, x, .., x^degree`` with weights ``1/se^2``.

    Returns ``(beta, C)`` with ``beta = C y``, ``C = (A^T W A)^{-1} A^T W``. Solved through the QR
    decomposition of the scaled design (no normal equations)."""
    A = np.vander(x, degree + 1, increasing=True)
    s = 1.0 / se
    Q, R = np.linalg.qr(A * s[:, None])
    C = np.linalg.solve(R, Q.T) * s[None, :]
    return C @ y, C


def _ws_dof(terms, seeds):
    """Welch-Satterthwaite degrees of freedom of ``sum terms`` with ``terms_i`` estimated on
    ``seeds_i - 1`` degrees of freedom."""
    v = float(np.sum(terms))
    den = float(np.sum(terms ** 2 / (seeds - 1.0)))
    if v <= 0.0 or den <= 0.0:
        return float(np.min(seeds) - 1.0)
    return v * v / den


def _harmonic_dof(seeds) -> float:
    """``1 / mean(1 / (S_i - 1))``: the denominator degrees of freedom of the F test."""
    return float(1.0 / np.mean(1.0 / (np.asarray(seeds, dtype=float) - 1.0)))


def fit_ladder(sizes, residuals, ses, seeds, *, level: float = LEVEL,
               quadratic_p: float = QUADRATIC_P, order: int | None = None) -> Fit:
    """Fit ``residuals`` (``mean_i - theory_i``) against ``1/sizes`` (module docstring).

    Args:
        sizes: the ladder's sizes ``d_i`` (distinct positive numbers), length ``K >= 1``.
        residuals: ``y_i``, finite.
        ses: standard errors of ``y_i`` (``>= 0``; a zero standard error -- e.g. a noiseless exact
            interpolation -- is raised to ``1e-12`` of the data's scale so weights stay finite).
        seeds: seeds ``S_i >= 2`` behind each standard error.
        level: confidence level in ``(0, 1)``.
        quadratic_p: the goodness-of-fit level: a three-size line is replaced by the quadratic, and a
            fit with residual degrees of freedom gets the Birge ratio, when its F-test p-value is
            below it.
        order: ``None`` (the default recipe: ``1/d+1/d^2`` from 4 sizes on, ``1/d`` below), or 1 or 2
            to force the line or the quadratic.

    Returns:
        A :class:`Fit`.

    >>> fit_ladder([50], [0.1], [0.05], [5]).kind
    'none'
    >>> fit_ladder([50, 50], [0.1, 0.2], [0.1, 0.1], [5, 5])
    Traceback (most recent call last):
    ...
    ValueError: sizes must be distinct, got [50.0, 50.0]
    """
    from scipy import stats
    d = check_real("sizes", sizes, low=0.0, low_open=True)
    y = check_real("residuals", residuals)
    se = check_real("ses", ses, low=0.0)
    S = check_real("seeds", seeds, low=2.0)
    level = float(check_real("level", level, low=0.0, high=1.0, low_open=True, high_open=True))
    if d.ndim != 1 or d.size == 0 or not (d.shape == y.shape == se.shape == S.shape):
        raise ValueError(f"sizes, residuals, ses and seeds must be 1-d of one length >= 1, got shapes "
                         f"{d.shape}, {y.shape}, {se.shape}, {S.shape}")
    if np.unique(d).size != d.size:
        raise ValueError(f"sizes must be distinct, got {d.tolist()}")
    scale = max(float(np.max(np.abs(y))), float(np.max(se)))
    se = np.maximum(se, max(1e-12 * scale, 1e-150))           # an exact (noiseless) size
    q = lambda nu: float(stats.t.ppf(0.5 + level / 2.0, nu))  # noqa: E731
    K = d.size
    if K == 1:
        nu = float(S[0] - 1.0)
        return Fit("none", float(y[0]), None, None, float(se[0]), nu, q(nu), q(nu) * float(se[0]),
                   None, None, (1.0,), level)
    x = 1.0 / d
    w_se = np.sqrt(smoothed_variances(d, se, S) / S)          # the weights' standard errors
    w_se = np.maximum(w_se, max(1e-12 * scale, 1e-150))
    nu_h = _harmonic_dof(S)

    def gof(degree):
        """chi-square of the chi-square-minimal fit of this degree and its F-test p-value."""
        dof = K - degree - 1
        if dof <= 0:
            return None, None
        b_raw, _ = _wls(x, y, se, degree)
        chi2 = float(np.sum(((y - np.vander(x, degree + 1, increasing=True) @ b_raw) / se) ** 2))
        return chi2, float(stats.f.sf(chi2 / dof, dof, nu_h))

    if order is None:
        degree = 2 if K >= 4 else 1
    else:
        degree = check_int("order", order, low=1, high=2)
        if degree >= K:
            raise ValueError(f"order = {degree} needs at least {degree + 1} sizes, got {K}")
    chi2, p = gof(degree)
    if order is None and degree == 1 and p is not None and p < quadratic_p:
        degree = 2                                            # K = 3 and the line is rejected
        chi2, p = gof(degree)
    beta, C = _wls(x, y, w_se, degree)
    c = C[0]
    terms = (c * se) ** 2
    var = float(np.sum(terms))
    nu = _ws_dof(terms, S)
    birge = 1.0
    if p is not None and p < quadratic_p:                     # the fit is rejected: scale factor
        resid = y - np.vander(x, degree + 1, increasing=True) @ beta
        birge = max(1.0, float(np.sum((resid / se) ** 2)) / (K - degree - 1))
    sd = math.sqrt(var * birge)
    tq = q(nu)
    kind = "1/d" if degree == 1 else "1/d+1/d^2"
    return Fit(kind, float(beta[0]), float(beta[1]), float(beta[2]) if degree == 2 else None, sd, nu, tq,
               tq * sd, chi2, p, tuple(float(v) for v in c), level, birge)


# ------------------------------------------------------------------------------------------------
# one point's verdict
# ------------------------------------------------------------------------------------------------
def _fmt_list(values, digits=None) -> str:
    if digits is None:
        return ";".join(str(int(v)) if float(v).is_integer() else repr(float(v)) for v in values)
    return ";".join(f"{float(v):.{digits}g}" for v in values)


@dataclass(frozen=True)
class Check:
    """One parameter point: theory versus the finite-size ladder (module docstring).

    Attributes:
        params: the point's parameters (flat dict), copied.
        theory: the theory at the requested point ``T`` (finite or ``+inf``).
        sizes: the ladder ``d_i`` (the fit's size variable).
        theories: the theory at each size's simulated parameters ``T_i``.
        means, ses, seeds: per-size Monte Carlo mean, standard error and number of seeds.
        fit: the :class:`Fit` (``None`` when the theory diverges).
        sim: per-size simulated integers (e.g. ``{"n": [...], "N": [...]}``), reported in JSON/CSV.
        target: the resolution target (``None`` if none was given).
        met: whether *this point* met the target, ``resolution <= target`` (``None`` without a target
            or when the theory diverges); set by :func:`make_check`.
        excluded: sizes left out of the fit because the theory is infinite there (e.g. a rounded
            ``n`` landing exactly on the interpolation threshold).
    """

    params: dict
    theory: float
    sizes: tuple
    theories: tuple
    means: tuple
    ses: tuple
    seeds: tuple
    fit: Fit | None
    sim: dict = field(default_factory=dict)
    target: float | None = None
    met: bool | None = None
    excluded: tuple = ()

    # -- derived quantities
    @property
    def diverges(self) -> bool:
        return math.isinf(self.theory)

    @property
    def extrapolated(self) -> float | None:
        """``R_inf = T + delta_hat`` (``None`` when the theory diverges)."""
        return None if self.fit is None else self.theory + self.fit.delta

    @property
    def half_width(self) -> float | None:
        return None if self.fit is None else self.fit.half_width

    @property
    def ci_low(self) -> float | None:
        return None if self.fit is None else self.extrapolated - self.fit.half_width

    @property
    def ci_high(self) -> float | None:
        return None if self.fit is None else self.extrapolated + self.fit.half_width

    @property
    def relative(self) -> bool:
        """Whether :attr:`resolution` is relative (theory != 0) or absolute (theory == 0)."""
        return self.theory != 0.0

    @property
    def resolution(self) -> float | None:
        """``h / |T|`` (``h`` itself when ``T = 0``; ``None`` when the theory diverges)."""
        if self.fit is None:
            return None
        h = self.fit.half_width
        return h / abs(self.theory) if self.theory != 0.0 else h

    @property
    def slope(self) -> float | None:
        return None if self.fit is None else self.fit.slope

    @property
    def z(self) -> float | None:
        """``delta_hat / se`` (``None`` when the theory diverges)."""
        if self.fit is None:
            return None
        if self.fit.se > 0:
            return self.fit.delta / self.fit.se
        return 0.0 if self.fit.delta == 0 else math.copysign(math.inf, self.fit.delta)

    @property
    def inside(self) -> bool | None:
        return None if self.fit is None else abs(self.fit.delta) <= self.fit.half_width

    @property
    def informative(self) -> bool | None:
        """Whether the interval can tell ``T`` from ``0`` and ``2T``: ``resolution < 1`` (always
        ``True`` where ``T = 0``, whose resolution is absolute; ``None`` when the theory diverges)."""
        if self.fit is None:
            return None
        return self.theory == 0.0 or self.resolution < 1.0

    @property
    def verdict(self) -> str:
        if self.fit is None:
            return "diverges"
        if not self.inside:
            return "disagree"
        if not self.informative:
            return "inconclusive"
        if self.target is not None and self.met is False:
            return "inconclusive"
        return "agree"

    # compatibility with the single-number view (curve --mc plots)
    @property
    def mc_mean(self) -> float:
        """The mean at the largest size."""
        return self.means[-1]

    @property
    def mc_se(self) -> float:
        return self.ses[-1]

    @property
    def fit_name(self) -> str:
        if self.fit is None:
            return "none (theory diverges)"
        if self.fit.kind == "none":
            return "none (single size: no finite-size correction)"
        return self.fit.kind

    def with_theory(self, theory, theories) -> "Check":
        """The same simulation judged against another theory (``T``, and ``T_i`` per size)."""
        return make_check(self.params, theory, self.sizes, theories, self.means, self.ses, self.seeds,
                          sim=self.sim, target=self.target, level=self._level)

    @property
    def _level(self):
        return self.fit.level if self.fit is not None else LEVEL

    def to_record(self, *, lists: bool = False, digits: int | None = None) -> dict:
        """The point as a flat record: parameters, then ``theory, extrapolated, ci_low, ci_high,
        resolution, slope, fit, p_value, verdict, target_met, sizes, means, ses, seeds`` (and
        ``theories`` plus the simulated integers, e.g. ``n_sim``). ``target_met`` is :attr:`met`:
        ``True``/``False`` for this point, ``None`` without a target.

        Args:
            lists: per-size values as Python lists (JSON); otherwise ``;``-separated strings
                (CSV and tables).
            digits: significant digits of the per-size strings (``None``: full precision).
        """
        rec = dict(self.params)

        def seq(values, dig=digits):
            return [float(v) for v in values] if lists else _fmt_list(values, dig)

        def iseq(values):
            return [int(v) for v in values] if lists else _fmt_list(values)

        rec.update(theory=self.theory, extrapolated=self.extrapolated, ci_low=self.ci_low,
                   ci_high=self.ci_high, resolution=self.resolution, slope=self.slope,
                   fit=self.fit_name, p_value=None if self.fit is None else self.fit.p_value,
                   verdict=self.verdict, target_met=self.met, sizes=iseq(self.sizes), means=seq(self.means),
                   ses=seq(self.ses), seeds=iseq(self.seeds), theories=seq(self.theories))
        for k, v in self.sim.items():
            rec[f"{k}_sim"] = iseq(v)
        if self.excluded:
            rec["excluded"] = iseq(self.excluded)
        return rec


def make_check(params, theory, sizes, theories, means, ses, seeds, *, sim=None, target=None, met=None,
               level: float = LEVEL, quadratic_p: float = QUADRATIC_P, order: int | None = None) -> Check:
    """Build the :class:`Check` of one point from per-size data (module docstring; ``order`` as in
    :func:`fit_ladder`).

    Sizes where the theory ``T_i`` is infinite while ``T`` is finite are left out of the fit (and
    listed in ``excluded``); if none is left the verdict is ``diverges``.

    With a resolution ``target`` the point's ``met`` is judged here, per point, as
    ``resolution <= target`` (``None`` without a target); the ``met`` argument is accepted for
    compatibility and ignored (a group-level flag passed to every point called a point that met its
    target ``inconclusive``).

    >>> make_check({"lam": 1.0}, 1.0, [50, 100, 200, 400], [1.0] * 4, [1.0] * 4, [0.001] * 4, [100] * 4,
    ...            target=0.02, met=False).verdict
    'agree'

    >>> c = make_check({"gamma": 2.0}, 1.5, [100], [1.5], [1.52], [0.01], [10])
    >>> c.verdict, c.fit_name
    ('agree', 'none (single size: no finite-size correction)')
    >>> make_check({"z": 1}, 1.0, [10], [1.0], [1.0], [0.1], [3])
    Traceback (most recent call last):
    ...
    ValueError: params must not use the reserved keys ('theory', 'extrapolated', 'ci_low', 'ci_high', 'resolution', 'slope', 'fit', 'p_value', 'verdict', 'target_met', 'sizes', 'means', 'ses', 'seeds', 'theories'), got ['z']
    """
    params = dict(params or {})
    clash = [k for k in params if k in RESERVED_KEYS or k == "z"]
    if clash:
        raise ValueError(f"params must not use the reserved keys {RESERVED_KEYS}, got {clash}")
    theory = float(check_real("theory", theory, allow_inf=True))
    if theory == -math.inf:
        raise ValueError("theory must be finite or +inf, got -inf")
    th_i = check_real("theories", theories, allow_inf=True).astype(float).ravel()
    if (th_i == -math.inf).any():
        raise ValueError("theories must be finite or +inf, got -inf")
    m = check_real("means", means).astype(float).ravel()
    s = check_real("ses", ses, low=0.0).astype(float).ravel()
    S = np.asarray([check_int("seeds", int(v) if float(v).is_integer() else v, low=2) for v in seeds])
    d = check_real("sizes", sizes, low=0.0, low_open=True).astype(float).ravel()
    if not (d.size == th_i.size == m.size == s.size == S.size):
        raise ValueError("sizes, theories, means, ses and seeds must have one length")
    sim = {k: tuple(int(x) for x in v) for k, v in (sim or {}).items()}
    common = dict(params=params, theory=theory, sizes=tuple(int(v) if v.is_integer() else float(v) for v in d),
                  theories=tuple(th_i.tolist()), means=tuple(m.tolist()), ses=tuple(s.tolist()),
                  seeds=tuple(int(v) for v in S), sim=sim, target=target, met=met)
    if target is not None:
        target = float(check_real("target", target, low=0.0, low_open=True))
        common["target"] = target
    common["met"] = None
    if math.isinf(theory):
        return Check(fit=None, **common)
    keep = np.isfinite(th_i)
    excluded = tuple(int(v) if v.is_integer() else float(v) for v in d[~keep])
    if not keep.any():
        return Check(fit=None, excluded=excluded, **common)
    fit = fit_ladder(d[keep], m[keep] - th_i[keep], s[keep], S[keep], level=level, quadratic_p=quadratic_p,
                     order=order if order is None or order < keep.sum() else None)
    if target is not None:
        h = fit.half_width
        common["met"] = bool((h / abs(theory) if theory != 0.0 else h) <= target)
    return Check(fit=fit, excluded=excluded, **common)


# ------------------------------------------------------------------------------------------------
# single-size comparisons from raw samples
# ------------------------------------------------------------------------------------------------
def _samples_1d(samples) -> np.ndarray:
    arr = check_real("samples", samples, allow_empty=True)
    if arr.ndim != 1:
        raise ValueError(f"samples must be a 1-d array (one value per seed), got shape {arr.shape}")
    if arr.size < 2:
        raise ValueError(f"samples must have at least 2 entries (one per seed), got {arr.size}")
    return arr


def compare(theory, samples, *, params=None, size=1, level: float = LEVEL) -> Check:
    """A single-size comparison of ``theory`` with the samples of one point (one per seed).

    No finite-size correction is made: use it where the simulated quantity is an unbiased estimate
    of the theory at that size (e.g. an exact finite-size formula, or the finite-``N`` random
    kernel whose expectation is the limit kernel), or, stated as such, to look at one size.
    The verdict is ``|mean - theory| <= t_{S-1} se``.

    Args:
        theory: the prediction (finite, or ``+inf``).
        samples: 1-d, one value per independent seed, ``>= 2`` entries, finite.
        params: the point's parameters (copied into the result).
        size: the size reported in ``sizes``.
        level: confidence level.

    >>> c = compare(1.0, [0.9, 1.1, 1.0, 1.05, 0.95])
    >>> c.verdict, round(c.half_width, 6), c.fit.dof
    ('agree', 0.098162, 4.0)
    >>> compare(1.0, [2.0])
    Traceback (most recent call last):
    ...
    ValueError: samples must have at least 2 entries (one per seed), got 1
    """
    arr = _samples_1d(samples)
    mean = float(arr.mean())
    se = float(arr.std(ddof=1) / math.sqrt(arr.size))
    return make_check(params, theory, [size], [theory], [mean], [se], [arr.size], level=level)


def compare_many(theory, samples, *, params=None, size=1, level: float = LEVEL) -> list[Check]:
    """:func:`compare` for ``P`` points: ``theory`` of shape ``(P,)`` (or a scalar), ``samples`` of
    shape ``(seeds, P)``, ``params`` ``None`` or ``P`` dicts.

    >>> cs = compare_many([1.0, 2.0], [[1.0, 2.1], [1.2, 1.9], [0.8, 2.0]])
    >>> [c.verdict for c in cs]
    ['agree', 'agree']
    """
    arr = check_real("samples", samples, allow_empty=True)
    if arr.ndim != 2:
        raise ValueError(f"samples must be a 2-d array of shape (seeds, P), got shape {arr.shape}")
    n_seeds, p = arr.shape
    if n_seeds < 2:
        raise ValueError(f"samples must have at least 2 rows (one per seed), got {n_seeds}")
    th = check_real("theory", theory, allow_inf=True)
    if th.ndim > 1 or (th.ndim == 1 and th.size != p):
        raise ValueError(f"theory must be a scalar or have shape ({p},), got shape {th.shape}")
    th = np.broadcast_to(th, (p,))
    if params is None:
        params = [{} for _ in range(p)]
    params = list(params)
    if len(params) != p:
        raise ValueError(f"params must be a list of {p} dicts (one per point), got {len(params)}")
    return [compare(float(th[j]), np.ascontiguousarray(arr[:, j]), params=params[j], size=size, level=level)
            for j in range(p)]


def method_text(checks) -> str:
    """The summary line's description of the method used by ``checks``."""
    kinds = {c.fit.kind for c in checks if c.fit is not None}
    level = next((c.fit.level for c in checks if c.fit is not None), LEVEL)
    if kinds == {"none"}:
        return (f"single size, no finite-size correction: |mean - theory| <= t_(seeds-1) se at "
                f"{100 * level:g} %")
    return METHOD.format(level=100 * level)


def mc_scale() -> float:
    """The size factor of long Monte Carlo runs: the environment variable ``ASYMPTOTICS_MC_SCALE``
    (default 1; CI runs the ``slow`` tests at 0.25). Slow tests multiply their seeds or sizes by it.

    >>> mc_scale() > 0
    True
    """
    import os
    raw = os.environ.get("ASYMPTOTICS_MC_SCALE", "1.0")
    try:
        scale = float(raw)
    except ValueError:
        raise ValueError(f"ASYMPTOTICS_MC_SCALE must be a positive float, got {raw!r}") from None
    if not (scale > 0 and math.isfinite(scale)):
        raise ValueError(f"ASYMPTOTICS_MC_SCALE must be a positive float, got {raw!r}")
    return scale
