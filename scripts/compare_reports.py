#!/usr/bin/env python3
"""Compare the evaluations of two ncverify reports: same measured values, same verdicts?

    python scripts/compare_reports.py OLD/report.json NEW/report.json [--rtol 0]

Evaluations are matched by (theorem id, test id, position within the test). For each pair
the verdict, every claim's quantity, bound and outcome, every assumption's outcome (held or
not) and every measured value must agree (exactly by default; ``--rtol`` allows a relative
difference). Prints one line per difference and a summary; exit status 0 when identical,
1 when not, 2 on bad input. Used to show that a refactoring changed no result.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import defaultdict


def _load(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            report = json.load(f)
    except (OSError, ValueError) as exc:
        raise SystemExit(f"compare_reports: cannot read {path}: {exc}") from None
    if report.get("schema") != "ncverify-report":
        raise SystemExit(f"compare_reports: {path} is not an ncverify report")
    return report


def _key(e: dict) -> tuple[str, str]:
    return e["theorem_id"], e.get("test_id", "")


def _close(a, b, rtol: float) -> bool:
    if a == b:
        return True
    if (
        isinstance(a, (int, float))
        and isinstance(b, (int, float))
        and not isinstance(a, bool)
        and not isinstance(b, bool)
    ):
        if math.isnan(a) and math.isnan(b):
            return True
        return abs(a - b) <= rtol * max(abs(a), abs(b))
    return a in ("nan",) and b in ("nan",)


def _grouped(report: dict) -> dict[tuple[str, str], list[dict]]:
    out: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for e in report["evaluations"]:
        out[_key(e)].append(e)
    return out


def compare(old: dict, new: dict, *, rtol: float = 0.0) -> list[str]:
    """Differences between the evaluations of two reports, one line each."""
    diffs: list[str] = []
    a, b = _grouped(old), _grouped(new)
    for key in sorted(set(a) | set(b)):
        ea, eb = a.get(key, []), b.get(key, [])
        where = f"{key[0]} {key[1]}"
        if len(ea) != len(eb):
            diffs.append(f"{where}: {len(ea)} evaluations before, {len(eb)} after")
        for i, (x, y) in enumerate(zip(ea, eb, strict=False)):
            at = f"{where} #{i}"
            if x["verdict"] != y["verdict"]:
                diffs.append(f"{at}: verdict {x['verdict']} -> {y['verdict']}")
            ca = {c["name"]: c for c in x["claims"]}
            cb = {c["name"]: c for c in y["claims"]}
            if set(ca) != set(cb):
                diffs.append(f"{at}: claims {sorted(ca)} -> {sorted(cb)}")
            for name in sorted(set(ca) & set(cb)):
                for field in ("quantity", "bound", "held"):
                    if not _close(ca[name][field], cb[name][field], rtol):
                        diffs.append(
                            f"{at}: claim {name}.{field} {ca[name][field]!r} -> {cb[name][field]!r}"
                        )
            ha = {s["name"]: s["held"] for s in x["assumptions"]}
            hb = {s["name"]: s["held"] for s in y["assumptions"]}
            if ha != hb:
                diffs.append(f"{at}: assumptions {ha} -> {hb}")
            ma, mb = x.get("measured", {}), y.get("measured", {})
            for name in sorted(set(ma) | set(mb)):
                if name not in ma or name not in mb:
                    side = "before" if name in ma else "after"
                    diffs.append(f"{at}: measured {name!r} only {side}")
                elif not _close(ma[name], mb[name], rtol):
                    diffs.append(f"{at}: measured {name} {ma[name]!r} -> {mb[name]!r}")
    return diffs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument(
        "--rtol",
        type=float,
        default=0.0,
        help="allowed relative difference of numbers (default 0: exact)",
    )
    args = parser.parse_args(argv)
    old, new = _load(args.old), _load(args.new)
    diffs = compare(old, new, rtol=args.rtol)
    for line in diffs:
        print(line)
    n = len(old["evaluations"])
    print(
        f"{n} evaluations before, {len(new['evaluations'])} after: "
        + ("identical" if not diffs else f"{len(diffs)} differences")
    )
    return 0 if not diffs else 1


if __name__ == "__main__":
    sys.exit(main())
