"""Tests of asymptotics.expansions.gegenbauer and theory_checks.gegenbauer."""
import math
from dataclasses import FrozenInstanceError

import mpmath
import numpy as np
import pytest
import scipy.special
from hypothesis import given, settings
from hypothesis import strategies as st

from asymptotics.expansions.gegenbauer import (
    dual_kernel_limit, gauss_jacobi_nodes, gegenbauer, kernel_eigenvalues, limit_scaled_eigenvalues, multiplicity,
)
from theory_checks.gegenbauer import simulate_eigenvalue


# ---------------------------------------------------------------- multiplicities
def test_multiplicity_closed_forms():
    assert list(multiplicity(3, np.arange(10))) == [2 * k + 1 for k in range(10)]
    assert list(multiplicity(2, np.arange(6))) == [1, 2, 2, 2, 2, 2]
    for d in [2, 3, 4, 7, 50, 1000]:
        assert multiplicity(d, 0) == 1
        assert multiplicity(d, 1) == d
        assert multiplicity(d, 2) == (d + 2) * (d - 1) // 2
        for k in range(2, 12):  # B(d, k) = binom(d+k-1, k) - binom(d+k-3, k-2)
            assert multiplicity(d, k) == math.comb(d + k - 1, k) - math.comb(d + k - 3, k - 2)


def test_multiplicity_sum_is_dimension_of_polynomials_on_sphere():
    for d in [2, 3, 5, 10, 31]:
        for K in range(1, 15):
            total = sum(multiplicity(d, np.arange(K + 1)))
            assert total == math.comb(d + K - 1, K) + math.comb(d + K - 2, K - 1)


def test_multiplicity_exact_big_and_types():
    b = multiplicity(10 ** 6, 20)
    assert isinstance(b, int) and b > 10 ** 100
    assert multiplicity(5, np.array([[1, 2], [3, 4]])).shape == (2, 2)
    assert isinstance(multiplicity(5, 3.0), int)


# ---------------------------------------------------------------- Gegenbauer polynomials
@pytest.mark.parametrize("d", [3, 4, 5, 10, 101])
def test_gegenbauer_vs_scipy(d):
    k = np.arange(12)[:, None]
    t = np.linspace(-d, d, 41)[None, :]
    lam = d / 2 - 1
    ref = scipy.special.eval_gegenbauer(k, lam, t / d) / scipy.special.eval_gegenbauer(k, lam, 1.0)
    np.testing.assert_allclose(gegenbauer(k, t, d), ref, rtol=1e-12, atol=1e-13)


def test_gegenbauer_d2_chebyshev_and_normalization():
    t = np.linspace(-2, 2, 31)
    for k in range(15):
        np.testing.assert_allclose(gegenbauer(k, t, 2), scipy.special.eval_chebyt(k, t / 2), atol=1e-13)
    for d in [2, 3, 8, 1000]:
        np.testing.assert_allclose(gegenbauer(np.arange(30), d, d), 1.0, rtol=0, atol=1e-12)


def test_gegenbauer_broadcasting():
    out = gegenbauer(np.arange(4)[:, None, None], np.zeros((1, 5, 1)), np.array([2, 3, 7]))
    assert out.shape == (4, 5, 3)
    assert isinstance(gegenbauer(2, 0.5, 4), float)


@pytest.mark.parametrize("d", [2, 4, 7, 50])
def test_nodes_vs_scipy_roots_jacobi(d):
    s, w = gauss_jacobi_nodes(200, d)
    sr, wr = scipy.special.roots_jacobi(200, (d - 3) / 2, (d - 3) / 2)
    np.testing.assert_allclose(s, sr, rtol=0, atol=1e-14)
    np.testing.assert_allclose(w, wr / wr.sum(), rtol=0, atol=1e-15)


@pytest.mark.parametrize("d", [2, 3, 5, 20, 200])
def test_orthonormality_by_quadrature(d):
    kmax = 12
    a = (d - 3) / 2
    s, w = scipy.special.roots_jacobi(64, a, a)
    w = w / w.sum()
    Q = gegenbauer(np.arange(kmax + 1)[:, None], d * s[None, :], d)
    gram = (Q * w) @ Q.T
    B = np.array([float(b) for b in multiplicity(d, np.arange(kmax + 1))])
    np.testing.assert_allclose(gram * np.sqrt(np.outer(B, B)), np.eye(kmax + 1), rtol=0, atol=1e-12)


