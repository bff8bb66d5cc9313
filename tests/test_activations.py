"""The activation registry: names, parameters, the three numeric forms and user functions."""
from __future__ import annotations

import dataclasses
import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
import sympy

from asymptotics.activations import ACTIVATIONS, ALIASES, SYMBOL, Activation, get_activation

EXAMPLE_PARAMS = {"poly": {"coeffs": [1, -2, "1/3", 0, 5]}}
POINTS = [-2.7, -1.3, -0.4, 0.35, 0.9, 2.2]  # away from every kink (all kinks are at 0)


def named(name):
    return get_activation(name, **EXAMPLE_PARAMS.get(name, {}))


def test_registry_names():
    assert len(ACTIVATIONS) == len(set(ACTIVATIONS))
    for name in ["relu", "tanh", "erf", "sign", "abs", "softplus", "sigmoid", "gelu", "silu", "poly", "step",
                 "relu_p", "exp", "sin", "cos", "identity", "quad", "leaky_relu"]:
        assert name in ACTIVATIONS
    for alias, target in ALIASES.items():
        assert get_activation(alias, **EXAMPLE_PARAMS.get(target, {})).name == target
    assert get_activation("relu2") is get_activation("relu_p", p=2)
    assert get_activation("relu3") is get_activation("relu_p", p=3)
    with pytest.raises(ValueError, match="takes no parameters"):
        get_activation("relu2", p=3)
    assert get_activation("ReLU").name == "relu"
    assert get_activation("leaky-relu").name == "leaky_relu"


def test_unknown_name_lists_known_names():
    with pytest.raises(ValueError, match="unknown activation 'softmax'") as info:
        get_activation("softmax")
    for name in ACTIVATIONS:
        assert name in str(info.value)


def test_not_an_activation():
    with pytest.raises(ValueError, match="must be a name"):
        get_activation(3.0)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_forms_agree(name):
    """sympy form, mpmath callable and numpy callable are the same function."""
    act = named(name)
    assert isinstance(act, Activation)
    assert act.name == name and act.kind == "named"
    f_sym = sympy.lambdify(SYMBOL, act.sympy_form, modules="mpmath")
    for x in POINTS:
        with mpmath.workdps(30):
            mp_val = act.mp_func(mpmath.mpf(x))
            assert isinstance(mp_val, mpmath.mpf)
            sym_val = f_sym(mpmath.mpf(x))
            assert abs(mp_val - sym_val) <= mpmath.mpf(10) ** -25 * (1 + abs(mp_val))
        np_val = act.np_func(np.array([x]))[0]
        assert np_val == pytest.approx(float(mp_val), rel=1e-13, abs=1e-15)
    vec = act.np_func(np.array(POINTS).reshape(2, 3))
    assert vec.shape == (2, 3)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_derivatives(name):
    """mp/np derivatives match numerical differentiation of sigma, and sympy's derivative."""
    act = named(name)
    if name in ("sign", "step"):
        assert act.mp_derivative is None and act.np_derivative is None
        return
    d_sym = sympy.lambdify(SYMBOL, sympy.diff(act.sympy_form, SYMBOL), modules="mpmath")
    for x in POINTS:
        with mpmath.workdps(30):
            xm = mpmath.mpf(x)
            want = mpmath.diff(act.mp_func, xm)
            got = act.mp_derivative(xm)
            assert abs(got - want) <= mpmath.mpf(10) ** -20 * (1 + abs(want))
            assert abs(got - d_sym(xm)) <= mpmath.mpf(10) ** -20 * (1 + abs(want))
        assert float(act.np_derivative(np.array([x]))[0]) == pytest.approx(float(want), rel=1e-12, abs=1e-14)


def test_values_at_kinks():
    zero = mpmath.mpf(0)
    for name, value in [("relu", 0), ("abs", 0), ("sign", 0), ("step", 0), ("leaky_relu", 0), ("relu_p", 0)]:
        act = get_activation(name)
        assert act.kinks == (0.0,)
        assert act.mp_func(zero) == value
        assert float(act.np_func(0.0)) == value
    for name in ["tanh", "erf", "exp", "gelu", "silu", "softplus", "sigmoid", "sin", "cos", "identity", "quad"]:
        assert get_activation(name).kinks == ()


def test_docstrings_state_the_form():
    for name in ACTIVATIONS:
        act = named(name)
        assert act.__doc__ and act.doc == act.__doc__
        assert name.split("_")[0] in act.__doc__ or name == "identity" and "x" in act.__doc__
    assert "max(x, 0)" in get_activation("relu").__doc__
    assert "1{x > 0}" in get_activation("step").__doc__


