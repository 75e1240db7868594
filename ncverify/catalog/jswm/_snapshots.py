"""Snapshots the JSWM specs are measured on (pure data; no torch import).

* :class:`LastPair` and :class:`HeadWeights`: Theorem 3.1 (no training);
* :class:`TrainedNetwork`, :class:`Sweep` and :class:`DepthSweep`: Theorems 4.4, 5.2,
  Proposition 5.3.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DepthSweep", "HeadWeights", "LastPair", "Sweep", "TrainedNetwork"]


@dataclass(frozen=True, eq=False)
class LastPair:
    """The last linear pair of a network and the features entering it.

    ``Z``: (N, p) features ``Z_{L-2}`` (rows = samples); ``W_lower``: (n, p)
    ``W_{L-1}``; ``W_upper``: (K, n) ``W_L``; ``y``: (N,) labels in ``0..K-1``,
    balanced (n samples per class). Then ``Z_{L-1} = Z W_lowerᵀ`` and
    ``Z_L = Z_{L-1} W_upperᵀ``. ``inputs``: how the instance was made (seed, sizes).
    """

    Z: Any
    W_lower: Any
    W_upper: Any
    y: Any
    inputs: Mapping[str, Any] = field(default_factory=dict)

    @property
    def seed(self) -> int | None:
        return self.inputs.get("seed")


@dataclass(frozen=True, eq=False)
class HeadWeights:
    """A linear head ``(W_{L1+1}, ..., W_L)`` in forward order (math convention shapes).

    ``weight_decay`` (λ) is used by the representation-cost specs of
    :mod:`ncverify.catalog.gd`.
    """

    weights: Sequence[Any]
    inputs: Mapping[str, Any] = field(default_factory=dict)
    weight_decay: float = 1.0

    @property
    def seed(self) -> int | None:
        return self.inputs.get("seed")


@dataclass(frozen=True, eq=False)
class TrainedNetwork:
    """A training run (:class:`ncverify.train.TrainingRun`) to judge, with what it needs.

    ``nc1_tolerance``: the profile's tolerance on NC1 of ``Z_{L−1}`` (reported, no longer a
    claim); ``sharpness``: a :class:`ncverify.train.Sharpness` (power iteration; plug-in runs);
    ``sharpness_steps``: step -> exact ``λ_max(∇²L_λ)`` at the sampled steps (batched runs);
    ``step_lr``: step -> the step size ``η_t`` there (a step-size schedule; default
    ``run.config.lr`` at every step);
    ``architecture``: how the network was named (``"module:factory"`` or a description);
    ``inputs``: how to rebuild the instance; ``config``: the
    :class:`~ncverify.catalog.jswm.RunConfig` it was trained from (``None`` for plug-ins).
    """

    run: Any
    nc1_tolerance: float = 0.1
    sharpness: Any = None
    architecture: str = ""
    inputs: Mapping[str, Any] = field(default_factory=dict)
    sharpness_steps: Mapping[int, float] = field(default_factory=dict)
    config: Any = None
    step_lr: Mapping[int, float] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class Sweep:
    """Trained runs that differ in one hyper-parameter ``parameter`` (``"weight_decay"`` or
    ``"lr"``), everything else equal (data, seed, initialisation, architecture)."""

    runs: Sequence[TrainedNetwork]
    parameter: str
    inputs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class DepthSweep:
    """Runs of the same nonlinear part (same widths, seed, data, λ, η) with ``L2 = 2, 3, …``
    (:class:`TrainedNetwork` or :class:`~ncverify.train.TrainingRun` entries)."""

    runs: Sequence[Any]
    inputs: Mapping[str, Any] = field(default_factory=dict)
