"""Hypothesis strategies for labelled feature data (re-exported by ``ncverify.strategies``).

Every strategy takes keyword-only arguments; sizes may be given as an ``int`` or as a
hypothesis strategy of ints. Invalid arguments raise
``hypothesis.errors.InvalidArgument`` when the strategy is built (fixed values) or
drawn (strategy-valued sizes). Real-valued content is generated from a drawn seed with
``torch.Generator`` (Gaussian), so examples shrink over shapes and seeds and are
well-conditioned with high probability. All tensors are on the CPU.
"""

from __future__ import annotations

import math

import torch
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

__all__ = [
    "balanced_labels",
    "collapsed_features",
    "feature_matrices",
    "labelled_features",
    "orthogonal_matrices",
    "simplex_etf_means",
]

_SEEDS = st.integers(min_value=0, max_value=2**32 - 1)
_DTYPES = (torch.float32, torch.float64)
_GEOMETRIES = ("gaussian", "orthogonal", "etf")


def _size(value, name: str, minimum: int):
    """``value`` as a strategy of ints; fixed ints are validated now."""
    if isinstance(value, st.SearchStrategy):
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"{name} must be an int or a strategy of ints, got {value!r}")
    if value < minimum:
        raise InvalidArgument(f"{name}={value} must be at least {minimum}")
    return st.just(value)


def _drawn(draw, strategy, name: str, minimum: int) -> int:
    v = draw(strategy)
    if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
        raise InvalidArgument(f"{name} strategy drew {v!r}; it must draw ints >= {minimum}")
    return v


def _check_dtype(dtype) -> None:
    if dtype not in _DTYPES:
        raise InvalidArgument(f"dtype must be torch.float32 or torch.float64, got {dtype!r}")


def _check_nonneg(value, name: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not value >= 0
        or math.isinf(value)
    ):
        raise InvalidArgument(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def _gaussian(seed: int, shape, dtype) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=torch.float64).to(dtype)


def _orthonormal_rows(seed: int, k: int, p: int) -> torch.Tensor:
    """(k, p) with orthonormal rows (k <= p), Haar-distributed (sign-fixed QR)."""
    q, r = torch.linalg.qr(_gaussian(seed, (p, k), torch.float64))
    return (q * torch.sign(torch.diagonal(r))).T


def balanced_labels(*, num_classes, samples_per_class, shuffle: bool = True):
    """Integer labels ``(n·K,)`` (int64) with every class ``0..K-1`` exactly ``n`` times.

    ``shuffle=False`` gives the sorted order ``0,…,0,1,…``; otherwise a drawn permutation.
    """
    k_st = _size(num_classes, "num_classes", 2)
    n_st = _size(samples_per_class, "samples_per_class", 1)
    if not isinstance(shuffle, bool):
        raise InvalidArgument(f"shuffle must be a bool, got {shuffle!r}")

    @st.composite
    def _labels(draw):
        k = _drawn(draw, k_st, "num_classes", 2)
        n = _drawn(draw, n_st, "samples_per_class", 1)
        y = torch.arange(k).repeat_interleave(n)
        if shuffle:
            perm = draw(st.permutations(range(k * n)))
            y = y[torch.tensor(perm, dtype=torch.int64)]
        return y

    return _labels()


def feature_matrices(*, num_samples, dim, dtype=torch.float64, scale: float = 1.0):
    """Gaussian feature matrices ``(N, p)`` with entries of standard deviation ``scale``."""
    n_st = _size(num_samples, "num_samples", 1)
    p_st = _size(dim, "dim", 1)
    _check_dtype(dtype)
    scale = _check_nonneg(scale, "scale")

    @st.composite
    def _features(draw):
        n = _drawn(draw, n_st, "num_samples", 1)
        p = _drawn(draw, p_st, "dim", 1)
        return scale * _gaussian(draw(_SEEDS), (n, p), dtype)

    return _features()


def orthogonal_matrices(*, dim, dtype=torch.float64):
    """Haar-random orthogonal ``(p, p)`` matrices."""
    p_st = _size(dim, "dim", 1)
    _check_dtype(dtype)

    @st.composite
    def _orth(draw):
        p = _drawn(draw, p_st, "dim", 1)
        return _orthonormal_rows(draw(_SEEDS), p, p).to(dtype)

    return _orth()


def simplex_etf_means(*, num_classes, dim, dtype=torch.float64, scale: float = 1.0):
    """``(K, p)`` rows forming a simplex ETF of row norm ``scale`` (needs ``p >= K-1``).

    Rows are centred, equal-norm, with pairwise cosine ``-1/(K-1)``, randomly rotated.
    """
    k_st = _size(num_classes, "num_classes", 2)
    p_st = _size(dim, "dim", 1)
    _check_dtype(dtype)
    scale = _check_nonneg(scale, "scale")

    @st.composite
    def _etf(draw):
        k = _drawn(draw, k_st, "num_classes", 2)
        p = _drawn(draw, p_st, "dim", 1)
        if p < k - 1:
            raise InvalidArgument(f"a simplex ETF of K={k} points needs dim >= K-1, got {p}")
        return (scale * _etf_rows(draw(_SEEDS), k, p)).to(dtype)

    return _etf()


