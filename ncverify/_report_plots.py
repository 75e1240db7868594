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
from collections.abc import Mapping
from typing import Any

from ._report import _ratio

__all__ = ["plot_slug", "ratio_plots"]


def plot_slug(*parts: str) -> str:
    """A file-name-safe, collision-resistant slug for arbitrary (hostile) names."""
    text = "\x00".join(parts)
    readable = re.sub(r"[^A-Za-z0-9]+", "-", "-".join(parts)).strip("-")[:60] or "x"
    return f"{readable}-{hashlib.sha256(text.encode('utf-8')).hexdigest()[:8]}"


def _collect(report: Mapping[str, Any]) -> dict[tuple[str, str], list[float]]:
    ratios: dict[tuple[str, str], list[float]] = {}
    for e in report.get("evaluations", ()):
        for c in e.get("claims", ()):
            r = _ratio(c)
            if r is not None and math.isfinite(r):
                ratios.setdefault((e["theorem_id"], c["name"]), []).append(r)
    return ratios


def ratio_plots(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``[{"theorem", "claim", "file", "caption", "png"}]``, sorted by theorem and claim."""
    ratios = _collect(report)
    if not ratios:
        return []
    try:
        import matplotlib

        matplotlib.use("Agg", force=True)
        from matplotlib.figure import Figure
    except Exception:
        return []
    out = []
    for (theorem, claim), values in sorted(ratios.items()):
        positive = [v for v in values if v > 0]
        log = bool(positive) and max(positive) / min(positive) > 100
        fig = Figure(figsize=(5.0, 2.6), dpi=100)
        ax = fig.add_subplot(1, 1, 1)
        if log:
            data = [math.log10(v) for v in positive]
            ax.hist(data, bins=min(40, max(5, len(data) // 4)), color="#4c72b0")
            ax.axvline(0.0, color="#c44e52", linestyle="--", label="bound (ratio 1)")
            ax.set_xlabel("log10(measured / bound)")
        else:
            ax.hist(values, bins=min(40, max(5, len(values) // 4)), color="#4c72b0")
            ax.axvline(1.0, color="#c44e52", linestyle="--", label="bound (ratio 1)")
            ax.set_xlabel("measured / bound")
        ax.set_ylabel("evaluations")
        ax.legend(loc="upper left", fontsize=7)
        title = f"{theorem}: {claim}"
        ax.set_title(title if len(title) <= 70 else title[:67] + "...", fontsize=8,
                     parse_math=False)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", metadata={"Software": None})
        n_zero = len(values) - len(positive)
        caption = (f"{theorem} / {claim}: measured/bound over {len(values)} evaluations, "
                   f"max {max(values):.4g}, {sum(v > 1 for v in values)} above 1"
                   + (f"; {n_zero} zero ratios not shown on the log axis" if log and n_zero
                      else ""))
        out.append({"theorem": theorem, "claim": claim,
                    "file": f"ratio-{plot_slug(theorem, claim)}.png",
                    "caption": caption, "png": buf.getvalue()})
    return out
