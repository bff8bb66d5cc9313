"""Hermite coefficients: exact closed forms against independent witnesses, quadrature, Parseval."""
from __future__ import annotations

import json
import math
import time
from fractions import Fraction

import mpmath
import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from asymptotics.activations import ACTIVATIONS, SYMBOL, get_activation
from asymptotics.expansions import hermite as H
from asymptotics.expansions.hermite import (
    EXACT_KMAX_LIMIT, KMAX_LIMIT, QUADRATURE_KMAX_LIMIT, HermiteExpansion, coefficient_by_integration,
    gaussian_expectation, hermite_coefficients, normalized_hermite,
)

x = SYMBOL
pi = sympy.pi
EXAMPLE_PARAMS = {"poly": {"coeffs": [1, -2, "1/3", 0, 5]}}
EXACT_ACTIVATIONS = [
    "relu", "leaky_relu", "abs", "sign", "step", "relu_p", "erf", "exp", "sin", "cos", "identity", "quad", "gelu",
    ("poly", {"coeffs": [1, -2, "1/3", 0, 5]}), ("erf", {"a": "1/3"}), ("relu_p", {"p": 3}), ("sin", {"a": 2}),
    ("exp", {"a": -0.5}), ("cos", {"a": "3/2"}), ("leaky_relu", {"slope": -0.3}),
]


def act_of(spec):
    if isinstance(spec, tuple):
        return get_activation(spec[0], **spec[1])
    return get_activation(spec, **EXAMPLE_PARAMS.get(spec, {}))


def is_zero(expr):
    return sympy.simplify(expr) == 0


def he0(m):
    """He_m(0) from sympy's own Hermite polynomials (independent of the package's formula)."""
    return sympy.hermite_prob(m, 0)


# ---------------------------------------------------------------------------------------------
# Exact constants, derived independently
# ---------------------------------------------------------------------------------------------
def test_relu_exact_constants():
    h = hermite_coefficients("relu", kmax=12)
    assert h.is_exact and h.method == "closed form"
    assert is_zero(h.exact_mu0 - 1 / sympy.sqrt(2 * pi))
    assert h.exact_mu1 == sympy.Rational(1, 2)
    assert is_zero(h.exact_mu_star ** 2 - (sympy.Rational(1, 4) - 1 / (2 * pi)))
    assert h.exact_second_moment == sympy.Rational(1, 2)
    # relu'' = delta  =>  E[relu(G) He_k(G)] = E[delta^(k-2)(G)] = He_{k-2}(0) phi(0)  (k >= 2)
    for k in range(2, 13):
        want = he0(k - 2) / sympy.sqrt(2 * pi * sympy.factorial(k))
        assert is_zero(h.exact[k] - want), k
    assert h.mu0 == pytest.approx(0.3989422804014327, rel=1e-16)
    assert h.mu_star == pytest.approx(math.sqrt(0.25 - 1 / (2 * math.pi)), rel=1e-15)
    assert h.coeffs[2] == pytest.approx(1 / math.sqrt(4 * math.pi), rel=1e-16)


def test_abs_sign_step_exact_constants():
    a = hermite_coefficients("abs", kmax=10)
    assert is_zero(a.exact_mu0 - sympy.sqrt(2 / pi)) and a.exact_mu1 == 0
    assert a.exact_second_moment == 1 and is_zero(a.exact_mu_star ** 2 - (1 - 2 / pi))
    for k in range(2, 11):
        want = 2 * he0(k - 2) / sympy.sqrt(2 * pi * sympy.factorial(k)) if k % 2 == 0 else 0
        assert is_zero(a.exact[k] - want), k
    s = hermite_coefficients("sign", kmax=10)
    assert s.exact_mu0 == 0 and is_zero(s.exact_mu1 - sympy.sqrt(2 / pi))
    assert is_zero(s.exact_mu_star ** 2 - (1 - 2 / pi))
    st_ = hermite_coefficients("step", kmax=10)
    assert st_.exact_mu0 == sympy.Rational(1, 2) and st_.exact_second_moment == sympy.Rational(1, 2)
    for k in range(1, 11):  # step' = delta
        want = he0(k - 1) / sympy.sqrt(2 * pi * sympy.factorial(k))
        assert is_zero(st_.exact[k] - want), k
        assert is_zero(s.exact[k] - 2 * want), k


