"""Named theory-vs-simulation checks, and the dispatch the command line uses.

:func:`run_check` takes the records of a theory sweep (from :func:`asymptotics.curves.evaluate`) and
returns one :class:`~theory_checks.compare.Comparison` per record, in the same order, using the
model's simulator (the module of ``theory_checks`` with the model's name). :data:`CHECKS` names the
checks that reproduce a paper's statement; the test-suite runs them (behind the ``slow`` marker at full
size) and ``asymptotics check`` runs any of their grids.
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

from .compare import Comparison

__all__ = ["ALLOWANCE_DOC", "CHECKS", "run_check"]

#: The finite-size allowance each model's comparison uses (stated, not tuned).
ALLOWANCE_DOC = {
    "ridge": "2 |R| / (n (1 - df2/n))",
    "ridge-spectrum": "2 |R| / (n (1 - df2/n))",
    "rf": "4 |R| / min(N, n)",
    "kernel-ridge": "|R| (2 / (n (1 - df2/n)) + 1/d)",
    "nt": "|R| (2 / (n (1 - df2/n)) + sqrt(n / (N d))), N = ceil(100 n/d)",
    "nt-staircase": "|R| (1/N + 1/d)",
}

#: Named checks: a model and the parameter grid of a published statement.
CHECKS = {
    "ridge-hmrt": dict(
        model="ridge", gamma=[0.5, 0.9, 1.1, 2.0], lam=[0.0, 1e-2, 1.0], r2=1.0, sigma2=1.0,
        d=400, seeds=20,
        about="Hastie et al. 2019 (arXiv 1903.08560), Thm 1-2: ridge(less) risk below, near and "
              "above the interpolation threshold"),
    "rf-mei-montanari": dict(
        model="rf", psi1=[0.5, 1.5, 3.0], psi2=1.5, lam=[1e-4, 1e-2, 1.0], tau2=0.1, F1sq=1.0,
        d=300, seeds=10,
        about="Mei & Montanari 2019 (arXiv 1908.05355), Thm 1: random features test error below, near "
              "and above the interpolation threshold psi1 = psi2"),
}


def _group(records, keys):
    groups: OrderedDict = OrderedDict()
    for i, r in enumerate(records):
        groups.setdefault(tuple(r[k] for k in keys), []).append(i)
    return groups


def run_check(model: str, records, *, d: int = 400, seeds: int = 20, seed: int = 0,
              values: dict | None = None, k_se: float = 3.0) -> list[Comparison]:
    """Monte Carlo comparisons for theory ``records`` of ``model`` (same order as ``records``).

    Args:
        model: a model name of :data:`asymptotics.curves.MODELS`.
        records: theory records (parameters and ``risk``) as made by ``evaluate``.
        d: dimension of the simulation (isotropic models; a spectrum fixes its own dimension).
        seeds, seed: independent draws per point and the master seed.
        values: the raw parameter values given by the user (for vector parameters).
        k_se: standard errors tolerated.
    """
    out: list = [None] * len(records)
    if model == "ridge":
        from . import ridge as sim
        for (g, r2, s2), idx in _group(records, ("gamma", "r2", "sigma2")).items():
            lams = np.array([records[i]["lam"] for i in idx])
            comps = sim.check(g, lams, r2=r2, sigma2=s2, d=d, seeds=seeds, seed=seed, k_se=k_se)
            for i, c in zip(idx, comps):
                out[i] = c
        return out
    if model == "ridge-spectrum":
        from asymptotics.curves import load_vector
        from . import ridge as sim
        values = values or {}
        eigs = load_vector("eigs", values["eigs"]) if isinstance(values["eigs"], str) else np.asarray(values["eigs"])
        beta2 = load_vector("beta2", values["beta2"], eigs.size) if isinstance(values["beta2"], str) \
            else np.asarray(values["beta2"])
        for (n, s2), idx in _group(records, ("n", "sigma2")).items():
            lams = np.array([records[i]["lam"] for i in idx])
            # the simulation needs an integer n; its theory is evaluated at that n (reported)
            comps = sim.check_spectrum(eigs, beta2, max(1, round(n)), lams, sigma2=s2, seeds=seeds,
                                       seed=seed, k_se=k_se)
            for i, c in zip(idx, comps):
                out[i] = c
        return out
    if model == "rf":
        from . import random_features as sim
        keys = ("psi1", "psi2", "activation", "F1sq", "Fstar_sq", "tau2")
        for (p1, p2, act, f1, fs, t2), idx in _group(records, keys).items():
            if not act:
                raise ValueError("check rf simulates a real activation: give --activation (not only "
                                 "--mu1/--mu-star)")
            lams = np.array([records[i]["lam"] for i in idx])
            comps = sim.check(p1, p2, lams, activation=act, d=d, F1sq=f1, Fstar_sq=fs, tau2=t2,
                              seeds=seeds, seed=seed, k_se=k_se)
            for i, c in zip(idx, comps):
                out[i] = c
        return out
    if model == "kernel-ridge":
        from asymptotics.models.kernel_ridge import parse_energy
        from . import kernel_ridge as sim
        for (kern, dd, n, s2, en), idx in _group(records, ("kernel", "d", "n", "sigma2", "energy")).items():
            n_int = max(1, round(n))  # the simulation needs an integer n; its theory is evaluated there
            lams = np.array([records[i]["lam"] for i in idx])
            comps = sim.check(kern, int(dd), n_int, lams, energy=parse_energy(en), sigma2=s2, seeds=seeds,
                              seed=seed, k_se=k_se)
            for i, c in zip(idx, comps):
                out[i] = c
        return out
    if model == "nt":
        from asymptotics.models.kernel_ridge import parse_energy
        from . import neural_tangent as sim
        for (act, dd, n, s2, en), idx in _group(records, ("activation", "d", "n", "sigma2", "energy")).items():
            lams = np.array([records[i]["lam"] for i in idx])
            comps = sim.check(max(1, round(n)), lams, d=int(dd), activation=act, energy=parse_energy(en),
                              sigma2=s2, seeds=seeds, seed=seed, k_se=k_se)
            for i, c in zip(idx, comps):
                out[i] = c
        return out
    if model == "nt-staircase":
        from asymptotics.models.kernel_ridge import parse_energy
        from . import neural_tangent as sim
        for (act, dd, en), idx in _group(records, ("activation", "d", "energy")).items():
            too_few = [records[i]["exponent"] for i in idx if round(records[i]["N_nt"]) < 3]
            if too_few:
                raise ValueError(f"check nt-staircase compares the NT model from 3 neurons on (its finite-d "
                                 f"formula is 5-7% off at 1-2 neurons); exponent {too_few[0]:g} gives fewer")
            comps = sim.check_approximation([records[i]["exponent"] for i in idx], int(dd),
                                            energy=parse_energy(en), seeds=seeds, seed=seed, k_se=k_se,
                                            activation=act, models=("nt",))
            for i, c in zip(idx, comps):
                out[i] = c
        return out
    raise ValueError(f"no Monte Carlo check for the model {model!r} yet")
