"""Kernel ridge regression: the deterministic equivalent, the sphere spectrum and the polynomial limit.

Witnesses: (1) the identity with ridge regression on the expanded spectrum
(:func:`asymptotics.models.ridge.spectrum_risk`, eigenvalues repeated ``m_k`` times, ridge
``lam/n``); (2) the Marchenko-Pastur closed form of isotropic ridge for the degree-``l`` part of the
polynomial limit; (3) the finite-``d`` theory from the exact spectrum converging to the ``d -> oo``
limit at the predicted rates (``O(1/d)`` at an integer exponent, ``O(d^{-1/2})`` in between);
(4) a small Monte Carlo run (the acceptance grid is in ``test_kernel_ridge_mc.py``, marked slow).
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from asymptotics.curves import evaluate
from asymptotics.expansions.gegenbauer import multiplicity
from asymptotics.models import kernel_ridge as kr
from asymptotics.models import ridge
from theory_checks import kernel_ridge as sim


# ---------------------------------------------------------------------- the general spectrum
@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.floats(1e-3, 10.0), st.integers(1, 30), st.floats(0.0, 2.0)),
                min_size=1, max_size=5),
       st.floats(1.0, 200.0), st.floats(0.0, 5.0), st.floats(0.0, 2.0), st.floats(0.0, 1.0))
def test_identity_with_ridge_on_the_expanded_spectrum(blocks, n, lam, sigma2, tail):
    xi = np.array([b[0] for b in blocks])
    m = np.array([b[1] for b in blocks])
    v = np.array([b[2] for b in blocks])
    if lam + tail == 0 and n == m.sum():
        return
    k = kr.risk(xi, m, v, n, lam, sigma2, tail=tail)
    # ridge with covariance eigenvalues xi (repeated), beta2 per direction v/(m xi), penalty (lam+t)/n
    r = ridge.spectrum_risk(np.repeat(xi, m), np.repeat(v / (m * xi), m), n, (lam + tail) / n, sigma2)
    for name in ("risk", "bias", "variance", "kappa", "df1", "df2"):
        assert getattr(k, name) == pytest.approx(getattr(r, name), rel=1e-10, abs=1e-14), name


@settings(max_examples=25, deadline=None)
@given(st.floats(1.0, 500.0), st.floats(1e-6, 5.0), st.floats(0.0, 2.0), st.floats(0.0, 2.0))
def test_risk_finite_nonnegative_and_monotone_in_noise(n, lam, s1, s2):
    xi, m, v = [1.0, 0.05, 0.002], [1, 20, 210], [0.2, 1.0, 0.5]
    lo, hi = sorted((s1, s2))
    a, b = kr.risk(xi, m, v, n, lam, lo), kr.risk(xi, m, v, n, lam, hi)
    assert np.isfinite(a.risk) and a.risk >= 0 and a.bias >= 0 and a.variance >= 0
    assert b.risk >= a.risk - 1e-12 * abs(a.risk)
    L = kr.learned_fraction(a.kappa, xi)
    assert ((L >= 0) & (L <= 1)).all()
    assert float(np.sum(np.array(m) * L)) == pytest.approx(a.df1, rel=1e-12)


def test_finite_rank_interpolation_peak_is_inf_and_zero_noise_is_finite():
    assert kr.risk([1.0, 0.5], [2, 3], [1.0, 1.0], 5, 0.0, sigma2=0.3).risk == np.inf
    sol = kr.risk([1.0, 0.5], [2, 3], [1.0, 1.0], 5, 0.0, sigma2=0.0)
    assert sol.risk == 0.0
    # more samples than the rank, ridgeless: kappa = 0, variance sigma2 rank/(n - rank)
    sol = kr.risk([1.0, 0.5], [2, 3], [1.0, 1.0], 10, 0.0, sigma2=0.3)
    assert sol.kappa == 0.0 and sol.variance == pytest.approx(0.3 * 5 / 5, rel=1e-12)


def test_unlearnable_energy_acts_as_noise():
    # energy where xi = 0 is never learned and inflates with E0 = 1/(1 - df2/n), like noise
    with_null = kr.risk([1.0, 0.0], [5, 3], [0.0, 0.4], 12, 0.0, sigma2=0.0)
    noise = kr.risk([1.0], [5], [0.0], 12, 0.0, sigma2=0.4)
    assert with_null.risk == pytest.approx(noise.variance + 0.4, rel=1e-12)


@pytest.mark.parametrize("kwargs, match", [
    (dict(eigs=[1.0, -0.1], mult=[1, 2], energy=[1.0], n=10), "eigs"),
    (dict(eigs=[1.0], mult=[0], energy=[1.0], n=10), "mult"),
    (dict(eigs=[1.0], mult=[1], energy=[1.0, 2.0], n=10), "energy"),
    (dict(eigs=[1.0], mult=[1], energy=[1.0], n=0), "n"),
    (dict(eigs=[1.0], mult=[1], energy=[1.0], n=5, lam=-1), "lam"),
    (dict(eigs=[0.0], mult=[1], energy=[1.0], n=5), "positive eigenvalue"),
])
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        kr.risk(**kwargs)


# ---------------------------------------------------------------------- the sphere
def test_sphere_spectrum_of_a_polynomial_kernel_is_exact_and_has_no_tail():
    s = kr.sphere_spectrum("poly:1,1,1", 10)
    assert s.tail == 0.0 and s.tail_bound == 0.0
    assert (s.eigs[3:] == 0).all()
    # h(s) = 1 + s + s^2: xi_0 = 1 + E s^2 = 1 + 1/d; B(d,1) xi_1 = 1; trace = h(1) = 3
    assert s.eigs[0] == pytest.approx(1.1, rel=1e-14)
    assert s.mult[1] * s.eigs[1] == pytest.approx(1.0, rel=1e-14)
    assert float(np.sum(s.mult * s.eigs)) == pytest.approx(3.0, rel=1e-14)


def test_tail_counted_as_ridge_is_accurate():
    # keeping 4 more degrees exactly (30-digit quadrature) changes the risk by less than the bound
    n = np.array([50.0, 400.0, 800.0])
    a, sa = kr.sphere_risk("relu-nngp", 20, n, 1e-6, 0.1, energy=[0, 1, 1], kmax=8)
    b, _ = kr.sphere_risk("relu-nngp", 20, n, 1e-6, 0.1, energy=[0, 1, 1], kmax=12, precision=30)
    rel = np.abs(a.risk - np.array(b.risk, dtype=float)) / a.risk
    assert (rel <= sa.tail_bound).all()
    assert rel.max() < 1e-6


@pytest.mark.parametrize("kernel, d, match", [
    ("poly:1,-1", 5, "not positive semi-definite"),
    ("exp", 1, "d must be"),
    ("nope", 5, "kernel must be"),
])
def test_sphere_bad_input(kernel, d, match):
    with pytest.raises(ValueError, match=match):
        kr.sphere_spectrum(kernel, d)


# ---------------------------------------------------------------------- the polynomial limit
def test_limit_degree_part_is_marchenko_pastur_ridge():
    # relu-nngp Taylor coefficients a_0..a_2 = 1/(2 pi), 1/4, 1/(4 pi)
    a = np.array([1 / (2 * np.pi), 0.25, 1 / (4 * np.pi)])
    a_gt = 0.5 - a.sum()   # h(1) = 1/2
    for alpha in (0.2, 0.5, 1.0, 3.0):
        sol = kr.polynomial_risk("relu-nngp", [0, 1, 0.7], alpha, 2, lam=1e-2, sigma2=0.3)
        gamma = 1 / (2 * alpha)
        lam_r = gamma * (1e-2 + a_gt) / a[2]
        bias, var = ridge.mp_closed_form(gamma, lam_r, r2=0.7, sigma2=0.3)
        assert sol.risk == pytest.approx(bias + var, rel=1e-11)
        assert sol.bias == pytest.approx(bias, rel=1e-11)
        assert sol.lam_ridge == pytest.approx(lam_r, rel=1e-14)


def test_limit_non_integer_exponent_is_a_staircase():
    e = np.array([0.3, 0.7, 1.2, 1.9, 2.5, 3.4])
    sol = kr.polynomial_risk("exp", [0.5, 1, 1, 1], 1.0, e)
    np.testing.assert_array_equal(sol.risk, [3.0, 3.0, 2.0, 2.0, 1.0, 0.0])
    assert (sol.variance == 0).all()


def test_limit_peak_at_alpha_l_factorial_one():
    # degree-2 polynomial kernel: no tail, so at lam = 0 the risk diverges at n = B(d,2) ~ d^2/2
    assert kr.polynomial_risk("poly:0,0,1", [0, 0, 1], 0.5, 2, sigma2=0.1).risk == np.inf
    r = kr.polynomial_risk("poly:0,0,1", [0, 0, 1], [0.4, 0.45, 0.55, 0.6], 2, sigma2=0.1).risk
    assert r[1] > r[0] and r[2] > r[3]


@pytest.mark.parametrize("exponent, alpha", [(2.0, 1.0), (2.0, 0.3)])
def test_finite_d_converges_to_the_limit_at_rate_one_over_d(exponent, alpha):
    lim = kr.polynomial_risk("relu-nngp", [0, 1, 1], alpha, exponent, lam=1e-3, sigma2=0.1).risk
    err = []
    for d in (50, 100, 200, 400):
        sol, _ = kr.sphere_risk("relu-nngp", d, alpha * d ** exponent, 1e-3, 0.1, energy=[0, 1, 1])
        err.append(sol.risk - lim)
    ratios = np.array(err[:-1]) / np.array(err[1:])
    assert ((ratios > 1.7) & (ratios < 2.3)).all(), ratios   # O(1/d): halves as d doubles
    assert abs(err[-1]) < 0.1 * lim


def test_finite_d_converges_between_integers_at_rate_sqrt_d():
    # exponent 1.5: degree 1 learned, degree 2 not (n/B(d,2) = 2/sqrt(d) -> 0)
    err = [1.0 - kr.sphere_risk("relu-nngp", d, d ** 1.5, 1e-3, 0.1, energy=[0, 1, 1])[0].risk
           for d in (100, 400, 1600)]
    assert err[0] > err[1] > err[2] > 0
    slope = np.polyfit(np.log([100, 400, 1600]), np.log(err), 1)[0]
    assert -0.65 < slope < -0.35


def test_limit_bad_input():
    with pytest.raises(ValueError, match="alpha"):
        kr.polynomial_risk("exp", [0, 1], 0.0, 1)
    with pytest.raises(ValueError, match="exponent must be > 0"):
        kr.polynomial_risk("exp", [1, 1], 2.0, 0)   # n = alpha fixed: outside the theorem
    with pytest.raises(ValueError, match="a_3 = 0"):
        kr.polynomial_risk("relu-nngp", [0, 1, 1, 1], 1.0, 3.5)


# ---------------------------------------------------------------------- command line and MC
def test_registry_records_have_learned_fractions():
    recs, meta = evaluate("kernel-ridge", d=20, n=[40, 400], lam=1e-3, energy="0,1,1")
    assert [k for k in recs[0] if k.startswith("learned_")] == ["learned_0", "learned_1", "learned_2"]
    assert recs[1]["learned_2"] > recs[0]["learned_2"]
    assert recs[0]["kernel"] == "exp"
    with pytest.raises(ValueError, match="single integer"):
        evaluate("kernel-ridge", d=[20, 30], n=40)


def test_small_monte_carlo_agrees():
    # n = 30 at d = 10: between the degree-1 and degree-2 thresholds (at n = 60 ~ 0.92 D_2(10) the
    # near-interpolation risk fluctuates so much that a cheap check resolves only a 40-90 % error)
    cs = sim.check("exp", 10, 30, [1e-6, 1e-2], energy=[0, 1, 1], sigma2=0.1, seeds=10, n_test=1000,
                   level=0.997)
    assert all(c.verdict == "agree" for c in cs), [c.to_record() for c in cs]
    assert max(c.resolution for c in cs) < 0.35, [c.resolution for c in cs]


def test_zonal_target_has_the_stated_energy():
    rng = np.random.default_rng(0)
    d = 8
    X = sim.sample_sphere(rng, 200_000, d)
    E = sim.sample_sphere(rng, 3, d)
    f = sim.zonal_target(X, E, np.array([0.0, 0.5, 2.0]))
    se = np.std(f ** 2) / np.sqrt(f.size)
    assert abs(np.mean(f ** 2) - 2.5) < 4 * se
    assert multiplicity(d, 2) == 35


def test_limit_kernel_given_by_name_callable_or_taylor_coefficients():
    by_name = kr.polynomial_risk("exp", [0, 1, 1], 1.0, 2, lam=1e-3).risk
    assert kr.polynomial_risk(np.exp, [0, 1, 1], 1.0, 2, lam=1e-3).risk == pytest.approx(by_name, rel=1e-12)
    taylor = [1 / math.factorial(k) for k in range(30)]
    assert kr.polynomial_risk(taylor, [0, 1, 1], 1.0, 2, lam=1e-3).risk == pytest.approx(by_name, rel=1e-12)


# ---------------------------------------------------------------------- default truncation by trunc_tol (issue 12)
NS = [10.0, 100.0, 1e3, 1e4]


@pytest.mark.parametrize("kernel,d", [("exp", 3), ("exp", 20), ("relu-nngp", 10), ("relu-nngp", 20), ("relu-nngp", 50)])
def test_default_truncation_is_within_trunc_tol_of_the_converged_risk(kernel, d):
    sol, spec = kr.sphere_risk(kernel, d, NS, 1e-3, 0.1, energy=[0, 1, 1])
    assert spec.truncation_error <= 1e-12
    big = min(1996, 4 * spec.kmax + 40)
    conv, cs = kr.sphere_risk(kernel, d, NS, 1e-3, 0.1, energy=[0, 1, 1], kmax=big)
    assert cs.truncation_error < 1e-14
    rel = np.abs(sol.risk / conv.risk - 1)
    assert rel.max() <= 1e-12, rel
    # the estimate is not vacuous: a smaller kmax is reported as worse, and is worse
    low, ls = kr.sphere_risk(kernel, d, NS, 1e-3, 0.1, energy=[0, 1, 1], kmax=max(2, spec.kmax // 2))
    assert ls.truncation_error > 1e-12 and np.abs(low.risk / conv.risk - 1).max() > 1e-13


def test_trunc_tol_keyword_and_caps():
    a, sa = kr.sphere_risk("relu-nngp", 10, NS, 1e-3, 0.1, energy=[0, 1, 1], trunc_tol=1e-6)
    b, sb = kr.sphere_risk("relu-nngp", 10, NS, 1e-3, 0.1, energy=[0, 1, 1])
    assert sa.kmax < sb.kmax and sa.truncation_error <= 1e-6
    assert np.abs(a.risk / b.risk - 1).max() <= 1e-6
    # beyond the degree cap relu-nngp's power-law tail is summed as a quadrature over the degree: the
    # point is answered (it was refused), with a certified truncation error (test below checks the digits)
    sol, spec = kr.sphere_risk("relu-nngp", 2, 1e6, 1e-3, 0.1, energy=[0, 1, 1])
    assert spec.tail_nodes > 0 and spec.truncation_error <= 1e-12 and np.isfinite(sol.risk)
    with pytest.raises(ValueError, match="trunc_tol must be"):
        kr.sphere_risk("exp", 5, 10.0, trunc_tol=0.0)
    with pytest.raises(ValueError, match="pass a larger trunc_tol"):
        kr.sphere_spectrum("relu-nngp", 3)                    # n_max = 1e6 at d = 3


def _relu_nngp_circle_reference(K, n, lam, sigma2):
    """relu-nngp on the circle (d = 2) listed degree by degree up to K: xi_k = 2/(pi^2 (k^2 - 1)^2) for even
    k (k = 0 included), xi_1 = 1/8, B(2, k) = 2 (k >= 1) -- the Fourier series of the arc-cosine kernel
    h(cos t) = (sin t + (pi - t) cos t)/(2 pi), checked against mpmath quadrature below -- and the trace
    beyond K (an mpmath sum) counted as ridge."""
    import mpmath
    k = np.arange(2, K + 1, 2, dtype=float)
    xi = np.concatenate([[2 / np.pi ** 2, 1 / 8], 2 / (np.pi ** 2 * (k * k - 1) ** 2)])
    m = np.concatenate([[1.0, 2.0], np.full(k.size, 2.0)])
    with mpmath.workdps(30):
        tail = float(mpmath.nsum(lambda j: 4 / (mpmath.pi ** 2 * ((2 * j) ** 2 - 1) ** 2), [K // 2 + 1, mpmath.inf]))
    return kr.risk(xi, m, [0, 1, 1], n, lam, sigma2, tail=tail)


def test_relu_nngp_beyond_the_degree_cap_against_the_circle_closed_form():
    """Issue 12 fuzz: relu-nngp at small d and huge n was refused ("kmax is capped at 1996"). It is now
    answered through the degree quadrature of the power-law tail; the digits are checked against the
    closed-form Fourier coefficients on the circle summed directly over 4e5 (2e6) degrees."""
    import mpmath
    with mpmath.workdps(30):   # the closed form itself, against quadrature of h(cos t) cos(k t) / pi
        h = lambda t: (mpmath.sin(t) + (mpmath.pi - t) * mpmath.cos(t)) / (2 * mpmath.pi)
        for kk, want in [(0, 2 / mpmath.pi ** 2), (1, mpmath.mpf(1) / 8), (3, 0), (4, 2 / (mpmath.pi ** 2 * 225))]:
            got = mpmath.quad(lambda t: h(t) * mpmath.cos(kk * t), [0, mpmath.pi]) / mpmath.pi
            assert abs(got - want) < 1e-25
    ns = np.array([1e4, 1e6, 1e8])
    sol, spec = kr.sphere_risk("relu-nngp", 2, ns, 1e-3, 0.1, energy=[0, 1, 1])
    assert spec.tail_nodes > 0 and spec.truncation_error <= 1e-12
    ref = _relu_nngp_circle_reference(400000, ns, 1e-3, 0.1)
    for o in ("risk", "bias", "variance"):
        np.testing.assert_allclose(getattr(sol, o), getattr(ref, o), rtol=1e-14, atol=0)
    # ridgeless and noiseless: the direct sum converges slowly (tail-as-ridge error ~ K^-3); the degree
    # quadrature's answer is the limit the direct sums approach
    sol0, spec0 = kr.sphere_risk("relu-nngp", 2, [1e3, 1e4], 0.0, 0.0, energy=[0, 1, 1])
    assert spec0.truncation_error <= 1e-12
    gaps = [np.abs(_relu_nngp_circle_reference(K, [1e3, 1e4], 0.0, 0.0).risk / sol0.risk - 1) for K in (400000, 2000000)]
    assert np.all(gaps[1] < gaps[0] / 20) and gaps[1].max() < 1e-9, gaps
    # the old route is worse and says so: the explicit cap kmax=1996 reports a truncation error > 1e-12
    # and is that far off
    capped, cs = kr.sphere_risk("relu-nngp", 2, ns, 1e-3, 0.1, energy=[0, 1, 1], kmax=1996)
    assert cs.truncation_error > 1e-12
    assert np.abs(capped.risk / ref.risk - 1).max() > 1e-13


def test_relu_nngp_on_the_circle_at_degree_52_is_fast_and_valid():
    """Issue 12: `--kernel relu-nngp --d 2 --kmax 52` advised a tolerance sphere_risk does not have and,
    at precision=30, took 41 s to claim the kernel is not positive semi-definite."""
    import time
    t = time.perf_counter()
    sol, spec = kr.sphere_risk("relu-nngp", 2, [10.0, 50.0], 1e-3, 0.1, energy=[0, 1, 1], kmax=52)
    sol30, spec30 = kr.sphere_risk("relu-nngp", 2, [10.0, 50.0], 1e-3, 0.1, energy=[0, 1, 1], kmax=52, precision=30)
    assert time.perf_counter() - t < 20
    assert np.all(spec.eigs >= 0) and np.all(np.isfinite(sol.risk))
    np.testing.assert_allclose(np.asarray(sol30.risk, dtype=float), sol.risk, rtol=1e-12)


def test_precision_passes_high_precision_eigenvalues_to_the_solver(monkeypatch):
    import mpmath
    seen = {}
    real_solve = kr.solve

    def spy(model, params, *, spectrum=None, **kw):
        seen["xi"] = spectrum["xi"]
        return real_solve(model, params, spectrum=spectrum, **kw)

    monkeypatch.setattr(kr, "solve", spy)
    sol, spec = kr.sphere_risk("exp", 5, 30.0, 1e-2, 0.1, energy=[0, 1, 1], kmax=8, precision=40)
    xi = seen["xi"]
    assert xi.dtype == object and all(isinstance(v, mpmath.mpf) for v in xi)
    assert abs(xi[8] / kr.sphere_spectrum("exp", 5, kmax=8, precision=40).mp_eigs[8] - 1) < mpmath.mpf(10) ** -38
    # the engine result agrees with the float64 solve
    ref, _ = kr.sphere_risk("exp", 5, 30.0, 1e-2, 0.1, energy=[0, 1, 1], kmax=8)
    assert abs(float(sol.risk) / float(ref.risk) - 1) < 1e-13


@pytest.mark.parametrize("exponent", [150, 160, 170, 171, 180, 199.5, 200])
def test_polynomial_risk_at_exponents_150_to_200(exponent):
    """`kernel-ridge-limit --exponent 171` overflowed (171! > float64 max); gamma = 1/(alpha l!) is now
    correctly rounded from mpmath, and the degree-l part agrees with isotropic ridge at that gamma."""
    import mpmath
    l = int(math.floor(exponent))
    a = [1.0] * 202                      # Taylor coefficients: a_k = 1, h(1) = 202
    v_up = 0.5 if l < 200 else 0.0
    energy = [0.0] * l + [1.0] + ([v_up] if l < 200 else [])
    alpha = 1e-300
    sol = kr.polynomial_risk(a, energy, alpha, exponent, lam=0.1, sigma2=0.2)
    assert np.isfinite(sol.risk) and sol.risk >= v_up
    if exponent != l:
        assert sol.risk == pytest.approx(v_up, rel=1e-15)   # degree l learned, degree l + 1 not
        return
    with mpmath.workdps(30):
        gamma = float(1 / (mpmath.mpf(alpha) * mpmath.factorial(l)))
    assert float(sol.params["gamma"]) == pytest.approx(gamma, rel=4e-16)
    a_tail = 202 - (l + 1)
    ref = ridge.risk(gamma, gamma * (0.1 + a_tail) / 1.0, r2=1.0, sigma2=0.2 + v_up).risk
    assert sol.risk == pytest.approx(v_up + ref, rel=1e-12, abs=1e-300)


# ---------------------------------------------------------------------- issue 12: extreme spectra
def _mp_reference(eigs, mult, energy, n, lam=0.0, sigma2=0.0, tail=0.0, dps=150):
    """An independent reference: ``kappa`` by bisection in ``log kappa`` of the decreasing function
    ``df1(kappa) + (lam + tail)/kappa - n`` (or ``kappa = 0`` when ``lam + tail = 0`` and ``n`` exceeds
    the rank), then the outputs in their plain textbook form, all at ``dps`` digits (mpmath has no
    underflow, and the digits cover the cancellation of ``1 - df2/n``)."""
    import mpmath
    with mpmath.workdps(dps):
        energy = list(energy) + [0.0] * (len(eigs) - len(energy))
        rows = [(mpmath.mpf(x), mpmath.mpf(m), mpmath.mpf(v)) for x, m, v in zip(eigs, mult, energy) if x > 0]
        v0 = mpmath.fsum(mpmath.mpf(v) for x, v in zip(eigs, energy) if x == 0)
        n, R, s2 = mpmath.mpf(n), mpmath.mpf(lam) + mpmath.mpf(tail), mpmath.mpf(sigma2)
        rank = mpmath.fsum(m for _, m, _ in rows)
        df1 = lambda k: mpmath.fsum(m * x / (x + k) for x, m, _ in rows)
        if R == 0 and n > rank:
            k = mpmath.mpf(0)
        else:
            assert not (R == 0 and n == rank)
            lo, hi = mpmath.mpf(-12000), mpmath.mpf(12000)      # log kappa
            for _ in range(400):
                mid = (lo + hi) / 2
                k = mpmath.exp(mid)
                if df1(k) + R / k - n > 0:
                    lo = mid
                else:
                    hi = mid
            k = mpmath.exp((lo + hi) / 2)
        d1 = df1(k)
        d2 = mpmath.fsum(m * x ** 2 / (x + k) ** 2 for x, m, _ in rows)
        D = 1 - d2 / n
        bias = (mpmath.fsum(v * k ** 2 / (x + k) ** 2 for x, _, v in rows) + v0) / D
        var = s2 * (d2 / n) / D
        return {"kappa": k, "df1": d1, "df2": d2, "bias": bias, "variance": var, "risk": bias + var,
                "risk_total": bias + var + s2}


def _assert_within_claim(sol, ref, names=("kappa", "df1", "df2", "bias", "variance", "risk", "risk_total")):
    """Each output within its own reported accuracy of the reference (relative to max(|ref|, 2^-1022),
    the documented floor) and within 1e-10."""
    import mpmath
    for name in names:
        got = float(np.asarray(sol.unknowns[name] if name == "kappa" else sol.outputs[name]).ravel()[0])
        want = ref[name]
        acc = float(np.asarray(sol.accuracy[name]).ravel()[0])
        err = float(abs(mpmath.mpf(got) - want) / max(abs(want), mpmath.mpf(2) ** -1022))
        assert err <= max(acc, 1e-300) and acc <= 1e-10, (name, got, float(want), err, acc)


@pytest.mark.parametrize("n", [2.0, 3.5, 5.0])
def test_ridgeless_with_a_tiny_eigenvalue_is_solved(n):
    """Issue 12: xi = [1, 1e-200], m = [1, 3] (rank 4), lam = 0: every n was masked 'non-physical
    branch' ((xi + kappa)^2 underflowed to 0 in df1 - df2). n = 5 > rank is kappa = 0 exactly."""
    sol = kr.risk([1.0, 1e-200], [1, 3], [1, 1], n, lam=0.0, sigma2=1.0, errors="mask")
    assert bool(sol.converged)
    ref = _mp_reference([1.0, 1e-200], [1, 3], [1, 1], n, sigma2=1.0)
    _assert_within_claim(sol, ref)
    want = {3.5: 7.63333333333333, 5.0: 4.0}.get(n)
    if want is not None:
        assert sol.risk == pytest.approx(want, rel=1e-14)
    if n == 5.0:
        assert sol.kappa == 0.0 and str(sol.status) == "ok"