# ---------------------------------------------------------------- eigenvalues
@pytest.mark.parametrize("h,d,k", [("exp", 3, 0), ("exp", 3, 2), ("relu-nngp", 4, 2),
                                   ("relu-nngp", 10, 1), ("exp", 20, 3), ("poly:1,-1,0,2", 6, 3)])
def test_eigenvalues_vs_monte_carlo(h, d, k):
    xi = kernel_eigenvalues(h, d, k).eigenvalues[k]
    mean, se = simulate_eigenvalue(h, d, k, n_samples=100_000, seed=7)
    assert abs(mean - xi) < 4 * se


@pytest.mark.parametrize("h,d", [("exp", 2), ("exp", 3), ("relu-nngp", 3), ("relu-nngp", 7),
                                 ("relu-nngp", 500), (np.cos, 9)])
def test_eigenvalues_two_node_counts_and_mpmath(h, d):
    r = kernel_eigenvalues(h, d, 8)
    assert r.quadrature_error.max() < 1e-14
    fixed = kernel_eigenvalues(h, d, 8, nodes=1200)
    np.testing.assert_allclose(r.eigenvalues, fixed.eigenvalues, rtol=0, atol=1e-14)


def test_eigenvalues_mpmath_precision():
    r = kernel_eigenvalues("relu-nngp", 5, 4, method="quadrature")
    m = kernel_eigenvalues("relu-nngp", 5, 4, precision=20, method="quadrature")
    assert m.method == "mpmath" and m.quadrature_error.max() < 1e-18
    np.testing.assert_allclose(r.eigenvalues, m.eigenvalues, rtol=0, atol=1e-15)
    c = kernel_eigenvalues("relu-nngp", 5, 4, precision=20)
    assert c.method == "closed form" and len(c.mp_eigenvalues) == 5
    assert all(abs(a - b) < 1e-19 for a, b in zip(c.mp_eigenvalues, m.mp_eigenvalues))


@pytest.mark.parametrize("h", ["exp", "relu-nngp"])
def test_trace_check(h):
    rems = [kernel_eigenvalues(h, 5, K).trace_check for K in (2, 6, 12, 24)]
    # float64 round-off of B(d,k) xi_k grows like 1e-16 B(d,k)^(1/2) (B(5, 24) = 5525)
    assert all(r >= -1e-12 for r in rems)
    assert rems[:3] == sorted(rems[:3], reverse=True)  # decreasing to 0 (positive definite kernels)
    assert abs(rems[-1]) < (1e-12 if h == "exp" else 1e-4)
    r = kernel_eigenvalues(h, 5, 24)
    assert r.trace_sum + r.trace_check == pytest.approx(r.h_at_one, abs=1e-15)
    assert all(x >= -1e-15 for x in r.eigenvalues)  # Schoenberg: PD kernels have xi_k >= 0


@settings(max_examples=25, deadline=None)
@given(coeffs=st.lists(st.floats(-1, 1), min_size=1, max_size=5), d=st.integers(2, 60))
def test_polynomial_kernels_have_finite_spectrum(coeffs, d):
    deg = len(coeffs) - 1
    r = kernel_eigenvalues(lambda s: np.polynomial.polynomial.polyval(s, coeffs), d, deg + 4)
    assert np.max(np.abs(r.eigenvalues[deg + 1:])) < 1e-13
    # round-off of xi_k is ~1e-16 B(d,k)^(-1/2), so of B(d,k) xi_k ~1e-16 B(d,k)^(1/2)
    B = np.array([float(b) for b in r.multiplicities])
    assert abs(r.trace_check) < 1e-14 * (1 + np.sqrt(B).sum())


def test_result_is_frozen_and_read_only():
    r = kernel_eigenvalues("exp", 4, 3)
    with pytest.raises(FrozenInstanceError):
        r.d = 5
    with pytest.raises(ValueError):
        r.eigenvalues[0] = 1.0
    assert r.multiplicities == (1, 4, 9, 16) and r.method == "taylor"
    assert kernel_eigenvalues("exp", 4, 3, method="quadrature").method == "gauss-jacobi"


