"""Deep linear networks (asymptotics.models.deep_linear) against independent witnesses.

Witnesses: sympy's dsolve / integrate (symbolic), mpmath quadrature at 30 digits, scipy's
fractional_matrix_power, the layer-by-layer chain rule, finite differences of singular values,
Weyl's inequality, and the exact ends of a single mode. All fast.
"""
from __future__ import annotations

from pathlib import Path

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings, strategies as st
from scipy.linalg import fractional_matrix_power

from asymptotics.models import deep_linear as dl

DOCS = Path(__file__).resolve().parent.parent / "docs"


# ------------------------------------------------------------------------------------------------
# symbolic layer
# ------------------------------------------------------------------------------------------------
def test_dsolve_of_the_depth2_mode_ode_is_saxes_closed_form():
    eq = dl.mode_ode(2).eq
    sol = sp.dsolve(eq, dl.sigma(dl.t), ics={dl.sigma(0): dl.u0})
    assert sp.simplify(sol.rhs - dl.saxe_closed_form()) == 0
    # and numerically at 30 digits at a few points (including u0 > s, a decaying mode)
    f = sp.lambdify((dl.t, dl.s, dl.u0, dl.tau), sol.rhs, "mpmath")
    g = sp.lambdify((dl.t, dl.s, dl.u0, dl.tau), dl.saxe_closed_form(), "mpmath")
    with mpmath.workdps(30):
        for args in [(0.3, 2, 0.01, 1), (5, 0.5, 1e-4, 3), (1, 1, 3, 0.5)]:
            a = [mpmath.mpf(x) for x in args]
            assert abs(f(*a) - g(*a)) < mpmath.mpf(10) ** -28 * abs(g(*a))


def test_saxe_closed_form_solves_its_ode_and_matches_numpy():
    u = dl.saxe_closed_form()
    assert sp.simplify(dl.tau * sp.diff(u, dl.t) - 2 * u * (dl.s - u)) == 0
    assert sp.simplify(u.subs(dl.t, 0) - dl.u0) == 0
    f = sp.lambdify((dl.t, dl.s, dl.u0, dl.tau), u, "mpmath")
    for t, s, u0, tau in [(0.0, 1.0, 0.5, 1.0), (2.0, 3.0, 1e-3, 2.0), (50.0, 0.7, 1e-6, 1.3)]:
        with mpmath.workdps(30):
            ref = float(f(mpmath.mpf(t), mpmath.mpf(s), mpmath.mpf(u0), mpmath.mpf(tau)))
        assert dl.saxe_learning_curve(t, s, u0, tau) == pytest.approx(ref, rel=1e-14)


@pytest.mark.parametrize("depth", [1, 2, 3, 4, 7])
def test_mode_ode_is_the_singular_value_ode_on_the_whitened_loss(depth):
    sig = dl.sigma(dl.t)
    expected = depth * sig ** (2 - sp.Rational(2, depth)) * (dl.s - sig)
    eq = dl.mode_ode(depth).eq
    assert sp.simplify(eq.lhs - dl.tau * sp.Derivative(sig, dl.t)) == 0
    assert sp.simplify(eq.rhs - expected) == 0
    # symbolic N, then substituted
    assert sp.simplify(dl.mode_ode().eq.rhs.subs(dl.N, depth) - expected) == 0


def test_mode_ode_depth1_dsolve_is_exponential_relaxation():
    sol = sp.dsolve(dl.mode_ode(1).eq, dl.sigma(dl.t), ics={dl.sigma(0): dl.u0})
    assert sp.simplify(sol.rhs - (dl.s - (dl.s - dl.u0) * sp.exp(-dl.t / dl.tau))) == 0


def test_end_to_end_ode_symbolic_sum_expands_to_the_explicit_depth3_form():
    for depth in (2, 3, 4):
        e = dl.end_to_end_ode().eq.rhs.subs(dl.N, depth).doit()
        assert e == dl.end_to_end_ode(depth).eq.rhs
    assert dl.end_to_end_ode(1).eq.rhs == -dl._G


def test_docs_show_the_generated_latex():
    page = (DOCS / "deep_linear.md").read_text()
    for name, tex in dl.latex_equations().items():
        assert tex in page, f"docs/deep_linear.md is stale: paste latex_equations()[{name!r}]"


