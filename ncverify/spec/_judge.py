"""Judging measured values against a spec: the body of :meth:`TheoremSpec.evaluate`.

Steps: normalise the values (floats, 1-D arrays), evaluate every hypothesis and claim, decide
the verdict with THE rule set (``_verdict.decide_verdict``), re-measure a failing verdict in
high precision (``spec.remeasure``; a failure that vanishes there is a rounding artefact, never
a counterexample), and evaluate every negative control on the same values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..errors import InvalidInput
from ._verdict import (
    FAILING_VERDICTS,
    AssumptionOutcome,
    AssumptionStatus,
    ClaimOutcome,
    Evaluation,
    decide_verdict,
)

__all__ = ["PRECISE_DPS", "judge"]

#: decimal digits of the high-precision re-measurement of a failing claim
PRECISE_DPS = 60


def judge(
    spec,
    measured: Mapping[str, Any],
    *,
    seed,
    inputs,
    inconclusive_reason,
    dtype,
    unmeasured: str,
    role: str,
    snapshot: Any = None,
    **extra: Any,
) -> Evaluation:
    """See :meth:`ncverify.spec.TheoremSpec.evaluate`."""
    import numpy as np

    values = _values(spec.id, measured)
    missing = [s for s in spec.symbols if s not in values]
    if missing and unmeasured == "error":
        raise InvalidInput(
            f"theorem {spec.id!r}: missing measured symbols {missing}; got {sorted(values)}"
        )
    record = {k: v for k, v in values.items() if isinstance(v, float)}
    assumptions = [_assumption(a, values, dtype, unmeasured) for a in spec.assumptions]
    if unmeasured == "error":
        nonfinite = [s for s in spec.symbols if not np.all(np.isfinite(values[s]))]
        # failures first: a hypothesis that failed on finite values puts the run outside even
        # when another symbol could not be measured (e.g. κ(W_L) = inf for a W_L of rank < K)
        failed = any(
            a.failed and not _absent(_symbols_of(spec, a.name), values) for a in assumptions
        )
        if nonfinite and inconclusive_reason is None and not failed:
            inconclusive_reason = "non-finite measured values: " + ", ".join(
                f"{s}={values[s]}" for s in nonfinite
            )
    claims = []
    for c in spec.claims:
        outcome, more = _claim(c, values, dtype)
        claims.append(outcome)
        record.update(more)
    if inconclusive_reason is None:
        verdict, _ = decide_verdict(assumptions, claims)
        if verdict in FAILING_VERDICTS:
            claims = _certify(spec, claims, values, snapshot)
    controls = (
        {}
        if inconclusive_reason
        else _controls(spec, assumptions, claims, values, dtype, unmeasured)
    )
    theorem_id = spec.id if role == "check" else f"{spec.id}/{role}"
    return Evaluation.build(
        theorem_id=theorem_id,
        source=str(spec.source),
        provenance=spec.provenance,
        assumptions=assumptions,
        claims=claims,
        inconclusive_reason=inconclusive_reason,
        seed=seed,
        inputs=dict(inputs),
        measured=record,
        role=role,
        controls=controls,
        **extra,
    )


def _values(theorem_id: str, measured: Mapping[str, Any]) -> dict[str, Any]:
    import numpy as np

    values: dict[str, Any] = {}
    for k, v in measured.items():
        if hasattr(v, "detach"):
            v = v.detach().cpu().numpy()
        try:
            arr = np.asarray(v, dtype=float)
        except (TypeError, ValueError):
            raise InvalidInput(
                f"theorem {theorem_id!r}: measured {k!r} = {v!r:.80} is not a number or a 1-D "
                "array of numbers"
            ) from None
        if arr.ndim > 1:
            raise InvalidInput(
                f"theorem {theorem_id!r}: measured {k!r} has shape {arr.shape}; values must be "
                "scalars or 1-D arrays (one entry per sample)"
            )
        values[k] = float(arr) if arr.ndim == 0 else arr
    return values


def _symbols_of(spec, name: str) -> tuple[str, ...]:
    return next(a.symbols for a in spec.assumptions if a.name == name)


def _absent(names, values) -> list[str]:
    import numpy as np

    return [n for n in names if n not in values or not np.all(np.isfinite(values[n]))]


def _assumption(a, values, dtype, unmeasured) -> AssumptionOutcome:
    if (
        unmeasured == "undecided"
        and a.status is not AssumptionStatus.NOT_CHECKABLE
        and _absent(a.symbols, values)
    ):
        return AssumptionOutcome(
            a.name,
            AssumptionStatus.NOT_CHECKABLE,
            None,
            {},
            f"{a.predicate}: not measured on this run ("
            + ", ".join(_absent(a.symbols, values))
            + ")",
        )
    return a.evaluate(values, dtype=dtype)


def _claim(c, values, dtype) -> tuple[ClaimOutcome, dict[str, float]]:
    missing = [n for n in c.symbols if n not in values]
    if missing:
        return ClaimOutcome(
            c.name,
            math.nan,
            None,
            c.relation,
            None,
            False,
            c.expression,
            reason="not measured: " + ", ".join(missing),
        ), {}
    return c.evaluate(values, dtype=dtype)


def _certify(spec, claims: list[ClaimOutcome], values, snapshot) -> list[ClaimOutcome]:
    """Re-measure the failed claims in high precision; a failure that vanishes there is a
    rounding artefact of the float measurement (undecided, with the reason), never a verdict."""
    import mpmath

    if spec.remeasure is None or snapshot is None:
        why = (
            "the spec has no high-precision re-measurement"
            if spec.remeasure is None
            else "no snapshot to re-measure"
        )
        return [
            c if c.held is not False else _with(c, reason=f"not certified: {why}") for c in claims
        ]
    with mpmath.workdps(PRECISE_DPS):
        precise = {
            k: (list(map(float, v)) if getattr(v, "ndim", 0) else v) for k, v in values.items()
        }
        precise.update(spec.remeasure(snapshot, dps=PRECISE_DPS))
        out = []
        by_name = {c.name: c for c in spec.claims}
        for outcome in claims:
            if outcome.held is not False:
                out.append(outcome)
                continue
            held, q, b = by_name[outcome.name].evaluate_precise(precise)
            shown = f"{mpmath.nstr(q, 12)} vs bound {mpmath.nstr(b, 12)} at {PRECISE_DPS} digits"
            if held is False:
                out.append(
                    _with(outcome, certified=True, reason=f"fails in high precision: {shown}")
                )
            elif held is True:
                out.append(
                    _with(
                        outcome,
                        held=None,
                        certified=False,
                        reason=(
                            f"rounding artefact: fails in {outcome.quantity!r} vs bound "
                            f"{outcome.bound!r} but holds in high precision: {shown}"
                        ),
                    )
                )
            else:
                out.append(
                    _with(
                        outcome,
                        certified=False,
                        reason="high-precision re-measurement undecided: " + shown,
                    )
                )
    return out


def _with(c: ClaimOutcome, **changes) -> ClaimOutcome:
    from dataclasses import replace

    return replace(c, **changes)


def _controls(spec, assumptions, claims, values, dtype, unmeasured) -> dict[str, bool]:
    """``{control name: caught}``: the variant fails on these values beyond rounding."""
    if not spec.controls:
        return {}
    margin = spec.control_margin(dtype)
    out = {}
    for control in spec.controls:
        variant, changed = spec._variants[control.name]
        if control.kind == "weaken":
            a2 = [
                _assumption(changed, values, dtype, unmeasured) if a.name == changed.name else a
                for a in assumptions
            ]
            # a claim domain restating the weakened hypothesis is weakened with it
            c2 = [
                c if old.domain == new.domain else _claim(new, values, dtype)[0]
                for c, old, new in zip(claims, spec.claims, variant.claims, strict=True)
            ]
        else:
            a2 = assumptions
            c2 = [
                _claim(changed, values, dtype)[0] if c.name == changed.name else c for c in claims
            ]
        verdict, _ = decide_verdict(a2, c2)
        caught = verdict in FAILING_VERDICTS and any(
            c.held is False and c.room < -margin for c in c2
        )
        out[control.name] = bool(caught)
    return out
