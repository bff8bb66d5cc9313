#!/usr/bin/env python
"""Fuzzing as a standing benchmark (issue 12, section 4).

Seeded random sweeps of every model's public entry point over its documented domain, each call in a
worker process under a per-call timeout, counting per model

==================  ====================================================================================
category            what is counted (the target is 0 everywhere)
==================  ====================================================================================
``nan``             settings returned with a NaN in any output, plus calls that raised the engine's own
                    "an output is NaN ... this is a bug" error
``undocumented``    calls that raised anything but ``ValueError``/``ConvergenceError``, or one of those
                    with a message naming none of the call's parameters (or, for a call with invalid
                    input, not naming the invalid parameter); the worker dying counts here too
``hang``            calls that did not return within ``--timeout`` seconds (the worker is killed)
``refused``         valid settings (inside the documented domain) that got no value: masked (or given a
                    masked ``status``), or lost to a ``ValueError``/``ConvergenceError`` of their call
``accepted_invalid`` settings outside the documented domain that got a value instead of a ``ValueError``
``floor``           outputs below their floor: risk, bias, variance ``>= 0``; random features risk
                    ``>= Fstar_sq``; ``risk_total >= sigma2``; kernel ridge bias ``>= v_null``;
                    kernels ``k(rho) >= 0`` on ``[0, 1]`` and ``|k(rho)| <= k(1)``
``monotone``        the risk decreasing when only the noise (``sigma2``, ``tau2``) grows; kernels
                    ``k(rho)`` decreasing on ``[0, 1]``
``grid_vs_point``   a setting solved alone disagreeing with the same setting inside a vectorized call
``precision``       the double-precision value off from the ``precision=`` re-solve (40 digits; for
                    kernels a 30-digit Hermite series at ``|rho| <= 0.7``) by more than its claimed
                    accuracy
``witness``         two computations that the docs say are equal disagreeing: ``ridgeless_risk`` vs
                    ``risk(lam=0)``, ``mp_closed_form`` vs ``risk``, an isotropic spectrum vs ``risk``,
                    scale invariance of a spectrum (``c eigs, beta2/c, c lam``), of random features
                    (``c mu1, c mu_star, c^2 lam``), of kernel ridge (``c eigs, c lam, c tail``), kernel
                    ridge vs ``spectrum_risk`` with the multiplicities expanded, the default truncation
                    vs 4 more degrees (``sphere_risk``, NT), closed-form vs series kernels, continuity
                    of ``k`` at ``rho = +-1``
==================  ====================================================================================

Claimed accuracy. ``Solution.rel_accuracy`` (relative accuracy estimate per point) and
``Solution.status`` (``"ok"``, ``"exact"``, ``"re-solved at P digits"`` or a masked reason) are used
when present (``getattr``); otherwise every double-precision value claims ``1e-10`` relative. For the
kernels the claim is the rigorous absolute bound of ``return_error=True``. A value ``v`` may be off by
``acc |v| + 1e-300`` (the ``1e-300``: below it no relative accuracy is representable); two values
agree when they differ by at most ``max(1e-12 max|.|, allowed_a + allowed_b)``.

Every setting is one point of a vectorized call (grids mixing easy, hard and, in some calls, invalid
points; ``errors="mask"`` where the function has it) or a single call (the documented edges, the
issue's reproducers, the grid-versus-point and precision subsamples). Failing inputs are reported as
runnable Python; an exception of a vectorized call is localized by bisection to one point.

Run::

    python benchmarks/fuzz.py                       # every model, full sizes (>= 10^4 settings for
                                                    # ridge, ridge-spectrum, rf; >= 10^3 kernel ridge)
    python benchmarks/fuzz.py --model rf --n 2000 --seed 3 --json rf.json
    python benchmarks/fuzz.py --quick               # the small slice of tests/test_fuzz.py

Exit status 0 when every count is zero, 1 otherwise. See ``benchmarks/README.md``.
"""
from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
from fractions import Fraction  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import multiprocessing as mp  # noqa: E402
import multiprocessing.connection  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
import warnings  # noqa: E402
from collections import deque  # noqa: E402
from dataclasses import dataclass, field, replace  # noqa: E402

import numpy as np  # noqa: E402

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import mpmath  # noqa: E402

from asymptotics import kernels  # noqa: E402
from asymptotics.activations import get_activation  # noqa: E402
from asymptotics.models import kernel_ridge, ridge  # noqa: E402
from asymptotics.models import neural_tangent as nt  # noqa: E402
from asymptotics.models import random_features as rf  # noqa: E402

__all__ = ["CATEGORIES", "INFO", "Arr", "Act", "Case", "FuzzModel", "MODELS", "ENTRY_POINTS", "Pool",
           "run", "main"]

#: Failure categories (the target is zero in each), in table order.
CATEGORIES = ("nan", "undocumented", "hang", "refused", "accepted_invalid", "floor", "monotone",
              "grid_vs_point", "precision", "witness")
#: Informational columns.
INFO = ("settings", "calls", "lost", "rejected_ok", "gp_checked", "hp_checked", "witness_checked",
        "warned_calls", "seconds")
#: The accuracy a double-precision value claims when the result carries no ``rel_accuracy``.
DEFAULT_ACCURACY = 1e-10
#: Grid-versus-point and witness agreement, relative (or within the claimed accuracies).
AGREE = 1e-12
#: Below this magnitude a double carries no relative accuracy (subnormals): always allowed.
TINY = 1e-300
HP_DIGITS = 40
OK_STATUS = ("ok", "exact")

PRELUDE = ("import numpy as np\n"
           "from asymptotics.models import ridge, random_features as rf, kernel_ridge, neural_tangent as nt\n"
           "from asymptotics import kernels\n"
           "from asymptotics.activations import get_activation")


# ================================================================================ arguments
class Arr:
    """An array argument with the Python expression that rebuilds it (for the reproducers)."""

    def __init__(self, value, code: str, name: str):
        self.value = np.asarray(value, dtype=float)
        self.code = code
        self.name = name

    def scaled(self, c: float, name_suffix=""):
        return Arr(self.value * c, f"({self.code}) * {_num(c)}", self.name + name_suffix)


class Act:
    """An activation given by name and parameters (resolved in the worker: Activations do not pickle)."""

    def __init__(self, name: str, **params):
        self.name = name
        self.params = params

    def resolve(self):
        return get_activation(self.name, **self.params) if self.params else self.name

    def code(self):
        if not self.params:
            return repr(self.name)
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"get_activation({self.name!r}, {args})"

    def __repr__(self):
        return self.name + (str(self.params) if self.params else "")


def _num(x) -> str:
    x = float(x)
    if math.isnan(x):
        return "float('nan')"
    if math.isinf(x):
        return "float('inf')" if x > 0 else "-float('inf')"
    return repr(x)


def _fmt(v) -> str:
    if isinstance(v, Arr):
        if v.value.size <= 6 and len(v.code) > 40:
            return "[" + ", ".join(_num(x) for x in v.value) + "]"
        return v.name if len(v.code) > 40 else v.code
    if isinstance(v, Act):
        return v.code()
    if isinstance(v, (bool, np.bool_)):
        return repr(bool(v))
    if isinstance(v, (float, np.floating)):
        return _num(v)
    if isinstance(v, np.ndarray):
        if v.ndim == 0:
            return _num(v.item())
        if v.size <= 8:
            def rec(a):
                return "[" + ", ".join(rec(x) if isinstance(x, np.ndarray) else _num(x) for x in a) + "]"
            return "np.array(" + rec(v) + ")"
        return f"<array of shape {v.shape}>"
    return repr(v)


FN_CODE = {
    "ridge.risk": "ridge.risk", "ridge.spectrum_risk": "ridge.spectrum_risk",
    "ridge.ridgeless_risk": "ridge.ridgeless_risk", "ridge.mp_closed_form": "ridge.mp_closed_form",
    "rf.risk": "rf.risk", "kernel_ridge.risk": "kernel_ridge.risk",
    "kernel_ridge.sphere_risk": "kernel_ridge.sphere_risk", "nt.risk": "nt.risk",
    "kernels.dual_kernel": "kernels.dual_kernel", "kernels.ntk": "kernels.ntk",
    "kernels.reference": "kernels_reference  # the harness's 30-digit Hermite series",
}


def repro(fn: str, kwargs: dict) -> str:
    """Runnable Python for ``fn(**kwargs)`` (after :data:`PRELUDE`)."""
    lines = []
    for v in kwargs.values():
        if isinstance(v, Arr) and len(v.code) > 40 and v.value.size > 6:
            lines.append(f"{v.name} = {v.code}")
    args = ", ".join(f"{k}={_fmt(v)}" for k, v in kwargs.items())
    name = FN_CODE.get(fn, fn)
    comment = ""
    if "  #" in name:
        name, comment = name.split("  #", 1)
        comment = "  #" + comment
    lines.append(f"{name}({args}){comment}")
    return "\n".join(lines)


# ================================================================================ entry points
def _unwrap(kwargs: dict) -> dict:
    out = {}
    for k, v in kwargs.items():
        if isinstance(v, Arr):
            v = v.value
        elif isinstance(v, Act):
            v = v.resolve()
        out[k] = v
    return out


def _export(v):
    """(data, mask) of an output: float64 data, or strings for mpmath values (high precision)."""
    if isinstance(v, mpmath.mpf):
        return np.asarray(mpmath.nstr(v, 60), dtype=object), np.asarray(False)
    ma = np.ma.asarray(v)
    mask = np.ma.getmaskarray(ma)
    data = np.asarray(ma.data)
    if data.dtype == object:
        flat = [mpmath.nstr(mpmath.mpf(x), 60) if not isinstance(x, str) else x for x in data.ravel()]
        return np.array(flat, dtype=object).reshape(data.shape), mask
    return np.asarray(data, dtype=float), mask


def _from_solution(sol, names) -> dict:
    out, masks = {}, []
    for name in names:
        data, mask = _export(getattr(sol, name))
        out[name] = data
        masks.append(mask)
    res = {"out": out, "mask": masks}
    acc = getattr(sol, "rel_accuracy", None)
    if acc is not None:
        res["acc"] = np.asarray(np.ma.filled(np.ma.asarray(acc, dtype=float), np.nan), dtype=float)
    per = getattr(sol, "accuracy", None)  # each output's own estimate (rel_accuracy is the risk's)
    if isinstance(per, dict):
        res["out_acc"] = {k: np.asarray(np.ma.filled(np.ma.asarray(per[k], dtype=float), np.nan), dtype=float)
                          for k in names if k in per}
    status = getattr(sol, "status", None)
    if status is not None:
        res["status"] = np.asarray(np.ma.filled(np.ma.asarray(status, dtype=object), "masked"), dtype=object)
    return res


RISK4 = ("risk", "bias", "variance", "risk_total")


def _ep_ridge(**kw):
    return _from_solution(ridge.risk(**kw), RISK4)


def _ep_spectrum(**kw):
    return _from_solution(ridge.spectrum_risk(**kw), RISK4)


def _ep_ridgeless(**kw):
    data, mask = _export(ridge.ridgeless_risk(**kw))
    return {"out": {"risk": data}, "mask": [mask]}


def _ep_mp_closed_form(**kw):
    bias, var = ridge.mp_closed_form(**kw)
    if isinstance(bias, mpmath.mpf) or kw.get("precision") is not None:
        with mpmath.workdps(80):
            risk = mpmath.mpf(bias) + mpmath.mpf(var)
    else:
        risk = np.asarray(bias) + np.asarray(var)
    (b, mb), (v, mv), (r, mr) = _export(bias), _export(var), _export(risk)
    return {"out": {"bias": b, "variance": v, "risk": r}, "mask": [mb, mv, mr]}


def _ep_rf(**kw):
    return _from_solution(rf.risk(**kw), ("risk", "bias", "variance"))


def _ep_krr(**kw):
    return _from_solution(kernel_ridge.risk(**kw), RISK4)


def _ep_sphere(**kw):
    sol, spec = kernel_ridge.sphere_risk(**kw)
    res = _from_solution(sol, RISK4)
    res["extra"] = {"kmax": int(spec.kmax), "trunc": spec.truncation_error}
    return res


def _ep_nt(**kw):
    sol = nt.risk(**kw)
    res = _from_solution(sol, RISK4)
    trunc = getattr(sol, "truncation_error", None)
    kr_auto = getattr(kernel_ridge, "_auto_kmax", None)   # the default truncation, for the witness
    if kr_auto is not None and kw.get("kmax") is None:
        try:
            d = np.atleast_1d(np.asarray(kw["d"], dtype=float))
            n = np.atleast_1d(np.asarray(kw["n"], dtype=float))
            e = kernel_ridge.parse_energy(kw.get("energy", (0.0, 1.0)))
            res["extra"] = {"kmax": int(min(kr_auto(int(d.max()), float(n.max()), e.size - 1),
                                            getattr(nt, "_MAX_KMAX", 200)))}
        except Exception:  # noqa: BLE001 - only a helper for the witness
            pass
    if trunc is not None:
        res.setdefault("extra", {})["trunc"] = float(np.max(np.asarray(trunc, dtype=float)))
    return res


def _compare_truncated(mapping: dict):
    """_compare_outputs for a witness with an explicit truncation: the witness's own reported
    ``truncation_error`` (relative) is part of its allowed error. An explicit kmax = default + 4 is not
    more accurate than a default that sums the degrees beyond the cap (power-law tail quadrature); the
    witness says so itself (e.g. truncation_error ~ 1 at kmax = 6, d = 3)."""
    base = _compare_outputs(mapping)

    def compare(case, mres, wres):
        t = wres.extra.get("trunc") if wres.extra else None
        bad = base(case, mres, wres)
        if not bad or t is None or not math.isfinite(float(t)):
            return bad
        keep = []
        for i, msg in bad:
            ok = True
            for mk, wk in mapping.items():
                a = float(np.asarray(mres.out[mk], dtype=float).ravel()[i])
                b = float(np.asarray(wres.out[wk], dtype=float).ravel()[i])
                ta = float(allowed_error(mres, mk).ravel()[i])
                # |b - truth| <= t |truth|  =>  |b - truth| <= t |b| / (1 - t); no bound for t >= 1
                tb = float(allowed_error(wres, wk).ravel()[i]) + (float(t) * abs(b) / (1 - float(t))
                                                                  if float(t) < 1 else math.inf)
                ok = ok and not disagree(a, b, ta, tb)
            if not ok:
                keep.append((i, msg))
        return keep
    return compare


def _ep_kernel(func):
    def ep(**kw):
        v, e = func(**kw)
        (vd, vm), (ed, em) = _export(v), _export(e)
        return {"out": {"value": vd, "err": ed}, "mask": [vm, em]}
    return ep


