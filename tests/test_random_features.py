"""Random features (Mei & Montanari 2019): the solver against independent witnesses."""
import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings, strategies as st

from asymptotics.models import random_features as rf

RELU = rf.activation_constants("relu")
Z_RELU = RELU[1] / RELU[2]


def nu_complex(xi, psi1, psi2, zeta, iters=20000):
    """Definition 1 solved directly in the complex plane by damped iteration from nu_j = -psi_j/xi
    (the branch with |nu_j| <= psi_j/Im xi): a different formulation and algorithm from the solver's
    scalar quartic in P = -chi."""
    z2 = zeta ** 2
    n1, n2 = -psi1 / xi, -psi2 / xi
    for _ in range(iters):
        c = 1 - z2 * n1 * n2
        m1 = psi1 / (-xi - n2 - z2 * n2 / c)
        m2 = psi2 / (-xi - n1 - z2 * n1 / c)
        m1, m2 = 0.5 * (m1 + n1), 0.5 * (m2 + n2)
        if abs(m1 - n1) + abs(m2 - n2) < 1e-15:
            return m1, m2
        n1, n2 = m1, m2
    raise RuntimeError("no convergence")


@pytest.mark.parametrize("p1,p2,lam", [(0.5, 2.0, 1e-2), (2.0, 0.5, 0.1), (1.5, 3.0, 1.0), (3.0, 1.5, 1e-2),
                                       (1.0, 1.0, 0.05)])
def test_chi_matches_definition_1_in_the_complex_plane(p1, p2, lam):
    mu1, mu_star = RELU[1], RELU[2]
    xi = 1j * np.sqrt(p1 * p2 * lam / mu_star ** 2)
    n1, n2 = nu_complex(xi, p1, p2, mu1 / mu_star)
    assert abs(n1.real) < 1e-12 and n1.imag > 0 and abs(n1) <= p1 / xi.imag + 1e-12
    sol = rf.risk(p1, p2, lam, activation="relu")
    assert sol.chi == pytest.approx((n1 * n2).real, rel=1e-10)


def test_values_of_an_independent_implementation():
    # R at ReLU, F1sq = 1, tau2 = 0.1, from an independent numpy implementation (brentq on the
    # two-variable real form), which agrees with Monte Carlo extrapolated in 1/d to ~1e-3
    ref = {(0.5, 2, 1e-3): 0.9316, (2, 0.5, 1e-3): 0.8615, (0.5, 0.5, 1e-3): 9.2299,
           (2, 2, 1e-3): 1.5617, (3, 1.5, 0.1): 0.4591, (1.5, 3, 1e-3): 0.6929}
    for (p1, p2, lam), r in ref.items():
        assert rf.risk(p1, p2, lam, activation="relu", tau2=0.1).risk == pytest.approx(r, abs=6e-5)


def _ridgeless(p1, p2, zeta):
    """The lam -> 0 closed form: chi0 = -P*(min(psi1, psi2)) in the polynomials (Theorem 3)."""
    psi = min(p1, p2)
    b = psi * zeta ** 2 - zeta ** 2 - 1
    chi0 = -(b + np.sqrt(b * b + 4 * psi * zeta ** 2)) / (2 * zeta ** 2)
    e0, e1, e2 = (sp.lambdify((rf.chi, rf.zeta, rf.psi1, rf.psi2), e)(chi0, zeta, p1, p2)
                  for e in (rf.E0, rf.E1, rf.E2))
    return e1 / e0, e2 / e0


@pytest.mark.parametrize("p1,p2", [(0.5, 2.0), (2.0, 0.5), (3.0, 1.5), (1.5, 3.0), (10.0, 3.0), (0.9, 1.0)])
def test_ridgeless_closed_form_vs_solver(p1, p2):
    B0, V0 = _ridgeless(p1, p2, Z_RELU)
    sol = rf.risk(p1, p2, 1e-10, activation="relu")
    assert sol.bias == pytest.approx(B0, rel=1e-6)   # the approach to lam = 0 is O(lam)
    assert sol.variance == pytest.approx(V0, rel=1e-6)
    sol0 = rf.risk(p1, p2, 0.0, activation="relu")
    assert sol0.bias == pytest.approx(B0, rel=1e-10) and sol0.variance == pytest.approx(V0, rel=1e-10)


def test_ridgeless_variance_derived_by_sympy():
    from asymptotics.engine import limit
    lim = limit(rf.RANDOM_FEATURES, "lam", 0, rf.RANDOM_FEATURES.regimes["psi1<psi2"],
                outputs=["variance"])
    assert sp.simplify(lim["variance"] - rf.psi1 / (rf.psi2 - rf.psi1)) == 0


def test_peak_is_infinite_only_at_the_threshold():
    s = rf.risk([0.99, 1.0, 1.01], 1.0, 0.0, activation="relu", tau2=0.1)
    assert np.isfinite(s.risk[[0, 2]]).all() and s.risk[1] == np.inf
    assert s.risk[0] > 50 and s.risk[2] > 50


