"""One module per model: its fixed-point model(s), closed forms and limits.

* :mod:`asymptotics.models.ridge` -- ridge regression, isotropic and general spectrum;
* :mod:`asymptotics.models.random_features` -- random features regression (Mei & Montanari).
"""
from . import random_features, ridge

__all__ = ["random_features", "ridge"]