# ------------------------------------------------------------------------------------------------
# time to learn: closed forms vs 30-digit quadrature and sympy antiderivatives
# ------------------------------------------------------------------------------------------------
def _quad_time(depth, s, sigma0, sigma1, tau=1.0):
    with mpmath.workdps(30):
        n = mpmath.mpf(depth)
        f = lambda x: 1 / (n * x ** (2 - 2 / n) * (mpmath.mpf(s) - x))  # noqa: E731
        return float(mpmath.mpf(tau) * mpmath.quad(f, [mpmath.mpf(sigma0), mpmath.mpf(sigma1)]))


@pytest.mark.parametrize("depth", [1, 2, 3, 4, 5, 8])
@pytest.mark.parametrize("s,sigma0,sigma1", [(1.0, 1e-3, 0.5), (2.5, 0.1, 2.4), (0.3, 1e-6, 0.1)])
def test_time_to_learn_matches_quadrature(depth, s, sigma0, sigma1):
    exact = dl.time_to_learn(depth, s, sigma0, sigma1, tau=1.7)
    assert exact == pytest.approx(_quad_time(depth, s, sigma0, sigma1, 1.7), rel=1e-12)


@pytest.mark.parametrize("depth", [3, 4])
def test_time_to_learn_matches_sympys_elementary_antiderivative(depth):
    x = sp.Symbol("x", positive=True)
    F = sp.integrate(x ** (-(2 - sp.Rational(2, depth))) / (1 - x), x)
    s, sigma0, sigma1 = 1.5, 0.01, 1.2
    p = 2 - 2 / depth
    val = s ** (-p) / depth * (F.subs(x, sigma1 / s) - F.subs(x, sigma0 / s))
    ref = float(sp.re(sp.N(val, 30)))  # sympy's log(x^(1/N) - 1) adds i*pi to both ends
    assert dl.time_to_learn(depth, s, sigma0, sigma1) == pytest.approx(ref, rel=1e-13)


def test_time_to_learn_depth2_inverts_saxes_curve_and_broadcasts():
    s = np.array([0.5, 1.0, 3.0])
    T = dl.time_to_learn(2, s, 1e-4, 0.9 * s, tau=2.0)
    assert T.shape == (3,)
    np.testing.assert_allclose(dl.saxe_learning_curve(T, s, 1e-4, 2.0), 0.9 * s, rtol=1e-12)


@pytest.mark.parametrize("depth", [3, 4, 6])
def test_mode_trajectory_reaches_sigma1_at_the_time_to_learn(depth):
    s, sigma0, sigma1 = np.array([2.0, 1.0]), np.array([1e-3, 1e-2]), np.array([1.5, 0.5])
    T = dl.time_to_learn(depth, s, sigma0, sigma1)
    for k in range(2):
        sig = dl.mode_trajectory([0.0, T[k]], depth, s[k], sigma0[k])
        assert sig[-1, 0] == pytest.approx(sigma1[k], rel=1e-9)


@pytest.mark.parametrize("depth,expected", [(1, 1.0), (2, 1.0), (3, 2 / 3), (4, 0.5), (5, 0.4)])
def test_small_init_asymptotics_error_exponent(depth, expected):
    """exact - asymptotic = O(sigma0) for N <= 2 and O(sigma0^{2/N}) for N >= 3: measured slope."""
    sigma0 = np.logspace(-10, -6, 5)
    err = np.abs(dl.time_to_learn(depth, 1.0, sigma0, 0.5)
                 - dl.time_to_learn_small_init(depth, 1.0, sigma0, 0.5))
    slope = np.polyfit(np.log(sigma0), np.log(err), 1)[0]
    assert slope == pytest.approx(expected, abs=0.02)


def test_plateau_grows_polynomially_with_depth_at_fixed_layer_scale():
    # leading term alpha^{-(N-2)} / (s (N-2)) with sigma0 = alpha^N
    alpha, s = 0.05, 1.0
    lead = [alpha ** (-(n - 2)) / (s * (n - 2)) for n in (3, 4, 5)]
    exact = [dl.time_to_learn(n, s, alpha ** n, 0.5 * s) for n in (3, 4, 5)]
    assert all(e > l_ * 0.9 for e, l_ in zip(exact, lead))
    assert exact[0] < exact[1] < exact[2]


# ------------------------------------------------------------------------------------------------
# end-to-end velocity and flow
# ------------------------------------------------------------------------------------------------
def _layer_induced_velocity(layers, G):
    """dW/dt = sum_j W_{N:j+1} (dW_j/dt) W_{j-1:1} with dW_j/dt = -W_{N:j+1}^T G W_{j-1:1}^T."""
    n = len(layers)
    total = np.zeros_like(G)
    for j in range(n):
        left = dl.product(layers[j + 1:]) if j + 1 < n else np.eye(G.shape[0])
        right = dl.product(layers[:j]) if j else np.eye(G.shape[1])
        total += left @ (-left.T @ G @ right.T) @ right
    return total


