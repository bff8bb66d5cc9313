"""Tables and figures for papers: plain text, JSON, CSV, Markdown, LaTeX (booktabs), matplotlib.

Records are flat dicts (one per parameter point) whose values are floats, numpy scalars, ints,
strings, bools or ``None``; curves and checks produce them (e.g.
:meth:`theory_checks.compare.Comparison.to_record`).

Number formats, by output:

* ``json`` and ``csv`` are for machines: floats are written at full precision (``repr``, the
  shortest string that round-trips to the same IEEE double), so parsing gives back the exact
  numbers. Infinite values are written ``Infinity``/``-Infinity`` in JSON (Python's ``json``
  convention, which ``json.loads`` and e.g. pandas read back; it is *not* strict RFC 8259 JSON,
  so a strict parser such as JavaScript's ``JSON.parse`` rejects it) and ``inf``/``-inf`` in CSV
  (which ``float()`` reads back).
* ``table`` (terminal), ``markdown`` and ``latex`` are for people: floats are rounded to
  ``digits`` significant digits (default 8); infinity is ``inf`` (``$\\infty$`` in LaTeX).

A value ``None`` (e.g. the outputs of a point the solver could not solve, whose ``status`` says
why) is ``null`` in JSON, an empty field in CSV and ``—`` in tables, Markdown and LaTeX (``--``); a
key a record does not have is an empty cell (omitted in JSON).

A NaN is never written: a NaN in a record is a bug upstream (every model validates its inputs and
never returns NaN), so :func:`format_records` raises ``ValueError`` naming the record and column.

Example:
    >>> recs = [{"gamma": 0.5, "lam": 0.0, "risk": 1.0}, {"gamma": 2.0, "lam": 0.0, "risk": 1.5}]
    >>> print(format_records(recs, "table"))
    gamma  lam  risk
    -----  ---  ----
      0.5    0     1
        2    0   1.5
    >>> print(format_records(recs[:1], "json"))
    {"gamma": 0.5, "lam": 0.0, "risk": 1.0}
    >>> print(format_records(recs, "markdown"))
    | gamma | lam | risk |
    | ---: | ---: | ---: |
    | 0.5 | 0 | 1 |
    | 2 | 0 | 1.5 |
"""
from __future__ import annotations

from ._notation import LATEX as _LATEX, WORDS as _WORDS
import csv
import io
import json
import math
import numbers
import os
from datetime import datetime, timezone

import numpy as np

from asymptotics._validation import check_int

__all__ = ["FORMATS", "LATEX_SYMBOLS", "LatexMath", "format_records", "metadata", "plot_curve"]

#: Output formats accepted by :func:`format_records` (the CLI's ``--format``).
FORMATS = ("table", "json", "csv", "markdown", "latex")

#: Column name -> LaTeX header (math symbols in ``$...$``), from the package's one notation table
#: (:mod:`asymptotics._notation`). Unknown names are escaped text.
LATEX_SYMBOLS = {**{k: f"${v}$" for k, v in _LATEX.items()}, **_WORDS}


class LatexMath(str):
    """A string that is LaTeX math: written inside ``$...$`` unescaped in LaTeX tables, as is
    elsewhere (e.g. the exact value of a coefficient)."""


_LATEX_ESCAPES = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
}


