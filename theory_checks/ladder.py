"""Simulation work of a finite-size check: point groups, deterministic units, adaptive seeds.

A **point group** (:class:`PointGroup`) is one simulation shared by ``P`` points -- the ridge values
``lam`` of one parameter point, which reuse one decomposition per draw -- at a ladder of ``K`` sizes.
Its **unit of work** is ``(group, size index i, seed index j) -> one row of P risks``; the row's
random stream is ``numpy.random.SeedSequence`` of ``(base seed, model tag, the size's integers, j)``,
so a unit's result never depends on the order, the batch or the process in which it is computed.
:func:`run_groups` runs the units (through a pluggable ``map_units`` backend), and, given a
resolution target, adds seeds in batches where they buy the most ``1/Var(delta_hat)`` per second of
measured simulation time. The statistics (fit, interval, verdict) are in :mod:`theory_checks.compare`.

>>> geometric_sizes(200, 4, 8.0)
(25, 50, 100, 200)
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from asymptotics._validation import check_int, check_real
from .compare import LEVEL, Check, make_check, smoothed_variances

__all__ = ["PointGroup", "GroupRun", "run_groups", "evaluate_unit", "geometric_sizes", "parse_resolution",
           "sphere_ladder", "sphere_n", "sphere_degree", "plot_scaling", "DEFAULT_SEEDS",
           "DEFAULT_MAX_SECONDS", "DEFAULT_MAX_SEEDS", "energy_text"]

#: Seeds per size of a check without a resolution target.
DEFAULT_SEEDS = 10
#: No size of a ladder gets fewer than 1/BALANCE of the seeds of the best-sampled size.
BALANCE = 8.0
#: Simulation budget per point when a resolution target is given (seconds of wall time).
DEFAULT_MAX_SECONDS = 120.0
#: Seeds per size at most when a resolution target is given.
DEFAULT_MAX_SEEDS = 100_000


def energy_text(energy) -> str:
    """A target's energies per degree as a reported parameter: ``"0,1,0.5"`` (shortest round-trip
    digits; ``asymptotics.models.kernel_ridge.parse_energy`` reads it back). A string, so records
    stay flat in every export format and groups stay hashable in the plot.

    >>> energy_text([0.0, 1.0, 0.3])
    '0,1,0.3'
    """
    return ",".join(str(int(v)) if float(v).is_integer() else repr(float(v))
                    for v in np.asarray(energy, dtype=float).ravel())


# ------------------------------------------------------------------------------------------------
# simulation work: point groups, deterministic units, adaptive seeds
# ------------------------------------------------------------------------------------------------
class PointGroup:
    """One simulation shared by ``P`` points (typically the ridge values of one parameter point)
    at a ladder of ``K`` sizes. Subclasses (one per model, in the simulator modules) define

    * ``sizes``: the ladder ``d_i`` (tuple of ints, increasing), the fit's size variable;
    * ``params``: ``P`` dicts, the reported parameters of each point;
    * ``sim``: dict name -> tuple of the simulated integers per size (e.g. ``n``);
    * :meth:`theory` (``T``, shape ``(P,)``) and :meth:`theory_at` (``T_i``, shape ``(P,)``);
    * :meth:`draw`: **one unit of work**, the row of ``P`` risks of seed index ``j`` at size ``i``.
      Its random stream is ``numpy.random.SeedSequence(self.entropy(i, j, seed))``: the row depends
      only on ``(seed, group, size, j)``, never on the order or the batch in which units are run,
      and all ``P`` points of the row share one draw (one decomposition).

    ``key`` identifies the group (model and parameters) for a results store.
    """

    model: str = ""
    sizes: tuple = ()
    params: list = []
    sim: dict = {}

    def key(self) -> tuple:  # pragma: no cover - overridden
        raise NotImplementedError

    def theory(self) -> np.ndarray:  # pragma: no cover - overridden
        raise NotImplementedError

    def theory_at(self, i: int) -> np.ndarray:  # pragma: no cover - overridden
        raise NotImplementedError

    def draw(self, i: int, j: int, seed: int) -> np.ndarray:  # pragma: no cover - overridden
        raise NotImplementedError

    def cost_hint(self, i: int) -> float:
        """A relative cost of one draw at size ``i`` (used before any draw was timed): ``d^3``."""
        return float(self.sizes[i]) ** 3


class SphereTheory:
    """Theory of a group on a sphere ladder ``(d_i, n_i)`` (kernel ridge, NT): ``T`` at the point and
    ``T_i`` at each size, from ``self.theory_fn(d, n, lams)`` when given, else from the model's own
    :meth:`_model_risk`; evaluated once per ``(d, n)`` and checked (real, ``+inf`` allowed)."""

    def _model_risk(self, d, n):  # pragma: no cover - overridden
        raise NotImplementedError

    def _risk(self, d, n):
        if (d, n) not in self._cache:
            th = self._model_risk(d, n) if self.theory_fn is None else self.theory_fn(d, n, self.lams)
            self._cache[(d, n)] = np.broadcast_to(check_real("theory", th, allow_inf=True),
                                                  self.lams.shape).astype(float)
        return self._cache[(d, n)]

    def theory(self):
        return self._risk(self.d, self.n)

    def theory_at(self, i):
        return self._risk(self.sizes[i], self.ns[i])


def evaluate_unit(group: PointGroup, i: int, j: int, seed: int):
    """Run one unit: ``(row, seconds)``. A module-level function, so backends can ship it."""
    t0 = time.perf_counter()
    row = np.asarray(group.draw(i, j, seed), dtype=float)
    return row, time.perf_counter() - t0


def draw_row(group: PointGroup, i: int, j: int, seed: int) -> list:
    """One unit's row of ``P`` risks as a list (what the results store keeps)."""
    return np.asarray(group.draw(i, j, seed), dtype=float).tolist()


