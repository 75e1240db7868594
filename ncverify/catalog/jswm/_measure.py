"""Measurements of JSWM Theorem 3.1 (torch): every symbol of the NC1, NC2, NC3 and depth specs.

Spec §3; the symbols are listed in each function's docstring. Measurements use
:mod:`ncverify.metrics` and run in the snapshot's dtype.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

from ...errors import InvalidInput
from ._snapshots import HeadWeights, LastPair

__all__ = ["imbalance_bound", "measure_head", "measure_last_pair"]


def _check_pair(s: LastPair):
    import torch

    Z, W1, W, y = s.Z, s.W_lower, s.W_upper, s.y
    for name, M in (("Z", Z), ("W_lower", W1), ("W_upper", W)):
        if not (isinstance(M, torch.Tensor) and M.ndim == 2 and M.is_floating_point()):
            raise InvalidInput(
                f"LastPair.{name} must be a 2-D floating torch tensor, got {type(M).__name__} "
                f"{getattr(M, 'shape', '')} {getattr(M, 'dtype', '')}; convert NumPy arrays "
                "with torch.as_tensor"
            )
    if len({Z.dtype, W1.dtype, W.dtype}) > 1:
        raise InvalidInput(
            f"LastPair mixes dtypes Z {Z.dtype}, W_lower {W1.dtype}, W_upper {W.dtype}; convert "
            "them to one dtype (it decides the tolerances)"
        )
    if not isinstance(y, torch.Tensor) or y.ndim != 1 or y.is_floating_point() or y.is_complex():
        raise InvalidInput(
            f"LastPair.y must be a 1-D integer torch tensor of labels, got {type(y).__name__} "
            f"{getattr(y, 'dtype', '')}"
        )
    y = y.to(torch.int64)
    if Z.shape[1] != W1.shape[1] or W1.shape[0] != W.shape[1]:
        raise InvalidInput(
            f"LastPair shapes do not chain: Z {tuple(Z.shape)}, W_lower {tuple(W1.shape)}, "
            f"W_upper {tuple(W.shape)}; need Z (N, p), W_lower (n, p), W_upper (K, n)"
        )
    K, N = W.shape[0], Z.shape[0]
    counts = torch.bincount(y, minlength=K)
    if (
        y.shape != (N,)
        or counts.numel() != K
        or not bool((counts == counts[0]).all())
        or int(counts[0]) == 0
    ):
        raise InvalidInput(
            f"LastPair.y must hold N={N} labels in 0..{K - 1} with equal class counts "
            f"(Theorem 3.1 assumes balanced classes); got counts {counts.tolist()}"
        )
    return Z, W1, W, y, K, N, int(counts[0])


def _pair_basics(s: LastPair) -> dict[str, Any]:
    import torch

    from ... import metrics as M

    Z2, W1, W, y, K, N, n = _check_pair(s)
    Z1 = Z2 @ W1.T
    ZL = Z1 @ W.T
    sv = _top(torch.linalg.svdvals(W), K)  # 0 when W_L has fewer than K singular values
    return dict(
        _Z1=Z1,
        _ZL=ZL,
        _y=y,
        N=float(N),
        K=float(K),
        n=float(n),
        eps1=float(M.interpolation_error(ZL, y)),
        eps2=float(M.balancedness(W1, W)),
        s1_WL=float(sv[0]),
        sK_WL=float(sv[K - 1]),
        kappa_WL=float(sv[0] / sv[K - 1]) if float(sv[K - 1]) > 0 else math.inf,
        max_dim=float(max(*W.shape, *W1.shape)),
        W_sq_F=float(torch.linalg.norm(W) ** 2 + torch.linalg.norm(W1) ** 2),
    )


def measure_last_pair(s: LastPair) -> dict[str, Any]:
    """Every symbol of the NC1, NC2 and NC3 specs, measured on ``s`` (float64 or its dtype).

    Scalars: ``N, K, n, eps1, eps2, s1_WL, sK_WL, kappa_WL, max_dim, W_sq_F, nc1_prev,
    Z2_F, Z2_Pi, ZL_Pi, ZL_B, kappa_prev, kappa_L, Zbar2_op, sK_ZbarL``; per-sample
    arrays: ``cos_zw, abs_r, norm_r, norm_q, norm_wc, norm_pinv_ec``; measurement
    uncertainties (:func:`_uncertainties`): ``eps1_err, kappa_WL_err, kappa_L_err,
    kappa_prev_err, sK_ZbarL_err``.
    """
    import torch

    from ... import metrics as M

    out = _pair_basics(s)
    Z1, ZL, y = out.pop("_Z1"), out.pop("_ZL"), out.pop("_y")
    Z2, W = s.Z, s.W_upper
    N, K = int(out["N"]), int(out["K"])
    out.update(
        nc1_prev=float(M.nc1_trace_ratio(Z1, y)),
        Z2_F=float(torch.linalg.norm(Z2)),
        Z2_Pi=float((N * M.trace_sigma_w(Z2, y)) ** 0.5),
        ZL_Pi=float((N * M.trace_sigma_w(ZL, y)) ** 0.5),
        ZL_B=float((N * M.trace_sigma_b(ZL, y)) ** 0.5),
        kappa_prev=float(M.nc2_kappa(Z1, y)),
        kappa_L=float(M.nc2_kappa(ZL, y)),
        Zbar2_op=float(torch.linalg.svdvals(M.class_means(Z2, y))[0]),
        sK_ZbarL=float(_top(torch.linalg.svdvals(M.class_means(ZL, y)), K)[K - 1]),
    )
    out.update(_uncertainties(out, Z1, ZL, Z2, s.W_lower, W, y, K))
    # per sample i of class c = y_i (spec §3, NC3): r_i = W_L z_i - e_c, q_i = (I - P) z_i.
    # ⟨z_i, w_c⟩ = (W_L z_i)_c is read from the same Z_L entry as r_ic, so the numerator of the
    # cosine and 1 - |r_ic| share their rounding (a separately rounded dot product could
    # undercut 1 - |r_ic| by eps·‖z_i‖‖w_c‖ ≈ eps·κ relative).
    W_pinv = torch.linalg.pinv(W)  # (n, K); W has full row rank under H-rank
    Y = torch.nn.functional.one_hot(y, K).to(ZL.dtype)
    R = ZL - Y
    Q = Z1 - ZL @ W_pinv.T
    w_c = W[y]  # (N, n) classifier row of each sample's class
    idx = torch.arange(N)
    cos = ZL[idx, y] / (torch.linalg.norm(Z1, dim=1) * torch.linalg.norm(w_c, dim=1))
    out.update(
        cos_zw=cos.numpy(force=True),
        abs_r=R[idx, y].abs().numpy(force=True),
        norm_r=torch.linalg.norm(R, dim=1).numpy(force=True),
        norm_q=torch.linalg.norm(Q, dim=1).numpy(force=True),
        norm_wc=torch.linalg.norm(w_c, dim=1).numpy(force=True),
        norm_pinv_ec=torch.linalg.norm(W_pinv, dim=0)[y].numpy(force=True),
    )
    return out


def _kappa_err(s1: float, sK: float, delta: float, gamma: float) -> tuple[float, float]:
    """``(κ̂, err)``: a computed ``κ̂ = ŝ_1/ŝ_K`` whose singular values are off by at most
    ``Δ' = delta + gamma·ŝ_1`` (the matrix's own rounding ``delta`` plus the SVD's backward
    error) lies within ``err = (ŝ_1 + Δ')/(ŝ_K − Δ') − κ̂`` of the exact one; ``(inf, inf)``
    when ``ŝ_K <= Δ'`` (numerically singular: κ cannot be measured)."""
    d = delta + gamma * s1
    if not (sK > d and math.isfinite(s1)):
        return math.inf, math.inf
    kappa = s1 / sK
    return kappa, (s1 + d) / (sK - d) - kappa


