"""Parameter grids and sweeps: every model's risk as flat records with full metadata.

The registry :data:`MODELS` says, for each model the command line knows, its parameters (with their
defaults), its theory function and the columns of its records. :func:`evaluate` runs a model on the
outer product of the given parameter values (scalars or 1-d arrays) in one vectorized call and returns
records (one flat dict per grid point: parameters, unknowns, risk and components) plus metadata
(package version, model, source, solver tolerance, the full parameter grid).

Axis syntax (:func:`parse_axis`): ``START:STOP:NUM`` (linear), ``START:STOP:NUM:log`` (geometric),
``a,b,c`` (a list) or a single number. Numbers are decimals (``0.5``, ``1e-3``) or safe expressions
(``1/3``, ``sqrt(2)``, ``pi/4``; :mod:`asymptotics.numerics.expressions`, never ``eval``).

Sizes are checked before any work (:func:`size_limits`): a grid of more than
``ASYMPTOTICS_MAX_POINTS`` points (default 10^6), or an estimated memory use above
``ASYMPTOTICS_MAX_MEMORY`` (default ``2G``; suffixes ``K, M, G, T``), is refused with a
``ValueError`` giving the estimate and the limit. The environment variables raise or lower them.

A point where the solver fails never loses the others: :func:`evaluate` solves with
``errors="mask"`` and returns every point; a failed point has ``status`` set to the reason and
``None`` in its outputs (see :func:`evaluate`).

>>> parse_axis("0:1:3"), parse_axis("1e-2:1:3:log"), parse_axis("0.5,2")
(array([0. , 0.5, 1. ]), array([0.01, 0.1 , 1.  ]), array([0.5, 2. ]))
>>> recs, meta = evaluate("ridge", gamma=[0.5, 2.0], lam=0.0)
>>> [round(r["risk"], 12) for r in recs]
[1.0, 1.5]
"""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from . import __version__
from ._validation import check_int, check_real
from .engine.fixedpoint import DEFAULT_TOL, ConvergenceError
from .numerics.expressions import is_plain_number, parse_float, split_top_level

__all__ = ["Param", "ModelEntry", "MODELS", "VERBS", "get_model", "parse_axis", "evaluate", "load_vector",
           "size_limits", "estimate_memory", "check_simulation_sizes"]

#: The command-line verbs a model entry may offer.
VERBS = ("risk", "curve", "check", "derive")


@dataclass(frozen=True)
class Param:
    """A model parameter as the command line and sweeps see it.

    Attributes:
        name: the API name (``Fstar_sq``; the flag is ``--Fstar-sq``).
        default: default value, ``None`` if required.
        help: one line for ``--help``.
        kind: ``"real"`` (sweepable), ``"int"`` (one integer, not sweepable), ``"vector"`` (a file or a
            law, not sweepable) or ``"text"``.
        optional: with ``default=None``, the parameter may be left out (it is then not passed on).
        low, high: the range of an ``"int"`` parameter (``None``: unbounded).
    """

    name: str
    default: object = None
    help: str = ""
    kind: str = "real"
    optional: bool = False
    low: int | None = None
    high: int | None = None


@dataclass(frozen=True)
class ModelEntry:
    """A model of the registry: parameters, theory function, record columns, source, capabilities.

    Capabilities (the command line offers only what works):
        verbs: the verbs of :data:`VERBS` this model supports (``check`` needs a Monte Carlo twin in
            :mod:`theory_checks.catalog`, ``derive`` a symbolic model).
        precision: whether ``precision=P`` is honoured end to end (every output at ``P`` digits);
            ``no_precision`` says why not, for the error message.
        masks: whether the theory function takes ``errors="mask"`` (else failed points are found by
            solving point by point after a ``ConvergenceError``).
    """

    name: str
    params: tuple
    theory: Callable
    columns: tuple
    source: str
    description: str
    symbolic: object = None  # the FixedPointModel, for `derive`
    extra: dict = field(default_factory=dict)
    verbs: tuple = VERBS
    precision: bool = True
    no_precision: str = ""
    masks: bool = False


def _ridge_theory(gamma, lam, r2, sigma2, **kw):
    from .models.ridge import risk
    return risk(gamma, lam, r2, sigma2, **kw)


def _ridge_spectrum_theory(eigs, beta2, n, lam, sigma2, **kw):
    from .models.ridge import spectrum_risk
    return spectrum_risk(eigs, beta2, n, lam, sigma2, **kw)


def _without_errors(kw):
    kw = dict(kw)
    kw.pop("errors", None)
    return kw


def _rf_theory(psi1, psi2, lam, F1sq, Fstar_sq, tau2, activation=None, mu0=None, mu1=None,
               mu_star=None, **kw):
    from .models.random_features import risk
    if mu1 is not None or mu_star is not None:
        activation = None
    return risk(psi1, psi2, lam, activation=activation, mu0=mu0, mu1=mu1, mu_star=mu_star, F1sq=F1sq,
                Fstar_sq=Fstar_sq, tau2=tau2, **kw)


def _rf_columns(values):
    """Columns of rf records that are not model parameters: the activation and its mu0."""
    from .models.random_features import activation_constants
    direct = values.get("mu1") is not None or values.get("mu_star") is not None
    act = None if direct else values.get("activation", "relu")
    mu0, _, _ = activation_constants(act, values.get("mu0"), values.get("mu1"), values.get("mu_star"))
    return {"activation": act, "mu0": mu0}


