"""Theorems as data, their verdicts and the registry (see ``docs/theorems.md``).

* ``_expr``: expressions and relations in measured symbols (parsing, lambdify, dtype slack);
* ``_core``: :class:`Assumption` (hypotheses with a status), :class:`Claim` (a quantity, a
  relation, a sympy bound on a domain);
* ``_theorem``: :class:`TheoremSpec` (a theorem as data), :class:`Control` (its negative
  controls), :class:`Floor` (what a check must decide); ``_judge``: its evaluation;
* ``_verdict``: :class:`Evaluation` and the one verdict rule set (:func:`decide_verdict`);
* ``_symbolic``: :func:`check_bound_symbolically` (sympy: exact case, monotonicity);
* ``_registry``: :func:`register`, :func:`get_theorem`, :func:`all_theorems` (built-in
  catalogs of :mod:`ncverify.catalog` and the entry-point group ``ncverify.theorems``).

Importing this package imports neither torch nor sympy.
"""

from __future__ import annotations

from ._core import DTYPE_EPS, PROVENANCES, Assumption, Claim, Source, default_rtol
from ._registry import ENTRY_POINT_GROUP, all_theorems, get_theorem, register
from ._symbolic import SymbolicReport, check_bound_symbolically
from ._theorem import (
    CONTROL_KINDS,
    PRECISE_DPS,
    Control,
    Floor,
    TheoremSpec,
    snapshot_dtype,
)
from ._verdict import (
    FAILING_VERDICTS,
    PROXY_DIRECTIONS,
    ROLES,
    AssumptionOutcome,
    AssumptionStatus,
    ClaimOutcome,
    Evaluation,
    Verdict,
    decide_verdict,
    json_safe,
)

__all__ = [
    "CONTROL_KINDS",
    "DTYPE_EPS",
    "ENTRY_POINT_GROUP",
    "FAILING_VERDICTS",
    "PRECISE_DPS",
    "PROVENANCES",
    "PROXY_DIRECTIONS",
    "ROLES",
    "Assumption",
    "AssumptionOutcome",
    "AssumptionStatus",
    "Claim",
    "ClaimOutcome",
    "Control",
    "Evaluation",
    "Floor",
    "Source",
    "SymbolicReport",
    "TheoremSpec",
    "Verdict",
    "all_theorems",
    "check_bound_symbolically",
    "decide_verdict",
    "default_rtol",
    "get_theorem",
    "json_safe",
    "register",
    "snapshot_dtype",
]
