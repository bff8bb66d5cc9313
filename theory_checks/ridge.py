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

Finite-size allowance
---------------------
The theory is the ``n, d -> oo`` limit. Its finite-``n`` corrections are ``O(1/n)`` relative and
are amplified by the same denominator ``1 - df2/n`` that produces the interpolation peak, where
``df2/n = gamma / (1 + kappa)^2`` and ``kappa`` is the effective regularization, solution of
``kappa - lam = gamma kappa / (1 + kappa)`` (deterministic equivalent of ridge regression; Cheng &
Montanari 2022, "Dimension free ridge regression", arXiv:2210.08571, specialized to
``Sigma = I``). We therefore allow

    ``allowance = c * |theory| / (n * (1 - df2/n))``,   ``c = 2``

(:func:`finite_size_allowance`). At ``lam = 0`` the exact Gaussian finite-``n`` risk is known
(:func:`exact_finite_ridgeless`): for ``n > d + 1`` it is ``sigma2 d / (n - d - 1)`` against the
limit ``sigma2 d / (n - d)``, a relative deviation ``1 / (n (1 - gamma) - 1)``, while the allowance
is ``2 / (n (1 - gamma))`` relative; for ``d > n + 1`` the variance is ``sigma2 n / (d - n - 1)``
against ``sigma2 n / (d - n)``, relative deviation ``1 / (d - n - 1)``, while the allowance is
``2 gamma / (d - n)`` relative. Both are covered as soon as ``|n - d| >= 2``.

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
from theory_checks.compare import Comparison, compare_many

__all__ = ["simulate", "simulate_spectrum", "refit_simulate", "check", "check_spectrum",
           "finite_size_allowance", "exact_finite_ridgeless", "n_samples"]

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
def finite_size_allowance(theory, n, df2_over_n, c=2.0):
    """Finite-size allowance ``c |theory| / (n (1 - df2/n))`` of a ridge check.

    The finite-``n`` corrections to the deterministic equivalent are ``O(1/n)`` relative and are
    amplified by the denominator ``1 - df2/n`` of the risk (the interpolation peak); ``c = 2``
    covers the exact Gaussian correction at ``lam = 0`` whenever ``|n - d| >= 2`` (module
    docstring). Where the theory is infinite or ``df2/n = 1`` the allowance is ``inf``.

    Args:
        theory: asymptotic risk (scalar or array; ``+inf`` allowed).
        n: number of samples (integer ``>= 1``).
        df2_over_n: ``df2 / n`` in ``[0, 1]``, broadcastable with ``theory``.
        c: the constant (``>= 0``).

    Returns:
        A float for scalar inputs, else an array.

    >>> finite_size_allowance(1.0, 400, 0.5)
    0.01
    >>> finite_size_allowance(float("inf"), 400, 1.0)
    inf
    """
    th = check_real("theory", theory, allow_inf=True)
    n = check_int("n", n, low=1)
    df = check_real("df2_over_n", df2_over_n, low=0.0, high=1.0)
    c = _scalar("c", c, low=0.0)
    th, df = np.broadcast_arrays(th, df)
    denom = n * (1.0 - df)
    ok = (denom > 0.0) & np.isfinite(th)
    out = np.where(ok, c * np.abs(np.where(ok, th, 0.0)) / np.where(ok, denom, 1.0), np.inf)
    return float(out) if out.ndim == 0 else out


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
# theory vs simulation
# ------------------------------------------------------------------------------------------------
def _default_theory():
    from asymptotics.models import ridge as ridge_model  # imported lazily
    return ridge_model.risk


def _default_spectrum_theory():
    from asymptotics.models import ridge as ridge_model  # imported lazily
    return ridge_model.spectrum_risk


def _df2_fraction(df2_over_n, shape) -> np.ndarray:
    """``df2/n`` from a theory, broadcast to ``shape``; a rounding overshoot of 1 (``<= 1e-12``,
    at the interpolation threshold) is clipped, anything else out of ``[0, 1]`` is reported."""
    df = np.broadcast_to(np.asarray(df2_over_n, dtype=float), shape)
    return np.where((df > 1.0) & (df <= 1.0 + 1e-12), 1.0, df)


