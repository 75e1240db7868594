"""``ncverify reproduce EXPERIMENT``: the argparse side of the reproductions."""

from __future__ import annotations

from ._data import DATASETS, PRESETS
from ._runs import ACTIVATIONS, DEFAULT_OUT, jswm_head_depth, jswm_layers

__all__ = ["add_reproduce"]

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


def _add_options(parser) -> None:
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
        help="sklearn's bundled digits or synthetic Gaussian clusters",
    )
    parser.add_argument("--width", type=int, help="hidden width (first layer: max(width, N))")
    parser.add_argument(
        "--subset", type=int, dest="n_per_class", metavar="N_PER_CLASS", help="samples per class"
    )
    parser.add_argument("--steps", type=int, help="full-batch GD steps per run")
    parser.add_argument("--seeds", type=int, help="runs (seeds) per setting")
    parser.add_argument("--seed", type=int, default=0, help="base seed (runs use seed+i)")
    parser.add_argument("--lr", type=float, help="initial step size (x0.1 after 80%% of steps)")
    parser.add_argument("--activation", choices=ACTIVATIONS, default="relu")
    parser.add_argument("--device", help="cpu, cuda, cuda:1, ... (default: the preset's)")
    parser.add_argument(
        "--out",
        dest="out_dir",
        default=DEFAULT_OUT,
        help=f"output directory (default {DEFAULT_OUT})",
    )


def add_reproduce(subparsers) -> None:
    """Register ``reproduce`` and its subcommands on an argparse ``subparsers`` object
    (the :mod:`ncverify.cli` convention: each sets ``handler(args) -> exit code``)."""
    parser = subparsers.add_parser(
        "reproduce",
        help="reproduce JSWM's MLP experiments at small scale (figures + data)",
        description="Reproduce JSWM (ICLR 2025) experiments at small scale; writes PNG "
        "figures with CSV data of the same basename and a JSON summary.",
    )
    sub = parser.add_subparsers(dest="experiment", metavar="EXPERIMENT", required=True)
    for name, (_, text) in _EXPERIMENTS.items():
        p = sub.add_parser(name, help=text, description=text)
        _add_options(p)
        p.set_defaults(handler=_run_command)


def _run_command(args) -> int:
    func, _ = _EXPERIMENTS[args.experiment]
    result = func(
        preset=args.preset,
        dataset=args.dataset,
        width=args.width,
        n_per_class=args.n_per_class,
        steps=args.steps,
        seeds=args.seeds,
        seed=args.seed,
        lr=args.lr,
        activation=args.activation,
        device=args.device,
        out_dir=args.out_dir,
    )
    for path in result.files:
        print(path)
    print(
        f"{result.experiment}: {result.wall_time_s:.1f} s wall, {result.cpu_time_s:.1f} s CPU, "
        f"{result.diverged} diverged run(s)"
    )
    return 0
