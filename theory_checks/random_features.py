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

Theory versus simulation (:func:`check`): each point is simulated at a ladder of dimensions with
``N_i = round(psi1 d_i)``, ``n_i = round(psi2 d_i)``; the theory is evaluated at each size's
``N_i/d_i, n_i/d_i`` and the residuals are extrapolated to ``1/d = 0`` (:mod:`theory_checks.compare`).
The corrections to the limit are ``O(1/d)`` (measured at ReLU, ``psi1 = 8, psi2 = 3``, ``tau2 = 0``,
``lam = 1e-3``: ``d (mean - theory)/theory = -3.1, -3.1, -2.8, -3.3, -2.9`` at
``d = 100, 141, 200, 283, 400``), there is no allowance.
"""
from __future__ import annotations

import math

import numpy as np

from asymptotics._validation import check_int, check_real
from .compare import LEVEL, Check
from .ladder import PointGroup, geometric_sizes, run_groups

__all__ = ["simulate", "check", "RFGroup", "MAX_ENTRIES", "DEFAULT_SIZES", "M_TEST"]

#: The default ladder of :func:`check` (dimensions d).
DEFAULT_SIZES = geometric_sizes(200, 4, 8.0)
#: Test points per draw in :func:`check` (the risk is averaged exactly over the label noise and, for a
#: linear target, over the direction of beta1; at d >= 200 the test set adds little variance).
M_TEST = 2000

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


def _sizes(psi1, psi2, d, m_test):
    N = max(1, round(float(check_real("psi1", psi1, low=0.0, low_open=True)) * d))
    n = max(1, round(float(check_real("psi2", psi2, low=0.0, low_open=True)) * d))
    if max(N, n) * (max(N, n) + m_test + d) > MAX_ENTRIES:
        raise ValueError(f"the simulation needs matrices of {N} features x {n} samples (+ {m_test} test "
                         f"points) in d = {d}; too large (lower d)")
    return N, n


def _validate(psi1, psi2, lam, d, F1sq, Fstar_sq, tau2, seeds, seed, m_test):
    d = check_int("d", d, low=2)
    m_test = check_int("m_test", m_test, low=100)
    N, n = _sizes(psi1, psi2, d, m_test)
    lams = np.atleast_1d(check_real("lam", lam, low=0.0))
    if lams.ndim != 1:
        raise ValueError("lam must be a scalar or a 1-d array")
    return (d, N, n, lams, float(check_real("F1sq", F1sq, low=0.0)),
            float(check_real("Fstar_sq", Fstar_sq, low=0.0)), float(check_real("tau2", tau2, low=0.0)),
            check_int("seeds", seeds, low=2), check_int("seed", seed, low=0), m_test)


def _rng(seed, N, n, d, i):
    return np.random.default_rng(np.random.SeedSequence([seed, 2, N, n, d, i]))


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
        out[i] = _one_draw(_rng(seed, N, n, d, i), d, N, n, lams, sigma, F1sq, Fstar_sq, tau2, m_test)
    return out


def _ladder(d):
    if d is None:
        return DEFAULT_SIZES
    vals = sorted(check_int("d", v, low=2) for v in np.atleast_1d(np.asarray(d, dtype=object)).tolist())
    if not vals or len(set(vals)) != len(vals):
        raise ValueError(f"d must be an integer or a list of distinct integers >= 2, got {vals}")
    return tuple(vals)


class RFGroup(PointGroup):
    """Random features at one ``(psi1, psi2, activation, F1sq, Fstar_sq, tau2)`` for every ``lam``, at
    the dimensions ``sizes`` (``N_i = round(psi1 d_i)``, ``n_i = round(psi2 d_i)``). A unit is one
    draw of :func:`simulate`'s stream at that size (one eigendecomposition for all ``lam``)."""

    model = "rf"

    def __init__(self, psi1, psi2, lam, *, activation="relu", F1sq=1.0, Fstar_sq=0.0, tau2=0.0,
                 sizes=DEFAULT_SIZES, m_test=M_TEST, theory=None):
        self.sizes = _ladder(sizes)
        self.m_test = check_int("m_test", m_test, low=100)
        _validate(psi1, psi2, lam, self.sizes[0], F1sq, Fstar_sq, tau2, 2, 0, self.m_test)
        self.psi1, self.psi2 = float(psi1), float(psi2)
        self.lams = np.atleast_1d(check_real("lam", lam, low=0.0)).astype(float)
        self.F1sq, self.Fstar_sq, self.tau2 = float(F1sq), float(Fstar_sq), float(tau2)
        self.activation = activation
        self.sigma, self.act_name = _activation(activation)
        pairs = [_sizes(psi1, psi2, d, self.m_test) for d in self.sizes]
        self.Ns = tuple(p[0] for p in pairs)
        self.ns = tuple(p[1] for p in pairs)
        self.sim = {"N": self.Ns, "n": self.ns}
        # every parameter of the simulation, so two groups never give indistinguishable rows
        self.params = [dict(psi1=self.psi1, psi2=self.psi2, lam=float(l), activation=self.act_name,
                            F1sq=self.F1sq, Fstar_sq=self.Fstar_sq, tau2=self.tau2) for l in self.lams]
        self.theory_fn = theory
        self._cache = {}

    def key(self):
        return ("rf", self.psi1, self.psi2, tuple(self.lams.tolist()), self.act_name, self.F1sq,
                self.Fstar_sq, self.tau2, self.m_test)

    def _risk(self, psi1, psi2):
        if (psi1, psi2) not in self._cache:
            if self.theory_fn is None:
                from asymptotics.models.random_features import risk
                th = risk(psi1, psi2, self.lams, activation=self.activation, F1sq=self.F1sq,
                          Fstar_sq=self.Fstar_sq, tau2=self.tau2).risk
            else:
                th = self.theory_fn(psi1, psi2, self.lams)
            self._cache[(psi1, psi2)] = np.broadcast_to(check_real("theory", th, allow_inf=True),
                                                        self.lams.shape).astype(float)
        return self._cache[(psi1, psi2)]

    def theory(self):
        return self._risk(self.psi1, self.psi2)

    def theory_at(self, i):
        d = self.sizes[i]
        return self._risk(self.Ns[i] / d, self.ns[i] / d)

    def draw(self, i, j, seed):
        d, N, n = self.sizes[i], self.Ns[i], self.ns[i]
        return _one_draw(_rng(seed, N, n, d, j), d, N, n, self.lams, self.sigma, self.F1sq, self.Fstar_sq,
                         self.tau2, self.m_test)

    def cost_hint(self, i):
        d, N, n = self.sizes[i], self.Ns[i], self.ns[i]
        return float(N) * (n + self.m_test) * (d + min(N, n))

    def __getstate__(self):                      # the activation is rebuilt from its name
        state = dict(self.__dict__)
        state.pop("sigma", None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.sigma, _ = _activation(self.activation)


def check(psi1, psi2, lam, *, activation="relu", d=None, F1sq=1.0, Fstar_sq=0.0, tau2=0.0, seeds=10,
          seed=0, m_test=M_TEST, theory=None, resolution=None, max_seconds=None, max_seeds=None,
          level=LEVEL, map_units=None) -> list[Check]:
    """Theory vs Monte Carlo extrapolated over a ladder of dimensions, for every ``lam`` at one
    ``(psi1, psi2)``.

    Args:
        psi1, psi2, lam, activation, F1sq, Fstar_sq, tau2: the point (as in :func:`simulate`).
        d: the ladder: ``None`` for :data:`DEFAULT_SIZES`, a list of dimensions, or one dimension (a
            single size: no finite-size correction).
        seeds, seed: seeds per size and base seed; m_test: test points per draw.
        theory: optional ``theory(psi1, psi2, lam) -> risk`` (default
            :func:`asymptotics.models.random_features.risk` with the same target and activation).
        resolution, max_seconds, max_seeds, level, map_units: see
            :func:`theory_checks.ladder.run_groups`.

    Returns:
        One :class:`~theory_checks.compare.Check` per ``lam``; ``params``: ``psi1, psi2, lam,
        activation, F1sq, Fstar_sq, tau2``;
        ``sim``: ``N`` and ``n`` per size.

    >>> [c.verdict for c in check(2.0, 1.0, [1e-3, 1e-1], d=[20, 30], seeds=3, m_test=200)]
    ['agree', 'agree']
    """
    g = RFGroup(psi1, psi2, lam, activation=activation, F1sq=F1sq, Fstar_sq=Fstar_sq, tau2=tau2, sizes=d,
                m_test=m_test, theory=theory)
    runs = run_groups([g], seeds=seeds, seed=seed, resolution=resolution, max_seconds=max_seconds,
                      max_seeds=max_seeds, level=level, map_units=map_units)
    return runs[0].checks(level=level)
