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

Finite-size allowances (stated, see each ``*_allowance``)
---------------------------------------------------------
* kernel eigenvalues: none (``E_W K_N`` *is* the limit kernel; the estimator is unbiased);
* NT ridge: ``2 |R| / (n (1 - df2/n)) + |R| sqrt(n/(N d))``: the first term is the ridge check's
  finite-``n`` allowance of the deterministic equivalent (:func:`theory_checks.ridge.finite_size_allowance`);
  the second the finite-width correction ``O(sqrt(n/(N d)))`` of the kernel (Montanari & Zhong,
  arXiv 2007.12826: ``K_N - K`` has operator norm ``O(sqrt(n/(N d)))`` relative, up to logs);
* approximation: ``|R| (1/N + 1/d)`` (:func:`approximation_allowance`): the ``O(1/N)``
  correction of a deterministic equivalent with ``N`` independent blocks and an ``O(1/d)`` one
  (measured: at most 0.6 of it); at ``N = 1, 2`` neurons the NT equivalent is off by 5-7 % (the
  degree-1 part common to every block, which it ignores), and NT points with ``N < 3`` are not checked.
"""
from __future__ import annotations

import math

import numpy as np
import scipy.linalg

from asymptotics._validation import check_int, check_real
from asymptotics.expansions.gegenbauer import _gegenbauer_table, multiplicity
from .compare import Comparison, compare_many

__all__ = ["simulate_kernel_eigenvalues", "simulate_ridge", "simulate_approximation", "check", "staircase_figure",
           "check_kernel", "check_approximation", "ridge_allowance", "approximation_allowance",
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
        raise ValueError(f"{what} needs {entries:.3g} matrix entries (> {MAX_ENTRIES:.0e}); lower the sizes")


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


def check_kernel(activation, d, N, kmax, *, model="nt", m=2000, seeds=10, seed=0, k_se=4.0):
    """Theory (:func:`asymptotics.models.neural_tangent.nt_spectrum` / ``rf_spectrum``) vs the
    Monte Carlo of the finite-``N`` kernel, one :class:`Comparison` per degree (allowance 0: the
    estimator is unbiased for the exact finite-``d`` eigenvalue at every ``N``)."""
    from asymptotics.models import neural_tangent as nt
    spec = (nt.nt_spectrum if model == "nt" else nt.rf_spectrum)(activation, d, kmax)
    samples = simulate_kernel_eigenvalues(activation, d, N, kmax, model=model, m=m, seeds=seeds, seed=seed)
    params = [dict(model=model, d=d, N=N, k=k) for k in range(kmax + 1)]
    return compare_many(spec.eigenvalues, samples, allowance=spec.quadrature_error / np.array(
        [float(b) for b in spec.multiplicities]), k_se=k_se, params=params)


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
        rng = _rng(seed, _TAG_RIDGE, n, d, N, i)
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
        for j, lam_j in enumerate(lams):
            if lam_j == 0:
                w = np.where(ev > cut, 1.0 / np.where(ev > cut, ev, 1.0), 0.0)
            else:
                w = 1.0 / (ev + lam_j)
            Aw = A * w
            bias = np.mean((yt - Aw @ c) ** 2)
            var = np.mean(np.sum(Aw * Aw, axis=1))
            out[i, j] = bias + sigma2 * var
    return out


def ridge_allowance(theory, n, df2, N, d, c=2.0):
    """``c |R| / (n (1 - df2/n)) + |R| sqrt(n/(N d))`` (module docstring); ``inf`` where ``df2 >= n``."""
    th = np.asarray(theory, dtype=float)
    den = n * (1.0 - np.asarray(df2, dtype=float) / n)
    ok = (den > 0) & np.isfinite(th)
    a = np.where(ok, c * np.abs(np.where(ok, th, 0.0)) / np.where(ok, den, 1.0), np.inf)
    return a + np.abs(np.where(ok, th, 0.0)) * math.sqrt(n / (N * d))


def check(n, lam, *, d, N=None, activation="relu", energy=(0.0, 1.0), sigma2=0.0, seeds=10, seed=0,
          m_test=2000, k_se=3.0) -> list[Comparison]:
    """NT ridge regression: theory (:func:`asymptotics.models.neural_tangent.risk`, KRR with the NT
    kernel at finite ``d``, valid for ``N d >> n``) vs :func:`simulate_ridge`, one comparison per
    ``lam``, with :func:`ridge_allowance`. ``N=None`` takes ``N = ceil(100 n/d)`` (so that
    ``sqrt(n/(N d)) <= 0.1``). ``params``: ``n, d, N, lam, sigma2``."""
    from asymptotics.models.neural_tangent import risk
    n = check_int("n", n, low=1)
    d = check_int("d", d, low=2)
    N = math.ceil(100 * n / d) if N is None else check_int("N", N, low=1)
    lams = np.atleast_1d(check_real("lam", lam, low=0.0))
    th = risk(n, d, lams, sigma2, activation=activation, energy=energy)
    theory = np.broadcast_to(np.asarray(th.risk, dtype=float), lams.shape)
    df2 = np.broadcast_to(np.asarray(th.df2, dtype=float), lams.shape)
    samples = simulate_ridge(n, lams, d=d, N=N, activation=activation, energy=energy, sigma2=sigma2,
                             seeds=seeds, seed=seed, m_test=m_test)
    params = [dict(n=n, d=d, N=N, lam=float(l), sigma2=float(sigma2)) for l in lams]
    return compare_many(theory, samples, allowance=ridge_allowance(theory, n, df2, N, d), k_se=k_se,
                        params=params)


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


def approximation_allowance(theory, N, d, c_n=1.0, c_d=1.0):
    """``|R| (c_n/N + c_d/d)``: the ``O(1/N)`` correction of a deterministic equivalent with ``N``
    independent blocks (features for RF, neurons for NT) and an ``O(1/d)`` correction (spherical, not
    Gaussian, features). Measured at relu, energies ``(0, 1/2, 1/2)``, ``d = 20, 30``, on the points
    of the docs figure and of ``tests/test_neural_tangent_mc.py`` (4 draws each):
    ``|mean - theory| / (|R| (1/N + 1/d))`` is at most 0.60 for NT with ``N >= 3`` (``d = 20``,
    ``N = 23``: 5.6 % of the error, ``z = 2.9``, near the degree-2 transition) and at most 0.31 for RF
    (``d = 20``, ``N = 465``: 1.6 %, ``z = 1.8``; 0.85 % with 16 draws); ``c_n = c_d = 1`` leaves a
    margin of 1.7. For NT with
    ``N = 1, 2`` neurons the equivalent is off by 5-7 % of the error (the degree-1 component common
    to all blocks, see :mod:`asymptotics.models.neural_tangent`) and the allowance (``> 50 %``) is not
    informative: :func:`check_approximation` skips ``N < min_neurons = 3``.
    """
    return np.abs(np.asarray(theory, dtype=float)) * (c_n / np.asarray(N, dtype=float) + c_d / d)


def check_approximation(exponent, d, *, energy=(0.0, 1.0), seeds=10, seed=0, k_se=3.0,
                        min_neurons=3, activation="relu", models=("rf", "nt")) -> list[Comparison]:
    """RF and NT approximation errors at ``p = d^exponent`` parameters: the finite-``d`` prediction
    (:func:`asymptotics.models.neural_tangent.approximation_error`, at the simulated integer ``N``)
    vs :func:`simulate_approximation` (relu), with :func:`approximation_allowance`. ``N = round(p)``
    for RF and ``round(p/d)`` for NT; NT points with fewer than ``min_neurons`` neurons are skipped
    (``min_neurons=1`` keeps every point with ``p >= d/2``). For each exponent, one comparison per
    model in ``models`` (in that order). ``params``: ``model, exponent, d, N, params``."""
    if not set(models) <= {"rf", "nt"} or not models:
        raise ValueError(f"models must be a non-empty subset of ('rf', 'nt'), got {models!r}")
    from asymptotics.models.neural_tangent import approximation_error
    if _act(activation).name != "relu" or _act(activation).params:
        raise ValueError(f"check_approximation simulates relu only (closed-form Gram matrices), got "
                         f"activation {activation!r}")
    ex = np.atleast_1d(check_real("exponent", exponent, low=0.0, high=10.0))
    d = check_int("d", d, low=3)
    min_neurons = check_int("min_neurons", min_neurons, low=1)
    out = []
    for x in ex:
        p = d ** float(x)
        for model, N in (("rf", max(1, round(p))), ("nt", round(p / d))):
            if model not in models:
                continue
            if model == "nt" and N < min_neurons:
                continue
            th = approximation_error(N, d, model=model, energy=energy)
            samples = simulate_approximation(N, d, model=model, energy=energy, seeds=seeds, seed=seed)
            out.extend(compare_many([th], samples[:, None], allowance=approximation_allowance(th, N, d),
                                    k_se=k_se, params=[dict(model=model, exponent=float(x), d=d, N=N,
                                                            params=N * (d if model == "nt" else 1))]))
    return out


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