def _uncertainties(out: dict[str, Any], Z1, ZL, Z2, W1, W, y, K: int) -> dict[str, float]:
    """Rounding bounds of the measured symbols, from the conditioning of what they are
    computed from (``docs/theorems.md#uncertainty``). With ``γ = max_dim·eps`` (a bound on
    the relative error of a matrix product, ``|fl(AB) − AB| <= γ|A||B|``):

    * ``‖ΔZ_{L−1}‖_F <= γ‖Z_{L−2}‖_F‖W_{L−1}‖_F``, ``‖ΔZ_L‖_F <= γ‖Z_{L−1}‖_F‖W_L‖_F +
      ‖ΔZ_{L−1}‖_F‖W_L‖_F``; ``eps1_err = ‖ΔZ_L‖_F + γ·ε1``;
    * class means carry ``‖ΔZ̄‖_F <= ‖ΔZ‖_F/√n``; a computed singular value is off by that
      plus ``γ·ŝ_1`` (backward-stable SVD), hence ``kappa_*_err`` (:func:`_kappa_err`) and
      ``sK_ZbarL_err``.

    The errors grow with κ(W_L): ‖Z_{L−1}‖ ~ 1/s_K(W_L). They widen the NC1, NC2, NC3
    comparisons (``Claim.uncertainty``, ``Claim.atol``), so that a float measurement is never
    judged beyond its accuracy; a numerically singular κ is infinite (the claim undecided).
    """
    import torch

    from ... import metrics as M

    fro = lambda A: float(torch.linalg.norm(A))  # noqa: E731
    gamma = out["max_dim"] * torch.finfo(W.dtype).eps
    n = out["n"]
    dZ1 = gamma * fro(Z2) * fro(W1)
    dZL = gamma * fro(Z1) * fro(W) + dZ1 * fro(W)
    sW = _top(torch.linalg.svdvals(W), K)
    s1 = _top(torch.linalg.svdvals(M.class_means(Z1, y)), K)
    sL = _top(torch.linalg.svdvals(M.class_means(ZL, y)), K)
    _, kWL = _kappa_err(float(sW[0]), float(sW[-1]), 0.0, gamma)
    _, kL = _kappa_err(float(sL[0]), float(sL[-1]), dZL / math.sqrt(n), gamma)
    _, kprev = _kappa_err(float(s1[0]), float(s1[-1]), dZ1 / math.sqrt(n), gamma)
    if Z1.shape[1] < K:  # K class means in fewer dimensions: κ = inf exactly
        kprev = math.inf
    return dict(
        eps1_err=dZL + gamma * out["eps1"],
        kappa_WL_err=kWL,
        kappa_L_err=kL,
        kappa_prev_err=kprev,
        sK_ZbarL_err=dZL / math.sqrt(n) + gamma * float(sL[0]),
    )