def _ep_kernel_reference(activation, rho, kmax=150, digits=30):
    """30-digit values of ``k(rho) = sum c_k^2 rho^k`` and ``ntk = sum (1 + k) c_k^2 rho^k`` at
    ``|rho| <= 0.7`` from the mpmath Hermite coefficients: the remainder is at most
    ``E sigma^2 (kmax + 2) 0.7^(kmax+1) ~ 1e-21 E sigma^2`` (Parseval), far below the bounds checked."""
    from asymptotics.expansions.hermite import hermite_coefficients
    h = hermite_coefficients(activation, kmax=kmax, precision=digits)
    rho = np.atleast_1d(np.asarray(rho, dtype=float))
    if np.abs(rho).max() > 0.7:
        raise ValueError("rho: the reference series is only used at |rho| <= 0.7")
    dual, ntk_ = [], []
    with mpmath.workdps(digits + 10):
        c2 = [mpmath.mpf(c) ** 2 for c in h.mp_coeffs]
        for r in rho:
            r = mpmath.mpf(float(r))
            pw = [r ** k for k in range(len(c2))]
            dual.append(mpmath.nstr(mpmath.fsum(c * p for c, p in zip(c2, pw)), digits + 5))
            ntk_.append(mpmath.nstr(mpmath.fsum((1 + k) * c * p for k, (c, p) in enumerate(zip(c2, pw))),
                                    digits + 5))
    return {"out": {"dual": np.array(dual, dtype=object), "ntk": np.array(ntk_, dtype=object)},
            "mask": [np.zeros(rho.shape, bool)] * 2}


#: Name -> callable(**kwargs) returning ``{"out": {name: array}, "mask": [...], "acc"?, "status"?}``.
#: Tests may register extra entry points here before :func:`run` (workers are forked after it).
ENTRY_POINTS = {
    "ridge.risk": _ep_ridge, "ridge.spectrum_risk": _ep_spectrum, "ridge.ridgeless_risk": _ep_ridgeless,
    "ridge.mp_closed_form": _ep_mp_closed_form, "rf.risk": _ep_rf, "kernel_ridge.risk": _ep_krr,
    "kernel_ridge.sphere_risk": _ep_sphere, "nt.risk": _ep_nt,
    "kernels.dual_kernel": _ep_kernel(lambda **kw: kernels.dual_kernel(**kw)),
    "kernels.ntk": _ep_kernel(lambda **kw: kernels.ntk(**kw)),
    "kernels.reference": _ep_kernel_reference,
}


# ================================================================================ workers
def _execute(task):
    fn, kwargs = task
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            res = ENTRY_POINTS[fn](**_unwrap(kwargs))
        except KeyboardInterrupt:
            raise
        except BaseException as e:  # noqa: BLE001 - everything is data here
            from asymptotics.engine.fixedpoint import ConvergenceError
            tb = traceback.extract_tb(e.__traceback__)
            where = f"{os.path.relpath(tb[-1].filename, _ROOT)}:{tb[-1].lineno}" if tb else ""
            res = {"exc": {"type": type(e).__name__, "msg": str(e)[:2000],
                           "value_error": isinstance(e, ValueError),
                           "convergence": isinstance(e, ConvergenceError), "where": where}}
    res["elapsed"] = time.perf_counter() - t0
    ws = [f"{w.category.__name__}: {w.message} ({os.path.relpath(w.filename, _ROOT)}:{w.lineno})"
          for w in caught if issubclass(w.category, RuntimeWarning)]
    if ws:
        res["warnings"] = ws[:3]
    return res


def _worker_main(conn, mem_limit):
    import signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if mem_limit:
        try:
            import resource
            resource.setrlimit(resource.RLIMIT_AS, (mem_limit, mem_limit))
        except (ImportError, ValueError, OSError):
            pass
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        res = _execute(task)
        try:
            conn.send(res)
        except Exception as e:  # noqa: BLE001 - an unpicklable result is reported, not fatal
            conn.send({"exc": {"type": "HarnessError", "msg": f"result could not be sent: {e}",
                               "value_error": False, "convergence": False, "where": ""},
                       "elapsed": res.get("elapsed", 0.0)})


def _vm_size() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class Pool:
    """Worker processes (forked: they see the parent's modules, monkeypatches and ENTRY_POINTS) that
    run one call each at a time; a call running past ``timeout`` seconds is a hang: its worker is
    killed and replaced. A worker that dies is reported as an exception of its call."""

    def __init__(self, workers: int = 2, timeout: float = 30.0, mem_limit_gb: float = 4.0):
        try:
            self.ctx = mp.get_context("fork")
        except ValueError:  # pragma: no cover - no fork on this platform
            self.ctx = mp.get_context()
        self.n = max(1, int(workers))
        self.timeout = float(timeout)
        self.mem_limit = int(_vm_size() + mem_limit_gb * 2 ** 30) if mem_limit_gb else 0
        self.workers = [self._spawn() for _ in range(self.n)]
        self.calls = 0

    def _spawn(self):
        parent, child = self.ctx.Pipe()
        p = self.ctx.Process(target=_worker_main, args=(child, self.mem_limit), daemon=True)
        p.start()
        child.close()
        return {"proc": p, "conn": parent, "task": None, "t0": 0.0}

    def _replace(self, w):
        try:
            if w["proc"].is_alive():
                w["proc"].kill()
            w["proc"].join(5)
        finally:
            w["conn"].close()
        w.update(self._spawn())

    def run(self, tasks: list, timeout: float | None = None) -> list[dict]:
        """Results of ``tasks`` (``(entry point, kwargs)`` pairs), in order."""
        timeout = self.timeout if timeout is None else float(timeout)
        results: list = [None] * len(tasks)
        queue = deque(range(len(tasks)))
        while queue or any(w["task"] is not None for w in self.workers):
            for w in self.workers:
                if w["task"] is None and queue:
                    i = queue.popleft()
                    w["task"], w["t0"] = i, time.monotonic()
                    try:
                        w["conn"].send(tasks[i])
                    except Exception as e:  # noqa: BLE001 - e.g. an unpicklable argument
                        results[i] = {"exc": {"type": "HarnessError", "msg": f"task could not be sent: {e}",
                                              "value_error": False, "convergence": False, "where": ""},
                                      "elapsed": 0.0}
                        w["task"] = None
                        self._replace(w)
            busy = [w for w in self.workers if w["task"] is not None]
            if not busy:
                continue
            now = time.monotonic()
            wait = max(0.0, min(w["t0"] + timeout - now for w in busy))
            ready = mp.connection.wait([w["conn"] for w in busy], timeout=wait + 0.01)
            for w in busy:
                i = w["task"]
                if w["conn"] in ready:
                    try:
                        results[i] = w["conn"].recv()
                    except (EOFError, OSError):
                        w["proc"].join(5)
                        results[i] = {"exc": {"type": "WorkerDied",
                                              "msg": f"the worker process died (exit code {w['proc'].exitcode})",
                                              "value_error": False, "convergence": False, "where": ""},
                                      "elapsed": time.monotonic() - w["t0"]}
                        self._replace(w)
                    w["task"] = None
                    self.calls += 1
                elif time.monotonic() - w["t0"] > timeout:
                    results[i] = {"hang": True, "elapsed": timeout}
                    w["task"] = None
                    self.calls += 1
                    self._replace(w)
        return results

    def close(self):
        for w in self.workers:
            try:
                w["conn"].send(None)
            except (OSError, EOFError, BrokenPipeError):
                pass
        for w in self.workers:
            w["proc"].join(2)
            if w["proc"].is_alive():
                w["proc"].kill()
                w["proc"].join(2)
            w["conn"].close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ================================================================================ cases and results
@dataclass
class Case:
    """One call: ``fn(**base, **grid)``; every grid array has the same shape (the settings).

    ``valid`` marks settings inside the documented domain; ``bad`` names the parameter made invalid
    at the other settings. ``noise``: the grid key that grows along the last axis (monotonicity).
    ``vector``: a vectorized call (with ``errors="mask"`` where the function has it)."""

    model: str
    fn: str
    base: dict
    grid: dict
    valid: np.ndarray
    tag: str = ""
    noise: str | None = None
    bad: str | None = None
    vector: bool = True
    extra: dict = field(default_factory=dict)

    @property
    def shape(self):
        return self.valid.shape

    @property
    def size(self):
        return int(self.valid.size)

    def kwargs(self) -> dict:
        kw = dict(self.base)
        for k, v in self.grid.items():
            kw[k] = float(v) if np.ndim(v) == 0 else v
        return kw

    def task(self):
        return (self.fn, self.kwargs())

    def code(self) -> str:
        return repro(self.fn, self.kwargs())

    def point(self, i: int, **over) -> "Case":
        """The setting ``i`` (flat index) alone, as a scalar call (default ``errors``)."""
        base = {k: v for k, v in self.base.items() if k != "errors"}
        base.update(over)
        grid = {k: np.asarray(np.asarray(v).ravel()[i]) for k, v in self.grid.items()}
        return Case(self.model, self.fn, base, grid, np.asarray(self.valid.ravel()[i]), tag=self.tag,
                    noise=None, bad=self.bad if not self.valid.ravel()[i] else None, vector=False,
                    extra=dict(self.extra))

    def subset(self, idx) -> "Case":
        grid = {k: np.asarray(v).ravel()[idx] for k, v in self.grid.items()}
        valid = self.valid.ravel()[idx]
        return Case(self.model, self.fn, dict(self.base), grid, valid, tag=self.tag, noise=None,
                    bad=self.bad if not valid.all() else None, vector=True, extra=dict(self.extra))


@dataclass
class Res:
    """A call's result, normalized to the case's shape."""

    hang: bool = False
    exc: dict | None = None
    out: dict = field(default_factory=dict)     # float arrays (double) or mpf object arrays (precision)
    mask: np.ndarray | None = None
    acc: np.ndarray | None = None
    out_acc: dict = field(default_factory=dict)  # output name -> its own accuracy estimate
    status: np.ndarray | None = None
    elapsed: float = 0.0
    warnings: list = field(default_factory=list)
    extra: dict = field(default_factory=dict)
    high_precision: bool = False


def normalize(case: Case, raw: dict) -> Res:
    r = Res(hang=bool(raw.get("hang")), exc=raw.get("exc"), elapsed=raw.get("elapsed", 0.0),
            warnings=raw.get("warnings", []), extra=raw.get("extra", {}))
    if r.hang or r.exc:
        return r
    shape = case.shape
    try:
        mask = np.zeros(shape, dtype=bool)
        for m in raw.get("mask", []):
            mask |= np.broadcast_to(np.asarray(m, dtype=bool), shape)
        for k, v in raw["out"].items():
            v = np.asarray(v)
            if v.dtype == object:
                r.high_precision = True
                with mpmath.workdps(60):
                    v = np.array([mpmath.mpf(x) for x in v.ravel()], dtype=object).reshape(v.shape)
            r.out[k] = np.broadcast_to(v, shape)
        if "acc" in raw:
            r.acc = np.broadcast_to(np.asarray(raw["acc"], dtype=float), shape)
        for k, a in raw.get("out_acc", {}).items():
            r.out_acc[k] = np.broadcast_to(np.asarray(a, dtype=float), shape)
        if "status" in raw:
            r.status = np.broadcast_to(np.asarray(raw["status"], dtype=object), shape)
            bad_status = np.vectorize(lambda s: not (str(s) in OK_STATUS or str(s).startswith(("re-solved", "ok (underflow"))),
                                      otypes=[bool])(r.status)
            mask |= bad_status
        r.mask = mask
    except ValueError as e:
        r.exc = {"type": "ShapeError", "msg": f"outputs do not have the shape {shape} of the inputs: {e}",
                 "value_error": False, "convergence": False, "where": ""}
    return r


def summarize(res: Res, i: int | None = None, limit=400) -> str:
    """A one-line description of a result (of setting ``i``)."""
    if res.hang:
        return f"hangs (no answer within {res.elapsed:g} s)"
    if res.exc:
        e = res.exc
        msg = e["msg"] if len(e["msg"]) <= limit else e["msg"][:limit] + "..."
        return f"raises {e['type']}: {msg}" + (f"  [at {e['where']}]" if e.get("where") else "")
    parts = []
    for k, v in res.out.items():
        x = v.ravel()[0 if i is None else i]
        if res.mask is not None and res.mask.ravel()[0 if i is None else i]:
            parts.append(f"{k}=masked")
        elif isinstance(x, mpmath.mpf):
            parts.append(f"{k}={mpmath.nstr(x, 20)}")
        else:
            parts.append(f"{k}={_num(x)}")
    j = 0 if i is None else i
    if res.acc is not None:
        parts.append(f"rel_accuracy={res.acc.ravel()[j]:.3g}")
    if res.status is not None:
        parts.append(f"status={res.status.ravel()[j]!r}")
    return ", ".join(parts)


