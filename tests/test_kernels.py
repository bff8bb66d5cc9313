"""Dual kernels, their derivatives and the NTK: series vs closed forms, bounds, Monte Carlo."""
from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest

from asymptotics.activations import get_activation
from asymptotics.kernels import (
    NTKParts, arccos_kernel, dual_kernel, dual_kernel_derivative, erf_kernel, ntk, sign_kernel,
)
from theory_checks.kernels import simulate_derivative_kernel, simulate_dual_kernel, simulate_ntk

GRID = np.concatenate([[-1.0], np.linspace(-0.99, 0.99, 67), [-0.5, 0.0, 0.5], [1.0]])


def abs_kernel(rho):
    """E|u||v| = (2/pi)(sqrt(1 - rho^2) + rho arcsin rho): |x| = relu(x) + relu(-x) and Cho-Saul."""
    return 2 / np.pi * (np.sqrt(1 - rho ** 2) + rho * np.arcsin(rho))


CLOSED = {
    "relu": lambda r: arccos_kernel(1, r),
    "step": lambda r: arccos_kernel(0, r),
    "relu_p": lambda r: arccos_kernel(2, r),
    "sign": sign_kernel,
    "erf": erf_kernel,
    "abs": abs_kernel,
    "exp": lambda r: np.exp(1 + r),                      # E e^{u+v} = e^{(2 + 2 rho)/2}
    "sin": lambda r: np.exp(-1) * np.sinh(r),            # E sin u sin v = e^{-1} sinh(rho)
    "cos": lambda r: np.exp(-1) * np.cosh(r),
    "identity": lambda r: r,
    "quad": lambda r: 1 + 2 * r ** 2,                    # E u^2 v^2
}


@pytest.mark.parametrize("name", sorted(CLOSED))
def test_series_vs_closed_form(name):
    """The Hermite series (forced with method="series") against the closed forms, and against the
    closed-form dispatch of method="auto" (which uses them for relu, step, relu_p, sign, erf, abs, exp,
    sin, cos)."""
    values, bound = dual_kernel(name, GRID, return_error=True, method="series")
    want = CLOSED[name](GRID)
    err = np.abs(values - want)
    assert err.max() < 1e-12, (name, err.max())
    # the rigorous bound covers the series (up to the closed form's own float64 rounding)
    assert np.all(err <= bound + 8 * np.finfo(float).eps * np.maximum(1, np.abs(want)))
    # truncation <= tol = 1e-14, plus float64 summation round-off of order 1e-16 k(1)
    inner = np.abs(GRID) < 1
    assert np.all(bound[inner] <= 1e-14 + 1e-14 * abs(float(dual_kernel(name, 1.0))))
    auto, auto_bound = dual_kernel(name, GRID, return_error=True)
    assert np.all(np.abs(auto - values) <= bound + auto_bound)
    assert np.all(auto_bound <= 1e-14 * max(1.0, abs(float(dual_kernel(name, 1.0)))))


@pytest.mark.parametrize("a", [0.5, 1.0, 2.0])
def test_erf_kernel_parameter(a):
    act = get_activation("erf", a=a)
    np.testing.assert_allclose(dual_kernel(act, GRID, method="series"), erf_kernel(GRID, a=a), rtol=0, atol=1e-12)
    np.testing.assert_allclose(dual_kernel(act, GRID), erf_kernel(GRID, a=a), rtol=0, atol=1e-15)
    # q and a enter only through a sqrt(q): E[erf(a u) erf(a v)] with u ~ N(0, q)
    np.testing.assert_allclose(dual_kernel("erf", GRID, q=a * a), erf_kernel(GRID, a=a), rtol=0, atol=1e-12)


