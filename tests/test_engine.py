"""The fixed-point engine on small models with known solutions."""
import mpmath
import numpy as np
import pytest
import sympy as sp

from asymptotics.engine import ConvergenceError, FixedPointModel, Trace, solve, solve_mp
from asymptotics.engine.fixedpoint import latex

x, y, a, b = sp.symbols("x y a b")

# x^2 + y^2 = a, x - y = b, branch x > 0 picked by the initial guess
CIRCLE = FixedPointModel(
    name="circle", parameters=(a, b), unknowns=(x, y),
    equations=(x ** 2 + y ** 2 - a, x - y - b),
    outputs={"prod": x * y, "sum": x + y, "twice": 2 * sp.Symbol("sum")},
    source="test", initial_guess=lambda a, b: (np.sqrt(a) + 1, np.sqrt(a) - b + 1),
)


def circle_exact(a, b):
    xs = (b + np.sqrt(2 * a - b ** 2)) / 2
    return xs, xs - b


def test_two_unknowns_vectorized_grid():
    A, B = np.meshgrid(np.linspace(1, 5, 7), np.linspace(-0.5, 0.5, 5))
    sol = solve(CIRCLE, {"a": A, "b": B})
    xs, ys = circle_exact(A, B)
    np.testing.assert_allclose(sol.x, xs, rtol=1e-13)
    np.testing.assert_allclose(sol.y, ys, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(sol.twice, 2 * (xs + ys), rtol=1e-12)
    assert sol.converged.all() and sol.shape == (5, 7)
    assert len(sol.records()) == 35


def test_mpmath_path_and_its_refusal():
    u, outs = solve_mp(CIRCLE, {"a": 2.0, "b": 0.0}, [1.2, 0.9], precision=50)
    with mpmath.workdps(50):
        assert abs(u["x"] - 1) < mpmath.mpf(10) ** -49
    with pytest.raises(ValueError, match="could not verify"):
        solve_mp(CIRCLE, {"a": 2.0, "b": 0.0}, [1.2, 0.9], precision=50, max_iter=2)


def test_no_real_root_is_reported():
    # x^2 + y^2 = 1 and x - y = 3 has no real solution
    with pytest.raises(ConvergenceError):
        solve(CIRCLE, {"a": 1.0, "b": 3.0})
    sol = solve(CIRCLE, {"a": [1.0, 2.0], "b": [3.0, 0.0]}, errors="mask")
    assert sol.converged.tolist() == [False, True]
    assert np.ma.getmaskarray(sol.prod).tolist() == [True, False]


k, lam_, n_, s = sp.symbols("kappa lam n s", nonnegative=True)
df = sp.Symbol("df")
SPEC = FixedPointModel(
    name="spec", parameters=(n_, lam_), unknowns=(k,), equations=(k - lam_ - k * df / n_,),
    traces=(Trace(df, s / (s + k)),), components=(s,), outputs={"df": df}, source="test",
    lower_bounds=(0.0,), initial_guess=lambda n, lam, spectrum: (lam + spectrum["s"].sum() / n,))


def test_traces_chain_rule_jacobian():
    eigs = np.array([3.0, 1.0, 0.2])
    sol = solve(SPEC, {"n": [2.0, 5.0], "lam": 0.3}, spectrum={"s": eigs})
    for kk, nn in zip(sol.kappa, [2.0, 5.0]):
        assert kk - 0.3 == pytest.approx(kk / nn * np.sum(eigs / (eigs + kk)), rel=1e-13)
    assert (sol.iterations < 15).all()  # quadratic convergence needs the right Jacobian
    u, o = solve_mp(SPEC, {"n": 2.0, "lam": 0.3}, [sol.kappa[0]], spectrum=[eigs], precision=40)
    assert abs(float(u["kappa"]) - sol.kappa[0]) < 1e-14


def test_bad_parameter_names():
    with pytest.raises(ValueError, match="missing parameter"):
        solve(CIRCLE, {"a": 1.0})
    with pytest.raises(ValueError, match="unknown parameter"):
        solve(CIRCLE, {"a": 1.0, "b": 0.0, "c": 2.0})
    with pytest.raises(ValueError, match="errors must be"):
        solve(CIRCLE, {"a": 1.0, "b": 0.0}, errors="ignore")


def test_latex_uses_the_papers_notation():
    from asymptotics.models.ridge import RIDGE
    tex = RIDGE.latex()
    assert "\\lambda" in tex and "\\sigma^{2}" in tex and "\\begin{align*}" in tex
    assert latex(sp.Symbol("mu_star")) == "\\mu_{\\star}"
