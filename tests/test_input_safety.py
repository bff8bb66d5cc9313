"""Input safety (issue 12, section 3): no user text is evaluated as code, sizes are refused before any
work, files and flags are checked first, nothing is silently accepted, messages name the parameter,
and a failed point of a curve never loses the others."""
import builtins
import csv
import dataclasses
import io
import json
import math
import os
import random
import sys
import time

import mpmath
import numpy as np
import pytest
import sympy as sp

from asymptotics import curves
from asymptotics.cli import main
from asymptotics.curves import MODELS, check_simulation_sizes, estimate_memory, evaluate, load_vector
from asymptotics.engine.fixedpoint import ConvergenceError, Solution
from asymptotics.numerics.expressions import (parse_assignment, parse_expression, parse_float,
                                              parse_number, parse_number_list, parse_regime)


# ================================================================================================
# 1. No user string is ever evaluated as Python
# ================================================================================================
def payloads(marker):
    """Injection attempts; the live ones would create ``marker`` if evaluated."""
    cmd = f"touch {marker}"
    return [
        f"__import__('os').system('{cmd}')",
        f"__import__(\"os\").system(\"{cmd}\")",
        "().__class__.__bases__[0].__subclasses__()",
        f"(lambda: __import__('os').system('{cmd}'))()",
        "lambda x: x",
        "gamma.__class__",
        "lam.real",
        f"f'{{__import__(\"os\").system(\"{cmd}\")}}'",
        "eval('1')",
        f"exec(\"import os; os.system('{cmd}')\")",
        "open('/etc/passwd').read()",
        "1 if True else 0",
        "[1][0]",
        "{'a': 1}",
        "'a' * 10",
        "1; import os",
        "__builtins__",
        "_",
        "Symbol('x')",
        "Integer(1)",
        "sympify('1')",
        "S.One",
        "\uff45\uff56\uff41\uff4c('1')",            # fullwidth 'eval' (NFKC-normalized by Python)
        "\U0001d41e\U0001d42f\U0001d41a\U0001d425('1')",  # mathematical bold 'eval'
        "lam\u200b",                               # zero-width space
        "\u202egamma",                             # right-to-left override
        "1\u00a0+ 1",                              # no-break space
        "(" * 5000 + "1" + ")" * 5000,             # deep nesting and very long
        "-" * 1500 + "1",                          # deep unary chain
        "+".join(["1"] * 20000),                   # very long
        "9**9**9**9",                              # a number with ~10^8 digits
        "(10**1000)**1000",
        "1e999999999",
        "2x",
        "0x1f",
        "1_000",
        "1j",
        "nan_",
    ]


@pytest.fixture
def guarded(monkeypatch, tmp_path):
    """A marker file a live payload would create, and eval/exec/sympify watched for user text."""
    marker = tmp_path / "PWNED"
    seen = []
    real_eval, real_exec, real_sympify = builtins.eval, builtins.exec, sp.sympify

    texts = [p for p in payloads(marker) if len(p) >= 4]

    def watch(func, label):
        def wrapped(source, *a, **k):  # a payload reaching eval/exec (generated code is fine)
            if isinstance(source, str) and ("PWNED" in source or any(p in source for p in texts)):
                seen.append((label, source))
            if not a and "globals" not in k:  # run in the caller's namespace, as the builtin does
                caller = sys._getframe(1)
                a = (caller.f_globals, caller.f_locals)
            return func(source, *a, **k)
        return wrapped

    monkeypatch.setattr(builtins, "eval", watch(real_eval, "eval"))
    monkeypatch.setattr(builtins, "exec", watch(real_exec, "exec"))

    def sympify(a, *args, **kw):
        if isinstance(a, str):
            seen.append(("sympify", a))
        return real_sympify(a, *args, **kw)

    monkeypatch.setattr(sp, "sympify", sympify)
    return marker, seen


def test_the_marker_payload_is_live(tmp_path):
    """The test below can fail: sympify (what the code used before) runs the payload."""
    marker = tmp_path / "PWNED"
    sp.sympify(payloads(marker)[0])     # returns os.system's exit status, 0
    assert marker.exists()


def _cli(argv):
    with pytest.raises(SystemExit) as e:
        main(argv)
    return e.value.code