@pytest.mark.parametrize("method", ["series", "auto"])
def test_derivative_closed_forms(method):
    inner = GRID[np.abs(GRID) < 1]
    kw = {"method": method}
    # relu' = step, so k'_relu = E[step(u) step(v)] = arccos_kernel(0)
    np.testing.assert_allclose(dual_kernel_derivative("relu", GRID, **kw), arccos_kernel(0, GRID), rtol=0, atol=1e-12)
    # abs' = sign
    np.testing.assert_allclose(dual_kernel_derivative("abs", GRID, **kw), sign_kernel(GRID), rtol=0, atol=1e-12)
    # d/drho (2/pi) arcsin(z rho) = (2/pi) z / sqrt(1 - z^2 rho^2), z = 2/3
    z = 2 / 3
    np.testing.assert_allclose(dual_kernel_derivative("erf", GRID, **kw),
                               2 / np.pi * z / np.sqrt(1 - (z * GRID) ** 2), rtol=0, atol=1e-12)
    # step, sign: sigma' is a Dirac mass, k' diverges at rho = +-1
    d = dual_kernel_derivative("step", [-1.0, 0.0, 1.0], **kw)
    assert np.isinf(d[0]) and np.isinf(d[2]) and d[1] == pytest.approx(1 / (2 * math.pi), rel=1e-14)
    # sign: k'(rho) = (2/pi) / sqrt(1 - rho^2)
    np.testing.assert_allclose(dual_kernel_derivative("sign", inner, **kw), 2 / np.pi / np.sqrt(1 - inner ** 2),
                               rtol=1e-12)
    # relu_p, p = 3: k' = 9 E[relu(u)^2 relu(v)^2] = 9 arccos_kernel(2)
    np.testing.assert_allclose(dual_kernel_derivative(get_activation("relu_p", p=3), inner, **kw),
                               9 * arccos_kernel(2, inner), rtol=0, atol=1e-11)


def test_derivative_bound_is_rigorous_for_small_kmax():
    rho = np.array([-0.9, -0.3, 0.2, 0.7, 0.95])
    for name, exact in [("relu", arccos_kernel(0, rho)), ("erf", 2 / np.pi * (2 / 3) / np.sqrt(1 - (2 * rho / 3) ** 2))]:
        for K in (0, 1, 3, 10, 40):
            v, b = dual_kernel_derivative(name, rho, kmax=K, return_error=True)
            assert np.all(np.abs(v - exact) <= b + 1e-15), (name, K)
    for K in (0, 2, 5, 20):
        v, b = dual_kernel("relu", rho, kmax=K, return_error=True)
        assert np.all(np.abs(v - arccos_kernel(1, rho)) <= b + 1e-15)


def test_derivative_of_smooth_activations_is_dual_kernel_of_the_derivative():
    rho = np.array([-0.8, -0.2, 0.4, 0.9])
    for name, deriv in [("tanh", lambda t: 1 / mpmath.cosh(t) ** 2),
                        ("gelu", lambda t: mpmath.ncdf(t) + t * mpmath.npdf(t))]:
        via_series = dual_kernel_derivative(name, rho)
        via_derivative = dual_kernel(get_activation(deriv), rho)
        np.testing.assert_allclose(via_series, via_derivative, rtol=0, atol=1e-13)


def test_endpoints_use_exact_moments():
    assert float(dual_kernel("relu", 1.0)) == 0.5 and float(dual_kernel("relu", -1.0)) == 0.0
    assert float(dual_kernel("sign", -1.0)) == -1.0
    t = dual_kernel("tanh", [-1.0, 1.0])
    assert t[0] == pytest.approx(-t[1], rel=1e-15) and t[1] == pytest.approx(0.39429449, rel=1e-7)
    assert float(dual_kernel("erf", 1.0)) == pytest.approx(2 / np.pi * np.arcsin(2 / 3), rel=1e-15)
    assert float(dual_kernel_derivative("relu", 1.0)) == 0.5 and float(dual_kernel_derivative("relu", -1.0)) == 0.0
    assert float(dual_kernel_derivative("abs", -1.0)) == -1.0
    # endpoints are continuous limits of the series
    for name in ("relu", "erf", "tanh", "gelu"):
        near = dual_kernel(name, [-0.999999, 0.999999], kmax=3000 if name in ("relu",) else None)
        ends = dual_kernel(name, [-1.0, 1.0])
        np.testing.assert_allclose(near, ends, atol=2e-5)


