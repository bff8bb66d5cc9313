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
outputs, and the same functions in mpmath for any precision.

:func:`solve` is a vectorized damped Newton method over a whole broadcast parameter grid: every
point starts from the model's ``initial_guess`` (chosen by each model so that Newton converges to
the physical branch), steps are halved until the residual decreases (Armijo) and projected onto the
domain of the unknowns, and each point's convergence is recorded. A point that did not converge or
landed on a non-physical branch (``admissible`` false) is reported -- by a :class:`ConvergenceError`,
or masked with ``errors="mask"`` -- and never returned as a number. Points where the theory itself
diverges (e.g. ridgeless regression at the interpolation threshold) are handled by the model's
``singular`` rule, which sets the outputs there to their exact values (``inf``).

``solve(..., precision=P)`` re-solves each point by Newton's method in mpmath at ``P`` digits,
started from the double-precision solution, and raises ``ValueError`` (like ``mpmath.findroot``)
when it cannot verify the root.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import mpmath
import numpy as np
import sympy as sp

from .._notation import LATEX as LATEX_TABLE
from .._validation import as_output, check_int, check_real

__all__ = ["Trace", "FixedPointModel", "Solution", "ConvergenceError", "solve", "solve_mp", "latex",
           "LATEX_NAMES", "DEFAULT_TOL"]

DEFAULT_TOL = 1e-13


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
    symbols_doc: Mapping[str, str] = field(default_factory=dict)
    sample_ranges: Mapping[str, tuple] = field(default_factory=dict)
    regimes: Mapping[str, Mapping] = field(default_factory=dict)

    def __post_init__(self):
        if len(self.equations) != len(self.unknowns):
            raise ValueError(f"{self.name}: {len(self.equations)} equations for "
                             f"{len(self.unknowns)} unknowns")

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
@dataclass(frozen=True)
class _Compiled:
    model: FixedPointModel
    backend: str
    residual: tuple          # per equation: f(*unknowns, *params, *traces)
    jac_direct: tuple        # [i][j]: dF_i/du_j at fixed traces
    jac_trace: tuple         # [i][t]: dF_i/dT_t
    trace_f: tuple           # per trace: f(*unknowns, *params, *components)
    trace_grad: tuple        # [t][j]: d summand_t / du_j
    outputs: object          # f(*unknowns, *params, *traces) -> tuple of all outputs (shared cse)
    residual_scale: tuple    # per equation: sum of |terms|, the size of the round-off in F


_CACHE: dict = {}


def _compile(model: FixedPointModel, backend: str) -> _Compiled:
    # Compiled functions are a pure function of the (immutable) model; cached by identity.
    key = (id(model), backend)
    hit = _CACHE.get(key)
    if hit is not None and hit.model is model:
        return hit
    modules = "numpy" if backend == "numpy" else "mpmath"
    tsyms = tuple(t.symbol for t in model.traces)
    args = tuple(model.unknowns) + tuple(model.parameters) + tsyms
    targs = tuple(model.unknowns) + tuple(model.parameters) + tuple(model.components)

    def lam(expr, a=args):
        return sp.lambdify(a, expr, modules=modules, cse=True)

    residual = tuple(lam(e) for e in model.equations)
    jac_direct = tuple(tuple(lam(sp.diff(e, u)) for u in model.unknowns) for e in model.equations)
    jac_trace = tuple(tuple(lam(sp.diff(e, t)) for t in tsyms) for e in model.equations)
    trace_f = tuple(lam(t.summand, targs) for t in model.traces)
    trace_grad = tuple(tuple(lam(sp.diff(t.summand, u), targs) for u in model.unknowns)
                       for t in model.traces)
    outputs = lam(list(model.expanded_outputs().values()))  # one function: subexpressions shared
    # the size of the round-off in evaluating F: the sum of the absolute values of its monomials
    residual_scale = tuple(lam(sum(sp.Abs(a) for a in sp.Add.make_args(sp.expand(e)))) for e in model.equations)
    out = _Compiled(model, backend, residual, jac_direct, jac_trace, trace_f, trace_grad, outputs,
                    residual_scale)
    _CACHE[key] = out
    return out


