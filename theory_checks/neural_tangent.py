r"""Monte Carlo of the neural tangent model (mirror of :mod:`asymptotics.models.neural_tangent`).

Conventions (Ghorbani, Mei, Misiakiewicz & Montanari, arXiv 1904.12191, Sec. 2): inputs uniform on
``S^{d-1}(sqrt d)``, weights ``w_i`` uniform on the unit sphere, NT features
``Phi(x) = (x sigma'(<w_i, x>))_{i <= N}/sqrt(N d)``, RF features ``sigma(<w_i, x>)``.

Three simulations, each "for real" at finite ``d, N`` (and ``n``):

* :func:`simulate_kernel_eigenvalues` -- the finite-``N`` random kernel
  ``K_N(x, x') = (<x,x'>/d)(1/N) sum_i sigma'(<w_i,x>) sigma'(<w_i,x'>)`` (or the RF kernel) is
  evaluated on all pairs of ``m`` sampled points, and ``xi_{d,k} = E[K_N(x, x') Q_k(<x, x'>)]``
  (Funk--Hecke; ``E_W K_N`` is the infinite-width kernel) is estimated by the mean over the
  ``m(m-1)/2`` pairs (a U-statistic, unbiased). One row per seed (fresh ``W`` and points); the
  standard error is taken over seeds.
* :func:`simulate_ridge` -- NT ridge regression: ``n`` samples, labels ``y = f(x) + eps``,
  ``f_hat(x) = K_N(x, X)(K_N(X, X) + lam I)^{-1} y`` (equivalently the feature-space ridge
  ``argmin ||y - Phi s||^2 + lam ||s||^2``), computed through the ``n x n`` kernel (a Hadamard
  product, :func:`asymptotics.models.neural_tangent.nt_kernel_matrix`), never the ``N d`` features;
  one eigendecomposition per draw serves every ``lam``. The target is
  ``f = sum_k sqrt(E_k B(d,k)) Q_k(<v_k, x>)`` (``||P_k f||^2 = E_k``, a fresh random direction
  ``v_k`` per degree and draw). The risk ``E_x (f - f_hat)^2`` is averaged exactly over the label
  noise (``bias + sigma2 E_x ||(K + lam)^{-1} K(X, x)||^2``) and estimated over a fresh test set of
  ``m_test`` points (its sampling error is part of the standard error over draws).
* :func:`simulate_approximation` -- the approximation error with infinite data,
  ``min_{g in span} E_x (f - g)^2 = ||f||^2 - b^T U^+ b`` with the exact population Gram matrix
  ``U = E_x[phi phi^T]`` and ``b = E_x[f phi]``, for ``sigma = relu`` where both are closed forms at
  every ``d`` (no fitting sample): RF ``U_ij = (sin t + (pi - t) cos t)/(2 pi)``, ``cos t = <w_i, w_j>``
  (the arc-cosine kernel is exact on the sphere: only the second moment of the projection of ``x``
  on ``span(w_i, w_j)`` enters, and it equals the Gaussian one); NT blocks
  ``E_x[x x^T 1(<w_i,x> > 0) 1(<w_j,x> > 0)] = (pi - t)/(2 pi) I + [w_i w_j^T + w_j w_i^T -
  cos t (w_i w_i^T + w_j w_j^T)]/(2 pi sin t)`` (``I/2`` for ``i = j``; same argument). The target is
  averaged *exactly* over its random directions: by the addition formula
  ``E_v[b b^T] = sum_k E_k lambda_k^2 P_k(<w_i, w_j>)`` (RF) and, since
  ``x sigma'(<w, x>) = grad_w sigma(<w, x>)``, the mixed Hessian of
  ``|w||w'| lambda_k^2 P_k(<w, w'>/(|w||w'|))`` for NT (relu is positively homogeneous):
  ``E_k lambda_k^2 [P_k(c) a b^T + P_k'(c)(I - c a b^T) + P_k''(c)(b - c a)(a - c b)^T]``,
  ``a = w_i, b = w_j, c = <a, b>``. The pseudo-inverse drops eigenvalues of ``U`` below
  ``1e-12`` of the largest. ``lambda_k = lambda_{d,k}(relu)`` comes from the theory's quadrature
  (tested against Monte Carlo separately); everything random-matrix is simulated.

Theory versus simulation (no allowance anywhere)
------------------------------------------------
* kernel eigenvalues (:func:`check_kernel`): a **single-size** comparison
  (:func:`theory_checks.compare.compare`): ``E_W K_N`` *is* the limit kernel and the U-statistic is
  unbiased at every ``N`` and ``d``, so there is no finite-size term to extrapolate;
* NT ridge (:func:`check`): a ladder of dimensions with ``n_i`` keeping ``n``'s place relative to the
  spectrum (:func:`theory_checks.ladder.sphere_ladder`) and ``N_i = ceil(N n_i / n)``: then
  ``n_i / (N_i d_i)`` -- the relative size of the finite-width fluctuation of the kernel (Montanari &
  Zhong, arXiv 2007.12826) -- falls as ``1/d``, like the error of the deterministic equivalent; the
  finite-``d`` theory is evaluated at each ``(d_i, n_i)`` and the residuals are extrapolated to
  ``1/d = 0``;
* approximation (:func:`check_approximation`): a ladder ``d_i = round(t d)``, ``N_i = round(t N)``
  (``t = 1/2, 2^{-1/2}, 1`` by default): the deterministic equivalent's ``O(1/N)`` (``N``
  independent blocks) and ``O(1/d)`` (spherical, not Gaussian, features) errors both fall as
  ``1/t``; the finite-``d`` prediction is evaluated at each ``(N_i, d_i)``. At ``N = 1, 2`` neurons
  the NT equivalent is off by 5-7 % (the degree-1 component common to every block, which it
  ignores); sizes with fewer than ``min_neurons = 3`` NT neurons are left out of the ladder.
"""
from __future__ import annotations