def _kernel_ridge_theory(kernel, d, n, lam, sigma2, energy, kmax=None, **kw):
    import dataclasses
    from .models.kernel_ridge import learned_fraction, parse_energy, sphere_risk
    dd = np.unique(np.asarray(d, dtype=float))
    if dd.size != 1 or not float(dd[0]).is_integer():
        raise ValueError("kernel-ridge: d must be a single integer (sweep n, lam or sigma2 instead)")
    e = parse_energy(energy)
    sol, spec = sphere_risk(kernel, int(dd[0]), n, lam, sigma2, energy=e, kmax=kmax, **kw)
    # at masked (failed) points kappa is not a solution: evaluate there at kappa = 1 and let the
    # records drop the values (their status says why)
    kappa = np.ma.filled(np.ma.asarray(sol.unknowns["kappa"]).astype(float), 1.0)
    L = learned_fraction(np.broadcast_to(kappa, sol.shape), spec.eigs[:e.size])
    outputs = dict(sol.outputs, **{f"learned_{k}": L[..., k] for k in range(e.size)})
    return dataclasses.replace(sol, params=dict(sol.params, d=np.asarray(d, dtype=float)), outputs=outputs)


def _kernel_ridge_columns(values):
    return {"kernel": values.get("kernel", "exp"), "energy": values.get("energy", "0,1,1")}


def _kernel_ridge_limit_theory(kernel, exponent, alpha, lam, sigma2, energy, **kw):
    from .models.kernel_ridge import polynomial_risk
    return polynomial_risk(kernel, energy, alpha, exponent, lam, sigma2, **_without_errors(kw))


def _nt_theory(activation, d, n, lam, sigma2, energy, kmax=None, precision=None, **kw):
    from .models.neural_tangent import risk
    return risk(n, d, lam, sigma2, activation=activation, energy=energy, kmax=kmax, precision=precision)


def _nt_limit_theory(activation, exponent, alpha, lam, sigma2, energy, precision=None, **kw):
    from .models.neural_tangent import polynomial_risk
    return polynomial_risk(alpha, exponent, lam, sigma2, activation=activation, energy=energy,
                           precision=precision)


def _nt_staircase_theory(activation, d, exponent, energy, **kw):
    from .models.neural_tangent import staircase_result
    return staircase_result(exponent, d, activation=activation, energy=energy)


def _nt_columns(values):
    return {"activation": values.get("activation", "relu"), "energy": values.get("energy", "0,1,1")}


_ENERGY = Param("energy", "0,1,1", "target energy ||P_k f||^2 of degrees k = 0,1,2,...", "text")


def _sphere_params(first: Param, n_help: str = "number of samples > 0", kmax_high: int = 200) -> tuple:
    """Parameters of a kernel model at finite d on S^{d-1}(sqrt d) (kernel-ridge, nt)."""
    return (first,
            Param("d", None, "dimension of the sphere S^{d-1}(sqrt d), an integer >= 2"),
            Param("n", None, n_help),
            Param("lam", 0.0, "ridge of K + lam I (not multiplied by n), >= 0"),
            Param("sigma2", 0.0, "noise variance >= 0"),
            _ENERGY,
            Param("kmax", None, f"largest degree kept exactly, an integer >= the target's degree and "
                  f"<= {kmax_high} (default: automatic)", kind="int", optional=True, low=0, high=kmax_high))


def _limit_params(first: Param) -> tuple:
    """Parameters of a polynomial-regime limit n = alpha d^exponent, d -> oo."""
    return (first,
            Param("exponent", None, "n = alpha d^exponent, exponent > 0"),
            Param("alpha", 1.0, "n = alpha d^exponent, alpha > 0"),
            Param("lam", 0.0, "ridge of K + lam I, >= 0"),
            Param("sigma2", 0.0, "noise variance >= 0"),
            _ENERGY)


_SPHERE_COLUMNS = ("energy", "d", "n", "lam", "sigma2", "kappa", "df1", "df2", "risk", "bias", "variance",
                   "risk_total")
_LIMIT_COLUMNS = ("energy", "exponent", "alpha", "lam", "sigma2", "degree", "gamma", "lam_ridge", "kappa",
                  "risk", "bias", "variance", "risk_total")


