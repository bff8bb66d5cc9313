"""Numerical building blocks that several layers need, written once (see DESIGN.md).

* :mod:`asymptotics.numerics.expressions` -- safe parsing of user expressions (a whitelist parser that
  builds sympy trees itself; no user text is ever evaluated as Python).
"""