def test_erf_exact_constants():
    h = hermite_coefficients("erf", kmax=7)
    # E[G erf(G)] = E[erf'(G)] = (2/sqrt(pi)) E exp(-G^2) = 2/sqrt(3 pi)
    assert is_zero(h.exact_mu1 - 2 / sympy.sqrt(3 * pi))
    assert h.exact_mu0 == 0 and all(h.exact[k] == 0 for k in (0, 2, 4, 6))
    assert is_zero(h.exact_second_moment - 2 / pi * sympy.asin(sympy.Rational(2, 3)))
    # E[erf(G) He_3(G)] = E[erf'''(G)]: erf'''(t) = (2/sqrt(pi)) (4t^2 - 2) e^{-t^2}
    t = sympy.Symbol("t", real=True)
    third = sympy.integrate(2 / sympy.sqrt(pi) * (4 * t ** 2 - 2) * sympy.exp(-t ** 2) * sympy.exp(-t ** 2 / 2)
                            / sympy.sqrt(2 * pi), (t, -sympy.oo, sympy.oo))
    assert is_zero(h.exact[3] - third / sympy.sqrt(6))
    assert h.mu1 == pytest.approx(2 / math.sqrt(3 * math.pi), rel=1e-15)


def test_exp_sin_cos_gelu_constants():
    e = hermite_coefficients(get_activation("exp", a="1/2"), kmax=6, q=2)
    b = sympy.sqrt(2) / 2
    for k in range(7):
        assert is_zero(e.exact[k] - sympy.exp(b ** 2 / 2) * b ** k / sympy.sqrt(sympy.factorial(k)))
    s = hermite_coefficients("sin", kmax=5)
    assert is_zero(s.exact[1] - sympy.exp(-sympy.Rational(1, 2))) and is_zero(
        s.exact[3] + sympy.exp(-sympy.Rational(1, 2)) / sympy.sqrt(6))
    g = hermite_coefficients("gelu", kmax=4)
    # E[G Phi(G)] = E[phi(G)] = 1/(2 sqrt(pi)); E[G^2 Phi(G)] = 1/2
    assert is_zero(g.exact_mu0 - 1 / (2 * sympy.sqrt(pi))) and g.exact_mu1 == sympy.Rational(1, 2)


def test_closed_forms_against_sympy_integration():
    """An independent route: sympy integrates sigma(sqrt(q) g) He_k(g) against the Gaussian."""
    q = sympy.Rational(3, 2)
    for name, expr in [("relu", sympy.Max(x, 0)), ("sign", sympy.sign(x)), ("step", sympy.Heaviside(x, 0)),
                       ("sin", sympy.sin(x))]:
        h = hermite_coefficients(name, kmax=3, q=q)
        for k in range(4):
            assert is_zero(h.exact[k] - coefficient_by_integration(expr, k, q=q)), (name, k)
    assert is_zero(hermite_coefficients("relu", kmax=1).exact_second_moment
                   - coefficient_by_integration(sympy.Max(x, 0), -1))


# ---------------------------------------------------------------------------------------------
# Exact vs quadrature
# ---------------------------------------------------------------------------------------------
def direct_mpmath_coefficient(act, k, q, dps, breaks=(0,)):
    """c_k by mpmath.quad directly (not the package's quadrature), split at ``breaks`` (in x)."""
    with mpmath.workdps(dps):
        q = mpmath.mpf(q.numerator) / q.denominator if isinstance(q, Fraction) else mpmath.mpf(q)
        s = mpmath.sqrt(q)
        points = [-mpmath.inf] + sorted(mpmath.mpf(b) / s for b in breaks) + [mpmath.inf]
        he = lambda g: mpmath.hermite(k, g / mpmath.sqrt(2)) / mpmath.mpf(2) ** (mpmath.mpf(k) / 2)  # noqa: E731
        f = lambda g: act.mp_func(s * g) * he(g) * mpmath.npdf(g)  # noqa: E731
        return mpmath.quad(f, points) / mpmath.sqrt(mpmath.factorial(k))


