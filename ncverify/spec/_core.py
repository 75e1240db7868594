"""Hypotheses and claims as data: :class:`Assumption` and :class:`Claim`.

Each :class:`Assumption` is a predicate (a sympy relation, or a conjunction of relations) on
measured symbols, with a status (checked / proxied with a direction / declared / not
checkable); each :class:`Claim` compares a measured quantity with a bound that is a sympy
expression in measured symbols, valid on an explicit domain (sympy relations). A
:class:`~ncverify.spec.TheoremSpec` (``_theorem``) holds both and turns measured values into an
:class:`~ncverify.spec.Evaluation`.

Conventions (see ``docs/theorems.md``):

* Symbols in bounds are nonnegative reals (norms, ratios, counts); symbolic
  checks treat them as positive (a claim's quantity may be signed, e.g. a
  cosine). Names are free (``N``, ``K``, ``E`` are plain symbols here, not
  sympy's builtins). ``machine_eps`` is reserved: it is filled
  with the unit roundoff of the evaluation dtype.
* A measured value may be a 1-D array (one entry per sample): the claim is then
  checked for every entry inside the domain and the worst entry is reported.
* Comparison slack (floating point only, far below any mathematical margin):
  ``q <= b`` holds iff ``q <= b + rtol*max(|q|, |b|) + atol`` where ``rtol``
  defaults to ``max(1e-9, 1e4*eps)`` (1e-9 for float64, 1.2e-3 for float32;
  ``eps`` is the dtype's machine epsilon) and ``atol`` is an optional per-claim
  expression in measured symbols and ``machine_eps`` (default 0): the rounding
  floor of a quantity whose exact value is 0, e.g. ``(64*max_dim*kappa_WL**2*
  machine_eps)**2`` for an NC1 ratio.
* Measurement uncertainty: ``Claim.uncertainty`` maps an error symbol to an
  expression bounding its absolute rounding error (e.g. ε2 = ‖W_LᵀW_L -
  W_{L-1}W_{L-1}ᵀ‖ is computed by cancellation, to ``~max_dim*eps*‖W‖_F²``). The
  bound is evaluated at ``symbol + error``: since the bound is monotone in each
  error symbol (checked by :func:`ncverify.spec.check_bound_symbolically`),
  that is the weakest value over the uncertainty interval.
* Evaluating a bound outside its domain gives a vacuous outcome
  (``bound=None, held=None``), never a number.

sympy is imported lazily; each expression is parsed and lambdified once
(cached on the claim) so that evaluation in a hypothesis loop is cheap.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ..errors import InvalidInput
from ._expr import (
    DTYPE_EPS,
    PROVENANCES,
    Source,
    _compare,
    _Compiled,
    _conjuncts,
    _eps,
    _names,
    _Relation,
    default_rtol,
    relative_margin,
)
from ._verdict import PROXY_DIRECTIONS, AssumptionOutcome, AssumptionStatus, ClaimOutcome

__all__ = ["DTYPE_EPS", "PROVENANCES", "Assumption", "Claim", "Source", "default_rtol"]


@dataclass(frozen=True)
class Assumption:
    """A hypothesis of a theorem.

    ``predicate`` is a relation in measured symbols (``"eps1 < sqrt(N*(K-1)/K)"``;
    may use ``machine_eps``); ``tolerance`` is an absolute margin by which it must
    hold (default 0, so strict relations are strict). ``measurement`` maps a
    snapshot (whatever the theorem is measured on) to a dict of measured symbols;
    if ``None`` the spec's measurement provides them. ``status``:

    * ``checked``: the predicate measures the hypothesis itself and can fail (a predicate that
      cannot fail is not a hypothesis: a quantity that only enters a bound is a measurement);
    * ``proxied``: the predicate measures a stated proxy; ``proxy`` says whether the proxy is
      ``"necessary"`` (implied by the real hypothesis: its failure puts the run outside, its
      success does not put it in scope) or ``"sufficient"`` (it implies the hypothesis);
    * ``declared``: the value is what an architecture declares about itself;
    * ``not_checkable``: no predicate; the outcome is ``held=None``.
    """

    name: str
    description: str
    predicate: str | None = None
    status: AssumptionStatus = AssumptionStatus.CHECKED
    tolerance: float = 0.0
    measurement: Callable[[Any], Mapping[str, Any]] | None = field(default=None, compare=False)
    proxy: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", AssumptionStatus(self.status))
        if not self.name:
            raise InvalidInput("an Assumption needs a name")
        if (self.status is AssumptionStatus.NOT_CHECKABLE) != (self.predicate is None):
            raise InvalidInput(
                f"assumption {self.name!r}: predicate={self.predicate!r} with status "
                f"{self.status.value!r}; a predicate is required exactly when the assumption "
                "is checkable (checked, proxied or declared)"
            )
        if (self.status is AssumptionStatus.PROXIED) != (self.proxy is not None) or (
            self.proxy is not None and self.proxy not in PROXY_DIRECTIONS
        ):
            raise InvalidInput(
                f"assumption {self.name!r}: proxy={self.proxy!r} with status "
                f"{self.status.value!r}; a proxied hypothesis must say whether its proxy is "
                f"{' or '.join(repr(p) for p in PROXY_DIRECTIONS)} for the real hypothesis "
                "(proxy=...), and only a proxied one has a proxy"
            )
        if not (math.isfinite(self.tolerance) and self.tolerance >= 0):
            raise InvalidInput(
                f"assumption {self.name!r}: tolerance={self.tolerance!r} must be finite and >= 0"
            )
        if self.predicate is not None:
            self._relations  # noqa: B018  (parse now: a bad predicate fails at definition)

    @cached_property
    def _relations(self) -> tuple[_Relation, ...]:
        """The predicate's relations (a conjunction ``r1 and r2 and ...`` must hold entirely)."""
        what = f"assumption {self.name!r}"
        return tuple(_Relation.parse(t, what) for t in _conjuncts(self.predicate, what))

    @cached_property
    def _compiled(self) -> tuple[tuple[_Relation, _Compiled, _Compiled], ...]:
        what = f"assumption {self.name!r}"
        return tuple(
            (rel, _Compiled(rel.lhs, what), _Compiled(rel.rhs, what)) for rel in self._relations
        )

    @cached_property
    def symbols(self) -> tuple[str, ...]:
        """Measured symbols the predicate uses (``machine_eps`` excluded)."""
        if self.predicate is None:
            return ()
        names = sorted({n for rel in self._relations for n in rel.names()})
        return tuple(n for n in names if n != "machine_eps")

    def evaluate(self, measured: Mapping[str, Any], *, dtype: str = "float64") -> AssumptionOutcome:
        """The outcome on ``measured`` (which must contain :attr:`symbols`)."""
        if self.status is AssumptionStatus.NOT_CHECKABLE:
            return AssumptionOutcome(self.name, self.status, None, {}, self.description)
        import numpy as np

        measured = {**measured, "machine_eps": _eps(dtype)}
        # per-sample values: the predicate must hold for every entry; scalars are recorded
        used = {n: float(measured[n]) for n in self.symbols if np.ndim(measured[n]) == 0}

        def show(v) -> str:
            return f"{float(v):.6g}" if v.ndim == 0 else f"[{v.min():.6g} .. {v.max():.6g}]"

        held, rules, margin = True, [], math.inf
        tol = f" (margin {self.tolerance:g})" if self.tolerance else ""
        for rel, lhs, rhs in self._compiled:
            a = np.asarray(lhs(measured), dtype=float)
            b = np.asarray(rhs(measured), dtype=float)
            if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
                held, margin = False, math.nan
            else:
                held = held and bool(np.all(_compare(rel.op, a, b, self.tolerance)))
                margin = min(margin, relative_margin(rel.op, a, b, self.tolerance))
            rules.append(f"{rel.lhs} {rel.op} {rel.rhs}: {show(a)} {rel.op} {show(b)}{tol}")
        return AssumptionOutcome(
            self.name,
            self.status,
            held,
            used,
            "; ".join(rules),
            proxy=self.proxy,
            margin=None if math.isnan(margin) else float(margin),
        )