def test_same_object_and_hashable():
    assert get_activation("erf", a=1) is get_activation("erf", a=1.0) is get_activation("erf")
    assert get_activation("erf", a=0.5) is get_activation("erf", a=Fraction(1, 2)) is get_activation("erf", a="1/2")
    assert get_activation("erf", a=0.5) != get_activation("erf", a=0.25)
    assert len({get_activation("relu"), get_activation("relu"), get_activation("tanh")}) == 2
    act = get_activation("relu")
    assert get_activation(act) is act
    with pytest.raises(dataclasses.FrozenInstanceError):
        act.name = "x"  # type: ignore[misc]


def test_parameter_limits_are_usable():
    assert get_activation("relu_p", p=100).param_dict["p"] == 100
    assert len(get_activation("poly", coeffs=[1] * 101 + [0, 0]).param_dict["coeffs"]) == 101  # trailing 0s dropped


def test_exact_parameters():
    assert get_activation("erf", a=0.1).params == (("a", sympy.Rational(1, 10)),)
    assert get_activation("exp", a=-2).params == (("a", sympy.Integer(-2)),)
    assert get_activation("sin", a=sympy.sqrt(2)).params == (("a", sympy.sqrt(2)),)
    assert get_activation("relu_p", p=3).param_dict == {"p": 3}
    assert get_activation("poly", coeffs=[1, 0.5, 0, 0]).params == (("coeffs", (1, sympy.Rational(1, 2))),)
    assert get_activation("leaky_relu").param_dict["slope"] == sympy.Rational(1, 100)
    assert repr(get_activation("erf", a=2)) == "Activation('erf', a=2)"


@pytest.mark.parametrize("name, params, message", [
    ("erf", {"a": 0}, "a must be > 0, got 0.0"),
    ("erf", {"a": -1.5}, "a must be > 0"),
    ("erf", {"a": float("nan")}, "a must not be NaN"),
    ("exp", {"a": float("inf")}, "a must be finite"),
    ("relu_p", {"p": 0}, "p must be an integer >= 1"),
    ("relu_p", {"p": 1.5}, "p must be an integer"),
    ("poly", {}, "requires coeffs"),
    ("poly", {"coeffs": [[1, 2], [3, 4]]}, "coeffs must be a 1-d sequence"),
    ("poly", {"coeffs": [1, float("nan")]}, "coeffs must not be NaN"),
    ("poly", {"coeffs": []}, "coeffs must have at least 1 entries"),
    ("relu", {"a": 2}, "unknown parameter.*allowed parameters: none"),
    ("erf", {"b": 2}, "unknown parameter.*allowed parameters: a"),
    ("sin", {"a": "x+1"}, "a must be a real number"),
    # out-of-range parameters are refused up front (p = 10**6 spent minutes in factorials of 2p)
    ("relu_p", {"p": 10 ** 6}, "p must be an integer >= 1 and <= 100, got 1000000"),
    ("poly", {"coeffs": [1] * 102}, "coeffs must have at most 101 entries"),
    ("erf", {"a": "1e-400"}, "a must be 0 or of magnitude >= 5e-324"),
    ("exp", {"a": "1e400"}, "a must be finite"),
])
def test_bad_parameters(name, params, message):
    with pytest.raises(ValueError, match=message):
        get_activation(name, **params)


def test_user_callable_mpmath():
    act = get_activation(lambda t: t * mpmath.tanh(t), name="t_tanh")
    assert act.kind == "callable" and act.name == "t_tanh" and act.max_precision is None
    assert act.sympy_form is None and act.kinks == ()
    with mpmath.workdps(40):
        v = act.mp_func(mpmath.mpf("0.5"))
        assert abs(v - mpmath.mpf("0.5") * mpmath.tanh(mpmath.mpf("0.5"))) < mpmath.mpf(10) ** -38
    assert float(act.np_func(0.5)) == pytest.approx(0.5 * math.tanh(0.5), rel=1e-14)


def test_user_callable_float_only_and_vectorization():
    act = get_activation(np.tanh)
    assert act.max_precision == 14 and act.name == "tanh"
    np.testing.assert_allclose(act.np_func(np.array([0.1, 0.2])), np.tanh([0.1, 0.2]), rtol=1e-15)
    scalar_only = get_activation(math.tanh)
    assert scalar_only.max_precision == 14
    branchy = get_activation(lambda t: t if t > 0 else 0.0, kinks=[0])  # not array-safe: looped
    assert branchy.max_precision is None  # float 0.0 is exact; mpf branch keeps precision
    np.testing.assert_array_equal(branchy.np_func(np.array([-1.0, 2.0])), [0.0, 2.0])


