"""Ridge regression theory: the generic solver against hand-written witnesses (Hastie et al. 2019)."""
import mpmath
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from asymptotics.engine import ConvergenceError
from asymptotics.models import ridge

GRID_G = np.geomspace(0.1, 10, 10)
GRID_L = np.geomspace(1e-3, 10, 10)


def test_solver_matches_marchenko_pastur_closed_form_on_100_points():
    G, L = np.meshgrid(GRID_G, GRID_L)
    sol = ridge.risk(G, L, r2=1.3, sigma2=0.7)
    bias, var = ridge.mp_closed_form(G, L, 1.3, 0.7)
    assert sol.risk.shape == (10, 10)
    rel = np.abs(sol.risk - (bias + var)) / (bias + var)
    assert rel.max() < 1e-10
    assert np.max(np.abs(sol.bias - bias) / bias) < 1e-10
    assert np.max(np.abs(sol.variance - var) / var) < 1e-10


@pytest.mark.parametrize("g,l", [(0.3, 0.01), (0.9, 0.5), (1.0, 0.02), (2.5, 1e-3), (7.0, 3.0)])
def test_mpmath_path_agrees_to_30_digits(g, l):
    sol = ridge.risk(g, l, r2=1.3, sigma2=0.7, precision=40)
    bias, var = ridge.mp_closed_form(g, l, 1.3, 0.7, precision=40)
    with mpmath.workdps(40):
        assert abs(sol.bias - bias) <= mpmath.mpf(10) ** -30 * abs(bias)
        assert abs(sol.variance - var) <= mpmath.mpf(10) ** -30 * abs(var)


def test_ridgeless_values_and_the_interpolation_peak():
    sol = ridge.risk([0.5, 1.0, 2.0], 0.0, r2=1.0, sigma2=1.0)
    assert sol.risk.tolist() == [1.0, np.inf, 1.5]
    assert sol.variance[1] == np.inf and sol.bias[1] == 0.0 and sol.risk_total[1] == np.inf
    np.testing.assert_allclose(sol.risk, ridge.ridgeless_risk([0.5, 1.0, 2.0]), rtol=1e-14)
    assert np.isfinite(ridge.risk(1.0, 1e-6).risk)  # just off the singular point: large but finite


def test_ridge_zero_overparameterized_branch():
    sol = ridge.risk(3.0, 0.0, r2=2.0, sigma2=0.5)
    assert sol.kappa == pytest.approx(2.0, rel=1e-14)  # kappa_0 = gamma - 1, not the root 0
    assert sol.risk == pytest.approx(2.0 * (1 - 1 / 3) + 0.5 / 2, rel=1e-13)


def test_optimal_ridge():
    g, r2, s2 = 1.7, 1.3, 0.7
    lam_star = ridge.optimal_lam(g, r2, s2)
    assert lam_star == pytest.approx(s2 * g / r2)
    lams = lam_star * np.array([0.8, 0.95, 1.0, 1.05, 1.25])
    risks = ridge.risk(g, lams, r2, s2).risk
    assert np.argmin(risks) == 2
    assert ridge.optimal_risk(g, r2, s2) == pytest.approx(risks[2], rel=1e-12)


