"""The collector: gathers test outcomes and evaluations (controller and xdist workers) and
writes the report; evaluations travel on ``report.user_properties``."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ..errors import InvalidInput
from ._options import Settings
from ._profiles import get_profile

__all__ = [
    "CHECKPOINT_S",
    "EVALUATION_KEY",
    "HYPOTHESIS_KEY",
    "INJECTED_KEY",
    "THEOREM_KEY",
    "Collector",
    "plain",
]

EVALUATION_KEY = "ncverify_evaluation"
CONTROL_KEY = "ncverify_control"  # a negative control refuted (or missed) by hypothesis.find
THEOREM_KEY = "ncverify_theorem"
HYPOTHESIS_KEY = "ncverify_hypothesis"
INJECTED_KEY = "ncverify_failed_by_plugin"  # the test passed itself but recorded a counterexample
#: seconds between checkpoint reports of a long run (a crash then still leaves a report)
CHECKPOINT_S = 120.0
#: the ``ncverify`` command line that started this pytest run (JSON list), set by the CLI
COMMAND_ENV = "NCVERIFY_COMMAND"
_REPORT_NAMES = ("report.html", "report.md", "report.json")


def _to_builtin(obj: Any) -> Any:
    """json ``default``: numpy / torch scalars and arrays to Python numbers and lists."""
    if hasattr(obj, "tolist") and callable(obj.tolist):
        return obj.tolist()
    if hasattr(obj, "item") and callable(obj.item):
        return obj.item()
    raise TypeError(f"{type(obj).__name__} value {obj!r:.80} is not JSON-serialisable")


def plain(d: dict[str, Any]) -> dict[str, Any]:
    """Plain JSON data (what pytest-xdist can ship and report.json can hold)."""
    try:
        return json.loads(json.dumps(d, default=_to_builtin, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            f"evaluation of {d.get('theorem_id')!r} holds a value that cannot be stored: {exc}; "
            "use numbers, strings, lists and dicts in inputs and measured"
        ) from None


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


class Collector:
    """Gathers test outcomes and evaluations from reports (controller and workers)."""

    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        self.config = config
        self.settings = settings
        self.tests: dict[str, dict[str, Any]] = {}
        self.finished: set[str] = set()
        self.total: int | None = None
        self.started = time.time()
        self.interrupted: str | None = None
        self.crashed: list[str] = []
        self.written = False
        self.session_started = False
        self.checkpointed = time.time()
        self.paths: list[Path] = []
        self.complete = False

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.session_started = True
        self.checkpointed = time.time()

    # -- gathering ---------------------------------------------------------
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        rec = self.tests.setdefault(
            report.nodeid,
            {
                "nodeid": report.nodeid,
                "outcome": None,
                "duration": 0.0,
                "theorem": None,
                "hypothesis": False,
                "failed_by_plugin": False,
                "evaluations": [],
                "controls": [],
                "message": "",
            },
        )
        evaluations, controls = [], []
        for key, value in report.user_properties:
            if key == EVALUATION_KEY:
                evaluations.append(value)
            elif key == CONTROL_KEY:
                controls.append(value)
            elif key == THEOREM_KEY:
                rec["theorem"] = value
            elif key == HYPOTHESIS_KEY:
                rec["hypothesis"] = True
            elif key == INJECTED_KEY:
                rec["failed_by_plugin"] = True
        if len(evaluations) >= len(rec["evaluations"]):  # properties accumulate over phases
            rec["evaluations"] = evaluations
        if len(controls) >= len(rec["controls"]):
            rec["controls"] = controls
        rec["duration"] += float(getattr(report, "duration", 0.0) or 0.0)
        if hasattr(report, "wasxfail"):
            rec["outcome"] = "xfailed" if report.skipped else "xpassed"
        elif report.failed:
            rec["outcome"] = "failed" if report.when == "call" else "error"
            rec["message"] = _short(report)
        elif report.skipped and rec["outcome"] is None:
            rec["outcome"] = "skipped"
        elif report.passed and report.when == "call" and rec["outcome"] is None:
            rec["outcome"] = "passed"
        if report.when not in ("setup", "call"):
            self.finished.add(report.nodeid)
            self._progress()
            if time.time() - self.checkpointed > CHECKPOINT_S:
                self.checkpoint()

    def checkpoint(self) -> None:
        """Swap a partial report (no plots) into DIR/incomplete/, so a crash leaves one."""
        self.checkpointed = time.time()
        run = self.settings.report_run
        if run is None or run.finished or _is_worker(self.config):
            return
        from ..report import write_report

        reasons = [
            "checkpoint: the run was still in progress (a crash ended it if no later report "
            "replaced this one)"
        ]
        report = self._report(None, reasons)
        try:
            run.checkpoint(
                lambda d: write_report(d, report, plots=False, figures_dir=run.target / "figures"),
                reasons,
            )
        except Exception as exc:  # a checkpoint must never cost the run
            print(f"ncverify: checkpoint report not written: {exc!r}", file=sys.stderr)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        if session.items or self.total is None:
            self.total = len(session.items)
            self._progress()

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node, ids) -> None:
        self.total = len(ids)
        self._progress()

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node, error) -> None:
        if error:
            self.crashed.append(f"xdist worker {getattr(node.gateway, 'id', '?')} crashed")

    def pytest_keyboard_interrupt(self, excinfo) -> None:
        detail = str(excinfo.value).strip()
        self.interrupted = f"interrupted ({excinfo.typename}{': ' + detail if detail else ''})"

    def _progress(self) -> None:
        path = self.settings.progress
        if path is None or _is_worker(self.config):
            return
        try:
            path.write_text(f"{len(self.finished)} {self.total or 0}\n", encoding="utf-8")
        except OSError:
            pass

    # -- output ------------------------------------------------------------
    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        reasons = []
        if self.interrupted:
            reasons.append(self.interrupted)
        status = pytest.ExitCode
        if exitstatus == status.INTERRUPTED and not self.interrupted:
            reasons.append("interrupted (collection errors or pytest.exit)")
        elif exitstatus in (status.INTERNAL_ERROR, status.USAGE_ERROR):
            reasons.append(f"pytest exit status {int(exitstatus)} ({status(exitstatus).name})")
        if session.shouldstop:
            reasons.append(f"stopped early: {session.shouldstop}")
        if session.shouldfail:
            reasons.append(f"stopped early: {session.shouldfail}")
        reasons.extend(self.crashed)
        total = session.testscollected or self.total or 0
        if len(self.finished) < total:
            reasons.append(f"{total - len(self.finished)} of {total} selected tests did not finish")
        try:
            self.write(int(exitstatus), reasons)
        except Exception:  # report the failure; the run's own outcome stays visible
            import traceback

            print(
                "ncverify: writing the report failed (the previous complete report is "
                "unchanged; what was written is in DIR/incomplete/):\n" + traceback.format_exc(),
                file=sys.stderr,
            )
            session.exitstatus = pytest.ExitCode.INTERNAL_ERROR

    def write(self, exitstatus: int | None, reasons: list[str], *, plots: bool = True) -> None:
        """The final report: written into the run's staging directory, then swapped in as
        DIR (complete) or moved to DIR/incomplete/ (marked) by the ReportRun."""
        run = self.settings.report_run
        if run is None or _is_worker(self.config) or run.finished:
            return
        from ..report import write_report

        self.written = True
        report = self._report(exitstatus, reasons)
        try:
            write_report(run.staging, report, plots=plots, figures_dir=run.target / "figures")
        except BaseException:
            run.abandon([*reasons, "writing the final report failed or was interrupted"])
            raise
        self.complete = bool(report["complete"])
        where = run.commit() if self.complete else run.abandon(reasons)
        self.paths = [] if where is None else [where / name for name in _REPORT_NAMES]

    def _report(self, exitstatus: int | None, reasons: list[str]) -> dict[str, Any]:
        from ..report import build_report

        return build_report(
            tests=list(self.tests.values()),
            profile=self.settings.profile,
            seed=self.settings.seed,
            architecture=self.settings.arch,
            started=self.started,
            finished=time.time(),
            complete=not reasons,
            incomplete_reasons=reasons,
            exitstatus=exitstatus,
            command=self._command(),
            rootdir=self._rootdir(),
            profile_settings=vars(get_profile(self.settings.profile)),
        )

    def _command(self) -> list[str]:
        """The command as the user typed it: ``ncverify ...`` when the CLI started this run
        (it passes its argv in ``$NCVERIFY_COMMAND``), else ``pytest ARGS``."""
        raw = os.environ.get(COMMAND_ENV)
        if raw:
            try:
                command = json.loads(raw)
                if isinstance(command, list) and all(isinstance(a, str) for a in command):
                    return command
            except ValueError:
                pass
        return ["pytest", *map(str, self.config.invocation_params.args)]

    def _rootdir(self) -> str:
        """pytest's rootdir relative to where the run was started (no machine paths)."""
        try:
            return os.path.relpath(self.config.rootpath, self.config.invocation_params.dir)
        except ValueError:  # another drive (Windows)
            return self.config.rootpath.name

    def pytest_terminal_summary(self, terminalreporter, exitstatus, config) -> None:
        if _is_worker(config):
            return
        from ..report import format_verdict_table, verdict_rows

        rows = verdict_rows(self.tests.values())
        if not rows and not self.paths:
            return
        terminalreporter.write_sep(
            "=", f"ncverify verdicts (profile {self.settings.profile}, seed {self.settings.seed})"
        )
        if rows:
            terminalreporter.write_line(format_verdict_table(rows))
        else:
            terminalreporter.write_line("no evaluation was recorded")
        shown = [self._shown(p) for p in self.paths]
        if shown and self.complete:
            terminalreporter.write_line(f"ncverify report: {', '.join(shown[:3])}")
        elif shown:
            where = os.path.dirname(shown[0])
            terminalreporter.write_line(
                f"ncverify: INCOMPLETE report in {where} (marked; the complete report in "
                f"{os.path.dirname(where) or '.'}, if any, is unchanged)"
            )

    def _shown(self, path: Path) -> str:
        """``path`` relative to where pytest was started, when it is below it."""
        rel = os.path.relpath(path, self.config.invocation_params.dir)
        return str(path) if rel.startswith("..") else rel


def _short(report: pytest.TestReport) -> str:
    text = getattr(report, "longreprtext", "") or ""
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:500] if lines else ""
