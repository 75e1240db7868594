"""Example plug-in: a small convolutional network for 8×8 scikit-learn digits.

The factory declares the input it needs as the default of ``input_shape``: ``(1, 8, 8)``,
one-channel 8×8 images. ncverify then trains it on scikit-learn's digits as images
``(N, 1, 8, 8)`` (``ncverify.data.make_dataset_for_shape``). Two ReLU convolutions,
flattening, then a bias-free linear head of two layers. From the repository root::

    ncverify check --arch examples.conv_digits:factory
    pytest theorems/ --ncverify-arch examples.conv_digits:factory

It uses the library's ReLU as ``self.activation`` (``ncverify.nets.ReLU``), so JSWM
Assumption 4.2 (``σ' ∈ [γ, 1]``, ``γ > 0``) is *measured* on it and fails (``γ = 0``; it also
declares ``activation_slope_range() = (0, 1)`` through the protocol), and no
``nonlinear_widths()`` (Assumption 4.1 is about MLP widths and is reported as not checkable):
Theorem 4.4 on it is "outside" its hypotheses, which is exactly what such a run should say.
Proposition 5.3 (jswm-5.3) has only hypotheses measured on the trained run (stability,
interpolation, rank of the output), so it may be confirmed.
"""

from __future__ import annotations

import torch
from torch import nn

from ncverify.nets import ReLU

IMAGE_SIDE = 8


class ConvDigits(nn.Module):
    """``(N, 1, 8, 8) -> conv3×3 -> ReLU -> conv3×3 (stride 2) -> ReLU -> flatten -> head``."""

    def __init__(self, num_classes: int, *, channels: int = 8, head_width: int = 32):
        super().__init__()
        self.num_classes = num_classes
        self.num_head_layers = 2
        self.activation = ReLU()  # the library's: Assumption 4.2 is measured on it
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
        c1 = self.activation(self.conv1(X))
        c2 = self.activation(self.conv2(c1))
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


def factory(
    *,
    input_shape: tuple[int, ...] = (1, IMAGE_SIDE, IMAGE_SIDE),
    num_classes: int,
    num_samples: int,
) -> ConvDigits:
    """A :class:`ConvDigits` network for one-channel 8×8 images (``input_shape=(1, 8, 8)``)."""
    if tuple(input_shape) != (1, IMAGE_SIDE, IMAGE_SIDE):
        raise ValueError(f"conv_digits takes 1x8x8 images; got input_shape={input_shape}")
    return ConvDigits(num_classes, head_width=max(32, num_classes))
