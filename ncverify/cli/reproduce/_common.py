"""Helpers of the reproductions: presets, step-size schedule, networks, training and per-layer
measurements (spec §2, §4, §5)."""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import InvalidInput
from ._data import get_preset

LR_DROP_AT = 0.8  # fraction of the steps after which the step size is divided by 10
LR_DROP_FACTOR = 0.1


@dataclass
class ReproduceResult:
    """What a reproduction measured: ``config``, per-figure ``data`` (plain lists, the
    numbers that were plotted), the ``files`` written, ``wall_time_s`` and ``cpu_time_s``
    (this process's CPU time: the cost without other processes' load) and the number of
    ``diverged`` runs (counted, recorded as NaN, left out of means)."""

    experiment: str
    config: dict[str, Any]
    data: dict[str, Any]
    files: list[str] = field(default_factory=list)
    wall_time_s: float = 0.0
    cpu_time_s: float = 0.0
    diverged: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "experiment": self.experiment,
            "config": self.config,
            "data": self.data,
            "files": self.files,
            "wall_time_s": self.wall_time_s,
            "cpu_time_s": self.cpu_time_s,
            "diverged": self.diverged,
        }


# ----------------------------------------------------------------------------- helpers
def _resolve(preset: str, **overrides) -> dict[str, Any]:
    p = get_preset(preset).as_dict()
    for key, value in overrides.items():
        if value is not None:
            p[key] = value
    if p["device"] == "auto":
        import torch

        p["device"] = "cuda" if torch.cuda.is_available() else "cpu"
    for key in ("width", "steps", "head_depth_steps", "seeds", "head_depth_seeds"):
        if not isinstance(p[key], int) or p[key] < 1:
            raise InvalidInput(f"{key}={p[key]!r}; it must be a positive integer")
    if not (isinstance(p["lr"], (int, float)) and p["lr"] > 0 and math.isfinite(p["lr"])):
        raise InvalidInput(f"lr={p['lr']!r}; it must be a positive finite number")
    return p


def lr_at(step: int, *, lr: float, steps: int) -> float:
    """Step size of step ``step`` (0-based): ``lr``, then ``lr·0.1`` from ``⌊0.8·steps⌋`` on."""
    return lr if step < int(LR_DROP_AT * steps) else lr * LR_DROP_FACTOR


def predicted_decay(record_steps, *, lr: float, weight_decay: float, steps: int) -> np.ndarray:
    """``∏_{s<t} (1 − η_s λ)²`` at each recorded ``t`` (spec §4: the weight-decay factor of
    one GD step on ``D_ℓ = W_{ℓ+1}ᵀW_{ℓ+1} − W_ℓW_ℓᵀ``), with the step-size drop."""
    drop = int(LR_DROP_AT * steps)
    out = []
    for t in record_steps:
        before, after = min(t, drop), max(0, t - drop)
        out.append(
            (1 - lr * weight_decay) ** (2 * before)
            * (1 - lr * LR_DROP_FACTOR * weight_decay) ** (2 * after)
        )
    return np.asarray(out)


def _record_steps(steps: int, records: int) -> list[int]:
    return sorted({round(float(t)) for t in np.linspace(0, steps, max(2, records))})


def _negativity(H, sigma) -> float:
    import torch

    denom = float(torch.linalg.matrix_norm(H, ord=2))
    if denom == 0.0:
        return math.nan
    return float(torch.linalg.matrix_norm(H - sigma(H), ord=2)) / denom


def _normalised_gram(Z, y, num_classes: int) -> np.ndarray:
    from ...metrics import class_means

    M = class_means(Z, y, num_classes=num_classes).double()
    G = (M @ M.T).cpu().numpy()
    scale = float(np.max(np.diag(G)))
    return G / scale if scale > 0 else G


def _write_summary(out_dir: Path, basename: str, result: ReproduceResult) -> Path:
    path = out_dir / f"{basename}.json"
    text = json.dumps(result.to_json(), indent=1, default=_json_default)
    path.write_text(text.replace("NaN", "null") + "\n")
    return path


