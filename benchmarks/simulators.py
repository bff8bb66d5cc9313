"""Cost of one Monte Carlo draw of each simulator against one bare LAPACK decomposition of the same size.

A finite-size check runs ``seeds x sizes`` draws per point group, each serving every ridge value of
the group through **one** decomposition. This script measures, side by side in one process, for
ridge, random features, kernel ridge and neural tangent ridge at two sizes each (the larger with the
decomposed matrix of order >= 400):

* ``draw``: one unit of work of the check (``PointGroup.draw``: data, target, decomposition, every
  ``lam``, the test set), with 3 ridge values;
* ``eigh``: ``numpy.linalg.eigh`` of a symmetric matrix of the order the simulator decomposes;
* ``svd``: ``numpy.linalg.svd`` of the design matrix (ridge only: the decomposition it replaces).

and prints ``draw / eigh``: how far a draw is from the floor of one decomposition. Set the BLAS
threads (e.g. ``OMP_NUM_THREADS=1``) before running: ``python benchmarks/simulators.py``.
"""
from __future__ import annotations

import numpy as np

from _timing import best_of
from theory_checks import kernel_ridge, neural_tangent, random_features, ridge


def _eigh(m):
    rng = np.random.default_rng(0)
    A = rng.standard_normal((m, m))
    S = A @ A.T
    return best_of(lambda: np.linalg.eigh(S), repeat=5)[0]


def _svd(n, d):
    X = np.random.default_rng(0).standard_normal((n, d))
    return best_of(lambda: np.linalg.svd(X, full_matrices=False), repeat=3)[0]


def _draw(group, i=0, repeat=5):
    group.draw(i, 0, 0)                                        # warm caches (kernel spectra, imports)
    times = [best_of(lambda j=j: group.draw(i, j, 0), repeat=1)[0] for j in range(1, repeat + 1)]
    return min(times)


def cases():
    lams = [1e-3, 1e-2, 1e-1]
    out = []
    for d in (100, 400):
        g = ridge.RidgeGroup(0.5, lams, sizes=(d,))
        n = g.ns[0]
        out.append((f"ridge gamma=0.5 d={d} n={n}", g, min(n, d), (n, d)))
    for d in (100, 400):
        g = random_features.RFGroup(1.5, 1.5, lams, tau2=0.1, sizes=(d,))
        out.append((f"rf psi1=psi2=1.5 d={d} N=n={g.ns[0]} m_test={g.m_test}", g, min(g.Ns[0], g.ns[0]), None))
    for n in (100, 400):
        g = kernel_ridge.KRRGroup("exp", n, n, lams, energy=[0, 1, 1], sigma2=0.1, dims=(n,), n_test=2000)
        out.append((f"kernel-ridge exp d=n={n} n_test=2000", g, n, None))
    for n in (100, 400):
        g = neural_tangent.NTGroup(n, lams, d=20, activation="relu", energy=[0, 0.5, 0.5], sigma2=0.1, dims=(20,),
                                   m_test=2000)
        out.append((f"nt relu d=20 n={n} N={g.Ns[0]} m_test=2000", g, n, None))
    return out


def main():
    print(f"{'simulator':<48} {'draw':>9} {'eigh':>9} {'svd':>9} {'draw/eigh':>9}")
    for name, g, m, svd_shape in cases():
        t_draw = _draw(g)
        t_eigh = _eigh(m)
        t_svd = _svd(*svd_shape) if svd_shape else None
        svd = f"{t_svd * 1e3:8.2f}ms" if t_svd else f"{'':>10}"
        print(f"{name:<48} {t_draw * 1e3:7.2f}ms {t_eigh * 1e3:7.2f}ms {svd} {t_draw / t_eigh:9.1f}   (eigh of order {m})")


if __name__ == "__main__":
    main()
