r"""Kernel ridge regression: the deterministic-equivalent learning curve and the polynomial regime.

Estimator (the convention of the lectures and of Misiakiewicz 2022; scikit-learn's ``KernelRidge``
with ``alpha = lam``):

    ``f_hat = argmin_f sum_{i <= n} (y_i - f(x_i))^2 + lam ||f||_H^2``, i.e.
    ``f_hat(x) = K(x, X) (K + lam I_n)^{-1} y``.

``lam`` is **not** multiplied by ``n``: ridge regression on the kernel's features with the penalty of
:mod:`asymptotics.models.ridge` (average loss) has ``lam_ridge = lam / n``.

**General spectrum** (:data:`KERNEL_RIDGE`, :func:`risk`). The kernel has eigenvalues ``xi_k`` with
multiplicities ``m_k`` (one entry per eigenspace, e.g. per degree ``k`` on the sphere), and the target
``f = sum_k f_k`` has energy ``v_k = ||f_k||^2_{L^2}`` in eigenspace ``k``; labels
``y = f(x) + eps``, ``Var eps = sigma2``. The effective regularization ``kappa`` solves

    ``n = df1(kappa) + (lam + t)/kappa``,   ``df1 = sum_k m_k xi_k/(xi_k + kappa)``,

(``t``: the kernel's trace outside the listed eigenspaces, which acts as ridge; below). With
``df2 = sum_k m_k xi_k^2/(xi_k + kappa)^2`` and the learned fraction (learnability) of eigenspace
``k``, ``L_k = xi_k/(xi_k + kappa)``:

    ``bias = (sum_k v_k (1 - L_k)^2 + v_0) / (1 - df2/n)``,
    ``variance = sigma2 (df2/n) / (1 - df2/n)``,  ``risk = bias + variance``,

``risk`` is the **excess** test error ``E_x (f_hat(x) - f(x))^2`` averaged over the training noise;
``risk_total = risk + sigma2`` adds the noise of the test label. ``v_0`` (``v_null``) is target energy
in eigenspaces with ``xi = 0`` (unlearnable: it enters like noise and stays in the error). Sources:
Bordelon, Canatar & Pehlevan 2020, arXiv `2002.02561 <https://arxiv.org/abs/2002.02561>`_, Sec. 3
and Canatar, Bordelon & Pehlevan 2021, arXiv `2006.13198 <https://arxiv.org/abs/2006.13198>`_ (the
mode-wise generalization error ``E_g``); Simon, Dickens, Karkada & DeWeese, arXiv
`2110.03922 <https://arxiv.org/abs/2110.03922>`_ (the eigenlearning equations: ``kappa``, ``L_k``
and ``E_0 = n/(n - sum L_k^2) = 1/(1 - df2/n)``); Misiakiewicz & Montanari, "Six lectures on
linearized neural networks", arXiv `2308.13431 <https://arxiv.org/abs/2308.13431>`_, Lecture 3. It is
the ridge deterministic equivalent of :data:`asymptotics.models.ridge.RIDGE_SPECTRUM` with
``lam -> (lam + t)/n`` and eigenvalues repeated ``m_k`` times (a test checks this identity).

**Truncation.** Only finitely many eigenspaces ``k <= K`` are listed; those beyond contribute
``sum_{k > K} m_k xi_k/(xi_k + kappa) = t/kappa (1 - eps)`` to ``df1``, with
``0 <= eps <= max_{k > K} xi_k / kappa``, and ``O(eps t/kappa)`` to ``df2``. They are therefore
counted as the ridge ``t`` (exactly Misiakiewicz's effective regularization). On the sphere
``m_k xi_k <= t`` and ``kappa >= (lam + t)/n`` give ``eps <= n / B(d, K + 1)``, reported as
``tail_bound`` by :func:`sphere_spectrum`.

**Polynomial regime on the sphere** (:func:`polynomial_risk`; Ghorbani, Mei, Misiakiewicz &
Montanari 2021, arXiv `1904.12191 <https://arxiv.org/abs/1904.12191>`_, Thm 4 for non-integer
exponents; Misiakiewicz 2022, arXiv `2204.10425 <https://arxiv.org/abs/2204.10425>`_, for integer
ones). ``x`` uniform on ``S^{d-1}(sqrt d)``, ``K(x, x') = h(<x, x'>/d)``,
``n = alpha d^exponent``, ``d -> oo`` with ``a_k = lim B(d, k) xi_{d,k} = h^{(k)}(0)/k!``. With
``l = floor(exponent)``: degrees ``< l`` are learned, degrees ``> l`` are not (their energy
``v_{>l}`` stays in the error and acts as noise), and degree ``l`` is learned as isotropic ridge
regression (:data:`asymptotics.models.ridge.RIDGE`) with

    ``gamma = lim B(d, l)/n = 1/(alpha l!)`` (``0`` if ``exponent`` is not an integer),
    ``lam_ridge = gamma (lam + a_{>l})/a_l``,  ``a_{>l} = sum_{k > l} a_k = h(1) - sum_{k <= l} a_k``,
    ``r2 = v_l``,  ``sigma2_ridge = sigma2 + v_{>l}``,
    ``risk = v_{>l} + R_ridge(gamma, lam_ridge, r2, sigma2_ridge)``.

(Derivation: put ``kappa = xi_{d,l} s`` in the equation for ``kappa``; the degrees below ``l`` give
``o(n)``, those above give ``a_{>l}/kappa``, and dividing by ``n`` gives the isotropic ridge equation
``1 = gamma/(1 + s) + lam_ridge/s``; the bias and variance follow in the same way.) At ``lam = 0`` and
``a_{>l} = 0`` (a polynomial kernel of degree ``l``) it has the interpolation peak at
``alpha l! = 1``, i.e. ``n = B(d, l)``; otherwise the peak near ``n = B(d, l)`` is finite and grows
as ``lam + a_{>l}`` shrinks: the multiple descent.

Examples:
    >>> sol = risk(eigs=[1.0, 0.1], mult=[1, 10], energy=[0.0, 1.0], n=5, lam=1e-3, sigma2=0.1)
    >>> round(sol.risk, 6), round(sol.kappa, 6)
    (0.77841, 0.142837)
    >>> polynomial_risk("exp", energy=[0, 1, 1, 1], alpha=1.0, exponent=1.5).risk  # degrees 2, 3 left
    2.0
"""
from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass

import mpmath
import numpy as np
import sympy as sp

from .._validation import check_array_1d, check_int, check_real, check_same_length
from ..engine.fixedpoint import DEFAULT_ACCURACY, DEFAULT_TOL, FixedPointModel, Solution, Trace, solve
from ..engine.roundoff import group, ratio
from . import ridge as _ridge
from ..numerics.expressions import parse_number_list

__all__ = ["KERNEL_RIDGE", "KERNEL_RIDGE_NUMERIC", "KERNEL_RIDGE_LIMIT", "SOURCE", "SOURCE_LIMIT", "risk", "learned_fraction",
           "SphereSpectrum", "sphere_spectrum", "sphere_risk", "polynomial_risk", "degree_formulas",
           "parse_energy", "DEFAULT_TRUNC_TOL"]

SOURCE = ("Canatar, Bordelon & Pehlevan 2021, arXiv 2006.13198 (E_g); Simon et al., arXiv 2110.03922 "
          "(eigenlearning: kappa, L_k, E_0); Misiakiewicz & Montanari, arXiv 2308.13431, Lecture 3; "
          "KRR f = K(x,X)(K + lam I)^{-1} y")
SOURCE_LIMIT = ("Ghorbani, Mei, Misiakiewicz & Montanari 2021, arXiv 1904.12191, Thm 4 (non-integer "
                "exponent); Misiakiewicz 2022, arXiv 2204.10425 (integer exponent: ridge at degree l)")

n, lam, sigma2, kappa, tail, v_null = sp.symbols("n lam sigma2 kappa tail v_null", nonnegative=True)
xi, mult, energy = sp.symbols("xi m v", nonnegative=True)
df1, df2, bsum, ddf = sp.symbols("df1 df2 bias_sum df1_minus_df2", nonnegative=True)

# The model, written without cancellation or overflow (issue 12), as ridge.RIDGE_SPECTRUM: with
# q_k = xi_k/(xi_k + kappa) and c_k = kappa/(xi_k + kappa) = 1 - q_k, both computed directly
# (``ratio``), and m_> = sum of the multiplicities of the eigenvalues xi_k >= kappa,
#   n - df1 = n - m_> + sum_{xi_k >= kappa} m_k c_k - sum_{xi_k < kappa} m_k q_k,
# where n - m_> is one exact number (``group``; m_> itself is exact for integer multiplicities with
# total below 2^53) and every c_k, q_k in the sums is at most 1/2: the equation
# kappa (n - df1) = lam + t then loses no digits to the O(n) parts of the degrees of freedom (the plain
# form n kappa - lam - t - kappa df1 lost all of them at tiny lam + t near or below the rank, and at
# eigenvalues far below kappa: (xi + kappa)^2 underflowed to 0 and 0/0 gave a NaN). The bias summand
# v (1 - L)^2 = v c^2 never forms (xi + kappa)^2 (eigenvalues up to ~1e300, kappa up to ~1e300); where
# kappa = (lam + t + sum m xi)/n would pass 1e300, risk() solves the exactly equivalent problem with
# (xi, lam, t) scaled by a power of two (as ridge.spectrum_risk).
# 1 - df2/n = (lam + t)/(n kappa) + (df1 - df2)/n with df1 - df2 = sum m q c >= 0 (no cancellation);
# at kappa = 0 (lam + t = 0 and n above the rank, the ``exact`` rule) it is (n - rank)/n, one exact
# difference over n.
nd, dmix = sp.symbols("m_kappa delta_kappa", real=True)
_q, _c = ratio(xi, kappa), ratio(kappa, xi)
_one_minus_df2n = sp.Piecewise(((lam + tail) / (n * kappa) + ddf / n, kappa > 0), (group(n - nd) / n, True))

