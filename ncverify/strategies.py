"""Hypothesis strategies for ncverify's property tests and theorem checks.

Networks, data sets and hyper-parameters (:mod:`ncverify._strategies_models`,
:mod:`ncverify._datasets`) and labelled feature matrices (:mod:`ncverify._strategies_data`).
Every strategy takes keyword-only arguments and raises
``hypothesis.errors.InvalidArgument`` on bad ones; every generated value records the seed
it is rebuilt from.

Example — a network satisfying JSWM's architecture assumptions and data to train it on::

    from hypothesis import given
    from ncverify.strategies import architectures, gaussian_clusters

    @given(data=gaussian_clusters(num_classes=4, samples_per_class=10, input_dim=16),
           arch=architectures(num_samples=40, input_dim=16, num_classes=4))
    def test_something(data, arch):
        net = arch.build()          # PyramidalMLP, float64, seeded by arch.seed
        ...
"""

from __future__ import annotations

from . import _strategies_data, _strategies_gd, _strategies_jswm
from ._datasets import Dataset, make_digits_subset, make_gaussian_clusters
from ._strategies_data import *  # noqa: F403  (every data strategy, see its __all__)
from ._strategies_gd import *  # noqa: F403  (GD-step and UFM-point instances)
from ._strategies_jswm import *  # noqa: F403  (JSWM Theorem 3.1 instances)
from ._strategies_models import (
    MAX_STABLE_LEARNING_RATE,
    VIOLATIONS,
    ArchitectureSpec,
    Hyperparameters,
    architectures,
    digits_subsets,
    gaussian_clusters,
    training_hyperparameters,
)

__all__ = [
    "MAX_STABLE_LEARNING_RATE",
    "VIOLATIONS",
    "ArchitectureSpec",
    "Dataset",
    "Hyperparameters",
    "architectures",
    "digits_subsets",
    "gaussian_clusters",
    "make_digits_subset",
    "make_gaussian_clusters",
    "training_hyperparameters",
    *_strategies_data.__all__,
    *_strategies_gd.__all__,
    *_strategies_jswm.__all__,
]
