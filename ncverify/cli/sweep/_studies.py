r"""The three studies of ``ncverify sweep`` (docs/reproductions.md, "Sweeps").

They take up the questions JSWM (ICLR 2025, arXiv 2410.04887) leave open about their own
analysis, each as a grid of :class:`~ncverify.cli.reproduce.RunConfig` runs (one seed each,
executed by :func:`~ncverify.cli.reproduce.run_configs`, so ``resume`` and ``jobs`` work as in
``ncverify reproduce``), trained like the reproductions (MSE + weight decay on every layer,
GD, step size ×0.1 after 80% of the steps) and judged by ``jswm-4.4`` (Theorem 4.4) run by run:

* :func:`wd_scaling` — first-layer widths ``n_1 = f·N`` for ``f ∈ {1, 2, 4, 8}``, once with
  ``λ·n_1`` held constant (``λ = λ_0 N / n_1``) and once with ``λ = λ_0``: NC1 of
  ``Z_{L−1}``, ε1, ε2 of the last head pair and κ(W_L) at the last step;
* :func:`architectures` — the pyramidal MLP, a residual MLP and a DenseNet-style MLP under the
  same training: per-layer metrics and the rates of Theorem 4.4's claims on networks outside
  its scope (evaluations recorded with the robustness role);
* :func:`nc3_depth` — NC3 (mean and worst per-sample cosine of ``z_i`` to ``w_{y_i}``) against
  the depth of the linear head ``L2 = 1…6`` and against the step.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ...errors import InvalidInput
from ..reproduce import NetSpec, ReproduceResult, RunConfig, run_configs
from ..reproduce._common import nan_list, record_steps
from ..reproduce._data import Progress
from ..reproduce._runs import finish, setup, train_spec, widths
from . import _figures, _report

__all__ = ["ARCHITECTURES", "DEFAULT_SWEEP_OUT", "architectures", "nc3_depth", "wd_scaling"]

DEFAULT_SWEEP_OUT = "reports/sweep"
SWEEP_WEIGHT_DECAY = 0.0018  # JSWM Figure 1's λ, at n_1 = N for wd-scaling
ARCHITECTURES = ("pyramidal", "residual", "dense")
_SCALAR = ("accuracy", "eps1", "eps2", "nc1", "nc2", "kappa_WL", "nc3_mean", "nc3_worst")


def _wd(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise InvalidInput(f"weight_decay={value!r}; it must be finite and >= 0")
    return float(value)


def _ints(values, name: str, minimum: int = 1) -> tuple[int, ...]:
    bad = not values or any(
        isinstance(v, bool) or not isinstance(v, int) or v < minimum for v in values
    )
    if bad:
        raise InvalidInput(f"{name}={values!r}; they must be integers >= {minimum}")
    return tuple(values)


def _run(study: str, cfg, spec, configs, *, out_dir, jobs, resume, progress):
    out = Path(out_dir) / f"{study}-{spec.label}"
    bar = Progress(sum(c.train.steps for c in configs), study, enabled=progress)
    results, resumed = run_configs(configs, out / "runs", jobs=jobs, resume=resume, progress=bar)
    bar.close()
    return out, results, resumed


def _tag(cfg, spec, steps: int, seeds: int) -> str:
    sgd = f", SGD batch {cfg['batch_size']}" if cfg["batch_size"] else ""
    return (
        f"{spec.label}, N={cfg['num_samples']}, width {cfg['width']}, {cfg['activation']}, "
        f"η={cfg['lr']:g}, {steps} steps{sgd}, {seeds} seeds"
    )


def _scalars(results, cells, shape) -> dict[str, np.ndarray]:
    """``{metric: array of shape}``; ``cells`` maps each result index to its array index."""
    out = {m: np.full(shape, np.nan) for m in _SCALAR}
    for idx, r in zip(cells, results, strict=True):
        if r["outcome"] == "completed":
            for m in _SCALAR:
                out[m][idx] = r["final"][m]
    return out


def _finish(study, cfg, spec, out, results, resumed, configs, data, files, groups):
    files += _report.write_study_report(
        out, study=study, cfg=cfg, configs=configs, results=results, groups=groups
    )
    result = ReproduceResult(
        experiment=study,
        config=cfg,
        diverged=sum(r["outcome"] != "completed" for r in results),
        resumed=resumed,
        data={**data, "run_files": [str(out / "runs" / f"{c.key}.json") for c in configs]},
    )
    return finish(result, cfg, results, out, study, files)


# ----------------------------------------------------------------------------- (a)
def wd_scaling(
    *,
    preset: str = "small",
    dataset: str = "digits",
    data: str | Path | None = None,
    X=None,
    y=None,
    width: int | None = None,
    n_per_class: int | None = None,
    steps: int | None = None,
    seeds: int | None = None,
    seed: int = 0,
    lr: float | None = None,
    weight_decay: float = SWEEP_WEIGHT_DECAY,
    width_factors: tuple[int, ...] = (1, 2, 4, 8),
    head_depth: int = 3,
    num_nonlinear: int = 5,
    activation: str = "relu",
    dtype: str | None = None,
    batch_size: int | None = None,
    device: str | None = None,
    scale: str = "unit",
    out_dir: str | Path = DEFAULT_SWEEP_OUT,
    jobs: int = 1,
    resume: bool = False,
    progress: bool | None = None,
    command: str | None = None,
) -> ReproduceResult:
    """Study (a): first-layer width ``n_1 = f·N`` with ``λ·n_1`` constant against ``λ``
    constant (module docstring). Writes ``<out>/wd-scaling-<data>/``."""
    first_width = None
    cfg, spec = setup("wd_scaling", dict(locals()), "head_depth_steps", "head_depth_seeds")
    lam0, factors = _wd(weight_decay), _ints(width_factors, "width_factors")
    L2 = _ints((head_depth,), "head_depth")[0]
    S, T, N = cfg["head_depth_seeds"], cfg["head_depth_steps"], cfg["num_samples"]
    modes = ("lambda_n", "lambda")
    cfg.update(weight_decay=lam0, width_factors=list(factors), head_depth=L2, modes=list(modes))
    by_key: dict[str, RunConfig] = {}
    cells: list[tuple[int, int, int]] = []
    keys: list[str] = []
    for a, mode in enumerate(modes):
        for b, f in enumerate(factors):
            lam = lam0 / f if mode == "lambda_n" else lam0
            for s in range(S):
                _, head = widths(cfg, L2)
                nonlinear = [f * N] + [cfg["width"]] * (cfg["num_nonlinear"] - 1)  # n_1 = f·N
                key = f"n{f}N-wd{lam:g}-seed{seed + s}"
                by_key.setdefault(
                    key,
                    RunConfig(
                        "wd-scaling",
                        key,
                        seed + s,
                        spec,
                        NetSpec("pyramidal", nonlinear, head, cfg["activation"]),
                        train_spec(cfg, weight_decay=lam, steps=T),
                        evaluate=("jswm-4.4",),
                        labels={"width_factor": f, "n_1": nonlinear[0], "weight_decay": lam},
                    ),
                )
                cells.append((a, b, s))
                keys.append(key)
    configs = list(by_key.values())
    out, results, resumed = _run(
        "wd-scaling",
        cfg,
        spec,
        configs,
        out_dir=out_dir,
        jobs=jobs,
        resume=resume,
        progress=progress,
    )
    by_result = dict(zip((c.key for c in configs), results, strict=True))
    vals = _scalars([by_result[k] for k in keys], cells, (len(modes), len(factors), S))
    files = _figures.plot_wd_scaling(
        out / "figures",
        "wd-scaling",
        factors=list(factors),
        modes=list(modes),
        values=vals,
        title=f"first-layer width $n_1 = fN$: $\\lambda n_1$ constant vs $\\lambda$ constant "
        f"($\\lambda_0$ = {lam0:g} at $n_1 = N$)\n{_tag(cfg, spec, T, S)}",
    )
    groups = {}
    for c in configs:
        f = c.label["width_factor"]
        mode = "both" if f == 1 else ("λ·n₁ const" if c.train.weight_decay < lam0 else "λ const")
        groups[c.key] = f"n₁ = {f}N, {mode}"
    data_out = {
        "width_factors": list(factors),
        "modes": list(modes),
        **{m: nan_list(v) for m, v in vals.items()},
    }
    return _finish("wd-scaling", cfg, spec, out, results, resumed, configs, data_out, files, groups)


# ----------------------------------------------------------------------------- (b)
def _arch_net(kind: str, cfg, L2: int) -> NetSpec:
    nonlinear, head = widths(cfg, L2)
    if kind == "residual":
        nonlinear = [nonlinear[0]] * len(nonlinear)
    return NetSpec(kind, nonlinear, head, cfg["activation"])


def architectures(
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
    weight_decay: float = SWEEP_WEIGHT_DECAY,
    kinds: tuple[str, ...] = ARCHITECTURES,
    head_depth: int = 3,
    num_nonlinear: int = 5,
    activation: str = "relu",
    dtype: str | None = None,
    batch_size: int | None = None,
    device: str | None = None,
    scale: str = "unit",
    out_dir: str | Path = DEFAULT_SWEEP_OUT,
    jobs: int = 1,
    resume: bool = False,
    progress: bool | None = None,
    command: str | None = None,
) -> ReproduceResult:
    """Study (b): pyramidal, residual (``n_1`` wide blocks) and DenseNet-style (stem ``n_1``,
    growth ``width`` per layer) MLPs, same head and training. Writes
    ``<out>/architectures-<data>/``."""
    cfg, spec = setup("architectures", dict(locals()), "head_depth_steps", "head_depth_seeds")
    lam = _wd(weight_decay)
    L2 = _ints((head_depth,), "head_depth")[0]
    unknown = [k for k in kinds if k not in ARCHITECTURES]
    if not kinds or unknown:
        raise InvalidInput(f"architectures {list(kinds)!r}; choose from {', '.join(ARCHITECTURES)}")
    kinds = tuple(kinds)
    S, T = cfg["head_depth_seeds"], cfg["head_depth_steps"]
    cfg.update(weight_decay=lam, architectures=list(kinds), head_depth=L2)
    nets = {k: _arch_net(k, cfg, L2) for k in kinds}
    cfg["networks"] = {k: n.to_json() for k, n in nets.items()}
    configs = [
        RunConfig(
            "architectures",
            f"{k}-seed{seed + s}",
            seed + s,
            spec,
            nets[k],
            train_spec(cfg, weight_decay=lam, steps=T),
            evaluate=("jswm-4.4",),
            labels={"architecture": k},
            role="check" if k == "pyramidal" else "robustness",
        )
        for k in kinds
        for s in range(S)
    ]
    out, results, resumed = _run(
        "architectures",
        cfg,
        spec,
        configs,
        out_dir=out_dir,
        jobs=jobs,
        resume=resume,
        progress=progress,
    )
    cells = [(a, s) for a in range(len(kinds)) for s in range(S)]
    vals = _scalars(results, cells, (len(kinds), S))
    L = cfg["num_nonlinear"] + L2
    per_layer = {m: np.full((len(kinds), S, L), np.nan) for m in ("nc1", "nc2", "balancedness")}
    for (a, s), r in zip(cells, results, strict=True):
        if r["outcome"] == "completed":
            for m in per_layer:
                per_layer[m][a, s] = r["final"]["per_layer"][m]
    groups = {c.key: c.label["architecture"] for c in configs}
    rates = _report.claim_rates(configs, results, groups)
    files = _figures.plot_architectures(
        out / "figures",
        "architectures",
        kinds=list(kinds),
        per_layer=per_layer,
        first_linear=cfg["num_nonlinear"] + 1,
        rates=rates,
        title=f"pyramidal, residual and DenseNet-style MLPs, λ = {lam:g}, "
        f"{cfg['num_nonlinear']} nonlinear + {L2} linear layers\n{_tag(cfg, spec, T, S)}",
    )
    data_out = {
        "architectures": list(kinds),
        **{m: nan_list(v) for m, v in vals.items()},
        "per_layer": {m: nan_list(v) for m, v in per_layer.items()},
        "claim_rates": rates,
    }
    return _finish(
        "architectures", cfg, spec, out, results, resumed, configs, data_out, files, groups
    )


# ----------------------------------------------------------------------------- (c)
def nc3_depth(
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
    weight_decay: float = SWEEP_WEIGHT_DECAY,
    head_depths: tuple[int, ...] = (1, 2, 3, 4, 5, 6),
    num_nonlinear: int = 5,
    activation: str = "relu",
    dtype: str | None = None,
    batch_size: int | None = None,
    device: str | None = None,
    scale: str = "unit",
    out_dir: str | Path = DEFAULT_SWEEP_OUT,
    jobs: int = 1,
    resume: bool = False,
    progress: bool | None = None,
    command: str | None = None,
) -> ReproduceResult:
    """Study (c): NC3 against head depth and step. Writes ``<out>/nc3-depth-<data>/``."""
    cfg, spec = setup("nc3_depth", dict(locals()), "head_depth_steps", "head_depth_seeds")
    lam, depths = _wd(weight_decay), _ints(head_depths, "head_depths")
    S, T = cfg["head_depth_seeds"], cfg["head_depth_steps"]
    rec = record_steps(T, cfg["records"])
    cfg.update(weight_decay=lam, head_depths=list(depths), record_steps=rec)
    configs = []
    for d in depths:
        nonlinear, head = widths(cfg, d)
        configs += [
            RunConfig(
                "nc3-depth",
                f"L2-{d}-seed{seed + s}",
                seed + s,
                spec,
                NetSpec("pyramidal", nonlinear, head, cfg["activation"]),
                train_spec(cfg, weight_decay=lam, steps=T),
                record_steps=rec,
                evaluate=("jswm-4.4",),
                labels={"head_depth": d},
            )
            for s in range(S)
        ]
    out, results, resumed = _run(
        "nc3-depth",
        cfg,
        spec,
        configs,
        out_dir=out_dir,
        jobs=jobs,
        resume=resume,
        progress=progress,
    )
    cells = [(j, s) for j in range(len(depths)) for s in range(S)]
    vals = _scalars(results, cells, (len(depths), S))
    traj = {m: np.full((len(depths), S, len(rec)), np.nan) for m in ("nc3_mean", "nc3_worst")}
    for (j, s), r in zip(cells, results, strict=True):
        if r["outcome"] == "completed":
            for m in traj:
                traj[m][j, s] = r["trajectory"][m]
    files = _figures.plot_nc3_depth(
        out / "figures",
        "nc3-depth",
        depths=list(depths),
        steps=rec,
        final=vals,
        traj=traj,
        title=f"NC3 against the depth of the linear head, λ = {lam:g}, "
        f"{cfg['num_nonlinear']} nonlinear layers\n{_tag(cfg, spec, T, S)}",
    )
    groups = {c.key: f"L2 = {c.label['head_depth']}" for c in configs}
    data_out: dict[str, Any] = {
        "head_depths": list(depths),
        "record_steps": rec,
        **{m: nan_list(v) for m, v in vals.items()},
        "trajectory": {m: nan_list(v) for m, v in traj.items()},
    }
    return _finish("nc3-depth", cfg, spec, out, results, resumed, configs, data_out, files, groups)