def _krr_kmax_high() -> int:
    """The largest kmax the finite-d kernel spectrum can compute: its Gauss-Jacobi quadrature starts
    at ``2 kmax + 32`` nodes and doubles at least once, within ``gegenbauer._MAX_NODES``."""
    from .expansions import gegenbauer
    return (gegenbauer._MAX_NODES // 2 - 32) // 2


_LIMIT_NO_PRECISION = ("its kernel's Taylor coefficients are computed in double precision, so the "
                       "digits beyond ~16 would not be meaningful")


def _registry() -> dict:
    from .models import kernel_ridge, neural_tangent, random_features, ridge
    return {
        "ridge": ModelEntry(
            name="ridge",
            params=(Param("gamma", None, "aspect ratio d/n > 0"),
                    Param("lam", 0.0, "ridge penalty >= 0 (on the average squared loss)"),
                    Param("r2", 1.0, "signal strength ||beta||^2 >= 0"),
                    Param("sigma2", 1.0, "noise variance >= 0")),
            theory=_ridge_theory,
            columns=("gamma", "lam", "r2", "sigma2", "kappa", "risk", "bias", "variance", "risk_total"),
            source=ridge.SOURCE_ISO,
            description="ridge regression, isotropic Gaussian design, excess risk",
            symbolic=ridge.RIDGE,
            extra={"limit_witnesses": ridge.LIMIT_WITNESSES},
            masks=True,
        ),
        "ridge-spectrum": ModelEntry(
            name="ridge-spectrum",
            params=(Param("eigs", None, "covariance eigenvalues: a file (one per line) or a law "
                          "power:d=D,alpha=A | mp:d=D,ratio=C | spiked:d=D,spikes=S1;S2[,bulk=B]",
                          "vector"),
                    Param("beta2", None, "squared target coefficients <beta,v_i>^2: a file, a law as "
                          "for --eigs, or flat:r2=R (r2/d each)", "vector"),
                    Param("n", None, "number of samples > 0"),
                    Param("lam", 0.0, "ridge penalty >= 0"),
                    Param("sigma2", 1.0, "noise variance >= 0")),
            theory=_ridge_spectrum_theory,
            columns=("n", "lam", "sigma2", "kappa", "df1", "df2", "risk", "bias", "variance", "risk_total"),
            source=ridge.SOURCE_SPECTRUM,
            description="ridge regression, general covariance spectrum (deterministic equivalent)",
            symbolic=ridge.RIDGE_SPECTRUM,
            masks=True,
        ),
        "kernel-ridge": ModelEntry(
            name="kernel-ridge",
            params=_sphere_params(Param("kernel", "exp", "inner-product kernel h(<x,x'>/d): exp, relu-nngp "
                                        "or poly:c0,c1,...", "text"), kmax_high=_krr_kmax_high()),
            theory=_kernel_ridge_theory,
            columns=("kernel",) + _SPHERE_COLUMNS,
            source=kernel_ridge.SOURCE,
            description="kernel ridge regression on the sphere, exact finite-d spectrum, excess risk",
            symbolic=kernel_ridge.KERNEL_RIDGE,
            extra={"columns_from": _kernel_ridge_columns, "column_prefixes": ("learned_",)},
            masks=True,
        ),
        "kernel-ridge-limit": ModelEntry(
            name="kernel-ridge-limit",
            params=_limit_params(Param("kernel", "exp", "inner-product kernel: exp, relu-nngp or "
                                       "poly:c0,c1,...", "text")),
            theory=_kernel_ridge_limit_theory,
            columns=("kernel",) + _LIMIT_COLUMNS,
            source=kernel_ridge.SOURCE_LIMIT,
            description="kernel ridge regression on the sphere, polynomial regime n = alpha d^exponent, d -> oo",
            symbolic=kernel_ridge.KERNEL_RIDGE_LIMIT,
            extra={"columns_from": _kernel_ridge_columns},
            verbs=("risk", "curve", "derive"),
            precision=False, no_precision=_LIMIT_NO_PRECISION,
        ),
        "nt": ModelEntry(
            name="nt",
            params=_sphere_params(Param("activation", "relu", "activation (with a derivative): relu, tanh, "
                                        "erf, gelu, softplus, ...", "text"),
                                  "number of samples > 0 (theory valid for N d >> n)",
                                  kmax_high=neural_tangent._MAX_KMAX),
            theory=_nt_theory,
            columns=("activation",) + _SPHERE_COLUMNS,
            source=neural_tangent.SOURCE,
            description="neural tangent ridge regression, N d >> n: KRR with the NT kernel at finite d",
            symbolic=kernel_ridge.KERNEL_RIDGE,
            extra={"columns_from": _nt_columns},
            precision=False, no_precision="its kernel ridge solution is returned in double precision",
        ),
        "nt-limit": ModelEntry(
            name="nt-limit",
            params=_limit_params(Param("activation", "relu", "activation (with a derivative)", "text")),
            theory=_nt_limit_theory,
            columns=("activation",) + _LIMIT_COLUMNS,
            source=neural_tangent.SOURCE,
            description="neural tangent ridge regression, polynomial regime n = alpha d^exponent, d -> oo",
            symbolic=kernel_ridge.KERNEL_RIDGE_LIMIT,
            extra={"columns_from": _nt_columns},
            verbs=("risk", "curve", "derive"),
            precision=False, no_precision=_LIMIT_NO_PRECISION,
        ),
        "nt-staircase": ModelEntry(
            name="nt-staircase",
            params=(Param("activation", "relu", "activation (with a derivative)", "text"),
                    Param("d", None, "dimension, an integer >= 3"),
                    Param("exponent", None, "number of parameters p = d^exponent (exponent >= 1)"),
                    Param("energy", "0,0.5,0.5", "target energy of degrees k = 0,1,2,...", "text")),
            theory=_nt_staircase_theory,
            columns=("activation", "energy", "d", "exponent", "N_rf", "N_nt", "rf", "nt", "limit", "risk"),
            source=neural_tangent.SOURCE,
            description="RF vs NT approximation error (infinite data) at p = d^exponent parameters; risk = NT",
            extra={"columns_from": _nt_columns},
            verbs=("risk", "curve", "check"),
            precision=False, no_precision="its approximation errors are computed in double precision",
        ),
        "rf": ModelEntry(
            name="rf",
            params=(Param("psi1", None, "N/d, features per dimension > 0"),
                    Param("psi2", None, "n/d, samples per dimension > 0"),
                    Param("lam", 0.0, "ridge penalty >= 0, (N lam/d)||a||^2 on the average loss"),
                    Param("F1sq", 1.0, "energy of the linear part of the target >= 0"),
                    Param("Fstar_sq", 0.0, "energy of the nonlinear part >= 0"),
                    Param("tau2", 0.0, "noise variance >= 0"),
                    Param("activation", "relu", "activation of the Hermite layer (ignored when "
                          "--mu1/--mu-star are given)", "text"),
                    Param("mu0", None, "E sigma(G) (does not enter the risk)", optional=True),
                    Param("mu1", None, "E G sigma(G)", optional=True),
                    Param("mu_star", None, "sqrt(E sigma^2 - mu0^2 - mu1^2) > 0", optional=True)),
            theory=_rf_theory,
            columns=("psi1", "psi2", "lam", "activation", "mu0", "mu1", "mu_star", "F1sq", "Fstar_sq",
                     "tau2", "chi", "risk", "bias", "variance"),
            source=random_features.SOURCE,
            description="random features ridge regression on the sphere (Mei-Montanari test error)",
            symbolic=random_features.RANDOM_FEATURES,
            # the physical root of a quartic has no useful closed form: derive limits only
            extra={"columns_from": _rf_columns, "closed_form": False,
                   "present": random_features.present},
            masks=True,
        ),
    }


MODELS: dict = _registry()


def get_model(name: str, verb: str | None = None) -> ModelEntry:
    """The registry entry of ``name``; ``ValueError`` listing the known models otherwise, or if the
    model does not support ``verb`` (one of :data:`VERBS`)."""
    if not isinstance(name, str) or name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    entry = MODELS[name]
    if verb is not None and verb not in entry.verbs:
        others = [k for k, e in MODELS.items() if verb in e.verbs]
        raise ValueError(f"{name} does not support {verb!r} (it supports {', '.join(entry.verbs)}); "
                         f"models with {verb!r}: {', '.join(others)}")
    return entry


# ---------------------------------------------------------------------- size limits
_DEFAULT_MAX_POINTS = 10 ** 6
_DEFAULT_MAX_MEMORY = 2 * 1024 ** 3

#: Memory model of :func:`estimate_memory` (bytes), from the peak resident size (``/usr/bin/time -f
#: %M``) of ``asymptotics curve ridge --gamma 0.1:10:N --format csv`` (1.5 kB per point) and
#: ``asymptotics risk ridge-spectrum --eigs power:d=D,alpha=1 --beta2 flat:r2=1 --n 1:1000:P``
#: (71 bytes per eigenvalue; 39 bytes per point and eigenvalue), rounded up:
#: a grid point costs its solver arrays plus one record (a dict of Python floats) and its text;
_BYTES_PER_POINT = 300
_BYTES_PER_CELL = 160
#: a vector parameter (eigs, beta2) costs a few float64 copies while it is built and validated;
_BYTES_PER_VECTOR_ENTRY = 80
#: the engine evaluates spectral sums on (points, eigenvalues) arrays (several temporaries). If the
#: engine streams them (O(points + eigenvalues) memory), set this to 0.
_BYTES_PER_TRACE_ENTRY = 40


def _env_size(var: str, default: int, memory: bool) -> int:
    text = os.environ.get(var, "")
    if not text.strip():
        return default
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]*)?(?:[eE][0-9]+)?)\s*([kKmMgGtT]?)[iI]?[bB]?\s*", text)
    if not m or (m.group(2) and not memory):
        what = "a number of bytes, optionally with a suffix K, M, G or T (e.g. 4G)" if memory else \
            "a whole number (e.g. 1000000)"
        raise ValueError(f"the environment variable {var}={text!r} must be {what}")
    value = float(m.group(1)) * 1024 ** ("_kmgt".index(m.group(2).lower()) if m.group(2) else 0)
    if not 1 <= value < 1e30:
        raise ValueError(f"the environment variable {var}={text!r} must be >= 1")
    return int(value)