def unit_key(group: PointGroup, i: int, j: int, seed: int) -> dict:
    """The complete name of a unit in a results store: the group's key (model and parameters), the
    size (the ladder's ``d_i`` and the simulated integers), the seed index and the base seed."""
    return dict(group=type(group).__name__, key=group.key(), size=group.sizes[i],
                sim={k: v[i] for k, v in sorted(group.sim.items())}, j=int(j), seed=int(seed))


def _runner_map(units):
    """The default backend: the active :class:`theory_checks.runner.Runner` (store, workers, progress)."""
    from .runner import Unit, current
    res = current().map([Unit(key=unit_key(*u), fn=draw_row, args=tuple(u), code=type(u[0]).__module__)
                         for u in units])
    return [(np.asarray(r, dtype=float), s) for r, s in res]


@dataclass
class GroupRun:
    """The simulated rows of one group: ``rows[i]`` is a ``(S_i, P)`` array (seed ``j`` in row
    ``j``), ``seconds[i]`` the time spent at size ``i``; plus the outcome of the seed allocation
    (``met``: every point of the group met the target; each :class:`Check` carries its own ``met``)."""

    group: PointGroup
    rows: list
    seconds: list
    target: float | None = None
    met: bool | None = None
    elapsed: float = 0.0
    budget: str = ""

    def cost(self, i) -> float:
        """Measured seconds per draw at size ``i``."""
        n = self.rows[i].shape[0]
        return self.seconds[i] / n if n else float("nan")

    def checks(self, theory=None, theories=None, *, level: float = LEVEL) -> list[Check]:
        """One :class:`Check` per point; ``theory`` (``(P,)``) and ``theories`` (``(K, P)``) default
        to the group's own theory (pass others to judge a different theory on the same draws)."""
        g = self.group
        T = np.asarray(g.theory() if theory is None else theory, dtype=float).reshape(-1)
        Ti = np.asarray([g.theory_at(i) for i in range(len(g.sizes))] if theories is None else theories,
                        dtype=float).reshape(len(g.sizes), -1)
        out = []
        for p, prm in enumerate(g.params):
            means = [float(np.mean(r[:, p])) for r in self.rows]
            ses = [float(np.std(r[:, p], ddof=1) / math.sqrt(r.shape[0])) for r in self.rows]
            out.append(make_check(prm, T[p], g.sizes, Ti[:, p], means, ses, [r.shape[0] for r in self.rows],
                                  sim=g.sim, target=self.target, level=level))
        return out


def _predicted_var(x, s2, S, degree):
    """``Var(delta_hat)`` of the WLS fit for per-draw variances ``s2`` and seeds ``S``."""
    w = S / np.maximum(s2, 1e-300)
    A = np.vander(x, degree + 1, increasing=True)
    M = A.T @ (A * w[:, None])
    try:
        return float(np.linalg.inv(M)[0, 0])
    except np.linalg.LinAlgError:
        return math.inf