def test_user_callable_kinks_and_derivative():
    act = get_activation(lambda t: abs(t - 1) + abs(t + 2), kinks=[1, -2, 1], derivative=lambda t: mpmath.sign(t - 1))
    assert act.kinks == (-2.0, 1.0)
    assert act.mp_derivative(mpmath.mpf(3)) == 1
    with pytest.raises(ValueError, match="kinks must not be NaN"):
        get_activation(lambda t: t, kinks=[float("nan")])
    with pytest.raises(ValueError, match="accepts only kinks=, name= and derivative="):
        get_activation(lambda t: t, a=2)
    with pytest.raises(ValueError, match="derivative must be a callable"):
        get_activation(lambda t: t, derivative=3)


def test_user_callable_bad_values():
    with pytest.raises(ValueError, match="complex value"):
        get_activation(lambda t: mpmath.sqrt(t)).mp_func(mpmath.mpf(-1))
    with pytest.raises(ValueError, match="not finite"):
        get_activation(lambda t: mpmath.inf).mp_func(mpmath.mpf(1))
    with pytest.raises(ValueError, match="must return one real number"):
        get_activation(lambda t: [t, t]).mp_func(mpmath.mpf(1))


def test_sympy_expression():
    x = sympy.Symbol("t")
    act = get_activation(sympy.Max(x - 1, 0) + sympy.Abs(x ** 2 - 4))
    assert act.kind == "sympy"
    assert act.kinks == (-2.0, 1.0, 2.0)
    assert act.sympy_form.free_symbols == {SYMBOL}
    assert float(act.np_func(3.0)) == pytest.approx(7.0)
    with mpmath.workdps(30):
        assert act.mp_func(mpmath.mpf(3)) == 7
    assert get_activation(sympy.exp(-x ** 2)).mp_derivative is not None
    assert get_activation(sympy.Heaviside(x)).mp_derivative is None
    with pytest.raises(ValueError, match="one free symbol"):
        get_activation(sympy.Symbol("a") * x)
    with pytest.raises(ValueError, match="accepts only kinks= and name="):
        get_activation(x ** 2, derivative=lambda t: 2 * t)


# ---------------------------------------------------------------- name rules and parameter types (issue 12)
@pytest.mark.parametrize("spelling", ["RELU", "ReLU", " relu ", "Relu"])
def test_names_are_case_insensitive_with_a_canonical_lower_case_name(spelling):
    act = get_activation(spelling)
    assert act is get_activation("relu") and act.name == "relu"
    assert get_activation("LEAKY-RELU").name == "leaky_relu" and get_activation("Swish").name == "silu"


@pytest.mark.parametrize("bad", ["RELUU", "re lu", "", "soft-max"])
def test_unknown_names_list_the_known_ones(bad):
    with pytest.raises(ValueError, match="known activations are: relu, leaky_relu"):
        get_activation(bad)


@pytest.mark.parametrize("value", [None, [1, 2], float("nan"), float("inf"), 1 + 2j, "abc", True, np.bool_(True),
                                   {}, np.array([1.0, 2.0])])
def test_bad_parameter_types_name_the_parameter(value):
    with pytest.raises(ValueError, match=r"^a must"):
        get_activation("erf", a=value)
    with pytest.raises(ValueError, match=r"^slope must"):
        get_activation("leaky_relu", slope=value)


@pytest.mark.parametrize("value", [None, 2.5, "2", True, 0, 101])
def test_bad_power_names_p(value):
    with pytest.raises(ValueError, match=r"^p must"):
        get_activation("relu_p", p=value)


@pytest.mark.parametrize("value", [None, 5, [], [[1]], ["x"], [None], {1: 2}, "1,2"])
def test_bad_poly_coefficients_name_coeffs(value):
    with pytest.raises(ValueError, match="coeffs"):
        get_activation("poly", coeffs=value)


def test_case_rule_reaches_every_entry_point():
    from asymptotics.expansions.hermite import hermite_coefficients
    from asymptotics.kernels import dual_kernel
    assert hermite_coefficients("RELU", kmax=2).activation == "relu"
    assert float(dual_kernel("ReLU", 1.0)) == 0.5