def _entry_points(p, tmp_path):
    """Every string-taking flag and API argument, each fed the payload ``p``."""
    from asymptotics.activations import get_activation, to_exact
    from asymptotics.engine import derive
    from asymptotics.expansions.hermite import coefficient_by_integration, hermite_coefficients
    from asymptotics.models import kernel_ridge, random_features, ridge
    f = tmp_path / "payload.txt"
    f.write_text(p + "\n")
    return {
        "cli derive --limit": lambda: _cli(["derive", "ridge", "--limit", "lam=" + p]),
        "cli derive --series": lambda: _cli(["derive", "ridge", "--series", "lam=" + p]),
        "cli derive --regime": lambda: _cli(["derive", "ridge", "--regime", p]),
        "cli verify --claim": lambda: _cli(["verify", "ridge", "--claim", p]),
        "cli verify --fixed": lambda: _cli(["verify", "ridge", "--claim", "gamma", "--fixed", "lam=" + p]),
        "cli risk --gamma": lambda: _cli(["risk", "ridge", "--gamma", p]),
        "cli risk --lam (axis end)": lambda: _cli(["risk", "ridge", "--gamma", "1", "--lam", "0:" + p + ":3"]),
        "cli risk --energy": lambda: _cli(["risk", "kernel-ridge", "--d", "5", "--n", "10", "--energy", p]),
        "cli risk --kernel poly:": lambda: _cli(["risk", "kernel-ridge", "--d", "5", "--n", "10",
                                                 "--kernel", "poly:1," + p]),
        "cli risk --activation": lambda: _cli(["risk", "rf", "--psi1", "1", "--psi2", "2", "--activation", p]),
        "cli risk --kmax": lambda: _cli(["risk", "kernel-ridge", "--d", "5", "--n", "10", "--kmax", p]),
        "cli risk --eigs law": lambda: _cli(["risk", "ridge-spectrum", "--eigs", "power:d=10,alpha=" + p,
                                             "--beta2", "flat:r2=1", "--n", "5"]),
        "cli risk --eigs file": lambda: _cli(["risk", "ridge-spectrum", "--eigs", str(f), "--beta2",
                                              "flat:r2=1", "--n", "5"]),
        "cli hermite ACTIVATION": lambda: _cli(["hermite", p]),
        "cli hermite --q": lambda: _cli(["hermite", "relu", "--q", p]),
        "api derive.verify claimed": lambda: derive.verify(ridge.RIDGE, p, n_points=2),
        "api derive.limit value": lambda: derive.limit(ridge.RIDGE, "lam", p),
        "api derive.series value": lambda: derive.series(ridge.RIDGE, "risk", "lam", p),
        "api derive.limit regime": lambda: derive.limit(ridge.RIDGE, "lam", 0, {"gamma": (p, sp.oo)}),
        "api to_exact": lambda: to_exact("a", p),
        "api get_activation erf a=": lambda: get_activation("erf", a=p),
        "api get_activation poly coeffs": lambda: get_activation("poly", coeffs=[1, p]),
        "api hermite_coefficients q=": lambda: hermite_coefficients("relu", q=p),
        "api coefficient_by_integration": lambda: coefficient_by_integration(p, 1),
        "api parse_energy": lambda: kernel_ridge.parse_energy(p),
        "api curves.evaluate gamma=": lambda: evaluate("ridge", gamma=p),
        "api curves.load_vector file": lambda: load_vector("eigs", str(f)),
        "api ridge.risk gamma=": lambda: ridge.risk(p),
        "api rf.risk activation=": lambda: random_features.risk(1.0, 2.0, 0.1, activation=p),
        "api parse_expression": lambda: parse_expression(p, name="x", symbols=["gamma", "lam", "x"]),
        "api parse_regime": lambda: parse_regime(p, name="x", symbols=["gamma"]),
        "api parse_assignment": lambda: parse_assignment("lam=" + p, name="x", symbols=["lam"]),
    }


def test_injection_through_every_string_argument(guarded, tmp_path, capsys, monkeypatch):
    import asymptotics.cli as cli
    parser = cli.build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda: parser)  # built once: this test is about parsing
    marker, seen = guarded
    failures = []
    for call in _entry_points("?", tmp_path).values():  # warm up: imports are not the parser's time
        try:
            call()
        except BaseException:  # noqa: BLE001 - pytest.fail (a valid "1" makes _cli fail) included
            pass
    for p in payloads(marker):
        for where, call in _entry_points(p, tmp_path).items():
            t0 = time.process_time()
            try:
                out = call()
            except ValueError:
                out = "ValueError"
            except Exception as e:  # noqa: BLE001 - anything else is a failure of this test
                out = f"{type(e).__name__}: {e}"
            dt = time.process_time() - t0
            if out not in ("ValueError", 2):
                failures.append((where, p[:60], out))
            if dt > 1.0:
                failures.append((where, p[:60], f"took {dt:.2f} s of CPU"))
            assert not marker.exists(), (where, p)
    capsys.readouterr()
    assert not seen, seen[:3]
    assert not failures, "\n".join(map(str, failures[:20]))


