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
import math
from dataclasses import dataclass

import numpy as np
import sympy as sp

from .._validation import check_array_1d, check_int, check_real, check_same_length
from ..engine.fixedpoint import DEFAULT_TOL, FixedPointModel, Solution, Trace, solve
from . import ridge as _ridge
from ..numerics.expressions import parse_number_list

__all__ = ["KERNEL_RIDGE", "KERNEL_RIDGE_LIMIT", "SOURCE", "SOURCE_LIMIT", "risk", "learned_fraction",
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

# 1 - df2/n without cancellation: at the fixed point 1 - df1/n = (lam + t)/(n kappa), and
# df1 - df2 = sum m xi kappa/(xi + kappa)^2 >= 0 (as in ridge.RIDGE_SPECTRUM)
_one_minus_df2n = sp.Piecewise(((lam + tail) / (n * kappa) + ddf / n, kappa > 0), (1 - df2 / n, True))

_SYMBOLS_DOC = {
    "n": "number of samples", "lam": "ridge penalty of (K + lam I)", "sigma2": "noise variance",
    "tail": "kernel trace beyond the listed eigenspaces (acts as ridge)",
    "v_null": "target energy where the kernel eigenvalue is 0 (unlearnable)",
    "kappa": "effective regularization", "xi": "kernel eigenvalue", "m": "its multiplicity",
    "v": "target energy in its eigenspace",
}


def _admissible(p, u, t):
    k = u["kappa"]
    safe = np.where(k > 0, k, 1.0)
    one_minus = np.where(k > 0, (p["lam"] + p["tail"]) / (p["n"] * safe) + t["df1_minus_df2"] / p["n"],
                         1 - t["df2"] / p["n"])
    return (p["n"] * k >= (p["lam"] + p["tail"]) * (1 - 1e-12)) & (one_minus > 0)


def _singular(p, spectrum):
    # ridgeless interpolation of a finite-rank kernel: n equal to the rank
    rank = float(np.sum(spectrum["m"][spectrum["xi"] > 0]))
    mask = (p["lam"] + p["tail"] == 0) & (p["n"] == rank)
    var = np.where(p["sigma2"] > 0, np.inf, 0.0)
    bias = np.where(p["v_null"] > 0, np.inf, 0.0)
    return mask, {"kappa": 0.0, "df1": rank, "df2": rank, "bias": bias, "variance": var,
                  "risk": bias + var, "risk_total": bias + var + p["sigma2"]}


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
        "bias": (bsum + v_null) / _one_minus_df2n,
        "variance": sigma2 * (df2 / n) / _one_minus_df2n,
        "risk": sp.Symbol("bias") + sp.Symbol("variance"),
        "risk_total": sp.Symbol("risk") + sigma2,
    },
    source=SOURCE,
    lower_bounds=(0.0,),
    # kappa <= (lam + t + sum m xi)/n; Newton from this upper bound decreases monotonically (convexity)
    initial_guess=lambda n, lam, sigma2, tail, v_null, spectrum: (
        (lam + tail + np.sum(spectrum["m"] * spectrum["xi"])) / n,),
    admissible=_admissible,
    singular=_singular,
    symbols_doc=_SYMBOLS_DOC,
    sample_ranges={"n": (10.0, 1000.0), "lam": (0.01, 2.0), "sigma2": (0.1, 3.0), "tail": (0.0, 1.0),
                   "v_null": (0.0, 1.0)},
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
         tol: float = DEFAULT_TOL, errors: str = "raise") -> Solution:
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
        precision, tol, errors: as in :func:`asymptotics.models.ridge.risk`.

    Returns:
        A :class:`~asymptotics.engine.fixedpoint.Solution` with ``risk`` (excess), ``bias``,
        ``variance``, ``risk_total``, ``df1``, ``df2`` and the effective regularization ``kappa``
        (use :func:`learned_fraction` for the per-eigenspace ``L_k``). ``risk = inf`` where
        ``lam + tail = 0`` and ``n`` equals the kernel's rank (with ``sigma2 > 0``).

    Raises:
        ValueError: for inputs out of range.

    Examples:
        >>> risk(eigs=[1.0], mult=[3], energy=[1.0], n=3, sigma2=1.0).risk   # interpolation peak
        inf
    """
    mp_eigs = _mp_array(eigs) if precision is not None else None
    eigs, mult, energy, null = _check_spectrum(eigs, mult, energy)
    if mp_eigs is not None:   # keep the caller's high-precision eigenvalues (same filter as _check_spectrum)
        eigs = mp_eigs[np.asarray([float(v) > 0 for v in mp_eigs], dtype=bool)]
    p = {"n": check_real("n", n, low=0.0, high=1e100, low_open=True),
         "lam": check_real("lam", lam, low=0.0, high=1e100),
         "sigma2": check_real("sigma2", sigma2, low=0.0, high=1e100),
         "tail": check_real("tail", tail, low=0.0, high=1e100), "v_null": null}
    return solve(KERNEL_RIDGE, p, spectrum={"xi": eigs, "m": mult, "v": energy}, precision=precision,
                 tol=tol, errors=errors)


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


@dataclass(frozen=True)
class SphereSpectrum:
    """The spectrum of ``K(x, x') = h(<x, x'>/d)`` on ``S^{d-1}(sqrt d)``, per degree ``0..kmax``.

    Attributes:
        kernel, d, kmax: as given.
        eigs: ``xi_{d,k}`` (exact routes for the named kernels, Gauss-Jacobi quadrature for a callable,
            see :func:`asymptotics.expansions.gegenbauer.kernel_eigenvalues`; values below their
            accuracy are set to 0).
        mult: ``B(d, k)`` as floats.
        tail: ``h(1) - sum_{k <= kmax} B(d, k) xi_{d,k}``, the trace beyond ``kmax`` (``>= 0``).
        n_max: the largest sample size the spectrum is meant for.
        tail_bound: ``n_max / B(d, kmax + 1)``, bounding the relative error ``eps`` of counting the tail
            as ridge (module docstring).
        truncation_error: from :func:`sphere_risk`, the estimated relative distance of the risk to its
            untruncated value (max over the grid; see :func:`sphere_risk`), else ``None``.
        mp_eigs: with ``precision``, the eigenvalues as an object array of ``mpmath.mpf`` (``None`` for
            float64 spectra); :func:`sphere_risk` passes them to the solver.
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


