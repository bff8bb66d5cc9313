"""asymptotics.export: every output format, exact round trips, inf/NaN handling, figures."""
from __future__ import annotations

import csv
import io
import json
import math
import re

import numpy as np
import pytest

from asymptotics import __version__
from asymptotics.export import FORMATS, LATEX_SYMBOLS, format_records, metadata, plot_curve

RECORDS = [
    {"gamma": 0.5, "lam": 0.0, "risk": 1.0000000000000002, "n": 800, "verdict": "agree",
     "ok": True},
    {"gamma": np.float64(2.0), "lam": np.float32(0.25), "risk": math.inf, "n": np.int64(200),
     "verdict": "diverges", "ok": np.bool_(False)},
    {"gamma": 1 / 3, "lam": 1e-12, "risk": 0.1 + 0.2, "n": 3, "verdict": "a_b & c", "ok": None},
]
PLAIN = [  # RECORDS with numpy types converted (what a parser gives back)
    {"gamma": 0.5, "lam": 0.0, "risk": 1.0000000000000002, "n": 800, "verdict": "agree",
     "ok": True},
    {"gamma": 2.0, "lam": 0.25, "risk": math.inf, "n": 200, "verdict": "diverges", "ok": False},
    {"gamma": 1 / 3, "lam": 1e-12, "risk": 0.1 + 0.2, "n": 3, "verdict": "a_b & c", "ok": None},
]


# ------------------------------------------------------------------------------------------------
# JSON
# ------------------------------------------------------------------------------------------------
def test_json_round_trip_exact():
    text = format_records(RECORDS, "json")
    back = json.loads(text)
    assert back == PLAIN
    assert [list(r) for r in back] == [list(r) for r in PLAIN]      # key order kept
    assert "Infinity" in text and "NaN" not in text


def test_json_single_record_is_an_object_and_metadata_wraps():
    assert json.loads(format_records(RECORDS[:1], "json")) == PLAIN[0]
    meta = {"model": "ridge", "params": {"d": np.int64(400), "eigs": np.array([1.0, 0.5])},
            "tol": 1e-12}
    obj = json.loads(format_records(RECORDS[:1], "json", metadata=meta))
    assert obj == {"metadata": {"model": "ridge", "params": {"d": 400, "eigs": [1.0, 0.5]},
                                "tol": 1e-12},
                   "records": [PLAIN[0]]}
    assert json.loads(format_records([], "json")) == []


def test_columns_select_and_order():
    text = format_records(RECORDS, "json", columns=["risk", "gamma"])
    assert [list(r) for r in json.loads(text)] == [["risk", "gamma"]] * 3
    with pytest.raises(ValueError, match=r"columns \['nope'\] are not keys of any record"):
        format_records(RECORDS, "csv", columns=["gamma", "nope"])


def test_missing_keys():
    recs = [{"a": 1.0, "b": 2.0}, {"a": 3.0}]
    assert json.loads(format_records(recs, "json")) == recs
    rows = list(csv.reader(io.StringIO(format_records(recs, "csv"))))
    assert rows == [["a", "b"], ["1.0", "2.0"], ["3.0", ""]]
    assert "| 3 |  |" in format_records(recs, "markdown")


# ------------------------------------------------------------------------------------------------
# CSV
# ------------------------------------------------------------------------------------------------
def test_csv_round_trip_exact_with_metadata():
    meta = metadata("ridge", d=400, seeds=20)
    text = format_records(RECORDS, "csv", metadata=meta)
    lines = text.splitlines()
    assert lines[0] == f"# asymptotics_version: {__version__}"
    assert lines[1] == "# model: ridge"
    assert re.fullmatch(r"# timestamp: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", lines[2])
    assert lines[3:5] == ["# d: 400", "# seeds: 20"]
    body = [ln for ln in lines if not ln.startswith("#")]
    rows = list(csv.DictReader(io.StringIO("\n".join(body))))
    assert list(rows[0]) == list(PLAIN[0])
    for got, want in zip(rows, PLAIN):
        for key in ("gamma", "lam", "risk"):
            assert float(got[key]) == want[key]          # exact, incl. inf
        assert int(got["n"]) == want["n"]
        assert got["verdict"] == want["verdict"]
    assert rows[1]["risk"] == "inf"
    assert rows[2]["verdict"] == "a_b & c"
    assert rows[2]["ok"] == ""


