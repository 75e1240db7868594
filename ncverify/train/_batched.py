r"""Batched full-batch GD with weight decay: ``R`` independent JSWM networks trained at once.

:func:`train_many` trains ``R`` networks of one shape (:class:`~ncverify.nets.PyramidalMLP`:
``Z_0 = X``, ``Z_ℓ = σ(Z_{ℓ−1}W_ℓᵀ)`` for ``ℓ ≤ L1``, then ``L2`` linear layers
``Z_ℓ = Z_{ℓ−1}W_ℓᵀ``, no biases), each with its own seed, step size ``η_r``, weight decay
``λ_r``, optionally its own data and its own initial weights, by the single-run step of
:func:`ncverify.train.train`

.. math::  W_ℓ ← (1 − η_rλ_r) W_ℓ − η_r G_ℓ, \qquad
           G_ℓ = ∇_{W_ℓ} \tfrac1{2N}‖Z_L − Y‖_F^2

on stacked weights of shape ``(R, n_ℓ, n_{ℓ−1})``. The backward pass is written out with the
kernels autograd runs for the single loop and every batched product is probed against the
per-run ``torch.mm`` (:mod:`._batched_step`), so on the CPU each run reproduces the single
loop bit for bit (tested: ``torch.equal`` on the weights after thousands of steps).

Per step and head pair, ``D_ℓ = W_{ℓ+1}ᵀW_{ℓ+1} − W_ℓW_ℓᵀ`` obeys
``D_ℓ⁺ = (1−ηλ)²D_ℓ + η²M_ℓ``, ``M_ℓ = G_{ℓ+1}ᵀG_{ℓ+1} − G_ℓG_ℓᵀ`` (spec §4). Recorded per run
at **every** step: ε2 of every pair (exact eigenvalues), ``‖M_ℓ‖_op``, the recursion's
residual, and from them the balancedness envelope of spec §8 (:mod:`._envelope`).

A run whose data loss is non-finite or above ``divergence_factor × L_λ(θ_0)`` is diverged at
that first step ``t`` and frozen there (its weights stay ``θ_t``; the others continue, bitwise
unaffected). Shapes: ``X`` is ``(N, d)`` (shared) or ``(R, N, d)``; ``y`` is ``(N,)`` or
``(R, N)``. Everything runs on ``X``'s device and dtype (float64 for theorem checks).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from ..errors import InvalidArchitecture, InvalidInput
from ..nets._activations import make_activation
from ..nets._pyramidal import PyramidalMLP
from ._batched_results import BatchedRun, BatchedTrajectory, ManyRuns, per_run_results
from ._batched_step import BatchStep
from ._config import DIVERGENCE_FACTOR, TrainingConfig
from ._recursion import BatchedRecursion, _gram, _sym_norm

__all__ = ["BatchedRun", "BatchedTrajectory", "ManyRuns", "train_many"]


# ----------------------------------------------------------------------------- validation
def _activation(activation) -> nn.Module:
    act = make_activation(activation) if isinstance(activation, str) else activation
    if not isinstance(act, nn.Module):
        raise InvalidInput(
            f"activation must be a name or an nn.Module, got {type(activation).__name__}"
        )
    if any(True for _ in act.parameters()):
        raise InvalidArchitecture(
            f"activation {type(act).__name__} has trainable parameters; train_many trains the "
            "weight matrices only (use ncverify.train.train for such networks)"
        )
    probe = torch.linspace(-3, 3, 12, dtype=torch.float64).reshape(3, 4)
    with torch.no_grad():
        out = act(probe)
        ok = (
            isinstance(out, torch.Tensor)
            and out.shape == probe.shape
            and torch.equal(act(probe.reshape(2, 1, 6)).reshape(3, 4), out)
        )
    if not ok:
        raise InvalidArchitecture(
            f"activation {type(act).__name__} is not elementwise (its output on a (3, 4) "
            "probe changes with the probe's shape); train_many needs σ applied entrywise"
        )
    return act


def _per_run(value, R: int, name: str) -> list:
    if isinstance(value, (torch.Tensor, np.ndarray)):
        value = value.tolist()
    if isinstance(value, str) or not isinstance(value, Sequence):
        return [value] * R
    if len(value) != R:
        raise InvalidInput(f"{name} has {len(value)} entries but there are R = {R} seeds")
    return list(value)


def _check_data(X, y, K: int, R: int):
    """``X`` ``(N, d)`` or ``(R, N, d)`` float32/64, finite; ``y`` ``(N,)`` or ``(R, N)``
    integer labels in ``0..K−1``. Returns ``X`` (contiguous), ``y`` and ``Y`` one-hot."""
    if not isinstance(X, torch.Tensor) or X.ndim not in (2, 3):
        raise InvalidInput(
            "X must be a tensor (N, d) or (R, N, d), got "
            f"{tuple(getattr(X, 'shape', ())) or type(X).__name__}"
        )
    if X.dtype not in (torch.float32, torch.float64):
        raise InvalidInput(
            f"X must be float64 (or float32), got {X.dtype}; convert it with X.double() -- "
            "train_many runs in X's dtype on X's device"
        )
    if X.ndim == 3 and X.shape[0] != R:
        raise InvalidInput(
            f"X has {X.shape[0]} data sets (shape {tuple(X.shape)}) but there are R = {R} seeds"
        )
    N = X.shape[-2]
    if (
        not isinstance(y, torch.Tensor)
        or y.ndim not in (1, 2)
        or y.shape[-1] != N
        or (y.ndim == 2 and y.shape[0] != R)
    ):
        raise InvalidInput(
            f"y must be a tensor (N,) or (R, N) with N = {N}, R = {R}, got "
            f"{tuple(getattr(y, 'shape', ())) or type(y).__name__}"
        )
    if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
        raise InvalidInput(f"y must hold integer labels, got dtype {y.dtype}")
    if N == 0:
        raise InvalidInput("X has no samples (N = 0)")
    if int(y.min()) < 0 or int(y.max()) >= K:
        raise InvalidInput(
            f"labels must lie in 0..{K - 1} (num_classes={K}); got range "
            f"[{int(y.min())}, {int(y.max())}]"
        )
    if not bool(torch.isfinite(X).all()):
        raise InvalidInput("X contains non-finite values")
    y = y.to(device=X.device, dtype=torch.int64)
    return X.contiguous(), y, torch.nn.functional.one_hot(y, K).to(X.dtype)


def _configs(seeds, lr, weight_decay, steps, record_every, divergence_factor, dt, dev):
    R = len(seeds)
    out = []
    for r, (s, e, lam) in enumerate(
        zip(seeds, _per_run(lr, R, "lr"), _per_run(weight_decay, R, "weight_decay"), strict=True)
    ):
        try:
            out.append(
                TrainingConfig(
                    lr=e,
                    weight_decay=lam,
                    steps=steps,
                    seed=s,
                    device=str(dev),
                    dtype=str(dt).removeprefix("torch."),
                    record_every=record_every,
                    divergence_factor=divergence_factor,
                )
            )
        except InvalidInput as exc:
            raise InvalidInput(f"run {r} (seed={s!r}): {exc}") from None
    return out


def _initial(nets, initial_weights):
    """Copy ``initial_weights[r]`` (``L`` matrices) into ``nets[r]`` after checking shapes."""
    if initial_weights is None:
        return
    if len(initial_weights) != len(nets):
        raise InvalidInput(
            f"initial_weights has {len(initial_weights)} entries but there are R = "
            f"{len(nets)} seeds"
        )
    for r, (net, ws) in enumerate(zip(nets, initial_weights, strict=True)):
        own = net.weights()
        if len(ws) != len(own):
            raise InvalidInput(
                f"initial_weights[{r}] has {len(ws)} matrices; the architecture has {len(own)}"
            )
        with torch.no_grad():
            for i, (p, w) in enumerate(zip(own, ws, strict=True)):
                w = torch.as_tensor(w)
                if tuple(w.shape) != tuple(p.shape) or not bool(torch.isfinite(w).all()):
                    raise InvalidInput(
                        f"initial_weights[{r}][{i}] must be a finite {tuple(p.shape)} matrix "
                        f"(W_{i + 1} is (n_out, n_in)), got shape {tuple(w.shape)}"
                    )
                p.copy_(w.to(p.dtype))


# ----------------------------------------------------------------------------- training
def train_many(
    X,
    y,
    *,
    widths: Sequence[int],
    head_widths: Sequence[int],
    num_classes: int,
    seeds: Sequence[int],
    lr,
    weight_decay,
    steps: int,
    activation="gamma_tanh",
    initial_weights=None,
    record_every: int = 100,
    snapshot_steps: Sequence[int] = (),
    envelope: bool = True,
    divergence_factor: float = DIVERGENCE_FACTOR,
    final_metrics: bool = True,
    match_single: bool | None = None,
) -> ManyRuns:
    r"""Train ``R = len(seeds)`` PyramidalMLPs of one shape by full-batch GD with weight decay.

    Run ``r`` starts from ``PyramidalMLP(d, widths, head_widths, num_classes, activation,
    seed=seeds[r])`` (or from ``initial_weights[r]``) and takes ``steps`` steps
    ``W_ℓ ← (1 − η_rλ_r)W_ℓ − η_r G_ℓ`` on ``L_λ = (1/(2N))‖Z_L − Y‖_F² + (λ_r/2)Σ_ℓ‖W_ℓ‖_F²``
    with its data ``(X_r, y_r)``, as :func:`ncverify.train.train` would (bit for bit on the CPU).

    ``X`` ``(N, d)`` shared or ``(R, N, d)``, float64 (or float32): the runs use its device and
    dtype. ``y`` ``(N,)`` or ``(R, N)``, integer labels. ``widths`` ``(n_1, …, n_{L1})`` and
    ``head_widths`` ``(n_{L1+1}, …, n_{L−1})`` (``L2 = len(head_widths) + 1``). ``lr`` and
    ``weight_decay``: a number or one per run (``η_r > 0``, ``λ_r ≥ 0``). ``activation``: a
    name or an elementwise ``nn.Module`` without parameters (default ``σ(x) = ½x + ½tanh x``).
    ``initial_weights``: ``R`` lists of the ``L`` matrices ``W_ℓ`` ``(n_ℓ, n_{ℓ−1})`` to start
    from instead of the seeded initialisation (the seed is still recorded).
    ``record_every``: loss, ε1 and ε2 at steps ``0, k, 2k, …`` and ``T`` (as the single loop;
    ε2 and the envelope are also kept at every step). ``snapshot_steps``: steps whose weights
    are kept (``BatchedRun.snapshots``; e.g. to measure the sharpness there). ``envelope``:
    ε2 and ``‖M‖_op`` of every head pair at every step (exact eigenvalues) and the envelope;
    ``False`` keeps only the recursion residual, as the single loop (cheaper).
    ``divergence_factor``: a run is diverged at its first step with a non-finite data loss or
    one above ``divergence_factor × L_λ(θ_0)``, and frozen there. ``final_metrics``: NC1/NC2
    of every layer and NC3 at the last step. ``match_single``: probe every batched product
    against per-run ``torch.mm`` and loop where they differ (default: on the CPU only;
    ``False`` always batches: faster on a GPU, rounding then differs, ~1e-16 per step).

    Returns :class:`ManyRuns` (``R`` :class:`BatchedRun`, the wall time, the kernels used).
    Raises :class:`~ncverify.InvalidInput` / :class:`~ncverify.InvalidArchitecture` for bad
    arguments; never for divergence (``BatchedRun.raise_if_diverged`` raises
    :class:`~ncverify.TrainingDiverged`).
    """
    t_start = time.perf_counter()
    act = _activation(activation)
    if isinstance(seeds, str) or not isinstance(seeds, Sequence) or not seeds:
        raise InvalidInput(f"seeds must be a non-empty sequence of integers, got {seeds!r}")
    R = len(seeds)
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise InvalidInput(f"num_classes must be an integer >= 2, got {num_classes!r}")
    X, y, Y = _check_data(X, y, num_classes, R)
    dt, dev, d, K = X.dtype, X.device, X.shape[-1], num_classes
    configs = _configs(seeds, lr, weight_decay, steps, record_every, divergence_factor, dt, dev)
    snaps = sorted({int(s) for s in snapshot_steps if 0 <= int(s) <= steps})
    nets = [PyramidalMLP(d, widths, head_widths, K, act, seed=s) for s in seeds]
    _initial(nets, initial_weights)
    W = [
        torch.stack([w.detach() for w in ws]).to(dtype=dt, device=dev).contiguous()
        for ws in zip(*(net.weights() for net in nets), strict=True)
    ]
    L1, L, T = len(nets[0].nonlinear), len(W), steps
    pairs = list(itertools.pairwise(range(L1, L)))
    P = len(pairs)
    batch = BatchStep(W, L1, act, X, Y, dev.type == "cpu" if match_single is None else match_single)

    def col(values):
        return torch.tensor(values, dtype=dt, device=dev)

    etas = [cfg.lr for cfg in configs]
    lams = [cfg.weight_decay for cfg in configs]
    c3 = col([1.0 - e * lam for e, lam in zip(etas, lams, strict=True)])[:, None, None]
    neg_eta3 = col([-e for e in etas])[:, None, None]

    # initial measurements (spec §5): L_λ(θ_0) and the singular values of Z_1(0)
    ZL, inputs, _ = batch.forward(keep=True)
    data0 = (ZL - Y).square().sum(dim=(1, 2)) * batch.scale
    sq0 = sum(w.square().sum(dim=(1, 2)) for w in W)
    loss0 = (data0 + 0.5 * col(lams) * sq0).tolist()
    sv1 = torch.linalg.svdvals(inputs[1]).cpu()
    thr = col([divergence_factor * max(v, torch.finfo(dt).tiny) for v in loss0])
    del ZL, inputs
    rec = None
    if P:
        c2 = col([(1.0 - e * lam) ** 2 for e, lam in zip(etas, lams, strict=True)])
        rec = BatchedRecursion(W[L1:], c2, col([e * e for e in etas]), envelope=envelope)

    # on the CPU a host check per step is free: mask the update only once a run froze
    all_alive, per_step_mask = True, dev.type != "cpu"
    alive = torch.ones(R, dtype=torch.bool, device=dev)
    win, hist = {"loss": [], "bad": []}, {"loss": [], "bad": []}
    recs = {"step": [], "data": [], "sq": [], "eps2": []}
    snapshots: dict[int, list[torch.Tensor]] = {}
    check_every = min(record_every, 100)
    t = 0
    while True:
        data, G = batch.grads()
        bad = ~torch.isfinite(data) | (data > thr)
        alive = alive & ~bad
        win["loss"].append(data)
        win["bad"].append(bad)
        if all_alive and not per_step_mask and bool(bad.any()):
            all_alive = False
        last = t == T
        if t in snaps:
            snapshots[t] = [w.clone() for w in W]
        if last or t % record_every == 0:
            recs["step"].append(t)
            recs["data"].append(data)
            recs["sq"].append(sum(w.square().sum(dim=(1, 2)) for w in W))
            if P:
                eps = [_sym_norm(_gram(W[a], W[b])) for a, b in pairs]
                recs["eps2"].append(torch.stack(eps, 1))
            else:
                recs["eps2"].append(X.new_zeros(R, 0))
        if last or t % check_every == 0:
            for k in win:
                hist[k].append(torch.stack(win[k]).cpu().numpy())
                win[k] = []
            if not bool(alive.any()):
                break
        if last:
            break
        c = c3
        if per_step_mask or not all_alive:  # frozen runs: c = 1, G = 0 (exact no-op)
            a3 = alive[:, None, None]
            G, c = [torch.where(a3, g, 0.0) for g in G], torch.where(a3, c3, 1.0)
        if rec is not None:
            rec.record(G[L1:])
        batch.update(G, c, neg_eta3)
        t += 1
    if rec is not None:
        rec.record_weights()  # W(t): closes the transition t − 1 → t
        head = rec.results()
        if not envelope:  # NaN, never a stand-in: these were not measured
            for k, n in (("eps2", t + 1), ("wsq", t + 1), ("m", t), ("gsq", t)):
                head[k] = np.full((n, R, P), np.nan)
    else:
        head = {
            "eps2": np.zeros((t + 1, R, 0)),
            "wsq": np.zeros((t + 1, R, 0)),
            "rel": np.full((t, R), np.nan),
            **{k: np.zeros((t, R, 0)) for k in ("rho", "m", "gsq")},
        }
    hist = {k: np.concatenate(v) for k, v in hist.items()}
    hist.update(head)
    recs = {
        k: np.asarray(v, dtype=np.int64) if k == "step" else torch.stack(v).cpu().numpy()
        for k, v in recs.items()
    }
    max_dim = max([int(w.shape[1]) for w in W[L1:]] + [int(w.shape[2]) for w in W[L1:]])
    runs = per_run_results(
        batch=batch,
        nets=nets,
        configs=configs,
        X=X,
        y=y,
        hist=hist,
        recs=recs,
        data_T=data.tolist(),
        G=G,
        loss0=loss0,
        sv1=sv1,
        P=P,
        final_metrics=final_metrics,
        with_envelope=envelope,
        t_end=t,
        snapshots=snapshots,
        max_dim=max_dim,
        wall=time.perf_counter() - t_start,
    )
    return ManyRuns(runs=runs, wall_time=time.perf_counter() - t_start, kernels=batch.kernels())
