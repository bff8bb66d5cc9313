"""Safe parsing of user expressions: a whitelist parser that builds the sympy tree itself.

Every string a user gives the toolkit -- a limit ``lam=0``, a series point, a regime ``gamma>1`` or
``psi1<psi2``, a claimed closed form ``sigma2*gamma/(1-gamma)``, an activation parameter ``1/3``, a
list of energies ``0,1,1/2``, the numbers in a file -- goes through this module. **No user text is
ever evaluated as Python** (``sympy.sympify`` and ``parse_expr`` call ``eval``; they are not used
here). The text is split into tokens by a small tokenizer and a recursive-descent parser builds the
sympy expression from the allowed pieces only:

* numbers: ``3``, ``0.25``, ``.5``, ``1e-3``, ``2.5E+4`` (read exactly, as the decimal written:
  ``0.1`` is ``1/10``); exponents of literals are limited to ``|e| <= 10000``;
* names: the symbols the caller allows (e.g. the model's parameters), the constants ``pi``, ``E``
  and (where infinity is allowed) ``oo``, ``inf``, ``infinity``;
* operators ``+ - * / ** ^`` (``^`` is ``**``) and parentheses; comparisons ``< <= > >=`` only in
  regimes (:func:`parse_regime`); ``=`` only in assignments (:func:`parse_assignment`);
* the functions of :data:`FUNCTIONS` (``sqrt, exp, log, ln, sin, cos, tan, asin, acos, atan, sinh,
  cosh, tanh, asinh, acosh, atanh, erf, erfc, abs, sign, min, max, heaviside``).

Everything else is refused with a ``ValueError`` that names the argument and the offending token:
attribute access (``.``), brackets, strings, ``_``-names (dunders), keywords (``lambda``), unknown
names, non-ASCII characters (homoglyphs, zero-width or bidirectional controls), implicit
multiplication (``2x``), undefined values (``1/0``, ``oo - oo``). Sizes are bounded so that parsing
itself cannot hang: at most :data:`MAX_LENGTH` characters, :data:`MAX_DEPTH` levels of nesting, and
numeric powers whose exact value would exceed :data:`MAX_DIGITS` digits are refused.

>>> import sympy as sp
>>> gamma = sp.Symbol("gamma", positive=True)
>>> parse_expression("sigma2*gamma/(1 - gamma)", name="claim", symbols=[gamma, "sigma2"])
gamma*sigma2/(1 - gamma)
>>> parse_number("1/3", name="a"), parse_number("2^-2", name="a"), parse_number("sqrt(2)/2", name="a")
(1/3, 1/4, sqrt(2)/2)
>>> parse_assignment("lam = 0", name="--limit", symbols=["lam", "gamma"])
('lam', 0)
>>> parse_regime("0 < gamma < 1", name="--regime", symbols=["gamma"])
{'gamma': (0, 1)}
>>> parse_regime("psi1<psi2", name="--regime", symbols=["psi1", "psi2"])
{'psi1': (-oo, psi2)}
>>> parse_number("__import__('os')", name="--limit")
Traceback (most recent call last):
...
ValueError: --limit: names starting with '_' are not allowed, got '__import__' in "__import__('os')"
"""
from __future__ import annotations

import keyword
import math
import re
from fractions import Fraction
from typing import Iterable, Mapping

import sympy as sp

__all__ = ["FUNCTIONS", "CONSTANTS", "MAX_LENGTH", "MAX_DEPTH", "MAX_DIGITS", "parse_expression",
           "parse_number", "parse_number_list", "parse_assignment", "parse_regime", "parse_float",
           "split_top_level", "is_plain_number", "names_in"]

#: Longest text accepted (characters).
MAX_LENGTH = 2000
#: Deepest nesting of parentheses, function calls, unary signs and powers.
MAX_DEPTH = 60
#: Largest exact number a power of numbers may produce (decimal digits), and the largest exponent
#: of a number literal (``1e1000``).
MAX_DIGITS = 10_000
_MAX_LITERAL_EXPONENT = MAX_DIGITS
_MAX_LITERAL_LENGTH = 400

