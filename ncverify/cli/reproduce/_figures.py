"""Figures and their data files for the JSWM reproductions (``ncverify reproduce``).

Every figure is written as ``<basename>.png`` with its data beside it as
``<basename>.csv`` (same basename): one row per plotted point, holding the plotted
mean and standard deviation *and* the per-seed values they were computed from, so
a reader can re-plot or re-check every number. Statistics over seeds ignore
diverged runs (NaN): ``mean = nanmean``, ``std = nanstd`` (population, ``ddof=0``).

matplotlib is imported lazily with the non-interactive Agg backend.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = [
    "plot_grams",
    "plot_head_depth",
    "plot_layer_metrics",
    "plot_pair_balancedness",
    "read_csv",
    "seed_stats",
]

_METRIC_LABELS = {
    "nc1": "NC1  tr Σ_W / tr Σ_B",
    "nc2": "NC2  κ(class means)",
    "balancedness": "balancedness  ‖W_{ℓ+1}ᵀW_{ℓ+1} − W_ℓW_ℓᵀ‖_op",
    "negativity": "negativity  ‖H − σ(H)‖_op / ‖H‖_op",
    "kappa_WL": "κ(W_L)",
    "kappa_A_root": "κ(A)^{1/L2}",
    "accuracy": "training accuracy (argmax of Z_L)",
}
_LOG_METRICS = {"nc1", "nc2", "balancedness", "kappa_WL", "kappa_A_root"}


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


def _band(ax, x, mean, std, *, log: bool, label: str, color=None, marker="o", linestyle="-"):
    lo = mean - std
    if log:
        lo = np.where(lo > 0, lo, mean / 10.0)
    line = ax.plot(
        x, mean, marker=marker, linestyle=linestyle, label=label, color=color, markersize=4
    )[0]
    ax.fill_between(x, lo, mean + std, alpha=0.2, color=line.get_color())
    return line


def _save(fig, out_dir: Path, basename: str) -> Path:
    png = out_dir / f"{basename}.png"
    fig.savefig(png, dpi=110, bbox_inches="tight")
    _pyplot().close(fig)
    return png


def plot_layer_metrics(
    out_dir: str | Path,
    basename: str,
    *,
    layer_index: Sequence[int],
    metrics: dict[str, np.ndarray],
    first_linear: int,
    title: str,
) -> tuple[Path, Path]:
    """Per-layer metrics against layer index, mean ± 1 std over seeds.

    ``metrics[name]`` has shape (seeds, layers); columns follow ``layer_index``.
    Layers ``>= first_linear`` are the linear head (shaded). CSV columns:
    ``metric, layer, mean, std, seed_0, ...``.
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
        mean, std = seed_stats(vals)
        for j, layer in enumerate(layer_index):
            rows.append(
                [name, int(layer), float(mean[j]), float(std[j]), *(float(v) for v in vals[:, j])]
            )
        ok = np.isfinite(mean)
        log = name in _LOG_METRICS and bool(np.all(mean[ok] > 0))
        _band(ax, x[ok], mean[ok], std[ok], log=log, label="mean ± 1 std over seeds")
        if log:
            ax.set_yscale("log")
        ax.axvspan(
            first_linear - 0.5, x.max() + 0.5, color="0.85", alpha=0.5, lw=0, label="linear head"
        )
        ax.set_xticks(x)
        ax.set_xlabel("layer ℓ")
        ax.set_title(_METRIC_LABELS.get(name, name), fontsize=9)
    axes[0][0].legend(fontsize=8, loc="best")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    png = _save(fig, out_dir, basename)
    csv_path = out_dir / f"{basename}.csv"
    _write_csv(csv_path, ["metric", "layer", "mean", "std", *_seed_header(num_seeds)], rows)
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
    """Balancedness of each consecutive pair against step (log scale).

    ``values`` (seeds, records, pairs); ``predicted`` (records, pairs): the
    weight-decay prediction ``ε(0) ∏_s (1 − η_s λ)²`` drawn dashed over the linear
    pairs. CSV columns: ``pair, linear, step, mean, std, predicted, seed_0, ...``.
    """
    out_dir = Path(out_dir)
    plt = _pyplot()
    values = np.asarray(values, dtype=float)
    steps = np.asarray(steps)
    mean, std = seed_stats(values)  # (records, pairs)
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    cmap = plt.get_cmap("viridis")
    rows = []
    num_pairs = len(pair_index)
    for j, pair in enumerate(pair_index):
        color = cmap(j / max(1, num_pairs - 1))
        kind = "linear" if linear[j] else "nonlinear"
        _band(
            ax,
            steps,
            mean[:, j],
            std[:, j],
            log=True,
            color=color,
            marker=None,
            linestyle="-" if linear[j] else ":",
            label=f"(W_{pair}, W_{pair + 1}) {kind}",
        )
        if linear[j]:
            ax.plot(steps, predicted[:, j], linestyle="--", color=color, linewidth=1.0)
        for t, step in enumerate(steps):
            rows.append(
                [
                    int(pair),
                    int(bool(linear[j])),
                    int(step),
                    float(mean[t, j]),
                    float(std[t, j]),
                    float(predicted[t, j]),
                    *(float(v) for v in values[:, t, j]),
                ]
            )
    ax.plot([], [], "k--", linewidth=1.0, label="prediction ε(0)·∏(1−η_sλ)²")
    ax.set_yscale("log")
    ax.set_xlabel("gradient step t")
    ax.set_ylabel("‖W_{ℓ+1}ᵀW_{ℓ+1} − W_ℓW_ℓᵀ‖_op")
    ax.legend(fontsize=7, loc="lower left")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    png = _save(fig, out_dir, basename)
    csv_path = out_dir / f"{basename}.csv"
    _write_csv(
        csv_path,
        ["pair", "linear", "step", "mean", "std", "predicted", *_seed_header(values.shape[0])],
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
    training accuracy (a run that leaves classes unfitted has meaningless NC2).

    ``metrics[name]`` has shape (weight decays, depths, seeds) for names
    ``nc1``, ``nc2``, ``kappa_WL``, ``kappa_A_root``, ``accuracy``. CSV columns:
    ``metric, weight_decay, head_depth, mean, std, seed_0, ...``.
    """
    out_dir = Path(out_dir)
    plt = _pyplot()
    x = np.asarray(head_depths)
    fig, axes = plt.subplots(1, 4, figsize=(16.5, 3.6))
    rows = []
    num_seeds = next(iter(metrics.values())).shape[2]
    stats = {}
    for name, vals in metrics.items():
        vals = np.asarray(vals, dtype=float)
        mean, std = seed_stats(vals, axis=2)
        stats[name] = (mean, std)
        for i, wd in enumerate(weight_decays):
            for j, depth in enumerate(head_depths):
                rows.append(
                    [
                        name,
                        float(wd),
                        int(depth),
                        float(mean[i, j]),
                        float(std[i, j]),
                        *(float(v) for v in vals[i, j]),
                    ]
                )
    panels = [("nc1", axes[0]), ("nc2", axes[1]), ("kappa_WL", axes[2]), ("accuracy", axes[3])]
    for i, wd in enumerate(weight_decays):
        for name, ax in panels:
            mean, std = stats[name]
            _band(
                ax, x, mean[i], std[i], log=name != "accuracy", label=f"λ = {wd:g}", color=f"C{i}"
            )
        mean, _ = stats["kappa_A_root"]
        axes[2].plot(
            x, mean[i], linestyle="--", marker="x", color=f"C{i}", label=f"κ(A)^(1/L2), λ = {wd:g}"
        )
        mean, _ = stats["kappa_A_root"]
        axes[1].plot(
            x,
            mean[i],
            linestyle="--",
            marker="x",
            color=f"C{i}",
            alpha=0.6,
            label=f"κ(A)^(1/L2), λ = {wd:g}",
        )
    for name, ax in panels:
        ax.set_yscale("linear" if name == "accuracy" else "log")
        ax.set_xticks(x)
        ax.set_xlabel("linear head depth L2")
        ax.set_title(
            _METRIC_LABELS[name] + ("  of Z_{L−1}" if name in ("nc1", "nc2") else ""), fontsize=9
        )
        ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    png = _save(fig, out_dir, basename)
    csv_path = out_dir / f"{basename}.csv"
    _write_csv(
        csv_path,
        ["metric", "weight_decay", "head_depth", "mean", "std", *_seed_header(num_seeds)],
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
        ax.set_title(label, fontsize=8)
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