import math

import numpy as np
import scipy.linalg

from asymptotics._validation import check_int, check_real
from asymptotics.expansions.gegenbauer import _gegenbauer_table, multiplicity
from .compare import LEVEL, Check, compare_many
from .ladder import PointGroup, SphereTheory, energy_text, run_groups, sphere_ladder

__all__ = ["simulate_kernel_eigenvalues", "simulate_ridge", "simulate_approximation", "check", "staircase_figure",
           "check_kernel", "check_approximation", "NTGroup", "ApproximationGroup",
           "MAX_ENTRIES"]

#: Largest matrix (entries) a simulation builds; beyond it a ValueError, not a MemoryError.
MAX_ENTRIES = 6 * 10 ** 7
_TAG_KERNEL, _TAG_RIDGE, _TAG_APPROX = 11, 12, 13


def _rng(*key):
    return np.random.default_rng(np.random.SeedSequence([int(k) for k in key]))


def _sphere(rng, m, d, radius):
    g = rng.standard_normal((m, d))
    return radius * g / np.linalg.norm(g, axis=1, keepdims=True)


def _act(activation):
    from asymptotics.activations import get_activation
    return get_activation(activation)


def _np(f):
    def g(t):
        with np.errstate(all="ignore"):
            return np.asarray(f(t), dtype=float)
    return g


def _size(entries, what):
    if entries > MAX_ENTRIES:
        raise ValueError(f"the simulation needs {entries:.3g} matrix entries for {what} (above "
                         f"{MAX_ENTRIES:.0e}); lower the sizes")


def _energy(energy):
    from asymptotics.models.neural_tangent import parse_energy
    return parse_energy(energy)


# ----------------------------------------------------------------------------------------------
# kernel eigenvalues
# ----------------------------------------------------------------------------------------------
def simulate_kernel_eigenvalues(activation, d, N, kmax, *, model="nt", m=2000, seeds=10, seed=0):
    """Monte Carlo of ``xi_{d,k}``, ``k <= kmax``, from the finite-``N`` random kernel (module docstring).

    Args:
        activation: activation name (with a derivative for NT).
        d: dimension ``>= 2``; N: neurons ``>= 1``; kmax: largest degree ``>= 0``.
        model: ``"nt"`` or ``"rf"``.
        m: points per draw (all ``m(m-1)/2`` pairs are used), ``>= 2``.
        seeds: independent draws (``>= 2``); seed: master seed.

    Returns:
        Array ``(seeds, kmax + 1)``: one estimate of ``xi_{d,0..kmax}`` per draw.

    >>> simulate_kernel_eigenvalues("relu", 5, 3, 2, m=50, seeds=2).shape
    (2, 3)
    """
    d = check_int("d", d, low=2)
    N = check_int("N", N, low=1)
    kmax = check_int("kmax", kmax, low=0, high=200)
    m = check_int("m", m, low=2)
    seeds = check_int("seeds", seeds, low=2)
    seed = check_int("seed", seed, low=0)
    if model not in ("nt", "rf"):
        raise ValueError(f"model must be 'nt' or 'rf', got {model!r}")
    _size(m * m * (kmax + 2) + m * N, "simulate_kernel_eigenvalues")
    from asymptotics.models.neural_tangent import nt_kernel_matrix, rf_kernel_matrix
    kern = nt_kernel_matrix if model == "nt" else rf_kernel_matrix
    out = np.empty((seeds, kmax + 1))
    iu = np.triu_indices(m, 1)
    for i in range(seeds):
        rng = _rng(seed, _TAG_KERNEL, d, N, m, i)
        W = _sphere(rng, N, d, 1.0)
        X = _sphere(rng, m, d, math.sqrt(d))
        K = kern(X, X, W, activation)[iu]
        s = np.clip((X @ X.T / d)[iu], -1.0, 1.0)
        out[i] = _gegenbauer_table(kmax, s, d) @ K / s.size
    return out