@pytest.mark.parametrize("shape,rank,depth", [((4, 4), 4, 2), ((5, 3), 3, 3), ((3, 6), 3, 4),
                                              ((5, 5), 2, 3), ((4, 6), 1, 5)])
def test_end_to_end_velocity_equals_the_balanced_layer_velocity(shape, rank, depth):
    rng = np.random.default_rng(3)
    W = rng.standard_normal((shape[0], rank)) @ rng.standard_normal((rank, shape[1]))
    G = rng.standard_normal(shape)
    layers = dl.balanced_factorization(W, depth, hidden=max(shape) + 1, seed=4)
    assert dl.imbalance(layers) < 1e-12 * max(1.0, np.linalg.norm(W)) ** 2
    np.testing.assert_allclose(dl.product(layers), W, atol=1e-12)
    np.testing.assert_allclose(dl.end_to_end_velocity(W, G, depth), _layer_induced_velocity(layers, G),
                               atol=1e-11)


def test_end_to_end_velocity_matches_scipy_fractional_powers():
    rng = np.random.default_rng(0)
    W = rng.standard_normal((4, 4))
    G = rng.standard_normal((4, 4))
    for depth in (2, 3, 5):
        ref = -sum(np.real(fractional_matrix_power(W @ W.T, (j - 1) / depth)) @ G
                   @ np.real(fractional_matrix_power(W.T @ W, (depth - j) / depth))
                   for j in range(1, depth + 1))
        np.testing.assert_allclose(dl.end_to_end_velocity(W, G, depth), ref, atol=1e-10)
    np.testing.assert_array_equal(dl.end_to_end_velocity(W, G, 1), -G)


def test_singular_value_velocity_matches_finite_differences_along_the_flow():
    rng = np.random.default_rng(1)
    Phi = rng.standard_normal((4, 3))
    W0 = rng.standard_normal((4, 3))
    h = 1e-5
    for depth in (2, 3):
        Wt = dl.end_to_end_flow(W0, depth, [0.3 - h, 0.3, 0.3 + h], target=Phi, rtol=1e-13, atol=1e-15)
        sv_m, sv_p = (np.linalg.svd(w, compute_uv=False) for w in (Wt[0], Wt[2]))
        sv, rate = dl.singular_value_velocity(Wt[1], Wt[1] - Phi, depth)
        np.testing.assert_allclose(rate, (sv_p - sv_m) / (2 * h), rtol=1e-6, atol=1e-8)


def test_end_to_end_flow_spectral_init_follows_the_modes_and_keeps_zero_modes_zero():
    rng = np.random.default_rng(2)
    U = np.linalg.qr(rng.standard_normal((5, 3)))[0]
    V = np.linalg.qr(rng.standard_normal((4, 3)))[0]
    s = np.array([3.0, 2.0, 1.0])
    Phi = U @ np.diag(s) @ V.T
    sigma0 = np.array([1e-3, 1e-2, 0.0])  # third mode starts at 0: a fixed point for N >= 2
    W0 = U @ np.diag(sigma0) @ V.T
    times = np.linspace(0, 3, 7)
    for depth in (2, 3):
        Wt = dl.end_to_end_flow(W0, depth, times, target=Phi)
        modes = np.einsum("ir,tij,jr->tr", U, Wt, V)
        ref = dl.mode_trajectory(times, depth, s[:2], sigma0[:2])
        np.testing.assert_allclose(modes[:, :2], ref, atol=1e-8)
        assert np.abs(modes[:, 2]).max() < 1e-12
        assert np.linalg.matrix_rank(Wt[-1], tol=1e-8) == 2
    Wt = dl.end_to_end_flow(W0, 2, times, target=Phi)
    np.testing.assert_allclose(np.einsum("ir,tij,jr->tr", U, Wt, V)[:, :2],
                               dl.saxe_learning_curve(times[:, None], s[:2], sigma0[:2]), atol=1e-9)


def test_end_to_end_flow_with_a_custom_gradient_equals_target_form():
    Phi = np.array([[1.0, 0.5], [0.0, 2.0]])
    W0 = 0.3 * np.eye(2)
    a = dl.end_to_end_flow(W0, 3, [0.0, 1.0], target=Phi)
    b = dl.end_to_end_flow(W0, 3, [0.0, 1.0], grad=lambda W: W - Phi)
    np.testing.assert_allclose(a, b, rtol=1e-12)


