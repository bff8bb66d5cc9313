"""Monte Carlo witnesses for the dual kernel, its derivative and the two-layer NTK.

Everything is simulated "for real": two fixed vectors ``x, x'`` of norm ``sqrt(q)`` in ``R^d``
with ``<x, x'> = q rho`` (a random orthonormal pair, from the seed), Gaussian weight vectors
``w ~ N(0, I_d)`` drawn in ``R^d``, and the inner products ``u = <w, x>``, ``v = <w, x'>``
computed as matrix products -- so ``u, v`` are ``N(0, q)`` with correlation ``rho``, as in
:mod:`asymptotics.kernels`. Each function returns ``(mean, standard error)`` of the sample mean;
compare with the theory through a z-score ``(mean - theory) / se``.

>>> mean, se = simulate_dual_kernel("relu", 0.5, n_samples=20000, seed=1)
>>> from asymptotics.kernels import arccos_kernel
>>> abs(mean - float(arccos_kernel(1, 0.5))) < 4 * se
True
"""
from __future__ import annotations

import math

import numpy as np

from asymptotics._validation import check_int, check_real
from asymptotics.activations import get_activation

__all__ = ["simulate_dual_kernel", "simulate_derivative_kernel", "simulate_ntk"]

_CHUNK = 8192
_CHUNK_ENTRIES = 2 ** 22     # at most this many weights drawn at once (32 MiB of float64)
_MAX_D = 10 ** 6
_MAX_SAMPLES = 10 ** 9


def _pair(d, rho, q, rng):
    """Two vectors of norm sqrt(q) with inner product q*rho, in a random orientation."""
    basis, _ = np.linalg.qr(rng.standard_normal((d, 2)))
    e1, e2 = basis[:, 0], basis[:, 1]
    s = math.sqrt(q)
    return s * e1, s * (rho * e1 + math.sqrt(max(1.0 - rho * rho, 0.0)) * e2)


def _validate(rho, d, n_samples, seed, q):
    rho = float(check_real("rho", rho, low=-1, high=1))
    d = check_int("d", d, low=2, high=_MAX_D)
    n_samples = check_int("n_samples", n_samples, low=2, high=_MAX_SAMPLES)
    seed = check_int("seed", seed, low=0)
    q = float(check_real("q", q, low=0, low_open=True))
    return rho, d, n_samples, seed, q


def _simulate(per_sample, rho, d, n_samples, seed, q, radius_factor=1.0):
    rng = np.random.default_rng(seed)
    x, xp = _pair(d, rho, q, rng)
    x, xp = radius_factor * x, radius_factor * xp
    total = 0.0
    total_sq = 0.0
    shift = scale = None
    done = 0
    chunk = max(1, min(_CHUNK, _CHUNK_ENTRIES // d))  # bounded memory for any d
    while done < n_samples:
        m = min(chunk, n_samples - done)
        w = rng.standard_normal((m, d))
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            vals = per_sample(w, x, xp, rng)
        if not np.all(np.isfinite(vals)):
            raise ValueError("the simulated quantity is not finite for some samples (it exceeds the float64 "
                             "range: use a smaller q)")
        if shift is None:
            shift = float(vals.mean())  # shifted sums keep the variance accurate
            scale = float(np.max(np.abs(vals))) or 1.0  # scaled sums neither overflow nor underflow
        with np.errstate(under="ignore"):
            dv = (vals - shift) / scale
        total += float(dv.sum())
        total_sq += float((dv * dv).sum())
        done += m
    mean_shifted = total / n_samples
    var = max(total_sq / n_samples - mean_shifted ** 2, 0.0) * n_samples / (n_samples - 1)
    return shift + scale * mean_shifted, scale * math.sqrt(var / n_samples)


def simulate_dual_kernel(activation, rho, *, d=50, n_samples=200_000, seed=0, q=1.0):
    """Monte Carlo estimate of ``E_w[sigma(<w, x>) sigma(<w, x'>)]`` (the dual kernel ``k(rho)``).

    Args:
        activation: name, ``Activation``, sympy expression or callable (numpy-vectorized
            evaluation is used).
        rho: the correlation ``<x, x'> / (|x| |x'|)`` in ``[-1, 1]``.
        d: the input dimension (``2 <= d <= 10**6``); the law of ``(u, v)`` does not depend on it.
        n_samples: number of weight vectors ``w`` (``2 <= n_samples <= 10**9``).
        seed: seed of ``numpy.random.default_rng``.
        q: squared norm of ``x`` and ``x'`` (the variance of ``u, v``).

    Returns:
        ``(mean, standard_error)``.
    """
    act = get_activation(activation)
    rho, d, n_samples, seed, q = _validate(rho, d, n_samples, seed, q)
    f = act.np_func
    return _simulate(lambda w, x, xp, rng: f(w @ x) * f(w @ xp), rho, d, n_samples, seed, q)


def _derivative(act):
    if act.np_derivative is None:
        raise ValueError(f"activation {act.name!r} has no derivative that is a function (for sign/step it is "
                         "a Dirac mass); pass derivative= to get_activation for a user function")
    return act.np_derivative


def simulate_derivative_kernel(activation, rho, *, d=50, n_samples=200_000, seed=0, q=1.0):
    """Monte Carlo estimate of ``q E_w[sigma'(<w, x>) sigma'(<w, x'>)]`` (= ``k'(rho)``).

    Same arguments and return value as :func:`simulate_dual_kernel`; ``ValueError`` if the
    activation has no derivative function (``sign``, ``step``).
    """
    act = get_activation(activation)
    rho, d, n_samples, seed, q = _validate(rho, d, n_samples, seed, q)
    fp = _derivative(act)
    return _simulate(lambda w, x, xp, rng: q * fp(w @ x) * fp(w @ xp), rho, d, n_samples, seed, q)


def simulate_ntk(activation, rho, *, d=50, n_samples=200_000, seed=0, q=1.0):
    """Empirical NTK of a width-``n_samples`` two-layer network, as a mean over its neurons.

    ``f(x) = (1/sqrt(N)) sum_i a_i sigma(<w_i, x>/sqrt(d))`` with ``w_i ~ N(0, I_d)``,
    ``a_i ~ N(0, 1)`` and ``x, x'`` on the sphere of radius ``sqrt(q d)`` with
    ``<x, x'> = q d rho``. Its tangent kernel is ``(1/N) sum_i [sigma(u_i) sigma(v_i) +
    a_i^2 sigma'(u_i) sigma'(v_i) <x, x'>/d]``, ``u_i = <w_i, x>/sqrt(d)``: returned as
    ``(mean, standard error)`` over the ``N`` i.i.d. neuron terms; the limit is
    :func:`asymptotics.kernels.ntk`.
    """
    act = get_activation(activation)
    rho, d, n_samples, seed, q = _validate(rho, d, n_samples, seed, q)
    f, fp = act.np_func, _derivative(act)

    root_d = math.sqrt(d)

    def per_neuron(w, x, xp, rng):  # x, x' on the sphere of radius sqrt(q d)
        u, v = (w @ x) / root_d, (w @ xp) / root_d
        a = rng.standard_normal(u.shape)
        return f(u) * f(v) + a * a * fp(u) * fp(v) * (x @ xp) / d

    return _simulate(per_neuron, rho, d, n_samples, seed, q, radius_factor=root_d)
