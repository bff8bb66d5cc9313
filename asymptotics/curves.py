"""Parameter grids and sweeps: every model's risk as flat records with full metadata.

The registry :data:`MODELS` says, for each model the command line knows, its parameters (with their
defaults), its theory function and the columns of its records. :func:`evaluate` runs a model on the
outer product of the given parameter values (scalars or 1-d arrays) in one vectorized call and returns
records (one flat dict per grid point: parameters, unknowns, risk and components) plus metadata
(package version, model, source, solver tolerance, the full parameter grid).

Axis syntax (:func:`parse_axis`): ``START:STOP:NUM`` (linear), ``START:STOP:NUM:log`` (geometric),
``a,b,c`` (a list) or a single number.

>>> parse_axis("0:1:3"), parse_axis("1e-2:1:3:log"), parse_axis("0.5,2")
(array([0. , 0.5, 1. ]), array([0.01, 0.1 , 1.  ]), array([0.5, 2. ]))
>>> recs, meta = evaluate("ridge", gamma=[0.5, 2.0], lam=0.0)
>>> [round(r["risk"], 12) for r in recs]
[1.0, 1.5]
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from . import __version__
from .engine.fixedpoint import DEFAULT_TOL

__all__ = ["Param", "ModelEntry", "MODELS", "get_model", "parse_axis", "evaluate", "load_vector"]


@dataclass(frozen=True)
class Param:
    """A model parameter as the command line and sweeps see it.

    Attributes:
        name: the API name (``Fstar_sq``; the flag is ``--Fstar-sq``).
        default: default value, ``None`` if required.
        help: one line for ``--help``.
        kind: ``"real"`` (sweepable), ``"vector"`` (a file or a law, not sweepable) or ``"text"``.
        optional: with ``default=None``, the parameter may be left out (it is then not passed on).
    """

    name: str
    default: object = None
    help: str = ""
    kind: str = "real"
    optional: bool = False


@dataclass(frozen=True)
class ModelEntry:
    """A model of the registry: parameters, theory function, record columns, source."""

    name: str
    params: tuple
    theory: Callable
    columns: tuple
    source: str
    description: str
    symbolic: object = None  # the FixedPointModel, for `derive`
    extra: dict = field(default_factory=dict)


def _ridge_theory(gamma, lam, r2, sigma2, **kw):
    from .models.ridge import risk
    return risk(gamma, lam, r2, sigma2, **kw)


def _ridge_spectrum_theory(eigs, beta2, n, lam, sigma2, **kw):
    from .models.ridge import spectrum_risk
    return spectrum_risk(eigs, beta2, n, lam, sigma2, **kw)


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
    sol, spec = sphere_risk(kernel, int(dd[0]), n, lam, sigma2, energy=e,
                            kmax=None if kmax is None else int(np.asarray(kmax).flat[0]), **kw)
    kappa = np.asarray(sol.unknowns["kappa"], dtype=float)
    L = learned_fraction(np.broadcast_to(kappa, sol.shape), spec.eigs[:e.size])
    outputs = dict(sol.outputs, **{f"learned_{k}": L[..., k] for k in range(e.size)})
    return dataclasses.replace(sol, params=dict(sol.params, d=np.asarray(d, dtype=float)), outputs=outputs)


def _kernel_ridge_columns(values):
    return {"kernel": values.get("kernel", "exp"), "energy": values.get("energy", "0,1,1")}


def _kernel_ridge_limit_theory(kernel, exponent, alpha, lam, sigma2, energy, **kw):
    from .models.kernel_ridge import polynomial_risk
    return polynomial_risk(kernel, energy, alpha, exponent, lam, sigma2, **kw)


def _nt_theory(activation, d, n, lam, sigma2, energy, kmax=None, precision=None, **kw):
    from .models.neural_tangent import risk
    return risk(n, d, lam, sigma2, activation=activation, energy=energy,
                kmax=None if kmax is None else int(np.asarray(kmax).flat[0]), precision=precision)


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


def _sphere_params(first: Param, n_help: str = "number of samples > 0") -> tuple:
    """Parameters of a kernel model at finite d on S^{d-1}(sqrt d) (kernel-ridge, nt)."""
    return (first,
            Param("d", None, "dimension of the sphere S^{d-1}(sqrt d), an integer >= 2"),
            Param("n", None, n_help),
            Param("lam", 0.0, "ridge of K + lam I (not multiplied by n), >= 0"),
            Param("sigma2", 0.0, "noise variance >= 0"),
            _ENERGY,
            Param("kmax", None, "largest degree kept exactly (default: automatic)", optional=True))


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
        ),
        "kernel-ridge": ModelEntry(
            name="kernel-ridge",
            params=_sphere_params(Param("kernel", "exp", "inner-product kernel h(<x,x'>/d): exp, relu-nngp "
                                        "or poly:c0,c1,...", "text")),
            theory=_kernel_ridge_theory,
            columns=("kernel",) + _SPHERE_COLUMNS,
            source=kernel_ridge.SOURCE,
            description="kernel ridge regression on the sphere, exact finite-d spectrum, excess risk",
            symbolic=kernel_ridge.KERNEL_RIDGE,
            extra={"columns_from": _kernel_ridge_columns, "column_prefixes": ("learned_",)},
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
        ),
        "nt": ModelEntry(
            name="nt",
            params=_sphere_params(Param("activation", "relu", "activation (with a derivative): relu, tanh, "
                                        "erf, gelu, softplus, ...", "text"),
                                  "number of samples > 0 (theory valid for N d >> n)"),
            theory=_nt_theory,
            columns=("activation",) + _SPHERE_COLUMNS,
            source=neural_tangent.SOURCE,
            description="neural tangent ridge regression, N d >> n: KRR with the NT kernel at finite d",
            symbolic=kernel_ridge.KERNEL_RIDGE,
            extra={"columns_from": _nt_columns},
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
        ),
    }


MODELS: dict = _registry()



def get_model(name: str) -> ModelEntry:
    """The registry entry of ``name``; ``ValueError`` listing the known models otherwise."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    return MODELS[name]


