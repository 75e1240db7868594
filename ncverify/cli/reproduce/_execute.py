r"""Execute one :class:`RunConfig`: train, measure, return a JSON-safe result dict.

:func:`execute` is the only thing an executor calls (config → result), so runs can be
distributed to processes or machines. Training (spec §1, §4, §5):

* full batch (``batch_size=None``, the theorems' setting): consecutive segments split at the
  record steps, the step-size drop and (evaluated runs) the sampled steps ``0, T/2, T`` (plain
  GD has no state beyond the weights, so this is one trajectory); a
  :class:`~ncverify.nets.PyramidalMLP` by :func:`ncverify.train.train_many` (bit for bit
  ``train``), which also records the balancedness envelope, chained across the segments
  (:mod:`._envelope`, docs/training.md#envelope-schedule); other networks by
  :func:`ncverify.train.train`; the exact one-step balancedness recursion is checked at every
  step by both;
* mini-batch SGD (``batch_size=B``): ``θ ← (1−ηλ)θ − η∇_θ (1/2B)‖Z_L(X_B) − Y_B‖²``, batches
  drawn without replacement within each epoch from a generator seeded with the run's seed
  (an epoch's last incomplete batch is dropped); the recursion is not recorded (NaN).

Measured at the end (features ``Z_ℓ`` of every layer, weights ``W_ℓ``): per layer NC1
(trace ratio), NC2 (κ of the class means), balancedness ``‖W_{ℓ+1}ᵀW_{ℓ+1} − W_ℓW_ℓᵀ‖_op`` (ε2
of the pair; NaN where the shapes do not chain, e.g. dense layers) and negativity
``‖H − σ(H)‖_op/‖H‖_op`` of the pre-activation ``H = Z_{ℓ−1}W_ℓᵀ``; training accuracy, ε1 =
``‖Z_L − Y‖_F``, ε2 of the last head pair, κ(W_L), κ(A)^{1/L2}, NC1/NC2 of ``Z_{L−1}``, NC3
(mean and worst per-sample cosine of ``z_i`` to ``w_{y_i}``, rows of ``W_L``). At each record
step: the pairs' balancedness, ε1, accuracy, NC1 of ``Z_{L−1}`` and both NC3 numbers.

Evaluated runs (``cfg.evaluate``) also record ``format`` (:data:`RESULT_FORMAT`),
``envelope`` (the largest ``ε2/(env + rnd)``; ``None`` where not recorded) and ``step_size``
(``η_t·λ_max`` at the sampled steps, :func:`._envelope.step_size_checks`), and are judged
with the envelope, the sampled sharpness and the step-0 weights.
"""

from __future__ import annotations

import inspect
import itertools
import math
import time
from dataclasses import fields, replace
from typing import Any

import numpy as np

from ._config import RunConfig
from ._envelope import fit_segments, sampled_steps, step_size_checks

__all__ = ["DIVERGENCE_FACTOR", "RESULT_FORMAT", "execute", "nc3_cosines"]

#: the version of what an evaluated run records; ``--resume`` recomputes evaluated runs whose
#: file has another (2: the envelope along the real trajectory and the step-size hypothesis)
RESULT_FORMAT = 2

#: SGD: a batch loss above this multiple of the initial full-batch loss counts as divergence
DIVERGENCE_FACTOR = 1e4


def _float(x) -> float:
    return float(x)


def nc3_cosines(Z, y, W):
    r"""Per-sample ``cos(z_i, w_{y_i})`` (float64 tensor ``(N,)``; 0 where a norm is 0): the
    terms of JSWM's NC3 (:func:`ncverify.metrics.nc3_cosine` is their mean; 1 at collapse)."""
    import torch

    Z, W = Z.double(), W.double()
    num = (Z * W[y]).sum(1)
    den = torch.linalg.vector_norm(Z, dim=1) * torch.linalg.vector_norm(W, dim=1)[y]
    return torch.where(den > 0, num / torch.where(den > 0, den, 1), 0)


def _pair(Ws, l: int) -> float:
    """ε2 of the pair ``(W_l, W_{l+1})`` (1-based ``l``); NaN where the shapes do not chain."""
    from ...metrics import balancedness

    if l >= len(Ws) or Ws[l].shape[1] != Ws[l - 1].shape[0]:
        return math.nan
    return _float(balancedness(Ws[l - 1], Ws[l]))


def _negativity(H, sigma) -> float:
    import torch

    denom = float(torch.linalg.matrix_norm(H, ord=2))
    return math.nan if denom == 0.0 else float(torch.linalg.matrix_norm(H - sigma(H), 2)) / denom


def _normalised_gram(Z, y, K: int) -> list:
    from ...metrics import class_means

    M = class_means(Z, y, num_classes=K).double()
    G = (M @ M.T).cpu().numpy()
    scale = float(np.max(np.diag(G)))
    return (G / scale if scale > 0 else G).tolist()