def size_limits() -> dict:
    """The limits of :func:`evaluate`: ``{"max_points": ..., "max_memory": ...}`` (bytes), from the
    environment variables ``ASYMPTOTICS_MAX_POINTS`` (default 10^6 grid points) and
    ``ASYMPTOTICS_MAX_MEMORY`` (default ``2G``), read at every call.

    >>> size_limits()["max_points"] >= 1
    True
    """
    return {"max_points": _env_size("ASYMPTOTICS_MAX_POINTS", _DEFAULT_MAX_POINTS, False),
            "max_memory": _env_size("ASYMPTOTICS_MAX_MEMORY", _DEFAULT_MAX_MEMORY, True)}


def _fmt_bytes(b: float) -> str:
    for unit, size in (("TiB", 1024 ** 4), ("GiB", 1024 ** 3), ("MiB", 1024 ** 2), ("KiB", 1024)):
        if b >= size:
            return f"{b / size:.3g} {unit}"
    return f"{int(b)} bytes"


def estimate_memory(model: str, n_points: int, vector_length: int = 0,
                    precision: int | None = None) -> int:
    """Estimated peak memory (bytes) of :func:`evaluate` for ``n_points`` grid points and vector
    parameters of ``vector_length`` entries (0: none).

    >>> estimate_memory("ridge", 10 ** 6) > 10 ** 9
    True
    """
    entry = get_model(model)
    cells = len(entry.columns) + 2 + (0 if precision is None else 2 * len(entry.columns))
    per_point = _BYTES_PER_POINT + _BYTES_PER_CELL * cells
    return int(n_points * per_point + vector_length * _BYTES_PER_VECTOR_ENTRY
               + n_points * vector_length * _BYTES_PER_TRACE_ENTRY)


def _check_grid(model, sizes: dict, vector_length: int, precision, limits) -> None:
    n_points = math.prod(sizes.values()) if sizes else 1
    shape = " x ".join(f"{k} {v}" for k, v in sizes.items() if v > 1) or "one point"
    if n_points > limits["max_points"]:
        raise ValueError(f"{model}: the grid has {n_points} points ({shape}); at most "
                         f"{limits['max_points']} are allowed (set ASYMPTOTICS_MAX_POINTS to change the limit)")
    need = estimate_memory(model, n_points, vector_length, precision)
    if need > limits["max_memory"]:
        vec = f" with {vector_length} eigenvalues" if vector_length else ""
        raise ValueError(f"{model}: the request ({n_points} points{vec}) needs about {_fmt_bytes(need)} "
                         f"of memory (estimate), above the limit of {_fmt_bytes(limits['max_memory'])} "
                         "(set ASYMPTOTICS_MAX_MEMORY, e.g. 8G, to change the limit)")


