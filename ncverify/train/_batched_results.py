r"""Results of :func:`ncverify.train.train_many`: per-run records and the balancedness envelope.

The envelope (spec §8). Iterating ``D(t+1) = c²D(t) + η²M(t) + ρ(t)`` (``c = 1 − ηλ``;
``ρ(t)`` what the floating-point update adds to the exact recursion) gives
``D(t) = c^{2t}D(0) + Σ_{s<t} c^{2(t−1−s)}(η²M(s) + ρ(s))`` and, by the triangle inequality,

.. math::  ε_2(t) ≤ c^{2t}ε_2(0) + η^2 \sum_{s<t} c^{2(t−1−s)}‖M(s)‖_{op}
           + \sum_{s<t} c^{2(t−1−s)}‖ρ(s)‖_F .

``envelope`` is the first two terms (the formula of spec §8), ``envelope_rounding`` the third
plus the rounding allowance of the measured quantities: ``ε2``, ``‖M‖_op`` and ``‖ρ‖_F`` are
computed from Gram products by cancellation, each to ``≤ 2(n+1)·eps`` times the squared
Frobenius norms involved (``n`` the largest head width), and the sums to ``(t+2)·eps``
relative. ``eps2 ≤ envelope + envelope_rounding`` is then a statement about the floating-point
trajectory that rounding cannot break (proof: ``docs/training.md#envelope``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..metrics import condition_number, head_product
from ._config import TrainingRun, Trajectory
from ._loop import _layer_metrics

__all__ = ["BatchedRun", "BatchedTrajectory", "ManyRuns", "envelope", "per_run_results"]


@dataclass(frozen=True, eq=False)
class BatchedTrajectory(Trajectory):
    """A :class:`~ncverify.train.Trajectory` plus what the batched trainer keeps at every step.

    ``eps2_all`` ``(T+1, P)``: ε2 of every head pair at every step ``0..T``;
    ``m_norm`` ``(T, P)``: ``‖G_{ℓ+1}ᵀG_{ℓ+1} − G_ℓG_ℓᵀ‖_op`` at steps ``s < T``;
    ``envelope`` ``(T+1, P)``: ``(1−ηλ)^{2t} ε2(0) + η² Σ_{s<t} (1−ηλ)^{2(t−1−s)} m(s)``;
    ``envelope_rounding`` ``(T+1, P)``: the accumulated recursion residual and the rounding
    allowance (module docstring). ``eps2_all ≤ envelope + envelope_rounding`` is the claim.
    """

    eps2_all: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    m_norm: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    envelope: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    envelope_rounding: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))


@dataclass(frozen=True, eq=False)
class BatchedRun(TrainingRun):
    """One run of :func:`~ncverify.train.train_many`: a :class:`~ncverify.train.TrainingRun`.

    ``network`` is a :class:`~ncverify.nets.PyramidalMLP` holding the run's final weights (a
    diverged run: the weights ``θ_t`` at its first bad step ``t``, where it was frozen);
    ``X``/``y`` its data; ``wall_time`` the batch's wall time / ``R``. ``trajectory`` is a
    :class:`BatchedTrajectory` (a diverged run's arrays stop at ``t``). ``snapshots``: step
    -> the run's weight matrices ``[W_1, …, W_L]`` at that step (``snapshot_steps``).
    """

    snapshots: dict[int, list[Any]] = field(default_factory=dict, repr=False)


@dataclass(frozen=True, eq=False)
class ManyRuns(Sequence):
    """The runs of :func:`~ncverify.train.train_many` (a sequence of :class:`BatchedRun`), the
    batch's wall time and ``kernels``: which products were batched (``bmm``) or looped
    (``mm``), and how the update was applied."""

    runs: tuple[BatchedRun, ...]
    wall_time: float
    kernels: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, i):
        return self.runs[i]

    def __len__(self) -> int:
        return len(self.runs)


def envelope(
    eps2, m, rho, wsq, gsq, *, c2, eta2, max_dim: int, machine_eps: float
) -> tuple[np.ndarray, np.ndarray]:
    r"""The envelope and its rounding term at every step, for ``R`` runs at once.

    ``eps2``, ``wsq`` ``(T+1, R, P)``; ``m``, ``rho``, ``gsq`` ``(T, R, P)`` (see
    :class:`~ncverify.train._recursion.BatchedRecursion`); ``c2 = (1 − ηλ)²`` and ``eta2 = η²``
    per run ``(R,)``. Returns ``env`` and ``rnd`` ``(T+1, R, P)``:
    ``env(t) = c^{2t}ε2(0) + S(t)``, ``S(t) = c²S(t−1) + η²m(t−1)``;
    ``rnd(t) = S_ρ(t) + a·(wsq(t) + c^{2t}wsq(0) + S_w(t)) + (t+2)·eps·(env(t) + S_ρ(t))``
    with ``S_ρ(t) = c²S_ρ(t−1) + ‖ρ(t−1)‖_F``,
    ``S_w(t) = c²S_w(t−1) + wsq(t) + c²wsq(t−1) + 2η²gsq(t−1)`` and ``a = 2(n+1)·eps``.
    """
    c2 = np.asarray(c2, dtype=np.float64)[:, None]
    eta2 = np.asarray(eta2, dtype=np.float64)[:, None]
    env = np.empty_like(eps2)
    rnd = np.empty_like(eps2)
    a = 2.0 * (max_dim + 1) * machine_eps
    S = np.zeros(eps2.shape[1:])
    S_rho = np.zeros_like(S)
    S_w = np.zeros_like(S)
    decay = np.ones_like(c2)
    for t in range(eps2.shape[0]):
        if t:
            decay = decay * c2
            S = c2 * S + eta2 * m[t - 1]
            S_rho = c2 * S_rho + rho[t - 1]
            S_w = c2 * S_w + wsq[t] + c2 * wsq[t - 1] + 2.0 * eta2 * gsq[t - 1]
        env[t] = decay * eps2[0] + S
        rnd[t] = (
            S_rho + a * (wsq[t] + decay * wsq[0] + S_w) + (t + 2) * machine_eps * (env[t] + S_rho)
        )
    return env, rnd


def _notes(
    P: int, n_steps: int, lam: float, diverged: bool, has_metrics: bool, env: bool
) -> list[str]:
    notes = []
    if P and not env:
        notes.append("envelope=False: eps2_all, m_norm and the envelope were not measured (NaN)")
    if not P:
        notes.append(
            "no head pairs (L2 = 1): eps2, the recursion residual, m_norm and the envelope "
            "are NaN or empty"
        )
    elif not n_steps:
        notes.append("no GD step was taken: the recursion residual is NaN")
    if not diverged and lam == 0:
        notes.append("weight_decay = 0: grad_rel = ‖∇L‖/(λ‖θ‖) is inf (NaN at a zero gradient)")
    if not diverged and not has_metrics:
        notes.append("final_metrics=False: nc1/nc2/nc3 are NaN")
    return notes


def _final(W, G, L1, r, lam, N, data_T, recs_eps2, P, nc) -> dict[str, float]:
    nl = len(nc[0]) if nc else 0
    with torch.no_grad():
        sq = sum(float(w[r].square().sum()) for w in W)
        gnorm = math.sqrt(
            sum(float((g[r] + lam * w[r]).square().sum()) for g, w in zip(G, W, strict=True))
        )
        heads = [W[i][r] for i in range(L1, len(W))]
        if lam * sq > 0:
            grad_rel = gnorm / (lam * math.sqrt(sq))
        else:
            grad_rel = math.inf if gnorm > 0 else math.nan
        return {
            "data_loss": data_T,
            "loss": data_T + 0.5 * lam * sq,
            "eps1": math.sqrt(max(2.0 * N * data_T, 0.0)),
            "grad_norm": gnorm,
            "param_norm": math.sqrt(sq),
            "grad_rel": grad_rel,
            "kappa_WL": condition_number(heads[-1]),
            "kappa_A": condition_number(head_product(heads)),
            "eps2": float(recs_eps2[-1]) if P else math.nan,
            "eps2_max": float(recs_eps2.max()) if P else math.nan,
            "nc1_penultimate": nc[0][-2] if nl >= 2 else math.nan,
            "nc2_penultimate": nc[1][-2] if nl >= 2 else math.nan,
            "nc3": nc[2] if nc else math.nan,
        }


def per_run_results(
    *,
    batch,
    nets,
    configs,
    X,
    y,
    hist,
    recs,
    data_T,
    G,
    loss0,
    sv1,
    P,
    final_metrics,
    with_envelope,
    t_end,
    snapshots,
    max_dim,
    wall,
) -> tuple[BatchedRun, ...]:
    """Per-run :class:`BatchedRun` from the host-side histories (``hist``: per step, ``recs``:
    per recorded step, each ``(steps, R, …)``); ``G`` the gradients at ``t_end``."""
    W, L1 = batch.W, batch.L1
    R, N, K = W[0].shape[0], X.shape[-2], nets[0].num_classes
    hist["env"], hist["rnd"] = envelope(
        hist["eps2"],
        hist["m"],
        hist["rho"],
        hist["wsq"],
        hist["gsq"],
        c2=[(1.0 - c.lr * c.weight_decay) ** 2 for c in configs],
        eta2=[c.lr * c.lr for c in configs],
        max_dim=max_dim,
        machine_eps=float(torch.finfo(X.dtype).eps),
    )
    runs = []
    for r, cfg in enumerate(configs):
        lam = cfg.weight_decay
        Xr, yr = (X if X.ndim == 2 else X[r]), (y if y.ndim == 1 else y[r])
        bad = np.flatnonzero(hist["bad"][:, r])
        if bad.size:
            done = diverged = int(bad[0])
            v = float(hist["loss"][done, r])
            outcome = "diverged"
            reason = f"diverged at step {done}: data loss {v:.3g} " + (
                "is not finite"
                if not math.isfinite(v)
                else f"> {cfg.divergence_factor:g} x initial loss {loss0[r]:.3g}"
            )
            keep = recs["step"] < done
        else:
            done, diverged, outcome, reason = t_end, None, "completed", ""
            keep = recs["step"] <= done
        net = nets[r].to(dtype=X.dtype, device=X.device)
        with torch.no_grad():
            for p, w in zip(net.weights(), W, strict=True):
                p.copy_(w[r])
        d_rec, sq_rec = recs["data"][keep, r], recs["sq"][keep, r]
        nc = _layer_metrics(net, Xr, yr, K) if final_metrics and diverged is None else None
        nl = len(nc[0]) if nc else 0
        e2, m = hist["eps2"][: done + 1, r], hist["m"][:done, r]
        env, rnd = hist["env"][: done + 1, r], hist["rnd"][: done + 1, r]
        traj = BatchedTrajectory(
            data_loss=hist["loss"][: done + 1, r].astype(np.float64),
            recursion_residual=hist["rel"][:done, r].astype(np.float64),
            steps=recs["step"][keep],
            loss=d_rec + 0.5 * lam * sq_rec,
            eps1=np.sqrt(np.maximum(2.0 * N * d_rec, 0.0)),
            eps2=recs["eps2"][keep, r],
            metric_steps=np.asarray([done] if nc else [], dtype=np.int64),
            nc1=np.asarray([nc[0]] if nc else [], dtype=np.float64).reshape(int(bool(nc)), nl),
            nc2=np.asarray([nc[1]] if nc else [], dtype=np.float64).reshape(int(bool(nc)), nl),
            nc3=np.asarray([nc[2]] if nc else [], dtype=np.float64),
            eps2_all=e2,
            m_norm=m,
            envelope=env,
            envelope_rounding=rnd,
        )
        resid = traj.recursion_residual
        notes = _notes(P, resid.size, lam, diverged is not None, bool(nc), with_envelope)
        finite = resid.size and not np.isnan(resid).all()
        max_resid = float(np.nanmax(resid)) if finite else math.nan
        initial = {
            "loss": loss0[r],
            "lambda_F": float(sv1[r, -1]),
            "Z1_s1": float(sv1[r, 0]),
            "Z1_dim": float(max(N, W[0].shape[1])),
            "eps2_max": float(recs["eps2"][0, r].max()) if P else math.nan,
            "num_params": float(sum(w[r].numel() for w in W)),
        }
        if diverged is None:
            final = _final(W, G, L1, r, lam, N, data_T[r], recs["eps2"][-1, r], P, nc)
        else:
            final = {"data_loss": float(hist["loss"][done, r])}
        snaps = {s: [w[r].clone() for w in ws] for s, ws in snapshots.items() if s <= done}
        runs.append(
            BatchedRun(
                config=cfg,
                outcome=outcome,
                diverged_step=diverged,
                reason=reason,
                initial=initial,
                final=final,
                trajectory=traj,
                max_recursion_residual=max_resid,
                wall_time=wall / R,
                steps_done=done,
                network=net,
                X=Xr,
                y=yr,
                notes=tuple(notes),
                snapshots=snaps,
            )
        )
    return tuple(runs)