# ------------------------------------------------------------------------------------ the parser
SAFE = ["1", "0.25", ".5", "5.", "1e-3", "2.5E+4", "-2**2", "2**-1", "2^3^2", "a/b/2", "a-b-2",
        "-a*-b", "(a+b)*(a-b)", "sqrt(a)*exp(-b)", "log(8, 2)", "ln(E)", "sin(pi/6)", "tanh(a)",
        "erf(a)", "abs(-a)", "Max(a, b, 1)", "min(a, 2)", "a**(1/2)", "1/(1-a)**2", "+a", "E**2",
        "heaviside(a)", "atan(1)", "cosh(a) - sinh(a)", "a*1e-300", "10**400"]


@pytest.mark.parametrize("text", SAFE)
def test_parser_agrees_with_sympy_on_trusted_text(text):
    a, b = sp.symbols("a b")
    mine = parse_expression(text, name="t", symbols=[a, b])
    names = {"a": a, "b": b, "heaviside": sp.Heaviside, "ln": sp.log, "abs": sp.Abs, "min": sp.Min,
             "max": sp.Max}
    ref = sp.sympify(text, locals=names, rational=True)  # eval of our own test text only
    assert sp.simplify(mine - ref) == 0, (mine, ref)


def _random_tree(rng, depth):
    a, b = sp.symbols("a b")
    if depth == 0 or rng.random() < 0.25:
        kind = rng.randrange(3)
        if kind == 0:
            n = rng.randrange(1, 50)
            return str(n), sp.Integer(n)
        return ("a", a) if kind == 1 else ("b", b)
    op = rng.choice(["+", "-", "*", "/", "**", "neg", "sqrt", "exp", "paren"])
    lt, le = _random_tree(rng, depth - 1)
    if op == "neg":
        return f"-({lt})", -le
    if op in ("sqrt", "exp"):
        return f"{op}({lt})", getattr(sp, op)(le)
    if op == "paren":
        return f"({lt})", le
    if op == "**":
        k = rng.randrange(0, 4)
        return f"({lt})**{k}", le ** k
    rt, re_ = _random_tree(rng, depth - 1)
    if op == "/" and re_.is_zero:
        re_, rt = sp.Integer(7), "7"
    return f"({lt}){op}({rt})", {"+": le + re_, "-": le - re_, "*": le * re_, "/": le / re_}[op]


def test_parser_builds_the_same_tree_as_sympy_operators_random():
    rng = random.Random(12)
    a, b = sp.symbols("a b")
    for _ in range(300):
        text, expr = _random_tree(rng, 4)
        got = parse_expression(text, name="t", symbols=[a, b])
        assert sp.simplify(got - expr) == 0, text


def test_parser_functions_and_errors():
    assert parse_number("1/3", name="a") == sp.Rational(1, 3)
    assert parse_number("0.1", name="a") == sp.Rational(1, 10)
    assert parse_float("1e-3", name="a") == 1e-3
    assert parse_number_list("0, 1, 1/2", name="e") == [0, 1, sp.Rational(1, 2)]
    assert parse_assignment("psi1 = oo", name="--limit", symbols=["psi1"]) == ("psi1", sp.oo)
    assert parse_regime("gamma>1", name="r", symbols=["gamma"]) == {"gamma": (1, sp.oo)}
    assert parse_regime("1 > gamma > 0", name="r", symbols=["gamma"]) == {"gamma": (0, 1)}
    assert parse_regime("gamma > 1, lam < 2", name="r", symbols=["gamma", "lam"]) == \
        {"gamma": (1, sp.oo), "lam": (-sp.oo, 2)}
    cases = [
        (lambda: parse_number("x", name="--limit"), "--limit: unknown name 'x'"),
        (lambda: parse_number("oo", name="a"), "infinity"),
        (lambda: parse_number("1/0", name="a"), "division by zero"),
        (lambda: parse_number("sqrt(-1)", name="a"), "real number"),
        (lambda: parse_number("log(0)", name="a"), "undefined"),
        (lambda: parse_number("", name="a"), "empty"),
        (lambda: parse_number("1 +", name="a"), "ends early"),
        (lambda: parse_number("(1", name="a"), "expected ')'"),
        (lambda: parse_number("1 < 2", name="a"), "comparison"),
        (lambda: parse_number("sqrt", name="a"), "parentheses"),
        (lambda: parse_number("sqrt(1, 2)", name="a"), "takes 1 argument"),
        (lambda: parse_float("1e-400", name="a"), "below the float64 range"),
        (lambda: parse_float("10**400", name="a"), "exceeds the float64 range"),
        (lambda: parse_number_list("1,,2", name="energy"), "entry 2 is empty"),
        (lambda: parse_assignment("lam", name="--limit", symbols=["lam"]), "PARAM=VALUE"),
        (lambda: parse_assignment("mu=0", name="--limit", symbols=["lam"]), "unknown parameter 'mu'"),
        (lambda: parse_regime("gamma = 1", name="--regime", symbols=["gamma"]), "interval"),
        (lambda: parse_regime("2 > gamma > 3", name="--regime", symbols=["gamma"]), "empty"),
        (lambda: parse_regime("1 < gamma > 0", name="--regime", symbols=["gamma"]), "one way"),
        (lambda: parse_regime("gamma < gamma + 1", name="--regime", symbols=["gamma"]), "may not contain"),
        (lambda: parse_expression(123, name="claim"), "claim must be a string"),
    ]
    for call, msg in cases:
        with pytest.raises(ValueError, match=msg.replace("(", r"\(").replace(")", r"\)")):
            call()


