"""theory_checks.lazy: exact derivatives, the closed-form linearized dynamics, and the measured rates.

Independent witnesses: central finite differences (error O(h^2)) and the complex-step derivative
(exact to rounding) for the hand-written Jacobian; a step-by-step GD on the linearized model, and a
direct linear solve (kernel regression) at t -> oo, for the eigenbasis closed form; mpmath at 400
digits for the small-eigenvalue filter; first-order convergence of small-step GD to the flow closed
form. The width/scale exponents are measured at reduced size by default and at full size behind the
``slow`` marker (seeds scaled by ASYMPTOTICS_MC_SCALE).
"""
from __future__ import annotations

import math
import warnings

import mpmath
import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st
from scipy import stats

from theory_checks import lazy
from theory_checks.lazy import (Network, fit_exponent, linearized_closed_form, make_task, sphere,
                                train_gd, train_linearized_gd)
from theory_checks.compare import mc_scale as _mc_scale




def _problem(seed, d=3, width=8, depth=2, alpha=1.0, activation="tanh", n=6, m=5, centered=False):
    rng = np.random.default_rng(seed)
    net = Network(d=d, width=width, depth=depth, alpha=alpha, activation=activation)
    X, y, Xt, _ = make_task("tanh", rng, n, m, d)
    return net, net.init(rng, centered=centered), X, y, Xt


# ------------------------------------------------------------------------------------------------
# exact derivatives
# ------------------------------------------------------------------------------------------------
H_FD = 1e-5
# Central differences: error <= (h^2/6) max|f'''| + ~4 eps max|f| / h. For the shapes below
# (|theta| <~ 5, alpha <= 2, width <= 6, depth <= 3, |x| = sqrt(d) <= sqrt 5) max|f| <~ 50 and
# max|f'''| along one coordinate <~ 1e3, i.e. <~ 2e-7 + 5e-9; the tolerance is 1e-6 (x (1 + max|J|)).
FD_TOL = 1e-6


@settings(max_examples=25, deadline=None)
@given(d=st.integers(1, 5), width=st.integers(1, 6), depth=st.integers(2, 3), n=st.integers(1, 4),
       activation=st.sampled_from(["tanh", "erf", "relu"]), alpha=st.floats(0.3, 2.0),
       seed=st.integers(0, 2 ** 16))
def test_jacobian_matches_central_differences(d, width, depth, n, activation, alpha, seed):
    rng = np.random.default_rng(seed)
    net = Network(d=d, width=width, depth=depth, alpha=alpha, activation=activation)
    theta = net.init(rng)
    X = rng.standard_normal((n, d))
    if activation == "relu":      # no kink within the difference stencil (measure-zero event otherwise)
        Hs, _, _ = net._forward(theta, X)
        Ws = net.unflatten(theta)[:-1]
        z = [Hs[l] @ W.T / math.sqrt(f) for l, (W, f) in enumerate(zip(Ws, net.fans))]
        assume(min(np.abs(zz).min() for zz in z) > 1e-3)
    J = net.jacobian(theta, X)
    Jfd = np.empty_like(J)
    for k in range(net.n_params):
        e = np.zeros(net.n_params)
        e[k] = H_FD
        Jfd[:, k] = (net.forward(theta + e, X) - net.forward(theta - e, X)) / (2 * H_FD)
    assert np.max(np.abs(J - Jfd)) <= FD_TOL * (1 + np.max(np.abs(J)))


@pytest.mark.parametrize("activation", ["tanh", "erf"])
@pytest.mark.parametrize("depth", [2, 3, 4])
def test_jacobian_matches_complex_step_to_rounding(activation, depth):
    """Complex step ``Im f(theta + i h e_k) / h`` (h = 1e-30) has no cancellation: exact to rounding."""
    rng = np.random.default_rng(depth)
    net = Network(d=4, width=5, depth=depth, alpha=1.3, activation=activation)
    theta = net.init(rng)
    X = rng.standard_normal((3, 4))
    J = net.jacobian(theta, X)
    Jcs = np.empty_like(J)
    for k in range(net.n_params):
        th = theta.astype(complex)
        th[k] += 1e-30j
        Jcs[:, k] = net._forward(th, X.astype(complex))[2].imag / 1e-30
    np.testing.assert_allclose(J, Jcs, rtol=1e-13, atol=1e-14)


