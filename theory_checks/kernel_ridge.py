"""Monte Carlo of kernel ridge regression on the sphere, against :mod:`asymptotics.models.kernel_ridge`.

Setting (the theory's, :mod:`asymptotics.models.kernel_ridge`): ``x_i`` i.i.d. uniform on
``S^{d-1}(sqrt d)``; kernel ``K(x, x') = h(<x, x'>/d)``; target
``f(x) = sum_k sqrt(v_k) Y_k(x)`` with ``Y_k(x) = sqrt(B(d, k)) Q_k(<x, e_k>)`` a *zonal* spherical
harmonic of degree ``k`` (``E Y_k^2 = 1``; ``e_k`` a random unit-norm-``sqrt d`` direction per draw),
so ``||P_k f||^2 = v_k``; labels ``y = f(x) + eps``, ``eps ~ N(0, sigma2)``; estimator
``f_hat(x) = K(x, X)(K + lam I)^{-1} y``.

Each draw eigendecomposes the ``n x n`` kernel matrix once and reuses it for every ``lam``. The
excess risk ``E_x (f_hat(x) - f(x))^2`` is averaged over the label noise exactly
(``||K_t (K + lam)^{-1} f(X) - f(X_t)||^2/m + sigma2 ||K_t (K + lam)^{-1}||_F^2/m``) and over ``x``
by a fresh test set of ``m`` points; the test-set fluctuation is part of the seed-to-seed spread,
so the standard error covers it.

**Finite-size allowance** (:func:`finite_size_allowance`). The deterministic equivalent is exact
only as ``n, d -> oo``. Its error at finite size has two parts that we state, not tune: the
fluctuation of the effective regularization, of relative order ``1/n`` amplified near the
interpolation peak by ``1/(1 - df2/n)`` (as for ridge, :func:`theory_checks.ridge.finite_size_allowance`),
and the non-Gaussianity of spherical harmonics, whose fourth moments exceed the Gaussian ones by a
relative ``O(1/d)`` per degree (e.g. ``E Y_1^4 = 3 d/(d + 2)``), which the deterministic equivalent
ignores. Together: ``allowance = |R| (c_n / (n (1 - df2/n)) + c_d / d)`` with ``c_n = 2``, ``c_d = 1``.
"""
from __future__ import annotations

import numpy as np

from asymptotics._validation import check_array_1d, check_int, check_real
from asymptotics.expansions.gegenbauer import _eval_h, gegenbauer, multiplicity, resolve_kernel

from .compare import compare_many

__all__ = ["sample_sphere", "zonal_target", "simulate", "check", "finite_size_allowance"]

#: largest n x n kernel matrix (entries) a simulation may build
MAX_ENTRIES = 5 * 10 ** 7