# ================================================================================================
# 2. Sizes are checked before any work
# ================================================================================================
def _refused_fast(call, match):
    t0 = time.process_time()
    with pytest.raises(ValueError, match=match):
        call()
    assert time.process_time() - t0 < 1.0


def test_oversize_requests_are_refused_in_under_a_second():
    _refused_fast(lambda: evaluate("ridge", gamma="0.1:10:10000000"), "at most 1000000")
    _refused_fast(lambda: evaluate("ridge", gamma="0.1:10:1001", lam="0:1:1000"), "the grid has 1001000 points")
    _refused_fast(lambda: load_vector("eigs", "power:d=1e8,alpha=1"), r"GiB of memory .*above the limit")
    _refused_fast(lambda: evaluate("ridge-spectrum", eigs="power:d=1e6,alpha=1", beta2="flat:r2=1",
                                   n="1:1000:100"), r"100 points with 1000000 eigenvalues.*needs about")
    _refused_fast(lambda: evaluate("ridge", gamma="0:1:" + "9" * 40), "at most")


def test_limits_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("ASYMPTOTICS_MAX_POINTS", "10")
    assert len(evaluate("ridge", gamma="1:2:10")[0]) == 10
    with pytest.raises(ValueError, match="ASYMPTOTICS_MAX_POINTS"):
        evaluate("ridge", gamma="1:2:11")
    with pytest.raises(ValueError, match="ASYMPTOTICS_MAX_POINTS"):
        evaluate("ridge", gamma="1:2:4", lam="0:1:3")
    monkeypatch.setenv("ASYMPTOTICS_MAX_POINTS", "1e6")
    monkeypatch.setenv("ASYMPTOTICS_MAX_MEMORY", "1M")
    with pytest.raises(ValueError, match=r"above the limit of 1 MiB .*ASYMPTOTICS_MAX_MEMORY"):
        evaluate("ridge", gamma="1:2:1000")
    monkeypatch.setenv("ASYMPTOTICS_MAX_MEMORY", "lots")
    with pytest.raises(ValueError, match="ASYMPTOTICS_MAX_MEMORY='lots'"):
        evaluate("ridge", gamma=1.0)


def test_memory_estimate_covers_the_measured_use():
    """The estimate is an upper bound of the measured peak (see the constants in curves.py):
    1.5 kB per ridge point, 72 bytes per eigenvalue, 39 bytes per point and eigenvalue."""
    assert estimate_memory("ridge", 200_000) >= 200_000 * 1500
    assert estimate_memory("ridge-spectrum", 1, 3_000_000) >= 3_000_000 * 72
    assert estimate_memory("ridge-spectrum", 200, 100_000) >= 200 * 100_000 * 39