# ------------------------------------------------------------------------------------------------
# human formats
# ------------------------------------------------------------------------------------------------
def test_table_aligned_digits_and_inf():
    text = format_records(RECORDS, "table", digits=4)
    lines = text.splitlines()
    assert set(lines[1].replace(" ", "")) == {"-"}             # the rule under the header
    assert [len(t) for t in lines[1].split()] == [6, 5, 4, 3, 8, 5]   # = column widths
    assert lines[0].split() == ["gamma", "lam", "risk", "n", "verdict", "ok"]
    assert "0.3333" in text and "0.33333" not in text
    assert "inf" in lines[3]
    assert "1e-12" in text
    # numbers are right-aligned: the gamma column ends at the same offset on each line
    ends = {ln.index(tok) + len(tok) for ln, tok in zip(lines[2:], ["0.5", "2", "0.3333"])}
    assert len(ends) == 1
    assert format_records(RECORDS, "table").count("0.33333333") == 1  # default digits = 8


def test_markdown():
    text = format_records(RECORDS, "markdown", metadata={"model": "ridge"})
    lines = text.splitlines()
    assert lines[0] == "<!-- model: ridge -->"
    assert lines[1] == "| gamma | lam | risk | n | verdict | ok |"
    assert lines[2] == "| ---: | ---: | ---: | ---: | --- | --- |"
    assert lines[4] == "| 2 | 0.25 | inf | 200 | diverges | False |"
    assert "\\|" in format_records([{"s": "a|b"}], "markdown")


def test_latex_booktabs_symbols_and_escapes():
    text = format_records(RECORDS, "latex")
    for token in (r"\begin{tabular}{rrrrll}", r"\toprule", r"\midrule", r"\bottomrule",
                  r"\end{tabular}"):
        assert token in text
    assert r"\begin{table}" not in text
    header = text.splitlines()[2]
    assert header == r"$\gamma$ & $\lambda$ & $R$ & $n$ & verdict & ok \\"
    assert r"$\infty$" in text
    assert r"$1 \times 10^{-12}$" in text
    assert r"a\_b \& c" in text
    assert r"$0.33333333$" in text


def test_latex_caption_label_and_header_map():
    recs = [{"gamma": 0.5, "lam": 0.1, "r2": 1.0, "sigma2": 1.0, "mu0": 0.0, "mu1": 0.5,
             "mu_star": 0.3, "psi1": 2.0, "psi2": 3.0, "kappa": 0.2, "tau2": 0.1, "F1sq": 1.0,
             "Fstar_sq": 0.5, "risk": -math.inf, "my_col": 1}]
    text = format_records(recs, "latex", caption=r"Risk at $d=400$", label="tab:risk")
    lines = text.splitlines()
    assert lines[:2] == [r"\begin{table}", r"\centering"]
    assert lines[-3:] == [r"\caption{Risk at $d=400$}", r"\label{tab:risk}", r"\end{table}"]
    assert lines[-4] == r"\end{tabular}"
    for name in ("gamma", "lam", "r2", "sigma2", "mu0", "mu1", "mu_star", "psi1", "psi2", "kappa",
                 "tau2", "F1sq", "Fstar_sq", "risk"):
        assert LATEX_SYMBOLS[name] in text
    assert r"$F_{\star}^{2}$" in text and r"$\mu_{\star}$" in text and r"$r^{2}$" in text
    assert r"my\_col" in text
    assert r"$-\infty$" in text


def test_latex_metadata_comments():
    text = format_records(RECORDS[:1], "latex", metadata={"model": "ridge", "tol": 1e-12})
    assert text.splitlines()[:2] == ["% model: ridge", "% tol: 1e-12"]


# ------------------------------------------------------------------------------------------------
# validation
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", FORMATS)
def test_nan_raises_in_every_format(fmt):
    with pytest.raises(ValueError, match=r"records\[1\]\['risk'\] is NaN"):
        format_records([{"risk": 1.0}, {"risk": float("nan")}], fmt)
    with pytest.raises(ValueError, match=r"is NaN"):
        format_records([{"risk": np.float32("nan")}], fmt)
    with pytest.raises(ValueError, match=r"metadata\['x'\]\[1\] is NaN"):
        format_records([{"risk": 1.0}], fmt, metadata={"x": [1.0, math.nan]})


