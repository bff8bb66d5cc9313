"""The accuracy contract of the engine (issue 12) and the reproducers that must come out right.

Every check compares with an independent value: a 50-digit re-solve, a closed form, an exact value,
or a stored result of the code before the change (tests/data/engine_regression.json, made by
tests/data/make_engine_regression.py at main bfb6ac1).
"""
import dataclasses
import json
import warnings
from pathlib import Path

import mpmath
import numpy as np
import pytest
import sympy as sp

from asymptotics.engine import ConvergenceError, solve
from asymptotics.engine import fixedpoint as fp
from asymptotics.models import kernel_ridge as kr
from asymptotics.models import random_features as rf
from asymptotics.models import ridge

DATA = Path(__file__).resolve().parent / "data" / "engine_regression.json"
RELU = rf.activation_constants("relu")
TINY = 2.0 ** -1022


def _rel_err(v, ref):
    """|v - ref| / max(|ref|, smallest normal double): the engine's definition of relative error."""
    if isinstance(ref, np.ndarray):
        ref = ref.item()
    ref = mpmath.mpf(ref) if not isinstance(ref, mpmath.mpf) else ref
    if mpmath.isinf(ref):
        return 0.0 if np.isinf(v) else np.inf
    return float(abs(mpmath.mpf(float(v)) - ref) / max(abs(ref), mpmath.mpf(TINY)))


def _within_reported(sol, ref, names):
    """Every output's actual error against the 50-digit ref is at most its reported accuracy."""
    for k in names:
        v = np.ravel(np.ma.getdata(sol.outputs[k] if k in sol.outputs else sol.unknowns[k]))
        r = np.ravel(np.asarray(ref.outputs[k] if k in ref.outputs else ref.unknowns[k], dtype=object))
        a = np.ravel(sol.accuracy[k])
        for vi, ri, ai in zip(v, r, a):
            assert _rel_err(vi, ri) <= ai, (k, vi, ri, ai)


# ---------------------------------------------------------------------- the stored results
def test_stored_values_unchanged():
    d = json.loads(DATA.read_text())
    assert d["commit"].startswith("bfb6ac1")

    def check(fn, table, outs):
        keys = list(table[0]["params"])
        P = {k: np.array([float(r["params"][k]) for r in table]) for k in keys}
        sol = fn(**P)
        conv = np.ravel(sol.converged)
        for i, r in enumerate(table):
            if not r["converged"]:
                continue  # the old engine refused it (issue 12); checked by the reproducers
            assert conv[i], r["params"]
            for k in outs:
                old, new = float(r["outputs"][k]), float(np.ravel(np.ma.getdata(sol.outputs[k]))[i])
                if np.isinf(old):
                    assert new == old
                else:
                    assert abs(new - old) <= 1e-13 * abs(old) + 1e-300, (r["params"], k, old, new)

    check(lambda **p: ridge.risk(**p, errors="mask"), d["ridge"],
          ["risk", "bias", "variance", "risk_total", "df1_over_n", "df2_over_n"])
    for v in d["ridge_spectrum"].values():
        check(lambda **p: ridge.spectrum_risk(np.array(v["eigs"]), np.array(v["beta2"]), **p, errors="mask"),
              v["table"], ["risk", "bias", "variance", "risk_total", "df1", "df2"])
    for v in d["rf"].values():
        check(lambda **p: rf.risk(**p, mu1=v["mu1"], mu_star=v["mu_star"], errors="mask"), v["table"],
              ["risk", "bias", "variance", "chi"])
    v = d["kernel_ridge"]
    check(lambda **p: kr.risk(v["eigs"], v["mult"], v["energy"], **p, errors="mask"), v["table"],
          ["risk", "bias", "variance", "df1", "df2"])


# ---------------------------------------------------------------------- the Solution contract
def test_solution_fields_and_records():
    sol = ridge.risk([0.5, 1.0, 2.0], 0.0, r2=1.0, sigma2=1.0)
    assert sol.status.tolist() == ["ok", "exact", "ok"]
    assert set(sol.accuracy) >= {"risk", "bias", "variance", "kappa"}
    assert sol.rel_accuracy.shape == (3,) and (sol.rel_accuracy < 1e-14).all()
    assert sol.rel_accuracy[1] == 0.0  # exact
    recs = sol.records()
    assert [r["status"] for r in recs] == ["ok", "exact", "ok"]
    assert all(isinstance(r["rel_accuracy"], float) for r in recs)
    assert isinstance(ridge.risk(0.5, 0.1).rel_accuracy, float)