def _json_default(obj):
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def _nan_list(a) -> list:
    return np.where(np.isfinite(a), a, np.nan).tolist()


# ----------------------------------------------------------------------------- networks
def _build_net(cfg, nonlinear: list[int], head: list[int], *, seed: int):
    import torch

    from ...nets import PyramidalMLP

    return PyramidalMLP(
        cfg["input_dim"],
        nonlinear,
        head,
        cfg["num_classes"],
        cfg["activation"],
        seed=seed,
        dtype=getattr(torch, cfg["dtype"]),
        device=cfg["device"],
    )


def _all_weights(net) -> list:
    """``[W_1, ..., W_L]`` detached (math convention)."""
    return [W.detach() for W in net.weights()]


def _features(net, X) -> list:
    import torch

    with torch.no_grad():
        return net.layer_features(X)


def _balancedness(W_lower, W_upper) -> float:
    from ...metrics import balancedness

    return balancedness(W_lower, W_upper)


def _eps1(Z_out, y, num_classes: int) -> float:
    from ...metrics import interpolation_error

    return interpolation_error(Z_out, y, num_classes=num_classes)


def _fit(
    net, X, y, *, cfg, steps: int, weight_decay: float, seed: int, record_steps, on_record, bar
) -> float | None:
    """Train ``net`` in place with :func:`ncverify.train.train`, step size ``lr`` then
    ``0.1·lr`` from ``⌊0.8·steps⌋`` on; ``on_record(t, net)`` after ``t`` steps for each
    ``t`` in ``record_steps``. Runs as consecutive ``train`` segments split at the record
    steps and the drop (plain GD has no state beyond the weights, so this is the same
    trajectory). Returns the largest relative residual of the exact one-step recursion
    ``D⁺ = (1−ηλ)²D + η²(G_{ℓ+1}ᵀG_{ℓ+1} − G_ℓG_ℓᵀ)`` over the head pairs and steps (spec
    §4, checked by ``train``; NaN without a head pair), or ``None`` if a segment diverged."""
    from ...train import train

    drop = int(LR_DROP_AT * steps)
    bounds = sorted({0, drop, steps, *(t for t in record_steps if 0 <= t <= steps)})
    wanted = set(record_steps)
    residual = math.nan
    for a, b in itertools.pairwise(bounds):
        if a in wanted and on_record is not None:
            on_record(a, net)
        run = train(
            net,
            X,
            y,
            lr=lr_at(a, lr=cfg["lr"], steps=steps),
            weight_decay=weight_decay,
            steps=b - a,
            seed=seed,
            device=cfg["device"],
            dtype=cfg["dtype"],
            record_every=max(1, b - a),
            metrics_every=0,
        )
        if run.diverged:
            return None
        if not math.isnan(run.max_recursion_residual):
            residual = max(run.max_recursion_residual, 0.0 if math.isnan(residual) else residual)
        bar.advance(b - a)
    if steps in wanted and on_record is not None:
        on_record(steps, net)
    return residual


def _layer_metrics(net, X, y, cfg, layers: list[int]) -> dict[str, list[float]]:
    """NC1, NC2, pair balancedness and negativity of each layer in ``layers`` (1-based)."""
    import torch

    from ...metrics import nc1_trace_ratio, nc2_kappa

    feats = _features(net, X)
    Ws = _all_weights(net)
    L = len(Ws)
    out: dict[str, list[float]] = {"nc1": [], "nc2": [], "balancedness": [], "negativity": []}
    with torch.no_grad():
        for l in layers:
            Z = feats[l - 1]
            Z_prev = X if l == 1 else feats[l - 2]
            out["nc1"].append(nc1_trace_ratio(Z, y, num_classes=cfg["num_classes"]))
            out["nc2"].append(nc2_kappa(Z, y, num_classes=cfg["num_classes"]))
            out["balancedness"].append(_balancedness(Ws[l - 1], Ws[l]) if l < L else math.nan)
            out["negativity"].append(_negativity(Z_prev @ Ws[l - 1].T, net.activation))
    return out
