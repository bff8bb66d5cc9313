"""theory_checks.iterative_linearisation: the two exact end points (K = 1 is gradient descent, K = oo
is lazy training), the block arithmetic, the predictor convention, and the K-trend experiment
(reduced size by default, full size behind the slow marker, seeds scaled by ASYMPTOTICS_MC_SCALE)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from theory_checks import iterative_linearisation as il
from theory_checks.iterative_linearisation import alignment, iterative_linearisation
from theory_checks.lazy import (Network, linearized_closed_form, make_task, train_gd,
                                train_linearized_gd)
from theory_checks.compare import mc_scale as _mc_scale




def _problem(seed, d=4, width=12, depth=2, alpha=0.5, activation="relu", n=10, m=6, task="he2"):
    rng = np.random.default_rng(seed)
    X, y, Xt, yt = make_task(task, rng, n, m, d)
    net = Network(d=d, width=width, depth=depth, alpha=alpha, activation=activation)
    return net, net.init(rng, centered=width % 2 == 0), X, y, Xt


def _eta(net, theta0, X):
    """0.5, or less when the NTK is large (e.g. d = 1): at most n / lambda_max(K / alpha^2) (stable)."""
    lam_max = np.linalg.eigvalsh(net.ntk(theta0, X))[-1] / net.alpha ** 2
    return min(0.5, X.shape[0] / lam_max) if lam_max > 0 else 0.5     # K = 0: all ReLUs dead


@settings(max_examples=15, deadline=None)
@given(d=st.integers(1, 5), width=st.integers(2, 10), depth=st.integers(2, 3), n=st.integers(2, 12),
       activation=st.sampled_from(["tanh", "erf", "relu"]), steps=st.integers(1, 40),
       seed=st.integers(0, 999))
def test_k1_is_gradient_descent(d, width, depth, n, activation, steps, seed):
    net, theta0, X, y, Xt = _problem(seed, d=d, width=width, depth=depth, activation=activation, n=n)
    eta = _eta(net, theta0, X)
    res = iterative_linearisation(net, theta0, X, y, K=1, eta=eta, steps=steps, X_test=Xt)
    gd = train_gd(net, theta0, X, y, eta=eta, steps=steps, times=[steps], X_test=Xt)
    assert np.max(np.abs(res.theta - gd.theta)) <= 1e-10
    assert np.max(np.abs(res.test - gd.test[-1])) <= 1e-10
    assert np.max(np.abs(res.train - gd.train[-1])) <= 1e-10
    assert res.relinearisations == steps + 1          # every step, and at the end


@settings(max_examples=15, deadline=None)
@given(d=st.integers(1, 5), width=st.integers(2, 10), depth=st.integers(2, 3), n=st.integers(2, 12),
       activation=st.sampled_from(["tanh", "erf", "relu"]), steps=st.integers(1, 60),
       K=st.sampled_from([None, math.inf, "steps+1", "big"]), seed=st.integers(0, 999))
def test_k_infinite_is_lazy_training(d, width, depth, n, activation, steps, K, seed):
    net, theta0, X, y, Xt = _problem(seed, d=d, width=width, depth=depth, activation=activation, n=n)
    K = steps + 1 if K == "steps+1" else 10 ** 6 if K == "big" else K
    eta = _eta(net, theta0, X)
    res = iterative_linearisation(net, theta0, X, y, K=K, eta=eta, steps=steps, X_test=Xt)
    lin = train_linearized_gd(net, theta0, X, y, eta=eta, steps=steps, times=[steps], X_test=Xt)
    cf = linearized_closed_form(net, theta0, X, y, eta=eta, times=[steps], X_test=Xt)
    for ref in (lin, cf):
        assert np.max(np.abs(res.theta - ref.theta)) <= 1e-10
        assert np.max(np.abs(res.test - ref.test[-1])) <= 1e-10
        assert np.max(np.abs(res.train - ref.train[-1])) <= 1e-10
    assert res.relinearisations == 1 and np.array_equal(res.anchor, theta0)


def test_k_equal_steps_relinearizes_at_the_end():
    """K = T: the parameters are lazy training's, the predictor is the network at those parameters."""
    net, theta0, X, y, Xt = _problem(3)
    res = iterative_linearisation(net, theta0, X, y, K=50, eta=0.5, steps=50, X_test=Xt)
    lazy = train_linearized_gd(net, theta0, X, y, eta=0.5, steps=50, times=[50], X_test=Xt)
    assert np.max(np.abs(res.theta - lazy.theta)) <= 1e-10
    np.testing.assert_allclose(res.test, net.forward(res.theta, Xt), rtol=0, atol=1e-14)
    assert res.relinearisations == 2