@pytest.mark.parametrize("spec", EXACT_ACTIVATIONS, ids=str)
def test_exact_vs_quadrature_25_digits(spec):
    act = act_of(spec)
    for q in (1, "5/2"):
        e = hermite_coefficients(act, kmax=8, q=q, precision=40)
        n = hermite_coefficients(act, kmax=8, q=q, precision=40, exact=False)
        assert e.is_exact and not n.is_exact and n.method == "quadrature"
        with mpmath.workdps(50):
            tol = mpmath.mpf(10) ** -25 * mpmath.sqrt(e.mp_second_moment)
            for a, b in zip(e.mp_coeffs, n.mp_coeffs):
                assert abs(a - b) <= tol
            for field in ("mp_second_moment", "mp_mu_star", "mp_tail"):
                assert abs(getattr(e, field) - getattr(n, field)) <= tol * 10, field
        # the exact expressions evaluate to the high-precision numbers
        for expr, val in zip(e.exact, e.mp_coeffs):
            with mpmath.workdps(45):
                assert abs(mpmath.mpf(str(sympy.N(expr, 45))) - val) <= mpmath.mpf(10) ** -39 * (1 + abs(val))


@pytest.mark.parametrize("spec", ["relu", "sign", "erf", "gelu", "exp", ("relu_p", {"p": 3})], ids=str)
def test_exact_vs_direct_mpmath_quad(spec):
    act = act_of(spec)
    h = hermite_coefficients(act, kmax=5, q="7/10", precision=30)
    for k in (0, 1, 2, 5):
        want = direct_mpmath_coefficient(act, k, Fraction(7, 10), 35)
        assert abs(h.mp_coeffs[k] - want) < mpmath.mpf(10) ** -25


def test_quadrature_precision_claims():
    lo = hermite_coefficients("tanh", kmax=10, precision=30)
    hi = hermite_coefficients("tanh", kmax=10, precision=50)
    with mpmath.workdps(60):
        for a, b in zip(lo.mp_coeffs, hi.mp_coeffs):
            assert abs(a - b) < mpmath.mpf(10) ** -30
        # mu1 = E[G tanh G] = E[sech^2 G] by Stein's lemma
        sech2 = mpmath.quad(lambda g: mpmath.npdf(g) / mpmath.cosh(g) ** 2, [-mpmath.inf, 0, mpmath.inf])
        assert abs(hi.mp_mu1 - sech2) < mpmath.mpf(10) ** -45
    assert hi.precision == 50 and hi.mp_mu1.context.prec >= 53


def test_quadrature_to_kmax_100_at_30_digits():
    """Regression: at 30 digits tanh/sigmoid failed from kmax ~ 40, softplus/silu from ~ 50 (the node
    weights were rounded to fixed point with too few bits, see ``_HermiteSums``). Witnesses: exact
    identities between the four quadrature activations, each integrated separately --
    sigmoid(x) = (1 + tanh(x/2))/2, softplus' = sigmoid, silu = x sigmoid."""
    K = 100
    hs = {}
    for name, q in [("tanh", "1/4"), ("sigmoid", 1), ("softplus", 1), ("silu", 1)]:
        t0 = time.perf_counter()
        hs[name] = hermite_coefficients(name, kmax=K, q=q, precision=30)
        assert time.perf_counter() - t0 < 20, name  # measured ~0.5 s each
        h = hs[name]
        assert h.method == "quadrature" and len(h.mp_coeffs) == K + 1 and np.isfinite(h.coeffs).all()
        assert float(np.sum(h.coeffs ** 2)) + h.tail == pytest.approx(h.second_moment, rel=1e-14)
    tanh, sig, soft, silu = (hs[n].mp_coeffs for n in ("tanh", "sigmoid", "softplus", "silu"))
    with mpmath.workdps(45):
        tol = mpmath.mpf(10) ** -28
        assert abs(sig[0] - (mpmath.mpf(1) / 2 + tanh[0] / 2)) < tol
        for k in range(1, K + 1):
            assert abs(sig[k] - tanh[k] / 2) < tol, k                     # c_k(tanh(sqrt(1/4) G)) / 2
        for k in range(K):
            assert abs(soft[k + 1] * mpmath.sqrt(k + 1) - sig[k]) < tol, k   # Stein: E[f He_{k+1}] = E[f' He_k]
        for k in range(1, K):                                             # G He_k = He_{k+1} + k He_{k-1}
            assert abs(silu[k] - (mpmath.sqrt(k + 1) * sig[k + 1] + mpmath.sqrt(k) * sig[k - 1])) < tol, k
    # the high coefficients are resolved, not noise: they decay smoothly (tanh: like exp(-c sqrt(k)))
    c = np.abs(hs["sigmoid"].coeffs[1::2])
    assert np.all(c[1:] < c[:-1])


