"""Benchmarks of the ridge layer, each against a naive baseline run in the same process.

1. A 100 x 100 (gamma, lam) grid (10^4 points) solved by the vectorized engine vs a per-point loop of
   ``scipy.optimize.brentq`` on the same fixed-point equation (target ratio >= 50x).
2. A Monte Carlo lam sweep of 50 values at d = 400: one decomposition per draw serving every lam vs
   refitting per lam as a ridge solver would (target ratio >= 20x), and vs a refit that shares the
   Gram matrix across lam (reported too: the fairest baseline).

Run: ``python benchmarks/ridge.py`` (prints the timings and ratios).
"""
from __future__ import annotations


import numpy as np
from scipy.optimize import brentq

from asymptotics.models import ridge
from theory_checks import ridge as ridge_mc
from _timing import best_of




def brentq_loop(G, L, r2=1.0, sigma2=1.0):
    out = np.empty(G.size)
    for i, (g, l) in enumerate(zip(G.ravel(), L.ravel())):
        k = brentq(lambda k: k - l - g * k / (1 + k), l, l + g, xtol=1e-15, rtol=1e-15) if l > 0 else \
            max(g - 1.0, 0.0)
        d2 = g / (1 + k) ** 2
        out[i] = r2 * k ** 2 / (1 + k) ** 2 / (1 - d2) + sigma2 * d2 / (1 - d2)
    return out.reshape(G.shape)


def main():
    G, L = np.meshgrid(np.geomspace(0.05, 20, 100), np.geomspace(1e-4, 10, 100))
    ridge.risk(G[:2, :2], L[:2, :2])  # compile once (lambdify), not part of the timing
    t_vec, sol = best_of(lambda: ridge.risk(G, L))
    t_loop, ref = best_of(lambda: brentq_loop(G, L), repeat=1)
    err = np.max(np.abs(sol.risk - ref) / ref)
    print(f"[solver] 10^4-point grid: vectorized {t_vec * 1e3:.1f} ms, brentq loop {t_loop * 1e3:.1f} ms, "
          f"ratio {t_loop / t_vec:.0f}x (target >= 50x); max relative difference {err:.1e}")

    lams = np.geomspace(1e-4, 10, 50)
    for gamma in (0.5, 2.0):
        kw = dict(d=400, r2=1.0, sigma2=1.0, seeds=4, seed=0)
        n = round(400 / gamma)
        t_one, a = best_of(lambda: ridge_mc.simulate(gamma, lams, **kw), repeat=3)
        t_refit, b = best_of(lambda: ridge_mc.refit_simulate(gamma, lams, **kw), repeat=1)
        t_shared, c = best_of(lambda: ridge_mc.refit_simulate(gamma, lams, share_gram=True, **kw), repeat=1)
        err = max(np.max(np.abs(a - b) / b), np.max(np.abs(a - c) / c))
        print(f"[monte carlo] 50-lam sweep, d = 400, n = {n}, 4 draws: one decomposition per draw "
              f"{t_one:.3f} s; refit per lam {t_refit:.2f} s, ratio {t_refit / t_one:.0f}x (target >= 20x); "
              f"refit per lam sharing X^T X {t_shared:.2f} s, ratio {t_shared / t_one:.1f}x; "
              f"max relative difference {err:.1e}")


if __name__ == "__main__":
    main()