def imbalance_bound(weights, *, widen: bool = False) -> float:
    r"""``E`` with ``‖AAᵀ − (W_LW_Lᵀ)^{L2}‖_op ≤ E`` for a head ``W_1, …, W_m`` (``m = L2``).

    ``E = Σ_{k=1}^{m−1} (Π_{j>k} s_j²) ((s_{k+1}² + ε_k)^k − s_{k+1}^{2k})`` with
    ``s_j = ‖W_j‖_op`` and ``ε_k = ‖W_{k+1}ᵀW_{k+1} − W_kW_kᵀ‖_op`` (the imbalance lemma,
    ``docs/theorems.md#imbalance``); ``E = 0`` for an exactly balanced head. ``widen=True``
    makes it an upper bound of the exact ``E`` of the stored floats despite rounding: each
    ``ε_k`` is increased by its rounding error ``2(n + 1)·eps·(‖W_{k+1}‖_F² + ‖W_k‖_F²)``
    (it is computed by cancellation) and each ``s_j`` by ``4n·eps·s_j`` (``n`` the largest
    dimension, ``eps`` the dtype's machine epsilon); ``E`` is increasing in both.
    """
    import torch

    from ... import metrics as M

    Ws = [W.detach() for W in weights]
    m = len(Ws)
    eps = torch.finfo(Ws[-1].dtype).eps if widen else 0.0
    n = max(max(W.shape) for W in Ws)
    s = [float(torch.linalg.matrix_norm(W, 2)) * (1 + 4 * n * eps) for W in Ws]
    total = 0.0
    for k in range(1, m):  # pairs (W_k, W_{k+1}) in 1-based numbering
        lo, up = Ws[k - 1], Ws[k]
        eps_k = float(M.balancedness(lo, up))
        eps_k += 2 * (n + 1) * eps * float(torch.linalg.norm(lo) ** 2 + torch.linalg.norm(up) ** 2)
        q = s[k] ** 2
        prod = math.prod(x * x for x in s[k:])
        total += prod * ((q + eps_k) ** k - q**k)
    return total