@settings(max_examples=20, deadline=None)
@given(d=st.integers(1, 6), width=st.integers(1, 7), depth=st.integers(2, 4), n=st.integers(1, 5),
       m=st.integers(1, 4), activation=st.sampled_from(["tanh", "erf", "relu"]), seed=st.integers(0, 999))
def test_vjp_jvp_ntk_are_the_jacobian(d, width, depth, n, m, activation, seed):
    rng = np.random.default_rng(seed)
    net = Network(d=d, width=width, depth=depth, alpha=0.7, activation=activation)
    theta = net.init(rng)
    X, X2 = rng.standard_normal((n, d)), rng.standard_normal((m, d))
    J, J2 = net.jacobian(theta, X), net.jacobian(theta, X2)
    v, dth = rng.standard_normal(n), rng.standard_normal(net.n_params)
    scale = 1 + np.max(np.abs(J))
    assert np.max(np.abs(net.vjp(theta, X, v) - J.T @ v)) <= 1e-13 * scale * (1 + np.abs(v).sum())
    assert np.max(np.abs(net.jvp(theta, X, dth) - J @ dth)) <= 1e-13 * scale * (1 + np.abs(dth).sum())
    assert np.max(np.abs(net.ntk(theta, X) - J @ J.T)) <= 1e-13 * scale ** 2 * net.n_params
    assert np.max(np.abs(net.ntk(theta, X, X2) - J @ J2.T)) <= 1e-13 * scale ** 2 * net.n_params


def test_layout_and_centered_init():
    net = Network(d=3, width=4, depth=3)
    assert net.shapes == ((4, 3), (4, 4), (4,)) and net.n_params == 12 + 16 + 4
    theta = net.init(np.random.default_rng(0), centered=True)
    W1, W2, a = net.unflatten(theta)
    np.testing.assert_array_equal(W2[:2], W2[2:])
    np.testing.assert_array_equal(a[:2], -a[2:])
    assert np.max(np.abs(net.forward(theta, sphere(np.random.default_rng(1), 10, 3)))) < 1e-15
    # NTK parameterization: the NTK diagonal is O(1) uniformly in the width (two layers, tanh:
    # E tanh(g)^2 + E tanh'(g)^2 * |x|^2/d with g ~ N(0, 1), |x|^2 = d)
    x = sphere(np.random.default_rng(2), 1, 5)
    vals = [Network(d=5, width=w).ntk(Network(d=5, width=w).init(np.random.default_rng(3)), x)[0, 0]
            for w in (100, 10000)]
    assert abs(vals[1] - 0.855) < 0.05 and abs(vals[0] - vals[1]) < 0.3


# ------------------------------------------------------------------------------------------------
# the closed form against gradient descent on the linearized model
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("width,n,duplicate", [(16, 10, False), (2, 12, False), (8, 10, True)])
@pytest.mark.parametrize("scale_loss,alpha", [(True, 1.0), (True, 3.0), (False, 0.5)])
def test_closed_form_equals_linearized_gd(width, n, duplicate, scale_loss, alpha):
    """To 1e-8 (outputs O(1)); width 2 in d = 3 has P = 8 < n (rank-deficient K0), and duplicated
    inputs make K0 singular too."""
    net, theta0, X, y, Xt = _problem(width + n, width=width, n=n, alpha=alpha)
    if duplicate:
        X[1] = X[0]
    times = [0, 1, 2, 7, 50, 400, 3000]
    c = lazy.loss_factor(net, scale_loss)
    lam_max = np.linalg.eigvalsh(net.ntk(theta0, X) / c)[-1]
    eta = 1.5 * n / lam_max                           # aggressive, but < 2 n / lam_max (stable)
    if not duplicate and width == 2:
        assert np.linalg.matrix_rank(net.ntk(theta0, X)) <= net.n_params < n
    cf = linearized_closed_form(net, theta0, X, y, times=times, eta=eta, X_test=Xt, scale_loss=scale_loss)
    gd = train_linearized_gd(net, theta0, X, y, eta=eta, steps=times[-1], times=times, X_test=Xt,
                             scale_loss=scale_loss)
    assert np.max(np.abs(cf.train - gd.train)) < 1e-8
    assert np.max(np.abs(cf.test - gd.test)) < 1e-8
    assert np.max(np.abs(cf.weight_change - gd.weight_change)) < 1e-8
    assert np.max(np.abs(cf.theta - gd.theta)) < 1e-8