def test_quadrature_failure_says_what_failed(monkeypatch):
    """A coefficient quadrature that runs out of levels reports the digits, the kmax and what to do --
    not a (false) suspicion that sigma is not square-integrable."""
    monkeypatch.setattr(H, "_BASE_DEGREE", 7)
    monkeypatch.setattr(H, "_MAX_DEGREE", 7)
    with pytest.raises(ValueError) as info:
        H._compute(get_activation("tanh"), 100, sympy.Integer(1), 30, "auto")
    msg = str(info.value)
    assert "Hermite coefficients at kmax=100 did not reach 30 digits" in msg
    assert "Lower kmax or precision" in msg and "levels 6 and 7 differ by" in msg
    assert "square-integrable" not in msg and "kinks" not in msg
    # for a user function the advice also mentions undeclared kinks
    with pytest.raises(ValueError, match="declare them with get_activation"):
        H._compute(get_activation(lambda t: mpmath.tanh(t)), 100, sympy.Integer(1), 30, "auto")


def test_kmax_is_bounded():
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match=f"kmax must be an integer >= 0 and <= {KMAX_LIMIT}, got 100000000"):
        hermite_coefficients("relu", kmax=10 ** 8)
    with pytest.raises(ValueError, match=f"kmax must be <= {QUADRATURE_KMAX_LIMIT} for activation 'tanh'"):
        hermite_coefficients("tanh", kmax=QUADRATURE_KMAX_LIMIT + 1)
    with pytest.raises(ValueError, match="kmax must be <= 500 for activation 'relu'"):
        hermite_coefficients("relu", kmax=501, exact=False)
    with pytest.raises(ValueError, match="kmax must be an integer >= 0 and <= 10000"):
        normalized_hermite(10 ** 9, 0.5)
    with pytest.raises(ValueError, match="k must be an integer >= -1 and <= 1000"):
        coefficient_by_integration(x, 10 ** 6)
    assert time.perf_counter() - t0 < 1.0
    h = hermite_coefficients("relu", kmax=KMAX_LIMIT)  # the largest closed-form kmax: ~0.2 s
    assert h.kmax == KMAX_LIMIT and 0 < h.tail < 1e-7


@pytest.mark.parametrize("q", [1e-300, 1e300])
def test_extreme_q_finite_or_refused(q):
    """Every named activation at q = 1e-300 and 1e300: finite summaries, or a ValueError saying that
    they exceed the float64 range -- never inf/NaN, never a traceback from inside mpmath."""
    for name in ACTIVATIONS:
        act = act_of(name)
        try:
            h = hermite_coefficients(act, kmax=4, q=q, precision=15)
        except ValueError as exc:
            assert "exceed the float64 range" in str(exc), (name, str(exc))
            assert q > 1 and name in ("relu_p", "exp", "quad", "poly"), name
            continue
        values = list(h.coeffs) + [h.mu0, h.mu1, h.mu_star, h.second_moment, h.tail]
        assert all(np.isfinite(values)), name
    # homogeneity survives the extremes
    assert hermite_coefficients("relu", kmax=2, q=q).second_moment == pytest.approx(q / 2, rel=1e-15, abs=0)
    t = hermite_coefficients("tanh", kmax=2, q=q, precision=15)
    assert t.second_moment == pytest.approx(q if q < 1 else 1.0, rel=1e-12, abs=0)
    # c_1 = E[G tanh(sqrt(q) G)]: ~ sqrt(q) for tiny q (this was 0: the fixed-point weights were
    # absolute, not relative to the size of sigma), sqrt(2/pi) (the sign function) for huge q
    assert t.mu1 == pytest.approx(math.sqrt(q) if q < 1 else math.sqrt(2 / math.pi), rel=1e-12, abs=0)


