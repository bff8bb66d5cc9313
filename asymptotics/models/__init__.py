"""One module per model: its fixed-point model(s), closed forms and limits.

* :mod:`asymptotics.models.ridge` -- ridge regression, isotropic and general spectrum;
* :mod:`asymptotics.models.kernel_ridge` -- kernel ridge regression, general spectrum and the sphere's
  polynomial regime;
* :mod:`asymptotics.models.random_features` -- random features regression (Mei & Montanari).
"""
from . import kernel_ridge, random_features, ridge

__all__ = ["kernel_ridge", "random_features", "ridge"]
