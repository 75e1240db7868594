"""The JSWM theorem family: Jacot, Súkeník, Wang, Mondelli, ICLR 2025 (arXiv 2410.04887).

* ``_snapshots``: what the theorems are measured on (:class:`LastPair`, :class:`HeadWeights`,
  :class:`TrainedNetwork`, :class:`Sweep`, :class:`DepthSweep`; pure data);
* ``_measure`` (Theorem 3.1), ``_measure_training`` (Theorem 4.4), ``_measure_stability``
  (Proposition 5.3), ``_measure_depth`` (Theorem 5.2, the imbalance lemma, the deep linear
  UFM optimum): measurements (torch), one symbol per quantity the specs use;
* ``_specs`` (Theorem 3.1 as four specs) and ``_specs_training`` (Theorem 4.4, Theorem 5.2,
  Proposition 5.3): the theorems as data;
* ``_training_runs``: training runs as data (:class:`RunConfig` -> :func:`train_configs`);
* ``_strategies`` and ``_strategies_training``: the hypothesis strategies that feed them.

Importing this package imports neither torch nor sympy (the strategies import hypothesis).
"""

from __future__ import annotations

from ._measure import measure_head, measure_last_pair
from ._measure_depth import (
    competitor,
    imbalance_bound,
    measure_deep_ufm_sweep,
    measure_depth_sweep,
    measure_imbalance,
)
from ._measure_stability import TREND_RTOL, measure_eta_sweep, measure_stable_run
from ._measure_training import (
    CONVERGENCE_TOL,
    measure_activation_slope,
    measure_lambda_sweep,
    measure_trained_network,
)
from ._snapshots import DepthSweep, HeadWeights, LastPair, Sweep, TrainedNetwork
from ._specs import DEPTH, NC1, NC2, NC3, SOURCE
from ._specs import THEOREMS as _THEOREM_31
from ._specs_training import (
    ARCH_ASSUMPTIONS,
    DEPTH_TREND,
    IMBALANCE,
    RATES,
    STABILITY,
    STABILITY_EOS,
    TRAINING_NC1,
    TRAINING_THEOREMS,
)
from ._strategies import (
    EPS1_ANCHORS,
    FAMILIES,
    RESIDUALS,
    anchor_value,
    build_last_pair,
    head_instances,
    rank_kappa,
)
from ._strategies_heads import balanced_heads, balanced_pairs, build_head, factorizations
from ._strategies_training import (
    TRAINING_SIZES,
    TrainingSizes,
    depth_sweeps,
    eta_sweeps,
    imbalanced_heads,
    lambda_sweeps,
    violating_runs,
)
from ._training_runs import RunConfig, build_data, build_initial_network, train_configs

THEOREMS = (*_THEOREM_31, *TRAINING_THEOREMS)

__all__ = [
    "ARCH_ASSUMPTIONS",
    "CONVERGENCE_TOL",
    "DEPTH",
    "DEPTH_TREND",
    "EPS1_ANCHORS",
    "FAMILIES",
    "IMBALANCE",
    "NC1",
    "NC2",
    "NC3",
    "RATES",
    "RESIDUALS",
    "SOURCE",
    "STABILITY",
    "STABILITY_EOS",
    "THEOREMS",
    "TRAINING_NC1",
    "TRAINING_SIZES",
    "TRAINING_THEOREMS",
    "TREND_RTOL",
    "DepthSweep",
    "HeadWeights",
    "LastPair",
    "RunConfig",
    "Sweep",
    "TrainedNetwork",
    "TrainingSizes",
    "anchor_value",
    "balanced_heads",
    "balanced_pairs",
    "build_data",
    "build_head",
    "build_initial_network",
    "build_last_pair",
    "competitor",
    "depth_sweeps",
    "eta_sweeps",
    "factorizations",
    "head_instances",
    "imbalance_bound",
    "imbalanced_heads",
    "lambda_sweeps",
    "measure_activation_slope",
    "measure_deep_ufm_sweep",
    "measure_depth_sweep",
    "measure_eta_sweep",
    "measure_head",
    "measure_imbalance",
    "measure_lambda_sweep",
    "measure_last_pair",
    "measure_stable_run",
    "measure_trained_network",
    "rank_kappa",
    "train_configs",
    "violating_runs",
]