def test_ridgeless_sweep_with_tiny_eigenvalues_loses_no_point():
    """Issue 12: xi = [1, 1e-8, 1e-200], m = [1, 3, 7] (rank 11) over 50 sample sizes (17 were lost);
    each point against the mpmath bisection, and the whole grid against ridge.spectrum_risk on the
    expanded spectrum (the exactly equivalent ridge problem, multiplicities repeated)."""
    xi, m, v = [1.0, 1e-8, 1e-200], [1, 3, 7], [0.5, 1.0, 0.25]
    ns = np.unique(np.concatenate([np.geomspace(0.3, 60.0, 46), [4.0, 10.999, 11.0, 11.001]]))
    sol = kr.risk(xi, m, v, ns, lam=0.0, sigma2=0.7, errors="mask")
    assert np.asarray(sol.converged).all(), sol.status[~np.asarray(sol.converged)]
    ridge_sol = ridge.spectrum_risk(np.repeat(xi, m), np.repeat(np.array(v) / (np.array(m) * xi), m), ns, 0.0,
                                    0.7, errors="mask")
    for i, nn in enumerate(ns):
        if nn == 11.0:
            assert sol.risk[i] == np.inf
            continue
        ref = _mp_reference(xi, m, v, nn, sigma2=0.7)
        _assert_within_claim(_one(sol, i), ref)
        for name in ("risk", "bias", "variance", "df1", "df2"):
            assert sol.outputs[name][i] == pytest.approx(ridge_sol.outputs[name][i], rel=1e-10, abs=1e-300), name


