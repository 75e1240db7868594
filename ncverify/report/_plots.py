"""Figures of a run report: measured/bound ratios, one figure per (theorem, claim).

A ratio is quantity/bound for ``<=`` claims and bound/quantity for ``>=`` claims, so the
claim held exactly when the ratio is <= 1 (the dashed line). Few evaluations
(``<= STRIP_MAX``) are drawn as points (a strip plot: every evaluation visible, inside the
hypotheses on one row, outside on the other); more as a stacked histogram whose range
always contains the bound line, so bars are never squeezed out of sight. A claim whose
bound is 0 (an exact identity such as a recursion residual) has no ratio: its figure shows
the measured quantity itself, with evaluations where it is exactly 0 marked *exact*.
Uses matplotlib with the Agg backend, imported only here; without matplotlib the report
simply has no plots.
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

__all__ = ["STRIP_MAX", "claim_figure", "claim_values", "plot_slug", "ratio_plots"]

#: at most this many evaluations are drawn point by point; more as a histogram
STRIP_MAX = 60
_FLOOR = -12.0  # log10 ratios below top + this are clipped
_COLORS = {"inside": "#4c72b0", "outside": "#dd8452"}


def plot_slug(*parts: str) -> str:
    """A file-name-safe, collision-resistant slug for arbitrary (hostile) names."""
    text = "\x00".join(parts)
    readable = re.sub(r"[^A-Za-z0-9]+", "-", "-".join(parts)).strip("-")[:60] or "x"
    return f"{readable}-{hashlib.sha256(text.encode('utf-8')).hexdigest()[:8]}"


def claim_values(report: Mapping[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """(theorem, claim) -> ``{"mode", "inside", "outside", "zero_bound"}``.

    ``mode`` is ``"ratio"`` (values are measured/bound ratios of the evaluations with a
    nonzero bound) or ``"quantity"`` (every bound was 0: values are the measured
    quantities). ``inside``: evaluations where no hypothesis failed; ``outside``: the rest.
    ``zero_bound``: evaluations with bound 0 (not plotted as ratios).
    """
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for e in report.get("evaluations", ()):
        side = "outside" if e.get("verdict") == "outside" else "inside"
        for c in e.get("claims", ()):
            co = ClaimOutcome.from_dict(c)
            if co.bound is None or not (math.isfinite(co.quantity) and math.isfinite(co.bound)):
                continue
            entry = out.setdefault(
                (e["theorem_id"], c["name"]),
                {
                    "ratio": {"inside": [], "outside": []},
                    "quantity": {"inside": [], "outside": []},
                    "zero_bound": 0,
                },
            )
            if co.bound == 0:
                entry["zero_bound"] += 1
                entry["quantity"][side].append(abs(co.quantity))
            else:
                entry["ratio"][side].append(co.ratio)
    result = {}
    for key, entry in out.items():
        mode = "ratio" if any(entry["ratio"].values()) else "quantity"
        result[key] = {"mode": mode, **entry[mode], "zero_bound": entry["zero_bound"]}
    return result


def ratio_plots(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``[{"theorem", "claim", "file", "caption", "png"}]``, sorted by theorem and claim."""
    values = claim_values(report)
    if not values:
        return []
    try:
        import matplotlib

        if "matplotlib.pyplot" not in sys.modules:  # never switch a user's live backend
            matplotlib.use("Agg")
        from matplotlib.figure import Figure  # no pyplot: figures are never shown
    except Exception:
        return []
    out = []
    for (theorem, claim), entry in sorted(values.items()):
        try:
            out.append(_plot(theorem, claim, entry, Figure))
        except Exception as exc:  # a figure must never cost the report
            print(f"ncverify: no ratio plot for {theorem!r} / {claim!r}: {exc!r}", file=sys.stderr)
    return out


def _axis(values: list[float], mode: str) -> tuple[bool, float | None, float | None]:
    """(log axis?, clip level, zero level), both in log10 units (None on a linear axis).

    Ratios spanning more than 12 decades are clipped at ``top − 12``; measured quantities
    (bound 0) keep their whole range. Zeros are drawn one decade below everything else.
    """
    positive = [v for v in values if v > 0]
    if mode == "quantity":
        log = bool(positive)
    else:
        log = bool(positive) and max(positive) / min(positive) > 100
    if not log:
        return False, None, None
    top = math.log10(max(positive))
    lowest = min(math.log10(v) for v in positive)
    clip = lowest if mode == "quantity" else max(lowest, top + _FLOOR)
    return True, clip, math.floor(clip) - 1.0


def _x(v: float, log: bool, clip: float | None, zero: float | None) -> float:
    if not log:
        return v
    return zero if v <= 0 else max(math.log10(v), clip)


def _plot(theorem: str, claim: str, entry: Mapping[str, Any], Figure) -> dict[str, Any]:
    fig, n_zero = claim_figure(theorem, claim, entry, Figure)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return {
        "theorem": theorem,
        "claim": claim,
        "file": f"ratio-{plot_slug(theorem, claim)}.png",
        "caption": _caption(theorem, claim, entry, n_zero),
        "png": buf.getvalue(),
    }