def test_monte_carlo_sizes_agree_with_the_simulators():
    from theory_checks import kernel_ridge as krs, random_features as rfs, ridge as rs
    # rf: the pre-check refuses exactly where the simulator's own validation does
    for psi1 in (0.5, 3.0, 30.0):
        for d in (100, 1000, 6000):
            try:
                rfs._validate(psi1, 1.5, 0.1, d, 1.0, 0.0, 0.0, 2, 0, 4000)
                sim_ok = True
            except ValueError:
                sim_ok = False
            try:
                check_simulation_sizes("rf", {"psi1": str(psi1), "psi2": "1.5"}, d=d, seeds=2)
                pre_ok = True
            except ValueError:
                pre_ok = False
            assert pre_ok == sim_ok, (psi1, d)
    for n in (100, 7071, 7072, 20000):
        try:
            krs._validate("exp", 10, n, 0.1, [0, 1], 0.0, 2, 0, 100)
            sim_ok = True
        except ValueError:
            sim_ok = False
        try:
            check_simulation_sizes("kernel-ridge", {"d": "10", "n": str(n)}, seeds=2)
            pre_ok = True
        except ValueError:
            pre_ok = False
        assert pre_ok == sim_ok, n
    for g in (1e-3, 0.5):
        with pytest.raises(ValueError) if g == 1e-3 else _nothing():
            rs.n_samples(g, 400)
        with pytest.raises(ValueError) if g == 1e-3 else _nothing():
            check_simulation_sizes("ridge", {"gamma": str(g)}, d=400, seeds=2)
    with pytest.raises(ValueError, match="seeds must be"):
        check_simulation_sizes("ridge", {"gamma": "1"}, d=400, seeds=1)
    with pytest.raises(ValueError, match="does not support 'check'"):
        check_simulation_sizes("nt-limit", {"exponent": "1.5"})


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


@pytest.mark.parametrize("argv", [
    ["check", "rf", "--psi1", "0.5,3", "--psi2", "1.5", "--lam", "0.01", "--d", "6000", "--seeds", "2"],
    ["check", "kernel-ridge", "--d", "20", "--n", "20000", "--seeds", "2"],
    ["curve", "kernel-ridge", "--d", "20", "--n", "5:20000:5", "--plot", "PNG", "--mc"],
    ["curve", "ridge", "--gamma", "1e-3:1:4", "--plot", "PNG", "--mc", "--d", "1000"],
])
def test_simulation_limits_fire_before_the_theory(argv, monkeypatch, tmp_path, capsys):
    def no_theory(*a, **k):
        raise AssertionError("the theory was computed before the simulation size was checked")
    monkeypatch.setattr(curves, "evaluate", no_theory)
    argv = [str(tmp_path / "x.png") if a == "PNG" else a for a in argv]
    assert _cli(argv) == 2
    assert "simulation needs" in capsys.readouterr().err


# ================================================================================================
# 3. Files
# ================================================================================================
def test_files_are_checked(tmp_path, capsys, monkeypatch):
    base = ["risk", "ridge-spectrum", "--beta2", "flat:r2=1", "--n", "5", "--eigs"]
    empty, binary, two = tmp_path / "empty.txt", tmp_path / "bin.dat", tmp_path / "two.txt"
    empty.write_text("# nothing\n")
    binary.write_bytes(b"\x00\xff\x10")
    two.write_text("1.0 2.0\n")
    for arg, msg in [(str(tmp_path), "is a directory"), (str(empty), "holds no numbers"),
                     (str(binary), "not a plain ASCII text file"), (str(two), "line 1 .* more than one number")]:
        assert _cli(base + [arg]) == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err and __import__("re").search(msg, err), (arg, err)
    good = tmp_path / "eigs.txt"
    good.write_text("# eigenvalues\n1.0\n0.5\n1/4\n")
    np.testing.assert_array_equal(load_vector("eigs", str(good)), [1.0, 0.5, 0.25])


@pytest.mark.parametrize("path,msg", [
    ("/nonexistent/dir/x.png", "does not exist"),
    ("TMP/x.jpg", "must end in one of .png, .pdf, .svg"),
    ("TMP", "is a directory"),
])
def test_plot_path_is_checked_before_the_computation(path, msg, tmp_path, monkeypatch, capsys):
    def no_theory(*a, **k):
        raise AssertionError("computed before the plot path was checked")
    monkeypatch.setattr(curves, "evaluate", no_theory)
    path = path.replace("TMP", str(tmp_path))
    assert _cli(["curve", "ridge", "--gamma", "0.1:10:5", "--plot", path]) == 2
    assert msg in capsys.readouterr().err


