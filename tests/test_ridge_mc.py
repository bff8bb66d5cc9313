"""Monte Carlo of ridge regression (theory_checks.ridge) against independent witnesses.

Witnesses: a direct refit per lam (numerical), the exact finite-n inverse-Wishart risk at lam = 0
(exact, finite n), and a small local closed form of the isotropic limit written here from the
formulas (so the simulator is tested independently of asymptotics.models.ridge). The checks are
finite-size ladders (theory_checks.compare); every statistical test here also shows that it can fail
(a wrong theory, or the limit where the exact finite-n value holds, is rejected). The acceptance grid
is marked slow and scaled by ASYMPTOTICS_MC_SCALE.
"""
from __future__ import annotations

import importlib.util
import math
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from theory_checks import ridge
from theory_checks.compare import Check, compare
from theory_checks.compare import mc_scale as _mc_scale

#: Tests that assert "every point agrees" use 99.7 % intervals (3 sigma): at 95 % a grid of 12 points
#: would fail by chance in about half of the seeds. tests/test_calibration.py checks the 95 % level.
L3 = 0.997




def local_theory(gamma, lam, r2=1.0, sigma2=1.0):
    """Isotropic ridge limit, closed form (HMRT 2019 Thm 1 at lam = 0; deterministic equivalent of
    Cheng & Montanari 2022 with Sigma = I): kappa^2 + (1 - gamma - lam) kappa - lam = 0."""
    gamma, lam = np.broadcast_arrays(np.asarray(gamma, float), np.asarray(lam, float))
    kappa = ((gamma + lam - 1) + np.sqrt((1 - gamma - lam) ** 2 + 4 * lam)) / 2
    df2 = gamma / (1 + kappa) ** 2
    finite = df2 < 1
    den = np.where(finite, 1 - df2, 1.0)
    bias = np.where(finite, r2 * kappa**2 / (1 + kappa) ** 2 / den, np.inf)
    var = np.where(finite, sigma2 * df2 / den, np.inf)
    return SimpleNamespace(risk=bias + var, bias=bias, variance=var, kappa=kappa, df2_over_n=df2)


def _has_real_model() -> bool:
    return importlib.util.find_spec("asymptotics.models.ridge") is not None


# ------------------------------------------------------------------------------------------------
# the local closed form itself (sanity: it must be the theory it claims to be)
# ------------------------------------------------------------------------------------------------
def test_local_theory_ridgeless_limits():
    g = np.array([0.25, 0.5, 0.8, 1.25, 2.0, 4.0])
    t = local_theory(g, 0.0, r2=1.3, sigma2=0.7)
    expect = np.where(g < 1, 0.7 * g / (1 - g), 1.3 * (1 - 1 / g) + 0.7 / (g - 1))
    np.testing.assert_allclose(t.risk, expect, rtol=1e-13)
    assert local_theory(1.0, 0.0).risk == np.inf
    # kappa solves kappa - lam = gamma kappa / (1 + kappa)
    lam = np.array([1e-3, 0.1, 1.0, 10.0])
    tt = local_theory(0.7, lam)
    np.testing.assert_allclose(tt.kappa - lam, 0.7 * tt.kappa / (1 + tt.kappa), rtol=1e-12)


# ------------------------------------------------------------------------------------------------
# simulator mechanics
# ------------------------------------------------------------------------------------------------
def test_simulate_reproducible_and_lam_independent_draws():
    lam = [0.0, 0.01, 1.0]
    a = ridge.simulate(0.5, lam, d=30, seeds=4, seed=7)
    b = ridge.simulate(0.5, lam, d=30, seeds=4, seed=7)
    c = ridge.simulate(0.5, lam, d=30, seeds=4, seed=8)
    assert a.shape == (4, 3)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    # the draw does not depend on the lam grid: one column alone gives the same numbers
    np.testing.assert_allclose(ridge.simulate(0.5, 0.01, d=30, seeds=4, seed=7)[:, 0], a[:, 1],
                               rtol=1e-13)
    # more seeds extend, not change, the first rows
    np.testing.assert_array_equal(ridge.simulate(0.5, lam, d=30, seeds=6, seed=7)[:4], a)


@pytest.mark.parametrize("gamma", [0.5, 0.9, 1.0, 1.1, 2.0])
def test_one_svd_matches_refit(gamma):
    lam = [0.0, 1e-3, 1e-2, 0.1, 1.0, 10.0]
    if gamma == 1.0:
        lam = lam[1:]   # square X: lam = 0 is legitimate but numerically ill-conditioned
    fast = ridge.simulate(gamma, lam, d=60, seeds=3, seed=1)
    slow = ridge.refit_simulate(gamma, lam, d=60, seeds=3, seed=1)
    np.testing.assert_allclose(fast, slow, rtol=1e-8, atol=0)