def _worst(checks, target):
    """Index of the point furthest from the target (largest resolution / target), or ``None``
    when every finite point meets it."""
    best, worst = 1.0, None
    for k, c in enumerate(checks):
        r = c.resolution
        if r is None:
            continue
        ratio = r / target
        if ratio > best:
            best, worst = ratio, k
    return worst, best


def run_groups(groups: Sequence[PointGroup], *, seeds: int = DEFAULT_SEEDS, seed: int = 0,
               resolution: float | None = None, max_seconds: float | None = None,
               max_seeds: int | None = None, level: float = LEVEL,
               map_units: Callable | None = None) -> list[GroupRun]:
    """Simulate every group at every size, adding seeds until a resolution target is met.

    The initial ``seeds`` units of every group and size are handed to the backend in one call (so
    parallel backends see them all); the adaptive seeds of a target follow group by group.

    Args:
        groups: the point groups.
        seeds: seeds per size to start with (``>= 2``); without a target, exactly these.
        seed: the base seed (``>= 0``) of every unit's stream.
        resolution: the target relative half-width (``None``: no target). Seeds are then added in
            batches, each to the size with the largest gain in ``1 / Var(delta_hat)`` per second of
            measured simulation time, for the point of the group furthest from the target, until every
            point of the group meets it or a budget runs out.
        max_seconds: simulation budget **per point** in seconds of simulation time (the sum of the
            units' own times, so a rerun from the results store replays the same allocation; default
            120 with a target). The points of a group share their draws, so a group of ``P`` points
            gets ``P * max_seconds``.
        max_seeds: at most this many seeds per size (default 100000 with a target).
        level: confidence level.
        map_units: ``f(list of (group, i, j, seed)) -> list of (row, seconds)``, the execution backend
            (default: the active :class:`theory_checks.runner.Runner`: its store, workers and progress
            bar; without one, in-process and in order).

    Returns:
        One :class:`GroupRun` per group, in order.

    Raises:
        theory_checks.runner.Interrupted: on Ctrl-C; its ``partial`` is the list of the runs of the
            groups that were finished (``None`` for the others).
    """
    from .runner import Interrupted
    seeds = check_int("seeds", seeds, low=2)
    seed = check_int("seed", seed, low=0)
    if resolution is not None:
        resolution = float(check_real("resolution", resolution, low=0.0, high=1.0, low_open=True))
        max_seconds = DEFAULT_MAX_SECONDS if max_seconds is None else max_seconds
        max_seeds = DEFAULT_MAX_SEEDS if max_seeds is None else max_seeds
    if max_seconds is not None:
        max_seconds = float(check_real("max_seconds", max_seconds, low=0.0, low_open=True))
    if max_seeds is not None:
        max_seeds = check_int("max_seeds", max_seeds, low=2)
        if max_seeds < seeds:
            raise ValueError(f"max_seeds must be >= seeds ({seeds}), got {max_seeds}")
    run_map = _runner_map if map_units is None else map_units
    groups = list(groups)

    def finite(g, i, start, new):
        if not np.isfinite(new).all():
            raise ValueError(f"{g.model}: the simulation returned a non-finite risk at size "
                             f"{g.sizes[i]} (seed index in {start}..{start + new.shape[0] - 1})")
        return new

    # phase 1: the initial seeds of every group and size, in one call
    todo = [(gi, i, j) for gi, g in enumerate(groups) for i in range(len(g.sizes)) for j in range(seeds)]
    try:
        res = run_map([(groups[gi], i, j, seed) for gi, i, j in todo])
    except KeyboardInterrupt as e:
        got = getattr(e, "partial", None) or [None] * len(todo)
        runs = []
        for g, mine in zip(groups, _per_group(groups, got, seeds)):
            done = resolution is None and all(r is not None for r in mine)
            runs.append(_initial_run(g, mine, seeds, None, finite) if done else None)
        raise Interrupted(runs, getattr(e, "runner", None)) from None
    out = [_initial_run(g, mine, seeds, resolution, finite)
           for g, mine in zip(groups, _per_group(groups, res, seeds))]
    if resolution is None:
        return out
    # phase 2: adaptive seeds, group by group
    for gi, run in enumerate(out):
        try:
            _adapt(run, seed, resolution, max_seconds, max_seeds, level, run_map, finite)
        except KeyboardInterrupt as e:
            raise Interrupted(out[:gi] + [None] * (len(out) - gi), getattr(e, "runner", None)) from None
    return out