def _as_array(value, shape):
    return np.broadcast_to(np.asarray(value, dtype=float), shape)


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

    def __getattr__(self, name):
        for group in ("outputs", "unknowns", "params"):
            d = object.__getattribute__(self, group)
            if name in d:
                v = d[name]
                return as_output(v)
        raise AttributeError(name)

    def __getitem__(self, name):
        return self.__getattr__(name)

    def records(self, include_unknowns: bool = True) -> list[dict]:
        """Flat dicts, one per grid point (C order): parameters, unknowns, outputs."""
        groups = [self.params] + ([self.unknowns] if include_unknowns else []) + [self.outputs]
        dtype = float if self.precision is None else object
        flat = {k: np.broadcast_to(np.asarray(v, dtype=dtype), self.shape).ravel()
                for g in groups for k, v in g.items()}
        n = int(np.prod(self.shape))
        return [{k: (float(v[i]) if dtype is float else v[i]) for k, v in flat.items()} for i in range(n)]


# ---------------------------------------------------------------------- the numpy solver
def _traces_numpy(comp: _Compiled, x: np.ndarray, p: list, spectrum: list):
    """Trace values (P, T) and their gradients (P, T, m) at unknowns x (P, m)."""
    P, m = x.shape
    T = len(comp.trace_f)
    vals = np.empty((P, T))
    grads = np.empty((P, T, m))
    if T == 0:
        return vals, grads
    ucols = [x[:, j:j + 1] for j in range(m)]
    pcols = [pi[:, None] for pi in p]
    targs = ucols + pcols + [c[None, :] for c in spectrum]
    for t in range(T):
        vals[:, t] = np.sum(np.broadcast_to(comp.trace_f[t](*targs), (P, spectrum[0].size)), axis=1)
        for j in range(m):
            g = comp.trace_grad[t][j](*targs)
            grads[:, t, j] = np.sum(np.broadcast_to(g, (P, spectrum[0].size)), axis=1)
    return vals, grads


def _eval_many(funcs, P, args):
    return np.stack([np.broadcast_to(np.asarray(f(*args), dtype=float), (P,)) for f in funcs], axis=-1) \
        if funcs else np.empty((P, 0))


def _residual_and_jacobian(comp: _Compiled, x, p, spectrum, want_jac=True):
    P, m = x.shape
    tv, tg = _traces_numpy(comp, x, p, spectrum)
    args = [x[:, j] for j in range(m)] + list(p) + [tv[:, t] for t in range(tv.shape[1])]
    with np.errstate(all="ignore"):
        F = _eval_many(comp.residual, P, args)
        if not want_jac:
            return F, None, tv
        J = np.stack([_eval_many(row, P, args) for row in comp.jac_direct], axis=1)
        if tv.shape[1]:
            dFdT = np.stack([_eval_many(row, P, args) for row in comp.jac_trace], axis=1)  # (P, m, T)
            J = J + np.einsum("pit,ptj->pij", dFdT, tg)
    return F, J, tv


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
    return np.sqrt(np.sum(F * F, axis=-1))


def _take(a, idx):
    """``a[idx]``, without a copy when ``idx`` is ``None`` (everything)."""
    return a if idx is None else a[idx]


def _put(a, idx, v):
    if idx is None:
        a[...] = v
    else:
        a[idx] = v


def _newton(comp, x0, p, spectrum, lower, tol, max_iter):
    """Vectorized damped Newton. Returns x, converged mask, iteration counts, final residual.

    Index arrays are ``None`` while every point is still iterating (the common case), so a grid whose
    points converge together is processed without copies.
    """
    P, m = x0.shape
    x = x0.copy()
    scale = np.abs(x0) + 1e-300
    converged = np.zeros(P, dtype=bool)
    failed = np.zeros(P, dtype=bool)
    iters = np.zeros(P, dtype=int)
    eps4 = 4 * np.finfo(float).eps
    F, J, _ = _residual_and_jacobian(comp, x, p, spectrum)
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
        size = xa.shape[0]
        t = np.ones(size)
        xn, Fn, Jn = np.empty_like(xa), np.empty((size, m)), np.empty((size, m, m))
        pending = np.ones(size, dtype=bool)
        # near the root (relative Newton step below 1e-6) the full step is taken: there the Armijo
        # test only compares round-off
        near = (np.abs(dx) <= 1e-6 * np.abs(xa)).all(axis=1)
        for _halving in range(40):
            sub = None if pending.all() else np.nonzero(pending)[0]
            x_old = _take(xa, sub)
            trial = x_old + _take(t, sub)[:, None] * _take(dx, sub)
            if lower is not None:
                trial = np.maximum(trial, lower)
            Ft, Jt, _ = _residual_and_jacobian(comp, trial, [_take(q, sub) for q in pa], spectrum)
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
            idx, xa, xn, Fn, Jn = idx[ok], xa[ok], xn[ok], Fn[ok], Jn[ok]
        # relative step test; a root at exactly 0 (e.g. kappa at lam = 0) is reached when Newton
        # underflows to it and the step vanishes. (Computed before x is updated: xa may be a view.)
        small = (np.abs(xn - xa) <= tol * np.abs(xn) + 1e-300 * _take(scale, idx)).all(axis=1)
        _put(x, idx, xn)
        _put(F, idx, Fn)
        _put(J, idx, Jn)
        _put(iters, idx, _take(iters, idx) + 1)
        _put(converged, idx, _take(converged, idx) | small)
    return x, converged, iters, F