def _check_vector_length(name: str, length: int, limits) -> None:
    need = length * _BYTES_PER_VECTOR_ENTRY
    if need > limits["max_memory"]:
        raise ValueError(f"{name}: {length} entries need about {_fmt_bytes(need)} of memory (estimate), above "
                         f"the limit of {_fmt_bytes(limits['max_memory'])} (set ASYMPTOTICS_MAX_MEMORY, "
                         "e.g. 8G, to change the limit)")


# ---------------------------------------------------------------------- parsing
_SPECIAL = re.compile(r"[+-]?(nan|inf|infinity)", re.IGNORECASE)


def _number(text: str, what: str = "the value") -> float:
    """A float from a user's text: a plain decimal (read by ``float``), ``nan``/``inf`` (left to the
    model's validation, which names the parameter) or a safe expression (``1/3``, ``sqrt(2)``)."""
    t = text.strip()
    if is_plain_number(t) or _SPECIAL.fullmatch(t):
        return float(t)
    return parse_float(t, name=what, allow_infinity=True)


def parse_axis(spec, *, max_points: int | None = None) -> np.ndarray:
    """Parse an axis specification (see the module docstring) into a 1-d float array.

    ``max_points`` (default: :func:`size_limits`) bounds ``NUM`` before anything is allocated.
    """
    if isinstance(spec, (int, float, np.floating, np.integer)) and not isinstance(spec, bool):
        return np.array([float(spec)])
    if not isinstance(spec, str):
        raise ValueError(f"an axis is a string or a number, got {type(spec).__name__} {spec!r}")
    text = spec.strip()
    usage = f"cannot read the axis {text!r}: use START:STOP:NUM, START:STOP:NUM:log, a,b,c or a number"
    if max_points is None:
        max_points = size_limits()["max_points"]
    if ":" in text:
        parts = [s.strip() for s in text.split(":")]
        log = len(parts) == 4 and parts[3].lower() == "log"
        if len(parts) not in (3, 4) or (len(parts) == 4 and not log) \
                or not re.fullmatch(r"[0-9]+", parts[2]):
            raise ValueError(usage)
        num = int(parts[2]) if len(parts[2]) <= 30 else math.inf
        if num < 1:
            raise ValueError(f"cannot read the axis {text!r}: NUM must be >= 1")
        if num > max_points:
            raise ValueError(f"the axis {text!r} has NUM = {parts[2]} points; at most {max_points} are allowed "
                             "(set ASYMPTOTICS_MAX_POINTS to change the limit)")
        try:
            start, stop = _number(parts[0], "START"), _number(parts[1], "STOP")
        except ValueError as e:
            raise ValueError(f"{usage} ({e})") from None
        if log:
            if start <= 0 or stop <= 0:
                raise ValueError(f"a log axis needs positive end points, got {text!r}")
            return np.geomspace(start, stop, num)
        return np.linspace(start, stop, num)
    items = [v for v, _ in split_top_level(text, "the axis")] if "(" in text else text.split(",")
    if any(not v.strip() for v in items):
        raise ValueError(f"cannot read the axis {text!r}: an empty entry in the list")
    if len(items) > max_points:
        raise ValueError(f"the axis lists {len(items)} values; at most {max_points} are allowed "
                         "(set ASYMPTOTICS_MAX_POINTS to change the limit)")
    try:
        return np.array([_number(v, f"entry {k + 1}") for k, v in enumerate(items)], dtype=float)
    except ValueError as e:
        raise ValueError(f"{usage} ({e})") from None


def _whole(x: float) -> int:
    if not float(x).is_integer():
        raise ValueError
    return int(x)


def _read_numbers(name: str, path: str, limits) -> np.ndarray:
    """One number per line (``#`` comments, blank lines ignored), read without ``eval``."""
    if os.path.isdir(path):
        raise ValueError(f"{name}: {path!r} is a directory; give a file with one number per line")
    try:
        size = os.path.getsize(path)
    except OSError as e:
        raise ValueError(f"{name}: cannot read {path!r}: {e.strerror}") from None
    if size > limits["max_memory"] // 8:
        raise ValueError(f"{name}: the file {path!r} is {_fmt_bytes(size)}; at most "
                         f"{_fmt_bytes(limits['max_memory'] // 8)} are read (an eighth of "
                         "ASYMPTOTICS_MAX_MEMORY)")
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as e:
        raise ValueError(f"{name}: cannot read {path!r}: {e.strerror}") from None
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError as e:
        raise ValueError(f"{name}: {path!r} is not a plain ASCII text file (byte {e.start})") from None
    vals = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        body = line.split("#", 1)[0].strip()
        if not body:
            continue
        if is_plain_number(body):
            vals.append(float(body))
            continue
        if len(body.split()) > 1 or "," in body:
            raise ValueError(f"{name}: line {lineno} of {path!r} holds more than one number ({body[:40]!r}); "
                             "give one number per line")
        try:
            vals.append(_number(body, f"{name}: line {lineno} of {path!r}"))
        except ValueError as e:
            raise ValueError(str(e)) from None
    if not vals:
        raise ValueError(f"{name}: {path!r} holds no numbers (one number per line, # comments)")
    _check_vector_length(name, len(vals), limits)
    return check_real(name, np.array(vals, dtype=float), allow_inf=True)


