"""The ``asymptotics`` command (also ``python -m asymptotics``).

::

    asymptotics hermite ACTIVATION [--kmax K] [--exact] [--precision P] [--q Q]
    asymptotics risk MODEL --PARAM VALUE ...
    asymptotics curve MODEL --PARAM START:STOP:NUM ... [--plot FILE [--mc]]
    asymptotics check MODEL --PARAM VALUE ... [--d D] [--seeds S]
    asymptotics derive MODEL [--limit PARAM=VALUE] [--series PARAM=VALUE] [--regime NAME]

Every command takes ``--format table|json|csv|markdown|latex``. Flags are the parameter names with
``_`` written ``-``; JSON keys are the parameter names. Errors in the input are reported in one line
(``asymptotics: error: ...``) with exit status 2.
"""
from __future__ import annotations

import argparse
import json
import sys
from tokenize import TokenError

import numpy as np

from . import __version__

FORMATS = ("table", "json", "csv", "markdown", "latex")


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _add_format(p):
    p.add_argument("--format", choices=FORMATS, default="table", help="output format (default: table)")


def _add_model_params(p, entry, sweep_help=False):
    for prm in entry.params:
        default = ("optional" if prm.optional else "required") if prm.default is None else f"default {prm.default}"
        extra = " (START:STOP:NUM[:log] or a,b,c for a sweep)" if sweep_help and prm.kind == "real" else ""
        p.add_argument(_flag(prm.name), dest=prm.name, default=None, metavar="VALUE",
                       help=f"{prm.help}; {default}{extra}")


def _model_values(args, entry):
    return {p.name: getattr(args, p.name) for p in entry.params if getattr(args, p.name) is not None}


def _emit(text: str):
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


# ---------------------------------------------------------------------- hermite
def _cmd_hermite(args):
    from .expansions.hermite import hermite_coefficients
    from .export import format_records
    exp = hermite_coefficients(args.activation, kmax=args.kmax, q=args.q,
                               exact=True if args.exact else None, precision=args.precision)
    d = exp.to_dict()
    if args.format == "json":
        return json.dumps(d, indent=2)
    exact = d.get("exact") or [None] * len(d["coeffs"])
    if args.format == "latex":
        import sympy as sp
        from .export import LatexMath
        rows = [{"k": k, "c_k": c, "exact": (LatexMath(sp.latex(exp.exact[k])) if exp.exact else "")}
                for k, c in enumerate(d["coeffs"])]
    else:
        rows = [{"k": k, "c_k": c, "exact": e or ""} for k, (c, e) in enumerate(zip(d["coeffs"], exact))]
    if not exp.is_exact:
        for r in rows:
            r.pop("exact")
    meta = {"activation": d["activation"], "q": d["q"], "mu0": d["mu0"], "mu1": d["mu1"],
            "mu_star": d["mu_star"], "second_moment": d["second_moment"], "tail": d["tail"],
            "method": d["method"] if exp.is_exact else f"{d['method']} (mpmath, {args.precision} digits)"}
    if args.format in ("csv", "markdown"):
        return format_records(rows, args.format, metadata=meta if args.format == "csv" else None) + (
            "" if args.format == "csv" else "\n" + "\n".join(f"- {k}: {v}" for k, v in meta.items()))
    if args.format == "latex":
        arg = "G" if d["q"] == 1 else f"\\sqrt{{{d['q']:g}}}\\,G"
        cap = (f"Normalized Hermite coefficients $c_k = \\mathbb{{E}}[\\sigma({arg})\\mathrm{{He}}_k(G)]/\\sqrt{{k!}}$, "
               f"$G \\sim \\mathcal{{N}}(0,1)$, of {d['activation']}; $\\mu_0 = {d['mu0']:.10g}$, "
               f"$\\mu_1 = {d['mu1']:.10g}$, $\\mu_\\star = {d['mu_star']:.10g}$.")
        return format_records(rows, "latex", caption=cap, label=f"tab:hermite-{d['activation']}")
    head = "\n".join(f"{k:>14}: {v}" for k, v in meta.items())
    return head + "\n\n" + format_records(rows, "table", digits=args.digits)


# ---------------------------------------------------------------------- risk / curve
def _cmd_risk(args, entry):
    from .curves import evaluate
    from .export import format_records
    recs, meta = evaluate(entry.name, precision=args.precision, **_model_values(args, entry))
    if args.precision:
        recs = [_mp_record(r, args.precision, args.format) for r in recs]
    if args.precision and args.format == "json":
        return json.dumps(recs[0] if len(recs) == 1 else recs, indent=2)
    return format_records(recs, args.format, metadata=meta if args.format == "csv" else None,
                          digits=args.digits)