def test_closed_form_limits():
    """t = 0 is the initial network; t -> oo is kernel regression (independent solve) on a full-rank K."""
    net, theta0, X, y, Xt = _problem(5, width=64, n=8)
    cf = linearized_closed_form(net, theta0, X, y, times=[0.0, 1e9], flow=True, X_test=Xt)
    np.testing.assert_allclose(cf.train[0], net.forward(theta0, X), rtol=0, atol=1e-14)
    np.testing.assert_allclose(cf.test[0], net.forward(theta0, Xt), rtol=0, atol=1e-14)
    K, Kt = net.ntk(theta0, X), net.ntk(theta0, Xt, X)
    krr = net.forward(theta0, Xt) - Kt @ np.linalg.solve(K, net.forward(theta0, X) - y)
    np.testing.assert_allclose(cf.train[1], y, atol=1e-10)
    np.testing.assert_allclose(cf.test[1], krr, atol=1e-9)


def test_flow_is_the_small_step_limit_at_first_order():
    net, theta0, X, y, Xt = _problem(6, width=32, n=8)
    t = 20.0
    flow = linearized_closed_form(net, theta0, X, y, times=[t], flow=True, X_test=Xt)
    errs = []
    for steps in (200, 400, 800):
        gd = linearized_closed_form(net, theta0, X, y, times=[steps], eta=t / steps, X_test=Xt)
        errs.append(np.max(np.abs(gd.test - flow.test)))
    ratios = [errs[0] / errs[1], errs[1] / errs[2]]
    assert all(1.8 < r < 2.2 for r in ratios), ratios           # O(eta): halving eta halves the error


def test_small_eigenvalue_filter_against_mpmath():
    """phi_t(lam) = (1 - (1 - eta lam/n)^t)/lam near lam = 0, where the naive formula cancels."""
    lam = np.array([0.0, 1e-300, 1e-17, 1e-12, 1e-6, 1e-2, 1.0, 10.0])   # q = 1.4 at 10: oscillating, stable
    t, eta, n = np.array([1, 10, 1000, 10 ** 6]), 0.7, 5
    phi, p = lazy._phi_and_decay(lam, t, eta, n, flow=False)
    for i, ti in enumerate(t):
        for j, lj in enumerate(lam):
            with mpmath.workdps(400):          # the naive formula, with 400 digits to spare
                q = mpmath.mpf(eta) * mpmath.mpf(lj) / n
                exact = mpmath.mpf(eta) * ti / n if lj == 0 else (1 - (1 - q) ** int(ti)) / mpmath.mpf(lj)
                decay = (1 - q) ** int(ti)
            assert abs(phi[i, j] - float(exact)) <= 1e-13 * abs(float(exact))
            assert abs(p[i, j] - float(decay)) <= 1e-13 * max(1.0, abs(float(decay)))
    phi_f, _ = lazy._phi_and_decay(lam, t.astype(float), None, n, flow=True)
    for i, ti in enumerate(t):
        for j, lj in enumerate(lam):
            with mpmath.workdps(400):
                exact = (mpmath.mpf(int(ti)) / n if lj == 0 else
                         (1 - mpmath.exp(-mpmath.mpf(lj) * int(ti) / n)) / mpmath.mpf(lj))
            assert abs(phi_f[i, j] - float(exact)) <= 1e-13 * abs(float(exact))


def test_network_gd_approaches_linearization_with_scale():
    """Chizat et al.: with loss / alpha^2 and f_0 = 0 ('subtract'), deviation ~ 1/alpha (4x alpha ->
    ~1/4; next order O(1/alpha^2) relative, so [0.2, 0.3] at alpha = 8 -> 32)."""
    X, y, Xt, _ = make_task("tanh", np.random.default_rng(0), 12, 30, 4)
    devs = [lazy.measure(Network(d=4, width=64, alpha=a), X, y, Xt, eta=1.0, steps=300, seed=1,
                         centering="subtract")["dev_test"] for a in (8.0, 32.0)]
    assert 0.2 < devs[1] / devs[0] < 0.3