def test_ntk():
    rho = np.linspace(-1, 1, 21)
    relu_ntk = rho * arccos_kernel(0, rho) + arccos_kernel(1, rho)
    np.testing.assert_allclose(ntk("relu", rho), relu_ntk, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ntk("relu", rho[1:-1], method="series"), relu_ntk[1:-1], rtol=0, atol=1e-12)
    p = ntk("erf", rho, parts=True)
    assert isinstance(p, NTKParts)
    np.testing.assert_allclose(p.total, p.first_layer + p.second_layer, rtol=1e-15)
    np.testing.assert_allclose(p.second_layer, erf_kernel(rho), atol=1e-12)
    np.testing.assert_allclose(p.first_layer, rho * dual_kernel_derivative("erf", rho), rtol=1e-15)
    total, err = ntk("tanh", 0.3, return_error=True)
    assert np.ndim(total) == 0 and 0 < err < 1e-13
    s = ntk("step", [-1.0, 0.0, 1.0])
    assert s[0] == -np.inf and s[2] == np.inf and not np.isnan(s).any()
    # q != 1: relu is 1-homogeneous, so k_q = q k_1 and k'_q = q k'_1
    np.testing.assert_allclose(ntk("relu", rho, q=2.5), 2.5 * relu_ntk, rtol=1e-12, atol=1e-12)


def test_shapes_and_types():
    v = dual_kernel("relu", 0.3)
    assert isinstance(v, np.float64) and np.ndim(v) == 0
    v, e = dual_kernel("relu", 0.3, return_error=True)
    assert np.ndim(v) == 0 and np.ndim(e) == 0
    arr = dual_kernel("tanh", np.array([[0.1, -0.2, 0.3], [1.0, -1.0, 0.0]]))
    assert arr.shape == (2, 3)
    with pytest.raises(ValueError, match="rho"):        # main's policy: an empty array names the parameter
        dual_kernel("relu", [])
    with pytest.raises(ValueError, match="rho"):
        ntk("relu", [])
    assert dual_kernel_derivative("relu", [0.5]).shape == (1,)


def test_q_scaling():
    rho = np.array([-0.6, 0.1, 0.8])
    np.testing.assert_allclose(dual_kernel("relu", rho, q=3.0), 3.0 * arccos_kernel(1, rho), atol=1e-12)
    np.testing.assert_allclose(dual_kernel("relu", rho, q=3.0, method="series"), 3.0 * arccos_kernel(1, rho),
                               atol=1e-12)
    np.testing.assert_allclose(dual_kernel("relu_p", rho, q=0.5, method="series"),
                               dual_kernel("relu_p", rho, q=0.5), atol=1e-14)  # k_q = q^2 k_1
    np.testing.assert_allclose(dual_kernel_derivative("relu", rho, q=3.0), 3.0 * arccos_kernel(0, rho), atol=1e-12)
    np.testing.assert_allclose(dual_kernel("step", rho, q=0.2), arccos_kernel(0, rho), atol=1e-12)


def test_user_callable_kernel():
    relu = get_activation(lambda t: t if t > 0 else 0, kinks=[0], derivative=lambda t: 1 if t > 0 else 0)
    rho = np.array([-1.0, -0.4, 0.3, 0.8, 1.0])
    np.testing.assert_allclose(dual_kernel(relu, rho), arccos_kernel(1, rho), atol=1e-13)
    np.testing.assert_allclose(dual_kernel_derivative(relu, [-1.0, 1.0]), [0.0, 0.5], atol=1e-15)
    nodiff = get_activation(lambda t: t if t > 0 else 0, kinks=[0])
    with pytest.raises(ValueError, match="has no derivative"):
        dual_kernel_derivative(nodiff, 1.0)


