"""User data: arrays ``X, y`` (tensors, NumPy arrays, or a ``.npz`` file) made into a
:class:`~ncverify.data.Dataset` the training runs can use.

What the project does to the data, in this order (each step recorded in the description):

1. **validation** -- ``X`` must be ``(N, d)`` and finite, ``y`` ``(N,)`` integer labels, at
   least two classes; anything else raises :class:`~ncverify.InvalidInput` naming the value,
   the rule and the remedy (never a raw NumPy/torch error or a silent number);
2. **class selection** -- ``num_classes`` of the labels present, drawn with the seed (all of
   them by default), relabelled ``0..K-1`` in increasing order of the original label;
3. **balancing and subset selection** -- ``samples_per_class`` rows of every chosen class,
   drawn with the seed (default: the size of the smallest chosen class), rows shuffled;
4. **row scaling** -- ``scale="unit"`` divides every row by its Euclidean norm (the
   normalisation of spec §5, which the step sizes of the reproductions assume), ``"none"``
   keeps the values.

Everything random comes from a CPU ``torch.Generator`` seeded with ``seed``, so the same
arrays, arguments and seed give the same data set bit for bit.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import torch

from ..errors import InvalidInput
from ._sampling import SCALINGS, balanced_subset, scale_rows

__all__ = ["SCALINGS", "fingerprint", "load_npz", "make_dataset"]


def _as_numpy(a, name: str) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        return a.detach().cpu().numpy()
    try:
        out = np.asarray(a)
    except Exception as exc:  # ragged lists and the like
        raise InvalidInput(f"{name} cannot be read as an array ({exc})") from None
    if out.dtype == object:
        raise InvalidInput(
            f"{name} has dtype object (ragged rows or mixed types); pass a numeric array"
        )
    return out


def _check_arrays(X, y) -> tuple[np.ndarray, np.ndarray]:
    """Validated ``(X float64 (N, d), y int64 (N,))`` (the rules of the module docstring)."""
    X, y = _as_numpy(X, "X"), _as_numpy(y, "y")
    if X.ndim != 2:
        hint = " (images: X.reshape(len(X), -1))" if X.ndim > 2 else ""
        raise InvalidInput(
            f"X must be a 2-D array (N samples, d features), got shape {tuple(X.shape)}{hint}"
        )
    if y.ndim != 1:
        raise InvalidInput(
            f"y must be a 1-D array of N class labels, got shape {tuple(y.shape)}"
            + (" (one-hot labels: y.argmax(axis=1))" if y.ndim == 2 else "")
        )
    if X.shape[0] != y.shape[0]:
        raise InvalidInput(
            f"X has {X.shape[0]} rows but y has {y.shape[0]} labels; they must match "
            "(one label per sample)"
        )
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise InvalidInput(f"X is empty (shape {tuple(X.shape)}); it needs samples and features")
    if not (np.issubdtype(X.dtype, np.number) or X.dtype == bool) or np.iscomplexobj(X):
        raise InvalidInput(f"X must hold real numbers, got dtype {X.dtype}")
    X = X.astype(np.float64)
    bad = ~np.isfinite(X)
    if bad.any():
        row = int(np.nonzero(bad.any(axis=1))[0][0])
        raise InvalidInput(
            f"X contains {int(bad.sum())} non-finite value(s) (NaN or inf), the first in "
            f"row {row}; remove or impute them before training"
        )
    if np.issubdtype(y.dtype, np.floating):
        finite = np.isfinite(y)
        if not finite.all() or not np.all(y == np.round(y)):
            first = y[~finite][0] if not finite.all() else y[y != np.round(y)][0]
            raise InvalidInput(
                f"y must hold integer class labels, got the value {float(first)!r}; "
                "map the labels to integers first"
            )
    elif not (np.issubdtype(y.dtype, np.integer) or y.dtype == bool):
        raise InvalidInput(
            f"y must hold integer class labels, got dtype {y.dtype}; "
            "map the labels to integers first (e.g. np.unique(y, return_inverse=True)[1])"
        )
    y = y.astype(np.int64)
    return X, y


def fingerprint(X: np.ndarray, y: np.ndarray) -> str:
    """First 12 hex digits of the SHA-256 of ``X`` (float64) and ``y`` (int64), C order."""
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(X, dtype=np.float64).tobytes())
    h.update(np.ascontiguousarray(y, dtype=np.int64).tobytes())
    return h.hexdigest()[:12]


def make_dataset(
    X,
    y,
    *,
    samples_per_class: int | None = None,
    num_classes: int | None = None,
    seed: int = 0,
    scale: str = "unit",
    name: str = "arrays",
):
    """A balanced :class:`~ncverify.data.Dataset` from user arrays (module docstring).

    ``X``: ``(N, d)`` real, finite (torch tensor, NumPy array or nested lists); ``y``:
    ``(N,)`` integer labels (any integers; relabelled ``0..K-1``). The description records
    ``name``, the arguments, the chosen original labels and a fingerprint of the arrays.
    """
    from ._datasets import Dataset

    if scale not in SCALINGS:
        raise InvalidInput(f"scale={scale!r}; choose one of {', '.join(SCALINGS)}")
    Xn, yn = _check_arrays(X, y)
    Xt, yt = torch.from_numpy(Xn), torch.from_numpy(yn)
    rows, labels, classes = balanced_subset(
        Xt, yt, seed=seed, num_classes=num_classes, samples_per_class=samples_per_class
    )
    n = int(labels.numel()) // len(classes)
    desc = (
        f"{name}(num_classes={len(classes)}, samples_per_class={n}, classes={classes}, "
        f"seed={seed}, scale={scale!r}; source N={Xn.shape[0]}, d={Xn.shape[1]}, "
        f"sha256 {fingerprint(Xn, yn)})"
    )
    return Dataset(scale_rows(Xt[rows], scale), labels, len(classes), int(seed), desc)


def load_npz(
    path: str | os.PathLike,
    *,
    samples_per_class: int | None = None,
    num_classes: int | None = None,
    seed: int = 0,
    scale: str = "unit",
):
    """:func:`make_dataset` on the arrays ``X`` and ``y`` of a NumPy ``.npz`` file.

    Write one with ``numpy.savez("data.npz", X=X, y=y)``. Pickled (object) arrays are
    refused. Raises :class:`InvalidInput` for a missing or unreadable file or missing arrays.
    """
    p = Path(path)
    if not p.is_file():
        raise InvalidInput(
            f"data file {str(path)!r} does not exist; pass a .npz file with arrays X and y"
        )
    with p.open("rb") as fh:
        magic = fh.read(6)
    if magic == b"\x93NUMPY":
        raise InvalidInput(
            f"data file {str(path)!r} holds a single array, not an .npz archive; "
            "write it with numpy.savez(path, X=X, y=y)"
        )
    try:
        if not magic.startswith(b"PK"):
            raise ValueError("no zip signature")
        archive = np.load(p, allow_pickle=False)
    except Exception as exc:
        raise InvalidInput(
            f"data file {str(path)!r} is not a NumPy .npz archive ({exc}); "
            "write it with numpy.savez(path, X=X, y=y)"
        ) from None
    with archive:
        missing = [k for k in ("X", "y") if k not in archive.files]
        if missing:
            raise InvalidInput(
                f"data file {str(path)!r} has arrays {sorted(archive.files)} but no "
                f"{' and no '.join(repr(k) for k in missing)}; it needs 'X' (N x d features) "
                "and 'y' (N labels)"
            )
        try:
            X, y = archive["X"], archive["y"]
        except ValueError:
            raise InvalidInput(
                f"data file {str(path)!r} holds pickled (object) arrays, which are not loaded; "
                "save plain numeric arrays with numpy.savez(path, X=X, y=y)"
            ) from None
    return make_dataset(
        X,
        y,
        samples_per_class=samples_per_class,
        num_classes=num_classes,
        seed=seed,
        scale=scale,
        name=f"npz:{p.name}",
    )