# ------------------------------------------------------------------------------------------------
# value normalization
# ------------------------------------------------------------------------------------------------
def _scalar(value, where: str):
    """Convert a record value to a plain Python scalar; reject NaN and non-scalars."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, (numbers.Integral, np.integer)):
        return int(value)
    if isinstance(value, (numbers.Real, np.floating)):
        value = float(value)
        if math.isnan(value):
            raise ValueError(f"{where} is NaN; a NaN in a record is a bug upstream (models never "
                             f"return NaN), refusing to write it")
        return value
    raise ValueError(f"{where} must be a float, int, str, bool or None, got {type(value).__name__}")


def _meta_value(value, where: str):
    """Metadata may nest (dicts, lists, arrays): convert recursively to JSON-able Python."""
    if isinstance(value, dict):
        return {str(k): _meta_value(v, f"{where}[{k!r}]") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_meta_value(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, np.ndarray) and value.ndim > 0:
        return [_meta_value(v, f"{where}[{i}]") for i, v in enumerate(value.tolist())]
    return _scalar(value, where)


def _normalize(records, columns, metadata):
    if isinstance(records, dict):
        raise ValueError("records must be a list of dicts, got a single dict (wrap it in a list)")
    try:
        records = list(records)
    except TypeError:
        raise ValueError(f"records must be a list of dicts, got {type(records).__name__}") from None
    rows = []
    seen: dict = {}
    for i, rec in enumerate(records):
        if not isinstance(rec, dict):
            raise ValueError(f"records[{i}] must be a dict, got {type(rec).__name__}")
        row = {}
        for k, v in rec.items():
            if not isinstance(k, str):
                raise ValueError(f"records[{i}] keys must be strings, got {k!r}")
            row[k] = _scalar(v, f"records[{i}][{k!r}]")
            seen.setdefault(k, None)
        rows.append(row)
    if columns is None:
        cols = list(seen)
    else:
        if isinstance(columns, str):
            raise ValueError("columns must be a list of column names, got a string")
        cols = list(columns)
        if len(set(cols)) != len(cols):
            raise ValueError(f"columns must not repeat a name, got {cols}")
        missing = [c for c in cols if c not in seen]
        if missing and rows:
            raise ValueError(f"columns {missing} are not keys of any record; "
                             f"available: {list(seen)}")
    meta = None
    if metadata is not None:
        if not isinstance(metadata, dict):
            raise ValueError(f"metadata must be a dict, got {type(metadata).__name__}")
        meta = _meta_value(metadata, "metadata")
    return rows, cols, meta


# ------------------------------------------------------------------------------------------------
# number formatting
# ------------------------------------------------------------------------------------------------
def _full(value) -> str:
    """Machine format: full precision, ``inf``/``-inf``, ``True``/``False``, '' for None."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


_NONE_TEXT = "\u2014"   # an em dash: "no value" (a failed point), not a missing column
_MISSING = object()


def _cell(row, col):
    return row[col] if col in row else _MISSING


def _human(value, digits: int) -> str:
    if value is _MISSING:
        return ""
    if value is None:
        return _NONE_TEXT
    if isinstance(value, bool) or isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.{digits}g}"


def _latex_number(value, digits: int) -> str:
    if value is _MISSING:
        return ""
    if value is None:
        return "--"
    if isinstance(value, LatexMath):
        return f"${value}$"
    if isinstance(value, bool) or isinstance(value, str):
        return _latex_escape(str(value))
    if isinstance(value, int):
        return f"${value}$"
    if math.isinf(value):
        return r"$\infty$" if value > 0 else r"$-\infty$"
    text = f"{value:.{digits}g}"
    if "e" in text:
        mant, exp = text.split("e")
        return f"${mant} \\times 10^{{{int(exp)}}}$"
    return f"${text}$"


def _latex_escape(text: str) -> str:
    return "".join(_LATEX_ESCAPES.get(ch, ch) for ch in text)


def _latex_header(name: str) -> str:
    return LATEX_SYMBOLS.get(name, _latex_escape(name))


def _is_numeric_column(rows, col) -> bool:
    vals = [r.get(col) for r in rows if r.get(col) is not None]
    return bool(vals) and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                              for v in vals)


def _one_line(text: str) -> str:
    return text if "\n" not in text and "\r" not in text else json.dumps(text)


def _meta_lines(meta) -> list[str]:
    out = []
    for k, v in meta.items():
        text = v if isinstance(v, str) else json.dumps(v)
        out.append(f"{k}: {_one_line(text)}")
    return out


# ------------------------------------------------------------------------------------------------
# the formats
# ------------------------------------------------------------------------------------------------
def _fmt_json(rows, cols, meta) -> str:
    recs = [{c: r[c] for c in cols if c in r} for r in rows]
    if meta is not None:
        obj = {"metadata": meta, "records": recs}
    elif len(recs) == 1:
        obj = recs[0]
    else:
        obj = recs
    return json.dumps(obj, allow_nan=True)