_SYMBOLS_DOC = {
    "n": "number of samples", "lam": "ridge penalty of (K + lam I)", "sigma2": "noise variance",
    "tail": "kernel trace beyond the listed eigenspaces (acts as ridge)",
    "v_null": "target energy where the kernel eigenvalue is 0 (unlearnable)",
    "kappa": "effective regularization", "xi": "kernel eigenvalue", "m": "its multiplicity",
    "v": "target energy in its eigenspace",
    "m_kappa": "multiplicity of the eigenvalues >= kappa", "delta_kappa": "m_kappa - df1",
}


def _rank(spectrum) -> float:
    """The kernel's rank ``sum_k m_k`` over the positive eigenvalues, correctly rounded."""
    m = np.asarray(spectrum["m"], dtype=float)
    return math.fsum(m[np.asarray(spectrum["xi"], dtype=float) > 0])


def _one_minus_df2n_numeric(p, u, t):
    k = u["kappa"]
    safe = np.where(k > 0, k, 1.0)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        return np.where(k > 0, (p["lam"] + p["tail"]) / (p["n"] * safe) + t["df1_minus_df2"] / p["n"],
                        (p["n"] - t["m_kappa"]) / p["n"])


def _admissible(p, u, t):
    k = u["kappa"]
    return (p["n"] * k >= (p["lam"] + p["tail"]) * (1 - 1e-12)) & (_one_minus_df2n_numeric(p, u, t) > 0)


def _singular(p, spectrum):
    # ridgeless interpolation of a finite-rank kernel: n equal to the rank
    rank = _rank(spectrum)
    mask = (p["lam"] + p["tail"] == 0) & (p["n"] == rank)
    var = np.where(p["sigma2"] > 0, np.inf, 0.0)
    bias = np.where(p["v_null"] > 0, np.inf, 0.0)
    return mask, {"kappa": 0.0, "df1": rank, "df2": rank, "bias": bias, "variance": var,
                  "risk": bias + var, "risk_total": bias + var + p["sigma2"]}


def _exact(p, spectrum):
    # ridgeless with more samples than the rank: n - df1 >= n - rank > 0 for every kappa > 0, so
    # kappa (n - df1) = 0 has the only root kappa = 0, exactly (Newton would only approach it through
    # subnormal numbers, and a tiny eigenvalue put it on a spurious root near that eigenvalue)
    return (p["lam"] + p["tail"] == 0) & (p["n"] > _rank(spectrum)), {"kappa": 0.0}


#: What the solver evaluates: :data:`KERNEL_RIDGE` written without cancellation (above); it reports
#: ``kappa`` as an output (the engine's ``numeric`` form).
KERNEL_RIDGE_NUMERIC = FixedPointModel(
    name="kernel-ridge",
    parameters=(n, lam, sigma2, tail, v_null),
    unknowns=(kappa,),
    # kappa (n - df1) - lam - t, i.e. n kappa - lam - t - kappa df1, without cancellation (above)
    equations=(kappa * (group(n - nd) + dmix) - (lam + tail),),
    traces=(Trace(nd, sp.Piecewise((mult, xi >= kappa), (0, True)), "multiplicity of the eigenvalues >= kappa"),
            Trace(dmix, sp.Piecewise((mult * _c, xi >= kappa), (-mult * _q, True)), "m_> - df1"),
            Trace(df1, mult * _q, "first degrees of freedom"),
            # the factors in [0, 1] last: an intermediate result in the subnormal range (error up to
            # the smallest subnormal) is then never multiplied by a factor > 1 (m up to ~1e11)
            Trace(df2, group(mult * _q) * _q, "second degrees of freedom"),
            Trace(bsum, group(energy * _c) * _c, "target energy not learned"),
            Trace(ddf, group(mult * _q) * _c, "df1 - df2")),
    components=(xi, mult, energy),
    outputs={
        "kappa": kappa,
        "df1": df1,
        "df2": df2,
        # at kappa = 0 every c_k is 0: the bias is v_0/(1 - df2/n) exactly (no summation error to amplify)
        "bias": sp.Piecewise((bsum + v_null, kappa > 0), (v_null, True)) / _one_minus_df2n,
        "variance": sigma2 * (df2 / n) / _one_minus_df2n,
        "risk": sp.Symbol("bias") + sp.Symbol("variance"),
        "risk_total": sp.Symbol("risk") + sigma2,
    },
    source=SOURCE,
    lower_bounds=(0.0,),
    # kappa <= (lam + t + sum m xi)/n; Newton from this upper bound decreases monotonically (the
    # residual kappa (n - df1) - lam - t is convex in kappa)
    initial_guess=lambda n, lam, sigma2, tail, v_null, spectrum: (
        (lam + tail + np.sum(spectrum["m"] * spectrum["xi"])) / n,),
    admissible=_admissible,
    singular=_singular,
    exact=_exact,
    symbols_doc=_SYMBOLS_DOC,
    sample_ranges={"n": (10.0, 1000.0), "lam": (0.01, 2.0), "sigma2": (0.1, 3.0), "tail": (0.0, 1.0),
                   "v_null": (0.0, 1.0)},
)

# The model as published (LaTeX, ``derive``); the solver uses KERNEL_RIDGE_NUMERIC. Here
# 1 - df2/n = (lam + t)/(n kappa) + (df1 - df2)/n at kappa > 0 (a sum of non-negative terms).
_one_minus_df2n_plain = sp.Piecewise(((lam + tail) / (n * kappa) + ddf / n, kappa > 0), (1 - df2 / n, True))


def _admissible_plain(p, u, t):
    k = u["kappa"]
    safe = np.where(k > 0, k, 1.0)
    one_minus = np.where(k > 0, (p["lam"] + p["tail"]) / (p["n"] * safe) + t["df1_minus_df2"] / p["n"],
                         1 - t["df2"] / p["n"])
    return (p["n"] * k >= (p["lam"] + p["tail"]) * (1 - 1e-12)) & (one_minus > 0)


KERNEL_RIDGE = FixedPointModel(
    name="kernel-ridge",
    parameters=(n, lam, sigma2, tail, v_null),
    unknowns=(kappa,),
    equations=(n * kappa - lam - tail - kappa * df1,),
    traces=(Trace(df1, mult * xi / (xi + kappa), "first degrees of freedom"),
            Trace(df2, mult * xi ** 2 / (xi + kappa) ** 2, "second degrees of freedom"),
            Trace(bsum, energy * kappa ** 2 / (xi + kappa) ** 2, "target energy not learned"),
            Trace(ddf, mult * xi * kappa / (xi + kappa) ** 2, "df1 - df2")),
    components=(xi, mult, energy),
    outputs={
        "df1": df1,
        "df2": df2,
        "bias": (bsum + v_null) / _one_minus_df2n_plain,
        "variance": sigma2 * (df2 / n) / _one_minus_df2n_plain,
        "risk": sp.Symbol("bias") + sp.Symbol("variance"),
        "risk_total": sp.Symbol("risk") + sigma2,
    },
    source=SOURCE,
    lower_bounds=(0.0,),
    # kappa <= (lam + t + sum m xi)/n; Newton from this upper bound decreases monotonically (convexity)
    initial_guess=KERNEL_RIDGE_NUMERIC.initial_guess,
    admissible=_admissible_plain,
    singular=_singular,
    exact=_exact,
    symbols_doc={k: v for k, v in _SYMBOLS_DOC.items() if k not in ("m_kappa", "delta_kappa")},
    sample_ranges=KERNEL_RIDGE_NUMERIC.sample_ranges,
    numeric=KERNEL_RIDGE_NUMERIC,
)


def parse_energy(energy) -> np.ndarray:
    """Target energies ``||P_k f||^2``, ``k = 0, 1, ...``, from a sequence or a string ``"e0,e1,..."``.

    >>> parse_energy("0, 1, 0.5")
    array([0. , 1. , 0.5])
    >>> parse_energy([-1])
    Traceback (most recent call last):
    ...
    ValueError: energy must be >= 0, got -1.0
    """
    if isinstance(energy, str):  # every entry, in order (an empty one would shift the degrees); no eval
        energy = [float(v) for v in parse_number_list(energy, name="energy")]
    e = check_array_1d("energy", energy, low=0.0)
    if e.size > 201:
        raise ValueError(f"energy must have at most 201 entries (degrees 0..200), got {e.size}")
    return e


