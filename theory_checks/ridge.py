"""Monte Carlo of ridge regression: the finite-size mirror of :mod:`asymptotics.models.ridge`.

Conventions (Hastie, Montanari, Rosset & Tibshirani 2019, "Surprises in high-dimensional
ridgeless least squares interpolation", arXiv:1903.08560; hereafter HMRT):

* ``n`` samples, ``d`` features, ``gamma = d / n``;
* ``x ~ N(0, Sigma)``, isotropic ``Sigma = I_d`` unless a spectrum is given;
* ``y = <x, beta> + eps``, ``eps ~ N(0, sigma2)``;
* ``||beta||^2 = r2``, the direction of ``beta`` uniform on the sphere, redrawn for every seed;
* ``b_hat(lam) = argmin_b (1/n) ||y - X b||^2 + lam ||b||^2 = (X^T X / n + lam I)^{-1} X^T y / n``;
  at ``lam = 0`` the minimum-norm least-squares solution ``pinv(X) y``, which is the
  ``lam -> 0+`` limit ("ridgeless");
* the **excess risk** ``E_x (x^T (b_hat - beta))^2 = (b_hat - beta)^T Sigma (b_hat - beta)``,
  computed exactly from ``b_hat`` and ``beta`` (no test set, no test-label noise).

One thin SVD per draw serves a whole ``lam`` sweep
---------------------------------------------------
With ``X = U diag(s) V^T`` (thin SVD, ``k = min(n, d)``),

    ``b_hat(lam) = V diag(s / (s^2 + n lam)) U^T y``,

which for ``lam = 0`` and ``s > 0`` is ``pinv(X) y``. Singular values ``s <= max(n, d) * eps *
s_max`` (numpy's ``matrix_rank``/``lstsq`` cut-off) are treated as zero. Writing
``U^T y = s * V^T beta + U^T eps``, the error in the basis of ``V`` is

    ``V^T (b_hat - beta) = g * V^T beta + f * U^T eps``,
    ``f = s / (s^2 + n lam)``,  ``g = f s - 1 = -n lam / (s^2 + n lam)``

(``f = 0, g = -1`` on zero singular values), plus the component of ``beta`` orthogonal to the
row space of ``X``. This form has no cancellation (at ``lam = 0``, ``g = 0`` exactly), and costs
``O(len(lam) * k)`` per draw after the ``O(n d min(n, d))`` SVD, broadcast over ``lam``.
:func:`refit_simulate` is the naive baseline that solves one linear system per ``lam``.

Theory versus simulation
------------------------
:func:`check` and :func:`check_spectrum` simulate each point at a ladder of sizes and extrapolate the
residual ``mean - theory(size)`` to ``1/d = 0`` (:mod:`theory_checks.compare`); there is no
allowance. The theory is evaluated at each size's simulated aspect ratio ``d / n``. At ``lam = 0``
the exact Gaussian finite-``n`` risk (:func:`exact_finite_ridgeless`) is an independent witness of
the finite-size term: ``sigma2 d/(n - d - 1)`` for ``n > d + 1`` against the limit
``sigma2 d/(n - d)`` is ``T (1 + 1/(n (1 - gamma)) + O(1/n^2))``, a pure ``a/d`` term at fixed
``gamma`` -- what the ladder's fit removes.

Example:
    >>> r = simulate(0.5, [0.0, 0.1, 1.0], d=20, seeds=3)
    >>> r.shape
    (3, 3)
    >>> bool((r > 0).all())
    True
    >>> exact_finite_ridgeless(n=100, d=50, r2=1.0, sigma2=1.0) == 50 / 49
    True
"""
from __future__ import annotations

import math

import numpy as np

from asymptotics._validation import (check_array_1d, check_int, check_real,
                                     check_same_length)
from theory_checks.compare import LEVEL, Check
from theory_checks.ladder import PointGroup, geometric_sizes, run_groups

__all__ = ["simulate", "simulate_spectrum", "refit_simulate", "check", "check_spectrum",
           "exact_finite_ridgeless", "n_samples", "RidgeGroup", "SpectrumGroup", "resample_spectrum",
           "spectrum_factors", "DEFAULT_SIZES"]

#: The default ladder of :func:`check` (dimensions d; n = round(d / gamma)).
DEFAULT_SIZES = geometric_sizes(400, 4, 8.0)

