"""pytest plugin (entry point ``pytest11: ncverify``). Imports nothing heavy.

Options (``pytest --help``, group *ncverify*): ``--ncverify-profile``,
``--ncverify-seed``, ``--ncverify-arch``, ``--ncverify-report``. Profile and
seed may also come from ``$NCVERIFY_PROFILE`` / ``$NCVERIFY_SEED`` or the ini
keys ``ncverify_profile`` / ``ncverify_seed`` (command line > environment > ini).
The chosen values are exported to the environment so that pytest-xdist workers
and module-level ``@settings`` (:func:`ncverify._profiles.current_profile`) see
them.

Fixtures: ``ncverify_record`` (store an :class:`~ncverify._evaluation.Evaluation`
on the test report), ``ncverify_profile``, ``ncverify_seed``, ``ncverify_arch``.
Markers: ``ncverify_theorem(theorem_id)`` and ``ncverify_arch``.

Evaluations travel on ``report.user_properties`` (serialised by pytest-xdist)
and are gathered on the controller in ``pytest_runtest_logreport``; only the
controller prints the verdict table and writes the report (see ``docs/plugin.md``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from ._errors import InvalidInput
from ._evaluation import Evaluation
from ._profiles import PROFILE_ENV, PROFILES, SEED_ENV, current_profile, current_seed

__all__ = [
    "ARCH_ENV",
    "EVALUATION_KEY",
    "HYPOTHESIS_KEY",
    "THEOREM_KEY",
    "validate_arch_spec",
]

EVALUATION_KEY = "ncverify_evaluation"
THEOREM_KEY = "ncverify_theorem"
HYPOTHESIS_KEY = "ncverify_hypothesis"
INJECTED_KEY = "ncverify_failed_by_plugin"  # the test passed itself but recorded a counterexample
ARCH_ENV = "NCVERIFY_ARCH"
#: seconds between checkpoint reports of a long run (a crash then still leaves a report)
CHECKPOINT_S = 120.0

_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_ARCH_RE = re.compile(rf"^{_IDENT}(\.{_IDENT})*:{_IDENT}(\.{_IDENT})*$")
_ARCH_NAME_RE = re.compile(r"^[A-Za-z_][\w\-]*$")


def validate_arch_spec(value: str) -> str:
    """Check that ``value`` names an architecture; return it unchanged.

    Accepted: ``pkg.module:factory``, or the name of an entry point in the group
    ``ncverify.architectures`` (a Python identifier, dots and dashes allowed).
    Only the syntax is checked here; importing and calling the factory is
    ``ncverify._plugins.load_architecture``'s job. Raises :class:`InvalidInput`.
    """
    if not isinstance(value, str) or not (_ARCH_RE.match(value) or _ARCH_NAME_RE.match(value)):
        raise InvalidInput(
            f"architecture {value!r} is not of the form 'package.module:factory' "
            "(dotted Python module path, a colon, then the name of a callable in it, "
            "e.g. 'mynets.wide:build') nor the name of an entry point in the group "
            "'ncverify.architectures'"
        )
    return value


def _profile_name(value: str) -> str:
    if value not in PROFILES:
        raise InvalidInput(
            f"unknown ncverify profile {value!r}; choose one of {', '.join(sorted(PROFILES))}"
        )
    return value


def _seed(value: str) -> int:
    try:
        seed = int(str(value).strip())
    except ValueError:
        raise InvalidInput(f"seed {value!r} is not an integer") from None
    if seed < 0:
        raise InvalidInput(f"seed {seed} is negative; use an integer >= 0")
    return seed


def _argtype(check):
    """Wrap a validator so argparse reports its message as a usage error."""

    def convert(value: str):
        try:
            return check(value)
        except InvalidInput as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = check.__name__.lstrip("_")
    return convert


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ncverify", "ncverify theorem checks")
    group.addoption(
        "--ncverify-profile", type=_argtype(_profile_name), default=None, metavar="NAME",
        help="sizes and example counts of the theorem suite: "
             f"{'|'.join(sorted(PROFILES))} (default: $NCVERIFY_PROFILE, ini "
             "ncverify_profile, else ci)")
    group.addoption(
        "--ncverify-seed", type=_argtype(_seed), default=None, metavar="INT",
        help="base seed recorded in every evaluation (default: $NCVERIFY_SEED, ini "
             "ncverify_seed, else 20250124)")
    group.addoption(
        "--ncverify-arch", type=_argtype(validate_arch_spec), default=None,
        metavar="MODULE:FACTORY",
        help="user architecture for tests marked ncverify_arch, e.g. mynets.wide:build")
    group.addoption(
        "--ncverify-report", default=None, metavar="DIR",
        help="write report.json, report.md and report.html into DIR (created if missing)")
    group.addoption(
        "--ncverify-progress", default=None, metavar="FILE", help=argparse.SUPPRESS)
    parser.addini("ncverify_profile", "default ncverify profile (ci|thorough|gpu)", default="")
    parser.addini("ncverify_seed", "default ncverify base seed", default="")


@dataclass
class _Settings:
    profile: str
    seed: int
    arch: str | None
    report_dir: Path | None
    progress: Path | None
    saved_env: dict[str, str | None]


_SETTINGS = pytest.StashKey[_Settings]()


def _resolve(config: pytest.Config, option: str, env: str, ini: str, check) -> Any:
    value = config.getoption(option)
    if value is not None:
        return value
    for source, raw in ((f"${env}", os.environ.get(env)), (f"ini {ini}", config.getini(ini))):
        if raw not in (None, ""):
            try:
                return check(raw)
            except InvalidInput as exc:
                raise pytest.UsageError(f"ncverify: {source}: {exc}") from None
    return None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "ncverify_theorem(theorem_id): the test checks the theorem spec with this id "
        "(reports group evaluations and test outcomes by it)")
    config.addinivalue_line(
        "markers",
        "ncverify_arch: the test runs on the user's plug-in architecture "
        "(--ncverify-arch); `ncverify check` selects these")
    profile = _resolve(config, "ncverify_profile", PROFILE_ENV, "ncverify_profile",
                       _profile_name) or "ci"
    seed = _resolve(config, "ncverify_seed", SEED_ENV, "ncverify_seed", _seed)
    arch = config.getoption("ncverify_arch")
    saved = {k: os.environ.get(k) for k in (PROFILE_ENV, SEED_ENV, ARCH_ENV)}
    os.environ[PROFILE_ENV] = profile
    if seed is not None:
        os.environ[SEED_ENV] = str(seed)
    if arch is not None:
        os.environ[ARCH_ENV] = arch
    report_dir = config.getoption("ncverify_report")
    if report_dir is not None:
        report_dir = Path(report_dir)
        if report_dir.exists() and not report_dir.is_dir():
            raise pytest.UsageError(
                f"--ncverify-report={report_dir}: exists and is not a directory; "
                "give a directory path")
    progress = config.getoption("ncverify_progress")
    settings = _Settings(profile=profile, seed=current_seed(), arch=arch,
                         report_dir=report_dir, progress=Path(progress) if progress else None,
                         saved_env=saved)
    config.stash[_SETTINGS] = settings
    config.pluginmanager.register(_Collector(config, settings), "ncverify-collector")


def pytest_unconfigure(config: pytest.Config) -> None:
    settings = config.stash.get(_SETTINGS, None)
    if settings is None:
        return
    collector = config.pluginmanager.get_plugin("ncverify-collector")
    if collector is not None:
        if collector.session_started and not collector.written:
            # sessionfinish never ran: last chance to leave an incomplete report
            collector.write(None, ["pytest stopped before the session finished"])
        config.pluginmanager.unregister(collector)
    for key, value in settings.saved_env.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    del config.stash[_SETTINGS]


def _theorem_id(item: pytest.Item) -> str | None:
    theorem = None
    for mark in item.iter_markers(name="ncverify_theorem"):
        if mark.kwargs or len(mark.args) != 1 or not isinstance(mark.args[0], str) \
                or not mark.args[0].strip():
            raise pytest.UsageError(
                f"{item.nodeid}: @pytest.mark.ncverify_theorem takes exactly one non-empty "
                f"theorem id string, e.g. ncverify_theorem('jswm-3.1-nc1'); got "
                f"args={mark.args!r} kwargs={mark.kwargs!r}")
        theorem = theorem or mark.args[0]  # closest marker wins
    return theorem


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        theorem = _theorem_id(item)
        if theorem is not None:
            item.user_properties.append((THEOREM_KEY, theorem))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    result = yield
    found = [v for k, v in item.user_properties
             if k == EVALUATION_KEY and v.get("verdict") == "counterexample"]
    if found:
        last = found[-1]
        item.user_properties.append((INJECTED_KEY, True))
        pytest.fail(
            f"ncverify: {len(found)} counterexample(s) recorded; last: theorem "
            f"{last.get('theorem_id')!r}, {last.get('reason')}, inputs {last.get('inputs')!r}",
            pytrace=False)
    return result


@pytest.fixture
def ncverify_profile():
    """The :class:`~ncverify._profiles.Profile` selected for this run."""
    return current_profile()


@pytest.fixture
def ncverify_seed() -> int:
    """The base seed of this run (``--ncverify-seed``)."""
    return current_seed()


@pytest.fixture
def ncverify_arch(request: pytest.FixtureRequest) -> str | None:
    """The ``--ncverify-arch`` value (``'module:factory'``) or ``None``."""
    return request.config.stash[_SETTINGS].arch


@pytest.fixture
def ncverify_record(request: pytest.FixtureRequest):
    """``record(evaluation) -> evaluation``: attach an evaluation to this test's report.

    The stored copy gets ``test_id`` = the test's node id and, when unset, ``seed``
    = the run's base seed; that copy is returned. A test that records a
    counterexample fails even if it asserts nothing.
    """
    node = request.node
    if getattr(request.function, "is_hypothesis_test", False) \
            and (HYPOTHESIS_KEY, True) not in node.user_properties:
        node.user_properties.append((HYPOTHESIS_KEY, True))
    seed = current_seed()

    def record(evaluation: Evaluation) -> Evaluation:
        if not isinstance(evaluation, Evaluation):
            raise InvalidInput(
                f"ncverify_record expects an ncverify Evaluation, got {type(evaluation).__name__}")
        changes: dict[str, Any] = {"test_id": node.nodeid}
        if evaluation.seed is None:
            changes["seed"] = seed
        evaluation = replace(evaluation, **changes)
        node.user_properties.append((EVALUATION_KEY, _plain(evaluation.to_dict())))
        return evaluation

    return record


def _to_builtin(obj: Any) -> Any:
    """json ``default``: numpy / torch scalars and arrays to Python numbers and lists."""
    if hasattr(obj, "tolist") and callable(obj.tolist):
        return obj.tolist()
    if hasattr(obj, "item") and callable(obj.item):
        return obj.item()
    raise TypeError(f"{type(obj).__name__} value {obj!r:.80} is not JSON-serialisable")


def _plain(d: dict[str, Any]) -> dict[str, Any]:
    """Plain JSON data (what pytest-xdist can ship and report.json can hold)."""
    try:
        return json.loads(json.dumps(d, default=_to_builtin, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            f"evaluation of {d.get('theorem_id')!r} holds a value that cannot be stored: {exc}; "
            "use numbers, strings, lists and dicts in inputs and measured") from None


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


class _Collector:
    """Gathers test outcomes and evaluations from reports (controller and workers)."""

    def __init__(self, config: pytest.Config, settings: _Settings) -> None:
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

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.session_started = True
        self.checkpointed = time.time()

    # -- gathering ---------------------------------------------------------
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        rec = self.tests.setdefault(report.nodeid, {
            "nodeid": report.nodeid, "outcome": None, "duration": 0.0, "theorem": None,
            "hypothesis": False, "failed_by_plugin": False, "evaluations": [],
            "message": ""})
        evaluations = []
        for key, value in report.user_properties:
            if key == EVALUATION_KEY:
                evaluations.append(value)
            elif key == THEOREM_KEY:
                rec["theorem"] = value
            elif key == HYPOTHESIS_KEY:
                rec["hypothesis"] = True
            elif key == INJECTED_KEY:
                rec["failed_by_plugin"] = True
        if len(evaluations) >= len(rec["evaluations"]):  # properties accumulate over phases
            rec["evaluations"] = evaluations
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
        """Rewrite the report (without plots) marked incomplete, so a crash leaves one."""
        self.checkpointed = time.time()
        written = self.written
        self.write(None, ["checkpoint: the run was still in progress (a crash ended it "
                          "if no later report replaced this one)"], plots=False)
        self.written = written  # the final report is still to be written

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
        self.interrupted = f"interrupted ({excinfo.typename})"
        # Write now in case later hooks never run; sessionfinish rewrites it.
        try:
            self.write(None, [self.interrupted])
        except Exception as exc:  # never mask the interrupt itself
            print(f"ncverify: could not write the interrupted report: {exc!r}", file=sys.stderr)

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

            print("ncverify: writing the report failed (report.json is written first and "
                  "may exist):\n" + traceback.format_exc(), file=sys.stderr)
            session.exitstatus = pytest.ExitCode.INTERNAL_ERROR

    def write(self, exitstatus: int | None, reasons: list[str], *, plots: bool = True) -> None:
        if self.settings.report_dir is None or _is_worker(self.config):
            return
        from ._report import build_report, write_report

        self.written = True
        report = build_report(
            tests=list(self.tests.values()), profile=self.settings.profile,
            seed=self.settings.seed, architecture=self.settings.arch,
            started=self.started, finished=time.time(), complete=not reasons,
            incomplete_reasons=reasons, exitstatus=exitstatus,
            command=list(self.config.invocation_params.args),
            rootdir=str(self.config.rootpath))
        self.paths = write_report(self.settings.report_dir, report, plots=plots)

    def pytest_terminal_summary(self, terminalreporter, exitstatus, config) -> None:
        if _is_worker(config):
            return
        from ._report import format_verdict_table, verdict_rows

        rows = verdict_rows(self.tests.values())
        if not rows and not self.paths:
            return
        terminalreporter.write_sep(
            "=", f"ncverify verdicts (profile {self.settings.profile}, seed {self.settings.seed})")
        if rows:
            terminalreporter.write_line(format_verdict_table(rows))
        else:
            terminalreporter.write_line("no evaluation was recorded")
        if self.paths:
            terminalreporter.write_line(
                f"ncverify report: {', '.join(str(p) for p in self.paths[:3])}")


def _short(report: pytest.TestReport) -> str:
    text = getattr(report, "longreprtext", "") or ""
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:500] if lines else ""