def test_masked_points_are_none_and_keep_the_others():
    # one point cannot converge (no iterations allowed, no re-solve): the others are kept
    p = dict(gamma=[0.5, 2.0], lam=[0.0, 0.1], r2=1.0, sigma2=1.0)
    sol = solve(ridge.RIDGE, p, max_iter=0, errors="mask", resolve=False)
    assert sol.status.tolist() == ["ok", "did not converge"]  # gamma < 1, lam = 0: kappa = 0 exactly
    recs = sol.records()
    assert recs[0]["risk"] == pytest.approx(1.0) and recs[1]["risk"] is None and recs[1]["kappa"] is None
    assert recs[1]["status"] == "did not converge" and recs[1]["rel_accuracy"] == np.inf
    assert not any(isinstance(v, float) and np.isnan(v) for r in recs for v in r.values())


def test_bound_and_resolve_switches():
    # the cancellation of the original quartic formulation (the symbolic model solved as written) at
    # the RF threshold is detected by the estimate, masked without the re-solve, fixed with it
    quartic = dataclasses.replace(rf.RANDOM_FEATURES, numeric=None)
    pt = dict(psi1=1.0, psi2=1.0 + 1e-12, lam=0.0, mu1=RELU[1], mu_star=RELU[2], F1sq=1.0, Fstar_sq=0.0,
              tau2=0.0)
    # (the same float constants as the double solve: the activation's 60-digit ones differ at 1e-17)
    ref = rf.risk(1.0, 1.0 + 1e-12, 0.0, mu1=RELU[1], mu_star=RELU[2], precision=50).risk
    off = solve(quartic, pt, errors="mask", resolve=False)
    assert off.status.item().startswith("accuracy") and "re-solve disabled" in off.status.item()
    assert _rel_err(np.ma.getdata(off.risk), ref) <= float(off.rel_accuracy)  # the estimate is honest
    assert float(off.rel_accuracy) > 1e-10
    with pytest.raises(ConvergenceError, match="worse than the bound"):
        solve(quartic, pt, resolve=False)
    on = solve(quartic, pt)
    assert on.status.item().startswith("re-solved at")
    assert _rel_err(on.risk, ref) <= float(on.rel_accuracy) <= 1e-10
    # a bound tighter than the double solve meets: re-solved and rounded (the estimate says by how much)
    tight = ridge.risk(1.0, 1e-3, accuracy=1e-15)
    assert str(tight.status).startswith("re-solved") and tight.rel_accuracy <= 1e-15
    with pytest.raises(ValueError, match="accuracy must be >= 1e-15"):
        ridge.risk(0.5, 0.1, accuracy=1e-17)  # below the rounding of a double
    with pytest.raises(ValueError, match="resolve"):
        rf.risk(1.0, 2.0, 0.1, activation="relu", resolve="yes")


# ---------------------------------------------------------------------- random features reproducers
def test_rf_ridgeless_just_off_the_threshold():
    sol = rf.risk(1.0, 1.0 + 1e-12, 0.0, activation="relu")
    ref = rf.risk(1.0, 1.0 + 1e-12, 0.0, mu1=RELU[1], mu_star=RELU[2], precision=50)
    assert sol.risk == pytest.approx(4.47866389754346e11, rel=1e-13)
    assert _rel_err(sol.risk, ref.risk) <= sol.rel_accuracy <= 1e-12
    assert sol.status == "ok"  # computed without cancellation, no re-solve needed


@pytest.mark.parametrize("lam", [1.0, 1e-3, 1e-10, 1e-30, 1e-50, 1e-100, 1e-200, 1e-300])
def test_rf_at_the_threshold_with_tiny_ridge(lam):
    sol = rf.risk(1.0, 1.0, lam, activation="relu", tau2=0.1)
    ref = rf.risk(1.0, 1.0, lam, mu1=RELU[1], mu_star=RELU[2], tau2=0.1, precision=50)
    assert sol.status == "ok"
    _within_reported(sol, ref, ["risk", "bias", "variance", "P"])
    assert sol.rel_accuracy < 1e-11
    if lam <= 1e-30:  # the risk grows like lam^(-1/2) without bound (the old solver stalled at 1.2e13)
        assert sol.risk * np.sqrt(lam) == pytest.approx(rf.risk(1.0, 1.0, 1e-30, activation="relu",
                                                               tau2=0.1).risk * 1e-15, rel=1e-9)