def _etf_rows(seed: int, k: int, p: int) -> torch.Tensor:
    core = (torch.eye(k, dtype=torch.float64) - 1.0 / k) * math.sqrt(k / (k - 1))
    if p >= k:
        return core @ _orthonormal_rows(seed, k, p)
    # p = k-1: express the rank-(k-1) core in an orthonormal basis of its row space
    u, s, _ = torch.linalg.svd(core)
    basis = u[:, : k - 1] * s[: k - 1]  # (k, k-1), same Gram as core
    return basis @ _orthonormal_rows(seed, k - 1, p)


def _means_for(geometry: str, seed: int, k: int, p: int) -> torch.Tensor:
    if geometry == "gaussian":
        return _gaussian(seed, (k, p), torch.float64)
    if geometry == "orthogonal":
        if p < k:
            raise InvalidArgument(f"an orthogonal frame of K={k} means needs dim >= K, got {p}")
        return _orthonormal_rows(seed, k, p)
    if p < k - 1:
        raise InvalidArgument(f"a simplex ETF of K={k} means needs dim >= K-1, got {p}")
    return _etf_rows(seed, k, p)


def collapsed_features(
    *,
    num_classes,
    samples_per_class,
    dim,
    dtype=torch.float64,
    geometry: str = "gaussian",
    scale: float = 1.0,
):
    """Exactly collapsed ``(Z, y, means)``: ``Z[i] = means[y[i]]``, balanced shuffled labels.

    ``geometry``: ``"gaussian"`` (random means), ``"orthogonal"`` (orthonormal rows times
    ``scale``, needs ``dim >= K``) or ``"etf"`` (simplex ETF, needs ``dim >= K-1``).
    """
    if geometry not in _GEOMETRIES:
        raise InvalidArgument(f"geometry must be one of {_GEOMETRIES}, got {geometry!r}")
    return labelled_features(
        num_classes=num_classes,
        samples_per_class=samples_per_class,
        dim=dim,
        dtype=dtype,
        noise=0.0,
        geometry=geometry,
        scale=scale,
    )


def labelled_features(
    *,
    num_classes,
    samples_per_class,
    dim,
    dtype=torch.float64,
    noise: float = 0.3,
    geometry: str = "gaussian",
    scale: float = 1.0,
    balanced: bool = True,
    offset: float = 0.0,
):
    """``(Z, y, means)``: class means plus Gaussian within-class noise of std ``noise``.

    ``Z[i] = scale·means[y_i] + noise·ξ_i + offset·1``; ``means`` is returned *without*
    the offset and scale applied (rows of the chosen ``geometry``). With
    ``balanced=False`` every class gets between 1 and ``samples_per_class`` samples.
    Every class is present; labels are shuffled.
    """
    k_st = _size(num_classes, "num_classes", 2)
    n_st = _size(samples_per_class, "samples_per_class", 1)
    p_st = _size(dim, "dim", 1)
    _check_dtype(dtype)
    noise = _check_nonneg(noise, "noise")
    scale = _check_nonneg(scale, "scale")
    if (
        isinstance(offset, bool)
        or not isinstance(offset, (int, float))
        or not math.isfinite(offset)
    ):
        raise InvalidArgument(f"offset must be a finite number, got {offset!r}")
    if geometry not in _GEOMETRIES:
        raise InvalidArgument(f"geometry must be one of {_GEOMETRIES}, got {geometry!r}")
    if not isinstance(balanced, bool):
        raise InvalidArgument(f"balanced must be a bool, got {balanced!r}")

    @st.composite
    def _data(draw):
        k = _drawn(draw, k_st, "num_classes", 2)
        n = _drawn(draw, n_st, "samples_per_class", 1)
        p = _drawn(draw, p_st, "dim", 1)
        means = _means_for(geometry, draw(_SEEDS), k, p)
        if balanced:
            counts = [n] * k
        else:
            counts = draw(st.lists(st.integers(1, n), min_size=k, max_size=k))
        y = torch.repeat_interleave(torch.arange(k), torch.tensor(counts))
        perm = draw(st.permutations(range(y.shape[0])))
        y = y[torch.tensor(perm, dtype=torch.int64)]
        Z = scale * means[y] + offset
        if noise > 0:
            Z = Z + noise * _gaussian(draw(_SEEDS), (y.shape[0], p), torch.float64)
        return Z.to(dtype), y, means.to(dtype)

    return _data()