# Tags that separate the random streams of the two simulators (SeedSequence entropy).
_TAG_ISOTROPIC = 0
_TAG_SPECTRUM = 1
# Largest number of float64 entries of the (len(lam), d) error block held at once.
_CHUNK_ENTRIES = 1 << 22


# ------------------------------------------------------------------------------------------------
# validation helpers
# ------------------------------------------------------------------------------------------------
def _scalar(name, value, **kw) -> float:
    arr = check_real(name, value, **kw)
    if arr.ndim != 0:
        raise ValueError(f"{name} must be a scalar, got shape {arr.shape}")
    return float(arr)


def _lam_array(lam) -> np.ndarray:
    arr = check_real("lam", lam, low=0.0, allow_empty=True)
    if arr.ndim > 1:
        raise ValueError(f"lam must be a scalar or a 1-d array, got shape {arr.shape}")
    arr = np.atleast_1d(arr)
    if arr.size == 0:
        raise ValueError("lam must have at least 1 entry, got 0")
    return arr


def n_samples(gamma, d) -> int:
    """Number of samples ``n = round(d / gamma)`` used by :func:`simulate` (Python's ``round``).

    The simulated aspect ratio is ``d / n``, which differs from ``gamma`` when ``d / gamma`` is
    not an integer; :func:`check` evaluates the theory at ``d / n``.

    >>> n_samples(0.9, 400), 400 / n_samples(0.9, 400)
    (444, 0.9009009009009009)
    """
    g = _scalar("gamma", gamma, low=0.0, low_open=True)
    d = check_int("d", d, low=1)
    n = round(d / g)
    if n < 1:
        raise ValueError(f"gamma must be <= {2 * d:g} for d = {d} (n = round(d/gamma) must be "
                         f">= 1), got {g!r}")
    _check_size(int(n), d)
    return int(n)


#: Largest design matrix simulated (entries): 8 bytes each, 800 MB; beyond it a ValueError, not a
#: MemoryError from numpy.
MAX_ENTRIES = 10 ** 8


def _check_size(n: int, d: int) -> None:
    if n * d > MAX_ENTRIES:
        raise ValueError(f"the simulation needs an n x d = {n} x {d} design matrix; n * d must be <= "
                         f"{MAX_ENTRIES:.0e} (lower d or raise gamma)")


def _rng(seed: int, tag: int, n: int, d: int, i: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, tag, n, d, i]))


# ------------------------------------------------------------------------------------------------
# the one-SVD core
# ------------------------------------------------------------------------------------------------
def _svd(X: np.ndarray, eps: np.ndarray):
    """Thin SVD ``X = U diag(s) Vt`` returned as ``(s, Vt, U^T eps)``; numerically-zero singular
    values are set to 0.

    Computed from the eigendecomposition of the smaller Gram matrix (``X^T X`` or ``X X^T``), which
    is about twice as fast as LAPACK's SVD here, far less sensitive to BLAS threading, and never
    forms ``U`` when ``n >= d`` (``U^T eps = Vt X^T eps / s``); the singular values carry a relative
    error ``~ eps_machine (s_max/s)^2``. When the Gram matrix is ill-conditioned
    (``s < 1e-4 s_max``, e.g. zero-variance features) the direct SVD is used instead.
    """
    n, p = X.shape
    gram_right = n >= p
    w, Q = np.linalg.eigh(X.T @ X if gram_right else X @ X.T)
    w, Q = w[::-1], Q[:, ::-1]                              # descending
    if w.size == 0 or w[0] <= 0 or (w[-1] < 1e-8 * w[0]):
        U, s, Vt = np.linalg.svd(X, full_matrices=False)
        Ute = U.T @ eps
    else:
        s = np.sqrt(w)
        if gram_right:
            Vt = Q.T
            Ute = (Vt @ (X.T @ eps)) / s
        else:
            Vt = (Q.T @ X) / s[:, None]
            Ute = Q.T @ eps
    if s.size:
        tol = max(X.shape) * np.finfo(float).eps * s[0]
        s = np.where(s > tol, s, 0.0)
    return s, Vt, Ute


def _filters(s: np.ndarray, lam: np.ndarray, n: int):
    """``f = s/(s^2 + n lam)`` and ``g = f s - 1``, shape (len(lam), k); ``f=0, g=-1`` where s=0."""
    pos = s > 0.0
    nlam = n * lam[:, None]
    den = np.where(pos, s * s + nlam, 1.0)
    f = np.where(pos, s / den, 0.0)
    g = np.where(pos, -nlam / den, -1.0)
    return f, g