def _broadcast_params(model: FixedPointModel, params: Mapping):
    missing = [k for k in model.parameter_names if k not in params]
    if missing:
        raise ValueError(f"{model.name}: missing parameter(s) {', '.join(missing)}")
    extra = [k for k in params if k not in model.parameter_names]
    if extra:
        raise ValueError(f"{model.name}: unknown parameter(s) {', '.join(extra)}; "
                         f"expected {', '.join(model.parameter_names)}")
    arrays = [np.asarray(params[k], dtype=float) for k in model.parameter_names]
    try:
        shape = np.broadcast_shapes(*(a.shape for a in arrays))
    except ValueError:
        raise ValueError(f"{model.name}: parameter shapes do not broadcast: " +
                         ", ".join(f"{k}{a.shape}" for k, a in zip(model.parameter_names, arrays))) from None
    return shape, {k: np.broadcast_to(a, shape) for k, a in zip(model.parameter_names, arrays)}


def _describe(model, flatp, i):
    return ", ".join(f"{k}={flatp[k][i]:.6g}" for k in model.parameter_names)


def solve(model: FixedPointModel, params: Mapping, *, spectrum: Mapping | None = None,
          tol: float = DEFAULT_TOL, max_iter: int = 200, errors: str = "raise",
          precision: int | None = None) -> Solution:
    """Solve ``model`` on the broadcast grid of ``params``.

    Args:
        model: the fixed-point model.
        params: parameter name -> scalar or array; all are broadcast together (a whole grid in one
            call). Validation of ranges is the model module's job; this function assumes valid input.
        spectrum: component name -> 1-d array, for models with traces.
        tol: relative step tolerance of Newton's method (double precision path).
        max_iter: Newton iterations at most.
        errors: ``"raise"`` (default): raise :class:`ConvergenceError` listing the points that did
            not converge or reached a non-physical branch; ``"mask"``: return masked arrays there.
        precision: if given (15 to 10000), re-solve every point in mpmath at this many significant
            digits; the outputs are then mpmath numbers (object arrays).

    Returns:
        A :class:`Solution`.
    """
    if errors not in ("raise", "mask"):
        raise ValueError(f"errors must be 'raise' or 'mask', got {errors!r}")
    if precision is not None:
        check_int("precision", precision, low=15, high=10000)
    tol = float(check_real("tol", tol, low=0.0, high=0.1, low_open=True))
    max_iter = check_int("max_iter", max_iter, low=0)
    shape, bp = _broadcast_params(model, params)
    P = int(np.prod(shape)) if shape else 1
    flatp = {k: np.ascontiguousarray(v).reshape(P) for k, v in bp.items()}
    plist = [flatp[k] for k in model.parameter_names]
    comp_syms = [c.name for c in model.components]
    if model.components:
        if spectrum is None:
            raise ValueError(f"{model.name}: needs a spectrum with {', '.join(comp_syms)}")
        spec = [np.asarray(spectrum[k], dtype=float) for k in comp_syms]
    else:
        spec = []
    m = len(model.unknowns)
    comp = model.compiled("numpy")

    sing = np.zeros(P, dtype=bool)
    sing_values: dict = {}
    if model.singular is not None:
        sing, sing_values = model.singular(flatp, dict(zip(comp_syms, spec)))
        sing = np.broadcast_to(np.asarray(sing, dtype=bool), (P,)).copy()
        missing = (set(model.unknown_names) | set(model.outputs)) - set(sing_values)
        if missing:
            raise TypeError(f"{model.name}: the singular rule must give every unknown and output; "
                            f"missing {', '.join(sorted(missing))}")

    x = np.zeros((P, m))
    conv = sing.copy()
    iters = np.zeros(P, dtype=int)
    resid = np.zeros(P)
    todo = np.nonzero(~sing)[0]
    if todo.size:
        sub = {k: v[todo] for k, v in flatp.items()}
        if model.components:
            guess = model.initial_guess(spectrum=dict(zip(comp_syms, spec)), **sub)
        else:
            guess = model.initial_guess(**sub)
        x0 = np.stack([np.broadcast_to(np.asarray(g, dtype=float), (todo.size,)) for g in guess], axis=1)
        lower = None if model.lower_bounds is None else np.array(
            [(-np.inf if b is None else b) for b in model.lower_bounds], dtype=float)
        xs, cs, its, F = _newton(comp, x0, [q[todo] for q in plist], spec, lower, tol, max_iter)
        x[todo], conv[todo], iters[todo], resid[todo] = xs, cs, its, _norm(F)

    # traces and outputs at the solution
    tv, _ = _traces_numpy(comp, x, plist, spec)
    args = [x[:, j] for j in range(m)] + plist + [tv[:, t] for t in range(tv.shape[1])]
    if todo.size:
        # a final check on the residual: a tiny Newton step must come with a residual at the level
        # of the round-off in evaluating it (relative to the size of the equation's terms)
        with np.errstate(all="ignore"):
            fscale = _eval_many(comp.residual_scale, P, args)[todo]
        ok = np.isfinite(F).all(axis=1) & (np.abs(F) <= np.sqrt(np.finfo(float).eps) * fscale + 1e-300).all(axis=1)
        conv[todo] &= ok
    with np.errstate(all="ignore"):
        outs = {k: np.broadcast_to(np.asarray(v, dtype=float), (P,)).copy()
                for k, v in zip(model.outputs, comp.outputs(*args))}
    unknowns = {k: x[:, j].copy() for j, k in enumerate(model.unknown_names)}
    wrong_branch = np.zeros(P, dtype=bool)
    if model.admissible is not None:
        adm = np.broadcast_to(np.asarray(model.admissible(
            flatp, unknowns, {t.symbol.name: tv[:, i] for i, t in enumerate(model.traces)}),
            dtype=bool), (P,))
        wrong_branch = conv & ~sing & ~adm
        conv &= ~wrong_branch | sing
    for k, v in sing_values.items():
        target = outs if k in outs else unknowns
        if k in target:
            target[k][sing] = np.broadcast_to(np.asarray(v, dtype=float), (P,))[sing]
    nan_bug = conv & ~np.all([np.isfinite(v) | np.isinf(v) for v in outs.values()], axis=0) \
        if outs else np.zeros(P, bool)
    if nan_bug.any():
        i = int(np.nonzero(nan_bug)[0][0])
        raise ConvergenceError(f"{model.name}: an output is NaN at a solved point "
                               f"({_describe(model, flatp, i)}); this is a bug, please report it")

    if not conv.all():
        bad = np.nonzero(~conv)[0]
        report = [{**{k: float(flatp[k][i]) for k in model.parameter_names},
                   "iterations": int(iters[i]), "residual": float(resid[i]),
                   "reason": "non-physical branch" if wrong_branch[i] else "did not converge"}
                  for i in bad]
        if errors == "raise":
            ex = report[0]
            raise ConvergenceError(
                f"{model.name}: the fixed point was not found at {bad.size} of {P} parameter points "
                f"(first: {_describe(model, flatp, bad[0])}: {ex['reason']} after {ex['iterations']} "
                f"iterations, residual {ex['residual']:.3g}); use errors='mask' to get the others",
                report)

    if precision is not None:
        mp_unk, mp_out = _solve_mp_points(model, flatp, spec, x, conv, sing, sing_values, precision)
        unknowns, outs = mp_unk, mp_out

    def shaped(d, masked):
        res = {}
        for k, v in d.items():
            arr = np.asarray(v).reshape(shape)
            if masked and not conv.all():
                arr = np.ma.masked_array(arr, mask=~conv.reshape(shape))
            res[k] = arr
        return res

    return Solution(model=model.name, shape=shape,
                    params={k: np.asarray(v).reshape(shape) for k, v in flatp.items()},
                    unknowns=shaped(unknowns, True), outputs=shaped(outs, True),
                    converged=conv.reshape(shape), iterations=iters.reshape(shape),
                    precision=precision, tol=tol, source=model.source)


