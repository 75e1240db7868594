"""Activations of the JSWM network family, each with its derivative range.

JSWM Assumption 4.2 (spec §5) asks for an activation with ``σ'(x) ∈ [γ, 1]`` for
all ``x`` and some ``γ > 0``. Every activation here reports that range through
``slope_range() -> (γ, β)`` = ``(inf σ', sup σ')`` so the assumption can be
measured instead of assumed:

==============  ==============================  =============  ======================
name            σ(x)                            (γ, β)         Assumption 4.2
==============  ==============================  =============  ======================
``gamma_tanh``  ``γ x + (1 − γ) tanh x``        ``(γ, 1)``     holds for ``0 < γ ≤ 1``
``relu``        ``max(x, 0)``                   ``(0, 1)``     violated (γ = 0)
``tanh``        ``tanh x``                      ``(0, 1)``     violated (inf σ' = 0)
==============  ==============================  =============  ======================
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..errors import InvalidInput

__all__ = [
    "ACTIVATIONS",
    "GammaTanh",
    "ReLU",
    "Tanh",
    "make_activation",
]


class GammaTanh(nn.Module):
    r"""``σ(x) = γ x + (1 − γ) tanh x``: the example activation of JSWM Assumption 4.2 (spec §5).

    ``σ'(x) = γ + (1 − γ)(1 − tanh² x) ∈ [γ, 1]``: the supremum 1 is attained at 0 and the
    infimum γ approached as ``|x| → ∞``. Requires ``0 < γ ≤ 1`` (``γ = 1`` is the identity).
    """

    name = "gamma_tanh"

    def __init__(self, gamma: float = 0.5):
        super().__init__()
        if isinstance(gamma, bool) or not isinstance(gamma, (int, float)):
            raise InvalidInput(f"gamma must be a real number in (0, 1], got {gamma!r}")
        gamma = float(gamma)
        if not (math.isfinite(gamma) and 0.0 < gamma <= 1.0):
            raise InvalidInput(
                f"gamma must lie in (0, 1] so that σ'(x) ∈ [γ, 1] with γ > 0 (JSWM Assumption "
                f"4.2), got gamma={gamma}; use ReLU() or Tanh() for an activation violating it"
            )
        self.gamma = gamma

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.gamma * x + (1.0 - self.gamma) * torch.tanh(x)

    def slope_range(self) -> tuple[float, float]:
        """``(inf σ', sup σ') = (γ, 1)``."""
        return (self.gamma, 1.0)

    def extra_repr(self) -> str:
        return f"gamma={self.gamma}"


class ReLU(nn.Module):
    """``σ(x) = max(x, 0)``; ``σ' ∈ {0, 1}``, so ``(γ, β) = (0, 1)``: violates Assumption 4.2."""

    name = "relu"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x)

    def slope_range(self) -> tuple[float, float]:
        return (0.0, 1.0)


class Tanh(nn.Module):
    """``σ(x) = tanh x``; ``σ' ∈ (0, 1]`` with infimum 0, so ``(γ, β) = (0, 1)``: violates 4.2."""

    name = "tanh"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(x)

    def slope_range(self) -> tuple[float, float]:
        return (0.0, 1.0)


ACTIVATIONS: dict[str, type[nn.Module]] = {
    "gamma_tanh": GammaTanh,
    "relu": ReLU,
    "tanh": Tanh,
}


def make_activation(name: str, gamma: float | None = None) -> nn.Module:
    """The activation called ``name`` (a key of :data:`ACTIVATIONS`).

    ``gamma`` is used by ``"gamma_tanh"`` only (default 0.5) and must be ``None`` otherwise.
    """
    if name not in ACTIVATIONS:
        raise InvalidInput(
            f"unknown activation {name!r}; choose one of {', '.join(sorted(ACTIVATIONS))}"
        )
    if name == "gamma_tanh":
        return GammaTanh(0.5 if gamma is None else gamma)
    if gamma is not None:
        raise InvalidInput(
            f"activation {name!r} takes no gamma (got gamma={gamma!r}); "
            "gamma parametrises 'gamma_tanh' only"
        )
    return ACTIVATIONS[name]()
