"""Slow Monte Carlo acceptance of the NT model (sizes scaled by ASYMPTOTICS_MC_SCALE; CI: 0.25).

* NT and RF kernel eigenvalues vs the finite-N random kernel: within 4 standard errors (no allowance:
  the estimator is unbiased at every N).
* NT ridge regression at d = 20 and 50, N d >> n, on grids through the interpolation threshold of the
  infinite-width kernel (sigma = t + t^2/2: the NT kernel rho + rho^2 has rank 1 + d + B(d, 2), and
  ridgeless regression diverges there) and, for relu, through n ~ d: within 3 standard errors plus
  theory_checks.neural_tangent.ridge_allowance.
* The RF-vs-NT staircase (approximation error with infinite data, relu) at d = 20 and 30: within 3
  standard errors plus theory_checks.neural_tangent.approximation_allowance.
"""
from __future__ import annotations


import pytest

from asymptotics.activations import get_activation
from asymptotics.expansions.gegenbauer import multiplicity
from theory_checks import neural_tangent as tc
from theory_checks.compare import mc_scale as _mc_scale

POLY = get_activation("poly", coeffs=[0, 1, 0.5])




def _seeds(full: int) -> int:
    return max(2, round(full * _mc_scale()))


def _report(cs):
    return "\n".join(str(c.to_record()) for c in cs)


@pytest.mark.slow
@pytest.mark.parametrize("model", ["nt", "rf"])
@pytest.mark.parametrize("d,N", [(20, 5), (20, 50), (50, 50)])
def test_kernel_eigenvalues_vs_finite_width_kernel(model, d, N):
    cs = tc.check_kernel("relu", d, N, 4, model=model, m=2000, seeds=max(8, _seeds(20)), k_se=4.0)
    print(_report(cs))
    assert all(c.verdict == "agree" for c in cs), _report(cs)


@pytest.mark.slow
@pytest.mark.parametrize("d,N", [(20, 500), (50, 2000)])
def test_nt_ridge_through_the_interpolation_threshold(d, N):
    rank = 1 + d + int(multiplicity(d, 2))                      # 230 at d = 20, 1326 at d = 50
    fracs = (0.5, 0.9, 1.1, 1.5) if d == 50 else (0.5, 0.8, 0.9, 1.1, 1.25, 2.0)
    cs = []
    for f in fracs:
        cs += tc.check(round(f * rank), [0.0, 1e-2, 1e-1], d=d, N=N, activation=POLY, energy=[0, 0.5, 0.5],
                       sigma2=0.5, seeds=_seeds(8), m_test=1000)
    print(_report(cs))
    assert all(c.verdict == "agree" for c in cs), _report(cs)


@pytest.mark.slow
@pytest.mark.parametrize("d,N", [(20, 500), (50, 500)])
def test_nt_ridge_relu_through_n_of_order_d(d, N):
    cs = []
    for n in (d // 2, d, d + 1, 2 * d, 4 * d):
        cs += tc.check(n, [0.0, 1e-2], d=d, N=N, activation="relu", energy=[0, 0.5, 0.5], sigma2=0.5,
                       seeds=_seeds(10), m_test=1000)
    print(_report(cs))
    assert all(c.verdict == "agree" for c in cs), _report(cs)


@pytest.mark.slow
@pytest.mark.parametrize("d", [20, 30])
def test_rf_vs_nt_staircase(d):
    cs = tc.check_approximation([0.5, 0.8, 1.05, 1.3, 1.55, 1.8, 2.05, 2.3], d, energy=[0, 0.5, 0.5],
                                seeds=_seeds(4))
    print(_report(cs))
    assert all(c.verdict == "agree" for c in cs), _report(cs)