def test_noiseless_ridgeless_underparametrized_is_exactly_zero():
    # gamma < 1, sigma2 = 0, lam = 0: b_hat = beta exactly (g = 0 in the SVD form)
    r = ridge.simulate(0.5, 0.0, d=20, sigma2=0.0, seeds=3)
    assert np.all(r == 0.0)
    # and r2 = sigma2 = 0 gives zero risk for every lam; the comparison is then exact
    z = ridge.simulate(2.0, [0.0, 1.0], d=20, r2=0.0, sigma2=0.0, seeds=3)
    assert np.all(z == 0.0)
    c = compare(0.0, z[:, 0])
    assert c.z == 0.0 and c.verdict == "agree"


def test_spectrum_core_with_unit_eigs_equals_isotropic_core():
    rng = np.random.default_rng(5)
    lam = np.array([0.0, 0.05, 1.0])
    for n, d in [(50, 30), (30, 50)]:
        X = rng.standard_normal((n, d))
        beta = rng.standard_normal(d)
        eps = rng.standard_normal(n)
        iso = ridge._risks_one_draw(X, beta, eps, lam, n)
        spec = ridge._risks_one_draw(X, beta, eps, lam, n, sqrt_eigs=np.ones(d))
        np.testing.assert_allclose(spec, iso, rtol=1e-12)


@pytest.mark.parametrize("n", [12, 40])
def test_spectrum_matches_direct_solve(n):
    eigs = np.array([3.0, 1.0, 0.5, 0.25, 0.0, 0.1, 2.0, 1.5, 0.7, 0.05, 0.3, 1.2, 0.9, 0.4, 0.2,
                     0.15, 0.6, 0.8, 1.1, 2.5])
    beta2 = np.linspace(0.0, 2.0, eigs.size)
    lam = np.array([0.0, 1e-2, 0.3, 3.0])
    p = eigs.size
    got = ridge.simulate_spectrum(eigs, beta2, n, lam, sigma2=0.5, seeds=3, seed=2)
    for i in range(3):   # rebuild the same draws and refit directly
        X, beta, eps = ridge._draw_spectrum(ridge._rng(2, ridge._TAG_SPECTRUM, n, p, i), n,
                                            np.sqrt(eigs), np.sqrt(beta2), 0.5)
        y = X @ beta + eps
        for j, lj in enumerate(lam):
            if lj > 0:
                b = np.linalg.solve(X.T @ X / n + lj * np.eye(p), X.T @ y / n)
            else:
                b = np.linalg.pinv(X) @ y
            np.testing.assert_allclose(got[i, j], np.sum(eigs * (b - beta) ** 2), rtol=1e-8)


# ------------------------------------------------------------------------------------------------
# statistics: simulator vs theory
# ------------------------------------------------------------------------------------------------
def test_ladder_vs_local_closed_form():
    comps = ridge.check([0.5, 2.0], [0.1, 1.0], d=[25, 50, 100, 200], seeds=30, seed=0,
                        theory=local_theory, level=L3)
    assert [(c.params["gamma"], c.params["lam"]) for c in comps] == [(0.5, 0.1), (0.5, 1.0), (2.0, 0.1),
                                                                       (2.0, 1.0)]
    for c in comps:
        assert isinstance(c, Check) and c.fit.kind == "1/d+1/d^2"
        assert c.sim["n"] == tuple(round(d / c.params["gamma"]) for d in (25, 50, 100, 200))
        assert c.seeds == (30,) * 4
        # the theory at each size is the closed form at the simulated d/n
        for d, n, t in zip(c.sizes, c.sim["n"], c.theories):
            assert t == pytest.approx(float(local_theory(d / n, c.params["lam"]).risk), rel=1e-12)
        assert c.verdict == "agree", c.to_record()
        assert c.resolution < 0.2                                     # informative: it can fail
    # ... and it does fail for a theory 3 resolutions off
    wrong = lambda g, l, r2, sigma2: SimpleNamespace(                 # noqa: E731
        risk=local_theory(g, l, r2, sigma2).risk * (1 + 3 * max(c.resolution for c in comps)))
    bad = ridge.check([0.5, 2.0], [0.1, 1.0], d=[25, 50, 100, 200], seeds=30, seed=0, theory=wrong, level=L3)
    assert all(c.verdict == "disagree" for c in bad)


