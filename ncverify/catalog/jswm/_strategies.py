"""Hypothesis strategies for JSWM Theorem 3.1: adversarial last linear pairs.

Each strategy draws a seed and a handful of sizes and scales with hypothesis (so failures
shrink towards small K, n, widths and simple scales), then builds the tensors
deterministically in float64 from a ``torch.Generator`` seeded with that seed. Everything
drawn is recorded in the snapshot's ``inputs`` (a JSON-safe dict), and
``build_last_pair(**inputs)`` rebuilds the exact instance.

Adversarial by design (spec §3), reaching every hypothesis boundary:

* ε1 = ``eps1_frac`` times an *anchor*: ``√n`` (the NC2 threshold δ = 1) or ``√(N(K−1)/K)``
  (the H-interp threshold), so the whole range up to each threshold is drawn, and (for
  robustness and negative controls) past it up to ``√N``;
* residuals that are within-class, between-class, generic, along the weakest direction of
  ``W_L``, that *shrink* the class means towards their average (‖Z_LB‖ → 0 as ε1 → the
  H-interp threshold) or that *kill* one direction of the output class means (s_K(Z̄_L) → 0
  as δ → 1);
* ``W_L`` from well conditioned up to ``s_K(W_L)`` at the dtype-aware rank tolerance
  (``near_rank``), optionally with the left singular vectors that make Kantorovich's
  inequality an equality;
* balanced pairs ``W_L = U S Vᵀ``, ``W_{L-1} = V S Rᵀ`` plus a controlled perturbation that
  puts features with large within-class and between-class spread into the null space of
  ``W_L`` (so the √ε2 terms of NC1 and NC2 are needed).

The linear-head strategies are in ``_strategies_heads``.
"""

from __future__ import annotations

import math
from typing import Any

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from ._snapshots import LastPair

__all__ = [
    "EPS1_ANCHORS",
    "FAMILIES",
    "RESIDUALS",
    "anchor_value",
    "build_last_pair",
    "head_instances",
    "rank_kappa",
]

RESIDUALS = ("within", "between", "generic", "weakest", "shrink", "rankkill", "weakkill")
#: how W_{L-1} is perturbed: ``null`` (rank one, q fᵀ), ``nullspace`` (any matrix whose columns
#: lie in the null space of W_L: Z_L, hence ε1, is unchanged), ``generic`` (free: changes Z_L,
#: hence ε1; not drawn by the strategies)
PERTURBATIONS = ("null", "nullspace", "generic")
NULL_MODES = ("within", "between", "both")
#: what ε1 = eps1_frac·anchor is measured against: √n (NC2's δ < 1) or √(N(K−1)/K) (H-interp)
EPS1_ANCHORS = ("sqrt_n", "interp")


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


def _check_fraction(name: str, value: Any) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not (0 <= value <= 1):
        raise InvalidArgument(f"{name}={value!r} must be a number in [0, 1]")


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


def _kantorovich_basis(K: int, dtype):
    """Left singular vectors making ‖w_c‖‖W^†e_c‖ = (1+κ²)/(2κ) for classes 0 and 1:
    the first and last columns are (e_0 ∓ e_1)/√2, the others e_2, …, e_{K−1} (for K = 2 the
    class-mean difference is the strongest direction and the common mean the weakest)."""
    import torch

    U = torch.zeros(K, K, dtype=dtype)
    r = 1 / math.sqrt(2)
    U[0, 0], U[1, 0], U[0, K - 1], U[1, K - 1] = r, -r, r, r
    for j in range(2, K):
        U[j, j - 1] = 1.0
    return U


def _within(g, y, K: int, n: int, cols: int, dtype):
    """Random rows centred within each class (zero when n = 1)."""
    import torch

    E = torch.randn(y.numel(), cols, generator=g, dtype=dtype)
    means = torch.zeros(K, cols, dtype=dtype).index_add_(0, y, E) / n
    return E - means[y]


