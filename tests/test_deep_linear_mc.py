"""Layer-wise training of deep linear networks (theory_checks.deep_linear) against the theory.

Fast tests check the simulator's mechanics against independent witnesses (finite differences,
conservation laws, the exact depth-1 completion, a one-step local error of order 2) and run each
measurement at a small size. The acceptance runs (>= 5 seeds, the default sizes) are marked slow
and scaled by ASYMPTOTICS_MC_SCALE.
"""
from __future__ import annotations

import inspect
import os

import numpy as np
import pytest

from asymptotics.models import deep_linear as dl
from theory_checks import deep_linear as sim
from theory_checks.experiments import Report, get_experiment
from theory_checks.compare import mc_scale as _mc_scale




def _random_layers(rng, widths, batch=()):
    return [rng.standard_normal(batch + (widths[j + 1], widths[j])) / np.sqrt(widths[j])
            for j in range(len(widths) - 1)]


# ------------------------------------------------------------------------------------------------
# mechanics
# ------------------------------------------------------------------------------------------------
def test_layer_gradients_match_central_finite_differences():
    rng = np.random.default_rng(0)
    layers = _random_layers(rng, [3, 4, 5, 2])
    target = rng.standard_normal((2, 3))

    def loss(ls):
        return 0.5 * np.sum((dl.product(ls) - target) ** 2)

    grads = sim.layer_gradients(layers, dl.product(layers) - target)
    h = 1e-6
    for j, w in enumerate(layers):
        fd = np.zeros_like(w)
        for idx in np.ndindex(w.shape):
            plus = [x.copy() for x in layers]
            minus = [x.copy() for x in layers]
            plus[j][idx] += h
            minus[j][idx] -= h
            fd[idx] = (loss(plus) - loss(minus)) / (2 * h)
        np.testing.assert_allclose(grads[j], fd, rtol=1e-7, atol=1e-8)


def test_batched_gradient_descent_equals_one_instance_at_a_time():
    rng = np.random.default_rng(1)
    layers = _random_layers(rng, [4, 5, 3], batch=(3,))
    Phi = rng.standard_normal((3, 3, 4))
    _, traj = sim.gradient_descent(layers, lambda W: W - Phi, 0.05, 20, record_every=5)
    assert traj.shape == (5, 3, 3, 4)
    for i in range(3):
        _, one = sim.gradient_descent([w[i] for w in layers], lambda W: W - Phi[i], 0.05, 20,
                                      record_every=5)
        np.testing.assert_allclose(traj[:, i], one, rtol=1e-13, atol=1e-14)


def test_layer_flow_conserves_imbalance_and_matches_the_end_to_end_ode_when_balanced():
    rng = np.random.default_rng(2)
    Phi = rng.standard_normal((4, 3))
    W0 = 0.5 * rng.standard_normal((4, 3))
    times = np.linspace(0, 1.5, 4)
    balanced = dl.balanced_factorization(W0, 3, hidden=5, seed=3)
    _, prod = sim.layer_gradient_flow(balanced, lambda W: W - Phi, times)
    np.testing.assert_allclose(prod, dl.end_to_end_flow(W0, 3, times, target=Phi), atol=1e-9)
    # perturbed: every W_{j+1}^T W_{j+1} - W_j W_j^T is conserved by gradient flow
    pert = [w + 0.1 * rng.standard_normal(w.shape) for w in balanced]
    states, _ = sim.layer_gradient_flow(pert, lambda W: W - Phi, times)
    d0 = [pert[j + 1].T @ pert[j + 1] - pert[j] @ pert[j].T for j in range(2)]
    for ls in states:
        for j in range(2):
            np.testing.assert_allclose(ls[j + 1].T @ ls[j + 1] - ls[j] @ ls[j].T, d0[j], atol=1e-9)


def test_one_gd_step_has_local_error_of_order_two():
    """One Euler step from a balanced init: ||W_GD(eta) - W_ODE(eta)|| = O(eta^2)."""
    rng = np.random.default_rng(4)
    Phi = rng.standard_normal((3, 3))
    W0 = 0.7 * rng.standard_normal((3, 3))
    layers = dl.balanced_factorization(W0, 3, seed=5)
    etas = 0.01 / 2.0 ** np.arange(6)
    errs = [np.linalg.norm(sim.gradient_descent(layers, lambda W: W - Phi, e, 1)[1][-1]
                           - dl.end_to_end_flow(W0, 3, [0, e], target=Phi, rtol=1e-13, atol=1e-15)[-1])
            for e in etas]
    # local slopes are 1.85, 1.92, ... -> 2 (O(eta) corrections); fit_order models them
    assert sim.fit_order(etas, errs) == pytest.approx(2.0, abs=0.01)


def test_fit_order_recovers_known_orders():
    eta = 0.05 / 2.0 ** np.arange(7)
    for p in (1.0, 2.0):
        e = 0.3 * eta ** p * np.exp(0.7 * eta - 2.0 * eta ** 2)
        assert sim.fit_order(eta, e) == pytest.approx(p, abs=1e-10)
    with pytest.raises(ValueError, match="length >= corrections"):
        sim.fit_order(eta[:4], eta[:4])