# ---------------------------------------------------------------- d -> oo limit
def test_limit_taylor_route_matches_hermite_route():
    """Compared: the Taylor coefficients of the arc-cosine kernel (exact series, and the Cauchy
    integral of its complex-analytic formula) vs c_k^2 from hermite_coefficients('relu')."""
    K = 30
    hermite = dual_kernel_limit("relu", K)
    np.testing.assert_allclose(limit_scaled_eigenvalues("relu-nngp", K), hermite, rtol=0, atol=1e-15)

    def k1(s):  # complex-capable arc-cosine kernel
        return (np.sqrt(1 - s * s) + s * (np.pi / 2 + np.arcsin(s))) / (2 * np.pi)
    np.testing.assert_allclose(limit_scaled_eigenvalues(k1, K, radius=0.9), hermite, rtol=0, atol=1e-10)
    np.testing.assert_allclose(limit_scaled_eigenvalues(k1, K), hermite, rtol=0, atol=1e-10)
    np.testing.assert_allclose(limit_scaled_eigenvalues(np.exp, 10),
                               [1 / math.factorial(k) for k in range(11)], rtol=0, atol=1e-13)
    assert list(limit_scaled_eigenvalues([1, 2], 3)) == [1, 2, 0, 0]


@pytest.mark.parametrize("h,limit", [("exp", limit_scaled_eigenvalues("exp", 5)),
                                     ("relu-nngp", dual_kernel_limit("relu", 5))])
def test_finite_d_converges_at_rate_one_over_d(h, limit):
    ds = [100, 200, 400]
    errs = np.array([kernel_eigenvalues(h, d, 5).scaled - limit for d in ds])
    for k in range(6):
        e = np.abs(errs[:, k])
        if e[0] < 1e-9:        # exact at every d (e.g. the odd part of relu-nngp is s/4)
            assert e.max() < 1e-9
            continue
        ratios = e[:-1] / e[1:]
        assert np.all((ratios > 1.8) & (ratios < 2.2)), (k, ratios)


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("call", [
    lambda: multiplicity(1, 2), lambda: multiplicity(3, -1), lambda: multiplicity(3, 1.5),
    lambda: gegenbauer(-1, 0.0, 3), lambda: gegenbauer(2, 0.0, 1), lambda: gegenbauer(2, np.nan, 3),
    lambda: kernel_eigenvalues("exp", 1, 3), lambda: kernel_eigenvalues("exp", 3, -1),
    lambda: kernel_eigenvalues(42, 3, 3), lambda: kernel_eigenvalues("nope", 3, 3),
    lambda: kernel_eigenvalues("poly:a,b", 3, 3), lambda: kernel_eigenvalues(lambda s: s / 0.0, 3, 3),
    lambda: kernel_eigenvalues("exp", 3, 3, precision=3), lambda: limit_scaled_eigenvalues(object(), 3),
    lambda: limit_scaled_eigenvalues("exp", -2), lambda: simulate_eigenvalue("exp", 3, -1),
    lambda: simulate_eigenvalue(None, 3, 1),
])
def test_bad_input_raises_value_error(call):
    with pytest.raises(ValueError):
        call()


# ---------------------------------------------------------------- exact routes vs 50-digit references
def _theta_reference(hmp, d, K, dps=60, degree=7):
    """``E[h(s) P_k(s)]``, k = 0..K, by Gauss-Legendre in theta (s = cos theta) at ``dps`` digits:
    ``h(cos t) P_k(cos t) sin(t)^(d-2)`` is entire in ``t`` for relu-nngp and polynomials, so the
    rule converges geometrically (96 nodes agree with 192 to ~1e-70 at d = 5; 192 are used)."""
    from mpmath.calculus.quadrature import GaussLegendre
    with mpmath.workdps(dps + 10):
        g = GaussLegendre(mpmath.mp)
        nodes = g.transform_nodes(g.calc_nodes(degree, mpmath.mp.prec), mpmath.mpf(0), +mpmath.pi)
        acc, Z = [mpmath.mpf(0)] * (K + 1), mpmath.mpf(0)
        for t, w in nodes:
            s = mpmath.cos(t)
            wt = w * mpmath.sin(t) ** (d - 2)
            hv = hmp(s) * wt
            Z += wt
            p0, p1 = mpmath.mpf(1), s
            acc[0] += hv
            acc[1] += hv * s
            for k in range(1, K):
                p0, p1 = p1, ((2 * k + d - 2) * s * p1 - k * p0) / (k + d - 2)
                acc[k + 1] += hv * p1
        return [a / Z for a in acc]