@dataclass(frozen=True)
class Claim:
    """``quantity RELATION expression`` on the domain, e.g. ``nc1 <= s1**2*(...)``.

    ``quantity``: the measured symbol the claim is about. ``expression``: the
    bound, a sympy expression (as text) in measured symbols. ``domain``:
    relations under which the bound is meaningful; outside, the outcome is
    vacuous. ``errors``: the error symbols (the ε's) the bound must be monotone
    in (non-decreasing for ``<=``, non-increasing for ``>=``) and that
    ``exact_value`` is the bound's value at when they are zero (``exact_case``
    overrides what "zero" means for an error, e.g. ``{"kappa_L": 1}``).
    ``reparametrization``: substitutions by positive symbols that make every
    domain condition automatically true (used only by the symbolic checks).
    ``rtol``/``atol``: comparison slack; ``uncertainty``: absolute measurement error of
    error symbols (the bound is evaluated at ``symbol + error``); see the module
    docstring.
    """

    name: str
    quantity: str
    relation: str
    expression: str
    domain: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    exact_value: str | None = None
    exact_case: Mapping[str, float] = field(default_factory=dict)
    reparametrization: Mapping[str, str] = field(default_factory=dict)
    description: str = ""
    rtol: float | None = None
    atol: str | None = None
    uncertainty: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        what = f"claim {self.name!r}"
        if not self.name:
            raise InvalidInput("a Claim needs a name")
        if self.relation not in ("<=", ">="):
            raise InvalidInput(f"{what}: relation {self.relation!r} is not '<=' or '>='")
        if not self.quantity.isidentifier():
            raise InvalidInput(f"{what}: quantity {self.quantity!r} is not a symbol name")
        object.__setattr__(self, "domain", tuple(self.domain))
        object.__setattr__(self, "errors", tuple(self.errors))
        names = set(_names(self.expression, what))
        for d in self.domain:
            _Relation.parse(d, f"{what} domain")
        for e in self.errors:
            if e not in names:
                raise InvalidInput(
                    f"{what}: error symbol {e!r} does not occur in the bound {self.expression!r}"
                )
        if self.rtol is not None and not (0 <= self.rtol < 1):
            raise InvalidInput(f"{what}: rtol={self.rtol!r} must be in [0, 1)")
        if self.atol is not None:
            _names(self.atol, f"{what} atol")
        for sym, text in self.uncertainty.items():
            if sym not in self.errors:
                raise InvalidInput(
                    f"{what}: uncertainty given for {sym!r}, which is not an error symbol "
                    f"{self.errors}; the bound is widened only along proven monotone errors"
                )
            _names(text, f"{what} uncertainty of {sym!r}")

    @cached_property
    def symbols(self) -> tuple[str, ...]:
        """Every measured symbol the claim needs (quantity, bound, domain, scale)."""
        names = {self.quantity, *_names(self.expression, self.name)}
        for d in self.domain:
            names |= set(_Relation.parse(d, self.name).names())
        if self.atol:
            names |= set(_names(self.atol, self.name))
        for text in self.uncertainty.values():
            names |= set(_names(text, self.name))
        names.discard("machine_eps")
        return tuple(sorted(names))

    @cached_property
    def _bound(self) -> _Compiled:
        return _Compiled(self.expression, f"claim {self.name!r}")

    @cached_property
    def _uncertainty(self) -> dict[str, _Compiled]:
        return {
            k: _Compiled(v, f"claim {self.name!r} uncertainty of {k!r}")
            for k, v in self.uncertainty.items()
        }

    @cached_property
    def _atol(self) -> _Compiled | None:
        return None if self.atol is None else _Compiled(self.atol, f"claim {self.name!r} atol")

    @cached_property
    def _domain(self) -> tuple[tuple[_Relation, _Compiled, _Compiled], ...]:
        out = []
        for d in self.domain:
            rel = _Relation.parse(d, f"claim {self.name!r} domain")
            out.append((rel, _Compiled(rel.lhs, d), _Compiled(rel.rhs, d)))
        return tuple(out)

    def sympy_bound(self):
        """The bound as a sympy expression (symbols positive)."""
        return self._bound.expr

    def evaluate(
        self, measured: Mapping[str, Any], *, dtype: str = "float64"
    ) -> tuple[ClaimOutcome, dict[str, float]]:
        """The outcome and the extra values to record (worst entry for per-sample claims)."""
        import numpy as np

        eps = _eps(dtype)
        values = dict(measured)
        values["machine_eps"] = eps
        q = np.asarray(values[self.quantity], dtype=float)
        widened = dict(values)
        for sym, err in self._uncertainty.items():
            widened[sym] = values[sym] + np.abs(err(values))
        b = np.asarray(self._bound(widened), dtype=float)
        inside = np.ones(np.broadcast_shapes(q.shape, b.shape), dtype=bool)
        for rel, lhs, rhs in self._domain:
            inside = inside & np.asarray(_compare(rel.op, lhs(values), rhs(values)))
        q, b = np.broadcast_to(q, inside.shape), np.broadcast_to(b, inside.shape)
        extra: dict[str, float] = {}
        per_sample = inside.ndim > 0
        if per_sample:
            extra[f"{self.name}.in_domain"] = float(inside.sum())
        if not inside.any():
            qv = float(q.flat[0]) if q.size else math.nan
            return ClaimOutcome(
                self.name,
                qv,
                None,
                self.relation,
                None,
                True,
                self.expression,
                reason="vacuous: outside the bound's domain " + ", ".join(self.domain),
            ), extra
        rtol = default_rtol(dtype) if self.rtol is None else self.rtol
        atol = 0.0 if self._atol is None else np.asarray(self._atol(values), dtype=float)
        finite = np.isfinite(q) & np.isfinite(b)
        # signed margin: >= 0 means the claim holds at that entry
        with np.errstate(invalid="ignore"):  # ∞ − ∞ where not finite: masked just below
            slack = rtol * np.maximum(np.abs(q), np.abs(b)) + atol
            slack = np.broadcast_to(slack, inside.shape)
            margin = (b + slack - q) if self.relation == "<=" else (q + slack - b)
            rel_margin = np.where(
                finite, margin / np.maximum(np.abs(b), np.abs(q)).clip(1e-300), -np.inf
            )
        rel_margin = np.where(inside, rel_margin, np.inf)
        i = int(np.argmin(rel_margin)) if per_sample else 0
        if per_sample and not finite.flat[i]:  # a finite entry that fails outranks a NaN one
            failing = np.where(finite & inside & (margin < 0), rel_margin, np.inf)
            if np.isfinite(failing).any():
                i = int(np.argmin(failing))
        qi, bi = float(q.flat[i]), float(b.flat[i])
        reason = ""
        if not finite.flat[i]:
            held, reason = None, f"non-finite: {self.quantity}={qi}, bound={bi}"
        else:
            held = bool(margin.flat[i] >= 0)
        if per_sample:
            extra[f"{self.name}.worst_index"] = float(i)
            for n in self.symbols:
                v = np.asarray(measured[n])
                if v.ndim:
                    extra[f"{n}[{i}]"] = float(v.flat[i])
        outcome = ClaimOutcome(
            self.name, qi, bi, self.relation, held, False, self.expression, reason=reason
        )
        return outcome, extra

    def evaluate_precise(self, values: Mapping[str, Any]) -> tuple[bool | None, Any, Any]:
        """The claim in high precision: ``(held, quantity, bound)`` at its worst entry.

        ``values`` are taken as exact (mpmath numbers or floats; per-sample values are
        sequences) and evaluated at the current ``mpmath.mp.dps``, without the float slack
        (``rtol``, ``atol``, ``uncertainty``): only mpmath's own rounding,
        ``10^(10−dps)·max(|q|, |b|) + 10^(20−2·dps)``, is allowed. ``held`` is ``None`` when
        no entry lies inside the domain or the values are not finite.
        """
        import mpmath

        values = {**values, "machine_eps": 0}
        sizes = {len(v) for v in values.values() if isinstance(v, (list, tuple))}
        n = max(sizes) if sizes else 0

        def at(i: int) -> dict[str, Any]:
            return {k: (v[i] if isinstance(v, (list, tuple)) else v) for k, v in values.items()}

        worst = None
        floor = mpmath.mpf(10) ** (10 - mpmath.mp.dps)
        for i in range(max(n, 1)):
            v = at(i) if n else values
            if not all(
                _precise_compare(rel.op, lhs.precise(v), rhs.precise(v))
                for rel, lhs, rhs in self._domain
            ):
                continue
            q, b = mpmath.mpf(v[self.quantity]), self._bound.precise(v)
            if not (mpmath.isfinite(q) and mpmath.isfinite(b)):
                return None, q, b
            room = (b - q) if self.relation == "<=" else (q - b)
            slack = floor * max(abs(q), abs(b)) + floor * floor
            if worst is None or room + slack < worst[0]:
                worst = (room + slack, q, b)
        if worst is None:
            return None, mpmath.mpf("nan"), mpmath.mpf("nan")
        return bool(worst[0] >= 0), worst[1], worst[2]


def _precise_compare(op: str, a, b) -> bool:
    return bool(_compare(op, a, b))