def _mp_record(rec, precision, fmt):
    """High-precision values: strings of ``precision`` digits in tables; in JSON the nearest double
    under the usual key and the digits under ``"mp"``."""
    import mpmath
    digits = {k: mpmath.nstr(v, precision) for k, v in rec.items() if isinstance(v, mpmath.mpf)}
    if fmt != "json":
        return {**rec, **digits}
    out = {k: float(v) for k, v in rec.items()}
    out["mp"] = digits
    return out


def _cmd_curve(args, entry):
    from .curves import evaluate
    from .export import format_records, plot_curve
    recs, meta = evaluate(entry.name, **_model_values(args, entry))
    axes = meta["axes"]
    if not axes:
        raise ValueError("curve needs at least one swept parameter (e.g. --gamma 0.1:10:200)")
    if len(axes) > 2:
        raise ValueError(f"curve sweeps one or two axes, got {len(axes)}: {', '.join(axes)}")
    if args.mc and not args.plot:
        raise ValueError("--mc adds Monte Carlo points to the plot: give --plot FILE too")
    if args.plot:
        mc = None
        if args.mc:
            mc = _curve_mc(args, entry, recs, axes)
        plot_curve(recs, axes[0], args.y, mc=mc, path=args.plot,
                   series=axes[1] if len(axes) == 2 else None, logx=args.logx, logy=args.logy,
                   title=entry.name)
        meta["plot"] = args.plot
    return format_records(recs, args.format, metadata=meta if args.format == "csv" or args.metadata else None,
                          digits=args.digits)


def _curve_mc(args, entry, recs, axes):
    """Monte Carlo points for a curve: ``--mc-points`` evenly spaced points along the first axis, for
    each value of the second axis; none where the theory is infinite (nothing to compare)."""
    from theory_checks import catalog
    n_x = len({r[axes[0]] for r in recs})
    n_series = len(recs) // n_x
    cols = np.unique(np.linspace(0, n_x - 1, min(n_x, args.mc_points)).round().astype(int))
    # records are in C order over the parameters; find each point's (series, x) position
    order = [entry_p.name for entry_p in entry.params if entry_p.name in axes]
    x_major = order[0] == axes[0]
    idx = [(c * n_series + s) if x_major else (s * n_x + c) for s in range(n_series) for c in cols]
    pts = [recs[i] for i in idx if np.isfinite(recs[i]["risk"])]
    comps = catalog.run_check(entry.name, pts, d=args.d, seeds=args.seeds, seed=args.seed,
                              values=_model_values(args, entry))
    return [{**{a: r[a] for a in axes}, "theory": c.theory, "mc_mean": c.mc_mean, "mc_se": c.mc_se}
            for r, c in zip(pts, comps)]


# ---------------------------------------------------------------------- check
_LADDER_HELP = {
    "ridge-spectrum": "size factors of the finite-size ladder: the spectrum replicated (integer "
                      "factors) or resampled at its quantiles, n scaled alike; one value = a single "
                      "size (default: 1,2,4,8, or 1,2,3,4, or 0.125..1, as the cost allows)",
    "kernel-ridge": "dimensions of the finite-size ladder (n scaled to keep its place relative to the "
                    "spectrum's multiplicities); one value = a single size (default: d, 2 d, 4 d, 8 d, or "
                    "d .. 2.83 d, while n <= 2000, else 0.35 d .. d)",
    "nt": "dimensions of the finite-size ladder (n as for kernel-ridge, N = ceil(N0 n_i/n)); one value "
          "= a single size (default as kernel-ridge)",
    "nt-staircase": "scale factors t of the finite-size ladder (d_i = t d, N_i = t N); one value = a "
                    "single size (default 0.5,0.71,1)",
}


