"""theory_checks.ladder: deterministic units, adaptive seeds, size rules, the scaling plot."""
from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

from theory_checks import kernel_ridge, neural_tangent, random_features, ridge
from theory_checks.ladder import (PointGroup, evaluate_unit, geometric_sizes, parse_resolution,
                                  plot_scaling, run_groups, sphere_degree, sphere_ladder, sphere_n)


class Synthetic(PointGroup):
    """A ladder with a known truth: draws N(T + a/d, (c/d)^2) per point, T = 1, 2."""

    model = "synthetic"

    def __init__(self, sizes=(20, 40, 80, 160), a=(3.0, -2.0), c=2.0, cost=None):
        self.sizes = tuple(sizes)
        self.a = np.asarray(a)
        self.c = c
        self.params = [{"k": k} for k in range(len(a))]
        self.sim = {}
        self.cost = cost

    def key(self):
        return ("synthetic", self.sizes, tuple(self.a))

    def theory(self):
        return np.arange(1.0, 1.0 + self.a.size)

    def theory_at(self, i):
        return self.theory()

    def draw(self, i, j, seed):
        rng = np.random.default_rng(np.random.SeedSequence([seed, 99, self.sizes[i], j]))
        d = self.sizes[i]
        return self.theory() + self.a / d + self.c / d * rng.standard_normal(self.a.size)


class FakeClock:
    """Each call advances by the sum of the unit costs the runner has paid since (see map_units)."""

    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_units_are_deterministic_whatever_the_order():
    g = ridge.RidgeGroup(0.5, [0.0, 0.1], sizes=(20, 40))
    a = run_groups([g], seeds=5, seed=3)[0]
    rev = lambda units: [evaluate_unit(*u) for u in units[::-1]][::-1]  # noqa: E731
    b = run_groups([g], seeds=5, seed=3, map_units=rev)[0]
    for x, y in zip(a.rows, b.rows):
        np.testing.assert_array_equal(x, y)
    # a unit is one row of the simulator's own stream: check and simulate see the same draws
    np.testing.assert_array_equal(a.rows[1], ridge.simulate(0.5, [0.0, 0.1], d=40, seeds=5, seed=3))
    # more seeds extend, never change, the rows
    c = run_groups([g], seeds=8, seed=3)[0]
    np.testing.assert_array_equal(c.rows[0][:5], a.rows[0])


@pytest.mark.parametrize("make", [
    lambda: ridge.RidgeGroup(0.5, [0.0, 0.1], sizes=(20, 40)),
    lambda: ridge.SpectrumGroup(np.arange(1, 9) ** -1.0, np.full(8, 0.125), 6, [0.1], factors=(1, 2)),
    lambda: random_features.RFGroup(2.0, 1.0, [1e-3], sizes=(10, 20), m_test=200),
    lambda: kernel_ridge.KRRGroup("exp", 6, 6, [0.1], dims=(6, 8), n_test=100),
    lambda: neural_tangent.NTGroup(8, [0.1], d=6, N=20, dims=(6, 8), m_test=100),
    lambda: neural_tangent.ApproximationGroup("nt", 4, 6, factors=(0.75, 1.0)),
])
def test_groups_pickle_and_draw_the_same_after_a_round_trip(make):
    """Groups are plain data (issue 14 ships units to worker processes)."""
    g = make()
    h = pickle.loads(pickle.dumps(g))
    assert h.key() == g.key()
    np.testing.assert_array_equal(h.draw(1, 2, 7), g.draw(1, 2, 7))
    np.testing.assert_array_equal(h.theory_at(0), g.theory_at(0))


def test_resolution_target_is_met_by_adding_seeds_where_they_pay():
    g = Synthetic()
    clock = FakeClock()

    def paid(units):   # cost of a draw ~ d (the clock advances by it)
        out = [evaluate_unit(*u) for u in units]
        clock.t += sum(u[0].sizes[u[1]] * 1e-3 for u in units)
        return [(r, u[0].sizes[u[1]] * 1e-3) for (r, _), u in zip(out, units)]

    run = run_groups([g], seeds=6, resolution=0.01, max_seconds=1e4, map_units=paid)[0]
    cs = run.checks()
    assert run.met is True and all(c.resolution <= 0.01 for c in cs)
    assert all(c.verdict == "agree" for c in cs) or sum(c.verdict == "disagree" for c in cs) <= 1
    S = np.array(cs[0].seeds)
    assert S.sum() > 24 and S.min() >= S.max() / 8          # every size keeps weight (BALANCE)
    # no target: exactly the initial seeds
    plain = run_groups([g], seeds=6)[0]
    assert plain.met is None and plain.checks()[0].seeds == (6,) * 4