def test_mu_star_relative_accuracy_small_q():
    """mu_star^2 = E sigma^2 - c_0^2 - c_1^2 cancels when the nonlinear part is tiny: the closed-form
    path raises its working precision until the difference is resolved (at a fixed 60 digits it
    returned 0, or 5% off at q = 1e-30 for exp)."""
    for q in ("1e-30", "1e-300"):
        with mpmath.workdps(1000):  # the reference: the defining formulas at 1000 digits
            b2 = mpmath.mpf(q)
            want = {"exp": mpmath.exp(2 * b2) - mpmath.exp(b2) - b2 * mpmath.exp(b2),
                    "sin": (1 - mpmath.exp(-2 * b2)) / 2 - b2 * mpmath.exp(-b2),
                    "cos": (1 + mpmath.exp(-2 * b2)) / 2 - mpmath.exp(-b2)}
        for name, w2 in want.items():
            got = hermite_coefficients(name, kmax=3, q=q).mp_mu_star
            with mpmath.workdps(1000):
                w = mpmath.sqrt(w2)
                assert abs(got - w) <= mpmath.mpf(10) ** -29 * w, (name, q, got, w)


def test_global_mpmath_precision_untouched():
    before = mpmath.mp.dps
    hermite_coefficients("softplus", kmax=3, precision=45)
    hermite_coefficients("relu", kmax=3, precision=80)
    assert mpmath.mp.dps == before


# ---------------------------------------------------------------------------------------------
# Parseval
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_parseval_every_named_activation(name):
    act = act_of(name)
    exact = H._closed_form(act) is not None
    ks = (5, 20, 80) if exact else (5, 15, 40)
    hs = [hermite_coefficients(act, kmax=k, precision=20) for k in ks]
    tails = [h.tail for h in hs]
    for h in hs:
        assert h.tail >= 0 and np.isfinite(h.coeffs).all()
        assert float(np.sum(h.coeffs ** 2)) + h.tail == pytest.approx(h.second_moment, rel=1e-14, abs=1e-300)
    assert tails[0] >= tails[1] >= tails[2]
    # the remainder goes to zero: fast for smooth activations, like a power for kinks / jumps
    limit = {"sign": 0.06, "step": 0.015, "relu": 1e-4, "abs": 4e-4, "leaky_relu": 1e-4, "relu_p": 1e-5}.get(name, 1e-7)
    assert tails[2] < limit, tails


def test_parseval_rates():
    """Independent asymptotics: relu c_k^2 ~ k^(-5/2)/(2 pi) sqrt(2/pi) (even k), step ~ k^(-3/2)."""
    for K in (100, 300):
        relu = hermite_coefficients("relu", kmax=K).tail
        step = hermite_coefficients("step", kmax=K).tail
        assert relu * K ** 1.5 == pytest.approx(math.sqrt(2 / math.pi) / (6 * math.pi), rel=0.03)
        assert step * K ** 0.5 == pytest.approx(math.sqrt(2 / math.pi) / (2 * math.pi), rel=0.03)


def test_large_kmax_closed_form_without_sympy():
    h = hermite_coefficients("relu", kmax=EXACT_KMAX_LIMIT + 500)
    assert not h.is_exact and h.exact is None and h.method == "closed form"
    assert 0 < h.tail < 1e-5
    with pytest.raises(ValueError, match="kmax must be <= 1000"):
        hermite_coefficients("relu", kmax=EXACT_KMAX_LIMIT + 1, exact=True)