def test_rf_large_widths():
    sol = rf.risk(1e5, 1.5e5, 0.06, activation="relu")
    assert sol.risk == pytest.approx(0.03747, abs=5e-6)
    _within_reported(sol, rf.risk(1e5, 1.5e5, 0.06, mu1=RELU[1], mu_star=RELU[2], precision=50), ["risk", "chi"])
    g = np.geomspace(1e2, 1e6, 50)
    grid = rf.risk(g[:, None], g[None, :], 0.06, activation="relu")
    assert grid.converged.all() and (grid.rel_accuracy < 1e-10).all()
    for i, j in [(0, 49), (49, 0), (25, 25), (10, 11), (40, 39)]:
        ref = rf.risk(g[i], g[j], 0.06, mu1=RELU[1], mu_star=RELU[2], precision=40).risk
        assert _rel_err(grid.risk[i, j], ref) <= grid.rel_accuracy[i, j]


def test_rf_numeric_form_equals_the_papers_polynomials():
    # B = E1/E0 and V = E2/E0 in a_j = psi_j - h(P), P (zeta^2 = z): the one-signed forms used in double
    z, P, a1, a2 = sp.symbols("z P a1 a2", positive=True)
    h = P * (1 + z / (1 + z * P))
    sub = {rf.chi: -P, rf.zeta: sp.sqrt(z), rf.psi1: h + a1, rf.psi2: h + a2}
    g = 1 + z * P
    G, w = 1 / g, z * P / g
    R, Q = P + w, P + w * G
    den = a1 * a2 + Q * (a1 + a2)
    assert sp.simplify((rf.E1 / rf.E0).subs(sub) - G * (a2 + R) * (G * a1 + Q) / den) == 0
    assert sp.simplify((rf.E2 / rf.E0).subs(sub) - (w ** 2 * a1 + R * Q) / den) == 0
    # a wrong form is told apart (the earlier draft with G^2 R Q)
    wrong = (G ** 2 * (a1 * a2 + R * a1 + R * Q) + G * Q * a2) / den
    assert sp.simplify((rf.E1 / rf.E0).subs(sub) - wrong) != 0


def _rf_independent(psi1, psi2, lam, F1sq, tau2, dps=60):
    """The risk from the original quartic in P (Definition 1 on the imaginary axis) and the paper's
    polynomials E0, E1, E2, with the ReLU constants in closed form (mu1 = 1/2,
    mu_star^2 = 1/4 - 1/(2 pi)), by mpmath.findroot at dps digits: no code of the engine."""
    with mpmath.workdps(dps):
        mu1, ms2 = mpmath.mpf(1) / 2, mpmath.mpf(1) / 4 - 1 / (2 * mpmath.pi)
        z = mu1 ** 2 / ms2
        p1, p2, l = (mpmath.mpf(v) for v in (psi1, psi2, lam))
        s2 = p1 * p2 * l / ms2

        def F(Pv):
            hh = Pv * (1 + z / (1 + z * Pv))
            return (p1 - hh) * (p2 - hh) - s2 * Pv

        psi = min(p1, p2)
        b = 1 + z - psi * z
        Pstar = (-b + mpmath.sqrt(b * b + 4 * z * psi)) / (2 * z)
        Pv = mpmath.findroot(F, (Pstar * mpmath.mpf("1e-6"), Pstar), solver="anderson") if l > 0 else Pstar
        args = (-Pv, mpmath.sqrt(z), p1, p2)
        e0, e1, e2 = (sp.lambdify((rf.chi, rf.zeta, rf.psi1, rf.psi2), e, "mpmath")(*args)
                      for e in (rf.E0, rf.E1, rf.E2))
        return F1sq * e1 / e0 + tau2 * e2 / e0


@pytest.mark.parametrize("p1,p2,lam", [(0.5, 2.0, 1e-2), (3.0, 1.5, 0.1), (1.0, 1.0, 1e-8), (2.0, 0.7, 0.0)])
def test_rf_precision_path_uses_the_activation_constants_at_full_precision(p1, p2, lam):
    sol = rf.risk(p1, p2, lam, activation="relu", tau2=0.3, precision=50)
    ref = _rf_independent(p1, p2, lam, 1.0, 0.3)
    with mpmath.workdps(60):
        assert abs(sol.risk - ref) <= mpmath.mpf(10) ** -45 * abs(ref)
    # (floating the constants, as before issue 12, is wrong at ~1e-17: the test can tell)
    flo = rf.risk(p1, p2, lam, mu1=float(RELU[1]), mu_star=float(RELU[2]), tau2=0.3, precision=50)
    with mpmath.workdps(60):
        assert abs(flo.risk - ref) > mpmath.mpf(10) ** -30 * abs(ref)