def test_partial_last_block_and_both_block_forms(monkeypatch):
    """T = 10, K = 4: anchors at 0, 4, 8; the predictor is the linearization at theta_8 after 2 more
    linear steps. Computed (a) by the function-space blocks, (b) by the parameter-space blocks, (c) by
    composing K = 4 runs with train_linearized_gd by hand."""
    net, theta0, X, y, Xt = _problem(4, width=16, n=12)
    kw = dict(eta=0.7, X_test=Xt)
    monkeypatch.setattr(il, "_block_in_function_space", lambda net, b, n: b > 1)
    a = iterative_linearisation(net, theta0, X, y, K=4, steps=10, **kw)
    monkeypatch.setattr(il, "_block_in_function_space", lambda net, b, n: False)
    b = iterative_linearisation(net, theta0, X, y, K=4, steps=10, **kw)
    theta = theta0
    for _ in range(2):
        theta = train_linearized_gd(net, theta, X, y, steps=4, times=[4], **kw).theta
    last = train_linearized_gd(net, theta, X, y, steps=2, times=[2], **kw)
    for r in (a, b):
        assert r.relinearisations == 3
        np.testing.assert_allclose(r.anchor, theta, rtol=0, atol=1e-10)
        np.testing.assert_allclose(r.theta, last.theta, rtol=0, atol=1e-10)
        np.testing.assert_allclose(r.test, last.test[-1], rtol=0, atol=1e-10)
        np.testing.assert_allclose(r.train, last.train[-1], rtol=0, atol=1e-10)


def test_alignment_properties():
    rng = np.random.default_rng(0)
    y = rng.standard_normal(20)
    G = rng.standard_normal((20, 5))
    K = G @ G.T
    assert abs(alignment(np.outer(y, y), y) - 1.0) < 1e-12
    assert abs(alignment(3.7 * K, y) - alignment(K, y)) < 1e-14               # scale invariant
    assert abs(alignment(K + 5.0, y + 2.0) - alignment(K, y)) < 1e-12         # centered
    assert -1.0 <= alignment(K, y) <= 1.0
    with pytest.raises(ValueError, match="constant"):
        alignment(np.ones((20, 20)), y)
    with pytest.raises(ValueError, match="K must have shape"):
        alignment(K[:3], y)


def test_ntk_top_target_is_kernel_easy():
    """The control target lies in the initial NTK's top eigenspace: kernel regression with that NTK
    (lazy training at t -> oo) recovers it far better than the he2 target."""
    net = Network(d=10, width=64, activation="relu", alpha=0.5)
    rng = np.random.default_rng(0)
    X, _, Xt, _ = make_task("linear", rng, 60, 200, 10)
    theta0 = net.init(rng, centered=True)
    y, yt = il.ntk_top_target(net, theta0, X, Xt, rng)
    assert abs(np.concatenate([y, yt]).std() - 1) < 1e-12
    lazy = linearized_closed_form(net, theta0, X, y, times=[1e6], flow=True, X_test=Xt)
    assert np.mean((lazy.test[-1] - yt) ** 2) < 0.1


def test_bad_inputs():
    net, theta0, X, y, Xt = _problem(0)
    with pytest.raises(ValueError, match="K must be"):
        iterative_linearisation(net, theta0, X, y, K=0, eta=0.5, steps=3)
    with pytest.raises(ValueError, match="eta must be"):
        iterative_linearisation(net, theta0, X, y, K=1, eta=-1.0, steps=3)
    with pytest.raises(ValueError, match="diverged"):
        iterative_linearisation(net, theta0, X, y * 1e3, K=1, eta=1e4, steps=300)
    with pytest.raises(ValueError, match="tasks must be among"):
        il.run(tasks=("quadratic",))
    with pytest.raises(ValueError, match="ks must hold"):
        il.run(ks=(1,))
    # the verdict compares lazy training (K = oo) with GD (K = 1) and checks both exact end points
    for ks in ((2, 3), (1, 3), (0, 3)):
        with pytest.raises(ValueError, match=r"ks must contain 1 \(gradient descent\) and 0"):
            il.run(ks=ks, n=8, d=3, width=4, steps=4, seeds=2, tasks=("he2",), m_test=10)
    with pytest.raises(ValueError, match="width must be even"):
        il.run(width=7)


def _trend(rep, task):
    return rep.metadata["trend"][task]


def test_experiment_reduced_size():
    """he2 (feature learning helps) and the kernel-easy control, 3 seeds, n = 120, width 128."""
    rep = il.run(tasks=("he2", "ntk-top"), ks=(1, 8, 64, 0), n=120, m_test=400, m_align=150,
                 width=128, steps=600, seeds=3)
    assert rep.passed, rep.summary
    ends = rep.metadata["end_points"]
    assert max(ends.values()) <= il.EXACT_TOL
    he2 = [r for r in rep.records if r["task"] == "he2"]
    assert he2[-1]["test_error"] > he2[0]["test_error"]                 # lazy worse than GD
    assert he2[-1]["kernel_change"] == 0.0 and he2[0]["kernel_change"] > 0.1


@pytest.mark.slow
def test_experiment_full_size():
    """The default experiment with 6 x ASYMPTOTICS_MC_SCALE seeds (>= 3)."""
    rep = il.run(seeds=max(3, round(6 * _mc_scale())))
    assert rep.passed, rep.summary
    assert max(rep.metadata["end_points"].values()) <= il.EXACT_TOL
    assert _trend(rep, "he2")["gap"] > 3 * _trend(rep, "he2")["gap_se"]