def test_wide_limit_is_kernel_ridge():
    # psi1 -> oo: chi solves -chi (psi2 lam_bar + 1 + zeta^2/(1 - zeta^2 chi)) = psi2
    p2, lam = 2.0, 0.1
    lb, z = lam / RELU[2] ** 2, Z_RELU
    chi = float(mpmath.findroot(lambda c: -c * (p2 * lb + 1 + z ** 2 / (1 - z ** 2 * c)) - p2, -0.5))
    den = (p2 - 1) * chi ** 3 * z ** 6 + (1 - 3 * p2) * chi ** 2 * z ** 4 + 3 * p2 * chi * z ** 2 - p2
    B, V = (p2 * chi * z ** 2 - p2) / den, (chi ** 3 * z ** 6 - chi ** 2 * z ** 4) / den
    sol = rf.risk(1e8, p2, lam, activation="relu")
    assert sol.chi == pytest.approx(chi, rel=1e-6)
    assert sol.bias == pytest.approx(B, rel=1e-6) and sol.variance == pytest.approx(V, rel=1e-6)


@pytest.mark.parametrize("p1,p2,lam", [(0.5, 2.0, 1e-3), (2.0, 2.0, 1e-3), (3.0, 1.5, 0.1), (1.0, 1.0, 1e-8),
                                       (5.0, 0.2, 1.0)])
def test_mpmath_path_agrees_and_resolves_the_peak(p1, p2, lam):
    a = rf.risk(p1, p2, lam, activation="relu", tau2=0.1)
    b = rf.risk(p1, p2, lam, activation="relu", tau2=0.1, precision=30)
    assert float(b.risk) == pytest.approx(a.risk, rel=1e-12)


def test_bad_input():
    with pytest.raises(ValueError, match="psi1 must be > 0"):
        rf.risk(0.0, 1.0, 0.1, activation="relu")
    with pytest.raises(ValueError, match="lam must be >= 0"):
        rf.risk(1.0, 1.0, -1.0, activation="relu")
    with pytest.raises(ValueError, match="mu_star must be > 0"):
        rf.risk(1.0, 1.0, 0.1, mu1=0.5, mu_star=0.0)
    with pytest.raises(ValueError, match="either activation"):
        rf.risk(1.0, 1.0, 0.1, activation="relu", mu1=0.5, mu_star=0.3)
    with pytest.raises(ValueError, match="unknown activation|Unknown activation|not a known"):
        rf.risk(1.0, 1.0, 0.1, activation="nonsense")


psi = st.floats(0.05, 20.0)


@settings(max_examples=60, deadline=None)
@given(p1=psi, p2=psi, lam=st.floats(1e-6, 10.0), mu1=st.floats(0.0, 2.0), mu_star=st.floats(0.05, 2.0),
       F1sq=st.floats(0.0, 3.0), Fs=st.floats(0.0, 3.0), tau2=st.floats(0.0, 3.0))
def test_properties(p1, p2, lam, mu1, mu_star, F1sq, Fs, tau2):
    s = rf.risk(p1, p2, lam, mu1=mu1, mu_star=mu_star, F1sq=F1sq, Fstar_sq=Fs, tau2=[tau2, tau2 + 0.5])
    assert np.isfinite(s.risk).all()
    assert (s.risk >= Fs * (1 - 1e-12)).all()
    assert s.bias[0] >= 0 and s.variance[0] >= 0
    assert s.risk[1] >= s.risk[0]


def test_monte_carlo_small():
    from theory_checks import random_features as sim
    comps = sim.check(2.0, 0.5, [1e-3, 0.1], activation="relu", d=[10, 20, 40, 80], tau2=0.1, seeds=10,
                      m_test=1000, level=0.997)
    assert all(c.verdict == "agree" for c in comps), [c.to_record() for c in comps]
    assert max(c.resolution for c in comps) < 0.1, [c.resolution for c in comps]


def test_optimal_lam_matches_a_scalar_minimizer():
    from scipy.optimize import minimize_scalar
    lam, r = rf.optimal_lam([3.0, 0.5], 1.5, activation="relu", tau2=0.5)
    for p1, l_, r_ in zip([3.0, 0.5], lam, r):
        ref = minimize_scalar(lambda t: rf.risk(p1, 1.5, np.exp(t), activation="relu", tau2=0.5).risk,
                              bounds=(-12, 5), method="bounded", options={"xatol": 1e-9})
        assert l_ == pytest.approx(np.exp(ref.x), rel=1e-4)
        assert r_ == pytest.approx(ref.fun, rel=1e-10)
        assert r_ <= rf.risk(p1, 1.5, [0.0, l_ * 2, l_ / 2], activation="relu", tau2=0.5).risk.min()


@pytest.mark.slow
@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_acceptance_grid_d300(activation):
    """psi1/psi2 below, at and above 1, lam in {1e-4, 1e-2, 1} (9 points per activation), extrapolated
    over the default ladder d = 25..200, 99.7 % intervals. Seeds scale with ASYMPTOTICS_MC_SCALE."""
    import os
    from theory_checks import random_features as sim
    seeds = max(10, round(20 * float(os.environ.get("ASYMPTOTICS_MC_SCALE", "1"))))
    bad = []
    for p1 in (0.5, 1.5, 3.0):
        for c in sim.check(p1, 1.5, [1e-4, 1e-2, 1.0], activation=activation, tau2=0.1,
                           seeds=seeds, level=0.997):
            if c.verdict != "agree":
                bad.append(c.to_record())
    assert not bad, bad