def _unit(E):
    import torch

    norm = torch.linalg.norm(E)
    return E / norm if norm > 0 else E


def _residual(g, mode: str, y, Y, U, K: int, n: int, eps1: float, gap: float, dt):
    """The output residual E = Z_L − Y (N×K) of the given mode with ‖E‖_F = eps1."""
    import torch

    N = y.numel()
    T = math.sqrt(n * (K - 1))  # ‖YB‖_F = √(N(K−1)/K)
    if mode == "shrink":  # class means pulled towards their average, plus within noise
        YB = Y - 1.0 / K
        a = min(eps1, T) * (1 - gap)
        b = math.sqrt(max(eps1 * eps1 - a * a, 0.0))
        return -a * YB / T + b * _unit(_within(g, y, K, n, K, dt))
    if mode == "rankkill":  # class-mean residual −β uuᵀ + γ vvᵀ, ‖·‖_F = δ = ε1/√n
        delta = eps1 / math.sqrt(n)
        uv = _orthonormal(g, K, 2, dt)
        u, v = uv[:, 0], uv[:, 1]
        beta = min(delta, 1.0) * (1 - gap)
        gamma = math.sqrt(max(delta * delta - beta * beta, 0.0))
        Ebar = -beta * torch.outer(u, u) + gamma * torch.outer(v, v)
        return Ebar[y]
    if mode == "weakkill":  # y_i + e_i loses (1 − gap) of its part along the weakest direction
        u = U[:, -1]  # of W: Z_{L−1} stays moderate even when s_K(W_L) is tiny; ε1 = (1−gap)√n
        return -(1 - gap) * (Y @ u)[:, None] * u[None, :]
    if mode == "weakest":  # along the weakest direction of W: W^† amplifies by 1/s_K
        E = torch.randn(N, 1, generator=g, dtype=dt) * U[:, -1]
        if n > 1:
            means = torch.zeros(K, K, dtype=dt).index_add_(0, y, E) / n
            E = E - means[y]
    elif mode == "within":
        E = _within(g, y, K, n, K, dt)
    elif mode == "between":
        E = torch.randn(K, K, generator=g, dtype=dt)[y]
    else:
        E = torch.randn(N, K, generator=g, dtype=dt)
    return eps1 * _unit(E)


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
    eps1_anchor: str = "sqrt_n",
    gap: float = 0.1,
    null_mode: str = "within",
    kantorovich: bool = False,
    lower_power: float = 1.0,
    **_: Any,
) -> LastPair:
    """The :class:`LastPair` described by these inputs (see :func:`head_instances`).

    ``ε1 = eps1_frac·anchor`` with ``anchor`` = ``√n`` or ``√(N(K−1)/K)`` (``eps1_anchor``;
    ``inputs["eps1_target"]`` records ε1); ``gap`` (in (0, 1)) is how far the ``shrink`` and
    ``rankkill`` residuals stop short of collapsing the class means (0: they collapse them).
    """
    import torch

    if eps1_anchor not in EPS1_ANCHORS or residual not in RESIDUALS:
        raise InvalidArgument(
            f"eps1_anchor={eps1_anchor!r} / residual={residual!r}: choose from "
            f"{EPS1_ANCHORS} / {RESIDUALS}"
        )
    dt = torch.float64
    g = torch.Generator().manual_seed(seed)
    K, n, p1, p2 = classes, per_class, width, in_width
    N = K * n
    y = torch.arange(K).repeat_interleave(n)[torch.randperm(N, generator=g)]
    U = _orthonormal(g, K, K, dt)
    if kantorovich and K >= 2:
        U = _kantorovich_basis(K, dt)
    V = _orthonormal(g, p1, K, dt)
    R = _orthonormal(g, p2, K, dt)
    S = _spectrum(g, K, log10_kappa, 10.0**log10_scale, dt)
    W = U * S @ V.T  # (K, p1) = U S Vᵀ
    Sp = S**lower_power
    W1 = V * Sp @ R.T  # (p1, p2) = V S^p Rᵀ: balanced with W for p = 1
    Y = torch.nn.functional.one_hot(y, K).to(dt)
    eps1 = eps1_frac * anchor_value(eps1_anchor, K, n)
    E = _residual(g, residual, y, Y, U, K, n, eps1, gap, dt)
    eps1 = float(torch.linalg.norm(E)) if residual == "weakkill" else eps1
    Z1 = (Y + E) @ (V * (1.0 / S) @ U.T).T  # rows W^†(y_i + e_i)
    Z = Z1 @ (R * (1.0 / Sp) @ V.T).T  # rows R S^{-p} Vᵀ z1_i, so W1 z = z1
    # a direction f orthogonal to R (killed by the balanced W1) and q in the null space of W
    if p2 > K:
        f = torch.linalg.qr(torch.cat([R, torch.randn(p2, 1, generator=g, dtype=dt)], 1))[0][:, K]
    else:
        f = None
    if null_amp > 0 and f is not None:  # spread along f: within-class, between-class or both
        c = torch.zeros(N, dtype=dt)
        if null_mode in ("within", "both"):
            c = c + _unit(_within(g, y, K, n, 1, dt)[:, 0]) * math.sqrt(N)
        if null_mode in ("between", "both"):
            c = c + _unit(torch.randn(K, generator=g, dtype=dt)[y]) * math.sqrt(N)
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
            if perturbation != "generic":  # columns in the null space of W_L: Z_L unchanged
                D = D - V @ (V.T @ D)
        norm = float(torch.linalg.matrix_norm(D, 2))
        W1 = W1 + imbalance * s1 * D / norm if norm > 0 else W1
    inputs = dict(
        seed=seed,
        classes=K,
        per_class=n,
        width=p1,
        in_width=p2,
        log10_kappa=log10_kappa,
        log10_scale=log10_scale,
        eps1_frac=eps1_frac,
        eps1_anchor=eps1_anchor,
        eps1_target=eps1,
        residual=residual,
        gap=gap,
        imbalance=imbalance,
        perturbation=perturbation,
        null_amp=null_amp,
        null_mode=null_mode,
        kantorovich=bool(kantorovich),
        lower_power=lower_power,
        N=N,
        dtype="float64",
    )
    return LastPair(Z=Z, W_lower=W1, W_upper=W, y=y, inputs=inputs)


