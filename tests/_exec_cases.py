"""Shared helpers of the executor tests: small run configurations and a bitwise comparison."""

from __future__ import annotations

import math

import numpy as np

from ncverify.exec import PROVENANCE_KEYS, DataSpec, NetworkSpec, RunConfig
from ncverify.train import TrainingConfig


def small_config(seed: int, *, steps: int = 200, sharpness: bool = False, **training) -> RunConfig:
    """A JSWM pyramidal network on 12 Gaussian-cluster samples (a fraction of a second)."""
    return RunConfig(
        data=DataSpec("gaussian_clusters", seed=seed, num_classes=3, samples_per_class=4,
                      input_dim=8),
        network=NetworkSpec("pyramidal", input_dim=8, num_classes=3, seed=seed + 1000,
                            widths=(16,), head_widths=(8,), gamma=0.5, num_samples=12),
        training=TrainingConfig(**{"lr": 0.2, "weight_decay": 5e-3, "steps": steps,
                                   "seed": seed, "device": "cpu", "record_every": 20,
                                   **training}),
        sharpness=sharpness,
    )  # fmt: skip


def differences(a, b, path: str = "") -> list[str]:
    """Paths where ``a`` and ``b`` differ in a single bit (provenance entries ignored)."""
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return [f"{path}: keys {sorted(a)} != {sorted(b)}"]
        return [
            d
            for k in a
            if not (path == "" and k in PROVENANCE_KEYS)
            for d in differences(a[k], b[k], f"{path}/{k}")
        ]
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        same = a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
        return [] if same else [path]
    if isinstance(a, float) and isinstance(b, float):
        same = np.float64(a).tobytes() == np.float64(b).tobytes() or (
            math.isnan(a) and math.isnan(b)
        )
        return [] if same else [f"{path}: {a!r} != {b!r}"]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]
