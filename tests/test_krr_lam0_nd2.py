"""Ridgeless KRR at n = d^2 (issue 13, docs/kernel_ridge.md, last section): the gap between the
Monte Carlo and the finite-d deterministic equivalent is a finite-size effect that vanishes faster
than 1/d (slow; sized by ASYMPTOTICS_MC_SCALE, never below half the seeds).

The estimator is the conditional risk of benchmarks/krr_lam0_nd2.py (theory_checks.kernel_ridge's
simulate averaged exactly over the test point, the label noise and the target direction), checked
here against a large test set; a wrong formula for it is rejected by the same check.
"""
from __future__ import annotations

import importlib.util
import math
import pathlib

import numpy as np
import pytest
import scipy.stats

from asymptotics.expansions.gegenbauer import _eval_h
from asymptotics.models import kernel_ridge as kr
from theory_checks.compare import mc_scale
from theory_checks.kernel_ridge import sample_sphere, zonal_target

pytestmark = pytest.mark.slow

_PATH = pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / "krr_lam0_nd2.py"
_spec = importlib.util.spec_from_file_location("krr_lam0_nd2", _PATH)
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def _exact_and_testset(d, n, seed, points, wrong_m=False):
    """One X and one zonal target: exact E_x risk (the estimator's formula) and a test-set estimate."""
    rng = np.random.default_rng(seed)
    spec = bench._spectrum(d, n)
    X = sample_sphere(rng, n, d)
    E = sample_sphere(rng, bench.ENERGY.size, d)
    S = np.clip(X @ X.T / d, -1, 1)
    A = np.linalg.inv(_eval_h(bench._KERN, S))
    w = spec.eigs ** 2 * (1.0 if wrong_m else spec.mult)     # wrong: M without the multiplicities
    M = sum(w[k] * P for k, P in bench._gegenbauer_blocks(S, d, spec.kmax))
    parts = [zonal_target(X, E, np.eye(bench.ENERGY.size)[k] * bench.ENERGY[k]) for k in range(bench.ENERGY.size)]
    c = A @ sum(parts)
    b = sum(spec.eigs[k] * parts[k] for k in range(bench.ENERGY.size))
    exact = c @ M @ c - 2 * c @ b + bench.ENERGY.sum() + bench.SIGMA2 * np.trace(A @ M @ A)
    if points == 0:
        return exact, math.nan, math.nan
    vals = []
    for _ in range(points // 10000):
        Xt = sample_sphere(rng, 10000, d)
        Kt = _eval_h(bench._KERN, np.clip(Xt @ X.T / d, -1, 1))
        vals.append(np.mean((Kt @ c - zonal_target(Xt, E, bench.ENERGY)) ** 2)
                    + bench.SIGMA2 * np.sum((Kt @ A) ** 2) / Xt.shape[0])
    return exact, np.mean(vals), np.std(vals, ddof=1) / math.sqrt(len(vals))


def _log_slope(d, gap, se):
    """WLS slope of log(gap) on log(d) and the upper end of its Student-t 95 % interval."""
    sl = np.asarray(se) / np.asarray(gap)
    A = np.stack([np.ones(len(d)), np.log(d)], axis=1) / sl[:, None]
    y = np.log(gap) / sl
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    dof = len(d) - 2
    chi2 = float(np.sum((A @ coef - y) ** 2))
    se_slope = math.sqrt(np.linalg.inv(A.T @ A)[1, 1] * max(1.0, chi2 / dof))
    return coef[1], coef[1] + scipy.stats.t.ppf(0.975, dof) * se_slope


def test_ridgeless_gap_at_n_d2_vanishes_faster_than_1_over_d():
    scale = max(0.5, mc_scale())
    # 1. the estimator: exact E_x agrees with a test set of 2e5 points (z < 4); a wrong M is rejected
    exact, mc, se = _exact_and_testset(12, 144, 5, 200000)
    assert abs(exact - mc) < 4 * se, (exact, mc, se)
    wrong, _, _ = _exact_and_testset(12, 144, 5, 0, wrong_m=True)
    assert abs(wrong - mc) > 10 * se, (wrong, mc, se)

    # 2. the ladder n = d^2, lam = 0: gap = MC/theory - 1 for the true theory and for a 3 % wrong
    # sigma2 (a theory off by ~0.7 %, constant in d)
    ds = np.array([12, 16, 24, 32])
    seeds = {12: 1000, 16: 400, 24: 80, 32: 30}
    mcs, ses = [], []
    for d in ds:
        rows = bench.measure(1.0, int(d), max(8, round(seeds[int(d)] * scale)), lams=(0.0,))
        mcs.append(rows[0]["mc"])
        ses.append(rows[0]["se"])
    mcs, ses = np.array(mcs), np.array(ses)

    def theory(sigma2):
        return np.array([float(kr.sphere_risk(bench.KERNEL, int(d), int(d * d), 0.0, sigma2,
                                              energy=bench.ENERGY)[0].risk) for d in ds])

    th = theory(bench.SIGMA2)
    gap = mcs / th - 1
    # the Monte Carlo is above the theory at d = 12 (the effect of issue 13 is real) ...
    assert gap[0] > 5 * ses[0] / th[0], gap
    # ... and the gap falls faster than 1/d (a theory defect would leave a constant gap: slope 0)
    slope, upper = _log_slope(ds, gap, ses / th)
    assert upper < -1.0, (slope, upper, gap)

    # power: a theory 0.7 % too low (sigma2 3 % low) is caught by the same criterion
    thw = theory(0.97 * bench.SIGMA2)
    gw = mcs / thw - 1
    slope_w, upper_w = _log_slope(ds, gw, ses / thw)
    assert upper_w > -1.0, (slope_w, upper_w, gw)
