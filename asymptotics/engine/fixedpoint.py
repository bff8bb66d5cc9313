"""Fixed-point models: the formulas written once, symbolically, and everything compiled from them.

A :class:`FixedPointModel` holds

* ``parameters`` -- scalar sympy symbols (``gamma``, ``lam``, ``r2``, ...);
* ``unknowns`` -- the quantities fixed by the equations (``kappa``; later ``nu1, nu2``);
* ``equations`` -- residuals ``F(unknowns, parameters) = 0``;
* ``traces`` -- optional spectral sums ``T = sum_i f(s_i, w_i, unknowns, parameters)`` over the
  components of a spectrum (covariance eigenvalues ``s_i`` with weights such as ``beta2_i``),
  referred to by a symbol in the equations and outputs. This is how a general-spectrum model is
  written without a symbolic sum of unknown length;
* ``outputs`` -- the risk and its components as expressions of the above (later outputs may refer
  to earlier ones by name);
* ``source`` -- the paper and equation numbers.

From that single source the model gives LaTeX (:meth:`FixedPointModel.latex`), numpy functions of
the residual, of its Jacobian (differentiated by sympy, traces by the chain rule) and of the
outputs, the same functions in mpmath for any precision, and a bound on the rounding error of each
of them (:mod:`asymptotics.engine.roundoff`).

A model may carry a ``numeric`` reformulation: the same theory written in other unknowns (e.g. the
gap to a known root, in logarithmic scale) so that double precision does not cancel; the solver then
solves that one and reports this model's unknowns and outputs, which the reformulation computes.

:func:`solve` is a vectorized damped Newton method over a whole broadcast parameter grid: every
point starts from the model's ``initial_guess`` (chosen by each model so that Newton converges to
the physical branch), steps are halved until the residual decreases (Armijo) and projected onto the
domain of the unknowns, and each point's convergence is recorded. A point that did not converge or
landed on a non-physical branch (``admissible`` false) is reported -- by a :class:`ConvergenceError`,
or masked with ``errors="mask"`` -- and never returned as a number. Points where the theory itself
diverges (e.g. ridgeless regression at the interpolation threshold) are handled by the model's
``singular`` rule, which sets the outputs there to their exact values (``inf``); points where the
unknowns are known exactly (the model's ``exact`` rule, e.g. ``kappa = 0`` at ``lam = 0`` below the
threshold) skip Newton's method.

**The accuracy contract.** Every solved point carries an estimate of the relative error of each
output (``Solution.accuracy``; ``Solution.rel_accuracy`` for the risk), made of

(a) the conditioning of the root: ``dx = 2 (|F| + err_F) / |dF/dx|`` at the final iterate, where
    ``err_F`` bounds the rounding error of evaluating the residual (:func:`~asymptotics.engine.
    roundoff.forward_error`) and ``|F|`` the remaining Newton correction;
(b) the rounding of the output expressions themselves, with ``dx`` propagated through them (the
    same forward error analysis, so cancellation in an output shows up);
(c) the rounding of the spectral sums (each summand's own error plus the summation's).

Points whose estimate is worse than ``accuracy`` (default ``1e-10``) are re-solved in mpmath at a
number of digits chosen from the estimate and replaced by the correctly rounded result, with the
accuracy re-estimated in mpmath (``status`` ``"re-solved at P digits"``); with ``resolve=False``,
or if that fails, they are masked (``errors="mask"``) or raise. A value is never returned as if
exact when its estimate exceeds the bound.

``solve(..., precision=P)`` re-solves each point by Newton's method in mpmath at ``P + 15`` digits,
started from the double-precision solution, and raises ``ValueError`` (like ``mpmath.findroot``)
when it cannot verify the root. Parameters and spectrum components given as mpmath numbers enter at
their full precision.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import mpmath
import numpy as np
import sympy as sp

from .._notation import LATEX as LATEX_TABLE
from .._validation import as_output, check_int, check_real
from .roundoff import (ETA_DOUBLE, ETA_SYMBOL, MPMATH_FUNCTIONS, NUMPY_FUNCTIONS, U_DOUBLE, U_SYMBOL,
                       forward_error)

__all__ = ["Trace", "FixedPointModel", "Solution", "ConvergenceError", "solve", "solve_mp", "latex",
           "LATEX_NAMES", "DEFAULT_TOL", "DEFAULT_ACCURACY", "keep_mp"]

DEFAULT_TOL = 1e-13
#: the default bound on the estimated relative error of every returned output
DEFAULT_ACCURACY = 1e-10
#: the most digits an automatic re-solve uses
MAX_RESOLVE_DIGITS = 400
#: elements (points x components) evaluated at once in a spectral sum: memory O(points + components)
CHUNK = 1 << 17


class ConvergenceError(ValueError):
    """The fixed-point solver could not verify a solution at some parameter points.

    Attributes:
        report: list of dicts, one per failed point (parameters, iterations, residual, reason).
    """

    def __init__(self, message: str, report: list[dict] | None = None):
        super().__init__(message)
        self.report = report or []


@dataclass(frozen=True)
class Trace:
    """A spectral sum ``symbol = sum_i summand`` over the components of a spectrum.

    Args:
        symbol: the sympy symbol standing for the sum in equations and outputs.
        summand: an expression of the component symbols, unknowns and parameters.
        description: what the sum is, for documentation.
    """

    symbol: sp.Symbol
    summand: sp.Expr
    description: str = ""


def _key(sym) -> str:
    return sym.name


@dataclass(frozen=True)
class FixedPointModel:
    """A set of fixed-point equations and the risk they determine. See the module docstring.

    Args:
        name: short model name (``"ridge"``).
        parameters: scalar parameter symbols, in call order.
        unknowns: unknown symbols.
        equations: residual expressions, as many as unknowns.
        outputs: ordered mapping from output name to expression; an expression may use the symbol
            of an earlier output's name.
        source: paper, arXiv id and equation numbers.
        components: symbols of the per-component arrays of a spectrum (e.g. eigenvalues, weights).
        traces: spectral sums used in equations/outputs.
        lower_bounds: lower bound of each unknown (the domain; iterates are projected onto it).
        initial_guess: ``f(**params) -> tuple of arrays`` (one per unknown); params are broadcast
            float arrays, plus ``spectrum`` (dict of component arrays) for models with traces.
        admissible: ``f(params, unknowns, traces) -> bool array``: the physical branch.
        singular: ``f(params, spectrum) -> (mask, {name: value})`` for points where the theory
            diverges; it gives the exact value of every unknown and output there (e.g. ``inf``).
        exact: ``f(params, spectrum) -> (mask, {unknown: value})``: points where the unknowns are
            known exactly (values exactly representable, e.g. ``0`` or ``-inf``); the outputs are
            evaluated there as at solved points, without Newton's method.
        scales: per unknown, the size below which steps are judged absolutely rather than relative
            to ``|x|`` (``0``, the default: relative; ``1`` for an unknown in logarithmic scale).
        numeric: a reformulation that the solver uses instead of this model (same parameters; its
            outputs include every unknown and output of this model, by name).
        symbols_doc: a one-line meaning of every symbol, for the docs.
        sample_ranges: parameter name -> (low, high), where random checks draw points.
        regimes: named parameter intervals in which the physical branch has one closed form,
            e.g. ``{"gamma<1": {"gamma": (0, 1)}}`` (used by :mod:`asymptotics.engine.derive`).
    """

    name: str
    parameters: tuple
    unknowns: tuple
    equations: tuple
    outputs: Mapping[str, sp.Expr]
    source: str
    components: tuple = ()
    traces: tuple = ()
    lower_bounds: tuple | None = None
    initial_guess: Callable | None = None
    admissible: Callable | None = None
    singular: Callable | None = None
    exact: Callable | None = None
    scales: tuple | None = None
    numeric: "FixedPointModel | None" = None
    symbols_doc: Mapping[str, str] = field(default_factory=dict)
    sample_ranges: Mapping[str, tuple] = field(default_factory=dict)
    regimes: Mapping[str, Mapping] = field(default_factory=dict)

    def __post_init__(self):
        if len(self.equations) != len(self.unknowns):
            raise ValueError(f"{self.name}: {len(self.equations)} equations for "
                             f"{len(self.unknowns)} unknowns")
        if self.numeric is not None:
            if self.numeric.parameter_names != self.parameter_names:
                raise ValueError(f"{self.name}: the numeric form must have the same parameters")
            missing = (set(self.unknown_names) | set(self.outputs)) - set(self.numeric.outputs)
            if missing:
                raise ValueError(f"{self.name}: the numeric form does not compute {', '.join(sorted(missing))}")

    # ------------------------------------------------------------------ symbolic views
    @property
    def parameter_names(self) -> tuple[str, ...]:
        return tuple(map(_key, self.parameters))

    @property
    def unknown_names(self) -> tuple[str, ...]:
        return tuple(map(_key, self.unknowns))

    @property
    def output_names(self) -> tuple[str, ...]:
        return tuple(self.outputs)

    def expanded_outputs(self) -> dict[str, sp.Expr]:
        """Outputs with references to earlier outputs substituted (expressions of unknowns,
        parameters and trace symbols only)."""
        done: dict[str, sp.Expr] = {}
        subs = {}
        for name, expr in self.outputs.items():
            full = sp.sympify(expr).xreplace(subs)
            done[name] = full
            subs[sp.Symbol(name)] = full
        return done

    def latex(self) -> str:
        """LaTeX of the fixed-point equations, the spectral sums and the outputs (align*)."""
        lines = []
        for eq in self.equations:
            lines.append(latex(eq) + " &= 0")
        i = sp.Symbol("i")
        for t in self.traces:
            summand = t.summand.xreplace({c: sp.Symbol(_COMPONENT_LATEX.get(c.name, f"{latex_name(c.name)}_{{i}}"))
                                          for c in self.components})
            lines.append(f"{latex_name(t.symbol.name)} &= \\sum_{{{sp.latex(i)}}} {latex(summand)}")
        for name, expr in self.outputs.items():
            if getattr(expr, "name", None) != name:  # an output that just exposes a spectral sum
                lines.append(f"{latex_name(name)} &= {latex(expr)}")
        return "\\begin{align*}\n" + " \\\\\n".join(lines) + "\n\\end{align*}"

    # ------------------------------------------------------------------ compilation
    def compiled(self, backend: str = "numpy") -> "_Compiled":
        """The numpy (``"numpy"``) or mpmath (``"mpmath"``) functions of this model (cached)."""
        return _compile(self, backend)


#: How the names used across the package are typeset (the papers' notation; one table for the
#: package, in :mod:`asymptotics._notation`).
LATEX_NAMES = LATEX_TABLE


_COMPONENT_LATEX = {"beta2": "\\beta_{i}^{2}"}


def latex(expr) -> str:
    """LaTeX of an expression with the package's symbol names typeset as in the papers.

    >>> print(latex(sp.Symbol("sigma2") * sp.Symbol("gamma") / (1 - sp.Symbol("gamma"))))
    \\frac{\\gamma \\sigma^{2}}{1 - \\gamma}
    """
    expr = sp.sympify(expr)
    names = {s: LATEX_NAMES[s.name] for s in expr.free_symbols if s.name in LATEX_NAMES}
    return sp.latex(expr, symbol_names=names)


def latex_name(name: str) -> str:
    """How a parameter or output name is typeset (``lam`` -> ``\\lambda``)."""
    return LATEX_NAMES.get(name) or sp.latex(sp.Symbol(name))


# ---------------------------------------------------------------------- compiled functions
class _Compiled:
    """The compiled functions of a model for one back end, each lambdified on first use (cached):

    * ``residual``, ``jacobian`` (``[dF_i/du_j] + [dF_i/dT_t]``, row major), ``resjac`` (both in one
      function), ``residual_err`` (their error bounds at exact unknowns, trace errors given),
      ``resjac_err`` (all of these at once);
    * ``outputs`` and ``outputs_err`` (the outputs followed by their error bounds, with the unknowns'
      and the traces' errors as arguments);
    * spectral sums: ``trace_f[t]``, ``trace_grad[t][j]`` (summand and gradient), and all of them in
      one function: ``traces_eq`` (the equations' traces and gradients), ``traces_all`` (values),
      ``traces_full`` (values, errors, gradients, their errors).

    ``eq_traces``, ``const_traces`` (index -> c for a constant summand: the sum is ``c N``),
    ``integer_traces`` (summed exactly), ``live`` and ``eq_live`` (non-constant traces) describe them.
    """

    _NAMES = ("residual", "jacobian", "resjac", "resjac_err", "outputs", "residual_err", "outputs_err",
              "traces_eq", "traces_all", "traces_full")

    def __init__(self, model, backend):
        self.model, self.backend = model, backend
        eqs = [sp.sympify(e) for e in model.equations]
        used = set().union(*(e.free_symbols for e in eqs)) if eqs else set()
        self.eq_traces = tuple(i for i, t in enumerate(model.traces) if t.symbol in used)
        self.const_traces = {i: float(t.summand) for i, t in enumerate(model.traces)
                             if sp.sympify(t.summand).is_Number}
        self.integer_traces = tuple(i for i, t in enumerate(model.traces) if _integer_valued(sp.sympify(t.summand)))
        self.count_traces = {i: j for i, j in ((i, _weighted_count(sp.sympify(t.summand), list(model.components)))
                                               for i, t in enumerate(model.traces)) if j is not None}
        live, eq_live = _expressions(model)["_live"]
        self.live, self.eq_live = tuple(live), tuple(eq_live)
        m, T = len(model.unknowns), len(model.traces)
        self.trace_f = _LazyList(lambda i: _lambdify(model, f"trace_f{i}", backend), T)
        self.trace_grad = _LazyList(lambda i: _LazyList(lambda j: _lambdify(model, f"trace_grad{i}_{j}", backend), m), T)
        self.trace_full = _LazyList(lambda i: _lambdify(model, f"trace_full{i}", backend), T)

    def __getattr__(self, name):
        if name in _Compiled._NAMES:
            f = _lambdify(self.model, name, self.backend)
            setattr(self, name, f)
            return f
        raise AttributeError(name)


class _LazyList:
    def __init__(self, make, n):
        self._make, self._items = make, [None] * n

    def __len__(self):
        return len(self._items)

    def __getitem__(self, i):
        if self._items[i] is None:
            self._items[i] = self._make(i)
        return self._items[i]


_CACHE: dict = {}


def _integer_valued(e) -> bool:
    """An integer, or a branch between integers (e.g. the indicator of ``s >= kappa``)."""
    if e.is_Integer:
        return True
    if isinstance(e, sp.Piecewise):
        return all(_integer_valued(ex) for ex, _ in e.args)
    return False


def _weighted_count(e, components) -> int | None:
    """The index of the component ``w`` if ``e`` is a branch between ``w`` and integers (e.g.
    ``m [xi >= kappa]``, a count of eigenvalues with multiplicities): its sum is exact where the
    values of ``w`` are integers whose total is below ``2^53`` (checked at run time)."""
    if not isinstance(e, sp.Piecewise):
        return None
    syms = {ex for ex, _ in e.args if not ex.is_Integer}
    if len(syms) != 1:
        return None
    (w,) = syms
    return components.index(w) if w in components else None


def _exact_weights(values, limit) -> bool:
    """Integer values (floats or mpmath numbers) whose total is below ``limit``: summed exactly."""
    if isinstance(values, np.ndarray) and values.dtype != object:
        w = values.astype(float)
        return bool(np.isfinite(w).all() and (w >= 0).all() and (w == np.floor(w)).all() and np.sum(w) < limit)
    try:
        return all(v >= 0 and v == int(v) for v in values) and sum(int(v) for v in values) < limit
    except (OverflowError, ValueError, TypeError):
        return False


def _mp_call(comp, name, args):
    """Call a compiled mpmath function; if the shared subexpressions divide by zero (they may hoist
    e.g. ``lam/kappa`` out of a branch taken only for ``kappa > 0``; mpmath raises where numpy gives
    inf), fall back to the same function compiled without them."""
    try:
        return getattr(comp, name)(*args)
    except ZeroDivisionError:
        key = (id(comp.model), "mpmath-nocse", name)
        f = _CACHE.get(key)
        if f is None:
            f = _compile_nocse(comp.model, name)
            _CACHE[key] = f
        try:
            return f(*args)
        except ZeroDivisionError:
            raise ValueError(f"{comp.model.name}: the error bound divides by zero in mpmath") from None


def _compile_nocse(model, name):
    return _lambdify(model, name, "mpmath", cse=False)


def _err_symbol(name: str) -> sp.Symbol:
    return sp.Symbol(f"_err_{name}", nonnegative=True)


def _expressions(model: FixedPointModel) -> dict:
    """The sympy expressions every back end compiles: name -> (argument symbols, expression list)."""
    key = (id(model), "expressions")
    hit = _CACHE.get(key)
    if hit is not None and hit[0] is model:
        return hit[1]
    tsyms = tuple(t.symbol for t in model.traces)
    args = tuple(model.unknowns) + tuple(model.parameters) + tsyms
    targs = tuple(model.unknowns) + tuple(model.parameters) + tuple(model.components)
    err_u = tuple(_err_symbol(u.name) for u in model.unknowns)
    err_t = tuple(_err_symbol(t.name) for t in tsyms)
    ue = (U_SYMBOL, ETA_SYMBOL)
    eqs = [sp.sympify(e) for e in model.equations]
    jd = [sp.diff(e, u) for e in eqs for u in model.unknowns]
    jt = [sp.diff(e, t) for e in eqs for t in tsyms]
    outs = list(model.expanded_outputs().values())
    terr = dict(zip(tsyms, err_t))
    oerr = dict(terr)
    oerr.update(zip(model.unknowns, err_u))
    ex = {
        "residual": (args, eqs),
        "jacobian": (args, jd + jt),
        "outputs": (args, outs),  # one function: subexpressions shared
        # rounding errors: of the residual and Jacobian at exact unknowns (trace errors given) ...
        "residual_err": (args + err_t + ue, [forward_error(e, terr) for e in eqs] +
                         [forward_error(e, terr) for e in jd + jt]),
        # residual and Jacobian in one function (shared subexpressions), and with their errors
        "resjac": (args, eqs + jd + jt),
        "resjac_err": (args + err_t + ue, eqs + jd + jt + [forward_error(e, terr) for e in eqs] +
                       [forward_error(e, terr) for e in jd + jt]),
        # ... and of the outputs with the unknowns' errors propagated
        "outputs_err": (args + err_u + err_t + ue, outs + [forward_error(e, oerr) for e in outs]),
    }
    # all spectral sums in one function (the summands share subexpressions such as s/(s + kappa)):
    # Newton's traces with their gradients, all values, and all values with gradients and errors
    live = [i for i, t in enumerate(model.traces) if not sp.sympify(t.summand).is_Number]
    used = set().union(*(e.free_symbols for e in eqs)) if eqs else set()
    eq_live = [i for i in live if model.traces[i].symbol in used]
    g_all = {i: [sp.diff(model.traces[i].summand, u) for u in model.unknowns] for i in live}
    ex["traces_eq"] = (targs, [v for i in eq_live for v in [model.traces[i].summand] + g_all[i]] or [0])
    ex["traces_all"] = (targs, [model.traces[i].summand for i in live] or [0])
    ex["traces_full"] = (targs + ue, [v for i in live for v in
                                      [model.traces[i].summand, forward_error(model.traces[i].summand)]
                                      + g_all[i] + [forward_error(g) for g in g_all[i]]] or [0])
    ex["_live"] = (live, eq_live)
    for i, t in enumerate(model.traces):
        grads = [sp.diff(t.summand, u) for u in model.unknowns]
        ex[f"trace_f{i}"] = (targs, t.summand)
        for j, g in enumerate(grads):
            ex[f"trace_grad{i}_{j}"] = (targs, g)
        ex[f"trace_full{i}"] = (targs + ue, [t.summand, forward_error(t.summand)] + grads +
                                [forward_error(g) for g in grads])
    _CACHE[key] = (model, ex)
    return ex


def _lambdify(model, name, backend, cse=True):
    a, e = _expressions(model)[name]
    modules = [NUMPY_FUNCTIONS, "numpy"] if backend == "numpy" else [MPMATH_FUNCTIONS, "mpmath"]
    return sp.lambdify(a, e, modules=modules, cse=cse)


def _compile(model: FixedPointModel, backend: str) -> _Compiled:
    # Compiled functions are a pure function of the (immutable) model; cached by identity.
    key = (id(model), backend)
    hit = _CACHE.get(key)
    if hit is not None and hit.model is model:
        return hit
    out = _Compiled(model, backend)
    _CACHE[key] = out
    return out


# ---------------------------------------------------------------------- the solution object
@dataclass(frozen=True)
class Solution:
    """The solved model on a parameter grid.

    Attributes are the parameters, unknowns and outputs by name (``sol.risk``, ``sol.kappa``,
    ``sol.gamma``), all broadcast to ``shape``; 0-d results are returned as Python floats (or mpmath
    numbers at high precision). ``converged`` is true where the point was solved (or is an exact
    singular point); with ``errors="mask"`` the other points are masked in the outputs.

    Attributes:
        model: the model's name.
        shape: the broadcast shape of the parameter grid.
        params, unknowns, outputs: dicts of arrays.
        converged: boolean array; iterations: Newton iterations per point.
        precision: ``None`` for double precision, else the mpmath digits used.
        accuracy: output (and unknown) name -> float array of estimated relative errors (``0`` at
            exact points; at masked points the estimate that failed, or ``inf``).
        status: object array of strings per point: ``"ok"``, ``"exact"`` (set by the model's
            singular rule), ``"re-solved at P digits"``, or the reason a point is masked
            (``"did not converge"``, ``"non-physical branch"``, ``"accuracy ... worse than the
            bound ..."``).
        bound: the accuracy bound the points were held to.
        source: the model's source, for metadata.
    """

    model: str
    shape: tuple
    params: dict
    unknowns: dict
    outputs: dict
    converged: np.ndarray
    iterations: np.ndarray
    precision: int | None = None
    tol: float = DEFAULT_TOL
    source: str = ""
    accuracy: dict = field(default_factory=dict)
    status: np.ndarray | None = None
    bound: float = DEFAULT_ACCURACY

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        for group in ("outputs", "unknowns", "params"):
            d = object.__getattribute__(self, group)
            if name in d:
                v = d[name]
                return as_output(v)
        raise AttributeError(name)

    def __getitem__(self, name):
        return self.__getattr__(name)

    @property
    def rel_accuracy(self):
        """The estimated relative error of the risk (of the largest over the outputs for a model
        without a ``risk`` output), per point."""
        acc = self.accuracy
        if "risk" in acc:
            return as_output(acc["risk"])
        if not acc:
            return as_output(np.zeros(self.shape))
        return as_output(np.max(np.stack([np.asarray(v, dtype=float) for v in acc.values()]), axis=0))

    def records(self, include_unknowns: bool = True) -> list[dict]:
        """Flat dicts, one per grid point (C order): parameters, unknowns, outputs, ``rel_accuracy``
        (float) and ``status`` (str). At masked points the unknowns and outputs are ``None``."""
        n = int(np.prod(self.shape))
        ok = np.broadcast_to(np.asarray(self.converged, dtype=bool), self.shape).ravel()
        values = [self.unknowns] if include_unknowns else []
        values.append(self.outputs)
        mp = self.precision is not None
        flat_p = {k: np.broadcast_to(np.asarray(v, dtype=object if mp else float), self.shape).ravel()
                  for k, v in self.params.items()}
        flat_v = {k: np.broadcast_to(np.asarray(np.ma.getdata(v), dtype=object if mp else float),
                                     self.shape).ravel() for g in values for k, v in g.items()}
        acc = np.broadcast_to(np.asarray(self.rel_accuracy, dtype=float), self.shape).ravel()
        status = (np.broadcast_to(self.status, self.shape).ravel() if self.status is not None
                  else np.where(ok, "ok", "did not converge"))
        conv = (lambda v: v) if mp else float
        out = []
        for i in range(n):
            rec = {k: conv(v[i]) for k, v in flat_p.items()}
            rec.update({k: (conv(v[i]) if ok[i] else None) for k, v in flat_v.items()})
            rec["rel_accuracy"] = float(acc[i])
            rec["status"] = str(status[i])
            out.append(rec)
        return out


# ---------------------------------------------------------------------- the numpy solver
def _blocks(P: int, N: int):
    """(point slice, component slice) blocks of at most about CHUNK elements."""
    cb = min(N, max(256, CHUNK // max(P, 1)))
    pb = max(1, CHUNK // cb)
    for i in range(0, P, pb):
        for j in range(0, N, cb):
            yield slice(i, min(P, i + pb)), slice(j, min(N, j + cb))


def _traces_numpy(comp: _Compiled, x: np.ndarray, p: list, spectrum: list, which=None, grads=True):
    """Values (P, T) and gradients (P, T, m) of the traces at unknowns x (P, m): with ``which`` given
    (Newton's method: the traces the equations use) those with gradients, else all values
    (``grads=False``) -- summed in blocks (memory O(points + components)); the others stay 0."""
    P, m = x.shape
    T = len(comp.trace_f)
    vals = np.zeros((P, T))
    grad = np.zeros((P, T, m))
    if T == 0 or P == 0:
        return vals, grad
    N = spectrum[0].size
    eq = which is not None
    idx = comp.eq_live if eq else comp.live
    fn = comp.traces_eq if eq else comp.traces_all
    step = 1 + m if eq else 1
    if idx:
        with np.errstate(all="ignore"):
            for ps, cs in _blocks(P, N):
                targs = [x[ps, j:j + 1] for j in range(m)] + [pi[ps, None] for pi in p] + \
                        [c[None, cs] for c in spectrum]
                shp = (ps.stop - ps.start, cs.stop - cs.start)
                res = fn(*targs)
                for k, t in enumerate(idx):
                    vals[ps, t] += np.sum(np.broadcast_to(res[step * k], shp), axis=1)
                    if eq:
                        for j in range(m):
                            g = res[step * k + 1 + j]
                            if not (np.isscalar(g) and g == 0):
                                grad[ps, t, j] += np.sum(np.broadcast_to(g, shp), axis=1)
    for t, c in comp.const_traces.items():
        vals[:, t] = c * N
    return vals, grad


def _traces_with_errors(comp: _Compiled, x: np.ndarray, p: list, spectrum: list):
    """Traces, their rounding-error bounds, gradients and the gradients' error bounds (all (P, T)
    or (P, T, m)): each summand's own error plus the summation's (pairwise within a block,
    sequential across blocks)."""
    P, m = x.shape
    T = len(comp.trace_f)
    vals = np.zeros((P, T))
    errs = np.zeros((P, T))
    grad = np.zeros((P, T, m))
    gerr = np.zeros((P, T, m))
    if T == 0 or P == 0:
        return vals, errs, grad, gerr
    N = spectrum[0].size
    nblocks = 0
    absv = np.zeros((P, T))
    absg = np.zeros((P, T, m))
    step = 2 + 2 * m

    def add(target, ps, t, v, shp, j=None, absolute=None):
        if np.isscalar(v) and v == 0:
            return
        b = np.broadcast_to(v, shp)
        if j is None:
            target[ps, t] += np.sum(b, axis=1)
            if absolute is not None:
                absolute[ps, t] += np.sum(np.abs(b), axis=1)
        else:
            target[ps, t, j] += np.sum(b, axis=1)
            if absolute is not None:
                absolute[ps, t, j] += np.sum(np.abs(b), axis=1)

    if comp.live:
        with np.errstate(all="ignore"):
            for ps, cs in _blocks(P, N):
                if ps.start == 0:
                    nblocks += 1
                targs = [x[ps, j:j + 1] for j in range(m)] + [pi[ps, None] for pi in p] + \
                        [c[None, cs] for c in spectrum] + [U_DOUBLE, ETA_DOUBLE]
                shp = (ps.stop - ps.start, cs.stop - cs.start)
                res = comp.traces_full(*targs)
                for k, t in enumerate(comp.live):
                    r = res[step * k: step * (k + 1)]
                    add(vals, ps, t, r[0], shp, absolute=absv)
                    add(errs, ps, t, r[1], shp)
                    for j in range(m):
                        add(grad, ps, t, r[2 + j], shp, j=j, absolute=absg)
                        add(gerr, ps, t, r[2 + m + j], shp, j=j)
    cb = min(N, max(256, CHUNK // max(P, 1)))
    gamma = (2 * math.ceil(math.log2(max(cb, 2))) + 16 + nblocks) * U_DOUBLE
    errs += gamma * absv + N * ETA_DOUBLE
    gerr += gamma * absg + N * ETA_DOUBLE
    if N < 2 ** 53:
        for t in comp.integer_traces:  # a count (integers summed exactly)
            errs[:, t] = 0.0
            gerr[:, t] = 0.0
    for t, j in comp.count_traces.items():  # a count with integer weights (e.g. multiplicities)
        if _exact_weights(spectrum[j], 2 ** 53):
            errs[:, t] = 0.0
            gerr[:, t] = 0.0
    for t, c in comp.const_traces.items():  # a count: exact
        vals[:, t] = c * N
        errs[:, t] = 0.0 if abs(c * N) < 2 ** 53 and float(c).is_integer() else U_DOUBLE * abs(c * N)
        grad[:, t] = 0.0
        gerr[:, t] = 0.0
    return vals, errs, grad, gerr


def _stack(values, P):
    return np.stack([np.broadcast_to(np.asarray(v, dtype=float), (P,)) for v in values], axis=-1) \
        if len(values) else np.empty((P, 0))


def _residual_and_jacobian(comp: _Compiled, x, p, spectrum):
    P, m = x.shape
    tv, tg = _traces_numpy(comp, x, p, spectrum, which=comp.eq_traces)
    args = [x[:, j] for j in range(m)] + list(p) + [tv[:, t] for t in range(tv.shape[1])]
    with np.errstate(all="ignore"):
        both = _stack(comp.resjac(*args), P)
    F, jac = both[:, :m], both[:, m:]
    J = jac[:, :m * m].reshape(P, m, m)
    if tv.shape[1]:
        dFdT = jac[:, m * m:].reshape(P, m, tv.shape[1])
        J = J + np.einsum("pit,ptj->pij", dFdT, tg)
    return F, J


def _newton_step(F, J):
    """Solve J dx = -F for each point; points with a singular Jacobian get NaN steps."""
    P, m = F.shape
    if m == 1:
        with np.errstate(all="ignore"):
            return np.where(F == 0, 0.0, -F / J[:, :, 0])  # an exact root needs no step
    dx = np.full_like(F, np.nan)
    ok = np.isfinite(J).all(axis=(1, 2)) & np.isfinite(F).all(axis=1)
    with np.errstate(all="ignore"):
        cond = np.full(P, np.inf)
        if ok.any():
            cond[ok] = np.linalg.cond(J[ok])
    good = ok & (cond < 1e14)
    if good.any():
        dx[good] = np.linalg.solve(J[good], -F[good][..., None])[..., 0]
    dx[(F == 0).all(axis=1)] = 0.0  # an exact root needs no step
    return dx


def _norm(F):
    if F.shape[-1] == 1:
        return np.abs(F[..., 0])
    with np.errstate(over="ignore"):
        return np.sqrt(np.sum(F * F, axis=-1))


def _take(a, idx):
    """``a[idx]``, without a copy when ``idx`` is ``None`` (everything)."""
    return a if idx is None else a[idx]


def _put(a, idx, v):
    if idx is None:
        a[...] = v
    else:
        a[idx] = v


def _residual_error(comp, x, p, spectrum):
    """(F, J, err_F, err_J, traces, trace errors, trace gradients) at x: the residual, the Jacobian
    and bounds on their rounding errors (spectral sums included)."""
    P, m = x.shape
    tv, te, tg, tge = _traces_with_errors(comp, x, p, spectrum)
    T = tv.shape[1]
    args = [x[:, j] for j in range(m)] + list(p) + [tv[:, t] for t in range(T)]
    nj = m * m + m * T
    with np.errstate(all="ignore"):
        allv = _stack(comp.resjac_err(*(args + [te[:, t] for t in range(T)] + [U_DOUBLE, ETA_DOUBLE])), P)
    F, jac, errs = allv[:, :m], allv[:, m:m + nj], allv[:, m + nj:]
    eF = errs[:, :m]
    eJ = errs[:, m:m + m * m].reshape(P, m, m)
    J = jac[:, :m * m].reshape(P, m, m)
    if T:
        dFdT = jac[:, m * m:].reshape(P, m, T)
        edFdT = errs[:, m + m * m:].reshape(P, m, T)
        J = J + np.einsum("pit,ptj->pij", dFdT, tg)
        eJ = eJ + np.einsum("pit,ptj->pij", np.abs(dFdT), tge) + np.einsum("pit,ptj->pij", edFdT, np.abs(tg))
    return F, J, eF, eJ, tv, te, tg


def _newton(comp, x0, p, spectrum, lower, scales, tol, max_iter):
    """Vectorized damped Newton. Returns x, converged mask, iteration counts, final residual.

    Index arrays are ``None`` while every point is still iterating (the common case), so a grid whose
    points converge together is processed without copies. A point also converges when its step is
    tiny and the residual no longer decreases while it is at the level of its own rounding error
    (the root is then known as well as double precision allows; the accuracy estimate says how
    well).
    """
    P, m = x0.shape
    x = x0.copy()
    floor = np.broadcast_to(scales * tol, x0.shape)
    converged = np.zeros(P, dtype=bool)
    failed = np.zeros(P, dtype=bool)
    iters = np.zeros(P, dtype=int)
    eps4 = 4 * np.finfo(float).eps
    F, J = _residual_and_jacobian(comp, x, p, spectrum)
    for _ in range(max_iter):
        active = ~(converged | failed)
        if not active.any():
            break
        idx = None if active.all() else np.nonzero(active)[0]
        dx = _newton_step(_take(F, idx), _take(J, idx))
        bad = ~np.isfinite(dx).all(axis=1)
        if bad.any():
            idx = np.arange(P) if idx is None else idx
            failed[idx[bad]] = True
            idx, dx = idx[~bad], dx[~bad]
            if idx.size == 0:
                continue
        xa, f0 = _take(x, idx), _norm(_take(F, idx))
        pa = [_take(q, idx) for q in p]
        sa = scales  # per unknown, the same at every point
        size = xa.shape[0]
        t = np.ones(size)
        xn, Fn, Jn = np.empty_like(xa), np.empty((size, m)), np.empty((size, m, m))
        pending = np.ones(size, dtype=bool)
        # near the root (relative Newton step below 1e-6) the full step is taken: there the Armijo
        # test only compares round-off
        near = (np.abs(dx) <= 1e-6 * (np.abs(xa) + sa)).all(axis=1)
        for _halving in range(40):
            sub = None if pending.all() else np.nonzero(pending)[0]
            x_old = _take(xa, sub)
            trial = x_old + _take(t, sub)[:, None] * _take(dx, sub)
            if lower is not None:
                # never onto the bound in one step (it may be a spurious root, e.g. kappa = 0 at
                # lam = 0, and a root far below the iterate is lost to the rounding of x + dx):
                # at most a factor 1000 closer; roots further down are bracketed (_log_bracket)
                trial = np.where(x_old > lower, np.maximum(trial, lower + 1e-3 * (x_old - lower)),
                                 np.maximum(trial, lower))
            Ft, Jt = _residual_and_jacobian(comp, trial, [_take(q, sub) for q in pa], spectrum)
            ft = _norm(Ft)
            acc = np.isfinite(ft) & np.isfinite(Jt).all(axis=(1, 2)) & (
                (ft <= (1 - 1e-4 * _take(t, sub)) * _take(f0, sub) + 1e-300) | _take(near, sub)
                | (np.abs(trial - x_old) <= eps4 * np.abs(x_old)).all(axis=1))
            if sub is None and acc.all():
                xn, Fn, Jn = trial, Ft, Jt
                pending[:] = False
                break
            sel = np.nonzero(acc)[0] if sub is None else sub[acc]
            xn[sel], Fn[sel], Jn[sel] = trial[acc], Ft[acc], Jt[acc]
            pending[sel] = False
            if not pending.any():
                break
            t[np.nonzero(pending)[0]] *= 0.5
        if pending.any():
            idx = np.arange(P) if idx is None else idx
            failed[idx[pending]] = True
            ok = ~pending
            idx, xa, xn, Fn, Jn, near, f0 = idx[ok], xa[ok], xn[ok], Fn[ok], Jn[ok], near[ok], f0[ok]
        # relative step test (absolute below an unknown's scale); a root on a bound is reached when
        # the projection puts the iterate on it, or else recognized afterwards by _snap_to_bounds.
        # (Computed before x is updated: xa may be a view.)
        small = (np.abs(xn - xa) <= tol * np.abs(xn) + _take(floor, idx)).all(axis=1)
        if lower is not None:
            # an iterate stuck in the subnormal numbers above a bound has not converged: the root
            # is the bound itself (recognized by _snap_to_bounds) or needs the re-solve
            small &= ~((xn > lower) & (xn - lower < TINY)).any(axis=1)
        # stagnation at round-off: a tiny step that no longer halves the residual
        stall = near & ~small & (_norm(Fn) > 0.5 * f0)
        if stall.any():
            sidx = np.nonzero(stall)[0]
            gi = sidx if idx is None else idx[sidx]
            _, _, eF, _, _, _, _ = _residual_error(comp, xn[sidx], [q[gi] for q in p], spectrum)
            at_roundoff = (np.abs(Fn[sidx]) <= 16 * eF).all(axis=1)
            small[sidx[at_roundoff]] = True
        _put(x, idx, xn)
        _put(F, idx, Fn)
        _put(J, idx, Jn)
        _put(iters, idx, _take(iters, idx) + 1)
        _put(converged, idx, _take(converged, idx) | small)
    return x, converged, iters, F


def _is_mp(v) -> bool:
    return isinstance(v, (mpmath.mpf, mpmath.mpc)) or (
        isinstance(v, np.ndarray) and v.dtype == object and any(isinstance(e, mpmath.mpf) for e in v.flat))


def _broadcast_params(model: FixedPointModel, params: Mapping):
    missing = [k for k in model.parameter_names if k not in params]
    if missing:
        raise ValueError(f"{model.name}: missing parameter(s) {', '.join(missing)}")
    extra = [k for k in params if k not in model.parameter_names]
    if extra:
        raise ValueError(f"{model.name}: unknown parameter(s) {', '.join(extra)}; "
                         f"expected {', '.join(model.parameter_names)}")
    raw = {k: params[k] for k in model.parameter_names}
    objs = {k: (np.asarray(v, dtype=object) if _is_mp(v) or (isinstance(v, (list, tuple)) and
                                                           any(isinstance(e, mpmath.mpf) for e in np.ravel(np.asarray(v, dtype=object))))
                else None) for k, v in raw.items()}
    arrays = [np.asarray(raw[k], dtype=float) if objs[k] is None else
              np.vectorize(float, otypes=[float])(objs[k]) if objs[k].size else np.asarray(objs[k], dtype=float)
              for k in model.parameter_names]
    try:
        shape = np.broadcast_shapes(*(a.shape for a in arrays))
    except ValueError:
        raise ValueError(f"{model.name}: parameter shapes do not broadcast: " +
                         ", ".join(f"{k}{a.shape}" for k, a in zip(model.parameter_names, arrays))) from None
    mp = {k: np.broadcast_to(o, shape) for k, o in objs.items() if o is not None}
    return shape, {k: np.broadcast_to(a, shape) for k, a in zip(model.parameter_names, arrays)}, mp


def keep_mp(value, checked, precision):
    """For a model's public function: the validated float array ``checked``, or, when ``precision``
    is given and ``value`` holds mpmath numbers, those numbers as an object array (so that they enter
    the mpmath solve at their full precision)."""
    if precision is not None and _is_mp(value if not isinstance(value, (list, tuple)) else
                                        np.asarray(value, dtype=object)):
        return np.asarray(value, dtype=object)
    return checked


def _describe(model, flatp, i):
    return ", ".join(f"{k}={flatp[k][i]:.6g}" for k in model.parameter_names)


def _spectrum_arrays(model, spectrum):
    comp_syms = [c.name for c in model.components]
    if not model.components:
        return [], []
    if spectrum is None:
        raise ValueError(f"{model.name}: needs a spectrum with {', '.join(comp_syms)}")
    spec, spec_mp = [], []
    for k in comp_syms:
        v = spectrum[k]
        if _is_mp(v) or (isinstance(v, (list, tuple)) and any(isinstance(e, mpmath.mpf) for e in v)):
            o = np.asarray(v, dtype=object).ravel()
            spec_mp.append(list(o))
            spec.append(np.array([float(e) for e in o]))
        else:
            a = np.asarray(v, dtype=float)
            spec.append(a)
            spec_mp.append(None)
    return spec, spec_mp


#: the smallest normal double: a relative accuracy is |error| / max(|value|, TINY), so that a value
#: below the normal range (or 0 from underflow) counts as accurate when its error is at the level of
#: the format's own resolution there
TINY = 2.0 ** -1022


def _rel(err, val):
    """Relative error from an absolute bound, ``err / max(|val|, TINY)`` (0 where err is 0)."""
    with np.errstate(all="ignore"):
        a = np.maximum(np.abs(val), TINY)
        r = np.where(err == 0, 0.0, err / a)
        r = np.where(np.isnan(r), np.inf, r)
    return r


def _accuracy_numpy(comp, x, plist, spec, dx_exact):
    """Outputs, their absolute error bounds, unknowns' error bounds, traces at x (the accuracy
    contract, parts (a)-(c)); ``dx_exact`` marks points whose unknowns are exact."""
    P, m = x.shape
    F, J, eF, eJ, tv, te, tg = _residual_error(comp, x, plist, spec)
    with np.errstate(all="ignore"):
        num = np.abs(F) + eF
        if m == 1:
            den = np.abs(J[:, 0, 0]) - eJ[:, 0, 0]
            dx = np.where(num[:, 0] == 0, 0.0, 2 * num[:, 0] / np.where(den > 0, den, 0.0))[:, None]
        else:
            dx = np.full((P, m), np.inf)
            ok = np.isfinite(J).all(axis=(1, 2))
            if ok.any():
                try:
                    inv = np.linalg.inv(J[ok])
                    dx[ok] = 2 * np.einsum("pij,pj->pi", np.abs(inv), num[ok])
                except np.linalg.LinAlgError:
                    pass
        dx = np.where(np.isnan(dx), np.inf, dx)
        dx[dx_exact] = 0.0
        T = tv.shape[1]
        tot_te = te + (np.einsum("ptj,pj->pt", np.abs(tg), dx) if T else 0.0)
        args = [x[:, j] for j in range(m)] + list(plist) + [tv[:, t] for t in range(T)]
        res = comp.outputs_err(*(args + [dx[:, j] for j in range(m)] + [tot_te[:, t] for t in range(T)]
                                 + [U_DOUBLE, ETA_DOUBLE]))
    k = len(comp.model.outputs)
    outs = [np.broadcast_to(np.asarray(v, dtype=float), (P,)).copy() for v in res[:k]]
    oerr = [np.broadcast_to(np.asarray(v, dtype=float), (P,)).copy() for v in res[k:]]
    return F, eF, dx, outs, oerr, tv


def solve(model: FixedPointModel, params: Mapping, *, spectrum: Mapping | None = None,
          tol: float = DEFAULT_TOL, max_iter: int = 200, errors: str = "raise",
          precision: int | None = None, accuracy: float = DEFAULT_ACCURACY,
          resolve: bool = True) -> Solution:
    """Solve ``model`` on the broadcast grid of ``params``.

    Args:
        model: the fixed-point model.
        params: parameter name -> scalar or array; all are broadcast together (a whole grid in one
            call). Validation of ranges is the model module's job; this function assumes valid input.
            Values may be mpmath numbers (or object arrays of them): the ``precision`` path and the
            automatic re-solve then use them at full precision.
        spectrum: component name -> 1-d array (floats or mpmath numbers), for models with traces.
        tol: relative step tolerance of Newton's method (double precision path).
        max_iter: Newton iterations at most.
        errors: ``"raise"`` (default): raise :class:`ConvergenceError` listing the points that could
            not be solved to the accuracy bound; ``"mask"``: return masked arrays there (the other
            points are always kept).
        precision: if given (15 to 10000), re-solve every point in mpmath at this many significant
            digits; the outputs are then mpmath numbers (object arrays).
        accuracy: the bound on the estimated relative error of every output (module docstring).
        resolve: re-solve points whose estimate exceeds ``accuracy`` in mpmath (default); if
            ``False`` they are masked or raise.

    Returns:
        A :class:`Solution`.
    """
    if errors not in ("raise", "mask"):
        raise ValueError(f"errors must be 'raise' or 'mask', got {errors!r}")
    if precision is not None:
        check_int("precision", precision, low=15, high=10000)
    tol = float(check_real("tol", tol, low=0.0, high=0.1, low_open=True))
    # in double precision the rounding of the result alone is up to 1.1e-16
    accuracy = float(check_real("accuracy", accuracy, low=1e-15 if precision is None else 0.0,
                                high=1.0, low_open=precision is not None))
    if not isinstance(resolve, (bool, np.bool_)):
        raise ValueError(f"resolve must be True or False, got {resolve!r}")
    max_iter = check_int("max_iter", max_iter, low=0)
    if model.numeric is not None:
        sol = solve(model.numeric, params, spectrum=spectrum, tol=tol, max_iter=max_iter, errors=errors,
                    precision=precision, accuracy=accuracy, resolve=resolve)
        return _relabel(model, sol)
    shape, bp, mp_params = _broadcast_params(model, params)
    P = int(np.prod(shape)) if shape else 1
    flatp = {k: np.ascontiguousarray(v).reshape(P) for k, v in bp.items()}
    flatmp = {k: np.asarray(v).reshape(P) for k, v in mp_params.items()}
    plist = [flatp[k] for k in model.parameter_names]
    comp_syms = [c.name for c in model.components]
    spec, spec_mp = _spectrum_arrays(model, spectrum)
    m = len(model.unknowns)
    comp = model.compiled("numpy")
    spec_dict = dict(zip(comp_syms, spec))

    sing = np.zeros(P, dtype=bool)
    sing_values: dict = {}
    if model.singular is not None:
        sing, sing_values = model.singular(flatp, spec_dict)
        sing = np.broadcast_to(np.asarray(sing, dtype=bool), (P,)).copy()
        missing = (set(model.unknown_names) | set(model.outputs)) - set(sing_values)
        if missing:
            raise TypeError(f"{model.name}: the singular rule must give every unknown and output; "
                            f"missing {', '.join(sorted(missing))}")
    exact = np.zeros(P, dtype=bool)
    x = np.zeros((P, m))
    if model.exact is not None:
        emask, evals = model.exact(flatp, spec_dict)
        exact = np.broadcast_to(np.asarray(emask, dtype=bool), (P,)) & ~sing
        for j, k in enumerate(model.unknown_names):
            x[exact, j] = np.broadcast_to(np.asarray(evals[k], dtype=float), (P,))[exact]

    conv = sing | exact
    iters = np.zeros(P, dtype=int)
    todo = np.nonzero(~conv)[0]
    bad_start = np.zeros(P, dtype=bool)   # initial guesses beyond the double range
    lower = None if model.lower_bounds is None else np.array(
        [(-np.inf if b is None else b) for b in model.lower_bounds], dtype=float)
    scales = np.zeros(m) if model.scales is None else np.asarray(model.scales, dtype=float)
    if todo.size:
        sub = {k: v[todo] for k, v in flatp.items()}
        with np.errstate(over="ignore"):  # an overflowing guess is not finite: see the precision path
            if model.components:
                guess = model.initial_guess(spectrum=spec_dict, **sub)
            else:
                guess = model.initial_guess(**sub)
        x0 = np.stack([np.broadcast_to(np.asarray(g, dtype=float), (todo.size,)) for g in guess], axis=1)
        bad_start[todo] = ~np.isfinite(x0).all(axis=1)
        pt = [q[todo] for q in plist]
        first = min(max_iter, 40)
        xs, cs, its, F = _newton(comp, x0, pt, spec, lower, scales, tol, first)
        if m == 1 and max_iter > first and not cs.all():
            # Newton only halves its distance to a root many orders of magnitude below the start
            # (where the residual behaves like x^2 - c): bracket such roots in log scale and restart
            sub = np.nonzero(~cs)[0]
            xb = _log_bracket(comp, xs[sub], [q[sub] for q in pt], spec,
                              0.0 if lower is None else lower[0])
            xs2, cs2, its2, _ = _newton(comp, xb, [q[sub] for q in pt], spec, lower, scales, tol,
                                        max_iter - first)
            xs[sub], cs[sub], its[sub] = xs2, cs2, its[sub] + its2
        x[todo], conv[todo], iters[todo] = xs, cs, its
        if lower is not None:
            _snap_to_bounds(comp, x, conv, todo, x0, plist, spec, lower)

    # the accuracy contract at every point that is not singular
    live = np.nonzero(~sing)[0]
    outs = {k: np.zeros(P) for k in model.outputs}
    oacc = {k: np.zeros(P) for k in list(model.unknown_names) + list(model.outputs)}
    tvals = np.zeros((P, len(model.traces)))
    resid = np.zeros(P)
    if live.size:
        Fl, eFl, dxl, ol, el, tvl = _accuracy_numpy(comp, x[live], [q[live] for q in plist], spec,
                                                    exact[live])
        resid[live] = _norm(Fl)
        tvals[live] = tvl
        for k, v, e in zip(model.outputs, ol, el):
            outs[k][live] = v
            oacc[k][live] = _rel(e, v)
        for j, k in enumerate(model.unknown_names):  # relative to |x| + the unknown's scale
            oacc[k][live] = _rel(dxl[:, j], np.abs(x[live, j]) + scales[j])
        # a tiny Newton step must come with a residual near the level of its rounding error
        bad_res = ~(np.isfinite(Fl).all(axis=1) & (np.abs(Fl) <= 1e8 * eFl).all(axis=1))
        conv[live[bad_res & ~exact[live]]] = False
    unknowns = {k: x[:, j].copy() for j, k in enumerate(model.unknown_names)}
    wrong_branch = np.zeros(P, dtype=bool)
    if model.admissible is not None:
        adm = np.broadcast_to(np.asarray(model.admissible(
            flatp, unknowns, {t.symbol.name: tvals[:, i] for i, t in enumerate(model.traces)}),
            dtype=bool), (P,))
        wrong_branch = conv & ~sing & ~adm
        conv &= ~wrong_branch | sing
    for k, v in sing_values.items():
        target = outs if k in outs else unknowns
        if k in target:
            target[k][sing] = np.broadcast_to(np.asarray(v, dtype=float), (P,))[sing]
    for k in oacc:
        oacc[k][sing] = 0.0
    status = np.full(P, "ok", dtype=object)
    status[sing] = "exact"
    status[~conv] = "did not converge"
    status[wrong_branch] = "non-physical branch"
    nan_bug = conv & ~sing & ~np.all([~np.isnan(v) for v in outs.values()], axis=0) if outs else np.zeros(P, bool)
    if nan_bug.any():
        if errors == "raise":
            i = int(np.nonzero(nan_bug)[0][0])
            raise ConvergenceError(f"{model.name}: an output is NaN at a solved point "
                                   f"({_describe(model, flatp, i)}); this is a bug, please report it")
        conv &= ~nan_bug
        status[nan_bug] = "an output is NaN at a solved point (a bug: please report it)"
    worst = np.max(np.stack(list(oacc.values())), axis=0) if oacc else np.zeros(P)
    worst = np.where(np.isnan(worst), np.inf, worst)

    if precision is None:
        # accuracy contract: re-solve (or reject) the points whose estimate exceeds the bound
        over = conv & ~sing & (worst > accuracy)
        # not converged, or converged onto the non-physical branch (e.g. a root among subnormals):
        # re-solved in mpmath, from the model's own start where the double iterate is not usable
        rescue = ~conv & ~sing & ~nan_bug & resolve
        for i in np.nonzero(over | rescue)[0]:
            fresh = bool(wrong_branch[i] or bad_start[i] or not np.isfinite(x[i]).all())
            est = worst[i]
            if not resolve:
                status[i] = f"accuracy {est:.2g} worse than the bound {accuracy:g}; re-solve disabled"
                conv[i] = False
                continue
            digits = _resolve_digits(est, accuracy)
            ok, msg = False, ""
            for attempt in range(3):
                try:
                    pt = _point(model, flatp, flatmp, i)
                    start = _mp_guess(model, pt, spec, spec_mp, digits) if fresh else x[i]
                    u_mp, o_mp, a_mp = _mp_point(model, pt, start, spec, spec_mp, digits,
                                                 exact_start=bool(exact[i]))
                except (ValueError, ZeroDivisionError) as e:
                    msg = str(e)
                    if digits >= MAX_RESOLVE_DIGITS:
                        break
                    digits = min(MAX_RESOLVE_DIGITS, 2 * digits)
                    continue
                a_d = _to_double_accuracy(a_mp, {**u_mp, **o_mp})  # + the rounding to double
                w = max(a_d.values()) if a_d else 0.0
                if w <= accuracy:
                    ok = True
                    break
                msg = f"accuracy {w:.2g} at {digits} digits"
                if digits >= MAX_RESOLVE_DIGITS:
                    break
                more = 2 * digits if not np.isfinite(w) or w >= 1 else digits + math.ceil(math.log10(w / accuracy)) + 10
                digits = int(min(MAX_RESOLVE_DIGITS, more))
            if ok and model.admissible is not None:
                uf = {k: np.array([float(v)]) for k, v in u_mp.items()}
                adm = model.admissible({k: flatp[k][i:i + 1] for k in flatp}, uf,
                                       _traces_at(model, comp, uf, flatp, i, spec))
                if not bool(np.asarray(adm).ravel()[0]):
                    ok, msg = False, "the re-solved root is on a non-physical branch"
            if ok:
                for j, k in enumerate(model.unknown_names):
                    unknowns[k][i] = float(u_mp[k])
                    x[i, j] = float(u_mp[k])
                for k in outs:
                    outs[k][i] = float(o_mp[k])
                for k in oacc:
                    oacc[k][i] = a_d.get(k, 0.0)
                status[i] = f"re-solved at {digits} digits"
                conv[i] = True
            elif over[i]:
                status[i] = (f"accuracy {est:.2g} worse than the bound {accuracy:g}; re-solve failed"
                             + (f" ({msg})" if msg else ""))
                conv[i] = False

    mp_starts: dict = {}
    if precision is not None:
        # the precision path starts from the double-precision root; where double precision did not
        # converge (e.g. a root near the smallest subnormal) Newton's method in mpmath may still find
        # and verify one from the last iterate (it raises ValueError if it cannot)
        off_range = bad_start | ~np.isfinite(x).all(axis=1)   # beyond the double range
        for i in np.nonzero(~conv & ~sing & ~nan_bug)[0]:
            pt = _point(model, flatp, flatmp, i)
            fresh = off_range[i] or wrong_branch[i]   # the double iterate is not a usable start
            start = _mp_guess(model, pt, spec, spec_mp, precision + 15) if fresh else x[i]
            try:
                u_mp, _o, _a = _mp_point(model, pt, start, spec, spec_mp, precision + 15,
                                         exact_start=bool(exact[i]))
            except (ValueError, ZeroDivisionError):
                continue
            uf = {k: np.array([float(v)]) for k, v in u_mp.items()}
            if not all(np.isfinite(v).all() for v in uf.values()):
                # beyond the double range the branch test runs on the mpmath outputs: finite, >= 0
                if not all(mpmath.isfinite(v) and v >= 0 for v in _o.values()):
                    continue
            elif model.admissible is not None and not bool(np.asarray(model.admissible(
                    {k: flatp[k][i:i + 1] for k in flatp}, uf,
                    _traces_at(model, comp, uf, flatp, i, spec))).ravel()[0]):
                continue
            x[i] = [float(u_mp[k]) for k in model.unknown_names]
            mp_starts[i] = [u_mp[k] for k in model.unknown_names]  # (beyond the double range: inf in x)
            conv[i] = True
            status[i] = f"re-solved at {precision} digits (double precision did not converge)"

    if not conv.all() and errors == "raise":
        bad = np.nonzero(~conv)[0]
        report = [{**{k: float(flatp[k][i]) for k in model.parameter_names},
                   "iterations": int(iters[i]), "residual": float(resid[i]),
                   "rel_accuracy": float(worst[i]), "reason": str(status[i])} for i in bad]
        ex = report[0]
        raise ConvergenceError(
            f"{model.name}: the fixed point was not found at {bad.size} of {P} parameter points to the "
            f"accuracy bound {accuracy:g} (first: {_describe(model, flatp, bad[0])}: {ex['reason']} after "
            f"{ex['iterations']} iterations, residual {ex['residual']:.3g}, estimated accuracy "
            f"{ex['rel_accuracy']:.3g}); use errors='mask' to get the others", report)

    if precision is not None:
        mp_unk, mp_out, mp_acc = _solve_mp_points(model, flatp, flatmp, spec, spec_mp, x, conv, sing,
                                                  sing_values, precision, exact, mp_starts)
        unknowns, outs = mp_unk, mp_out
        for k in oacc:
            oacc[k] = np.where(conv & ~sing, mp_acc[k], oacc[k] if k not in mp_acc else 0.0)
        worst = np.max(np.stack(list(oacc.values())), axis=0) if oacc else np.zeros(P)
        over = conv & ~sing & (worst > accuracy)
        for i in np.nonzero(over)[0]:
            status[i] = f"accuracy {worst[i]:.2g} worse than the bound {accuracy:g} at {precision} digits"
            conv[i] = False
        if not conv.all() and errors == "raise":
            i = int(np.nonzero(~conv)[0][0])
            raise ConvergenceError(f"{model.name}: {status[i]} at {_describe(model, flatp, i)}")

    def shaped(d, masked):
        res = {}
        for k, v in d.items():
            arr = np.asarray(v).reshape(shape)
            if masked and not conv.all():
                arr = np.ma.masked_array(arr, mask=~conv.reshape(shape))
            res[k] = arr
        return res

    # at points masked for another reason than their accuracy there is no estimate: inf
    no_estimate = ~conv & ~np.array([str(t).startswith("accuracy") for t in status], dtype=bool)
    for k in oacc:
        oacc[k] = np.where(no_estimate, np.inf, oacc[k])
    return Solution(model=model.name, shape=shape,
                    params={k: np.asarray(v).reshape(shape) for k, v in flatp.items()},
                    unknowns=shaped(unknowns, True), outputs=shaped(outs, True),
                    converged=conv.reshape(shape), iterations=iters.reshape(shape),
                    precision=precision, tol=tol, source=model.source,
                    accuracy={k: v.reshape(shape) for k, v in oacc.items()},
                    status=status.reshape(shape), bound=accuracy)


def _traces_at(model, comp, uf, flatp, i, spec):
    """Trace values (floats) at one point, for the branch test of a re-solved root."""
    if not model.traces:
        return {}
    x = np.array([[float(uf[k][0]) for k in model.unknown_names]])
    tv, _ = _traces_numpy(comp, x, [flatp[k][i:i + 1] for k in model.parameter_names], spec, grads=False)
    return {t.symbol.name: tv[:, j] for j, t in enumerate(model.traces)}


def _relabel(model: FixedPointModel, sol: Solution) -> Solution:
    """A solution of ``model.numeric`` reported in ``model``'s unknowns and outputs."""
    unknowns = {k: sol.outputs[k] for k in model.unknown_names}
    outputs = {k: sol.outputs[k] for k in model.outputs}
    acc = {k: sol.accuracy[k] for k in list(model.unknown_names) + list(model.outputs) if k in sol.accuracy}
    return Solution(model=model.name, shape=sol.shape, params=sol.params, unknowns=unknowns, outputs=outputs,
                    converged=sol.converged, iterations=sol.iterations, precision=sol.precision, tol=sol.tol,
                    source=model.source, accuracy=acc, status=sol.status, bound=sol.bound)


def _log_bracket(comp, x, p, spectrum, b):
    """For a scalar unknown above a bound ``b`` (``-inf``: none, then ``b = 0`` if ``x > 0``): search
    ``b + (x - b) 10^(+-2^k)`` for a sign change of the residual, then bisect in ``log(x - b)``
    (64 steps); points without a sign change keep ``x``. Vectorized over the points."""
    if not np.isfinite(b):
        b = 0.0
    out = x.copy()
    d = x[:, 0] - b
    ok = np.isfinite(d) & (d > 0)
    if not ok.any():
        return out
    idx = np.nonzero(ok)[0]
    ld = np.log(d[idx])
    pi = [q[idx] for q in p]

    def sign(logd, sel):
        xx = (b + np.exp(logd))[:, None]
        F, _ = _residual_and_jacobian(comp, xx, [q[sel] for q in pi], spectrum)
        return np.sign(F[:, 0])

    s0 = sign(ld, np.arange(idx.size))
    lo, hi = np.full(idx.size, np.nan), np.full(idx.size, np.nan)
    found = np.zeros(idx.size, dtype=bool)
    huge = np.log(1e307)
    for k in range(11):
        for direction in (-1.0, 1.0):
            todo = np.nonzero(~found)[0]
            if todo.size == 0:
                break
            cand = np.clip(ld[todo] + direction * (2.0 ** k) * np.log(10.0), np.log(1e-307), huge)
            sk = sign(cand, todo)
            hit = (sk != s0[todo]) & (sk != 0) & (s0[todo] != 0)
            t = todo[hit]
            lo[t] = np.minimum(cand[hit], ld[t])
            hi[t] = np.maximum(cand[hit], ld[t])
            found[t] = True
    f = np.nonzero(found)[0]
    if f.size == 0:
        return out
    slo = sign(lo[f], f)
    a, c = lo[f], hi[f]
    for _ in range(64):
        mid = 0.5 * (a + c)
        sm = sign(mid, f)
        left = sm == slo
        a, c = np.where(left, mid, a), np.where(left, c, mid)
    out[idx[f], 0] = b + np.exp(0.5 * (a + c))
    return out


def _snap_to_bounds(comp, x, conv, todo, x0, plist, spec, lower):
    """A root on the boundary of the domain (e.g. ``kappa = 0``) is approached by Newton's method
    through ever smaller numbers, down to subnormal ones, without converging: where such an iterate is
    within 1e-6 of its distance at the start from a finite lower bound, and the residual *at* the
    bound is within its rounding error, the bound is the root."""
    m = x.shape[1]
    for j in range(m):
        b = lower[j]
        if not np.isfinite(b):
            continue
        # still moving towards the bound (a root that Newton verified above the bound stays: at
        # lam = 0, kappa = 0 is always a root, and the physical one is the largest)
        near = (x[todo, j] - b) <= 1e-6 * np.abs(x0[:, j] - b)
        cand = todo[near & ~conv[todo]]
        cand = cand[x[cand, j] != b]
        if cand.size == 0:
            continue
        xb = x[cand].copy()
        xb[:, j] = b
        F, _, eF, _, _, _, _ = _residual_error(comp, xb, [q[cand] for q in plist], spec)
        ok = (np.abs(F) <= 4 * eF).all(axis=1)
        x[cand[ok], j] = b
        conv[cand[ok]] = True


def _to_double_accuracy(acc_mp: dict, values: dict) -> dict:
    """The accuracy of mpmath results once rounded to double: the mpmath estimate plus the exact
    relative rounding error of the conversion (relative to ``max(|v|, TINY)``, see :func:`_rel`)."""
    out = {}
    for k, a in acc_mp.items():
        v = values.get(k)
        r = 0.0
        if isinstance(v, mpmath.mpf) and mpmath.isfinite(v) and v != 0:
            f = float(v)
            r = float(abs(mpmath.mpf(f) - v) / max(abs(v), mpmath.mpf(TINY)))
        out[k] = (float(a) + r) * (1 + 4 * U_DOUBLE)  # (a bound: rounded up)
    return out


def _resolve_digits(est: float, bound: float) -> int:
    """Digits for a re-solve: enough to bring an estimate ``est`` (at double precision) 100 times
    under ``bound``, plus guard digits (at least 30, at most :data:`MAX_RESOLVE_DIGITS`)."""
    if not np.isfinite(est) or est >= 1:
        return 60
    need = math.log10(est / bound) + 2 + 16 + 5
    return int(min(MAX_RESOLVE_DIGITS, max(30, math.ceil(need))))


def _point(model, flatp, flatmp, i):
    return {k: (flatmp[k][i] if k in flatmp else float(flatp[k][i])) for k in model.parameter_names}


# ---------------------------------------------------------------------- the mpmath path
def _mp_guess(model, point, spec, spec_mp, dps):
    """The model's initial guess evaluated in mpmath (no overflow): the start where the double one is
    not finite."""
    with mpmath.workdps(dps):
        kw = {k: mpmath.mpf(point[k]) for k in model.parameter_names}
        if model.components:
            comps = {c.name: np.array([mpmath.mpf(v) for v in (sm if sm is not None else sa.tolist())], dtype=object)
                     for c, sa, sm in zip(model.components, spec, spec_mp)}
            guess = model.initial_guess(spectrum=comps, **kw)
        else:
            guess = model.initial_guess(**kw)
        return [mpmath.mpf(g) for g in guess]


def _solve_mp_points(model, flatp, flatmp, spec, spec_mp, x, conv, sing, sing_values, precision, exact,
                     starts=None):
    """Re-solve every verified point in mpmath (from ``x``, or ``starts[i]`` where given); singular
    points take their exact values."""
    P = x.shape[0]
    unk = {k: np.empty(P, dtype=object) for k in model.unknown_names}
    outs = {k: np.empty(P, dtype=object) for k in model.outputs}
    acc = {k: np.zeros(P) for k in list(model.unknown_names) + list(model.outputs)}
    for i in range(P):
        if not conv[i]:
            u = vals = dict.fromkeys(list(unk) + list(outs), mpmath.mpf(0))  # masked by the caller
        elif sing[i]:
            u = vals = {k: mpmath.mpf(float(np.broadcast_to(v, (P,))[i])) for k, v in sing_values.items()}
        else:
            x0 = starts[i] if starts and i in starts else x[i]
            u, vals, a = _mp_point(model, _point(model, flatp, flatmp, i), x0, spec, spec_mp, precision + 15,
                                   out_digits=precision, exact_start=bool(exact[i]))
            for k, v in a.items():  # plus the rounding to ``precision`` significant digits
                acc[k][i] = max(float(v), 0.5 * 10.0 ** (1 - precision))
        for k in unk:
            unk[k][i] = u[k]
        for k in outs:
            outs[k][i] = vals[k]
    return unk, outs, acc


def _mp_point(model, point, x0, spec, spec_mp, dps, max_iter=100, out_digits=None, exact_start=False):
    """Newton's method for one point in mpmath at ``dps`` working digits, from ``x0``.

    Returns ``(unknowns, outputs, relative accuracy estimates)``, rounded to ``out_digits`` (default:
    all the working digits); raises ``ValueError`` if the root cannot be verified.
    """
    comp = model.compiled("mpmath")
    m = len(model.unknowns)
    T = len(model.traces)
    with mpmath.workdps(dps):
        u_mp = mpmath.mpf(2) ** (-mpmath.mp.prec)
        zero = mpmath.mpf(0)
        p = [mpmath.mpf(point[k]) for k in model.parameter_names]
        if spec:
            comps = [[mpmath.mpf(v) for v in (sm if sm is not None else sa.tolist())]
                     for sa, sm in zip(spec, spec_mp)]
            rows = list(zip(*comps))
        else:
            comps, rows = [], []
        exact_counts = {t for t, j in comp.count_traces.items() if _exact_weights(comps[j], 2 ** mpmath.mp.prec)}

        def traces(x, with_err=False):
            vals = [zero] * T
            grads = [[zero] * m for _ in range(T)]
            errs = [zero] * T
            gerrs = [[zero] * m for _ in range(T)]
            absv = [zero] * T
            absg = [[zero] * m for _ in range(T)]
            for row in rows:
                a = list(x) + p + list(row)
                for t in range(T):
                    if with_err:
                        r = comp.trace_full[t](*(a + [u_mp, zero]))
                        vals[t] += r[0]
                        absv[t] += abs(r[0])
                        errs[t] += r[1]
                        for j in range(m):
                            grads[t][j] += r[2 + j]
                            absg[t][j] += abs(r[2 + j])
                            gerrs[t][j] += r[2 + m + j]
                    else:
                        vals[t] += comp.trace_f[t](*a)
                        for j in range(m):
                            grads[t][j] += comp.trace_grad[t][j](*a)
            if with_err:
                n = max(len(rows), 1)
                errs = [zero if t in comp.integer_traces or t in exact_counts else e + n * u_mp * av
                        for t, (e, av) in enumerate(zip(errs, absv))]
                gerrs = [[e + n * u_mp * av for e, av in zip(er, ar)] for er, ar in zip(gerrs, absg)]
            return vals, grads, errs, gerrs

        def FJ(x):
            tv, tg, _, _ = traces(x)
            a = list(x) + p + tv
            F = mpmath.matrix(list(comp.residual(*a)))
            jac = list(comp.jacobian(*a))
            J = mpmath.matrix(m, m)
            for i in range(m):
                for j in range(m):
                    J[i, j] = jac[i * m + j] + sum((jac[m * m + i * T + t] * tg[t][j] for t in range(T)), zero)
            return F, J

        def residual_err(x):
            tv, tg, te, tge = traces(x, with_err=True)
            a = list(x) + p + tv
            r = list(_mp_call(comp, "residual_err", a + te + [u_mp, zero]))
            return tv, tg, te, tge, r

        x = [mpmath.mpf(v) for v in x0]
        lower = model.lower_bounds
        scales = [mpmath.mpf(0)] * m if model.scales is None else [mpmath.mpf(s) for s in model.scales]
        eps = mpmath.mpf(10) ** (-(dps - 5))

        def newton(x, iterations):
            F, J = FJ(x)
            for _ in range(iterations):
                try:
                    dx = mpmath.lu_solve(J, -F)
                except ZeroDivisionError:
                    return x, False
                f0 = mpmath.norm(F)
                step = mpmath.mpf(1)
                near = max(abs(dx[j]) / (abs(x[j]) + scales[j] + mpmath.mpf(10) ** -300) for j in range(m)) \
                    < mpmath.mpf(10) ** -(dps // 3)
                for _h in range(30):
                    xn = [x[j] + step * dx[j] for j in range(m)]
                    if lower is not None:  # never onto the bound in one step (as in double precision)
                        xn = [v if lower[j] is None else
                              max(v, lower[j] + (x[j] - lower[j]) / 1000) if x[j] > lower[j] else max(v, lower[j])
                              for j, v in enumerate(xn)]
                    Fn, Jn = FJ(xn)
                    if all(mpmath.isfinite(v) for v in Fn) and (near or mpmath.norm(Fn) <= f0 * (1 - step / 10 ** 4)):
                        break  # (near the root the full step is taken: the residual is at round-off)
                    step /= 2
                small = max(abs(xn[j] - x[j]) / (abs(xn[j]) + scales[j]) if (abs(xn[j]) + scales[j]) > 0
                            else zero for j in range(m)) <= eps
                if not small and near and mpmath.norm(Fn) > f0 / 2:
                    # stagnation: at the level of the residual's own rounding error?
                    r_n = residual_err(xn)[4]
                    small = all(abs(Fn[i]) <= 16 * r_n[i] for i in range(m))
                x, F, J = xn, Fn, Jn
                if small:
                    r = residual_err(x)[4]
                    return x, all(abs(F[i]) <= 1e6 * r[i] + (0 if r[i] > 0 else mpmath.mpf(10) ** (-dps * 2))
                                  for i in range(m))
            return x, False

        def bracket(x):
            # a scalar root many orders of magnitude away: sign change of F over b + d 10^(+-2^k),
            # then bisection in log d (as _log_bracket in double precision)
            b = mpmath.mpf(0) if lower is None or lower[0] is None else mpmath.mpf(lower[0])
            d = x[0] - b
            if not d > 0:
                return None

            def sgn(ld):
                return mpmath.sign(FJ([b + mpmath.exp(ld)])[0][0])
            ld0 = mpmath.log(d)
            s0 = sgn(ld0)
            for k in range(11):
                for direction in (-1, 1):
                    cand = ld0 + direction * 2 ** k * mpmath.log(10)
                    sk = sgn(cand)
                    if sk != 0 and s0 != 0 and sk != s0:
                        lo, hi = min(cand, ld0), max(cand, ld0)
                        slo = sgn(lo)
                        for _ in range(64 + int(math.log2(max(dps, 2)))):
                            mid = (lo + hi) / 2
                            if sgn(mid) == slo:
                                lo = mid
                            else:
                                hi = mid
                        return [b + mpmath.exp((lo + hi) / 2)]
            return None

        ok = exact_start
        if not exact_start:
            x1, ok = newton(x, max_iter)
            if not ok and m == 1:
                xb = bracket(x)
                if xb is not None:
                    x1, ok = newton(xb, max_iter)
            x = x1
        if not ok:
            F, _ = FJ(x)
            raise ValueError(f"{model.name}: could not verify the fixed point to {dps - 15} digits "
                             f"at {point} (residual {mpmath.nstr(mpmath.norm(F), 5)})")
        # the accuracy contract in mpmath (u = 2^-prec, no underflow)
        if exact_start:  # the unknowns are exact (e.g. -inf): no residual to evaluate
            tv, tg, te, tge = traces(x, with_err=True)
            dx = [zero] * m
        else:
            tv, tg, te, tge, r = residual_err(x)
            F, J = FJ(x)
            eF = r[:m]
            eJ = r[m:m + m * m]
        if exact_start:
            pass
        elif m == 1:
            jac = list(comp.jacobian(*(list(x) + p + tv)))
            den = abs(J[0, 0]) - eJ[0] - sum((abs(r[m + m * m + t]) * abs(tg[t][0]) + abs(jac[m * m + t]) * tge[t][0]
                                             for t in range(T)), zero)
            num = abs(F[0]) + eF[0]
            dx = [zero if num == 0 else (2 * num / den if den > 0 else mpmath.inf)]
        else:
            try:
                inv = mpmath.inverse(J)
                dx = [2 * sum((abs(inv[i, j]) * (abs(F[j]) + eF[j]) for j in range(m)), zero) for i in range(m)]
            except ZeroDivisionError:
                dx = [mpmath.inf] * m
        tot_te = [te[t] + sum((abs(tg[t][j]) * dx[j] for j in range(m)), zero) for t in range(T)]
        a = list(x) + p + tv
        res = list(_mp_call(comp, "outputs_err", a + dx + tot_te + [u_mp, zero]))
        k = len(model.outputs)
        outs = dict(zip(model.outputs, res[:k]))
        acc = {}
        for name, v, e in zip(model.outputs, res[:k], res[k:]):
            acc[name] = zero if e == 0 else (abs(e) / abs(v) if v != 0 else mpmath.inf)
        for j, name in enumerate(model.unknown_names):
            size = abs(x[j]) + scales[j]
            acc[name] = zero if dx[j] == 0 else (dx[j] / size if size != 0 else mpmath.inf)
        unk = dict(zip(model.unknown_names, x))
    with mpmath.workdps(out_digits or dps):
        return ({k: +v for k, v in unk.items()},
                {k: (+v if isinstance(v, mpmath.mpf) else v) for k, v in outs.items()},
                {k: (v if mpmath.isfinite(v) else mpmath.inf) for k, v in acc.items()})


def solve_mp(model: FixedPointModel, point: Mapping, x0: Sequence | None = None, *, spectrum=(),
             precision: int = 30, max_iter: int = 100):
    """Newton's method for one point in mpmath at ``precision`` digits.

    Args:
        model: the model.
        point: parameter name -> value (floats or mpmath numbers; floats are taken exactly, mpmath
            numbers at their full precision).
        x0: a starting point (the double-precision solution); for a model with a ``numeric`` form,
            ignored (the numeric form's own double-precision solution is used).
        spectrum: component arrays (in the model's component order), floats or mpmath numbers.
        precision: significant digits of the result.

    Returns:
        (unknowns, outputs): dicts of mpmath numbers.

    Raises:
        ValueError: if the root cannot be verified to ``precision`` digits.
    """
    spectrum = list(spectrum)
    spec, spec_mp = [], []
    for arr in spectrum:
        o = np.asarray(arr, dtype=object).ravel()
        spec.append(np.array([float(v) for v in o]))
        spec_mp.append([mpmath.mpf(v) for v in o])
    target = model.numeric if model.numeric is not None else model
    sing = False
    exact_start = False
    if model.numeric is not None or x0 is None:
        sdict = dict(zip([c.name for c in target.components], spec))
        fl = {k: np.atleast_1d(np.asarray(float(point[k]))) for k in target.parameter_names}
        if target.singular is not None:
            smask, svals = target.singular(fl, sdict)
            sing = bool(np.asarray(smask).ravel()[0])
            if sing:
                with mpmath.workdps(precision):
                    vals = {k: mpmath.mpf(float(np.broadcast_to(np.asarray(v, dtype=float), (1,))[0]))
                            for k, v in svals.items()}
                return ({k: vals[k] for k in model.unknown_names}, {k: vals[k] for k in model.outputs})
        sol = solve(target, {k: fl[k] for k in target.parameter_names}, spectrum=sdict or None,
                    errors="mask", resolve=False, accuracy=1.0 - 1e-16)
        x0 = [float(np.ma.getdata(sol.unknowns[k]).ravel()[0]) for k in target.unknown_names]
        exact_start = str(np.asarray(sol.status).ravel()[0]) == "ok" and target.exact is not None and bool(
            np.asarray(target.exact(fl, sdict)[0]).ravel()[0])
    unk, outs, _ = _mp_point(target, dict(point), x0, spec, spec_mp, precision + 15, max_iter=max_iter,
                             out_digits=precision, exact_start=exact_start)
    if model.numeric is not None:
        return ({k: outs[k] for k in model.unknown_names}, {k: outs[k] for k in model.outputs})
    return unk, outs
