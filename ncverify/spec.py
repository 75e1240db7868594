"""Theorem specs as data (public API): see ``docs/theorems.md``.

A :class:`TheoremSpec` holds a theorem's source, provenance (``paper``,
``derived`` with a ``proof`` pointer, or ``qualitative``), its
:class:`Assumption` objects (predicates with a status: checked, proxied, not
checkable) and its :class:`Claim` objects (a measured quantity compared with a
sympy bound on an explicit domain). :meth:`TheoremSpec.evaluate` returns an
:class:`~ncverify.Evaluation`. The registry (:func:`register`,
:func:`get_theorem`, :func:`all_theorems`) holds the built-in catalogs
(:mod:`ncverify.catalog`) and plug-in catalogs from the entry-point group
``ncverify.theorems``. :func:`check_bound_symbolically` proves (with sympy) that
a bound has its exact-case value and is monotone in its error terms.

Importing this module imports neither torch nor sympy.
"""

from __future__ import annotations

from ._bounds import SymbolicReport, check_bound_symbolically
from ._registry import ENTRY_POINT_GROUP, all_theorems, get_theorem, register
from ._spec import DTYPE_EPS, PROVENANCES, Assumption, Claim, Source, TheoremSpec, default_rtol

__all__ = [
    "DTYPE_EPS",
    "ENTRY_POINT_GROUP",
    "PROVENANCES",
    "Assumption",
    "Claim",
    "Source",
    "SymbolicReport",
    "TheoremSpec",
    "all_theorems",
    "check_bound_symbolically",
    "default_rtol",
    "get_theorem",
    "register",
]