# ---------------------------------------------------------------------------------------------
# Variance q
# ---------------------------------------------------------------------------------------------
def test_q_homogeneity_exact():
    q = sympy.Rational(9, 4)
    r1, rq = hermite_coefficients("relu", kmax=8), hermite_coefficients("relu", kmax=8, q=q)
    for a, b in zip(r1.exact, rq.exact):
        assert is_zero(b - sympy.sqrt(q) * a)
    p1, pq = (hermite_coefficients(get_activation("relu_p", p=3), kmax=8, q=v) for v in (1, q))
    for a, b in zip(p1.exact, pq.exact):
        assert is_zero(b - q ** sympy.Rational(3, 2) * a)
    s1, sq = hermite_coefficients("step", kmax=8), hermite_coefficients("step", kmax=8, q=q)
    assert s1.exact == sq.exact
    e1, eq = hermite_coefficients(get_activation("erf", a=3), kmax=5), hermite_coefficients("erf", kmax=5, q=9)
    assert all(is_zero(a - b) for a, b in zip(e1.exact, eq.exact))


def test_q_quadrature():
    np.testing.assert_allclose(hermite_coefficients("relu", kmax=6, q=2.5, exact=False).coeffs,
                               math.sqrt(2.5) * hermite_coefficients("relu", kmax=6).coeffs, rtol=1e-15, atol=1e-17)
    t4 = hermite_coefficients("tanh", kmax=8, q=4, precision=25)
    t2 = hermite_coefficients(lambda g: mpmath.tanh(2 * g), kmax=8, precision=25)
    with mpmath.workdps(30):
        assert max(abs(a - b) for a, b in zip(t4.mp_coeffs, t2.mp_coeffs)) < mpmath.mpf(10) ** -24
    a, q = 0.5, 0.7  # exp: c_k = exp(a^2 q/2) (a sqrt q)^k / sqrt(k!)
    h = hermite_coefficients(get_activation("exp", a=a), kmax=6, q=q, exact=False)
    want = [math.exp(a * a * q / 2) * (a * math.sqrt(q)) ** k / math.sqrt(math.factorial(k)) for k in range(7)]
    np.testing.assert_allclose(h.coeffs, want, rtol=1e-15)
    kinked = get_activation(lambda t: max(t - 1, 0), kinks=[1])
    hk = hermite_coefficients(kinked, kmax=3, q=3, precision=25)
    for k in range(4):
        want = direct_mpmath_coefficient(kinked, k, 3, 35, breaks=(0, 1))
        assert abs(hk.mp_coeffs[k] - want) < mpmath.mpf(10) ** -24


# ---------------------------------------------------------------------------------------------
# Polynomials (hypothesis)
# ---------------------------------------------------------------------------------------------
rationals = st.fractions(min_value=-20, max_value=20, max_denominator=12)


@settings(max_examples=40, deadline=None)
@given(coeffs=st.lists(rationals, min_size=1, max_size=7), q=st.sampled_from([1, 2, sympy.Rational(1, 3)]))
def test_polynomial_reproduction(coeffs, q):
    act = get_activation("poly", coeffs=coeffs)
    deg = len(act.param_dict["coeffs"]) - 1
    h = hermite_coefficients(act, kmax=deg + 2, q=q)
    g = sympy.Symbol("g", real=True)
    series = sum(c * sympy.hermite_prob(k, g) / sympy.sqrt(sympy.factorial(k)) for k, c in enumerate(h.exact))
    target = act.sympy_form.subs(x, sympy.sqrt(q) * g)
    assert sympy.expand(series - target) == 0
    assert all(c == 0 for c in h.exact[deg + 1:])
    assert h.exact_tail == 0 and h.tail == 0
    # E p(sqrt(q) G)^2 from Gaussian moments E G^(2m) = (2m-1)!!
    sq = sympy.Poly(sympy.expand(target ** 2), g)
    moment = sum(c * (sympy.factorial2(m - 1) if m % 2 == 0 else 0) for (m,), c in sq.terms())
    assert sympy.simplify(h.exact_second_moment - moment) == 0


def test_sympy_expression_activations():
    h = hermite_coefficients(x ** 3 - x, kmax=4, exact=True)
    assert h.method == "closed form" and h.exact == (0, 2, 0, sympy.sqrt(6), 0)
    m = hermite_coefficients(sympy.Max(x - 1, 0), kmax=2, exact=True)
    assert m.method == "sympy integration"
    n = hermite_coefficients(sympy.Max(x - 1, 0), kmax=2)
    assert n.method == "quadrature"
    np.testing.assert_allclose(m.coeffs, n.coeffs, rtol=1e-15)


