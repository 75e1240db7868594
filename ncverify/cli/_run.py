"""Running the theorem suite for ``ncverify report`` / ``ncverify check``: :func:`run_suite`.

pytest runs in a child process (its own process group) that writes into the staging
directory of a :class:`ncverify.report.ReportRun`; this process holds the report
directory's lock, shows progress, forwards a stopping signal to the whole group and, if
pytest dies before finalising its report, moves what it wrote to ``DIR/incomplete/``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from ..errors import NCVerifyError
from ..pytest_plugin import COMMAND_ENV
from ._errors import EXIT_FOUND, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, CommandError

__all__ = ["GRACE_S", "CommandError", "run_suite"]


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


#: exit status of a run stopped by a signal: 128 + the signal number (SIGINT 130, SIGHUP 129,
#: SIGTERM 143)
_STOP_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")
#: seconds pytest gets to write its partial report after SIGINT before it is killed
GRACE_S = 60.0


class _Stopped(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _child_setup(stops: frozenset[int]):
    """What the pytest child runs before exec: unblock the stopping signals (blocked in this
    process while it starts the child) and, on Linux, ask for SIGTERM when ``ncverify``
    dies, even by SIGKILL (``PR_SET_PDEATHSIG``)."""

    def setup() -> None:  # pragma: no cover - runs in the child
        _mask(signal.SIG_UNBLOCK, stops)
        if sys.platform.startswith("linux"):
            with contextlib.suppress(Exception):
                import ctypes

                ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG

    return setup


def _mask(how, signals: frozenset[int]) -> None:
    if how is not None and hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(how, signals)


def _stop_group(proc: subprocess.Popen, signum: int) -> None:
    """Send ``signum`` to the child's whole process group (pytest and its xdist workers)."""
    try:
        os.killpg(proc.pid, signum)
    except (ProcessLookupError, PermissionError, AttributeError):
        with contextlib.suppress(OSError):
            proc.send_signal(signum)


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

    The report directory ``out`` is locked for the run (a second run on it exits 2) and
    replaced only by a complete report; pytest writes into a staging directory
    (``ncverify.report.ReportRun``), its output to ``pytest.log`` there. A partial report
    (interrupted, killed, stopped early) goes to ``out/incomplete/``, marked. Progress goes to
    ``stream`` (stderr). SIGINT, SIGTERM and SIGHUP stop pytest's whole process group; the
    child also stops if this process dies (Linux). Exit statuses: pytest 0 -> 0, 1 -> 1, 5 (no
    tests) and 2/3/4 (collection errors, internal or usage error) -> 2; any recorded
    counterexample -> 1; a stopping signal -> 128 + its number (Ctrl-C: 130).
    """
    from ..report import ReportLocked, ReportRun

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
    try:
        run = ReportRun.begin(out_dir, command=" ".join(command or ["ncverify"]))
    except ReportLocked as exc:
        raise CommandError(str(exc)) from None
    except NCVerifyError as exc:
        raise CommandError(f"--out {out!r}: {exc}") from None
    try:
        return _run_locked(
            run, suite_path, profile, seed, workers, markexpr, arch, extra, stream, command
        )
    finally:
        run.release()


def _run_locked(run, suite_path, profile, seed, workers, markexpr, arch, extra, stream, command):
    progress = run.staging / ".progress"
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        str(suite_path),
        "-q",
        "-rfE",
        f"--ncverify-report={run.target}",
        f"--ncverify-staging={run.staging}",
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
    bar = _Progress(stream)
    shown = [
        c if not c.startswith("--ncverify-staging=") else "--ncverify-staging=..." for c in cmd
    ]
    stream.write(f"ncverify: running {' '.join(shown[1:])}\n")
    stream.flush()
    env = dict(os.environ)
    if command:  # the report records the command as the user typed it
        env[COMMAND_ENV] = json.dumps(list(command))
    env.setdefault("COLUMNS", "200")  # pytest's summary lines keep the failure reason
    stops = frozenset(getattr(signal, n) for n in _STOP_SIGNALS if hasattr(signal, n))

    def stop(signum, frame):
        raise _Stopped(signum)

    saved = {sig: signal.signal(sig, stop) for sig in stops}
    since = time.time() - 1.0  # file times may be coarser than a second
    proc = None
    stopped = None
    try:
        with open(run.staging / "pytest.log", "wb") as logf:
            # Own session (process group): a terminal Ctrl-C reaches only us, and we forward
            # exactly one SIGINT to the whole group, so pytest writes its partial report once.
            # The stopping signals wait (blocked) until the child exists: none is lost.
            _mask(signal.SIG_BLOCK if os.name == "posix" else None, stops)
            try:
                proc = subprocess.Popen(
                    cmd,
                    stdout=logf,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                    env=env,
                    pass_fds=() if run.lock_fd is None else (run.lock_fd,),
                    preexec_fn=_child_setup(stops) if os.name == "posix" else None,
                )
            finally:
                _mask(signal.SIG_UNBLOCK if os.name == "posix" else None, stops)
            try:
                while proc.poll() is None:
                    state = _read_progress(progress)
                    if state:
                        bar.update(*state)
                    time.sleep(0.2)
            except _Stopped as exc:
                stopped = exc.signum
                for sig in stops:  # a second signal must not interrupt the clean-up
                    signal.signal(sig, signal.SIG_IGN)
                _stop_group(proc, signal.SIGINT)  # pytest writes its partial report, stops
                try:
                    proc.wait(timeout=GRACE_S)
                except subprocess.TimeoutExpired:
                    _stop_group(proc, signal.SIGKILL)
                    proc.wait()
    finally:
        if proc is not None:
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)  # no orphaned xdist worker survives
            proc.wait()
        for sig, handler in saved.items():
            signal.signal(sig, handler)
    state = _read_progress(progress)
    if state:
        bar.update(*state)
    bar.close()
    if not run.finished:  # pytest died before finalising: keep what it wrote, marked
        why = (
            f"ncverify was stopped by {signal.Signals(stopped).name}"
            if stopped
            else f"pytest ended with status {proc.returncode} before writing its report"
            + (
                f" (killed by {signal.Signals(-proc.returncode).name})"
                if proc.returncode < 0
                else ""
            )
        )
        run.abandon([why])
    if stopped is None and proc.returncode < 0:  # pytest itself was killed by a signal
        stopped = -proc.returncode
        stream.write(f"ncverify: pytest was killed by {signal.Signals(stopped).name}\n")
    if stopped is not None:
        name = signal.Signals(stopped).name
        stream.write(
            f"ncverify: stopped by {name}; partial report in "
            f"{_shown(run.target / 'incomplete')} (the complete report in "
            f"{_shown(run.target)}, if any, is unchanged)\n"
        )
        return 128 + stopped
    return _summarise(proc.returncode, run.target, stream, since)


def _shown(path: Path) -> str:
    """``path`` relative to the working directory when it is below it (as the user typed)."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return str(path)
    return str(path) if rel.startswith("..") else rel


