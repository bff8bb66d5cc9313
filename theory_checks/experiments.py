"""Finite-width experiments that the command line runs as ``asymptotics check NAME``.

Theory-vs-simulation checks of a model's *asymptotic risk* go through :mod:`theory_checks.catalog`
(a theory sweep, then one Monte Carlo comparison per point). The experiments here are different: they
train finite networks (lazy training, iterative linearisation, deep linear networks) and report a
table of measurements with a pass/fail statement of their own (a fitted exponent inside its predicted
interval, a closed form matched to a tolerance, ...). Each experiment module defines one
:class:`Experiment`; :data:`EXPERIMENTS` maps the command-line name to the module that holds it, and
the module is imported only when that experiment is asked for.

An experiment's ``run(**options)`` returns a :class:`Report`: flat records (one dict per row, the
table), metadata (sizes, seeds, sources), ``passed`` and a one-paragraph ``summary`` printed under the
table. The command line turns every :class:`Option` into a flag (``_`` written ``-``).
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Callable

__all__ = ["Option", "Report", "Experiment", "EXPERIMENTS", "get_experiment"]


@dataclass(frozen=True)
class Option:
    """One option of an experiment, as a command-line flag.

    Attributes:
        name: the keyword of ``run`` (the flag is ``--name`` with ``_`` written ``-``).
        default: the default value (its type, ``int``, ``float`` or ``str``, parses the flag).
        help: one line for ``--help``.
        many: the flag takes a comma-separated list (``run`` then gets a tuple).
    """

    name: str
    default: object
    help: str = ""
    many: bool = False

    def parse(self, text: str):
        kind = type(self.default[0] if self.many else self.default)
        try:
            if self.many:
                return tuple(kind(t) for t in str(text).split(",") if t.strip())
            return kind(text)
        except ValueError:
            raise ValueError(f"--{self.name.replace('_', '-')}: cannot read {text!r} as "
                             f"{'a list of ' if self.many else ''}{kind.__name__}") from None


@dataclass(frozen=True)
class Report:
    """What an experiment returns: the table, its metadata and its verdict."""

    records: list
    metadata: dict
    passed: bool
    summary: str


@dataclass(frozen=True)
class Experiment:
    """A named finite-width experiment.

    Attributes:
        name: the command-line name (``lazy``).
        description: one line for ``--help``.
        options: the :class:`Option` s of ``run``.
        run: ``run(**options) -> Report``.
        source: the papers it tests (with arXiv ids).
    """

    name: str
    description: str
    options: tuple
    run: Callable
    source: str = ""
    extra: dict = field(default_factory=dict)


#: command-line name -> module of ``theory_checks`` that defines ``EXPERIMENT``
EXPERIMENTS = {
    "lazy": "theory_checks.lazy",
    "iterative-linearisation": "theory_checks.iterative_linearisation",
    "deep-linear": "theory_checks.deep_linear",
}


def get_experiment(name: str) -> Experiment:
    """The :class:`Experiment` called ``name`` (imports its module)."""
    if name not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r}; known: {', '.join(EXPERIMENTS)}")
    return importlib.import_module(EXPERIMENTS[name]).EXPERIMENT
