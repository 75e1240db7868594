"""Measurements of JSWM Theorem 3.1 (torch): every symbol of the NC1, NC2, NC3 and depth specs.

Spec §3; the symbols are listed in each function's docstring. Measurements use
:mod:`ncverify.metrics` and run in the snapshot's dtype.
"""

from __future__ import annotations

import itertools
from typing import Any

from ...errors import InvalidInput
from ._snapshots import HeadWeights, LastPair

__all__ = ["measure_head", "measure_last_pair"]


def _check_pair(s: LastPair):
    import torch

    Z, W1, W, y = s.Z, s.W_lower, s.W_upper, s.y
    for name, M in (("Z", Z), ("W_lower", W1), ("W_upper", W)):
        if not (isinstance(M, torch.Tensor) and M.ndim == 2):
            raise InvalidInput(f"LastPair.{name} must be a 2-D torch tensor, got {M!r:.80}")
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
    sv = torch.linalg.svdvals(W)
    return dict(
        _Z1=Z1,
        _ZL=ZL,
        N=float(N),
        K=float(K),
        n=float(n),
        eps1=float(M.interpolation_error(ZL, y)),
        eps2=float(M.balancedness(W1, W)),
        s1_WL=float(sv[0]),
        sK_WL=float(sv[K - 1]),
        kappa_WL=float(sv[0] / sv[K - 1]),
        max_dim=float(max(*W.shape, *W1.shape)),
        W_sq_F=float(torch.linalg.norm(W) ** 2 + torch.linalg.norm(W1) ** 2),
    )


def measure_last_pair(s: LastPair) -> dict[str, Any]:
    """Every symbol of the NC1, NC2 and NC3 specs, measured on ``s`` (float64 or its dtype).

    Scalars: ``N, K, n, eps1, eps2, s1_WL, sK_WL, kappa_WL, max_dim, W_sq_F, nc1_prev,
    Z2_F, Z2_Pi, ZL_Pi, ZL_B, kappa_prev, kappa_L, Zbar2_op, sK_ZbarL``; per-sample
    arrays: ``cos_zw, abs_r, norm_r, norm_q, norm_wc, norm_pinv_ec``.
    """
    import torch

    from ... import metrics as M

    out = _pair_basics(s)
    Z1, ZL = out.pop("_Z1"), out.pop("_ZL")
    Z2, W, y = s.Z, s.W_upper, s.y
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
        sK_ZbarL=float(torch.linalg.svdvals(M.class_means(ZL, y))[K - 1]),
    )
    # per sample i of class c = y_i (spec §3, NC3): r_i = W_L z_i - e_c, q_i = (I - P) z_i
    W_pinv = torch.linalg.pinv(W)  # (n, K); W has full row rank under H-rank
    Y = torch.nn.functional.one_hot(y, K).to(ZL.dtype)
    R = ZL - Y
    Q = Z1 - (Z1 @ W.T) @ W_pinv.T
    w_c = W[y]  # (N, n) classifier row of each sample's class
    idx = torch.arange(N)
    cos = (Z1 * w_c).sum(1) / (torch.linalg.norm(Z1, dim=1) * torch.linalg.norm(w_c, dim=1))
    out.update(
        cos_zw=cos.numpy(force=True),
        abs_r=R[idx, y].abs().numpy(force=True),
        norm_r=torch.linalg.norm(R, dim=1).numpy(force=True),
        norm_q=torch.linalg.norm(Q, dim=1).numpy(force=True),
        norm_wc=torch.linalg.norm(w_c, dim=1).numpy(force=True),
        norm_pinv_ec=torch.linalg.norm(W_pinv, dim=0)[y].numpy(force=True),
    )
    return out


def measure_head(h: HeadWeights) -> dict[str, Any]:
    """Symbols of the depth spec: ``L2, kappa_WL, kappaA, s_WL, s_A, eps2_rel, ...``.

    ``eps2_rel`` is the largest relative imbalance over the pairs of the head,
    ``‖W_{l+1}ᵀW_{l+1} - W_l W_lᵀ‖_op / max(‖W_{l+1}‖_op², ‖W_l‖_op²)``. ``s_A`` are
    the top K singular values of the product ``A = W_L ⋯ W_{L1+1}``.
    """
    import torch

    from ... import metrics as M

    Ws = list(h.weights)
    if len(Ws) < 1 or any(not isinstance(W, torch.Tensor) or W.ndim != 2 for W in Ws):
        raise InvalidInput("HeadWeights.weights must be a non-empty list of 2-D torch tensors")
    for a, b in itertools.pairwise(Ws):
        if b.shape[1] != a.shape[0]:
            raise InvalidInput(f"head weights do not chain: {tuple(a.shape)} then {tuple(b.shape)}")
    W = Ws[-1]
    K = W.shape[0]
    A = M.head_product(Ws)
    sW = torch.linalg.svdvals(W)[:K]
    sA = torch.linalg.svdvals(A)[:K]
    rel = 0.0
    for lo, up in itertools.pairwise(Ws):
        scale = max(float(torch.linalg.matrix_norm(lo, 2)), float(torch.linalg.matrix_norm(up, 2)))
        rel = max(rel, float(M.balancedness(lo, up)) / scale**2)
    return dict(
        L2=float(len(Ws)),
        K=float(K),
        eps2_rel=rel,
        s1_WL=float(sW[0]),
        sK_WL=float(sW[-1]),
        kappa_WL=float(sW[0] / sW[-1]),
        kappaA=float(sA[0] / sA[-1]),
        s_WL=sW.numpy(force=True),
        s_A=sA.numpy(force=True),
        max_dim=float(max(W.shape)),
    )
