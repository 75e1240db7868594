"""What a theorem test must achieve beyond "no failing evaluation": its floor (the check was
not vacuous) and its negative controls (each false variant was caught).

Both work on the evaluation dicts a test recorded (``Evaluation.to_dict()``), so they run in
the process that ran the test (an xdist worker included). The spec of a theorem id is looked
up in the registry when the test ends (never at plugin import).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["FAILING", "check_controls", "check_floors"]

FAILING = ("counterexample", "unexplained")


def _spec(theorem_id: str):
    from ..spec import get_theorem

    try:
        return get_theorem(theorem_id)
    except Exception:  # an unregistered id (a user's ad-hoc spec): default floor, no controls
        return None


def check_floors(
    evaluations: Sequence[Mapping[str, Any]], marked: str | None, options: Mapping[str, Any]
) -> list[str]:
    """Messages for every theorem whose role-``check`` evaluations in this test fall short of
    its floor (the marker's ``min_in_scope`` / ``max_undecided_fraction`` override the spec's
    for the marked theorem)."""
    verdicts: dict[str, list[str]] = defaultdict(list)
    for e in evaluations:
        if e.get("role", "check") == "check":
            verdicts[e["theorem_id"]].append(e["verdict"])
    if not verdicts:
        return []
    from ..spec import Floor

    problems = []
    for theorem_id, vs in sorted(verdicts.items()):
        spec = _spec(theorem_id)
        floor = spec.floor if spec is not None else Floor()
        if theorem_id == marked and (
            "min_in_scope" in options or "max_undecided_fraction" in options
        ):
            floor = Floor(
                options.get("min_in_scope", floor.min_in_scope),
                options.get("max_undecided_fraction", floor.max_undecided_fraction),
            )
        why = floor.shortfall(vs)
        if why:
            problems.append(f"vacuous check of {theorem_id!r}: {why}")
    return problems


def check_controls(
    evaluations: Sequence[Mapping[str, Any]],
    theorem: str | None,
    records: Sequence[Mapping[str, Any]],
) -> list[str]:
    """A message naming the negative controls of ``theorem`` that no evaluation of this test
    (nor a refutation run recorded with ``ncverify_control``) caught."""
    spec = _spec(theorem) if theorem else None
    if spec is None or not spec.controls:
        return [f"controls=True but theorem {theorem!r} has no registered negative controls"]
    caught = {
        name
        for e in evaluations
        if e["theorem_id"].partition("/")[0] == theorem
        for name, hit in (e.get("controls") or {}).items()
        if hit
    }
    caught |= {r["control"] for r in records if r.get("caught") and r["theorem_id"] == theorem}
    missed = [c.name for c in spec.controls if c.name not in caught]
    if missed:
        return [
            f"negative controls of {theorem!r} missed by this test's instances: "
            f"{', '.join(missed)} (the generators never reach where these false variants "
            "fail: the check could not detect them)"
        ]
    return []