def _check_spectrum(eigs, mult, energy):
    eigs = check_array_1d("eigs", eigs, low=0.0)
    mult = check_array_1d("mult", mult, low=1.0)
    energy = check_array_1d("energy", energy, low=0.0)
    if energy.size > eigs.size:
        raise ValueError(f"energy has {energy.size} entries but the kernel lists only {eigs.size} "
                         "eigenspaces; give the kernel's eigenvalues up to the target's degree")
    energy = np.concatenate([energy, np.zeros(eigs.size - energy.size)])
    check_same_length(eigs=eigs, mult=mult)
    if not (eigs > 0).any():
        raise ValueError("eigs must have at least one positive eigenvalue")
    keep = eigs > 0
    return eigs[keep], mult[keep], energy[keep], float(np.sum(energy[~keep]))


def risk(eigs, mult, energy, n, lam=0.0, sigma2=0.0, *, tail=0.0, precision: int | None = None,
         tol: float = DEFAULT_TOL, errors: str = "raise", accuracy: float = DEFAULT_ACCURACY,
         resolve: bool = True) -> Solution:
    """Deterministic-equivalent learning curve of kernel ridge regression.

    Broadcasts over ``n``, ``lam``, ``sigma2`` and ``tail`` (one vectorized solve for a whole grid).

    Args:
        eigs: kernel eigenvalue of each eigenspace, 1-d, ``>= 0`` (one entry per degree on the sphere).
        mult: multiplicity of each eigenspace, ``>= 1`` (floats allowed: ``B(d, k)`` is huge).
        energy: target energy ``||f_k||^2`` of each eigenspace, ``>= 0``; shorter than ``eigs`` means
            zero energy in the remaining eigenspaces.
        n: number of samples, ``> 0``.
        lam: ridge of ``(K + lam I)``, ``>= 0`` (not multiplied by ``n``).
        sigma2: label-noise variance, ``>= 0``.
        tail: the kernel's trace beyond the listed eigenspaces, ``>= 0`` (acts as ridge; see the module
            docstring for its error bound).
        precision, tol, errors, accuracy, resolve: as in :func:`asymptotics.models.ridge.risk`
            (``accuracy``: the bound on the estimated relative error of every output, default
            ``1e-10``; ``resolve``: re-solve points above it in mpmath, else mask or raise).

    Returns:
        A :class:`~asymptotics.engine.fixedpoint.Solution` with ``risk`` (excess), ``bias``,
        ``variance``, ``risk_total``, ``df1``, ``df2`` and the effective regularization ``kappa``
        (use :func:`learned_fraction` for the per-eigenspace ``L_k``). ``risk = inf`` where
        ``lam + tail = 0`` and ``n`` equals the kernel's rank (with ``sigma2 > 0``); ``kappa = 0``
        exactly where ``lam + tail = 0`` and ``n`` exceeds the rank. Where ``kappa`` would pass
        ``1e300`` (tiny ``n``) the exactly equivalent problem ``(2^-k eigs, 2^-k lam, 2^-k tail)`` is
        solved (same outputs; ``kappa`` is ``inf`` where it overflows double precision).

    Raises:
        ValueError: for inputs out of range, or where that rescaling would underflow an eigenvalue,
            ``lam`` or ``tail``.

    Examples:
        >>> risk(eigs=[1.0], mult=[3], energy=[1.0], n=3, sigma2=1.0).risk   # interpolation peak
        inf
    """
    mp_eigs = _mp_array(eigs) if precision is not None else None
    eigs, mult, energy, null = _check_spectrum(eigs, mult, energy)
    if mp_eigs is not None:   # keep the caller's high-precision eigenvalues (same filter as _check_spectrum)
        eigs = mp_eigs[np.asarray([float(v) > 0 for v in mp_eigs], dtype=bool)]
    p = {"n": _check_grid("n", n, low=0.0, high=1e100, low_open=True),
         "lam": _check_grid("lam", lam, low=0.0, high=1e100),
         "sigma2": _check_grid("sigma2", sigma2, low=0.0, high=1e100),
         "tail": _check_grid("tail", tail, low=0.0, high=1e100), "v_null": null}
    k = _overflow_scale(eigs, mult, p)
    if k == 0:
        return solve(KERNEL_RIDGE, p, spectrum={"xi": eigs, "m": mult, "v": energy}, precision=precision,
                     tol=tol, errors=errors, accuracy=accuracy, resolve=resolve)
    # kappa ~ (lam + t + sum m xi)/n would overflow: solve the exactly equivalent problem
    # (c xi, c lam, c t), c = 2^-k (exact in binary), whose df, bias, variance and risk are the same
    # and whose kappa is c kappa; refused only if the spectrum's range does not survive the scaling
    c = 2.0 ** -k if k <= 1000 else 0.0
    xf = np.asarray(eigs, dtype=float)
    tiny = np.finfo(float).tiny
    small = [nm for nm in ("lam", "tail") if ((p[nm] > 0) & (np.ldexp(p[nm], -k) < tiny)).any()]
    if k > 1000 or (np.ldexp(xf, -k) < tiny).any() or small:
        raise ValueError(f"n: (lam + tail + sum(mult * eigs))/n must be at most 1e300 (kappa would overflow) "
                         f"unless the problem can be rescaled exactly: got n down to {float(np.min(p['n'])):.3g}, "
                         f"and the rescaling by 2^-{k} would underflow an eigenvalue"
                         + (f" or {' and '.join(small)}" if small else ""))
    scaled = dict(p, lam=np.ldexp(p["lam"], -k), tail=np.ldexp(p["tail"], -k))
    xs = _ridge._times(eigs, 2.0 ** -k) if _is_object(eigs) else np.ldexp(xf, -k)
    sol = solve(KERNEL_RIDGE, scaled, spectrum={"xi": xs, "m": mult, "v": energy}, precision=precision,
                tol=tol, errors=errors, accuracy=accuracy, resolve=resolve)
    return _ridge._unscaled(sol, p, ("lam", "tail"), k)


def _is_object(a) -> bool:
    return isinstance(a, np.ndarray) and a.dtype == object


def _overflow_scale(eigs, mult, p) -> int:
    """``k >= 0`` such that ``kappa <= (lam + t + sum m xi)/n`` scaled by ``2^-k`` stays below 1e300
    (0: no scaling needed); computed in log2 so that nothing overflows."""
    xf = np.asarray(eigs, dtype=float)
    m = np.asarray(mult, dtype=float)
    tr_s = float(np.sum(m * np.ldexp(xf, -600)))          # sum m xi / 2^600 (a tiny eigenvalue drops out)
    R = float(np.max(np.asarray(p["lam"], dtype=float) + np.asarray(p["tail"], dtype=float)))
    n_min = float(np.min(np.asarray(p["n"], dtype=float)))
    with np.errstate(divide="ignore", over="ignore"):
        top = np.logaddexp2(np.log2(tr_s) + 600 if tr_s > 0 else -np.inf, np.log2(R) if R > 0 else -np.inf)
        need = top - np.log2(n_min) - math.log2(1e300)
    if not np.isfinite(need) or need <= 0:
        return 0
    return int(math.ceil(need)) + 1


def _mp_array(values):
    """``values`` as a 1-d object array of ``mpmath.mpf`` if they are mpf (high-precision eigenvalues for
    ``precision=``), else ``None``. The engine's mpmath path uses them as they are."""
    import mpmath
    arr = np.asarray(values, dtype=object) if not isinstance(values, np.ndarray) else values
    if arr.dtype == object and arr.ndim == 1 and arr.size and all(isinstance(v, mpmath.mpf) for v in arr):
        return arr
    return None


