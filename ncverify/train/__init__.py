"""Training under gradient descent with weight decay, and sharpness (see ``docs/training.md``).

* ``_loop``: :func:`train`, full-batch GD on the spec's MSE loss with weight decay;
* ``_config``: :class:`TrainingConfig`, :class:`TrainingRun`, :class:`Trajectory`;
* ``_recursion``: the one-step balancedness recursion checked at every step (spec §4);
* ``_batched`` (with ``_batched_step``, ``_batched_results``): :func:`train_many`, ``R``
  networks of one shape trained at once, bit for bit the single loop on the CPU, with the
  balancedness envelope of spec §8 at every step;
* ``_sharpness``: the largest Hessian eigenvalue, by power iteration on Hessian-vector
  products (:func:`sharpness`) or from the full Hessian (:func:`exact_sharpness`).

::

    from ncverify.train import train
    run = train(net, X, y, lr=0.3, weight_decay=3e-3, steps=10_000, seed=0)
    run.outcome, run.final["eps1"], run.max_recursion_residual

    from ncverify.train import train_many
    many = train_many(X, y, widths=(64, 32), head_widths=(16, 8), num_classes=4,
                      seeds=range(32), lr=0.3, weight_decay=3e-3, steps=10_000)
    many[0].trajectory.envelope
"""

from __future__ import annotations

from ._batched import BatchedRun, BatchedTrajectory, ManyRuns, train_many
from ._config import (
    DIVERGENCE_FACTOR,
    TrainingConfig,
    TrainingRun,
    Trajectory,
    resolve_device,
)
from ._loop import train
from ._sharpness import (
    EXACT_MAX_PARAMS,
    Sharpness,
    exact_sharpness,
    hessian_vector_product,
    sharpness,
)

__all__ = [
    "DIVERGENCE_FACTOR",
    "EXACT_MAX_PARAMS",
    "BatchedRun",
    "BatchedTrajectory",
    "ManyRuns",
    "Sharpness",
    "TrainingConfig",
    "TrainingRun",
    "Trajectory",
    "exact_sharpness",
    "hessian_vector_product",
    "resolve_device",
    "sharpness",
    "train",
    "train_many",
]