# ---------------------------------------------------------------------- the mpmath path
def _solve_mp_points(model, flatp, spec, x, conv, sing, sing_values, precision):
    """Re-solve every verified point in mpmath; singular points take their exact values."""
    P = x.shape[0]
    unk = {k: np.empty(P, dtype=object) for k in model.unknown_names}
    outs = {k: np.empty(P, dtype=object) for k in model.outputs}
    for i in range(P):
        if not conv[i]:
            u = vals = dict.fromkeys(list(unk) + list(outs), mpmath.mpf(0))  # masked by the caller
        elif sing[i]:
            u = vals = {k: mpmath.mpf(float(np.broadcast_to(v, (P,))[i])) for k, v in sing_values.items()}
        else:
            point = {k: flatp[k][i] for k in model.parameter_names}
            u, vals = solve_mp(model, point, x[i], spectrum=spec, precision=precision)
        for k in unk:
            unk[k][i] = u[k]
        for k in outs:
            outs[k][i] = vals[k]
    return unk, outs


def solve_mp(model: FixedPointModel, point: Mapping, x0: Sequence, *, spectrum=(), precision: int = 30,
             max_iter: int = 100):
    """Newton's method for one point in mpmath at ``precision`` digits.

    Args:
        model: the model.
        point: parameter name -> value (floats or mpmath numbers; floats are taken exactly).
        x0: a starting point (the double-precision solution).
        spectrum: component arrays (in the model's component order).
        precision: significant digits of the result.

    Returns:
        (unknowns, outputs): dicts of mpmath numbers.

    Raises:
        ValueError: if the root cannot be verified to ``precision`` digits.
    """
    comp = model.compiled("mpmath")
    m = len(model.unknowns)
    with mpmath.workdps(precision + 15):
        p = [mpmath.mpf(point[k]) if not isinstance(point[k], mpmath.mpf) else point[k]
             for k in model.parameter_names]
        spec = [[mpmath.mpf(float(v)) for v in arr] for arr in spectrum]

        def traces(x):
            vals, grads = [], []
            for t in range(len(comp.trace_f)):
                s = mpmath.mpf(0)
                g = [mpmath.mpf(0)] * m
                for comps in zip(*spec):
                    a = list(x) + p + list(comps)
                    s += comp.trace_f[t](*a)
                    for j in range(m):
                        g[j] += comp.trace_grad[t][j](*a)
                vals.append(s)
                grads.append(g)
            return vals, grads

        def FJ(x):
            tv, tg = traces(x)
            a = list(x) + p + tv
            F = mpmath.matrix([f(*a) for f in comp.residual])
            J = mpmath.matrix(m, m)
            for i in range(m):
                for j in range(m):
                    J[i, j] = comp.jac_direct[i][j](*a) + sum(
                        (comp.jac_trace[i][t](*a) * tg[t][j] for t in range(len(tv))), mpmath.mpf(0))
            return F, J, tv

        x = [mpmath.mpf(float(v)) for v in x0]
        lower = model.lower_bounds
        scale = [abs(v) + mpmath.mpf(10) ** (-precision - 10) for v in x]
        eps = mpmath.mpf(10) ** (-precision - 5)
        ok = False
        for _ in range(max_iter):
            F, J, _tv = FJ(x)
            try:
                dx = mpmath.lu_solve(J, -F)
            except ZeroDivisionError:
                break
            xn = [x[j] + dx[j] for j in range(m)]
            if lower is not None:
                xn = [max(v, lower[j]) if lower[j] is not None else v for j, v in enumerate(xn)]
            step = max(abs(xn[j] - x[j]) / (abs(xn[j]) + scale[j]) for j in range(m))
            x = xn
            if step <= eps:
                ok = True
                break
        F, _J, _tv = FJ(x)
        res = mpmath.norm(F)
        if not ok or res > mpmath.mpf(10) ** (-precision) * (1 + mpmath.norm(mpmath.matrix(scale))):
            raise ValueError(f"{model.name}: could not verify the fixed point to {precision} digits "
                             f"at {point} (residual {mpmath.nstr(res, 5)})")
        tv, _ = traces(x)
        a = list(x) + p + tv
        outs = dict(zip(model.outputs, comp.outputs(*a)))
        unk = dict(zip(model.unknown_names, x))
    with mpmath.workdps(precision):
        return ({k: +v for k, v in unk.items()},
                {k: (+v if isinstance(v, mpmath.mpf) else v) for k, v in outs.items()})