def load_vector(name: str, spec: str, d: int | None = None) -> np.ndarray:
    """A vector parameter from a file (one number per line, ``#`` comments) or a law specification;
    ``d`` is the default dimension of a law (the length of the eigenvalues, for ``beta2``). Sizes
    are checked against :func:`size_limits` before the vector is built."""
    from .models import ridge
    if not isinstance(spec, str):
        raise ValueError(f"{name}: give a file name or a law as a string, got {type(spec).__name__}")
    limits = size_limits()
    if os.path.exists(spec):
        return _read_numbers(name, spec, limits)
    if ":" not in spec:
        raise ValueError(f"{name}: {spec!r} is neither a file nor a law (power:d=D,alpha=A, "
                         "mp:d=D,ratio=C, spiked:d=D,spikes=S1;S2, flat:d=D,r2=R)")
    law, _, args = spec.partition(":")
    law = law.strip()
    keys = {"power": {"d", "alpha", "scale"}, "mp": {"d", "ratio", "variance"},
            "spiked": {"d", "spikes", "bulk"}, "flat": {"d", "r2"}}
    if law not in keys:
        raise ValueError(f"{name}: unknown law {law!r}; use power, mp, spiked or flat")
    kw = {}
    items = args.split(",")
    for k_item, item in enumerate(items):
        if not item.strip():
            if len(items) == 1 or k_item == len(items) - 1:
                continue  # "flat:" or a trailing comma
            raise ValueError(f"{name}: an empty entry in the law {spec!r}")
        k, eq, v = item.partition("=")
        if k.strip() not in keys[law]:
            raise ValueError(f"{name}: the law {law!r} takes {', '.join(sorted(keys[law]))}; got {k.strip()!r}")
        if not eq or not v.strip():
            raise ValueError(f"{name}: {k.strip()} needs a value ({k.strip()}=...) in {spec!r}")
        if k.strip() in kw:
            raise ValueError(f"{name}: {k.strip()} is given twice in {spec!r}")
        kw[k.strip()] = v.strip()

    if "d" not in kw and d is not None:
        kw["d"] = str(d)

    def num(k, default=None, conv=float):
        if k not in kw:
            if default is None:
                raise ValueError(f"{name}: the law {law!r} needs {k}=...")
            return default
        try:
            return conv(_number(kw[k], f"{name}: {k}"))
        except (ValueError, OverflowError):
            raise ValueError(f"{name}: {k}={kw[k]!r} is not a {'whole ' if conv is _whole else ''}number") from None

    def dim():
        dd = num("d", conv=_whole)
        check_int(f"{name}: d", dd, low=1)
        _check_vector_length(f"{name}: the law {law!r} with d = {dd}", dd, limits)
        return dd

    if law == "power":
        return ridge.power_law(dim(), num("alpha"), num("scale", 1.0))
    if law == "mp":
        return ridge.marchenko_pastur(dim(), num("ratio"), num("variance", 1.0))
    if law == "spiked":
        dd = dim()
        parts = kw.get("spikes", "").split(";")
        if any(not v.strip() for v in parts) and kw.get("spikes", "").strip():
            raise ValueError(f"{name}: spikes={kw['spikes']!r} has an empty entry")
        try:
            spikes = [_number(v, f"{name}: spikes") for v in parts if v.strip()]
        except ValueError:
            raise ValueError(f"{name}: spikes={kw['spikes']!r} must be numbers separated by ';'") from None
        return ridge.spiked(dd, spikes, num("bulk", 1.0))
    if law == "flat":
        dd = dim()
        return np.full(dd, num("r2", 1.0) / dd)
    raise AssertionError(law)  # unreachable: laws are checked above


def _int_value(p: Param, v):
    """An ``"int"`` parameter: one integer in ``[low, high]`` (text or number), never a sweep."""
    if isinstance(v, str):
        t = v.strip()
        if "," in t or ":" in t:
            raise ValueError(f"{p.name} takes one integer (it cannot be swept), got {v!r}")
        try:
            v = _number(t, p.name)
        except ValueError:
            raise ValueError(f"{p.name} must be an integer, got {v!r}") from None
    elif np.ndim(v) != 0:
        raise ValueError(f"{p.name} takes one integer (it cannot be swept), got {v!r}")
    return check_int(p.name, v, low=p.low, high=p.high)


def _check_texts(model: str, texts: dict) -> None:
    """Validate text parameters before any work (an empty list entry would shift the degrees)."""
    if "energy" in texts:
        from .models.kernel_ridge import parse_energy
        parse_energy(texts["energy"])
    k = texts.get("kernel")
    if k is not None and k.strip().lower().startswith("poly:"):
        body = k.split(":", 1)[1]
        for j, c in enumerate(body.split(","), start=1):
            if not c.strip():
                raise ValueError(f"kernel: coefficient {j} of {k!r} is empty (give every coefficient, 0 for none)")
            if not (_SPECIAL.fullmatch(c.strip()) or is_plain_number(c)):
                raise ValueError(f"kernel: coefficient {j} of {k!r} must be a decimal number, got {c.strip()!r}")


# ---------------------------------------------------------------------- records of a solution
_FAILED = "not solved: no convergence or a non-physical branch"