def _add_check_args(pm, entry):
    """The simulation arguments of ``check MODEL``."""
    from theory_checks.ladder import DEFAULT_MAX_SECONDS, DEFAULT_SEEDS
    if not any(prm.name == "d" for prm in entry.params):  # else the model's own d is the point's
        pm.add_argument("--d", default=None, metavar="D[,D2,...]",
                        help="dimensions of the simulation: a list is the finite-size ladder, one value "
                             "a single size (no finite-size correction); default: the model's ladder")
    if entry.name in _LADDER_HELP:
        pm.add_argument("--ladder", default=None, metavar="LIST", help=_LADDER_HELP[entry.name])
    pm.add_argument("--seeds", type=int, default=DEFAULT_SEEDS,
                    help=f"seeds per size to start with (default {DEFAULT_SEEDS})")
    pm.add_argument("--seed", type=int, default=0, help="base random seed")
    pm.add_argument("--resolution", default=None, metavar="R",
                    help="target relative half-width of each interval, e.g. 1%% or 0.01: seeds are added "
                         "until every point meets it or a budget runs out")
    pm.add_argument("--max-seconds", type=float, default=None, metavar="T",
                    help=f"simulation budget per point, seconds of wall time (default "
                         f"{DEFAULT_MAX_SECONDS:g} with --resolution); the ridge values of one parameter "
                         f"point share their draws and pool their budgets")
    pm.add_argument("--max-seeds", type=int, default=None, metavar="S",
                    help="at most this many seeds per size (with --resolution)")
    pm.add_argument("--level", type=float, default=0.95, metavar="L",
                    help="confidence level of each point's interval (default 0.95)")
    pm.add_argument("--plot", metavar="FILE", default=None,
                    help="draw the finite-size scaling plot (png/pdf/svg)")


def _int_list(text, flag):
    items = [v.strip() for v in str(text).split(",")]
    try:
        vals = [int(v) for v in items]
    except ValueError:
        raise ValueError(f"{flag} takes integers separated by commas, got {text!r}") from None
    return vals


def _float_list(text, flag):
    items = [v.strip() for v in str(text).split(",")]
    try:
        vals = [float(v) for v in items]
    except ValueError:
        raise ValueError(f"{flag} takes numbers separated by commas, got {text!r}") from None
    if not all(v > 0 and np.isfinite(v) for v in vals):
        raise ValueError(f"{flag} takes positive numbers, got {text!r}")
    return vals


def _check_sizes(args, entry):
    """``(d, ladder)`` for :func:`theory_checks.catalog.run_check` from ``--d`` / ``--ladder``."""
    d = ladder = None
    if getattr(args, "ladder", None) is not None:
        parse = _int_list if entry.name in ("kernel-ridge", "nt") else _float_list
        ladder = parse(args.ladder, "--ladder")
    elif entry.name in ("kernel-ridge", "nt", "ridge-spectrum", "nt-staircase"):
        d = None
    if not any(prm.name == "d" for prm in entry.params) and getattr(args, "d", None) is not None:
        d = _int_list(args.d, "--d")
        if any(v < 2 for v in d):
            raise ValueError(f"--d takes dimensions >= 2, got {args.d!r}")
        if len(set(d)) != len(d):
            raise ValueError(f"--d: the ladder's dimensions must be distinct, got {args.d!r}")
        d = d[0] if len(d) == 1 else sorted(d)
    return d, ladder


def _check_rows(checks, fmt, digits):
    if fmt == "json":
        return [c.to_record(lists=True) for c in checks]
    rows = [c.to_record(digits=None if fmt == "csv" else min(digits, 5)) for c in checks]
    if fmt != "csv":  # the human tables: the per-size theories and integers stay in JSON/CSV
        for r in rows:
            for k in [k for k in r if k == "theories" or k.endswith("_sim")]:
                r.pop(k)
    return rows


def _check_summary(checks, args, runs, entry_name=""):
    from theory_checks.compare import method_text
    counts = {v: sum(c.verdict == v for c in checks) for v in ("agree", "disagree", "inconclusive", "diverges")}
    parts = [f"{counts['agree']} of {len(checks)} points agree"]
    for v, word in (("disagree", "disagree"), ("inconclusive", "inconclusive (budget ran out)"),
                    ("diverges", "diverge (theory +inf, not compared)")):
        if counts[v]:
            parts.append(f"{counts[v]} {word}")
    sizes = sorted({tuple(c.sizes) for c in checks})
    sym = "p" if entry_name == "ridge-spectrum" else "d"
    ladder = "; ".join(f"{sym} = " + ", ".join(str(v) for v in s) for s in sizes[:3]) + \
        ("; ..." if len(sizes) > 3 else "")
    seeds = [s for c in checks for s in c.seeds]
    per_size = f"{seeds[0]} seeds per size" if min(seeds) == max(seeds) else \
        f"{min(seeds)}-{max(seeds)} seeds per size"
    what = "dimension p of the spectrum" if entry_name == "ridge-spectrum" else "sizes"
    text = f"{', '.join(parts)}. Method: {method_text(checks)}. {what.capitalize()}: {ladder}; {per_size}"
    if args.resolution is not None:
        met = all(r.met for r in runs)
        spent = max((r.elapsed for r in runs), default=0.0)
        text += (f"; resolution target {args._resolution:.3g}: {'met' if met else 'NOT met'} "
                 f"(longest point group {spent:.0f} s of simulation)")
    if any(c.fit is not None and c.theory == 0 for c in checks):
        text += "; where the theory is 0, resolution is the absolute half-width"
    return text + "."