#: name -> (sympy function, smallest and largest number of arguments).
FUNCTIONS = {
    "sqrt": (sp.sqrt, 1, 1), "exp": (sp.exp, 1, 1), "log": (sp.log, 1, 2), "ln": (sp.log, 1, 1),
    "sin": (sp.sin, 1, 1), "cos": (sp.cos, 1, 1), "tan": (sp.tan, 1, 1),
    "asin": (sp.asin, 1, 1), "acos": (sp.acos, 1, 1), "atan": (sp.atan, 1, 1),
    "arcsin": (sp.asin, 1, 1), "arccos": (sp.acos, 1, 1), "arctan": (sp.atan, 1, 1),
    "sinh": (sp.sinh, 1, 1), "cosh": (sp.cosh, 1, 1), "tanh": (sp.tanh, 1, 1),
    "asinh": (sp.asinh, 1, 1), "acosh": (sp.acosh, 1, 1), "atanh": (sp.atanh, 1, 1),
    "erf": (sp.erf, 1, 1), "erfc": (sp.erfc, 1, 1), "abs": (sp.Abs, 1, 1), "Abs": (sp.Abs, 1, 1),
    "sign": (sp.sign, 1, 1), "min": (sp.Min, 2, 16), "Min": (sp.Min, 2, 16),
    "max": (sp.Max, 2, 16), "Max": (sp.Max, 2, 16),
    "heaviside": (sp.Heaviside, 1, 1), "Heaviside": (sp.Heaviside, 1, 1),
}

#: Constants every expression may use; the infinities only where the caller allows them.
CONSTANTS = {"pi": sp.pi, "E": sp.E}
_INFINITY = {"oo": sp.oo, "inf": sp.oo, "infinity": sp.oo, "Infinity": sp.oo}

