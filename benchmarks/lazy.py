"""Benchmark-sized lazy-training measurement, and the closed form against a naive baseline.

1. Width scaling of the distance between a network trained by gradient descent and its linearization
   (``theory_checks.lazy.run``): two layers, widths 64..4096 (7 widths, 64x), 10 seeds; three layers,
   widths 32..1024 (6 widths, 32x), 5 seeds; the scale sweep alpha = 1..32 at width 256. Prints the
   table (geometric means over seeds, fitted exponents with 95 % Student-t intervals over seeds) and
   the verdict.
2. Speed: the linearized dynamics at 25 recorded times by the eigenbasis closed form
   (``linearized_closed_form``: one NTK, one ``n x n`` eigendecomposition) vs naive step-by-step GD on
   the linearized model (``train_linearized_gd``: one Jacobian-vector and one vector-Jacobian product
   per step), in the same process; the ratio and the largest difference of the outputs.

Run: ``OPENBLAS_NUM_THREADS=1 python benchmarks/lazy.py`` (minutes on CPU; single-threaded BLAS is
faster for these small matrices on a shared machine). ``--quick`` runs a smaller version.
"""
from __future__ import annotations

import sys
import time

import numpy as np

from asymptotics.export import format_records
from theory_checks import lazy
from _timing import best_of




def scaling(quick: bool):
    runs = [
        ("two layers, tanh", dict(depth=2, widths=(64, 128, 256, 512, 1024, 2048, 4096),
                                  seeds=4 if quick else 10)),
        ("three layers, tanh", dict(depth=3, widths=(32, 64, 128, 256, 512, 1024),
                                    seeds=3 if quick else 5, alphas=())),
    ]
    if quick:
        runs = [(name, dict(kw, widths=kw["widths"][:5])) for name, kw in runs]
    for name, kw in runs:
        t = time.perf_counter()
        rep = lazy.run(**kw)
        print(f"\n[scaling] {name}: {time.perf_counter() - t:.1f} s, command: lazy.run(**{kw})")
        print(format_records(rep.records, "table", digits=4))
        print(rep.summary)
        print("local slopes (width):",
              {q: [round(v, 2) for v in s] for q, s in rep.metadata["local_slopes"]["width"].items()})


def speed():
    cases = [dict(depth=2, width=1024, d=10, n=64, steps=2000), dict(depth=3, width=256, d=10, n=64, steps=2000),
             dict(depth=2, width=4096, d=30, n=200, steps=2000)]
    for c in cases:
        rng = np.random.default_rng(0)
        net = lazy.Network(d=c["d"], width=c["width"], depth=c["depth"])
        X, y, Xt, _ = lazy.make_task("tanh", rng, c["n"], 256, c["d"])
        theta0 = net.init(rng)
        times = lazy._log_times(c["steps"], 24)
        kw = dict(eta=1.0, times=times, X_test=Xt)
        t_cf, cf = best_of(lambda: lazy.linearized_closed_form(net, theta0, X, y, **kw))
        t_gd, gd = best_of(lambda: lazy.train_linearized_gd(net, theta0, X, y, steps=c["steps"], **kw), repeat=1)
        err = max(np.max(np.abs(cf.train - gd.train)), np.max(np.abs(cf.test - gd.test)))
        print(f"[speed] depth {c['depth']}, N = {c['width']}, d = {c['d']}, n = {c['n']}, P = {net.n_params}, "
              f"{c['steps']} steps, {times.size} recorded times: closed form {t_cf * 1e3:.1f} ms, naive "
              f"step-by-step GD on the linearized model {t_gd:.2f} s, ratio {t_gd / t_cf:.0f}x; "
              f"max |difference| of outputs {err:.1e}")


def main():
    quick = "--quick" in sys.argv
    speed()
    scaling(quick)


if __name__ == "__main__":
    main()
