"""Balanced subsets and row scaling, shared by every data set of :mod:`ncverify.data`."""

from __future__ import annotations

import numpy as np
import torch

from ..errors import InvalidInput

__all__ = ["SCALINGS", "balanced_subset", "scale_rows"]

SCALINGS = ("unit", "none")


def _int(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InvalidInput(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def balanced_subset(
    X: torch.Tensor, y: torch.Tensor, *, seed: int, num_classes: int | None, samples_per_class
):
    """``(rows, labels, classes)`` of a balanced subset of the labelled pool ``(X, y)``.

    ``classes``: the chosen original labels, sorted (``num_classes`` of them drawn with the
    seed; ``None``: all); ``labels`` relabel them ``0..K-1``; ``samples_per_class`` rows of
    each (``None``: the smallest chosen class), in an order shuffled by the seed. Raises
    :class:`InvalidInput` when the pool cannot give what is asked.
    """
    present, counts = torch.unique(y, return_counts=True)
    C = int(present.numel())
    if C < 2:
        raise InvalidInput(
            f"y has a single class (label {int(present[0])}) in {int(y.numel())} samples; "
            "neural collapse needs at least 2 classes"
        )
    K = C if num_classes is None else _int(num_classes, "num_classes", 2)
    if K > C:
        raise InvalidInput(
            f"num_classes={K} but y has only {C} classes ({present.tolist()}); ask for at most {C}"
        )
    g = torch.Generator(device="cpu").manual_seed(_int(seed, "seed", 0))
    pick = sorted(torch.randperm(C, generator=g)[:K].tolist())
    classes = [int(present[i]) for i in pick]
    sizes = {int(present[i]): int(counts[i]) for i in pick}
    smallest = min(sizes, key=lambda c: (sizes[c], c))
    if samples_per_class is None:
        n = sizes[smallest]
        if n < 2:
            raise InvalidInput(
                f"class {smallest} has {n} sample; within-class variability (NC1) needs at "
                "least 2 samples per class: add samples or drop the class"
            )
    else:
        n = _int(samples_per_class, "samples_per_class", 1)
        if n > sizes[smallest]:
            raise InvalidInput(
                f"class {smallest} has {sizes[smallest]} samples but samples_per_class={n} "
                f"were asked; ask for at most {sizes[smallest]} or drop that class"
            )
    rows, labels = [], []
    for label, c in enumerate(classes):
        idx = torch.nonzero(y == c).flatten()
        rows.append(idx[torch.randperm(idx.numel(), generator=g)[:n]])
        labels.append(torch.full((n,), label, dtype=torch.int64))
    rows_t, labels_t = torch.cat(rows), torch.cat(labels)
    perm = torch.randperm(K * n, generator=g)
    return rows_t[perm], labels_t[perm], classes


def scale_rows(X: torch.Tensor, scale: str) -> torch.Tensor:
    """Rows scaled to unit Euclidean norm (``"unit"``) or kept (``"none"``)."""
    if scale not in SCALINGS:
        raise InvalidInput(f"scale={scale!r}; choose one of {', '.join(SCALINGS)}")
    if scale == "none":
        return X
    norms = torch.linalg.vector_norm(X, dim=1, keepdim=True)
    if bool((norms == 0).any()):
        row = int(torch.nonzero(norms.flatten() == 0)[0])
        raise InvalidInput(
            f"row {row} of X is all zeros and cannot be scaled to unit norm; drop it or "
            "pass scale='none'"
        )
    return X / norms
