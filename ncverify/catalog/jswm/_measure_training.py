"""Measurements of JSWM's training results (torch): Theorems 4.4, 5.2 and Proposition 5.3.

Spec §5. A diverged run gives NaN for what it could not measure (never a stand-in value);
the specs are evaluated with ``unmeasured="undecided"`` so that a symbol a run could not
measure makes its hypothesis *not checkable* and its claim undecided.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

from ._measure import imbalance_bound, measure_last_pair
from ._snapshots import DepthSweep, LastPair, TrainedNetwork

__all__ = [
    "CONVERGENCE_TOL",
    "TREND_RTOL",
    "imbalance_bound",
    "measure_depth_sweep",
    "measure_stable_run",
    "measure_trained_network",
]


#: relative slack of the qualitative "κ(W_L) does not increase with L2" claim: GD reaches
#: near-minimisers, not the global minimisers Theorem 5.2 is about
TREND_RTOL = 0.05
#: a run counts as converged when ‖∇L_λ‖ <= CONVERGENCE_TOL · λ‖θ‖ (weight decay dominates)
CONVERGENCE_TOL = 0.1


def _arch_symbols(net, N: int) -> dict[str, float]:
    """Symbols of the architecture assumptions; NaN where the network does not declare them."""
    nan = math.nan
    out = {
        "N": float(N),
        "n_1": nan,
        "max_width_increase": nan,
        "gamma": nan,
        "beta": nan,
        "L2": float(net.num_head_layers),
    }
    fn = getattr(net, "nonlinear_widths", None)
    widths = fn() if callable(fn) else None
    if widths is not None:
        head = [int(W.shape[0]) for W in net.head_weights()]
        all_w = [*widths, *head]
        out["n_1"] = float(all_w[0])
        rest = all_w[1:]
        out["max_width_increase"] = float(max([b - a for a, b in itertools.pairwise(rest)] + [0]))
    fn = getattr(net, "activation_slope_range", None)
    rng = fn() if callable(fn) else None
    if rng is not None:
        out["gamma"], out["beta"] = float(rng[0]), float(rng[1])
    return out


def measure_trained_network(s: TrainedNetwork) -> dict[str, Any]:
    """Every symbol of ``jswm-4.4`` (and ``jswm-5.3`` when ``s.sharpness`` is set).

    From the run: ``lambda_F``, ``Z1_s1``, ``Z1_dim`` (first-layer features at init),
    ``grad_rel``, ``recursion_residual`` (max relative residual of the one-step recursion),
    ``nc1_tolerance``, architecture symbols, and every symbol of the Theorem 3.1 NC1 spec
    measured on the trained last linear pair (:func:`ncverify.catalog.jswm.measure_last_pair`;
    only when ``L2 ≥ 2``). A diverged run gives NaN for what it could not measure.
    """
    run = s.run
    net, X, y = run.network, run.X, run.y
    N = int(X.shape[0])
    out: dict[str, Any] = _arch_symbols(net, N)
    out.update(
        lambda_F=run.initial.get("lambda_F", math.nan),
        Z1_s1=run.initial.get("Z1_s1", math.nan),
        Z1_dim=run.initial.get("Z1_dim", math.nan),
        grad_rel=run.final.get("grad_rel", math.nan),
        conv_tol=CONVERGENCE_TOL,
        recursion_residual=run.max_recursion_residual,
        nc1_tolerance=float(s.nc1_tolerance),
        lr=run.config.lr,
        lam=run.config.weight_decay,
        kappa_A=run.final.get("kappa_A", math.nan),
    )
    if run.diverged:
        return out
    import torch

    with torch.no_grad():
        feats = net.layer_features(X)
        heads = [W.detach() for W in net.head_weights()]
    if len(heads) >= 2 and len(feats) >= 3:
        pair = LastPair(Z=feats[-3].detach(), W_lower=heads[-2], W_upper=heads[-1], y=y)
        out.update(measure_last_pair(pair))
        out["kappa_A_root"] = out["kappa_A"] ** (1.0 / len(heads))
    if s.sharpness is not None:
        out.update(measure_stable_run(s, feats=feats, heads=heads))
    return out


def measure_stable_run(s: TrainedNetwork, *, feats=None, heads=None) -> dict[str, float]:
    """Symbols of ``jswm-5.3``: ``sharpness`` (the larger of the power-iteration estimate and
    the exact top eigenvalue of the ``W_L`` block, ``s_1(Z_{L−1})²/N + λ``, a lower bound of
    ``λ_max``), ``lr``, ``lam``, ``N``, ``K``, ``s1_WL``, ``kappa_WL``, ``sK_ZL``, ``eps1``."""
    import torch

    run = s.run
    net, X, y = run.network, run.X, run.y
    N, K = X.shape[0], net.num_classes
    if feats is None:
        with torch.no_grad():
            feats = net.layer_features(X)
            heads = [W.detach() for W in net.head_weights()]
    lam, lr = run.config.weight_decay, run.config.lr
    Zp = feats[-2].detach()
    block = float(torch.linalg.matrix_norm(Zp, 2)) ** 2 / N + lam
    sv_W = torch.linalg.svdvals(heads[-1])
    sv_Z = torch.linalg.svdvals(feats[-1].detach())
    estimate = float(s.sharpness.value)
    Y = torch.nn.functional.one_hot(y, K).to(feats[-1].dtype)
    return {
        "sharpness": max(estimate, block),
        "sharpness_estimate": estimate,
        "sharpness_block": block,
        "sharpness_converged": float(s.sharpness.converged),
        "lr": lr,
        "lam": lam,
        "N": float(N),
        "K": float(K),
        "s1_WL": float(sv_W[0]),
        "kappa_WL": float(sv_W[0] / sv_W[K - 1]),
        "sK_ZL": float(sv_Z[K - 1]),
        "eps1": float(torch.linalg.matrix_norm(feats[-1].detach() - Y)),
    }


def measure_depth_sweep(s: DepthSweep) -> dict[str, Any]:
    """Symbols of ``jswm-5.2`` (arrays over the runs, ordered by ``L2``): ``kappa_WL``,
    ``sA1``, ``sAK`` (extreme singular values of ``A``), ``E`` (:func:`imbalance_bound`),
    ``L2``; ``kappa_prev``/``kappa_next`` (consecutive depths); the largest ``grad_rel``,
    ``trend_rtol``, ``conv_tol``, ``min_L2`` and the architecture symbols of the first run."""
    import numpy as np
    import torch

    from ...metrics import head_product

    runs = sorted(s.runs, key=lambda r: r.network.num_head_layers)
    kappa, sA1, sAK, E, L2 = [], [], [], [], []
    for r in runs:
        heads = [W.detach() for W in r.network.head_weights()]
        K = heads[-1].shape[0]
        A = head_product(heads)
        sw = torch.linalg.svdvals(heads[-1])
        sa = torch.linalg.svdvals(A)
        kappa.append(float(sw[0] / sw[K - 1]))
        sA1.append(float(sa[0]))
        sAK.append(float(sa[K - 1]))
        E.append(imbalance_bound(heads))
        L2.append(float(len(heads)))
    first = runs[0]
    out: dict[str, Any] = _arch_symbols(first.network, int(first.X.shape[0]))
    out.update(
        kappa_WL=np.array(kappa),
        sA1=np.array(sA1),
        sAK=np.array(sAK),
        E=np.array(E),
        L2=np.array(L2),
        kappa_prev=np.array(kappa[:-1]),
        kappa_next=np.array(kappa[1:]),
        min_L2=min(L2),
        trend_rtol=TREND_RTOL,
        conv_tol=CONVERGENCE_TOL,
        grad_rel=max(r.final.get("grad_rel", math.nan) for r in runs),
    )
    return out
