r"""Measurements of JSWM's Theorem 5.2 (torch): head-depth sweeps, the imbalance lemma, and
the certified optimum of the deep linear unconstrained-features model.

Spec §5, docs/training.md#thm-52. The claim ``κ(W_L) ≤ exp(ĉ/(2 L2))`` needs ``ĉ``, an upper
bound of the cost of the nonlinear part: the squared norm of a nonlinear part that fits
``Z_{L1} = [Y, 0]`` exactly, built on the run (:func:`competitor`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._measure import imbalance_bound
from ._snapshots import DepthSweep, HeadWeights

__all__ = [
    "competitor",
    "depth_symbols",
    "imbalance_bound",
    "measure_deep_ufm_sweep",
    "measure_depth_sweep",
    "measure_imbalance",
    "remeasure_imbalance",
]


def measure_imbalance(h: HeadWeights) -> dict[str, Any]:
    """Symbols of ``jswm-5.2-imbalance``: ``imb_lhs = ‖AAᵀ − (W_LW_Lᵀ)^{L2}‖_op``, ``E``
    (:func:`imbalance_bound`, widened for the rounding of its inputs),
    ``imb_scale = max(Π_j ‖W_j‖_op², ‖W_L‖_op^{2 L2})`` (the size of both products, for the
    rounding allowance), ``L2``, ``max_dim``."""
    import torch

    from ...metrics import head_product

    Ws = [W.detach() for W in h.weights]
    A = head_product(Ws)
    P = Ws[-1] @ Ws[-1].T
    G = torch.linalg.matrix_power(P, len(Ws))
    D = A @ A.T - G
    s = [float(torch.linalg.matrix_norm(W, 2)) for W in Ws]
    return {
        "imb_lhs": float(torch.linalg.eigvalsh(0.5 * (D + D.T)).abs().max()),
        "E": imbalance_bound(Ws, widen=True),
        "imb_scale": max(math.prod(x * x for x in s), s[-1] ** (2 * len(Ws))),
        "L2": float(len(Ws)),
        "max_dim": float(max(max(W.shape) for W in Ws)),
    }


def remeasure_imbalance(h: HeadWeights, dps: int = 60) -> dict[str, Any]:
    """``imb_lhs`` and ``E`` of :func:`measure_imbalance` recomputed with mpmath at ``dps``
    digits, the head's stored floats taken as exact (the verdict engine's re-measurement of a
    failing instance: a float failure that vanishes here is a rounding artefact)."""
    import mpmath

    with mpmath.workdps(dps):
        Ws = [mpmath.matrix(W.detach().cpu().double().tolist()) for W in h.weights]

        def op_sym(M):
            return max(abs(e) for e in mpmath.eigsy(0.5 * (M + M.T), eigvals_only=True))

        A = Ws[0]
        for W in Ws[1:]:
            A = W * A
        P = Ws[-1] * Ws[-1].T
        G = P
        for _ in range(len(Ws) - 1):
            G = G * P
        lhs = op_sym(A * A.T - G)
        s = [mpmath.sqrt(max(mpmath.eigsy(W.T * W, eigvals_only=True))) for W in Ws]
        E = mpmath.mpf(0)
        for k in range(1, len(Ws)):
            eps_k = op_sym(Ws[k].T * Ws[k] - Ws[k - 1] * Ws[k - 1].T)
            q = s[k] ** 2
            prod = mpmath.fprod(x * x for x in s[k:])
            E += prod * ((q + eps_k) ** k - q**k)
        return {"imb_lhs": lhs, "E": E}


def _sigma_inverse(activation, value: float) -> float:
    """``σ^{-1}(value)`` of an increasing activation, by bisection then Newton in float64."""
    import torch

    def f(x):
        return float(activation(torch.tensor([x], dtype=torch.float64))[0]) - value

    lo, hi = -1.0, 1.0
    while f(lo) > 0:
        lo *= 2
    while f(hi) < 0:
        hi *= 2
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if f(mid) < 0:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def competitor(net, X, y, weight_decay: float) -> dict[str, float]:
    r"""A competitor ``θ_c`` for near-global optimality (docs/training.md#thm-52).

    ``θ_c`` keeps the run's first ``L1 − 1`` layers, solves the last nonlinear layer for
    ``σ(Z_{L1−1} W_{L1}ᵀ) = [Y, 0]`` with the minimum-norm solution (``Z_{L1−1}`` must have
    full row rank ``N``; ``σ`` invertible), and uses the head ``W_ℓ = [[I_K, 0], [0, 0]]``
    (``A_c = [I_K, 0]``, ``‖W_ℓ‖_F² = K``). Returns ``c_hat = ‖θ_c^{nonlin}‖²``, ``fit_c``
    (its data loss: rounding only) and ``loss_c = fit_c + (λ/2)(ĉ + L2·K)``; NaN entries when
    ``θ_c`` cannot be built (rank-deficient ``Z_{L1−1}``, a head narrower than ``K``).
    """
    import torch

    nan = {"c_hat": math.nan, "fit_c": math.nan, "loss_c": math.nan}
    W = [w.detach() for w in net.weights()]
    L1, L2, K = net.num_nonlinear_layers, net.num_head_layers, net.num_classes
    N = X.shape[0]
    if any(w.shape[0] < K for w in W[L1:]) or W[L1 - 1].shape[0] < K:
        return nan
    with torch.no_grad():
        Z = X
        for w in W[: L1 - 1]:
            Z = net.activation(Z @ w.T)
        sv = torch.linalg.svdvals(Z)
        if sv.numel() < N or float(sv[N - 1]) <= max(Z.shape) * 2.3e-16 * float(sv[0]) * 64:
            return nan
        one = _sigma_inverse(net.activation, 1.0)
        target = torch.zeros(N, W[L1 - 1].shape[0], dtype=Z.dtype, device=Z.device)
        target[torch.arange(N), y] = one
        Wc = (torch.linalg.pinv(Z) @ target).T
        Zc = net.activation(Z @ Wc.T)
        Y = torch.nn.functional.one_hot(y, K).to(Z.dtype)
        fit_c = 0.5 / N * float(((Zc[:, :K] - Y) ** 2).sum() + (Zc[:, K:] ** 2).sum())
        c_hat = sum(float((w * w).sum()) for w in W[: L1 - 1]) + float((Wc * Wc).sum())
    return {
        "c_hat": c_hat,
        "fit_c": fit_c,
        "loss_c": fit_c + 0.5 * weight_decay * (c_hat + L2 * K),
    }


def depth_symbols(heads, Z_L1, ZL, y, *, phi_sq: float, lam: float, K: int, comp) -> dict:
    r"""Per-depth symbols of ``jswm-5.2``: ``kappa_WL``, ``sA1``, ``sAK``, ``E``, ``L2``, ``loss``
    (``L_λ`` at the point), ``loss_c``, ``c_eff = u + 2K·b`` with
    ``u = max(0, ĉ + 2(fit_c − fit)/λ − ‖θ^{nonlin}‖²)`` and
    ``b = max(0, log(s_1(Z_{L1})/s_K(Z_L)))`` (docs/training.md#thm-52), ``c_hat``."""
    import torch

    from ...metrics import head_product

    N = ZL.shape[0]
    Y = torch.nn.functional.one_hot(y, K).to(ZL.dtype)
    fit = 0.5 / N * float(((ZL - Y) ** 2).sum())
    head_sq = sum(float((w * w).sum()) for w in heads)
    A = head_product(heads)
    sa = torch.linalg.svdvals(A)
    sw = torch.linalg.svdvals(heads[-1])
    sZ = float(torch.linalg.svdvals(Z_L1)[0])
    sKZL = float(torch.linalg.svdvals(ZL)[K - 1])
    u = max(0.0, comp["c_hat"] + 2.0 * (comp["fit_c"] - fit) / lam - phi_sq)
    b = max(0.0, math.log(sZ / sKZL)) if sKZL > 0 else math.nan
    return {
        "kappa_WL": float(sw[0] / sw[K - 1]),
        "sA1": float(sa[0]),
        "sAK": float(sa[K - 1]),
        "E": imbalance_bound(heads, widen=True),
        "L2": float(len(heads)),
        "loss": fit + 0.5 * lam * (phi_sq + head_sq),
        "loss_c": comp["loss_c"],
        "c_hat": comp["c_hat"],
        "c_eff": u + 2.0 * K * b,
    }


def _stack(rows: list[dict]) -> dict[str, Any]:
    keys = sorted({k for r in rows for k in r})
    return {k: np.array([r.get(k, math.nan) for r in rows]) for k in keys}


def measure_depth_sweep(s: DepthSweep) -> dict[str, Any]:
    """Symbols of ``jswm-5.2`` on trained runs of one nonlinear part with ``L2 = 2, 3, …``:
    :func:`depth_symbols` of each run as arrays ordered by ``L2`` (a diverged run: none)."""
    import torch

    runs = sorted((getattr(r, "run", r) for r in s.runs), key=lambda r: r.network.num_head_layers)
    if any(r.diverged for r in runs):
        return {}
    rows = []
    for r in runs:
        net, X, y = r.network, r.X, r.y
        K, L1 = net.num_classes, net.num_nonlinear_layers
        lam = r.config.weight_decay
        with torch.no_grad():
            feats = net.layer_features(X)
            heads = [w.detach() for w in net.head_weights()]
            phi_sq = sum(float((w * w).sum()) for w in net.weights()[:L1])
        comp = competitor(net, X, y, lam)
        rows.append(
            depth_symbols(
                heads, feats[L1 - 1], feats[-1], y, phi_sq=phi_sq, lam=lam, K=K, comp=comp
            )
        )
    return _stack(rows)


def measure_deep_ufm_sweep(K: int, n: int, lam: float, depths, dim: int | None = None) -> dict:
    r"""Symbols of ``jswm-5.2`` at the certified optimum of the deep linear UFM (spec §6).

    For each ``L2`` in ``depths`` the ``m = L2 + 1``-factor problem
    ``min 1/(2N)‖W_m⋯W_2H − Y‖² + (λ/2)Σ‖W_i‖²`` (``H = W_1``, the features, plays the
    nonlinear part) is solved exactly (:func:`ncverify.ufm.deep_linear_optimum`) and the
    optimum realised by its balanced factorisation (every factor has the singular value
    ``t^{1/m}`` on ``K`` directions); the competitor is ``H_c = [Y, 0]ᵀ`` (``ĉ = N``) with the
    identity head. Near-global optimality holds there by the certificate, not by training.
    """
    import torch

    from ...ufm import deep_linear_optimum

    N = K * n
    d = max(K + 1, dim or K + 2)
    g = torch.Generator().manual_seed(K * 1000 + n)
    y = torch.arange(K).repeat_interleave(n)
    Y = torch.nn.functional.one_hot(y, K).double()
    rows = []
    for L2 in depths:
        m = L2 + 1
        opt = deep_linear_optimum(K, n, [lam] * m)
        t = opt.singular_value
        s = t ** (1.0 / m) if t > 0 else 0.0
        Qs = [torch.linalg.qr(torch.randn(d, K, generator=g, dtype=torch.float64))[0]]
        Qs += [
            torch.linalg.qr(torch.randn(d, K, generator=g, dtype=torch.float64))[0]
            for _ in range(m - 2)
        ]
        Qs.append(torch.eye(K, dtype=torch.float64))
        H = s * Qs[0] @ Y.T / math.sqrt(n)  # d × N
        heads = [s * Qs[i + 1] @ Qs[i].T for i in range(m - 1)]
        Z_L1 = H.T
        ZL = Z_L1
        for w in heads:
            ZL = ZL @ w.T
        comp = {"c_hat": float(N), "fit_c": 0.0, "loss_c": 0.5 * lam * (N + L2 * K)}
        row = depth_symbols(
            heads, Z_L1, ZL, y, phi_sq=float((H * H).sum()), lam=lam, K=K, comp=comp
        )
        row["optimum_value"] = opt.value
        rows.append(row)
    return _stack(rows)
