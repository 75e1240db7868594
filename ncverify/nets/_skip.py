r"""Networks with skip connections and a bias-free linear head: :class:`ResidualMLP` and
:class:`DenseMLP` (DenseNet-style concatenation).

Both satisfy the network protocol of :mod:`ncverify.nets._protocol` and are built like
:class:`~ncverify.nets.PyramidalMLP` (bias-free, ``W ~ N(0, 1/fan_in)`` from a CPU generator
seeded with ``seed``), so the three can be trained under the same settings. They lie outside
the scope of JSWM's Theorem 4.4, which is about plain MLPs with a pyramidal topology
(Assumption 4.1): JSWM name ResNet- and DenseNet-style networks as an open question. Neither
declares ``nonlinear_widths()`` (a skip block is not a layer of that family, so Assumption
4.1 is *not checkable* on them rather than guessed); both declare the activation's slope
range, which is a property of σ.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch
from torch import nn

from ..errors import InvalidInput
from ._activations import make_activation
from ._protocol import _int_tuple, _positive_int

__all__ = ["DenseMLP", "ResidualMLP"]


def _linear(fan_in: int, fan_out: int, generator: torch.Generator) -> nn.Linear:
    # built on the meta device so that nn.Linear's own init draws nothing from the global RNG
    layer = nn.Linear(fan_in, fan_out, bias=False, device="meta")
    w = torch.randn(fan_out, fan_in, generator=generator, dtype=torch.float64)
    layer.weight = nn.Parameter(w / math.sqrt(fan_in))
    return layer


class _SkipBase(nn.Module):
    """Shared set-up: argument checks, the activation, the head, the protocol methods."""

    def _setup(self, input_dim, widths, head_widths, num_classes, activation, seed) -> tuple:
        input_dim = _positive_int(input_dim, "input_dim")
        widths = _int_tuple(widths, "widths")
        head_widths = _int_tuple(head_widths, "head_widths")
        num_classes = _positive_int(num_classes, "num_classes")
        if not widths:
            raise InvalidInput("widths must name at least one nonlinear layer (L1 >= 1), got ()")
        if num_classes < 2:
            raise InvalidInput(f"num_classes must be >= 2, got {num_classes}")
        if isinstance(activation, str):
            activation = make_activation(activation)
        elif not isinstance(activation, nn.Module):
            raise InvalidInput(
                f"activation must be an nn.Module or a name, got {type(activation).__name__}"
            )
        self.input_dim = input_dim
        self.num_classes = num_classes
        self.num_head_layers = len(head_widths) + 1
        self.num_nonlinear_layers = len(widths)
        self.activation = activation
        self.seed = None if seed is None else int(seed)
        generator = torch.Generator(device="cpu")
        if seed is None:
            generator.seed()
        else:
            generator.manual_seed(int(seed))
        return widths, head_widths, generator

    def _build_head(self, fan_in: int, head_widths, generator) -> None:
        dims = (fan_in, *head_widths, self.num_classes)
        self.head = nn.ModuleList(_linear(a, b, generator) for a, b in itertools.pairwise(dims))

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.layer_features(X)[-1]

    def weights(self) -> list[torch.Tensor]:
        """``[W_1, ..., W_L]`` (math convention ``(n_out, n_in)``), the parameters themselves."""
        return [layer.weight for layer in (*self.nonlinear, *self.head)]

    def head_weights(self) -> list[torch.Tensor]:
        """``[W_{L1+1}, ..., W_L]``, the head's weight matrices (parameters, not copies)."""
        return [layer.weight for layer in self.head]

    def activation_slope_range(self) -> tuple[float, float] | None:
        """``(γ, β)`` with ``σ' ∈ [γ, β]``, from the activation; ``None`` if it does not say."""
        fn = getattr(self.activation, "slope_range", None)
        return None if fn is None else tuple(float(v) for v in fn())

    def _head_features(self, Z: torch.Tensor, feats: list) -> list[torch.Tensor]:
        for layer in self.head:
            Z = layer(Z)
            feats.append(Z)
        return feats