def _risks_one_draw(X, beta, eps, lam, n, sqrt_eigs=None) -> np.ndarray:
    """Excess risks of one draw for every ``lam`` from one SVD of ``X`` (see module docstring)."""
    s, Vt, e = _svd(X, eps)
    k, p = Vt.shape
    bV = Vt @ beta
    f, g = _filters(s, lam, n)
    coef = g * bV + f * e                                   # V^T (b_hat - beta), (L, k)
    if k < p:
        beta_perp = beta - Vt.T @ bV                        # beta outside the row space of X
    else:
        beta_perp = None                                    # V is square and orthogonal
    if sqrt_eigs is None:                                   # Sigma = I: Pythagoras
        out = np.einsum("lk,lk->l", coef, coef)
        if beta_perp is not None:
            out = out + beta_perp @ beta_perp
        return out
    out = np.empty(lam.size)
    step = max(1, _CHUNK_ENTRIES // max(p, 1))
    for a in range(0, lam.size, step):
        diff = coef[a:a + step] @ Vt                        # (b_hat - beta) + beta_perp
        if beta_perp is not None:
            diff -= beta_perp
        diff *= sqrt_eigs
        out[a:a + step] = np.einsum("lp,lp->l", diff, diff)
    return out


def _draw_isotropic(rng, n, d, r2, sigma2):
    X = rng.standard_normal((n, d))
    direction = rng.standard_normal(d)
    beta = math.sqrt(r2) * direction / np.linalg.norm(direction)
    eps = math.sqrt(sigma2) * rng.standard_normal(n)
    return X, beta, eps


def _draw_spectrum(rng, n, sqrt_eigs, sqrt_beta2, sigma2):
    p = sqrt_eigs.size
    X = rng.standard_normal((n, p)) * sqrt_eigs
    signs = 2.0 * rng.integers(0, 2, size=p) - 1.0
    beta = signs * sqrt_beta2
    eps = math.sqrt(sigma2) * rng.standard_normal(n)
    return X, beta, eps


def _validate_isotropic(gamma, lam, d, r2, sigma2, seeds, seed):
    d = check_int("d", d, low=1)
    n = n_samples(gamma, d)
    lam = _lam_array(lam)
    r2 = _scalar("r2", r2, low=0.0)
    sigma2 = _scalar("sigma2", sigma2, low=0.0)
    seeds = check_int("seeds", seeds, low=2)
    seed = check_int("seed", seed, low=0)
    return n, d, lam, r2, sigma2, seeds, seed


# ------------------------------------------------------------------------------------------------
# public simulators
# ------------------------------------------------------------------------------------------------
def simulate(gamma, lam, *, d=400, r2=1.0, sigma2=1.0, seeds=20, seed=0) -> np.ndarray:
    """Excess risks of ridge regression on isotropic Gaussian data, one SVD per draw.

    Args:
        gamma: aspect ratio ``d / n > 0``; ``n = round(d / gamma)`` (see :func:`n_samples`).
        lam: ridge penalty, scalar or 1-d array, ``>= 0`` (``0`` = minimum-norm least squares).
        d: number of features (integer ``>= 1``).
        r2: ``||beta||^2 >= 0``.
        sigma2: noise variance ``>= 0``.
        seeds: number of independent draws (integer ``>= 2``).
        seed: master seed (integer ``>= 0``); draw ``i`` uses
            ``default_rng(SeedSequence([seed, 0, n, d, i]))``, so results are reproducible and
            independent of ``lam``.

    Returns:
        Array of shape ``(seeds, len(lam))`` (a scalar ``lam`` counts as length 1). Row ``i`` is
        one draw of ``(X, beta, eps)``: entries of one row share the draw (common random numbers
        across ``lam``), rows are independent.

    >>> simulate(2.0, [0.0, 1.0], d=10, seeds=2).shape
    (2, 2)
    >>> simulate(2.0, -1.0, d=10)
    Traceback (most recent call last):
    ...
    ValueError: lam must be >= 0, got -1.0
    """
    n, d, lam, r2, sigma2, seeds, seed = _validate_isotropic(gamma, lam, d, r2, sigma2, seeds, seed)
    out = np.empty((seeds, lam.size))
    for i in range(seeds):
        X, beta, eps = _draw_isotropic(_rng(seed, _TAG_ISOTROPIC, n, d, i), n, d, r2, sigma2)
        out[i] = _risks_one_draw(X, beta, eps, lam, n)
    return out


def simulate_spectrum(eigs, beta2, n, lam, *, sigma2=1.0, seeds=20, seed=0) -> np.ndarray:
    """Excess risks of ridge regression with covariance ``Sigma = diag(eigs)``, one SVD per draw.

    Features are ``x = sqrt(eigs) * z`` with ``z ~ N(0, I_p)``, ``p = len(eigs)``. The target is
    ``beta_i = +-sqrt(beta2_i)`` with independent uniform random signs redrawn per seed: ``beta2_i
    = <beta, v_i>^2`` is the squared coefficient of the parameter vector along eigenvector ``i``
    (**not** the signal energy ``eigs_i * beta2_i``). The excess risk is
    ``sum_i eigs_i (b_hat_i - beta_i)^2``. Estimator and lam convention as in :func:`simulate`.

    Args:
        eigs: covariance eigenvalues, 1-d, ``>= 0`` with at least one ``> 0``.
        beta2: squared target coefficients, 1-d, ``>= 0``, same length as ``eigs``.
        n: number of samples (integer ``>= 1``).
        lam: ridge penalty, scalar or 1-d array, ``>= 0``.
        sigma2: noise variance ``>= 0``.
        seeds: number of independent draws (integer ``>= 2``).
        seed: master seed; draw ``i`` uses ``SeedSequence([seed, 1, n, p, i])``.

    Returns:
        Array of shape ``(seeds, len(lam))``.

    >>> simulate_spectrum([1.0, 0.5, 0.0], [1.0, 1.0, 1.0], 10, [0.0, 1.0], seeds=2).shape
    (2, 2)
    >>> simulate_spectrum([0.0, 0.0], [1.0, 1.0], 10, 0.0)
    Traceback (most recent call last):
    ...
    ValueError: eigs must have at least one entry > 0, got all zeros
    """
    eigs = check_array_1d("eigs", eigs, low=0.0)
    beta2 = check_array_1d("beta2", beta2, low=0.0)
    check_same_length(eigs=eigs, beta2=beta2)
    if not (eigs > 0).any():
        raise ValueError("eigs must have at least one entry > 0, got all zeros")
    n = check_int("n", n, low=1)
    _check_size(n, eigs.size)
    lam = _lam_array(lam)
    sigma2 = _scalar("sigma2", sigma2, low=0.0)
    seeds = check_int("seeds", seeds, low=2)
    seed = check_int("seed", seed, low=0)
    sqrt_eigs, sqrt_beta2 = np.sqrt(eigs), np.sqrt(beta2)
    p = eigs.size
    out = np.empty((seeds, lam.size))
    for i in range(seeds):
        X, beta, eps = _draw_spectrum(_rng(seed, _TAG_SPECTRUM, n, p, i), n, sqrt_eigs,
                                      sqrt_beta2, sigma2)
        out[i] = _risks_one_draw(X, beta, eps, lam, n, sqrt_eigs=sqrt_eigs)
    return out


def refit_simulate(gamma, lam, *, d=400, r2=1.0, sigma2=1.0, seeds=20, seed=0,
                   share_gram=False) -> np.ndarray:
    """Naive baseline for :func:`simulate`: the same draws, refitted for every ``lam``.

    For every ``lam > 0`` the ridge estimator is fitted from the data, as a call to a ridge solver
    would: ``(X^T X / n + lam I) b = X^T y / n`` is formed and solved (with ``share_gram=True`` the
    Gram matrix is formed once per draw, a favour to the baseline); ``lam = 0`` uses
    ``numpy.linalg.lstsq`` (minimum-norm solution). The risk is ``||b - beta||^2``. Same arguments
    and output as :func:`simulate`; used by ``benchmarks/ridge.py`` to measure the one-decomposition
    speed-up and by the tests as a witness.

    >>> a = refit_simulate(2.0, [0.0, 0.5], d=8, seeds=2)
    >>> b = simulate(2.0, [0.0, 0.5], d=8, seeds=2)
    >>> bool(np.allclose(a, b, rtol=1e-10, atol=0))
    True
    """
    n, d, lam, r2, sigma2, seeds, seed = _validate_isotropic(gamma, lam, d, r2, sigma2, seeds, seed)
    out = np.empty((seeds, lam.size))
    eye = np.eye(d)
    for i in range(seeds):
        X, beta, eps = _draw_isotropic(_rng(seed, _TAG_ISOTROPIC, n, d, i), n, d, r2, sigma2)
        y = X @ beta + eps
        gram = X.T @ X / n if share_gram else None
        for j, lj in enumerate(lam):
            if lj > 0:
                g = gram if share_gram else X.T @ X / n
                b = np.linalg.solve(g + lj * eye, X.T @ y / n)
            else:
                b = np.linalg.lstsq(X, y, rcond=None)[0]
            err = b - beta
            out[i, j] = err @ err
    return out


# ------------------------------------------------------------------------------------------------
# finite-size witnesses
# ------------------------------------------------------------------------------------------------
def exact_finite_ridgeless(n, d, r2=1.0, sigma2=1.0) -> float:
    """Exact expected excess risk of minimum-norm least squares at finite ``n, d`` (Gaussian).

    With ``x ~ N(0, I_d)`` and ``beta`` of norm² ``r2`` (any direction, by rotation invariance):

    * ``n >= d``: ``X`` has full column rank a.s., the bias is 0 and the variance is
      ``sigma2 E tr((X^T X)^{-1}) = sigma2 d / (n - d - 1)`` for ``n > d + 1`` (mean of the
      inverse Wishart, ``E W^{-1} = I / (m - p - 1)`` for ``W ~ W_p(I, m)``; Muirhead 1982,
      *Aspects of Multivariate Statistical Theory*, Thm 3.2.12), infinite for ``n in {d, d+1}``;
    * ``d > n``: the bias is ``E ||P_perp beta||^2 = r2 (1 - n / d)`` (the row space of ``X`` is a
      uniformly random ``n``-dimensional subspace) and the variance is
      ``sigma2 E tr((X X^T)^{-1}) = sigma2 n / (d - n - 1)`` for ``d > n + 1``, infinite for
      ``d = n + 1``.

    The ``n, d -> oo`` limits are HMRT's Theorem 1: ``sigma2 gamma / (1 - gamma)`` and
    ``r2 (1 - 1/gamma) + sigma2 / (gamma - 1)``. With ``sigma2 = 0`` the variance is 0 for every
    ``n, d``.

    Args:
        n: number of samples (integer ``>= 1``).
        d: number of features (integer ``>= 1``).
        r2: ``||beta||^2 >= 0``.
        sigma2: noise variance ``>= 0``.

    Returns:
        The expected excess risk (``inf`` when ``|n - d| <= 1`` and ``sigma2 > 0``).

    >>> exact_finite_ridgeless(100, 100)
    inf
    >>> exact_finite_ridgeless(50, 100, r2=1.0, sigma2=0.0)
    0.5
    """
    n = check_int("n", n, low=1)
    d = check_int("d", d, low=1)
    r2 = _scalar("r2", r2, low=0.0)
    sigma2 = _scalar("sigma2", sigma2, low=0.0)
    bias = r2 * (1.0 - n / d) if d > n else 0.0
    if sigma2 == 0.0:
        variance = 0.0
    elif n > d + 1:
        variance = sigma2 * d / (n - d - 1)
    elif d > n + 1:
        variance = sigma2 * n / (d - n - 1)
    else:
        variance = math.inf
    return bias + variance



# ------------------------------------------------------------------------------------------------
# theory vs simulation: point groups of the finite-size ladder
# ------------------------------------------------------------------------------------------------
def _default_theory():
    from asymptotics.models import ridge as ridge_model  # imported lazily
    return ridge_model.risk


def _default_spectrum_theory():
    from asymptotics.models import ridge as ridge_model  # imported lazily
    return ridge_model.spectrum_risk


def _sizes(d, default):
    """``d``: ``None`` (the default ladder), one integer (a single size) or a list (a ladder)."""
    if d is None:
        return tuple(default)
    vals = np.atleast_1d(np.asarray(d, dtype=object))
    if vals.ndim != 1 or vals.size == 0:
        raise ValueError("d must be an integer or a non-empty 1-d list of integers")
    out = sorted(check_int("d", v, low=1) for v in vals.tolist())
    if len(set(out)) != len(out):
        raise ValueError(f"the ladder's sizes d must be distinct, got {out}")
    return tuple(out)


class RidgeGroup(PointGroup):
    """Isotropic ridge at one ``(gamma, r2, sigma2)`` for every ``lam``, at the dimensions ``sizes``
    (``n_i = round(d_i / gamma)``). A unit is one draw of :func:`simulate`'s stream
    (``SeedSequence([seed, 0, n_i, d_i, j])``), so ``check`` and ``simulate`` see the same draws."""

    model = "ridge"

    def __init__(self, gamma, lam, *, r2=1.0, sigma2=1.0, sizes=DEFAULT_SIZES, theory=None):
        self.gamma = _scalar("gamma", gamma, low=0.0, low_open=True)
        self.lams = _lam_array(lam)
        self.r2 = _scalar("r2", r2, low=0.0)
        self.sigma2 = _scalar("sigma2", sigma2, low=0.0)
        self.sizes = _sizes(sizes, DEFAULT_SIZES)
        self.ns = tuple(n_samples(self.gamma, d) for d in self.sizes)
        self.sim = {"n": self.ns}
        self.params = [dict(gamma=self.gamma, lam=float(l), r2=self.r2, sigma2=self.sigma2) for l in self.lams]
        self.theory_fn = theory
        self._cache = {}

    def key(self):
        return ("ridge", self.gamma, tuple(self.lams.tolist()), self.r2, self.sigma2)

    def _risk(self, gamma):
        if gamma not in self._cache:
            fn = self.theory_fn or _default_theory()
            th = fn(gamma, self.lams, r2=self.r2, sigma2=self.sigma2)
            self._cache[gamma] = np.broadcast_to(check_real("theory", th.risk, allow_inf=True),
                                                 self.lams.shape).astype(float)
        return self._cache[gamma]

    def theory(self):
        return self._risk(self.gamma)

    def theory_at(self, i):
        return self._risk(self.sizes[i] / self.ns[i])

    def draw(self, i, j, seed):
        n, d = self.ns[i], self.sizes[i]
        X, beta, eps = _draw_isotropic(_rng(seed, _TAG_ISOTROPIC, n, d, j), n, d, self.r2, self.sigma2)
        return _risks_one_draw(X, beta, eps, self.lams, n)

    def cost_hint(self, i):
        n, d = self.ns[i], self.sizes[i]
        return float(n) * d * min(n, d)


def _run(groups, seeds, seed, resolution, max_seconds, max_seeds, level, map_units):
    runs = run_groups(groups, seeds=seeds, seed=seed, resolution=resolution, max_seconds=max_seconds,
                      max_seeds=max_seeds, level=level, map_units=map_units)
    return [c for r in runs for c in r.checks(level=level)]


def check(gamma, lam, *, r2=1.0, sigma2=1.0, d=None, seeds=10, seed=0, theory=None, resolution=None,
          max_seconds=None, max_seeds=None, level=LEVEL, map_units=None) -> list[Check]:
    """The asymptotic ridge risk against Monte Carlo extrapolated over a ladder of dimensions.

    For each ``gamma`` (outer loop) and each size ``d_i`` the simulation uses
    ``n_i = round(d_i / gamma)`` samples and one SVD per draw for all ``lam`` (:func:`simulate`); the
    theory is evaluated at each size's simulated ``d_i / n_i``, the residuals are extrapolated to
    ``1/d = 0`` (:mod:`theory_checks.compare`) and compared with the theory at ``gamma``. Where the
    theory is ``+inf`` (``gamma = 1``, ``lam = 0``) the verdict is ``"diverges"``.

    Args:
        gamma: aspect ratio(s) ``d / n > 0``, scalar or 1-d.
        lam: ridge penalty(ies) ``>= 0``, scalar or 1-d.
        r2, sigma2: ``||beta||^2 >= 0`` and the noise variance ``>= 0``.
        d: the ladder: ``None`` for :data:`DEFAULT_SIZES`, a list of dimensions, or one dimension
            (a single size: no finite-size correction).
        seeds: seeds per size (``>= 2``); seed: base seed.
        theory: a callable ``theory(gamma, lam, r2=, sigma2=)`` broadcasting over numpy inputs and
            returning an object with ``.risk``; default :func:`asymptotics.models.ridge.risk`.
        resolution, max_seconds, max_seeds: a resolution target and its budget
            (:func:`theory_checks.ladder.run_groups`).
        level: confidence level; map_units: execution backend.

    Returns:
        ``len(gamma) * len(lam)`` :class:`~theory_checks.compare.Check` objects, ``gamma`` major;
        ``params`` has ``gamma, lam, r2, sigma2``; ``sim["n"]`` the simulated sample sizes.

    >>> cs = check(2.0, [0.0, 1.0], d=[20, 40], seeds=4)
    >>> [c.params["lam"] for c in cs], cs[0].sizes, cs[0].sim["n"]
    ([0.0, 1.0], (20, 40), (10, 20))
    """
    gammas = check_real("gamma", gamma, low=0.0, low_open=True)
    if gammas.ndim > 1:
        raise ValueError(f"gamma must be a scalar or a 1-d array, got shape {gammas.shape}")
    gammas = np.atleast_1d(gammas)
    if gammas.size == 0:
        raise ValueError("gamma must have at least 1 entry, got 0")
    groups = [RidgeGroup(g, lam, r2=r2, sigma2=sigma2, sizes=_sizes(d, DEFAULT_SIZES), theory=theory)
              for g in gammas]                                  # validates the whole grid first
    return _run(groups, seeds, seed, resolution, max_seconds, max_seeds, level, map_units)


def resample_spectrum(eigs, beta2, factor):
    """The spectrum at ``factor`` times its size: ``p_s = round(factor p)`` eigenvalues taken at the
    quantiles ``(j + 1/2)/p_s`` of the spectrum sorted in decreasing order, with ``beta2`` carried
    along and multiplied by ``p / p_s`` (so ``sum beta2`` is kept on average).

    An integer ``factor`` replicates every eigenvalue exactly ``factor`` times with ``beta2 /
    factor``: the deterministic equivalent at ``(eigs, beta2, n)`` is then *exactly* that at
    ``factor n`` (the equations are invariant), which makes replication the natural ladder of a
    given spectrum.

    >>> e, b = resample_spectrum([3.0, 1.0, 2.0], [0.3, 0.1, 0.2], 2)
    >>> e.tolist(), b.tolist()
    ([3.0, 3.0, 2.0, 2.0, 1.0, 1.0], [0.15, 0.15, 0.1, 0.1, 0.05, 0.05])
    """
    eigs = np.asarray(eigs, dtype=float)
    beta2 = np.asarray(beta2, dtype=float)
    factor = _scalar("factor", factor, low=0.0, low_open=True)
    p = eigs.size
    ps = max(1, int(round(factor * p)))
    order = np.argsort(-eigs, kind="stable")
    idx = order[np.minimum(p - 1, np.floor((np.arange(ps) + 0.5) * p / ps).astype(int))]
    return eigs[idx].copy(), beta2[idx] * (p / ps)


def spectrum_factors(p, n, *, budget=2e9):
    """Default ladder of :func:`check_spectrum`: replication factors ``1, 2, 4, 8`` if one draw at
    the largest costs at most ``budget`` flops (``n p min(n, p)`` times the factor cubed), else
    ``1, 2, 3, 4``, else the resampled sizes ``1/8, 1/4, 1/2, 1`` of the given spectrum (which is then
    the largest size). A span of 8 keeps the quadratic extrapolation's variance down.

    >>> spectrum_factors(50, 100), spectrum_factors(200, 400), spectrum_factors(1000, 500)
    ((1.0, 2.0, 4.0, 8.0), (1.0, 2.0, 3.0, 4.0), (0.125, 0.25, 0.5, 1.0))
    """
    base = float(n) * p * min(n, p)
    for factors in ((1.0, 2.0, 4.0, 8.0), (1.0, 2.0, 3.0, 4.0)):
        if base * factors[-1] ** 3 <= budget:
            return factors
    return (0.125, 0.25, 0.5, 1.0)


class SpectrumGroup(PointGroup):
    """Ridge with ``Sigma = diag(eigs)`` at one ``(n, sigma2)`` for every ``lam``, at the sizes
    ``factor * p`` of :func:`resample_spectrum` (``n_i = round(factor n)``). The fit's size variable
    is the dimension ``p_i``. A unit is one draw of :func:`simulate_spectrum`'s stream at that size."""

    model = "ridge-spectrum"

    def __init__(self, eigs, beta2, n, lam, *, sigma2=1.0, factors=None, theory=None):
        eigs = check_array_1d("eigs", eigs, low=0.0)
        beta2 = check_array_1d("beta2", beta2, low=0.0)
        check_same_length(eigs=eigs, beta2=beta2)
        if not (eigs > 0).any():
            raise ValueError("eigs must have at least one entry > 0, got all zeros")
        self.n = check_int("n", n, low=1)
        self.lams = _lam_array(lam)
        self.sigma2 = _scalar("sigma2", sigma2, low=0.0)
        if factors is None:
            factors = spectrum_factors(eigs.size, self.n)
        fac = sorted(float(_scalar("ladder factor", f, low=0.0, low_open=True))
                     for f in np.atleast_1d(factors).tolist())
        self.eigs, self.beta2 = eigs, beta2
        self.spectra = [resample_spectrum(eigs, beta2, f) for f in fac]
        self.sizes = tuple(e.size for e, _ in self.spectra)
        if len(set(self.sizes)) != len(self.sizes):
            raise ValueError(f"the ladder's factors {fac} give repeated sizes {self.sizes}")
        self.ns = tuple(max(1, int(round(f * self.n))) for f in fac)
        for (e, _), ni in zip(self.spectra, self.ns):
            _check_size(ni, e.size)
        self.factors = tuple(fac)
        self.sim = {"n": self.ns}
        self.params = [dict(n=self.n, p=int(eigs.size), lam=float(l), sigma2=self.sigma2) for l in self.lams]
        self.theory_fn = theory
        self._cache = {}

    def key(self):
        return ("ridge-spectrum", tuple(self.eigs.tolist()), tuple(self.beta2.tolist()), self.n,
                tuple(self.lams.tolist()), self.sigma2)

    def _risk(self, key, eigs, beta2, n):
        if key not in self._cache:
            fn = self.theory_fn or _default_spectrum_theory()
            th = fn(eigs, beta2, n, self.lams, sigma2=self.sigma2)
            self._cache[key] = np.broadcast_to(check_real("theory", th.risk, allow_inf=True),
                                               self.lams.shape).astype(float)
        return self._cache[key]

    def theory(self):
        return self._risk("target", self.eigs, self.beta2, self.n)

    def theory_at(self, i):
        e, b = self.spectra[i]
        return self._risk(i, e, b, self.ns[i])

    def draw(self, i, j, seed):
        e, b = self.spectra[i]
        n, p = self.ns[i], e.size
        X, beta, eps = _draw_spectrum(_rng(seed, _TAG_SPECTRUM, n, p, j), n, np.sqrt(e), np.sqrt(b),
                                      self.sigma2)
        return _risks_one_draw(X, beta, eps, self.lams, n, sqrt_eigs=np.sqrt(e))

    def cost_hint(self, i):
        n, p = self.ns[i], self.sizes[i]
        return float(n) * p * min(n, p)


def check_spectrum(eigs, beta2, n, lam, *, sigma2=1.0, factors=None, seeds=10, seed=0, theory=None,
                   resolution=None, max_seconds=None, max_seeds=None, level=LEVEL,
                   map_units=None) -> list[Check]:
    """The deterministic-equivalent ridge risk for ``Sigma = diag(eigs)`` against Monte Carlo
    extrapolated over a ladder of spectrum sizes (:func:`resample_spectrum`; default
    :func:`spectrum_factors`; ``factors=[1]`` is a single size, the spectrum as given).

    Args:
        eigs, beta2: as in :func:`simulate_spectrum`.
        n: number of samples (integer ``>= 1``).
        lam: ridge penalty(ies) ``>= 0``, scalar or 1-d.
        sigma2: noise variance ``>= 0``.
        factors: the ladder's size factors.
        seeds, seed, resolution, max_seconds, max_seeds, level, map_units: as in :func:`check`.
        theory: optional callable ``theory(eigs, beta2, n, lam, sigma2=)`` returning an object with
            ``.risk``; default :func:`asymptotics.models.ridge.spectrum_risk`.

    Returns:
        One :class:`~theory_checks.compare.Check` per ``lam``; ``params`` has ``n, p, lam, sigma2``;
        ``sizes`` are the simulated dimensions ``p_i``, ``sim["n"]`` the sample sizes. Where the
        theory is ``+inf`` (``lam = 0``, ``n`` = number of positive eigenvalues) the verdict is
        ``"diverges"``.
    """
    g = SpectrumGroup(eigs, beta2, n, lam, sigma2=sigma2, factors=factors, theory=theory)
    return _run([g], seeds, seed, resolution, max_seconds, max_seeds, level, map_units)
