"""Named theory-vs-simulation checks, and the dispatch the command line uses.

:func:`run_check` takes the records of a theory sweep (from :func:`asymptotics.curves.evaluate`) and
returns one :class:`~theory_checks.compare.Check` per record, in the same order: the records are
grouped into point groups (the ridge values of one parameter point share their draws), each group
is simulated over its finite-size ladder by :func:`theory_checks.ladder.run_groups`, and the
residuals are extrapolated to ``1/d = 0``. :data:`CHECKS` names the checks that reproduce a paper's
statement; the test-suite runs them (behind the ``slow`` marker at full size) and
``asymptotics check`` runs any of their grids.
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

from .compare import LEVEL, Check
from .ladder import DEFAULT_SEEDS, run_groups
from .runner import Interrupted

__all__ = ["CHECKS", "run_check", "build_groups", "SIZE_DOC", "OWN_SIZE"]

#: The ladder each model uses by default (what the summary line and ``--help`` say).
SIZE_DOC = {
    "ridge": "d = 50, 100, 200, 400 (n = round(d/gamma))",
    "ridge-spectrum": "the spectrum replicated 1, 2, 4, 8 times (n alike), or 1, 2, 3, 4 times, or "
                      "resampled to 1/8 .. 1 of its size, as the cost allows",
    "rf": "d = 25, 50, 100, 200 (N = round(psi1 d), n = round(psi2 d))",
    "kernel-ridge": "d (1, 2, 4, 8), or d (1, 1.41, 2, 2.83), while n_i <= 2000, else d (0.35, 0.5, 0.71, 1); "
                    "n / sum_{k<=l} B(d, k) held fixed",
    "nt": "as kernel-ridge, with N_i = ceil(N n_i / n)",
    "nt-staircase": "d_i = t d, N_i = t N for t = 1/2, 2^(-1/2), 1",
}
#: Models whose point fixes its own size (their ladder is given by ``ladder=``, not ``d=``).
OWN_SIZE = ("ridge-spectrum", "kernel-ridge", "nt", "nt-staircase")

#: Named checks: a model and the parameter grid of a published statement.
CHECKS = {
    "ridge-hmrt": dict(
        model="ridge", gamma=[0.5, 0.9, 1.1, 2.0], lam=[0.0, 1e-2, 1.0], r2=1.0, sigma2=1.0,
        about="Hastie et al. 2019 (arXiv 1903.08560), Thm 1-2: ridge(less) risk below, near and "
              "above the interpolation threshold"),
    "rf-mei-montanari": dict(
        model="rf", psi1=[0.5, 1.5, 3.0], psi2=1.5, lam=[1e-4, 1e-2, 1.0], tau2=0.1, F1sq=1.0,
        about="Mei & Montanari 2019 (arXiv 1908.05355), Thm 1: random features test error below, near "
              "and above the interpolation threshold psi1 = psi2"),
    "rf-double-descent": dict(
        model="rf", psi1=[3.3, 4.5, 8.0], psi2=3.0, lam=[1e-8, 1e-3, 1e-2], tau2=0.0, F1sq=1.0,
        resolution=0.02, max_seconds=120.0,
        about="Mei & Montanari 2019 (arXiv 1908.05355), Fig. 1 setting (psi2 = 3, noiseless): the "
              "ridgeless peak's right flank, checked to 2 % resolution"),
}


def _group(records, keys):
    groups: OrderedDict = OrderedDict()
    for i, r in enumerate(records):
        groups.setdefault(tuple(r[k] for k in keys), []).append(i)
    return groups


def _single(d) -> bool:
    """One size (an integer or a one-entry list) rather than a ladder or the default."""
    if d is None:
        return False
    if isinstance(d, str):
        return "," not in d
    return np.atleast_1d(np.asarray(d, dtype=object)).size == 1


def build_groups(model: str, records, *, d=None, ladder=None, values: dict | None = None):
    """The point groups of ``records``: a list of ``(group, record indices)``.

    Args:
        model: a model name of :data:`asymptotics.curves.MODELS`.
        records: theory records (parameters and ``risk``) as made by ``evaluate``.
        d: ridge and rf: ``None`` (the default ladder), one dimension (a single size) or a list (a
            ladder). For the models of :data:`OWN_SIZE` a single value means "the point's own size
            only" (what ``curve --mc`` asks for) and is otherwise ignored.
        ladder: the ladder of the models of :data:`OWN_SIZE`: replication factors (ridge-spectrum),
            dimensions (kernel-ridge, nt) or scale factors (nt-staircase); ``None``: the default.
        values: the raw parameter values given by the user (for vector parameters).
    """
    out = []
    if model in OWN_SIZE and ladder is None and _single(d):
        ladder = "own"
    if model == "ridge":
        from . import ridge as sim
        for (g, r2, s2), idx in _group(records, ("gamma", "r2", "sigma2")).items():
            lams = np.array([records[i]["lam"] for i in idx])
            out.append((sim.RidgeGroup(g, lams, r2=r2, sigma2=s2, sizes=d), idx))
        return out
    if model == "ridge-spectrum":
        from asymptotics.curves import load_vector
        from . import ridge as sim
        values = values or {}
        eigs = load_vector("eigs", values["eigs"]) if isinstance(values["eigs"], str) else np.asarray(values["eigs"])
        beta2 = load_vector("beta2", values["beta2"], eigs.size) if isinstance(values["beta2"], str) \
            else np.asarray(values["beta2"])
        factors = [1.0] if ladder == "own" else ladder
        for (n, s2), idx in _group(records, ("n", "sigma2")).items():
            lams = np.array([records[i]["lam"] for i in idx])
            # the simulation needs an integer n; its theory is evaluated at that n
            out.append((sim.SpectrumGroup(eigs, beta2, max(1, round(n)), lams, sigma2=s2, factors=factors), idx))
        return out
    if model == "rf":
        from . import random_features as sim
        keys = ("psi1", "psi2", "activation", "F1sq", "Fstar_sq", "tau2")
        for (p1, p2, act, f1, fs, t2), idx in _group(records, keys).items():
            if not act:
                raise ValueError("check rf simulates a real activation: give --activation (not only "
                                 "--mu1/--mu-star)")
            lams = np.array([records[i]["lam"] for i in idx])
            out.append((sim.RFGroup(p1, p2, lams, activation=act, F1sq=f1, Fstar_sq=fs, tau2=t2, sizes=d), idx))
        return out
    if model in ("kernel-ridge", "nt"):
        from asymptotics.models.kernel_ridge import parse_energy
        first = "kernel" if model == "kernel-ridge" else "activation"
        for (name, dd, n, s2, en), idx in _group(records, (first, "d", "n", "sigma2", "energy")).items():
            n_int = max(1, round(n))  # the simulation needs an integer n; its theory is evaluated there
            dims = [int(dd)] if ladder == "own" else ladder
            lams = np.array([records[i]["lam"] for i in idx])
            if model == "kernel-ridge":
                from . import kernel_ridge as sim
                g = sim.KRRGroup(name, int(dd), n_int, lams, energy=parse_energy(en), sigma2=s2, dims=dims)
            else:
                from . import neural_tangent as sim
                g = sim.NTGroup(n_int, lams, d=int(dd), activation=name, energy=parse_energy(en), sigma2=s2,
                                dims=dims)
            out.append((g, idx))
        return out
    if model == "nt-staircase":
        from asymptotics.models.kernel_ridge import parse_energy
        from . import neural_tangent as sim
        factors = [1.0] if ladder == "own" else (sim.APPROX_FACTORS if ladder is None else ladder)
        for (act, dd, en), idx in _group(records, ("activation", "d", "energy")).items():
            if sim._act(act).name != "relu" or sim._act(act).params:
                raise ValueError(f"check nt-staircase simulates relu only (closed-form Gram matrices), got "
                                 f"activation {act!r}")
            for i in idx:
                r = records[i]
                N = round(r["N_nt"])
                if N < 3:
                    raise ValueError(f"check nt-staircase compares the NT model from 3 neurons on (its "
                                     f"finite-d formula is 5-7% off at 1-2 neurons); exponent "
                                     f"{r['exponent']:g} gives fewer")
                out.append((sim.ApproximationGroup(
                    "nt", N, int(dd), energy=parse_energy(en), factors=factors,
                    params=dict(model="nt", exponent=float(r["exponent"]), d=int(dd), N=N, params=N * int(dd))),
                    [i]))
        return out
    raise ValueError(f"no Monte Carlo check for the model {model!r} yet")


def run_check(model: str, records, *, d=None, ladder=None, seeds: int = DEFAULT_SEEDS, seed: int = 0,
              values: dict | None = None, resolution=None, max_seconds=None, max_seeds=None,
              level: float = LEVEL, map_units=None, runs_out: list | None = None) -> list[Check]:
    """Monte Carlo checks for theory ``records`` of ``model`` (same order as ``records``).

    Args:
        model, records, d, ladder, values: see :func:`build_groups`.
        seeds, seed, resolution, max_seconds, max_seeds, level, map_units: see
            :func:`theory_checks.ladder.run_groups` (``max_seconds`` is per point group).
        runs_out: if a list, the :class:`~theory_checks.ladder.GroupRun` objects are appended to it
            (costs, budget outcome).

    The units run through the active :class:`theory_checks.runner.Runner` (results store, workers,
    progress) unless ``map_units`` is given.

    Raises:
        theory_checks.runner.Interrupted: on Ctrl-C; its ``partial`` is the list of checks of the
            point groups that were finished (``None`` for the other records).
    """
    pairs = build_groups(model, records, d=d, ladder=ladder, values=values)
    try:
        runs = run_groups([g for g, _ in pairs], seeds=seeds, seed=seed, resolution=resolution,
                          max_seconds=max_seconds, max_seeds=max_seeds, level=level, map_units=map_units)
    except Interrupted as e:
        # the checks of the finished point groups (None elsewhere), for a partial table
        e.partial = _checks_of(pairs, e.partial or [None] * len(pairs), len(records), level)
        raise
    if runs_out is not None:
        runs_out.extend(runs)
    return _checks_of(pairs, runs, len(records), level)


def _checks_of(pairs, runs, n, level):
    out: list = [None] * n
    for (g, idx), run in zip(pairs, runs):
        if run is None:
            continue
        for i, c in zip(idx, run.checks(level=level)):
            out[i] = c
    return out
