"""Hypothesis strategies for JSWM Theorem 3.1 and the linear-head identities.

Each strategy draws a seed and a handful of sizes and scales with hypothesis
(so failures shrink towards small K, n, widths and simple scales), then builds
the tensors deterministically in float64 from a ``torch.Generator`` seeded with
that seed. Everything drawn is recorded in the snapshot's ``inputs`` (a
JSON-safe dict), and ``build_last_pair(**inputs)`` / ``build_head(**inputs)``
rebuild the exact instance.

Adversarial by design (spec §3): near-interpolating features with residuals that
are within-class, between-class or aligned with the weakest direction of ``W_L``;
nearly rank-deficient ``W_L`` (κ up to ``max_condition``); balanced pairs
``W_L = U S Vᵀ``, ``W_{L-1} = V S Rᵀ`` plus a controlled perturbation that puts
features with large within-class variation into the null space of ``W_L``.
"""

from __future__ import annotations

import math
from typing import Any

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from ._snapshots import HeadWeights, LastPair

__all__ = [
    "balanced_heads",
    "balanced_pairs",
    "build_head",
    "build_last_pair",
    "factorizations",
    "head_instances",
]

RESIDUALS = ("within", "between", "generic", "weakest")
PERTURBATIONS = ("null", "generic")


def _check_int(name: str, value: Any, lo: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < lo:
        raise InvalidArgument(f"{name}={value!r} must be an integer >= {lo}")


def _check_range(name: str, lo: Any, hi: Any, *, low: int) -> None:
    _check_int(f"min_{name}", lo, low)
    _check_int(f"max_{name}", hi, low)
    if lo > hi:
        raise InvalidArgument(f"min_{name}={lo} exceeds max_{name}={hi}")


def _check_positive(name: str, value: Any, lo: float = 0.0) -> None:
    if (
        not isinstance(value, (int, float))
        or isinstance(value, bool)
        or not math.isfinite(value)
        or value <= lo
    ):
        raise InvalidArgument(f"{name}={value!r} must be a finite number > {lo:g}")


def _orthonormal(g, rows: int, cols: int, dtype):
    """A rows x cols matrix with orthonormal columns (QR of a Gaussian, sign-fixed)."""
    import torch

    q, r = torch.linalg.qr(torch.randn(rows, cols, generator=g, dtype=dtype))
    return q * torch.sign(torch.diagonal(r)).where(torch.diagonal(r) != 0, torch.ones(()))


def _spectrum(g, k: int, log10_kappa: float, scale: float, dtype):
    """k singular values in [scale, scale·10^log10_kappa], both ends attained (k >= 2)."""
    import torch

    t = torch.rand(k, generator=g, dtype=dtype)
    t[0], t[-1] = 0.0, 1.0
    return scale * 10.0 ** (log10_kappa * t.sort(descending=True).values)


def build_last_pair(
    *,
    seed: int,
    classes: int,
    per_class: int,
    width: int,
    in_width: int,
    log10_kappa: float,
    log10_scale: float,
    eps1_frac: float,
    residual: str,
    imbalance: float,
    perturbation: str,
    null_amp: float,
    **_: Any,
) -> LastPair:
    """The :class:`LastPair` described by these inputs (see :func:`head_instances`)."""
    import torch

    dt = torch.float64
    g = torch.Generator().manual_seed(seed)
    K, n, p1, p2 = classes, per_class, width, in_width
    N = K * n
    y = torch.arange(K).repeat_interleave(n)[torch.randperm(N, generator=g)]
    U = _orthonormal(g, K, K, dt)
    V = _orthonormal(g, p1, K, dt)
    R = _orthonormal(g, p2, K, dt)
    S = _spectrum(g, K, log10_kappa, 10.0**log10_scale, dt)
    W = U * S @ V.T  # (K, p1) = U S Vᵀ
    W1 = V * S @ R.T  # (p1, p2) = V S Rᵀ, balanced with W
    Y = torch.nn.functional.one_hot(y, K).to(dt)
    # residual E (N, K) of the outputs, ‖E‖_F = eps1_frac·√n
    E = torch.randn(N, K, generator=g, dtype=dt)
    if residual == "weakest":  # along the weakest direction of W: W^† amplifies by 1/s_K
        E = torch.randn(N, 1, generator=g, dtype=dt) * U[:, -1]
    if residual in ("within", "weakest"):
        means = torch.zeros(K, K, dtype=dt).index_add_(0, y, E) / n
        E = E - means[y] if n > 1 or residual == "within" else E
    elif residual == "between":
        E = torch.randn(K, K, generator=g, dtype=dt)[y]
    norm = torch.linalg.norm(E)
    E = E * (eps1_frac * math.sqrt(n) / norm) if norm > 0 else E
    Z1 = (Y + E) @ (V * (1.0 / S) @ U.T).T  # rows W^†(y_i + e_i)
    Z = Z1 @ (R * (1.0 / S) @ V.T).T  # rows R S^{-1} Vᵀ z1_i, so W1 z = z1
    # a direction f orthogonal to R (killed by the balanced W1) and q in the null space of W
    if p2 > K:
        f = torch.linalg.qr(torch.cat([R, torch.randn(p2, 1, generator=g, dtype=dt)], 1))[0][:, K]
    else:
        f = None
    if null_amp > 0 and f is not None:  # within-class variation along f, scaled by null_amp
        c = torch.randn(N, generator=g, dtype=dt)
        c = c - (torch.zeros(K, dtype=dt).index_add_(0, y, c) / n)[y]
        Z = Z + null_amp * torch.linalg.norm(Z) / math.sqrt(N) * c[:, None] * f
    s1 = float(S[0])
    if imbalance > 0:
        if perturbation == "null" and f is not None and p1 > K:
            q = torch.linalg.qr(torch.cat([V, torch.randn(p1, 1, generator=g, dtype=dt)], 1))[0][
                :, K
            ]
            D = q[:, None] * f[None, :]  # (I - P) W1 = τ s1 q fᵀ, so √ε2 = τ s1 exactly
        else:
            D = torch.randn(p1, p2, generator=g, dtype=dt)
            D = D / torch.linalg.matrix_norm(D, 2)
        W1 = W1 + imbalance * s1 * D
    inputs = dict(
        seed=seed,
        classes=K,
        per_class=n,
        width=p1,
        in_width=p2,
        log10_kappa=log10_kappa,
        log10_scale=log10_scale,
        eps1_frac=eps1_frac,
        residual=residual,
        imbalance=imbalance,
        perturbation=perturbation,
        null_amp=null_amp,
        N=N,
        dtype="float64",
    )
    return LastPair(Z=Z, W_lower=W1, W_upper=W, y=y, inputs=inputs)


def _log_uniform(lo: float, hi: float):
    return st.floats(math.log10(lo), math.log10(hi)).map(lambda t: 10.0**t)


@st.composite
def _last_pairs(
    draw,
    min_classes,
    max_classes,
    min_per_class,
    max_per_class,
    max_extra_width,
    max_condition,
    max_eps1_frac,
    min_eps1_frac,
    max_imbalance,
    max_null_amp,
):
    K = draw(st.integers(min_classes, max_classes))
    n = draw(st.integers(min_per_class, max_per_class))
    width = K + draw(st.integers(0, max_extra_width))
    in_width = K + draw(st.integers(0, max_extra_width))
    balanced = draw(st.booleans())
    return build_last_pair(
        seed=draw(st.integers(0, 2**32 - 1)),
        classes=K,
        per_class=n,
        width=width,
        in_width=in_width,
        log10_kappa=draw(st.floats(0.0, math.log10(max_condition))),
        log10_scale=draw(st.floats(-1.0, 1.0)),
        eps1_frac=draw(_log_uniform(min_eps1_frac, max_eps1_frac)),
        residual=draw(st.sampled_from(RESIDUALS)),
        imbalance=0.0 if balanced else draw(_log_uniform(1e-8, max_imbalance)),
        perturbation=draw(st.sampled_from(PERTURBATIONS)),
        null_amp=draw(st.sampled_from([0.0, 1.0, 1e3]) | _log_uniform(1e-2, max_null_amp)),
    )


def head_instances(
    *,
    min_classes: int = 2,
    max_classes: int = 6,
    min_per_class: int = 1,
    max_per_class: int = 5,
    max_extra_width: int = 4,
    max_condition: float = 300.0,
    min_eps1_frac: float = 1e-6,
    max_eps1_frac: float = 0.99,
    max_imbalance: float = 0.3,
    max_null_amp: float = 1e3,
):
    """Strategy for :class:`LastPair` snapshots near the hypotheses of JSWM Theorem 3.1.

    ``classes`` in ``[min_classes, max_classes]``, ``per_class`` samples each; widths
    ``K + [0, max_extra_width]``; ``κ(W_L) = 10^t``, ``t ∈ [0, log10 max_condition]``
    (the default 300 keeps rounding, ≈ eps·κ², far below the claims' slack);
    ``ε1 = eps1_frac·√n`` (so ``δ = eps1_frac``); half the pairs exactly balanced, the
    others perturbed by ``imbalance·s_1`` (``null``: only in the null space of ``W_L``,
    aligned with features of large within-class spread ``null_amp``).
    """
    _check_range("classes", min_classes, max_classes, low=2)
    _check_range("per_class", min_per_class, max_per_class, low=1)
    _check_int("max_extra_width", max_extra_width, 0)
    _check_positive("max_condition", max_condition, 1.0)
    _check_positive("min_eps1_frac", min_eps1_frac)
    _check_positive("max_eps1_frac", max_eps1_frac)
    if min_eps1_frac > max_eps1_frac:
        raise InvalidArgument(
            f"min_eps1_frac={min_eps1_frac} exceeds max_eps1_frac={max_eps1_frac}"
        )
    _check_positive("max_imbalance", max_imbalance, 1e-8)
    _check_positive("max_null_amp", max_null_amp, 1e-2)
    return _last_pairs(
        min_classes,
        max_classes,
        min_per_class,
        max_per_class,
        max_extra_width,
        max_condition,
        max_eps1_frac,
        min_eps1_frac,
        max_imbalance,
        max_null_amp,
    )


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
        imbalance=draw(_log_uniform(1e-8, 1e-1)) if imbalanced else 0.0,
        mixing=draw(_log_uniform(1e-3, 1.0)) if mixed else 0.0,
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
):
    """Strategy for :class:`HeadWeights`: exactly balanced linear heads of depth ``L2``.

    ``κ(A) = κ(W_L)^{L2} <= max_condition_product`` (default 1e4, so that ``s_K(A)`` is
    computed to ~eps·1e4 relative). ``imbalanced=True`` perturbs every layer
    (``imbalance ∈ [1e-8, 0.1]``); ``mixed=True`` gives unbalanced factorisations of
    the same product (``mixing ∈ [1e-3, 1]``).
    """
    _check_range("depth", min_depth, max_depth, low=1)
    _check_range("classes", min_classes, max_classes, low=1)
    _check_int("max_extra_width", max_extra_width, 0)
    _check_positive("max_condition_product", max_condition_product, 1.0)
    if imbalanced and mixed:
        raise InvalidArgument("choose at most one of imbalanced=True and mixed=True")
    return _heads(
        min_depth,
        max_depth,
        min_classes,
        max_classes,
        max_extra_width,
        max_condition_product,
        imbalanced,
        mixed,
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
):
    """Strategy for :class:`HeadWeights`: balanced, perturbed, or mixed factorisations."""
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
        balanced_heads(**kw, mixed=True),
        balanced_heads(**kw, imbalanced=True),
    )
