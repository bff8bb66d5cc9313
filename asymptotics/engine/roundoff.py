"""Round-off analysis of the compiled formulas: a first-order forward error bound per expression.

For an expression tree evaluated in floating point with unit round-off ``u`` (``2**-53`` in double
precision, ``2**-prec`` in mpmath), :func:`forward_error` builds a sympy expression ``E`` such that the
computed value ``fl(e)`` satisfies, to first order in ``u`` and in the errors of the leaves,

    ``|fl(e) - e| <= E``.

The rules are the classical running error bounds (Wilkinson; Higham, *Accuracy and Stability of
Numerical Algorithms*, 2nd ed., SIAM 2002, sec. 3.1 and 3.3), written per node:

* a sum of ``n`` terms: the terms' errors plus ``u |value|`` (the last addition) plus
  ``(n - 2) u sum |terms|`` (the partial sums before it, in any order);
* a product of ``n`` factors: ``sum_i err_i prod_{j != i} |a_j|`` plus ``(n - 1) u |value|``;
* ``a**k``: ``|k| |a|^(k-1) err_a + 2u |value|`` (a correctly rounded or 1-ulp ``pow``);
* ``exp``, ``log``, ``sqrt``, other functions: ``|f'| err`` plus ``2u |value|``;
* a branch (``Piecewise``) takes the error of the branch taken;
* every operation adds ``eta``, the smallest subnormal number (a bound on the absolute error of a
  result rounded into the subnormal range; 0 in mpmath, which has no underflow);
* parameters are exact (a float given by the user *is* the parameter); the leaves whose errors are
  given (unknowns, spectral sums) carry them.

The bound follows the tree sympy holds and lambdify prints (sum and product rules do not depend on the
order of the terms), so it is a bound on the code that actually runs, not on a rearranged formula.
Cancellation shows up as a large bound relative to the value: that is what the engine reports as
the accuracy of an output.

Also here: three functions the models use to write their formulas without overflow or cancellation,
known to the numpy and mpmath back ends and to the error analysis:

* ``ratio(a, b) = a/(a + b)`` (for ``a, b >= 0``; its derivatives are written with ``ratio`` again,
  so that ``s/(s + kappa)^2 = ratio(s, kappa)/(s + kappa)`` never forms ``(s + kappa)^2``);
* ``sigmoid(y) = 1/(1 + exp(-y))`` (derivative ``sigmoid(y) sigmoid(-y)``, no overflow);
* ``group(x) = x``: evaluates ``x`` first, as one number (e.g. ``group(n - d)``: exact when ``n``
  and ``d`` are close, by Sterbenz's lemma), and is transparent to differentiation.
"""
from __future__ import annotations

import mpmath
import numpy as np
import sympy as sp

__all__ = ["ratio", "sigmoid", "group", "hypot", "logaddexp", "logsigmoid", "forward_error", "NUMPY_FUNCTIONS", "MPMATH_FUNCTIONS",
           "U_DOUBLE", "ETA_DOUBLE", "U_SYMBOL", "ETA_SYMBOL"]

U_DOUBLE = 2.0 ** -53          #: unit round-off of IEEE double precision
ETA_DOUBLE = 2.0 ** -1074      #: the smallest subnormal double (a bound on the error of a result in that range)
U_SYMBOL = sp.Symbol("_roundoff_u", positive=True)
ETA_SYMBOL = sp.Symbol("_roundoff_eta", nonnegative=True)


