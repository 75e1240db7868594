r"""Measurements of JSWM's Proposition 5.3 (torch): one stable run, and a sweep over η.

Spec §5, docs/training.md#prop-53. The claim compares ``κ(W_L)`` with a bound from the
curvature of ``L_λ`` along the joint ``K``-th singular direction of the whole linear head;
its symbols are measured here.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._measure_training import CONVERGENCE_TOL
from ._snapshots import Sweep, TrainedNetwork

__all__ = ["TREND_RTOL", "head_direction_terms", "measure_eta_sweep", "measure_stable_run"]

#: slack of the qualitative edge-of-stability claim "κ(W_L) does not increase with η"
TREND_RTOL = 0.01


def head_direction_terms(heads, ZL, Y) -> dict[str, float]:
    r"""``zu2 = ‖Z_L u_K‖²``, ``rho_K = ⟨R u_K, Z_L u_K⟩`` (``R = Z_L − Y``) and its negative
    part ``rho_neg = max(0, −rho_K)``, ``u_K`` the left singular vector of
    ``A = W_L ⋯ W_{L1+1}`` for ``s_K(A)``; also ``sK_A``."""
    import torch

    from ...metrics import head_product

    K = heads[-1].shape[0]
    A = head_product(heads)
    U, S, _ = torch.linalg.svd(A)
    uK = U[:, K - 1]
    zu = ZL @ uK
    ru = (ZL - Y) @ uK
    rho = float(ru @ zu)
    return {"zu2": float(zu @ zu), "rho_K": rho, "rho_neg": max(0.0, -rho), "sK_A": float(S[K - 1])}


def _exact_sharpness_at_end(s: TrainedNetwork) -> float:
    """``λ_max(∇²L_λ(θ_T))``: the sampled value at the last step, else computed (exact) when
    the network is small enough, else NaN (not measured)."""
    run = s.run
    steps = s.sharpness_steps or {}
    if run.steps_done in steps:
        return float(steps[run.steps_done])
    from ...errors import ProblemTooLarge
    from ...train import exact_sharpness

    try:
        return exact_sharpness(run.network, run.X, run.y, run.config.weight_decay)
    except ProblemTooLarge:
        return math.nan


def measure_stable_run(s: TrainedNetwork) -> dict[str, Any]:
    """Symbols of ``jswm-5.3`` on one run.

    ``sharpness`` (exact ``λ_max(∇²L_λ(θ_T))``), ``lr``, ``lam``, ``N``, ``K``, ``L2``, ``eps1``,
    ``sK_ZL`` and ``rank_tol`` (``max(N, K)·eps·s_1(Z_L)``: the rank decision), ``s1_WL``,
    ``kappa_WL``, ``zu2``, ``rho_K`` (:func:`head_direction_terms`), ``eps2_max`` (reported:
    the imbalance the claim's derivation neglects).
    """
    import torch

    run = s.run
    net, X, y = run.network, run.X, run.y
    N, K = int(X.shape[0]), int(net.num_classes)
    out: dict[str, Any] = {
        "lr": run.config.lr,
        "lam": run.config.weight_decay,
        "N": float(N),
        "K": float(K),
        "L2": float(net.num_head_layers),
    }
    if run.diverged:
        return out
    with torch.no_grad():
        heads = [W.detach() for W in net.head_weights()]
        ZL = net(X).detach()
        Y = torch.nn.functional.one_hot(y, K).to(ZL.dtype)
        sv_W = torch.linalg.svdvals(heads[-1])
        sv_Z = torch.linalg.svdvals(ZL)
        out.update(head_direction_terms(heads, ZL, Y))
    eps = float(torch.finfo(ZL.dtype).eps)
    out.update(
        sharpness=_exact_sharpness_at_end(s),
        eps1=float(torch.linalg.matrix_norm(ZL - Y)),
        sK_ZL=float(sv_Z[K - 1]),
        rank_tol=max(N, K) * eps * float(sv_Z[0]),
        s1_WL=float(sv_W[0]),
        kappa_WL=float(sv_W[0] / sv_W[K - 1]),
        eps2_max=run.final.get("eps2_max", math.nan),
        grad_rel=run.final.get("grad_rel", math.nan),
    )
    return out


def measure_eta_sweep(sweep: Sweep) -> dict[str, Any]:
    """Symbols of ``jswm-5.3-eos`` on runs that differ only in η, ordered by η: the 5.3
    hypothesis symbols as arrays (one entry per run) with ``grad_rel`` and ``conv_tol`` (each run
    near-stationary: the claim is about solutions), ``kappa_prev``/``kappa_next`` (κ(W_L)
    of consecutive step sizes), ``trend_rtol``; a diverged run leaves them undecided."""
    runs = sorted(sweep.runs, key=lambda r: r.run.config.lr)
    per = [measure_stable_run(r) for r in runs]
    keys = ("lr", "lam", "N", "K", "sharpness", "eps1", "sK_ZL", "rank_tol", "grad_rel")
    out: dict[str, Any] = {k: np.array([p.get(k, math.nan) for p in per]) for k in keys}
    out["conv_tol"] = CONVERGENCE_TOL
    kappa = [p.get("kappa_WL", math.nan) for p in per]
    out.update(
        kappa_prev=np.array(kappa[:-1]),
        kappa_next=np.array(kappa[1:]),
        trend_rtol=TREND_RTOL,
        num_runs=float(len(per)),
    )
    if any(r.run.diverged for r in runs):
        for k in ("kappa_prev", "kappa_next"):
            out.pop(k)
    return out