_NUMBER = re.compile(r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERATORS = ("**", "<=", ">=", "==", "!=", "+", "-", "*", "/", "^", "(", ")", ",", "<", ">", "=")
_WHY = {".": "attribute access ('.') is not allowed", "[": "brackets are not allowed",
        "]": "brackets are not allowed", "{": "braces are not allowed", "}": "braces are not allowed",
        "'": "strings are not allowed", '"': "strings are not allowed", "`": "backquotes are not allowed",
        ";": "';' is not allowed", ":": "':' is not allowed", "@": "'@' is not allowed",
        "\\": "backslashes are not allowed", "#": "comments are not allowed", "!": "'!' is not allowed",
        "%": "'%' is not allowed", "&": "'&' is not allowed (give one condition per comma)",
        "|": "'|' is not allowed", "~": "'~' is not allowed", "$": "'$' is not allowed",
        "?": "'?' is not allowed"}


def _show(text: str) -> str:
    """The user's text for a message: quoted, non-printable characters escaped, long text cut."""
    t = text if len(text) <= 80 else text[:77] + "..."
    r = repr(t)
    if "'" in t and '"' not in t:
        return '"' + r[1:-1].replace("\\'", "'") + '"'
    return r


class _Token:
    __slots__ = ("kind", "text", "pos")

    def __init__(self, kind, text, pos):
        self.kind, self.text, self.pos = kind, text, pos


def _fail(name, text, msg):
    raise ValueError(f"{name}: {msg} in {_show(text)}")


def _check_text(text, name):
    if isinstance(text, bool) or not isinstance(text, str):
        raise ValueError(f"{name} must be a string, got {type(text).__name__} {text!r}")
    if len(text) > MAX_LENGTH:
        raise ValueError(f"{name}: the text is {len(text)} characters long; at most {MAX_LENGTH} are "
                         "accepted")
    if not text.strip():
        raise ValueError(f"{name}: empty text; give a number or an expression")


def _tokenize(text: str, name: str) -> list:
    _check_text(text, name)
    tokens, i, n = [], 0, len(text)
    while i < n:
        ch = text[i]
        if ch in " \t":
            i += 1
            continue
        if ord(ch) > 127:
            _fail(name, text, f"the character {ch!r} (U+{ord(ch):04X}) at position {i} is not allowed "
                              "(only ASCII letters, digits, operators and spaces)")
        if not ch.isprintable():
            _fail(name, text, f"the control character {ch!r} at position {i} is not allowed")
        m = _NUMBER.match(text, i)
        if m and (ch.isdigit() or (ch == "." and i + 1 < n and text[i + 1].isdigit())):
            tok = m.group()
            if len(tok) > _MAX_LITERAL_LENGTH:
                _fail(name, text, f"the number at position {i} has {len(tok)} characters (at most "
                                  f"{_MAX_LITERAL_LENGTH})")
            tokens.append(_Token("num", tok, i))
            i = m.end()
            continue
        m = _NAME.match(text, i)
        if m:
            tok = m.group()
            if tok.startswith("_"):
                _fail(name, text, f"names starting with '_' are not allowed, got {tok!r}")
            if keyword.iskeyword(tok) or keyword.issoftkeyword(tok):
                _fail(name, text, f"the Python keyword {tok!r} is not allowed")
            tokens.append(_Token("name", tok, i))
            i = m.end()
            continue
        for op in _OPERATORS:
            if text.startswith(op, i):
                tokens.append(_Token("op", op, i))
                i += len(op)
                break
        else:
            why = _WHY.get(ch, f"the character {ch!r} is not allowed")
            _fail(name, text, f"{why} (position {i})")
    tokens.append(_Token("end", "", n))
    return tokens


def names_in(text: str, *, name: str) -> list:
    """The identifiers of ``text`` used as values (not as function names), in order, without
    repeats; the text is tokenized first, so anything not allowed is refused.

    >>> names_in("a*sqrt(b) + a", name="f")
    ['a', 'b']
    """
    toks = _tokenize(text, name)
    out = []
    for t, nxt in zip(toks, toks[1:]):
        if t.kind == "name" and not (nxt.kind == "op" and nxt.text == "(") and t.text not in out:
            out.append(t.text)
    return out


def _symbol_table(symbols) -> dict:
    if symbols is None:
        return {}
    if isinstance(symbols, Mapping):
        items = symbols.items()
    elif isinstance(symbols, (str, sp.Symbol)):
        items = [(str(symbols), symbols)]
    else:
        items = [(s if isinstance(s, str) else s.name, s) for s in symbols]
    out = {}
    for k, v in items:
        if not isinstance(k, str) or not _NAME.fullmatch(k) or k.startswith("_"):
            raise ValueError(f"symbol names must be identifiers not starting with '_', got {k!r}")
        out[k] = sp.Symbol(k) if isinstance(v, str) else v
    return out


def _too_big(base, ex) -> bool:
    """Whether ``base ** ex`` of two numbers would be evaluated to a huge exact number."""
    if not (base.is_number and ex.is_number):
        return False
    if ex.is_Rational and abs(ex) > MAX_DIGITS:
        return True
    if base.is_Rational and ex.is_Rational and base != 0:
        size = max(abs(int(base.p)), abs(int(base.q)), 2)
        return abs(float(ex)) * math.log10(size) > MAX_DIGITS
    return False


class _Parser:
    """Recursive descent over the tokens; see the module docstring for the grammar."""

    def __init__(self, text, name, symbols, allow_infinity):
        self.text, self.name = text, name
        self.tokens = _tokenize(text, name)
        self.i = 0
        self.depth = 0
        self.symbols = symbols
        self.names = dict(CONSTANTS)
        if allow_infinity:
            self.names.update(_INFINITY)
        self.names.update(symbols)  # the caller's symbols take precedence over the constants
        self.allow_infinity = allow_infinity

    # -------------------------------------------------------------- helpers
    @property
    def tok(self):
        return self.tokens[self.i]

    def fail(self, msg):
        _fail(self.name, self.text, msg)

    def unexpected(self, what="a number, a name or '('"):
        t = self.tok
        if t.kind == "end":
            self.fail(f"the expression ends early; expected {what}")
        if t.kind == "op" and t.text in ("<", ">", "<=", ">=", "==", "!="):
            self.fail(f"the comparison {t.text!r} at position {t.pos} is not allowed here")
        if t.kind == "op" and t.text == "=":
            self.fail(f"'=' at position {t.pos} is not allowed here")
        prev = self.tokens[self.i - 1] if self.i > 0 else None
        if t.kind in ("num", "name") and prev is not None and (prev.kind in ("num", "name") or prev.text == ")"):
            self.fail(f"{t.text!r} at position {t.pos} follows a value without an operator (write '*' "
                      "for a product)")
        self.fail(f"unexpected {t.text!r} at position {t.pos}; expected {what}")

    def take(self, kind, text=None):
        t = self.tok
        if t.kind == kind and (text is None or t.text == text):
            self.i += 1
            return t
        return None

    def enter(self):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self.fail(f"nesting deeper than {MAX_DEPTH} levels")

    def leave(self):
        self.depth -= 1

    # -------------------------------------------------------------- grammar
    def expression(self):
        self.enter()
        left = self.term()
        while self.tok.kind == "op" and self.tok.text in ("+", "-"):
            op = self.tokens[self.i].text
            self.i += 1
            right = self.term()
            left = left + right if op == "+" else left - right
        self.leave()
        return left

    def term(self):
        left = self.unary()
        while self.tok.kind == "op" and self.tok.text in ("*", "/"):
            op = self.tok
            self.i += 1
            right = self.unary()
            if op.text == "/" and right.is_zero:
                self.fail(f"division by zero at position {op.pos}")
            left = left * right if op.text == "*" else left / right
        return left

    def unary(self):
        if self.tok.kind == "op" and self.tok.text in ("+", "-"):
            op = self.tok.text
            self.i += 1
            self.enter()
            v = self.unary()
            self.leave()
            return -v if op == "-" else v
        return self.power()

    def power(self):
        base = self.primary()
        if self.tok.kind == "op" and self.tok.text in ("**", "^"):
            pos = self.tok.pos
            self.i += 1
            self.enter()
            ex = self.unary()
            self.leave()
            if _too_big(base, ex):
                self.fail(f"the power at position {pos} is too large (more than {MAX_DIGITS} digits)")
            if base.is_zero and ex.is_number and ex.is_negative:
                self.fail(f"division by zero (0 to a negative power) at position {pos}")
            return base ** ex
        return base

    def primary(self):
        t = self.tok
        if t.kind == "num":
            self.i += 1
            return self.number(t)
        if t.kind == "name":
            self.i += 1
            if self.tok.kind == "op" and self.tok.text == "(":
                return self.call(t)
            if t.text in self.names:
                return self.names[t.text]
            if t.text in FUNCTIONS:
                self.fail(f"the function {t.text!r} at position {t.pos} needs its argument in parentheses")
            if t.text in _INFINITY:
                self.fail(f"infinity ({t.text!r}) is not allowed here")
            allowed = sorted(self.symbols) + sorted(CONSTANTS) + (["oo"] if self.allow_infinity else [])
            self.fail(f"unknown name {t.text!r} at position {t.pos}; allowed names: {', '.join(allowed)}"
                      f" (and the functions {', '.join(sorted(set(FUNCTIONS) - {'Abs', 'Min', 'Max', 'Heaviside'}))})")
        if t.kind == "op" and t.text == "(":
            self.i += 1
            self.enter()
            v = self.expression()
            if not self.take("op", ")"):
                self.unexpected("')'")
            self.leave()
            return v
        self.unexpected()

    def call(self, t):
        if t.text not in FUNCTIONS:
            what = "a symbol, not a function" if t.text in self.names else "not a known function"
            self.fail(f"{t.text!r} at position {t.pos} is {what}; functions: "
                      f"{', '.join(sorted(set(FUNCTIONS) - {'Abs', 'Min', 'Max', 'Heaviside'}))}")
        func, lo, hi = FUNCTIONS[t.text]
        self.take("op", "(")
        self.enter()
        args = [self.expression()]
        while self.take("op", ","):
            args.append(self.expression())
        if not self.take("op", ")"):
            self.unexpected("',' or ')'")
        self.leave()
        if not lo <= len(args) <= hi:
            self.fail(f"{t.text}() takes {lo if lo == hi else f'{lo} to {hi}'} argument"
                      f"{'s' if hi > 1 else ''}, got {len(args)}")
        return func(*args)

    def number(self, t):
        mant, _, ex = t.text.lower().partition("e")
        if ex and abs(int(ex)) > _MAX_LITERAL_EXPONENT:
            self.fail(f"the exponent of {t.text!r} is beyond +-{_MAX_LITERAL_EXPONENT}")
        return sp.Rational(Fraction(t.text))

    def done(self):
        if self.tok.kind != "end":
            self.unexpected("an operator or the end of the expression")


def _defined(expr, name, text):
    if expr.has(sp.nan, sp.zoo) or expr is sp.nan:
        _fail(name, text, "the value is undefined (e.g. 0/0, oo - oo or 1/0)")
    return expr


def parse_expression(text: str, *, name: str, symbols: Iterable | Mapping = (),
                     allow_infinity: bool = False) -> sp.Expr:
    """A sympy expression from ``text``, in the allowed ``symbols`` only.

    Args:
        text: the user's text.
        name: the argument it came from (``"--claim"``, ``"claimed"``), used in error messages.
        symbols: the names allowed: a mapping name -> sympy Symbol (the expression then uses those
            very symbols, with their assumptions), or an iterable of names and/or Symbols.
        allow_infinity: accept ``oo`` (``inf``, ``infinity``).

    Raises:
        ValueError: naming ``name`` and the offending token (see the module docstring).

    >>> parse_expression("x^2 + 2*x + 1", name="f", symbols=["x"])
    x**2 + 2*x + 1
    >>> parse_expression("x.__class__", name="f", symbols=["x"])
    Traceback (most recent call last):
    ...
    ValueError: f: attribute access ('.') is not allowed (position 1) in 'x.__class__'
    """
    p = _Parser(text, name, _symbol_table(symbols), allow_infinity)
    expr = p.expression()
    p.done()
    return _defined(expr, name, text)


def parse_number(text: str, *, name: str, allow_infinity: bool = False) -> sp.Expr:
    """An exact real number (``sympy``) from ``text``: ``"1/3"``, ``"0.1"`` (= 1/10), ``"sqrt(2)"``,
    ``"2e-3"``, ``"pi/4"``; ``"oo"`` only with ``allow_infinity``.

    >>> parse_number("1e-3", name="lam"), parse_number("-oo", name="x", allow_infinity=True)
    (1/1000, -oo)
    >>> parse_number("sqrt(-1)", name="a")
    Traceback (most recent call last):
    ...
    ValueError: a: the value must be a real number, got I in 'sqrt(-1)'
    """
    v = parse_expression(text, name=name, symbols=(), allow_infinity=allow_infinity)
    if not v.is_number:  # cannot happen without symbols; kept as a guard
        _fail(name, text, "the value must be a number")
    if v.is_extended_real is not True:
        _fail(name, text, f"the value must be a real number, got {v}")
    if not allow_infinity and v.is_finite is not True:
        _fail(name, text, "the value must be finite")
    return v


_PLAIN = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]{1,4})?")


