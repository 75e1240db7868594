"""Evaluation records and THE verdict rule set.

An :class:`Evaluation` is one check of one theorem on one instance (a generated network, a
training run, a UFM problem). It keeps every measured value, the verdict and what is needed to
reproduce it. It is pure data (no torch, sympy or cvxpy) and round-trips through JSON
(:meth:`Evaluation.to_dict` / :meth:`Evaluation.from_dict`) so that pytest-xdist workers can
ship it to the controller on test reports.

Statuses of a hypothesis (:class:`AssumptionStatus`): *checked* (measured, the predicate can
fail), *proxied* (a measured proxy, ``proxy`` says whether it is *necessary* for the real
hypothesis or *sufficient* for it), *declared* (what an architecture declares about itself),
*not checkable* (reported, never counted as held).

A hypothesis is **established** when it held and is checked, declared, or a sufficient proxy;
it **failed** when it did not hold and is checked, declared, or a necessary proxy. The rules
(:func:`decide_verdict`, ``docs/theorems.md#verdicts``), failures first:

1. an ``inconclusive_reason`` (diverged run, solver failure) or no claim: **inconclusive**;
2. a hypothesis failed: **outside** (``claim_held`` records whether the claim held anyway);
3. a claim failed and every hypothesis is established: **counterexample** (the spec confirms it
   in high precision first, see :meth:`ncverify.spec.TheoremSpec.check`); a claim failed and
   some hypothesis is not established: **unexplained**, naming them. Both fail a test;
4. a claim undecided (vacuous, non-finite, not measured): **inconclusive**;
5. every claim held: **confirmed** when every hypothesis is established, else **outside**
   ("hypotheses not established: ...": the run is outside what the theorem speaks about).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

from ..errors import InvalidInput

__all__ = [
    "FAILING_VERDICTS",
    "PROXY_DIRECTIONS",
    "ROLES",
    "AssumptionOutcome",
    "AssumptionStatus",
    "ClaimOutcome",
    "Evaluation",
    "Verdict",
    "decide_verdict",
    "json_safe",
]


class Verdict(str, Enum):
    CONFIRMED = "confirmed"
    COUNTEREXAMPLE = "counterexample"
    UNEXPLAINED = "unexplained"
    OUTSIDE = "outside"
    INCONCLUSIVE = "inconclusive"


#: verdicts that fail a test
FAILING_VERDICTS = (Verdict.COUNTEREXAMPLE, Verdict.UNEXPLAINED)


class AssumptionStatus(str, Enum):
    CHECKED = "checked"  # measured; the predicate can fail
    PROXIED = "proxied"  # a measured proxy, necessary or sufficient for the real hypothesis
    DECLARED = "declared"  # what an architecture declares about itself
    NOT_CHECKABLE = "not_checkable"  # reported, never counted as held


#: ``necessary``: the real hypothesis implies the proxy (a failing proxy proves the run is
#: outside; a holding one does not establish the hypothesis). ``sufficient``: the proxy implies
#: the real hypothesis (a holding proxy establishes it; a failing one proves nothing).
PROXY_DIRECTIONS = ("necessary", "sufficient")

#: ``check``: drawn to satisfy the hypotheses (counted by floors); ``robustness``: deliberately
#: outside the theorem's scope, recorded under ``"<theorem id>/robustness"``.
ROLES = ("check", "robustness")


def json_safe(x: Any) -> Any:
    """JSON-safe encoding: non-finite floats become the strings 'nan', 'inf', '-inf'."""
    if isinstance(x, float) and not math.isfinite(x):
        return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")
    if isinstance(x, Mapping):
        return {str(k): json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [json_safe(v) for v in x]
    return x


_encode = json_safe


def _decode(x: Any) -> Any:
    if x in ("nan", "inf", "-inf"):
        return float(x)
    if isinstance(x, dict):
        return {k: _decode(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_decode(v) for v in x]
    return x


@dataclass(frozen=True)
class AssumptionOutcome:
    """One hypothesis of a theorem, as measured on one instance.

    ``held`` is ``None`` exactly when ``status`` is ``not_checkable``. ``proxy`` is the
    direction of a proxied hypothesis (:data:`PROXY_DIRECTIONS`). ``measured`` maps symbol
    names to the values the predicate used; ``rule`` is the predicate in words, e.g.
    ``"eps1 < sqrt(N*(K - 1)/K): 1.2 < 3.46"``. ``margin``: the signed relative margin of the
    predicate, ``(rhs − lhs)/max(|lhs|, |rhs|)`` for ``<`` and ``<=`` (the opposite for ``>``),
    the smallest over the relations of a conjunction; positive when it holds with room, near 0
    at the boundary; ``None`` when not measured.
    """

    name: str
    status: AssumptionStatus
    held: bool | None
    measured: Mapping[str, float] = field(default_factory=dict)
    rule: str = ""
    proxy: str | None = None
    margin: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", AssumptionStatus(self.status))
        if (self.status is AssumptionStatus.NOT_CHECKABLE) != (self.held is None):
            raise InvalidInput(
                f"assumption {self.name!r}: held={self.held!r} with status {self.status.value!r}; "
                "held must be None exactly when the assumption is not checkable"
            )
        if (self.status is AssumptionStatus.PROXIED) != (self.proxy is not None) or (
            self.proxy is not None and self.proxy not in PROXY_DIRECTIONS
        ):
            raise InvalidInput(
                f"assumption {self.name!r}: proxy={self.proxy!r} with status "
                f"{self.status.value!r}; a proxied hypothesis says whether its proxy is "
                f"{' or '.join(PROXY_DIRECTIONS)}, and only a proxied one has a proxy"
            )

    @property
    def established(self) -> bool:
        """The hypothesis is known to hold (see the module docstring)."""
        if self.held is not True:
            return False
        return self.status is not AssumptionStatus.PROXIED or self.proxy == "sufficient"

    @property
    def failed(self) -> bool:
        """The hypothesis is known to fail (see the module docstring)."""
        if self.held is not False:
            return False
        return self.status is not AssumptionStatus.PROXIED or self.proxy == "necessary"


@dataclass(frozen=True)
class ClaimOutcome:
    """A measured quantity compared with a bound.

    ``relation`` is ``"<="`` (quantity <= bound) or ``">="``. ``bound`` is ``None`` and
    ``vacuous`` is true when the bound was evaluated outside its domain. ``held`` is ``None``
    when the comparison could not be made; ``reason`` then says why (vacuous, non-finite, not
    measured, a rounding artefact). ``expression`` is the bound as text. ``certified``: for a
    failed claim, whether the failure was confirmed by a high-precision re-measurement
    (``None``: not re-measured).
    """

    name: str
    quantity: float
    bound: float | None
    relation: str = "<="
    held: bool | None = None
    vacuous: bool = False
    expression: str = ""
    reason: str = ""
    certified: bool | None = None

    def __post_init__(self) -> None:
        if self.relation not in ("<=", ">="):
            raise InvalidInput(
                f"claim {self.name!r}: relation {self.relation!r} is not '<=' or '>='"
            )

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ClaimOutcome:
        """The outcome recorded in a report (``to_dict`` of an :class:`Evaluation`)."""
        return cls(**_decode(dict(d)))

    @property
    def room(self) -> float:
        """Signed relative room ``(bound − quantity)/max(|q|, |b|)`` for ``<=`` (the opposite
        for ``>=``): positive when the claim holds with room, negative when it fails; NaN when
        there is no finite bound."""
        q, b = self.quantity, self.bound
        if b is None or not (math.isfinite(q) and math.isfinite(b)):
            return math.nan
        room = (b - q) if self.relation == "<=" else (q - b)
        scale = max(abs(q), abs(b))
        return room / scale if scale > 0 else 0.0

    @property
    def ratio(self) -> float | None:
        """quantity / bound for '<=' claims (bound / quantity for '>='); None if undefined.

        A claim whose quantity and bound are both 0 holds exactly: ratio 0 (not ``inf``)."""
        if self.bound is None or not math.isfinite(self.quantity):
            return None
        if self.relation == "<=":
            num, den = self.quantity, self.bound
        else:
            num, den = self.bound, self.quantity
        if den == 0:
            return 0.0 if num == 0 else math.inf
        return num / den


def decide_verdict(
    assumptions: Iterable[AssumptionOutcome],
    claims: Iterable[ClaimOutcome],
    *,
    inconclusive_reason: str | None = None,
) -> tuple[Verdict, str]:
    """Apply THE verdict rules (module docstring); returns ``(verdict, reason)``."""
    assumptions = tuple(assumptions)
    claims = tuple(claims)
    if inconclusive_reason:
        return Verdict.INCONCLUSIVE, inconclusive_reason
    if not claims:
        return Verdict.INCONCLUSIVE, "no claim was evaluated"
    failed = [a.name for a in assumptions if a.failed]
    unestablished = [_why(a) for a in assumptions if not a.established and not a.failed]
    claim_failed = [c.name for c in claims if c.held is False]
    undecided = [c for c in claims if c.held is None]
    if failed:
        return Verdict.OUTSIDE, "hypotheses failed: " + ", ".join(failed)
    if claim_failed:
        if unestablished:
            return Verdict.UNEXPLAINED, (
                "claims failed (" + ", ".join(claim_failed) + ") while hypotheses were not "
                "established: " + ", ".join(unestablished)
            )
        return Verdict.COUNTEREXAMPLE, "claims failed: " + ", ".join(claim_failed)
    if undecided:
        return Verdict.INCONCLUSIVE, "claims undecided: " + ", ".join(
            f"{c.name} ({c.reason or 'vacuous or non-finite'})" for c in undecided
        )
    if unestablished:
        return Verdict.OUTSIDE, "hypotheses not established: " + ", ".join(unestablished)
    return Verdict.CONFIRMED, ""


def _why(a: AssumptionOutcome) -> str:
    if a.status is AssumptionStatus.NOT_CHECKABLE:
        return f"{a.name} (not checkable)"
    if a.status is AssumptionStatus.PROXIED:
        what = "held" if a.held else "failed"
        return f"{a.name} ({a.proxy} proxy {what})"
    return a.name


@dataclass(frozen=True)
class Evaluation:
    """One evaluation of one theorem spec on one instance.

    ``inputs`` holds what is needed to reproduce the instance (seed, sizes, hyper-parameters,
    ...), JSON-safe. ``measured`` holds every other measured scalar. ``role``: ``check`` or
    ``robustness`` (:data:`ROLES`; a robustness evaluation's ``theorem_id`` ends in
    ``/robustness``). ``controls`` maps each negative control of the spec to whether this
    instance refuted it. ``test_id`` and ``architecture`` are filled by the pytest plugin /
    training runner.
    """

    theorem_id: str
    source: str
    provenance: str
    assumptions: tuple[AssumptionOutcome, ...]
    claims: tuple[ClaimOutcome, ...]
    verdict: Verdict
    reason: str = ""
    seed: int | None = None
    inputs: Mapping[str, Any] = field(default_factory=dict)
    measured: Mapping[str, float] = field(default_factory=dict)
    test_id: str = ""
    architecture: str = ""
    role: str = "check"
    controls: Mapping[str, bool] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "verdict", Verdict(self.verdict))
        object.__setattr__(self, "assumptions", tuple(self.assumptions))
        object.__setattr__(self, "claims", tuple(self.claims))
        if self.role not in ROLES:
            raise InvalidInput(f"role={self.role!r} is not one of {', '.join(ROLES)}")

    @classmethod
    def build(
        cls,
        *,
        theorem_id: str,
        source: str,
        provenance: str,
        assumptions: Iterable[AssumptionOutcome],
        claims: Iterable[ClaimOutcome],
        inconclusive_reason: str | None = None,
        **extra: Any,
    ) -> Evaluation:
        """Construct an evaluation, deciding its verdict with :func:`decide_verdict`."""
        assumptions = tuple(assumptions)
        claims = tuple(claims)
        verdict, reason = decide_verdict(
            assumptions, claims, inconclusive_reason=inconclusive_reason
        )
        return cls(
            theorem_id=theorem_id,
            source=source,
            provenance=provenance,
            assumptions=assumptions,
            claims=claims,
            verdict=verdict,
            reason=reason,
            **extra,
        )

    @property
    def fails(self) -> bool:
        """Whether this evaluation fails a test (counterexample or unexplained)."""
        return self.verdict in FAILING_VERDICTS

    @property
    def claim_held(self) -> bool | None:
        """True if every claim held, False if one failed, None if undecidable."""
        if any(c.held is False for c in self.claims):
            return False
        if not self.claims or any(c.held is None for c in self.claims):
            return None
        return True

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["verdict"] = self.verdict.value
        for a in d["assumptions"]:
            a["status"] = AssumptionStatus(a["status"]).value
        d["claim_held"] = self.claim_held
        return json_safe(d)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Evaluation:
        d = _decode(dict(d))
        d.pop("claim_held", None)
        d["assumptions"] = tuple(AssumptionOutcome(**a) for a in d["assumptions"])
        d["claims"] = tuple(ClaimOutcome(**c) for c in d["claims"])
        return cls(**d)