# ---------------------------------------------------------------------------------------------
# Helpers, result object, bad input
# ---------------------------------------------------------------------------------------------
def test_normalized_hermite_and_evaluate():
    xs = np.array([-1.7, 0.0, 0.4, 2.5])
    table = normalized_hermite(8, xs)
    for k in range(9):
        he = sympy.lambdify(x, sympy.hermite_prob(k, x))(xs) / math.sqrt(math.factorial(k))
        np.testing.assert_allclose(table[k], he, rtol=1e-13, atol=1e-14)
    h = hermite_coefficients("quad", kmax=2, q=3)
    np.testing.assert_allclose(h.evaluate(xs), xs ** 2, rtol=1e-14, atol=1e-14)
    # Cramer's inequality |He_k(x)|/sqrt(k!) <= 1.09 e^(x^2/4): |x| <= 53 is safe for every k
    big = normalized_hermite(KMAX_LIMIT, np.array([-53.0, 0.0, 53.0]))
    assert np.isfinite(big).all() and np.abs(big).max() <= 1.09 * math.exp(53.0 ** 2 / 4)


def test_gaussian_expectation():
    assert float(gaussian_expectation(lambda t: t ** 4, q=2.0)) == pytest.approx(12.0, rel=1e-15)
    # a smooth f that changes sign: |f| (the accuracy scale) has kinks, f does not -- this failed
    v = gaussian_expectation(lambda t: mpmath.cos(t) - mpmath.mpf(1) / 2, precision=25)
    with mpmath.workdps(40):  # E cos G = e^(-1/2)
        assert abs(v - (mpmath.exp(-mpmath.mpf(1) / 2) - mpmath.mpf(1) / 2)) < mpmath.mpf(10) ** -24
    v = gaussian_expectation(lambda t: abs(t - 1), kinks=[1], precision=30)
    with mpmath.workdps(40):  # E|G - 1| = 2 phi(1) + 2 Phi(1) - 1
        want = 2 * mpmath.npdf(1) + 2 * mpmath.ncdf(1) - 1
        assert abs(v - want) < mpmath.mpf(10) ** -29


def test_to_dict_and_result_object():
    h = hermite_coefficients(get_activation("erf", a=2), kmax=3, q=0.5)
    d = h.to_dict()
    json.dumps(d)
    for key in ("activation", "mu0", "mu1", "mu_star", "coeffs", "exact", "q", "kmax", "second_moment", "tail"):
        assert key in d
    assert d["activation"] == "erf" and d["params"] == {"a": 2.0} and d["q"] == 0.5
    assert d["exact"][1] == str(h.exact[1]) and len(d["coeffs"]) == 4
    t = hermite_coefficients("tanh", kmax=3, precision=20).to_dict()
    assert t["exact"] is None and t["is_exact"] is False
    assert isinstance(h, HermiteExpansion)
    with pytest.raises(ValueError):
        h.coeffs[0] = 1.0
    with pytest.raises(AttributeError):
        h.kmax = 3