def _one(sol, i):
    """Point ``i`` of a 1-d Solution, as a Solution-like view for _assert_within_claim."""
    import types
    return types.SimpleNamespace(unknowns={k: np.asarray(v)[i] for k, v in sol.unknowns.items()},
                                 outputs={k: np.asarray(v)[i] for k, v in sol.outputs.items()},
                                 accuracy={k: np.asarray(v)[i] for k, v in sol.accuracy.items()})


_HUGE = dict(eigs=[1.1061822008088482e+86, 0.0, 3.364737189705447e-46, 4.600365172166875e+83],
             mult=[997838.0, 4.0, 94639.0, 11597.0],
             energy=[0.03933924068102038, 0.3979127835400459, 1.5847023055709673, 0.6289629713406277],
             n=1104074.0, lam=3.972867290785476e-167, tail=0.0)


@pytest.mark.parametrize("sigma2, precision", [(2.49, 40), (2.49, None), (0.0, None)])
def test_rank_equal_to_n_with_a_tiny_ridge_and_huge_eigenvalues(sigma2, precision):
    """Issue 12: n equal to the rank (1104074), lam = 4e-167, eigenvalues 1e86..3e-46: precision=40
    raised 'could not verify the fixed point' (the plain residual n kappa - lam - kappa df1 cancels
    64 digits: its verification was at the scale of n kappa, not of lam); double precision needed a
    re-solve at 120 digits. Written as kappa (n - m_> + delta) - lam, it is solved in double."""
    import mpmath
    sol = kr.risk(**_HUGE, sigma2=sigma2, precision=precision)
    ref = _mp_reference(**{k: v for k, v in _HUGE.items()}, sigma2=sigma2)
    if precision is None:
        assert str(sol.status) == "ok"
        _assert_within_claim(sol, ref)
    else:
        for name in ("risk", "bias", "variance", "kappa"):
            got = sol.unknowns[name] if name == "kappa" else sol.outputs[name]
            got = np.asarray(got).ravel()[0]
            assert abs(got / ref[name] - 1) < mpmath.mpf(10) ** -38, name