class ResidualMLP(_SkipBase):
    r"""A residual MLP: ``Z_1 = σ(X W_1ᵀ)``, ``Z_ℓ = Z_{ℓ−1} + σ(Z_{ℓ−1} W_ℓᵀ)`` for
    ``2 ≤ ℓ ≤ L1``, then ``L2 = len(head_widths) + 1`` bias-free linear layers to ``K``.

    ``widths = (n_1, ..., n_{L1})`` must all be equal (an identity skip needs equal widths).
    ``layer_features`` returns ``[Z_1, ..., Z_{L1}, Z_{L1+1}, ..., Z_L]``.
    """

    def __init__(
        self,
        input_dim: int,
        widths: Sequence[int],
        head_widths: Sequence[int],
        num_classes: int,
        activation: nn.Module | str = "relu",
        *,
        seed: int | None = None,
        dtype: torch.dtype = torch.float64,
        device: torch.device | str | None = None,
    ):
        super().__init__()
        widths, head_widths, g = self._setup(
            input_dim, widths, head_widths, num_classes, activation, seed
        )
        if len(set(widths)) != 1:
            raise InvalidInput(
                f"ResidualMLP widths={list(widths)}: identity skips need equal widths; "
                f"use [{widths[0]}] * {len(widths)}"
            )
        dims = (self.input_dim, *widths)
        self.nonlinear = nn.ModuleList(_linear(a, b, g) for a, b in itertools.pairwise(dims))
        self._build_head(widths[-1], head_widths, g)
        self.to(dtype=dtype, device=device)

    def layer_features(self, X: torch.Tensor) -> list[torch.Tensor]:
        """``[Z_1, ..., Z_L]``, each ``(N, n_ℓ)``; ``Z_L = forward(X)``."""
        Z = self.activation(self.nonlinear[0](X))
        feats = [Z]
        for layer in self.nonlinear[1:]:
            Z = Z + self.activation(layer(Z))
            feats.append(Z)
        return self._head_features(Z, feats)

    def extra_repr(self) -> str:
        w = [layer.out_features for layer in (*self.nonlinear, *self.head)]
        return f"input_dim={self.input_dim}, widths={w}, residual, seed={self.seed}"


class DenseMLP(_SkipBase):
    r"""A DenseNet-style MLP: every nonlinear layer sees the concatenation of all earlier ones.

    ``Z_1 = σ(X W_1ᵀ)`` (width ``n_1``); for ``2 ≤ ℓ ≤ L1``,
    ``Z_ℓ = [Z_{ℓ−1}, σ(Z_{ℓ−1} W_ℓᵀ)]`` (concatenation; ``W_ℓ`` is
    ``(n_ℓ, n_1 + … + n_{ℓ−1})``, ``n_ℓ`` the growth of layer ``ℓ``), so ``Z_ℓ`` has width
    ``n_1 + … + n_ℓ``; then ``L2`` bias-free linear layers from ``Z_{L1}`` to ``K``.
    """

    def __init__(
        self,
        input_dim: int,
        widths: Sequence[int],
        head_widths: Sequence[int],
        num_classes: int,
        activation: nn.Module | str = "relu",
        *,
        seed: int | None = None,
        dtype: torch.dtype = torch.float64,
        device: torch.device | str | None = None,
    ):
        super().__init__()
        widths, head_widths, g = self._setup(
            input_dim, widths, head_widths, num_classes, activation, seed
        )
        layers, fan_in = [], self.input_dim
        for i, growth in enumerate(widths):
            layers.append(_linear(fan_in, growth, g))
            fan_in = growth if i == 0 else fan_in + growth
        self.nonlinear = nn.ModuleList(layers)
        self._build_head(fan_in, head_widths, g)
        self.to(dtype=dtype, device=device)

    def layer_features(self, X: torch.Tensor) -> list[torch.Tensor]:
        """``[Z_1, ..., Z_L]``; ``Z_ℓ`` for ``ℓ ≤ L1`` is the running concatenation."""
        Z = self.activation(self.nonlinear[0](X))
        feats = [Z]
        for layer in self.nonlinear[1:]:
            Z = torch.cat([Z, self.activation(layer(Z))], dim=1)
            feats.append(Z)
        return self._head_features(Z, feats)

    def extra_repr(self) -> str:
        growth = [layer.out_features for layer in self.nonlinear]
        return (
            f"input_dim={self.input_dim}, growth={growth}, L2={self.num_head_layers}, "
            f"dense, seed={self.seed}"
        )