def _fmt_csv(rows, cols, meta) -> str:
    buf = io.StringIO()
    if meta is not None:
        for line in _meta_lines(meta):
            buf.write(f"# {line}\n")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(cols)
    for r in rows:
        writer.writerow([_full(r.get(c)) for c in cols])
    return buf.getvalue().rstrip("\n")


def _fmt_table(rows, cols, meta, digits) -> str:
    cells = [[_human(_cell(r, c), digits) for c in cols] for r in rows]
    widths = [max([len(c)] + [len(row[j]) for row in cells]) for j, c in enumerate(cols)]
    numeric = [_is_numeric_column(rows, c) for c in cols]

    def line(items):
        parts = [(s.rjust(w) if num else s.ljust(w)) for s, w, num in zip(items, widths, numeric)]
        return "  ".join(parts).rstrip()

    out = [line(cols), line(["-" * w for w in widths])]
    out += [line(row) for row in cells]
    if meta is not None:
        out = [f"# {m}" for m in _meta_lines(meta)] + out
    return "\n".join(out)


def _md_escape(text: str) -> str:
    return text.replace("|", r"\|").replace("\n", " ")


def _fmt_markdown(rows, cols, meta, digits) -> str:
    numeric = [_is_numeric_column(rows, c) for c in cols]
    out = []
    if meta is not None:
        out += [f"<!-- {m.replace('--', '- -')} -->" for m in _meta_lines(meta)]
    out.append("| " + " | ".join(_md_escape(c) for c in cols) + " |")
    out.append("| " + " | ".join("---:" if num else "---" for num in numeric) + " |")
    for r in rows:
        out.append("| " + " | ".join(_md_escape(_human(_cell(r, c), digits)) for c in cols) + " |")
    return "\n".join(out)


def _fmt_latex(rows, cols, meta, digits, caption, label) -> str:
    if not cols:
        raise ValueError("a LaTeX table needs at least one column; got no records")
    numeric = [_is_numeric_column(rows, c) for c in cols]
    spec = "".join("r" if num else "l" for num in numeric)
    body = [f"\\begin{{tabular}}{{{spec}}}", r"\toprule",
            " & ".join(_latex_header(c) for c in cols) + r" \\", r"\midrule"]
    for r in rows:
        body.append(" & ".join(_latex_number(_cell(r, c), digits) for c in cols) + r" \\")
    body += [r"\bottomrule", r"\end{tabular}"]
    out = []
    if meta is not None:
        out += [f"% {m}" for m in _meta_lines(meta)]
    if caption is not None:
        out += [r"\begin{table}", r"\centering"] + body + [f"\\caption{{{caption}}}"]
        if label is not None:
            out.append(f"\\label{{{label}}}")
        out.append(r"\end{table}")
    else:
        out += body
    return "\n".join(out)