@pytest.mark.parametrize("call,match", [
    (lambda: format_records(RECORDS, "xlsx"), "fmt must be one of table, json, csv, markdown, latex"),
    (lambda: format_records(RECORDS, "table", digits=0), "digits must be an integer >= 1"),
    (lambda: format_records(RECORDS, "csv", caption="x"), "caption and label apply to fmt='latex'"),
    (lambda: format_records(RECORDS, "latex", label="x"), "label requires caption"),
    (lambda: format_records({"a": 1.0}, "json"), "records must be a list of dicts"),
    (lambda: format_records([1.0], "json"), r"records\[0\] must be a dict"),
    (lambda: format_records([{"a": [1, 2]}], "json"), r"records\[0\]\['a'\] must be a float"),
    (lambda: format_records(RECORDS, "json", columns="gamma"), "columns must be a list"),
    (lambda: format_records(RECORDS, "json", metadata=[1]), "metadata must be a dict"),
    (lambda: metadata(""), "model must be a non-empty string"),
    (lambda: metadata("ridge", timestamp="now"), "metadata extra keys must not be"),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_metadata_helper():
    m = metadata("rf", psi1=np.float64(2.0), activation="relu", grid=np.array([0.1, 0.2]))
    assert m["asymptotics_version"] == __version__ and m["model"] == "rf"
    assert m["psi1"] == 2.0 and type(m["psi1"]) is float
    assert m["grid"] == [0.1, 0.2] and m["activation"] == "relu"
    json.dumps(m, allow_nan=False)


def test_comparison_records_export():
    from theory_checks.compare import compare
    recs = [compare(1.0, [0.9, 1.1, 1.0], params={"gamma": 0.5}).to_record(),
            compare(math.inf, [1e3, 2e3], params={"gamma": 1.0}).to_record()]
    for fmt in FORMATS:
        format_records(recs, fmt)
    back = json.loads(format_records(recs, "json"))
    assert back[1]["extrapolated"] is None and back[1]["theory"] == math.inf


# ------------------------------------------------------------------------------------------------
# figures
# ------------------------------------------------------------------------------------------------
def _curve():
    recs = []
    for lam in (0.0, 0.1):
        for g in (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0):
            if lam == 0.0:
                r = math.inf if g == 1.0 else (g / (1 - g) if g < 1 else 1 - 1 / g + 1 / (g - 1))
            else:
                r = 1.0 / (1.0 + g)
            recs.append({"gamma": g, "lam": lam, "risk": r})
    return recs


@pytest.mark.parametrize("suffix", [".png", ".pdf", ".svg"])
def test_plot_writes_file(tmp_path, suffix):
    pytest.importorskip("matplotlib")
    mc = [{"gamma": 0.5, "lam": 0.0, "mc_mean": 1.02, "mc_se": 0.03, "theory": 1.0},
          {"gamma": 1.0, "lam": 0.0, "mc_mean": 1e4, "mc_se": 5e3, "theory": math.inf},
          {"gamma": 2.0, "lam": 0.1, "mc_mean": 0.33, "mc_se": 0.01, "theory": 1 / 3}]
    path = tmp_path / f"curve{suffix}"
    out = plot_curve(_curve(), "gamma", "risk", mc=mc, path=path, series="lam", logy=True,
                     title="ridge")
    assert out == path
    data = path.read_bytes()
    assert len(data) > 1000
    if suffix == ".png":
        assert data[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_without_series_or_mc(tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "plain.png"
    plot_curve([{"x": 1.0, "y": 2.0}, {"x": 0.5, "y": 1.0}], "x", "y", path=str(path), logx=True)
    assert path.stat().st_size > 0


def test_plot_bad_input(tmp_path):
    with pytest.raises(ValueError, match="path must end in one of .png, .pdf, .svg"):
        plot_curve(_curve(), "gamma", "risk", path=tmp_path / "x.jpg")
    pytest.importorskip("matplotlib")
    with pytest.raises(ValueError, match=r"records\[0\] has no value for column 'psi1'"):
        plot_curve(_curve(), "psi1", "risk", path=tmp_path / "x.png")
    with pytest.raises(ValueError, match="is NaN"):
        plot_curve([{"x": 1.0, "y": math.nan}], "x", "y", path=tmp_path / "x.png")


def test_plot_missing_matplotlib_message(tmp_path, monkeypatch):
    import builtins
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError("no matplotlib")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match=r"pip install asymptotics\[plot\]"):
        plot_curve(_curve(), "gamma", "risk", path=tmp_path / "x.png")
