"""Example plug-in: a small convolutional network for 8×8 scikit-learn digits.

ncverify passes data as ``(N, d)`` matrices, so the network takes the flattened 64-vector of
``sklearn.datasets.load_digits`` and reshapes it to ``(N, 1, 8, 8)`` inside ``forward``.
Two ReLU convolutions, global flattening, then a bias-free linear head of two layers.
From the repository root::

    ncverify check --arch examples.conv_digits:factory
    pytest theorems/ --ncverify-arch examples.conv_digits:factory

It declares ``activation_slope_range() = (0, 1)`` (ReLU), so JSWM Assumption 4.2 is reported
as *violated* for it, and no ``nonlinear_widths()`` (Assumption 4.1 is about MLP widths and
is reported as not checkable): theorem checks on it are "outside" the theorems' hypotheses,
which is exactly what such a run should say.
"""

from __future__ import annotations

import torch
from torch import nn

IMAGE_SIDE = 8


class ConvDigits(nn.Module):
    """``(N, 64) -> (N, 1, 8, 8) -> conv3×3 -> ReLU -> conv3×3 -> ReLU -> flatten -> head``."""

    def __init__(self, num_classes: int, *, channels: int = 8, head_width: int = 32):
        super().__init__()
        self.input_dim = IMAGE_SIDE * IMAGE_SIDE
        self.num_classes = num_classes
        self.num_head_layers = 2
        self.conv1 = nn.Conv2d(1, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, stride=2)
        flat = channels * (IMAGE_SIDE // 2) ** 2
        self.head = nn.ModuleList(
            [
                nn.Linear(flat, head_width, bias=False),
                nn.Linear(head_width, num_classes, bias=False),
            ]
        )

    def layer_features(self, X: torch.Tensor) -> list[torch.Tensor]:
        x = X.reshape(-1, 1, IMAGE_SIDE, IMAGE_SIDE)
        c1 = torch.relu(self.conv1(x))
        c2 = torch.relu(self.conv2(c1))
        h = c2.flatten(1)
        feats = [c1.flatten(1), h]
        for layer in self.head:
            h = layer(h)
            feats.append(h)
        return feats

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.layer_features(X)[-1]

    def head_weights(self) -> list[torch.Tensor]:
        return [layer.weight for layer in self.head]

    def activation_slope_range(self) -> tuple[float, float]:
        return (0.0, 1.0)  # ReLU: sigma' in {0, 1}


def factory(*, input_dim: int, num_classes: int, num_samples: int) -> ConvDigits:
    """A :class:`ConvDigits` network; needs ``input_dim == 64`` (flattened 8×8 images)."""
    if input_dim != IMAGE_SIDE * IMAGE_SIDE:
        raise ValueError(
            f"conv_digits needs flattened 8x8 images, input_dim=64; got input_dim={input_dim}"
        )
    return ConvDigits(num_classes, head_width=max(32, num_classes))
