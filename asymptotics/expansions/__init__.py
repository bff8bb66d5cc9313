"""Expansions of activations and kernels: :mod:`asymptotics.expansions.hermite` (Gaussian inputs)."""
from .hermite import HermiteExpansion, hermite_coefficients

__all__ = ["HermiteExpansion", "hermite_coefficients"]
