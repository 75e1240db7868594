"""Snapshots of the gradient-descent identities (pure data): one GD step, a stationary point.

Both carry, besides the pair of weights and their gradients, the *probe data* of the batch the
gradients came from, so that "the pair is linear and bias-free" is measured, not declared:
``Z_in`` (rows: the features entering ``W_lower``), ``Z_out`` (the features entering
``W_upper``) and ``dU`` (the gradient of the data term with respect to ``W_upper``'s output
``Z_out W_upperᵀ``). The head snapshot of the representation-cost specs is
:class:`ncverify.catalog.jswm.HeadWeights`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["GDStep", "StationaryPoint"]


@dataclass(frozen=True, eq=False)
class GDStep:
    """One optimiser step on a pair of layers ``W_lower = W_l``, ``W_upper = W_{l+1}``.

    ``G_*``: gradients of the data term at the weights before the step; ``*_next``: the
    weights after it; ``lr`` = η, ``weight_decay`` = λ; ``Z_in`` (B, d), ``Z_out`` (B, h),
    ``dU`` (B, k): the probe data of the batch (module docstring), ``W_lower`` is (h, d),
    ``W_upper`` (k, h); ``momentum``: the optimiser's (a record only: whether the update is a
    plain GD step is measured from the weights).
    """

    W_lower: Any
    W_upper: Any
    G_lower: Any
    G_upper: Any
    W_lower_next: Any
    W_upper_next: Any
    lr: float
    weight_decay: float
    Z_in: Any = None
    Z_out: Any = None
    dU: Any = None
    momentum: float = 0.0
    inputs: Mapping[str, Any] = field(default_factory=dict)

    @property
    def seed(self) -> int | None:
        return self.inputs.get("seed")


@dataclass(frozen=True, eq=False)
class StationaryPoint:
    """A pair of layers with the full gradients of ``L_λ`` (data term + weight decay) and the
    probe data of the samples the data term sums over (``Z_in``, ``Z_out``, ``dU`` as in
    :class:`GDStep`)."""

    W_lower: Any
    W_upper: Any
    grad_lower: Any
    grad_upper: Any
    weight_decay: float
    Z_in: Any = None
    Z_out: Any = None
    dU: Any = None
    inputs: Mapping[str, Any] = field(default_factory=dict)

    @property
    def seed(self) -> int | None:
        return self.inputs.get("seed")
