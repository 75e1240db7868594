"""Theorem specs as data: assumptions, claims with sympy bounds, evaluation.

A :class:`TheoremSpec` is a theorem written as data. Each :class:`Assumption`
is a predicate (a sympy relation) on measured symbols, with a status
(checked / proxied / not checkable); each :class:`Claim` compares a measured
quantity with a bound that is a sympy expression in measured symbols, valid on
an explicit domain (sympy relations). :meth:`TheoremSpec.evaluate` turns a dict
of measured values into an :class:`~ncverify.spec.Evaluation` whose
verdict follows the rules of :mod:`ncverify.spec`.

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
)
from ._verdict import (
    AssumptionOutcome,
    AssumptionStatus,
    ClaimOutcome,
    Evaluation,
)

__all__ = [
    "DTYPE_EPS",
    "PROVENANCES",
    "Assumption",
    "Claim",
    "Source",
    "TheoremSpec",
    "default_rtol",
]


@dataclass(frozen=True)
class Assumption:
    """A hypothesis of a theorem.

    ``predicate`` is a relation in measured symbols (``"eps1 < sqrt(N*(K-1)/K)"``;
    may use ``machine_eps``); ``tolerance`` is an absolute margin by which it must
    hold (default 0, so strict relations are strict). ``measurement`` maps a
    snapshot (whatever the theorem is measured on) to a dict of measured symbols;
    if ``None`` the spec's measurement provides them. ``status`` is checked,
    proxied (the predicate measures a stated proxy) or not checkable (then
    ``predicate`` must be ``None`` and the outcome is ``held=None``).
    """

    name: str
    description: str
    predicate: str | None = None
    status: AssumptionStatus = AssumptionStatus.CHECKED
    tolerance: float = 0.0
    measurement: Callable[[Any], Mapping[str, Any]] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", AssumptionStatus(self.status))
        if not self.name:
            raise InvalidInput("an Assumption needs a name")
        if (self.status is AssumptionStatus.NOT_CHECKABLE) != (self.predicate is None):
            raise InvalidInput(
                f"assumption {self.name!r}: predicate={self.predicate!r} with status "
                f"{self.status.value!r}; a predicate is required exactly when the assumption "
                "is checkable (checked or proxied)"
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

        held, rules = True, []
        tol = f" (margin {self.tolerance:g})" if self.tolerance else ""
        for rel, lhs, rhs in self._compiled:
            a = np.asarray(lhs(measured), dtype=float)
            b = np.asarray(rhs(measured), dtype=float)
            if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
                held = False
            else:
                held = held and bool(np.all(_compare(rel.op, a, b, self.tolerance)))
            rules.append(f"{rel.lhs} {rel.op} {rel.rhs}: {show(a)} {rel.op} {show(b)}{tol}")
        return AssumptionOutcome(self.name, self.status, held, used, "; ".join(rules))


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
                self.name, qv, None, self.relation, None, True, self.expression
            ), extra
        rtol = default_rtol(dtype) if self.rtol is None else self.rtol
        atol = 0.0 if self._atol is None else np.asarray(self._atol(values), dtype=float)
        slack = rtol * np.maximum(np.abs(q), np.abs(b)) + atol
        slack = np.broadcast_to(slack, inside.shape)
        finite = np.isfinite(q) & np.isfinite(b)
        # signed margin: >= 0 means the claim holds at that entry
        margin = (b + slack - q) if self.relation == "<=" else (q + slack - b)
        rel_margin = np.where(
            finite, margin / np.maximum(np.abs(b), np.abs(q)).clip(1e-300), -np.inf
        )
        rel_margin = np.where(inside, rel_margin, np.inf)
        i = int(np.argmin(rel_margin)) if per_sample else 0
        qi, bi = float(q.flat[i]), float(b.flat[i])
        if not finite.flat[i]:
            held = None
        else:
            held = bool(margin.flat[i] >= 0)
        if per_sample:
            extra[f"{self.name}.worst_index"] = float(i)
            for n in self.symbols:
                v = np.asarray(measured[n])
                if v.ndim:
                    extra[f"{n}[{i}]"] = float(v.flat[i])
        return ClaimOutcome(self.name, qi, bi, self.relation, held, False, self.expression), extra


@dataclass(frozen=True)
class TheoremSpec:
    """A theorem as data (see module docstring and ``docs/theorems.md``).

    ``measurement`` maps a snapshot to measured symbols; :meth:`check` measures
    and evaluates in one go. ``proof`` points at the proof of a ``derived``
    explicit form (e.g. ``"docs/theorems.md#nc1"``) and is required for it.
    """

    id: str
    title: str
    source: Source
    provenance: str
    assumptions: tuple[Assumption, ...]
    claims: tuple[Claim, ...]
    family: str = ""
    proof: str | None = None
    description: str = ""
    measurement: Callable[[Any], Mapping[str, Any]] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not self.id or any(c.isspace() for c in self.id):
            raise InvalidInput(f"theorem id {self.id!r} must be non-empty without whitespace")
        if not isinstance(self.source, Source):
            raise InvalidInput(
                f"theorem {self.id!r}: source={self.source!r} must be a Source(paper, arxiv, "
                "theorem)"
            )
        if self.provenance not in PROVENANCES:
            raise InvalidInput(
                f"theorem {self.id!r}: provenance {self.provenance!r} is not one of "
                f"{', '.join(PROVENANCES)}"
            )
        if self.provenance == "derived" and not self.proof:
            raise InvalidInput(
                f"theorem {self.id!r}: provenance 'derived' needs a proof pointer "
                "(e.g. proof='docs/theorems.md#nc1')"
            )
        object.__setattr__(self, "assumptions", tuple(self.assumptions))
        object.__setattr__(self, "claims", tuple(self.claims))
        if not self.claims:
            raise InvalidInput(f"theorem {self.id!r} has no claims")
        for kind, items in (("assumption", self.assumptions), ("claim", self.claims)):
            names = [x.name for x in items]
            dup = sorted({n for n in names if names.count(n) > 1})
            if dup:
                raise InvalidInput(f"theorem {self.id!r}: duplicate {kind} names {dup}")

    @cached_property
    def symbols(self) -> tuple[str, ...]:
        """Every measured symbol the assumptions and claims need."""
        names: set[str] = set()
        for a in self.assumptions:
            names |= set(a.symbols)
        for c in self.claims:
            names |= set(c.symbols)
        return tuple(sorted(names))

    def measure(self, snapshot: Any) -> dict[str, Any]:
        """Measured symbols of ``snapshot``: the spec's and each assumption's measurement."""
        fns = [self.measurement] + [a.measurement for a in self.assumptions]
        out: dict[str, Any] = {}
        seen: list[Callable] = []
        for f in fns:
            if f is not None and all(f is not g for g in seen):
                seen.append(f)
                out.update(f(snapshot))
        return out

    def check(
        self,
        snapshot: Any,
        *,
        seed: int | None,
        inputs: Mapping[str, Any],
        dtype: str = "float64",
        **extra: Any,
    ) -> Evaluation:
        """``evaluate(measure(snapshot), ...)`` (keyword arguments as :meth:`evaluate`)."""
        return self.evaluate(self.measure(snapshot), seed=seed, inputs=inputs, dtype=dtype, **extra)

    def evaluate(
        self,
        measured: Mapping[str, Any],
        *,
        seed: int | None,
        inputs: Mapping[str, Any],
        inconclusive_reason: str | None = None,
        dtype: str = "float64",
        unmeasured: str = "error",
        **extra: Any,
    ) -> Evaluation:
        """Judge the theorem on ``measured`` values; returns an :class:`Evaluation`.

        Values may be floats or 1-D arrays (per sample). ``unmeasured`` says what a
        symbol that is missing from ``measured`` means:

        * ``"error"`` (default): a missing symbol raises :class:`InvalidInput`, and a
          non-finite value makes the verdict inconclusive;
        * ``"undecided"``: the run could not measure it (a training run that diverged, a
          network that does not declare its widths): a hypothesis with a missing or
          non-finite symbol is *not checkable*, a claim with a missing symbol is
          undecided; the verdict rules then apply as usual.
        """
        import numpy as np

        if unmeasured not in ("error", "undecided"):
            raise InvalidInput(
                f"theorem {self.id!r}: unmeasured={unmeasured!r} is not 'error' or 'undecided'"
            )
        values: dict[str, Any] = {}
        for k, v in measured.items():
            if hasattr(v, "detach"):
                v = v.detach().cpu().numpy()
            arr = np.asarray(v, dtype=float)
            if arr.ndim > 1:
                raise InvalidInput(
                    f"theorem {self.id!r}: measured {k!r} has shape {arr.shape}; values must be "
                    "scalars or 1-D arrays (one entry per sample)"
                )
            values[k] = float(arr) if arr.ndim == 0 else arr
        missing = [s for s in self.symbols if s not in values]
        if missing and unmeasured == "error":
            raise InvalidInput(
                f"theorem {self.id!r}: missing measured symbols {missing}; got {sorted(values)}"
            )
        if unmeasured == "error":
            nonfinite = [s for s in self.symbols if not np.all(np.isfinite(values[s]))]
            if nonfinite and inconclusive_reason is None:
                inconclusive_reason = "non-finite measured values: " + ", ".join(
                    f"{s}={values[s]}" for s in nonfinite
                )
        record = {k: v for k, v in values.items() if isinstance(v, float)}
        assumptions = []
        for a in self.assumptions:
            absent = [n for n in a.symbols if n not in values or not np.all(np.isfinite(values[n]))]
            if (
                absent
                and unmeasured == "undecided"
                and a.status is not AssumptionStatus.NOT_CHECKABLE
            ):
                assumptions.append(
                    AssumptionOutcome(
                        a.name,
                        AssumptionStatus.NOT_CHECKABLE,
                        None,
                        {},
                        f"{a.predicate}: not measurable on this network/run",
                    )
                )
            else:
                assumptions.append(a.evaluate(values, dtype=dtype))
        claims = []
        for c in self.claims:
            if any(n not in values for n in c.symbols):
                claims.append(
                    ClaimOutcome(c.name, math.nan, None, c.relation, None, True, c.expression)
                )
                continue
            outcome, more = c.evaluate(values, dtype=dtype)
            claims.append(outcome)
            record.update(more)
        return Evaluation.build(
            theorem_id=self.id,
            source=str(self.source),
            provenance=self.provenance,
            assumptions=assumptions,
            claims=claims,
            inconclusive_reason=inconclusive_reason,
            seed=seed,
            inputs=dict(inputs),
            measured=record,
            **extra,
        )