def test_tiny_n_huge_kappa_has_no_nan():
    """Fuzz seed 1 (issue 12): n = 4.9e-202, so kappa = 2.2e205 and (xi + kappa)^2 overflowed: 'an
    output is NaN at a solved point ... a bug'."""
    kw = dict(eigs=[1.0, 2.822472244500274e-05, 0.0, 7.966349570974414e-10, 2.7333121989692244e-11,
                    1.7379941911189674e-12],
              mult=[10611.0, 10.0, 133.0, 167284862337.0, 4996320905.0, 3542.0],
              energy=[2.318222327752581, 0.3845703124788098, 0.17785523990887347, 0.23967944331735705,
                      0.8816284644640651, 0.14470657435302842],
              n=4.926829754129963e-202, lam=4.2584049919322496e-08, tail=0.0, sigma2=0.0)
    sol = kr.risk(**kw)
    _assert_within_claim(sol, _mp_reference(**kw))


def test_just_above_the_rank_ridgeless_is_exact_in_double():
    """Fuzz seed 2 (issue 12): n = 11.000000011 > rank 11, lam = 0: kappa = 0 exactly (the ``exact``
    rule), 1 - df2/n = (n - 11)/n one exact difference; the variance 0.1 * 11/(n - 11) = 1e8 needs no
    re-solve, and risk_total is within its reported accuracy (it claimed 2.3e-17 with error 3.7e-17)."""
    kw = dict(eigs=[1.0, 0.1], mult=[1.0, 10.0], energy=[0.0, 1.0], n=11.000000011000001, lam=0.0, sigma2=0.1)
    sol = kr.risk(**kw)
    assert sol.kappa == 0.0 and str(sol.status) == "ok"
    _assert_within_claim(sol, _mp_reference(**kw))