# ================================================================================================
# 4-5. Nothing silently accepted; messages name the user's parameter and its range
# ================================================================================================
@pytest.mark.parametrize("argv,msg", [
    (["risk", "kernel-ridge", "--d", "10", "--n", "100", "--kmax", "2.5"], "kmax must be an integer, got 2.5"),
    (["risk", "kernel-ridge", "--d", "10", "--n", "100", "--kmax", "1,2"], "kmax takes one integer"),
    (["risk", "kernel-ridge", "--d", "10", "--n", "100", "--kmax", "2000"], "kmax must be an integer >= 0 and <= 1008, got 2000"),
    (["risk", "kernel-ridge", "--d", "10", "--n", "100", "--kmax", "nan"], "kmax must be an integer, got nan"),
    (["risk", "nt", "--d", "10", "--n", "100", "--kmax", "2.5"], "kmax must be an integer, got 2.5"),
    (["risk", "kernel-ridge", "--d", "10", "--n", "100", "--energy", "1,,2"], "energy: entry 2 is empty"),
    (["risk", "kernel-ridge", "--d", "10", "--n", "100", "--kernel", "poly:1,,2"], "coefficient 2 of 'poly:1,,2' is empty"),
    (["risk", "ridge-spectrum", "--eigs", "spiked:d=10,spikes=2;;3", "--beta2", "flat:r2=1", "--n", "5"], "empty entry"),
    (["curve", "ridge", "--gamma", "0.1:2:5", "--plot", "PNG", "--mc", "--mc-points", "-1"],
     "--mc-points must be an integer >= 1"),
    (["curve", "ridge", "--gamma", "0.1:2:5", "--y", "nope"], "--y: 'nope' is not a column"),
    (["risk", "nt-staircase", "--d", "10", "--exponent", "1.5", "--precision", "40"],
     "nt-staircase cannot honour precision=40"),
    (["risk", "nt", "--d", "10", "--n", "50", "--precision", "40"], "nt cannot honour precision"),
    (["risk", "ridge", "--gamma", "\u0661"], "not allowed"),
])
def test_bad_flags_are_refused_naming_the_parameter(argv, msg, capsys, tmp_path):
    argv = [str(tmp_path / "x.png") if a == "PNG" else a for a in argv]
    assert _cli(argv) == 2
    err = capsys.readouterr().err
    assert msg in err and "Traceback" not in err, err


@pytest.mark.parametrize("argv", [
    ["risk", "ridge", "--gam", "2"], ["risk", "ridge", "--gamma", "2", "--l", "0.1"],
    ["risk", "ridge", "--gamma", "2", "--prec", "30"], ["hermite", "relu", "--km", "3"],
    ["derive", "ridge", "--lim", "lam=0"], ["curve", "ridge", "--gamma", "1:2:3", "--form", "json"],
    ["check", "lazy", "--width", "64,128"],
])
def test_abbreviations_are_refused(argv, capsys):
    assert _cli(argv) == 2
    assert "unrecognized arguments" in capsys.readouterr().err


def test_python_api_rejects_strings_bools_none_and_empty():
    from asymptotics.models import kernel_ridge, random_features, ridge
    for bad, msg in [(True, "gamma must be a real number .*got True"),
                     ("0.5", "gamma must be a real number .*got a string '0.5'"),
                     (None, "gamma must be a real number .*got None"),
                     ([], "gamma must not be empty"), ([0.5, "1"], "gamma must be real numbers"),
                     (np.array([True, False]), "array of booleans"), (1 + 2j, "complex")]:
        with pytest.raises(ValueError, match=msg):
            ridge.risk(bad)
    with pytest.raises(ValueError, match="n must not be empty"):
        ridge.spectrum_risk([1.0], [1.0], n=[])
    with pytest.raises(ValueError, match="psi1 must be a real number"):
        random_features.risk(True, 1.0, 0.1, activation="relu")
    with pytest.raises(ValueError, match="lam must not be empty"):
        kernel_ridge.sphere_risk("exp", 10, 10.0, [])
    with pytest.raises(ValueError, match="gamma must be a real number"):
        evaluate("ridge", gamma=True)
    with pytest.raises(ValueError, match="kmax must be an integer"):
        evaluate("kernel-ridge", d=10, n=20, kmax=2.5)
    # numbers of other types still work
    from fractions import Fraction
    assert ridge.risk(Fraction(1, 2), 0.0).risk == pytest.approx(1.0)
    assert ridge.risk(np.float32(0.5), 0.0).risk == pytest.approx(1.0)


