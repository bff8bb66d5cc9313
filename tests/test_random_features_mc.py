"""Random features: theory vs Monte Carlo extrapolated over finite-size ladders.

The O(1/d) bias of a finite simulation is real (at psi1 = 8, psi2 = 3, d = 100 the simulation is
3 % below the limit): a single size rejects the correct theory, the ladder accepts it and still
rejects a theory 3 % off. The slow test is the Mei-Montanari double-descent setting of the issue.
"""
from __future__ import annotations

import numpy as np
import pytest

from theory_checks import random_features as rf
from theory_checks.compare import mc_scale


def test_single_size_sees_the_finite_size_bias_the_ladder_removes():
    kw = dict(tau2=0.0, m_test=500)
    single = rf.check(8.0, 3.0, [1e-3], d=40, seeds=20, seed=2, **kw)[0]
    assert single.fit.kind == "none" and single.verdict == "disagree", single.to_record()
    assert single.means[0] < single.theory                       # the simulation is below the limit
    ladder = rf.check(8.0, 3.0, [1e-3], d=[10, 20, 40, 80], seeds=20, seed=2, **kw)[0]
    assert ladder.fit.kind == "1/d+1/d^2" and ladder.verdict == "agree", ladder.to_record()
    assert ladder.slope < 0 and ladder.resolution < 0.03
    assert ladder.with_theory(1.03 * ladder.theory, 1.03 * np.asarray(ladder.theories)).verdict == "disagree"


def test_check_reports_the_simulated_sizes_and_bad_input():
    c = rf.check(1.5, 0.5, [0.1], d=[10, 21], seeds=3, m_test=200)[0]
    assert c.sizes == (10, 21) and c.sim == {"N": (15, 32), "n": (5, 10)}
    # the theory at each size is evaluated at the simulated N/d, n/d (rounding is not finite size)
    from asymptotics.models.random_features import risk
    assert c.theories[1] == pytest.approx(float(risk(32 / 21, 10 / 21, 0.1, activation="relu").risk), rel=1e-12)
    with pytest.raises(ValueError, match="distinct integers >= 2"):
        rf.check(1.5, 0.5, [0.1], d=[10, 10])
    with pytest.raises(ValueError, match="psi1 must be > 0"):
        rf.check(0.0, 0.5, [0.1])


@pytest.mark.slow
def test_mei_montanari_double_descent_setting():
    """psi1 in {3.3, 4.5, 8}, psi2 = 3, lam in {1e-8, 1e-3, 1e-2}, noiseless, relu, on the default ladder
    d = 25..200 (the old single-size check at d = 100 called 4 of 9 points wrong)."""
    seeds = max(10, round(20 * mc_scale()))
    bad, res = [], []
    for p1 in (3.3, 4.5, 8.0):
        for c in rf.check(p1, 3.0, [1e-8, 1e-3, 1e-2], tau2=0.0, seeds=seeds, level=0.997):
            res.append(c.resolution)
            if c.verdict != "agree":
                bad.append(c.to_record())
    assert not bad, bad
    assert max(res) < 0.1, res
