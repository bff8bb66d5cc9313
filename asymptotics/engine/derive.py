"""Symbolic consequences of a fixed-point model: closed forms, limits, series, and verification.

Everything here is derived by sympy from the same :class:`~asymptotics.engine.fixedpoint.FixedPointModel`
that the numeric solver uses, and every symbolic branch choice is made *numerically*: among the
candidate roots sympy returns, the one that matches the solver's (physical-branch) solution at random
points of the regime is kept, and a mismatch raises ``ValueError`` instead of returning a wrong branch.

* :func:`closed_form` -- the unknowns solved symbolically and substituted into the outputs;
* :func:`limit` -- an output as a parameter tends to a value (e.g. ``lam -> 0``), per regime
  (e.g. ``gamma < 1`` and ``gamma > 1``), by solving the equations at the limit value; the result is
  checked against the solver close to the limit;
* :func:`series` -- a Taylor/Puiseux expansion of the closed form around a parameter value;
* :func:`verify` -- checks a user's claimed closed form against the solved model at random points at
  high precision and reports the largest discrepancy.

User strings (a claimed formula, a limit value, a regime's end points) are read by the whitelist
parser of :mod:`asymptotics.numerics.expressions` in the model's parameter names, never by
``sympify`` (which calls ``eval``).

Regimes are intervals of parameters, e.g. ``{"gamma": (0, 1)}``. To let sympy drop absolute values
and square roots of squares, a parameter restricted to an interval is written ``c - t`` or ``c + t``
with ``t > 0`` around the regime's finite end point ``c`` (the upper end if the lower one is 0), and
``t`` is substituted back at the end.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import mpmath
import numpy as np
import sympy as sp

from .._validation import check_int
from ..numerics.expressions import parse_expression
from .fixedpoint import FixedPointModel, solve, solve_mp

__all__ = ["closed_form", "limit", "series", "verify", "VerifyReport", "sample_points"]


def _check_symbolic(model: FixedPointModel):
    if model.traces:
        raise ValueError(f"{model.name}: symbolic derivations need a model without spectral sums "
                         "(use the isotropic model or a law with a closed form)")


def _equations(model):
    return [sp.sympify(e).doit() for e in model.equations]  # doit: drop UnevaluatedExpr groupings


def _outputs(model):
    return {k: v.doit() for k, v in model.expanded_outputs().items()}


def _sym(model, value, what: str):
    """A number or an expression of the model's parameters given by a user: strings through the
    whitelist parser, numbers and sympy objects as they are, anything else refused."""
    if isinstance(value, str):
        return parse_expression(value, name=what, symbols={p.name: p for p in model.parameters},
                                allow_infinity=True)
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{what} must be a number or a sympy expression, got {value!r}")
    if isinstance(value, (int, float, np.integer, np.floating, sp.Basic)) or hasattr(value, "_sympy_"):
        return sp.sympify(value)  # not a string: converted, never parsed
    from fractions import Fraction
    if isinstance(value, Fraction):
        return sp.Rational(value.numerator, value.denominator)
    raise ValueError(f"{what} must be a number, a string or a sympy expression, got {type(value).__name__}")


def _regime(model, regime):
    """A regime with its end points read (user strings through the whitelist parser), before any
    symbolic work."""
    if regime is None:
        return None
    if not isinstance(regime, Mapping):
        raise ValueError(f"regime must be a mapping parameter -> (low, high), got {type(regime).__name__}")
    out = {}
    for k, iv in regime.items():
        _param(model, k)
        if not isinstance(iv, (tuple, list)) or len(iv) != 2:
            raise ValueError(f"the regime of {k} must be a pair (low, high), got {iv!r}")
        out[k] = tuple(_sym(model, v, f"the regime of {k}") for v in iv)
    return out


def _param(model, name):
    for p in model.parameters:
        if p.name == name:
            return p
    raise ValueError(f"{model.name} has no parameter {name!r}; its parameters are "
                     f"{', '.join(model.parameter_names)}")


def sample_points(model: FixedPointModel, regime: Mapping | None = None, n_points: int = 8,
                  seed: int = 0, fixed: Mapping | None = None) -> dict:
    """Random parameter points in a regime (uniform inside each interval, away from its ends).

    Parameters not restricted by ``regime`` are drawn from ``model.sample_ranges``. An interval's end
    may be another parameter (``{"psi1": (0, psi2)}``): it is drawn first.
    """
    rng = np.random.default_rng(seed)
    regime = _regime(model, regime) or {}
    pts: dict = {}

    def draw(k):
        if k in pts:
            return
        if fixed and k in fixed:
            pts[k] = np.full(n_points, float(fixed[k]))
            return
        if k not in regime:
            lo, hi = model.sample_ranges[k]
            pts[k] = rng.uniform(lo, hi, n_points)
            return
        ends = []
        for e in regime[k]:
            for s in e.free_symbols:
                draw(s.name)
            ends.append(np.broadcast_to(np.asarray(sp.lambdify(
                sorted(e.free_symbols, key=str), e)(*[pts[s.name] for s in sorted(e.free_symbols, key=str)]),
                dtype=float), (n_points,)))
        lo, hi = ends
        hi = np.where(np.isinf(hi), np.where(lo > 0, lo + 5.0, 5.0), hi)
        pts[k] = lo + (0.05 + 0.9 * rng.uniform(size=n_points)) * (hi - lo)

    for k in model.parameter_names:
        draw(k)
    return {k: pts[k] for k in model.parameter_names}


def _regime_substitution(model, regime):
    """param -> c -+ t (t > 0) for each restricted parameter; returns (forward, backward) subs."""
    fwd, back = {}, {}
    for k, (lo, hi) in (regime or {}).items():
        p = _param(model, k)
        t = sp.Symbol(f"t_{k}", positive=True)
        lo, hi = _sym(model, lo, f"the regime of {k}"), _sym(model, hi, f"the regime of {k}")
        if lo != 0 and lo.is_finite is not False:
            fwd[p], back[t] = lo + t, p - lo
        elif hi.is_finite is not False:
            fwd[p], back[t] = hi - t, hi - p
        else:
            continue
    return fwd, back


def _positive(model):
    """Symbols of the model re-declared positive, for simplification."""
    return {s: sp.Symbol(s.name, positive=True) for s in model.parameters + model.unknowns}


def _pick_branch(model, candidates, pts, params_at=None, rtol=1e-7):
    """The candidate root dict that matches the numeric solution at all sample points."""
    sol = solve(model, pts, errors="mask")
    ok = ~np.asarray(np.ma.getmaskarray(sol.unknowns[model.unknown_names[0]]))
    for cand in candidates:
        good = True
        for u in model.unknowns:
            f = sp.lambdify(model.parameters, cand[u], modules="numpy")
            with np.errstate(all="ignore"):
                val = np.broadcast_to(np.asarray(f(*[pts[k] for k in model.parameter_names]),
                                                 dtype=complex), ok.shape)
            ref = np.asarray(np.ma.getdata(sol.unknowns[u.name]), dtype=float)
            if not np.allclose(val[ok], ref[ok], rtol=rtol, atol=rtol):
                good = False
                break
        if good:
            return cand
    raise ValueError(f"{model.name}: no symbolic root matches the numeric solution in this regime")


def closed_form(model: FixedPointModel, regime: Mapping | None = None, *, seed: int = 0) -> dict:
    """Outputs (and unknowns) in closed form, on the branch the solver selects in ``regime``.

    Returns:
        dict name -> sympy expression of the parameters.

    Raises:
        ValueError: if sympy cannot solve the equations or no root matches the solver.

    Examples:
        >>> from asymptotics.models.ridge import RIDGE
        >>> cf = closed_form(RIDGE)
        >>> cf["kappa"]
        gamma/2 + lam/2 + sqrt(gamma**2 + 2*gamma*lam - 2*gamma + lam**2 + 2*lam + 1)/2 - 1/2
    """
    _check_symbolic(model)
    regime = _regime(model, regime)
    cands = sp.solve(_equations(model), list(model.unknowns), dict=True)
    if not cands:
        raise ValueError(f"{model.name}: sympy found no closed-form solution")
    pts = sample_points(model, regime, seed=seed)
    cand = _pick_branch(model, cands, pts)
    out = {u.name: cand[u] for u in model.unknowns}
    for k, e in _outputs(model).items():
        out[k] = sp.simplify(e.xreplace(cand))
    return out


def limit(model: FixedPointModel, param: str, value, regime: Mapping | None = None, *,
          outputs=None, seed: int = 0, check: bool = True) -> dict:
    """The outputs as ``param -> value`` in ``regime``, solved at the limit.

    The fixed-point equations are taken at ``param = value`` and solved symbolically; the root on the
    physical branch is selected by matching the numeric solver at ``param = value`` in the regime
    (the solver works at ``lam = 0``). The outputs are then simplified under the regime. With
    ``check``, the result is compared with the solver at ``param = value`` (relative 1e-6).

    Args:
        model: a model without spectral sums.
        param: the parameter name; value: the limit value (a number, or ``sympy.oo``: then the
            unknowns are assumed to have finite limits, the leading coefficient in ``param`` of each
            equation is kept, and the result is checked against the solver at ``param = 1e8``).
        regime: intervals for other parameters, e.g. ``{"gamma": (1, sympy.oo)}``.
        outputs: names to return (default all outputs and unknowns).

    Returns:
        dict name -> sympy expression.

    Examples:
        >>> from asymptotics.models.ridge import RIDGE
        >>> limit(RIDGE, "lam", 0, {"gamma": (0, 1)})["risk"]
        -gamma*sigma2/(gamma - 1)
        >>> sp.factor(limit(RIDGE, "lam", 0, {"gamma": (1, sp.oo)})["risk"])
        (gamma**2*r2 - 2*gamma*r2 + gamma*sigma2 + r2)/(gamma*(gamma - 1))
    """
    _check_symbolic(model)
    p = _param(model, param)
    value = _sym(model, value, "the limit value")
    regime = _regime(model, regime)
    at_infinity = value == sp.oo
    if not (value.is_finite or at_infinity):
        raise ValueError(f"the limit value must be a number or oo, got {value}")
    if regime and param in regime:
        lo, hi = (_sym(model, v, f"the regime of {param}") for v in regime[param])
        inside = (lo <= value) & (value <= hi)
        if inside in (sp.false, False):
            raise ValueError(f"the limit {param} -> {value} lies outside the regime {param} in ({lo}, {hi})")
    if at_infinity:
        # the unknowns are assumed to have finite limits: keep the leading coefficient in param of
        # each equation (checked against the solver at param = 1e8 below)
        eqs = [_leading_coefficient(e, p) for e in _equations(model)]
        where = _LARGE
    else:
        eqs = [e.subs(p, value) for e in _equations(model)]
        where = float(value)
    cands = sp.solve(eqs, list(model.unknowns), dict=True)
    if not cands:
        raise ValueError(f"{model.name}: sympy found no solution of the equations at {param} = {value}")
    pts = sample_points(model, regime, seed=seed, fixed={param: where})
    cand = _pick_branch(model, cands, pts, rtol=1e-5 if at_infinity else 1e-7)
    fwd, back = _regime_substitution(model, regime)
    res = {}
    names = outputs or (model.unknown_names + model.output_names)
    full = _outputs(model)
    for name in names:
        expr = cand[_unknown(model, name)] if name in model.unknown_names else full[name]
        expr = expr.xreplace(cand)
        expr = sp.limit(expr, p, sp.oo) if at_infinity else expr.subs(p, value)
        pos = _positive(model)
        e2 = sp.simplify(expr.xreplace(fwd).xreplace(pos))
        e2 = sp.simplify(e2.xreplace({v: k for k, v in pos.items()}).xreplace(back))
        res[name] = sp.simplify(e2)
    if check:
        _check_against_solver(model, res, pts, param, where, rtol=1e-5 if at_infinity else 1e-6)
    return res


#: Where a limit at infinity is checked against the solver.
_LARGE = 1e8


def _leading_coefficient(e, p):
    """The coefficient of the highest power of ``p`` in the numerator of the rational function ``e``."""
    num, _den = sp.fraction(sp.together(sp.expand(e)))
    try:
        poly = sp.Poly(sp.expand(num), p)
    except sp.PolynomialError:
        raise ValueError(f"the equation is not rational in {p}; its limit at infinity is not supported") from None
    return sp.factor(poly.LC())


def _unknown(model, name):
    return next(u for u in model.unknowns if u.name == name)


def _check_against_solver(model, res, pts, param, value, rtol=1e-6):
    near = dict(pts)
    near[param] = np.full_like(pts[param], value)  # the solver works at the limit point itself
    sol = solve(model, near, errors="mask")
    for name, expr in res.items():
        f = sp.lambdify(model.parameters, expr, modules="numpy")
        with np.errstate(all="ignore"):
            got = np.broadcast_to(np.asarray(f(*[pts[k] for k in model.parameter_names]), dtype=float),
                                  pts[param].shape)
        ref = np.ma.getdata(getattr(sol, name) if name not in model.unknown_names else sol.unknowns[name])
        ref = np.broadcast_to(np.asarray(ref, dtype=float), got.shape)
        if not np.allclose(got, ref, rtol=rtol, atol=rtol):
            raise ValueError(f"{model.name}: the derived limit of {name} disagrees with the solver "
                             f"near {param} = {value} (max difference {np.max(np.abs(got - ref)):.3g})")


def series(model: FixedPointModel, output: str, param: str, value, order: int = 2,
           regime: Mapping | None = None, *, seed: int = 0) -> sp.Expr:
    """Expansion of ``output`` around ``param = value``, the terms of degree ``< order`` in
    ``param - value`` (sympy's convention: the remainder is ``O((param - value)^order)``), from the
    closed form on the physical branch, simplified under ``regime``.

    Examples:
        >>> from asymptotics.models.ridge import RIDGE
        >>> s = series(RIDGE, "risk", "lam", 0, order=2, regime={"gamma": (0, 1)})
        >>> sp.simplify(s.subs(RIDGE.parameters[1], 0) - limit(RIDGE, "lam", 0, {"gamma": (0, 1)})["risk"])
        0
    """
    p = _param(model, param)
    value = _sym(model, value, "the series point")  # user input is read before any work
    if not value.is_number or not value.is_finite:
        raise ValueError(f"the series point must be a finite number, got {value}")
    order = check_int("order", order, low=1, high=20)
    regime = _regime(model, regime)
    cf = closed_form(model, regime, seed=seed)
    if output not in cf:
        raise ValueError(f"{model.name} has no output {output!r}; outputs are {', '.join(cf)}")
    # the regime selects the branch; the expansion variable itself is not re-parametrized
    fwd, back = _regime_substitution(model, {k: v for k, v in (regime or {}).items() if k != param})
    pos = _positive(model)
    e = cf[output].xreplace(fwd).xreplace(pos)
    ppos = pos.get(p, p)
    h = sp.Symbol("h_series", positive=True)
    s = sp.series(e, ppos, value, order).removeO().subs(ppos, value + h)
    # group the terms by their power of h = param - value and simplify each coefficient
    groups: dict = {}
    for term in sp.Add.make_args(sp.expand(s)):
        c, ex = term.as_coeff_exponent(h)
        groups[ex] = groups.get(ex, 0) + c
    unpos = {v: k for k, v in pos.items()}
    out = 0
    for ex in sorted(groups, key=lambda z: float(z)):
        c = sp.factor(sp.simplify(sp.simplify(groups[ex]).xreplace(unpos).xreplace(back)))
        out += c * (p - value) ** ex
    return out


@dataclass(frozen=True)
class VerifyReport:
    """Result of :func:`verify`.

    Attributes:
        output: the output checked; n_points: points sampled; precision: digits used.
        max_abs_diff, max_rel_diff: the largest discrepancies (as floats).
        worst_point: parameters where the relative discrepancy is largest.
        ok: ``max_rel_diff <= tol``; tol: the threshold used.
    """

    output: str
    n_points: int
    precision: int
    max_abs_diff: float
    max_rel_diff: float
    worst_point: dict
    ok: bool
    tol: float


def verify(model: FixedPointModel, claimed, output: str = "risk", regime: Mapping | None = None, *,
           n_points: int = 20, precision: int = 30, seed: int = 0, tol: float | None = None,
           fixed: Mapping | None = None) -> VerifyReport:
    """Check a claimed closed form of ``output`` against the solved model at high precision.

    Args:
        model: the model.
        claimed: a sympy expression or a string in the model's parameter names.
        output: which output (or unknown) the claim is about.
        regime: parameter intervals where the claim should hold.
        n_points: random points; precision: mpmath digits for the solver and the claim.
        tol: largest relative discrepancy accepted (default ``10**(5 - precision)``).
        fixed: parameters held at given values (e.g. ``{"lam": 0}``).

    Returns:
        A :class:`VerifyReport`.

    Examples:
        >>> from asymptotics.models.ridge import RIDGE
        >>> verify(RIDGE, "sigma2*gamma/(1-gamma)", regime={"gamma": (0, 1)}, fixed={"lam": 0},
        ...        n_points=5).ok
        True
        >>> verify(RIDGE, "sigma2/(1-gamma)", regime={"gamma": (0, 1)}, fixed={"lam": 0},
        ...        n_points=5).ok
        False
    """
    names = set(model.output_names) | set(model.unknown_names)
    if output not in names:
        raise ValueError(f"{model.name} has no output {output!r}; choose one of {', '.join(sorted(names))}")
    local = {p.name: p for p in model.parameters}
    if isinstance(claimed, str):
        # any identifier is read as a symbol (then reported below as unknown); nothing is evaluated
        from ..numerics.expressions import FUNCTIONS, CONSTANTS, names_in
        try:
            extra = {n: sp.Symbol(n) for n in names_in(claimed, name="claimed")
                     if n not in local and n not in FUNCTIONS and n not in CONSTANTS}
            expr = parse_expression(claimed, name="claimed", symbols={**local, **extra})
        except ValueError as e:
            raise ValueError(f"cannot read the claimed expression: {e}") from None
    else:
        expr = _sym(model, claimed, "claimed")
    free = {s.name for s in expr.free_symbols} - set(local)
    if free:
        raise ValueError(f"the claimed expression uses unknown symbols {', '.join(sorted(free))}; "
                         f"parameters are {', '.join(model.parameter_names)}")
    expr = expr.xreplace({s: local[s.name] for s in expr.free_symbols})
    f = sp.lambdify(model.parameters, expr, modules="mpmath")
    precision = check_int("precision", precision, low=15, high=10000)
    n_points = check_int("n_points", n_points, low=1, high=10000)
    regime = _regime(model, regime)
    pts = sample_points(model, regime, n_points=n_points, seed=seed, fixed=fixed)
    sol = solve(model, pts)
    tol = 10.0 ** (5 - precision) if tol is None else tol
    worst = (-1.0, 0.0, {})
    with mpmath.workdps(precision):
        for i in range(n_points):
            point = {k: pts[k][i] for k in model.parameter_names}
            x0 = [float(sol.unknowns[u][i]) for u in model.unknown_names]
            unk, outs = solve_mp(model, point, x0, precision=precision)
            ref = outs[output] if output in outs else unk[output]
            got = f(*[mpmath.mpf(point[k]) for k in model.parameter_names])
            ad = abs(got - ref)
            rd = ad / max(abs(ref), mpmath.mpf(10) ** (-precision))
            if rd > worst[0]:
                worst = (float(rd), float(ad), point)
    return VerifyReport(output=output, n_points=n_points, precision=precision,
                        max_abs_diff=worst[1], max_rel_diff=worst[0],
                        worst_point={k: float(v) for k, v in worst[2].items()},
                        ok=worst[0] <= tol, tol=tol)