def test_precision_path_keeps_mpmath_parameters():
    with mpmath.workdps(60):
        g, l = mpmath.mpf(1) / 3, mpmath.mpf(1) / 7
        a = 1 - g + l
        root = mpmath.sqrt(a * a + 4 * g * l)
        m = 2 / (root + a)
        b = 1 - g - l
        var = g * m * (root + b) / (2 * root)           # sigma2 = 1
        bias = l * m * l * (g * m + 1) / root            # r2 = 1
        exact = bias + var
    sol = ridge.risk(g, l, 1.0, 1.0, precision=50)
    with mpmath.workdps(60):
        assert abs(sol.risk - exact) <= mpmath.mpf(10) ** -48 * exact
    # eigenvalues as mpmath numbers (a 2-point spectrum at 50 digits) against findroot
    with mpmath.workdps(60):
        e = [mpmath.mpf(1) / 3, mpmath.mpf(2) / 3]
        n, lam = mpmath.mpf(5) / 3, mpmath.mpf(1) / 10
    s = ridge.spectrum_risk(e, [mpmath.mpf(1), mpmath.mpf(1)], n, lam, 0.0, precision=50)
    with mpmath.workdps(60):
        k = mpmath.findroot(lambda k: k - lam - k * sum(x / (x + k) for x in e) / n, 0.5)
        assert abs(s.kappa - k) <= mpmath.mpf(10) ** -48 * k


# ---------------------------------------------------------------------- ridge reproducers
def test_spectrum_above_the_rank_at_zero_ridge():
    sol = ridge.spectrum_risk([1.0], [1.0], n=1.012, lam=0.0)
    assert sol.risk == pytest.approx(1 / 0.012, rel=1e-13) and sol.kappa == 0.0
    assert sol.risk == pytest.approx(ridge.risk(1 / 1.012, 0.0).risk, rel=1e-13)
    grid = ridge.spectrum_risk([1.0, 0.5], [1.0, 1.0], n=[1.5, 2.0, 2.024, 3.0], lam=0.0, errors="mask")
    assert grid.converged.all() and grid.status.tolist() == ["ok", "exact", "ok", "ok"]


def test_kernel_ridge_just_above_and_near_its_rank():
    k = kr.risk([1.0], [3], [1.0], n=3.036, sigma2=1.0)
    assert k.risk == pytest.approx(1 / 0.012, rel=1e-12)
    k = kr.risk([1.0], [3], [1.0], n=3, lam=3e-8, sigma2=1.0)
    r = ridge.spectrum_risk(np.ones(3), np.full(3, 1 / 3), 3, 1e-8, 1.0)
    assert k.risk == pytest.approx(r.risk, rel=1e-10)
    assert k.risk == pytest.approx(ridge.risk(1.0, 1e-8).risk, rel=1e-10)
    spec = kr.sphere_spectrum("poly:0,1", 5, kmax=1)   # rank 1 + 5 = 6
    sol, _ = kr.sphere_risk("poly:0,1", 5, n=[6.0 * 1.012, 6.5], energy=[0, 1], sigma2=0.5, kmax=1)
    assert sol.converged.all() and np.isfinite(sol.risk).all()
    ref = kr.risk(spec.eigs, spec.mult, [0, 1], [6.0 * 1.012, 6.5], 0.0, 0.5, tail=spec.tail, precision=30)
    for a, b in zip(sol.risk, ref.risk):
        assert _rel_err(a, b) <= 1e-12


def test_spectrum_at_the_threshold_with_small_ridge():
    sol = ridge.spectrum_risk([1.0], [1.0], n=1, lam=1e-8)
    assert sol.risk == pytest.approx(ridge.risk(1.0, 1e-8).risk, rel=1e-13)
    assert sol.risk == pytest.approx(4999.50006875, rel=1e-11)
    for lam in [1e-30, 1e-100, 1e-300]:
        s = ridge.spectrum_risk([1.0], [1.0], n=1, lam=lam)
        assert s.status == "ok" and s.risk == pytest.approx(ridge.risk(1.0, lam).risk, rel=1e-12)


