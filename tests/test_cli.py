"""The command line contract (DESIGN.md): flags, formats, JSON keys, errors."""
import csv
import io
import json
import subprocess
import sys

import numpy as np
import pytest

from asymptotics.cli import main
from asymptotics.models import ridge


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr().out
    return code, out


def test_risk_ridge_json_keys_and_values(capsys):
    code, out = run(capsys, "risk", "ridge", "--gamma", "2", "--lam", "0.1", "--r2", "1.5",
                    "--sigma2", "0.5", "--format", "json")
    assert code == 0
    d = json.loads(out)
    assert {"gamma", "lam", "r2", "sigma2", "risk", "bias", "variance", "risk_total", "kappa"} <= set(d)
    ref = ridge.risk(2.0, 0.1, 1.5, 0.5)
    assert d["risk"] == ref.risk and d["risk_total"] == pytest.approx(ref.risk + 0.5)


def test_risk_ridge_divergence_is_inf(capsys):
    _, out = run(capsys, "risk", "ridge", "--gamma", "1", "--lam", "0", "--format", "json")
    assert json.loads(out)["risk"] == float("inf")


def test_risk_ridge_spectrum_files_and_laws(capsys, tmp_path):
    eigs = ridge.power_law(300, 1.2)
    beta2 = np.full(300, 1 / 300)
    fe, fb = tmp_path / "eigs.txt", tmp_path / "beta2.txt"
    np.savetxt(fe, eigs)
    np.savetxt(fb, beta2)
    _, out = run(capsys, "risk", "ridge-spectrum", "--eigs", str(fe), "--beta2", str(fb), "--n", "150",
                 "--lam", "0.01", "--sigma2", "0.3", "--format", "json")
    d = json.loads(out)
    ref = ridge.spectrum_risk(eigs, beta2, 150, 0.01, 0.3)
    assert d["risk"] == pytest.approx(ref.risk, rel=1e-12)
    assert {"kappa", "df1", "df2", "bias", "variance", "risk_total"} <= set(d)
    _, out2 = run(capsys, "risk", "ridge-spectrum", "--eigs", "power:d=300,alpha=1.2", "--beta2",
                  "flat:d=300,r2=1", "--n", "150", "--lam", "0.01", "--sigma2", "0.3", "--format", "json")
    assert json.loads(out2)["risk"] == pytest.approx(ref.risk, rel=1e-12)


def test_curve_csv_has_metadata_and_full_precision(capsys):
    _, out = run(capsys, "curve", "ridge", "--gamma", "0.1:10:5", "--lam", "0.01", "--format", "csv")
    lines = out.splitlines()
    meta = [l for l in lines if l.startswith("#")]
    assert any("version" in l for l in meta) and any("solver_tol" in l for l in meta)
    rows = list(csv.DictReader(io.StringIO("\n".join(l for l in lines if not l.startswith("#")))))
    assert len(rows) == 5
    g = np.linspace(0.1, 10, 5)
    np.testing.assert_array_equal([float(r["risk"]) for r in rows], ridge.risk(g, 0.01).risk)


def test_curve_two_axes_json_list(capsys):
    _, out = run(capsys, "curve", "ridge", "--gamma", "0.5,2", "--lam", "1e-3:1:3:log", "--format", "json")
    recs = json.loads(out)
    assert isinstance(recs, list) and len(recs) == 6
    assert [r["lam"] for r in recs[:3]] == pytest.approx([1e-3, 10 ** -1.5, 1.0])


def test_curve_needs_an_axis(capsys):
    with pytest.raises(SystemExit) as e:
        main(["curve", "ridge", "--gamma", "2"])
    assert e.value.code == 2
    assert "at least one swept parameter" in capsys.readouterr().err


@pytest.mark.parametrize("argv,msg", [
    (["risk", "ridge", "--gamma", "-1"], "gamma must be > 0"),
    (["risk", "ridge", "--gamma", "2", "--lam", "-0.1"], "lam must be >= 0"),
    (["risk", "ridge", "--lam", "0.1"], "gamma is required"),
    (["risk", "ridge", "--gamma", "1:2"], "cannot read the axis"),
    (["risk", "ridge-spectrum", "--eigs", "nofile", "--beta2", "flat:d=3", "--n", "2"], "neither a file"),
    (["risk", "ridge", "--gamma", "abc"], "gamma: cannot read the axis"),
    (["risk", "ridge", "--gamma", "1,,2"], "empty entry"),
    (["risk", "ridge", "--gamma", "nan"], "gamma must not be NaN"),
    (["risk", "ridge", "--gamma", "2", "--precision", "-5"], "precision must be"),
    (["check", "ridge", "--gamma", "1e-9", "--d", "10"], "n * d must be"),
    (["risk", "ridge-spectrum", "--eigs", "power:d=10,alpha=1,bogus=3", "--beta2", "flat:r2=1",
      "--n", "5"], "takes alpha, d, scale"),
    (["derive", "ridge", "--limit", "lam=abc("], "cannot read the value"),
    (["curve", "ridge", "--gamma", "0.5,2", "--mc"], "give --plot"),
])
def test_bad_input_is_one_clear_line(capsys, argv, msg):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert msg in err and "Traceback" not in err


def test_derive_ridge_agrees_with_published_limits(capsys):
    _, out = run(capsys, "derive", "ridge", "--format", "json")
    d = json.loads(out)
    agrees = [r for r in d["derivations"] if r["name"] == "agrees with the published form"]
    assert len(agrees) == 2 and all(r["sympy"] == "True" for r in agrees)
    _, tex = run(capsys, "derive", "ridge", "--format", "latex")
    assert "\\begin{align*}" in tex and "\\lambda" in tex


