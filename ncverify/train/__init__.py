"""Training under gradient descent with weight decay, and sharpness (see ``docs/training.md``).

* ``_loop``: :func:`train`, full-batch GD on the spec's MSE loss with weight decay;
* ``_config``: :class:`TrainingConfig`, :class:`TrainingRun`, :class:`Trajectory`;
* ``_recursion``: the one-step balancedness recursion checked at every step (spec §4);
* ``_sharpness``: the largest Hessian eigenvalue by power iteration on Hessian-vector
  products.

::

    from ncverify.train import train
    run = train(net, X, y, lr=0.3, weight_decay=3e-3, steps=10_000, seed=0)
    run.outcome, run.final["eps1"], run.max_recursion_residual
"""

from __future__ import annotations

from ._config import (
    DIVERGENCE_FACTOR,
    TrainingConfig,
    TrainingRun,
    Trajectory,
    resolve_device,
)
from ._loop import train
from ._sharpness import Sharpness, hessian_vector_product, sharpness

__all__ = [
    "DIVERGENCE_FACTOR",
    "Sharpness",
    "TrainingConfig",
    "TrainingRun",
    "Trajectory",
    "hessian_vector_product",
    "resolve_device",
    "sharpness",
    "train",
]