def test_train_gd_records_and_decreases_loss():
    net, theta0, X, y, Xt = _problem(7, width=32, n=8)
    tr = train_gd(net, theta0, X, y, eta=1.0, steps=200, times=[0, 100, 200], X_test=Xt, record_kernel=True)
    loss = np.mean((tr.train - y) ** 2, axis=1)
    assert loss[2] < loss[1] < loss[0]
    assert tr.kernel_change[0] == 0.0 and tr.weight_change[0] == 0.0
    np.testing.assert_allclose(tr.train[-1], net.forward(tr.theta, X), atol=1e-14)


# ------------------------------------------------------------------------------------------------
# fits and validation
# ------------------------------------------------------------------------------------------------
def test_fit_exponent_exact_power_law():
    x = np.array([64, 128, 256, 512, 1024.0])
    v = np.tile(3.0 * x ** -0.75, (4, 1))
    f = fit_exponent(x, v)
    assert abs(f.slope + 0.75) < 1e-12 and abs(f.ci_low + 0.75) < 1e-12 and f.se < 1e-12
    assert all(abs(s + 0.75) < 1e-12 for s in f.local)


def test_fit_exponent_against_independent_computation():
    """The slope is np.polyfit's on the seed-mean logs; the interval is scipy's Student-t interval
    (stats.t.interval) on the per-seed np.polyfit slopes; se is their standard error (stats.sem)."""
    rng = np.random.default_rng(5)
    x = np.array([10.0, 30.0, 100.0, 300.0])
    v = 2.0 * x ** -0.6 * np.exp(rng.normal(0, 0.2, (6, 4)))
    f = fit_exponent(x, v)
    per_seed = np.array([np.polyfit(np.log(x), row, 1)[0] for row in np.log(v)])
    assert abs(f.slope - np.polyfit(np.log(x), np.log(v).mean(axis=0), 1)[0]) < 1e-12
    assert abs(f.se - stats.sem(per_seed)) < 1e-12
    lo, hi = stats.t.interval(0.95, per_seed.size - 1, loc=per_seed.mean(), scale=stats.sem(per_seed))
    assert abs(f.ci_low - lo) < 1e-12 and abs(f.ci_high - hi) < 1e-12


# Coverage: with i.i.d. Gaussian log-noise the per-seed slopes are i.i.d. Gaussian, so the Student-t
# interval covers the true slope with probability exactly 0.95. Over D = 400 independent draws the
# number of covering intervals is Binomial(400, 0.95): mean 380, sd sqrt(400 * 0.95 * 0.05) = 4.36;
# the 3-sigma band is 380 -+ 13.1, i.e. 367..393 covering draws (coverage 0.9175..0.9825).
# The previous percentile bootstrap (seeds resampled independently at each x, 2000 resamples) gave
# 300/400 = 0.750 at 2 seeds and 344/400 = 0.860 at 4 seeds in exactly this setting (369/400 at 10
# seeds), so it fails this test.
COVERAGE_DRAWS = 400
COVERAGE_BAND = (367, 393)


@pytest.mark.parametrize("seeds", [2, 4, 10])
def test_fit_exponent_interval_has_95_percent_coverage(seeds):
    x = np.array([64, 128, 256, 512, 1024.0])
    v = np.tile(3.0 * x ** -0.75, (seeds, 1))
    cover = 0
    for s in range(COVERAGE_DRAWS):
        noisy = v * np.exp(np.random.default_rng(s).normal(0, 0.1, v.shape))
        g = fit_exponent(x, noisy)
        cover += g.ci_low <= -0.75 <= g.ci_high
    assert COVERAGE_BAND[0] <= cover <= COVERAGE_BAND[1], cover


@pytest.mark.parametrize("kwargs,match", [
    (dict(d=0, width=3), "d must be"), (dict(d=2, width=0), "width must be"),
    (dict(d=2, width=3, depth=1), "depth must be"), (dict(d=2, width=3, alpha=0.0), "alpha must be"),
    (dict(d=2, width=3, activation="sigmoid"), "activation must be"),
    (dict(d=2, width=3, activation=["tanh"]), "activation must be"),
    (dict(d=2, width=10 ** 5, depth=3), "parameters"),
])
def test_network_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Network(**kwargs)