def is_plain_number(text: str) -> bool:
    """Whether ``text`` is a plain ASCII decimal (``-1.5e-3``), which ``float()`` reads exactly as
    :func:`parse_float` would (a fast path for long lists and files).

    >>> is_plain_number(" 2.5e-3 "), is_plain_number("1/3"), is_plain_number("\\u0661")
    (True, False, False)
    """
    return _PLAIN.fullmatch(text.strip(" \t")) is not None


def parse_float(text: str, *, name: str, allow_infinity: bool = False) -> float:
    """:func:`parse_number` as a Python float (``ValueError`` if it is outside the float64 range).

    >>> parse_float("1/4", name="x")
    0.25
    """
    v = parse_number(text, name=name, allow_infinity=allow_infinity)
    if v.is_infinite:
        return math.inf if v > 0 else -math.inf
    try:
        f = float(v)
    except (OverflowError, TypeError):
        f = math.inf
    if math.isinf(f):
        _fail(name, text, "the value exceeds the float64 range")
    if f == 0 and v != 0:
        _fail(name, text, "the value is below the float64 range (magnitude < 5e-324)")
    return f


def split_top_level(text: str, name: str) -> list:
    """The comma-separated items of ``text`` as ``(item, position)`` pairs (commas inside
    parentheses do not split); the text is tokenized first, so anything not allowed is refused.

    >>> split_top_level("1, max(2, 3)", name="x")
    [('1', 0), (' max(2, 3)', 2)]
    """
    toks = _tokenize(text, name)
    items, start, depth = [], 0, 0
    for t in toks:
        if t.kind == "op" and t.text == "(":
            depth += 1
        elif t.kind == "op" and t.text == ")":
            depth -= 1
        elif (t.kind == "op" and t.text == "," and depth == 0) or t.kind == "end":
            items.append((text[start:t.pos], start))
            start = t.pos + 1
    return items


