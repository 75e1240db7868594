"""One theorem's section of a report: per-assumption tallies and coverage, per-claim outcomes,
negative controls (caught / missed, examples needed, shrunk instance)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping
from typing import Any

from ..spec import ClaimOutcome

__all__ = ["FAILING", "VERDICTS", "registry_entries", "theorem_section"]

VERDICTS = ("confirmed", "outside", "counterexample", "unexplained", "inconclusive")
#: verdicts that fail a test (listed with a command that reproduces them)
FAILING = ("counterexample", "unexplained")

_OUTCOME = {True: "held", False: "failed", None: "undecided"}


def registry_entries(ids: Iterable[str]) -> tuple[dict[str, Any], str | None]:
    """The registered spec of each theorem id (``"<id>/robustness"`` maps to ``<id>``)."""
    try:
        from .. import spec
    except Exception as exc:
        return {}, f"theorem registry ncverify.spec unavailable: {exc!r}"
    found = {}
    for theorem_id in ids:
        try:
            found[theorem_id] = spec.get_theorem(theorem_id.partition("/")[0])
        except Exception:  # not registered: the report falls back to the evaluations
            pass
    return found, None


def _text(x: Any) -> str:
    x = getattr(x, "value", x)
    return "" if x is None else str(x)


def _status(a: Any) -> str:
    status = _text(getattr(a, "status", ""))
    proxy = getattr(a, "proxy", None)
    return f"{status} ({proxy})" if proxy else status


def theorem_section(
    theorem_id: str,
    evals: list[dict],
    tests: list[dict],
    meta: Any,
    control_records: list[dict] = (),
    control_evals: list[dict] | None = None,
) -> dict:
    """The report section of one theorem (or of its robustness records). ``control_evals``:
    the evaluations whose negative-control outcomes count (default ``evals``; the theorem's
    robustness records too); a robustness section has no control table of its own."""
    first = evals[0] if evals else {}
    section: dict[str, Any] = {
        "id": theorem_id,
        "role": "robustness" if theorem_id.endswith("/robustness") else "check",
        "registered": meta is not None,
        "title": _text(getattr(meta, "title", "")),
        "source": _text(getattr(meta, "source", None)) or first.get("source", ""),
        "provenance": _text(getattr(meta, "provenance", None)) or first.get("provenance", ""),
        "family": _text(getattr(meta, "family", "")),
        "proof": _text(getattr(meta, "proof", "")),
        "verdicts": {v: sum(e["verdict"] == v for e in evals) for v in VERDICTS},
        "tests": sorted(t["nodeid"] for t in tests),
    }
    section["assumptions"] = _assumptions(evals, meta)
    section["claims"] = _claims(evals, meta)
    robustness = section["role"] == "robustness"
    section["controls"] = (
        []
        if robustness
        else _controls(evals if control_evals is None else control_evals, meta, control_records)
    )
    return section


def _assumption_key(a: Mapping[str, Any]) -> str:
    """Where one evaluation's hypothesis is counted: ``held`` (established), ``failed`` (known
    to fail), ``not_checkable``, or ``unsettled``: a proxy whose outcome decides nothing about
    the hypothesis (a sufficient proxy that did not hold, a necessary one that held)."""
    held = a["held"]
    if held is None:
        return "not_checkable"
    proxy = a.get("proxy") if a.get("status") == "proxied" else None
    if (proxy == "sufficient" and not held) or (proxy == "necessary" and held):
        return "unsettled"
    return "held" if held else "failed"


def _assumptions(evals: list[dict], meta: Any) -> list[dict]:
    entries: dict[str, dict[str, Any]] = {}

    def new(name: str, description: str = "", status: str = "") -> dict[str, Any]:
        return entries.setdefault(
            name,
            {
                "name": name,
                "description": description,
                "status": status,
                "held": 0,
                "failed": 0,
                "not_checkable": 0,
                "unsettled": 0,
                "margins": [],
                **{
                    f"claim_when_{k}": {"held": 0, "failed": 0, "undecided": 0}
                    for k in ("held", "failed", "not_checkable", "unsettled")
                },
            },
        )

    for a in getattr(meta, "assumptions", ()) or ():
        new(_text(a.name), _text(getattr(a, "description", "")), _status(a))
    for e in evals:
        claim_key = _OUTCOME[e.get("claim_held")]
        for a in e["assumptions"]:
            entry = new(a["name"], status=a["status"])
            entry["status"] = entry["status"] or a["status"]
            key = _assumption_key(a)
            entry[key] += 1
            entry[f"claim_when_{key}"][claim_key] += 1
            margin = a.get("margin")
            if (
                e["verdict"] == "confirmed"
                and isinstance(margin, (int, float))
                and math.isfinite(margin)
            ):
                entry["margins"].append(margin)
    for entry in entries.values():  # coverage: how close in-scope instances came to the boundary
        margins = entry.pop("margins")
        entry["margin_min"] = min(margins) if margins else None
        entry["margin_max"] = max(margins) if margins else None
    return list(entries.values())


def _claims(evals: list[dict], meta: Any) -> list[dict]:
    entries: dict[str, dict[str, Any]] = {}

    def new(name: str, relation: str, expression: str) -> dict[str, Any]:
        return entries.setdefault(
            name,
            {
                "name": name,
                "relation": relation,
                "expression": expression,
                "held": 0,
                "failed": 0,
                "undecided": 0,
                "vacuous": 0,
                "artefacts": 0,
                "zero_bound": 0,
                "exact": 0,
                "ratios": [],
                "zero_bound_quantities": [],
            },
        )

    for c in getattr(meta, "claims", ()) or ():
        new(_text(c.name), _text(c.relation), _text(getattr(c, "expression", "")))
    for e in evals:
        for c in e["claims"]:
            entry = new(c["name"], c["relation"], c.get("expression", ""))
            entry["expression"] = entry["expression"] or c.get("expression", "")
            entry[_OUTCOME[c["held"]]] += 1
            entry["vacuous"] += bool(c.get("vacuous"))
            entry["artefacts"] += str(c.get("reason", "")).startswith("rounding artefact")
            co = ClaimOutcome.from_dict(c)
            if co.bound == 0 and math.isfinite(co.quantity):  # an exact identity: no ratio
                entry["zero_bound"] += 1
                entry["exact"] += co.quantity == 0
                entry["zero_bound_quantities"].append(abs(co.quantity))
                continue
            r = co.ratio
            if r is not None:
                entry["ratios"].append(r)
    for entry in entries.values():
        ratios = entry.pop("ratios")
        quantities = entry.pop("zero_bound_quantities")
        finite = [r for r in ratios if math.isfinite(r)]
        entry["n_ratios"] = len(ratios)
        entry["ratio_max"] = max(ratios) if ratios else None
        entry["ratio_min"] = min(ratios) if ratios else None
        entry["ratio_median"] = statistics.median(finite) if finite else None
        entry["zero_bound_max_quantity"] = max(quantities) if quantities else None
    return list(entries.values())


def _controls(evals: list[dict], meta: Any, records: Iterable[Mapping[str, Any]]) -> list[dict]:
    """Per negative control: how many evaluations caught it, the first catch (test, position,
    inputs: the examples needed to find one) and the shrunk instance of a refutation run."""
    entries: dict[str, dict[str, Any]] = {}

    def new(name: str, kind: str = "", target: str = "", description: str = "") -> dict:
        return entries.setdefault(
            name,
            {
                "name": name,
                "kind": kind,
                "target": target,
                "description": description,
                "evaluated": 0,
                "caught": 0,
                "examples_needed": None,
                "first_catch": None,
                "shrunk": None,
            },
        )

    for c in getattr(meta, "controls", ()) or ():
        new(c.name, c.kind, c.target or "", c.description)
    for e in evals:
        for name, caught in (e.get("controls") or {}).items():
            entry = new(name)
            entry["evaluated"] += 1
            if caught:
                entry["caught"] += 1
                if entry["first_catch"] is None:
                    entry["examples_needed"] = e.get("sequence", 0) + 1
                    entry["first_catch"] = {
                        "test_id": e.get("test_id", ""),
                        "inputs": e.get("inputs", {}),
                    }
    for r in records:
        entry = new(r["control"])
        if r.get("caught"):
            entry["caught"] = max(entry["caught"], 1)
            entry["shrunk"] = {
                "test_id": r.get("test_id", ""),
                "inputs": r.get("inputs"),
                "examples": r.get("examples"),
            }
            if entry["examples_needed"] is None:
                entry["examples_needed"] = r.get("examples")
    for entry in entries.values():
        entry["status"] = "caught" if entry["caught"] else "missed"
    return list(entries.values())