@pytest.mark.parametrize("call, message", [
    (lambda: dual_kernel("relu", 1.5), "rho must be >= -1 and <= 1, got 1.5"),
    (lambda: dual_kernel("relu", [0.2, -1.01]), "rho must be >= -1 and <= 1"),
    (lambda: dual_kernel("relu", np.nan), "rho must not be NaN"),
    (lambda: dual_kernel("relu", 0.5, q=0), "q must be > 0"),
    (lambda: dual_kernel("relu", 0.5, q=-2.0), "q must be > 0"),
    (lambda: dual_kernel("relu", 0.5, tol=0), "tol must be > 0"),
    (lambda: dual_kernel("relu", 0.5, kmax=-1), "kmax must be an integer >= 0"),
    (lambda: dual_kernel("relux", 0.5), "unknown activation 'relux'"),
    (lambda: dual_kernel("relu", 0.99999, method="series"), "cannot certify tol=1e-14"),
    (lambda: dual_kernel("relu", 0.5, method="exact"), "method must be one of 'auto', 'series', 'closed'"),
    (lambda: dual_kernel("tanh", 0.5, method="closed"), "no closed form of k.rho. is known for activation 'tanh'"),
    (lambda: dual_kernel_derivative("gelu", 0.5, method="closed"), "no closed form of k'"),
    (lambda: dual_kernel("relu", 0.5, kmax=10, method="closed"), "kmax applies to the series only"),
    (lambda: dual_kernel("relu", 0.5, kmax=10 ** 9), "kmax must be an integer >= 0 and <= 32768"),
    (lambda: dual_kernel("tanh", 0.5, kmax=501), "kmax must be <= 500 for activation 'tanh'"),
    (lambda: dual_kernel("exp", 0.5, q=1e300), "exceeds the float64 range"),
    (lambda: dual_kernel("exp", 0.5, q=1e3, method="series"), "exceed the float64 range"),
    (lambda: dual_kernel("exp", 1.0, q=1e3, method="series"), "exceed"),
    (lambda: dual_kernel("relu_p", 0.5, q=1e300), "exceeds the float64 range"),
    (lambda: ntk("exp", 0.0, q=1e300), "exceeds the float64 range"),
    (lambda: simulate_dual_kernel("relu", 0.5, d=10 ** 7), "d must be an integer >= 2 and <= 1e\\+06"),
    (lambda: dual_kernel_derivative("relu", 2.0), "rho must be"),
    (lambda: ntk("relu", -3.0), "rho must be"),
    (lambda: arccos_kernel(3, 0.5), "order must be an integer >= 0 and <= 2"),
    (lambda: arccos_kernel(1, 1.1), "rho must be"),
    (lambda: erf_kernel(0.5, a=0), "a must be > 0"),
    (lambda: sign_kernel(-2), "rho must be"),
    (lambda: simulate_dual_kernel("relu", 1.2), "rho must be"),
    (lambda: simulate_dual_kernel("relu", 0.5, d=1), "d must be an integer >= 2"),
    (lambda: simulate_dual_kernel("relu", 0.5, n_samples=1), "n_samples must be an integer >= 2"),
    (lambda: simulate_derivative_kernel("sign", 0.5), "no derivative"),
    (lambda: simulate_ntk("step", 0.5), "no derivative"),
])
def test_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_closed_forms_near_one():
    """Regression: dual_kernel("relu", 0.999999) raised (the series cannot certify 1e-14 there); the
    closed forms are now used by default, for k, k' and the NTK."""
    r = np.array([-0.999999, -0.9999, 0.9999, 0.999999, 1 - 2.0 ** -40])
    v, b = dual_kernel("relu", r, return_error=True)
    np.testing.assert_array_equal(v, arccos_kernel(1, r))
    assert np.all(b < 1e-15)
    np.testing.assert_array_equal(dual_kernel_derivative("relu", r), arccos_kernel(0, r))
    np.testing.assert_allclose(ntk("relu", r), r * arccos_kernel(0, r) + arccos_kernel(1, r), rtol=1e-15)
    np.testing.assert_allclose(dual_kernel("sign", r), sign_kernel(r), rtol=1e-15)
    np.testing.assert_allclose(dual_kernel("step", r, q=7.0), arccos_kernel(0, r), rtol=1e-15)
    np.testing.assert_allclose(dual_kernel("abs", r), abs_kernel(r), rtol=1e-13, atol=1e-16)
    np.testing.assert_allclose(dual_kernel("relu2", r, q=2.0), 4 * arccos_kernel(2, r), rtol=1e-15)
    np.testing.assert_allclose(dual_kernel("erf", r), erf_kernel(r), rtol=1e-15)
    leaky = get_activation("leaky_relu", slope=0.1)  # relu(x) - 0.1 relu(-x)
    np.testing.assert_allclose(dual_kernel(leaky, r), 1.01 * arccos_kernel(1, r) - 0.2 * arccos_kernel(1, -r),
                               rtol=1e-14, atol=1e-16)
    np.testing.assert_allclose(dual_kernel_derivative(leaky, r),
                               1.01 * arccos_kernel(0, r) + 0.2 * arccos_kernel(0, -r), rtol=1e-14, atol=1e-16)
    # relu_p with p = 3 has no closed k: the series (its coefficients decay fast enough here)
    with pytest.raises(ValueError, match="no closed form"):
        dual_kernel("relu3", 0.999999, method="closed")
    v, b = dual_kernel("relu3", 0.999999, return_error=True)
    assert v == pytest.approx(7.5, rel=1e-5) and b < 1e-13  # k(1) = E relu(G)^6 = 15/2