class ratio(sp.Function):
    """``ratio(a, b) = a/(a + b)``, for ``a, b >= 0`` (``a + b > 0``): a fraction in ``[0, 1]``
    computed without overflow, with derivatives that stay in that form."""

    nargs = 2

    def _eval_is_nonnegative(self):
        a, b = self.args
        if a.is_nonnegative and b.is_nonnegative:
            return True

    @classmethod
    def eval(cls, a, b):
        if a.is_Number and b.is_Number and (a + b) != 0:
            return a / (a + b)
        if a.is_zero and b.is_positive:
            return sp.Integer(0)

    def fdiff(self, argindex=1):
        a, b = self.args
        if argindex == 1:
            return ratio(b, a) / (a + b)
        if argindex == 2:
            return -ratio(a, b) / (a + b)
        raise sp.ArgumentIndexError(self, argindex)

    def doit(self, **hints):
        a, b = (x.doit(**hints) for x in self.args) if hints.get("deep", True) else self.args
        return a / (a + b)

    def _latex(self, printer, exp=None):
        a, b = self.args
        return _power(r"\frac{%s}{%s}" % (printer._print(a), printer._print(a + b)), exp)


class sigmoid(sp.Function):
    """The logistic function ``1/(1 + exp(-y))``, with ``sigmoid(y) + sigmoid(-y) = 1`` and
    derivative ``sigmoid(y) sigmoid(-y)``."""

    nargs = 1

    def _eval_is_nonnegative(self):
        if self.args[0].is_real:
            return True

    @classmethod
    def eval(cls, y):
        if y.is_zero:
            return sp.Rational(1, 2)
        if y is sp.oo:
            return sp.Integer(1)
        if y is sp.S.NegativeInfinity:
            return sp.Integer(0)

    def fdiff(self, argindex=1):
        y = self.args[0]
        return sigmoid(y) * sigmoid(-y)

    def doit(self, **hints):
        y = self.args[0].doit(**hints)
        return 1 / (1 + sp.exp(-y))

    def _latex(self, printer, exp=None):
        return _power(r"\sigma\left(%s\right)" % printer._print(self.args[0]), exp)


class group(sp.Function):
    """``group(x) = x``, evaluated first as one number (a parenthesis sympy keeps and differentiates
    through)."""

    nargs = 1

    def _eval_is_nonnegative(self):
        return self.args[0].is_nonnegative

    def fdiff(self, argindex=1):
        return sp.Integer(1)

    def doit(self, **hints):
        return self.args[0].doit(**hints)

    def _latex(self, printer, exp=None):
        return _power(r"\left(%s\right)" % printer._print(self.args[0]), exp)


class absval(sp.Function):
    """``|x|`` for the error bounds, without sympy's simplification of ``Abs`` (slow on the large
    expressions the bounds are made of)."""

    nargs = 1

    @classmethod
    def eval(cls, x):
        if x.is_Number:
            return abs(x)
        if x.is_Symbol and x.is_nonnegative:
            return x
        if isinstance(x, (absval, sp.Abs)):
            return x

    def _eval_is_nonnegative(self):
        return True

    def doit(self, **hints):
        return sp.Abs(self.args[0].doit(**hints))


class hypot(sp.Function):
    """``hypot(a, b) = sqrt(a^2 + b^2)`` without overflow."""

    nargs = 2

    def _eval_is_nonnegative(self):
        if all(a.is_real for a in self.args):
            return True

    def fdiff(self, argindex=1):
        return self.args[argindex - 1] / self

    def doit(self, **hints):
        a, b = (x.doit(**hints) for x in self.args)
        return sp.sqrt(a ** 2 + b ** 2)

    def _latex(self, printer, exp=None):
        a, b = self.args
        return _power(r"\sqrt{%s}" % printer._print(a ** 2 + b ** 2), exp)


class logaddexp(sp.Function):
    """``logaddexp(a, b) = log(exp(a) + exp(b))`` without overflow (``a = -oo`` allowed)."""

    nargs = 2

    def fdiff(self, argindex=1):
        a, b = self.args
        return sigmoid(a - b) if argindex == 1 else sigmoid(b - a)

    def doit(self, **hints):
        a, b = (x.doit(**hints) for x in self.args)
        return sp.log(sp.exp(a) + sp.exp(b))

    def _latex(self, printer, exp=None):
        a, b = self.args
        return _power(r"\log\left(e^{%s} + e^{%s}\right)" % (printer._print(a), printer._print(b)), exp)


