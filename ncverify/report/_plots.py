"""Figures of a run report: measured/bound ratio histograms, one per (theorem, claim).

A ratio is quantity/bound for ``<=`` claims and bound/quantity for ``>=`` claims,
so the claim held exactly when the ratio is <= 1 (the dashed line). Uses
matplotlib with the Agg backend, imported only here; without matplotlib the
report simply has no plots.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
import sys
from collections.abc import Mapping
from typing import Any

from ..spec import ClaimOutcome

__all__ = ["plot_slug", "ratio_plots"]


def plot_slug(*parts: str) -> str:
    """A file-name-safe, collision-resistant slug for arbitrary (hostile) names."""
    text = "\x00".join(parts)
    readable = re.sub(r"[^A-Za-z0-9]+", "-", "-".join(parts)).strip("-")[:60] or "x"
    return f"{readable}-{hashlib.sha256(text.encode('utf-8')).hexdigest()[:8]}"


_FLOOR = -12.0  # log10 ratios below this are drawn in the first bin


def _collect(report: Mapping[str, Any]) -> dict[tuple[str, str], tuple[list, list]]:
    """(theorem, claim) -> (ratios where every hypothesis held, ratios of 'outside' runs)."""
    ratios: dict[tuple[str, str], tuple[list, list]] = {}
    for e in report.get("evaluations", ()):
        for c in e.get("claims", ()):
            r = ClaimOutcome.from_dict(c).ratio
            if r is not None and math.isfinite(r):
                pair = ratios.setdefault((e["theorem_id"], c["name"]), ([], []))
                pair[e.get("verdict") == "outside"].append(r)
    return ratios


def ratio_plots(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``[{"theorem", "claim", "file", "caption", "png"}]``, sorted by theorem and claim."""
    ratios = _collect(report)
    if not ratios:
        return []
    try:
        import matplotlib

        if "matplotlib.pyplot" not in sys.modules:  # never switch a user's live backend
            matplotlib.use("Agg")
        from matplotlib.figure import Figure  # no pyplot: figures are never shown
    except Exception:
        return []
    out = []
    for (theorem, claim), (inside, outside) in sorted(ratios.items()):
        try:
            out.append(_plot(theorem, claim, inside, outside, Figure))
        except Exception as exc:  # a figure must never cost the report
            print(f"ncverify: no ratio plot for {theorem!r} / {claim!r}: {exc!r}", file=sys.stderr)
    return out


def _plot(theorem: str, claim: str, inside: list, outside: list, Figure) -> dict[str, Any]:
    values = inside + outside
    positive = [v for v in values if v > 0]
    log = bool(positive) and max(positive) / min(positive) > 100
    fig = Figure(figsize=(5.0, 2.6), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    if log:
        top = math.log10(max(positive))
        lowest = min(math.log10(v) for v in positive)
        floor = max(lowest, top + _FLOOR)
        groups = [[max(math.log10(v), floor) for v in g if v > 0] for g in (inside, outside)]
        ax.axvline(0.0, color="#c44e52", linestyle="--", label="bound (ratio 1)")
        ax.set_xlabel(
            "log10(measured / bound)" + (f", clipped at {floor:.0f}" if floor > lowest else "")
        )
    else:
        groups = [inside, outside]
        ax.axvline(1.0, color="#c44e52", linestyle="--", label="bound (ratio 1)")
        ax.set_xlabel("measured / bound")
    flat = [v for g in groups for v in g]
    lo, hi = min(flat), max(flat)
    width = 1e-6 * max(1.0, abs(lo), abs(hi))
    if hi - lo < width:  # (nearly) equal values: numpy cannot split them into bins
        mid = (lo + hi) / 2
        lo, hi = mid - width, mid + width
    ax.hist(
        groups,
        bins=min(40, max(5, len(values) // 4)),
        range=(lo, hi),
        stacked=True,
        color=["#4c72b0", "#bbbbbb"],
        label=["every hypothesis held", "outside (a hypothesis failed)"],
    )
    ax.set_ylabel("evaluations")
    ax.legend(loc="upper left", fontsize=7)
    title = f"{theorem}: {claim}"
    ax.set_title(title if len(title) <= 70 else title[:67] + "...", fontsize=8, parse_math=False)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    n_zero = len(values) - len(positive)
    above = sum(v > 1 for v in inside)
    caption = (
        f"{theorem} / {claim}: measured/bound over {len(values)} evaluations "
        f"({len(outside)} outside the hypotheses), max {max(values):.4g}; "
        f"{above} above 1 with every hypothesis held (the claim's tolerance decides "
        "held / failed)"
        + (f"; {n_zero} zero ratios not shown on the log axis" if log and n_zero else "")
    )
    return {
        "theorem": theorem,
        "claim": claim,
        "file": f"ratio-{plot_slug(theorem, claim)}.png",
        "caption": caption,
        "png": buf.getvalue(),
    }