@pytest.mark.parametrize("n,d", [(40, 20), (20, 40), (60, 40), (30, 45)])
def test_ridgeless_mc_vs_exact_finite_n(n, d):
    samples = ridge.simulate(d / n, 0.0, d=d, seeds=4000, seed=3)[:, 0]
    exact = ridge.exact_finite_ridgeless(n, d, r2=1.0, sigma2=1.0)
    assert compare(exact, samples, params={"n": n, "d": d}, level=L3).verdict == "agree"
    # the test has power: at this single size, the n -> oo limit is rejected
    limit = float(local_theory(d / n, 0.0).risk)
    assert compare(limit, samples, level=L3).verdict == "disagree"


def test_ladder_removes_the_exact_finite_n_bias_at_lam_0():
    """At lam = 0 the exact finite-n risk sigma2 d/(n - d - 1) deviates from the limit by a 1/d
    term: at one size the limit is rejected, extrapolated over a ladder it is accepted."""
    c = ridge.check(0.5, 0.0, d=[20, 40, 80, 160], seeds=400, seed=5, theory=local_theory, level=L3)[0]
    assert c.verdict == "agree" and c.resolution < 0.06, c.to_record()
    single = ridge.check(0.5, 0.0, d=40, seeds=1600, seed=5, theory=local_theory, level=L3)[0]
    assert single.fit.kind == "none" and single.verdict == "disagree", single.to_record()


def test_spectrum_general_eigs_vs_exact_finite_n():
    # lam = 0, n > p + 1: risk = sigma2 E tr(Sigma (X^T X)^{-1}) = sigma2 p / (n - p - 1) for any
    # invertible Sigma (inverse-Wishart mean), whatever beta
    eigs = np.linspace(0.2, 3.0, 15)
    samples = ridge.simulate_spectrum(eigs, np.ones(15), 30, 0.0, sigma2=0.8, seeds=3000,
                                      seed=4)[:, 0]
    assert compare(0.8 * 15 / (30 - 15 - 1), samples, level=L3).verdict == "agree"
    assert compare(0.8 * 15 / (30 - 15), samples, level=L3).verdict == "disagree"  # the limit, at one size


def test_spectrum_with_unit_eigs_has_the_isotropic_distribution():
    lam = [0.0, 0.1, 1.0]
    for gamma in (0.5, 2.0):
        d = 40
        n = ridge.n_samples(gamma, d)
        iso = ridge.simulate(gamma, lam, d=d, r2=1.5, sigma2=0.5, seeds=800, seed=11)
        spec = ridge.simulate_spectrum(np.ones(d), np.full(d, 1.5 / d), n, lam, sigma2=0.5,
                                       seeds=800, seed=11)
        for j in range(len(lam)):
            a, b = iso[:, j], spec[:, j]
            se = math.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
            assert abs(a.mean() - b.mean()) <= 3 * se, (gamma, lam[j])
            # same spread too (ratio of standard deviations within 20 %)
            assert 0.8 < a.std() / b.std() < 1.25


def test_exact_finite_ridgeless_cases():
    assert ridge.exact_finite_ridgeless(100, 50, sigma2=2.0) == 2.0 * 50 / 49
    assert ridge.exact_finite_ridgeless(50, 100, r2=3.0, sigma2=2.0) == 3.0 * 0.5 + 2.0 * 50 / 49
    for n, d in [(10, 10), (11, 10), (10, 11)]:
        assert ridge.exact_finite_ridgeless(n, d) == math.inf
    assert ridge.exact_finite_ridgeless(10, 11, r2=1.0, sigma2=0.0) == 1.0 - 10 / 11
    assert ridge.exact_finite_ridgeless(10, 10, sigma2=0.0) == 0.0


def test_resample_spectrum_replication_keeps_the_theory():
    from asymptotics.models import ridge as model
    eigs = np.arange(1, 31) ** -1.0
    beta2 = np.arange(1, 31) ** -0.5
    beta2 = beta2 / beta2.sum()
    t0 = model.spectrum_risk(eigs, beta2, 20, [0.0, 0.1], 0.5).risk
    for r in (2, 3):
        e, b = ridge.resample_spectrum(eigs, beta2, r)
        assert e.size == 30 * r and b.sum() == pytest.approx(1.0, rel=1e-12)
        np.testing.assert_allclose(model.spectrum_risk(e, b, 20 * r, [0.0, 0.1], 0.5).risk, t0, rtol=1e-9)
    e, b = ridge.resample_spectrum(eigs, beta2, 0.5)                # every other eigenvalue
    assert e.tolist() == sorted(eigs, reverse=True)[1::2]