def _cmd_check(args, entry):
    from theory_checks import catalog
    from theory_checks.ladder import parse_resolution, plot_scaling
    from .curves import evaluate
    from .export import format_records
    args._resolution = None if args.resolution is None else parse_resolution(args.resolution)
    if args.seeds < 2:
        raise ValueError(f"--seeds must be >= 2, got {args.seeds}")
    if args.max_seconds is not None and not (args.max_seconds > 0 and np.isfinite(args.max_seconds)):
        raise ValueError(f"--max-seconds must be > 0, got {args.max_seconds:g}")
    if args.max_seeds is not None and args.max_seeds < args.seeds:
        raise ValueError(f"--max-seeds must be >= --seeds ({args.seeds}), got {args.max_seeds}")
    if args.plot:
        import os
        if os.path.splitext(args.plot)[1].lower() not in (".png", ".pdf", ".svg"):
            raise ValueError(f"--plot must end in .png, .pdf or .svg, got {args.plot!r}")
    if not (0.5 <= args.level < 1.0):
        raise ValueError(f"--level must be >= 0.5 and < 1, got {args.level:g}")
    d, ladder = _check_sizes(args, entry)
    recs, meta = evaluate(entry.name, **_model_values(args, entry))
    runs: list = []
    checks = catalog.run_check(entry.name, recs, d=d, ladder=ladder, seeds=args.seeds, seed=args.seed,
                               values=_model_values(args, entry), resolution=args._resolution,
                               max_seconds=args.max_seconds, max_seeds=args.max_seeds, level=args.level,
                               runs_out=runs)
    from theory_checks.compare import method_text
    meta.update(method=method_text(checks), level=args.level,
                seeds=args.seeds, seed=args.seed, resolution_target=args._resolution,
                max_seconds=args.max_seconds, max_seeds=args.max_seeds,
                target_met=None if args._resolution is None else all(r.met for r in runs))
    if args.plot:
        plot_scaling(checks, args.plot, title=f"check {entry.name}")
        meta["plot"] = args.plot
    rows = _check_rows(checks, args.format, args.digits)
    n_bad = sum(c.verdict == "disagree" for c in checks)
    args._exit = 1 if n_bad else 0
    if args.format == "json":
        return json.dumps(rows[0] if len(rows) == 1 else rows, indent=None)
    text = format_records(rows, args.format, metadata=meta if args.format == "csv" else None,
                          digits=args.digits)
    if args.format in ("table", "markdown"):
        text += "\n" + _check_summary(checks, args, runs, entry.name)
    return text


# ---------------------------------------------------------------------- derive
def _parse_assignment(text, what):
    if "=" not in text:
        raise ValueError(f"--{what} takes PARAM=VALUE, got {text!r}")
    k, _, v = text.partition("=")
    import sympy as sp
    try:
        value = sp.sympify(v.strip())
    except (sp.SympifyError, SyntaxError, TypeError, TokenError):
        raise ValueError(f"--{what}: cannot read the value {v.strip()!r}") from None
    if not value.is_number:
        raise ValueError(f"--{what}: the value must be a number, got {v.strip()!r}")
    return k.strip(), value


