"""Snapshots of the gradient-descent identities (pure data): one GD step, a stationary point.

The head snapshot of the representation-cost specs is :class:`ncverify.catalog.jswm.HeadWeights`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["GDStep", "StationaryPoint"]


@dataclass(frozen=True, eq=False)
class GDStep:
    """One optimiser step on a pair of layers ``W_lower = W_l``, ``W_upper = W_{l+1}``.

    ``G_*``: gradients of the data term at the weights before the step; ``*_next``:
    the weights after it; ``lr`` = η, ``weight_decay`` = λ; ``nonlinear_between``:
    whether σ is applied between the two layers; ``momentum``: the optimiser's.
    """

    W_lower: Any
    W_upper: Any
    G_lower: Any
    G_upper: Any
    W_lower_next: Any
    W_upper_next: Any
    lr: float
    weight_decay: float
    nonlinear_between: bool = False
    momentum: float = 0.0
    inputs: Mapping[str, Any] = field(default_factory=dict)

    @property
    def seed(self) -> int | None:
        return self.inputs.get("seed")


@dataclass(frozen=True, eq=False)
class StationaryPoint:
    """A pair of layers with the full gradients of ``L_λ`` (data term + weight decay)."""

    W_lower: Any
    W_upper: Any
    grad_lower: Any
    grad_upper: Any
    weight_decay: float
    nonlinear_between: bool = False
    inputs: Mapping[str, Any] = field(default_factory=dict)

    @property
    def seed(self) -> int | None:
        return self.inputs.get("seed")