def test_bad_inputs_raise_value_errors():
    net, theta0, X, y, Xt = _problem(0)
    with pytest.raises(ValueError, match="theta must have shape"):
        net.forward(theta0[:-1], X)
    with pytest.raises(ValueError, match="X must have shape"):
        net.forward(theta0, X[:, :2])
    with pytest.raises(ValueError, match="even"):
        Network(d=2, width=3).init(np.random.default_rng(0), centered=True)
    with pytest.raises(ValueError, match="y must have shape"):
        train_gd(net, theta0, X, y[:-1], eta=1.0, steps=2, times=[2])
    with pytest.raises(ValueError, match="times must be strictly increasing"):
        train_gd(net, theta0, X, y, eta=1.0, steps=2, times=[2, 1])
    with pytest.raises(ValueError, match="eta must be < 2 n / lambda_max"):
        linearized_closed_form(net, theta0, X, y, times=[3], eta=1e6)
    with pytest.raises(ValueError, match="eta is required"):
        linearized_closed_form(net, theta0, X, y, times=[3])
    with pytest.raises(ValueError, match="diverged"):
        train_gd(net, theta0, X, y * 1e3, eta=1e3, steps=200, times=[200])
    with pytest.raises(ValueError, match="centering must be"):
        lazy.measure(net, X, y, Xt, eta=1.0, steps=2, seed=0, centering="zero")
    with pytest.raises(ValueError, match="values must have shape"):
        fit_exponent([1.0, 2.0], [[1.0, 2.0]])
    with pytest.raises(ValueError, match="x must hold at least 2 distinct"):
        fit_exponent([2.0, 2.0], [[1.0, 2.0], [1.0, 3.0]])
    with pytest.raises(ValueError, match="alpha_centering must be"):
        lazy.run(alpha_centering="none", widths=(), steps=2)
    with pytest.raises(ValueError, match="widths must hold at least 2"):
        lazy.run(widths=(64,), alphas=(), steps=2)


# ------------------------------------------------------------------------------------------------
# the experiment: reduced size by default, benchmark size behind the slow marker
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("call,name", [
    (lambda net, th, X, y: net.forward(th, X), "theta"),
    (lambda net, th, X, y: net.jacobian(th, X), "theta"),
    (lambda net, th, X, y: net.ntk(th, X), "theta"),
    (lambda net, th, X, y: net.vjp(th, X, np.ones(len(X))), "theta"),
    (lambda net, th, X, y: net.jvp(th, X, np.ones(net.n_params)), "theta"),
    (lambda net, th, X, y: net.unflatten(th), "theta"),
    (lambda net, th, X, y: train_gd(net, th, X, y, eta=1.0, steps=3, times=[3]), "theta0"),
    (lambda net, th, X, y: train_linearized_gd(net, th, X, y, eta=1.0, steps=3, times=[3]), "theta0"),
    (lambda net, th, X, y: linearized_closed_form(net, th, X, y, eta=1.0, times=[3]), "theta0"),
])
def test_non_finite_parameters_raise(call, name, bad):
    """NaN/inf parameters are rejected up front, naming the argument (not NaN outputs, tanh(inf) = 1
    outputs, a misleading 'diverged' or a LinAlgError)."""
    net, theta0, X, y, _ = _problem(0)
    th = theta0.copy()
    th[3] = bad
    with pytest.raises(ValueError, match=rf"^{name} must (not be NaN|be finite)"):
        call(net, th, X, y)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_vjp_jvp_directions_raise(bad):
    net, theta0, X, _, _ = _problem(0)
    v, dth = np.ones(len(X)), np.ones(net.n_params)
    v[1], dth[1] = bad, bad
    with pytest.raises(ValueError, match="^v must (not be NaN|be finite)"):
        net.vjp(theta0, X, v)
    with pytest.raises(ValueError, match="^dtheta must (not be NaN|be finite)"):
        net.jvp(theta0, X, dth)


