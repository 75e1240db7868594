"""The ``ncverify`` command line (console script ``ncverify = ncverify.cli:main``).

Subcommands: ``list`` (the theorem registry), ``report`` (run the theorem suite
through pytest and write a report), ``check`` (run the architecture-dependent
theorems on a user's network). Exit codes: 0 no counterexample and no failed
test, 1 a counterexample or a failed test, 2 a usage or configuration error (a bad
architecture, a report directory another run holds), 128 + N stopped by signal N (130
Ctrl-C, 143 SIGTERM, 129 SIGHUP). Running the suite is :mod:`ncverify.cli._run`.

Adding a subcommand takes one function and one line: write
``def add_<name>(subparsers)`` that calls ``subparsers.add_parser(...)``, adds
its arguments and ``set_defaults(handler=<function(args) -> int>)``, then append
it to :data:`SUBCOMMANDS`. Keep the add function light (import heavy modules
inside the handler); raise :class:`CommandError` for a usage error.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from ..errors import NCVerifyError
from ..pytest_plugin import PROFILES
from ._backend import add_backend_options, backend_pytest_args
from ._errors import EXIT_INTERRUPTED, EXIT_USAGE, CommandError
from ._list import add_list
from ._run import run_suite
from .reproduce import add_reproduce
from .sweep import add_sweep

__all__ = ["SUBCOMMANDS", "CommandError", "main", "run_suite"]


# -- report and check ---------------------------------------------------------


def _add_run_options(p: argparse.ArgumentParser, out_default: str) -> None:
    p.add_argument(
        "--profile", choices=sorted(PROFILES), default=None, help="ci (default), thorough or gpu"
    )
    p.add_argument(
        "--out",
        default=out_default,
        metavar="DIR",
        help=f"report directory (default: {out_default})",
    )
    p.add_argument("--seed", type=_seed_arg, default=None, metavar="INT", help="base seed")
    p.add_argument(
        "--suite",
        default="theorems",
        metavar="PATH",
        help="test suite to run (default: theorems/ in the current directory)",
    )
    p.add_argument(
        "-n",
        dest="workers",
        type=_workers_arg,
        default=None,
        metavar="N",
        help="pytest-xdist worker processes (an integer or 'auto')",
    )
    add_backend_options(p)


def _seed_arg(value: str) -> int:
    try:
        seed = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"seed {value!r} is not an integer") from None
    if seed < 0:
        raise argparse.ArgumentTypeError(f"seed {seed} is negative")
    return seed


def _workers_arg(value: str) -> str:
    if value == "auto" or (value.isdigit() and int(value) >= 1):
        return value
    raise argparse.ArgumentTypeError(f"-n {value!r}: expected a positive integer or 'auto'")


def _cmd_report(args: argparse.Namespace) -> int:
    return run_suite(
        suite=args.suite,
        out=args.out,
        profile=args.profile,
        seed=args.seed,
        workers=args.workers,
        extra=[*backend_pytest_args(args), *args.pytest_args],
        command=args.command_line,
    )


def add_report(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="run the theorem suite and write report.{json,md,html}",
        description="Run the theorem suite through pytest and write a report. Arguments "
        "after `--` are passed to pytest.",
    )
    _add_run_options(p, "reports")
    p.set_defaults(handler=_cmd_report)


def _check_arch(arch: str, stream: TextIO) -> None:
    """Load, build and check the plug-in the way the ``ncverify_arch`` tests will, before
    pytest starts: an architecture that cannot be loaded or validated is a usage error
    (exit 2) with the reason on the terminal."""
    from ..pytest_plugin import validate_arch_spec

    try:
        validate_arch_spec(arch)
    except NCVerifyError as exc:
        raise CommandError(f"--arch: {exc}") from None
    from ..nets import check_plugin

    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # as `python -m pytest` will see it
    try:
        factory, info = check_plugin(arch)
    except NCVerifyError as exc:
        raise CommandError(f"--arch {arch}: {exc}") from None
    stream.write(
        f"ncverify: architecture {arch} ({info.class_name}) passes the protocol check on "
        f"input_shape={factory.input_shape}\n"
    )


def _cmd_check(args: argparse.Namespace) -> int:
    _check_arch(args.arch, sys.stderr)
    return run_suite(
        suite=args.suite,
        out=args.out,
        profile=args.profile,
        seed=args.seed,
        workers=args.workers,
        markexpr="ncverify_arch",
        arch=args.arch,
        extra=[*backend_pytest_args(args), *args.pytest_args],
        command=args.command_line,
    )


def add_check(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "check",
        help="run the architecture-dependent theorems on your network",
        description="Run the tests marked ncverify_arch with --ncverify-arch=MODULE:FACTORY "
        "and write a report. Arguments after `--` are passed to pytest.",
    )
    p.add_argument(
        "--arch",
        required=True,
        metavar="MODULE:FACTORY",
        help="your network factory, e.g. mynets.wide:build",
    )
    # Not ``reports``: a check must not overwrite the suite's reference report.
    _add_run_options(p, "reports/check")
    p.set_defaults(handler=_cmd_check)


# -- entry point ------------------------------------------------------------------

#: One ``add_<name>(subparsers)`` function per subcommand, in help order.
SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    add_list,
    add_report,
    add_check,
    add_reproduce,
    add_sweep,
]


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="ncverify",
        description="Check neural-collapse theorems and report per assumption.",
        epilog="exit status: 0 no counterexample, 1 counterexample or failed test, "
        "2 usage or configuration error, 130 interrupted (128 + N for signal N)",
    )
    parser.add_argument("--version", action="version", version=f"ncverify {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in SUBCOMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    passthrough: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, passthrough = argv[:i], argv[i + 1 :]
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: 0 for --help/--version, 2 for usage errors
        return int(exc.code or 0)
    args.pytest_args = passthrough
    args.command_line = ["ncverify", *argv, *(["--", *passthrough] if passthrough else [])]
    try:
        return int(args.handler(args))
    except CommandError as exc:
        print(f"ncverify: error: {exc}", file=sys.stderr)
        return exc.code
    except NCVerifyError as exc:
        print(f"ncverify: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("ncverify: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # output piped into e.g. `head`, which closed early
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # no second error when Python flushes stdout
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
