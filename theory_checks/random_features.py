"""Monte Carlo of random features ridge regression on the sphere (mirror of
:mod:`asymptotics.models.random_features`), in the conventions of Mei & Montanari (arXiv 1908.05355).

Per draw: ``x_i``, ``theta_a`` uniform on the sphere of radius ``sqrt(d)`` (``i <= n = psi2 d``,
``a <= N = psi1 d``), features ``Z = sigma(X Theta^T / sqrt(d))``, ridge
``a = argmin (1/n)||y - Z a||^2 + (N lam/d)||a||^2 = (Z^T Z + (n N lam/d) I)^{-1} Z^T y``, one
eigendecomposition of the smaller Gram matrix serving every ``lam`` of a sweep. The target is
``<beta1, x>`` with ``||beta1||^2 = F1sq`` (random direction), plus, if ``Fstar_sq > 0``, a random
quadratic ``f_NL`` with ``E f_NL^2 = Fstar_sq`` orthogonal to polynomials of degree <= 1, plus noise
of variance ``tau2``.

The risk of a draw is averaged exactly over the label noise (``B + tau2 V`` with
``V = E_x ||M^T phi(x)||^2``) and, for a purely linear target, over the direction of ``beta1``
(``F1sq E_x ||x - X^T M^T phi(x)||^2 / d``); the expectation over the test point is a fresh test set
of ``m_test`` points (its sampling error is part of the standard error over draws).

Finite-size allowance (stated, see :func:`finite_size_allowance`): ``4 |R| / min(N, n)``. The
corrections to the limit are ``O(1/min(N, n))``; measured at ReLU, ``F1sq = 1``, ``tau2 = 0.1`` with
d = 100..800 (fits in ``1/d``) the deviation is at most about ``1.2 |R| / min(N, n)`` away from the
peak and ``1.3 |R| / min(N, n)`` at ``psi1 = psi2 = 0.5``, ``lam = 1e-3``; the constant 4 covers both
with margin. (The largest part comes from the constant ``mu0`` of the activation.)
"""
from __future__ import annotations

import math

import numpy as np

from asymptotics._validation import check_int, check_real
from .compare import Comparison, compare_many

__all__ = ["simulate", "check", "finite_size_allowance", "MAX_ENTRIES"]

#: Largest feature matrix (entries) simulated; beyond it a ValueError, not a MemoryError.
MAX_ENTRIES = 5 * 10 ** 7


def _sphere(rng, m, d):
    g = rng.standard_normal((m, d))
    return math.sqrt(d) * g / np.linalg.norm(g, axis=1, keepdims=True)


def _activation(activation):
    from asymptotics.activations import get_activation
    act = get_activation(activation)
    return act.np_func, act.name


def _quadratic(rng, d):
    """A random quadratic ``q(x) = x^T G0 x / c`` with traceless ``G0``: on the sphere of radius
    ``sqrt(d)``, ``E q = 0``, ``E q x = 0`` and ``E q^2 = 1`` (``Var x^T G0 x = 2 d/(d+2) ||G0||_F^2``)."""
    G = rng.standard_normal((d, d))
    G = (G + G.T) / 2
    G0 = G - np.trace(G) / d * np.eye(d)
    c = math.sqrt(2.0 * d / (d + 2) * np.sum(G0 ** 2))
    return lambda Y: np.einsum("ij,jk,ik->i", Y, G0, Y) / c


def _one_draw(rng, d, N, n, lams, sigma, F1sq, Fstar_sq, tau2, m_test):
    Th = _sphere(rng, N, d)
    X = _sphere(rng, n, d)
    Xt = _sphere(rng, m_test, d)
    Z = sigma(X @ Th.T / math.sqrt(d))
    Zt = sigma(Xt @ Th.T / math.sqrt(d))
    b1 = rng.standard_normal(d)
    b1 *= math.sqrt(F1sq) / np.linalg.norm(b1)
    f, ft = X @ b1, Xt @ b1
    if Fstar_sq > 0:
        q = _quadratic(rng, d)
        f, ft = f + math.sqrt(Fstar_sq) * q(X), ft + math.sqrt(Fstar_sq) * q(Xt)
    # one eigendecomposition; M = (Z^T Z + gam)^{-1} Z^T maps labels to coefficients, and
    # phi(x)^T M = PM[x, :] with PM = Zt M (m_test x n)
    if N <= n:
        ev, U = np.linalg.eigh(Z.T @ Z)
        A, Bm = Zt @ U, Z @ U                       # PM = A diag(1/(ev+gam)) Bm^T
    else:
        ev, U = np.linalg.eigh(Z @ Z.T)
        A, Bm = (Zt @ Z.T) @ U, U                    # PM = A diag(1/(ev+gam)) U^T
    Af, AX = Bm.T @ f, Bm.T @ X                     # coefficients of the labels and of X
    out = np.empty(lams.size)
    for j, lam in enumerate(lams):
        w = 1.0 / (ev + n * N * lam / d)
        Aw = A * w
        # E_x ||M^T phi(x)||^2: in the primal form (Z U)^T (Z U) = diag(ev); in the dual U is orthogonal
        V = (np.sum(Aw ** 2 * ev) if N <= n else np.sum(Aw ** 2)) / m_test
        if Fstar_sq > 0:
            B = np.mean((ft - Aw @ Af) ** 2)
        else:
            # exact average over the direction of beta1: F1sq ||x - X^T M^T phi(x)||^2 / d
            B = F1sq * np.sum((Xt - Aw @ AX) ** 2) / (d * m_test)
        out[j] = B + tau2 * V
    return out


