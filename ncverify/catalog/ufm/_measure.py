"""Measurements of the UFM runs (numpy / torch, float64): one symbol per quantity the specs use.

Training-route symbols come from the trained factors through exact identities
(``docs/ufm.md#a-posteriori``): with ``G`` the gradient of the data term at ``Z = WH`` (the
bias eliminated: ``G̃ = GP``, ``P`` the column centring, when the model has a bias),

* ``gW = ‖G̃Hᵀ + λ_W W‖_F``, ``gH = ‖WᵀG̃ + λ_H H‖_F`` (the gradient with the optimal bias),
  ``gb = ‖G1‖`` (the bias gradient), ``G_op = ‖G̃‖_op``;
* ``W_F``, ``H_F``, ``W_op``: norms of the factors; ``objective``: the factorised objective;
* ``nc1 = tr Σ_W / tr Σ_B``, ``trSB = tr Σ_B`` (:mod:`ncverify.metrics` conventions);
* ``rho_hat = ⟨H̄, W̃ᵀ⟩/‖W̃‖²`` (``W̃ = W``, or ``C_KW`` with rows centred for the bias and
  cross-entropy models), ``Wt_F = ‖W̃‖_F``; ``hg_max``/``hg_min``: extreme eigenvalues of
  ``H̄ᵀH̄`` (``H̄`` the class means, p×K).

Nothing here uses a theorem's closed form, except ``closed_value`` of the imbalanced model
(the objective claim there needs the sum over classes; the per-class claims carry the form).
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from ._snapshots import MinorityRun, ReluRun, UFMRun

__all__ = ["measure_minority_run", "measure_relu_run", "measure_ufm_run"]


def _nan_run(run: UFMRun) -> dict[str, Any]:
    return {"K": float(run.K)}


def _inputs(run: UFMRun) -> dict[str, Any]:
    counts = np.asarray(run.counts, dtype=np.float64)
    out = {
        "K": float(run.K),
        "N": float(counts.sum()),
        "n": float(counts.mean()),
        "n_max": float(counts.max()),
        "n_min": float(counts.min()),
        "p": float(run.width),
        "lam_H": float(run.lambdas[0]),
        "lam_W": float(run.lambdas[-1]),
    }
    if run.problem == "imbalanced":
        out["n_k"] = counts
    return out


def _training(run: UFMRun) -> dict[str, Any]:
    import torch

    from ...metrics import nc1_trace_ratio, trace_sigma_b

    fit = run.fit
    f64 = torch.float64
    W = fit.W.detach().to("cpu", f64)
    H = fit.features.detach().to("cpu", f64).T  # p × N
    y = fit.labels.to("cpu")
    K, N = W.shape[0], H.shape[1]
    lw, lh = fit.lambda_W, fit.lambda_H
    Y = torch.nn.functional.one_hot(y, K).T.to(f64)
    b = None if fit.b is None else fit.b.detach().to("cpu", f64)
    Z = W @ H + (0 if b is None else b[:, None])
    if fit.loss == "mse":
        data = float(((Z - Y) ** 2).sum()) / (2 * N)
        G = (Z - Y) / N
    else:
        data = float(torch.nn.functional.cross_entropy(Z.T, y, reduction="mean"))
        G = (torch.softmax(Z, dim=0) - Y) / N
    gb = float(torch.linalg.norm(G.sum(dim=1))) if b is not None else 0.0
    Gt = G - G.mean(dim=1, keepdim=True) if b is not None else G
    gW = float(torch.linalg.norm(Gt @ H.T + lw * W))
    gH = float(torch.linalg.norm(W.T @ Gt + lh * H))
    objective = data + lw / 2 * float((W**2).sum()) + lh / 2 * float((H**2).sum())
    counts = torch.bincount(y, minlength=K).to(f64)
    Hbar = (H @ Y.T) / counts  # p × K class means
    centred = fit.loss == "ce" or b is not None
    Wt = W - W.mean(dim=0, keepdim=True) if centred else W
    wt2 = float((Wt**2).sum())
    out = {
        "objective": objective,
        "gW": gW,
        "gH": gH,
        "gb": gb,
        "W_F": float(torch.linalg.norm(W)),
        "H_F": float(torch.linalg.norm(H)),
        "W_op": float(torch.linalg.matrix_norm(W, 2)),
        "G_op": float(torch.linalg.matrix_norm(Gt, 2)),
        "nc1": nc1_trace_ratio(H.T, y, num_classes=K),
        "trSB": trace_sigma_b(H.T, y, num_classes=K),
        "rho_hat": float((Hbar * Wt.T).sum()) / wt2 if wt2 > 0 else math.nan,
        "Wt_F": math.sqrt(wt2),
        "steps": float(fit.steps),
    }
    ev = torch.linalg.eigvalsh(Hbar.T @ Hbar)
    out["hg_max"], out["hg_min"] = float(ev[-1]), float(ev[0])
    if run.problem == "imbalanced":
        ZY = (Z * Y).sum(dim=1)  # ⟨Z_k, Y_k⟩
        out["s_k"] = (ZY / counts).numpy()
        out["zrow_k"] = torch.linalg.norm(Z, dim=1).numpy()
        wn2 = (W**2).sum(dim=1)
        dots = (Hbar.T * W).sum(dim=1)
        out["w_norm_k"] = torch.sqrt(wn2).numpy()
        out["rho_hat_k"] = torch.where(wn2 > 0, dots / wn2, torch.nan).numpy()
    return out


def _certificate(run: UFMRun) -> dict[str, Any]:
    cert = run.certificate
    out = {"cert_value": cert.value, "cert_dual": cert.dual_bound, "cert_gap": cert.gap}
    if run.problem == "imbalanced":  # per class, from the (diagonal) class-level Z̄
        counts = np.asarray(run.counts, dtype=np.float64)
        N = counts.sum()
        tau = N * math.sqrt(run.lambdas[0] * run.lambdas[-1])
        sq = np.sqrt(counts)
        x = np.diag(cert.Z) * sq
        gam = np.clip(sq - x, -tau, tau)
        out["cert_value_k"] = (0.5 * (x - sq) ** 2 + tau * np.abs(x)) / N
        out["cert_dual_k"] = (gam * sq - 0.5 * gam**2) / N
    return out


def _exact(run: UFMRun) -> dict[str, Any]:
    e = run.exact
    if run.problem == "imbalanced":
        counts = np.asarray(run.counts, dtype=np.float64)
        sq = np.sqrt(counts)
        s = np.asarray(e.argmin)
        tau = counts.sum() * math.sqrt(run.lambdas[0] * run.lambdas[-1])
        x = s * sq
        return {
            "scale_exact_k": s,
            "value_exact_k": (0.5 * (x - sq) ** 2 + tau * x) / counts.sum(),
            "value_exact": e.value,
        }
    out = {"value_exact": e.value, "argmin_exact": e.argmin, "curvature_exact": e.curvature}
    if run.problem == "deep":
        out["x_exact"] = e.argmin
    return out


def measure_ufm_run(run: UFMRun) -> dict[str, Any]:
    """Every symbol of the two-factor, imbalanced and deep linear UFM specs (module doc)."""
    if run.failure is not None:
        return _nan_run(run)
    out = _inputs(run)
    out.update(_exact(run))
    out.update(_certificate(run))
    out.update(_training(run) if run.problem != "deep" else _deep_training(run))
    if run.problem == "imbalanced":
        from ...ufm import imbalanced_mse_optimum

        out["closed_value"] = imbalanced_mse_optimum(run.counts, *run.lambdas).value
    if run.problem == "deep":
        out.update(_deep_inputs(run))
    return out


def _deep_inputs(run: UFMRun) -> dict[str, Any]:
    from fractions import Fraction

    m = len(run.lambdas)
    r = Fraction(run.K) ** m * run.counts[0]
    for v in run.lambdas:
        r *= Fraction(v)
    from ...ufm import deep_linear_optimum

    opt = deep_linear_optimum(run.K, run.counts[0], run.lambdas)
    nonzero = float(opt.collapsed)
    roots = opt.stationary_x
    # x₁: the local maximum of G between the two basins (m ≥ 3); none: every x is in the
    # basin of the global optimum (x₁ = 0 when it is nonzero, 1 when it is 0)
    x1 = roots[0] if len(roots) == 2 else (0.0 if nonzero else 1.0)
    return {
        "m": float(m),
        "r": float(r),
        "nonzero": nonzero,
        "r_root": float(r) * nonzero,
        "x1": x1,
    }


def _deep_training(run: UFMRun) -> dict[str, Any]:
    """Objective, gradient norms and the balancedness of every consecutive pair."""
    import torch

    fit = run.fit
    f64 = torch.float64
    factors = [fit.features.detach().to("cpu", f64).T]
    factors += [M.detach().to("cpu", f64) for M in fit.hidden]
    factors.append(fit.W.detach().to("cpu", f64))
    lams = [fit.lambda_H, *fit.hidden_lambdas, fit.lambda_W]
    y = fit.labels.to("cpu")
    K, N = factors[-1].shape[0], factors[0].shape[1]
    Y = torch.nn.functional.one_hot(y, K).T.to(f64)
    params = [F.clone().requires_grad_(True) for F in factors]
    Z = params[0]
    for M in params[1:]:
        Z = M @ Z
    f = ((Z - Y) ** 2).sum() / (2 * N) + sum(
        v / 2 * (F**2).sum() for v, F in zip(lams, params, strict=True)
    )
    grads = torch.autograd.grad(f, params)
    op = lambda M: float(torch.linalg.matrix_norm(M, 2))  # noqa: E731
    fro = lambda M: float(torch.linalg.norm(M))  # noqa: E731
    pairs = range(len(factors) - 1)
    D_F = [
        fro(lams[i + 1] * factors[i + 1].T @ factors[i + 1] - lams[i] * factors[i] @ factors[i].T)
        for i in pairs
    ]
    with torch.no_grad():
        sv = torch.linalg.svdvals(Z.detach())[:K] / math.sqrt(N / K)
    return {
        "objective": float(f.detach()),
        "grad_sum": sum(
            float(torch.linalg.norm(g)) * float(torch.linalg.norm(F))
            for g, F in zip(grads, factors, strict=True)
        ),
        "D_F": np.array(D_F),
        "Wup_op": np.array([op(factors[i + 1]) for i in pairs]),
        "Wlo_op": np.array([op(factors[i]) for i in pairs]),
        "g_up": np.array([fro(grads[i + 1]) for i in pairs]),
        "g_lo": np.array([fro(grads[i]) for i in pairs]),
        "x_train_max": float(sv.max()),
        "x_train_min": float(sv.min()),
        "steps": float(fit.steps),
    }


def measure_minority_run(run: MinorityRun) -> dict[str, Any]:
    """Symbols of the minority-collapse spec: certificates over the R sweep and the fit."""
    if run.failure is not None:
        return {"K": float(run.K_A + run.K_B)}
    certs = run.certificates
    cos = [c.minority_cos for c in certs]
    rises = [b - a for a, b in itertools.pairwise(cos)]
    fit, fc = run.fit, run.fit_certificate
    K = run.K_A + run.K_B
    return {
        "K": float(K),
        "K_B": float(run.K_B),
        "p": float(run.width),
        "sdp_gap_max": max(c.gap for c in certs),
        "cos_balanced": certs[0].minority_cos if run.K_B > 1 else certs[0].majority_cos,
        "cos_rise_min": min(rises) if rises else 0.0,
        "cos_top": cos[-1],
        "spread_inf": certs[-1].minority_spread,
        "norm_inf": certs[-1].minority_norm_sq,
        "R_fit": float(fit.R),
        "train_objective": fit.objective,
        "train_lower": fit.lower_bound,
        "train_grad": fit.grad_norm,
        "fit_sdp_value": fc.value,
        "fit_sdp_dual": fc.dual_bound,
    }


def measure_relu_run(run: ReluRun) -> dict[str, Any]:
    """Symbols of the deep ReLU spec (exact rationals rounded to float at the end)."""
    if run.failure is not None:
        return {"r": float(run.r)}
    cmp = run.comparison
    return {
        "r": float(run.r),
        "L": float(run.L),
        "K": float(cmp.K),
        "C_dnc": float(cmp.C_dnc),
        "C_srg": float(cmp.C_srg),
        "C_ratio": float(cmp.C_ratio),
        "r_star": float(cmp.r_star),
        "value_dnc_lo": float(cmp.value_dnc[0]),
        "value_dnc_hi": float(cmp.value_dnc[1]),
        "value_srg_lo": float(cmp.value_srg[0]),
        "value_srg_hi": float(cmp.value_srg[1]),
        "dnc_nonzero": float(cmp.x_dnc > 0),
        "relu_identity": float(bool(run.structure.get("relu_is_identity"))),
        "rank_pre": float(run.structure.get("rank_pre", math.nan)),
        "net_dnc": run.dnc_objective,
        "net_srg": run.srg_objective,
    }