def parse_axis(spec) -> np.ndarray:
    """Parse an axis specification (see the module docstring) into a 1-d float array."""
    if isinstance(spec, (int, float, np.floating, np.integer)):
        return np.array([float(spec)])
    text = str(spec).strip()
    usage = f"cannot read the axis {text!r}: use START:STOP:NUM, START:STOP:NUM:log, a,b,c or a number"
    if ":" in text:
        parts = [s.strip() for s in text.split(":")]
        log = len(parts) == 4 and parts[3].lower() == "log"
        if len(parts) not in (3, 4) or (len(parts) == 4 and not log) or not parts[2].isdigit():
            raise ValueError(usage)
        try:
            start, stop, num = float(parts[0]), float(parts[1]), int(parts[2])
        except ValueError:
            raise ValueError(usage) from None
        if num < 1:
            raise ValueError(f"cannot read the axis {text!r}: NUM must be >= 1")
        if log:
            if start <= 0 or stop <= 0:
                raise ValueError(f"a log axis needs positive end points, got {text!r}")
            return np.geomspace(start, stop, num)
        return np.linspace(start, stop, num)
    items = [v.strip() for v in text.split(",")]
    if any(not v for v in items):
        raise ValueError(f"cannot read the axis {text!r}: an empty entry in the list")
    try:
        return np.array([float(v) for v in items], dtype=float)
    except ValueError:
        raise ValueError(usage) from None


def _whole(x: float) -> int:
    if not float(x).is_integer():
        raise ValueError
    return int(x)


def load_vector(name: str, spec: str, d: int | None = None) -> np.ndarray:
    """A vector parameter from a file (one number per line, ``#`` comments) or a law specification;
    ``d`` is the default dimension of a law (the length of the eigenvalues, for ``beta2``)."""
    from .models import ridge
    spec = str(spec)
    if os.path.exists(spec):
        import warnings
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                vals = np.loadtxt(spec, dtype=float, comments="#", ndmin=1)
        except (ValueError, UserWarning) as e:
            raise ValueError(f"{name}: cannot read numbers from {spec!r}: {e}") from None
        if vals.ndim != 1:
            raise ValueError(f"{name}: {spec!r} must hold one number per line, got a {vals.shape} table")
        return vals
    if ":" not in spec:
        raise ValueError(f"{name}: {spec!r} is neither a file nor a law (power:d=D,alpha=A, "
                         "mp:d=D,ratio=C, spiked:d=D,spikes=S1;S2, flat:d=D,r2=R)")
    law, _, args = spec.partition(":")
    keys = {"power": {"d", "alpha", "scale"}, "mp": {"d", "ratio", "variance"},
            "spiked": {"d", "spikes", "bulk"}, "flat": {"d", "r2"}}
    if law not in keys:
        raise ValueError(f"{name}: unknown law {law!r}; use power, mp, spiked or flat")
    kw = {}
    for item in filter(None, args.split(",")):
        k, _, v = item.partition("=")
        if k.strip() not in keys[law]:
            raise ValueError(f"{name}: the law {law!r} takes {', '.join(sorted(keys[law]))}; got {k.strip()!r}")
        kw[k.strip()] = v.strip()

    if "d" not in kw and d is not None:
        kw["d"] = str(d)

    def num(k, default=None, conv=float):
        if k not in kw:
            if default is None:
                raise ValueError(f"{name}: the law {law!r} needs {k}=...")
            return default
        try:
            return conv(float(kw[k]))
        except ValueError:
            raise ValueError(f"{name}: {k}={kw[k]!r} is not a {'whole ' if conv is _whole else ''}number") from None

    if law == "power":
        return ridge.power_law(num("d", conv=_whole), num("alpha"), num("scale", 1.0))
    if law == "mp":
        return ridge.marchenko_pastur(num("d", conv=_whole), num("ratio"), num("variance", 1.0))
    if law == "spiked":
        try:
            spikes = [float(v) for v in kw.get("spikes", "").split(";") if v]
        except ValueError:
            raise ValueError(f"{name}: spikes={kw['spikes']!r} must be numbers separated by ';'") from None
        return ridge.spiked(num("d", conv=_whole), spikes, num("bulk", 1.0))
    if law == "flat":
        d = num("d", conv=_whole)
        return np.full(d, num("r2", 1.0) / d)
    raise AssertionError(law)  # unreachable: laws are checked above