def check_kernel(activation, d, N, kmax, *, model="nt", m=2000, seeds=10, seed=0,
                 level=LEVEL) -> list[Check]:
    """Theory (:func:`asymptotics.models.neural_tangent.nt_spectrum` / ``rf_spectrum``) vs the
    Monte Carlo of the finite-``N`` kernel, one single-size :class:`~theory_checks.compare.Check` per
    degree: the estimator is unbiased for the exact finite-``d`` eigenvalue at every ``N``, so no
    finite-size correction is made (the quadrature error of the theory, ``<= 1e-13`` relative, is
    far below any Monte Carlo standard error)."""
    from asymptotics.models import neural_tangent as nt
    spec = (nt.nt_spectrum if model == "nt" else nt.rf_spectrum)(activation, d, kmax)
    samples = simulate_kernel_eigenvalues(activation, d, N, kmax, model=model, m=m, seeds=seeds, seed=seed)
    params = [dict(model=model, d=d, N=N, k=k) for k in range(kmax + 1)]
    return compare_many(spec.eigenvalues, samples, params=params, size=d, level=level)


# ----------------------------------------------------------------------------------------------
# NT ridge regression
# ----------------------------------------------------------------------------------------------
def _target(rng, d, energy):
    """``f(X) = sum_k sqrt(E_k B(d,k)) Q_k(<v_k, x>)`` with random unit ``v_k``; returns a callable."""
    K = energy.size - 1
    V = _sphere(rng, K + 1, d, 1.0)
    amp = np.sqrt(energy * np.array([float(b) for b in multiplicity(d, list(range(K + 1)))]))

    def f(X):
        S = np.clip(X @ V.T / math.sqrt(d), -1.0, 1.0)            # (m, K+1): <v_k, x>/d
        P = _gegenbauer_table(K, S, d)                            # (K+1, m, K+1)
        return sum(amp[k] * P[k, :, k] for k in range(K + 1))
    return f


def simulate_ridge(n, lam, *, d, N, activation="relu", energy=(0.0, 1.0), sigma2=0.0, seeds=10,
                   seed=0, m_test=2000) -> np.ndarray:
    """Test risks of NT ridge regression (module docstring), one row per draw, one column per ``lam``.

    Args:
        n: samples ``>= 1``; lam: ridge(s) ``>= 0`` on ``(K + lam I)`` (``0``: min-norm interpolation,
            pseudo-inverse cut at ``1e-12`` of the largest eigenvalue).
        d: dimension ``>= 2``; N: neurons ``>= 1``.
        activation, energy, sigma2: as in :func:`asymptotics.models.neural_tangent.risk`.
        seeds, seed, m_test: draws (``>= 2``), master seed, test points per draw (``>= 100``).

    Returns:
        Array ``(seeds, len(lam))`` of ``E_x (f(x) - f_hat(x))^2`` (noise-averaged).

    >>> simulate_ridge(30, [0.0, 0.1], d=5, N=20, seeds=2, m_test=200).shape
    (2, 2)
    """
    n = check_int("n", n, low=1)
    d = check_int("d", d, low=2)
    N = check_int("N", N, low=1)
    lams = np.atleast_1d(check_real("lam", lam, low=0.0))
    if lams.ndim != 1:
        raise ValueError("lam must be a scalar or a 1-d array")
    e = _energy(energy)
    sigma2 = float(check_real("sigma2", sigma2, low=0.0))
    seeds = check_int("seeds", seeds, low=2)
    seed = check_int("seed", seed, low=0)
    m_test = check_int("m_test", m_test, low=100)
    _size((n + m_test) * (n + N + d), "simulate_ridge")
    act = _act(activation)
    from asymptotics.models.neural_tangent import _derivative
    dsig = _np(_derivative(act))
    out = np.empty((seeds, lams.size))
    for i in range(seeds):
        out[i] = _ridge_draw(_rng(seed, _TAG_RIDGE, n, d, N, i), n, d, N, lams, e, sigma2, m_test, dsig)
    return out