@pytest.mark.parametrize("eigs", [[1.0, 1e-300], [1e300, 1.0], list(ridge.power_law(10, 1000)),
                                  [1e-20, 1.0, 1.0], list(np.geomspace(1e-200, 1e200, 9))])
def test_scale_invariance(eigs):
    d = int(np.count_nonzero(np.array(eigs) > 0))
    ns = np.array([0.5, 0.999, 1.5, d - 0.5, d + 0.5, 2.0 * d])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for lam in [0.0, 1e-3]:
            sol = ridge.spectrum_risk(eigs, np.ones(len(eigs)), n=ns, lam=lam)
            assert sol.converged.all()
            ref = ridge.spectrum_risk(eigs, np.ones(len(eigs)), n=ns, lam=lam, precision=40)
            _within_reported(sol, ref, ["risk", "kappa", "df1"])
    # homogeneity: eigenvalues and ridge scaled by c leave df1 and the variance unchanged
    a = ridge.spectrum_risk([1.0, 0.25], [0.0, 0.0], n=1.5, lam=1e-2, sigma2=1.0)
    b = ridge.spectrum_risk([2.0 ** 300, 0.25 * 2.0 ** 300], [0.0, 0.0], n=1.5, lam=1e-2 * 2.0 ** 300, sigma2=1.0)
    assert b.variance == pytest.approx(a.variance, rel=1e-13)
    assert b.kappa == pytest.approx(a.kappa * 2.0 ** 300, rel=1e-13)


def test_ridgeless_noiseless_threshold_agrees():
    assert ridge.ridgeless_risk(1.0, 1.0, 0.0) == 0.0
    assert ridge.risk(1.0, 0.0, r2=1.0, sigma2=0.0).risk == 0.0
    assert ridge.ridgeless_risk(1.0, 1.0, 1.0) == np.inf
    # the noiseless risk is continuous there from both sides and in lam
    for g in [1 - 1e-9, 1 + 1e-9]:
        assert ridge.risk(g, 0.0, 1.0, 0.0).risk == pytest.approx(ridge.ridgeless_risk(g, 1.0, 0.0), abs=1e-8)
    assert ridge.risk(1.0, 1e-12, 1.0, 0.0).risk < 1e-5


def test_mp_closed_form_over_its_whole_domain():
    rng = np.random.default_rng(3)
    gs = np.r_[[1e-5, 0.5, 1.0, 1 + 1e-9, 2.0, 1e3, 1e50, 1e100], 10 ** rng.uniform(-5, 100, 6)]
    ls = np.r_[[1e-150, 1e-100, 1e-20, 1e-10, 1.0, 1e20, 1e50, 1e100], 10 ** rng.uniform(-150, 100, 6)]
    for g in gs:
        for lam in ls:
            b, v = ridge.mp_closed_form(g, lam, 1.0, 1.0)
            B, V = ridge.mp_closed_form(g, lam, 1.0, 1.0, precision=300)
            assert _rel_err(b, B) < 4e-15 and _rel_err(v, V) < 4e-15, (g, lam)
    # the witness agrees with the solver where both apply, also at the extremes
    for g, lam in [(2.0, 1e-100), (0.5, 1e50), (1.0, 1e-150), (1e50, 1e-3)]:
        b, v = ridge.mp_closed_form(g, lam, 1.0, 1.0)
        s = ridge.risk(g, lam, 1.0, 1.0)
        assert s.bias == pytest.approx(b, rel=1e-12) and s.variance == pytest.approx(v, rel=1e-12)
    with pytest.raises(ValueError, match="lam must be >= 1e-150"):
        ridge.mp_closed_form(2.0, 1e-200)


# ---------------------------------------------------------------------- near-threshold grids
def _near_one(n, rng):
    d = 10 ** rng.uniform(-15, -1, n) * rng.choice([-1, 1], n)
    return 1 + d