def evaluate(model: str, *, precision: int | None = None, tol: float = DEFAULT_TOL, **values):
    """Run ``model`` on the outer product of the given parameter values.

    Args:
        model: a name of :data:`MODELS`.
        precision: mpmath digits (re-solves every point; slow on big grids).
        tol: Newton step tolerance.
        **values: parameter values: scalars, 1-d arrays/lists (sweep axes) or, for vector parameters,
            arrays or specifications for :func:`load_vector`. Missing parameters take their defaults.

    Returns:
        ``(records, metadata)``: list of flat dicts (C order over the axes, in the order of the
        model's parameters) and a metadata dict.
    """
    entry = get_model(model)
    names = [p.name for p in entry.params]
    unknown = set(values) - set(names)
    if unknown:
        raise ValueError(f"{model}: unknown parameter(s) {', '.join(sorted(unknown))}; "
                         f"parameters are {', '.join(names)}")
    axes, vectors, texts = {}, {}, {}
    for p in entry.params:
        v = values.get(p.name, p.default)
        if v is None:
            if p.optional:
                continue
            raise ValueError(f"{model}: the parameter {p.name} is required")
        if p.kind == "text":
            texts[p.name] = str(v)
            continue
        if p.kind == "vector":
            dim = next((a.size for a in vectors.values()), None)
            vectors[p.name] = load_vector(p.name, v, dim) if isinstance(v, str) else np.asarray(v, dtype=float)
            continue
        try:
            arr = parse_axis(v) if isinstance(v, str) else np.atleast_1d(np.asarray(v, dtype=float))
        except ValueError as e:
            raise ValueError(f"{p.name}: {e}") from None
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError(f"{p.name} must be a number or a 1-d list of numbers")
        axes[p.name] = arr
    sweep = [k for k, a in axes.items() if a.size > 1]
    grids = np.meshgrid(*axes.values(), indexing="ij")
    grid = {k: g for k, g in zip(axes, grids)}
    sol = entry.theory(**vectors, **texts, **grid, precision=precision, tol=tol)
    extra = entry.extra["columns_from"]({**texts, **{k: v for k, v in values.items() if k in grid}}) \
        if "columns_from" in entry.extra else {}
    flat = sol.records()
    prefixes = entry.extra.get("column_prefixes", ())
    columns = entry.columns + tuple(k for k in (flat[0] if flat else {}) if k.startswith(prefixes)) \
        if prefixes else entry.columns
    recs = [{c: extra[c] if c in extra else rec[c] for c in columns} for rec in flat]
    meta = {"package": "asymptotics", "version": __version__, "model": model,
            "description": entry.description, "source": entry.source,
            "solver": "vectorized damped Newton" + (f", mpmath {precision} digits" if precision else ""),
            "solver_tol": tol, "axes": sweep,
            "parameters": {k: (a.tolist() if a.size > 1 else float(a[0])) for k, a in axes.items()}}
    for k, v in vectors.items():
        meta["parameters"][k] = {"length": int(v.size), "sum": float(np.sum(v)),
                                 "min": float(np.min(v)), "max": float(np.max(v))}
        if isinstance(values.get(k), str):
            meta["parameters"][k]["spec"] = values[k]
    return recs, meta
