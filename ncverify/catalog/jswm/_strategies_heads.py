"""Hypothesis strategies for linear heads: the depth spec of JSWM Theorem 3.1 and the
representation-cost specs of :mod:`ncverify.catalog.gd`.

``build_head`` makes ``W_l = U_l S U_{l-1}ᵀ`` (exactly balanced, up to rounding), optionally
perturbed (``imbalance``) or mixed (``M_l W_l M_{l-1}^{-1}``: the same product, unbalanced).
Inputs are recorded; ``build_head(**inputs)`` rebuilds the instance.
"""

from __future__ import annotations

import math
from typing import Any

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from ._snapshots import HeadWeights
from ._strategies import (
    _check_int,
    _check_positive,
    _check_range,
    _log_uniform,
    _orthonormal,
    _spectrum,
)

__all__ = ["balanced_heads", "balanced_pairs", "build_head", "factorizations"]


def build_head(
    *,
    seed: int,
    classes: int,
    widths: list[int],
    log10_kappa: float,
    log10_scale: float,
    imbalance: float = 0.0,
    mixing: float = 0.0,
    **_: Any,
) -> HeadWeights:
    """A linear head ``W_l = U_l S U_{l-1}ᵀ`` (exactly balanced, ``κ(W_l) = 10^log10_kappa``).

    ``widths = [n_0, ..., n_{L2-1}]`` are the input widths of the layers (the output
    width of the last is ``classes``). ``imbalance > 0`` adds ``imbalance·s_1·G``
    to every layer (breaks balance and the product); ``mixing > 0`` instead
    replaces ``W_l`` by ``M_l W_l M_{l-1}^{-1}`` with ``M_l = I + mixing·G_l``
    (the product ``A`` is unchanged, the head unbalanced).
    """
    import torch

    dt = torch.float64
    g = torch.Generator().manual_seed(seed)
    K = classes
    dims = [*widths, K]
    S = _spectrum(g, K, log10_kappa, 10.0**log10_scale, dt)
    Us = [_orthonormal(g, d, K, dt) for d in dims]
    Ws = [Us[i + 1] * S @ Us[i].T for i in range(len(widths))]
    if imbalance > 0:
        s1 = float(S[0])
        Ws = [
            W + imbalance * s1 * torch.randn(W.shape, generator=g, dtype=dt) / math.sqrt(W.numel())
            for W in Ws
        ]
    if mixing > 0:
        Ms = [
            torch.eye(d, dtype=dt)
            + mixing * torch.randn(d, d, generator=g, dtype=dt) / math.sqrt(d)
            for d in dims
        ]
        Ms[0] = torch.eye(dims[0], dtype=dt)
        Ms[-1] = torch.eye(K, dtype=dt)
        Ws = [Ms[i + 1] @ W @ torch.linalg.inv(Ms[i]) for i, W in enumerate(Ws)]
    inputs = dict(
        seed=seed,
        classes=K,
        widths=list(widths),
        log10_kappa=log10_kappa,
        log10_scale=log10_scale,
        imbalance=imbalance,
        mixing=mixing,
        depth=len(widths),
        dtype="float64",
    )
    return HeadWeights(weights=Ws, inputs=inputs)


@st.composite
def _heads(
    draw,
    min_depth,
    max_depth,
    min_classes,
    max_classes,
    max_extra_width,
    max_condition_product,
    imbalanced,
    mixed,
    max_imbalance,
    max_mixing,
):
    L2 = draw(st.integers(min_depth, max_depth))
    K = draw(st.integers(min_classes, max_classes))
    widths = [K + draw(st.integers(0, max_extra_width)) for _ in range(L2)]
    return build_head(
        seed=draw(st.integers(0, 2**32 - 1)),
        classes=K,
        widths=widths,
        log10_kappa=draw(st.floats(0.0, math.log10(max_condition_product) / L2)),
        log10_scale=draw(st.floats(-0.5, 0.5)),
        imbalance=draw(_log_uniform(min(1e-8, max_imbalance), max_imbalance))
        if imbalanced
        else 0.0,
        mixing=draw(_log_uniform(min(1e-3, max_mixing), max_mixing)) if mixed else 0.0,
    )


def balanced_heads(
    *,
    min_depth: int = 2,
    max_depth: int = 4,
    min_classes: int = 2,
    max_classes: int = 5,
    max_extra_width: int = 3,
    max_condition_product: float = 1e4,
    imbalanced: bool = False,
    mixed: bool = False,
    max_imbalance: float = 0.1,
    max_mixing: float = 1.0,
):
    """Strategy for :class:`HeadWeights`: exactly balanced linear heads of depth ``L2``.

    ``κ(A) = κ(W_L)^{L2} <= max_condition_product`` (default 1e4, so that ``s_K(A)`` is
    computed to ~eps·1e4 relative). ``imbalanced=True`` perturbs every layer
    (``imbalance`` log-uniform in ``[1e-8, max_imbalance]``); ``mixed=True`` gives unbalanced
    factorisations of the same product (``mixing`` log-uniform in ``[1e-3, max_mixing]``).
    """
    _check_range("depth", min_depth, max_depth, low=1)
    _check_range("classes", min_classes, max_classes, low=1)
    _check_int("max_extra_width", max_extra_width, 0)
    _check_positive("max_condition_product", max_condition_product, 1.0)
    if imbalanced and mixed:
        raise InvalidArgument("choose at most one of imbalanced=True and mixed=True")
    _check_positive("max_imbalance", max_imbalance)
    _check_positive("max_mixing", max_mixing)
    return _heads(
        min_depth,
        max_depth,
        min_classes,
        max_classes,
        max_extra_width,
        max_condition_product,
        imbalanced,
        mixed,
        max_imbalance,
        max_mixing,
    )


def balanced_pairs(
    *,
    min_classes: int = 2,
    max_classes: int = 5,
    max_extra_width: int = 3,
    max_condition: float = 100.0,
    imbalanced: bool = False,
):
    """Strategy for ``(W_lower, W_upper)`` with ``W_upper = U S Vᵀ``, ``W_lower = V S Rᵀ``."""
    _check_positive("max_condition", max_condition, 1.0)
    return balanced_heads(
        min_depth=2,
        max_depth=2,
        min_classes=min_classes,
        max_classes=max_classes,
        max_extra_width=max_extra_width,
        max_condition_product=max_condition**2,
        imbalanced=imbalanced,
    ).map(lambda h: (h.weights[0], h.weights[1]))


def factorizations(
    *,
    min_depth: int = 2,
    max_depth: int = 4,
    min_classes: int = 1,
    max_classes: int = 4,
    max_extra_width: int = 3,
    max_imbalance: float = 0.1,
    max_mixing: float = 1.0,
):
    """Strategy for :class:`HeadWeights`: balanced, perturbed (``imbalance <= max_imbalance``)
    or mixed (``mixing <= max_mixing``) factorisations, one third each."""
    _check_range("depth", min_depth, max_depth, low=1)
    _check_range("classes", min_classes, max_classes, low=1)
    kw = dict(
        min_depth=min_depth,
        max_depth=max_depth,
        min_classes=min_classes,
        max_classes=max_classes,
        max_extra_width=max_extra_width,
    )
    return st.one_of(
        balanced_heads(**kw),
        balanced_heads(**kw, mixed=True, max_mixing=max_mixing),
        balanced_heads(**kw, imbalanced=True, max_imbalance=max_imbalance),
    )