def test_spectrum_model_reduces_to_isotropic():
    d = 300
    n = np.array([100.0, 250.0, 600.0])
    lam = np.array([[0.0], [0.05], [1.0]])
    sp_ = ridge.spectrum_risk(np.ones(d), np.full(d, 1.3 / d), n, lam, sigma2=0.7)
    iso = ridge.risk(d / n, lam, r2=1.3, sigma2=0.7)
    np.testing.assert_allclose(sp_.risk, iso.risk, rtol=1e-12)
    np.testing.assert_allclose(sp_.kappa, iso.kappa, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(sp_.df2 / n, iso.df2_over_n, rtol=1e-12)


def test_spectrum_ridgeless_underparameterized_is_spectrum_free():
    # lam = 0, d < n: variance sigma2 d/(n-d) whatever the spectrum; the bias vanishes
    eigs = ridge.power_law(200, 1.2)
    sol = ridge.spectrum_risk(eigs, ridge.power_law(200, 0.5), n=500, lam=0.0, sigma2=2.0)
    assert sol.bias == 0.0
    assert sol.variance == pytest.approx(2.0 * 200 / 300, rel=1e-12)
    peak = ridge.spectrum_risk(eigs, np.ones(200), n=200, lam=0.0)
    assert peak.risk == np.inf


def test_spectrum_zero_eigenvalues_are_dropped():
    a = ridge.spectrum_risk([2.0, 1.0, 0.0, 0.5], [1.0, 0.5, 3.0, 0.2], n=3, lam=0.1)
    b = ridge.spectrum_risk([2.0, 1.0, 0.5], [1.0, 0.5, 0.2], n=3, lam=0.1)
    assert a.risk == b.risk


def test_spectral_laws():
    e = ridge.marchenko_pastur(4000, 0.5)
    assert e.mean() == pytest.approx(1.0, abs=2e-3)
    assert e.var() == pytest.approx(0.5, abs=5e-3)  # variance of MP(c) = c
    assert ridge.spiked(5, [4.0], bulk=0.5).tolist() == [4.0, 0.5, 0.5, 0.5, 0.5]
    assert ridge.power_law(4, 2.0)[-1] == 1 / 16


@pytest.mark.parametrize("call,match", [
    (lambda: ridge.risk(0.0, 0.1), "gamma must be > 0"),
    (lambda: ridge.risk(-1.0, 0.1), "gamma must be > 0"),
    (lambda: ridge.risk(1.0, -0.1), "lam must be >= 0"),
    (lambda: ridge.risk(1.0, np.nan), "lam must not be NaN"),
    (lambda: ridge.risk(1.0, 0.1, sigma2=-1), "sigma2 must be >= 0"),
    (lambda: ridge.spectrum_risk([1.0, -1.0], [1.0, 1.0], 10), "eigs must be >= 0"),
    (lambda: ridge.spectrum_risk([1.0, 2.0], [1.0], 10), "same length"),
    (lambda: ridge.spectrum_risk([0.0, 0.0], [1.0, 1.0], 10), "positive eigenvalue"),
    (lambda: ridge.spectrum_risk([1.0], [1.0], 0), "n must be > 0"),
    (lambda: ridge.risk([1.0, 2.0], [0.1, 0.2, 0.3]), "do not broadcast"),
])
def test_bad_input_raises_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_non_convergence_is_reported_not_returned():
    from asymptotics.engine import solve
    p = dict(gamma=[0.5, 2.0], lam=[0.1, 0.1], r2=1.0, sigma2=1.0)
    with pytest.raises(ConvergenceError, match="not found at 2 of 2"):
        solve(ridge.RIDGE, p, max_iter=0, resolve=False)
    sol = solve(ridge.RIDGE, p, max_iter=0, errors="mask", resolve=False)
    assert np.ma.getmaskarray(sol.risk).all()
    assert not sol.converged.any()
    assert sol.status.tolist() == ["did not converge"] * 2
    assert [r["risk"] for r in sol.records()] == [None, None]
    # with the automatic re-solve, mpmath rescues them (and says so)
    sol = solve(ridge.RIDGE, p, max_iter=0)
    assert sol.converged.all() and all(s.startswith("re-solved at") for s in sol.status)
    np.testing.assert_allclose(sol.risk, ridge.risk(p["gamma"], 0.1).risk, rtol=1e-15)


positive = st.floats(0.05, 20.0)


@settings(max_examples=60, deadline=None)
@given(g=positive, l=st.floats(1e-6, 50.0), r2=st.floats(0.0, 10.0), s2=st.floats(0.0, 10.0))
def test_risk_finite_nonnegative_and_kappa_at_least_lam(g, l, r2, s2):
    sol = ridge.risk(g, l, r2, s2)
    assert np.isfinite(sol.risk) and sol.risk >= 0
    assert sol.bias >= 0 and sol.variance >= 0
    assert sol.kappa >= l * (1 - 1e-12)
    assert sol.risk_total == pytest.approx(sol.risk + s2)


@settings(max_examples=40, deadline=None)
@given(g=positive, l=st.floats(0.0, 10.0), s2=st.floats(0.0, 5.0), ds=st.floats(1e-3, 5.0))
def test_risk_increasing_in_noise(g, l, s2, ds):
    if l == 0.0 and abs(g - 1) < 1e-9:
        return
    a, b = ridge.risk(g, l, 1.0, [s2, s2 + ds]).risk
    assert b > a or (g > 1e6)


@settings(max_examples=40, deadline=None)
@given(g=st.floats(0.05, 20.0).filter(lambda g: abs(g - 1) > 0.05), r2=st.floats(0.1, 5), s2=st.floats(0.1, 5))
def test_ridgeless_limit_is_approached(g, r2, s2):
    lams = np.array([1e-4, 1e-6, 1e-8])
    err = np.abs(ridge.risk(g, lams, r2, s2).risk - ridge.ridgeless_risk(g, r2, s2))
    assert err[-1] <= 1e-5 * ridge.ridgeless_risk(g, r2, s2)
    assert err[-1] <= err[0]


@settings(max_examples=30, deadline=None)
@given(eigs=st.lists(st.floats(1e-3, 10.0), min_size=1, max_size=30),
       n=st.floats(1.0, 100.0), l=st.floats(1e-4, 10.0))
def test_spectrum_properties(eigs, n, l):
    e = np.array(eigs)
    sol = ridge.spectrum_risk(e, np.ones_like(e), n, l, sigma2=1.0)
    assert np.isfinite(sol.risk) and sol.risk >= 0 and sol.kappa >= l * (1 - 1e-12)
    # the fixed-point equation holds at the returned kappa
    k = sol.kappa
    assert k - l == pytest.approx(k / n * np.sum(e / (e + k)), rel=1e-10, abs=1e-14)


@pytest.mark.parametrize("lam", [1e-8, 1e-14, 1e-20])
def test_accuracy_at_the_threshold_with_tiny_ridge(lam):
    # at gamma = 1 the naive 1 - gamma/(1+kappa)^2 cancels; the model is written so that it does not
    sol = ridge.risk(1.0, lam, r2=1.0, sigma2=1.0)
    bias, var = ridge.mp_closed_form(1.0, lam, 1.0, 1.0, precision=40)
    assert sol.variance == pytest.approx(float(var), rel=1e-12)
    assert sol.bias == pytest.approx(float(bias), rel=1e-12)


# ---------------------------------------------------------------- regressions from the review
def test_huge_ridge_is_solved_and_tends_to_r2():
    sol = ridge.risk(2.0, np.geomspace(1e6, 1e12, 25), r2=1.0, sigma2=1.0)
    assert sol.converged.all()
    np.testing.assert_allclose(sol.risk, 1.0, rtol=1e-5)
    assert np.all(np.diff(sol.risk) > 0)  # more shrinkage, closer to r2 from below


def test_noiseless_interpolation_threshold_is_zero_not_inf():
    sol = ridge.risk(1.0, 0.0, r2=1.0, sigma2=0.0)
    assert sol.risk == 0.0 and sol.variance == 0.0
    assert ridge.spectrum_risk([1.0, 1.0], [1.0, 1.0], 2, 0.0, 0.0).risk == 0.0


def test_domains_are_validated():
    for kw, msg in [(dict(precision=-5), "precision"), (dict(precision=3), "precision"),
                    (dict(tol=-1.0), "tol")]:
        with pytest.raises(ValueError, match=msg):
            ridge.risk(2.0, 0.1, **kw)
    with pytest.raises(ValueError, match="lam must be >= 0 and <= 1e"):
        ridge.risk(2.0, 1e200)
    with pytest.raises(ValueError, match="lam must be >= 1e-150"):
        ridge.mp_closed_form(2.0, 1e-300)


def test_optimal_risk_without_overflow():
    # sigma2 -> 0: lam* -> 0 and the optimum tends to the ridgeless bias r2 (1 - 1/gamma)
    assert ridge.optimal_risk(2.0, 1.0, 1e-320) == pytest.approx(0.5, rel=1e-12)


def test_ill_conditioned_spectrum():
    sol = ridge.spectrum_risk([1e-20, 1.0, 1.0], np.ones(3), 2, 0.0)
    assert sol.risk == pytest.approx(7071067812.0, rel=1e-9)
