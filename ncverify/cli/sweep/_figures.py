"""Figures of the sweep studies, each a PNG with a CSV of the same basename holding every
plotted statistic and the per-seed values (conventions of
:mod:`ncverify.cli.reproduce._figures`: geometric bands on log axes, mathtext labels)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..reproduce._figures import (
    _STATS,
    METRIC_LABELS,
    _pyplot,
    _save,
    _seed_header,
    _stat_cells,
    _write_csv,
    band,
    geo_stats,
    log_axis,
)

__all__ = ["plot_architectures", "plot_nc3_depth", "plot_wd_scaling"]

_MODE_LABELS = {
    "lambda_n": r"$\lambda n_1$ constant ($\lambda = \lambda_0 N / n_1$)",
    "lambda": r"$\lambda = \lambda_0$ constant",
}


def _finish(fig, out: Path, basename: str, head: list[str], rows: list, seeds: int):
    out.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    png = _save(fig, out, basename)
    csv_path = out / f"{basename}.csv"
    _write_csv(csv_path, [*head, *_STATS, *_seed_header(seeds)], rows)
    return [png, csv_path]


def plot_wd_scaling(out, basename, *, factors, modes, values, title) -> list[Path]:
    """NC1 of ``Z_{L−1}``, ε1, ε2, κ(W_L) and accuracy against ``n_1/N`` (log₂ axis), one
    line per mode. ``values[m]``: (modes, factors, seeds). CSV:
    ``metric, mode, width_factor, <stats>, seed_0, ...``."""
    plt = _pyplot()
    names = ("nc1", "eps1", "eps2", "kappa_WL", "accuracy")
    fig, axes = plt.subplots(1, len(names), figsize=(4.0 * len(names), 3.6))
    x = np.asarray(factors, dtype=float)
    rows = []
    for ax, name in zip(axes, names, strict=True):
        vals = np.asarray(values[name], dtype=float)
        log = name != "accuracy"
        for a, mode in enumerate(modes):
            band(
                ax,
                x,
                vals[a],
                axis=1,
                log=log,
                color=f"C{a}",
                label=_MODE_LABELS[mode],
                linestyle="-" if a == 0 else "--",
            )
            for b, f in enumerate(factors):
                rows.append([name, mode, int(f), *_stat_cells(vals[a, b]), *map(float, vals[a, b])])
        ax.set_xscale("log", base=2)
        ax.set_xticks(x, [f"{int(f)}N" for f in factors])
        if log:
            log_axis(ax)
        else:
            ax.set_ylim(
                min(0.0, float(np.nanmin(vals)) - 0.05) if np.isfinite(vals).any() else 0.0, 1.05
            )
        ax.set_xlabel(r"first-layer width $n_1$")
        ax.set_title(METRIC_LABELS[name] + (r" of $Z_{L-1}$" if name == "nc1" else ""), fontsize=9)
    axes[0].legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    seeds = np.asarray(values["nc1"]).shape[2]
    return _finish(fig, Path(out), basename, ["metric", "mode", "width_factor"], rows, seeds)


def plot_architectures(out, basename, *, kinds, per_layer, first_linear, rates, title):
    """Per-layer NC1, NC2 and ε2 of each architecture, and the rate at which each claim of
    Theorem 4.4 held per architecture. ``per_layer[m]``: (architectures, seeds, layers).
    CSV ``…-layers.csv``: ``metric, architecture, layer, <stats>, seed_0, ...``; CSV
    ``…-claims.csv``: ``architecture, theorem, claim, held, failed, undecided``."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 4, figsize=(18.0, 3.8))
    rows = []
    L = next(iter(per_layer.values())).shape[2]
    x = np.arange(1, L + 1)
    for ax, name in zip(axes[:3], ("nc1", "nc2", "balancedness"), strict=True):
        vals = np.asarray(per_layer[name], dtype=float)
        for a, kind in enumerate(kinds):
            if np.isfinite(vals[a]).any():
                band(ax, x, vals[a], axis=0, log=True, color=f"C{a}", label=kind)
            for l in range(L):
                rows.append(
                    [name, kind, l + 1, *_stat_cells(vals[a, :, l]), *map(float, vals[a, :, l])]
                )
        log_axis(ax)
        ax.axvspan(first_linear - 0.5, L + 0.5, color="0.85", alpha=0.5, lw=0)
        ax.set_xticks(x)
        ax.set_xlabel(r"layer $\ell$ (grey: linear head)")
        ax.set_title(METRIC_LABELS[name], fontsize=9)
        ax.legend(fontsize=7)
    ax = axes[3]
    claim_rows, claims = [], []
    for kind in kinds:
        for theorem, entry in rates.get(kind, {}).items():
            for claim, c in entry["claims"].items():
                claim_rows.append([kind, theorem, claim, c["held"], c["failed"], c["undecided"]])
                if claim not in claims:
                    claims.append(claim)
    width = 0.8 / max(1, len(kinds))
    for a, kind in enumerate(kinds):
        for i, claim in enumerate(claims):
            c = [r for r in claim_rows if r[0] == kind and r[2] == claim]
            held, total = (c[0][3], sum(c[0][3:6])) if c else (0, 0)
            y = i + a * width
            ax.barh(
                y,
                held / total if total else 0.0,
                height=width,
                color=f"C{a}",
                label=kind if i == 0 else None,
            )
            ax.text(1.02, y, f"{held}/{total}", va="center", fontsize=6)
    ax.set_yticks(np.arange(len(claims)) + 0.4 - width / 2, claims, fontsize=7)
    ax.set_xlim(0, 1.15)
    ax.set_xticks([0, 0.25, 0.5, 0.75, 1.0])
    ax.set_xlabel("fraction of runs in which the claim held (held/runs)")
    ax.set_title("Theorem 4.4 (jswm-4.4): claim rates", fontsize=9)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=len(kinds))
    fig.suptitle(title, fontsize=10)
    seeds = next(iter(per_layer.values())).shape[1]
    files = _finish(fig, Path(out), basename, ["metric", "architecture", "layer"], rows, seeds)
    claims_csv = Path(out) / f"{basename}-claims.csv"
    _write_csv(
        claims_csv, ["architecture", "theorem", "claim", "held", "failed", "undecided"], claim_rows
    )
    return [*files, claims_csv]