def _snapshot(net, X, y, K: int) -> dict[str, Any]:
    """What the trajectories record: pairs' ε2, ε1, accuracy, NC1 of Z_{L−1}, NC3."""
    import torch

    from ...metrics import interpolation_error, nc1_trace_ratio

    with torch.no_grad():
        feats = net.layer_features(X)
        Ws = [W.detach() for W in net.weights()]
        cos = nc3_cosines(feats[-2], y, Ws[-1])
        return {
            "pairs": [_pair(Ws, l) for l in range(1, len(Ws))],
            "eps1": interpolation_error(feats[-1], y, num_classes=K),
            "accuracy": float((feats[-1].argmax(dim=1) == y).double().mean()),
            "nc1_penultimate": nc1_trace_ratio(feats[-2], y, num_classes=K),
            "nc3_mean": float(cos.mean()),
            "nc3_worst": float(cos.min()),
        }


def _final(net, X, y, K: int, grams: bool) -> dict[str, Any]:
    import torch

    from ...metrics import condition_number, head_product, nc1_trace_ratio, nc2_kappa

    out = _snapshot(net, X, y, K)
    with torch.no_grad():
        feats = net.layer_features(X)
        Ws = [W.detach() for W in net.weights()]
        L, L2 = len(feats), net.num_head_layers
        layer = {"nc1": [], "nc2": [], "balancedness": [], "negativity": []}
        for l in range(1, L + 1):
            Z, Z_prev = feats[l - 1], (X if l == 1 else feats[l - 2])
            layer["nc1"].append(nc1_trace_ratio(Z, y, num_classes=K))
            layer["nc2"].append(nc2_kappa(Z, y, num_classes=K))
            layer["balancedness"].append(_pair(Ws, l))
            ok = Z_prev.shape[1] == Ws[l - 1].shape[1]
            H = Z_prev @ Ws[l - 1].T if ok else None
            sigma = net.activation
            layer["negativity"].append(_negativity(H, sigma) if ok else math.nan)
        heads = Ws[L - L2 :]
        out.update(
            per_layer=layer,
            depth=L,
            num_head_layers=L2,
            eps2=_pair(Ws, L - 1) if L2 >= 2 else math.nan,
            kappa_WL=condition_number(Ws[-1]),
            kappa_A_root=condition_number(head_product(heads)) ** (1.0 / L2),
            nc1=layer["nc1"][-2],
            nc2=layer["nc2"][-2],
        )
        if grams:
            first = L - L2  # Z_{L1}, the head's input
            out["grams"] = [
                [
                    f"Z_{l} (input of head)" if l == first else f"Z_{l}",
                    _normalised_gram(feats[l - 1], y, K),
                ]
                for l in range(first, L + 1)
            ]
    return out


# ----------------------------------------------------------------------------- fitting
def _params(net) -> list:
    return [p.detach().clone() for p in net.parameters() if p.requires_grad]


def _fit_full_batch(net, X, y, cfg: RunConfig, on_record, extra_bounds=()):
    """Full-batch GD by ``train`` segments; ``(max recursion residual, diverged step, None,
    {step: parameters at each segment boundary})`` (no envelope: see :mod:`._envelope`)."""
    from ...train import train

    t = cfg.train
    drop = int(t.lr_drop_at * t.steps)
    wanted = set(cfg.record_steps)
    bounds = sorted({0, drop, t.steps, *(s for s in (*wanted, *extra_bounds) if 0 <= s <= t.steps)})
    residual = math.nan
    params = {0: _params(net)}
    for a, b in itertools.pairwise(bounds):
        if a in wanted:
            on_record(a)
        run = train(
            net,
            X,
            y,
            lr=t.lr_at(a),
            weight_decay=t.weight_decay,
            steps=b - a,
            seed=cfg.seed,
            device=t.device,
            dtype=t.dtype,
            record_every=max(1, b - a),
            metrics_every=0,
        )
        if run.diverged:
            return residual, a + run.diverged_step, None, params
        params[b] = _params(net)
        if not math.isnan(run.max_recursion_residual):
            residual = max(run.max_recursion_residual, 0.0 if math.isnan(residual) else residual)
    if t.steps in wanted:
        on_record(t.steps)
    return residual, None, None, params