def _arccos_mp(n, r):
    t = mpmath.acos(r)
    j = [mpmath.pi - t, mpmath.sin(t) + (mpmath.pi - t) * r,
         3 * mpmath.sin(t) * r + (mpmath.pi - t) * (1 + 2 * r * r)][n]
    return j / (2 * mpmath.pi)


def test_closed_form_error_bounds_against_mpmath():
    """The returned bound covers the float64 evaluation of each closed form (reference: the same
    formulas in mpmath at 50 digits, at the exact float rho), including next to rho = +-1."""
    rng = np.random.default_rng(5)
    rho = np.concatenate([[-1.0, 1.0, 0.0, 1e-300], 1 - np.logspace(-16, -1, 12), -1 + np.logspace(-16, -1, 12),
                          rng.uniform(-1, 1, 12)])
    cases = [  # (activation, q, derivative, reference k(rho) in mpmath)
        ("relu", 2.0, False, lambda r, q: q * _arccos_mp(1, r)),
        ("relu", 2.0, True, lambda r, q: q * _arccos_mp(0, r)),
        ("relu2", 0.5, False, lambda r, q: q * q * _arccos_mp(2, r)),
        ("relu3", 0.5, True, lambda r, q: 9 * q ** 3 * _arccos_mp(2, r)),
        ("abs", 1.0, False, lambda r, q: 2 * _arccos_mp(1, r) + 2 * _arccos_mp(1, -r)),
        ("sign", 3.0, False, lambda r, q: 2 / mpmath.pi * mpmath.asin(r)),
        (get_activation("erf", a=30), 1.0, False,
         lambda r, q: 2 / mpmath.pi * mpmath.asin(1800 * r / mpmath.mpf(1801))),
        (get_activation("erf", a=30), 1.0, True,
         lambda r, q: 2 / mpmath.pi * (1800 / mpmath.mpf(1801)) / mpmath.sqrt(1 - (1800 * r / mpmath.mpf(1801)) ** 2)),
        ("exp", 1.5, False, lambda r, q: mpmath.exp(q * (1 + r))),
        (get_activation("sin", a=40), 1.0, False, lambda r, q: mpmath.exp(-1600) * mpmath.sinh(1600 * r)),
        ("cos", 0.01, True, lambda r, q: q * mpmath.exp(-q) * mpmath.sinh(q * r)),
    ]
    for act, q, der, ref in cases:
        f = dual_kernel_derivative if der else dual_kernel
        v, b = f(act, rho, q=q, return_error=True, method="closed")
        with mpmath.workdps(50):
            for r, vv, bb in zip(rho, v, b):
                want = ref(mpmath.mpf(float(r)), mpmath.mpf(q))
                assert abs(mpmath.mpf(float(vv)) - want) <= bb + mpmath.mpf(10) ** -40, (act, q, der, r)