def anchor_value(anchor: str, K: int, n: int) -> float:
    """``√n`` (``"sqrt_n"``) or ``√(N(K−1)/K) = √(n(K−1))`` (``"interp"``)."""
    return math.sqrt(n) if anchor == "sqrt_n" else math.sqrt(n * (K - 1))


def _log_uniform(lo: float, hi: float):
    return st.floats(math.log10(lo), math.log10(hi)).map(lambda t: 10.0**t)


def rank_kappa(*dims: int) -> float:
    """The largest κ(W_L) H-rank accepts in float64 for these dimensions: 1/(max_dim·eps)."""
    return 1.0 / (max(dims) * 2.220446049250313e-16)


#: families of last pairs, each aimed at some hypothesis boundaries or some bounds' tight
#: cases (drawn with equal probability, so each negative control has many chances);
#: ``near_rank`` (s_K(W_L) at the rank tolerance) only when asked for
FAMILIES = ("generic", "null", "threshold", "exact", "near_rank")


def _chance(draw, p: float) -> bool:
    """True with probability ``p`` (a uniform integer, not a float that shrinks to 0)."""
    return p > 0 and draw(st.integers(0, 999)) < 1000 * p


@st.composite
def _last_pairs(draw, cfg: dict[str, Any]):
    family = draw(st.sampled_from(FAMILIES if cfg["near_rank"] else FAMILIES[:-1]))
    # within-class variation needs n >= 2 (null-space spread; shrink residuals)
    lo_n = max(cfg["min_per_class"], 2) if family in ("null", "threshold") else cfg["min_per_class"]
    K = draw(st.integers(cfg["min_classes"], cfg["max_classes"]))
    n = draw(st.integers(min(lo_n, cfg["max_per_class"]), cfg["max_per_class"]))
    lo_w = 1 if family == "null" else 0  # a null space for W_L and for the balanced W_{L-1}
    hi_w = max(lo_w, cfg["max_extra_width"])
    width = K + draw(st.integers(lo_w, hi_w))
    in_width = K + draw(st.integers(lo_w, hi_w))
    lower_power = 1.0  # W_{L-1} = V S^p Rᵀ: p = 1 balanced
    if family == "near_rank":  # s_K(W_L) within a factor 10 above or 2 below the tolerance
        top = math.log10(rank_kappa(K, width, in_width))
        log10_kappa = draw(st.floats(top - 1.0, top + 0.3) | st.floats(top - 0.07, top))
        # a balanced W_{L-1} would make κ(W_L W_{L-1}) = κ² > 1/eps: Z_L could not be built
        # near Y in float64; an orthonormal W_{L-1} keeps it buildable
        lower_power = 0.0
    else:  # the threshold family keeps κ(W_L) <= 10: its bounds grow with κ²
        top = math.log10(cfg["max_condition"])
        log10_kappa = draw(st.floats(0.0, min(1.0, top) if family == "threshold" else top))
    anchor = draw(st.sampled_from(EPS1_ANCHORS))
    lo, hi = cfg["min_eps1_frac"], cfg["max_eps1_frac"]
    near = st.floats(max(lo, min(0.9, hi)), hi)  # the neighbourhood of the threshold
    beyond = family == "threshold" and _chance(draw, cfg["outside"])
    if beyond:  # past the anchor's threshold, up to ε1 = √N (the robustness region)
        top = 0.999 * math.sqrt(K * n) / anchor_value(anchor, K, n)
        frac = 1.0 + draw(st.floats(0.01, 1.0)) * max(top - 1.0, 0.0)
    elif family == "threshold":
        frac = draw(near)
    elif family in ("exact", "null"):  # small ε1: the null-space terms dominate
        frac = draw(_log_uniform(lo, min(hi, max(lo, 1e-3 if family == "exact" else 0.1))))
    else:
        frac = draw(_log_uniform(lo, hi) | near)
    if family == "threshold":  # beyond the threshold: the residual that breaks its theorem
        residual = draw(
            st.just("shrink" if anchor == "interp" else "rankkill")
            if beyond
            else st.sampled_from(("shrink", "rankkill"))
        )
    elif family == "exact":  # the tight cases of the bounds
        residual = draw(st.sampled_from(("weakest", "within", "generic")))
    elif family == "near_rank":  # Z_L stays computable to rounding only away from s_K
        residual = "weakkill"
    else:
        residual = draw(st.sampled_from(RESIDUALS[:-1]))
    mx = cfg["max_imbalance"]
    if family == "null":  # a substantial null-space part of W_{L-1}, features spread along it
        imbalance = draw(st.floats(min(1e-3, mx), mx) | _log_uniform(1e-6, mx))
        perturbation = "null"
        null_amp = draw(_log_uniform(min(10.0, cfg["max_null_amp"]), cfg["max_null_amp"]))
    elif family in ("generic", "near_rank") and draw(st.booleans()):
        imbalance = draw(_log_uniform(1e-8, mx) | st.floats(min(1e-3, mx), mx))
        perturbation = draw(st.sampled_from(PERTURBATIONS[:2]))
        null_amp = draw(st.sampled_from([0.0, 1.0, 1e3]) | _log_uniform(1e-2, cfg["max_null_amp"]))
    else:  # exactly balanced (up to rounding)
        imbalance, perturbation = 0.0, "null"
        null_amp = draw(st.sampled_from([0.0, 1.0]))
    return build_last_pair(
        seed=draw(st.integers(0, 2**32 - 1)),
        classes=K,
        per_class=n,
        width=width,
        in_width=in_width,
        log10_kappa=log10_kappa,
        log10_scale=draw(st.floats(-1.0, 1.0)),
        eps1_frac=frac,
        eps1_anchor=anchor,
        residual=residual,
        gap=draw(
            _log_uniform(1e-6, 1e-2)
            if beyond
            else _log_uniform(1e-8, 1e-1)
            if family == "near_rank"
            else _log_uniform(1e-4, 0.5)
        ),
        imbalance=imbalance,
        perturbation=perturbation,
        null_amp=null_amp,
        null_mode="both" if family == "null" else draw(st.sampled_from(NULL_MODES)),
        kantorovich=family == "exact" or draw(st.booleans()),
        lower_power=lower_power,
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
    outside: float = 0.0,
    max_imbalance: float = 0.3,
    max_null_amp: float = 1e3,
    near_rank: bool = False,
):
    """Strategy for :class:`LastPair` snapshots near the hypotheses of JSWM Theorem 3.1.

    ``classes`` in ``[min_classes, max_classes]``, ``per_class`` samples each; widths
    ``K + [0, max_extra_width]``; ``ε1 = eps1_frac·anchor`` with ``anchor`` ``√n`` or
    ``√(N(K−1)/K)`` (:data:`EPS1_ANCHORS`; ``inputs["eps1_target"]`` records ε1). One of
    the :data:`FAMILIES` is drawn first, with equal probability:

    * ``generic``: ``κ(W_L) = 10^t``, ``t ∈ [0, log10 max_condition]``, any residual,
      ``eps1_frac`` log-uniform in ``[min_eps1_frac, max_eps1_frac]`` or uniform in
      ``[0.9, max_eps1_frac]``; half exactly balanced, half perturbed in the null space of
      ``W_L`` by ``imbalance·s_1`` (``imbalance <= max_imbalance``);
    * ``null``: a substantial null-space perturbation (``null``: ``q fᵀ``) and features
      spread along ``f`` within and between classes (``null_amp ∈ [10, max_null_amp]``),
      small ε1: the √ε2 terms of NC1 and NC2 are needed;
    * ``threshold``: κ(W_L) <= 10, ``shrink`` or ``rankkill`` residuals with ε1 in the
      neighbourhood of the anchor's threshold, and with probability ``outside`` past it (up to
      ε1 = √N: robustness draws);
    * ``exact``: ε1 tiny, Kantorovich bases, residuals within-class or along the weakest
      direction: the tight cases of the bounds;
    * ``near_rank`` (only with ``near_rank=True``): ``s_K(W_L)`` within a factor 10 above or 2
      below the float64 rank tolerance ``max_dim·eps·s_1``, with an orthonormal ``W_{L−1}``
      (a balanced one would make ``κ(W_LW_{L−1}) = κ² > 1/eps``) and the ``weakkill``
      residual (``y_i + e_i`` keeps only ``gap`` ∈ [1e-8, 0.1] of its part along the weakest
      direction of ``W_L``, so ``Z_L`` is computed to rounding; ε1 = (1 − gap)√n, at the NC2
      threshold).
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
    _check_fraction("outside", outside)
    _check_positive("max_imbalance", max_imbalance, 1e-8)
    _check_positive("max_null_amp", max_null_amp, 1e-2)
    if not isinstance(near_rank, bool):
        raise InvalidArgument(f"near_rank={near_rank!r} must be a bool")
    cfg = dict(
        min_classes=min_classes,
        max_classes=max_classes,
        min_per_class=min_per_class,
        max_per_class=max_per_class,
        max_extra_width=max_extra_width,
        max_condition=max_condition,
        min_eps1_frac=min_eps1_frac,
        max_eps1_frac=max_eps1_frac,
        outside=outside,
        max_imbalance=max_imbalance,
        max_null_amp=max_null_amp,
        near_rank=near_rank,
    )
    return _last_pairs(cfg)