def _poly_coeffs(kern):
    from ..expansions.gegenbauer import _parse_poly
    c = _parse_poly(kern.name)
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


def _spectrum_arrays(kern, d, kmax, precision):
    """``(xi, mult, h1, acc, mp_xi)`` of the kernel up to degree ``kmax`` (PSD-checked, below-accuracy
    values set to 0)."""
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
        import mpmath
        mp_xi = np.array([mpmath.mpf(0) if z else v for v, z in zip(r.mp_eigenvalues, zero)], dtype=object)
    tail_tol = 4 * np.finfo(float).eps * (kmax + 1) * h_scale + float(np.sum(mult * acc))
    return xi, mult, r.h_at_one, r.kernel, tail_tol, mp_xi


def _make_spectrum(kern, name, d, K, xi, mult, h1, tail_tol, n_max, mp_xi=None, truncation_error=None):
    from ..expansions.gegenbauer import multiplicity
    x, m = xi[:K + 1], mult[:K + 1]
    # the tail beyond K: the listed degrees above K (no cancellation) plus the remainder beyond the list
    rest = h1 - float(np.sum(mult * xi))
    if rest < -tail_tol:
        raise ValueError(f"kernel {name!r}: the eigenvalues up to degree {xi.size - 1} sum to more than "
                         f"h(1) ({-rest:.3g} too much); it is not positive semi-definite on S^{d - 1}")
    tail = float(np.sum(mult[K + 1:] * xi[K + 1:])) + max(rest, 0.0)
    if kern.name.startswith("poly:") and len(_poly_coeffs(kern)) <= K + 1:
        tail = 0.0  # a polynomial kernel of degree <= K: nothing beyond, exactly
    bound = n_max / float(multiplicity(d, K + 1)) if tail > 0 else 0.0
    return SphereSpectrum(kernel=name, d=d, kmax=K, eigs=x, mult=m, tail=tail, n_max=n_max, tail_bound=bound,
                          truncation_error=truncation_error, mp_eigs=None if mp_xi is None else mp_xi[:K + 1])


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
    kern = resolve_kernel(kernel)
    if kmax is None:
        cap = _float_kcap(d, _SPHERE_KCAP)
        if kern.exact is None:
            cap = min(cap, max(2, int(14 / math.log10(d))), 200)
        Kc = min(cap + 4, 64)
        while True:
            xi, mult, h1, name, tail_tol, mp_xi = _spectrum_arrays(kern, d, Kc, precision)
            rest = max(h1 - float(np.sum(mult * xi)), 0.0)
            mass = mult * xi
            tails = np.concatenate([np.cumsum(mass[::-1])[::-1][1:], [0.0]]) + rest   # t_K, K = 0..Kc
            found = None
            for K in range(2, min(cap, Kc - 4) + 1):
                e = float(np.max(xi[K + 1:K + 5]))
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
                             + "); pass a larger trunc_tol, a smaller n_max or an explicit kmax")
        return _make_spectrum(kern, name, d, found, xi, mult, h1, tail_tol, n_max, mp_xi)
    kmax = check_int("kmax", kmax, low=0, high=_SPHERE_KCAP)
    xi, mult, h1, name, tail_tol, mp_xi = _spectrum_arrays(kern, d, kmax, precision)
    return _make_spectrum(kern, name, d, kmax, xi, mult, h1, tail_tol, n_max, mp_xi)