def check(gamma, lam, *, r2=1.0, sigma2=1.0, d=400, seeds=20, seed=0, k_se=3.0,
          theory=None) -> list[Comparison]:
    """Compare the asymptotic ridge risk with Monte Carlo on the grid ``gamma x lam``.

    For each ``gamma`` (outer loop) the simulation uses ``n = round(d / gamma)`` samples and one
    SVD per draw for all ``lam`` (:func:`simulate`). The theory is evaluated at the **simulated**
    aspect ratio ``gamma_sim = d / n`` (reported in ``params`` next to the requested ``gamma``),
    so rounding ``n`` is not mistaken for a finite-size effect. The allowance is
    :func:`finite_size_allowance` with ``c = 2``. Where the theory is ``+inf`` (``gamma_sim = 1``,
    ``lam = 0``) the verdict is ``"diverges"``.

    Args:
        gamma: aspect ratio(s) ``d / n > 0``, scalar or 1-d.
        lam: ridge penalty(ies) ``>= 0``, scalar or 1-d.
        r2: ``||beta||^2 >= 0``.
        sigma2: noise variance ``>= 0``.
        d: number of features.
        seeds: draws per grid point (``>= 2``).
        seed: master seed.
        k_se: tolerated standard errors.
        theory: the theory, a callable ``theory(gamma, lam, r2=, sigma2=)`` broadcasting over
            numpy inputs and returning an object with ``.risk`` and ``.df2_over_n``; default
            :func:`asymptotics.models.ridge.risk`.

    Returns:
        ``len(gamma) * len(lam)`` :class:`~theory_checks.compare.Comparison` objects, ``gamma``
        major; ``params`` has ``gamma, lam, r2, sigma2, d, n, gamma_sim``.
    """
    gammas = check_real("gamma", gamma, low=0.0, low_open=True)
    if gammas.ndim > 1:
        raise ValueError(f"gamma must be a scalar or a 1-d array, got shape {gammas.shape}")
    gammas = np.atleast_1d(gammas)
    if gammas.size == 0:
        raise ValueError("gamma must have at least 1 entry, got 0")
    lams = _lam_array(lam)
    d = check_int("d", d, low=1)
    r2 = _scalar("r2", r2, low=0.0)
    sigma2 = _scalar("sigma2", sigma2, low=0.0)
    seeds = check_int("seeds", seeds, low=2)
    seed = check_int("seed", seed, low=0)
    k_se = _scalar("k_se", k_se, low=0.0, low_open=True)
    ns = [n_samples(g, d) for g in gammas]                 # validate the whole grid first
    theory_fn = _default_theory() if theory is None else theory
    out: list[Comparison] = []
    for g, n in zip(gammas, ns):
        g_sim = d / n
        th = theory_fn(g_sim, lams, r2=r2, sigma2=sigma2)
        risk = np.broadcast_to(np.asarray(th.risk, dtype=float), lams.shape)
        df2 = _df2_fraction(th.df2_over_n, lams.shape)
        allowance = finite_size_allowance(risk, n, df2)
        samples = simulate(g, lams, d=d, r2=r2, sigma2=sigma2, seeds=seeds, seed=seed)
        params = [dict(gamma=float(g), lam=float(lj), r2=r2, sigma2=sigma2, d=d, n=n,
                       gamma_sim=g_sim) for lj in lams]
        out.extend(compare_many(risk, samples, allowance=allowance, k_se=k_se, params=params))
    return out


def check_spectrum(eigs, beta2, n, lam, *, sigma2=1.0, seeds=20, seed=0, k_se=3.0,
                   theory=None) -> list[Comparison]:
    """Compare the deterministic-equivalent ridge risk for ``Sigma = diag(eigs)`` with Monte Carlo.

    Simulation: :func:`simulate_spectrum` (one SVD per draw for all ``lam``). Theory: default
    :func:`asymptotics.models.ridge.spectrum_risk` ``(eigs, beta2, n, lam, sigma2=)``, whose
    ``.risk`` and ``.df2`` (an object with those attributes) are used; the allowance is
    :func:`finite_size_allowance` with ``df2/n``, the same formula as the isotropic check (at
    ``lam = 0`` and ``n > p + 1`` the exact risk ``sigma2 p/(n - p - 1)`` holds for every
    invertible ``Sigma``, so the coverage argument of the module docstring carries over). Where
    the theory is ``+inf`` (``lam = 0``, ``n`` = number of positive eigenvalues) the verdict is
    ``"diverges"``.

    Args:
        eigs, beta2: as in :func:`simulate_spectrum`.
        n: number of samples (integer ``>= 1``).
        lam: ridge penalty(ies) ``>= 0``, scalar or 1-d.
        sigma2: noise variance ``>= 0``.
        seeds, seed, k_se: as in :func:`check`.
        theory: optional callable ``theory(eigs, beta2, n, lam, sigma2=)`` returning an object
            with ``.risk`` and ``.df2``.

    Returns:
        One :class:`~theory_checks.compare.Comparison` per ``lam``; ``params`` has
        ``n, p, lam, sigma2`` (``p = len(eigs)``).
    """
    eigs = check_array_1d("eigs", eigs, low=0.0)
    beta2 = check_array_1d("beta2", beta2, low=0.0)
    check_same_length(eigs=eigs, beta2=beta2)
    n = check_int("n", n, low=1)
    lams = _lam_array(lam)
    sigma2 = _scalar("sigma2", sigma2, low=0.0)
    k_se = _scalar("k_se", k_se, low=0.0, low_open=True)
    samples = simulate_spectrum(eigs, beta2, n, lams, sigma2=sigma2, seeds=seeds, seed=seed)
    theory_fn = _default_spectrum_theory() if theory is None else theory
    th = theory_fn(eigs, beta2, n, lams, sigma2=sigma2)
    risk = np.broadcast_to(np.asarray(th.risk, dtype=float), lams.shape)
    df2 = _df2_fraction(np.asarray(th.df2, dtype=float) / n, lams.shape)
    allowance = finite_size_allowance(risk, n, df2)
    params = [dict(n=n, p=int(eigs.size), lam=float(lj), sigma2=sigma2) for lj in lams]
    return compare_many(risk, samples, allowance=allowance, k_se=k_se, params=params)