def measure_head(h: HeadWeights) -> dict[str, Any]:
    """Symbols of the depth spec (spec §3, conditioning through depth) on a linear head.

    ``L2``, ``K`` (rows of ``W_L``), ``s_WL`` and ``s_A``: the top ``K`` singular values of
    ``W_L`` and of ``A = W_L ⋯ W_{L1+1}`` (padded with 0 when a matrix has fewer than ``K``:
    a ``3×2`` ``W_L`` has ``s_3 = 0``, so H-rank fails as it should); ``s1_WL``, ``sK_WL``,
    ``kappa_WL``, ``sA1``, ``sAK``; ``E``: the imbalance bound
    (:func:`imbalance_bound`, widened for rounding) plus the rounding allowance of the
    measured singular values, ``2·s_1(A)·δ_A + δ_A² + (s_1(W_L) + δ_W)^{2L2} − s_1(W_L)^{2L2}``
    with ``δ_W = 4n·eps·s_1(W_L)`` and ``δ_A = 4·L2·n·eps·Π_j ‖W_j‖_op`` (backward errors of
    the SVD and of the product), so that ``|ŝ_i(A)² − ŝ_i(W_L)^{2L2}| ≤ E`` holds for the
    MEASURED values; ``max_dim``.
    """
    import torch

    from ... import metrics as M

    Ws = _head(h)
    W = Ws[-1]
    K = W.shape[0]
    A = M.head_product(Ws)
    sW = _top(torch.linalg.svdvals(W), K)
    sA = _top(torch.linalg.svdvals(A), K)
    L2 = len(Ws)
    n = max(max(M_.shape) for M_ in Ws)
    eps = torch.finfo(W.dtype).eps
    s1W, s1A = float(sW[0]), float(sA[0])
    delta_W = 4 * n * eps * s1W
    delta_A = 4 * L2 * n * eps * math.prod(float(torch.linalg.matrix_norm(M_, 2)) for M_ in Ws)
    allowance = 2 * s1A * delta_A + delta_A**2 + ((s1W + delta_W) ** (2 * L2) - s1W ** (2 * L2))
    sK = float(sW[-1])
    return dict(
        L2=float(L2),
        K=float(K),
        E=imbalance_bound(Ws, widen=True) + allowance,
        s1_WL=s1W,
        sK_WL=sK,
        kappa_WL=s1W / sK if sK > 0 else math.inf,
        sA1=s1A,
        sAK=float(sA[-1]),
        s_WL=sW.numpy(force=True),
        s_A=sA.numpy(force=True),
        max_dim=float(max(W.shape)),
    )


def _head(h: HeadWeights) -> list:
    import torch

    Ws = list(h.weights)
    if len(Ws) < 1 or any(not isinstance(W, torch.Tensor) or W.ndim != 2 for W in Ws):
        raise InvalidInput(
            f"HeadWeights.weights must be a non-empty list of 2-D torch tensors, got "
            f"{[type(W).__name__ for W in Ws]}; convert NumPy arrays with torch.as_tensor"
        )
    dtypes = {W.dtype for W in Ws}
    if len(dtypes) > 1 or not Ws[0].is_floating_point():
        raise InvalidInput(
            f"HeadWeights.weights must share one floating dtype, got {sorted(map(str, dtypes))}"
        )
    for a, b in itertools.pairwise(Ws):
        if b.shape[1] != a.shape[0]:
            raise InvalidInput(f"head weights do not chain: {tuple(a.shape)} then {tuple(b.shape)}")
    return [W.detach() for W in Ws]


def _top(s, K: int):
    """The top ``K`` singular values, padded with zeros when there are fewer."""
    import torch

    s = s[:K]
    if s.numel() < K:
        s = torch.cat([s, s.new_zeros(K - s.numel())])
    return s