def _validate(psi1, psi2, lam, d, F1sq, Fstar_sq, tau2, seeds, seed, m_test):
    d = check_int("d", d, low=2)
    N = max(1, round(float(check_real("psi1", psi1, low=0.0, low_open=True)) * d))
    n = max(1, round(float(check_real("psi2", psi2, low=0.0, low_open=True)) * d))
    m_test = check_int("m_test", m_test, low=100)
    if max(N, n) * (max(N, n) + m_test + d) > MAX_ENTRIES:
        raise ValueError(f"the simulation needs matrices of {N} features x {n} samples (+ {m_test} test "
                         f"points) in d = {d}; too large (lower d)")
    lams = np.atleast_1d(check_real("lam", lam, low=0.0))
    if lams.ndim != 1:
        raise ValueError("lam must be a scalar or a 1-d array")
    return (d, N, n, lams, float(check_real("F1sq", F1sq, low=0.0)),
            float(check_real("Fstar_sq", Fstar_sq, low=0.0)), float(check_real("tau2", tau2, low=0.0)),
            check_int("seeds", seeds, low=2), check_int("seed", seed, low=0), m_test)


def simulate(psi1, psi2, lam, *, activation="relu", d=300, F1sq=1.0, Fstar_sq=0.0, tau2=0.0,
             seeds=10, seed=0, m_test=4000) -> np.ndarray:
    """Test errors of random features ridge regression, one row per draw, one column per ``lam``.

    Args:
        psi1, psi2: ``N/d`` and ``n/d`` (``N, n`` rounded to integers).
        lam: ridge penalty(ies), the paper's normalization (``(N lam/d)||a||^2``).
        activation: a numpy-callable activation of :func:`asymptotics.get_activation`.
        d: dimension; F1sq, Fstar_sq, tau2: the target (see the module docstring).
        seeds: independent draws (>= 2); seed: master seed; m_test: test points per draw.

    Returns:
        Array ``(seeds, len(lam))`` of risks ``E_x (f(x) - f_hat(x))^2`` (noise-averaged).

    >>> simulate(2.0, 1.0, [1e-3, 1e-1], d=20, seeds=2, m_test=200).shape
    (2, 2)
    """
    d, N, n, lams, F1sq, Fstar_sq, tau2, seeds, seed, m_test = _validate(
        psi1, psi2, lam, d, F1sq, Fstar_sq, tau2, seeds, seed, m_test)
    sigma, _ = _activation(activation)
    out = np.empty((seeds, lams.size))
    for i in range(seeds):
        rng = np.random.default_rng(np.random.SeedSequence([seed, 2, N, n, d, i]))
        out[i] = _one_draw(rng, d, N, n, lams, sigma, F1sq, Fstar_sq, tau2, m_test)
    return out


def finite_size_allowance(theory, N, n, c=4.0):
    """``c |theory| / min(N, n)`` (module docstring); ``inf`` where the theory is infinite."""
    theory = np.asarray(theory, dtype=float)
    return c * np.abs(theory) / min(N, n)


def check(psi1, psi2, lam, *, activation="relu", mu1=None, mu_star=None, d=300, F1sq=1.0,
          Fstar_sq=0.0, tau2=0.0, seeds=10, seed=0, m_test=4000, k_se=3.0) -> list[Comparison]:
    """Theory (at the simulated ``N/d, n/d``) vs Monte Carlo for every ``lam`` at one ``(psi1, psi2)``."""
    from asymptotics.models.random_features import risk
    d, N, n, lams, *_ = _validate(psi1, psi2, lam, d, F1sq, Fstar_sq, tau2, seeds, seed, m_test)
    th = risk(N / d, n / d, lams, activation=activation, F1sq=F1sq, Fstar_sq=Fstar_sq, tau2=tau2)
    theory = np.broadcast_to(np.asarray(th.risk, dtype=float), lams.shape)
    samples = simulate(psi1, psi2, lams, activation=activation, d=d, F1sq=F1sq, Fstar_sq=Fstar_sq,
                       tau2=tau2, seeds=seeds, seed=seed, m_test=m_test)
    params = [dict(psi1=float(psi1), psi2=float(psi2), lam=float(l), d=d, N=N, n=n) for l in lams]
    return compare_many(theory, samples, allowance=finite_size_allowance(theory, N, n), k_se=k_se,
                        params=params)
