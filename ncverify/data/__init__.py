"""Data sets for training runs and reproductions (spec §5), made offline and seeded.

* :func:`make_gaussian_clusters` -- balanced Gaussian clusters, rows scaled to unit norm;
* :func:`make_digits_subset` -- a balanced subset of scikit-learn's 8×8 digits.

Each returns a :class:`Dataset` (``X`` ``(N, d)`` float64, ``y`` ``(N,)`` int64, a
description and the seed it is rebuilt from).
"""

from __future__ import annotations

from ._datasets import DIGITS_MIN_PER_CLASS, Dataset, make_digits_subset, make_gaussian_clusters

__all__ = ["DIGITS_MIN_PER_CLASS", "Dataset", "make_digits_subset", "make_gaussian_clusters"]