def test_derive_series(capsys):
    _, out = run(capsys, "derive", "ridge", "--series", "lam=0", "--regime", "gamma<1", "--format", "json")
    rows = json.loads(out)["derivations"]
    assert any(r["what"].startswith("series") for r in rows)


def test_risk_precision(capsys):
    _, out = run(capsys, "risk", "ridge", "--gamma", "0.5", "--lam", "0.1", "--precision", "40",
                 "--format", "json")
    d = json.loads(out)
    assert d["mp"]["risk"].startswith("0.60356745147454629751019287238254085071")


def test_check_ridge_small(capsys):
    code, out = run(capsys, "check", "ridge", "--gamma", "0.5,2", "--lam", "0.1", "--d", "100",
                    "--seeds", "6", "--format", "json")
    rows = json.loads(out)
    assert len(rows) == 2 and all(r["verdict"] == "agree" for r in rows)
    assert code == 0


def test_python_dash_m_and_console_script():
    out = subprocess.run([sys.executable, "-m", "asymptotics", "risk", "ridge", "--gamma", "0.5",
                          "--format", "json"], capture_output=True, text=True, check=True).stdout
    assert json.loads(out)["risk"] == pytest.approx(1.0)


def test_curve_spectrum_with_mc_points(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    png = tmp_path / "s.png"
    code, _ = run(capsys, "curve", "ridge-spectrum", "--eigs", "power:d=60,alpha=1.5", "--beta2",
                  "flat:r2=1", "--n", "20:100:5", "--lam", "0,0.01", "--plot", str(png), "--mc",
                  "--seeds", "3", "--mc-points", "3")
    assert code == 0 and png.stat().st_size > 1000


def test_kernel_ridge_commands(capsys):
    import json
    from asymptotics.cli import main
    assert main(["risk", "kernel-ridge", "--d", "20", "--n", "100,400", "--lam", "1e-3",
                 "--energy", "0,1,1", "--format", "json"]) == 0
    recs = json.loads(capsys.readouterr().out)
    assert recs[0]["d"] == 20 and recs[1]["learned_2"] > recs[0]["learned_2"]
    assert main(["check", "kernel-ridge", "--d", "10", "--n", "40", "--lam", "1e-2", "--seeds", "4"]) == 0
    assert "d = 10" in capsys.readouterr().out
    assert main(["risk", "kernel-ridge-limit", "--exponent", "1.5", "--energy", "0,1,1"]) == 0
    assert " 1 " in capsys.readouterr().out


def test_experiment_commands(capsys):
    import json
    from asymptotics.cli import main
    code = main(["check", "iterative-linearisation", "--tasks", "linear", "--ks", "1,0", "--d", "5",
                 "--n", "20", "--m-test", "50", "--m-align", "20", "--width", "16", "--steps", "20",
                 "--seeds", "2", "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert out["experiment"] == "iterative-linearisation" and out["records"]
    assert code == (0 if out["passed"] else 1)
    with pytest.raises(SystemExit):
        main(["check", "lazy", "--widths", "64,abc"])
    assert "--widths" in capsys.readouterr().err


def test_risk_precision_with_text_columns(capsys):
    """--precision with a model that has text columns (kernel, energy): the text is kept."""
    _, out = run(capsys, "risk", "kernel-ridge", "--d", "10", "--n", "50", "--lam", "1e-2",
                 "--precision", "40", "--format", "json")
    d = json.loads(out)
    assert d["kernel"] == "exp" and d["energy"] == "0,1,1" and len(d["mp"]["risk"]) >= 40
    assert float(d["mp"]["risk"]) == pytest.approx(d["risk"], rel=1e-15)


def test_derive_regime_as_an_inequality(capsys):
    _, named = run(capsys, "derive", "ridge", "--regime", "gamma<1", "--format", "json")
    _, written = run(capsys, "derive", "ridge", "--regime", "0 < gamma < 1", "--format", "json")
    assert json.loads(named) == json.loads(written)
    _, flipped = run(capsys, "derive", "ridge", "--regime", "1 > gamma", "--format", "json")
    assert json.loads(flipped) == json.loads(named)


def test_verify_command(capsys):
    code, out = run(capsys, "verify", "ridge", "--claim", "sigma2*gamma/(1-gamma)", "--regime", "gamma<1",
                    "--fixed", "lam=0", "--points", "5", "--format", "json")
    d = json.loads(out)
    assert code == 0 and d["ok"] is True and d["max_rel_diff"] < 1e-25
    code, out = run(capsys, "verify", "ridge", "--claim", "sigma2/(1-gamma)", "--regime", "gamma<1",
                    "--fixed", "lam=0", "--points", "5")
    assert code == 1 and "DISAGREES" in out


@pytest.mark.parametrize("argv,msg", [
    (["derive", "ridge", "--limit", "lam=gamma"], "--limit: cannot read the value of lam"),
    (["derive", "ridge", "--limit", "mu=0"], "unknown parameter 'mu'"),
    (["derive", "ridge", "--series", "lam=oo"], "infinity"),
    (["derive", "ridge", "--regime", "gamma == 1"], "a regime is an interval"),
    (["derive", "ridge", "--regime", "gamma < 1 < 2"], "must be a parameter"),
    (["verify", "ridge", "--claim", "gamma +"], "cannot read the claimed expression"),
    (["verify", "ridge", "--claim", "gamma + foo"], "unknown symbols foo"),
])
def test_derive_and_verify_input_errors(capsys, argv, msg):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert msg in err and "Traceback" not in err, err
