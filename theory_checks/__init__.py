"""Monte Carlo checks of the theory in :mod:`asymptotics`, one module per model with the same name.

* :mod:`theory_checks.kernels` -- dual and neural-tangent kernels by sampling;
* :mod:`theory_checks.ridge` -- ridge regression at finite n, d;
* :mod:`theory_checks.random_features` -- random features regression on the sphere;
* :mod:`theory_checks.compare` -- theory vs simulation: finite-size fit, interval, resolution, verdict;
* :mod:`theory_checks.ladder` -- point groups, deterministic units of work, resolution-driven seeds;
* :mod:`theory_checks.catalog` -- named checks and the dispatch used by ``asymptotics check``.
"""