# ================================================================================================
# 6-7. Capabilities: only what works is offered; precision is honoured or refused
# ================================================================================================
def test_parser_offers_only_supported_verbs(capsys):
    assert _cli(["derive", "nt-staircase"]) == 2
    assert _cli(["check", "nt-limit", "--exponent", "1.5"]) == 2
    assert _cli(["check", "kernel-ridge-limit", "--exponent", "1.5"]) == 2
    assert "invalid choice" in capsys.readouterr().err
    from asymptotics.cli import build_parser
    parser = build_parser()
    for name, entry in MODELS.items():
        for verb in ("risk", "curve", "check", "derive"):
            argv = [verb, name, "--help"]
            with pytest.raises(SystemExit) as e:
                parser.parse_args(argv)
            assert (e.value.code == 0) == (verb in entry.verbs), (verb, name)
    capsys.readouterr()


@pytest.mark.parametrize("model,values", [
    ("ridge", dict(gamma=0.5, lam=0.1)),
    ("ridge-spectrum", dict(eigs="power:d=10,alpha=1", beta2="flat:r2=1", n=5.0, lam=0.1)),
    ("rf", dict(psi1=2.0, psi2=1.0, lam=0.1)),
    ("kernel-ridge", dict(d=10, n=50.0, lam=0.01)),
])
def test_precision_is_honoured_where_offered(model, values):
    recs, meta = evaluate(model, precision=40, **values)
    assert isinstance(recs[0]["risk"], mpmath.mpf) and "mpmath 40 digits" in meta["solver"]


@pytest.mark.parametrize("model", [m for m, e in MODELS.items() if not e.precision])
def test_precision_is_refused_where_not_honoured(model):
    with pytest.raises(ValueError, match=f"{model} cannot honour precision"):
        evaluate(model, precision=40)


def test_hermite_precision_prints_the_digits(capsys):
    assert main(["hermite", "relu", "--kmax", "3", "--precision", "40", "--format", "json"]) == 0
    d = json.loads(capsys.readouterr().out)
    with mpmath.workdps(60):
        mu0 = 1 / mpmath.sqrt(2 * mpmath.pi)
        mu_star = mpmath.sqrt(mpmath.mpf(1) / 2 - 1 / (2 * mpmath.pi) - mpmath.mpf(1) / 4)
        c2 = 1 / (2 * mpmath.sqrt(mpmath.pi))
    assert d["mu0"] == float(mu0)                      # doubles under the usual keys
    assert d["mp"]["mu0"] == mpmath.nstr(mu0, 40)      # the 40 digits under "mp"
    assert d["mp"]["mu_star"] == mpmath.nstr(mu_star, 40)
    assert d["mp"]["coeffs"][2] == mpmath.nstr(c2, 40) and len(d["mp"]["coeffs"]) == 4
    assert main(["hermite", "tanh", "--kmax", "1", "--precision", "25"]) == 0
    table = capsys.readouterr().out
    with mpmath.workdps(40):
        mu1 = mpmath.quad(lambda x: x * mpmath.tanh(x) * mpmath.npdf(x), [-mpmath.inf, 0, mpmath.inf])
    assert mpmath.nstr(mu1, 25) in table
    assert main(["hermite", "relu", "--kmax", "2"]) == 0   # without --precision: doubles, as before
    assert "0.398942280401" in capsys.readouterr().out