# ------------------------------------------------------------------------------------------------
# the three measurements at a small size
# ------------------------------------------------------------------------------------------------
def test_gd_vs_ode_order_one_and_imbalance_effect_small():
    res = sim.gd_vs_ode(seeds=3, iterations=(50, 100, 200, 400, 800, 1600), epsilons=(1e-3, 1e-2),
                        seed=1)
    fit = res["order"]
    assert fit.contains(1.0), fit
    assert abs(fit.order - 1.0) < 1e-3
    # errors halve with the step (within 5 % at the finest steps)
    ratios = res["err_rms"][:, :-1] / res["err_rms"][:, 1:]
    np.testing.assert_allclose(ratios[:, -2:], 2.0, rtol=0.05)
    # balanced: layer flow = end-to-end ODE up to integrator tolerance; near-balanced: grows ~delta
    assert res["gf_balanced"].max() < 1e-8
    assert np.all(res["gf_error"][:, 1] > 3 * res["gf_error"][:, 0])
    assert np.all(res["gf_error"] > 1e3 * res["gf_balanced"][:, None])


def test_saxe_closed_form_to_1e6_for_another_draw():
    res = sim.saxe_check(strengths=(2.5, 0.8), u0=1e-4, tau=0.7, n_in=3, n_out=4, n_samples=9,
                         hidden=6, horizon=10.0, n_times=30, seed=5)
    assert res["max_abs_error"] <= 1e-6
    assert res["leak"] < 1e-9
    assert res["e2e_error"] <= 1e-6 and res["mode_error"] <= 1e-6
    # the curves really are sigmoids that reach the target: not a trivially small comparison
    assert res["simulated"][0].max() < 1e-3 and res["simulated"][-1] == pytest.approx([2.5, 0.8], rel=1e-3)


def test_depth1_completion_is_the_observed_entries_plus_the_untouched_init():
    res = sim.matrix_completion(1, size=8, rank=2, observed=0.5, init_scale=0.1, seeds=2, seed=3,
                                tol=1e-14)
    for i in range(2):
        M, mask = sim.completion_problem(8, 2, 0.5, np.random.default_rng([3, sim._TAG_PROBLEM, i]))
        Q = sim._orthonormal(np.random.default_rng([3, sim._TAG_INIT, i]), 8, 8)
        W = np.where(mask, M, 0.1 * Q)
        assert res["effective_rank"][i] == pytest.approx(dl.effective_rank(W), rel=1e-6)
        assert res["recon_error"][i] == pytest.approx(np.linalg.norm(W - M) / np.linalg.norm(M), rel=1e-6)
    assert res["converged"].all()


def test_effective_rank_decreases_with_depth_small():
    records, results = sim.effective_rank_table((1, 2, 3), size=12, rank=1, observed=0.4, seeds=3)
    er = [r["effective_rank"] for r in records]
    assert er[0] > er[1] > er[2], er
    assert all(r["converged"] for r in records)
    # the same problems at every depth (paired comparison)
    np.testing.assert_array_equal(results[0]["target_effective_rank"], results[2]["target_effective_rank"])


def test_run_small_report_and_figures(tmp_path):
    rep = sim.run(seeds=3, size=12, rank=1, observed=0.4, plot=str(tmp_path) + os.sep)
    assert isinstance(rep, Report) and rep.passed, rep.summary
    kinds = {r["measurement"] for r in rep.records}
    assert {"gd-vs-ode", "gd-vs-ode order", "gf-vs-ode", "saxe closed form", "completion"} <= kinds
    for path in rep.metadata["figures"]:
        assert os.path.getsize(path) > 10_000
    assert rep.metadata["figures"][0].endswith("deep_linear_trajectories.png")


def test_experiment_is_registered_and_options_match_run():
    exp = get_experiment("deep-linear")
    assert exp is sim.EXPERIMENT and exp.name == "deep-linear"
    params = inspect.signature(exp.run).parameters
    for opt in exp.options:
        assert opt.name in params and params[opt.name].default == opt.default
    assert exp.options[[o.name for o in exp.options].index("depths")].parse("1,3") == (1, 3)


@pytest.mark.parametrize("kwargs,match", [
    ({"seeds": 1}, "seeds must be an integer >= 2"),
    ({"depths": (2, 1)}, "depths must be"),
    ({"plot": 3}, "plot must be a string"),
    ({"observed": 1.5}, "observed must be"),
])
def test_run_rejects_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        sim.run(**kwargs)


# ------------------------------------------------------------------------------------------------
# acceptance (slow)
# ------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_acceptance_default_experiment():
    """The issue's done-when criteria at the default sizes, >= 5 seeds."""
    seeds = max(5, int(round(10 * _mc_scale())))
    rep = sim.run(seeds=seeds)
    crit = rep.metadata["criteria"]
    assert crit["order_ci_contains_1"], rep.summary
    assert crit["saxe_error_le_1e-6"], rep.summary
    assert crit["effective_rank_strictly_decreasing"], rep.summary
    assert crit["completion_converged"], rep.summary
    assert rep.passed


@pytest.mark.slow
def test_order_over_several_base_seeds():
    """The pooled order (all seeds of several bases) stays within its CI + allowance of 1."""
    bases = max(2, int(round(6 * _mc_scale())))
    res = sim.gd_vs_ode(seeds=5 * bases, epsilons=(), seed=100)
    assert res["order"].contains(1.0), res["order"]
    assert res["order_max"].contains(1.0), res["order_max"]


@pytest.mark.slow
def test_effective_rank_decrease_is_paired_and_significant():
    """Paired one-sided t-test at level 1 % (>= 10 seeds, the same problems at every depth)."""
    from scipy import stats

    seeds = max(10, int(round(10 * _mc_scale())))
    _, results = sim.effective_rank_table((1, 2, 3), seeds=seeds, seed=0)
    assert all(r["converged"].all() for r in results)
    e = np.array([r["effective_rank"] for r in results])  # (depths, seeds)
    for a, b in ((0, 1), (1, 2)):
        diff = e[a] - e[b]
        se = diff.std(ddof=1) / np.sqrt(diff.size)
        assert diff.mean() > stats.t.ppf(0.99, diff.size - 1) * se, (a, b, diff)
