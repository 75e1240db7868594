"""Evaluation records: the contract between theorem specs, tests, the plugin and reports.

An :class:`Evaluation` is one check of one theorem on one instance (a generated
network, a training run, a UFM problem). It keeps every measured value, the
verdict and what is needed to reproduce it. It is pure data (no torch, sympy or
cvxpy) and round-trips through JSON (:meth:`Evaluation.to_dict` /
:meth:`Evaluation.from_dict`) so that pytest-xdist workers can ship it to the
controller on test reports.

Verdict rules (see ``docs/theorems.md``):

* **inconclusive** -- the run could not be judged: diverged training, a solver
  failure, non-finite measurements, or a claim that is vacuous although every
  hypothesis held, or a failing claim while some hypothesis was not checkable.
* **outside** -- some hypothesis was checked and failed; ``claim_held`` records
  whether the conclusion held anyway.
* **counterexample** -- every hypothesis held (none left unchecked) and some claim
  failed. The only verdict that fails a test.
* **confirmed** -- every checkable hypothesis held and every claim held.
  Hypotheses that are not checkable are listed as such, never as held.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

from ..errors import InvalidInput

__all__ = [
    "AssumptionOutcome",
    "AssumptionStatus",
    "ClaimOutcome",
    "Evaluation",
    "Verdict",
    "decide_verdict",
]


class Verdict(str, Enum):
    CONFIRMED = "confirmed"
    COUNTEREXAMPLE = "counterexample"
    OUTSIDE = "outside"
    INCONCLUSIVE = "inconclusive"


class AssumptionStatus(str, Enum):
    CHECKED = "checked"  # measured exactly
    PROXIED = "proxied"  # measured through a stated proxy
    NOT_CHECKABLE = "not_checkable"  # reported, never counted as held


def _encode(x: Any) -> Any:
    """JSON-safe encoding: non-finite floats become the strings 'nan', 'inf', '-inf'."""
    if isinstance(x, float) and not math.isfinite(x):
        return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")
    if isinstance(x, Mapping):
        return {str(k): _encode(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_encode(v) for v in x]
    return x


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

    ``held`` is ``None`` exactly when ``status`` is ``not_checkable``.
    ``measured`` maps symbol names to the values the predicate used;
    ``rule`` is the predicate in words, e.g. ``"eps1 < sqrt(N(K-1)/K) = 3.46"``.
    """

    name: str
    status: AssumptionStatus
    held: bool | None
    measured: Mapping[str, float] = field(default_factory=dict)
    rule: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", AssumptionStatus(self.status))
        if (self.status is AssumptionStatus.NOT_CHECKABLE) != (self.held is None):
            raise InvalidInput(
                f"assumption {self.name!r}: held={self.held!r} with status {self.status.value!r}; "
                "held must be None exactly when the assumption is not checkable"
            )


@dataclass(frozen=True)
class ClaimOutcome:
    """A measured quantity compared with a bound.

    ``relation`` is ``"<="`` (quantity <= bound) or ``">="``. ``bound`` is ``None``
    and ``vacuous`` is true when the bound was evaluated outside its domain.
    ``held`` is ``None`` when the comparison could not be made (vacuous or
    non-finite). ``expression`` is the bound as text (the sympy expression).
    """

    name: str
    quantity: float
    bound: float | None
    relation: str = "<="
    held: bool | None = None
    vacuous: bool = False
    expression: str = ""

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
    def ratio(self) -> float | None:
        """quantity / bound for '<=' claims (bound / quantity for '>='); None if undefined."""
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
    """Apply the verdict rules of this module; returns ``(verdict, reason)``."""
    assumptions = tuple(assumptions)
    claims = tuple(claims)
    if inconclusive_reason:
        return Verdict.INCONCLUSIVE, inconclusive_reason
    if not claims:
        return Verdict.INCONCLUSIVE, "no claim was evaluated"
    failed = [a.name for a in assumptions if a.held is False]
    unchecked = [a.name for a in assumptions if a.held is None]
    undecided = [c.name for c in claims if c.held is None]
    claim_failed = [c.name for c in claims if c.held is False]
    if failed:
        return Verdict.OUTSIDE, "hypotheses failed: " + ", ".join(failed)
    if undecided:
        return Verdict.INCONCLUSIVE, "claims vacuous or non-finite: " + ", ".join(undecided)
    if claim_failed:
        if unchecked:
            return Verdict.INCONCLUSIVE, (
                "claims failed (" + ", ".join(claim_failed) + ") but hypotheses were not "
                "checkable: " + ", ".join(unchecked)
            )
        return Verdict.COUNTEREXAMPLE, "claims failed: " + ", ".join(claim_failed)
    return Verdict.CONFIRMED, ""


@dataclass(frozen=True)
class Evaluation:
    """One evaluation of one theorem spec on one instance.

    ``inputs`` holds what is needed to reproduce the instance (seed, sizes,
    hyper-parameters, the hypothesis ``@reproduce_failure`` blob, ...), JSON-safe.
    ``measured`` holds every other measured value. ``test_id`` and
    ``architecture`` are filled by the pytest plugin / training runner.
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

    def __post_init__(self) -> None:
        object.__setattr__(self, "verdict", Verdict(self.verdict))
        object.__setattr__(self, "assumptions", tuple(self.assumptions))
        object.__setattr__(self, "claims", tuple(self.claims))

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
        return _encode(d)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Evaluation:
        d = _decode(dict(d))
        d.pop("claim_held", None)
        d["assumptions"] = tuple(AssumptionOutcome(**a) for a in d["assumptions"])
        d["claims"] = tuple(ClaimOutcome(**c) for c in d["claims"])
        return cls(**d)
