"""``ncverify sweep STUDY``: the argparse side of the sweep studies."""

from __future__ import annotations

from ...errors import InvalidInput
from .._backend import use_backend
from ..reproduce._command import add_data_options, add_run_options, command_text
from ._studies import (
    ARCHITECTURES,
    DEFAULT_SWEEP_OUT,
    SWEEP_WEIGHT_DECAY,
    architectures,
    nc3_depth,
    wd_scaling,
)

__all__ = ["add_sweep"]

_STUDIES = {
    "wd-scaling": (
        wd_scaling,
        "first-layer widths n1 = N, 2N, 4N, 8N with lambda*n1 held constant against lambda "
        "held constant: NC1, eps1, eps2 and kappa(W_L) at the last step",
    ),
    "architectures": (
        architectures,
        "pyramidal, residual and DenseNet-style MLPs under the same training: per-layer "
        "metrics and the claim rates of Theorem 4.4 outside its scope",
    ),
    "nc3-depth": (
        nc3_depth,
        "NC3 (mean and worst per-sample cosine) against the depth of the linear head "
        "(1..6) and against the step",
    ),
}


def add_sweep(subparsers) -> None:
    """Register ``sweep`` and its studies (each sets ``handler(args) -> exit code``)."""
    parser = subparsers.add_parser(
        "sweep",
        help="studies of the open questions of JSWM (weight-decay scaling, architectures, "
        "NC3 and head depth)",
        description="Run a sweep study; writes a report directory <out>/<study>-<data>/ with "
        "figures (PNG + CSV), report.{html,md,json} (verdicts of every run), summary.md and "
        "one result file per run (runs/).",
    )
    sub = parser.add_subparsers(dest="study", metavar="STUDY", required=True)
    for name, (_, text) in _STUDIES.items():
        p = sub.add_parser(name, help=text, description=text)
        add_data_options(p)
        add_run_options(p, DEFAULT_SWEEP_OUT)
        p.add_argument(
            "--weight-decay",
            type=float,
            default=SWEEP_WEIGHT_DECAY,
            help=f"weight decay λ (wd-scaling: λ0 at n1 = N; default {SWEEP_WEIGHT_DECAY})",
        )
        if name == "wd-scaling":
            p.add_argument(
                "--width-factors",
                type=int,
                nargs="+",
                default=[1, 2, 4, 8],
                metavar="F",
                help="first-layer widths F*N (default 1 2 4 8)",
            )
            p.add_argument("--head-depth", type=int, default=3, help="linear layers (default 3)")
        elif name == "architectures":
            p.add_argument(
                "--architectures",
                nargs="+",
                choices=ARCHITECTURES,
                default=list(ARCHITECTURES),
                dest="kinds",
            )
            p.add_argument("--head-depth", type=int, default=3, help="linear layers (default 3)")
        else:
            p.add_argument(
                "--head-depths",
                type=int,
                nargs="+",
                default=[1, 2, 3, 4, 5, 6],
                metavar="L2",
                help="depths of the linear head (default 1..6)",
            )
        p.set_defaults(handler=_run_command)


def _run_command(args) -> int:
    use_backend(args)
    func, _ = _STUDIES[args.study]
    kwargs = dict(
        preset=args.preset,
        dataset=args.dataset,
        data=args.data,
        scale=args.scale,
        width=args.width,
        n_per_class=args.n_per_class,
        num_nonlinear=args.num_nonlinear,
        steps=args.steps,
        seeds=args.seeds,
        seed=args.seed,
        lr=args.lr,
        weight_decay=args.weight_decay,
        activation=args.activation,
        dtype=args.dtype,
        batch_size=args.batch_size,
        device=args.device,
        jobs=args.jobs,
        resume=args.resume,
        out_dir=args.out_dir,
        command=command_text(args),
    )
    if args.study == "wd-scaling":
        if args.first_width is not None:
            raise InvalidInput(
                f"--first-width {args.first_width}: wd-scaling sets the first width itself "
                "(n1 = F*N for each --width-factors F)"
            )
        kwargs.update(width_factors=tuple(args.width_factors), head_depth=args.head_depth)
    elif args.study == "architectures":
        kwargs.update(
            kinds=tuple(args.kinds), head_depth=args.head_depth, first_width=args.first_width
        )
    else:
        kwargs.update(head_depths=tuple(args.head_depths), first_width=args.first_width)
    result = func(**kwargs)
    for path in result.files:
        print(path)
    resumed = f", {result.resumed} run(s) resumed" if result.resumed else ""
    print(
        f"{result.experiment}: {result.wall_time_s:.1f} s wall, {result.cpu_time_s:.1f} s CPU, "
        f"{result.diverged} diverged run(s){resumed}"
    )
    return 0