def sample_sphere(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    """``n`` points uniform on ``S^{d-1}(sqrt d)`` (normalized Gaussians)."""
    g = rng.standard_normal((n, d))
    return g * (np.sqrt(d) / np.linalg.norm(g, axis=1, keepdims=True))


def zonal_target(X: np.ndarray, directions: np.ndarray, energy: np.ndarray) -> np.ndarray:
    """``f(x) = sum_k sqrt(v_k) sqrt(B(d, k)) Q_k(<x, e_k>)`` for the rows of ``X``.

    ``directions[k]`` is ``e_k`` (on the sphere of radius ``sqrt d``). ``E f^2 = sum_k v_k``.
    """
    d = X.shape[1]
    f = np.zeros(X.shape[0])
    for k, v in enumerate(energy):
        if v > 0:
            f += np.sqrt(v * float(multiplicity(d, k))) * gegenbauer(k, X @ directions[k], d)
    return f


def _validate(kernel, d, n, lam, energy, sigma2, seeds, seed, n_test):
    kern = resolve_kernel(kernel)
    d = check_int("d", d, low=2, high=10 ** 5)
    n = check_int("n", n, low=1)
    if n * n > MAX_ENTRIES:
        raise ValueError(f"n = {n}: the n x n kernel matrix exceeds {MAX_ENTRIES:.0e} entries")
    lam = np.atleast_1d(check_real("lam", lam, low=0.0, high=1e100)).astype(float)
    if lam.ndim != 1:
        raise ValueError("lam must be a number or a 1-d array")
    energy = check_array_1d("energy", energy, low=0.0)
    sigma2 = float(check_real("sigma2", sigma2, low=0.0, high=1e100))
    seeds = check_int("seeds", seeds, low=1)
    seed = check_int("seed", seed, low=0)
    n_test = check_int("n_test", n_test, low=1)
    return kern, d, n, lam, energy, sigma2, seeds, seed, n_test


def simulate(kernel, d, n, lam, *, energy=(0.0, 1.0), sigma2=0.0, seeds=20, seed=0,
             n_test=2000) -> np.ndarray:
    """Excess test risk of KRR, one row per seed and one column per ``lam``.

    Args:
        kernel: a named kernel or callable ``h`` (see
            :func:`asymptotics.expansions.gegenbauer.resolve_kernel`).
        d: dimension; n: number of samples (integers).
        lam: ridge(s) of ``(K + lam I)``, ``>= 0``.
        energy: target energy per degree ``0, 1, ...``.
        sigma2: label-noise variance.
        seeds: independent draws (data, target directions, test set); seed: master seed.
        n_test: test points per draw.

    Returns:
        Array of shape ``(seeds, len(lam))``.

    >>> r = simulate("exp", 10, 40, [1e-3, 1.0], energy=[0, 1], seeds=2, n_test=200)
    >>> r.shape, bool((r > 0).all())
    ((2, 2), True)
    """
    kern, d, n, lam, energy, sigma2, seeds, seed, n_test = _validate(
        kernel, d, n, lam, energy, sigma2, seeds, seed, n_test)
    out = np.empty((seeds, lam.size))
    for i in range(seeds):
        rng = np.random.default_rng([seed, d, n, i])
        X = sample_sphere(rng, n, d)
        Xt = sample_sphere(rng, n_test, d)
        E = sample_sphere(rng, max(energy.size, 1), d)
        f, ft = zonal_target(X, E, energy), zonal_target(Xt, E, energy)
        K = _eval_h(kern, np.clip(X @ X.T / d, -1.0, 1.0))
        Kt = _eval_h(kern, np.clip(Xt @ X.T / d, -1.0, 1.0))
        s, U = np.linalg.eigh((K + K.T) / 2)
        s = np.maximum(s, 0.0)  # K is positive semi-definite; rounding may leave tiny negatives
        G = Kt @ U
        c = U.T @ f
        g2 = np.einsum("ij,ij->j", G, G)
        for j, lj in enumerate(lam):
            den = s + lj
            if (den <= 0).any():
                raise ValueError(f"lam = {lj:g}: the kernel matrix is singular at this n; use lam > 0")
            pred = G @ (c / den)
            out[i, j] = np.mean((pred - ft) ** 2) + sigma2 * np.sum(g2 / den ** 2) / n_test
    return out


def finite_size_allowance(theory, n, df2_over_n, d, c_n=2.0, c_d=1.0):
    """``|R| (c_n/(n (1 - df2/n)) + c_d/d)``: the stated finite-size allowance (module docstring)."""
    theory = np.asarray(theory, dtype=float)
    one_minus = np.maximum(1.0 - np.asarray(df2_over_n, dtype=float), 1e-300)
    with np.errstate(invalid="ignore"):
        a = np.abs(theory) * (c_n / (n * one_minus) + c_d / d)
    return np.where(np.isfinite(theory), a, np.inf)


def check(kernel, d, n, lam, *, energy=(0.0, 1.0), sigma2=0.0, seeds=20, seed=0, n_test=2000,
          k_se=3.0, theory=None):
    """Theory vs Monte Carlo at one ``(d, n)`` for each ``lam``: a list of
    :class:`~theory_checks.compare.Comparison` (params ``kernel, d, n, lam, sigma2``).

    ``theory`` defaults to :func:`asymptotics.models.kernel_ridge.sphere_risk`.
    """
    from asymptotics.models import kernel_ridge
    lam = np.atleast_1d(np.asarray(lam, dtype=float))
    if theory is None:
        sol, _ = kernel_ridge.sphere_risk(kernel, d, float(n), lam, sigma2, energy=energy)
        risk, df2n = np.atleast_1d(sol.risk), np.atleast_1d(sol.df2) / float(n)
    else:
        risk, df2n = theory(lam)
    samples = simulate(kernel, d, n, lam, energy=energy, sigma2=sigma2, seeds=seeds, seed=seed,
                       n_test=n_test)
    name = kernel if isinstance(kernel, str) else getattr(kernel, "__name__", "callable")
    return compare_many(risk, samples, allowance=finite_size_allowance(risk, n, df2n, d), k_se=k_se,
                        params=[{"kernel": name, "d": d, "n": int(n), "lam": float(l), "sigma2": sigma2}
                                for l in lam])