def _per_group(groups, results, seeds):
    """Split the results of phase 1 (ordered by group, size, seed) into one slice per group."""
    pos = 0
    for g in groups:
        n = len(g.sizes) * seeds
        yield results[pos:pos + n]
        pos += n


def _initial_run(g, results, seeds, resolution, finite):
    """The :class:`GroupRun` of a group from its ``len(sizes) * seeds`` initial ``(row, seconds)``."""
    P = len(g.params)
    rows, secs = [], []
    for i in range(len(g.sizes)):
        chunk = results[i * seeds:(i + 1) * seeds]
        rows.append(finite(g, i, 0, np.array([r for r, _ in chunk], dtype=float).reshape(seeds, P)))
        secs.append(float(sum(t for _, t in chunk)))
    return GroupRun(g, rows, secs, target=resolution, elapsed=sum(secs))


def _adapt(run, seed, resolution, max_seconds, max_seeds, level, run_map, finite):
    """Add seeds to ``run`` until its points meet ``resolution`` or a budget runs out. Every decision
    depends only on the rows and the units' own seconds (never on the wall clock), so a rerun that
    reads them from the results store replays it exactly."""
    g, rows, secs = run.group, run.rows, run.seconds
    K, P = len(g.sizes), len(g.params)
    budget = max_seconds * P

    def add(i, count):
        start = rows[i].shape[0]
        res = run_map([(g, i, j, seed) for j in range(start, start + count)])
        new = finite(g, i, start, np.array([r for r, _ in res], dtype=float).reshape(count, P))
        rows[i] = np.vstack([rows[i], new])
        secs[i] += float(sum(t for _, t in res))

    x = 1.0 / np.asarray(g.sizes, dtype=float)
    while True:
        checks = run.checks(level=level)
        worst, ratio = _worst(checks, resolution)
        if worst is None:
            run.met = True
            break
        elapsed = float(sum(secs))
        S = np.array([r.shape[0] for r in rows], dtype=float)
        room = np.array([max_seeds - s for s in S])
        if elapsed >= budget or not (room > 0).any():
            run.met = False
            run.budget = "seconds" if elapsed >= budget else "seeds"
            break
        c = checks[worst]
        fit = c.fit
        # every size keeps at least 1/8 of the seeds of the best-sampled one, so the
        # goodness-of-fit test keeps seeing the middle of the ladder
        low = [i for i in range(K) if room[i] > 0 and S[i] < S.max() / BALANCE]
        if low:
            i = min(low, key=lambda k: S[k])
            left = budget - elapsed
            b = int(min(room[i], max(2, math.ceil(S.max() / BALANCE - S[i]))))
            b = int(max(1, min(b, left / max(run.cost(i), 1e-9))))
            add(i, b)
            continue
        degree = 2 if fit.kind == "1/d+1/d^2" else (0 if fit.kind == "none" else 1)
        keep = np.isfinite(np.asarray(c.theories))
        s2 = smoothed_variances(np.asarray(g.sizes, dtype=float),
                                np.array([np.std(r[:, worst], ddof=1) for r in rows]) / np.sqrt(S), S)
        cost = np.array([run.cost(i) for i in range(K)])
        # batch: enough to close the gap if the variance fell as 1/S, at most doubling a size
        need = ratio ** 2
        best_i, best_gain, best_b = None, -1.0, 0
        v_now = _predicted_var(x[keep], s2[keep], S[keep], degree)
        for i in range(K):
            if room[i] <= 0 or not keep[i]:
                continue
            b = int(min(room[i], max(2, math.ceil(S[i] * min(need - 1.0, 1.0)))))
            left = budget - elapsed
            b = int(max(1, min(b, left / max(cost[i], 1e-9)))) if left > 0 else 1
            S2 = S.copy()
            S2[i] += b
            v_new = _predicted_var(x[keep], s2[keep], S2[keep], degree)
            gain = (1.0 / v_new - 1.0 / v_now) / (b * max(cost[i], 1e-9))
            if gain > best_gain:
                best_i, best_gain, best_b = i, gain, b
        if best_i is None:
            run.met = False
            run.budget = "seeds"
            break
        add(best_i, best_b)
    run.elapsed = float(sum(secs))