def test_kernel_extreme_q_and_parameters():
    rho = np.array([-1.0, -0.3, 0.0, 0.7, 1.0])
    for q in (1e-300, 1e300):
        np.testing.assert_allclose(dual_kernel("relu", rho, q=q), q * arccos_kernel(1, rho), rtol=1e-15)
        np.testing.assert_allclose(dual_kernel("relu", rho[1:-1], q=q, method="series", tol=1e-14 * q),
                                   q * arccos_kernel(1, rho[1:-1]), rtol=1e-12)
        assert np.isfinite(dual_kernel("erf", rho, q=q)).all() and np.isfinite(ntk("sign", rho[1:-1], q=q)).all()
    np.testing.assert_allclose(dual_kernel("tanh", rho, q=1e-300, tol=1e-314), 1e-300 * rho, rtol=1e-12)
    # sin/cos at a huge q: the bound overflowed to inf * 0 = nan (a RuntimeWarning, an error here)
    for name in ("sin", "cos"):
        for f in (dual_kernel, dual_kernel_derivative, ntk):
            v, b = f(name, rho, q=1e300, return_error=True)
            assert np.isfinite(v).all() and np.isfinite(b).all(), (name, f)
    np.testing.assert_allclose(dual_kernel_derivative("cos", rho, q=1e300), 1e300 * np.where(rho == 1, 0.5, 0.0)
                               - 1e300 * np.where(rho == -1, 0.5, 0.0), rtol=1e-15)
    # Williams' kernel without overflow of 2 a^2: a -> oo is the sign kernel, a -> 0 vanishes
    np.testing.assert_allclose(erf_kernel(rho, a=1e300), sign_kernel(rho), rtol=1e-15)
    assert np.all(np.abs(erf_kernel(rho, a=1e-300)) < 1e-300)
    # arccos_kernel keeps full accuracy next to rho = +-1
    for r in (1 - 1e-9, -1 + 1e-13, -1 + 2.0 ** -50):
        with mpmath.workdps(40):
            for n in (0, 1, 2):
                want = _arccos_mp(n, mpmath.mpf(r))
                assert abs(float(arccos_kernel(n, r)) - want) <= 4e-16 * abs(want) + 1e-30, (n, r)


def test_derivative_endpoint_moment_of_silu():
    """k'(-1) = q E[silu'(u) silu'(-u)] failed: the quadrature also demanded full precision of
    E|silu'(u) silu'(-u)| (only a scale), which has kinks where silu' changes sign."""
    with mpmath.workdps(30):
        fp = get_activation("silu").mp_derivative
        want = [mpmath.quad(lambda t: fp(t) * fp(s * t) * mpmath.npdf(t), [-mpmath.inf, 0, mpmath.inf])
                for s in (-1, 1)]
    np.testing.assert_allclose(dual_kernel_derivative("silu", [-1.0, 1.0]), [float(w) for w in want], rtol=1e-14)


def test_explicit_kmax_near_one_returns_honest_bound():
    v, b = dual_kernel("relu", 0.9999, kmax=2000, return_error=True)
    assert abs(v - arccos_kernel(1, 0.9999)) <= b and b > 1e-9


# ---------------------------------------------------------------------------------------------
# Monte Carlo witnesses
# ---------------------------------------------------------------------------------------------
MC_RHOS = [-0.7, 0.0, 0.5, 0.9]


