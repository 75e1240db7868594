"""The data set that fits an input shape: what a plug-in architecture is trained on.

- ``(d,)``: :func:`~ncverify.data.make_gaussian_clusters` with ``input_dim = d``;
- ``(1, 8, 8)``: scikit-learn's 8×8 digits (:func:`~ncverify.data.make_digits_subset`), each
  unit-norm 64-vector reshaped to a one-channel 8×8 image.

Any other shape has no data set here and is refused with the shapes that have one.
"""

from __future__ import annotations

from dataclasses import replace

from ..errors import InvalidInput
from ._datasets import Dataset, make_digits_subset, make_gaussian_clusters

__all__ = ["DIGITS_IMAGE_SHAPE", "make_dataset_for_shape"]

#: the shape of one digits image
DIGITS_IMAGE_SHAPE = (1, 8, 8)


def make_dataset_for_shape(
    input_shape, *, seed: int, num_classes: int, samples_per_class: int
) -> Dataset:
    """A balanced data set whose samples have shape ``input_shape`` (module docstring).

    ``X`` is ``(N, *input_shape)`` float64; rebuilt exactly from the description and seed.
    """
    if (
        not isinstance(input_shape, (tuple, list))
        or not input_shape
        or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in input_shape)
    ):
        raise InvalidInput(
            f"input_shape must be a non-empty tuple of positive ints, got {input_shape!r}"
        )
    shape = tuple(int(v) for v in input_shape)
    if len(shape) == 1:
        return make_gaussian_clusters(
            seed=seed,
            num_classes=num_classes,
            samples_per_class=samples_per_class,
            input_dim=shape[0],
        )
    if shape == DIGITS_IMAGE_SHAPE:
        data = make_digits_subset(
            seed=seed, num_classes=num_classes, samples_per_class=samples_per_class
        )
        return replace(
            data,
            X=data.X.reshape(data.num_samples, *shape),
            description=data.description + f", as {shape} images",
        )
    raise InvalidInput(
        f"no data set has samples of shape {shape}: ncverify trains plug-ins on vectors "
        f"(d,) (Gaussian clusters, any d) or on {DIGITS_IMAGE_SHAPE} images (8x8 digits); "
        "declare one of these as the default of your factory's input_shape"
    )