def learned_fraction(kappa, eigs) -> np.ndarray:
    """``L_k = xi_k/(xi_k + kappa)``: the fraction of eigenspace ``k`` of the target that KRR learns
    in expectation (``E f_hat = sum_k L_k f_k``; Simon et al. 2021, learnability), shape
    ``shape(kappa) + (len(eigs),)``. ``L_k = 1`` where ``kappa = 0 < xi_k``.

    >>> learned_fraction(0.5, [1.0, 0.5, 0.0])
    array([0.66666667, 0.5       , 0.        ])
    """
    k = np.asarray(check_real("kappa", kappa, low=0.0), dtype=float)[..., None]
    e = check_array_1d("eigs", eigs, low=0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(e > 0, e / np.where(e + k > 0, e + k, 1.0), 0.0)
    return out


# ---------------------------------------------------------------------- the sphere
#: Default ``trunc_tol``: the risk within this relative distance of its untruncated value.
DEFAULT_TRUNC_TOL = 1e-12
_SPHERE_KCAP = 2000
#: Outputs whose relative truncation error the default truncation controls.
_TRUNC_OUTPUTS = ("risk", "bias", "variance")


@dataclass(frozen=True)
class SphereSpectrum:
    """The spectrum of ``K(x, x') = h(<x, x'>/d)`` on ``S^{d-1}(sqrt d)``, per degree ``0..kmax``.

    Attributes:
        kernel, d, kmax: as given (``kmax``: the largest degree listed exactly).
        eigs: ``xi_{d,k}`` (exact routes for the named kernels, Gauss-Jacobi quadrature for a callable,
            see :func:`asymptotics.expansions.gegenbauer.kernel_eigenvalues`; values below their
            accuracy are set to 0), for ``k = 0..kmax``; when ``tail_nodes > 0`` followed by the
            ``tail_nodes`` pseudo-eigenspaces of the degrees beyond ``kmax`` (a quadrature over the
            degree, :func:`asymptotics.expansions.gegenbauer.degree_tail`; their real degrees are in
            ``degrees``). ``risk(eigs, mult, energy, n, lam, sigma2, tail=tail)`` is the risk.
        mult: ``B(d, k)`` as floats (for the pseudo-eigenspaces: quadrature weight times ``B(d, k)``).
        tail: the trace beyond the listed eigenspaces, counted as ridge (``>= 0``). Computed without
            the cancellation of ``h(1) - sum_k B(d, k) xi_{d,k}`` for the named kernels (exactly 0 beyond
            a polynomial's degree; the series of exp; the closed-form power-law tail of relu-nngp);
            for a callable kernel it is ``max(h(1) - sum, 0)``.
        n_max: the largest sample size the spectrum is meant for.
        tail_bound: ``n_max max xi_tail / tail`` (``n_max / B(d, kmax + 1)`` for a spectrum listed
            per degree), bounding the relative error ``eps`` of counting the tail as ridge (module
            docstring).
        truncation_error: from :func:`sphere_risk`, the estimated relative distance of ``risk``,
            ``bias`` and ``variance`` to their untruncated values (max over the grid and the three;
            see :func:`sphere_risk`), else ``None``.
        mp_eigs: with ``precision``, the eigenvalues as an object array of ``mpmath.mpf`` (``None`` for
            float64 spectra); :func:`sphere_risk` passes them to the solver.
        degrees: the degree of each entry of ``eigs`` (``0..kmax``, then the real degrees of the
            pseudo-eigenspaces).
        tail_nodes: the number of pseudo-eigenspaces after degree ``kmax`` (0: none).
    """

    kernel: str
    d: int
    kmax: int
    eigs: np.ndarray
    mult: np.ndarray
    tail: float
    n_max: float
    tail_bound: float
    truncation_error: float | None = None
    mp_eigs: np.ndarray | None = None
    degrees: np.ndarray | None = None
    tail_nodes: int = 0


def _poly_coeffs(kern):
    from ..expansions.gegenbauer import _parse_poly
    c = list(kern.coeffs) if kern.coeffs else _parse_poly(kern.name)
    while len(c) > 1 and c[-1] == 0:
        c = c[:-1]
    return c


def _auto_kmax(d: int, n_max: float, kmin: int) -> int:
    # enough degrees for the tail bound n/B(d, K+1) <= 1e-12, within the float64 accuracy of the
    # quadrature (relative error ~ 1e-16 d^(k/2), see gegenbauer.kernel_eigenvalues): k <= 14/log10 d
    # (used by neural_tangent.approximation_error, whose spectra are float64 quadratures)
    from ..expansions.gegenbauer import multiplicity
    k_acc = max(kmin, int(14 / math.log10(d)))
    k = kmin
    while k < min(k_acc, 200) and multiplicity(d, k + 1) < 1e12 * n_max:
        k += 1
    return k


def _float_kcap(d: int, cap: int) -> int:
    """Largest ``k <= cap`` with ``B(d, k + 5) < 1e300`` (so that spectra to ``k + 4`` fit in float64);
    the default truncations stay 4 below the spectra's cap of 2000 degrees."""
    from ..expansions.gegenbauer import _B
    k = 0
    cap = min(cap, _SPHERE_KCAP - 4)
    while k < cap and _B(d, k + 6) < 1e300:
        k += 1
    return k


def _check_trunc_tol(trunc_tol):
    return float(check_real("trunc_tol", trunc_tol, low=1e-15, high=0.5))


def _check_grid(name, value, **bounds):
    """``check_real`` for a broadcast parameter, and a ValueError naming it for an empty array (which
    would give an empty grid, or numpy's message about a zero-size reduction)."""
    arr = check_real(name, value, **bounds)
    if arr.size == 0:
        raise ValueError(f"{name} must be a number or a non-empty array, got an empty array")
    return arr


# relu-nngp and the NT kernels of positively homogeneous sigma' have power-law eigenvalues; the degrees
# beyond the listed ones are then a quadrature over the degree (gegenbauer.degree_tail).
@dataclass(frozen=True)
class _TailModel:
    xi_fn: object        # float64 function of real degrees k (array) -> xi(k) (one parity class)
    xi_mp: object        # the same in mpmath (one mpf degree), for precision=
    first: int           # smallest degree of the class
    step: int            # 2: one parity class (the others vanish)
    decay: float         # xi(k) ~ k^(-decay) (sets the block ratio)

    def start(self, K: int) -> int:
        """The first degree of the class above ``K``."""
        k = max(self.first, K + 1)
        return k + ((self.first - k) % self.step)

    @property
    def ratio(self) -> float:
        # the singularity of B phi(xi(k)) closest to the real axis sits at an angle pi/decay (module doc)
        return 1.0 + min(1.0, 1.5 * math.sin(math.pi / max(self.decay, 2.0)))


@functools.lru_cache(maxsize=64)
def _relu_nngp_tail(d):
    from ..expansions.gegenbauer import relu_nngp_eigenvalue, relu_nngp_eigenvalue_float
    return _TailModel(lambda k: relu_nngp_eigenvalue_float(d, k), lambda k: relu_nngp_eigenvalue(d, k), 2, 2,
                      d + 2.0)




def _beyond(kern, d, kmax, xi, mult, h1, precision):
    """The trace of the degrees ``> kmax`` without the cancellation of ``h(1) - sum`` where the kernel
    allows: 0 beyond a polynomial's degree (else the exact sum up to it), the exp series (exact
    eigenvalues up to 64 degrees further, plus the bound ``sum_{j > K2} 1/j!`` on the rest: for
    non-negative Taylor coefficients ``a_j`` the trace beyond ``K2`` is at most ``sum_{j > K2} a_j``),
    the relu-nngp power-law tail (:func:`_tail_mass`). A callable: ``max(h(1) - sum, 0)``."""
    from ..expansions.gegenbauer import _exp_values, _poly_values
    if kern.exact == "poly":
        c = _poly_coeffs(kern)
        deg = len(c) - 1
        if kmax >= deg:
            return 0.0
        vals, _, _ = _poly_values(c, d, deg, None)
        B = _mult_floats(d, deg)
        return float(math.fsum(np.maximum(vals[kmax + 1:], 0.0) * B[kmax + 1:]))
    if kern.exact == "exp":
        K2 = int(min(kmax + 64, _float_kcap(d, _SPHERE_KCAP) + 4))
        if K2 > kmax:
            vals, _, _ = _exp_values(d, K2, None)
            B = _mult_floats(d, K2)
            s = math.fsum(vals[kmax + 1:] * B[kmax + 1:])
        else:
            s = 0.0
        with mpmath.workdps(20):
            bound = float(mpmath.e - mpmath.fsum(1 / mpmath.factorial(j) for j in range(K2 + 1)))
        return s + max(bound, 0.0)
    if kern.exact == "relu-nngp":
        # B(d, k) xi_{d,k} = d E[s_+ P_k]^2 B(d, k) at even k >= 2: the power class q = 1, gamma = 1
        from ..expansions.gegenbauer import power_tail_mass
        return power_tail_mass(1, 1.0, d, max(int(kmax), 1))
    return max(h1 - float(np.sum(mult * xi)), 0.0)


def _mult_floats(d, K):
    from ..expansions.gegenbauer import _B
    return np.array([float(_B(d, k)) for k in range(K + 1)])


@dataclass(frozen=True)
class _Arrays:
    xi: np.ndarray
    mult: np.ndarray
    h1: float
    name: str
    tail_tol: float
    mp_xi: np.ndarray | None
    beyond: float            # the trace beyond the listed degrees (see _beyond)


def _spectrum_arrays(kern, d, kmax, precision) -> _Arrays:
    """The kernel's spectrum up to degree ``kmax`` (PSD-checked, below-accuracy values set to 0) and
    the trace beyond."""
    from ..expansions.gegenbauer import kernel_eigenvalues
    try:
        r = kernel_eigenvalues(kern, d, kmax, precision=precision)
    except ValueError as exc:
        msg = str(exc).replace("; pass a larger tol or a smaller kmax, or use precision=",
                               "; lower kmax or pass precision= (mpmath quadrature)")
        raise ValueError(f"{msg} [the spectrum of {kern.name!r} at d={d} up to degree {kmax}]") from None
    xi = np.array(r.eigenvalues, dtype=float)
    mult = np.array([float(b) for b in r.multiplicities])
    h_scale = max(abs(r.h_at_one), 1e-300)
    if r.method in ("taylor", "closed form"):
        acc = np.asarray(r.quadrature_error, dtype=float)   # a rigorous bound
    else:
        # quadrature: its own estimate, plus float64 rounding of the integrand h Q_k, whose size is
        # |h| E|Q_k| <= h(1)/sqrt(B(d, k)) (E Q_k^2 = 1/B(d, k))
        eps = 64 * np.finfo(float).eps if precision is None else 10.0 ** (2 - precision)
        acc = 10 * np.asarray(r.quadrature_error) + eps * h_scale / np.sqrt(mult)
    if (xi < -acc).any():
        bad = int(np.argmax(xi < -acc))
        raise ValueError(f"kernel {r.kernel!r} is not positive semi-definite on S^{d - 1}: "
                         f"xi_{{d,{bad}}} = {xi[bad]:.3g} < 0 beyond its accuracy {acc[bad]:.2g} (d = {d})")
    zero = np.abs(xi) <= acc
    if r.method in ("taylor", "closed form"):
        zero = xi <= 0
    xi = np.where(zero, 0.0, xi)
    mp_xi = None
    if r.mp_eigenvalues is not None:
        mp_xi = np.array([mpmath.mpf(0) if z else v for v, z in zip(r.mp_eigenvalues, zero)], dtype=object)
    tail_tol = 4 * np.finfo(float).eps * (kmax + 1) * h_scale + float(np.sum(mult * acc))
    rest = r.h_at_one - float(np.sum(mult * xi))
    if kern.exact is None and rest < -tail_tol:
        raise ValueError(f"kernel {r.kernel!r}: the eigenvalues up to degree {kmax} sum to more than "
                         f"h(1) ({-rest:.3g} too much); it is not positive semi-definite on S^{d - 1}")
    beyond = _beyond(kern, d, kmax, xi, mult, r.h_at_one, precision)
    return _Arrays(xi, mult, r.h_at_one, r.kernel, tail_tol, mp_xi, beyond)


def _make_spectrum(kern, d, K, arr: _Arrays, n_max, truncation_error=None):
    """The spectrum to degree ``K`` from arrays listed to a degree ``>= K``: the listed degrees above
    ``K`` join the tail (no cancellation)."""
    xi, mult = arr.xi, arr.mult
    tail = math.fsum(mult[K + 1:] * xi[K + 1:]) + arr.beyond
    if kern.exact == "poly" and len(_poly_coeffs(kern)) <= K + 1:
        tail = 0.0  # a polynomial kernel of degree <= K: nothing beyond, exactly
    from ..expansions.gegenbauer import multiplicity
    bound = n_max / float(multiplicity(d, K + 1)) if tail > 0 else 0.0
    return SphereSpectrum(kernel=arr.name, d=d, kmax=K, eigs=xi[:K + 1], mult=mult[:K + 1], tail=tail, n_max=n_max,
                          tail_bound=bound, truncation_error=truncation_error,
                          mp_eigs=None if arr.mp_xi is None else arr.mp_xi[:K + 1],
                          degrees=np.arange(K + 1, dtype=float))


def sphere_spectrum(kernel, d, *, kmax=None, n_max=1e6, precision=None,
                    trunc_tol=DEFAULT_TRUNC_TOL) -> SphereSpectrum:
    """Per-degree eigenvalues of an inner-product kernel on the sphere, ready for :func:`risk`.

    Args:
        kernel: ``"exp"``, ``"relu-nngp"``, ``"poly:c0,c1,..."`` or a callable ``h`` of numpy arrays
            (see :func:`asymptotics.expansions.gegenbauer.resolve_kernel`).
        d: dimension, integer ``>= 2``.
        kmax: the largest degree kept exactly; default: the smallest ``K >= 2`` with
            ``n_max max_{K < k <= K+4} xi_k <= trunc_tol t_K`` (``t_K`` the trace beyond ``K``): since
            ``kappa >= t_K/n``, this bounds the relative error ``eps`` of counting the tail as ridge
            (module docstring) -- :func:`sphere_risk` uses the risk itself instead. Up to degree 1996
            (and ``B(d, K) < 1e300``); beyond, ``ValueError``. For a callable kernel (float64
            quadrature, relative error ``~1e-16 d^(k/2)``) at most ``14/log10(d)`` degrees.
        n_max: the largest sample size to be used (sets ``tail_bound``).
        precision: mpmath digits for the eigenvalues (their ``precision``-digit values are in ``mp_eigs``).
        trunc_tol: the tolerance of the default ``kmax``, in ``[1e-15, 0.5]``.

    Raises:
        ValueError: for a kernel that is not positive semi-definite on the sphere (an eigenvalue below
            ``-`` its accuracy), bad ``d``/``kmax``, or a default ``kmax`` beyond the caps.

    >>> s = sphere_spectrum("exp", 20, n_max=800)
    >>> s.kmax, float(s.mult[2])
    (40, 209.0)
    """
    from ..expansions.gegenbauer import resolve_kernel
    d = check_int("d", d, low=2, high=10 ** 7)
    n_max = float(check_real("n_max", n_max, low=1.0, high=1e100))
    trunc_tol = _check_trunc_tol(trunc_tol)
    kern = resolve_kernel(kernel, name="kernel")
    if kmax is None:
        cap = _float_kcap(d, _SPHERE_KCAP)
        if kern.exact is None:
            cap = min(cap, max(2, int(14 / math.log10(d))), 200)
        Kc = min(cap + 4, 64)
        while True:
            arr = _spectrum_arrays(kern, d, Kc, precision)
            mass = arr.mult * arr.xi
            tails = np.concatenate([np.cumsum(mass[::-1])[::-1][1:], [0.0]]) + arr.beyond   # t_K, K = 0..Kc
            found = None
            for K in range(2, min(cap, Kc - 4) + 1):
                e = float(np.max(arr.xi[K + 1:K + 5]))
                if tails[K] == 0 or (e > 0 and n_max * e <= trunc_tol * tails[K]):
                    found = K
                    break
            if found is not None or Kc >= cap + 4:
                break
            Kc = min(cap + 4, 4 * Kc)
        if found is None:
            raise ValueError(f"sphere_spectrum: the bound eps <= n_max max_{{k>K}} xi_k / t_K <= trunc_tol={trunc_tol:g} "
                             f"on the relative error of counting the tail t_K as ridge needs more than K = {cap} "
                             f"degrees at d={d}, n_max={n_max:g} (the cap"
                             + (" for a callable kernel's float64 quadrature" if kern.exact is None else "")
                             + "); pass a larger trunc_tol, a smaller n_max or an explicit kmax "
                             "(sphere_risk continues relu-nngp's power-law tail beyond the cap)")
        return _make_spectrum(kern, d, found, arr, n_max)
    kmax = check_int("kmax", kmax, low=0, high=_SPHERE_KCAP)
    return _make_spectrum(kern, d, kmax, _spectrum_arrays(kern, d, kmax, precision), n_max)


def _rel_change(a, b):
    """``|b - a| / max(|a|, 2^-1022)``: relative to the smallest normal double, as the engine's accuracy
    (``fixedpoint.TINY``), so that a subnormal value changing to 0 counts (with the former floor 1e-300 a
    risk 2.4e-316 against a true ~1e-550 looked like a relative change 2.4e-16)."""
    from ..engine.fixedpoint import TINY
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.where(a == b, 0.0, np.abs(b - a) / np.maximum(np.abs(a), TINY))
    return np.where(np.isnan(rel), np.inf, rel)


def _solution_change(s0, s1) -> float:
    """Largest relative difference of ``risk``, ``bias`` and ``variance`` between two solutions."""
    return float(max(np.max(_rel_change(getattr(s0, k), getattr(s1, k))) for k in _TRUNC_OUTPUTS))


def _truncation_estimate(xi, mult, K, tail, energy, n, lam, sigma2, e=None, e_floor=0.0):
    """Relative distance of the outputs (``risk``, ``bias``, ``variance``) with degrees ``> K`` counted
    as the ridge ``tail`` to those with that tail mass put on one eigenspace of eigenvalue
    ``e = max_{K < k <= K+4} xi_k`` instead (multiplicity ``tail/e``). The exact tail lies between the
    two: each degree ``k > K`` has ``0 < xi_k <= e`` (the sphere spectra used here decrease along each
    parity of ``k``), and its contributions ``m_k xi_k/(xi_k + kappa)`` and ``m_k xi_k^2/(xi_k +
    kappa)^2`` to ``df1`` and ``df2`` are monotone in ``xi_k`` at fixed mass ``m_k xi_k``.
    ``e_floor``: an upper bound of the eigenvalues beyond the listed ones that are not resolved (a
    quadrature's accuracy). Returns the max over the grid and the three outputs (each relative to
    itself)."""
    if tail == 0:
        return 0.0
    if e is None:
        e = max(float(np.max(xi[K + 1:K + 5])) if xi.size > K + 1 else 0.0, e_floor)
    if e <= 0:
        return math.inf
    e_l, m_l = xi[:K + 1], mult[:K + 1]
    s0 = risk(e_l, m_l, energy, n, lam, sigma2, tail=tail, errors="mask")
    s1 = risk(np.append(e_l, e), np.append(m_l, tail / e), energy, n, lam, sigma2, errors="mask")
    return _solution_change(s0, s1)


class _CapExceeded(ValueError):
    """The default truncation cannot meet ``trunc_tol`` within the cap (a documented ValueError)."""


def _tail_of(data, K):
    """The kernel trace beyond degree ``K`` of ``data = (xi, mult, tail_beyond_Kc, ...)``."""
    xi, mult, rest = data[:3]
    return math.fsum(mult[K + 1:] * xi[K + 1:]) + rest


def _choose_truncation(spectrum_upto, energy, n, lam, sigma2, kmin, cap, trunc_tol, what, estimate=None):
    """Smallest ``K >= kmin`` (found by doubling, then bisection) whose :func:`_truncation_estimate` is
    ``<= trunc_tol``; ``spectrum_upto(Kc)`` returns ``(xi, mult, tail_beyond_Kc)`` to degree ``Kc``,
    optionally with a 4th entry, the ``e_floor`` of :func:`_truncation_estimate`; ``estimate(data, K)``
    replaces that estimate (NT's, with its own bound on the tail's eigenvalues).
    Returns ``(K, estimate, data)``; :class:`_CapExceeded` past ``cap``."""
    if estimate is None:
        def estimate(data, K):
            return _truncation_estimate(data[0], data[1], K, _tail_of(data, K), energy, n, lam, sigma2,
                                        e_floor=data[3] if len(data) > 3 else 0.0)

    Kc = min(cap + 4, max(64, 2 * kmin + 8))
    data = spectrum_upto(Kc)
    lo, K, est = None, kmin, None
    while True:
        while K + 4 > Kc and Kc < cap + 4:
            Kc = min(cap + 4, 4 * Kc)
            data = spectrum_upto(Kc)
        if K > cap:
            raise _CapExceeded(f"{what}: the truncation error estimate of the risk is {est:.2g} at kmax={lo}, above "
                               f"trunc_tol={trunc_tol:g}, and kmax is capped at {cap} here; pass a larger trunc_tol, "
                               "or an explicit kmax (the estimate is then reported as truncation_error)")
        est = estimate(data, K)
        if est <= trunc_tol:
            break
        lo = K
        K = K + max(1, K // 2) if K < cap else cap + 1
        if K > cap and lo < cap:
            K = cap
    hi = K
    best = (hi, est)
    lo = kmin - 1 if lo is None else lo
    while hi - lo > 1:                       # bisection for the smallest passing K
        mid = (lo + hi) // 2
        e_mid = estimate(data, mid)
        if e_mid <= trunc_tol:
            hi, best = mid, (mid, e_mid)
        else:
            lo = mid
    return best[0], best[1], data


def _kappa_lower(eigs, mult, n, lam):
    """Per grid point, the root ``kappa`` of ``n = sum m xi/(xi + kappa) + lam/kappa`` (0 if there is
    none): a lower bound of the effective regularization with any further eigenvalues or ridge
    (both only raise the right-hand side). Bisection in ``log kappa`` to a factor ``1e-3``."""
    n, lam = (a.ravel() for a in np.broadcast_arrays(np.asarray(n, dtype=float), np.asarray(lam, dtype=float)))
    pos = eigs > 0
    xi, m = eigs[pos], mult[pos]
    hi = np.log((lam + float(np.sum(m * xi))) / n) + 1.0
    lo0 = math.log(1e-300)
    lo = np.full(hi.shape, lo0)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        k = np.exp(mid)
        with np.errstate(over="ignore", under="ignore"):
            f = np.sum(m * xi / (xi + k[:, None]), axis=1) + lam / k
        big = f > n
        lo = np.where(big, mid, lo)
        hi = np.where(big, hi, mid)
    return np.where(lo <= lo0, 0.0, np.exp(lo))


#: Relative uncertainty assumed for the Euler--Maclaurin remainder beyond the degree quadrature.
_REST_REL = 1e-3


def _tail_solve(model: _TailModel, exact, d, energy, n, lam, sigma2, trunc_tol, precision, tol, errors, what,
                kmax_exact):
    """The risk with the degrees ``0..kmax_exact`` listed exactly (``exact = (xi, mult, mp_xi)``), the
    rest of the power-law class as the degree quadrature of :func:`gegenbauer.degree_tail` up to
    ``k_end`` and the trace beyond ``k_end`` as ridge. ``k_end`` grows until counting that remainder
    as ridge changes ``df1``, ``df2`` by at most ``1e-18 n`` (``R xi(k_end) <= 1e-18 n kappa_lb^2``,
    ``kappa_lb`` from :func:`_kappa_lower`). The error estimate is the largest relative change of
    ``risk``, ``bias``, ``variance`` under (i) 16 instead of 20 nodes per block and (ii) the remainder
    as one eigenspace of eigenvalue ``xi(k_end)`` instead of ridge (:func:`_truncation_estimate`).
    Returns ``(solution, eigs, mult, mp_eigs, degrees, tail, estimate, nodes)``."""
    from ..expansions.gegenbauer import degree_tail
    xi_x, m_x, mp_x = exact
    k0 = model.start(kmax_exact)
    k_end = max(64 * k0, 10 ** 4)

    def build(m, k_end, prec=None):
        T = degree_tail(model.xi_fn, d, k0, model.step, k_end, m=m, ratio=model.ratio, xi_mp=model.xi_mp,
                        precision=prec)
        return T, np.concatenate([xi_x, T.eigs]), np.concatenate([m_x, T.mult])

    while True:
        T, eigs, mult = build(20, k_end)
        klb = _kappa_lower(eigs, mult, n, lam)
        nn = np.broadcast_arrays(np.asarray(n, dtype=float), np.asarray(lam, dtype=float))[0].ravel()
        if np.all(klb > 0) and np.all(T.rest * T.rest_eig <= 1e-18 * nn * klb ** 2):
            # the remainder's mass is itself an Euler--Maclaurin estimate (relative error <= 1e-4
            # measured; 1e-3 assumed): its effect on the outputs is part of the estimate, and k_end
            # grows until that effect is below trunc_tol/10 (the remainder shrinks like a power of k_end)
            s20 = risk(eigs, mult, energy, n, lam, sigma2, tail=T.rest, errors="mask")
            s_rest = risk(eigs, mult, energy, n, lam, sigma2, tail=T.rest * (1 + _REST_REL), errors="mask")
            rest_err = _solution_change(s20, s_rest)
            if rest_err <= trunc_tol / 10 or k_end > 1e250:
                break
        if k_end > 1e250:
            raise ValueError(f"{what}: the power-law tail of the spectrum does not reach the accuracy needed "
                             "(remainder beyond degree 1e250); pass an explicit kmax")
        k_end *= 1000
    T16, eigs16, mult16 = build(16, k_end)
    s16 = risk(eigs16, mult16, energy, n, lam, sigma2, tail=T16.rest, errors="mask")
    est = max(_solution_change(s20, s16), rest_err,
              _truncation_estimate(eigs, mult, eigs.size - 1, T.rest, energy, n, lam, sigma2, e=T.rest_eig))
    mp_eigs = None
    if precision is not None and mp_x is not None:
        Tp, _, _ = build(20, k_end, precision)
        mp_eigs = np.concatenate([np.asarray(mp_x, dtype=object), np.asarray(Tp.mp_eigs, dtype=object)])
    sol = risk(mp_eigs if mp_eigs is not None else eigs, mult, energy, n, lam, sigma2, tail=T.rest,
               precision=precision, tol=tol, errors=errors)
    degrees = np.concatenate([np.arange(xi_x.size, dtype=float), T.k])
    return sol, eigs, mult, mp_eigs, degrees, T.rest, est, T.nodes, T.rest_eig


def sphere_risk(kernel, d, n, lam=0.0, sigma2=0.0, *, energy=(0.0, 1.0), kmax=None, precision=None,
                tol: float = DEFAULT_TOL, errors: str = "raise", trunc_tol: float = DEFAULT_TRUNC_TOL):
    """KRR risk at finite ``d`` on ``S^{d-1}(sqrt d)`` from the exact spectrum (:func:`sphere_spectrum`).

    **Truncation.** Degrees ``> kmax`` enter as the extra ridge ``tail`` (module docstring; computed
    without cancellation, see :class:`SphereSpectrum`). The default ``kmax`` is the smallest degree (at
    least the target's degree + 1) at which ``risk``, ``bias`` and ``variance`` are each within
    ``trunc_tol`` (default ``1e-12``) relative of their untruncated values at every point of the
    grid, as estimated by bracketing the tail between "pure ridge" and "all its mass on one
    eigenspace of the largest tail eigenvalue" (:func:`_truncation_estimate`; the measured distance to
    the converged risk is below the estimate, see ``docs/kernel_ridge.md``). The estimate is returned
    as ``spectrum.truncation_error`` (also for an explicit ``kmax``). Degrees are capped at 2000 (and
    ``B(d, kmax) < 1e300``; 14/log10(d) for a callable kernel, whose float64 eigenvalues lose accuracy
    with the degree). Beyond the cap:

    * **relu-nngp** (eigenvalues ``xi_k ~ k^-(d+2)``, even ``k``, in closed form at every real
      degree): the degrees beyond ``max(target degree + 1, 2)`` are summed as a quadrature over the
      degree (:func:`asymptotics.expansions.gegenbauer.degree_tail`, pseudo-eigenspaces appended to
      ``spectrum.eigs``) up to a degree where the remainder counts as ridge to ``1e-18`` of ``n``; the
      estimate then compares 16 and 20 nodes per block and the remainder's bracket. This covers small
      ``d`` with large ``n`` (e.g. ``d = 2, 3`` with ``n`` up to ``1e100``).
    * exp (superexponential decay) needs no more than a few dozen degrees; a ``poly:`` kernel none
      beyond its degree (its tail is exactly 0).
    * a callable kernel: ``ValueError`` where ``trunc_tol`` cannot be met within its cap.

    Args:
        kernel: see :func:`sphere_spectrum`.
        d: dimension (a single integer ``>= 2``).
        n, lam, sigma2: as in :func:`risk` (arrays broadcast; non-empty).
        energy: the target's energy per degree ``0, 1, ...`` (``||P_k f||^2``).
        kmax: largest degree kept exactly (default: by ``trunc_tol``, above).
        precision: mpmath digits for the eigenvalues and the solver; the ``precision``-digit eigenvalues
            are passed to the solver as ``mpmath.mpf`` (the degree quadrature's nodes and weights stay
            float64: its relative accuracy is ~1e-15, reported in ``truncation_error``).
        trunc_tol: relative tolerance of the default truncation, in ``[1e-15, 0.5]``.

    Returns:
        ``(solution, spectrum)``: the :func:`risk` solution and the :class:`SphereSpectrum` used.

    >>> sol, spec = sphere_risk("exp", 20, n=[50, 400], lam=1e-3, energy=[0, 1, 1])
    >>> sol.risk.round(4), spec.kmax, bool(spec.truncation_error <= 1e-12)
    (array([1.2066, 0.1016]), 7, True)
    """
    from ..expansions.gegenbauer import resolve_kernel
    energy = parse_energy(energy)
    nn = _check_grid("n", n, low=1.0, high=1e100)
    d = check_int("d", d, low=2, high=10 ** 7)
    trunc_tol = _check_trunc_tol(trunc_tol)
    lam_ = _check_grid("lam", lam, low=0.0, high=1e100)
    s2_ = _check_grid("sigma2", sigma2, low=0.0, high=1e100)
    try:
        np.broadcast_shapes(nn.shape, lam_.shape, s2_.shape)
    except ValueError:
        raise ValueError(f"n, lam and sigma2 must broadcast together, got shapes {nn.shape}, {lam_.shape} and "
                         f"{s2_.shape}") from None
    n_max = float(np.max(nn))
    kern = resolve_kernel(kernel, name="kernel")
    kmin = max(energy.size, 2)
    if kmax is not None:
        kmax = check_int("kmax", kmax, low=0, high=_SPHERE_KCAP)
        if energy.size > kmax + 1:
            raise ValueError(f"energy lists degrees up to {energy.size - 1} but kmax = {kmax}")
    cap = _float_kcap(d, _SPHERE_KCAP)
    if kern.exact is None:
        cap = min(cap, max(kmin, int(14 / math.log10(d))), 200)
    cache = {}
    what = f"sphere_risk ({kern.name}, d={d})"

    def upto(Kc):
        Kc = int(min(Kc, _float_kcap(d, _SPHERE_KCAP) + 4, _SPHERE_KCAP))
        if Kc not in cache:
            # a callable's float64 quadrature may fail where its mpmath one (precision=) works
            arr = _spectrum_arrays(kern, d, Kc, precision if kern.exact is None else None)
            cache[Kc] = (arr.xi, arr.mult, arr.beyond)
        return cache[Kc]

    if kmax is None:
        if cap < kmin:
            raise ValueError(f"energy lists degrees up to {energy.size - 1}, beyond the float64 range of B(d, k) "
                             f"at d={d}")
        try:
            kmax, est, _ = _choose_truncation(upto, energy, nn, lam_, s2_, kmin, cap, trunc_tol, what)
        except _CapExceeded as exc:
            if kern.exact != "relu-nngp":
                raise ValueError(str(exc)) from None
            model = _relu_nngp_tail(d)
            kx = max(kmin, 2)
            arr = _spectrum_arrays(kern, d, kx, precision)
            sol, eigs, mult, mp_eigs, degrees, tail, est, nodes, e_end = _tail_solve(
                model, (arr.xi, arr.mult, arr.mp_xi), d, energy, nn, lam_, s2_, trunc_tol, precision, tol, errors,
                what, kx)
            if est > trunc_tol:
                raise ValueError(f"{what}: the degree quadrature of the power-law tail reaches only {est:.2g} "
                                 f"(above trunc_tol={trunc_tol:g}); pass a larger trunc_tol") from None
            spec = SphereSpectrum(kernel=arr.name, d=d, kmax=kx, eigs=eigs, mult=mult, tail=tail, n_max=n_max,
                                  tail_bound=n_max * e_end / tail if tail > 0 else 0.0, truncation_error=est,
                                  mp_eigs=mp_eigs, degrees=degrees, tail_nodes=int(nodes))
            return _with_truncation(sol, est), spec
    else:
        data = upto(kmax + 4)
        tail_k = math.fsum(data[1][kmax + 1:] * data[0][kmax + 1:]) + data[2]
        est = _truncation_estimate(data[0], data[1], kmax, tail_k, energy, nn, lam_, s2_) \
            if energy.size <= kmax + 1 else math.inf
    arr = _spectrum_arrays(kern, d, min(kmax + 4, _SPHERE_KCAP), precision)
    spec = _make_spectrum(kern, d, kmax, arr, n_max, truncation_error=est)
    eigs = spec.mp_eigs if spec.mp_eigs is not None else spec.eigs
    sol = risk(eigs, spec.mult, energy, nn, lam, sigma2, tail=spec.tail, precision=precision,
               tol=tol, errors=errors)
    return _with_truncation(sol, est), spec


def _with_truncation(sol, est):
    """``sol`` with the truncation estimate ``est`` (relative, of ``risk``, ``bias`` and ``variance``)
    added to the accuracy of those outputs and of ``risk_total`` (so ``rel_accuracy`` is the distance
    to the untruncated model, not only the solver's rounding for the truncated one: a grid and a single
    point may choose different ``kmax``, and their values then differ by up to both estimates; issue 12,
    fuzz seed 1: exp, ``d = 20``, ``n = 329.2``, ``lam = 0``, 4.9e-13 apart while claiming 3.9e-14)."""
    if not est > 0:          # 0 (nothing truncated) or no estimate
        return sol
    acc = dict(sol.accuracy)
    for k in _TRUNC_OUTPUTS + ("risk_total",):
        if k in acc:
            acc[k] = np.asarray(acc[k], dtype=float) + float(est)
    return dataclasses.replace(sol, accuracy=acc)


# ---------------------------------------------------------------------- polynomial regime, d -> oo
gamma_l, a_l, a_tail, v_l, v_tail = sp.symbols("gamma a_l a_tail v_l v_tail", nonnegative=True)
_sub = {_ridge.lam: gamma_l * (lam + a_tail) / a_l, _ridge.r2: v_l, _ridge.sigma2: sigma2 + v_tail,
        _ridge.gamma: gamma_l}


def _limit_outputs():
    R = _ridge.RIDGE
    out = {k: sp.sympify(e).xreplace(_sub) for k, e in R.outputs.items()
           if k in ("df1_over_n", "df2_over_n", "bias", "variance")}
    out["bias"] = v_tail + out["bias"]           # degrees > l: not learned
    out["risk"] = sp.Symbol("bias") + sp.Symbol("variance")
    out["risk_total"] = sp.Symbol("risk") + sigma2
    return out


def _limit_singular(p, spectrum):
    mask = (p["lam"] + p["a_tail"] == 0) & (p["gamma"] == 1)
    noise = p["sigma2"] + p["v_tail"]
    var = np.where(noise > 0, np.inf, 0.0)
    return mask, {"kappa": 0.0, "df1_over_n": 1.0, "df2_over_n": 1.0, "bias": p["v_tail"],
                  "variance": var, "risk": p["v_tail"] + var, "risk_total": p["v_tail"] + var + p["sigma2"]}


KERNEL_RIDGE_LIMIT = FixedPointModel(
    name="kernel-ridge-limit",
    parameters=(gamma_l, lam, a_l, a_tail, v_l, v_tail, sigma2),
    unknowns=(_ridge.kappa,),
    equations=tuple(sp.sympify(e).xreplace(_sub) for e in _ridge.RIDGE.equations),
    outputs=_limit_outputs(),
    source=SOURCE_LIMIT,
    lower_bounds=(0.0,),
    initial_guess=lambda gamma, lam, a_l, a_tail, v_l, v_tail, sigma2: (
        _ridge._iso_kappa(gamma, gamma * (lam + a_tail) / a_l),),
    admissible=lambda p, u, t: _ridge._admissible(
        {"lam": p["gamma"] * (p["lam"] + p["a_tail"]) / p["a_l"]}, u,
        (1 - p["gamma"]) + u["kappa"] * (2 + u["kappa"])),
    singular=_limit_singular,
    symbols_doc={"gamma": "lim B(d, l)/n = 1/(alpha l!)", "lam": "ridge of (K + lam I)",
                 "a_l": "lim B(d,l) xi_{d,l} = h^(l)(0)/l!", "a_tail": "sum_{k>l} a_k (effective ridge)",
                 "v_l": "target energy at degree l", "v_tail": "target energy above degree l",
                 "sigma2": "noise variance", "kappa": "effective regularization in units of xi_{d,l}"},
    sample_ranges={"gamma": (0.1, 5.0), "lam": (0.01, 2.0), "a_l": (0.1, 1.0), "a_tail": (0.0, 1.0),
                   "v_l": (0.1, 2.0), "v_tail": (0.0, 1.0), "sigma2": (0.1, 2.0)},
    regimes={"gamma<1": {"gamma": (0, 1)}, "gamma>1": {"gamma": (1, sp.oo)}},
)


def degree_formulas() -> dict:
    """The polynomial-regime substitution as sympy expressions (for LaTeX):
    ``{"gamma": 1/(alpha l!), "lam_ridge": ..., "sigma2_ridge": ..., "risk": ...}``."""
    alpha, ell = sp.symbols("alpha l", positive=True)
    return {"gamma": 1 / (alpha * sp.factorial(ell)), "lam_ridge": _sub[_ridge.lam],
            "r2_ridge": v_l, "sigma2_ridge": _sub[_ridge.sigma2],
            "risk": v_tail + sp.Function("R_ridge")(gamma_l, _sub[_ridge.lam], v_l, _sub[_ridge.sigma2])}


def _inv_alpha_factorial(A, ell):
    """``1/(alpha l!)`` elementwise: in float64 while ``l!`` is finite (``l <= 170``), else correctly
    rounded from mpmath (``l!`` passes the float64 range at ``l = 171``; the exponent may reach 200)."""
    import mpmath
    A, ell = np.broadcast_arrays(np.asarray(A, dtype=float), np.asarray(ell))
    out = np.empty(A.shape)
    for idx in np.ndindex(A.shape):
        l = int(ell[idx])
        if l <= 170:
            out[idx] = 1.0 / (A[idx] * float(math.factorial(l)))
        else:
            with mpmath.workdps(30):
                out[idx] = float(1 / (mpmath.mpf(float(A[idx])) * mpmath.factorial(l)))
    return out


def polynomial_risk(kernel, energy, alpha, exponent, lam=0.0, sigma2=0.0, *, precision=None,
                    tol: float = DEFAULT_TOL) -> Solution:
    """The ``d -> oo`` risk of KRR on the sphere with ``n = alpha d^exponent`` (module docstring).

    Broadcasts over ``alpha``, ``exponent``, ``lam`` and ``sigma2``.

    Args:
        kernel: a named kernel, a sequence of Taylor coefficients ``a_k`` of ``h``, or a callable
            analytic on ``|s| <= 0.8`` (see :func:`asymptotics.expansions.gegenbauer.limit_scaled_eigenvalues`).
        energy: target energy per degree ``0, 1, ...``.
        alpha: ``> 0``; exponent: ``> 0`` (``n = alpha d^exponent``; at ``exponent = 0`` the number of
            samples stays fixed and the deterministic equivalent does not apply).
        lam: ridge of ``(K + lam I)``, ``>= 0``; sigma2: noise variance, ``>= 0``.

    Returns:
        A Solution with ``risk`` (excess), ``bias``, ``variance``, ``risk_total``, the degree ``l``
        (``degree``), ``gamma``, the effective ridge ``lam_ridge`` of degree ``l``, and ``kappa``
        (in units of ``xi_{d,l}``). ``risk = inf`` where ``lam + a_{>l} = 0``, ``alpha l! = 1`` and
        there is noise.

    Raises:
        ValueError: bad input, or ``a_l = 0`` at an integer exponent with target energy at degree
            ``l`` (the kernel cannot learn that degree: give the kernel or the energy again).

    >>> polynomial_risk("poly:0,0,1", [0, 0, 1], alpha=0.5, exponent=2, sigma2=0.1).risk   # alpha 2! = 1
    inf
    """
    from ..expansions.gegenbauer import limit_scaled_eigenvalues, resolve_kernel
    energy = parse_energy(energy)
    a_ = check_real("alpha", alpha, low=0.0, high=1e100, low_open=True)
    e_ = check_real("exponent", exponent, low=0.0, high=200.0, low_open=True)
    lam_ = check_real("lam", lam, low=0.0, high=1e100)
    s_ = check_real("sigma2", sigma2, low=0.0, high=1e100)
    A, E, L, S = np.broadcast_arrays(a_, e_, lam_, s_)
    ell = np.floor(E).astype(int)
    integer = E == ell
    K = int(max(ell.max(), energy.size - 1)) + 1
    a = limit_scaled_eigenvalues(kernel, K)
    # h(1) = sum of all Taylor coefficients, exactly where h is known, so that a_{>l} has no truncation
    if isinstance(kernel, str):
        total = float(resolve_kernel(kernel).np_fn(np.array([1.0]))[0])
    elif callable(kernel):
        total = float(np.asarray(kernel(np.array([1.0])), dtype=float).ravel()[0])
    else:
        total = float(np.sum(check_real("kernel", kernel)))
    if (a < -1e-15 * max(1.0, np.abs(a).max())).any():
        raise ValueError(f"kernel: a negative Taylor coefficient a_{int(np.argmax(a < 0))} = "
                         f"{a[np.argmax(a < 0)]:.3g}; not positive definite on spheres of every dimension")
    a = np.maximum(a, 0.0)
    v = np.concatenate([energy, np.zeros(K + 1 - energy.size)])
    # a_{>l} = h(1) - sum_{k<=l} a_k (a named kernel's h(1) is exact; else sum the series to K)
    cum = np.cumsum(a)
    a_l = a[ell]
    a_gt = np.maximum(total - cum[ell], 0.0)
    vtail_cum = np.cumsum(v[::-1])[::-1]  # sum_{k >= j} v_k
    v_gt = np.where(ell + 1 <= K, vtail_cum[np.minimum(ell + 1, K)], 0.0)
    v_at = v[ell]
    # non-integer exponent: degree l fully learned (gamma = 0: the ridge part vanishes)
    gamma = np.zeros(A.shape)
    gamma = np.where(integer, _inv_alpha_factorial(A, ell), 0.0)
    # every degree that the limit learns (k < l, and k = l at a non-integer exponent) needs a_k > 0
    need = (np.arange(K + 1) < ell[..., None]) | ((np.arange(K + 1) == ell[..., None]) & ~integer[..., None])
    bad = need & (a <= 0) & (v > 0)
    if bad.any():
        k0 = int(np.nonzero(bad.reshape(-1, K + 1).any(axis=0))[0][0])
        raise ValueError(f"kernel: a_{k0} = 0 but the target has energy at degree {k0}, which n = alpha "
                         f"d^exponent would learn if a_{k0} > 0; the limit theorem assumes a_k > 0 "
                         "(use sphere_risk at finite d, or move that energy to sigma2)")
    if (integer & (a_l <= 0) & (v_at > 0)).any():
        l0 = int(ell[integer & (a_l <= 0) & (v_at > 0)].ravel()[0])
        raise ValueError(f"kernel: a_{l0} = 0 but the target has energy at degree {l0} and n ~ d^{l0}; "
                         "the limit theorem assumes a_l > 0 (use sphere_risk at finite d)")
    sol_l = np.where(integer & (a_l > 0), 1.0, 0.0)
    p = {"gamma": np.where(sol_l > 0, gamma, 1.0), "lam": L, "a_l": np.where(a_l > 0, a_l, 1.0),
         "a_tail": a_gt, "v_l": np.where(sol_l > 0, v_at, 0.0), "v_tail": v_gt, "sigma2": S}
    sol = solve(KERNEL_RIDGE_LIMIT, p, precision=precision, tol=tol)
    learned = sol_l == 0   # degree l learned completely (or carries no energy and no eigenvalue)
    outputs = dict(sol.outputs)
    for k in ("bias", "risk"):
        outputs[k] = np.where(learned, v_gt, np.asarray(outputs[k], dtype=float if precision is None else object))
    outputs["variance"] = np.where(learned, 0.0, np.asarray(outputs["variance"], dtype=outputs["bias"].dtype))
    outputs["risk_total"] = outputs["risk"] + S
    outputs["lam_ridge"] = np.where(learned, 0.0, gamma * (L + a_gt) / np.where(a_l > 0, a_l, 1.0))
    unknowns = {"kappa": np.where(learned, 0.0, np.asarray(sol.unknowns["kappa"], dtype=outputs["bias"].dtype))}
    params = {"alpha": A, "exponent": E, "lam": L, "sigma2": S, "degree": ell.astype(float), "gamma": gamma}
    return dataclasses.replace(sol, model="kernel-ridge-limit", params=params, unknowns=unknowns,
                               outputs=outputs)