def test_linearized_gd_divergence_raises_like_gd():
    """Above eta = 2 n / lambda_max(K) the linearized GD overflows: the same ValueError as train_gd,
    with no RuntimeWarning on the way."""
    net, theta0, X, y, _ = _problem(0)
    eta_crit = 2 * len(X) / np.linalg.eigvalsh(net.ntk(theta0, X))[-1]
    assert 1e4 > eta_crit
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"^gradient descent on the linearized model diverged at "
                                             r"step \d+; lower eta \(got 10000.0\)"):
            train_linearized_gd(net, theta0, X, y, eta=1e4, steps=200, times=[200])
        # just below the threshold it runs and agrees with the closed form
        ok = train_linearized_gd(net, theta0, X, y, eta=0.9 * eta_crit, steps=200, times=[200])
    cf = linearized_closed_form(net, theta0, X, y, eta=0.9 * eta_crit, times=[200])
    assert np.max(np.abs(ok.train - cf.train)) < 1e-8


def test_measure_and_closed_form_argument_checks():
    net, theta0, X, y, Xt = _problem(0)
    for n_times in (0, 1):
        with pytest.raises(ValueError, match="n_times must be an integer >= 2"):
            lazy.measure(net, X, y, Xt, eta=1.0, steps=5, seed=0, n_times=n_times)
    with pytest.raises(ValueError, match="X_test must be a 2-d array with at least one row"):
        lazy.measure(net, X, y, None, eta=1.0, steps=5, seed=0)
    with pytest.raises(ValueError, match="steps must be an integer >= 1"):
        lazy.measure(net, X, y, Xt, eta=1.0, steps=0, seed=0)
    with pytest.raises(ValueError, match="eta must be None with flow=True"):
        linearized_closed_form(net, theta0, X, y, times=[3.0], eta=1.0, flow=True)
    for flow, times in ((False, [3, 1]), (True, [3.0, 3.0]), (True, [2.0, 1.0])):
        with pytest.raises(ValueError, match="times must be strictly increasing"):
            linearized_closed_form(net, theta0, X, y, times=times, eta=None if flow else 1.0, flow=flow)
    with pytest.raises(ValueError, match="times must be >= 0"):
        linearized_closed_form(net, theta0, X, y, times=[-1.0, 2.0], flow=True)
    with pytest.raises(ValueError, match="times must be finite"):
        linearized_closed_form(net, theta0, X, y, times=[1.0, np.inf], flow=True)
    # n_times = 2 is the smallest accepted: the recorded steps are 0, 1 and `steps`
    assert lazy._log_times(5, 2).tolist() == [0, 1, 5]
    lazy.measure(net, X, y, Xt, eta=1.0, steps=5, seed=0, n_times=2)


def _exponent(report, sweep, q):
    return {r["stat"]: r[q] for r in report.records if r["sweep"] == sweep and r["stat"] != "mean"}


def test_experiment_reduced_size():
    """3 widths over 16x and 4 scales over 8x, 3 seeds, 300 steps: the bounds hold and the weight
    change has its exact exponents (-1/2 in N, -1 in alpha)."""
    rep = lazy.run(widths=(64, 256, 1024), alphas=(2.0, 4.0, 8.0, 16.0), seeds=3, steps=300, m_test=64)
    assert rep.passed, rep.summary
    w = _exponent(rep, "width", "weight_change")
    assert abs(w["exponent"] + 0.5) < 0.1
    a = _exponent(rep, "alpha", "dev_test")
    assert abs(a["exponent"] + 1.0) < 0.15
    assert rep.metadata["widths"] == [64, 256, 1024]


@pytest.mark.slow
def test_experiment_width_scaling_full_size():
    """Default sweep (6 widths over 32x, 6 scales over 32x); 8 seeds x ASYMPTOTICS_MC_SCALE (>= 3).
    The output deviation decays at least as fast as the N^-1/2 bound -- in fact like 1/N."""
    seeds = max(3, round(8 * _mc_scale()))
    rep = lazy.run(seeds=seeds)
    assert rep.passed, rep.summary
    dev = _exponent(rep, "width", "dev_test")
    assert dev["ci_high"] <= -0.5 + lazy.EXPONENT_ALLOWANCE
    assert dev["ci_low"] - lazy.EXPONENT_ALLOWANCE <= -1.0 <= dev["ci_high"] + lazy.EXPONENT_ALLOWANCE
