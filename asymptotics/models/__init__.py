"""One module per model: its fixed-point model(s), closed forms and limits.

* :mod:`asymptotics.models.ridge` -- ridge regression, isotropic and general spectrum.
"""
from . import ridge

__all__ = ["ridge"]
