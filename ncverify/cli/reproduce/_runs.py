"""``ncverify reproduce``: JSWM's MLP experiments at small scale, with figures.

Two experiments from Jacot, Súkeník, Wang, Mondelli (ICLR 2025, arXiv 2410.04887;
spec §5), trained by gradient descent on the MSE loss with weight decay (spec §1
normalisation), the step size dropped ×0.1 after 80% of the steps; full batch by default
(the theorems' setting), mini-batch SGD with ``batch_size``:

- :func:`jswm_layers` — a 9-layer MLP (5 nonlinear bias-free layers, then a 4-layer
  bias-free linear head; both counts are options); for the last 7 layers, per-layer NC1
  (trace ratio), NC2 (κ of the class means), balancedness ε2 of the pair (W_ℓ, W_{ℓ+1}) and
  negativity ``‖H_ℓ − σ(H_ℓ)‖_op / ‖H_ℓ‖_op`` of the pre-activation ``H_ℓ = Z_{ℓ−1}W_ℓᵀ``;
  the balancedness of every pair against step with the weight-decay prediction
  ``ε(0)·∏_s(1 − η_sλ)²`` (spec §4) overlaid; Gram matrices of the head's class means;
  accuracy and ε1 of every seed.
- :func:`jswm_head_depth` — 5 nonlinear layers plus a linear head of depth L2 = 1…5,
  for two weight decays; NC1 and NC2 of the penultimate features ``Z_{L−1}``, κ(W_L),
  ``κ(A)^{1/L2}`` (A the head's product; equal when the head is balanced, spec §3),
  accuracy, ε1 and ε2.

Every seed is one :class:`RunConfig` executed by :func:`run_configs` (its result written
to ``<out>/runs/<basename>/<key>.json`` when it finishes; ``resume`` and ``jobs``). Each
experiment writes PNG figures with CSV data of the same basename plus a JSON summary into
``out_dir`` (default ``reports/figures``, where ``ncverify report reports`` looks).
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from ...errors import InvalidInput
from ._common import (
    ACTIVATIONS,
    LR_DROP_AT,
    ReproduceResult,
    data_spec,
    lr_at,
    nan_list,
    predicted_decay,
    python_command,
    record_steps,
    resolve,
    stack,
    write_summary,
)
from ._config import NetSpec, RunConfig, TrainSpec
from ._data import Progress
from ._executor import run_configs

__all__ = [
    "ACTIVATIONS",
    "DEFAULT_OUT",
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


def _positive(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput(f"{name}={value!r}; it must be a positive integer")
    return value


def setup(name, local: dict, steps_key: str, seeds_key: str):
    """Resolve a study's options once (the preset, the data): ``(cfg, spec)``.

    ``local``: the keyword arguments of the public function (``locals()``)."""
    t0 = (time.monotonic(), _cpu_now())
    cfg = resolve(
        local["preset"],
        width=local["width"],
        first_width=local["first_width"],
        n_per_class=local["n_per_class"],
        lr=local["lr"],
        device=local["device"],
        activation=local["activation"],
        dtype=local["dtype"],
        **{steps_key: local["steps"], seeds_key: local["seeds"]},
    )
    spec, _, _ = data_spec(
        cfg,
        dataset=local["dataset"],
        data=local["data"],
        X=local["X"],
        y=local["y"],
        seed=local["seed"],
        scale=local["scale"],
    )
    cfg["num_nonlinear"] = _positive(local["num_nonlinear"], "num_nonlinear")
    b = local["batch_size"]
    cfg["batch_size"] = b
    cfg["jobs"] = local["jobs"]
    cfg["command"] = local["command"] or python_command(
        name, {k: v for k, v in local.items() if k not in ("progress", "command")}
    )
    cfg["_t0"] = t0
    return cfg, spec


def widths(cfg, head_depth: int) -> tuple[list[int], list[int]]:
    """Pyramidal widths: the first layer ``first_width`` when given (as given, even if that
    breaks JSWM's Assumption 4.1), else ``max(width, N)``; then ``width``."""
    w = cfg["width"]
    n1 = cfg["first_width"] or max(w, cfg["num_samples"])
    return [n1] + [w] * (cfg["num_nonlinear"] - 1), [w] * (head_depth - 1)


def train_spec(cfg, *, weight_decay: float, steps: int) -> TrainSpec:
    return TrainSpec(
        lr=cfg["lr"],
        weight_decay=weight_decay,
        steps=steps,
        batch_size=cfg["batch_size"],
        dtype=cfg["dtype"],
        device=cfg["device"],
        lr_drop_at=LR_DROP_AT,
    )


def _cpu_now() -> float:
    """CPU seconds of this process and of its finished child processes (parallel runs)."""
    try:
        import resource

        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return time.process_time() + kids.ru_utime + kids.ru_stime
    except (ImportError, OSError):  # not on every platform
        return time.process_time()


def finish(result: ReproduceResult, cfg, results, out: Path, base: str, files) -> ReproduceResult:
    t0 = cfg.pop("_t0")
    result.command = cfg["command"]
    result.wall_time_s = time.monotonic() - t0[0]
    result.cpu_time_s = _cpu_now() - t0[1]
    cfg["runs_cpu_time_s"] = sum(r["cpu_time_s"] for r in results)
    result.files = [str(f) for f in files] + [str(out / f"{base}.json")]
    write_summary(out, base, result)
    return result


# ----------------------------------------------------------------------------- jswm-layers
def jswm_layers(
    *,
    preset: str = "small",
    dataset: str = "digits",
    data: str | Path | None = None,
    X=None,
    y=None,
    width: int | None = None,
    first_width: int | None = None,
    n_per_class: int | None = None,
    steps: int | None = None,
    seeds: int | None = None,
    seed: int = 0,
    lr: float | None = None,
    weight_decay: float = LAYERS_WEIGHT_DECAY,
    num_nonlinear: int = NUM_NONLINEAR,
    head_depth: int = LAYERS_HEAD_DEPTH,
    activation: str = "relu",
    dtype: str | None = None,
    batch_size: int | None = None,
    device: str | None = None,
    scale: str = "unit",
    out_dir: str | Path = DEFAULT_OUT,
    jobs: int = 1,
    resume: bool = False,
    progress: bool | None = None,
    command: str | None = None,
) -> ReproduceResult:
    """JSWM Figure 1 at small scale: per-layer metrics of the last 7 layers of an MLP of
    ``num_nonlinear`` nonlinear + ``head_depth`` linear layers trained with weight decay
    ``weight_decay``, over ``seeds`` runs (seeds ``seed, seed+1, …``; the data is drawn with
    ``seed``). Data: ``dataset`` (``digits``, ``clusters``, ``mnist``), a ``.npz`` file
    ``data`` or arrays ``X, y``.

    Writes ``jswm-layers-<data>-{metrics,balancedness,gram}.{png,csv}``,
    ``jswm-layers-<data>.json`` and one file per seed under ``runs/``.
    ``progress=None``: a bar when stderr is a TTY.
    """
    cfg, spec = setup("jswm_layers", dict(locals()), "steps", "seeds")
    L2 = _positive(head_depth, "head_depth")
    if not (isinstance(weight_decay, (int, float)) and weight_decay >= 0):
        raise InvalidInput(f"weight_decay={weight_decay!r}; it must be finite and >= 0")
    from . import _figures

    cfg["weight_decay"] = wd = float(weight_decay)
    L = cfg["num_nonlinear"] + L2
    shown = list(range(max(1, L - SHOWN_LAYERS + 1), L + 1))
    pairs = shown[:-1]
    first_linear = cfg["num_nonlinear"] + 1
    cfg.update(depth=L, head_depth=L2, layers_shown=shown)
    rec = record_steps(cfg["steps"], cfg["records"])
    nonlinear, head = widths(cfg, L2)
    cfg.update(widths=nonlinear, head_widths=head)
    configs = [
        RunConfig(
            "jswm-layers",
            f"seed{seed + s}",
            seed + s,
            spec,
            NetSpec("pyramidal", nonlinear, head, cfg["activation"]),
            train_spec(cfg, weight_decay=wd, steps=cfg["steps"]),
            record_steps=rec,
            grams=True,
        )
        for s in range(cfg["seeds"])
    ]
    out = Path(out_dir)
    base = f"jswm-layers-{spec.label}"
    bar = Progress(cfg["seeds"] * cfg["steps"], "jswm-layers", enabled=progress)
    results, resumed = run_configs(
        configs, out / "runs" / base, jobs=jobs, resume=resume, progress=bar
    )
    bar.close()

    names = ("nc1", "nc2", "balancedness", "negativity")
    per_layer = {
        m: stack(
            results,
            lambda r, m=m: [r["final"]["per_layer"][m][l - 1] for l in shown],
            (len(shown),),
        )
        for m in names
    }
    traj = stack(
        results,
        lambda r: [[p[l - 1] for l in pairs] for p in r["trajectory"]["pairs"]],
        (len(rec), len(pairs)),
    )
    scalars = {
        k: stack(results, lambda r, k=k: r["final"][k], ())
        for k in ("accuracy", "eps1", "eps2", "nc3_mean", "nc3_worst")
    }
    residuals = stack(results, lambda r: r["recursion_residual"], ())
    done = [r for r in results if r["outcome"] == "completed"]
    grams = [(label, np.asarray(G)) for label, G in done[0]["final"]["grams"]] if done else []
    decay = predicted_decay(rec, lr=cfg["lr"], weight_decay=wd, steps=cfg["steps"])
    finite0 = np.isfinite(traj[:, 0, :]).any()
    eps0 = np.nanmean(traj[:, 0, :], axis=0) if finite0 else np.full(len(pairs), np.nan)
    predicted = decay[:, None] * eps0[None, :]
    linear = [l >= first_linear for l in pairs]
    out.mkdir(parents=True, exist_ok=True)
    sgd = f", SGD batch {cfg['batch_size']}" if cfg["batch_size"] else ""
    tag = (
        f"{spec.label}, N={cfg['num_samples']}, width {cfg['width']}, {cfg['activation']}, "
        f"λ={wd:g}, η={cfg['lr']:g}, {cfg['steps']} steps{sgd}, {cfg['seeds']} seeds"
    )
    files = []
    files += _figures.plot_layer_metrics(
        out,
        f"{base}-metrics",
        layer_index=shown,
        metrics=per_layer,
        first_linear=first_linear,
        title=f"last {len(shown)} layers of a {L}-layer MLP ({cfg['num_nonlinear']} nonlinear"
        f" + {L2} linear), geometric mean ×/÷ geometric std\n{tag}",
    )
    files += _figures.plot_pair_balancedness(
        out,
        f"{base}-balancedness",
        steps=np.asarray(rec),
        values=traj,
        pair_index=pairs,
        linear=linear,
        predicted=predicted,
        title=f"balancedness during training, geometric mean ×/÷ geometric std\n{tag}",
    )
    if grams:
        files += _figures.plot_grams(
            out,
            f"{base}-gram",
            grams=grams,
            title=r"$G / \max\,\mathrm{diag}\,G$ of the head's class means "
            f"(seed {seed})\n{tag}",
        )
    result = ReproduceResult(
        experiment="jswm-layers",
        config=cfg,
        diverged=len(results) - len(done),
        resumed=resumed,
        data={
            "layers": shown,
            "first_linear_layer": first_linear,
            "per_layer": {m: nan_list(v) for m, v in per_layer.items()},
            **{k: nan_list(v) for k, v in scalars.items()},
            "record_steps": rec,
            "pairs": pairs,
            "pair_is_linear": linear,
            "pair_balancedness": nan_list(traj),
            "predicted": nan_list(predicted),
            "predicted_decay": decay.tolist(),
            "max_recursion_residual": nan_list(residuals),
            "grams": {label: G.tolist() for label, G in grams},
            "run_files": [str(out / "runs" / base / f"{c.key}.json") for c in configs],
        },
    )
    return finish(result, cfg, results, out, base, files)


# ----------------------------------------------------------------------------- head depth
def jswm_head_depth(
    *,
    preset: str = "small",
    dataset: str = "digits",
    data: str | Path | None = None,
    X=None,
    y=None,
    width: int | None = None,
    first_width: int | None = None,
    n_per_class: int | None = None,
    steps: int | None = None,
    seeds: int | None = None,
    seed: int = 0,
    lr: float | None = None,
    weight_decays: tuple[float, ...] = HEAD_DEPTH_WEIGHT_DECAYS,
    head_depths: tuple[int, ...] = (1, 2, 3, 4, 5),
    num_nonlinear: int = NUM_NONLINEAR,
    activation: str = "relu",
    dtype: str | None = None,
    batch_size: int | None = None,
    device: str | None = None,
    scale: str = "unit",
    out_dir: str | Path = DEFAULT_OUT,
    jobs: int = 1,
    resume: bool = False,
    progress: bool | None = None,
    command: str | None = None,
) -> ReproduceResult:
    """JSWM's head-depth experiment at small scale: ``num_nonlinear`` nonlinear layers plus
    L2 linear ones; NC1 and NC2 of ``Z_{L−1}``, κ(W_L), κ(A)^{1/L2}, accuracy, ε1 and ε2
    for each weight decay and L2 (options as :func:`jswm_layers`).

    Writes ``jswm-head-depth-<data>-{nc,gram}.{png,csv}``, ``…-<data>.json`` and ``runs/``.
    """
    cfg, spec = setup("jswm_head_depth", dict(locals()), "head_depth_steps", "head_depth_seeds")
    if not head_depths or any(
        isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in head_depths
    ):
        raise InvalidInput(f"head_depths={head_depths!r}; they must be integers >= 1")
    if not weight_decays or any(
        not (isinstance(w, (int, float)) and w >= 0 and math.isfinite(w)) for w in weight_decays
    ):
        raise InvalidInput(f"weight_decays={weight_decays!r}; they must be finite and >= 0")
    from . import _figures

    head_depths, weight_decays = tuple(head_depths), tuple(float(w) for w in weight_decays)
    cfg.update(head_depths=list(head_depths), weight_decays=list(weight_decays))
    S, n_steps = cfg["head_depth_seeds"], cfg["head_depth_steps"]
    grid = [
        (i, j, s)
        for i in range(len(weight_decays))
        for j in range(len(head_depths))
        for s in range(S)
    ]
    configs = []
    for i, j, s in grid:
        wd, depth = weight_decays[i], head_depths[j]
        nonlinear, head = widths(cfg, depth)
        configs.append(
            RunConfig(
                "jswm-head-depth",
                f"wd{wd:g}-L2-{depth}-seed{seed + s}",
                seed + s,
                spec,
                NetSpec("pyramidal", nonlinear, head, cfg["activation"]),
                train_spec(cfg, weight_decay=wd, steps=n_steps),
                grams=(i == 0 and s == 0),
                labels={"weight_decay": wd, "head_depth": depth},
            )
        )
    out = Path(out_dir)
    base = f"jswm-head-depth-{spec.label}"
    bar = Progress(len(configs) * n_steps, "jswm-head-depth", enabled=progress)
    results, resumed = run_configs(
        configs, out / "runs" / base, jobs=jobs, resume=resume, progress=bar
    )
    bar.close()
    names = (
        "nc1",
        "nc2",
        "kappa_WL",
        "kappa_A_root",
        "accuracy",
        "eps1",
        "eps2",
        "nc3_mean",
        "nc3_worst",
    )
    vals = {m: np.full((len(weight_decays), len(head_depths), S), np.nan) for m in names}
    vals["recursion_residual"] = np.full((len(weight_decays), len(head_depths), S), np.nan)
    grams = []
    for (i, j, s), r in zip(grid, results, strict=True):
        if r["outcome"] != "completed":
            continue
        vals["recursion_residual"][i, j, s] = r["recursion_residual"]
        for m in names:
            vals[m][i, j, s] = r["final"][m]
        if "grams" in r["final"]:
            L = r["final"]["depth"]
            grams.append(
                (f"L2 = {head_depths[j]}: Z_{L - 1}", np.asarray(r["final"]["grams"][-2][1]))
            )
    out.mkdir(parents=True, exist_ok=True)
    sgd = f", SGD batch {cfg['batch_size']}" if cfg["batch_size"] else ""
    tag = (
        f"{spec.label}, N={cfg['num_samples']}, width {cfg['width']}, {cfg['activation']}, "
        f"η={cfg['lr']:g}, {n_steps} steps{sgd}, {S} seeds"
    )
    files = []
    files += _figures.plot_head_depth(
        out,
        f"{base}-nc",
        head_depths=list(head_depths),
        weight_decays=list(weight_decays),
        metrics={m: vals[m] for m in ("nc1", "nc2", "kappa_WL", "kappa_A_root", "accuracy")},
        title=f"{cfg['num_nonlinear']} nonlinear + $L_2$ linear layers, geometric mean ×/÷ "
        f"geometric std (accuracy: mean ± std)\n{tag}",
    )
    if grams:
        files += _figures.plot_grams(
            out,
            f"{base}-gram",
            grams=grams,
            title=r"$G / \max\,\mathrm{diag}\,G$ of the penultimate class means $Z_{L-1}$, "
            f"λ={weight_decays[0]:g}, seed {seed}\n{tag}",
        )
    result = ReproduceResult(
        experiment="jswm-head-depth",
        config=cfg,
        diverged=sum(r["outcome"] != "completed" for r in results),
        resumed=resumed,
        data={
            "head_depths": list(head_depths),
            "weight_decays": list(weight_decays),
            **{m: nan_list(v) for m, v in vals.items()},
            "grams": {label: G.tolist() for label, G in grams},
            "run_files": [str(out / "runs" / base / f"{c.key}.json") for c in configs],
        },
    )
    return finish(result, cfg, results, out, base, files)