def test_a_point_that_met_the_target_agrees_when_its_group_did_not():
    """``met`` is per point: in a group where one point misses the target, the other is judged on
    its own resolution (the group's ``met`` used to make both ``inconclusive``)."""
    g = Synthetic(a=(3.0, -2.0))
    g.theory = lambda: np.array([1.0, 100.0])                # point 1: 100 x smaller relative noise
    g.theory_at = lambda i: g.theory()
    run = run_groups([g], seeds=4, resolution=0.004, max_seeds=4)[0]
    assert run.met is False and run.budget == "seeds"
    wide, narrow = run.checks()
    assert wide.resolution > 0.004 and wide.met is False and wide.verdict in ("inconclusive", "disagree")
    assert narrow.resolution <= 0.004 and narrow.met is True and narrow.verdict in ("agree", "disagree")
    assert narrow.verdict == narrow.with_theory(100.0, [100.0] * 4).verdict


def test_budget_runs_out_inconclusive():
    g = Synthetic(c=50.0)
    clock = FakeClock()

    def slow(units):
        clock.t += 1.0 * len(units)
        return [(evaluate_unit(*u)[0], 1.0) for u in units]

    run = run_groups([g], seeds=4, resolution=1e-4, max_seconds=10, map_units=slow)[0]
    assert run.met is False and run.budget == "seconds"
    cs = run.checks()
    assert {c.verdict for c in cs} <= {"inconclusive", "disagree"}
    # the budget is per point: two points pool 2 x 10 s (plus the 16 initial draws)
    assert clock.t <= 16 + 2 * 10 + 8
    seeds_cap = run_groups([g], seeds=4, resolution=1e-4, max_seeds=6, max_seconds=1e6)[0]
    assert seeds_cap.met is False and seeds_cap.budget == "seeds" and max(seeds_cap.checks()[0].seeds) <= 6


@pytest.mark.parametrize("kwargs,match", [
    (dict(seeds=1), "seeds must be an integer >= 2"),
    (dict(seed=-1), "seed must be an integer >= 0"),
    (dict(resolution=0.0), "resolution must be > 0"),
    (dict(resolution=0.1, max_seconds=-1.0), "max_seconds must be > 0"),
    (dict(seeds=10, max_seeds=5), "max_seeds must be >= seeds"),
])
def test_run_groups_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        run_groups([Synthetic()], **kwargs)


def test_non_finite_draws_are_reported():
    class Bad(Synthetic):
        def draw(self, i, j, seed):
            return np.array([np.nan, 1.0])
    with pytest.raises(ValueError, match="non-finite risk at size 20"):
        run_groups([Bad()], seeds=2)


def test_size_rules():
    assert geometric_sizes(400, 4, 8.0) == (50, 100, 200, 400)
    assert geometric_sizes(7, 1) == (7,)
    assert sphere_degree(20, 20) == 1 and sphere_degree(20, 400) == 2 and sphere_degree(100, 5) == 0
    # n / sum_{k <= l} B(d, k) is held fixed: n = d + 1 stays at the degree-1 threshold
    assert [sphere_n(20, 21, d) for d in (10, 40)] == [11, 41]
    assert sphere_n(20, 230, 40) == 1 + 40 + 819                    # D_2(20) = 230 -> D_2(40)
    dims, ns = sphere_ladder(20, 20, dims=[40, 20])
    assert dims == (20, 40) and ns == (20, 39)
    with pytest.raises(ValueError, match="distinct"):
        sphere_ladder(20, 20, dims=[20, 20])


def test_parse_resolution():
    assert parse_resolution("1%") == 0.01 and parse_resolution(" 0.5 ") == 0.5
    for bad in ("0", "-1%", "150%", "abc", "nan"):
        with pytest.raises(ValueError, match="--resolution"):
            parse_resolution(bad)


def test_scaling_plot(tmp_path):
    pytest.importorskip("matplotlib")
    cs = run_groups([Synthetic()], seeds=5)[0].checks()
    for c in cs:
        c.params["lam"] = float(c.params.pop("k"))  # a series variable the plot colours by
    path = plot_scaling(cs, tmp_path / "s.png", title="synthetic")
    assert path.stat().st_size > 5000
    with pytest.raises(ValueError, match="must end in"):
        plot_scaling(cs, tmp_path / "s.txt")
    inf = ridge.check(1.0, 0.0, d=[10, 20], seeds=3)
    with pytest.raises(ValueError, match="every point's theory diverges"):
        plot_scaling(inf, tmp_path / "t.png")
    assert math.isinf(inf[0].theory)


