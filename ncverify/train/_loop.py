r"""Full-batch gradient descent with weight decay on the spec's MSE loss (spec §1, §4, §5).

:func:`train` runs plain GD (no momentum) by explicit parameter updates

.. math::  θ ← θ − η ∇L_λ(θ) = (1 − ηλ) θ − η ∇_θ \tfrac1{2N}‖Z_L − Y‖_F^2,
           \qquad L_λ(θ) = \tfrac1{2N}‖Z_L − Y‖_F^2 + \tfrac λ2 \sum ‖θ_i‖^2

on any network of the protocol (:mod:`ncverify.nets`), weight decay on every parameter.
Because the update is written out, the one-step balancedness recursion of spec §4,
``D_ℓ⁺ = (1 − ηλ)² D_ℓ + η² (G_{ℓ+1}ᵀG_{ℓ+1} − G_ℓG_ℓᵀ)``, ``D_ℓ = W_{ℓ+1}ᵀW_{ℓ+1} − W_ℓW_ℓᵀ``,
holds exactly up to rounding for every pair of head layers; it is checked at **every** step
from quantities the step already has (``G`` = data-term gradients), and the largest relative
residual of the run is reported (Theorem 4.4's check; ``momentum > 0`` is a negative control
that breaks it).

Divergence (a non-finite data loss, or one above ``divergence_factor`` × the initial loss
``L_λ(θ_0)``) stops the run and is returned as ``TrainingRun.outcome == "diverged"`` with
the first bad step; :func:`train` raises nothing for it (:meth:`TrainingRun.raise_if_diverged`
raises :class:`~ncverify.TrainingDiverged` for callers that want an exception).

Shapes follow the project convention: ``X`` is ``(N, d)``, ``y`` is ``(N,)``, features are
``(N, p)``; weight matrices are ``(n_ℓ, n_{ℓ−1})``.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import replace

import numpy as np
import torch

from ..errors import InvalidInput
from ._config import TrainingConfig, TrainingRun, Trajectory, resolve_device
from ._recursion import Recursion

__all__ = ["train"]


# ----------------------------------------------------------------------------- helpers
def _one_hot(y: torch.Tensor, K: int, dtype, device) -> torch.Tensor:
    return torch.nn.functional.one_hot(y.to(device=device, dtype=torch.int64), K).to(dtype)


def _prepare_data(X, y, K: int, dtype, device):
    if not isinstance(X, torch.Tensor) or X.ndim < 2:
        raise InvalidInput(
            f"X must be a tensor (N, d) or (N, C, H, W) (one sample per row), got "
            f"{getattr(X, 'shape', X)!r}"
        )
    if not isinstance(y, torch.Tensor) or y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise InvalidInput(
            f"y must be a 1-D integer tensor with one label per row of X (N={X.shape[0]}), "
            f"got {getattr(y, 'shape', y)!r}"
        )
    if y.is_floating_point() or y.is_complex():
        raise InvalidInput(f"y must hold integer labels, got dtype {y.dtype}")
    if y.numel() and (int(y.min()) < 0 or int(y.max()) >= K):
        raise InvalidInput(
            f"labels must lie in 0..{K - 1} (num_classes={K}); got range "
            f"[{int(y.min())}, {int(y.max())}]"
        )
    if not bool(torch.isfinite(X).all()):
        raise InvalidInput("X contains non-finite values")
    return X.to(device=device, dtype=dtype), y.to(device=device, dtype=torch.int64)


def _head_index(net, params: list[torch.Tensor]) -> list[int]:
    ids = {id(p): i for i, p in enumerate(params)}
    out = []
    for W in net.head_weights():
        if id(W) not in ids:
            raise InvalidInput(
                f"{type(net).__name__}.head_weights() must return the parameters themselves "
                "(e.g. layer.weight), not copies, so that training can follow them"
            )
        out.append(ids[id(W)])
    return out


def _gram_pair(Wl: torch.Tensor, Wu: torch.Tensor) -> torch.Tensor:
    """``D = W_uᵀW_u − W_l W_lᵀ`` for ``W_l = W_ℓ``, ``W_u = W_{ℓ+1}``."""
    return Wu.T @ Wu - Wl @ Wl.T


def _eps2(D: torch.Tensor) -> float:
    return float(torch.linalg.eigvalsh(0.5 * (D + D.T)).abs().max())


def _layer_metrics(net, X, y, K):
    from ..metrics import nc1_trace_ratio, nc2_kappa, nc3_cosine

    with torch.no_grad():
        feats = net.layer_features(X)
        W_L = net.head_weights()[-1]
        nc1 = [float(nc1_trace_ratio(Z, y, num_classes=K)) for Z in feats]
        nc2 = [float(nc2_kappa(Z, y, num_classes=K)) for Z in feats]
        nc3 = float(nc3_cosine(feats[-2], y, W_L, num_classes=K)) if len(feats) >= 2 else math.nan
    return nc1, nc2, nc3


def _final_measurements(net, X, y, K, params, grads, cfg, data_loss, pairs) -> dict[str, float]:
    from ..metrics import condition_number, head_product

    lam = cfg.weight_decay
    with torch.no_grad():
        sq = sum(float((p * p).sum()) for p in params)
        full = [g + lam * p for g, p in zip(grads, params, strict=True)]
        gnorm = math.sqrt(sum(float((g * g).sum()) for g in full))
        heads = net.head_weights()
        A = head_product(heads)
        out = {
            "data_loss": data_loss,
            "loss": data_loss + 0.5 * lam * sq,
            "eps1": math.sqrt(max(2.0 * X.shape[0] * data_loss, 0.0)),
            "grad_norm": gnorm,
            "param_norm": math.sqrt(sq),
            "grad_rel": gnorm / (lam * math.sqrt(sq)) if lam > 0 and sq > 0 else math.inf,
            "kappa_WL": condition_number(heads[-1]),
            "kappa_A": condition_number(A),
        }
        eps2 = [_eps2(_gram_pair(a, b)) for a, b in pairs]
        out["eps2"] = eps2[-1] if eps2 else math.nan
        out["eps2_max"] = max(eps2) if eps2 else math.nan
    return out


# ----------------------------------------------------------------------------- training
def train(net, X, y, config: TrainingConfig | None = None, **kwargs) -> TrainingRun:
    r"""Train ``net`` in place by full-batch GD with weight decay; return a :class:`TrainingRun`.

    ``config`` or the keyword arguments of :class:`TrainingConfig` (``lr``, ``weight_decay``,
    ``steps``, ``seed``, ...; keywords override fields of ``config``). The network and data
    are moved to the config's device and dtype (``nn.Module.to``; the network object is
    trained in place). Loss (spec §1):
    ``L_λ = (1/(2N))‖Z_L − Y‖_F² + (λ/2) Σ_i ‖θ_i‖²`` over every parameter.

    Per step: one forward/backward of the data term, the recursion check on the head pairs
    (spec §4, cheap matrix products of the head's sizes) and the update
    ``θ ← (1 − ηλ)θ − ηG``. Never raises for divergence (see :class:`TrainingRun`); raises
    :class:`InvalidInput` / :class:`~ncverify.InvalidArchitecture` for bad arguments.
    """
    from ..nets import check_architecture

    if config is None:
        config = TrainingConfig(**kwargs)
    elif kwargs:
        config = replace(config, **kwargs)
    if not isinstance(config, TrainingConfig):
        raise InvalidInput(f"config must be a TrainingConfig, got {type(config).__name__}")
    device, dtype = resolve_device(config.device), config.torch_dtype
    K = getattr(net, "num_classes", None)
    if not isinstance(K, int):
        raise InvalidInput(f"{type(net).__name__} has no integer num_classes (network protocol)")
    net.to(device=device, dtype=dtype)
    X, y = _prepare_data(X, y, K, dtype, device)
    check_architecture(net, input_shape=tuple(X.shape[1:]), num_classes=K)
    fork_devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=fork_devices):
        torch.manual_seed(config.seed)
        return _run(net, X, y, K, config, device, dtype)


def _run(net, X, y, K, cfg: TrainingConfig, device, dtype) -> TrainingRun:
    t_start = time.perf_counter()
    N = X.shape[0]
    Y = _one_hot(y, K, dtype, device)
    params = [p for p in net.parameters() if p.requires_grad]
    if not params:
        raise InvalidInput(f"{type(net).__name__} has no trainable parameters")
    head_idx = _head_index(net, params)
    pair_idx = list(itertools.pairwise(head_idx))
    eta, lam, T = cfg.lr, cfg.weight_decay, cfg.steps
    c2 = (1.0 - eta * lam) ** 2
    scale_data = 0.5 / N

    losses: list[torch.Tensor] = []  # data losses of the steps since the last check
    data_hist: list[np.ndarray] = []
    rec_steps, rec_loss, rec_eps1, rec_eps2 = [], [], [], []
    met_steps, met_nc1, met_nc2, met_nc3 = [], [], [], []
    velocity = [torch.zeros_like(p) for p in params] if cfg.momentum else None
    rec = Recursion([params[i] for i in head_idx], c2, eta * eta) if pair_idx else None

    # initial measurements
    with torch.no_grad():
        feats0 = net.layer_features(X)
        sq0 = sum(float((p * p).sum()) for p in params)
        loss0 = scale_data * float(((feats0[-1] - Y) ** 2).sum()) + 0.5 * lam * sq0
        has_widths = (
            callable(getattr(net, "nonlinear_widths", None)) and net.nonlinear_widths() is not None
        )
        sv1 = torch.linalg.svdvals(feats0[0]) if has_widths else None
        eps2_0 = [_eps2(_gram_pair(params[a], params[b])) for a, b in pair_idx]
    initial = {
        "loss": loss0,
        "lambda_F": float(sv1[-1]) if sv1 is not None else math.nan,
        "Z1_s1": float(sv1[0]) if sv1 is not None else math.nan,
        "Z1_dim": float(max(feats0[0].shape)) if sv1 is not None else math.nan,
        "eps2_max": max(eps2_0) if eps2_0 else math.nan,
        "num_params": float(sum(p.numel() for p in params)),
    }
    del feats0
    threshold = cfg.divergence_factor * max(loss0, torch.finfo(dtype).tiny)
    check_every = min(cfg.record_every, 100)

    outcome, diverged_step, reason = "completed", None, ""
    t = 0
    checked = 0  # steps whose data loss has been checked (and moved to data_hist)
    grads: tuple[torch.Tensor, ...] = ()
    data = None
    while True:
        data = torch.nn.functional.mse_loss(net(X), Y, reduction="sum") * scale_data
        grads = torch.autograd.grad(data, params)
        with torch.no_grad():
            data = data.detach()
            losses.append(data)
            # D_l = W_{l+1}^T W_{l+1} - W_l W_l^T for each head pair, at step t
            last = t == T
            if last or t % check_every == 0:
                window = torch.stack(losses)
                losses = []
                bad = ~torch.isfinite(window) | (window > threshold)
                if bool(bad.any()):
                    first = int(torch.nonzero(bad)[0, 0]) + checked
                    v = float(window[first - checked])
                    data_hist.append(window[: first - checked + 1].cpu().numpy())
                    outcome, diverged_step = "diverged", first
                    reason = f"diverged at step {first}: data loss {v:.3g} " + (
                        "is not finite"
                        if not math.isfinite(v)
                        else f"> {cfg.divergence_factor:g} x initial loss {loss0:.3g}"
                    )
                    break
                data_hist.append(window.cpu().numpy())
                checked = t + 1
            if last or t % cfg.record_every == 0:
                d = float(data)
                sq_all = sum(float((p.detach() * p.detach()).sum()) for p in params)
                rec_steps.append(t)
                rec_loss.append(d + 0.5 * lam * sq_all)
                rec_eps1.append(math.sqrt(max(2.0 * N * d, 0.0)))
                rec_eps2.append([_eps2(_gram_pair(params[a], params[b])) for a, b in pair_idx])
            if last or (cfg.metrics_every and t % cfg.metrics_every == 0):
                nc1, nc2, nc3 = _layer_metrics(net, X, y, K)
                met_steps.append(t)
                met_nc1.append(nc1)
                met_nc2.append(nc2)
                met_nc3.append(nc3)
            if last:
                break
            # the prediction of D at t+1 from step t (spec §4), before updating:
            # (1 - eta*lam)^2 D + eta^2 (G_{l+1}^T G_{l+1} - G_l G_l^T)
            if rec is not None:
                rec.record([grads[i] for i in head_idx])
            if velocity is None:
                if lam:
                    torch._foreach_mul_(params, 1.0 - eta * lam)
                torch._foreach_add_(params, grads, alpha=-eta)
            else:
                step_dir = torch._foreach_add(grads, params, alpha=lam)
                torch._foreach_mul_(velocity, cfg.momentum)
                torch._foreach_add_(velocity, step_dir)
                torch._foreach_add_(params, velocity, alpha=-eta)
        t += 1

    steps_done = t
    nl = len(met_nc1[0]) if met_nc1 else 0
    P = len(pair_idx)
    if rec is not None:
        if outcome == "completed":
            rec.record_weights()
        else:
            rec.flush()
        resid = rec.residuals()
        if diverged_step is not None:  # transitions before the divergence only
            resid = resid[:diverged_step]
    else:
        resid = np.zeros(0)
    # never a stand-in value: no transition checked (no head pair, no step) is NaN, with a note
    notes = []
    if not P:
        notes.append("no head pairs (L2 = 1): eps2 and the recursion residual are NaN or empty")
    elif not resid.size:
        notes.append("no GD step was taken: the recursion residual is NaN")
    finite = resid.size and not np.isnan(resid).all()
    max_resid = float(np.nanmax(resid)) if finite else math.nan
    if outcome == "completed":
        final = _final_measurements(
            net,
            X,
            y,
            K,
            params,
            grads,
            cfg,
            float(data.detach()),
            [(params[a], params[b]) for a, b in pair_idx],
        )
        final["nc1_penultimate"] = met_nc1[-1][-2] if nl >= 2 else math.nan
        final["nc2_penultimate"] = met_nc2[-1][-2] if nl >= 2 else math.nan
        final["nc3"] = met_nc3[-1]
    else:
        final = {"data_loss": float(data_hist[-1][-1])}
    traj = Trajectory(
        data_loss=np.concatenate(data_hist) if data_hist else np.zeros(0),
        recursion_residual=resid,
        steps=np.asarray(rec_steps, dtype=np.int64),
        loss=np.asarray(rec_loss, dtype=np.float64),
        eps1=np.asarray(rec_eps1, dtype=np.float64),
        eps2=np.asarray(rec_eps2, dtype=np.float64).reshape(len(rec_steps), P),
        metric_steps=np.asarray(met_steps, dtype=np.int64),
        nc1=np.asarray(met_nc1, dtype=np.float64).reshape(len(met_steps), nl),
        nc2=np.asarray(met_nc2, dtype=np.float64).reshape(len(met_steps), nl),
        nc3=np.asarray(met_nc3, dtype=np.float64),
    )
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return TrainingRun(
        config=cfg,
        outcome=outcome,
        diverged_step=diverged_step,
        reason=reason,
        initial=initial,
        final=final,
        trajectory=traj,
        max_recursion_residual=max_resid,
        wall_time=time.perf_counter() - t_start,
        steps_done=steps_done,
        network=net,
        X=X,
        y=y,
        notes=tuple(notes),
    )
