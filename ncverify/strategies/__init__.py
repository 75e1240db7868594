"""Hypothesis strategies for ncverify's property tests and theorem checks.

Engine-level strategies: labelled feature matrices (``_data``) and networks, data sets and
hyper-parameters for training runs (``_models``). The strategies that feed one theorem family
live beside its specs (e.g. :func:`ncverify.catalog.jswm.head_instances`).
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

from . import _data
from ._data import *  # noqa: F403  (every data strategy, see its __all__)
from ._models import (
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
    "Hyperparameters",
    "architectures",
    "digits_subsets",
    "gaussian_clusters",
    "training_hyperparameters",
    *_data.__all__,
]
