"""Helpers of the reproductions and sweeps: presets, the data and options a study resolves
once in the parent process, the step-size schedule and the JSON summary (spec §4, §5)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import InvalidInput
from ._config import DataSpec
from ._data import get_preset

LR_DROP_AT = 0.8  # fraction of the steps after which the step size is divided by 10
LR_DROP_FACTOR = 0.1
ACTIVATIONS = ("relu", "gamma_tanh")  # names of ncverify.nets


@dataclass
class ReproduceResult:
    """What a reproduction or sweep measured: ``config``, per-figure ``data`` (plain lists,
        the numbers that were plotted), the ``files`` written, ``wall_time_s`` and ``cpu_time_s``
        (of this call: this process and the processes it started; ``config["runs_cpu_time_s"]``
    sums the CPU time of every run, resumed ones included), the number of ``diverged`` runs
        (counted, recorded as NaN, left out of means), ``resumed`` runs read back from their files,
        and the ``command`` that made it."""

    experiment: str
    config: dict[str, Any]
    data: dict[str, Any]
    files: list[str] = field(default_factory=list)
    wall_time_s: float = 0.0
    cpu_time_s: float = 0.0
    diverged: int = 0
    resumed: int = 0
    command: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "experiment": self.experiment,
            "command": self.command,
            "config": self.config,
            "data": self.data,
            "files": self.files,
            "wall_time_s": self.wall_time_s,
            "cpu_time_s": self.cpu_time_s,
            "diverged": self.diverged,
            "resumed": self.resumed,
        }


def resolve(preset: str, **overrides) -> dict[str, Any]:
    """The preset's fields with the non-``None`` overrides applied, validated."""
    p = get_preset(preset).as_dict()
    for key, value in overrides.items():
        if value is not None:
            p[key] = value
    if p["device"] == "auto":
        import torch

        p["device"] = "cuda" if torch.cuda.is_available() else "cpu"
    for key in ("width", "steps", "head_depth_steps", "seeds", "head_depth_seeds"):
        if isinstance(p[key], bool) or not isinstance(p[key], int) or p[key] < 1:
            raise InvalidInput(f"{key}={p[key]!r}; it must be a positive integer")
    fw = p.get("first_width")
    if fw is not None and (isinstance(fw, bool) or not isinstance(fw, int) or fw < 1):
        raise InvalidInput(f"first_width={fw!r}; it must be a positive integer")
    if not (isinstance(p["lr"], (int, float)) and p["lr"] > 0 and math.isfinite(p["lr"])):
        raise InvalidInput(f"lr={p['lr']!r}; it must be a positive finite number")
    if p["activation"] not in ACTIVATIONS:
        raise InvalidInput(
            f"activation={p['activation']!r}; choose one of {', '.join(ACTIVATIONS)}"
        )
    return p


def data_spec(cfg: dict[str, Any], *, dataset: str, data, X, y, seed: int, scale: str):
    """The :class:`DataSpec` of a study, loaded once here so that bad data fails before any
    run starts; returns ``(spec, X, y)`` and records the data's shape in ``cfg``."""
    from ...data import _arrays  # the fingerprint of user arrays

    if (X is None) != (y is None):
        raise InvalidInput("pass both X and y (features and labels), or neither")
    if X is not None and data is not None:
        raise InvalidInput("pass either arrays X, y or a data file, not both")
    common = dict(n_per_class=cfg["n_per_class"], seed=seed, scale=scale)
    if X is not None:
        Xn, yn = _arrays._check_arrays(X, y)
        spec = DataSpec(
            "arrays", arrays=(Xn, yn), fingerprint=_arrays.fingerprint(Xn, yn), **common
        )
    elif data is not None:
        spec = DataSpec("npz", path=str(data), **common)
    else:
        spec = DataSpec(
            dataset,
            n_per_class=cfg["n_per_class"],
            seed=seed,
            num_classes=cfg["cluster_classes"] if dataset == "clusters" else None,
            cluster_dim=cfg["cluster_dim"],
            scale=scale,
        )
    Xt, yt, ds = spec.load(dtype=cfg["dtype"], device="cpu")
    if spec.name == "npz":  # recorded, so that --resume notices a changed file
        spec = DataSpec(
            "npz",
            path=str(data),
            fingerprint=_arrays.fingerprint(Xt.double().numpy(), yt.numpy()),
            **common,
        )
    cfg.update(
        dataset=spec.label,
        data=spec.to_json(),
        data_description=ds.description,
        num_samples=int(Xt.shape[0]),
        input_dim=int(Xt.shape[1]),
        num_classes=int(ds.num_classes),
    )
    return spec, Xt, yt


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


def record_steps(steps: int, records: int) -> list[int]:
    return sorted({round(float(t)) for t in np.linspace(0, steps, max(2, records))})


def write_summary(out_dir: Path, basename: str, result: ReproduceResult) -> Path:
    from ...report import atomic_write

    text = json.dumps(result.to_json(), indent=1, default=_json_default)
    return atomic_write(out_dir / f"{basename}.json", text.replace("NaN", "null") + "\n")


def _json_default(obj):
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def nan_list(a) -> list:
    a = np.asarray(a, dtype=float)
    return np.where(np.isfinite(a), a, np.nan).tolist()


def python_command(name: str, kwargs: dict[str, Any]) -> str:
    """How a Python call is recorded when no command line is given."""
    shown = ", ".join(
        f"{k}={'<array>' if k in ('X', 'y') and v is not None else repr(v)}"
        for k, v in kwargs.items()
    )
    return f"ncverify.cli.reproduce.{name}({shown})"


def stack(results: list[dict], getter, shape: tuple[int, ...]) -> np.ndarray:
    """``getter(result)`` of each completed run stacked (NaN rows for diverged runs)."""
    out = np.full((len(results), *shape), np.nan)
    for i, r in enumerate(results):
        if r["outcome"] == "completed":
            out[i] = np.asarray(getter(r), dtype=float)
    return out