class logsigmoid(sp.Function):
    """``log(sigmoid(y)) = -log(1 + exp(-y))`` without overflow or underflow."""

    nargs = 1

    def fdiff(self, argindex=1):
        return sigmoid(-self.args[0])

    def doit(self, **hints):
        return -sp.log(1 + sp.exp(-self.args[0].doit(**hints)))

    def _latex(self, printer, exp=None):
        return _power(r"\log \sigma\left(%s\right)" % printer._print(self.args[0]), exp)


def _power(tex, exp):
    return tex if exp is None else r"\left(%s\right)^{%s}" % (tex, exp)


def _np_ratio(a, b):
    return a / (a + b)


def _np_sigmoid(y):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-y))


def _np_group(x):
    return x


def _mp_ratio(a, b):
    return a / (a + b)


def _mp_sigmoid(y):
    return 1 / (1 + mpmath.exp(-y))


def _np_logsigmoid(y):
    return -np.logaddexp(0.0, -y)


def _mp_logaddexp(a, b):
    if a == mpmath.ninf:
        return b
    if b == mpmath.ninf:
        return a
    hi, lo = (a, b) if a >= b else (b, a)
    return hi + mpmath.log1p(mpmath.exp(lo - hi))


NUMPY_FUNCTIONS = {"absval": np.abs, "ratio": _np_ratio, "sigmoid": _np_sigmoid, "group": _np_group, "hypot": np.hypot,
                   "logaddexp": np.logaddexp, "logsigmoid": _np_logsigmoid}
MPMATH_FUNCTIONS = {"absval": mpmath.fabs, "ratio": _mp_ratio, "sigmoid": _mp_sigmoid, "group": lambda x: x,
                    "hypot": mpmath.hypot, "logaddexp": _mp_logaddexp,
                    "logsigmoid": lambda y: -mpmath.log1p(mpmath.exp(-y))}

_TWO_POWER = {2 ** k for k in range(0, 64)}


def _number_error(e, u):
    if e.is_Integer:
        return sp.Integer(0) if abs(int(e)) < 2 ** 53 else u * abs(e)
    if e.is_Rational:
        return sp.Integer(0) if int(e.q) in _TWO_POWER else u * abs(e)
    if e.is_Float:
        return sp.Integer(0)  # a float literal is a double: exact
    return u * sp.Abs(e)       # pi, E, ...: rounded once


def _max(xs):
    """max of error bounds, without sympy's (slow) simplification of Max; zeros dropped."""
    xs = [x for x in xs if x != 0]
    if not xs:
        return sp.Integer(0)
    if len(xs) == 1:
        return xs[0]
    return sp.Max(*xs, evaluate=False)


def _exact_leaf(a) -> bool:
    return a.is_Symbol or (a.is_Number and _number_error(a, 1) == 0) or (
        a.is_Mul and len(a.args) == 2 and a.args[0] == -1 and a.args[1].is_Symbol)