def _cmd_derive(args, entry):
    import sympy as sp
    from .engine import derive
    model = entry.symbolic
    if model is None:
        raise ValueError(f"{entry.name} has no symbolic model")
    regimes = dict(model.regimes) or {"all": {}}
    if args.regime:
        if args.regime not in regimes:
            raise ValueError(f"unknown regime {args.regime!r} for {entry.name}; choose one of {', '.join(regimes)}")
        regimes = {args.regime: regimes[args.regime]}
    blocks = []  # (title, name, expr)
    blocks.append(("fixed-point equations and outputs", None, model.latex()))
    if not model.traces and not args.limit and not args.series and entry.extra.get("closed_form", True):
        for rname, reg in regimes.items():
            try:
                cf = derive.closed_form(model, reg)
            except ValueError:
                continue
            for k in model.unknown_names + ("risk",):
                blocks.append(("closed form", k, cf[k]))
            break
    if args.limit or (not args.series and not model.traces):
        param, value = _parse_assignment(args.limit, "limit") if args.limit else _default_limit(model)
        witnesses = entry.extra.get("limit_witnesses", {})
        usable = {}
        for rname, reg in regimes.items():
            iv = reg.get(param)
            if iv is not None and ((sp.sympify(iv[0]) <= value) & (value <= sp.sympify(iv[1]))) in (sp.false, False):
                continue  # e.g. psi1 -> oo in the regime psi1 < psi2
            usable[rname] = reg
        for rname, reg in (usable or {"all": {}}).items():
            lim = derive.limit(model, param, value, reg)
            present = entry.extra.get("present", lambda e: e)  # the paper's variables (e.g. zeta)
            for k in model.unknown_names + ("chi", "risk", "bias", "variance"):
                if k in lim:
                    blocks.append((f"limit {param} -> {value} ({rname})", k, present(lim[k])))
            w = witnesses.get((param, str(value), rname))
            if w is not None:
                same = sp.simplify(lim["risk"] - w) == 0
                blocks.append((f"limit {param} -> {value} ({rname})", "agrees with the published form",
                               sp.true if same else sp.false))
    if args.series:
        param, value = _parse_assignment(args.series, "series")
        for rname, reg in regimes.items():
            s = derive.series(model, "risk", param, value, order=args.order, regime=reg)
            blocks.append((f"series of risk at {param} = {value} to order {args.order} ({rname})", "risk", s))
    return _format_derivation(entry, model, blocks, args.format)


def _default_limit(model):
    import sympy as sp
    if "lam" in model.parameter_names:
        return "lam", sp.Integer(0)
    raise ValueError("give --limit PARAM=VALUE")


def _format_derivation(entry, model, blocks, fmt):
    from .engine.fixedpoint import latex, latex_name
    rows = []
    for title, name, expr in blocks:
        if name is None:
            rows.append({"what": title, "name": "", "sympy": "", "latex": expr})
        else:
            rows.append({"what": title, "name": name, "sympy": str(expr), "latex": latex(expr)})
    if fmt == "json":
        return json.dumps({"model": entry.name, "source": model.source, "derivations": rows}, indent=2)
    if fmt == "latex":
        out = [f"% {entry.name}: {model.source}", rows[0]["latex"]]
        for r in rows[1:]:
            out.append(f"% {r['what']}\n\\[ {latex_name(r['name'])} = {r['latex']} \\]"
                       if r["name"] and not r["name"].startswith("agrees") else f"% {r['what']}: {r['name']} {r['sympy']}")
        return "\n".join(out)
    if fmt in ("markdown", "csv"):
        from .export import format_records
        return format_records(rows, fmt)
    out = [f"{entry.name}: {entry.description}", f"source: {model.source}", "", rows[0]["latex"], ""]
    for r in rows[1:]:
        out.append(f"[{r['what']}] {r['name']} = {r['sympy']}")
        if not r["name"].startswith("agrees"):
            out.append(f"    LaTeX: {r['latex']}")
    return "\n".join(out)


