"""Small labelled data sets for training runs, rebuilt exactly from their recorded seed.

- :func:`make_gaussian_clusters`: ``K`` class centres ``c_k ~ N(0, I_d)``, samples
  ``x_i = c_{y_i} + s·ε_i`` with ``ε_i ~ N(0, I_d)`` (``s = cluster_std``);
- :func:`make_digits_subset`: a balanced subset of scikit-learn's bundled 8×8 digits
  (``load_digits``: 1,797 × 64, K = 10, no download).

Both are balanced (``n`` samples of each class, labels ``0..K-1`` contiguous, in an order
shuffled by the seed), ``float64`` and every row scaled to unit Euclidean norm, the
normalisation of the spec's §5 calibration table (un-normalised inputs made full-batch GD
diverge at the step sizes used there). Everything random comes from a CPU
``torch.Generator`` seeded with ``seed``, so ``(builder, its arguments, seed)`` — all stored
in :attr:`Dataset.description` — reproduce the data bit for bit.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import torch

from ..errors import InvalidInput

__all__ = ["DIGITS_MIN_PER_CLASS", "Dataset", "make_digits_subset", "make_gaussian_clusters"]

#: the smallest class of ``load_digits`` has this many images
DIGITS_MIN_PER_CLASS = 174


@dataclass(frozen=True, eq=False)
class Dataset:
    """A balanced labelled data set: ``X`` ``(N, d)`` float64, ``y`` ``(N,)`` int64 in ``0..K-1``.

    ``seed`` and ``description`` (builder name and every argument) say how to rebuild it.
    """

    X: torch.Tensor
    y: torch.Tensor
    num_classes: int
    seed: int
    description: str

    @property
    def num_samples(self) -> int:
        return int(self.X.shape[0])

    @property
    def input_dim(self) -> int:
        return int(self.X.shape[1])

    @property
    def input_shape(self) -> tuple[int, ...]:
        """The shape of one sample: ``(d,)``, or ``(C, H, W)`` for images."""
        return tuple(int(v) for v in self.X.shape[1:])

    @property
    def samples_per_class(self) -> int:
        return self.num_samples // self.num_classes

    def __repr__(self) -> str:
        return f"Dataset({self.description})"


def _int(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidInput(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def _unit_rows(X: torch.Tensor) -> torch.Tensor:
    norms = torch.linalg.vector_norm(X, dim=1, keepdim=True)
    if bool((norms == 0).any()):
        raise InvalidInput("a sample has zero norm and cannot be scaled to unit norm")
    return X / norms


def make_gaussian_clusters(
    *,
    seed: int,
    num_classes: int,
    samples_per_class: int,
    input_dim: int,
    cluster_std: float = 0.5,
    center: bool = False,
) -> Dataset:
    """Balanced Gaussian clusters on the unit sphere (see the module docstring).

    ``center=True`` subtracts the global mean before scaling rows to unit norm.
    """
    seed = _int(seed, "seed", 0)
    K = _int(num_classes, "num_classes", 2)
    n = _int(samples_per_class, "samples_per_class", 1)
    d = _int(input_dim, "input_dim", 1)
    if (
        isinstance(cluster_std, bool)
        or not isinstance(cluster_std, (int, float))
        or not (math.isfinite(cluster_std) and cluster_std >= 0)
    ):
        raise InvalidInput(f"cluster_std must be a finite number >= 0, got {cluster_std!r}")
    g = torch.Generator(device="cpu").manual_seed(seed)
    centres = torch.randn(K, d, generator=g, dtype=torch.float64)
    y = torch.arange(K, dtype=torch.int64).repeat_interleave(n)
    y = y[torch.randperm(K * n, generator=g)]
    X = centres[y] + float(cluster_std) * torch.randn(K * n, d, generator=g, dtype=torch.float64)
    if center:
        X = X - X.mean(dim=0, keepdim=True)
    desc = (
        f"gaussian_clusters(num_classes={K}, samples_per_class={n}, input_dim={d}, "
        f"cluster_std={cluster_std}, center={bool(center)}, seed={seed}; unit-norm rows)"
    )
    return Dataset(_unit_rows(X), y, K, seed, desc)


@functools.lru_cache(maxsize=1)
def _digits() -> tuple[torch.Tensor, torch.Tensor]:
    from sklearn.datasets import load_digits  # deferred: heavy

    X, y = load_digits(return_X_y=True)
    return torch.as_tensor(X, dtype=torch.float64), torch.as_tensor(y, dtype=torch.int64)


def make_digits_subset(*, seed: int, num_classes: int, samples_per_class: int) -> Dataset:
    """A balanced subset of scikit-learn's 8×8 digits, rows scaled to unit norm.

    The ``num_classes`` digit classes and the ``samples_per_class`` images of each are drawn
    with the seed; chosen digits are relabelled ``0..K-1`` in increasing digit order (the
    description records which digits). ``samples_per_class <= 174`` (the smallest class).
    """
    seed = _int(seed, "seed", 0)
    K = _int(num_classes, "num_classes", 2)
    n = _int(samples_per_class, "samples_per_class", 1)
    if K > 10:
        raise InvalidInput(f"the digits data has 10 classes; num_classes={K} is too many")
    if n > DIGITS_MIN_PER_CLASS:
        raise InvalidInput(
            f"samples_per_class={n} exceeds {DIGITS_MIN_PER_CLASS}, the size of the smallest "
            "digits class; a balanced subset cannot be that large"
        )
    from ._sampling import balanced_subset

    Xall, yall = _digits()
    rows, y, digits = balanced_subset(Xall, yall, seed=seed, num_classes=K, samples_per_class=n)
    desc = (
        f"digits_subset(num_classes={K}, samples_per_class={n}, digits={digits}, seed={seed}; "
        "sklearn load_digits, unit-norm rows)"
    )
    return Dataset(_unit_rows(Xall[rows]), y, K, seed, desc)
