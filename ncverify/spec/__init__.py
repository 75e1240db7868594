"""Theorems as data, their verdicts and the registry (see ``docs/theorems.md``).

* ``_expr``: expressions and relations in measured symbols (parsing, lambdify, dtype slack);
* ``_core``: :class:`Assumption`, :class:`Claim`, :class:`TheoremSpec` (a theorem as data:
  source, provenance, hypotheses with a status, claims with sympy bounds on a domain);
* ``_verdict``: :class:`Evaluation` and the one verdict rule set (:func:`decide_verdict`);
* ``_symbolic``: :func:`check_bound_symbolically` (sympy: exact case, monotonicity);
* ``_registry``: :func:`register`, :func:`get_theorem`, :func:`all_theorems` (built-in
  catalogs of :mod:`ncverify.catalog` and the entry-point group ``ncverify.theorems``).

Importing this package imports neither torch nor sympy.
"""

from __future__ import annotations

from ._core import (
    DTYPE_EPS,
    PROVENANCES,
    Assumption,
    Claim,
    Source,
    TheoremSpec,
    default_rtol,
)
from ._registry import ENTRY_POINT_GROUP, all_theorems, get_theorem, register
from ._symbolic import SymbolicReport, check_bound_symbolically
from ._verdict import (
    AssumptionOutcome,
    AssumptionStatus,
    ClaimOutcome,
    Evaluation,
    Verdict,
    decide_verdict,
)

__all__ = [
    "DTYPE_EPS",
    "ENTRY_POINT_GROUP",
    "PROVENANCES",
    "Assumption",
    "AssumptionOutcome",
    "AssumptionStatus",
    "Claim",
    "ClaimOutcome",
    "Evaluation",
    "Source",
    "SymbolicReport",
    "TheoremSpec",
    "Verdict",
    "all_theorems",
    "check_bound_symbolically",
    "decide_verdict",
    "default_rtol",
    "get_theorem",
    "register",
]