def _ridge_draw(rng, n, d, N, lams, e, sigma2, m_test, dsig):
    """One draw of NT ridge regression (weights, data, target, test set): the risks for every
    ``lam`` from one eigendecomposition of the ``n x n`` NT kernel matrix."""
    W = _sphere(rng, N, d, 1.0)
    X = _sphere(rng, n, d, math.sqrt(d))
    Xt = _sphere(rng, m_test, d, math.sqrt(d))
    f = _target(rng, d, e)
    y, yt = f(X), f(Xt)
    S, St = dsig(X @ W.T), dsig(Xt @ W.T)
    K = (X @ X.T / d) * (S @ S.T / N)
    Kt = (Xt @ X.T / d) * (St @ S.T / N)
    ev, Q = scipy.linalg.eigh(K)
    A = Kt @ Q                                               # (m_test, n)
    c = Q.T @ y
    cut = 1e-12 * max(ev.max(), 0.0)
    out = np.empty(lams.size)
    for j, lam_j in enumerate(lams):
        if lam_j == 0:
            w = np.where(ev > cut, 1.0 / np.where(ev > cut, ev, 1.0), 0.0)
        else:
            w = 1.0 / (ev + lam_j)
        Aw = A * w
        bias = np.mean((yt - Aw @ c) ** 2)
        var = np.mean(np.sum(Aw * Aw, axis=1))
        out[j] = bias + sigma2 * var
    return out