def parse_number_list(text: str, *, name: str, allow_infinity: bool = False) -> list:
    """Comma-separated exact real numbers, ``"0, 1, 1/2"``; an empty entry (``"1,,2"``) is an error
    (it would silently shift the positions of the others).

    >>> parse_number_list("0, 1, 1/2", name="energy")
    [0, 1, 1/2]
    >>> parse_number_list("1,,2", name="energy")
    Traceback (most recent call last):
    ...
    ValueError: energy: entry 2 is empty in '1,,2' (give every entry, e.g. 0 for none)
    """
    out = []
    for k, (item, _) in enumerate(split_top_level(text, name), start=1):
        if not item.strip():
            raise ValueError(f"{name}: entry {k} is empty in {_show(text)} (give every entry, e.g. 0 for none)")
        out.append(parse_number(item, name=f"{name} (entry {k})", allow_infinity=allow_infinity))
    return out


def parse_assignment(text: str, *, name: str, symbols: Iterable | Mapping, number: bool = True,
                     allow_infinity: bool = True):
    """``PARAM=VALUE`` -> ``(param_name, value)``.

    ``PARAM`` must be one of ``symbols``. With ``number`` (default) ``VALUE`` is an exact real number
    (``oo`` allowed when ``allow_infinity``); otherwise an expression in ``symbols``.

    >>> parse_assignment("psi1=oo", name="--limit", symbols=["psi1", "psi2"])
    ('psi1', oo)
    >>> parse_assignment("lam", name="--limit", symbols=["lam"])
    Traceback (most recent call last):
    ...
    ValueError: --limit takes PARAM=VALUE, got 'lam'
    """
    table = _symbol_table(symbols)
    _check_text(text, name)
    toks = _tokenize(text, name)
    eq = [t for t in toks if t.kind == "op" and t.text == "="]
    if len(eq) != 1:
        raise ValueError(f"{name} takes PARAM=VALUE, got {_show(text)}")
    lhs, rhs = text[:eq[0].pos].strip(), text[eq[0].pos + 1:]
    if not lhs:
        raise ValueError(f"{name} takes PARAM=VALUE; the parameter is missing in {_show(text)}")
    if lhs not in table:
        raise ValueError(f"{name}: unknown parameter {lhs!r} in {_show(text)}; parameters: "
                         f"{', '.join(table)}")
    if not rhs.strip():
        raise ValueError(f"{name} takes PARAM=VALUE; the value is missing in {_show(text)}")
    try:
        if number:
            return lhs, parse_number(rhs, name=name, allow_infinity=allow_infinity)
        return lhs, parse_expression(rhs, name=name, symbols=table, allow_infinity=allow_infinity)
    except ValueError as e:
        detail = str(e)[len(name) + 2:] if str(e).startswith(name + ": ") else str(e)
        raise ValueError(f"{name}: cannot read the value of {lhs}: {detail}") from None