@pytest.mark.parametrize("name", ["relu", "tanh", "erf", "sign"])
def test_monte_carlo_dual_kernel(name):
    theory = dual_kernel(name, MC_RHOS)
    for rho, th in zip(MC_RHOS, theory):
        mean, se = simulate_dual_kernel(name, rho, d=50, n_samples=20000, seed=11)
        assert se > 0 and abs(mean - th) < 4 * se, (name, rho, (mean - th) / se)


@pytest.mark.parametrize("name", ["relu", "tanh", "erf"])
def test_monte_carlo_ntk_and_derivative(name):
    for rho in (-0.7, 0.5, 0.9):
        mean, se = simulate_ntk(name, rho, d=30, n_samples=20000, seed=7)
        assert abs(mean - float(ntk(name, rho))) < 4 * se
        mean, se = simulate_derivative_kernel(name, rho, d=30, n_samples=20000, seed=8)
        assert abs(mean - float(dual_kernel_derivative(name, rho))) < 4 * se


def test_monte_carlo_q_and_reproducibility():
    a = simulate_dual_kernel("relu", 0.3, n_samples=5000, seed=3, q=2.0)
    b = simulate_dual_kernel("relu", 0.3, n_samples=5000, seed=3, q=2.0)
    assert a == b
    assert abs(a[0] - float(dual_kernel("relu", 0.3, q=2.0))) < 4 * a[1]
    # extreme q: the sums are scaled, so the standard error neither underflows to 0 nor overflows
    for q in (1e-300, 1e300):
        mean, se = simulate_dual_kernel("relu", 0.3, n_samples=5000, seed=3, q=q)
        assert se > 0 and math.isfinite(se) and abs(mean - float(dual_kernel("relu", 0.3, q=q))) < 4 * se
    with pytest.raises(ValueError, match="exceeds the float64 range"):
        simulate_dual_kernel("exp", 0.3, n_samples=100, q=1e6)
    # large d: the weights are drawn in bounded chunks
    mean, se = simulate_dual_kernel("relu", 0.3, d=10 ** 6, n_samples=8, seed=1)
    assert math.isfinite(mean) and math.isfinite(se)


# ---------------------------------------------------------------- every |rho| <= 1, against 2-d quadrature
def gauss2d(f, g, rho, *, dps=34, h="0.1", L=12.5):
    """``E[f(u) g(v)]`` for standard Gaussians with correlation ``rho``, independently of the Hermite
    series: the trapezoidal rule in ``(X, Y)`` i.i.d. N(0, 1), ``u = aX + bY``, ``v = aX - bY``,
    ``a = sqrt((1 + rho)/2)``, ``b = sqrt((1 - rho)/2)``, on the disc ``X^2 + Y^2 <= L^2``. For ``f, g``
    analytic in the strip ``|Im| < pi/2`` (tanh, sech^2, sigmoid, softplus, silu) the rule converges
    like ``exp(-2 pi (pi/2)/h)``: with ``h = 0.1, L = 12.5`` successive steps agree to 33 digits
    (``h = 0.125, L = 11``: ~25 digits)."""
    with mpmath.workdps(dps + 8):
        rho = mpmath.mpf(rho)
        h = mpmath.mpf(h)
        a, b = mpmath.sqrt((1 + rho) / 2), mpmath.sqrt((1 - rho) / 2)
        n = int(L / h)
        xs = [h * i for i in range(-n, n + 1)]
        w = [mpmath.exp(-x * x / 2) for x in xs]
        L2 = mpmath.mpf(L) ** 2
        total = mpmath.mpf(0)
        for i, x in enumerate(xs):
            acc = mpmath.mpf(0)
            ax = a * x
            for j, y in enumerate(xs):
                if x * x + y * y <= L2:
                    acc += f(ax + b * y) * g(ax - b * y) * w[j]
            total += acc * w[i]
        return total * h * h / (2 * mpmath.pi)