# ------------------------------------------------------------------------------------------------
# balancedness, convergence conditions, effective rank
# ------------------------------------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(m=st.integers(1, 5), n=st.integers(1, 5), depth=st.integers(1, 5), extra=st.integers(0, 2),
       seed=st.integers(0, 10_000))
def test_balanced_factorization_property(m, n, depth, extra, seed):
    W = np.random.default_rng(seed).standard_normal((m, n))
    layers = dl.balanced_factorization(W, depth, hidden=max(m, n) + extra, seed=seed)
    assert len(layers) == depth
    assert layers[0].shape[1] == n and layers[-1].shape[0] == m
    np.testing.assert_allclose(dl.product(layers), W, atol=1e-12)
    assert dl.imbalance(layers) <= 1e-12 * max(1.0, np.linalg.norm(W) ** 2)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), depth=st.integers(1, 4), scale=st.floats(0.05, 1.5))
def test_deficiency_margin_implies_sigma_min_bound(seed, depth, scale):
    rng = np.random.default_rng(seed)
    Phi = rng.standard_normal((3, 3)) + 3 * np.eye(3)
    W0 = Phi + scale * rng.standard_normal((3, 3))
    rep = dl.convergence_conditions(dl.balanced_factorization(W0, depth, seed=seed), Phi)
    assert rep.deficiency_margin == pytest.approx(
        np.linalg.svd(Phi, compute_uv=False)[-1] - np.linalg.norm(W0 - Phi), rel=1e-10)
    if rep.has_margin:  # Weyl: sigma_min(W) >= sigma_min(Phi) - ||W - Phi||_2 >= c
        assert rep.sigma_min_end_to_end >= rep.deficiency_margin - 1e-12
        assert rep.satisfied == (rep.imbalance <= rep.delta_bound)
    else:
        assert not rep.satisfied and rep.step_bound == 0.0


def test_convergence_report_values_and_rate_along_gd():
    """Thm 1 of Arora, Cohen, Golowich & Hu: at step <= step_bound the loss after k iterations is
    <= l(0) exp(-k eta c^{2(N-1)/N}) (the iteration bound read backwards)."""
    Phi = np.diag([1.0, 0.8])
    W0 = np.array([[0.9, 0.05], [-0.05, 0.85]])
    layers = list(dl.balanced_factorization(W0, 2, seed=0))
    rep = dl.convergence_conditions(layers, Phi)
    assert rep.satisfied and rep.widths_ok and rep.depth == 2
    fro = np.linalg.norm(Phi)
    c = 0.8 - np.linalg.norm(W0 - Phi)
    assert rep.deficiency_margin == pytest.approx(c, rel=1e-13)
    assert rep.delta_bound == pytest.approx(c ** 2 / (256 * 8 * fro), rel=1e-13)
    assert rep.step_bound == pytest.approx(c ** 3 / (6144 * 8 * fro ** 4), rel=1e-13)
    eta = rep.step_bound
    rate = eta * c ** (2 * (2 - 1) / 2)
    loss0 = rep.loss
    for k in range(1, 3001):
        W = layers[1] @ layers[0]
        G = W - Phi
        g1, g2 = layers[1].T @ G, G @ layers[0].T
        layers = [layers[0] - eta * g1, layers[1] - eta * g2]
        if k % 500 == 0:
            loss = 0.5 * np.linalg.norm(layers[1] @ layers[0] - Phi) ** 2
            assert loss <= loss0 * np.exp(-k * rate)
    assert rep.iterations(loss0 * np.exp(-1.0)) == int(np.ceil(1.0 / rate))


def test_no_margin_example_gd_stalls():
    """Scalar target 1, balanced depth-2 init with product -0.5: no deficiency margin, and GD never
    crosses the rank-deficient product 0 (cf. the necessity of the deficiency margin
    in Arora, Cohen, Golowich & Hu 2019)."""
    layers = [np.array([[np.sqrt(0.5)]]), np.array([[-np.sqrt(0.5)]])]
    rep = dl.convergence_conditions(layers, np.array([[1.0]]))
    assert not rep.has_margin and not rep.satisfied and rep.imbalance == 0.0
    with pytest.raises(ValueError, match="does not meet"):
        rep.iterations(1e-3)
    w1, w2 = layers[0][0, 0], layers[1][0, 0]
    for _ in range(20000):
        g = w2 * w1 - 1.0
        w1, w2 = w1 - 0.01 * g * w2, w2 - 0.01 * g * w1
    assert w1 * w2 <= 0.0 and 0.5 * (w1 * w2 - 1) ** 2 >= 0.5


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), rank=st.integers(1, 5), scale=st.floats(1e-3, 1e3))
def test_effective_rank_bounds_and_invariances(seed, rank, scale):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((6, rank)) @ rng.standard_normal((rank, 5))
    e = dl.effective_rank(W)
    assert 1.0 - 1e-12 <= e <= rank + 1e-9
    Q = np.linalg.qr(rng.standard_normal((6, 6)))[0]
    assert dl.effective_rank(scale * Q @ W) == pytest.approx(e, rel=1e-9)