def _exp_reference(d, K):
    """Funk-Hecke for e^s: E[e^s P_k(s)] = Gamma(d/2) 2^(d/2-1) I_(k+d/2-1)(1) (modified Bessel)."""
    with mpmath.workdps(60):
        lam = mpmath.mpf(d) / 2 - 1
        return [mpmath.gamma(lam + 1) * mpmath.mpf(2) ** lam * mpmath.besseli(k + lam, 1) for k in range(K + 1)]


def _check_against(r, ref, rel):
    for k, (v, b, w) in enumerate(zip(r.eigenvalues, r.quadrature_error, ref)):
        err = abs(mpmath.mpf(float(v)) - w)
        assert err <= b + mpmath.mpf(10) ** -52, (r.kernel, r.d, k, float(err), b)   # within the bound
        assert err <= rel * abs(w) + mpmath.mpf(10) ** -52, (r.kernel, r.d, k, float(err / abs(w)))


@pytest.mark.parametrize("d", [2, 3, 5, 20, 1000])
def test_exp_eigenvalues_degrees_0_to_30_vs_bessel(d):
    r = kernel_eigenvalues("exp", d, 30)
    assert r.method == "taylor"
    ref = _exp_reference(d, 30)
    _check_against(r, ref, 2e-15)
    # the same test rejects the former route (Gauss-Jacobi in float64): cancellation at degree >= 8
    old = kernel_eigenvalues("exp", d, 30, method="quadrature")
    assert abs(old.eigenvalues[20] / float(ref[20]) - 1) > 1e-3
    # precision=: the mp values to 40 digits
    m = kernel_eigenvalues("exp", d, 30, precision=40)
    assert all(abs(a / b - 1) < mpmath.mpf(10) ** -38 for a, b in zip(m.mp_eigenvalues, ref))


@pytest.mark.parametrize("d", [2, 3, 7, 40])
def test_relu_nngp_and_poly_eigenvalues_vs_50_digit_quadrature(d):
    from asymptotics.expansions.gegenbauer import _relu_nngp_mp
    r = kernel_eigenvalues("relu-nngp", d, 30)
    assert r.method == "closed form"
    ref = _theta_reference(_relu_nngp_mp, d, 30)
    _check_against(r, ref, 2e-16)
    m = kernel_eigenvalues("relu-nngp", d, 30, precision=40)
    assert all(abs(a - b) <= mpmath.mpf(10) ** -38 * abs(b) + mpmath.mpf(10) ** -52
               for a, b in zip(m.mp_eigenvalues, ref))
    c = [0.3, -1.0, 0.5, 0.0, 2.0, 0.0, -0.25]
    p = kernel_eigenvalues("poly:" + ",".join(map(str, c)), d, 30)
    pref = _theta_reference(lambda s: mpmath.polyval(c[::-1], s), d, 30)
    _check_against(p, pref, 1e-15)
    assert np.all(p.eigenvalues[7:] == 0.0)


def test_relu_nngp_degree_52_on_the_circle_is_fast_and_nonnegative():
    """Issue 12: d = 2, kmax = 52 was declared 'not positive semi-definite' (a quadrature error of the
    degree-52 eigenvalue); the closed form is >= 0 at every degree and takes milliseconds."""
    import time
    t = time.perf_counter()
    r = kernel_eigenvalues("relu-nngp", 2, 52, precision=30)
    assert time.perf_counter() - t < 5
    assert np.all(r.eigenvalues >= 0) and r.eigenvalues[52] > 0
    # on the circle: xi_k = (1/pi) int_0^pi h(cos t) cos(k t) dt; its k^-4 decay
    assert 0.5 < r.eigenvalues[52] * 52 ** 4 / (r.eigenvalues[50] * 50 ** 4) < 2


def test_mpmath_quadrature_of_a_callable_matches_the_closed_form_on_the_circle():
    """The mpmath route for callables: one vector tanh-sinh quadrature in theta (it took 41 s, and lost
    10 digits at d = 2 to the endpoint singularity of (1 - s^2)^(-1/2))."""
    import time
    from asymptotics.expansions.gegenbauer import _Kernel, _relu_nngp, _relu_nngp_mp
    k = _Kernel("relu-callable", _relu_nngp, _relu_nngp_mp, None)
    t = time.perf_counter()
    m = kernel_eigenvalues(k, 2, 52, precision=30)
    assert time.perf_counter() - t < 30 and m.method == "mpmath"
    c = kernel_eigenvalues("relu-nngp", 2, 52, precision=30)
    assert max(abs(a - b) for a, b in zip(m.mp_eigenvalues, c.mp_eigenvalues)) < mpmath.mpf(10) ** -30
