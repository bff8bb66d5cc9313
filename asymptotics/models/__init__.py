"""One module per model: its fixed-point model(s), closed forms and limits.

* :mod:`asymptotics.models.ridge` -- ridge regression, isotropic and general spectrum;
* :mod:`asymptotics.models.kernel_ridge` -- kernel ridge regression, general spectrum and the sphere's
  polynomial regime;
* :mod:`asymptotics.models.random_features` -- random features regression (Mei & Montanari);
* :mod:`asymptotics.models.deep_linear` -- deep linear networks: end-to-end dynamics, mode learning
  curves, convergence conditions.
"""
from . import deep_linear, kernel_ridge, random_features, ridge

__all__ = ["deep_linear", "kernel_ridge", "random_features", "ridge"]