def test_rows_carry_every_parameter_of_the_simulation(tmp_path):
    """Two RF groups differing only in tau2 (or activation, F1sq, Fstar_sq) give distinguishable rows
    and two plot panels; kernel ridge and NT rows carry the target's energies (a string that reads
    back, and survives every export format)."""
    import csv
    import io
    import json

    from asymptotics.export import format_records
    from asymptotics.models.kernel_ridge import parse_energy
    a = random_features.RFGroup(2.0, 1.0, [0.1], tau2=0.0, sizes=(10, 20), m_test=100)
    b = random_features.RFGroup(2.0, 1.0, [0.1], tau2=0.5, F1sq=2.0, Fstar_sq=0.3, activation="tanh",
                                sizes=(10, 20), m_test=100)
    assert a.params[0] != b.params[0]
    assert b.params[0] == dict(psi1=2.0, psi2=1.0, lam=0.1, activation="tanh", F1sq=2.0, Fstar_sq=0.3, tau2=0.5)
    k = kernel_ridge.KRRGroup("exp", 6, 6, [0.1], energy=[0, 1, 0.3], dims=(6, 8), n_test=100)
    assert k.params[0]["energy"] == "0,1,0.3"
    np.testing.assert_array_equal(parse_energy(k.params[0]["energy"]), [0.0, 1.0, 0.3])
    nt = neural_tangent.NTGroup(8, [0.1], d=6, N=20, energy=[0, 1, 0.5], dims=(6, 8), m_test=100)
    assert nt.params[0]["energy"] == "0,1,0.5" and nt.params[0]["activation"] == "relu"
    runs = run_groups([a, b, k], seeds=3)
    checks = [c for r in runs for c in r.checks()]
    recs = [c.to_record() for c in checks]
    rows = list(csv.DictReader(line for line in io.StringIO(format_records(recs, "csv")) if not line.startswith("#")))
    assert rows[2]["energy"] == "0,1,0.3" and rows[0]["tau2"] != rows[1]["tau2"]
    assert json.loads(json.dumps([c.to_record(lists=True) for c in checks]))[2]["energy"] == "0,1,0.3"
    assert json.loads(format_records(recs, "json"))[2]["energy"] == "0,1,0.3"
    assert "0,1,0.3" in format_records(recs, "latex")
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    made = []
    orig = Figure.add_subplot
    Figure.add_subplot = lambda self, *x, **kw: made.append(x) or orig(self, *x, **kw)
    try:
        plot_scaling(checks[:2], tmp_path / "p.png")
    finally:
        Figure.add_subplot = orig
    assert len(made) == 2                                    # one panel per tau2


def test_cli_rows_say_whether_the_target_was_met_and_budgets_need_a_target(capsys):
    """Every format carries a per-row ``target_met`` (``null`` without a target); the CSV metadata
    shows the effective budgets; a budget flag without ``--resolution`` is refused."""
    import json

    from asymptotics.cli import main
    base = ["check", "ridge", "--gamma", "2", "--lam", "1", "--d", "10,20", "--seeds", "3"]
    main(base + ["--format", "json"])
    assert json.loads(capsys.readouterr().out)["target_met"] is None
    main(base + ["--format", "json", "--resolution", "1", "--max-seeds", "3"])
    row = json.loads(capsys.readouterr().out)
    assert row["target_met"] is (row["resolution"] <= 1.0)
    main(base + ["--format", "latex", "--resolution", "1e-6", "--max-seeds", "3"])
    out = capsys.readouterr().out
    assert "target\\_met" in out and "False" in out.split("\\midrule")[1]
    main(base + ["--format", "csv", "--resolution", "1e-6", "--max-seeds", "3"])
    out = capsys.readouterr().out
    assert "# max_seconds: 120" in out and "# max_seeds: 3" in out and "# target_met: false" in out
    for flag, value in (("--max-seconds", "5"), ("--max-seeds", "20")):
        with pytest.raises(SystemExit) as exc:
            main(base + [flag, value])
        assert exc.value.code == 2
        assert f"{flag} is a budget for --resolution" in capsys.readouterr().err