def _finished_report(out_dir: Path, since: float) -> tuple[dict | None, Path, bool]:
    """(report, its directory, complete?) of the run that started at ``since`` (a report
    written before that is an earlier run's: ignored)."""
    from ..report import INCOMPLETE_DIR

    for directory, complete in ((out_dir, True), (out_dir / INCOMPLETE_DIR, False)):
        path = directory / "report.json"
        try:
            if path.stat().st_mtime < since:
                continue
            with open(path, encoding="utf-8") as f:
                report = json.load(f)
        except (OSError, ValueError):
            continue
        if bool(report.get("complete", True)) == complete:
            return report, directory, complete
    return None, out_dir, False


def _newest_log(out_dir: Path) -> Path:
    from ..report import INCOMPLETE_DIR

    logs = [
        p for p in (out_dir / "pytest.log", out_dir / INCOMPLETE_DIR / "pytest.log") if p.exists()
    ]
    return max(logs, key=lambda p: p.stat().st_mtime) if logs else out_dir / "pytest.log"


def _summarise(rc: int, out_dir: Path, stream: TextIO, since: float = 0.0) -> int:
    """Print the verdicts and where the report is; map pytest's status to ours."""
    from ..report import format_verdict_table

    report, where, complete = _finished_report(out_dir, since)
    log = where / "pytest.log" if report is not None else _newest_log(out_dir)
    if report is not None and report.get("verdicts"):
        print(format_verdict_table(report["verdicts"]))
    if rc == 5:
        stream.write(
            "ncverify: error: no tests were collected (check --suite and, for "
            f"`ncverify check`, that tests are marked ncverify_arch); log: {log}\n"
        )
        return EXIT_USAGE
    reasons = " ".join((report or {}).get("incomplete_reasons") or [])
    if rc == 2 and not complete and reasons.startswith("interrupted (KeyboardInterrupt"):
        stream.write(
            f"ncverify: pytest was interrupted ({reasons.split(';')[0]}); partial report in "
            f"{_shown(where)} (the complete report in {_shown(out_dir)}, if any, is "
            "unchanged)\n"
        )
        return EXIT_INTERRUPTED
    if rc not in (0, 1):
        stream.write(
            f"ncverify: error: pytest exited with status {rc} (collection error, "
            f"usage or internal error); log: {log}\n{_tail(log)}\n"
        )
        return EXIT_USAGE
    found = len(report["counterexamples"]) if report else 0
    if rc == 1:
        stream.write(_tail(log) + "\n")
        for t in (report or {}).get("tests", ()):
            if t.get("outcome") in ("failed", "error") and t.get("message"):
                stream.write(f"ncverify: {t['nodeid']}: {t['message']}\n")
    if report is not None:
        if not complete:
            stream.write(
                "ncverify: the report is INCOMPLETE: "
                + "; ".join(report.get("incomplete_reasons") or [])
                + f"\nncverify: partial report in {_shown(where)} (the complete report in "
                f"{_shown(out_dir)}, if any, is unchanged)\n"
            )
        else:
            print(f"report: {_shown(where / 'report.html')} (also report.md, report.json)")
    if found:
        kinds = sorted({ce.get("verdict", "counterexample") for ce in report["counterexamples"]})
        stream.write(
            f"ncverify: {found} failing evaluation(s) ({', '.join(kinds)}) found; see the report\n"
        )
        return EXIT_FOUND
    return EXIT_FOUND if rc == 1 else EXIT_OK
