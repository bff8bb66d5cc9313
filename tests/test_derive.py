"""Symbolic derivations from the same model the solver uses."""
import numpy as np
import pytest
import sympy as sp

from asymptotics.engine import closed_form, limit, series, verify
from asymptotics.models import ridge
from asymptotics.models.ridge import RIDGE, LIMIT_WITNESSES

gamma, lam, r2, sigma2 = RIDGE.parameters


@pytest.mark.parametrize("regime", ["gamma<1", "gamma>1"])
def test_ridgeless_limits_derived_by_sympy_equal_the_published_ones(regime):
    lim = limit(RIDGE, "lam", 0, RIDGE.regimes[regime])
    assert sp.simplify(lim["risk"] - LIMIT_WITNESSES[("lam", "0", regime)]) == 0
    f = sp.lambdify((gamma, r2, sigma2), lim["risk"])
    g = 0.4 if regime == "gamma<1" else 2.7
    assert f(g, 1.3, 0.7) == pytest.approx(ridge.ridgeless_risk(g, 1.3, 0.7), rel=1e-14)


def test_closed_form_matches_solver():
    cf = closed_form(RIDGE)
    f = sp.lambdify((gamma, lam, r2, sigma2), cf["risk"])
    G, L = np.meshgrid([0.3, 1.0, 4.0], [1e-3, 0.5, 5.0])
    np.testing.assert_allclose(f(G, L, 1.1, 0.6), ridge.risk(G, L, 1.1, 0.6).risk, rtol=1e-9)


def test_series_first_order_matches_finite_difference():
    s = series(RIDGE, "risk", "lam", 0, order=2, regime=RIDGE.regimes["gamma<1"])
    slope = sp.lambdify((gamma, r2, sigma2), s.coeff(lam, 1))(0.5, 1.0, 1.0)
    h = 1e-6
    fd = (ridge.risk(0.5, h).risk - ridge.risk(0.5, 0.0).risk) / h
    assert slope == pytest.approx(fd, rel=1e-4)


def test_verify_reports_the_largest_discrepancy():
    good = verify(RIDGE, "r2*(1-1/gamma) + sigma2/(gamma-1)", regime={"gamma": (1, sp.oo)},
                  fixed={"lam": 0}, n_points=6, precision=30)
    assert good.ok and good.max_rel_diff < 1e-25
    bad = verify(RIDGE, "r2*(1-1/gamma) + sigma2/gamma", regime={"gamma": (1, sp.oo)},
                 fixed={"lam": 0}, n_points=6)
    assert not bad.ok and bad.max_rel_diff > 1e-3 and set(bad.worst_point) == set(RIDGE.parameter_names)
    with pytest.raises(ValueError, match="unknown symbols"):
        verify(RIDGE, "gamma + foo")
    with pytest.raises(ValueError, match="unknown symbols zeta"):
        verify(RIDGE, "gamma + zeta")   # a name, never sympy's zeta function (no sympify)
    with pytest.raises(ValueError, match="cannot read"):
        verify(RIDGE, "gamma + (")
    with pytest.raises(ValueError, match="no output"):
        verify(RIDGE, "gamma", output="nonsense")


def test_derive_refuses_spectral_models_and_unknown_parameters():
    with pytest.raises(ValueError, match="spectral sums"):
        limit(ridge.RIDGE_SPECTRUM, "lam", 0)
    with pytest.raises(ValueError, match="no parameter"):
        limit(RIDGE, "mu", 0)


def test_series_in_a_regime_parameter_is_a_series():
    s = series(RIDGE, "risk", "gamma", 1, order=2, regime=RIDGE.regimes["gamma<1"])
    # first order in (gamma - 1): the value at gamma = 1 and the slope, checked numerically
    f = sp.lambdify((gamma, lam, r2, sigma2), s)
    h = 1e-6
    exact = ridge.risk([1 - h, 1.0], 0.3, 1.2, 0.8).risk
    assert f(1.0, 0.3, 1.2, 0.8) == pytest.approx(exact[1], rel=1e-12)
    assert f(1 - h, 0.3, 1.2, 0.8) == pytest.approx(exact[0], rel=1e-9)
    with pytest.raises(ValueError, match="order must be"):
        series(RIDGE, "risk", "lam", 0, order=0)


def test_limit_outside_its_regime_is_refused():
    with pytest.raises(ValueError, match="outside the regime"):
        limit(RIDGE, "gamma", 0, {"gamma": (1, sp.oo)})