def test_ridge_near_threshold_grid_within_reported_accuracy():
    rng = np.random.default_rng(7)
    g = np.r_[_near_one(12, rng), 1.0]
    lam = np.r_[0.0, 10 ** rng.uniform(-300, 0, 7)]
    G, L = np.meshgrid(g, lam, indexing="ij")
    sol = ridge.risk(G, L, 1.3, 0.7)
    assert sol.converged.all()
    idx = rng.choice(G.size, 40, replace=False)
    for i in idx:
        ref = ridge.risk(G.flat[i], L.flat[i], 1.3, 0.7, precision=50)
        for k in ("risk", "bias", "variance", "kappa"):
            v = (sol.outputs if k in sol.outputs else sol.unknowns)[k].flat[i]
            r = (ref.outputs if k in ref.outputs else ref.unknowns)[k]
            assert _rel_err(v, r) <= sol.accuracy[k].flat[i], (G.flat[i], L.flat[i], k)


def test_rf_near_threshold_grid_within_reported_accuracy():
    rng = np.random.default_rng(8)
    p1 = 10 ** rng.uniform(-2, 4, 30)
    p2 = p1 * _near_one(30, rng)
    lam = np.where(rng.uniform(size=30) < 0.2, 0.0, 10 ** rng.uniform(-300, 0, 30))
    sol = rf.risk(p1, p2, lam, activation="relu", tau2=0.2, Fstar_sq=0.1)
    assert sol.converged.all() and (sol.rel_accuracy <= 1e-10).all()
    for i in range(30):
        ref = rf.risk(p1[i], p2[i], lam[i], mu1=RELU[1], mu_star=RELU[2], tau2=0.2, Fstar_sq=0.1, precision=50)
        for k in ("risk", "bias", "variance", "chi"):
            assert _rel_err(sol.outputs[k][i], ref.outputs[k]) <= sol.accuracy[k][i], (p1[i], p2[i], lam[i], k)


# ---------------------------------------------------------------------- memory
def test_spectral_sums_in_blocks(monkeypatch):
    e = ridge.power_law(3000, 1.2)
    n = np.geomspace(10, 1e4, 40)
    a = ridge.spectrum_risk(e, e, n, lam=1e-3)
    monkeypatch.setattr(fp, "CHUNK", 1000)   # ~1000 elements at once instead of 131072
    b = ridge.spectrum_risk(e, e, n, lam=1e-3)
    for k in ("risk", "bias", "variance", "df1", "df2", "kappa"):
        np.testing.assert_allclose(getattr(b, k), getattr(a, k), rtol=1e-13)
    assert max((ps.stop - ps.start) * (cs.stop - cs.start) for ps, cs in fp._blocks(40, 3000)) <= 131072


def test_ridgeless_risk_near_the_threshold_has_no_cancellation():
    """r2 (1 - 1/gamma) lost the digits of 1/gamma at gamma = 1 + 1e-8 (relative error 1e-9, found by
    the fuzz benchmark); (gamma - 1)/gamma is exact to rounding. Reference: 50-digit arithmetic."""
    for g in (1.00000001, 1 + 2.0 ** -40, 1.5, 1e10):
        with mpmath.workdps(50):
            ref = 1 - 1 / mpmath.mpf(g)
        got = ridge.ridgeless_risk(g, r2=1.0, sigma2=0.0)
        assert abs(got - float(ref)) <= 2e-16 * float(ref), (g, got, ref)


def test_precision_path_solves_where_double_precision_did_not_converge():
    """lam = 5e-324 (the smallest subnormal): Newton's method in double stalls on subnormal steps, the
    precision path used to raise; now it solves in mpmath from the last iterate and verifies the root.
    Reference: the ridgeless variance sigma2 gamma/(1 - gamma) (lam = 5e-324 moves it far below 1e-40),
    at 50 digits from the exact float inputs."""
    s = ridge.risk(gamma=1e-300, lam=5e-324, r2=1e100, sigma2=1e100, precision=40)
    assert str(np.asarray(s.status).ravel()[0]).startswith("re-solved at 40 digits")
    with mpmath.workdps(50):
        g = mpmath.mpf(1e-300)
        ref = mpmath.mpf(1e100) * g / (1 - g)
        assert abs(np.asarray(s.outputs["variance"]).ravel()[0] / ref - 1) < 1e-38


