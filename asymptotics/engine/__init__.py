"""The fixed-point engine: models written once in sympy, solved in numpy or mpmath, derived by sympy."""
from .fixedpoint import ConvergenceError, DEFAULT_TOL, FixedPointModel, Solution, Trace, solve, solve_mp
from .derive import VerifyReport, closed_form, limit, series, verify

__all__ = ["ConvergenceError", "DEFAULT_TOL", "FixedPointModel", "Solution", "Trace", "solve", "solve_mp",
           "VerifyReport", "closed_form", "limit", "series", "verify"]
