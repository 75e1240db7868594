"""Figures and their data files for the JSWM reproductions (``ncverify reproduce``).

Every figure is written as ``<basename>.png`` with its data beside it as
``<basename>.csv`` (same basename): one row per plotted point, holding the arithmetic
mean and standard deviation, the geometric mean and geometric standard deviation *and*
the per-seed values they were computed from, so a reader can re-plot or re-check every
number. Statistics over seeds ignore diverged runs (NaN): ``mean = nanmean``,
``std = nanstd`` (population, ``ddof=0``); ``geo_mean = exp(mean log x)``,
``geo_std = exp(std log x)`` (over the positive values). Quantities spanning decades are
drawn on log axes with bands ``geo_mean ×/÷ geo_std`` (symmetric in log space, never below
zero); the others (accuracy, negativity) with ``mean ± std``. Labels are matplotlib
mathtext.

matplotlib is imported lazily with the non-interactive Agg backend.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = [
    "METRIC_LABELS",
    "band",
    "geo_stats",
    "log_axis",
    "plot_grams",
    "plot_head_depth",
    "plot_layer_metrics",
    "plot_pair_balancedness",
    "read_csv",
    "seed_stats",
]

METRIC_LABELS = {
    "nc1": r"NC1  $\mathrm{tr}\,\Sigma_W / \mathrm{tr}\,\Sigma_B$",
    "nc2": r"NC2  $\kappa(\bar{Z})$ (class means)",
    "balancedness": r"balancedness  $\|W_{\ell+1}^\top W_{\ell+1} - W_\ell W_\ell^\top\|_{op}$",
    "negativity": r"negativity  $\|H - \sigma(H)\|_{op} / \|H\|_{op}$",
    "kappa_WL": r"$\kappa(W_L)$",
    "kappa_A_root": r"$\kappa(A)^{1/L_2}$",
    "accuracy": r"training accuracy ($\arg\max$ of $Z_L$)",
    "eps1": r"$\epsilon_1 = \|Z_L - Y\|_F$",
    "eps2": r"$\epsilon_2 = \|W_L^\top W_L - W_{L-1} W_{L-1}^\top\|_{op}$",
    "nc3_mean": r"NC3  mean$_i \cos(z_i, w_{y_i})$",
    "nc3_worst": r"NC3  min$_i \cos(z_i, w_{y_i})$",
}
_LOG_METRICS = {"nc1", "nc2", "balancedness", "kappa_WL", "kappa_A_root", "eps1", "eps2"}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def seed_stats(values: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(mean, std) over seeds along ``axis``, ignoring NaN (diverged runs).

    Where every seed is NaN both are NaN (no RuntimeWarning leaks out).
    """
    values = np.asarray(values, dtype=float)
    finite = np.isfinite(values)
    count = finite.sum(axis=axis)
    filled = np.where(finite, values, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = filled.sum(axis=axis) / count
        dev = np.where(finite, values - np.expand_dims(mean, axis), 0.0)
        std = np.sqrt((dev**2).sum(axis=axis) / count)
    return mean, std


def _fmt(x: float) -> str:
    return "nan" if not math.isfinite(x) else repr(float(x))


def _write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence]) -> None:
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for row in rows:
            writer.writerow([_fmt(v) if isinstance(v, float) else v for v in row])


def read_csv(path: str | Path) -> list[dict[str, str]]:
    """The rows of a data file written here, as dicts of strings (``float(...)`` them)."""
    with Path(path).open(newline="") as fh:
        return list(csv.DictReader(fh))


def _seed_header(num_seeds: int) -> list[str]:
    return [f"seed_{s}" for s in range(num_seeds)]


