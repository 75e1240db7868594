"""The JSWM theorem family: Jacot, Súkeník, Wang, Mondelli, ICLR 2025 (arXiv 2410.04887).

* ``_snapshots``: what the theorems are measured on (:class:`LastPair`, :class:`HeadWeights`,
  :class:`TrainedNetwork`, :class:`DepthSweep`; pure data);
* ``_measure`` / ``_measure_training``: measurements (torch), one symbol per quantity the
  specs use;
* ``_specs``: the theorems as data (Theorem 3.1 as four specs, Theorem 4.4, Theorem 5.2,
  Proposition 5.3);
* ``_strategies``: the hypothesis strategies that feed them (adversarial last pairs, balanced
  heads, factorisations).

Importing this package imports neither torch nor sympy (the strategies import hypothesis).
"""

from __future__ import annotations

from ._measure import imbalance_bound, measure_head, measure_last_pair
from ._measure_training import (
    CONVERGENCE_TOL,
    TREND_RTOL,
    measure_depth_sweep,
    measure_stable_run,
    measure_trained_network,
)
from ._snapshots import DepthSweep, HeadWeights, LastPair, TrainedNetwork
from ._specs import (
    ARCH_ASSUMPTIONS,
    DEPTH,
    DEPTH_TREND,
    NC1,
    NC2,
    NC3,
    SOURCE,
    STABILITY,
    THEOREMS,
    TRAINING_NC1,
)
from ._strategies import (
    balanced_heads,
    balanced_pairs,
    build_head,
    build_last_pair,
    factorizations,
    head_instances,
)

__all__ = [
    "ARCH_ASSUMPTIONS",
    "CONVERGENCE_TOL",
    "DEPTH",
    "DEPTH_TREND",
    "NC1",
    "NC2",
    "NC3",
    "SOURCE",
    "STABILITY",
    "THEOREMS",
    "TRAINING_NC1",
    "TREND_RTOL",
    "DepthSweep",
    "HeadWeights",
    "LastPair",
    "TrainedNetwork",
    "balanced_heads",
    "balanced_pairs",
    "build_head",
    "build_last_pair",
    "factorizations",
    "head_instances",
    "imbalance_bound",
    "measure_depth_sweep",
    "measure_head",
    "measure_last_pair",
    "measure_stable_run",
    "measure_trained_network",
]