_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}


def parse_regime(text: str, *, name: str, symbols: Iterable | Mapping) -> dict:
    """A regime -- open intervals of parameters -- from inequalities: ``"gamma>1"``,
    ``"0<gamma<1"``, ``"psi1<psi2"``, several separated by commas (``"gamma>1, lam<1"``).

    The parameter of each condition is the middle term of a chain ``a < x < b``, else the left side
    if it is a bare symbol (``psi1<psi2`` restricts ``psi1``), else the right side. Bounds may be
    expressions of the other symbols. ``<`` and ``<=`` mean the same (regimes are open intervals).

    Returns:
        dict name -> ``(low, high)`` (sympy; ``-oo``/``oo`` where unbounded).

    >>> parse_regime("1 > gamma", name="--regime", symbols=["gamma"])
    {'gamma': (-oo, 1)}
    >>> parse_regime("gamma == 1", name="--regime", symbols=["gamma"])
    Traceback (most recent call last):
    ...
    ValueError: --regime: use <, <=, > or >= (a regime is an interval), got '==' in 'gamma == 1'
    """
    table = _symbol_table(symbols)
    out: dict = {}
    for item, _ in split_top_level(text, name):
        if not item.strip():
            _fail(name, text, "an empty condition")
        toks = _tokenize(item, name)
        for t in toks:
            if t.kind == "op" and t.text in ("==", "!=", "="):
                _fail(name, text, f"use <, <=, > or >= (a regime is an interval), got {t.text!r}")
        cuts = [t for t in toks if t.kind == "op" and t.text in _FLIP]
        if not cuts or len(cuts) > 2:
            _fail(name, text, "a condition is 'PARAM < VALUE', 'PARAM > VALUE' or 'LOW < PARAM < HIGH'")
        bounds, ops, start = [], [], 0
        for c in cuts:
            bounds.append(item[start:c.pos])
            ops.append(c.text)
            start = c.pos + len(c.text)
        bounds.append(item[start:])
        if any(not b.strip() for b in bounds):
            _fail(name, text, "a side of a comparison is empty")
        exprs = [parse_expression(b, name=name, symbols=table, allow_infinity=True) for b in bounds]
        if len(exprs) == 3:
            if ops[0][0] != ops[1][0]:
                _fail(name, text, "a chain must go one way (a < x < b or a > x > b)")
            var_i = 1
        elif isinstance(exprs[0], sp.Symbol) and exprs[0].name in table:
            var_i = 0
        elif isinstance(exprs[1], sp.Symbol) and exprs[1].name in table:
            var_i = 1
        else:
            _fail(name, text, "one side of the comparison must be a parameter "
                              f"({', '.join(table)})")
        var = exprs[var_i]
        if not (isinstance(var, sp.Symbol) and var.name in table):
            _fail(name, text, f"the middle of a chain must be a parameter ({', '.join(table)})")
        lo, hi = -sp.oo, sp.oo
        for j, op in enumerate(ops):
            a, b = exprs[j], exprs[j + 1]
            # normalize to  var OP bound
            if j + 1 == var_i:
                op, bound = _FLIP[op], a
            else:
                bound = b
            if bound.has(var):
                _fail(name, text, f"a bound of {var.name} may not contain {var.name}")
            if op in ("<", "<="):
                hi = bound
            else:
                lo = bound
        if lo.is_number and hi.is_number and not bool(lo < hi):
            _fail(name, text, f"the interval of {var.name} is empty ({lo} to {hi})")
        if var.name in out:
            _fail(name, text, f"{var.name} is restricted twice")
        out[var.name] = (lo, hi)
    return out