# ------------------------------------------------------------------------------------------------
# bad input
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs,match", [
    (dict(gamma=0.0, lam=0.0), "gamma must be > 0"),
    (dict(gamma=-1.0, lam=0.0), "gamma must be > 0"),
    (dict(gamma=float("nan"), lam=0.0), "gamma must not be NaN"),
    (dict(gamma=[0.5, 1.0], lam=0.0), "gamma must be a scalar"),
    (dict(gamma=1000.0, lam=0.0, d=10), "n = round"),
    (dict(gamma=0.5, lam=-0.1), "lam must be >= 0"),
    (dict(gamma=0.5, lam=[[0.1]]), "lam must be a scalar or a 1-d array"),
    (dict(gamma=0.5, lam=[]), "lam must have at least 1 entry"),
    (dict(gamma=0.5, lam=0.0, d=0), "d must be an integer >= 1"),
    (dict(gamma=0.5, lam=0.0, d=10.5), "d must be an integer"),
    (dict(gamma=0.5, lam=0.0, seeds=1), "seeds must be an integer >= 2"),
    (dict(gamma=0.5, lam=0.0, seed=-1), "seed must be an integer >= 0"),
    (dict(gamma=0.5, lam=0.0, r2=-1.0), "r2 must be >= 0"),
    (dict(gamma=0.5, lam=0.0, sigma2=float("inf")), "sigma2 must be finite"),
])
@pytest.mark.parametrize("fn", [ridge.simulate, ridge.refit_simulate])
def test_simulate_bad_input(fn, kwargs, match):
    kwargs = dict(kwargs)
    with pytest.raises(ValueError, match=match):
        fn(kwargs.pop("gamma"), kwargs.pop("lam"), **kwargs)