def test_underflowing_bias_within_its_claimed_accuracy():
    """Issue 12 (low): the bias is 1.36e-322 (kappa = 8.4e-163): kappa^2 underflowed to 0 and the
    returned 0.0 was 6.1e-15 off relative to the 2^-1022 floor while claiming 5.8e-15; the summand is
    now v c^2 with c = kappa/(xi + kappa) computed directly."""
    kw = dict(eigs=[1.0, 0.1], mult=[1, 10], energy=[0, 1], n=22.865806538171054, lam=9.979773332789434e-162,
              sigma2=2.4762908806167445)
    sol = kr.risk(**kw)
    _assert_within_claim(sol, _mp_reference(**kw))
    assert sol.bias > 0


def test_accuracy_and_resolve_keywords():
    """kernel_ridge.risk takes accuracy= and resolve= like ridge.risk (passed to engine.solve)."""
    kw = dict(eigs=[1.0, 2.8e-05, 8e-10], mult=[10611.0, 10.0, 1.6e11], energy=[2.3, 0.4, 0.2],
              n=4.9e-202, lam=4.3e-08)
    # kappa ~ 2.6e205: double precision's Jacobian underflows, so the point needs a re-solve
    auto = kr.risk(**kw)
    assert str(auto.status).startswith("re-solved")
    off = kr.risk(**kw, resolve=False, errors="mask")
    assert not bool(off.converged) and "re-solve disabled" in str(off.status)
    with pytest.raises(Exception, match="re-solve disabled"):
        kr.risk(**kw, resolve=False)
    easy = dict(eigs=[1.0, 0.1], mult=[1, 10], energy=[0.0, 1.0], n=5.0, lam=1e-3, sigma2=0.1)
    sol = kr.risk(**easy, accuracy=1e-15, resolve=False, errors="mask")
    loose = kr.risk(**easy, accuracy=1e-12)
    assert float(loose.rel_accuracy) <= 1e-12
    if float(kr.risk(**easy).rel_accuracy) > 1e-15:
        assert not bool(sol.converged)
    with pytest.raises(ValueError, match="accuracy"):
        kr.risk(**easy, accuracy=2.0)
    with pytest.raises(ValueError, match="resolve"):
        kr.risk(**easy, resolve="no")