class NTGroup(SphereTheory, PointGroup):
    """NT ridge regression at one ``(n, d, N, activation, energy, sigma2)`` for every ``lam``, at the
    ladder of :func:`theory_checks.ladder.sphere_ladder` with ``N_i = ceil(N n_i / n)`` (module
    docstring). A unit is one draw of :func:`simulate_ridge`'s stream at that size."""

    model = "nt"

    def __init__(self, n, lam, *, d, N=None, activation="relu", energy=(0.0, 1.0), sigma2=0.0, dims=None,
                 m_test=2000, theory=None):
        self.n = check_int("n", n, low=1)
        self.d = check_int("d", d, low=2)
        self.N = math.ceil(100 * self.n / self.d) if N is None else check_int("N", N, low=1)
        self.lams = np.atleast_1d(check_real("lam", lam, low=0.0)).astype(float)
        if self.lams.ndim != 1:
            raise ValueError("lam must be a scalar or a 1-d array")
        self.energy = _energy(energy)
        self.sigma2 = float(check_real("sigma2", sigma2, low=0.0))
        self.m_test = check_int("m_test", m_test, low=100)
        self.activation = activation
        self._set_dsig()
        self.sizes, self.ns = sphere_ladder(self.d, self.n, dims)
        self.Ns = tuple(max(1, math.ceil(self.N * ni / self.n)) for ni in self.ns)
        for di, ni, Ni in zip(self.sizes, self.ns, self.Ns):
            _size((ni + self.m_test) * (ni + Ni + di), f"the ladder's size d = {di}, n = {ni}, N = {Ni}")
        self.sim = {"n": self.ns, "N": self.Ns}
        self.params = [dict(n=self.n, d=self.d, N=self.N, lam=float(l), sigma2=self.sigma2,
                            activation=_act(activation).name, energy=energy_text(self.energy))
                       for l in self.lams]
        self.theory_fn = theory
        self._cache = {}

    def _set_dsig(self):
        from asymptotics.models.neural_tangent import _derivative
        self.dsig = _np(_derivative(_act(self.activation)))

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("dsig", None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._set_dsig()

    def key(self):
        return ("nt", self.n, self.d, self.N, tuple(self.lams.tolist()), _act(self.activation).name,
                tuple(self.energy.tolist()), self.sigma2, self.m_test)

    def _model_risk(self, d, n):
        from asymptotics.models.neural_tangent import risk
        return risk(n, d, self.lams, self.sigma2, activation=self.activation, energy=self.energy).risk

    def draw(self, i, j, seed):
        d, n, N = self.sizes[i], self.ns[i], self.Ns[i]
        return _ridge_draw(_rng(seed, _TAG_RIDGE, n, d, N, j), n, d, N, self.lams, self.energy, self.sigma2,
                           self.m_test, self.dsig)

    def cost_hint(self, i):
        d, n, N = self.sizes[i], self.ns[i], self.Ns[i]
        return float(n + self.m_test) * (N * (d + n) + n * n)


def check(n, lam, *, d, N=None, activation="relu", energy=(0.0, 1.0), sigma2=0.0, dims=None, seeds=10,
          seed=0, m_test=2000, theory=None, resolution=None, max_seconds=None, max_seeds=None, level=LEVEL,
          map_units=None) -> list[Check]:
    """NT ridge regression: theory (:func:`asymptotics.models.neural_tangent.risk`, KRR with the NT
    kernel at finite ``d``, valid for ``N d >> n``) vs :func:`simulate_ridge`, extrapolated over the
    ladder of :class:`NTGroup` (``dims``; ``dims=[d]`` is a single size without finite-size
    correction). ``N=None`` takes ``N = ceil(100 n/d)`` at the point. ``params``: ``n, d, N, lam,
    sigma2, activation, energy`` (a string, e.g. ``"0,1"``); ``sim``: ``n`` and ``N`` per size. Other arguments as in
    :func:`theory_checks.kernel_ridge.check`."""
    g = NTGroup(n, lam, d=d, N=N, activation=activation, energy=energy, sigma2=sigma2, dims=dims,
                m_test=m_test, theory=theory)
    runs = run_groups([g], seeds=seeds, seed=seed, resolution=resolution, max_seconds=max_seconds,
                      max_seeds=max_seeds, level=level, map_units=map_units)
    return runs[0].checks(level=level)


# ----------------------------------------------------------------------------------------------
# approximation error with infinite data (relu, exact population Grams)
# ----------------------------------------------------------------------------------------------
def _gegenbauer_derivatives(kmax, s, d):
    """``P_k(s), P_k'(s), P_k''(s)``, ``k <= kmax``, by differentiating the three-term recurrence."""
    P = _gegenbauer_table(kmax, s, d)
    D1 = np.zeros_like(P)
    D2 = np.zeros_like(P)
    if kmax >= 1:
        D1[1] = 1.0
    for k in range(1, kmax):
        a, b = (2 * k + d - 2) / (k + d - 2), k / (k + d - 2)
        D1[k + 1] = a * (P[k] + s * D1[k]) - b * D1[k - 1]
        D2[k + 1] = a * (2 * D1[k] + s * D2[k]) - b * D2[k - 1]
    return P, D1, D2


def _relu_lambdas(d, K):
    from asymptotics.models.neural_tangent import gegenbauer_coefficients
    lam, _ = gegenbauer_coefficients(lambda t: np.maximum(t, 0.0), d, K, kinks=(0.0,))
    return lam


def _grams(model, W, e, lam2):
    """``(U, T)``: the population Gram ``E_x[phi phi^T]`` of the relu RF/NT features of ``W`` and
    ``T = E_v[b b^T]``, ``b = E_x[f phi]``, for the random-direction target of energies ``e``."""
    N, d = W.shape
    K = e.size - 1
    C = np.clip(W @ W.T, -1.0, 1.0)
    np.fill_diagonal(C, 1.0)
    th = np.arccos(C)
    sn = np.sqrt((1.0 - C) * (1.0 + C))
    if model == "rf":
        U = (sn + (math.pi - th) * C) / (2 * math.pi)
        P = _gegenbauer_table(K, C, d)
        T = np.tensordot(e * lam2, P, axes=1)
    else:
        # Gram blocks (i, a), (j, b), built one block row at a time (memory O((N d)^2)):
        # U: (pi - t)/(2 pi) delta_ab + [w_i w_j^T + w_j w_i^T - c (w_i w_i^T + w_j w_j^T)]_ab / (2 pi sin t)
        # T = E_v[b_i b_j^T]: f0 a b^T + f1 (I - c a b^T) + f2 (b - c a)(a - c b)^T, a = w_i, b = w_j
        off = sn > 1e-12
        g = np.where(off, 1.0 / (2 * math.pi * np.where(off, sn, 1.0)), 0.0)
        P, D1, D2 = _gegenbauer_derivatives(K, C, d)
        f0 = np.tensordot(e * lam2, P, axes=1)
        f1 = np.tensordot(e * lam2, D1, axes=1)
        f2 = np.tensordot(e * lam2, D2, axes=1)
        U = np.zeros((N, d, N, d))
        T = np.zeros((N, d, N, d))
        eye = np.eye(d)[:, None, :]                              # (a, j, b)
        for i in range(N):
            wi = W[i]
            ab = wi[:, None, None] * W[None, :, :]               # w_i[a] w_j[b]
            ba = W.T[:, :, None] * wi[None, None, :]             # w_j[a] w_i[b]
            ii = (wi[:, None] * wi[None, :])[:, None, :]         # w_i[a] w_i[b]
            jj = W.T[:, :, None] * W[None, :, :]                 # w_j[a] w_j[b]
            c = C[i][None, :, None]
            U[i] = ((math.pi - th[i]) / (2 * math.pi))[None, :, None] * eye \
                + g[i][None, :, None] * (ab + ba - c * (ii + jj))
            bma = W.T[:, :, None] - c * wi[:, None, None]         # (b - c a)[a-index]
            amb = wi[None, None, :] - c * W[None, :, :]           # (a - c b)[b-index]
            T[i] = (f0[i] - f1[i] * C[i])[None, :, None] * ab + f1[i][None, :, None] * eye \
                + f2[i][None, :, None] * bma * amb
        U = U.reshape(N * d, N * d)
        T = T.reshape(N * d, N * d)
    return U, T


def _approx_one(rng, model, N, d, e, lam2):
    U, T = _grams(model, _sphere(rng, N, d, 1.0), e, lam2)
    return float(np.sum(e)) - _trace_solve(U, T)


def _trace_solve(U, T):
    """``tr(U^+ T)``: by Cholesky when ``U`` is well conditioned (``(max/min diag L)^2 < 1e10``), else
    by ``eigh`` with eigenvalues below ``1e-12`` of the largest dropped (the pseudo-inverse)."""
    try:
        L, low = scipy.linalg.cho_factor(U, lower=True, check_finite=False)
        dg = np.abs(np.diag(L))
        if (dg.max() / dg.min()) ** 2 < 1e10:
            return float(np.trace(scipy.linalg.cho_solve((L, low), T, check_finite=False)))
    except np.linalg.LinAlgError:
        pass
    ev, Q = scipy.linalg.eigh(U)
    keep = ev > 1e-12 * ev.max()
    Qk = Q[:, keep]
    return float(np.sum((Qk.T @ T * Qk.T).sum(axis=1) / ev[keep]))


def simulate_approximation(N, d, *, model="nt", energy=(0.0, 1.0), seeds=10, seed=0) -> np.ndarray:
    """Approximation errors (infinite data) of the RF or NT class with ``N`` relu neurons, one per draw.

    Exact population least squares through the closed-form Gram matrices of the module docstring,
    averaged exactly over the target's random directions; only the weights are random.

    Args:
        N: neurons ``>= 1``; d: dimension ``>= 3``; model: ``"nt"`` or ``"rf"``.
        energy: target energies ``||P_k f||^2`` of degrees ``0, 1, ...``.
        seeds, seed: draws (``>= 2``) and master seed.

    Returns:
        Array ``(seeds,)``.

    >>> r = simulate_approximation(2, 5, model="nt", energy=[0, 1], seeds=2)
    >>> r.shape, bool(((r > 0) & (r < 1)).all())
    ((2,), True)
    """
    N = check_int("N", N, low=1)
    d = check_int("d", d, low=3)
    if model not in ("nt", "rf"):
        raise ValueError(f"model must be 'nt' or 'rf', got {model!r}")
    e = _energy(energy)
    seeds = check_int("seeds", seeds, low=2)
    seed = check_int("seed", seed, low=0)
    p = N * d if model == "nt" else N
    _size(4 * p * p, "simulate_approximation")
    lam2 = _relu_lambdas(d, e.size - 1) ** 2
    out = np.empty(seeds)
    for i in range(seeds):
        out[i] = _approx_one(_rng(seed, _TAG_APPROX, N, d, 0 if model == "rf" else 1, i), model, N, d, e, lam2)
    return out


#: Default scale factors of the approximation ladder (d_i = round(t d), N_i = round(t N)).
APPROX_FACTORS = (0.5, 2 ** -0.5, 1.0)


class ApproximationGroup(PointGroup):
    """The RF or NT approximation error at ``(N, d)`` (one point), at the ladder ``d_i = round(t d)``,
    ``N_i = round(t N)`` (module docstring); NT sizes with fewer than ``min_neurons`` neurons are left
    out. A unit is one draw of :func:`simulate_approximation`'s stream at that size."""

    def __init__(self, model, N, d, *, energy=(0.0, 1.0), factors=APPROX_FACTORS, min_neurons=3, params=None,
                 theory=None):
        if model not in ("nt", "rf"):
            raise ValueError(f"model must be 'nt' or 'rf', got {model!r}")
        self.model = model
        self.N = check_int("N", N, low=1)
        self.d = check_int("d", d, low=3)
        self.energy = _energy(energy)
        pairs = {}
        for t in sorted(float(check_real("ladder factor", f, low=0.0, low_open=True))
                        for f in np.atleast_1d(factors).tolist()):
            di, Ni = max(3, int(round(t * self.d))), max(1, int(round(t * self.N)))
            if model == "nt" and Ni < min_neurons and (di, Ni) != (self.d, self.N):
                continue
            pairs[di] = Ni
        self.sizes = tuple(sorted(pairs))
        self.Ns = tuple(pairs[k] for k in self.sizes)
        for di, Ni in zip(self.sizes, self.Ns):
            p = Ni * di if model == "nt" else Ni
            _size(4 * p * p, "simulate_approximation")
        self.sim = {"N": self.Ns}
        self.params = [dict(params or dict(model=model, d=self.d, N=self.N))]
        self.theory_fn = theory
        self._cache = {}
        self._lam2 = {}

    def key(self):
        return ("nt-approximation", self.model, self.N, self.d, tuple(self.energy.tolist()))

    def _risk(self, N, d):
        if (N, d) not in self._cache:
            if self.theory_fn is None:
                from asymptotics.models.neural_tangent import approximation_error
                th = approximation_error(N, d, model=self.model, energy=self.energy)
            else:
                th = self.theory_fn(N, d)
            self._cache[(N, d)] = np.atleast_1d(check_real("theory", th, allow_inf=True)).astype(float)
        return self._cache[(N, d)]

    def theory(self):
        return self._risk(self.N, self.d)

    def theory_at(self, i):
        return self._risk(self.Ns[i], self.sizes[i])

    def draw(self, i, j, seed):
        d, N = self.sizes[i], self.Ns[i]
        if d not in self._lam2:
            self._lam2[d] = _relu_lambdas(d, self.energy.size - 1) ** 2
        rng = _rng(seed, _TAG_APPROX, N, d, 0 if self.model == "rf" else 1, j)
        return np.array([_approx_one(rng, self.model, N, d, self.energy, self._lam2[d])])

    def cost_hint(self, i):
        p = self.Ns[i] * (self.sizes[i] if self.model == "nt" else 1)
        return float(p) ** 3


def check_approximation(exponent, d, *, energy=(0.0, 1.0), seeds=10, seed=0, min_neurons=3,
                        activation="relu", models=("rf", "nt"), factors=APPROX_FACTORS, resolution=None,
                        max_seconds=None, max_seeds=None, level=LEVEL, map_units=None) -> list[Check]:
    """RF and NT approximation errors at ``p = d^exponent`` parameters: the finite-``d`` prediction
    (:func:`asymptotics.models.neural_tangent.approximation_error`) vs :func:`simulate_approximation`
    (relu), extrapolated over the ladder of :class:`ApproximationGroup` (``factors=[1]``: a single
    size). ``N = round(p)`` for RF and ``round(p/d)`` for NT; NT points with fewer than
    ``min_neurons`` neurons are skipped. For each exponent, one check per model in ``models`` (in that
    order). ``params``: ``model, exponent, d, N, params``."""
    if not set(models) <= {"rf", "nt"} or not models:
        raise ValueError(f"models must be a non-empty subset of ('rf', 'nt'), got {models!r}")
    if _act(activation).name != "relu" or _act(activation).params:
        raise ValueError(f"check_approximation simulates relu only (closed-form Gram matrices), got "
                         f"activation {activation!r}")
    ex = np.atleast_1d(check_real("exponent", exponent, low=0.0, high=10.0))
    d = check_int("d", d, low=3)
    min_neurons = check_int("min_neurons", min_neurons, low=1)
    groups = []
    for x in ex:
        p = d ** float(x)
        for model, N in (("rf", max(1, round(p))), ("nt", round(p / d))):
            if model not in models or (model == "nt" and N < min_neurons):
                continue
            groups.append(ApproximationGroup(
                model, N, d, energy=energy, factors=factors, min_neurons=min_neurons,
                params=dict(model=model, exponent=float(x), d=d, N=N, params=N * (d if model == "nt" else 1))))
    runs = run_groups(groups, seeds=seeds, seed=seed, resolution=resolution, max_seconds=max_seconds,
                      max_seeds=max_seeds, level=level, map_units=map_units)
    return [c for r in runs for c in r.checks(level=level)]


# ----------------------------------------------------------------------------------------------
# the RF-vs-NT staircase figure
# ----------------------------------------------------------------------------------------------
def staircase_figure(path, *, d=(20, 30), energy=(0.0, 0.5, 0.5), lo=0.3, hi=2.3, markers=9, seeds=4,
                     seed=0):
    """RF vs NT approximation error against ``log(parameters)/log d`` (relu), saved to ``path``.

    Curves: the finite-``d`` predictions (:func:`asymptotics.models.neural_tangent.staircase`) for
    each ``d`` and the ``d -> oo`` staircase of Ghorbani et al. (Thm 1-2); markers: the mean of
    :func:`simulate_approximation` over ``seeds`` draws at ``markers`` exponents per model (NT from
    one neuron, ``p = d``, on), error bars ``+-2`` standard errors. Returns the list of the
    simulated points as records (``model, d, N, params, exponent, mc_mean, mc_se, theory``).
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from asymptotics.models.neural_tangent import approximation_error, staircase_limit
    e = _energy(energy)
    fig, ax = plt.subplots(figsize=(7.0, 4.4))
    xs = np.linspace(lo, hi, 400)
    xs_lim = xs[xs != np.floor(xs)]
    ax.plot(xs_lim, staircase_limit(xs_lim, e), color="k", lw=1.0, ls=":", label=r"$d\to\infty$ (Ghorbani et al.)")
    colors = {20: ("tab:blue", "tab:orange"), 30: ("tab:green", "tab:red")}
    recs = []
    for dv in d:
        c_rf, c_nt = colors.get(dv, (None, None))
        rf = approximation_error(float(dv) ** xs, dv, model="rf", energy=e)
        ax.plot(xs, rf, color=c_rf, lw=1.4, label=f"RF, d={dv}")
        xn = xs[xs >= 1.0]
        ntc = approximation_error(float(dv) ** (xn - 1), dv, model="nt", energy=e)
        ax.plot(xn, ntc, color=c_nt, lw=1.4, ls="--", label=f"NT, d={dv}")
        for model, start, col, mk in (("rf", lo, c_rf, "o"), ("nt", 1.0, c_nt, "s")):
            Ns = sorted({max(1, round(float(dv) ** x / (dv if model == "nt" else 1)))
                         for x in np.linspace(start, hi, markers)})
            for N in Ns:
                r = simulate_approximation(N, dv, model=model, energy=e, seeds=seeds, seed=seed)
                p = N * (dv if model == "nt" else 1)
                x = math.log(p) / math.log(dv)
                m, se = float(r.mean()), float(r.std(ddof=1) / math.sqrt(r.size))
                ax.errorbar([x], [m], yerr=[2 * se], color=col, marker=mk, ms=4, ls="none", mfc="none")
                recs.append(dict(model=model, d=dv, N=N, params=p, exponent=x, mc_mean=m, mc_se=se,
                                 theory=float(approximation_error(N, dv, model=model, energy=e))))
    ax.set_xlabel(r"$\log(\mathrm{parameters}) / \log d$   (RF: $N$, NT: $N d$)")
    ax.set_ylabel("approximation error (infinite data)")
    ax.set_title(f"RF vs NT, relu, target energies {tuple(float(v) for v in e)} by degree")
    ax.legend(fontsize=8, ncol=2)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    plt.close(fig)
    return recs