@pytest.mark.parametrize("args,kwargs,match", [
    (([1.0, -1.0], [1.0, 1.0], 10, 0.0), {}, "eigs must be >= 0"),
    (([0.0, 0.0], [1.0, 1.0], 10, 0.0), {}, "eigs must have at least one entry > 0"),
    (([1.0, 1.0], [1.0, -1.0], 10, 0.0), {}, "beta2 must be >= 0"),
    (([1.0, 1.0], [1.0], 10, 0.0), {}, "eigs and beta2 must have the same length"),
    (([1.0, 1.0], [1.0, 1.0], 0, 0.0), {}, "n must be an integer >= 1"),
    (([1.0, 1.0], [1.0, 1.0], 2.5, 0.0), {}, "n must be an integer"),
    (([1.0, 1.0], [1.0, 1.0], 10, -1.0), {}, "lam must be >= 0"),
    (([1.0, 1.0], [1.0, 1.0], 10, 0.0), {"sigma2": -1.0}, "sigma2 must be >= 0"),
    (([1.0, 1.0], [1.0, 1.0], 10, 0.0), {"seeds": 1}, "seeds must be an integer >= 2"),
    (([], [], 10, 0.0), {}, "eigs must have at least 1 entries"),
])
def test_simulate_spectrum_bad_input(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        ridge.simulate_spectrum(*args, **kwargs)


def test_check_and_helpers_bad_input():
    with pytest.raises(ValueError, match="gamma must be a scalar or a 1-d array"):
        ridge.check([[0.5]], 0.0, theory=local_theory)
    with pytest.raises(ValueError, match="gamma must be > 0"):
        ridge.check([0.5, 0.0], 0.0, theory=local_theory)
    with pytest.raises(ValueError, match="sizes d must be distinct"):
        ridge.check(0.5, 0.0, d=[20, 20], theory=local_theory)
    with pytest.raises(ValueError, match="seeds must be an integer >= 2"):
        ridge.check(0.5, 0.0, d=[20, 40], seeds=1, theory=local_theory)
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        ridge.exact_finite_ridgeless(0, 10)
    with pytest.raises(ValueError, match="theory must not be NaN"):
        ridge.check(0.5, 0.0, d=[10, 20], seeds=2,
                    theory=lambda g, l, r2, sigma2: SimpleNamespace(risk=np.nan))
    with pytest.raises(ValueError, match="ladder factor must be > 0"):
        ridge.check_spectrum(np.ones(4), np.ones(4), 8, 0.1, factors=[0.0, 1.0])


# ------------------------------------------------------------------------------------------------
# against the real model (asymptotics.models.ridge)
# ------------------------------------------------------------------------------------------------
needs_model = pytest.mark.skipif(not _has_real_model(),
                                 reason="asymptotics.models.ridge not written yet")


@needs_model
def test_real_model_interface_matches_local_closed_form():
    from asymptotics.models import ridge as model
    g = np.array([0.3, 0.5, 0.9, 1.1, 2.0, 5.0])[:, None]
    lam = np.array([0.0, 1e-2, 1.0, 10.0])[None, :]
    sol, loc = model.risk(g, lam, r2=1.3, sigma2=0.4), local_theory(g, lam, r2=1.3, sigma2=0.4)
    np.testing.assert_allclose(sol.risk, loc.risk, rtol=1e-10)
    np.testing.assert_allclose(sol.df2_over_n, loc.df2_over_n, rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(sol.kappa, loc.kappa, rtol=1e-10, atol=1e-15)
    assert float(np.asarray(model.risk(1.0, 0.0).risk)) == math.inf


@needs_model
def test_check_with_real_model_small():
    comps = ridge.check([0.5, 1.0, 2.0], [0.0, 0.1], d=[20, 40, 80, 160], seeds=20, seed=2, level=L3)
    verdicts = {(c.params["gamma"], c.params["lam"]): c.verdict for c in comps}
    assert verdicts.pop((1.0, 0.0)) == "diverges"
    assert set(verdicts.values()) == {"agree"}, [c.to_record() for c in comps]
    rec = comps[2].to_record(lists=True)
    assert rec["theory"] == math.inf and rec["extrapolated"] is None and rec["resolution"] is None
    assert all(c.resolution < 0.5 for c in comps if c.fit is not None)


@needs_model
def test_check_spectrum_with_real_model():
    p = 50
    two_level = np.r_[np.full(25, 2.0), np.full(25, 0.5)]
    power = np.arange(1, p + 1) ** -1.0
    for eigs, beta2 in [(two_level, np.full(p, 1 / p)), (power, np.arange(1, p + 1) ** -1.5)]:
        for n in (25, 100):
            comps = ridge.check_spectrum(eigs, beta2, n, [0.0, 1e-2, 1.0], sigma2=1.0, seeds=12, level=L3)
            assert [c.params["lam"] for c in comps] == [0.0, 0.01, 1.0]
            assert all(c.params["n"] == n and c.params["p"] == p for c in comps)
            assert comps[0].sizes == (50, 100, 200, 400) and comps[0].sim["n"] == (n, 2 * n, 4 * n, 8 * n)
            assert all(c.verdict == "agree" for c in comps), [c.to_record() for c in comps]
            assert all(c.resolution < 0.5 for c in comps), [c.resolution for c in comps]
    # zero eigenvalues carry nothing: 30 positive ones and n = 30 is the interpolation threshold
    with_zeros = np.r_[np.ones(30), np.zeros(20)]
    comps = ridge.check_spectrum(with_zeros, np.full(50, 1 / 50), 30, [0.0, 0.1], seeds=10, level=L3)
    assert [c.verdict for c in comps] == ["diverges", "agree"]


def test_check_spectrum_with_injected_theory():
    eigs = np.ones(30)

    def iso_as_spectrum(e, b2, n, lam, sigma2):
        return SimpleNamespace(risk=local_theory(e.size / n, lam, r2=float(np.sum(b2)), sigma2=sigma2).risk)

    comps = ridge.check_spectrum(eigs, np.full(30, 1 / 30), 60, [0.0, 0.5], seeds=40, theory=iso_as_spectrum,
                                 level=L3)
    assert [c.verdict for c in comps] == ["agree", "agree"] and comps[0].sizes == (30, 60, 120, 240)
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        ridge.check_spectrum(eigs, eigs, 0, 0.0, theory=iso_as_spectrum)


@pytest.mark.slow
@needs_model
def test_acceptance_grid():
    """The acceptance grid gamma in {0.5, 0.9, 1.1, 2} x lam in {0, 1e-2, 1} on the default ladder
    d = 100..400; 40 seeds per size at ASYMPTOTICS_MC_SCALE = 1, at least 10."""
    seeds = max(10, round(40 * _mc_scale()))
    comps = ridge.check([0.5, 0.9, 1.1, 2.0], [0.0, 1e-2, 1.0], seeds=seeds, seed=0, level=L3)
    assert len(comps) == 12 and comps[0].sizes == ridge.DEFAULT_SIZES
    bad = [c.to_record() for c in comps if c.verdict != "agree"]
    assert not bad, bad
    assert max(c.resolution for c in comps) < 0.5
