"""Monte Carlo witness for the eigenvalues of inner-product kernels on ``S^{d-1}(sqrt d)``.

Simulated "for real": ``x = sqrt(d) g/|g|`` with ``g ~ N(0, I_d)`` is uniform on the sphere of
radius ``sqrt(d)``, ``e`` is a fixed point of that sphere (a random direction from the seed), and
``xi_{d,k} = E_x[h(<x, e>/d) Q_k(<x, e>)]`` is estimated by the sample mean of
``h(<x, e>/d) Q_k(<x, e>)`` (:mod:`asymptotics.expansions.gegenbauer`). Returns
``(mean, standard error)``; compare with the quadrature through a z-score.

>>> from asymptotics.expansions.gegenbauer import kernel_eigenvalues
>>> mean, se = simulate_eigenvalue("exp", 5, 2, n_samples=50_000, seed=1)
>>> bool(abs(mean - kernel_eigenvalues("exp", 5, 2).eigenvalues[2]) < 4 * se)
True
"""
from __future__ import annotations

import math

import numpy as np

from asymptotics._validation import check_int
from asymptotics.expansions.gegenbauer import _eval_h, _gegenbauer_table, resolve_kernel

__all__ = ["simulate_eigenvalue"]

_CHUNK_ENTRIES = 2 ** 22
_MAX_D = 10 ** 6
_MAX_SAMPLES = 10 ** 9


def simulate_eigenvalue(h, d, k, *, n_samples=200_000, seed=0):
    """Monte Carlo estimate of ``xi_{d,k} = E_x[h(<x, e>/d) Q_k(<x, e>)]``, ``x`` uniform on the sphere.

    Args:
        h: a kernel name or callable (:func:`asymptotics.expansions.gegenbauer.resolve_kernel`).
        d: dimension, integer ``>= 2``.
        k: degree, integer ``>= 0``.
        n_samples: number of sampled points ``x``, ``>= 2``.
        seed: seed of ``numpy.random.default_rng``, ``>= 0``.

    Returns:
        ``(mean, standard_error)`` as floats.

    >>> simulate_eigenvalue("exp", 1, 0)
    Traceback (most recent call last):
    ...
    ValueError: d must be an integer >= 2 and <= 1e+06, got 1
    """
    kern = resolve_kernel(h)
    d = check_int("d", d, low=2, high=_MAX_D)
    k = check_int("k", k, low=0, high=10 ** 4)
    n_samples = check_int("n_samples", n_samples, low=2, high=_MAX_SAMPLES)
    seed = check_int("seed", seed, low=0)
    rng = np.random.default_rng(seed)
    e = rng.standard_normal(d)
    e *= math.sqrt(d) / np.linalg.norm(e)
    chunk = max(1, _CHUNK_ENTRIES // d)
    vals = []
    done = 0
    while done < n_samples:
        m = min(chunk, n_samples - done)
        g = rng.standard_normal((m, d))
        x = math.sqrt(d) * g / np.linalg.norm(g, axis=1, keepdims=True)
        s = np.clip((x @ e) / d, -1.0, 1.0)
        vals.append(_eval_h(kern, s) * _gegenbauer_table(k, s, d)[k])
        done += m
    v = np.concatenate(vals)
    return float(v.mean()), float(v.std(ddof=1) / math.sqrt(v.size))
