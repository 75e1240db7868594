"""A theorem as data: :class:`TheoremSpec`, its negative controls and its floor.

:meth:`TheoremSpec.evaluate` turns a dict of measured values into an
:class:`~ncverify.spec.Evaluation` with THE verdict rule set of ``_verdict``;
:meth:`TheoremSpec.check` measures a snapshot first and, before a failing verdict, re-measures
the instance in high precision (``remeasure``) so that a counterexample is never a rounding
artefact. Every :class:`Control` (a deliberately false variant of one claim or hypothesis) is
evaluated on the same measured values: the report shows which controls the suite's generators
caught. A :class:`Floor` makes a check that is mostly outside or inconclusive fail as vacuous.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from ..errors import InvalidInput
from ._core import Assumption, Claim
from ._expr import PROVENANCES, Source, _names, default_rtol
from ._judge import PRECISE_DPS, judge
from ._verdict import ROLES, Evaluation, Verdict

__all__ = ["CONTROL_KINDS", "PRECISE_DPS", "Control", "Floor", "TheoremSpec", "snapshot_dtype"]

#: kinds of negative control (:class:`Control`)
CONTROL_KINDS = ("tighten", "replace", "reverse", "weaken")


@dataclass(frozen=True)
class Control:
    """A deliberately false variant of a theorem (a negative control), caught by the suite.

    ``kind``:

    * ``"tighten"``: claim ``claim``'s bound times ``factor`` (``0 < factor < 1`` for ``<=``
      claims, ``factor > 1`` for ``>=``);
    * ``"replace"``: claim ``claim``'s bound replaced by ``expression`` (a term dropped, a
      constant changed);
    * ``"reverse"``: claim ``claim``'s relation reversed;
    * ``"weaken"``: hypothesis ``assumption``'s predicate replaced by the weaker ``predicate``.

    An instance *catches* the control when the variant fails there (counterexample or
    unexplained) by a relative margin beyond rounding (:meth:`TheoremSpec.control_margin`).
    """

    name: str
    kind: str
    claim: str | None = None
    description: str = ""
    factor: float | None = None
    expression: str | None = None
    assumption: str | None = None
    predicate: str | None = None

    def __post_init__(self) -> None:
        what = f"control {self.name!r}"
        if not self.name or any(c.isspace() for c in self.name):
            raise InvalidInput(f"{what}: a control needs a name without whitespace")
        if self.kind not in CONTROL_KINDS:
            raise InvalidInput(f"{what}: kind {self.kind!r} is not one of {CONTROL_KINDS}")
        needs = {
            "tighten": ("claim", "factor"),
            "replace": ("claim", "expression"),
            "reverse": ("claim",),
            "weaken": ("assumption", "predicate"),
        }[self.kind]
        missing = [n for n in needs if getattr(self, n) is None]
        if missing:
            raise InvalidInput(f"{what}: kind {self.kind!r} needs {', '.join(missing)}")
        if self.factor is not None and not (
            isinstance(self.factor, (int, float))
            and not isinstance(self.factor, bool)
            and math.isfinite(self.factor)
            and self.factor > 0
            and self.factor != 1
        ):
            raise InvalidInput(f"{what}: factor={self.factor!r} must be a positive number != 1")
        if self.expression is not None:
            _names(self.expression, what)

    @property
    def target(self) -> str:
        """The claim or hypothesis this control changes."""
        return self.claim if self.kind != "weaken" else self.assumption


@dataclass(frozen=True)
class Floor:
    """The least a check must decide to count as a check (per test, per theorem).

    Among one test's evaluations of a theorem with role ``check``: at least ``min_in_scope``
    confirmed, and at most ``max_undecided_fraction`` outside or inconclusive. Falling short
    fails the test as *vacuous*.
    """

    min_in_scope: int = 1
    max_undecided_fraction: float = 0.5

    def __post_init__(self) -> None:
        if (
            isinstance(self.min_in_scope, bool)
            or not isinstance(self.min_in_scope, int)
            or (self.min_in_scope < 0)
        ):
            raise InvalidInput(f"Floor: min_in_scope={self.min_in_scope!r} must be an int >= 0")
        f = self.max_undecided_fraction
        if isinstance(f, bool) or not isinstance(f, (int, float)) or not 0 <= f <= 1:
            raise InvalidInput(f"Floor: max_undecided_fraction={f!r} must be in [0, 1]")

    def shortfall(self, verdicts: list[str]) -> str | None:
        """Why ``verdicts`` (of role ``check``) make a vacuous check, or ``None``."""
        n = len(verdicts)
        confirmed = sum(v == Verdict.CONFIRMED.value for v in verdicts)
        undecided = sum(v in (Verdict.OUTSIDE.value, Verdict.INCONCLUSIVE.value) for v in verdicts)
        if confirmed < self.min_in_scope:
            return f"{confirmed} of {n} evaluations confirmed (minimum {self.min_in_scope})"
        if n and undecided / n > self.max_undecided_fraction:
            return (
                f"{undecided} of {n} evaluations outside or inconclusive (at most "
                f"{self.max_undecided_fraction:.0%})"
            )
        return None


def snapshot_dtype(snapshot: Any) -> str:
    """The floating dtype of the torch tensors a snapshot holds (its fields, lists of them).

    ``"float64"`` when it holds none. Mixed floating dtypes raise :class:`InvalidInput`:
    a measurement must run in one precision, which decides its tolerances.
    """
    found: set[str] = set()

    def visit(x: Any, depth: int = 0) -> None:
        if depth > 2:
            return
        if hasattr(x, "is_floating_point") and hasattr(x, "dtype"):
            if x.is_floating_point():
                found.add(str(x.dtype).removeprefix("torch."))
        elif isinstance(x, (list, tuple)):
            for y in x:
                visit(y, depth + 1)

    for value in getattr(snapshot, "__dict__", {}).values():
        visit(value)
    if len(found) > 1:
        raise InvalidInput(
            f"{type(snapshot).__name__} mixes floating dtypes {sorted(found)}; convert every "
            "tensor of a snapshot to one dtype (it decides the measurement's tolerances)"
        )
    return found.pop() if found else "float64"


@dataclass(frozen=True)
class TheoremSpec:
    """A theorem as data (see the module docstring and ``docs/theorems.md``).

    ``source``: a :class:`Source` (or a citation string); ``provenance``: ``paper``,
    ``derived`` (then ``proof`` points at its proof, e.g. ``"docs/theorems.md#nc1"``) or
    ``qualitative``. ``measurement`` maps a snapshot to measured symbols; ``remeasure(snapshot,
    dps)`` recomputes them in high precision (mpmath, the snapshot's floats taken as exact) and
    is used before any failing verdict. ``controls``: the false variants the suite must catch;
    ``floor``: what a test must decide.
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
    controls: tuple[Control, ...] = ()
    floor: Floor = field(default_factory=Floor)
    remeasure: Callable[..., Mapping[str, Any]] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        marks = "/" if self.family == "negative-control" else "/~"  # variants are "id~name"
        if (
            not isinstance(self.id, str)
            or not self.id
            or any(c.isspace() for c in self.id)
            or any(m in self.id for m in marks)
        ):
            raise InvalidInput(
                f"theorem id {self.id!r} must be a non-empty string without whitespace, '/' "
                "or '~' (they mark robustness records and negative controls)"
            )
        if isinstance(self.source, str) and not isinstance(self.source, Source):
            object.__setattr__(self, "source", Source(self.source))
        if not isinstance(self.source, Source):
            raise InvalidInput(
                f"theorem {self.id!r}: source={self.source!r} must be a Source(paper, arxiv, "
                "theorem) or a citation string"
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
        for name in ("assumptions", "claims", "controls"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if not self.claims:
            raise InvalidInput(f"theorem {self.id!r} has no claims")
        if not isinstance(self.floor, Floor):
            raise InvalidInput(f"theorem {self.id!r}: floor must be a Floor, got {self.floor!r}")
        for kind, items in (
            ("assumption", self.assumptions),
            ("claim", self.claims),
            ("control", self.controls),
        ):
            names = [x.name for x in items]
            dup = sorted({n for n in names if names.count(n) > 1})
            if dup:
                raise InvalidInput(f"theorem {self.id!r}: duplicate {kind} names {dup}")
        claims = {c.name for c in self.claims}
        hypotheses = {a.name for a in self.assumptions if a.predicate is not None}
        for c in self.controls:
            pool, what = (
                (hypotheses, "checkable hypothesis") if c.kind == "weaken" else (claims, "claim")
            )
            if c.target not in pool:
                raise InvalidInput(
                    f"theorem {self.id!r}: control {c.name!r} changes {c.target!r}, which is "
                    f"not a {what} of the theorem ({', '.join(sorted(pool)) or 'none'})"
                )
        self._variants  # noqa: B018  (build every variant now: a bad control fails here)

    # ------------------------------------------------------------------ structure
    @cached_property
    def symbols(self) -> tuple[str, ...]:
        """Every measured symbol the assumptions and claims need."""
        names: set[str] = set()
        for a in self.assumptions:
            names |= set(a.symbols)
        for c in self.claims:
            names |= set(c.symbols)
        return tuple(sorted(names))

    def variant(self, control: Control | str) -> TheoremSpec:
        """The false theorem of ``control`` (a :class:`Control` of this spec or its name)."""
        name = control if isinstance(control, str) else control.name
        try:
            return self._variants[name][0]
        except KeyError:
            raise InvalidInput(
                f"theorem {self.id!r} has no control {name!r}; controls: "
                f"{', '.join(c.name for c in self.controls) or 'none'}"
            ) from None

    @cached_property
    def _variants(self) -> dict[str, tuple[TheoremSpec, Assumption | Claim]]:
        out = {}
        for control in self.controls:
            changed = _changed_item(self, control)
            if control.kind == "weaken":
                assumptions = tuple(
                    changed if a.name == control.assumption else a for a in self.assumptions
                )
                claims = _weaken_domains(self, control)
            else:
                assumptions = self.assumptions
                claims = tuple(changed if c.name == control.claim else c for c in self.claims)
            spec = replace(
                self,
                id=f"{self.id}~{control.name}",
                provenance="qualitative",
                proof=None,
                family="negative-control",
                assumptions=assumptions,
                claims=claims,
                controls=(),
                title=f"NEGATIVE CONTROL of {self.id}: {control.description or control.kind}",
            )
            out[control.name] = (spec, changed)
        return out

    # ------------------------------------------------------------------ measuring
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
        dtype: str | None = None,
        **extra: Any,
    ) -> Evaluation:
        """Measure ``snapshot`` and judge it (keyword arguments as :meth:`evaluate`).

        ``dtype`` defaults to the dtype of the snapshot's tensors (:func:`snapshot_dtype`): it
        decides the comparison slack. A failing verdict is re-measured in high precision
        (``remeasure``) first.
        """
        dtype = snapshot_dtype(snapshot) if dtype is None else dtype
        return self.evaluate(
            self.measure(snapshot),
            seed=seed,
            inputs=inputs,
            dtype=dtype,
            snapshot=snapshot,
            **extra,
        )

    def control_margin(self, dtype: str) -> float:
        """Relative margin by which a control must fail to count as caught (beyond rounding):
        ``min(10³·rtol(dtype), 10⁻²)`` (1e-6 in float64)."""
        return min(1e3 * default_rtol(dtype), 1e-2)

    # ------------------------------------------------------------------ judging
    def evaluate(
        self,
        measured: Mapping[str, Any],
        *,
        seed: int | None,
        inputs: Mapping[str, Any],
        inconclusive_reason: str | None = None,
        dtype: str = "float64",
        unmeasured: str = "error",
        role: str = "check",
        snapshot: Any = None,
        **extra: Any,
    ) -> Evaluation:
        """Judge the theorem on ``measured`` values; returns an :class:`Evaluation`.

        Values may be floats or 1-D arrays (per sample). ``unmeasured``: what a symbol that
        is missing from ``measured`` means — ``"error"`` (default: a missing symbol raises
        :class:`InvalidInput`, a non-finite value makes the verdict inconclusive) or
        ``"undecided"`` (the run could not measure it: a hypothesis with a missing or
        non-finite symbol is *not checkable*, a claim with one is undecided). ``role``:
        ``"check"`` or ``"robustness"`` (recorded under ``"<id>/robustness"``). ``snapshot``:
        what the values were measured on, for the high-precision re-measurement of a failing
        verdict (:meth:`check` passes it).
        """
        if unmeasured not in ("error", "undecided"):
            raise InvalidInput(
                f"theorem {self.id!r}: unmeasured={unmeasured!r} is not 'error' or 'undecided'"
            )
        if role not in ROLES:
            raise InvalidInput(f"theorem {self.id!r}: role={role!r} is not one of {ROLES}")
        return judge(
            self,
            measured,
            seed=seed,
            inputs=inputs,
            inconclusive_reason=inconclusive_reason,
            dtype=dtype,
            unmeasured=unmeasured,
            role=role,
            snapshot=snapshot,
            **extra,
        )


def _weaken_domains(spec: TheoremSpec, control: Control) -> tuple[Claim, ...]:
    """The claims of a ``weaken`` variant: a claim domain condition that restates the weakened
    hypothesis (the same relation, up to spaces) is weakened with it, so that the false
    theorem's bound is evaluated where only the weakened hypothesis admits the run."""
    old = next(a for a in spec.assumptions if a.name == control.assumption).predicate

    def same(a: str, b: str) -> bool:
        return "".join(a.split()) == "".join(b.split())

    out = []
    for c in spec.claims:
        if any(same(d, old) for d in c.domain):
            domain = tuple(control.predicate if same(d, old) else d for d in c.domain)
            c = replace(c, domain=domain)
        out.append(c)
    return tuple(out)


def _changed_item(spec: TheoremSpec, control: Control) -> Assumption | Claim:
    """The hypothesis or claim as the control changes it."""
    if control.kind == "weaken":
        a = next(a for a in spec.assumptions if a.name == control.assumption)
        return replace(a, predicate=control.predicate)
    c = next(c for c in spec.claims if c.name == control.claim)
    if control.kind == "reverse":
        return replace(
            c,
            relation=">=" if c.relation == "<=" else "<=",
            errors=(),
            exact_value=None,
            exact_case={},
            uncertainty={},
        )
    expression = (
        f"({c.expression})*({control.factor!r})"
        if control.kind == "tighten"
        else control.expression
    )
    names = set(_names(expression, f"control {control.name!r}"))
    errors = tuple(e for e in c.errors if e in names)
    uncertainty = {k: v for k, v in c.uncertainty.items() if k in errors}
    return replace(
        c,
        expression=expression,
        errors=errors,
        exact_value=None,
        exact_case={},
        uncertainty=uncertainty,
    )