def _fit_sgd(net, X, y, cfg: RunConfig, on_record, extra_bounds=()):
    """Mini-batch SGD with weight decay (module docstring); ``(NaN, diverged step, None,
    {})``: neither the envelope nor the sampled weights are recorded."""
    import torch

    t = cfg.train
    N, K = X.shape[0], net.num_classes
    B = min(t.batch_size, N)
    Y = torch.nn.functional.one_hot(y, K).to(X.dtype)
    params = [p for p in net.parameters() if p.requires_grad]
    g = torch.Generator(device="cpu").manual_seed(cfg.seed)
    with torch.no_grad():
        loss0 = 0.5 / N * float(((net(X) - Y) ** 2).sum())
        loss0 += 0.5 * t.weight_decay * sum(float((p * p).sum()) for p in params)
    threshold = DIVERGENCE_FACTOR * max(loss0, 1e-300)
    wanted = set(cfg.record_steps)
    order, pos = torch.randperm(N, generator=g), 0
    for step in range(t.steps + 1):
        if step in wanted:
            on_record(step)
        if step == t.steps:
            break
        if pos + B > N:
            order, pos = torch.randperm(N, generator=g), 0
        idx = order[pos : pos + B].to(X.device)
        pos += B
        data = torch.nn.functional.mse_loss(net(X[idx]), Y[idx], reduction="sum") * (0.5 / B)
        value = float(data.detach())
        if not math.isfinite(value) or value > threshold:
            return math.nan, step, None, {}
        grads = torch.autograd.grad(data, params)
        eta = t.lr_at(step)
        with torch.no_grad():
            if t.weight_decay:
                torch._foreach_mul_(params, 1.0 - eta * t.weight_decay)
            torch._foreach_add_(params, grads, alpha=-eta)
    return math.nan, None, None, {}


# ----------------------------------------------------------------------------- evaluation
def _judged_run(probe, probe0, cfg: RunConfig, residual, env, weights):
    """The run the spec measures: the final network (``probe``, a steps=0 run at the last
    weights) with the step-0 values of ``probe0``, the configuration's ``η`` and ``T``, the
    chained envelope (:mod:`._envelope`; ``None``: not recorded) and the step-0 weights."""
    from ...nets import PyramidalMLP
    from ...train import BatchedRun, BatchedTrajectory, TrainingConfig

    t = cfg.train
    tr = probe.trajectory
    extra = {}
    if env is not None:
        e2, en, rn = env.arrays()
        extra = {"eps2_all": e2, "envelope": en, "envelope_rounding": rn}
    traj = BatchedTrajectory(**{f.name: getattr(tr, f.name) for f in fields(tr)}, **extra)
    snaps = {0: weights[0]} if isinstance(probe.network, PyramidalMLP) and 0 in weights else {}
    base = {f.name: getattr(probe, f.name) for f in fields(probe)}
    base.update(
        initial=probe0.initial,
        max_recursion_residual=residual,
        steps_done=t.steps,
        trajectory=traj,
        config=TrainingConfig(
            lr=t.lr,
            weight_decay=t.weight_decay,
            steps=t.steps,
            seed=cfg.seed,
            device=t.device,
            dtype=t.dtype,
        ),
    )
    return BatchedRun(**base, snapshots=snaps)


def _step_size_inputs(checks) -> tuple[dict, dict]:
    """``(sharpness_steps, step_lr)`` for the spec: every sampled step when the sharpness is
    exact; with the power-iteration lower estimate only the steps where ``η_t·λ̂ >= 2``
    already (then ``η_t·λ_max >= 2`` too: the hypothesis fails), else none (not checkable)."""
    if not checks:
        return {}, {}
    entries = checks["steps"]
    if checks["method"] != "exact":
        entries = [e for e in entries if e["eta_sharpness"] >= 2]
    return {e["step"]: e["sharpness"] for e in entries}, {e["step"]: e["eta"] for e in entries}


def _evaluate(spec_ids, cfg: RunConfig, net, X, y, probe0, fit, checks) -> list[dict]:
    """Judge the run with the JSWM training specs named in ``spec_ids`` (``jswm-4.4``);
    ``fit``: ``(residual, diverged step, envelope, weights)`` of the fitting function."""
    from ...catalog.jswm import TRAINING_NC1, TrainedNetwork
    from ...train import train

    residual, diverged, env, weights = fit
    specs = {"jswm-4.4": TRAINING_NC1}
    t = cfg.train
    sharp, step_lr = {}, {}
    if diverged is None:
        probe = train(
            net,
            X,
            y,
            lr=t.lr,
            weight_decay=t.weight_decay,
            steps=0,
            seed=cfg.seed,
            device=t.device,
            dtype=t.dtype,
        )
        run = _judged_run(probe, probe0, cfg, residual, env, weights)
        sharp, step_lr = _step_size_inputs(checks)
        reason = None
    else:
        run = replace(probe0, outcome="diverged", diverged_step=diverged, final={})
        reason = f"diverged at step {diverged}"
    out = []
    for sid in spec_ids:
        spec = specs[sid]
        role = {}
        if "role" in inspect.signature(spec.evaluate).parameters:  # the verdict engine's roles
            role = {"role": cfg.role}
        subject = TrainedNetwork(
            run,
            architecture=cfg.net.kind,
            inputs=cfg.to_json(),
            sharpness_steps=sharp,
            step_lr=step_lr,
        )
        ev = spec.check(
            subject,
            seed=cfg.seed,
            inputs=cfg.to_json(),
            unmeasured="undecided",
            inconclusive_reason=reason,
            dtype=t.dtype,
            architecture=cfg.net.kind,
            test_id=f"{cfg.experiment}::{cfg.key}",
            **role,
        ).to_dict()
        if not role and cfg.role == "robustness":  # the engine's convention, before it lands
            ev["theorem_id"] = f"{ev['theorem_id']}/robustness"
        out.append(ev)
    return out