def test_kappa_beyond_1e300_is_solved_by_exact_rescaling():
    """Fuzz (issue 12, seed 7 of the scale witness): n = 3.8e-289 with trace 1e98 puts kappa at 2.5e386,
    beyond double precision: 'did not converge after 0 iterations, residual inf'. risk() now solves
    the exactly equivalent problem (2^-k xi, 2^-k lam, 2^-k tail); kappa itself is inf (it overflows)."""
    import mpmath
    kw = dict(eigs=[2.639733551090693e+40, 1.9228225166451412e+94, 4.6885568637346333e+36, 3.611313771678292e+49],
              mult=[37690032.0, 4972.0, 4462209.0, 219.0], energy=[0.7223781725461589, 1.2156129260705726],
              n=3.7542793512709807e-289, lam=0.0, tail=2.0357164773881396e+92, sigma2=0.5)
    sol = kr.risk(**kw)
    ref = _mp_reference(**kw)
    assert float(sol.kappa) == np.inf and ref["kappa"] > mpmath.mpf("1e386")
    _assert_within_claim(sol, ref, names=("df1", "df2", "bias", "variance", "risk", "risk_total"))
    assert float(sol.params["tail"]) == kw["tail"]
    # a grid whose every kappa is below 1e300 is not rescaled (results unchanged)
    small = kr.risk(**{**kw, "n": 1e-100})
    _assert_within_claim(small, _mp_reference(**{**kw, "n": 1e-100}))
    with pytest.raises(ValueError, match="n: .*rescal"):   # the scaling would underflow an eigenvalue
        kr.risk([1e300, 1e-300], [1, 1], [1, 1], n=1e-200, lam=0.0)