# ------------------------------------------------------------------------------------------------
# helpers for the models' ladders and the command line
# ------------------------------------------------------------------------------------------------
def geometric_sizes(largest: int, count: int = 4, span: float = 4.0, smallest: int = 2) -> tuple:
    """``count`` sizes geometric from ``largest / span`` to ``largest`` (rounded, distinct).

    >>> geometric_sizes(400)
    (100, 159, 252, 400)
    >>> geometric_sizes(20, 3, 2.0)
    (10, 14, 20)
    """
    largest = check_int("largest", largest, low=1)
    count = check_int("count", count, low=1)
    if count == 1:
        return (largest,)
    vals = sorted({max(smallest, round(largest * span ** (-(count - 1 - k) / (count - 1))))
                   for k in range(count)})
    return tuple(int(v) for v in vals)


def parse_resolution(text) -> float:
    """``"1%"`` or ``"0.01"`` -> ``0.01``; must lie in ``(0, 1]``.

    >>> parse_resolution("1.5%"), parse_resolution("0.02")
    (0.015, 0.02)
    >>> parse_resolution("0")
    Traceback (most recent call last):
    ...
    ValueError: --resolution must be > 0 and <= 1 (or 0% < R <= 100%), got '0'
    """
    raw = str(text).strip()
    msg = f"--resolution must be > 0 and <= 1 (or 0% < R <= 100%), got {raw!r}"
    try:
        val = float(raw[:-1]) / 100.0 if raw.endswith("%") else float(raw)
    except ValueError:
        raise ValueError(msg) from None
    if not (0.0 < val <= 1.0):
        raise ValueError(msg)
    return val


def _cumulative_dim(d: int, degree: int) -> float:
    """``D_l(d) = sum_{k <= l} B(d, k)``: the dimension of polynomials of degree ``<= l`` on the sphere."""
    from asymptotics.expansions.gegenbauer import multiplicity
    return float(sum(float(multiplicity(d, k)) for k in range(degree + 1)))


def sphere_degree(d: int, n: float) -> int:
    """The degree ``l = round(log n / log d)`` whose eigenspace the sample size ``n`` sits at.

    >>> sphere_degree(20, 20), sphere_degree(20, 10), sphere_degree(20, 800), sphere_degree(20, 2)
    (1, 1, 2, 0)
    """
    kappa = math.log(max(float(n), 1.0)) / math.log(d)
    return max(0, int(math.floor(kappa + 0.5)))


def sphere_n(d: int, n: float, d_new: int, degree: int | None = None) -> int:
    """The sample size at dimension ``d_new`` that keeps ``n``'s place relative to the spectrum:
    ``n_new = round(n D_l(d_new) / D_l(d))`` with ``l`` = :func:`sphere_degree` (``n`` fixed for
    ``l = 0``), so ``n / sum_{k <= l} B(d, k)`` -- the distance to the degree-``l`` interpolation
    threshold ``n = D_l(d)`` -- is held fixed.

    >>> sphere_n(20, 20, 40), sphere_n(20, 400, 40), sphere_n(20, 3, 40)
    (39, 1496, 3)
    """
    l = sphere_degree(d, n) if degree is None else degree
    return max(1, int(round(float(n) * _cumulative_dim(d_new, l) / _cumulative_dim(d, l))))


def sphere_ladder(d: int, n: float, dims=None, *, n_cap: int = 2000):
    """The ladder of a model on ``S^{d-1}(sqrt d)`` at the point ``(d, n)``: ``(dims, ns)``.

    ``dims`` given: those dimensions (distinct integers ``>= 2``), with ``n_i`` from
    :func:`sphere_n`. Default: four sizes from the point up, ``d (1, 2, 4, 8)`` if every ``n_i <=
    n_cap`` (the cost of a draw grows as ``n^3``), else ``d (1, 2^(1/2), 2, 2^(3/2))``, else ``d``
    and three sizes below it, ``d (2^(-3/2), 1/2, 2^(-1/2), 1)`` (dimensions ``>= 3``, repeats
    dropped). A wide span keeps the variance of the quadratic extrapolation down.

    >>> sphere_ladder(20, 20)
    ((20, 40, 80, 160), (20, 39, 77, 153))
    >>> sphere_ladder(20, 400)
    ((7, 10, 14, 20), (61, 113, 207, 400))
    """
    d = check_int("d", d, low=2)
    if dims is not None:
        dims = [check_int("ladder dimension", v, low=2) for v in np.atleast_1d(dims).tolist()]
        if len(set(dims)) != len(dims):
            raise ValueError(f"the ladder's dimensions must be distinct, got {dims}")
        dims = sorted(dims)
        return tuple(dims), tuple(sphere_n(d, n, di) for di in dims)
    l = sphere_degree(d, n)
    for factors in ((1.0, 2.0, 4.0, 8.0), (1.0, 2 ** 0.5, 2.0, 2 ** 1.5)):
        dims = tuple(int(round(d * f)) for f in factors)
        ns = tuple(sphere_n(d, n, di, l) for di in dims)
        if max(ns) <= max(n_cap, n):
            return dims, ns
    out = {}
    for f in (2 ** -1.5, 0.5, 2 ** -0.5, 1.0):
        di = max(3, int(round(d * f)))
        out.setdefault(di, sphere_n(d, n, di, l))
    dims = tuple(sorted(out))
    return dims, tuple(out[k] for k in dims)


