"""theory_checks.compare: the statistical comparison of theory and Monte Carlo."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from theory_checks.compare import RESERVED_KEYS, Comparison, compare, compare_many


def test_mean_se_tolerance_z_verdict():
    x = np.array([1.0, 2.0, 4.0, 7.0])
    c = compare(3.0, x, allowance=0.25, k_se=2.0, params={"gamma": 0.5, "lam": 0.1})
    se = np.std(x, ddof=1) / 2.0
    assert c.mc_mean == 3.5
    assert c.mc_se == pytest.approx(se, rel=1e-15)
    assert c.n_seeds == 4 and c.k_se == 2.0 and c.allowance == 0.25
    assert c.tolerance == pytest.approx(c.k_eff * se + 0.25, rel=1e-15)
    assert c.z == pytest.approx(0.5 / se, rel=1e-15)
    assert c.verdict == "agree"
    assert compare(3.5 + c.k_eff * se + 0.25 + 1e-9, x, allowance=0.25, k_se=2.0).verdict == "disagree"
    assert compare(3.5 - c.k_eff * se - 0.25 - 1e-9, x, allowance=0.25, k_se=2.0).verdict == "disagree"


def test_default_k_is_three():
    c = compare(0.0, [1.0, -1.0])
    assert c.k_se == 3.0 and c.allowance == 0.0
    assert c.tolerance == c.k_eff * c.mc_se


def test_to_record_is_flat_and_ordered():
    c = compare(1.0, [1.0, 1.2, 0.8], allowance=0.1, params={"gamma": 2.0, "lam": 0.0, "d": 400})
    rec = c.to_record()
    assert list(rec) == ["gamma", "lam", "d", *RESERVED_KEYS]
    assert rec["verdict"] == "agree" and rec["n_seeds"] == 3
    assert all(isinstance(rec[k], float) for k in ("theory", "mc_mean", "mc_se", "z", "allowance",
                                                   "tolerance"))


def test_params_are_copied():
    p = {"gamma": 0.5}
    c = compare(1.0, [1.0, 1.0], params=p)
    p["gamma"] = 99.0
    assert c.params == {"gamma": 0.5}


def test_zero_standard_error_is_nan_safe():
    assert compare(2.0, [2.0, 2.0]).z == 0.0
    assert compare(2.0, [2.0, 2.0]).verdict == "agree"
    assert compare(1.0, [2.0, 2.0]).z == math.inf
    assert compare(3.0, [2.0, 2.0]).z == -math.inf
    assert compare(3.0, [2.0, 2.0]).verdict == "disagree"
    assert compare(3.0, [2.0, 2.0], allowance=1.0).verdict == "agree"


def test_diverging_theory():
    c = compare(math.inf, [1e3, 5e4, 2e2], params={"gamma": 1.0, "lam": 0.0})
    assert c.verdict == "diverges"
    assert c.z is None
    assert c.mc_mean == pytest.approx((1e3 + 5e4 + 2e2) / 3)
    rec = c.to_record()
    assert rec["theory"] == math.inf and rec["z"] is None and rec["verdict"] == "diverges"


def test_infinite_allowance_is_allowed():
    c = compare(1.0, [5.0, 6.0], allowance=math.inf)
    assert c.tolerance == math.inf and c.verdict == "agree"


def test_frozen():
    c = compare(1.0, [1.0, 2.0])
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.theory = 2.0


@pytest.mark.parametrize("kwargs,match", [
    (dict(theory=1.0, samples=[1.0]), "samples must have at least 2 entries"),
    (dict(theory=1.0, samples=[]), "samples must have at least 2 entries"),
    (dict(theory=1.0, samples=[[1.0, 2.0]]), "samples must be a 1-d array"),
    (dict(theory=1.0, samples=[1.0, float("nan")]), "samples must not be NaN"),
    (dict(theory=1.0, samples=[1.0, float("inf")]), "samples must be finite"),
    (dict(theory=float("nan"), samples=[1.0, 2.0]), "theory must not be NaN"),
    (dict(theory=-math.inf, samples=[1.0, 2.0]), "theory must be finite or \\+inf"),
    (dict(theory="a", samples=[1.0, 2.0]), "theory must be a real number"),
    (dict(theory=1.0, samples=[1.0, 2.0], allowance=-0.1), "allowance must be >= 0"),
    (dict(theory=1.0, samples=[1.0, 2.0], k_se=0.0), "k_se must be > 0"),
    (dict(theory=1.0, samples=[1.0, 2.0], params={"z": 1}), "reserved keys"),
])
def test_compare_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        compare(kwargs.pop("theory"), kwargs.pop("samples"), **kwargs)


def test_compare_many_matches_compare():
    rng = np.random.default_rng(0)
    samples = rng.normal(size=(10, 4)) + np.array([0.0, 1.0, 2.0, 3.0])
    theory = np.array([0.0, 1.0, 2.5, math.inf])
    allowance = np.array([0.0, 0.1, 0.2, math.inf])
    params = [{"i": i} for i in range(4)]
    many = compare_many(theory, samples, allowance=allowance, k_se=2.5, params=params)
    one = [compare(theory[j], samples[:, j], allowance=allowance[j], k_se=2.5, params=params[j])
           for j in range(4)]
    assert many == one
    assert [c.verdict for c in many][3] == "diverges"


def test_compare_many_broadcasts_scalars():
    cs = compare_many(1.0, np.ones((3, 5)))
    assert len(cs) == 5 and all(c.verdict == "agree" and c.z == 0.0 for c in cs)
    assert all(c.params == {} for c in cs)


@pytest.mark.parametrize("theory,samples,kwargs,match", [
    ([1.0, 2.0], np.ones((3, 3)), {}, r"theory must be a scalar or have shape \(3,\)"),
    ([1.0], np.ones(3), {}, "samples must be a 2-d array"),
    ([1.0], np.ones((1, 1)), {}, "samples must have at least 2 rows"),
    ([1.0, 1.0], np.ones((3, 2)), {"allowance": [0.0]}, r"allowance must be a scalar or have shape"),
    ([1.0, 1.0], np.ones((3, 2)), {"params": [{}]}, "params must be a list of 2 dicts"),
    ([1.0, 1.0], np.ones((3, 2)), {"allowance": [0.0, -1.0]}, "allowance must be >= 0"),
])
def test_compare_many_bad_input(theory, samples, kwargs, match):
    with pytest.raises(ValueError, match=match):
        compare_many(theory, samples, **kwargs)


@settings(max_examples=200, deadline=None)
@given(theory=st.one_of(st.floats(-1e6, 1e6), st.just(math.inf)),
       samples=st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=30),
       allowance=st.floats(0.0, 1e3), k=st.floats(0.1, 10.0))
def test_properties(theory, samples, allowance, k):
    c = compare(theory, samples, allowance=allowance, k_se=k)
    rec = c.to_record()
    for key in ("mc_mean", "mc_se", "allowance", "tolerance"):
        assert not math.isnan(rec[key])
    if math.isinf(theory):
        assert c.verdict == "diverges" and c.z is None
        return
    assert not math.isnan(c.z)
    assert c.verdict in ("agree", "disagree")
    assert c.k_eff >= k
    assert (c.verdict == "agree") == (abs(c.mc_mean - theory) <= c.k_eff * c.mc_se + allowance)
    if allowance == 0.0 and c.mc_se > 0 and abs(c.z) < k * (1 - 1e-9):
        assert c.verdict == "agree"


def test_k_eff_is_the_student_t_quantile_at_the_normal_level():
    from scipy import stats
    c5 = compare(0.0, [0.1, -0.2, 0.05, 0.3, -0.1])
    assert c5.k_eff == pytest.approx(stats.t.ppf(stats.norm.cdf(3.0), 4), rel=1e-10)
    assert 6.6 < c5.k_eff < 6.65
    big = compare(0.0, np.random.default_rng(0).standard_normal(100_000))
    assert big.k_eff == pytest.approx(3.0, abs=1e-3)
    # the false-alarm rate of the t-based test is the nominal one at S = 5 (normal quantile: ~1.6% at k=4)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((20_000, 5))
    m, se = x.mean(axis=1), x.std(axis=1, ddof=1) / np.sqrt(5)
    alarms = np.mean(np.abs(m) > compare(0.0, x[0], k_se=2.0).k_eff * se)
    assert abs(alarms - 2 * stats.norm.sf(2.0)) < 4 * np.sqrt(0.0455 / 20_000)