def format_records(records, fmt, *, columns=None, metadata=None, digits=8, caption=None,
                   label=None) -> str:
    """Render flat records as a table, JSON, CSV, Markdown or LaTeX.

    Args:
        records: a list of flat dicts (values: float, numpy scalar, int, str, bool or None). A
            record may miss some columns (empty cell; key omitted in JSON).
        fmt: one of ``table``, ``json``, ``csv``, ``markdown``, ``latex``.
        columns: the columns to write, in order; default: every key, in first-seen order.
        metadata: a dict (may nest) written as ``{"metadata": ..., "records": [...]}`` in JSON,
            ``# key: value`` lines in CSV and table, ``<!-- key: value -->`` in Markdown and
            ``% key: value`` in LaTeX. See :func:`metadata`.
        digits: significant digits of numbers in ``table``, ``markdown`` and ``latex``
            (``json``/``csv`` are always full precision).
        caption: LaTeX only: wrap the tabular in a ``table`` float with this caption (inserted
            verbatim, so it may contain LaTeX); without it the output is a bare ``tabular``.
        label: LaTeX only: ``\\label`` of the float (requires ``caption``).

    Returns:
        The text, without a trailing newline.

    Raises:
        ValueError: unknown ``fmt``, bad ``digits``, a NaN or an unsupported value in a record,
            or a requested column that no record has.

    JSON: one record and no metadata gives one object, otherwise a list (or the metadata
    wrapper). Infinite values are ``Infinity`` (Python's ``json`` convention).

    >>> print(format_records([{"lam": 0.1, "risk": float("inf")}], "latex"))
    \\begin{tabular}{rr}
    \\toprule
    $\\lambda$ & $R$ \\\\
    \\midrule
    $0.1$ & $\\infty$ \\\\
    \\bottomrule
    \\end{tabular}
    >>> format_records([{"risk": 1.0}], "xml")
    Traceback (most recent call last):
    ...
    ValueError: fmt must be one of table, json, csv, markdown, latex, got 'xml'
    """
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {', '.join(FORMATS)}, got {fmt!r}")
    digits = check_int("digits", digits, low=1, high=17)
    if (caption is not None or label is not None) and fmt != "latex":
        raise ValueError(f"caption and label apply to fmt='latex' only, got fmt={fmt!r}")
    if label is not None and caption is None:
        raise ValueError("label requires caption (a bare tabular cannot carry a \\label)")
    rows, cols, meta = _normalize(records, columns, metadata)
    if fmt == "json":
        return _fmt_json(rows, cols, meta)
    if fmt == "csv":
        return _fmt_csv(rows, cols, meta)
    if fmt == "table":
        return _fmt_table(rows, cols, meta, digits)
    if fmt == "markdown":
        return _fmt_markdown(rows, cols, meta, digits)
    return _fmt_latex(rows, cols, meta, digits, caption, label)


