"""Example plug-in: a residual MLP with a bias-free linear head.

Copy this file to start your own architecture. ncverify calls
``factory(input_shape=(d,), num_classes=K, num_samples=N)`` after ``torch.manual_seed(seed)``
and checks the result with ``ncverify.check_architecture``. It declares no default
``input_shape``, so it is trained on vectors (``ncverify.nets.DEFAULT_INPUT_SHAPE``). From the
repository root::

    ncverify check --arch examples.residual_mlp:factory
    pytest theorems/ --ncverify-arch examples.residual_mlp:factory

What the network must provide (the protocol, docs/architectures.md):

- ``num_classes`` and ``num_head_layers`` (L2: the trailing bias-free linear layers);
- ``forward(X)`` mapping ``(N, *input_shape)`` (here ``(N, d)``) to ``(N, K)``;
- ``layer_features(X)``: per-layer features ``(N, width)``, ending with the head's input and
  each head layer's output (the last entry equals ``forward(X)``);
- ``head_weights()``: the head's weight matrices ``[W_{L1+1}, ..., W_L]`` (``nn.Linear.weight``).

``nonlinear_widths()`` and ``activation_slope_range()`` are optional and deliberately left
out here: a residual block is not a layer of JSWM's MLP family, so JSWM Assumptions 4.1 and
4.2 are reported as *not checkable* for this network rather than guessed.
"""

from __future__ import annotations

import itertools

import torch
from torch import nn


class ResidualMLP(nn.Module):
    """``h_0 = tanh(X W_inᵀ + b)``, ``h_{i} = h_{i-1} + tanh(h_{i-1} W_iᵀ + b_i)``, then a head.

    The nonlinear part may have biases (it is not the head); the head is ``head_depth``
    bias-free ``nn.Linear`` layers ``width -> head_width -> ... -> K``.
    """

    def __init__(
        self,
        input_dim: int,
        num_classes: int,
        *,
        width: int = 64,
        num_blocks: int = 2,
        head_width: int = 32,
        head_depth: int = 2,
    ):
        super().__init__()
        if head_depth < 1:
            raise ValueError(f"head_depth must be >= 1, got {head_depth}")
        self.num_classes = num_classes
        self.num_head_layers = head_depth
        self.stem = nn.Linear(input_dim, width)
        self.blocks = nn.ModuleList(nn.Linear(width, width) for _ in range(num_blocks))
        dims = [width] + [head_width] * (head_depth - 1) + [num_classes]
        self.head = nn.ModuleList(nn.Linear(a, b, bias=False) for a, b in itertools.pairwise(dims))

    def layer_features(self, X: torch.Tensor) -> list[torch.Tensor]:
        h = torch.tanh(self.stem(X))
        feats = [h]
        for block in self.blocks:
            h = h + torch.tanh(block(h))
            feats.append(h)
        for layer in self.head:
            h = layer(h)
            feats.append(h)
        return feats

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.layer_features(X)[-1]

    def head_weights(self) -> list[torch.Tensor]:
        return [layer.weight for layer in self.head]


def factory(*, input_shape: tuple[int, ...], num_classes: int, num_samples: int) -> ResidualMLP:
    """A residual MLP sized for ``num_samples`` training points (width ``max(64, N)``); it
    takes vectors, ``input_shape = (d,)``."""
    (input_dim,) = input_shape
    return ResidualMLP(
        input_dim, num_classes, width=max(64, num_samples), head_width=max(32, num_classes)
    )