def _envelope_summary(env) -> dict[str, Any] | None:
    """``max_ratio``: the largest ``ε2(t)/(env(t) + rnd(t))`` over steps ``t >= 1`` and pairs
    (<= 1: the envelope held), ``steps``, ``pairs``; ``None`` when not recorded."""
    if env is None:
        return None
    e2, en, rn = env.arrays()
    if e2.shape[0] < 2 or e2.shape[1] == 0:
        return {"max_ratio": math.nan, "steps": int(e2.shape[0] - 1), "pairs": int(e2.shape[1])}
    bound = en[1:] + rn[1:]
    ratio = np.where(bound > 0, e2[1:] / np.where(bound > 0, bound, 1.0), np.inf)
    steps, pairs = int(e2.shape[0] - 1), int(e2.shape[1])
    return {"max_ratio": float(ratio.max()), "steps": steps, "pairs": pairs}


def execute(cfg: RunConfig) -> dict[str, Any]:
    """Run ``cfg`` (on its device, torch single-threaded on CPU) and return its result:
    ``outcome`` (``completed``/``diverged``), ``diverged_step``, ``final`` (module docstring),
    ``trajectory`` (``steps`` and one list per recorded quantity), ``recursion_residual``,
    ``evaluations`` (``Evaluation.to_dict()`` per theorem of ``cfg.evaluate``),
    ``wall_time_s``, ``cpu_time_s``. Deterministic for a given config and device."""
    import torch

    from ...nets import PyramidalMLP
    from ...train import train

    t0 = (time.monotonic(), time.process_time())
    threads = torch.get_num_threads()
    if not str(cfg.train.device).startswith("cuda"):
        torch.set_num_threads(1)
    try:
        X, y, _ = cfg.data.load(dtype=cfg.train.dtype, device=cfg.train.device)
        K = int(y.max()) + 1
        net = cfg.net.build(
            input_dim=int(X.shape[1]),
            num_classes=K,
            seed=cfg.seed,
            dtype=cfg.train.dtype,
            device=cfg.train.device,
        )
        probe0 = None
        if cfg.evaluate:
            t = cfg.train
            probe0 = train(
                net,
                X,
                y,
                lr=t.lr,
                weight_decay=t.weight_decay,
                steps=0,
                seed=cfg.seed,
                device=t.device,
                dtype=t.dtype,
            )
        traj: dict[str, list] = {"steps": []}

        def on_record(step: int) -> None:
            traj["steps"].append(step)
            for name, value in _snapshot(net, X, y, K).items():
                traj.setdefault(name, []).append(value)

        fit = _fit_sgd
        if cfg.train.batch_size is None:
            fit = fit_segments if isinstance(net, PyramidalMLP) else _fit_full_batch
        extra = sampled_steps(cfg.train.steps) if cfg.evaluate else ()
        fitted = fit(net, X, y, cfg, on_record, extra)
        residual, diverged = fitted[:2]
        checks = None
        if cfg.evaluate and diverged is None and cfg.train.batch_size is None:
            checks = step_size_checks(cfg, X, y, fitted[3])
        result: dict[str, Any] = {
            "outcome": "completed" if diverged is None else "diverged",
            "diverged_step": diverged,
            "num_samples": int(X.shape[0]),
            "input_dim": int(X.shape[1]),
            "num_classes": K,
            "recursion_residual": residual,
            "final": _final(net, X, y, K, cfg.grams) if diverged is None else None,
            "trajectory": traj if diverged is None else {"steps": []},
        }
        if cfg.evaluate:
            result["format"] = RESULT_FORMAT
            result["envelope"] = _envelope_summary(fitted[2])
            result["step_size"] = checks
            result["evaluations"] = _evaluate(cfg.evaluate, cfg, net, X, y, probe0, fitted, checks)
    finally:
        torch.set_num_threads(threads)
    result["wall_time_s"] = time.monotonic() - t0[0]
    result["cpu_time_s"] = time.process_time() - t0[1]
    return result