def metadata(model, **extra) -> dict:
    """Provenance for an exported table or figure.

    Returns:
        ``{"asymptotics_version": ..., "model": model, "timestamp": <ISO 8601 UTC>, **extra}``;
        ``extra`` typically holds the parameters, the solver tolerance, the seeds...

    >>> m = metadata("ridge", tol=1e-12)
    >>> sorted(m)
    ['asymptotics_version', 'model', 'timestamp', 'tol']
    >>> m["timestamp"].endswith("+00:00")
    True
    """
    from asymptotics import __version__

    if not isinstance(model, str) or not model:
        raise ValueError(f"model must be a non-empty string, got {model!r}")
    reserved = {"asymptotics_version", "model", "timestamp"}
    clash = sorted(reserved & set(extra))
    if clash:
        raise ValueError(f"metadata extra keys must not be {sorted(reserved)}, got {clash}")
    out = {"asymptotics_version": __version__, "model": model,
           "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    out.update(_meta_value(extra, "metadata"))
    return out


# ------------------------------------------------------------------------------------------------
# figures
# ------------------------------------------------------------------------------------------------
_PLOT_FORMATS = (".png", ".pdf", ".svg")


def _axis_label(name: str) -> str:
    return LATEX_SYMBOLS.get(name, name)


def _series_groups(rows, key):
    """Ordered {series value: [rows]} (a single group ``None`` without a series column)."""
    groups: dict = {}
    for r in rows:
        groups.setdefault(r.get(key) if key is not None else None, []).append(r)
    return groups


def _xy(rows, x, y, where, gaps=False):
    """Sorted (x, y) arrays; with ``gaps`` a ``None`` y (a failed point) is NaN, a gap in the line."""
    pts = []
    for i, r in enumerate(rows):
        for k in (x, y):
            if k not in r or (r[k] is None and not (gaps and k == y)):
                raise ValueError(f"{where}[{i}] has no value for column {k!r}")
        xv, yv = r[x], (math.nan if r[y] is None else r[y])
        if isinstance(xv, (str, bool)) or isinstance(yv, (str, bool)):
            raise ValueError(f"{where}[{i}]: columns {x!r} and {y!r} must be numeric")
        pts.append((float(xv), float(yv)))
    pts.sort(key=lambda p: p[0])
    return np.array([p[0] for p in pts]), np.array([p[1] for p in pts])


def plot_curve(records, x, y, *, mc=None, path, logx=False, logy=False, title=None, series=None):
    """Plot ``y`` against ``x`` (theory lines, optional Monte Carlo points) and save to ``path``.

    Args:
        records: flat dicts with at least the columns ``x`` and ``y`` (and ``series`` if given).
        x, y: column names; axis labels use :data:`LATEX_SYMBOLS` (matplotlib mathtext).
        mc: optional Monte Carlo records with keys ``x``, ``mc_mean``, ``mc_se`` (and ``series``),
            e.g. ``[c.to_record() for c in theory_checks.ridge.check(...)]``; drawn as points with
            error bars of one standard error, in the colour of their series.
        path: output file, ``.png``, ``.pdf`` or ``.svg``.
        logx, logy: logarithmic axes (non-positive values are then not drawn).
        title: figure title.
        series: optional column; one line per distinct value (first-seen order).

    Points where ``y`` is infinite (a diverging risk) are omitted from the line, which is broken
    there, and marked by a triangle at the top edge of the axes, with a legend note. Points where
    ``y`` is ``None`` (not solved) are a gap in the line. Monte Carlo
    records whose ``theory`` is ``+inf`` (verdict ``"diverges"``) are not drawn either: their
    mean is finite but dominated by heavy tails.

    Returns:
        ``path``.

    Raises:
        ImportError: matplotlib is missing (``pip install asymptotics[plot]``).
        ValueError: bad path suffix, missing or non-numeric columns, NaN values.
    """
    suffix = os.path.splitext(os.fspath(path))[1].lower()
    if suffix not in _PLOT_FORMATS:
        raise ValueError(f"path must end in one of {', '.join(_PLOT_FORMATS)}, got {os.fspath(path)!r}")
    try:
        from matplotlib.figure import Figure
        from matplotlib.transforms import blended_transform_factory
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("plotting needs matplotlib: pip install asymptotics[plot]") from exc

    rows, _, _ = _normalize(records, None, None)
    mc_rows = None if mc is None else _normalize(mc, None, None)[0]
    # Figure() without pyplot renders with the Agg backend and leaves global state alone.
    fig = Figure(figsize=(6.0, 4.0), layout="constrained")
    ax = fig.add_subplot()
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    top = blended_transform_factory(ax.transData, ax.transAxes)
    groups = _series_groups(rows, series)
    mc_groups = _series_groups(mc_rows, series) if mc_rows is not None else {}
    colors = {}
    any_inf = drew_mc = False
    for key, grp in groups.items():
        xs, ys = _xy(grp, x, y, "records", gaps=True)
        label = None if series is None else f"{_axis_label(series)} = {key}"
        inf = np.isinf(ys)
        (line,) = ax.plot(xs, np.ma.masked_where(inf | np.isnan(ys), ys), "-", label=label)
        colors[key] = line.get_color()
        if inf.any():
            any_inf = True
            ax.plot(xs[inf], np.full(inf.sum(), 0.98), "^", color=line.get_color(),
                    transform=top, clip_on=False)
    for key, grp in mc_groups.items():
        # Where the theory diverges the Monte Carlo mean is finite but meaningless (heavy tails).
        grp = [r for r in grp if r.get("theory") != math.inf]
        if not grp:
            continue
        xs, means = _xy(grp, x, "mc_mean", "mc")
        _, ses = _xy(grp, x, "mc_se", "mc")
        ok = np.isfinite(means) & np.isfinite(ses)
        ax.errorbar(xs[ok], means[ok], yerr=ses[ok], fmt="o", ms=4, capsize=2,
                    color=colors.get(key, "k"))
        drew_mc = True
    if drew_mc:
        ax.plot([], [], "o", ms=4, color="0.3", label="Monte Carlo (mean ± 1 s.e.)")
    if any_inf:
        ax.plot([], [], "^", color="0.3", label=f"{_axis_label(y)} = ∞ (not drawn)")
    ax.set_xlabel(_axis_label(x))
    ax.set_ylabel(_axis_label(y))
    if title is not None:
        ax.set_title(title)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize="small")
    fig.savefig(path)
    return path
