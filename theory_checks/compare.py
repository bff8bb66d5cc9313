"""Theory versus simulation, statistically.

A *check* compares one number predicted by an asymptotic theory (the ``n, d -> oo`` limit of a
risk) with the mean of ``S`` independent finite-size Monte Carlo draws of the same quantity.

The test
--------
Let ``X_1, ..., X_S`` be the simulated risks (one per seed, i.i.d.), ``m`` their mean and

    ``se = sd(X_1..X_S; ddof=1) / sqrt(S)``

the estimated standard error of ``m``. A finite simulation does not estimate the limit ``T``
itself: its expectation ``E X`` differs from ``T`` by a deterministic *finite-size bias*, typically
``O(1/n)`` relative (and amplified near an interpolation threshold). Each model states an explicit
bound on that bias, the **finite-size allowance** ``a >= 0`` (absolute, same units as the risk);
e.g. :func:`theory_checks.ridge.finite_size_allowance`. The check then reads

    ``|m - T| <= k_eff * se + a``,   ``k_eff = t_{S-1}^{-1}(Phi(k))``  (default ``k = 3``)

and the verdict is ``"agree"`` if it holds, else ``"disagree"``. ``k`` is stated in normal standard
errors and ``k_eff`` is the Student-t quantile with ``S - 1`` degrees of freedom at the same level,
because ``se`` is itself estimated from ``S`` draws: if ``|E X - T| <= a``, the false-alarm
probability is then at most ``P(|N(0,1)| > k) = 0.27 %`` for ``k = 3`` at every ``S`` (with the
normal quantile it would be 1.6 % per point at ``S = 5`` for ``k = 4``, enough to make a 30-point
check fail one time in three). For ``k = 3``, ``k_eff`` is 6.6 at ``S = 5``, 4.1 at ``S = 10``, 3.4 at
``S = 20`` and 3.2 at ``S = 40``.
``z = (m - T) / se`` is reported so that a reader can judge the size of a discrepancy in
standard errors. A non-zero allowance is what makes a check at finite ``d`` honest: with enough
seeds ``se -> 0`` and without it every finite-size simulation would eventually "disagree".

If the theory is ``+inf`` (for example ridgeless regression exactly at the interpolation threshold
``gamma = 1``, where the limiting risk diverges) there is nothing to compare: the verdict is
``"diverges"``, the Monte Carlo mean is still reported (it is finite but large and noisy, since
finite-``n`` risks there have heavy tails), and ``z`` is ``None``.

Example:
    >>> c = compare(1.0, [0.9, 1.1, 1.0, 1.05, 0.95], allowance=0.01, params={"gamma": 0.5})
    >>> c.verdict, c.n_seeds
    ('agree', 5)
    >>> round(c.mc_se, 6), round(c.k_eff, 4), round(c.tolerance, 6)
    (0.035355, 6.6202, 0.24406)
    >>> c.to_record()["gamma"], c.to_record()["verdict"]
    (0.5, 'agree')
    >>> compare(float("inf"), [1e3, 2e3]).verdict
    'diverges'
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from asymptotics._validation import check_int, check_real

__all__ = ["Comparison", "compare", "compare_many", "mc_scale", "RESERVED_KEYS"]

#: Keys of :meth:`Comparison.to_record` besides the parameters; parameter names must avoid them.
RESERVED_KEYS = ("theory", "mc_mean", "mc_se", "z", "allowance", "tolerance", "verdict", "n_seeds")


@dataclass(frozen=True)
class Comparison:
    """One theory-versus-Monte-Carlo comparison (see the module docstring for the test).

    Attributes:
        params: the parameters of the point (a flat dict: name -> scalar), copied.
        theory: the asymptotic prediction ``T`` (finite, or ``+inf`` for a divergent risk).
        mc_mean: mean of the simulated values over seeds.
        mc_se: standard error of ``mc_mean`` (sample standard deviation with ``ddof=1`` over
            ``sqrt(n_seeds)``).
        n_seeds: number of independent draws (``>= 2``).
        allowance: the stated finite-size allowance ``a`` (absolute, ``>= 0``).
        k_se: how many standard errors are tolerated (default 3).
    """

    params: dict
    theory: float
    mc_mean: float
    mc_se: float
    n_seeds: int
    allowance: float = 0.0
    k_se: float = 3.0

    def __post_init__(self):
        params = dict(self.params or {})
        clash = [k for k in params if k in RESERVED_KEYS]
        if clash:
            raise ValueError(f"params must not use the reserved keys {RESERVED_KEYS}, got {clash}")
        object.__setattr__(self, "params", params)
        theory = float(check_real("theory", self.theory, allow_inf=True))
        if theory == -math.inf:
            raise ValueError("theory must be finite or +inf, got -inf")
        object.__setattr__(self, "theory", theory)
        object.__setattr__(self, "mc_mean", float(check_real("mc_mean", self.mc_mean)))
        object.__setattr__(self, "mc_se", float(check_real("mc_se", self.mc_se, low=0.0)))
        object.__setattr__(self, "n_seeds", check_int("n_seeds", self.n_seeds, low=2))
        object.__setattr__(self, "allowance",
                           float(check_real("allowance", self.allowance, low=0.0, allow_inf=True)))
        object.__setattr__(self, "k_se", float(check_real("k_se", self.k_se, low=0.0, low_open=True)))

    @property
    def k_eff(self) -> float:
        """``k_se`` as a Student-t quantile with ``n_seeds - 1`` degrees of freedom (same tail level)."""
        from scipy import stats
        return float(stats.t.isf(stats.norm.sf(self.k_se), self.n_seeds - 1))

    @property
    def tolerance(self) -> float:
        """``k_eff * mc_se + allowance`` (``inf`` if the allowance is infinite)."""
        return self.k_eff * self.mc_se + self.allowance

    @property
    def z(self) -> float | None:
        """``(mc_mean - theory) / mc_se``; ``None`` if the theory diverges.

        With ``mc_se == 0`` (all seeds gave the same value) ``z`` is ``0.0`` if the mean equals
        the theory exactly and ``+-inf`` otherwise; it is never NaN.
        """
        if math.isinf(self.theory):
            return None
        diff = self.mc_mean - self.theory
        if self.mc_se > 0.0:
            return diff / self.mc_se
        return 0.0 if diff == 0.0 else math.copysign(math.inf, diff)

    @property
    def verdict(self) -> str:
        """``"agree"``, ``"disagree"`` or ``"diverges"`` (theory is ``+inf``)."""
        if math.isinf(self.theory):
            return "diverges"
        return "agree" if abs(self.mc_mean - self.theory) <= self.tolerance else "disagree"

    def to_record(self) -> dict:
        """A flat dict: the parameters, then ``theory, mc_mean, mc_se, z, allowance, tolerance,
        verdict, n_seeds`` (ready for :func:`asymptotics.export.format_records`)."""
        rec = dict(self.params)
        rec.update(theory=self.theory, mc_mean=self.mc_mean, mc_se=self.mc_se, z=self.z,
                   allowance=self.allowance, tolerance=self.tolerance, verdict=self.verdict,
                   n_seeds=self.n_seeds)
        return rec


def _mean_se(samples: np.ndarray) -> tuple[float, float]:
    """Mean and standard error (ddof=1) of a 1-d array."""
    s = samples.shape[0]
    mean = samples.mean(axis=0)
    se = samples.std(axis=0, ddof=1) / math.sqrt(s)
    return mean, se


def compare(theory, samples, *, allowance=0.0, k_se=3.0, params=None) -> Comparison:
    """Compare a theoretical value with Monte Carlo samples (one per seed).

    Args:
        theory: the asymptotic prediction (a finite real, or ``+inf`` for a divergent risk).
        samples: 1-d array of simulated values, one per independent seed (finite; ``>= 2``).
        allowance: finite-size allowance (absolute, ``>= 0``; may be ``inf``), stated by the model.
        k_se: tolerated number of standard errors (``> 0``).
        params: the parameters of the point, copied into the result.

    Returns:
        A :class:`Comparison`.

    Raises:
        ValueError: bad input, e.g. fewer than two seeds or a NaN sample.

    >>> compare(0.0, [0.0, 0.0]).z
    0.0
    >>> compare(1.0, [2.0])
    Traceback (most recent call last):
    ...
    ValueError: samples must have at least 2 entries (one per seed), got 1
    """
    arr = check_real("samples", samples, allow_empty=True)
    if arr.ndim != 1:
        raise ValueError(f"samples must be a 1-d array (one value per seed), got shape {arr.shape}")
    if arr.size < 2:
        raise ValueError(f"samples must have at least 2 entries (one per seed), got {arr.size}")
    mean, se = _mean_se(arr)
    return Comparison(params=dict(params or {}), theory=theory, mc_mean=float(mean),
                      mc_se=float(se), n_seeds=arr.size, allowance=allowance, k_se=k_se)


def compare_many(theory, samples, *, allowance=0.0, k_se=3.0, params=None) -> list[Comparison]:
    """Vectorized :func:`compare` over ``P`` points.

    Args:
        theory: shape ``(P,)`` (or a scalar, broadcast).
        samples: shape ``(seeds, P)``, ``seeds >= 2``.
        allowance: scalar or shape ``(P,)``.
        k_se: tolerated number of standard errors.
        params: ``None`` or a list of ``P`` dicts.

    Returns:
        A list of ``P`` :class:`Comparison` objects, in column order.

    >>> cs = compare_many([1.0, 2.0], [[1.0, 2.1], [1.2, 1.9], [0.8, 2.0]],
    ...                   params=[{"lam": 0.0}, {"lam": 1.0}])
    >>> [(c.params["lam"], c.verdict) for c in cs]
    [(0.0, 'agree'), (1.0, 'agree')]
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
    al = check_real("allowance", allowance, low=0.0, allow_inf=True)
    if al.ndim > 1 or (al.ndim == 1 and al.size != p):
        raise ValueError(f"allowance must be a scalar or have shape ({p},), got shape {al.shape}")
    al = np.broadcast_to(al, (p,))
    if params is None:
        params = [{} for _ in range(p)]
    else:
        params = list(params)
        if len(params) != p:
            raise ValueError(f"params must be a list of {p} dicts (one per point), got {len(params)}")
    out = []
    for j in range(p):
        # reduce each column as a contiguous 1-d array: bit-identical to compare()
        mean, se = _mean_se(np.ascontiguousarray(arr[:, j]))
        out.append(Comparison(params=dict(params[j] or {}), theory=float(th[j]),
                              mc_mean=float(mean), mc_se=float(se), n_seeds=n_seeds,
                              allowance=float(al[j]), k_se=k_se))
    return out


def mc_scale() -> float:
    """The size factor of long Monte Carlo runs: the environment variable ``ASYMPTOTICS_MC_SCALE``
    (default 1; CI runs the ``slow`` tests at 0.25). Slow tests multiply their seeds or sizes by it.

    >>> mc_scale() > 0
    True
    """
    import math
    import os
    raw = os.environ.get("ASYMPTOTICS_MC_SCALE", "1.0")
    try:
        scale = float(raw)
    except ValueError:
        raise ValueError(f"ASYMPTOTICS_MC_SCALE must be a positive float, got {raw!r}") from None
    if not (scale > 0 and math.isfinite(scale)):
        raise ValueError(f"ASYMPTOTICS_MC_SCALE must be a positive float, got {raw!r}")
    return scale