@pytest.mark.parametrize("call, message", [
    (lambda: hermite_coefficients("nope"), "unknown activation 'nope'; known activations are: relu"),
    (lambda: hermite_coefficients("relu", kmax=-1), "kmax must be an integer >= 0 and <= 10000, got -1"),
    (lambda: hermite_coefficients("relu", kmax=2.5), "kmax must be an integer"),
    (lambda: hermite_coefficients("relu", q=0), "q must be > 0, got 0.0"),
    (lambda: hermite_coefficients("relu", q=-1.0), "q must be > 0"),
    (lambda: hermite_coefficients("relu", q=float("nan")), "q must not be NaN"),
    (lambda: hermite_coefficients("relu", exact="yes"), "exact must be None, True or False"),
    (lambda: hermite_coefficients("relu", precision=3), "precision must be an integer >= 5"),
    (lambda: hermite_coefficients("tanh", exact=True), "no closed form is known for activation 'tanh'"),
    (lambda: hermite_coefficients(lambda t: mpmath.exp(t * t)), "not square-integrable"),
    (lambda: hermite_coefficients(lambda t: mpmath.exp(t * t / 4)), "not square-integrable"),
    (lambda: hermite_coefficients(lambda t: 1 / t, kmax=2), "may not be square-integrable"),
    (lambda: hermite_coefficients(lambda t: 1 / mpmath.sqrt(abs(t)), kmax=2), "may not be square-integrable"),
    (lambda: hermite_coefficients(lambda t: mpmath.sqrt(t)), "complex value"),
    (lambda: hermite_coefficients(np.tanh), "precision must be <= 14"),
    (lambda: hermite_coefficients(lambda t: max(t - 0.3, 0), kmax=2), "kinks"),
    (lambda: hermite_coefficients(x ** 2 * sympy.exp(x ** 2), exact=True), "could not integrate"),
    (lambda: hermite_coefficients("relu", q="1e-3000"), "q must be 0 or of magnitude >= 5e-324"),
    (lambda: hermite_coefficients("relu", q="1e400"), "q must be finite"),
    (lambda: hermite_coefficients("exp", q=1e30), "exceed the float64 range"),
    (lambda: hermite_coefficients(get_activation("exp", a=1e3), kmax=2), "use a smaller q or parameter"),
    (lambda: hermite_coefficients(get_activation("relu_p", p=100), kmax=2, q=1e10), "float64 range"),
    (lambda: normalized_hermite(3, [0.0, np.nan]), "x must not be NaN"),
    (lambda: normalized_hermite(400, 100.0), "exceeds the float64 range for k = 322 at |x| = 100"),
    (lambda: hermite_coefficients("relu", kmax=400).evaluate(1e300), "exceeds the float64 range"),
    (lambda: gaussian_expectation(lambda t: 1 / t), "may not be square-integrable"),
])
def test_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_float_only_callable_at_low_precision():
    h = hermite_coefficients(np.tanh, kmax=5, precision=14)
    np.testing.assert_allclose(h.coeffs, hermite_coefficients("tanh", kmax=5).coeffs, rtol=1e-13, atol=1e-15)


def test_never_nan():
    for name in ACTIVATIONS:
        h = hermite_coefficients(act_of(name), kmax=4, precision=15)
        values = list(h.coeffs) + [h.mu0, h.mu1, h.mu_star, h.second_moment, h.tail]
        assert all(np.isfinite(values)), name
    z = hermite_coefficients(lambda t: 0, kmax=3)
    assert z.second_moment == 0 and z.mu_star == 0 and z.tail == 0


def test_performance():
    t0 = time.perf_counter()
    H._compute(get_activation("relu"), 10, sympy.Integer(1), 30, "auto")  # uncached
    assert time.perf_counter() - t0 < 1.0
    t0 = time.perf_counter()
    H._compute(get_activation("tanh"), 10, sympy.Integer(1), 30, "auto")
    assert time.perf_counter() - t0 < 5.0


# ---------------------------------------------------------------- cost bound (issue 12)
def test_too_expensive_quadrature_precision_is_refused_immediately():
    """`hermite tanh --precision 1000` ran past 150 s: the cost model refuses it before any work,
    naming precision and the largest supported value; a precision within the limit still works."""
    import time
    from asymptotics.expansions.hermite import QUADRATURE_COST_LIMIT, max_quadrature_precision, quadrature_cost
    for name in ("tanh", "softplus", "sigmoid", "silu"):
        t = time.perf_counter()
        with pytest.raises(ValueError, match=r"precision=1000 at kmax=10 .* largest supported precision at kmax=10 is"):
            hermite_coefficients(name, kmax=10, precision=1000)
        assert time.perf_counter() - t < 1.0
    assert quadrature_cost(max_quadrature_precision(10), 10) <= QUADRATURE_COST_LIMIT
    assert quadrature_cost(max_quadrature_precision(10) + 1, 10) > QUADRATURE_COST_LIMIT
    with pytest.raises(ValueError, match="largest supported precision at kmax=500"):
        hermite_coefficients("tanh", kmax=500, precision=200)
    # closed forms are not limited
    assert hermite_coefficients("erf", kmax=3, precision=1000).precision == 1000