def forward_error(expr, errors: dict | None = None, u=U_SYMBOL, eta=ETA_SYMBOL) -> sp.Expr:
    """First-order bound on the rounding error of evaluating ``expr`` (module docstring).

    Args:
        expr: a sympy expression.
        errors: symbol -> expression of the absolute error already in that leaf (other symbols are
            exact).
        u: the unit round-off (a symbol, so one expression serves every precision).
        eta: the absolute error of a result in the subnormal range (a symbol; 0 in mpmath).

    >>> x, y = sp.symbols("x y", positive=True)
    >>> forward_error(x + y)   # one rounding, relative to the result
    _roundoff_eta + _roundoff_u*absval(x + y)
    """
    errors = errors or {}
    errset = set(errors)
    memo: dict = {}
    smemo: dict = {}
    A = absval

    def err(e):
        hit = memo.get(e)
        if hit is not None:
            return hit
        st = struct(e)
        if st is not None and not (e.is_Symbol or e.is_Number or e.is_NumberSymbol):
            rel, ops = st
            out = A(e) * rel + ops * eta
        else:
            out = _err(e)
        memo[e] = out
        return out

    dmemo: dict = {}

    def dep(e):
        """Does e depend on a leaf that carries an error?"""
        hit = dmemo.get(e)
        if hit is None:
            hit = e in errset if e.is_Symbol else any(dep(a) for a in e.args)
            dmemo[e] = hit
        return hit

    def struct(e):
        """For a sum/product/quotient/... of non-negative exact parameters (no subtraction): a bound
        on the *relative* error and the number of operations, or None. Relative errors of such trees
        add up without cancellation (rel(a + b) <= max(rel a, rel b) + u, rel(a b) <= rel a + rel b
        + u), which gives a far shorter bound than the absolute rules (and a constant times u for a
        tree of parameters only)."""
        if e in smemo:
            return smemo[e]
        out = _struct(e)
        smemo[e] = out
        return out

    def _struct(e):
        if e.is_Symbol:
            return (sp.Integer(0), 0) if e not in errors and e.is_nonnegative else None
        if e.is_Number:
            if e < 0:
                return None
            ne = _number_error(e, u)
            return (sp.Integer(0) if ne == 0 else u, 0)
        if e.is_NumberSymbol:
            return (u, 0) if e.is_positive else None
        args = e.args
        if isinstance(e, (sp.Abs, absval)) and args[0].is_Add and len(args[0].args) == 2 and all(
                _exact_leaf(a) and not dep(a) for a in args[0].args):
            return u, 1  # |a - b| of two doubles: one rounding (exact in the subnormal range)
        if e.is_Add and all(isinstance(a, (sp.Abs, absval)) or struct(a) is not None or a.is_nonnegative
                            for a in args):
            # a sum of non-negative terms, some not of the structured kind: relative error from
            # the terms' absolute errors (no division by a term that may vanish)
            sub = [struct(a) for a in args]
            if all(x is not None for x in sub):
                return _max([x[0] for x in sub]) + (len(args) - 1) * u, sum(x[1] for x in sub) + len(args) - 1
            if dep(e):  # (only for parameters, whose sums do not vanish at a root)
                return None
            return (sp.Add(*[err(a) for a in args]) / A(e) + (len(args) - 1) * u,
                    len(args) - 1)
        if e.is_Add or e.is_Mul or isinstance(e, (sp.Max, sp.Min)):
            sub = [struct(a) for a in args]
            if any(x is None for x in sub):
                return None
            n = len(args)
            ops = sum(x[1] for x in sub) + n - 1
            if e.is_Mul:
                return sp.Add(*[x[0] for x in sub]) + (n - 1) * u, ops
            if e.is_Add:
                return _max([x[0] for x in sub]) + (n - 1) * u, ops
            return _max([x[0] for x in sub]), ops
        if e.is_Pow:
            b, k = args
            sb = struct(b)
            if sb is None or not k.is_Number:
                return None
            c = u if (k == -1 or k == sp.Rational(1, 2)) else 2 * u
            return A(k) * sb[0] + c, sb[1] + 1
        if isinstance(e, (group, sp.UnevaluatedExpr, sp.Abs, absval)):
            return struct(args[0])
        if isinstance(e, sp.exp):
            return err(args[0]) + 2 * u, 1
        if isinstance(e, sigmoid):
            if not args[0].is_real:
                return None
            return sigmoid(-args[0]) * err(args[0]) + 3 * u, 3
        if isinstance(e, hypot):  # (|a| err_a + |b| err_b)/h^2 + 2u, written without overflow
            a, b = args
            return ((A(a) / e) * group(err(a) / e) + (A(b) / e) * group(err(b) / e) + 2 * u, 3)
        if isinstance(e, ratio):
            sa, sb = struct(args[0]), struct(args[1])
            if sa is None or sb is None:
                return None
            return sa[0] + _max([sa[0], sb[0]]) + 2 * u, sa[1] + sb[1] + 2
        if isinstance(e, sp.Piecewise):
            sub = [struct(ex) for ex, _ in args]
            if any(x is None for x in sub):
                return None
            return sp.Piecewise(*[(x[0], c) for x, (_, c) in zip(sub, args)]), max(x[1] for x in sub)
        return None

    def _err(e):
        if e.is_Symbol:
            return errors.get(e, sp.Integer(0))
        if e.is_Number or e.is_NumberSymbol:
            return _number_error(e, u)
        if isinstance(e, (sp.logic.boolalg.BooleanAtom,)):
            return sp.Integer(0)
        args = e.args
        if e.is_Add:
            # the last addition rounds relative to the result; the n - 2 before it to partial sums
            # bounded by the sum of the terms' sizes
            partial = (len(args) - 2) * u * sp.Add(*[A(a) for a in args]) if len(args) > 2 else 0
            return sp.Add(*[err(a) for a in args]) + u * A(e) + partial + eta
        if e.is_Mul:
            coeff, rest = e.as_coeff_Mul()
            factors = sp.Mul.make_args(rest)
            terms = []
            for i, a in enumerate(factors):
                ea = err(a)
                if ea != 0:  # (grouped: sympy would merge powers, e.g. into an underflowing kappa^-2)
                    terms.append(group(ea) * group(sp.Mul(*[A(b) for j, b in enumerate(factors) if j != i])))
            n_ops = len(factors) - 1 + (0 if coeff in (1, -1) else 1)
            coeff_err = _number_error(coeff, u) * A(rest) if coeff.is_Number and coeff not in (1, -1) else 0
            return A(coeff) * sp.Add(*terms) + coeff_err + n_ops * u * A(e) + eta
        if e.is_Pow:
            b, k = e.args
            eb = err(b)
            if k.is_Number:
                if eb == 0:
                    return (u if k == -1 or k == sp.Rational(1, 2) else 2 * u) * A(e) + eta
                if k == sp.Rational(1, 2):
                    return eb / (2 * A(e)) + u * A(e) + eta
                if k < 0:  # |k| |value| (err/|b|), never forming b^(k-1) (no underflow of b^2)
                    return A(k) * A(e) * group(eb / A(b)) + (u if k == -1 else 2 * u) * A(e) + eta
                return A(k) * A(b) ** (k - 1) * eb + 2 * u * A(e) + eta
            ek = err(k)
            return A(e) * (A(k) * eb / A(b) + A(sp.log(A(b))) * ek) + 2 * u * A(e) + eta
        if isinstance(e, sp.Piecewise):
            return sp.Piecewise(*[(err(ex), c) for ex, c in e.args])
        if isinstance(e, (sp.Abs, absval)):
            return err(args[0])
        if isinstance(e, (group, sp.UnevaluatedExpr)):
            return err(args[0])
        if isinstance(e, sp.exp):
            return A(e) * err(args[0]) + 2 * u * A(e) + eta
        if isinstance(e, sp.log):
            st = struct(args[0])
            if st is not None:  # err/|x| = the relative error of x (no division, no underflow)
                return st[0] + st[1] * eta / A(args[0]) + 2 * u * A(e) + eta
            return err(args[0]) / A(args[0]) + 2 * u * A(e) + eta
        if isinstance(e, (sp.Max, sp.Min)):
            return _max([err(a) for a in args])
        if isinstance(e, sp.sign):
            return sp.Integer(0)
        if isinstance(e, sigmoid):
            y = args[0]
            return sigmoid(y) * sigmoid(-y) * err(y) + 3 * u * e + eta
        if isinstance(e, ratio):
            a, b = args
            return (ratio(b, a) * err(a) + ratio(a, b) * err(b)) / A(a + b) + 2 * u * A(e) + eta
        if isinstance(e, sp.Function) or isinstance(e, sp.Expr):
            free = [a for a in args]
            terms = []
            for i, a in enumerate(free):
                ea = err(a)
                if ea != 0:
                    terms.append(A(e.fdiff(i + 1)) * ea)
            return sp.Add(*terms) + 2 * u * A(e) + eta
        raise TypeError(f"forward_error: cannot analyse {type(e).__name__}: {e}")

    return err(sp.sympify(expr))