# ---------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    from .curves import MODELS
    parser = argparse.ArgumentParser(
        prog="asymptotics",
        description="Exact high-dimensional theory of linearized neural networks.")
    parser.add_argument("--version", action="version", version=f"asymptotics {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    ph = sub.add_parser("hermite", help="Hermite coefficients of an activation")
    ph.add_argument("activation", help="relu, abs, sign, step, erf, exp, sin, cos, relu2, tanh, "
                    "softplus, sigmoid, gelu, silu, ...")
    ph.add_argument("--kmax", type=int, default=10, help="largest degree k (default 10)")
    ph.add_argument("--exact", action="store_true", help="require exact (symbolic) coefficients")
    ph.add_argument("--precision", type=int, default=30, help="digits of the quadrature (default 30)")
    ph.add_argument("--q", type=float, default=1.0, help="variance of the Gaussian input (default 1)")
    ph.add_argument("--digits", type=int, default=12, help="significant digits in tables")
    _add_format(ph)

    for cmd, helptext in (("risk", "the risk at one point (or a small grid)"),
                          ("curve", "a sweep over one or two parameters"),
                          ("check", "theory vs Monte Carlo simulation"),
                          ("derive", "symbolic equations, closed forms, limits and series")):
        pc = sub.add_parser(cmd, help=helptext)
        msub = pc.add_subparsers(dest="model", required=True, metavar="MODEL")
        for name, entry in MODELS.items():
            pm = msub.add_parser(name, help=entry.description)
            _add_format(pm)
            if cmd != "derive":
                _add_model_params(pm, entry, sweep_help=cmd in ("curve", "check"))
                pm.add_argument("--digits", type=int, default=8, help="significant digits in tables")
            if cmd == "risk":
                pm.add_argument("--precision", type=int, default=None,
                                help="re-solve in mpmath at this many digits")
            if cmd == "curve":
                pm.add_argument("--plot", metavar="FILE", help="draw the curve (png/pdf/svg)")
                pm.add_argument("--y", default="risk", help="quantity on the y axis (default risk)")
                pm.add_argument("--logx", action="store_true")
                pm.add_argument("--logy", action="store_true")
                pm.add_argument("--metadata", action="store_true",
                                help="JSON: wrap as {metadata, records}; tables: print the metadata")
                pm.add_argument("--mc", action="store_true", help="add Monte Carlo points to the plot")
                pm.add_argument("--mc-points", type=int, default=12,
                                help="MC points per curve (per value of the second axis)")
            if cmd == "curve":
                if not any(prm.name == "d" for prm in entry.params):  # else the model's own d is used
                    pm.add_argument("--d", type=int, default=400,
                                    help="dimension of the simulation (default 400)")
                pm.add_argument("--seeds", type=int, default=20, help="independent draws (default 20)")
                pm.add_argument("--seed", type=int, default=0, help="base random seed")
            if cmd == "check":
                _add_check_args(pm, entry)
            if cmd == "derive":
                pm.add_argument("--limit", metavar="PARAM=VALUE", help="e.g. lam=0")
                pm.add_argument("--series", metavar="PARAM=VALUE", help="e.g. lam=0")
                pm.add_argument("--order", type=int, default=2, help="order of --series (default 2)")
                pm.add_argument("--regime", help="one named regime (e.g. 'gamma<1')")
        if cmd == "check":
            _add_experiments(msub)
    return parser


def _experiment_names():
    from theory_checks.experiments import EXPERIMENTS
    return EXPERIMENTS


def _add_experiments(msub):
    """``check NAME`` for the finite-width experiments of :mod:`theory_checks.experiments`."""
    from theory_checks.experiments import EXPERIMENTS, get_experiment
    for name in EXPERIMENTS:
        exp = get_experiment(name)
        pm = msub.add_parser(name, help=exp.description)
        _add_format(pm)
        pm.add_argument("--digits", type=int, default=6, help="significant digits in tables")
        for opt in exp.options:
            shown = ",".join(map(str, opt.default)) if opt.many else opt.default
            pm.add_argument(_flag(opt.name), dest=opt.name, type=opt.parse, default=opt.default,
                            metavar="LIST" if opt.many else "VALUE", help=f"{opt.help} (default {shown})")


def _cmd_experiment(args):
    from theory_checks.experiments import get_experiment
    from .export import format_records
    exp = get_experiment(args.model)
    report = exp.run(**{opt.name: getattr(args, opt.name) for opt in exp.options})
    args._exit = 0 if report.passed else 1
    if args.format == "json":
        return json.dumps({"experiment": exp.name, "passed": bool(report.passed), "summary": report.summary,
                           "metadata": report.metadata, "records": report.records}, indent=2, default=str)
    text = format_records(report.records, args.format,
                          metadata=report.metadata if args.format == "csv" else None, digits=args.digits)
    if args.format in ("table", "markdown"):
        text += f"\n{'PASSED' if report.passed else 'FAILED'}: {report.summary}"
    return text


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args._exit = 0
    try:
        if args.command == "hermite":
            text = _cmd_hermite(args)
        elif args.command == "check" and args.model in _experiment_names():
            text = _cmd_experiment(args)
        else:
            from .curves import get_model
            entry = get_model(args.model)
            text = {"risk": _cmd_risk, "curve": _cmd_curve, "check": _cmd_check,
                    "derive": _cmd_derive}[args.command](args, entry)
    except ValueError as e:
        parser.exit(2, f"asymptotics: error: {e}\n")
    except ImportError as e:
        parser.exit(2, f"asymptotics: error: {e}\n")
    _emit(text)
    return args._exit


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