def geo_stats(values: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(geometric mean, geometric std factor) over seeds along ``axis``: ``exp`` of the mean
    and std of ``log x`` over the finite positive values (NaN where there is none)."""
    values = np.asarray(values, dtype=float)
    ok = np.isfinite(values) & (values > 0)
    logs = np.log(np.where(ok, values, 1.0))
    count = ok.sum(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(ok, logs, 0.0).sum(axis=axis) / count
        dev = np.where(ok, logs - np.expand_dims(mean, axis), 0.0)
        std = np.sqrt((dev**2).sum(axis=axis) / count)
    return np.exp(mean), np.exp(std)


def log_axis(ax, axis: str = "y") -> None:
    """Log scale with ticks chosen for the data already drawn: under half a decade, about six
    plainly labelled ticks (``%g``); under a decade, every 1…9 × 10^k labelled; under about
    two decades, the decades and 2, 3, 5 × 10^k; wider, the decades ``10^k`` only."""
    from matplotlib.ticker import (
        FuncFormatter,
        LogFormatterSciNotation,
        LogLocator,
        MaxNLocator,
        NullFormatter,
    )

    getattr(ax, f"set_{axis}scale")("log")
    target = ax.yaxis if axis == "y" else ax.xaxis
    lo, hi = sorted(ax.get_ylim() if axis == "y" else ax.get_xlim())
    span = float(np.log10(hi / lo)) if lo > 0 else np.inf
    plain = FuncFormatter(lambda v, _: f"{v:g}")
    minor = LogLocator(base=10, subs=np.arange(2.0, 10.0), numticks=12)
    if span < 0.5:
        target.set_major_locator(MaxNLocator(nbins=6))
        target.set_major_formatter(plain)
        target.set_minor_locator(minor)
        target.set_minor_formatter(NullFormatter())
    else:
        target.set_major_locator(LogLocator(base=10, numticks=12))
        target.set_minor_locator(minor)
        if span < 2.2:

            def some(v, _):
                mantissa = round(v / 10 ** np.floor(np.log10(v) + 1e-9))
                return f"{v:g}" if span < 1 or mantissa in (2, 3, 5) else ""

            target.set_major_formatter(plain)
            target.set_minor_formatter(FuncFormatter(some))
        else:
            target.set_major_formatter(LogFormatterSciNotation())
            target.set_minor_formatter(NullFormatter())
    ax.tick_params(axis=axis, which="minor", labelsize=6)


def band(
    ax, x, values, *, log: bool, axis: int = 0, label: str, color=None, marker="o", linestyle="-"
):
    """Plot the seeds' centre and band along ``axis`` of ``values``: geometric mean ×/÷
    geometric std on a log axis, mean ± std otherwise. Returns the line."""
    if log:
        centre, factor = geo_stats(values, axis=axis)
        lo, hi = centre / factor, centre * factor
    else:
        centre, spread = seed_stats(values, axis=axis)
        lo, hi = centre - spread, centre + spread
    x = np.asarray(x)
    # NaN (undefined or diverged) leaves a gap instead of joining its neighbours
    line = ax.plot(
        x, centre, marker=marker, linestyle=linestyle, label=label, color=color, markersize=4
    )[0]
    ax.fill_between(x, lo, hi, alpha=0.2, color=line.get_color(), lw=0)
    return line


def _save(fig, out_dir: Path, basename: str) -> Path:
    png = out_dir / f"{basename}.png"
    fig.savefig(png, dpi=110, bbox_inches="tight")
    _pyplot().close(fig)
    return png


def _stat_cells(vals) -> list[float]:
    """``mean, std, geo_mean, geo_std`` of one point's per-seed values."""
    vals = np.asarray(vals, dtype=float)[:, None]
    mean, std = seed_stats(vals)
    gmean, gstd = geo_stats(vals)
    return [float(mean[0]), float(std[0]), float(gmean[0]), float(gstd[0])]


_STATS = ["mean", "std", "geo_mean", "geo_std"]


def _is_log(name: str, vals) -> bool:
    vals = np.asarray(vals, dtype=float)
    finite = vals[np.isfinite(vals)]
    return name in _LOG_METRICS and finite.size > 0 and bool(np.all(finite > 0))


def plot_layer_metrics(
    out_dir: str | Path,
    basename: str,
    *,
    layer_index: Sequence[int],
    metrics: dict[str, np.ndarray],
    first_linear: int,
    title: str,
) -> tuple[Path, Path]:
    """Per-layer metrics against layer index over seeds (bands: module docstring).

    ``metrics[name]`` has shape (seeds, layers); columns follow ``layer_index``.
    Layers ``>= first_linear`` are the linear head (shaded). CSV columns:
    ``metric, layer, mean, std, geo_mean, geo_std, seed_0, ...``.
    """
    out_dir = Path(out_dir)
    plt = _pyplot()
    names = list(metrics)
    x = np.asarray(layer_index)
    fig, axes = plt.subplots(1, len(names), figsize=(4.0 * len(names), 3.4), squeeze=False)
    rows = []
    num_seeds = next(iter(metrics.values())).shape[0]
    for ax, name in zip(axes[0], names, strict=True):
        vals = np.asarray(metrics[name], dtype=float)
        for j, layer in enumerate(layer_index):
            rows.append([name, int(layer), *_stat_cells(vals[:, j]), *map(float, vals[:, j])])
        log = _is_log(name, vals)
        label = "geometric mean ×/÷ geometric std" if log else "mean ± 1 std over seeds"
        band(ax, x, vals, log=log, label=label)
        if log:
            log_axis(ax)
        ax.axvspan(
            first_linear - 0.5, x.max() + 0.5, color="0.85", alpha=0.5, lw=0, label="linear head"
        )
        ax.set_xticks(x)
        ax.set_xlabel(r"layer $\ell$")
        ax.set_title(METRIC_LABELS.get(name, name), fontsize=9)
        ax.legend(fontsize=7, loc="best")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    png = _save(fig, out_dir, basename)
    csv_path = out_dir / f"{basename}.csv"
    _write_csv(csv_path, ["metric", "layer", *_STATS, *_seed_header(num_seeds)], rows)
    return png, csv_path


def plot_pair_balancedness(
    out_dir: str | Path,
    basename: str,
    *,
    steps: np.ndarray,
    values: np.ndarray,
    pair_index: Sequence[int],
    linear: Sequence[bool],
    predicted: np.ndarray,
    title: str,
) -> tuple[Path, Path]:
    """Balancedness of each consecutive pair against step (log scale, geometric bands).

    ``values`` (seeds, records, pairs); ``predicted`` (records, pairs): the
    weight-decay prediction ``ε(0) ∏_s (1 − η_s λ)²`` drawn dashed over the linear
    pairs. CSV columns: ``pair, linear, step, mean, std, geo_mean, geo_std, predicted,
    seed_0, ...``.
    """
    out_dir = Path(out_dir)
    plt = _pyplot()
    values = np.asarray(values, dtype=float)
    steps = np.asarray(steps)
    fig, ax = plt.subplots(figsize=(7.0, 4.6))
    cmap = plt.get_cmap("viridis")
    rows = []
    num_pairs = len(pair_index)
    for j, pair in enumerate(pair_index):
        color = cmap(j / max(1, num_pairs - 1))
        kind = "linear" if linear[j] else "nonlinear"
        band(
            ax,
            steps,
            values[:, :, j],
            log=True,
            color=color,
            marker=None,
            linestyle="-" if linear[j] else ":",
            label=rf"$(W_{{{pair}}}, W_{{{pair + 1}}})$ {kind}",
        )
        if linear[j]:
            ax.plot(steps, predicted[:, j], linestyle="--", color=color, linewidth=1.0)
        for t, step in enumerate(steps):
            rows.append(
                [
                    int(pair),
                    int(bool(linear[j])),
                    int(step),
                    *_stat_cells(values[:, t, j]),
                    float(predicted[t, j]),
                    *map(float, values[:, t, j]),
                ]
            )
    ax.plot(
        [], [], "k--", linewidth=1.0, label=r"prediction $\epsilon(0)\prod_s(1-\eta_s\lambda)^2$"
    )
    log_axis(ax)
    ax.set_xlabel(r"gradient step $t$")
    ax.set_ylabel(r"$\|W_{\ell+1}^\top W_{\ell+1} - W_\ell W_\ell^\top\|_{op}$")
    ax.legend(fontsize=7, loc="lower left")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    png = _save(fig, out_dir, basename)
    csv_path = out_dir / f"{basename}.csv"
    _write_csv(
        csv_path,
        ["pair", "linear", "step", *_STATS, "predicted", *_seed_header(values.shape[0])],
        rows,
    )
    return png, csv_path


def plot_head_depth(
    out_dir: str | Path,
    basename: str,
    *,
    head_depths: Sequence[int],
    weight_decays: Sequence[float],
    metrics: dict[str, np.ndarray],
    title: str,
) -> tuple[Path, Path]:
    """NC1, NC2 and κ(W_L) with κ(A)^{1/L2} overlaid, against head depth L2, and the
    training accuracy (a run that leaves classes unfitted has meaningless NC2): one row of
    panels per weight decay, each with its own y-range (their scales can differ by decades).

    ``metrics[name]`` has shape (weight decays, depths, seeds) for names
    ``nc1``, ``nc2``, ``kappa_WL``, ``kappa_A_root``, ``accuracy``. CSV columns:
    ``metric, weight_decay, head_depth, mean, std, geo_mean, geo_std, seed_0, ...``.
    """
    out_dir = Path(out_dir)
    plt = _pyplot()
    x = np.asarray(head_depths)
    n = len(weight_decays)
    fig, axes = plt.subplots(n, 4, figsize=(16.5, 3.3 * n), squeeze=False)
    rows = []
    num_seeds = next(iter(metrics.values())).shape[2]
    for name, vals in metrics.items():
        vals = np.asarray(vals, dtype=float)
        for i, wd in enumerate(weight_decays):
            for j, depth in enumerate(head_depths):
                rows.append(
                    [name, float(wd), int(depth), *_stat_cells(vals[i, j]), *map(float, vals[i, j])]
                )
    names = ("nc1", "nc2", "kappa_WL", "accuracy")
    for i, wd in enumerate(weight_decays):
        for ax, name in zip(axes[i], names, strict=True):
            vals = np.asarray(metrics[name], dtype=float)[i]
            log = name != "accuracy"
            band(
                ax,
                x,
                vals,
                axis=1,
                log=log,
                color=f"C{i}",
                label=METRIC_LABELS[name] if name == "kappa_WL" else rf"$\lambda$ = {wd:g}",
            )
            if name in ("nc2", "kappa_WL"):
                root, _ = geo_stats(np.asarray(metrics["kappa_A_root"], dtype=float)[i], axis=1)
                ax.plot(
                    x,
                    root,
                    linestyle="--",
                    marker="x",
                    color="k",
                    alpha=0.7,
                    label=r"$\kappa(A)^{1/L_2}$",
                )
            if log:
                log_axis(ax)
            else:
                ax.set_ylim(
                    min(0.0, float(np.nanmin(vals)) - 0.05) if np.isfinite(vals).any() else 0.0,
                    1.05,
                )
            ax.set_xticks(x)
            ax.set_xlabel(r"linear head depth $L_2$")
            of = r" of $Z_{L-1}$" if name in ("nc1", "nc2") else ""
            ax.set_title(rf"$\lambda$ = {wd:g}: " + METRIC_LABELS[name] + of, fontsize=9)
            ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    png = _save(fig, out_dir, basename)
    csv_path = out_dir / f"{basename}.csv"
    _write_csv(
        csv_path,
        ["metric", "weight_decay", "head_depth", *_STATS, *_seed_header(num_seeds)],
        rows,
    )
    return png, csv_path


def plot_grams(
    out_dir: str | Path, basename: str, *, grams: Sequence[tuple[str, np.ndarray]], title: str
) -> tuple[Path, Path]:
    """Heat maps of normalised Gram matrices ``G / max diag G`` of class means.

    ``grams``: (panel label, K×K matrix already normalised). At bias-free MSE
    collapse ``G ∝ I`` (orthogonal frame). CSV columns: ``panel, row, col, value``.
    """
    out_dir = Path(out_dir)
    plt = _pyplot()
    n = len(grams)
    fig, axes = plt.subplots(1, n, figsize=(2.6 * n + 0.8, 2.9), squeeze=False)
    rows = []
    image = None
    for ax, (label, G) in zip(axes[0], grams, strict=True):
        G = np.asarray(G, dtype=float)
        image = ax.imshow(G, vmin=-1.0, vmax=1.0, cmap="RdBu_r")
        ax.set_title(re.sub(r"Z_(\d+)", r"$Z_{\1}$", label), fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
        for r in range(G.shape[0]):
            for c in range(G.shape[1]):
                rows.append([label, r, c, float(G[r, c])])
    fig.colorbar(image, ax=list(axes[0]), shrink=0.8)
    fig.suptitle(title, fontsize=10)
    png = _save(fig, out_dir, basename)
    csv_path = out_dir / f"{basename}.csv"
    _write_csv(csv_path, ["panel", "row", "col", "value"], rows)
    return png, csv_path