# ================================================================================ the tally
_NUMBER = re.compile(r"(?<![A-Za-z_\d.])[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def signature(case: "Case", what: str) -> str:
    """What kind of failure this is: the function, the generator family, the activation or kernel,
    and the message with its numbers replaced by ``#`` (used to group counts and pick examples)."""
    fam = re.split(r"[/+:]", case.tag)[0] if case.tag else ""
    if fam in ("witness", "hostile", "invalid"):
        fam = case.tag.split(" ")[0]
    extra = case.base.get("activation", case.base.get("kernel", ""))
    extra = repr(extra) if isinstance(extra, Act) else str(extra).split(":")[0]
    msg = _NUMBER.sub("#", what.split("  [at ")[0])[:140]
    return f"{case.fn} [{fam}{' ' + extra if extra else ''}] {msg}"


class Tally:
    def __init__(self, model: str, max_examples: int = 5):
        self.model = model
        self.max_examples = max_examples
        self.counts = {c: 0 for c in CATEGORIES + INFO}
        self.examples = {c: [] for c in CATEGORIES}
        self.breakdown = {c: {} for c in CATEGORIES}

    def add(self, cat: str, k: int = 1, example: dict | None = None):
        """Count ``k`` failures of category ``cat``; keep ``example`` if it is of a kind (signature)
        not yet among the examples and not from a call already shown."""
        if k <= 0:
            return
        self.counts[cat] += int(k)
        if example is None or cat not in self.examples:
            return
        sig = signature(example["_case"], example["what"])
        self.breakdown[cat][sig] = self.breakdown[cat].get(sig, 0) + int(k)
        exs = self.examples[cat]
        if len(exs) >= self.max_examples:
            return
        if any(e["_sig"] == sig or e["_case"] is example["_case"] for e in exs):
            return
        example["_sig"] = sig
        exs.append(example)

    def failures(self) -> dict:
        return {c: self.counts[c] for c in CATEGORIES if self.counts[c]}


def _example(case: Case, what: str, i: int | None = None, res: Res | None = None) -> dict:
    """An example record; ``_case``/``_index`` are used to localize and confirm it, then dropped."""
    if i is not None and case.size > 1:
        call = case.point(i).code()
        where = f"setting {i} of a vectorized call of shape {case.shape} (tag {case.tag!r})"
    else:
        call, where = case.code(), f"a call of {case.size} setting(s) (tag {case.tag!r})"
    ex = {"call": call, "what": what, "where": where, "_case": case, "_index": i}
    if res is not None and i is None and case.size > 1:
        ex["_res"] = res
    return ex


# ================================================================================ analysis helpers
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

#: Extra spellings a message may use for a parameter (the CLI flag, the Greek name).
ALIASES = {"Fstar_sq": ("Fstar-sq", "Fstar"), "mu_star": ("mu-star", "mu*"), "lam": ("lambda",),
           "sigma2": ("sigma^2",), "eigs": ("eigenvalue", "eigenvalues")}


def names_parameter(msg: str, names) -> bool:
    words = set(_WORD.findall(msg))
    for n in names:
        if n in words or any(a in msg for a in ALIASES.get(n, ())):
            return True
    return False


def classify_exception(case: Case, exc: dict) -> tuple[str, str]:
    """(category, why) of a call's exception; category ``"rejected_ok"`` for a documented rejection."""
    msg = exc["msg"]
    params = [k for k in case.kwargs() if k not in ("errors", "return_error")]
    if exc.get("convergence") and "is NaN" in msg:
        return "nan", "the engine found a NaN output (its own 'this is a bug' error)"
    if not exc.get("value_error"):
        return "undocumented", f"{exc['type']} is not ValueError/ConvergenceError"
    if case.bad is not None and not case.valid.all():
        if exc.get("convergence"):
            return "accepted_invalid", f"invalid {case.bad} was passed to the solver"
        if names_parameter(msg, [case.bad]):
            return "rejected_ok", ""
        return "undocumented", f"the message does not name the invalid parameter {case.bad!r}"
    if not names_parameter(msg, params):
        return "undocumented", f"the message names none of the parameters {', '.join(params)}"
    return "refused", "a documented error at a setting inside the documented domain"


def allowed_error(res: Res, name: str) -> np.ndarray:
    """Absolute error each value of output ``name`` may have (claimed accuracy)."""
    v = np.abs(np.asarray(res.out[name], dtype=float))
    own = res.out_acc.get(name, res.acc)  # the output's own estimate where the result gives one
    acc = own if own is not None else DEFAULT_ACCURACY
    acc = np.where(np.isfinite(acc), acc, DEFAULT_ACCURACY) if own is not None else acc
    with np.errstate(invalid="ignore", over="ignore"):
        return np.where(np.isfinite(v), acc * v, 0.0) + TINY


def disagree(a, b, tol_a, tol_b, rel=AGREE) -> bool:
    """Whether two double values disagree beyond ``max(rel max|.|, tol_a + tol_b)``."""
    a, b = float(a), float(b)
    if math.isnan(a) or math.isnan(b):
        return not (math.isnan(a) and math.isnan(b))
    if math.isinf(a) or math.isinf(b):
        return a != b
    return abs(a - b) > max(rel * max(abs(a), abs(b)), tol_a + tol_b)


# ================================================================================ model base class
class FuzzModel:
    """A fuzzed entry point: its cases, floors and witnesses. Subclasses fill in the generators."""

    name = ""
    fn = ""
    outputs: tuple = ("risk", "bias", "variance")
    weight = 1.0          # settings = weight * --n
    hp_points = 200       # precision re-solves (full run)
    quick_hp_points = 6   # ... in --quick
    quick = False         # set by run()
    gp_points = 300       # grid-versus-point singles (full run)
    noise_name = "sigma2"
    hostile_numbers = (float("nan"), float("inf"), -1.0)
    params: tuple = ()    # the documented domain's scalar parameters (for hostile-input cases)

    # ---------------------------------------------------------------- to be provided
    def cases(self, rng, n: int, quick: bool) -> list[Case]:
        raise NotImplementedError

    def floors(self, case: Case, res: Res) -> list[tuple[str, np.ndarray, np.ndarray]]:
        """(output, floor, allowed slack) triples; default: risk, bias, variance >= 0."""
        out = []
        for k in ("risk", "bias", "variance"):
            if k in res.out:
                out.append((k, np.zeros(case.shape), allowed_error(res, k)))
        if "risk_total" in res.out and "sigma2" in case.grid:
            out.append(("risk_total", np.asarray(case.grid["sigma2"], dtype=float),
                        allowed_error(res, "risk_total")))
        return out

    def hp_case(self, case: Case, i: int) -> Case | None:
        return case.point(i, precision=HP_DIGITS)

    def hp_outputs(self):
        return self.outputs

    def witnesses(self, cases: list[Case], results: list[Res], rng, quick: bool) -> list:
        """(witness case, main case, compare(main_res, witness_res) -> list of (index, what))."""
        return []

    def prepare(self, cases, results):
        """A hook run before the per-setting checks."""

    def extra_checks(self, case: Case, res: Res, good: np.ndarray, tally: Tally):
        """Model-specific per-setting checks."""

    # ---------------------------------------------------------------- hostile input (shared)
    def hostile(self, template: Case, names=None) -> list[Case]:
        """Single calls with one scalar parameter replaced by a wrong type or value (invalid)."""
        out = []
        names = names or self.params
        bad_values = [None, "0.5", True, [], [[1.0, 2.0], [3.0]], 1 + 1j] + list(self.hostile_numbers)
        for p in names:
            if p not in template.grid:
                continue
            for v in bad_values:
                c = template.point(0)
                grid = dict(c.grid)
                grid.pop(p)
                base = dict(c.base)
                base[p] = v
                out.append(Case(self.name, c.fn, base, grid, np.asarray(False), tag=f"hostile:{p}", bad=p,
                                vector=False))
        return out

    def inject_invalid(self, case: Case, rng, values: dict) -> Case:
        """A copy of ``case`` with 1-3 settings of one parameter made invalid (``values``: name ->
        list of invalid values); the call must raise ValueError naming it."""
        p = str(rng.choice(sorted(values)))
        grid = {k: np.array(v, dtype=float, copy=True) for k, v in case.grid.items()}
        valid = case.valid.copy()
        k = int(rng.integers(1, 4))
        idx = rng.choice(case.size, size=min(k, case.size), replace=False)
        flat = grid[p].reshape(-1)
        for j in idx:
            flat[j] = rng.choice(values[p])
        valid.reshape(-1)[idx] = False
        return replace(case, grid=grid, valid=valid, bad=p, tag=case.tag + f"+invalid:{p}", noise=None)


# ================================================================================ random draws
def logu(rng, lo, hi, size=None):
    return 10.0 ** rng.uniform(math.log10(lo), math.log10(hi), size)


def near_one(rng, size):
    """``1 +- 10^-u``, ``u`` uniform in [1, 16]: next to the thresholds."""
    return 1 + rng.choice([-1.0, 1.0], size) * 10.0 ** -rng.uniform(1, 16, size)


def mix(rng, size, parts):
    """Draw ``size`` values from a mixture: ``parts`` = [(probability, draw(size) or constant)]."""
    p = np.array([w for w, _ in parts], dtype=float)
    which = rng.choice(len(parts), size=size, p=p / p.sum())
    out = np.empty(size)
    for j, (_, draw) in enumerate(parts):
        m = which == j
        if m.any():
            out[m] = draw(int(m.sum())) if callable(draw) else draw
    return out


def noise_axis(rng, m, k, lo=1e-3, hi=1e3, zero=True):
    """(m, k) noise levels, increasing along the last axis (first 0 when ``zero``)."""
    vals = np.sort(logu(rng, lo, hi, (m, k - int(zero))), axis=1)
    if zero:
        vals = np.concatenate([np.zeros((m, 1)), vals], axis=1)
    return vals


def grid_of(points: dict, noise_name: str, noise: np.ndarray) -> dict:
    m, k = noise.shape
    g = {name: np.repeat(np.asarray(v, dtype=float)[:, None], k, axis=1) for name, v in points.items()}
    g[noise_name] = np.array(noise, dtype=float)
    return g


def product_grid(axes: dict) -> dict:
    """Full Cartesian product; the last axis varies fastest."""
    mesh = np.meshgrid(*[np.asarray(v, dtype=float) for v in axes.values()], indexing="ij")
    return {k: m for k, m in zip(axes, mesh)}


def singles(case: Case, tag=None) -> list[Case]:
    out = [case.point(i) for i in range(case.size)]
    if tag:
        for c in out:
            c.tag = tag
    return out


# ================================================================================ ridge
GAMMA_EDGES = [1e-300, 1e-100, 1e-8, 0.5, 1 - 1e-8, 1 - 1e-15, 1.0, 1 + 1e-15, 1 + 1e-8, 2.0, 1e8, 1e100]
LAM_EDGES = [0.0, 5e-324, 1e-300, 1e-100, 1e-16, 1e-8, 1.0, 1e4, 1e100]


def draw_gamma(rng, m):
    return mix(rng, m, [(0.5, lambda s: logu(rng, 1e-3, 1e3, s)), (0.25, lambda s: near_one(rng, s)),
                        (0.15, lambda s: logu(rng, 1e-300, 1e100, s)), (0.1, 1.0)])


def draw_lam(rng, m, scale=1.0):
    return mix(rng, m, [(0.15, 0.0), (0.55, lambda s: scale * logu(rng, 1e-12, 1e4, s)),
                        (0.15, lambda s: scale * logu(rng, 1e-300, 1e-12, s)), (0.03, 5e-324),
                        (0.12, lambda s: np.minimum(scale * logu(rng, 1e4, 1e100, s), 1e100))])


def draw_energy(rng, m, lo=1e-3, hi=1e3, p0=0.1, extreme=True):
    parts = [(p0, 0.0), (0.8, lambda s: logu(rng, lo, hi, s))]
    if extreme:
        parts.append((0.1, lambda s: logu(rng, 1e-100, 1e100, s)))
    return mix(rng, m, parts)


class RidgeModel(FuzzModel):
    name = "ridge"
    fn = "ridge.risk"
    outputs = RISK4
    hp_points = 400
    params = ("gamma", "lam", "r2", "sigma2")
    invalid = {"gamma": [0.0, -1.0, float("nan"), float("inf"), 1.01e100], "lam": [-1e-300, -1.0, float("nan"), float("inf"), 1.01e100],
               "r2": [-1e-300, float("nan"), float("inf")], "sigma2": [-1.0, float("nan"), 1.01e100]}

    def cases(self, rng, n, quick):
        out = []
        edges = product_grid({"gamma": GAMMA_EDGES, "lam": LAM_EDGES, "r2": [0.0, 1.0, 1e100],
                              "sigma2": [0.0, 1.0, 1e100]})
        edge = Case(self.name, self.fn, {"errors": "mask"}, edges, np.ones(edges["gamma"].shape, bool),
                    tag="edges", noise="sigma2")
        out.append(edge)
        sing = singles(edge, "edges-single")
        if quick:
            sing = [sing[i] for i in rng.choice(len(sing), 60, replace=False)]
        out += sing
        known = [dict(gamma=1.0, lam=0.0, r2=1.0, sigma2=0.0), dict(gamma=1.0, lam=1e-300, r2=1.0, sigma2=1.0),
                 dict(gamma=1.0 + 1e-15, lam=0.0, r2=1.0, sigma2=1.0)]
        for kw in known:
            out.append(Case(self.name, self.fn, {}, {k: np.asarray(v) for k, v in kw.items()},
                            np.asarray(True), tag="known", vector=False))
        total = sum(c.size for c in out)
        while total < n:
            m = int(rng.integers(16, 400)) if not quick else int(rng.integers(8, 40))
            pts = {"gamma": draw_gamma(rng, m), "lam": draw_lam(rng, m), "r2": draw_energy(rng, m)}
            hi = 1e100 if rng.random() < 0.1 else 1e3
            c = Case(self.name, self.fn, {"errors": "mask"}, grid_of(pts, "sigma2", noise_axis(rng, m, 4, hi=hi)),
                     np.ones((m, 4), bool), tag="random", noise="sigma2")
            if rng.random() < 0.08:
                c = self.inject_invalid(c, rng, self.invalid)
            out.append(c)
            total += c.size
        out += self.hostile(edge)
        return out


class RidgelessModel(FuzzModel):
    name = "ridgeless"
    fn = "ridge.ridgeless_risk"
    outputs = ("risk",)
    weight = 0.2
    hp_points = 0
    params = ("gamma", "r2", "sigma2")

    def cases(self, rng, n, quick):
        out = []
        edges = product_grid({"gamma": GAMMA_EDGES, "r2": [0.0, 1.0, 1e100], "sigma2": [0.0, 1.0, 1e100]})
        edge = Case(self.name, self.fn, {}, edges, np.ones(edges["gamma"].shape, bool), tag="edges", noise="sigma2")
        out.append(edge)
        out += singles(edge, "edges-single")[:: (1 if not quick else 6)]
        out.append(Case(self.name, self.fn, {}, {"gamma": np.asarray(1.0), "r2": np.asarray(1.0),
                                                 "sigma2": np.asarray(0.0)}, np.asarray(True), tag="known",
                        vector=False))
        total = sum(c.size for c in out)
        while total < n:
            m = int(rng.integers(16, 300)) if not quick else 12
            pts = {"gamma": draw_gamma(rng, m), "r2": draw_energy(rng, m)}
            c = Case(self.name, self.fn, {}, grid_of(pts, "sigma2", noise_axis(rng, m, 3)), np.ones((m, 3), bool),
                     tag="random", noise="sigma2")
            if rng.random() < 0.1:
                c = self.inject_invalid(c, rng, {"gamma": [0.0, -1.0, float("nan")], "sigma2": [-1.0, float("inf")]})
            out.append(c)
            total += c.size
        out += self.hostile(edge)
        return out

    def witnesses(self, cases, results, rng, quick):
        """ridgeless_risk(gamma, r2, sigma2) = risk(gamma, lam=0, r2, sigma2).risk (Hastie et al. Thm 1)."""
        out = []
        for c, r in zip(cases, results):
            if c.tag not in ("random", "edges", "known", "edges-single") or r.exc or r.hang or not c.valid.all():
                continue
            w = Case("ridgeless", "ridge.risk", {"errors": "mask"} if c.vector else {},
                     {**c.grid, "lam": np.zeros(c.shape)}, c.valid.copy(), tag="witness:risk(lam=0)", vector=c.vector)
            out.append((w, c, _compare_outputs({"risk": "risk"})))
        if quick:
            out = out[:20]
        return out


def _compare_outputs(mapping: dict):
    """compare(main_res, witness_res) over outputs main name -> witness name, per setting."""
    def compare(case, mres, wres):
        bad = []
        for mk, wk in mapping.items():
            a = np.asarray(mres.out[mk], dtype=float).ravel()
            b = np.asarray(wres.out[wk], dtype=float).ravel()
            ta = allowed_error(mres, mk).ravel()
            tb = allowed_error(wres, wk).ravel()
            ma = mres.mask.ravel() if mres.mask is not None else np.zeros(a.size, bool)
            mb = wres.mask.ravel() if wres.mask is not None else np.zeros(b.size, bool)
            for i in range(a.size):
                if ma[i] or mb[i] or not case.valid.ravel()[i]:
                    continue
                if disagree(a[i], b[i], ta[i], tb[i]):
                    bad.append((i, f"{mk}: {_num(a[i])} vs witness {wk}: {_num(b[i])}"))
        return bad
    return compare


class MPClosedFormModel(FuzzModel):
    name = "mp-closed-form"
    fn = "ridge.mp_closed_form"
    outputs = ("bias", "variance", "risk")
    weight = 0.2
    hp_points = 200
    params = ("gamma", "lam", "r2", "sigma2")

    def cases(self, rng, n, quick):
        out = []
        lam_edges = [1e-100, 1e-50, 1e-16, 1e-8, 1.0, 1e4, 1e50, 1e100]
        edges = product_grid({"gamma": GAMMA_EDGES, "lam": lam_edges, "r2": [0.0, 1.0, 1e100],
                              "sigma2": [0.0, 1.0, 1e100]})
        edge = Case(self.name, self.fn, {}, edges, np.ones(edges["gamma"].shape, bool), tag="edges", noise="sigma2")
        out.append(edge)
        total = edge.size
        while total < n:
            m = int(rng.integers(16, 300)) if not quick else 12
            lam = mix(rng, m, [(0.7, lambda s: logu(rng, 1e-12, 1e4, s)), (0.3, lambda s: logu(rng, 1e-100, 1e100, s))])
            pts = {"gamma": draw_gamma(rng, m), "lam": lam, "r2": draw_energy(rng, m)}
            c = Case(self.name, self.fn, {}, grid_of(pts, "sigma2", noise_axis(rng, m, 3)), np.ones((m, 3), bool),
                     tag="random", noise="sigma2")
            if rng.random() < 0.1:
                c = self.inject_invalid(c, rng, {"lam": [0.0, 1e-101, -1.0, 1.01e100], "gamma": [0.0, float("nan")]})
            out.append(c)
            total += c.size
        out += self.hostile(edge)
        return out

    def witnesses(self, cases, results, rng, quick):
        """mp_closed_form = (bias, variance) of ridge.risk (the witness the tests hold it to)."""
        out = []
        for c, r in zip(cases, results):
            if c.tag not in ("random", "edges") or r.exc or r.hang or not c.valid.all():
                continue
            w = Case(self.name, "ridge.risk", {"errors": "mask"}, dict(c.grid), c.valid.copy(), tag="witness:ridge.risk")
            out.append((w, c, _compare_outputs({"bias": "bias", "variance": "variance"})))
        return out[:20] if quick else out


# ================================================================================ ridge, general spectrum
def _seed(rng):
    return int(rng.integers(0, 2 ** 31))


def draw_spectrum(rng, quick):
    """(eigs Arr, family tag)."""
    d = int(rng.choice([1, int(rng.integers(2, 11)), int(rng.integers(10, 201)), int(rng.integers(200, 2001))],
                       p=[0.1, 0.3, 0.4, 0.2]))
    if quick:
        d = min(d, 30)
    fam = str(rng.choice(["power", "spiked", "mp", "lognormal", "isotropic", "extreme"],
                         p=[0.3, 0.15, 0.15, 0.2, 0.12, 0.08]))
    if fam == "power":
        alpha = float(logu(rng, 0.01, 1000))
        scale = float(logu(rng, 1e-100, 1e100)) if rng.random() < 0.3 else 1.0
        e = Arr(ridge.power_law(d, alpha, scale), f"ridge.power_law({d}, {alpha!r}, {scale!r})", "eigs")
    elif fam == "spiked":
        k = int(rng.integers(1, min(d, 3) + 1))
        spikes = [float(x) for x in logu(rng, 1.0, 1e300, k)]
        bulk = float(logu(rng, 1e-3, 1e3))
        e = Arr(ridge.spiked(d, spikes, bulk), f"ridge.spiked({d}, {spikes!r}, {bulk!r})", "eigs")
    elif fam == "mp":
        ratio = float(rng.uniform(0.01, 1.0))
        var = float(logu(rng, 1e-3, 1e3))
        e = Arr(ridge.marchenko_pastur(d, ratio, var), f"ridge.marchenko_pastur({d}, {ratio!r}, {var!r})", "eigs")
    elif fam == "lognormal":
        s = _seed(rng)
        e = Arr(10.0 ** np.random.default_rng(s).uniform(-300, 300, d),
                f"10.0 ** np.random.default_rng({s}).uniform(-300, 300, {d})", "eigs")
    elif fam == "isotropic":
        c = float(logu(rng, 1e-100, 1e100)) if rng.random() < 0.3 else 1.0
        e = Arr(np.full(d, c), f"np.full({d}, {c!r})", "eigs")
    else:
        choices = [([1.0, 1e-300], "[1.0, 1e-300]"), ([1e300, 1.0], "[1e300, 1.0]"),
                   ([1.0, 1e-20, 1e-20], "[1.0, 1e-20, 1e-20]"), ([1e-300] * 3, "[1e-300] * 3"),
                   ([1e300, 1e300], "[1e300, 1e300]")]
        vals, code = choices[int(rng.integers(len(choices)))]
        e = Arr(np.array(vals), code, "eigs")
        fam = "extreme"
    d = e.value.size
    if rng.random() < 0.1 and d > 1:   # some null directions (the first eigenvalue is kept)
        s = _seed(rng)
        keep = (np.arange(d) == 0) | (np.random.default_rng(s).random(d) >= 0.3)
        e = Arr(np.where(keep, e.value, 0.0), f"np.where((np.arange({d}) == 0) | (np.random.default_rng({s}).random({d})"
                f" >= 0.3), {e.code}, 0.0)", "eigs")
        fam += "+zeros"
    if not (e.value > 0).any():   # e.g. a power law underflowing entirely: not a valid spectrum
        e = Arr(np.ones(d), f"np.ones({d})", "eigs")
        fam = "isotropic"
    return e, fam


def draw_beta2(rng, eigs: Arr):
    """beta2 with a signal energy sum(s beta2) in [1e-100, 1e100] (representable risks)."""
    s = eigs.value
    d = s.size
    pos = s > 0
    kind = str(rng.choice(["flat", "random", "aligned", "sparse", "zero"], p=[0.35, 0.25, 0.2, 0.15, 0.05]))
    if kind == "flat":
        raw, code = np.full(d, 1.0 / d), f"np.full({d}, 1 / {d})"
    elif kind == "random":
        sd = _seed(rng)
        raw, code = np.random.default_rng(sd).exponential(1.0, d), f"np.random.default_rng({sd}).exponential(1.0, {d})"
    elif kind == "aligned":
        raw, code = np.where(pos, 1.0, 0.0), f"np.where(eigs > 0, 1.0, 0.0)"
    elif kind == "sparse":
        j = int(rng.integers(d))
        raw, code = np.eye(d)[j], f"np.eye({d})[{j}]"
    else:
        return Arr(np.zeros(d), f"np.zeros({d})", "beta2"), kind
    energy = float(np.sum(s * raw))
    if energy == 0 or not np.isfinite(energy):
        return Arr(raw, code, "beta2"), kind
    target = float(logu(rng, 1e-3, 1e3)) if rng.random() < 0.8 else float(logu(rng, 1e-100, 1e100))
    c = target / energy
    if not np.isfinite(c) or c == 0 or not np.all(np.isfinite(raw * c)):
        return Arr(raw, code, "beta2"), kind
    return Arr(raw * c, f"({code}) * {c!r}", "beta2"), kind


class SpectrumModel(FuzzModel):
    name = "ridge-spectrum"
    fn = "ridge.spectrum_risk"
    outputs = RISK4
    hp_points = 200
    params = ("n", "lam", "sigma2")

    def cases(self, rng, n, quick):
        out = []
        known = [
            (Arr([1.0], "[1.0]", "eigs"), Arr([1.0], "[1.0]", "beta2"), dict(n=1.012, lam=0.0, sigma2=1.0)),
            (Arr([1.0], "[1.0]", "eigs"), Arr([1.0], "[1.0]", "beta2"), dict(n=1.0, lam=1e-8, sigma2=1.0)),
            (Arr([1.0, 1e-300], "[1.0, 1e-300]", "eigs"), Arr([1.0, 1.0], "[1.0, 1.0]", "beta2"), dict(n=1.5, lam=1e-3, sigma2=1.0)),
            (Arr([1e300, 1.0], "[1e300, 1.0]", "eigs"), Arr([1e-300, 1.0], "[1e-300, 1.0]", "beta2"), dict(n=1.5, lam=1e-3, sigma2=1.0)),
            (Arr(ridge.power_law(10, 1000.0), "ridge.power_law(10, 1000.0)", "eigs"), Arr(np.full(10, 0.1), "np.full(10, 0.1)", "beta2"),
             dict(n=5.0, lam=1e-3, sigma2=1.0)),
            (Arr([1.0, 1e-20, 1e-20], "[1.0, 1e-20, 1e-20]", "eigs"), Arr([1.0, 1.0, 1.0], "[1.0, 1.0, 1.0]", "beta2"),
             dict(n=2.0, lam=0.0, sigma2=1.0)),
        ]
        for e, b, kw in known:
            out.append(Case(self.name, self.fn, {"eigs": e, "beta2": b}, {k: np.asarray(v) for k, v in kw.items()},
                            np.asarray(True), tag="known", vector=False))
        total = len(out)
        while total < n:
            eigs, fam = draw_spectrum(rng, quick)
            beta2, bkind = draw_beta2(rng, eigs)
            rank = int(np.count_nonzero(eigs.value > 0))
            smax = float(eigs.value.max())
            m = int(rng.integers(4, 41)) if not quick else int(rng.integers(2, 8))
            nn = mix(rng, m, [(0.25, lambda s: rank * near_one(rng, s)), (0.1, float(rank)),
                              (0.55, lambda s: rank * logu(rng, 1e-2, 1e3, s)),
                              (0.1, lambda s: logu(rng, 1e-300, 1e100, s))])
            nn = np.clip(nn, 1e-300, 1e100)
            lam = draw_lam(rng, m, scale=1.0)
            scaled = rng.random() < 0.5
            if scaled:  # the ridge relative to the eigenvalues' scale
                with np.errstate(over="ignore"):
                    lam = np.where(lam > 0, np.clip(lam * smax, 0.0, 1e100), 0.0)
            pts = {"n": nn, "lam": lam}
            c = Case(self.name, self.fn, {"eigs": eigs, "beta2": beta2, "errors": "mask"},
                     grid_of(pts, "sigma2", noise_axis(rng, m, 3)), np.ones((m, 3), bool),
                     tag=f"{fam}/{bkind}", noise="sigma2", extra={"d": eigs.value.size})
            if rng.random() < 0.06:
                c = self.inject_invalid(c, rng, {"n": [0.0, -1.0, float("nan"), float("inf")],
                                                 "lam": [-1e-300, float("nan")], "sigma2": [-1.0]})
            out.append(c)
            total += c.size
            if rng.random() < 0.15:   # the same spectrum at single settings
                for i in rng.choice(c.size, size=2, replace=False):
                    if c.valid.ravel()[i]:
                        out.append(c.point(int(i)))
                        total += 1
        # invalid spectra
        bad = [(Arr([-1.0, 1.0], "[-1.0, 1.0]", "eigs"), Arr([1.0, 1.0], "[1.0, 1.0]", "beta2"), "eigs"),
               (Arr([0.0, 0.0], "[0.0, 0.0]", "eigs"), Arr([1.0, 1.0], "[1.0, 1.0]", "beta2"), "eigs"),
               (Arr([1.0, float("nan")], "[1.0, float('nan')]", "eigs"), Arr([1.0, 1.0], "[1.0, 1.0]", "beta2"), "eigs"),
               (Arr([1.0, float("inf")], "[1.0, float('inf')]", "eigs"), Arr([1.0, 1.0], "[1.0, 1.0]", "beta2"), "eigs"),
               (Arr([1.0, 1.0], "[1.0, 1.0]", "eigs"), Arr([1.0, -1.0], "[1.0, -1.0]", "beta2"), "beta2"),
               (Arr([1.0, 1.0], "[1.0, 1.0]", "eigs"), Arr([1.0], "[1.0]", "beta2"), "beta2"),
               (Arr(np.zeros(0), "[]", "eigs"), Arr(np.zeros(0), "[]", "beta2"), "eigs")]
        for e, b, p in bad:
            out.append(Case(self.name, self.fn, {"eigs": e, "beta2": b}, {"n": np.asarray(2.0), "lam": np.asarray(0.1),
                                                                          "sigma2": np.asarray(1.0)},
                            np.asarray(False), tag=f"invalid:{p}", bad=p, vector=False))
        tmpl = Case(self.name, self.fn, {"eigs": Arr([1.0, 0.5], "[1.0, 0.5]", "eigs"),
                                         "beta2": Arr([1.0, 1.0], "[1.0, 1.0]", "beta2")},
                    {"n": np.asarray(3.0), "lam": np.asarray(0.1), "sigma2": np.asarray(1.0)}, np.asarray(True))
        out += self.hostile(tmpl)
        return out

    def hp_case(self, case, i):
        if case.extra.get("d", len(case.base["eigs"].value)) > 300:
            return None   # mpmath traces over > 300 eigenvalues: too slow for the benchmark
        return case.point(i, precision=HP_DIGITS)

    def witnesses(self, cases, results, rng, quick):
        """Scale invariance: (c eigs, beta2/c, n, c lam) has the same risk, bias, variance (x -> sqrt(c) x,
        beta -> beta/sqrt(c)); an isotropic spectrum c 1_d equals ridge.risk(d/n, lam/c, c sum(beta2))."""
        out = []
        cmp4 = _compare_outputs({k: k for k in RISK4})
        for c, r in zip(cases, results):
            if not c.vector or r.exc or r.hang or not c.valid.all() or c.tag.startswith("invalid"):
                continue
            e, b = c.base["eigs"], c.base["beta2"]
            ev = e.value[e.value > 0]
            if rng.random() < 0.3:
                rg = scale_range((ev, 1, 299), (b.value, -1, 299), (c.grid["lam"], 1, 99))
                if rg is not None:
                    c_ = 10.0 ** float(rng.uniform(*rg))
                    bb = Arr(b.value / c_, f"({b.code}) / {c_!r}", "beta2")
                    w = Case(self.name, self.fn, {"eigs": e.scaled(c_), "beta2": bb, "errors": "mask"},
                             {**c.grid, "lam": np.asarray(c.grid["lam"]) * c_}, c.valid.copy(),
                             tag=f"witness:scale c={c_:.3g}", extra=dict(c.extra))
                    out.append((w, c, cmp4))
            if c.tag.startswith("isotropic"):
                cval = float(ev[0])
                dd = ev.size
                nn = np.asarray(c.grid["n"])
                grid = {"gamma": dd / nn, "lam": np.asarray(c.grid["lam"]) / cval,
                        "r2": np.full(c.shape, cval * float(np.sum(b.value[e.value > 0]))),
                        "sigma2": np.asarray(c.grid["sigma2"])}
                # only where the mapped inputs are exact: near gamma = 1 the risk's condition number in
                # gamma is ~1/|gamma - 1|, so the rounding of d/n alone moves it far beyond its accuracy
                exact = all(Fraction(dd) / Fraction(float(v)) == Fraction(dd / float(v)) for v in nn.ravel()) and \
                    all(Fraction(float(v)) / Fraction(cval) == Fraction(float(v) / cval)
                        for v in np.ravel(c.grid["lam"]))
                if exact and in_domain(grid, RIDGE_DOMAIN):   # and where ridge.risk's domain allows
                    w = Case(self.name, "ridge.risk", {"errors": "mask"}, grid, c.valid.copy(),
                             tag="witness:isotropic=ridge.risk")
                    out.append((w, c, cmp4))
        return out[:15] if quick else out


# ================================================================================ random features
RF_ACTS = [Act("relu"), Act("leaky_relu"), Act("leaky_relu", slope=0.2), Act("abs"), Act("sign"), Act("step"),
           Act("relu_p"), Act("relu_p", p=3), Act("erf"), Act("erf", a=2), Act("exp"), Act("exp", a=-0.5),
           Act("sin"), Act("sin", a=3), Act("cos"), Act("quad"), Act("poly", coeffs=[0.5, 1.0, 0.25, 0.1]),
           Act("gelu"), Act("tanh"), Act("sigmoid"), Act("softplus"), Act("silu"), Act("ReLU")]
PSI_EDGES = [1e-3, 0.5, 1.0, 1 + 1e-15, 1 + 1e-12, 1 + 1e-8, 2.0, 1e3, 1e5, 1.5e5, 1e6]
RF_LAM_EDGES = [0.0, 1e-300, 1e-50, 1e-30, 1e-12, 1e-3, 0.06, 1.0, 1e4]


def draw_psi(rng, m):
    """psi1 log-uniform in [1e-3, 1e6]; psi2 independent, or psi1 (1 +- 10^-u), u in [1, 16] or [12, 16],
    or psi1 itself (the interpolation threshold)."""
    psi1 = logu(rng, 1e-3, 1e6, m)
    kind = rng.choice(4, m, p=[0.55, 0.3, 0.1, 0.05])
    psi2 = logu(rng, 1e-3, 1e6, m)
    psi2 = np.where(kind == 1, psi1 * near_one(rng, m), psi2)
    psi2 = np.where(kind == 2, psi1 * (1 + rng.choice([-1.0, 1.0], m) * 10.0 ** -rng.uniform(12, 16, m)), psi2)
    psi2 = np.where(kind == 3, psi1, psi2)
    return np.clip(psi1, 1e-3, 1e6), np.clip(psi2, 1e-3, 1e6)


def draw_rf_lam(rng, m):
    return mix(rng, m, [(0.15, 0.0), (0.1, lambda s: logu(rng, 1e-300, 1e-30, s)),
                        (0.1, lambda s: logu(rng, 1e-30, 1e-8, s)), (0.65, lambda s: logu(rng, 1e-8, 1e4, s))])


class RFModel(FuzzModel):
    name = "rf"
    fn = "rf.risk"
    outputs = ("risk", "bias", "variance")
    hp_points = 300
    noise_name = "tau2"
    params = ("psi1", "psi2", "lam", "F1sq", "Fstar_sq", "tau2")

    def cases(self, rng, n, quick):
        out = []
        edges = product_grid({"psi1": PSI_EDGES, "psi2": PSI_EDGES, "lam": RF_LAM_EDGES, "tau2": [0.0, 0.5]})
        edge = Case(self.name, self.fn, {"activation": Act("relu"), "F1sq": 1.0, "Fstar_sq": 0.3, "errors": "mask"},
                    edges, np.ones(edges["psi1"].shape, bool), tag="edges", noise="tau2")
        out.append(edge)
        sing = singles(edge, "edges-single")
        if quick:
            sing = [sing[i] for i in rng.choice(len(sing), 60, replace=False)]
        out += sing
        known = [dict(psi1=1.0, psi2=1.0 + 1e-12, lam=0.0), dict(psi1=1.0, psi2=1.0, lam=1e-30),
                 dict(psi1=1.0, psi2=1.0, lam=1e-60), dict(psi1=1e5, psi2=1.5e5, lam=0.06)]
        for kw in known:
            out.append(Case(self.name, self.fn, {"activation": Act("relu")}, {k: np.asarray(v) for k, v in kw.items()},
                            np.asarray(True), tag="known", vector=False))
        total = sum(c.size for c in out)
        while total < n:
            m = int(rng.integers(16, 200)) if not quick else int(rng.integers(6, 20))
            psi1, psi2 = draw_psi(rng, m)
            pts = {"psi1": psi1, "psi2": psi2, "lam": draw_rf_lam(rng, m),
                   "F1sq": draw_energy(rng, m, p0=0.1, extreme=False),
                   "Fstar_sq": draw_energy(rng, m, lo=1e-3, hi=1e2, p0=0.3, extreme=False)}
            base = {"errors": "mask"}
            tag = "random"
            if rng.random() < 0.35:
                pts["mu1"] = mix(rng, m, [(0.15, 0.0), (0.85, lambda s: rng.uniform(-10, 10, s))])
                pts["mu_star"] = logu(rng, 1e-3, 1e3, m)
                tag = "random/constants"
            else:
                act = RF_ACTS[int(rng.integers(len(RF_ACTS)))]
                base["activation"] = act
                tag = f"random/{act!r}"
            c = Case(self.name, self.fn, base, grid_of(pts, "tau2", noise_axis(rng, m, 3, hi=1e2)),
                     np.ones((m, 3), bool), tag=tag, noise="tau2")
            if rng.random() < 0.06:
                c = self.inject_invalid(c, rng, {"psi1": [0.0, -1.0, float("nan"), float("inf")],
                                                 "lam": [-1e-300, float("nan")], "Fstar_sq": [-1.0],
                                                 "tau2": [float("inf")]})
            out.append(c)
            total += c.size
        # invalid activations: identity has mu_star = 0 (documented: mu_star > 0), unknown names
        for act, p in ((Act("identity"), "mu_star"), (Act("softmax"), "activation")):
            out.append(Case(self.name, self.fn, {"activation": act}, {"psi1": np.asarray(2.0), "psi2": np.asarray(3.0),
                                                                      "lam": np.asarray(0.1)},
                            np.asarray(False), tag="invalid:activation", bad=p, vector=False))
        out.append(Case(self.name, self.fn, {"mu1": 0.5, "mu_star": 0.0}, {"psi1": np.asarray(2.0), "psi2": np.asarray(3.0),
                                                                           "lam": np.asarray(0.1)},
                        np.asarray(False), tag="invalid:mu_star", bad="mu_star", vector=False))
        out += self.hostile(replace(edge.point(0), base={"activation": Act("relu"), "F1sq": 1.0, "Fstar_sq": 0.3}),
                            names=("psi1", "psi2", "lam", "tau2"))
        return out

    def floors(self, case, res):
        fl = super().floors(case, res)
        fstar = np.broadcast_to(np.asarray(case.kwargs().get("Fstar_sq", 0.0), dtype=float), case.shape)
        return [(k, fstar if k == "risk" else f, a) for k, f, a in fl]

    def witnesses(self, cases, results, rng, quick):
        """Only zeta = mu1/mu_star and lam_bar = lam/mu_star^2 enter (Mei & Montanari; module docstring):
        (c mu1, c mu_star, c^2 lam) has the same risk, bias and variance."""
        out = []
        cmp3 = _compare_outputs({k: k for k in self.outputs})
        for c, r in zip(cases, results):
            if c.tag != "random/constants" or r.exc or r.hang or not c.valid.all() or rng.random() > 0.5:
                continue
            lam = np.asarray(c.grid["lam"])
            rg = scale_range((c.grid["mu_star"], 1, 99), (c.grid["mu1"], 1, 99), (lam, 2, 99))
            if rg is None:
                continue
            lo, hi = rg
            c_ = 10.0 ** float(rng.uniform(lo, hi))
            grid = {**c.grid, "mu1": np.asarray(c.grid["mu1"]) * c_, "mu_star": np.asarray(c.grid["mu_star"]) * c_,
                    "lam": lam * c_ ** 2}
            w = Case(self.name, self.fn, dict(c.base), grid, c.valid.copy(), tag=f"witness:mu-scale c={c_:.3g}")
            out.append((w, c, cmp3))
        return out[:10] if quick else out


# ================================================================================ kernel ridge
def draw_krr_spectrum(rng, quick):
    K = int(rng.integers(1, 31 if not quick else 8))
    kind = str(rng.choice(["power", "random", "flat"], p=[0.5, 0.35, 0.15]))
    scale = float(logu(rng, 1e-50, 1e50)) if rng.random() < 0.3 else 1.0
    if kind == "power":
        a = float(rng.uniform(0.5, 20))
        xi = scale * np.arange(1, K + 1, dtype=float) ** -a
        code = f"{scale!r} * np.arange(1, {K + 1}, dtype=float) ** -{a!r}"
    elif kind == "random":
        s = _seed(rng)
        xi = 10.0 ** np.random.default_rng(s).uniform(-100, 100, K)
        code = f"10.0 ** np.random.default_rng({s}).uniform(-100, 100, {K})"
    else:
        xi, code = np.full(K, scale), f"np.full({K}, {scale!r})"
    if rng.random() < 0.15 and K > 1:
        j = int(rng.integers(1, K))
        xi = xi.copy()
        xi[j] = 0.0
        code = f"np.where(np.arange({K}) == {j}, 0.0, {code})"
    integer = rng.random() < 0.6
    if integer:
        s = _seed(rng)
        m = np.random.default_rng(s).integers(1, 51, K).astype(float)
        mcode = f"np.random.default_rng({s}).integers(1, 51, {K}).astype(float)"
    else:
        s = _seed(rng)
        m = np.floor(10.0 ** np.random.default_rng(s).uniform(0, 12, K))
        mcode = f"np.floor(10.0 ** np.random.default_rng({s}).uniform(0, 12, {K}))"
    L = int(rng.integers(1, K + 1))
    s = _seed(rng)
    v = np.random.default_rng(s).exponential(1.0, L)
    vcode = f"np.random.default_rng({s}).exponential(1.0, {L})"
    if rng.random() < 0.2:
        v = v * 1e-3 ** np.arange(L)
        vcode = f"{vcode} * 1e-3 ** np.arange({L})"
    return (Arr(xi, code, "eigs"), Arr(m, mcode, "mult"), Arr(v, vcode, "energy"), kind + ("/int" if integer else "/float"))


class KRRModel(FuzzModel):
    name = "kernel-ridge"
    fn = "kernel_ridge.risk"
    outputs = RISK4
    weight = 0.1
    hp_points = 150
    gp_points = 150
    params = ("n", "lam", "sigma2", "tail")

    def cases(self, rng, n, quick):
        out = []
        E = lambda v, nm: Arr(np.asarray(v, dtype=float), repr(list(map(float, v))), nm)  # noqa: E731
        known = [(E([1.0], "eigs"), E([1.0], "mult"), E([1.0], "energy"), dict(n=1.012, lam=0.0, sigma2=1.0)),
                 (E([1.0, 0.1], "eigs"), E([1, 10], "mult"), E([0.0, 1.0], "energy"), dict(n=11.0 * (1 + 1e-9), lam=0.0, sigma2=0.1)),
                 (E([1.0], "eigs"), E([3], "mult"), E([1.0], "energy"), dict(n=3.0, lam=1e-8, sigma2=1.0))]
        for e, m, v, kw in known:
            out.append(Case(self.name, self.fn, {"eigs": e, "mult": m, "energy": v},
                            {k: np.asarray(x) for k, x in kw.items()}, np.asarray(True), tag="known", vector=False))
        total = len(out)
        while total < n:
            xi, m, v, kind = draw_krr_spectrum(rng, quick)
            rank = float(np.sum(m.value[xi.value > 0]))
            tr = float(np.sum(m.value * xi.value))
            k = int(rng.integers(3, 13)) if not quick else 3
            nn = mix(rng, k, [(0.25, lambda s: rank * near_one(rng, s)), (0.1, rank),
                              (0.6, lambda s: rank * logu(rng, 1e-3, 1e3, s)), (0.05, lambda s: logu(rng, 1e-300, 1e100, s))])
            nn = np.clip(nn, 1e-300, 1e100)
            lam = mix(rng, k, [(0.3, 0.0), (0.5, lambda s: tr * logu(rng, 1e-12, 1.0, s)),
                               (0.2, lambda s: logu(rng, 1e-300, 1e4, s))])
            tail = mix(rng, k, [(0.5, 0.0), (0.5, lambda s: tr * logu(rng, 1e-8, 1.0, s))])
            c = Case(self.name, self.fn, {"eigs": xi, "mult": m, "energy": v, "errors": "mask"},
                     grid_of({"n": nn, "lam": np.clip(lam, 0, 1e100), "tail": np.clip(tail, 0, 1e100)}, "sigma2",
                             noise_axis(rng, k, 3)), np.ones((k, 3), bool), tag=kind, noise="sigma2",
                     extra={"v_null": _v_null(xi.value, v.value)})
            if rng.random() < 0.06:
                c = self.inject_invalid(c, rng, {"n": [0.0, -1.0, float("nan")], "tail": [-1.0], "lam": [float("inf")]})
            out.append(c)
            total += c.size
        bad = [([1.0, -0.5], [1, 1], [1.0], "eigs"), ([1.0], [0.5], [1.0], "mult"), ([1.0], [1], [1.0, 1.0], "energy"),
               ([1.0], [1], [-1.0], "energy"), ([0.0], [1], [1.0], "eigs"), ([1.0, 0.5], [1], [1.0], "mult")]
        for e, m, v, p in bad:
            out.append(Case(self.name, self.fn, {"eigs": E(e, "eigs"), "mult": E(m, "mult"), "energy": E(v, "energy")},
                            {"n": np.asarray(5.0), "lam": np.asarray(0.1), "sigma2": np.asarray(0.1)},
                            np.asarray(False), tag=f"invalid:{p}", bad=p, vector=False))
        tmpl = Case(self.name, self.fn, {"eigs": E([1.0, 0.1], "eigs"), "mult": E([1, 10], "mult"), "energy": E([0.0, 1.0], "energy")},
                    {"n": np.asarray(5.0), "lam": np.asarray(0.1), "sigma2": np.asarray(0.1), "tail": np.asarray(0.0)},
                    np.asarray(True))
        out += self.hostile(tmpl)
        return out

    def floors(self, case, res):
        fl = super().floors(case, res)
        vnull = case.extra.get("v_null", 0.0)
        return [(k, np.full(case.shape, vnull) if k == "bias" else f, a) for k, f, a in fl]

    def witnesses(self, cases, results, rng, quick):
        """(1) scale invariance (c eigs, mult, energy, n, c lam, sigma2, c tail); (2) integer
        multiplicities expanded: ridge.spectrum_risk(repeat(eigs, m), repeat(v/(m eigs), m), n,
        (lam + tail)/n) (module docstring: 'a test checks this identity')."""
        out = []
        cmp4 = _compare_outputs({k: k for k in RISK4})
        for c, r in zip(cases, results):
            if not c.vector or r.exc or r.hang or not c.valid.all():
                continue
            xi, m, v = c.base["eigs"], c.base["mult"], c.base["energy"]
            pos = xi.value > 0
            if rng.random() < 0.3:
                lam, tail = np.asarray(c.grid["lam"]), np.asarray(c.grid["tail"])
                rg = scale_range((xi.value, 1, 299), (lam, 1, 99), (tail, 1, 99))
                if rg is not None:
                    c_ = 10.0 ** float(rng.uniform(*rg))
                    w = Case(self.name, self.fn, {**c.base, "eigs": xi.scaled(c_)},
                             {**c.grid, "lam": lam * c_, "tail": tail * c_}, c.valid.copy(), tag=f"witness:scale c={c_:.3g}",
                             extra=dict(c.extra))
                    out.append((w, c, cmp4))
            if c.tag.endswith("/int") and c.extra.get("v_null", 0.0) == 0 and m.value[pos].sum() <= 800:
                vv = np.concatenate([v.value, np.zeros(xi.value.size - v.value.size)])
                eigs_r = np.repeat(xi.value[pos], m.value[pos].astype(int))
                beta2_r = np.repeat(vv[pos] / (m.value[pos] * xi.value[pos]), m.value[pos].astype(int))
                if not np.all(np.isfinite(beta2_r)):
                    continue
                nn = np.asarray(c.grid["n"])
                if not in_domain({"n": nn, "lam": (np.asarray(c.grid["lam"]) + np.asarray(c.grid["tail"])) / nn},
                                 RIDGE_DOMAIN):
                    continue
                ecode = f"np.repeat({_short(xi)}[{_short(xi)} > 0], {_short(m)}[{_short(xi)} > 0].astype(int))"
                w = Case(self.name, "ridge.spectrum_risk",
                         {"eigs": Arr(eigs_r, ecode, "eigs_expanded"),
                          "beta2": Arr(beta2_r, "<energy/(mult eigs), repeated mult times>", "beta2_expanded"), "errors": "mask"},
                         {"n": nn, "lam": (np.asarray(c.grid["lam"]) + np.asarray(c.grid["tail"])) / nn,
                          "sigma2": np.asarray(c.grid["sigma2"])}, c.valid.copy(), tag="witness:expanded=spectrum_risk")
                out.append((w, c, cmp4))
        return out[:15] if quick else out


def _v_null(xi, v):
    """Target energy in eigenspaces with eigenvalue 0 (unlearnable: the bias is at least this)."""
    full = np.concatenate([v, np.zeros(max(0, xi.size - v.size))])[:xi.size]
    return float(np.sum(full[xi == 0]))


def scale_range(*pairs):
    """The log10 c for which every ``(values, power)`` pair stays in [1e-300, 1e300] after
    ``values * c**power`` (positive entries only), clamped to [-200, 200]; None if empty."""
    lo, hi = -200.0, 200.0
    for vals, power, top in pairs:
        v = np.abs(np.asarray(vals, dtype=float))
        v = v[v > 0]
        if not v.size:
            continue
        a, b = math.log10(v.min()), math.log10(v.max())
        # -300 <= a + power t and b + power t <= top
        if power > 0:
            lo, hi = max(lo, (-299 - a) / power), min(hi, (top - b) / power)
        else:
            lo, hi = max(lo, (b - top) / -power), min(hi, (a + 299) / -power)
    return (lo, hi) if hi > lo else None


#: ridge's documented domain (docs/ridge.md, "Domains"): (low, high, low_open)
RIDGE_DOMAIN = {"gamma": (0.0, 1e100, True), "n": (0.0, 1e100, True), "lam": (0.0, 1e100, False),
                "r2": (0.0, 1e100, False), "sigma2": (0.0, 1e100, False)}


def in_domain(grid: dict, domain: dict) -> bool:
    for k, v in grid.items():
        if k not in domain:
            continue
        lo, hi, lo_open = domain[k]
        v = np.asarray(v, dtype=float)
        if not np.all(np.isfinite(v)) or np.any(v > hi) or np.any(v <= lo if lo_open else v < lo):
            return False
    return True


def _short(a: Arr) -> str:
    return a.code if len(a.code) <= 40 else a.name


SPHERE_D = [2, 3, 4, 5, 7, 10, 20, 50, 100, 300, 1000, 10 ** 4, 10 ** 5, 10 ** 6]


def draw_kernel(rng):
    kind = str(rng.choice(["exp", "relu-nngp", "poly"], p=[0.35, 0.35, 0.3]))
    if kind != "poly":
        return kind
    deg = int(rng.integers(1, 5))
    c = [float(x) for x in np.round(logu(rng, 1e-4, 1.0, deg + 1), 6)]
    if rng.random() < 0.3 and deg > 1:
        c[int(rng.integers(1, deg))] = 0.0
    return "poly:" + ",".join(repr(x) for x in c)


class SphereModel(FuzzModel):
    name = "kernel-ridge-sphere"
    fn = "kernel_ridge.sphere_risk"
    outputs = RISK4
    weight = 0.1
    hp_points = 8
    quick_hp_points = 1
    gp_points = 100
    params = ("n", "lam", "sigma2")

    def cases(self, rng, n, quick):
        out = []
        total = 0
        from asymptotics.expansions.gegenbauer import multiplicity
        while total < n:
            kern = draw_kernel(rng)
            d = int(rng.choice(SPHERE_D if not quick else SPHERE_D[:9]))
            L = int(rng.integers(1, 5))
            energy = [float(x) for x in np.round(rng.exponential(1.0, L), 6)]
            # thresholds: n = B(d,0) + ... + B(d,k) (the rank of a polynomial kernel of degree k)
            cum = np.cumsum([float(multiplicity(d, k)) for k in range(5)])
            k = int(rng.integers(3, 11)) if not quick else 3
            nn = mix(rng, k, [(0.3, lambda s: rng.choice(cum, s) * near_one(rng, s)), (0.1, lambda s: rng.choice(cum, s)),
                              (0.6, lambda s: logu(rng, 1.0, 1e6, s))])
            nn = np.clip(nn, 1.0, 1e100)
            lam = mix(rng, k, [(0.3, 0.0), (0.55, lambda s: logu(rng, 1e-12, 10.0, s)), (0.15, lambda s: logu(rng, 1e-300, 1e-12, s))])
            c = Case(self.name, self.fn, {"kernel": kern, "d": d, "energy": energy, "errors": "mask"},
                     grid_of({"n": nn, "lam": lam}, "sigma2", noise_axis(rng, k, 3, hi=1e2)), np.ones((k, 3), bool),
                     tag=f"{kern.split(':')[0]}/d={d}", noise="sigma2")
            if rng.random() < 0.05:
                c = self.inject_invalid(c, rng, {"n": [0.5, -1.0, float("nan")], "lam": [-1.0]})
            out.append(c)
            total += c.size
        for kern, d, p in (("poly:1,-1", 5, "kernel"), ("softmax", 5, "kernel"), ("exp", 1, "d"), ("exp", 2.5, "d")):
            out.append(Case(self.name, self.fn, {"kernel": kern, "d": d, "energy": [0.0, 1.0]},
                            {"n": np.asarray(10.0), "lam": np.asarray(0.1), "sigma2": np.asarray(0.1)},
                            np.asarray(False), tag=f"invalid:{p}", bad=p, vector=False))
        out += self.hostile(Case(self.name, self.fn, {"kernel": "exp", "d": 10, "energy": [0.0, 1.0]},
                                 {"n": np.asarray(10.0), "lam": np.asarray(0.1), "sigma2": np.asarray(0.1)}, np.asarray(True)))
        return out

    def prepare(self, cases, results):
        self._kmax = {id(c): r.extra.get("kmax") for c, r in zip(cases, results) if r.extra}

    def hp_case(self, case, i):
        if case.base["d"] > 50 or (self.quick and case.base["d"] < 10):
            return None
        # the re-solve of the same truncated problem (the grid's kmax): a single point may choose a smaller
        # kmax, whose truncation error (part of rel_accuracy, not removed by 30 digits) is not the
        # double value's
        K = getattr(self, "_kmax", {}).get(id(case))
        over = {"kmax": int(K)} if K is not None and "kmax" not in case.base else {}
        return case.point(i, precision=30, **over)   # mpmath quadrature of the spectrum too: 2-3 s a point

    def witnesses(self, cases, results, rng, quick):
        """The default truncation is to meet the risk within 1e-12 relative of the untruncated value
        (issue 12 section 1): compare with 4 more degrees."""
        out = []
        cmp = _compare_truncated({"risk": "risk"})
        for c, r in zip(cases, results):
            if not c.vector or r.exc or r.hang or not c.valid.all() or "kmax" not in r.extra or rng.random() > 0.4:
                continue
            K = min(int(r.extra["kmax"]) + 4, 200)
            w = Case(self.name, self.fn, {**c.base, "kmax": K}, dict(c.grid), c.valid.copy(), tag=f"witness:kmax={K}")
            out.append((w, c, cmp))
        return out[:8] if quick else out


NT_ACTS = [Act("relu"), Act("leaky_relu"), Act("abs"), Act("relu_p"), Act("erf"), Act("exp"), Act("sin"), Act("cos"),
           Act("identity"), Act("quad"), Act("poly", coeffs=[0.5, 1.0, 0.25]), Act("gelu"), Act("tanh"),
           Act("sigmoid"), Act("softplus"), Act("silu")]
NT_D = [2, 3, 5, 10, 20, 50, 100, 1000, 10 ** 4, 10 ** 5, 10 ** 6]


class NTModel(FuzzModel):
    name = "nt"
    fn = "nt.risk"
    outputs = RISK4
    weight = 0.1
    hp_points = 100
    gp_points = 100
    params = ("n", "lam", "sigma2")

    def cases(self, rng, n, quick):
        out = []
        total = 0
        while total < n:
            act = NT_ACTS[int(rng.integers(len(NT_ACTS)))]
            d = int(rng.choice(NT_D if not quick else NT_D[:7]))
            L = int(rng.integers(1, 4))
            energy = [float(x) for x in np.round(rng.exponential(1.0, L), 6)]
            k = int(rng.integers(3, 11)) if not quick else 3
            nn = mix(rng, k, [(0.3, lambda s: (1 + d) * near_one(rng, s)), (0.7, lambda s: logu(rng, 0.1, 1e7, s))])
            lam = mix(rng, k, [(0.3, 0.0), (0.55, lambda s: logu(rng, 1e-12, 10.0, s)), (0.15, lambda s: logu(rng, 1e-300, 1e-12, s))])
            c = Case(self.name, self.fn, {"d": d, "activation": act, "energy": energy},
                     grid_of({"n": nn, "lam": lam}, "sigma2", noise_axis(rng, k, 3, hi=1e2)), np.ones((k, 3), bool),
                     tag=f"{act!r}/d={d}", noise="sigma2")
            if rng.random() < 0.05:
                c = self.inject_invalid(c, rng, {"n": [0.0, -1.0, float("nan")], "lam": [-1.0]})
            out.append(c)
            total += c.size
        for act in (Act("sign"), Act("step"), Act("softmax")):
            out.append(Case(self.name, self.fn, {"d": 10, "activation": act, "energy": [0.0, 1.0]},
                            {"n": np.asarray(10.0), "lam": np.asarray(0.1), "sigma2": np.asarray(0.1)},
                            np.asarray(False), tag="invalid:activation", bad="activation", vector=False))
        out.append(Case(self.name, self.fn, {"d": 10.5, "activation": Act("relu"), "energy": [0.0, 1.0]},
                        {"n": np.asarray(10.0), "lam": np.asarray(0.1), "sigma2": np.asarray(0.1)},
                        np.asarray(False), tag="invalid:d", bad="d", vector=False))
        out += self.hostile(Case(self.name, self.fn, {"d": 10, "activation": Act("relu"), "energy": [0.0, 1.0]},
                                 {"n": np.asarray(10.0), "lam": np.asarray(0.1), "sigma2": np.asarray(0.1)}, np.asarray(True)))
        return out

    def witnesses(self, cases, results, rng, quick):
        """The default truncation vs 4 more degrees (issue 12: within 1e-12 relative)."""
        out = []
        cmp = _compare_truncated({"risk": "risk"})
        for c, r in zip(cases, results):
            if not c.vector or r.exc or r.hang or not c.valid.all() or "kmax" not in r.extra or rng.random() > 0.4:
                continue
            K = min(int(r.extra["kmax"]) + 4, 200)
            w = Case(self.name, self.fn, {**c.base, "kmax": K}, dict(c.grid), c.valid.copy(), tag=f"witness:kmax={K}")
            out.append((w, c, cmp))
        return out[:8] if quick else out


# ================================================================================ kernels
KERNEL_ACTS = [Act(a) for a in ("relu", "leaky_relu", "abs", "sign", "step", "relu_p", "erf", "exp", "sin", "cos",
                                "identity", "quad", "gelu", "tanh", "sigmoid", "softplus", "silu")] + [
    Act("poly", coeffs=[0.1, 1.0, 0.5]), Act("leaky_relu", slope=0.2), Act("relu_p", p=3), Act("erf", a=2),
    Act("exp", a=0.5), Act("sin", a=2), Act("cos", a=0.5)]
RHO_EDGES = ([-1.0, 1.0, 0.0, 1e-300, -1e-300, 5e-324] + [1 - 10.0 ** -k for k in range(1, 17)]
             + [-1 + 10.0 ** -k for k in range(1, 17)] + [1 - 5e-7, -1 + 5e-7, 1 - 2 ** -53, -1 + 2 ** -53])


class KernelsModel(FuzzModel):
    name = "kernels"
    fn = "kernels.dual_kernel"
    outputs = ("value",)
    weight = 0.5
    hp_points = 400
    gp_points = 300
    params = ("rho",)
    hostile_numbers = (float("nan"), float("inf"), 1.5, -1.0000000000000002)

    def cases(self, rng, n, quick):
        out = []
        # quick: activations with closed forms or cheap series (the smooth quadrature ones take seconds a call)
        acts = KERNEL_ACTS if not quick else [Act(a) for a in ("relu", "abs", "relu_p", "quad", "erf", "identity")]
        per = max(8, n // (2 * len(acts)))
        for fn in ("kernels.dual_kernel", "kernels.ntk"):
            for act in acts:
                base = {"activation": act, "return_error": True}
                out.append(Case(self.name, fn, dict(base), {"rho": np.asarray(1.0)}, np.asarray(True), tag="one", vector=False))
                out.append(Case(self.name, fn, dict(base), {"rho": np.asarray(-1.0)}, np.asarray(True), tag="minus-one", vector=False))
                edges = np.array(RHO_EDGES if not quick else RHO_EDGES[:12])
                sing = [Case(self.name, fn, dict(base), {"rho": np.asarray(r)}, np.asarray(True), tag="edges-single", vector=False)
                        for r in edges]
                out += sing if not quick else sing[:6]
                m = max(4, per - edges.size) // 2
                pos = np.sort(np.concatenate([[0.0], rng.uniform(0, 1, m), 1 - 10.0 ** -rng.uniform(1, 16, m // 4 + 1), [1.0]]))
                out.append(Case(self.name, fn, dict(base), {"rho": pos}, np.ones(pos.shape, bool), tag="sorted[0,1]", noise="rho"))
                mixed = rng.permutation(np.concatenate([edges, rng.uniform(-1, 1, m)]))
                out.append(Case(self.name, fn, dict(base), {"rho": mixed}, np.ones(mixed.shape, bool), tag="mixed"))
                inner = rng.uniform(-0.99, 0.99, max(4, m // 2))
                out.append(Case(self.name, fn, dict(base), {"rho": inner}, np.ones(inner.shape, bool), tag="inner"))
                if rng.random() < 0.3:
                    out.append(self.inject_invalid(out[-1], rng, {"rho": [1 + 2.3e-16, -1 - 2.3e-16, 1.5, float("nan"), float("inf")]}))
        known = [("kernels.ntk", Act("quad"), 1 - 1e-14)]   # issue 12 section 2
        if not quick:
            known += [(fn, Act(a), s_ * (1 - 5e-7)) for fn in ("kernels.dual_kernel", "kernels.ntk")
                      for a in ("tanh", "sigmoid", "softplus", "silu") for s_ in (1.0, -1.0)]
        for fn, act, r in known:
            out.append(Case(self.name, fn, {"activation": act, "return_error": True}, {"rho": np.asarray(r)},
                            np.asarray(True), tag="known", vector=False))
        for fn in ("kernels.dual_kernel", "kernels.ntk"):
            out += self.hostile(Case(self.name, fn, {"activation": Act("relu"), "return_error": True},
                                     {"rho": np.asarray(0.5)}, np.asarray(True)))
        return out

    def prepare(self, cases, results):
        """k(1) of every (function, activation), for the bound |k(rho)| <= k(1)."""
        self.k1 = {}
        for c, r in zip(cases, results):
            if c.tag == "one" and not r.exc and not r.hang and r.mask is not None and not r.mask.any():
                self.k1[(c.fn, repr(c.base["activation"]))] = (float(r.out["value"]), float(r.out["err"]))

    def floors(self, case, res):
        return []

    def allowed(self, res):
        return np.asarray(res.out["err"], dtype=float)

    def extra_checks(self, case, res, good, tally):
        if not good.any():
            return
        rho = np.broadcast_to(np.asarray(case.kwargs()["rho"], dtype=float), case.shape)
        v = np.asarray(res.out["value"], dtype=float)
        err = np.asarray(res.out["err"], dtype=float)
        key = (case.fn, repr(case.base["activation"]))
        k1, e1 = self.k1.get(key, (None, None))
        for i in np.nonzero(good.ravel())[0]:
            r, x, e = float(rho.ravel()[i]), float(v.ravel()[i]), float(err.ravel()[i])
            if math.isnan(e) or e < 0:
                tally.add("nan", 1, _example(case, f"error bound {e!r} at rho={r!r}", int(i)))
                continue
            if r >= 0 and x < -e:
                tally.add("floor", 1, _example(case, f"k(rho) = {x!r} < 0 at rho = {r!r} (bound {e:.3g}); "
                                                     "the coefficients are >= 0", int(i)))
            elif k1 is not None and math.isfinite(k1) and abs(x) > k1 + e + e1 + 4e-16 * abs(k1):
                tally.add("floor", 1, _example(case, f"|k(rho)| = {abs(x)!r} > k(1) = {k1!r} at rho = {r!r}", int(i)))
        if case.noise == "rho":   # k non-decreasing on [0, 1] (a power series with coefficients >= 0)
            order = np.argsort(rho.ravel(), kind="stable")
            gv = good.ravel()
            prev = None
            for i in order:
                if not gv[i] or rho.ravel()[i] < 0:
                    continue
                if prev is not None:
                    j = prev
                    if v.ravel()[i] < v.ravel()[j] - err.ravel()[i] - err.ravel()[j] and not (
                            math.isinf(v.ravel()[j]) and math.isinf(v.ravel()[i])):
                        tally.add("monotone", 1, _example(case, f"k({rho.ravel()[i]!r}) = {v.ravel()[i]!r} < "
                                                                f"k({rho.ravel()[j]!r}) = {v.ravel()[j]!r}", int(i)))
                prev = i

    def witnesses(self, cases, results, rng, quick):
        """(1) method='series' vs the default (closed form where known) at |rho| <= 0.99, within the sum
        of the two rigorous bounds; (2) continuity at rho = +-1: |k(+-(1 - t)) - k(+-1)| <= t k'(1)."""
        out = []
        for c, r in zip(cases, results):
            if c.tag != "inner" or r.exc or r.hang or rng.random() > 0.5:
                continue
            w = Case(self.name, c.fn, {**c.base, "method": "series"}, dict(c.grid), c.valid.copy(), tag="witness:series")
            out.append((w, c, _compare_kernels))
        return out[:10] if quick else out

    def hp_plan(self, samples):
        """One 30-digit reference call per activation over the sampled |rho| <= 0.7."""
        groups = {}
        for case, i in samples:
            rho = float(np.asarray(case.grid["rho"]).ravel()[i]) if np.ndim(case.grid["rho"]) else float(case.grid["rho"])
            if abs(rho) > 0.7:
                continue
            groups.setdefault(repr(case.base["activation"]), (case.base["activation"], []))[1].append((case, i, rho))
        plan = []
        for act, items in groups.values():
            rhos = np.array([x[2] for x in items])
            hc = Case(self.name, "kernels.reference", {"activation": act}, {"rho": rhos}, np.ones(rhos.shape, bool),
                      tag="reference")
            plan.append((hc, [(case, i, j) for j, (case, i, _) in enumerate(items)]))
        return plan


def _compare_kernels(case, mres, wres):
    a, b = np.asarray(mres.out["value"], dtype=float).ravel(), np.asarray(wres.out["value"], dtype=float).ravel()
    ea, eb = np.asarray(mres.out["err"], dtype=float).ravel(), np.asarray(wres.out["err"], dtype=float).ravel()
    rho = np.asarray(case.grid["rho"]).ravel()
    bad = []
    for i in range(a.size):
        if abs(a[i] - b[i]) > ea[i] + eb[i]:
            bad.append((i, f"default {a[i]!r} (bound {ea[i]:.3g}) vs method='series' {b[i]!r} (bound {eb[i]:.3g}) "
                           f"at rho = {rho[i]!r}: |diff| = {abs(a[i] - b[i]):.3g}"))
    return bad


MODELS = {m.name: m for m in (RidgeModel(), RidgelessModel(), MPClosedFormModel(), SpectrumModel(), RFModel(),
                              KRRModel(), SphereModel(), NTModel(), KernelsModel())}


# ================================================================================ the run
def analyse(model: FuzzModel, case: Case, res: Res, tally: Tally, count=True, only=None):
    """Per-setting checks of one call; returns the mask of settings with a value. ``count=False``: a
    derived call (grid/point single, precision re-solve, witness): exceptions, hangs, refusals and
    NaN are counted, floors and monotonicity only on the main calls (no double counting); ``only``:
    per-setting failures are counted only there (the settings where the main call had a value)."""
    if count:
        tally.counts["settings"] += case.size
        tally.counts["calls"] += 1
    if res.warnings:
        tally.counts["warned_calls"] += 1
    valid = case.valid
    if res.hang:
        tally.add("hang", 1, _example(case, f"no answer within {res.elapsed:g} s", None, res))
        tally.counts["lost"] += case.size
        return np.zeros(case.shape, bool)
    if res.exc:
        if res.exc["type"] == "ShapeError" and case.bad is not None:
            tally.add("accepted_invalid", int((~valid).sum()),
                      _example(case, f"invalid {case.bad} accepted: {res.exc['msg']}", None, res))
            return np.zeros(case.shape, bool)
        cat, why = classify_exception(case, res.exc)
        tally.counts["lost"] += case.size if cat != "rejected_ok" else 0
        what = f"{summarize(res)}" + (f"  -- {why}" if why else "")
        if cat == "rejected_ok":
            tally.counts["rejected_ok"] += 1
        elif cat == "refused":
            lost_valid = valid if only is None else valid & only
            tally.add("refused", int(lost_valid.sum()), _example(case, what, None, res))
        else:
            tally.add(cat, 1, _example(case, what, None, res))
        return np.zeros(case.shape, bool)
    mask = res.mask
    # settings outside the domain that got a value
    acc_inv = ~valid & ~mask
    if acc_inv.any():
        i = int(np.nonzero(acc_inv.ravel())[0][0])
        tally.add("accepted_invalid", int(acc_inv.sum()),
                  _example(case, f"invalid {case.bad} accepted: {summarize(res, i)}", i if case.size > 1 else None))
    ref = valid & mask
    if only is not None:
        ref = ref & only
    if ref.any():
        i = int(np.nonzero(ref.ravel())[0][0])
        st = f" (status {res.status.ravel()[i]!r})" if res.status is not None else ""
        tally.add("refused", int(ref.sum()), _example(case, f"masked{st}", i if case.size > 1 else None))
    good = valid & ~mask
    if res.high_precision:
        return good
    # NaN
    nan = np.zeros(case.shape, bool)
    for k, v in res.out.items():
        nan |= np.isnan(np.asarray(v, dtype=float))
    nan &= good
    if only is not None:
        nan &= only
    if nan.any():
        i = int(np.nonzero(nan.ravel())[0][0])
        tally.add("nan", int(nan.sum()), _example(case, f"NaN output: {summarize(res, i)}", i if case.size > 1 else None))
    good &= ~nan
    if not count:   # a derived call (grid/point, precision, witness): its values are compared elsewhere
        return good
    # floors
    fl_bad = np.zeros(case.shape, bool)
    first = None
    for k, floor, slack in model.floors(case, res):
        v = np.asarray(res.out[k], dtype=float)
        with np.errstate(invalid="ignore"):
            b = good & (v < floor - slack)
        if b.any() and first is None:
            i = int(np.nonzero(b.ravel())[0][0])
            first = (i, f"{k} = {_num(v.ravel()[i])} < floor {_num(np.asarray(floor).ravel()[i])}: {summarize(res, i)}")
        fl_bad |= b
    if fl_bad.any():
        tally.add("floor", int(fl_bad.sum()), _example(case, first[1], first[0] if case.size > 1 else None))
    # noise monotonicity along the last axis
    if case.noise and case.noise != "rho" and "risk" in res.out and case.valid.ndim >= 1 and case.shape[-1] > 1:
        r = np.asarray(res.out["risk"], dtype=float)
        t = allowed_error(res, "risk")
        g = good
        with np.errstate(invalid="ignore"):
            dec = (r[..., 1:] < r[..., :-1] - t[..., 1:] - t[..., :-1]) & g[..., 1:] & g[..., :-1]
        if dec.any():
            idx = np.argwhere(dec)[0]
            j = tuple(idx[:-1]) + (idx[-1] + 1,)
            jprev = tuple(idx)
            flat = int(np.ravel_multi_index(j, case.shape))
            flat_prev = int(np.ravel_multi_index(jprev, case.shape))
            noise = np.asarray(case.grid[case.noise])
            what = (f"risk {_num(r[j])} at {case.noise}={_num(noise[j])} < risk {_num(r[jprev])} at "
                    f"{case.noise}={_num(noise[jprev])} (same other parameters); the lower-noise call: "
                    f"{case.point(flat_prev).code()}")
            tally.add("monotone", int(dec.sum()), _example(case, what, flat))
    model.extra_checks(case, res, good, tally)
    return good


def _weights(case: Case):
    return 5.0 if ("edge" in case.tag or "known" in case.tag) else 1.0


def _sample(rng, pool_items, k):
    """Up to ``k`` (case, flat index) pairs, edges and reproducers weighted 5x."""
    if k <= 0 or not pool_items:
        return []
    w = np.array([x[2] for x in pool_items], dtype=float)
    k = min(k, len(pool_items))
    idx = rng.choice(len(pool_items), size=k, replace=False, p=w / w.sum())
    return [(pool_items[i][0], pool_items[i][1]) for i in idx]


def _fails_like(case: Case, res: Res, cat: str, exc_type: str | None) -> bool:
    if cat == "hang":
        return res.hang
    if res.exc is None:
        return False
    c, _ = classify_exception(case, res.exc)
    return c == cat and (exc_type is None or res.exc["type"] == exc_type)


def localize(pool: Pool, case: Case, cat: str, res: Res, timeout) -> tuple[Case, Res] | None:
    """Bisect a failing vectorized call down to one setting that fails the same way alone (in a
    1-element array call); None if the failure needs several settings together."""
    exc_type = res.exc["type"] if res.exc else None
    idx = np.arange(case.size)
    last = (case, res)
    while idx.size > 1:
        halves = [idx[: idx.size // 2], idx[idx.size // 2:]]
        subs = [case.subset(h) for h in halves]
        rs = [normalize(s, x) for s, x in zip(subs, pool.run([s.task() for s in subs], timeout=timeout))]
        nxt = None
        for h, s, r in zip(halves, subs, rs):
            if _fails_like(s, r, cat, exc_type):
                nxt = (h, s, r)
                break
        if nxt is None:
            return None if last[0] is case else last
        idx = nxt[0]
        last = (nxt[1], nxt[2])
    return last


def run(models=None, n: int = 10_000, seed: int = 0, timeout: float = 30.0, workers: int = 2, quick: bool = False,
        max_examples: int = 5, hp_scale: float = 1.0, log=None, localize_examples: bool = True) -> dict:
    """Fuzz ``models`` (names of :data:`MODELS`; default all) and return the report
    ``{"meta": ..., "counts": {model: {category: n}}, "examples": {model: {category: [...]}}}``."""
    names = list(MODELS) if not models else list(models)
    for nm in names:
        if nm not in MODELS:
            raise ValueError(f"model must be one of {', '.join(MODELS)}, got {nm!r}")
    log = log or (lambda s: None)
    t_start = time.perf_counter()
    report = {"meta": {"seed": seed, "n": n, "timeout": timeout, "workers": workers, "quick": quick,
                       "default_accuracy": DEFAULT_ACCURACY, "agree": AGREE, "hp_digits": HP_DIGITS},
              "counts": {}, "examples": {}}
    _warm(names)
    with Pool(workers, timeout) as pool:
        for nm in names:
            t0 = time.perf_counter()
            model = MODELS[nm]
            model.quick = quick
            rng = np.random.default_rng([seed, sum(map(ord, nm))])
            tally = Tally(nm, max_examples)
            n_model = max(1, int(round(n * model.weight)))
            cases = model.cases(rng, n_model, quick)
            raws = pool.run([c.task() for c in cases])
            results = [normalize(c, r) for c, r in zip(cases, raws)]
            model.prepare(cases, results)
            candidates = []
            good_of = {}
            for c, r in zip(cases, results):
                good = analyse(model, c, r, tally)
                good_of[id(c)] = good
                if c.vector and c.size > 1:
                    for i in np.nonzero(good.ravel())[0]:
                        candidates.append((c, int(i), _weights(c)))
                elif c.size == 1 and good.all():
                    candidates.append((c, 0, _weights(c)))
            log(f"{nm}: {len(cases)} calls, {tally.counts['settings']} settings, {time.perf_counter() - t0:.1f} s")
            result_of = {id(c): r for c, r in zip(cases, results)}
            # ---- grid versus point
            gp = [(c, i) for c, i in _sample(rng, [x for x in candidates if x[0].vector and x[0].size > 1],
                                               model.gp_points if not quick else 12)]
            gp_cases = [c.point(i) for c, i in gp]
            gp_res = [normalize(s, x) for s, x in zip(gp_cases, pool.run([s.task() for s in gp_cases]))]
            for (c, i), s, r in zip(gp, gp_cases, gp_res):
                ok = analyse(model, s, r, tally, count=False)
                tally.counts["gp_checked"] += 1
                if not ok.all():
                    continue
                mres = result_of[id(c)]
                for k in model.outputs:
                    a, b = float(np.asarray(mres.out[k]).ravel()[i]), float(np.asarray(r.out[k]).ravel()[0])
                    ta = _allowed(model, mres, k).ravel()[i]
                    tb = _allowed(model, r, k).ravel()[0]
                    if disagree(a, b, ta, tb):
                        tally.add("grid_vs_point", 1, _example(c, f"{k} = {a!r} in the grid, {b!r} alone "
                                                                  f"(|diff| {abs(a - b):.3g}, rel {abs(a - b) / max(abs(a), abs(b), 1e-300):.3g})", i))
                        break
            log(f"{nm}: grid vs point {len(gp)}, {time.perf_counter() - t0:.1f} s")
            # ---- precision re-solve
            k_hp = int(round(model.hp_points * hp_scale)) if not quick else min(model.hp_points, model.quick_hp_points)
            hp_samples = _sample(rng, candidates, k_hp)
            if hasattr(model, "hp_plan"):
                plan = model.hp_plan(hp_samples)
            else:
                plan = []
                for c, i in hp_samples:
                    h = model.hp_case(c, i)
                    if h is not None:
                        plan.append((h, [(c, i, 0)]))
            hp_res = [normalize(h, x) for (h, _), x in zip(plan, pool.run([h.task() for h, _ in plan]))]
            for (h, items), r in zip(plan, hp_res):
                ok = analyse(model, h, r, tally, count=False)
                for c, i, j in items:
                    tally.counts["hp_checked"] += 1
                    if not ok.ravel()[j]:
                        continue
                    _check_precision(model, c, i, result_of[id(c)], h, r, j, tally)
            log(f"{nm}: precision {len(plan)} calls, {time.perf_counter() - t0:.1f} s")
            # ---- witnesses
            wit = model.witnesses(cases, results, rng, quick)
            w_res = [normalize(w, x) for (w, _, _), x in zip(wit, pool.run([w.task() for w, _, _ in wit]))]
            for (w, c, compare), r in zip(wit, w_res):
                ok = analyse(model, w, r, tally, count=False, only=good_of[id(c)])
                tally.counts["witness_checked"] += int(c.size)
                if r.exc or r.hang:
                    continue
                for i, what in compare(c, result_of[id(c)], r):
                    tally.add("witness", 1, _example(c, f"{what}  (witness {w.tag}: {w.point(i).code() if w.size > 1 else w.code()})", i))
            log(f"{nm}: witnesses {len(wit)} calls, {time.perf_counter() - t0:.1f} s")
            # ---- localize and confirm the examples
            if localize_examples:
                _confirm_examples(pool, tally, timeout)
            tally.counts["seconds"] = round(time.perf_counter() - t0, 1)
            report["counts"][nm] = dict(tally.counts)
            report["examples"][nm] = {k: [{kk: vv for kk, vv in e.items() if not kk.startswith("_")} for e in v]
                                      for k, v in tally.examples.items() if v}
            report.setdefault("breakdown", {})[nm] = {
                k: dict(sorted(v.items(), key=lambda kv: -kv[1])) for k, v in tally.breakdown.items() if v}
            log(f"{nm}: done in {tally.counts['seconds']} s: " +
                (", ".join(f"{k}={v}" for k, v in tally.failures().items()) or "no failures"))
    report["meta"]["wall_seconds"] = round(time.perf_counter() - t_start, 1)
    return report


#: Cheap calls that compile each model's sympy expressions (numpy and mpmath) once in the parent,
#: before the workers are forked, instead of once per worker.
WARM = {
    "ridge": [("ridge.risk", dict(gamma=0.5, lam=0.1)), ("ridge.risk", dict(gamma=0.5, lam=0.1, precision=20))],
    "ridgeless": [],
    "mp-closed-form": [("ridge.mp_closed_form", dict(gamma=2.0, lam=0.3)), ("ridge.risk", dict(gamma=0.5, lam=0.1))],
    "ridge-spectrum": [("ridge.spectrum_risk", dict(eigs=[1.0, 0.5], beta2=[1.0, 1.0], n=3.0, lam=0.1)),
                       ("ridge.spectrum_risk", dict(eigs=[1.0, 0.5], beta2=[1.0, 1.0], n=3.0, lam=0.1, precision=20)),
                       ("ridge.risk", dict(gamma=0.5, lam=0.1))],
    "rf": [("rf.risk", dict(psi1=2.0, psi2=3.0, lam=0.1, activation="relu")),
           ("rf.risk", dict(psi1=2.0, psi2=3.0, lam=0.1, activation="relu", precision=20))],
    "kernel-ridge": [("kernel_ridge.risk", dict(eigs=[1.0], mult=[1.0], energy=[1.0], n=2.0, lam=0.1)),
                     ("kernel_ridge.risk", dict(eigs=[1.0], mult=[1.0], energy=[1.0], n=2.0, lam=0.1, precision=20)),
                     ("ridge.spectrum_risk", dict(eigs=[1.0, 0.5], beta2=[1.0, 1.0], n=3.0, lam=0.1))],
    "kernel-ridge-sphere": [("kernel_ridge.sphere_risk", dict(kernel="exp", d=10, n=20.0, lam=0.1))],
    "nt": [("nt.risk", dict(n=20.0, d=10, lam=0.1))],
    "kernels": [("kernels.dual_kernel", dict(activation="relu", rho=0.5, return_error=True))],
}


def _warm(names):
    for nm in names:
        for task in WARM.get(nm, []):
            _execute(task)   # results and failures do not matter here


def _allowed(model, res, k):
    if hasattr(model, "allowed"):
        return model.allowed(res)
    return allowed_error(res, k)


def _check_precision(model, c, i, mres, h, hres, j, tally):
    outs = ["dual" if c.fn == "kernels.dual_kernel" else "ntk"] if h.fn == "kernels.reference" else \
        [k for k in model.hp_outputs() if k in hres.out]
    for k in outs:
        mk = "value" if h.fn == "kernels.reference" else k
        d = float(np.asarray(mres.out[mk]).ravel()[i])
        hp = hres.out[k].ravel()[j]
        tol = float(_allowed(model, mres, mk).ravel()[i])
        with mpmath.workdps(60):
            if mpmath.isinf(hp) or math.isinf(d):
                bad = not (mpmath.isinf(hp) and math.isinf(d) and (hp > 0) == (d > 0))
                err = float("inf") if bad else 0.0
            else:
                err = float(abs(mpmath.mpf(d) - hp))
                # plus the reference's own rounding to its digits (claims below 1e-40 exist: exact values)
                tol += float(abs(hp)) * 10.0 ** (1 - h.kwargs().get("precision", 30))
                bad = err > tol
        if bad:
            rel = err / max(abs(float(hp)), 1e-300) if not mpmath.isinf(hp) else float("inf")
            claim = "rel_accuracy" if mres.acc is not None else ("bound" if h.fn == "kernels.reference" else "assumed 1e-10")
            digits = h.kwargs().get("precision", 30)
            tally.add("precision", 1, _example(c, f"{k}: double {d!r} vs {digits}"
                                                  f"-digit {mpmath.nstr(hp, 20)}: error {err:.3g} (relative {rel:.3g}) > "
                                                  f"allowed {tol:.3g} ({claim})", i if c.size > 1 else None))
            return


def _confirm_examples(pool, tally, timeout):
    """Give each example a single-setting reproducer and what it does alone."""
    todo = []
    for cat, exs in tally.examples.items():
        for ex in exs:
            case, i = ex.get("_case"), ex.get("_index")
            if case is None:
                continue
            if i is None and case.size > 1 and "_res" in ex:
                if cat == "hang" and sum(1 for e in exs if e.get("localized")) >= 1:
                    continue
                loc = localize(pool, case, cat, ex["_res"], timeout)
                if loc is not None:
                    sub, _ = loc
                    single = sub.point(0)
                    ex["call"] = single.code()
                    ex["where"] += "; bisected to the single setting below (fails the same way in a 1-element call)"
                    ex["localized"] = True
                    todo.append((ex, single))
                else:
                    ex["where"] += "; the failure needs several settings together (not bisectable): " + case.code()[:2000]
            elif i is not None and case.size > 1:
                todo.append((ex, case.point(i)))
    if not todo:
        return
    rs = pool.run([s.task() for _, s in todo], timeout=timeout)
    for (ex, s), raw in zip(todo, rs):
        ex["alone"] = summarize(normalize(s, raw))


# ================================================================================ output
def table(report) -> str:
    cols = ["settings", "calls"] + list(CATEGORIES) + ["lost", "rejected_ok", "gp_checked", "hp_checked",
                                                       "witness_checked", "warned_calls", "seconds"]
    short = {"settings": "settings", "calls": "calls", "nan": "nan", "undocumented": "undoc", "hang": "hang",
             "refused": "refused", "accepted_invalid": "acc_inv", "floor": "floor", "monotone": "monot",
             "grid_vs_point": "grid/pt", "precision": "prec", "witness": "witness", "lost": "lost",
             "rejected_ok": "rej_ok", "gp_checked": "gp_n", "hp_checked": "hp_n", "witness_checked": "wit_n",
             "warned_calls": "warned", "seconds": "s"}
    rows = [["model"] + [short[c] for c in cols]]
    for m, cnt in report["counts"].items():
        rows.append([m] + [str(cnt.get(c, 0)) for c in cols])
    w = [max(len(r[j]) for r in rows) for j in range(len(rows[0]))]
    lines = ["  ".join(x.rjust(w[j]) if j else x.ljust(w[j]) for j, x in enumerate(r)) for r in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def examples_text(report) -> str:
    out = []
    for m, cats in report["examples"].items():
        for cat, exs in cats.items():
            out.append(f"\n## {m} / {cat} ({report['counts'][m][cat]})")
            kinds = report.get("breakdown", {}).get(m, {}).get(cat, {})
            if len(kinds) > 1 or (kinds and len(exs) > 1):
                out.append(f"kinds ({len(kinds)}; count, signature):")
                for sig, cnt in list(kinds.items())[:8]:
                    out.append(f"  {cnt:6d}  {sig}")
                if len(kinds) > 8:
                    out.append(f"  ... and {len(kinds) - 8} more kinds (all in --json)")
            for ex in exs:
                out.append(f"- {ex['what']}")
                out.append(f"  where: {ex['where']}")
                if "alone" in ex:
                    out.append(f"  alone: {ex['alone']}")
                out.append("  " + ex["call"].replace("\n", "\n  "))
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], allow_abbrev=False)
    ap.add_argument("--model", action="append", help=f"model(s) to fuzz (repeat or comma-separate): {', '.join(MODELS)}")
    ap.add_argument("--n", type=int, default=10_000, help="settings per model at weight 1 (ridge, ridge-spectrum, "
                    "rf); kernel ridge, sphere and NT get n/10, kernels n/2, ridgeless and mp-closed-form n/5")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds per call before it counts as a hang")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", metavar="FILE", help="write the counts and examples as JSON")
    ap.add_argument("--quick", action="store_true", help="the small slice run by tests/test_fuzz.py")
    ap.add_argument("--examples", type=int, default=5, help="example failing inputs kept per model and category")
    ap.add_argument("--hp-scale", type=float, default=1.0, help="scale the number of precision re-solves")
    args = ap.parse_args(argv)
    models = None
    if args.model:
        models = [m.strip() for a in args.model for m in a.split(",") if m.strip()]
        unknown = [m for m in models if m not in MODELS]
        if unknown:
            ap.error(f"--model must be among {', '.join(MODELS)}; got {', '.join(unknown)}")
    n = args.n if not args.quick or args.n != 10_000 else QUICK_N
    if n < 1:
        ap.error("--n must be >= 1")
    if args.timeout <= 0:
        ap.error("--timeout must be > 0")
    if args.workers < 1:
        ap.error("--workers must be >= 1")
    report = run(models, n=n, seed=args.seed, timeout=args.timeout, workers=args.workers, quick=args.quick,
                 max_examples=args.examples, hp_scale=args.hp_scale,
                 log=lambda s: print(s, file=sys.stderr, flush=True))
    print(table(report))
    print(f"\nwall time {report['meta']['wall_seconds']} s (seed {args.seed}, n {n}, timeout {args.timeout} s, "
          f"{args.workers} workers)")
    ex = examples_text(report)
    if ex:
        print("\n# Example failing inputs (prelude: " + PRELUDE.replace("\n", "; ") + ")" + ex)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1, default=str)
    failed = any(report["counts"][m][c] for m in report["counts"] for c in CATEGORIES)
    return 1 if failed else 0


#: settings per weight-1 model in ``--quick``
QUICK_N = 300

if __name__ == "__main__":
    sys.exit(main())
