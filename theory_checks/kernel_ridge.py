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

**Theory versus simulation** (:func:`check`). The deterministic equivalent is exact only as
``n, d -> oo``; at finite size it misses the fluctuation of the effective regularization (relative
``O(1/n)``, amplified near an interpolation peak) and the non-Gaussianity of spherical harmonics
(relative ``O(1/d)``, e.g. ``E Y_1^4 = 3 d/(d + 2)``). The check therefore simulates a ladder of
dimensions ``d_i`` with ``n_i`` keeping ``n``'s place relative to the spectrum
(:func:`theory_checks.ladder.sphere_ladder`: ``n / sum_{k <= l} B(d, k)`` fixed, ``l`` the degree
nearest ``log n / log d``), evaluates the finite-``d`` theory at each ``(d_i, n_i)`` and extrapolates
the residuals to ``1/d = 0``; ``R_inf`` is the theory at the requested ``(d, n)`` plus the
extrapolated residual. There is no allowance.
"""
from __future__ import annotations

import numpy as np

from asymptotics._validation import check_array_1d, check_int, check_real
from asymptotics.expansions.gegenbauer import _eval_h, _gegenbauer_table, multiplicity, resolve_kernel

from .compare import LEVEL, Check
from .ladder import PointGroup, SphereTheory, energy_text, run_groups, sphere_ladder

__all__ = ["sample_sphere", "zonal_target", "simulate", "check", "KRRGroup"]

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
            # = gegenbauer(k, t, d), without its input validation (this runs once per draw)
            f += np.sqrt(v * _mult(d, k)) * _gegenbauer_table(k, (X @ directions[k]) / d, d)[k]
    return f


_MULT: dict = {}


def _mult(d: int, k: int) -> float:
    if (d, k) not in _MULT:
        _MULT[(d, k)] = float(multiplicity(d, k))
    return _MULT[(d, k)]


def _validate(kernel, d, n, lam, energy, sigma2, seeds, seed, n_test):
    kern = resolve_kernel(kernel)
    d = check_int("d", d, low=2, high=10 ** 5)
    n = check_int("n", n, low=1)
    if n * n > MAX_ENTRIES:
        raise ValueError(f"the simulation needs an n x n = {n} x {n} kernel matrix ({n * n:.3g} entries, "
                         f"above {MAX_ENTRIES:.0e}); lower n")
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
        out[i] = _one_draw(np.random.default_rng([seed, d, n, i]), kern, d, n, lam, energy, sigma2, n_test)
    return out


def _one_draw(rng, kern, d, n, lam, energy, sigma2, n_test):
    """One draw (data, target directions, test set): the excess risks for every ``lam`` from one
    eigendecomposition of the kernel matrix."""
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
    out = np.empty(lam.size)
    for j, lj in enumerate(lam):
        den = s + lj
        if (den <= 0).any():
            raise ValueError(f"lam = {lj:g}: the kernel matrix is singular at this n; use lam > 0")
        pred = G @ (c / den)
        out[j] = np.mean((pred - ft) ** 2) + sigma2 * np.sum(g2 / den ** 2) / n_test
    return out


class KRRGroup(SphereTheory, PointGroup):
    """Kernel ridge at one ``(kernel, d, n, energy, sigma2)`` for every ``lam``, at the ladder of
    :func:`theory_checks.ladder.sphere_ladder` (``dims`` given or default). The theory ``T_i`` is the
    finite-``d`` deterministic equivalent at ``(d_i, n_i)``. A unit is one draw of :func:`simulate`'s
    stream at that size (one eigendecomposition for all ``lam``)."""

    model = "kernel-ridge"

    def __init__(self, kernel, d, n, lam, *, energy=(0.0, 1.0), sigma2=0.0, dims=None, n_test=2000,
                 theory=None):
        from asymptotics.models.kernel_ridge import parse_energy
        energy = parse_energy(energy)
        kern, d, n, lam, energy, sigma2, _, _, n_test = _validate(kernel, d, n, lam, energy, sigma2, 2, 0,
                                                                  n_test)
        self.kernel, self.kern, self.d, self.n = kernel, kern, d, n
        self.lams, self.energy, self.sigma2, self.n_test = lam, energy, sigma2, n_test
        self.sizes, self.ns = sphere_ladder(d, n, dims)
        for di, ni in zip(self.sizes, self.ns):
            if ni * ni > MAX_ENTRIES:
                raise ValueError(f"the simulation needs an n x n = {ni} x {ni} kernel matrix at the ladder's "
                                 f"d = {di} ({ni * ni:.3g} entries, above {MAX_ENTRIES:.0e}); choose smaller "
                                 f"ladder dimensions (--ladder)")
        self.sim = {"n": self.ns}
        name = kernel if isinstance(kernel, str) else getattr(kernel, "__name__", "callable")
        self.name = name
        self.params = [{"kernel": name, "d": d, "n": int(n), "lam": float(l), "sigma2": sigma2,
                        "energy": energy_text(energy)} for l in lam]
        self.theory_fn = theory
        self._cache = {}

    def __getstate__(self):                      # a named kernel is rebuilt from its name
        state = dict(self.__dict__)
        if isinstance(self.kernel, str):
            state.pop("kern", None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        if "kern" not in state:
            self.kern = resolve_kernel(self.kernel)

    def key(self):
        return ("kernel-ridge", self.name, self.d, self.n, tuple(self.lams.tolist()),
                tuple(self.energy.tolist()), self.sigma2, self.n_test)

    def _model_risk(self, d, n):
        from asymptotics.models import kernel_ridge
        return kernel_ridge.sphere_risk(self.kernel, d, float(n), self.lams, self.sigma2, energy=self.energy)[0].risk

    def draw(self, i, j, seed):
        d, n = self.sizes[i], self.ns[i]
        return _one_draw(np.random.default_rng([seed, d, n, j]), self.kern, d, n, self.lams, self.energy,
                         self.sigma2, self.n_test)

    def cost_hint(self, i):
        d, n = self.sizes[i], self.ns[i]
        return float(n) * n * (n + self.n_test + d)


def check(kernel, d, n, lam, *, energy=(0.0, 1.0), sigma2=0.0, dims=None, seeds=10, seed=0, n_test=2000,
          theory=None, resolution=None, max_seconds=None, max_seeds=None, level=LEVEL,
          map_units=None) -> list[Check]:
    """Theory vs Monte Carlo at the point ``(d, n)`` for each ``lam``, extrapolated over a ladder of
    dimensions (``dims``; default :func:`theory_checks.ladder.sphere_ladder`; ``dims=[d]`` is a single
    size without finite-size correction).

    Args:
        kernel, d, n, lam, energy, sigma2, n_test: as in :func:`simulate`.
        dims: the ladder's dimensions.
        seeds, seed, resolution, max_seconds, max_seeds, level, map_units: see
            :func:`theory_checks.ladder.run_groups`.
        theory: optional ``theory(d, n, lam) -> risk`` (default
            :func:`asymptotics.models.kernel_ridge.sphere_risk`).

    Returns:
        A list of :class:`~theory_checks.compare.Check` (``params``: ``kernel, d, n, lam, sigma2,
        energy`` (a string, e.g. ``"0,1,1"``);
        ``sim["n"]``: the ladder's sample sizes).
    """
    g = KRRGroup(kernel, d, n, lam, energy=energy, sigma2=sigma2, dims=dims, n_test=n_test, theory=theory)
    runs = run_groups([g], seeds=seeds, seed=seed, resolution=resolution, max_seconds=max_seconds,
                      max_seeds=max_seeds, level=level, map_units=map_units)
    return runs[0].checks(level=level)