def test_hermite_accepts_an_expression_activation(capsys):
    assert main(["hermite", "x^3", "--kmax", "3", "--format", "json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["coeffs"] == pytest.approx([0, 3, 0, math.sqrt(6)], abs=1e-12)  # x^3 = He_3 + 3 He_1


# ================================================================================================
# 8. Curves never lose the rest
# ================================================================================================
def _stub_solution(shape=(3,), failed=(1,), status=None, rel=None):
    gamma = np.linspace(0.5, 2.0, shape[0])
    risk = np.ma.masked_array(gamma * 10.0, mask=np.isin(np.arange(shape[0]), failed))
    kw = {}
    sol = Solution(model="ridge", shape=shape,
                   params={"gamma": gamma, "lam": np.zeros(shape), "r2": np.ones(shape), "sigma2": np.ones(shape)},
                   unknowns={"kappa": np.ma.masked_array(gamma, mask=risk.mask)},
                   outputs={k: risk for k in ("risk", "bias", "variance", "risk_total")},
                   converged=~risk.mask, iterations=np.zeros(shape, int))
    if status is not None or rel is not None:
        # a Solution with the engine's accuracy fields (issue 12, section 1)
        fields = {"status": status, "rel_accuracy": rel}

        class WithAccuracy:
            def __init__(self, base):
                self._base = base

            def __getattr__(self, name):
                if name in fields and fields[name] is not None:
                    return fields[name]
                return getattr(self._base, name)
        return WithAccuracy(sol)
    return sol


def _with_theory(monkeypatch, theory, masks=True):
    monkeypatch.setitem(MODELS, "ridge", dataclasses.replace(MODELS["ridge"], theory=theory, masks=masks))


def test_a_failed_point_keeps_the_others(monkeypatch):
    _with_theory(monkeypatch, lambda **kw: _stub_solution())
    recs, meta = evaluate("ridge", gamma="0.5:2:3")
    assert [r["risk"] for r in recs] == [5.0, None, 20.0] and recs[1]["gamma"] == 1.25
    assert [r["status"] for r in recs][::2] == ["ok", "ok"] and recs[1]["status"].startswith("not solved")
    assert recs[1]["kappa"] is None and meta["failed_points"] == 1
    assert "rel_accuracy" in recs[0] and recs[1]["rel_accuracy"] is None   # every Solution carries it


def test_status_and_accuracy_of_the_engine_are_carried(monkeypatch, capsys):
    status = np.array(["ok", "did not converge after 200 iterations", "exact"], dtype=object)
    rel = np.array([1e-15, np.nan, 0.0])
    _with_theory(monkeypatch, lambda **kw: _stub_solution(status=status, rel=rel))
    recs, _ = evaluate("ridge", gamma="0.5:2:3")
    assert [r["status"] for r in recs] == list(status)
    assert [r["rel_accuracy"] for r in recs] == [1e-15, None, 0.0]
    assert main(["curve", "ridge", "--gamma", "0.5:2:3", "--format", "json"]) == 0
    cap = capsys.readouterr()
    js = json.loads(cap.out)
    assert js[1]["risk"] is None and js[1]["rel_accuracy"] is None and js[1]["status"] == status[1]
    assert "1 of 3 points could not be solved" in cap.err and "gamma=1.25" in cap.err
    main(["curve", "ridge", "--gamma", "0.5:2:3", "--format", "csv"])
    rows = list(csv.DictReader(io.StringIO("\n".join(l for l in capsys.readouterr().out.splitlines()
                                                     if not l.startswith("#")))))
    assert rows[1]["risk"] == "" and rows[1]["status"] == status[1] and rows[0]["rel_accuracy"] == "1e-15"
    main(["curve", "ridge", "--gamma", "0.5:2:3"])
    assert "\u2014" in capsys.readouterr().out


def test_a_convergence_error_is_solved_point_by_point(monkeypatch):
    from asymptotics.models import ridge

    def theory(gamma, lam, r2, sigma2, **kw):
        if np.any(np.isclose(gamma, 1.25)):
            raise ConvergenceError("ridge: the fixed point was not found at gamma=1.25")
        return ridge.risk(gamma, lam, r2, sigma2, **kw)
    _with_theory(monkeypatch, theory, masks=False)
    recs, meta = evaluate("ridge", gamma="0.5:2:3", lam=0.1)
    ref = ridge.risk(np.array([0.5, 2.0]), 0.1).risk
    assert recs[0]["risk"] == ref[0] and recs[2]["risk"] == ref[1] and recs[1]["risk"] is None
    assert "gamma=1.25" in recs[1]["status"] and meta["failed_points"] == 1


def test_exit_status_is_one_only_when_every_point_failed(monkeypatch, capsys, tmp_path):
    _with_theory(monkeypatch, lambda **kw: _stub_solution(failed=(0, 1, 2)))
    assert main(["curve", "ridge", "--gamma", "0.5:2:3"]) == 1
    assert "3 of 3 points" in capsys.readouterr().err
    _with_theory(monkeypatch, lambda **kw: _stub_solution())
    pytest.importorskip("matplotlib")
    png = tmp_path / "gap.png"
    assert main(["curve", "ridge", "--gamma", "0.5:2:3", "--plot", str(png)]) == 0   # a gap, not an error
    assert png.stat().st_size > 1000


def test_real_models_are_unchanged_on_a_grid():
    """The new path gives the very numbers of the models (no change beyond 1e-13: none)."""
    from asymptotics.models import ridge
    g = np.linspace(0.1, 10, 7)
    recs, _ = evaluate("ridge", gamma=g, lam=[0.0, 0.1])
    ref = ridge.risk(g[:, None], np.array([0.0, 0.1])[None, :]).risk.ravel()
    assert [r["risk"] for r in recs] == list(ref) and {r["status"] for r in recs} == {"ok"}
