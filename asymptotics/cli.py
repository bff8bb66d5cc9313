"""The ``asymptotics`` command (also ``python -m asymptotics``).

::

    asymptotics hermite ACTIVATION [--kmax K] [--exact] [--precision P] [--q Q]
    asymptotics risk MODEL --PARAM VALUE ...
    asymptotics curve MODEL --PARAM START:STOP:NUM ... [--plot FILE [--mc]]
    asymptotics check MODEL --PARAM VALUE ... [--d D] [--seeds S]
    asymptotics derive MODEL [--limit PARAM=VALUE] [--series PARAM=VALUE] [--regime REGIME]
    asymptotics verify MODEL --claim EXPR [--output NAME] [--regime REGIME] [--fixed PARAM=VALUE,...]

Every command takes ``--format table|json|csv|markdown|latex``. Flags are the parameter names with
``_`` written ``-``; JSON keys are the parameter names. Flags are never abbreviated (``--gam`` is an
error, not ``--gamma``). Errors in the input are reported in one line (``asymptotics: error: ...``)
with exit status 2, before any computation. No user text is evaluated as Python: values, limits,
regimes and claims are read by :mod:`asymptotics.numerics.expressions`.

A point of ``risk``/``curve`` where the solver fails keeps its row (empty outputs, its ``status`` says
why) and a one-line warning goes to stderr; the exit status is 0 unless every point failed (then 1).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys

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
def _activation_arg(text: str):
    """A registry name, else a sympy expression in ``x`` (read by the whitelist parser)."""
    from .activations import SYMBOL, get_activation
    try:
        return get_activation(text)
    except ValueError as e:
        from .numerics.expressions import names_in, parse_expression
        try:
            names = names_in(text, name="ACTIVATION")
        except ValueError:
            raise e from None
        if names != ["x"] and not (names == [] and any(c in text for c in "+-*/^(")):
            raise e from None
        return parse_expression(text, name="ACTIVATION", symbols=[SYMBOL])


def _cmd_hermite(args):
    import mpmath
    from .expansions.hermite import hermite_coefficients
    from .export import format_records
    mp_digits = args.precision  # given: print that many digits (JSON: doubles plus "mp")
    exp = hermite_coefficients(_activation_arg(args.activation), kmax=args.kmax, q=args.q,
                               exact=True if args.exact else None,
                               precision=30 if args.precision is None else args.precision)
    d = exp.to_dict()

    def mp(v):
        return mpmath.nstr(v, mp_digits, min_fixed=-mp_digits, max_fixed=mp_digits) if mp_digits else None

    mp_summary = None
    if mp_digits:
        mp_summary = {"mu0": mp(exp.mp_mu0), "mu1": mp(exp.mp_mu1), "mu_star": mp(exp.mp_mu_star),
                      "second_moment": mp(exp.mp_second_moment), "tail": mp(exp.mp_tail),
                      "coeffs": [mp(c) for c in exp.mp_coeffs]}
    if args.format == "json":
        if mp_summary:
            d["mp"] = mp_summary
        return json.dumps(d, indent=2)
    exact = d.get("exact") or [None] * len(d["coeffs"])
    shown = mp_summary["coeffs"] if mp_summary else d["coeffs"]
    if args.format == "latex":
        import sympy as sp
        from .export import LatexMath
        rows = [{"k": k, "c_k": c, "exact": (LatexMath(sp.latex(exp.exact[k])) if exp.exact else "")}
                for k, c in enumerate(shown)]
    else:
        rows = [{"k": k, "c_k": c, "exact": e or ""} for k, (c, e) in enumerate(zip(shown, exact))]
    if not exp.is_exact:
        for r in rows:
            r.pop("exact")
    summary = mp_summary or d
    meta = {"activation": d["activation"], "q": d["q"], "mu0": summary["mu0"], "mu1": summary["mu1"],
            "mu_star": summary["mu_star"], "second_moment": summary["second_moment"], "tail": summary["tail"],
            "method": d["method"] if exp.is_exact else f"{d['method']} (mpmath, {exp.precision} digits)"}
    if mp_digits:
        meta["digits"] = f"{mp_digits} significant digits (mpmath)"
    if args.format in ("csv", "markdown"):
        return format_records(rows, args.format, metadata=meta if args.format == "csv" else None) + (
            "" if args.format == "csv" else "\n" + "\n".join(f"- {k}: {v}" for k, v in meta.items()))
    if args.format == "latex":
        arg = "G" if d["q"] == 1 else f"\\sqrt{{{d['q']:g}}}\\,G"
        fmt = (lambda v: v) if mp_digits else (lambda v: f"{v:.10g}")
        cap = (f"Normalized Hermite coefficients $c_k = \\mathbb{{E}}[\\sigma({arg})\\mathrm{{He}}_k(G)]/\\sqrt{{k!}}$, "
               f"$G \\sim \\mathcal{{N}}(0,1)$, of {d['activation']}; $\\mu_0 = {fmt(summary['mu0'])}$, "
               f"$\\mu_1 = {fmt(summary['mu1'])}$, $\\mu_\\star = {fmt(summary['mu_star'])}$.")
        return format_records(rows, "latex", caption=cap, label=f"tab:hermite-{d['activation']}")
    head = "\n".join(f"{k:>14}: {v}" for k, v in meta.items())
    return head + "\n\n" + format_records(rows, "table", digits=args.digits)


# ---------------------------------------------------------------------- risk / curve
_SOLVED = ("ok", "exact")


def _solved(rec) -> bool:
    st = rec.get("status", "ok")
    return st in _SOLVED or str(st).startswith("re-solved")


def _report_failures(args, recs, params):
    """One stderr line summarizing failed points; exit status 1 if every point failed."""
    bad = [r for r in recs if not _solved(r)]
    if not bad:
        return
    first = bad[0]
    varying = [k for k in params if len({r.get(k) for r in recs}) > 1] or params
    where = ", ".join(f"{k}={first[k]:g}" for k in varying if isinstance(first.get(k), float))
    sys.stderr.write(f"asymptotics: warning: {len(bad)} of {len(recs)} points could not be solved; their "
                     f"outputs are empty (first: {where}: {first.get('status')})\n")
    if len(bad) == len(recs):
        args._exit = 1


def _cmd_risk(args, entry):
    from .curves import evaluate
    from .export import format_records
    recs, meta = evaluate(entry.name, precision=args.precision, **_model_values(args, entry))
    _report_failures(args, recs, [p.name for p in entry.params])
    if args.precision:
        recs = [_mp_record(r, args.precision, args.format) for r in recs]
    if args.precision and args.format == "json":
        return json.dumps(recs[0] if len(recs) == 1 else recs, indent=2)
    return format_records(recs, args.format, metadata=meta if args.format == "csv" else None,
                          digits=args.digits)


def _mp_record(rec, precision, fmt):
    """High-precision values: strings of ``precision`` digits in tables; in JSON the nearest double
    under the usual key and the digits under ``"mp"``. Text and empty values are kept as they are."""
    import mpmath
    digits = {k: mpmath.nstr(v, precision) for k, v in rec.items() if isinstance(v, mpmath.mpf)}
    if fmt != "json":
        return {**rec, **digits}
    out = {k: (float(v) if isinstance(v, mpmath.mpf) else v) for k, v in rec.items()}
    out["mp"] = digits
    return out


def _check_plot_path(path):
    """The figure's file must be writable with a known format: checked before any computation."""
    from .export import _PLOT_FORMATS
    if os.path.isdir(path):
        raise ValueError(f"--plot: {path!r} is a directory; give a file name")
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in _PLOT_FORMATS:
        raise ValueError(f"--plot: the file must end in one of {', '.join(_PLOT_FORMATS)}, got {path!r}")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ValueError(f"--plot: the directory {folder!r} does not exist")
    if not os.access(folder, os.W_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        raise ValueError(f"--plot: cannot write {path!r} (permission denied)")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ImportError("--plot needs matplotlib: pip install asymptotics[plot]") from None


def _swept(entry, values):
    """The parameters given as sweeps (more than one value), read as :func:`evaluate` reads them."""
    from .curves import parse_axis
    out = []
    for p in entry.params:
        v = values.get(p.name)
        if p.kind == "real" and isinstance(v, str):
            try:
                if parse_axis(v).size > 1:
                    out.append(p.name)
            except ValueError as e:
                raise ValueError(f"{p.name}: {e}") from None
    return out


def _mc_values(args, entry, values, axes):
    """The parameter values the Monte Carlo points of a curve will use (see :func:`_curve_mc`)."""
    from .curves import parse_axis
    x = parse_axis(values[axes[0]])
    cols = np.unique(np.linspace(0, x.size - 1, min(x.size, args.mc_points)).round().astype(int))
    return {**values, axes[0]: x[cols]}


def _cmd_curve(args, entry):
    from ._validation import check_int
    from .curves import check_simulation_sizes, evaluate
    from .export import format_records, plot_curve
    values = _model_values(args, entry)
    # everything that can be refused is refused before the theory is computed
    axes = _swept(entry, values)
    if not axes:
        raise ValueError("curve needs at least one swept parameter (e.g. --gamma 0.1:10:200)")
    if len(axes) > 2:
        raise ValueError(f"curve sweeps one or two axes, got {len(axes)}: {', '.join(axes)}")
    if args.mc and not args.plot:
        raise ValueError("--mc adds Monte Carlo points to the plot: give --plot FILE too")
    prefixes = entry.extra.get("column_prefixes", ())
    if args.y not in entry.columns and not (prefixes and args.y.startswith(prefixes)):
        numeric = [c for c in entry.columns if c not in ("kernel", "activation", "energy")]
        raise ValueError(f"--y: {args.y!r} is not a column of {entry.name}; choose one of {', '.join(numeric)}")
    if args.plot:
        _check_plot_path(args.plot)
    if args.mc:
        args.mc_points = check_int("--mc-points", args.mc_points, low=1, high=1000)
        # the sizes _curve_mc will simulate (its d: one size; a model's own d is its point's size)
        check_simulation_sizes(entry.name, _mc_values(args, entry, values, axes), d=args.d,
                               seeds=args.seeds, seed=args.seed)
    recs, meta = evaluate(entry.name, **values)
    axes = meta["axes"]
    _report_failures(args, recs, [p.name for p in entry.params])
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
    each value of the second axis; none where the theory is infinite or was not solved (nothing to
    compare)."""
    from theory_checks import catalog
    n_x = len({r[axes[0]] for r in recs})
    n_series = len(recs) // n_x
    cols = np.unique(np.linspace(0, n_x - 1, min(n_x, args.mc_points)).round().astype(int))
    # records are in C order over the parameters; find each point's (series, x) position
    order = [entry_p.name for entry_p in entry.params if entry_p.name in axes]
    x_major = order[0] == axes[0]
    idx = [(c * n_series + s) if x_major else (s * n_x + c) for s in range(n_series) for c in cols]
    pts = [recs[i] for i in idx if recs[i]["risk"] is not None and np.isfinite(recs[i]["risk"])]
    if not pts:
        return []
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
                    help=f"simulation budget per point, seconds of simulation time (the units' own times; default "
                         f"{DEFAULT_MAX_SECONDS:g} with --resolution); the ridge values of one parameter "
                         f"point share their draws and pool their budgets; refused without --resolution")
    pm.add_argument("--max-seeds", type=int, default=None, metavar="S",
                    help="at most this many seeds per size (default 100000 with --resolution; refused without it)")
    pm.add_argument("--level", type=float, default=0.95, metavar="L",
                    help="confidence level of each point's interval (default 0.95)")
    pm.add_argument("--plot", metavar="FILE", default=None,
                    help="draw the finite-size scaling plot (png/pdf/svg)")


#: Flags that change how a result is shown or run, not what is computed: they are not part of the
#: arguments a results store is bound to.
_NOT_COMPUTATION = frozenset({"format", "digits", "plot", "metadata", "quiet", "store", "no_store",
                              "workers", "dask", "y", "logx", "logy"})


def _add_run_args(pm):
    """``--store/--no-store/--workers/--dask/--quiet`` of the long verbs."""
    g = pm.add_argument_group("running: results store, workers, progress")
    g.add_argument("--store", metavar="PATH", default=None,
                   help="SQLite results store: every finished unit of work is written there at once, and "
                        "a rerun with the same arguments computes only what is missing (default: "
                        "asymptotics-COMMAND-MODEL-HASH.db in the working directory, or in "
                        "$ASYMPTOTICS_STORE_DIR; HASH names the arguments)")
    g.add_argument("--no-store", action="store_true", help="keep no results store")
    g.add_argument("--workers", type=int, default=None, metavar="N",
                   help="run the units in N local processes (default: in-process); every unit runs with "
                        "one BLAS thread, so the results are identical for any N")
    g.add_argument("--dask", metavar="local|ADDRESS", default=None,
                   help="run the units on Dask: 'local' starts a LocalCluster (--workers processes, "
                        "default one per core), an address (tcp://host:8786) connects to a scheduler; "
                        'needs pip install "asymptotics[dask]"')
    g.add_argument("--quiet", action="store_true",
                   help="no progress bar (shown on stderr, with rate and ETA, for runs longer than 2 s "
                        "when stderr is a terminal)")


def _store_arguments(args) -> dict:
    return {k: v for k, v in sorted(vars(args).items())
            if not k.startswith("_") and k not in _NOT_COMPUTATION}


def _make_runner(args):
    """The :class:`theory_checks.runner.Runner` of a long verb (``None`` for the others), with its
    store opened (and checked against these arguments) before any work."""
    if not hasattr(args, "no_store"):
        return None
    if args.command == "curve" and not getattr(args, "mc", False):
        return None   # a theory curve has no units of work
    import hashlib
    from theory_checks.runner import Runner, Store, canonical, make_backend
    if args.store is not None and args.no_store:
        raise ValueError("--store and --no-store exclude each other")
    arguments = _store_arguments(args)
    command = f"asymptotics {args.command} {args.model}"
    backend = make_backend(args.workers, args.dask)   # validated before a store file is made
    store = None
    if not args.no_store:
        path = args.store
        if path is None:
            digest = hashlib.sha256(canonical(arguments).encode()).hexdigest()[:10]
            path = os.path.join(os.environ.get("ASYMPTOTICS_STORE_DIR", "."),
                                f"asymptotics-{args.command}-{args.model}-{digest}.db")
        store = Store(path, arguments, command=command + " " + canonical(arguments))
    return Runner(store, backend, progress=None if not args.quiet else False,
                  desc=f"{args.command} {args.model}")


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
    for v, word in (("disagree", "disagree"), ("inconclusive", "inconclusive (resolution >= 1, or target not met)"),
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
    from .curves import check_simulation_sizes, evaluate
    from .export import format_records
    args._resolution = None if args.resolution is None else parse_resolution(args.resolution)
    if args.seeds < 2:
        raise ValueError(f"--seeds must be >= 2, got {args.seeds}")
    if args.max_seconds is not None and not (args.max_seconds > 0 and np.isfinite(args.max_seconds)):
        raise ValueError(f"--max-seconds must be > 0, got {args.max_seconds:g}")
    # a budget without a target would have no effect (every size gets exactly --seeds): refused, not
    # ignored, so no run looks budgeted that was not
    for flag, value in (("--max-seconds", args.max_seconds), ("--max-seeds", args.max_seeds)):
        if value is not None and args._resolution is None:
            raise ValueError(f"{flag} is a budget for --resolution and has no effect without it; give "
                             f"--resolution R or leave out {flag}")
    if args.max_seeds is not None and args.max_seeds < args.seeds:
        raise ValueError(f"--max-seeds must be >= --seeds ({args.seeds}), got {args.max_seeds}")
    if args.plot:
        _check_plot_path(args.plot)
    if not (0.5 <= args.level < 1.0):
        raise ValueError(f"--level must be >= 0.5 and < 1, got {args.level:g}")
    d, ladder = _check_sizes(args, entry)
    values = _model_values(args, entry)
    # every size of the ladder the check will simulate is refused before the theory is computed
    # (the point groups are built, and their sizes validated, by the ladder code itself)
    check_simulation_sizes(entry.name, values, d=d, ladder=ladder, seeds=args.seeds, seed=args.seed)
    recs, meta = evaluate(entry.name, **values)
    unsolved = [r for r in recs if not _solved(r)]
    if unsolved:
        raise ValueError(f"the theory could not be solved at {len(unsolved)} of {len(recs)} points "
                         f"(first: {unsolved[0].get('status')}); there is nothing to compare there")
    runs: list = []
    from theory_checks.runner import Interrupted
    try:
        checks = catalog.run_check(entry.name, recs, d=d, ladder=ladder, seeds=args.seeds, seed=args.seed,
                                   values=values, resolution=args._resolution,
                                   max_seconds=args.max_seconds, max_seeds=args.max_seeds, level=args.level,
                                   runs_out=runs)
    except Interrupted as e:
        done = [c for c in (e.partial or []) if c is not None]
        if done and args.format in ("table", "markdown", "csv"):
            e.text = (f"PARTIAL (interrupted): {len(done)} of {len(recs)} points\n"
                      + format_records(_check_rows(done, args.format, args.digits), args.format,
                                       digits=args.digits))
        elif done and args.format == "json":
            e.text = json.dumps({"partial": True, "points": len(recs),
                                 "records": _check_rows(done, "json", args.digits)})
        raise
    from theory_checks.compare import method_text
    from theory_checks.ladder import DEFAULT_MAX_SECONDS, DEFAULT_MAX_SEEDS
    target = args._resolution is not None
    meta.update(method=method_text(checks), level=args.level,
                seeds=args.seeds, seed=args.seed, resolution_target=args._resolution,
                # the effective budgets (the defaults apply with a target)
                max_seconds=(DEFAULT_MAX_SECONDS if args.max_seconds is None else args.max_seconds) if target
                else None,
                max_seeds=(DEFAULT_MAX_SEEDS if args.max_seeds is None else args.max_seeds) if target else None,
                target_met=None if args._resolution is None else all(r.met for r in runs))
    if args.plot:
        plot_scaling(checks, args.plot, title=f"check {entry.name}")
        meta["plot"] = args.plot
    rows = _check_rows(checks, args.format, args.digits)
    # exit 0 only if every point agrees: disagree, inconclusive and diverges rows never count as agreeing
    args._exit = 0 if all(c.verdict == "agree" for c in checks) else 1
    if args.format == "json":
        return json.dumps(rows[0] if len(rows) == 1 else rows, indent=None)
    text = format_records(rows, args.format, metadata=meta if args.format == "csv" else None,
                          digits=args.digits)
    if args.format in ("table", "markdown"):
        text += "\n" + _check_summary(checks, args, runs, entry.name)
    return text


# ---------------------------------------------------------------------- derive / verify
def _symbols(model):
    return {p.name: p for p in model.parameters}


def _regimes(args, entry, model):
    """The regimes to derive in: all named ones, or the one ``--regime`` names or describes
    (``gamma<1``, ``0 < gamma < 1``, ``psi1 < psi2``; read by the whitelist parser)."""
    import sympy as sp
    from .numerics.expressions import parse_regime
    regimes = dict(model.regimes) or {"all": {}}
    if not args.regime:
        return regimes
    if args.regime in regimes:
        return {args.regime: regimes[args.regime]}
    syms = _symbols(model)
    parsed = parse_regime(args.regime, name="--regime", symbols=syms)
    for k, (lo, hi) in list(parsed.items()):
        if lo == -sp.oo:
            if syms[k].is_nonnegative:
                lo = sp.Integer(0)  # the parameter's domain
            else:
                raise ValueError(f"--regime: give a lower bound for {k} (e.g. '0 < {k} < 1')")
        parsed[k] = (lo, hi)
    for rname, reg in model.regimes.items():
        if set(reg) == set(parsed) and all(sp.simplify(sp.sympify(reg[k][0]) - parsed[k][0]) == 0
                                           and sp.simplify(sp.sympify(reg[k][1]) - parsed[k][1]) == 0
                                           for k in reg):
            return {rname: reg}
    return {args.regime.replace(" ", ""): parsed}


def _cmd_derive(args, entry):
    import sympy as sp
    from .engine import derive
    from .numerics.expressions import parse_assignment
    model = entry.symbolic
    if model is None:  # pragma: no cover - the parser offers derive only for symbolic models
        raise ValueError(f"{entry.name} has no symbolic model")
    syms = _symbols(model)
    # every user string is read before any derivation starts
    lim = parse_assignment(args.limit, name="--limit", symbols=syms) if args.limit else None
    ser = parse_assignment(args.series, name="--series", symbols=syms, allow_infinity=False) \
        if args.series else None
    regimes = _regimes(args, entry, model)
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
        param, value = lim if lim else _default_limit(model)
        witnesses = entry.extra.get("limit_witnesses", {})
        usable = {}
        for rname, reg in regimes.items():
            iv = reg.get(param)
            if iv is not None and ((sp.sympify(iv[0]) <= value) & (value <= sp.sympify(iv[1]))) in (sp.false, False):
                continue  # e.g. psi1 -> oo in the regime psi1 < psi2
            usable[rname] = reg
        for rname, reg in (usable or {"all": {}}).items():
            lim_ = derive.limit(model, param, value, reg)
            present = entry.extra.get("present", lambda e: e)  # the paper's variables (e.g. zeta)
            for k in model.unknown_names + ("chi", "risk", "bias", "variance"):
                if k in lim_:
                    blocks.append((f"limit {param} -> {value} ({rname})", k, present(lim_[k])))
            w = witnesses.get((param, str(value), rname))
            if w is not None:
                same = sp.simplify(lim_["risk"] - w) == 0
                blocks.append((f"limit {param} -> {value} ({rname})", "agrees with the published form",
                               sp.true if same else sp.false))
    if args.series:
        param, value = ser
        for rname, reg in regimes.items():
            s = derive.series(model, "risk", param, value, order=args.order, regime=reg)
            blocks.append((f"series of risk at {param} = {value} to order {args.order} ({rname})", "risk", s))
    return _format_derivation(entry, model, blocks, args.format)


def _default_limit(model):
    import sympy as sp
    if "lam" in model.parameter_names:
        return "lam", sp.Integer(0)
    raise ValueError("give --limit PARAM=VALUE")


def _cmd_verify(args, entry):
    from .engine import derive
    from .export import format_records
    from .numerics.expressions import parse_assignment, split_top_level
    model = entry.symbolic
    syms = _symbols(model)
    fixed = {}
    for item, _ in (split_top_level(args.fixed, "--fixed") if args.fixed else []):
        k, v = parse_assignment(item, name="--fixed", symbols=syms, allow_infinity=False)
        fixed[k] = float(v)
    rname, reg = next(iter(_regimes(args, entry, model).items())) if args.regime else ("all", {})
    rep = derive.verify(model, args.claim, output=args.output, regime=reg, n_points=args.points,
                        precision=args.precision, seed=args.seed, fixed=fixed or None)
    args._exit = 0 if rep.ok else 1
    rec = {"output": rep.output, "claim": args.claim, "regime": rname, "n_points": rep.n_points,
           "precision": rep.precision, "max_rel_diff": rep.max_rel_diff, "max_abs_diff": rep.max_abs_diff,
           "tol": rep.tol, "ok": rep.ok, **{f"worst_{k}": v for k, v in rep.worst_point.items()}}
    text = format_records([rec], args.format, digits=args.digits)
    if args.format in ("table", "markdown"):
        text += (f"\n{'AGREES' if rep.ok else 'DISAGREES'}: the claim for {rep.output} vs the model solved at "
                 f"{rep.precision} digits at {rep.n_points} random points ({rname}); largest relative "
                 f"difference {rep.max_rel_diff:.3g} (tolerance {rep.tol:.3g}).")
    return text


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
def _can_verify(entry) -> bool:
    return "derive" in entry.verbs and entry.symbolic is not None and not entry.symbolic.traces


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, generated from the registry :data:`asymptotics.curves.MODELS`: a model
    appears under a verb only if its capabilities say it supports it. Abbreviated flags are refused
    everywhere (``allow_abbrev=False``)."""
    from .curves import MODELS
    parser = argparse.ArgumentParser(
        prog="asymptotics", allow_abbrev=False,
        description="Exact high-dimensional theory of linearized neural networks.")
    parser.add_argument("--version", action="version", version=f"asymptotics {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    ph = sub.add_parser("hermite", help="Hermite coefficients of an activation", allow_abbrev=False)
    ph.add_argument("activation", help="relu, abs, sign, step, erf, exp, sin, cos, relu2, tanh, "
                    "softplus, sigmoid, gelu, silu, ..., or an expression in x (e.g. 'x*erf(x)')")
    ph.add_argument("--kmax", type=int, default=10, help="largest degree k (default 10)")
    ph.add_argument("--exact", action="store_true", help="require exact (symbolic) coefficients")
    ph.add_argument("--precision", type=int, default=None,
                    help="print the values to this many digits (mpmath; default: doubles, computed at 30 digits)")
    ph.add_argument("--q", default="1", help="variance of the Gaussian input (default 1; e.g. 2 or 1/3)")
    ph.add_argument("--digits", type=int, default=12, help="significant digits in tables")
    _add_format(ph)

    for cmd, helptext in (("risk", "the risk at one point (or a small grid)"),
                          ("curve", "a sweep over one or two parameters"),
                          ("check", "theory vs Monte Carlo simulation"),
                          ("derive", "symbolic equations, closed forms, limits and series"),
                          ("verify", "a claimed closed form vs the model, at high precision")):
        pc = sub.add_parser(cmd, help=helptext, allow_abbrev=False)
        msub = pc.add_subparsers(dest="model", required=True, metavar="MODEL")
        for name, entry in MODELS.items():
            if (cmd != "verify" and cmd not in entry.verbs) or (cmd == "verify" and not _can_verify(entry)):
                continue
            pm = msub.add_parser(name, help=entry.description, allow_abbrev=False)
            _add_format(pm)
            if cmd not in ("derive", "verify"):
                _add_model_params(pm, entry, sweep_help=cmd in ("curve", "check"))
            pm.add_argument("--digits", type=int, default=8 if cmd != "derive" else 8,
                            help="significant digits in tables")
            if cmd == "risk":
                pm.add_argument("--precision", type=int, default=None,
                                help="re-solve in mpmath at this many digits" if entry.precision else
                                f"not available for {name}: {entry.no_precision}")
            if cmd == "curve":
                pm.add_argument("--plot", metavar="FILE", help="draw the curve (png/pdf/svg)")
                pm.add_argument("--y", default="risk", help="quantity on the y axis (default risk)")
                pm.add_argument("--logx", action="store_true")
                pm.add_argument("--logy", action="store_true")
                pm.add_argument("--metadata", action="store_true",
                                help="JSON: wrap as {metadata, records}; tables: print the metadata")
                if "check" in entry.verbs:
                    pm.add_argument("--mc", action="store_true", help="add Monte Carlo points to the plot")
                    pm.add_argument("--mc-points", type=int, default=12,
                                    help="MC points per curve (per value of the second axis)")
                else:
                    pm.set_defaults(mc=False)
            if cmd == "curve" and "check" in entry.verbs:  # check: _add_check_args
                if not any(prm.name == "d" for prm in entry.params):  # else the model's own d is used
                    pm.add_argument("--d", type=int, default=400,
                                    help="dimension of the simulation (default 400)")
                pm.add_argument("--seeds", type=int, default=20, help="independent draws (default 20)")
                pm.add_argument("--seed", type=int, default=0, help="base random seed")
            if cmd == "check":
                _add_check_args(pm, entry)
            if cmd == "check" or (cmd == "curve" and "check" in entry.verbs):
                _add_run_args(pm)
            if cmd == "derive":
                pm.add_argument("--limit", metavar="PARAM=VALUE", help="e.g. lam=0 or psi1=oo")
                pm.add_argument("--series", metavar="PARAM=VALUE", help="e.g. lam=0")
                pm.add_argument("--order", type=int, default=2, help="order of --series (default 2)")
            if cmd in ("derive", "verify"):
                names = ", ".join(repr(k) for k in entry.symbolic.regimes) if entry.symbolic.regimes else "none"
                pm.add_argument("--regime", help=f"a named regime ({names}) or inequalities "
                                "such as '0 < gamma < 1'")
            if cmd == "verify":
                pm.add_argument("--claim", required=True, metavar="EXPR",
                                help="the claimed closed form in the parameter names, e.g. "
                                     "'sigma2*gamma/(1-gamma)'")
                pm.add_argument("--output", default="risk", help="the output (or unknown) claimed (default risk)")
                pm.add_argument("--fixed", metavar="PARAM=VALUE,...", help="parameters held fixed, e.g. lam=0")
                pm.add_argument("--points", type=int, default=20, help="random points (default 20)")
                pm.add_argument("--precision", type=int, default=30, help="digits of the check (default 30)")
                pm.add_argument("--seed", type=int, default=0, help="random seed of the points")
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
        pm = msub.add_parser(name, help=exp.description, allow_abbrev=False)
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
    runner = None
    try:
        runner = _make_runner(args)
        with runner if runner is not None else contextlib.nullcontext():
            if args.command == "hermite":
                text = _cmd_hermite(args)
            elif args.command == "check" and args.model in _experiment_names():
                text = _cmd_experiment(args)
            else:
                from .curves import get_model
                entry = get_model(args.model)
                text = {"risk": _cmd_risk, "curve": _cmd_curve, "check": _cmd_check,
                        "derive": _cmd_derive, "verify": _cmd_verify}[args.command](args, entry)
    except KeyboardInterrupt as e:
        # Ctrl-C: no traceback; the partial table (if the command made one) on stdout, one line on stderr
        partial = getattr(e, "text", None)
        if partial:
            _emit(partial)
        from theory_checks.runner import interrupted_summary
        sys.stderr.write(f"asymptotics: {interrupted_summary(runner)}\n")
        return 130
    except (ValueError, ImportError) as e:
        parser.exit(2, f"asymptotics: error: {e}\n")
    except MemoryError:
        parser.exit(2, "asymptotics: error: out of memory; lower the sizes (or ASYMPTOTICS_MAX_MEMORY)\n")
    _emit(text)
    return args._exit


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
