"""``ncverify reproduce``: JSWM's MLP experiments at small scale, with figures.

Two experiments from Jacot, Súkeník, Wang, Mondelli (ICLR 2025, arXiv 2410.04887;
spec §5), trained with full-batch gradient descent on the MSE loss with weight decay
(spec §1 normalisation), the step size dropped ×0.1 after 80% of the steps:

- :func:`jswm_layers` — a 9-layer MLP (5 nonlinear bias-free layers, then a 4-layer
  bias-free linear head); for the last 7 layers, per-layer NC1 (trace ratio), NC2
  (κ of the class means), balancedness of the pair (W_ℓ, W_{ℓ+1}) and negativity
  ``‖H_ℓ − σ(H_ℓ)‖_op / ‖H_ℓ‖_op`` of the layer's pre-activation ``H_ℓ = Z_{ℓ−1}W_ℓᵀ``
  (for a linear layer: how much σ *would* change it), mean ± 1 std over seeds; the
  balancedness of every pair against step with the weight-decay prediction
  ``ε(0)·∏_s(1 − η_sλ)²`` (spec §4) overlaid; Gram matrices of the head's class means.
- :func:`jswm_head_depth` — 5 nonlinear layers plus a linear head of depth L2 = 1…5,
  for two weight decays; NC1 and NC2 of the penultimate features ``Z_{L−1}``, κ(W_L)
  and ``κ(A)^{1/L2}`` (A the head's product; equal when the head is balanced, spec §3).

Each writes PNG figures with CSV data of the same basename plus a JSON summary into
``out_dir`` (default ``reports/figures``, where ``ncverify report reports`` looks).
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from ...errors import InvalidInput
from ._common import (
    LR_DROP_AT,
    LR_DROP_FACTOR,
    ReproduceResult,
    _all_weights,
    _balancedness,
    _build_net,
    _eps1,
    _features,
    _fit,
    _layer_metrics,
    _nan_list,
    _normalised_gram,
    _record_steps,
    _resolve,
    _write_summary,
    lr_at,
    predicted_decay,
)
from ._data import DATASETS, Progress, load_dataset

__all__ = [
    "LR_DROP_AT",
    "ReproduceResult",
    "jswm_head_depth",
    "jswm_layers",
    "lr_at",
    "predicted_decay",
]

DEFAULT_OUT = "reports/figures"
LAYERS_WEIGHT_DECAY = 0.0018  # JSWM Figure 1
HEAD_DEPTH_WEIGHT_DECAYS = (0.001, 0.004)  # JSWM head-depth figure
NUM_NONLINEAR = 5
LAYERS_HEAD_DEPTH = 4  # 5 + 4 = 9 layers
SHOWN_LAYERS = 7  # the last 7 layers are shown
ACTIVATIONS = ("relu", "gamma_tanh")  # names of ncverify.nets


# ----------------------------------------------------------------------------- experiments
class _CpuThreads:
    """On CPU, run torch single-threaded for the duration (restored afterwards).

    The tiny matrices here gain nothing from intra-op threads, and on a shared 2-core
    machine two spinning threads made each step 10–40× slower (measured: 1.3 ms vs
    13–53 ms per step of a 9-layer width-16 MLP under load).
    """

    def __init__(self, device: str):
        self.active = not str(device).startswith("cuda")

    def __enter__(self):
        import torch

        self.previous = torch.get_num_threads()
        if self.active:
            torch.set_num_threads(1)
        return self

    def __exit__(self, *exc):
        import torch

        torch.set_num_threads(self.previous)
        return False


def _setup(preset, dataset, overrides, *, seed):
    import torch

    cfg = _resolve(preset, **overrides)
    if dataset not in DATASETS:
        raise InvalidInput(f"unknown dataset {dataset!r}; choose one of {', '.join(DATASETS)}")
    if cfg["activation"] not in ACTIVATIONS:
        raise InvalidInput(
            f"activation={cfg['activation']!r}; choose one of {', '.join(ACTIVATIONS)}"
        )
    X, y = load_dataset(
        dataset,
        n_per_class=cfg["n_per_class"],
        seed=seed,
        dtype=cfg["dtype"],
        device=cfg["device"],
        cluster_dim=cfg["cluster_dim"],
        cluster_classes=cfg["cluster_classes"],
    )
    cfg.update(
        dataset=dataset,
        seed=seed,
        num_samples=int(X.shape[0]),
        input_dim=int(X.shape[1]),
        num_classes=int(y.max()) + 1,
        lr_drop_at=LR_DROP_AT,
        lr_drop_factor=LR_DROP_FACTOR,
        torch_version=torch.__version__,
    )
    return cfg, X, y


def _widths(cfg, head_depth: int) -> tuple[list[int], list[int]]:
    w = cfg["width"]
    first = cfg["first_width"] or max(w, cfg["num_samples"])
    nonlinear = [max(first, w)] + [w] * (NUM_NONLINEAR - 1)
    return nonlinear, [w] * (head_depth - 1)


def jswm_layers(
    *,
    preset: str = "small",
    dataset: str = "digits",
    width: int | None = None,
    n_per_class: int | None = None,
    steps: int | None = None,
    seeds: int | None = None,
    seed: int = 0,
    lr: float | None = None,
    activation: str = "relu",
    device: str | None = None,
    out_dir: str | Path = DEFAULT_OUT,
    progress: bool | None = None,
) -> ReproduceResult:
    """JSWM Figure 1 at small scale: per-layer metrics of the last 7 layers of a 9-layer
    MLP (5 nonlinear + 4 linear) trained with weight decay 0.0018, over ``seeds`` runs.

    Writes ``jswm-layers-<dataset>-{metrics,balancedness,gram}.{png,csv}`` and
    ``jswm-layers-<dataset>.json``. ``progress=None``: a bar when stderr is a TTY.
    """

    t0 = (time.monotonic(), time.process_time())
    cfg, X, y = _setup(
        preset,
        dataset,
        dict(
            width=width,
            n_per_class=n_per_class,
            steps=steps,
            seeds=seeds,
            lr=lr,
            device=device,
            activation=activation,
        ),
        seed=seed,
    )
    with _CpuThreads(cfg["device"]):
        return _layers_run(
            cfg, X, y, t0=t0, seed=seed, dataset=dataset, out_dir=out_dir, progress=progress
        )


def _layers_run(cfg, X, y, *, t0, seed, dataset, out_dir, progress) -> ReproduceResult:
    from . import _figures

    cfg["weight_decay"] = wd = LAYERS_WEIGHT_DECAY
    L = NUM_NONLINEAR + LAYERS_HEAD_DEPTH
    shown = list(range(L - SHOWN_LAYERS + 1, L + 1))  # layer indices 3..9
    pairs = shown[:-1]  # pair (W_l, W_{l+1}) for l = 3..8
    cfg.update(
        depth=L, num_nonlinear=NUM_NONLINEAR, head_depth=LAYERS_HEAD_DEPTH, layers_shown=shown
    )
    rec = _record_steps(cfg["steps"], cfg["records"])
    names = ("nc1", "nc2", "balancedness", "negativity")
    per_layer = {m: np.full((cfg["seeds"], len(shown)), np.nan) for m in names}
    traj = np.full((cfg["seeds"], len(rec), len(pairs)), np.nan)
    residuals = np.full(cfg["seeds"], np.nan)
    grams: list[tuple[str, np.ndarray]] = []
    diverged = 0
    bar = Progress(cfg["seeds"] * cfg["steps"], "jswm-layers", enabled=progress)
    for s in range(cfg["seeds"]):
        nonlinear, head = _widths(cfg, LAYERS_HEAD_DEPTH)
        net = _build_net(cfg, nonlinear, head, seed=seed + s)

        def on_record(t, net, s=s):
            Ws = _all_weights(net)
            traj[s, rec.index(t)] = [_balancedness(Ws[l - 1], Ws[l]) for l in pairs]

        residual = _fit(
            net,
            X,
            y,
            cfg=cfg,
            steps=cfg["steps"],
            weight_decay=wd,
            seed=seed + s,
            record_steps=rec,
            on_record=on_record,
            bar=bar,
        )
        if residual is None:
            diverged += 1
            traj[s] = np.nan  # a diverged run is left out entirely
            continue
        residuals[s] = residual
        values = _layer_metrics(net, X, y, cfg, shown)
        for m in names:
            per_layer[m][s] = values[m]
        if not grams:
            feats = _features(net, X)
            first_head = NUM_NONLINEAR  # Z_{L1} is the head's input
            grams = [
                (
                    f"Z_{l} (input of head)" if l == first_head else f"Z_{l}",
                    _normalised_gram(feats[l - 1], y, cfg["num_classes"]),
                )
                for l in range(first_head, L + 1)
            ]
    bar.close()
    decay = predicted_decay(rec, lr=cfg["lr"], weight_decay=wd, steps=cfg["steps"])
    eps0 = (
        np.nanmean(traj[:, 0, :], axis=0)
        if np.isfinite(traj[:, 0, :]).any()
        else np.full(len(pairs), np.nan)
    )
    predicted = decay[:, None] * eps0[None, :]
    linear = [l > NUM_NONLINEAR for l in pairs]  # both W_l and W_{l+1} in the head
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    base = f"jswm-layers-{dataset}"
    tag = (
        f"{dataset}, N={cfg['num_samples']}, width {cfg['width']}, {cfg['activation']}, "
        f"λ={wd:g}, η={cfg['lr']:g}, {cfg['steps']} steps, {cfg['seeds']} seeds"
    )
    files = []
    files += _figures.plot_layer_metrics(
        out,
        f"{base}-metrics",
        layer_index=shown,
        metrics=per_layer,
        first_linear=NUM_NONLINEAR + 1,
        title=f"last {SHOWN_LAYERS} layers of a {L}-layer MLP "
        f"({NUM_NONLINEAR} nonlinear + {LAYERS_HEAD_DEPTH} linear), mean ± 1 std\n{tag}",
    )
    files += _figures.plot_pair_balancedness(
        out,
        f"{base}-balancedness",
        steps=np.asarray(rec),
        values=traj,
        pair_index=pairs,
        linear=linear,
        predicted=predicted,
        title=f"balancedness during training, mean ± 1 std\n{tag}",
    )
    if grams:
        files += _figures.plot_grams(
            out,
            f"{base}-gram",
            grams=grams,
            title=f"G/max diag G of the head's class means (seed {seed})\n{tag}",
        )
    result = ReproduceResult(
        experiment="jswm-layers",
        config=cfg,
        diverged=diverged,
        data={
            "layers": shown,
            "first_linear_layer": NUM_NONLINEAR + 1,
            "per_layer": {m: _nan_list(v) for m, v in per_layer.items()},
            "record_steps": rec,
            "pairs": pairs,
            "pair_is_linear": linear,
            "pair_balancedness": _nan_list(traj),
            "predicted": _nan_list(predicted),
            "predicted_decay": decay.tolist(),
            "max_recursion_residual": _nan_list(residuals),
            "grams": {label: G.tolist() for label, G in grams},
        },
    )
    result.wall_time_s = time.monotonic() - t0[0]
    result.cpu_time_s = time.process_time() - t0[1]
    files.append(_write_summary(out, base, result))
    result.files = [str(f) for f in files]
    _write_summary(out, base, result)
    return result


def jswm_head_depth(
    *,
    preset: str = "small",
    dataset: str = "digits",
    width: int | None = None,
    n_per_class: int | None = None,
    steps: int | None = None,
    seeds: int | None = None,
    seed: int = 0,
    lr: float | None = None,
    activation: str = "relu",
    device: str | None = None,
    out_dir: str | Path = DEFAULT_OUT,
    progress: bool | None = None,
    head_depths: tuple[int, ...] = (1, 2, 3, 4, 5),
    weight_decays: tuple[float, ...] = HEAD_DEPTH_WEIGHT_DECAYS,
) -> ReproduceResult:
    """JSWM's head-depth experiment at small scale: 5 nonlinear layers plus L2 linear ones;
    NC1 and NC2 of ``Z_{L−1}``, κ(W_L) and κ(A)^{1/L2} for each weight decay and L2.

    Writes ``jswm-head-depth-<dataset>-{nc,gram}.{png,csv}`` and ``…-<dataset>.json``.
    """

    t0 = (time.monotonic(), time.process_time())
    cfg, X, y = _setup(
        preset,
        dataset,
        dict(
            width=width,
            n_per_class=n_per_class,
            head_depth_steps=steps,
            head_depth_seeds=seeds,
            lr=lr,
            device=device,
            activation=activation,
        ),
        seed=seed,
    )
    if not head_depths or any(not isinstance(d, int) or d < 1 for d in head_depths):
        raise InvalidInput(f"head_depths={head_depths!r}; they must be integers >= 1")
    if not weight_decays or any(not (w >= 0 and math.isfinite(w)) for w in weight_decays):
        raise InvalidInput(f"weight_decays={weight_decays!r}; they must be finite and >= 0")
    with _CpuThreads(cfg["device"]):
        return _head_depth_run(
            cfg,
            X,
            y,
            t0=t0,
            seed=seed,
            dataset=dataset,
            out_dir=out_dir,
            progress=progress,
            head_depths=tuple(head_depths),
            weight_decays=tuple(weight_decays),
        )


def _head_depth_run(
    cfg, X, y, *, t0, seed, dataset, out_dir, progress, head_depths, weight_decays
) -> ReproduceResult:
    from ...metrics import condition_number, head_product, nc1_trace_ratio, nc2_kappa
    from . import _figures

    cfg.update(
        head_depths=list(head_depths),
        weight_decays=list(weight_decays),
        num_nonlinear=NUM_NONLINEAR,
    )
    S, n_steps = cfg["head_depth_seeds"], cfg["head_depth_steps"]
    names = (
        "nc1",
        "nc2",
        "kappa_WL",
        "kappa_A_root",
        "accuracy",
        "eps1",
        "eps2",
        "recursion_residual",
    )
    vals = {m: np.full((len(weight_decays), len(head_depths), S), np.nan) for m in names}
    grams: list[tuple[str, np.ndarray]] = []
    diverged = 0
    bar = Progress(
        len(weight_decays) * len(head_depths) * S * n_steps, "jswm-head-depth", enabled=progress
    )
    for i, wd in enumerate(weight_decays):
        for j, depth in enumerate(head_depths):
            for s in range(S):
                nonlinear, head = _widths(cfg, depth)
                net = _build_net(cfg, nonlinear, head, seed=seed + s)
                residual = _fit(
                    net,
                    X,
                    y,
                    cfg=cfg,
                    steps=n_steps,
                    weight_decay=wd,
                    seed=seed + s,
                    record_steps=[],
                    on_record=None,
                    bar=bar,
                )
                if residual is None:
                    diverged += 1
                    continue
                vals["recursion_residual"][i, j, s] = residual
                feats = _features(net, X)
                Ws = _all_weights(net)
                Z_pen = feats[-2]
                A = head_product(Ws[NUM_NONLINEAR:])
                v = vals
                v["nc1"][i, j, s] = nc1_trace_ratio(Z_pen, y)
                v["nc2"][i, j, s] = nc2_kappa(Z_pen, y)
                v["kappa_WL"][i, j, s] = condition_number(Ws[-1])
                v["kappa_A_root"][i, j, s] = condition_number(A) ** (1.0 / depth)
                v["eps1"][i, j, s] = _eps1(feats[-1], y, cfg["num_classes"])
                v["accuracy"][i, j, s] = float((feats[-1].argmax(dim=1) == y).double().mean())
                v["eps2"][i, j, s] = _balancedness(Ws[-2], Ws[-1]) if depth >= 2 else math.nan
                if i == 0 and s == 0:
                    grams.append(
                        (
                            f"L2 = {depth}: Z_{len(Ws) - 1}",
                            _normalised_gram(Z_pen, y, cfg["num_classes"]),
                        )
                    )
    bar.close()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    base = f"jswm-head-depth-{dataset}"
    tag = (
        f"{dataset}, N={cfg['num_samples']}, width {cfg['width']}, {cfg['activation']}, "
        f"η={cfg['lr']:g}, {n_steps} steps, {S} seeds"
    )
    files = []
    files += _figures.plot_head_depth(
        out,
        f"{base}-nc",
        head_depths=list(head_depths),
        weight_decays=list(weight_decays),
        metrics={m: vals[m] for m in ("nc1", "nc2", "kappa_WL", "kappa_A_root", "accuracy")},
        title=f"{NUM_NONLINEAR} nonlinear + L2 linear layers, mean ± 1 std\n{tag}",
    )
    if grams:
        files += _figures.plot_grams(
            out,
            f"{base}-gram",
            grams=grams,
            title=f"G/max diag G of the penultimate class means Z_(L-1), "
            f"λ={weight_decays[0]:g}, seed {seed}\n{tag}",
        )
    result = ReproduceResult(
        experiment="jswm-head-depth",
        config=cfg,
        diverged=diverged,
        data={
            "head_depths": list(head_depths),
            "weight_decays": list(weight_decays),
            **{m: _nan_list(v) for m, v in vals.items()},
            "grams": {label: G.tolist() for label, G in grams},
        },
    )
    result.wall_time_s = time.monotonic() - t0[0]
    result.cpu_time_s = time.process_time() - t0[1]
    files.append(_write_summary(out, base, result))
    result.files = [str(f) for f in files]
    _write_summary(out, base, result)
    return result
