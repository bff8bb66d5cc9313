"""asymptotics: exact high-dimensional theory of linearized neural networks.

The public surface, every name listed here (the modules behind them are implementation):

* Hermite layer: :func:`hermite_coefficients`, :class:`HermiteExpansion`, :func:`get_activation`,
  :class:`Activation`, :data:`ACTIVATIONS`, :func:`gaussian_expectation`;
* kernels: :func:`dual_kernel`, :func:`dual_kernel_derivative`, :func:`ntk`, and the closed-form
  witnesses :func:`arccos_kernel`, :func:`sign_kernel`, :func:`erf_kernel`;
* engine: :class:`FixedPointModel`, :class:`Trace`, :class:`Solution`, :func:`solve`,
  :class:`ConvergenceError`, and the derivations :func:`closed_form`, :func:`limit`, :func:`series`,
  :func:`verify`;
* models: :mod:`asymptotics.models.ridge` (``ridge.risk``, ``ridge.spectrum_risk``, ...),
  :mod:`asymptotics.models.kernel_ridge` (``kernel_ridge.risk``, ``kernel_ridge.sphere_risk``,
  ``kernel_ridge.polynomial_risk``), :mod:`asymptotics.models.random_features` (``random_features.risk``);
* sweeps and outputs: :func:`evaluate`, :func:`format_records`, :func:`plot_curve`.

>>> import asymptotics as asy
>>> round(asy.hermite_coefficients("relu", kmax=2).mu1, 12)
0.5
>>> asy.ridge.risk(gamma=2.0, lam=0.0).risk
1.5
"""
__version__ = "0.1.0"

from .activations import ACTIVATIONS, Activation, get_activation
from .curves import evaluate
from .engine import (ConvergenceError, FixedPointModel, Solution, Trace, closed_form, limit, series,
                     solve, verify)
from .expansions.hermite import HermiteExpansion, gaussian_expectation, hermite_coefficients
from .export import format_records, plot_curve
from .kernels import arccos_kernel, dual_kernel, dual_kernel_derivative, erf_kernel, ntk, sign_kernel
from .models import kernel_ridge, random_features, ridge

__all__ = [
    "__version__",
    "ACTIVATIONS", "Activation", "get_activation",
    "HermiteExpansion", "gaussian_expectation", "hermite_coefficients",
    "arccos_kernel", "dual_kernel", "dual_kernel_derivative", "erf_kernel", "ntk", "sign_kernel",
    "ConvergenceError", "FixedPointModel", "Solution", "Trace", "closed_form", "limit", "series",
    "solve", "verify",
    "kernel_ridge", "random_features", "ridge",
    "evaluate", "format_records", "plot_curve",
]