NEAR_ONE = [np.nextafter(1.0, 0.0), 1 - 1e-12, 1 - 5e-7, 1 - 1e-3]


def _check_vs_reference(name, rhos, **ref_kw):
    act = get_activation(name)
    rhos = np.array(rhos)
    k, ek = dual_kernel(act, rhos, return_error=True)
    kp, ekp = dual_kernel_derivative(act, rhos, return_error=True)
    nt, ent = ntk(act, rhos, return_error=True)
    assert np.isfinite(k).all() and np.isfinite(kp).all() and np.isfinite(nt).all()
    for i, r in enumerate(rhos):
        rk = gauss2d(act.mp_func, act.mp_func, r, **ref_kw)
        rkp = gauss2d(act.mp_derivative, act.mp_derivative, r, **ref_kw)
        for v, e, ref in ((k[i], ek[i], rk), (kp[i], ekp[i], rkp), (nt[i], ent[i], mpmath.mpf(r) * rkp + rk)):
            err = abs(mpmath.mpf(float(v)) - ref)
            assert err <= e, (name, r, float(err), float(e))
            assert e <= 3e-14 * max(1.0, abs(float(ref))), (name, r, float(e))


@pytest.mark.parametrize("sign", [1, -1])
def test_smooth_activation_next_to_plus_minus_one_vs_2d_quadrature(sign):
    """Issue 12: tanh (and sigmoid, softplus, silu) raised for |rho| >= 1 - 5e-7; now every |rho| <= 1
    has a value within its certified bound (the k' series is bounded by the Parseval tail of sigma')."""
    _check_vs_reference("tanh", [sign * NEAR_ONE[0], sign * NEAR_ONE[2]], dps=26, h="0.125", L=11)


def test_the_reference_rejects_a_wrong_kernel():
    act = get_activation("tanh")
    ref = gauss2d(act.mp_func, act.mp_func, 1 - 5e-7, dps=26, h="0.125", L=11)
    wrong = dual_kernel("tanh", 1 - 5e-7, kmax=30)       # a truncated series, 3e-5 off
    assert abs(mpmath.mpf(float(wrong)) - ref) > 1e-8


@pytest.mark.slow
@pytest.mark.parametrize("name", ["tanh", "sigmoid", "softplus", "silu", "gelu"])
def test_smooth_activations_everywhere_vs_30_digit_2d_quadrature(name):
    pos = [0.0, 0.3, 0.7, 0.9, 0.99, 1 - 1e-3, 1 - 1e-5, 1 - 1e-7, 1 - 5e-7, 1 - 1e-10, 1 - 1e-12, 1 - 1e-14,
           np.nextafter(1.0, 0.0), 1.0]
    _check_vs_reference(name, sorted(set(pos) | {-p for p in pos}))


def test_one_point_next_to_one_does_not_kill_a_vectorized_call():
    rho = np.concatenate([np.linspace(-1, 1, 41), [np.nextafter(1.0, 0.0), -np.nextafter(1.0, 0.0), 1 - 1e-14]])
    for name in ("tanh", "sigmoid", "softplus", "silu", "gelu", "quad", "relu_p", "poly"):
        act = get_activation(name, coeffs=[0, 1, 0, -0.5]) if name == "poly" else get_activation(name)
        for f in (dual_kernel, dual_kernel_derivative, ntk):
            v, e = f(act, rho, return_error=True)
            assert np.isfinite(v).all() and np.all(e <= 1e-13 * np.maximum(1, np.abs(v))), (name, f.__name__)


def test_polynomial_kernels_are_exact_at_every_rho():
    rho = np.array([-1.0, -(1 - 1e-14), 0.3, 1 - 1e-14, 1.0])
    v, e = ntk("quad", rho, return_error=True)        # E u^2 v^2 = 1 + 2 rho^2, k' = 4 rho
    np.testing.assert_allclose(v, 1 + 2 * rho ** 2 + 4 * rho ** 2, rtol=4e-16, atol=0)
    assert np.all(e < 1e-14)