def test_effective_rank_known_values():
    assert dl.effective_rank(np.diag([1.0, 1.0, 0.0])) == pytest.approx(2.0, rel=1e-15)
    p = np.array([3.0, 1.0]) / 4
    assert dl.effective_rank(np.diag([3.0, 1.0])) == pytest.approx(np.exp(-(p * np.log(p)).sum()), rel=1e-15)


# ------------------------------------------------------------------------------------------------
# validation
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("call,match", [
    (lambda: dl.mode_ode(0), "depth must be an integer >= 1"),
    (lambda: dl.time_to_learn(2, 1.0, 0.5, 0.4), "0 < sigma0 < sigma1 < s"),
    (lambda: dl.time_to_learn(2, -1.0, 0.1, 0.5), "s must be > 0"),
    (lambda: dl.time_to_learn(2.5, 1.0, 0.1, 0.5), "depth must be an integer"),
    (lambda: dl.saxe_learning_curve(-1.0, 1.0, 0.1), "time must be >= 0"),
    (lambda: dl.saxe_learning_curve(1.0, 1.0, float("nan")), "u0 must not be NaN"),
    (lambda: dl.end_to_end_velocity(np.ones((2, 2)), np.ones((2, 3)), 2), "G must have the shape"),
    (lambda: dl.end_to_end_velocity(np.ones(3), np.ones(3), 2), "W must be a non-empty 2-d array"),
    (lambda: dl.end_to_end_flow(np.eye(2), 2, [0, 1]), "exactly one of target"),
    (lambda: dl.end_to_end_flow(np.eye(2), 2, [1, 0], target=np.eye(2)), "non-decreasing"),
    (lambda: dl.balanced_factorization(np.ones((3, 4)), 2, hidden=2), "hidden must be an integer >= 3"),
    (lambda: dl.product([np.ones((2, 3)), np.ones((2, 3))]), "columns but layers"),
    (lambda: dl.effective_rank(np.zeros((2, 2))), "W must be non-zero"),
    (lambda: dl.convergence_conditions([np.eye(2)], np.eye(3)), "target must have the shape"),
    (lambda: dl.mode_trajectory([0, 1], 2, s=1.0, sigma0=0.0), "sigma0 must be > 0"),
])
def test_bad_inputs_raise_value_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


BAD_TIMES = [([0.0, float("nan")], "times must not be NaN"),
             ([0.0, float("inf")], "times must be finite"),
             ([-0.5, 1.0], "times must be >= 0"),
             ([0.0, 2.0, 1.0], r"times must be non-decreasing, got times\[1\]=2.0 > times\[2\]=1.0")]


@pytest.mark.parametrize("times,match", BAD_TIMES)
def test_every_function_taking_times_rejects_bad_times(times, match):
    with pytest.raises(ValueError, match=match):
        dl.end_to_end_flow(0.1 * np.eye(2), 2, times, target=np.eye(2))
    with pytest.raises(ValueError, match=match):
        dl.mode_trajectory(times, 2, s=1.0, sigma0=0.1)


def test_repeated_times_give_repeated_rows():
    """Non-decreasing times are allowed; solve_ivp needs strictly increasing ones, so repeats are
    integrated once and copied."""
    Wt = dl.end_to_end_flow(0.1 * np.eye(2), 2, [0.0, 1.0, 1.0, 2.0], target=np.eye(2))
    np.testing.assert_array_equal(Wt[1], Wt[2])
    assert Wt[1, 0, 0] == pytest.approx(float(dl.saxe_learning_curve(1.0, 1.0, 0.1)), abs=1e-9)
    sig = dl.mode_trajectory([0.0, 0.0], 3, s=1.0, sigma0=0.1)
    np.testing.assert_array_equal(sig, [[0.1], [0.1]])