def claim_figure(theorem: str, claim: str, entry: Mapping[str, Any], Figure):
    """The matplotlib figure of one claim (an entry of :func:`claim_values`), and the
    number of zero values."""
    mode = entry["mode"]
    drawn = {s: [v for v in entry[s] if math.isfinite(v)] for s in ("inside", "outside")}
    values = drawn["inside"] + drawn["outside"]
    n_inf = _infinite(entry)
    log, clip, zero = _axis(values, mode)
    xs = {side: [_x(v, log, clip, zero) for v in drawn[side]] for side in ("inside", "outside")}
    fig = Figure(figsize=(5.0, 2.6), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    ref = None
    if mode == "ratio":
        ref = 0.0 if log else 1.0
        ax.axvline(ref, color="#c44e52", linestyle="--", label="bound (ratio 1)")
        label = "log10(measured / bound)" if log else "measured / bound"
    else:
        label = "log10(measured); the bound is 0" if log else "measured; the bound is 0"
    n_zero = sum(v <= 0 for v in values)
    notes = []
    if log and any(v > 0 and math.log10(v) < clip for v in values):
        notes.append(f"clipped at {clip:.0f}")
    if log and n_zero:
        notes.append(f"{'exact' if mode == 'quantity' else 'ratio'} 0 drawn at {zero:.0f}")
    if n_inf:
        notes.append(f"{n_inf} infinite, not drawn")
    if notes:
        label += f" ({'; '.join(notes)})"
    ax.set_xlabel(label, fontsize=8)
    names = {"inside": "every hypothesis held", "outside": "outside (a hypothesis failed)"}
    if not values:
        ax.text(0.5, 0.5, f"every value is infinite ({n_inf})", ha="center", va="center")
        ax.set_yticks([])
    elif len(values) <= STRIP_MAX:
        _strip(ax, xs, names)
    else:
        _histogram(ax, xs, names, ref)
    if values:
        ax.legend(loc="upper left", fontsize=7)
    title = f"{theorem}: {claim}"
    ax.set_title(title if len(title) <= 70 else title[:67] + "...", fontsize=8, parse_math=False)
    fig.tight_layout()
    return fig, n_zero


def _strip(ax, xs: Mapping[str, list[float]], names: Mapping[str, str]) -> None:
    """One row per side; points jittered vertically (deterministically) so none hide."""
    for row, side in enumerate(("outside", "inside")):
        pts = xs[side]
        if not pts:
            continue
        jitter = [row + 0.25 * (((i * 0.618034) % 1.0) - 0.5) for i in range(len(pts))]
        ax.scatter(pts, jitter, s=18, color=_COLORS[side], label=names[side], zorder=3)
    ax.set_yticks([0, 1], ["outside", "held"], fontsize=7)
    ax.set_ylim(-0.6, 1.9)
    lo, hi = ax.get_xlim()
    if hi - lo < 1e-12 * max(1.0, abs(lo)):
        ax.set_xlim(lo - 0.5, hi + 0.5)


def _histogram(ax, xs: Mapping[str, list[float]], names, ref: float | None) -> None:
    flat = xs["inside"] + xs["outside"]
    lo, hi = min(flat), max(flat)
    if ref is not None:  # the bound line is inside the range, so no bar is out of sight
        lo, hi = min(lo, ref), max(hi, ref)
    width = 1e-6 * max(1.0, abs(lo), abs(hi))
    if hi - lo < width:  # (nearly) equal values: numpy cannot split them into bins
        mid = (lo + hi) / 2
        lo, hi = mid - 0.5, mid + 0.5
    ax.hist(
        [xs["inside"], xs["outside"]],
        bins=min(40, max(5, len(flat) // 4)),
        range=(lo, hi),
        stacked=True,
        color=[_COLORS["inside"], _COLORS["outside"]],
        label=[names["inside"], names["outside"]],
    )
    ax.set_ylabel("evaluations")


def _evaluations(n: int) -> str:
    return f"{n} evaluation" + ("" if n == 1 else "s")


def _infinite(entry: Mapping[str, Any]) -> int:
    """How many of a claim's values are infinite (e.g. κ of a rank-deficient matrix over a
    finite bound): counted and named, never drawn, never a crash of the figure."""
    return sum(not math.isfinite(v) for side in ("inside", "outside") for v in entry[side])


def _caption(theorem: str, claim: str, entry: Mapping[str, Any], n_zero: int) -> str:
    inside, outside = entry["inside"], entry["outside"]
    values = inside + outside
    if entry["mode"] == "quantity":
        return (
            f"{theorem} / {claim}: bound 0 (an exact identity; the claim's tolerance decides "
            f"held / failed): measured quantity over {_evaluations(len(values))} "
            f"({len(outside)} outside the hypotheses): exactly 0 (exact) in {n_zero}, max "
            f"{max(inside):.4g} where every hypothesis held"
            if inside
            else f"{theorem} / {claim}: bound 0; {_evaluations(len(values))}, all outside the "
            f"hypotheses, max measured {max(values):.4g}"
        )
    above = sum(v > 1 for v in inside)
    zero_bound = entry["zero_bound"]
    return (
        f"{theorem} / {claim}: measured/bound over {_evaluations(len(values))} "
        f"({len(outside)} outside the hypotheses), max {max(values):.4g}; "
        f"{above} above 1 with every hypothesis held (the claim's tolerance decides "
        "held / failed)"
        + (f"; {n_zero} with ratio 0" if n_zero else "")
        + (f"; {zero_bound} evaluations with bound 0 not shown" if zero_bound else "")
        + (f"; {n_inf} infinite, not drawn" if (n_inf := _infinite(entry)) else "")
    )