def _solution_records(sol, shape_params: dict | None = None) -> list:
    """Flat records of a Solution-like result, every point kept.

    Parameters always have their values; at a failed point (``converged`` false or a masked output)
    unknowns and outputs are ``None`` and ``status`` gives the reason. ``status`` and
    ``rel_accuracy`` come from the solution when it has them (the engine's accuracy contract), else
    ``status`` is ``"ok"``/the generic reason and there is no ``rel_accuracy``.
    """
    shape = tuple(sol.shape)
    P = int(np.prod(shape)) if shape else 1

    def flat(v):
        if np.ma.isMaskedArray(v):
            return (np.broadcast_to(np.ma.getdata(v), shape).ravel(),
                    np.broadcast_to(np.ma.getmaskarray(v), shape).ravel())
        return np.broadcast_to(np.asarray(v), shape).ravel(), np.zeros(P, dtype=bool)

    params = {k: flat(v)[0] for k, v in sol.params.items()}
    values = {}
    failed = np.zeros(P, dtype=bool)
    for group in (getattr(sol, "unknowns", None) or {}, sol.outputs):
        for k, v in group.items():
            data, mask = flat(v)
            values[k] = data
            failed |= mask
    conv = getattr(sol, "converged", None)
    if conv is not None:
        failed |= ~np.broadcast_to(np.asarray(conv, dtype=bool), shape).ravel()
    status = getattr(sol, "status", None)
    status = None if status is None else np.broadcast_to(np.asarray(status, dtype=object), shape).ravel()
    rel = getattr(sol, "rel_accuracy", None)
    if rel is not None:
        rel_data, rel_mask = flat(rel)
    out = []
    for i in range(P):
        rec = {k: float(v[i]) for k, v in params.items()}
        bad = bool(failed[i])
        for k, v in values.items():
            x = v[i]
            rec[k] = None if bad else (x if not isinstance(x, (float, np.floating, int, np.integer)) else float(x))
        if rel is not None:
            r = rel_data[i]
            rec["rel_accuracy"] = None if (bad or rel_mask[i] or r is None or not np.isfinite(float(r))) \
                else float(r)
        st = None if status is None else status[i]
        rec["status"] = str(st) if st is not None and (bad or str(st) != "") else (_FAILED if bad else "ok")
        if bad and rec["status"] in ("ok", "exact"):
            rec["status"] = _FAILED
        out.append(rec)
    return out


def _failed_record(grid_point: dict, reason: str) -> dict:
    return {**{k: float(v) for k, v in grid_point.items()}, "status": reason}


def _first_line(e: Exception) -> str:
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return text if len(text) <= 300 else text[:297] + "..."


# ---------------------------------------------------------------------- evaluate
def evaluate(model: str, *, precision: int | None = None, tol: float = DEFAULT_TOL, **values):
    """Run ``model`` on the outer product of the given parameter values.

    Args:
        model: a name of :data:`MODELS`.
        precision: mpmath digits (re-solves every point; slow on big grids). Refused (``ValueError``)
            for models that cannot honour it (``MODELS[model].precision`` false).
        tol: Newton step tolerance.
        **values: parameter values: scalars, 1-d arrays/lists (sweep axes) or, for vector parameters,
            arrays or specifications for :func:`load_vector`. Missing parameters take their defaults.
            Strings are axis specifications (:func:`parse_axis`); booleans, ``None`` and empty lists
            are refused.

    Returns:
        ``(records, metadata)``: list of flat dicts (C order over the axes, in the order of the
        model's parameters) and a metadata dict. Every grid point has a record: a point where the
        solver failed keeps its parameters, has ``None`` in the unknowns and outputs, and its
        ``status`` says why (``"ok"`` elsewhere; the engine may also say ``"exact"`` or
        ``"re-solved at P digits"``). ``rel_accuracy`` (the estimated relative accuracy of the risk)
        is a column when the solver provides it. ``metadata["failed_points"]`` counts the failures.

    Raises:
        ValueError: bad input, an unknown parameter, or a request above :func:`size_limits` --
            all before any computation.
    """
    entry = get_model(model)
    names = [p.name for p in entry.params]
    unknown = set(values) - set(names)
    if unknown:
        raise ValueError(f"{model}: unknown parameter(s) {', '.join(sorted(unknown))}; "
                         f"parameters are {', '.join(names)}")
    if precision is not None:
        if not entry.precision:
            raise ValueError(f"{model} cannot honour precision={precision!r}: {entry.no_precision}; "
                             "leave precision out")
        precision = check_int("precision", precision, low=15, high=10000)
    limits = size_limits()
    axes, vectors, texts, ints = {}, {}, {}, {}
    for p, v in _given(entry, values):
        if p.kind == "text":
            if not isinstance(v, str):
                raise ValueError(f"{p.name} must be a string, got {type(v).__name__} {v!r}")
            texts[p.name] = v
            continue
        if p.kind == "int":
            ints[p.name] = _int_value(p, v)
            continue
        if p.kind == "vector":
            dim = next((a.size for a in vectors.values()), None)
            if isinstance(v, str):
                vectors[p.name] = load_vector(p.name, v, dim)
            else:
                arr = check_real(p.name, v, allow_inf=True)
                _check_vector_length(p.name, arr.size, limits)
                vectors[p.name] = arr
            continue
        try:
            arr = parse_axis(v, max_points=limits["max_points"]) if isinstance(v, str) \
                else np.atleast_1d(check_real(p.name, v, allow_inf=True))
        except ValueError as e:
            msg = str(e)
            raise ValueError(msg if msg.startswith(p.name) else f"{p.name}: {msg}") from None
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError(f"{p.name} must be a number or a 1-d list of numbers")
        axes[p.name] = arr
    _check_texts(model, texts)
    vec_len = max((a.size for a in vectors.values()), default=0)
    _check_grid(model, {k: a.size for k, a in axes.items()}, vec_len, precision, limits)

    sweep = [k for k, a in axes.items() if a.size > 1]
    grids = np.meshgrid(*axes.values(), indexing="ij")
    grid = {k: g for k, g in zip(axes, grids)}
    kw = dict(precision=precision, tol=tol)
    if entry.masks:
        kw["errors"] = "mask"
    solved_precision = precision
    try:
        sol = entry.theory(**vectors, **texts, **ints, **grid, **kw)
        flat = _solution_records(sol)
        solved_precision = getattr(sol, "precision", precision)
    except ConvergenceError:
        # a point the solver cannot handle must not lose the others: solve point by point
        flat = []
        n = grids[0].size if grids else 1
        for i in range(n):
            point = {k: np.asarray(g.ravel()[i]) for k, g in grid.items()}
            try:
                sol = entry.theory(**vectors, **texts, **ints, **point, **kw)
                flat.extend(_solution_records(sol))
            except ConvergenceError as e:
                flat.append(_failed_record(point, _first_line(e)))
    extra = entry.extra["columns_from"]({**texts, **{k: v for k, v in values.items() if k in grid}}) \
        if "columns_from" in entry.extra else {}
    prefixes = entry.extra.get("column_prefixes", ())
    seen = {}
    for rec in flat:
        seen.update(dict.fromkeys(rec))
    columns = entry.columns + (tuple(k for k in seen if k.startswith(prefixes)) if prefixes else ())
    columns += tuple(k for k in ("rel_accuracy", "status") if k in seen)
    recs = [{c: extra[c] if c in extra else rec.get(c) for c in columns} for rec in flat]
    for r, rec in zip(recs, flat):  # a failed point's parameters that are not columns (e.g. d)
        for c in columns:
            if r[c] is None and c in rec:
                r[c] = rec[c]
    n_failed = sum(r.get("status") not in ("ok", "exact") and not str(r.get("status", "")).startswith("re-solved")
                   for r in recs)
    meta = {"package": "asymptotics", "version": __version__, "model": model,
            "description": entry.description, "source": entry.source,
            "solver": "vectorized damped Newton" + (f", mpmath {solved_precision} digits" if solved_precision else ""),
            "solver_tol": tol, "axes": sweep,
            "parameters": {k: (a.tolist() if a.size > 1 else float(a[0])) for k, a in axes.items()},
            "failed_points": int(n_failed)}
    for k, v in ints.items():
        meta["parameters"][k] = v
    for k, v in vectors.items():
        meta["parameters"][k] = {"length": int(v.size), "sum": float(np.sum(v)),
                                 "min": float(np.min(v)), "max": float(np.max(v))}
        if isinstance(values.get(k), str):
            meta["parameters"][k]["spec"] = values[k]
    return recs, meta