def test_subnormal_df2_is_accurate_or_flagged():
    """Fuzz (issue 12, n = 1000 run): df2 = 8.6e-309 (subnormal) was 2.7e-7 off relative to the 2^-1022
    floor while claiming 5e-15: m q^2 rounded q^2 into the subnormal range and then multiplied that
    error by m = 2.5e9, which the error bound (a relative bound plus one subnormal step per operation)
    did not see. The summand is now (m q) q: the factor in [0, 1] last."""
    kw = dict(eigs=[1.0, 6.484862219180096e-06, 5.984904762758654e-09, 4.2053438001749397e-11],
              mult=[425842.0, 2455211276.0, 2129800.0, 368983558.0], energy=[1.9351939598491057, 4.675751961668893],
              n=6.274960498131012e-152, lam=0.0, tail=145.5143208976723, sigma2=205.0578397120006)
    _assert_within_claim(kr.risk(**kw), _mp_reference(**kw))


def test_sphere_rel_accuracy_includes_the_truncation_error_grid_vs_point():
    """Issue 12, fuzz seed 1 (kernel-ridge-sphere): exp, d = 20, n = 329.2, lam = 0 in a (7, 3) grid picks
    kmax = 9, alone kmax = 7; the two risks are 4.9e-13 apart while the single call claimed 3.9e-14 (the
    solver's rounding only). rel_accuracy now adds the truncation estimate: each value is within its claim
    of the 30-digit re-solve of its own truncation, and the two within the sum of their claims."""
    import mpmath
    n = np.array([20.99999999989069, 329.2069838405848, 216.1550475397865, 1750.0, 12288.21499895938,
                  1749.9999999986728, 230.00000000000026])[:, None] * np.ones(3)
    lam = np.array([1.6780782629806215e-02, 0.0, 2.7623231064438396e-237, 0.0, 1.3517498286725763e-03,
                    1.5960005474522156e-12, 0.0])[:, None] * np.ones(3)
    s2 = np.array([[0.0, 5.2208343134907504e-03, 8.1620841929861937e-02],
                   [0.0, 7.2771134515976620e-03, 2.0545076880460598e+00],
                   [0.0, 1.4034399059515852e+01, 2.0522879768334736e+01],
                   [0.0, 7.9970036008985899e+00, 3.6360598180420752e+01],
                   [0.0, 3.6447843456521661e-02, 1.5732234518657137e-01],
                   [0.0, 9.2306032104328556e-03, 1.0356507269665762e+00],
                   [0.0, 1.9347630781650960e-01, 2.1966114759870020e+01]])
    e = [0.123353, 0.891709, 1.055355]
    grid, gspec = kr.sphere_risk("exp", 20, n, lam, s2, energy=e)
    one, ospec = kr.sphere_risk("exp", 20, n[1, 2], 0.0, s2[1, 2], energy=e)
    g, o = float(grid.risk[1, 2]), float(one.risk)
    ga, oa = float(grid.rel_accuracy[1, 2]), float(one.rel_accuracy)
    assert gspec.kmax != ospec.kmax                       # the setting of the issue: two truncations
    assert oa >= ospec.truncation_error and ga >= gspec.truncation_error
    assert abs(g - o) <= ga * abs(g) + oa * abs(o)        # failed before: 7.4e-13 > (5.0e-14 + 3.9e-14) * 1.5
    for val, acc, K in ((g, ga, gspec.kmax), (o, oa, ospec.kmax)):
        hp, _ = kr.sphere_risk("exp", 20, n[1, 2], 0.0, s2[1, 2], energy=e, kmax=K, precision=30)
        with mpmath.workdps(30):
            assert abs(mpmath.mpf(val) - hp.risk) <= acc * abs(val)
