"""Symbolic sanity checks of a claim's bound (sympy).

For every bound ncverify ships, :func:`check_bound_symbolically` verifies

* **exact case**: with every error symbol at its exact value (0, or the value in
  ``claim.exact_case``) the bound simplifies to ``claim.exact_value``
  (0 for an NC1 bound, ``kappa_WL`` for an NC2 bound, ...);
* **monotonicity**: the derivative of the bound in each error symbol has a
  provable sign on the domain (``>= 0`` for ``<=`` claims: a larger error
  weakens the claim; ``<= 0`` for ``>=`` claims). All symbols are positive and
  ``claim.reparametrization`` substitutes positive symbols that make each domain
  condition automatically true (e.g. ``N -> K*(eps1 + gap)**2/(K - 1)`` for
  ``eps1 < sqrt(N*(K-1)/K)``); where sympy cannot decide, the answer is
  ``"undecided"``, never a guess;
* **domain**: each domain condition is explicit and holds identically after the
  reparametrization.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import InvalidInput
from ._core import Claim
from ._expr import _Relation, _sympify

__all__ = ["SymbolicReport", "check_bound_symbolically"]


@dataclass(frozen=True)
class SymbolicReport:
    """Outcome of :func:`check_bound_symbolically`.

    Each status is ``"proved"``, ``"violated"`` or ``"undecided"``.
    ``monotone`` maps each error symbol to its status. ``domain`` lists the
    domain conditions and ``domain_status`` whether the reparametrization makes
    each one true identically.
    """

    claim: str
    exact_value: str
    exact_status: str
    monotone: dict[str, str] = field(default_factory=dict)
    domain: tuple[str, ...] = ()
    domain_status: dict[str, str] = field(default_factory=dict)

    @property
    def decided(self) -> bool:
        """Every check proved or violated (none undecided)."""
        states = [self.exact_status, *self.monotone.values(), *self.domain_status.values()]
        return "undecided" not in states

    @property
    def ok(self) -> bool:
        """Every check proved."""
        states = [self.exact_status, *self.monotone.values(), *self.domain_status.values()]
        return all(s == "proved" for s in states)


def _sign(expr, want_nonneg: bool) -> str:
    """'proved' / 'violated' / 'undecided' for ``expr >= 0`` (or ``<= 0``)."""
    import sympy

    forms = [expr]
    for f in (sympy.together, sympy.cancel, sympy.factor, sympy.simplify):
        try:
            forms.append(f(forms[-1] if f is not sympy.simplify else expr))
        except (TypeError, ValueError, NotImplementedError):  # pragma: no cover
            continue
    for e in forms:
        good = e.is_nonnegative if want_nonneg else e.is_nonpositive
        if good:
            return "proved"
        bad = e.is_negative if want_nonneg else e.is_positive
        if bad:
            return "violated"
    return "undecided"


def _is_zero(expr) -> str:
    import sympy

    for e in (expr, sympy.simplify(expr)):
        z = e.is_zero
        if z is True:
            return "proved"
        if z is False:
            return "violated"
    return "undecided"


def check_bound_symbolically(claim: Claim) -> SymbolicReport:
    """Exact-case value, monotonicity in each error and explicit domain of ``claim``."""
    import sympy

    if not isinstance(claim, Claim):
        raise InvalidInput(f"check_bound_symbolically needs a Claim, got {type(claim).__name__}")
    what = f"claim {claim.name!r}"
    bound = claim.sympy_bound()
    syms = {str(s): s for s in bound.free_symbols}

    # exact case
    subs = {syms[e]: sympy.sympify(claim.exact_case.get(e, 0)) for e in claim.errors}
    if claim.exact_value is None:
        exact_value, exact_status = str(sympy.simplify(bound.subs(subs))), "undecided"
    else:
        target = _sympify(claim.exact_value, f"{what} exact_value")
        target = target.subs({s: syms.get(str(s), s) for s in target.free_symbols})
        exact_value = str(target)
        exact_status = _is_zero(bound.subs(subs) - target)

    # reparametrization (positive symbols only)
    rep = {}
    for name, text in claim.reparametrization.items():
        e = _sympify(text, f"{what} reparametrization of {name}")
        rep[sympy.Symbol(name, positive=True)] = e

    def reparam(expr):
        # substitute in the given order (a later substitution may rewrite an earlier one's
        # symbols), then let positivity simplify roots of squares
        for old, new in rep.items():
            expr = expr.subs(old, new)
        return sympy.powdenest(expr)

    monotone = {}
    for e in claim.errors:
        d = sympy.diff(bound, syms[e])
        monotone[e] = _sign(reparam(d), want_nonneg=(claim.relation == "<="))

    domain_status = {}
    for cond in claim.domain:
        rel = _Relation.parse(cond, f"{what} domain")
        diff = _sympify(f"({rel.rhs}) - ({rel.lhs})", f"{what} domain")
        diff = reparam(diff)
        if rel.op in ("<", "<="):
            state = _sign(diff, want_nonneg=True)
            if rel.op == "<" and state == "proved":
                state = (
                    "proved"
                    if (diff.is_positive or sympy.simplify(diff).is_positive)
                    else "undecided"
                )
        else:
            state = _sign(diff, want_nonneg=False)
            if rel.op == ">" and state == "proved":
                state = (
                    "proved"
                    if (diff.is_negative or sympy.simplify(diff).is_negative)
                    else "undecided"
                )
        domain_status[cond] = state
    return SymbolicReport(
        claim.name, exact_value, exact_status, monotone, claim.domain, domain_status
    )