# ---------------------------------------------------------------------- Monte Carlo sizes
def _axis_values(entry, values, name):
    p = next(q for q in entry.params if q.name == name)
    v = values.get(name, p.default)
    if v is None:
        raise ValueError(f"{entry.name}: the parameter {name} is required")
    arr = parse_axis(v) if isinstance(v, str) else np.atleast_1d(check_real(name, v, allow_inf=True))
    return arr


def _given(entry, values):
    """``(parameter, value)`` of every parameter given or defaulted; a missing required one raises."""
    for p in entry.params:
        v = values.get(p.name, p.default)
        if v is None:
            if p.optional:
                continue
            raise ValueError(f"{entry.name}: the parameter {p.name} is required")
        yield p, v


def check_simulation_sizes(model: str, values: dict, *, d=None, ladder=None, seeds: int = 20,
                           seed: int = 0) -> list:
    """Refuse, before any theory is computed, a Monte Carlo check whose simulation would be refused
    later (matrices above a simulator's ``MAX_ENTRIES`` at **any** size of its finite-size ladder),
    or whose sizes or parameters are invalid.

    The rules are not copied here: the point groups the check will simulate are built by
    :func:`theory_checks.catalog.build_groups` -- the same call, with the same ``d`` and ``ladder``,
    that :func:`theory_checks.catalog.run_check` makes -- from the parameter grid alone (no theory is
    computed; the groups evaluate it lazily), and each group validates every size of its ladder with
    its simulator's own rule when it is built.

    Args:
        model: a model that supports ``check``.
        values: the parameter values, as given to :func:`evaluate`.
        d, ladder: as for :func:`theory_checks.catalog.run_check` (``d=None``: the model's default
            ladder; one value: a single size; a list: that ladder).
        seeds, seed: checked (``seeds >= 2``, ``seed >= 0``).

    Returns:
        The point groups (a list of ``(group, record indices)``), e.g. to read their ``sizes``.
    """
    import itertools
    entry = get_model(model, "check")
    check_int("seeds", seeds, low=2)
    check_int("seed", seed, low=0)
    from theory_checks import catalog
    axes, texts = {}, {}
    for p, v in _given(entry, values):
        if p.kind == "text":
            texts[p.name] = v
        elif p.kind == "real":
            axes[p.name] = _axis_values(entry, values, p.name)
    _check_grid(model, {k: a.size for k, a in axes.items()}, 0, None, size_limits())
    if model == "rf" and (values.get("mu1") is not None or values.get("mu_star") is not None):
        texts["activation"] = None  # as in evaluate's records: the simulation needs a real activation
    records = []
    for combo in itertools.product(*(a.tolist() for a in axes.values())):
        rec = dict(zip(axes, (float(v) for v in combo)), **texts)
        if model == "nt-staircase":  # the model's own parameters: p = d^exponent, N = p / d neurons
            rec["N_nt"] = rec["d"] ** rec["exponent"] / rec["d"]
        records.append(rec)
    return catalog.build_groups(model, records, d=d, ladder=ladder, values=values)
