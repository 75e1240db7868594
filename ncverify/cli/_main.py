"""The ``ncverify`` command line (console script ``ncverify = ncverify.cli:main``).

Subcommands: ``list`` (the theorem registry), ``report`` (run the theorem suite
through pytest and write a report), ``check`` (run the architecture-dependent
theorems on a user's network). Exit codes: 0 no counterexample and no failed
test, 1 a counterexample or a failed test, 2 a usage or configuration error,
130 interrupted (Ctrl-C).

Adding a subcommand takes one function and one line: write
``def add_<name>(subparsers)`` that calls ``subparsers.add_parser(...)``, adds
its arguments and ``set_defaults(handler=<function(args) -> int>)``, then append
it to :data:`SUBCOMMANDS`. Keep the add function light (import heavy modules
inside the handler); raise :class:`CommandError` for a usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO

from ..errors import NCVerifyError
from ..pytest_plugin import COMMAND_ENV, PROFILES
from ._backend import add_backend_options, backend_pytest_args
from ._errors import EXIT_FOUND, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, CommandError
from ._list import add_list
from .reproduce import add_reproduce
from .sweep import add_sweep

__all__ = ["SUBCOMMANDS", "CommandError", "main", "run_suite"]


# -- running the suite ------------------------------------------------------------


class _Progress:
    """A text progress bar on a TTY; otherwise one plain line per 10 % of the tests."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.started = time.monotonic()
        self.last_step = -1
        self.drawn = False

    def update(self, done: int, total: int) -> None:
        if total <= 0:
            return
        done = min(done, total)
        elapsed = int(time.monotonic() - self.started)
        if self.tty:
            width = 30
            fill = width * done // total
            bar = "#" * fill + "-" * (width - fill)
            self.stream.write(f"\r[{bar}] {done}/{total} tests  {elapsed // 60}:{elapsed % 60:02d}")
            self.drawn = True
        else:
            step = 10 * done // total
            if step == self.last_step:
                return
            self.last_step = step
            self.stream.write(f"ncverify: {done}/{total} tests finished ({elapsed} s)\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty and self.drawn:
            self.stream.write("\n")
            self.stream.flush()


def _read_progress(path: Path) -> tuple[int, int] | None:
    try:
        done, total = path.read_text(encoding="utf-8").split()
        return int(done), int(total)
    except (OSError, ValueError):
        return None


def _tail(path: Path, n: int = 30) -> str:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    for i, line in enumerate(lines):  # prefer pytest's own short summary when present
        if "short test summary info" in line:
            return "\n".join(lines[i:])
    return "\n".join(lines[-n:])


def run_suite(
    *,
    suite: str,
    out: str,
    profile: str | None = None,
    seed: int | None = None,
    workers: str | None = None,
    markexpr: str | None = None,
    arch: str | None = None,
    extra: Sequence[str] = (),
    stream: TextIO | None = None,
    command: Sequence[str] | None = None,
) -> int:
    """Run ``python -m pytest suite`` with the report plugin options; return an exit code.

    pytest's output goes to ``out/pytest.log``; progress goes to ``stream``
    (stderr). Maps pytest exit statuses: 0 -> 0, 1 -> 1, 5 (no tests) and
    2/3/4 (collection errors, internal or usage error) -> 2; any recorded
    counterexample -> 1; Ctrl-C -> 130.
    """
    stream = stream or sys.stderr
    suite_path = Path(suite)
    if not suite_path.exists():
        raise CommandError(
            f"no test suite at {suite!r} (looked in {Path.cwd()}); run from the project root "
            "or pass --suite PATH"
        )
    out_dir = Path(out)
    if out_dir.exists() and not out_dir.is_dir():
        raise CommandError(f"--out {out!r} exists and is not a directory")
    out_dir.mkdir(parents=True, exist_ok=True)
    progress = out_dir / ".progress"
    progress.unlink(missing_ok=True)
    report_json = out_dir / "report.json"
    report_json.unlink(missing_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        str(suite_path),
        "-q",
        "-rfE",
        f"--ncverify-report={out_dir}",
        f"--ncverify-progress={progress}",
    ]
    if profile:
        cmd.append(f"--ncverify-profile={profile}")
    if seed is not None:
        cmd.append(f"--ncverify-seed={seed}")
    if workers:
        cmd += ["-n", str(workers)]
    if markexpr:
        cmd += ["-m", markexpr]
    if arch:
        cmd.append(f"--ncverify-arch={arch}")
    cmd += list(extra)
    log = out_dir / "pytest.log"
    bar = _Progress(stream)
    stream.write(f"ncverify: running {' '.join(cmd[1:])}\n")
    stream.flush()
    with open(log, "wb") as logf:
        # Own session: a terminal Ctrl-C reaches only us, and we forward exactly one
        # SIGINT, so pytest's incomplete-report writing is not interrupted twice.
        env = dict(os.environ)
        if command:  # the report records the command as the user typed it
            env[COMMAND_ENV] = json.dumps(list(command))
        proc = subprocess.Popen(
            cmd,
            stdout=logf,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=env,
        )
        try:
            while proc.poll() is None:
                state = _read_progress(progress)
                if state:
                    bar.update(*state)
                time.sleep(0.2)
        except KeyboardInterrupt:
            proc.send_signal(signal.SIGINT)  # pytest writes its incomplete report, stops
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            bar.close()
            stream.write(f"ncverify: interrupted; partial report in {out_dir}\n")
            return EXIT_INTERRUPTED
    state = _read_progress(progress)
    if state:
        bar.update(*state)
    bar.close()
    progress.unlink(missing_ok=True)
    return _summarise(proc.returncode, out_dir, log, stream)


def _summarise(rc: int, out_dir: Path, log: Path, stream: TextIO) -> int:
    from ..report import format_verdict_table

    report = None
    try:
        with open(out_dir / "report.json", encoding="utf-8") as f:
            report = json.load(f)
    except (OSError, ValueError):
        pass
    if report is not None and report.get("verdicts"):
        print(format_verdict_table(report["verdicts"]))
    if rc == 5:
        stream.write(
            "ncverify: error: no tests were collected (check --suite and, for "
            f"`ncverify check`, that tests are marked ncverify_arch); log: {log}\n"
        )
        return EXIT_USAGE
    if rc not in (0, 1):
        stream.write(
            f"ncverify: error: pytest exited with status {rc} (collection error, "
            f"usage or internal error); log: {log}\n{_tail(log)}\n"
        )
        return EXIT_USAGE
    found = len(report["counterexamples"]) if report else 0
    if rc == 1:
        stream.write(_tail(log) + "\n")
    if report is not None:
        if not report.get("complete", True):
            stream.write(
                "ncverify: the report is INCOMPLETE: "
                + "; ".join(report.get("incomplete_reasons") or [])
                + "\n"
            )
        print(f"report: {out_dir / 'report.html'} (also report.md, report.json)")
    if found:
        kinds = sorted({ce.get("verdict", "counterexample") for ce in report["counterexamples"]})
        stream.write(
            f"ncverify: {found} failing evaluation(s) ({', '.join(kinds)}) found; see the report\n"
        )
        return EXIT_FOUND
    return EXIT_FOUND if rc == 1 else EXIT_OK


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


def _check_arch_importable(arch: str) -> None:
    from ..pytest_plugin import validate_arch_spec

    try:
        validate_arch_spec(arch)
    except NCVerifyError as exc:
        raise CommandError(f"--arch: {exc}") from None
    from ..nets import load_architecture

    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # as `python -m pytest` will see it
    try:
        load_architecture(arch)
    except NCVerifyError as exc:
        raise CommandError(f"--arch {arch}: {exc}") from None


def _cmd_check(args: argparse.Namespace) -> int:
    _check_arch_importable(args.arch)
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
        "2 usage or configuration error, 130 interrupted",
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