# ------------------------------------------------------------------------------------------------
# the finite-size scaling plot
# ------------------------------------------------------------------------------------------------
def _panel_title(params: dict, vary: str | None) -> str:
    parts = [f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items() if k != vary]
    return ", ".join(parts)


def plot_scaling(checks: Sequence[Check], path, *, vary: str = "lam", title: str | None = None):
    """The finite-size scaling plot of ``checks``, saved to ``path`` (``.png``, ``.pdf``, ``.svg``).

    One panel per point group (the points that differ only in ``vary``, one colour each). Drawn
    against ``1/d``: the relative residuals ``(mean_i - T_i)/|T|`` with error bars of 1 standard error,
    the fitted curve ``(delta + a/d [+ b/d^2])/|T|``, and at ``1/d = 0`` the extrapolated residual
    ``delta/|T|`` with its confidence interval (a diamond) against the theory, the dashed zero line:
    the check agrees when the interval crosses the line. Points whose theory diverges are not drawn.

    Returns:
        ``path``.
    """
    import os
    suffix = os.path.splitext(os.fspath(path))[1].lower()
    if suffix not in (".png", ".pdf", ".svg"):
        raise ValueError(f"--plot must end in .png, .pdf or .svg, got {os.fspath(path)!r}")
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("plotting needs matplotlib: pip install asymptotics[plot]") from exc
    groups: dict = {}
    for c in checks:
        if c.fit is None:
            continue
        key = tuple((k, v) for k, v in c.params.items() if k != vary)
        groups.setdefault(key, []).append(c)
    if not groups:
        raise ValueError("nothing to plot: every point's theory diverges")
    n = len(groups)
    cols = min(3, n)
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(4.2 * cols, 3.3 * rows), layout="constrained")
    for k, (key, cs) in enumerate(groups.items()):
        ax = fig.add_subplot(rows, cols, k + 1)
        ax.axhline(0.0, color="k", lw=0.8, ls="--")
        xmax = 0.0
        for c in cs:
            scale = abs(c.theory) if c.theory != 0 else 1.0
            keep = [i for i, t in enumerate(c.theories) if math.isfinite(t)]
            x = np.array([1.0 / c.sizes[i] for i in keep])
            y = np.array([(c.means[i] - c.theories[i]) / scale for i in keep])
            e = np.array([c.ses[i] / scale for i in keep])
            xmax = max(xmax, float(x.max()))
            label = f"{vary}={c.params[vary]:g}" if vary in c.params else None
            bars = ax.errorbar(x, y, yerr=e, fmt="o", ms=4, capsize=2, label=label)
            color = bars[0].get_color()
            f = c.fit
            xx = np.linspace(0.0, float(x.max()) * 1.05, 50)
            if f.kind != "none":
                yy = f.delta + f.slope * xx + (f.curvature or 0.0) * xx ** 2
                ax.plot(xx, yy / scale, "-", color=color, lw=1.0)
            ax.errorbar([0.0], [f.delta / scale], yerr=[f.half_width / scale], fmt="D", ms=5, color=color,
                        capsize=3, mfc="white")
        ax.set_xlim(-0.04 * xmax, 1.08 * xmax)
        ax.set_xlabel("1/d")
        ax.set_ylabel("(mean - theory(d)) / |theory|")
        ax.set_title(_panel_title(dict(key), vary), fontsize=8)
        ax.grid(alpha=0.3)
        if len(cs) > 1 or vary in cs[0].params:
            ax.legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.savefig(path, dpi=130)
    return path
