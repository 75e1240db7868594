r"""The JSWM network family: a pyramidal MLP with a bias-free linear head (JSWM §4, spec §1).

:class:`PyramidalMLP` implements the network protocol of :mod:`ncverify.nets._protocol`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch
from torch import nn

from ..errors import InvalidInput
from ._activations import GammaTanh, make_activation
from ._protocol import _int_tuple, _positive_int

__all__ = ["PyramidalMLP"]


class PyramidalMLP(nn.Module):
    r"""The JSWM network family (JSWM §4, spec §1): ``L1`` nonlinear layers, then a linear head.

    ``Z_0 = X``; ``Z_ℓ = σ(Z_{ℓ-1} W_ℓᵀ)`` for ``ℓ ≤ L1``; ``Z_ℓ = Z_{ℓ-1} W_ℓᵀ`` for
    ``ℓ > L1``; no biases anywhere. ``widths = (n_1, ..., n_{L1})`` are the nonlinear widths,
    ``head_widths = (n_{L1+1}, ..., n_{L-1})`` the hidden widths of the head (its last layer maps
    to ``n_L = K``), so ``L2 = len(head_widths) + 1``. Weights are drawn
    ``W_ℓ[i, j] ~ N(0, 1/n_{ℓ-1})`` (``1/sqrt(fan_in)`` scale) from a CPU ``torch.Generator``
    seeded with ``seed`` (or from ``generator``), then moved to ``dtype``/``device``, so a seed
    gives the same network on every device.

    The class does not enforce JSWM's assumptions (wide first layer, non-increasing widths,
    ``γ > 0``, ``L2 ≥ 2``) so that assumption-violating variants can be built;
    :func:`architecture_assumptions` measures them.
    """

    def __init__(
        self,
        input_dim: int,
        widths: Sequence[int],
        head_widths: Sequence[int],
        num_classes: int,
        activation: nn.Module | str | None = None,
        *,
        seed: int | None = None,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float64,
        device: torch.device | str | None = None,
    ):
        super().__init__()
        input_dim = _positive_int(input_dim, "input_dim")
        widths = _int_tuple(widths, "widths")
        head_widths = _int_tuple(head_widths, "head_widths")
        num_classes = _positive_int(num_classes, "num_classes")
        if not widths:
            raise InvalidInput(
                "widths must name at least one nonlinear layer (L1 >= 1), got (); "
                "JSWM networks have a nonlinear part followed by a linear head"
            )
        if num_classes < 2:
            raise InvalidInput(f"num_classes must be >= 2, got {num_classes}")
        if activation is None:
            activation = GammaTanh(0.5)
        elif isinstance(activation, str):
            activation = make_activation(activation)
        elif not isinstance(activation, nn.Module):
            raise InvalidInput(
                f"activation must be an nn.Module or a name, got {type(activation).__name__}"
            )
        if dtype not in (torch.float16, torch.bfloat16, torch.float32, torch.float64):
            raise InvalidInput(f"dtype must be a floating torch dtype, got {dtype!r}")
        if generator is None:
            generator = torch.Generator(device="cpu")
            if seed is not None:
                generator.manual_seed(int(seed))
            else:
                generator.seed()
        elif seed is not None:
            raise InvalidInput("pass either seed or generator, not both")

        self.input_dim = input_dim
        self.input_shape = (input_dim,)
        self.num_classes = num_classes
        self.num_head_layers = len(head_widths) + 1
        self.num_nonlinear_layers = len(widths)
        self.activation = activation
        self.seed = None if seed is None else int(seed)
        dims = (input_dim, *widths, *head_widths, num_classes)
        layers = []
        for fan_in, fan_out in itertools.pairwise(dims):
            # built on the meta device so that nn.Linear's own init draws nothing from the
            # global RNG; the weights come from ``generator`` alone
            layer = nn.Linear(fan_in, fan_out, bias=False, device="meta")
            w = torch.randn(fan_out, fan_in, generator=generator, dtype=torch.float64)
            layer.weight = nn.Parameter(w / math.sqrt(fan_in))
            layers.append(layer)
        self.nonlinear = nn.ModuleList(layers[: len(widths)])
        self.head = nn.ModuleList(layers[len(widths) :])
        self.to(dtype=dtype, device=device)

    def layer_features(self, X: torch.Tensor) -> list[torch.Tensor]:
        """``[Z_1, ..., Z_L]``, each ``(N, n_ℓ)``; ``Z_L = forward(X)`` (``X`` itself excluded)."""
        feats = []
        Z = X
        for layer in self.nonlinear:
            Z = self.activation(layer(Z))
            feats.append(Z)
        for layer in self.head:
            Z = layer(Z)
            feats.append(Z)
        return feats

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        Z = X
        for layer in self.nonlinear:
            Z = self.activation(layer(Z))
        for layer in self.head:
            Z = layer(Z)
        return Z

    def weights(self) -> list[torch.Tensor]:
        """``[W_1, ..., W_L]`` (math convention ``(n_ℓ, n_{ℓ-1})``), the parameters themselves."""
        return [layer.weight for layer in (*self.nonlinear, *self.head)]

    def head_weights(self) -> list[torch.Tensor]:
        """``[W_{L1+1}, ..., W_L]``, the head's weight matrices (parameters, not copies)."""
        return [layer.weight for layer in self.head]

    def nonlinear_widths(self) -> list[int]:
        """``[n_1, ..., n_{L1}]``."""
        return [layer.out_features for layer in self.nonlinear]

    def widths(self) -> list[int]:
        """``[n_1, ..., n_L]`` (``n_L = K``)."""
        return [layer.out_features for layer in (*self.nonlinear, *self.head)]

    def activation_slope_range(self) -> tuple[float, float] | None:
        """``(γ, β)`` with ``σ' ∈ [γ, β]``, from the activation; ``None`` if it does not say."""
        fn = getattr(self.activation, "slope_range", None)
        return None if fn is None else tuple(float(v) for v in fn())

    def extra_repr(self) -> str:
        return (
            f"input_dim={self.input_dim}, widths={self.widths()}, L1={self.num_nonlinear_layers}, "
            f"L2={self.num_head_layers}, seed={self.seed}"
        )