def plot_nc3_depth(out, basename, *, depths, steps, final, traj, title) -> list[Path]:
    """``1 − NC3`` (mean and worst sample; 0 = perfect alignment) at the last step against
    ``L2``, and against the step for each ``L2``; log axes. ``final[m]``: (depths, seeds);
    ``traj[m]``: (depths, seeds, records). CSV: ``metric, head_depth, step, <stats> (of
    NC3 itself), seed_0, ...`` (step = the last one for the depth panel)."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(15.0, 3.9))
    x = np.asarray(depths)
    rows = []
    T = int(steps[-1])
    for m, style in (("nc3_mean", "-"), ("nc3_worst", "--")):
        vals = np.asarray(final[m], dtype=float)
        band(
            axes[0],
            x,
            1.0 - vals,
            axis=1,
            log=True,
            color="C0" if m == "nc3_mean" else "C3",
            linestyle=style,
            label=("mean" if m == "nc3_mean" else "worst") + " sample",
        )
        for j, d in enumerate(depths):
            rows.append([m, int(d), T, *_stat_cells(vals[j]), *map(float, vals[j])])
    log_axis(axes[0])
    axes[0].set_xticks(x)
    axes[0].set_xlabel(r"linear head depth $L_2$")
    axes[0].set_title(
        r"$1 - \cos(z_i, w_{y_i})$ at the last step ($z_i$ rows of $Z_{L-1}$)", fontsize=9
    )
    axes[0].legend(fontsize=7)
    cmap = plt.get_cmap("viridis")
    s = np.asarray(steps)
    for ax, m in zip(axes[1:], ("nc3_mean", "nc3_worst"), strict=True):
        vals = np.asarray(traj[m], dtype=float)
        for j, d in enumerate(depths):
            centre, _ = geo_stats(1.0 - vals[j], axis=0)
            ax.plot(s, centre, color=cmap(j / max(1, len(depths) - 1)), label=rf"$L_2$ = {d}")
            for t, step in enumerate(steps[:-1]):
                rows.append(
                    [
                        f"{m}_trajectory",
                        int(d),
                        int(step),
                        *_stat_cells(vals[j, :, t]),
                        *map(float, vals[j, :, t]),
                    ]
                )
        log_axis(ax)
        ax.set_xlabel(r"gradient step $t$")
        which = "mean over samples" if m == "nc3_mean" else "worst sample"
        ax.set_title(rf"$1 - $NC3 ({which}), geometric mean over seeds", fontsize=9)
        ax.legend(fontsize=7, ncol=2)
    fig.suptitle(title, fontsize=10)
    seeds = np.asarray(final["nc3_mean"]).shape[1]
    return _finish(fig, Path(out), basename, ["metric", "head_depth", "step"], rows, seeds)