def test_spectrum_risk_where_kappa_overflows_double():
    """tr(Sigma)/n ~ 1e377 (kappa overflows double precision): the point was refused; it is solved
    through the exactly equivalent problem (2^-k Sigma, 2^k beta2, 2^-k lam) and its risk matches an
    independent 40-digit bisection of 1 = lam/kappa + s/(n (s + kappa)) (one eigenvalue)."""
    S, B, N, L = 9.079156524758892e+88, 1.1260074987238142e-97, 3.338369065124127e-289, 5.6717354431837935e+90
    sol = ridge.spectrum_risk(eigs=[S], beta2=[B], n=N, lam=L, sigma2=0.0)
    with mpmath.workdps(40):
        s, b, n, lam = (mpmath.mpf(v) for v in (S, B, N, L))
        lo, hi = lam, lam + s / n          # f(lo) < 0 < f(hi), f increasing: bisect
        for _ in range(200):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if 1 - lam / mid - s / (n * (s + mid)) < 0 else (lo, mid)
        k = (lo + hi) / 2
        df2 = s ** 2 / (s + k) ** 2
        ref = s * b * k ** 2 / (s + k) ** 2 / (1 - df2 / n)
        assert abs(mpmath.mpf(float(sol.risk)) / ref - 1) <= max(float(sol.rel_accuracy), 2e-16)
    assert np.isinf(sol.unknowns["kappa"]) and float(sol.params["lam"]) == L
    # no exact rescaling keeps 1e-300 in range: solved in mpmath; kappa ~ 1e320 >> 1e300, bias = sum s beta2
    far = ridge.spectrum_risk(eigs=[1e300, 1e-300], beta2=[1.0, 1.0], n=1e-20, lam=0.0, sigma2=0.0)
    assert abs(float(far.risk) / 1e300 - 1) < 1e-15 and np.isinf(far.unknowns["kappa"])


def test_spectrum_risk_beyond_any_exact_rescaling():
    """A spectrum spanning 1e-173 ... 1e249 with n = 1.2e-231: kappa ~ 4.5e480 and no power-of-two
    rescaling keeps every eigenvalue in range; the point is solved in mpmath and rounded to double.
    Reference: kappa >> every eigenvalue, so the bias is sum(s beta2) to relative O(s_max/kappa)."""
    eigs = [3.24503123805902e-173, 5.6485185921231814e+249, 2.281102120871505e-126, 7.742394059630204e+21]
    beta2 = [3.3544843269395044e-250] * 4
    sol = ridge.spectrum_risk(eigs=eigs, beta2=beta2, n=1.246079396920876e-231, lam=2893.5080435520777,
                              sigma2=0.0)
    with mpmath.workdps(40):
        ref = mpmath.fsum(mpmath.mpf(a) * mpmath.mpf(b) for a, b in zip(eigs, beta2))
        assert abs(mpmath.mpf(float(sol.risk)) / ref - 1) <= float(sol.rel_accuracy)
    assert str(np.asarray(sol.status).ravel()[0]).startswith("re-solved at 30 digits")
    assert np.isinf(sol.unknowns["kappa"])


def test_non_physical_double_root_among_subnormals_is_re_solved():
    """lam = 5e-324 just above the threshold (n = 1 + 1e-10 > d = 1): kappa ~ 4.7e-314 is subnormal and
    Newton's method in double landed on the non-physical branch; the point is re-solved in mpmath from
    the model's start. Reference: one eigenvalue, kappa (1 - s/(n (s + kappa))) = lam solved by 60-digit
    bisection; the bias s beta2 kappa^2/(s+kappa)^2/(1 - df2/n) ~ 7e-616 underflows to 0 in double."""
    s_, b_, n_, lam_ = 0.9266885082161619, 31.255579954690646, 1.0000000001051363, 5e-324
    sol = ridge.spectrum_risk(eigs=[s_], beta2=[b_], n=n_, lam=lam_, sigma2=0.0)
    assert str(np.asarray(sol.status).ravel()[0]).startswith("re-solved") and float(sol.risk) == 0.0
    with mpmath.workdps(60):
        s, b, n, lam = (mpmath.mpf(v) for v in (s_, b_, n_, lam_))
        lo, hi = lam, lam * n / (n - 1) * 10
        for _ in range(400):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if mid * (1 - s / (n * (s + mid))) < lam else (lo, mid)
        assert abs(mpmath.mpf(float(sol.unknowns["kappa"])) / lo - 1) < 1e-9   # subnormal: ~14 digits
        mp = ridge.spectrum_risk(eigs=[s_], beta2=[b_], n=n_, lam=lam_, sigma2=0.0, precision=30)
        ref = s * b * lo ** 2 / (s + lo) ** 2 / (1 - s ** 2 / (s + lo) ** 2 / n)
        assert abs(np.asarray(mp.outputs["risk"]).ravel()[0] / ref - 1) < 1e-28