def _truncation_estimate(xi, mult, K, tail, energy, n, lam, sigma2):
    """Relative distance of the risk with degrees ``> K`` counted as the ridge ``tail`` to the risk with
    that tail mass put on one eigenspace of eigenvalue ``e = max_{K < k <= K+4} xi_k`` instead
    (multiplicity ``tail/e``). The exact tail lies between the two: each degree ``k > K`` has
    ``0 < xi_k <= e`` (the sphere spectra used here decrease along each parity of ``k``), and its
    contributions ``m_k xi_k/(xi_k + kappa)`` and ``m_k xi_k^2/(xi_k + kappa)^2`` to ``df1`` and ``df2``
    are monotone in ``xi_k`` at fixed mass ``m_k xi_k``. Returns the max over the grid."""
    if tail == 0:
        return 0.0
    e = float(np.max(xi[K + 1:K + 5])) if xi.size > K + 1 else 0.0
    if e <= 0:
        return math.inf
    e_l, m_l = xi[:K + 1], mult[:K + 1]
    r0 = risk(e_l, m_l, energy, n, lam, sigma2, tail=tail, errors="mask").risk
    r1 = risk(np.append(e_l, e), np.append(m_l, tail / e), energy, n, lam, sigma2, errors="mask").risk
    r0, r1 = np.asarray(r0, dtype=float), np.asarray(r1, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.where(r0 == r1, 0.0, np.abs(r1 - r0) / np.maximum(np.abs(r0), 1e-300))
    rel = np.where(np.isnan(rel), np.inf, rel)
    return float(np.max(rel))


def _choose_truncation(spectrum_upto, energy, n, lam, sigma2, kmin, cap, trunc_tol, what):
    """Smallest ``K >= kmin`` (found by doubling, then bisection) whose :func:`_truncation_estimate` is
    ``<= trunc_tol``; ``spectrum_upto(Kc)`` returns ``(xi, mult, tail_beyond_Kc)`` to degree ``Kc``.
    Returns ``(K, estimate, data)``; ``ValueError`` past ``cap``."""
    def tail_of(data, K):
        xi, mult, rest = data
        return float(np.sum(mult[K + 1:] * xi[K + 1:])) + rest

    Kc = min(cap + 4, max(64, 2 * kmin + 8))
    data = spectrum_upto(Kc)
    lo, K, est = None, kmin, None
    while True:
        while K + 4 > Kc and Kc < cap + 4:
            Kc = min(cap + 4, 4 * Kc)
            data = spectrum_upto(Kc)
        if K > cap:
            raise ValueError(f"{what}: the truncation error estimate of the risk is {est:.2g} at kmax={lo}, above "
                             f"trunc_tol={trunc_tol:g}, and kmax is capped at {cap} here; pass a larger trunc_tol, "
                             "or an explicit kmax (the estimate is then reported as truncation_error)")
        est = _truncation_estimate(data[0], data[1], K, tail_of(data, K), energy, n, lam, sigma2)
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
        e_mid = _truncation_estimate(data[0], data[1], mid, tail_of(data, mid), energy, n, lam, sigma2)
        if e_mid <= trunc_tol:
            hi, best = mid, (mid, e_mid)
        else:
            lo = mid
    return best[0], best[1], data


def sphere_risk(kernel, d, n, lam=0.0, sigma2=0.0, *, energy=(0.0, 1.0), kmax=None, precision=None,
                tol: float = DEFAULT_TOL, errors: str = "raise", trunc_tol: float = DEFAULT_TRUNC_TOL):
    """KRR risk at finite ``d`` on ``S^{d-1}(sqrt d)`` from the exact spectrum (:func:`sphere_spectrum`).

    **Truncation.** Degrees ``> kmax`` enter as the extra ridge ``tail`` (module docstring). The
    default ``kmax`` is the smallest degree (at least the target's degree + 1) at which the risk is
    within ``trunc_tol`` (default ``1e-12``) relative of its untruncated value at every point of the
    grid, as estimated by bracketing the tail between "pure ridge" and "all its mass on one
    eigenspace of the largest tail eigenvalue" (:func:`_truncation_estimate`; the measured distance to
    the converged risk is below the estimate, see ``docs/kernel_ridge.md``). The estimate is returned as
    ``spectrum.truncation_error`` (also for an explicit ``kmax``). Degrees are capped at 2000 (and
    ``B(d, kmax) < 1e300``; 14/log10(d) for a callable kernel, whose float64 eigenvalues lose accuracy
    with the degree): where ``trunc_tol`` cannot be met within them -- small ``d`` with large ``n``, e.g.
    relu-nngp at ``d = 3``, ``n = 1e4`` -- ``ValueError``.

    Args:
        kernel: see :func:`sphere_spectrum`.
        d: dimension (a single integer ``>= 2``).
        n, lam, sigma2: as in :func:`risk` (arrays broadcast).
        energy: the target's energy per degree ``0, 1, ...`` (``||P_k f||^2``).
        kmax: largest degree kept exactly (default: by ``trunc_tol``, above).
        precision: mpmath digits for the eigenvalues and the solver; the ``precision``-digit eigenvalues
            are passed to the solver as ``mpmath.mpf``.
        trunc_tol: relative tolerance of the default truncation, in ``[1e-15, 0.5]``.

    Returns:
        ``(solution, spectrum)``: the :func:`risk` solution and the :class:`SphereSpectrum` used.

    >>> sol, spec = sphere_risk("exp", 20, n=[50, 400], lam=1e-3, energy=[0, 1, 1])
    >>> sol.risk.round(4), spec.kmax, bool(spec.truncation_error <= 1e-12)
    (array([1.2066, 0.1016]), 7, True)
    """
    from ..expansions.gegenbauer import resolve_kernel
    energy = parse_energy(energy)
    nn = check_real("n", n, low=1.0, high=1e100)
    d = check_int("d", d, low=2, high=10 ** 7)
    trunc_tol = _check_trunc_tol(trunc_tol)
    lam_ = check_real("lam", lam, low=0.0, high=1e100)
    s2_ = check_real("sigma2", sigma2, low=0.0, high=1e100)
    n_max = float(np.max(nn))
    kern = resolve_kernel(kernel)
    kmin = max(energy.size, 2)
    if kmax is not None:
        kmax = check_int("kmax", kmax, low=0, high=_SPHERE_KCAP)
        if energy.size > kmax + 1:
            raise ValueError(f"energy lists degrees up to {energy.size - 1} but kmax = {kmax}")
    cap = _float_kcap(d, _SPHERE_KCAP)
    if kern.exact is None:
        cap = min(cap, max(kmin, int(14 / math.log10(d))), 200)
    cache = {}

    def upto(Kc):
        Kc = int(min(Kc, _float_kcap(d, _SPHERE_KCAP) + 4, _SPHERE_KCAP))
        if Kc not in cache:
            # a callable's float64 quadrature may fail where its mpmath one (precision=) works
            xi, mult, h1, name, tail_tol, mp_xi = _spectrum_arrays(kern, d, Kc, precision if kern.exact is None else None)
            rest = h1 - float(np.sum(mult * xi))
            cache[Kc] = (xi, mult, max(rest, 0.0))
        return cache[Kc]

    if kmax is None:
        if cap < kmin:
            raise ValueError(f"energy lists degrees up to {energy.size - 1}, beyond the float64 range of B(d, k) "
                             f"at d={d}")
        kmax, est, _ = _choose_truncation(upto, energy, nn, lam_, s2_, kmin, cap, trunc_tol,
                                          f"sphere_risk ({kern.name}, d={d})")
    else:
        data = upto(kmax + 4)
        tail_k = float(np.sum(data[1][kmax + 1:] * data[0][kmax + 1:])) + data[2]
        est = _truncation_estimate(data[0], data[1], kmax, tail_k, energy, nn, lam_, s2_) \
            if energy.size <= kmax + 1 else math.inf
    xi, mult, h1, name, tail_tol, mp_xi = _spectrum_arrays(kern, d, min(kmax + 4, _SPHERE_KCAP), precision)
    spec = _make_spectrum(kern, name, d, kmax, xi, mult, h1, tail_tol, n_max, mp_xi, truncation_error=est)
    eigs = spec.mp_eigs if spec.mp_eigs is not None else spec.eigs
    sol = risk(eigs, spec.mult, energy, nn, lam, sigma2, tail=spec.tail, precision=precision,
               tol=tol, errors=errors)
    return sol, spec


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
