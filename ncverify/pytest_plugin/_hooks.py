"""pytest plugin (entry point ``pytest11: ncverify``). Imports nothing heavy.

Options (``pytest --help``, group *ncverify*): ``--ncverify-profile``,
``--ncverify-seed``, ``--ncverify-arch``, ``--ncverify-report``. Profile and
seed may also come from ``$NCVERIFY_PROFILE`` / ``$NCVERIFY_SEED`` or the ini
keys ``ncverify_profile`` / ``ncverify_seed`` (command line > environment > ini).
The chosen values are exported to the environment so that pytest-xdist workers
and module-level ``@settings`` (:func:`ncverify.pytest_plugin.current_profile`) see
them.

Fixtures: ``ncverify_record`` (store an :class:`~ncverify.spec.Evaluation`
on the test report), ``ncverify_profile``, ``ncverify_seed``, ``ncverify_arch``.
Markers: ``ncverify_theorem(theorem_id)`` and ``ncverify_arch``.

Evaluations travel on ``report.user_properties`` (serialised by pytest-xdist)
and are gathered on the controller in ``pytest_runtest_logreport``; only the
controller prints the verdict table and writes the report (see ``docs/plugin.md``).
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from typing import Any

import pytest

from ..errors import InvalidInput
from ._backend import configure_backend
from ._checks import FAILING, check_controls, check_floors
from ._collector import (
    CONTROL_KEY,
    EVALUATION_KEY,
    INJECTED_KEY,
    THEOREM_KEY,
    Collector,
)
from ._options import ARCH_ENV, SETTINGS, Settings, _profile_name, _resolve, _seed, locate_arch
from ._profiles import PROFILE_ENV, SEED_ENV, current_seed
from ._seeds import derive_seed, disable_local_constants

__all__ = [
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_runtest_call",
    "pytest_unconfigure",
]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "ncverify_theorem(theorem_id, min_in_scope=None, max_undecided_fraction=None, "
        "controls=False): the test checks the theorem spec with this id (reports group "
        "evaluations by it; the spec's floor applies, these options override it; "
        "controls=True: every negative control must be caught by this test)",
    )
    config.addinivalue_line(
        "markers",
        "ncverify_arch: the test runs on the user's plug-in architecture "
        "(--ncverify-arch); `ncverify check` selects these",
    )
    profile = (
        _resolve(config, "ncverify_profile", PROFILE_ENV, "ncverify_profile", _profile_name) or "ci"
    )
    seed = _resolve(config, "ncverify_seed", SEED_ENV, "ncverify_seed", _seed)
    arch = config.getoption("ncverify_arch")
    if arch is not None:
        try:
            locate_arch(arch)
        except InvalidInput as exc:
            raise pytest.UsageError(f"--ncverify-arch={arch}: {exc}") from None
    report_dir = config.getoption("ncverify_report")
    if report_dir is not None:
        report_dir = Path(report_dir)
        if report_dir.exists() and not report_dir.is_dir():
            raise pytest.UsageError(
                f"--ncverify-report={report_dir}: exists and is not a directory; "
                "give a directory path"
            )
    report_run = None
    if report_dir is not None and not hasattr(config, "workerinput"):
        report_run = _begin_report_run(config, report_dir)  # before anything is changed
    saved = {k: os.environ.get(k) for k in (PROFILE_ENV, SEED_ENV, ARCH_ENV)}
    saved.update(configure_backend(config))
    os.environ[PROFILE_ENV] = profile
    if seed is not None:
        os.environ[SEED_ENV] = str(seed)
    if arch is not None:
        os.environ[ARCH_ENV] = arch
    progress = config.getoption("ncverify_progress")
    settings = Settings(
        profile=profile,
        seed=current_seed(),
        arch=arch,
        report_dir=report_dir,
        progress=Path(progress) if progress else None,
        saved_env=saved,
        report_run=report_run,
    )
    if report_run is not None:
        settings.saved_signals = _interrupt_on_termination()
    config.stash[SETTINGS] = settings
    config.pluginmanager.register(Collector(config, settings), "ncverify-collector")


def _begin_report_run(config: pytest.Config, report_dir: Path):
    """Lock the report directory (or adopt the run ``ncverify`` prepared) before any test."""
    from ..errors import NCVerifyError
    from ..report import ReportRun

    staging = config.getoption("ncverify_staging")
    try:
        if staging:
            return ReportRun.adopt(report_dir, staging)
        command = " ".join(["pytest", *map(str, config.invocation_params.args)])
        return ReportRun.begin(report_dir, command=command)
    except NCVerifyError as exc:
        raise pytest.UsageError(f"--ncverify-report={report_dir}: {exc}") from None


def _interrupt_on_termination() -> dict[int, object] | None:
    """SIGTERM and SIGHUP become a KeyboardInterrupt, so a terminated run still leaves its
    partial report (marked) in DIR/incomplete/ instead of dying mid-write."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")

    saved = {}
    for name in ("SIGTERM", "SIGHUP"):
        sig = getattr(signal, name, None)
        if sig is not None:
            saved[sig] = signal.signal(sig, interrupt)
    return saved


def pytest_unconfigure(config: pytest.Config) -> None:
    settings = config.stash.get(SETTINGS, None)
    if settings is None:
        return
    collector = config.pluginmanager.get_plugin("ncverify-collector")
    if collector is not None:
        if collector.session_started and not collector.written:
            # sessionfinish never ran: last chance to leave an incomplete report
            collector.write(None, ["pytest stopped before the session finished"])
        config.pluginmanager.unregister(collector)
    run = settings.report_run
    if run is not None:
        if not run.finished:  # nothing was finalised (e.g. a usage error before the session)
            run.abandon(["pytest stopped before writing a report"])
        run.release()
    for sig, handler in (settings.saved_signals or {}).items():
        signal.signal(sig, handler)
    for key, value in settings.saved_env.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    del config.stash[SETTINGS]


_MARK_KWARGS = ("min_in_scope", "max_undecided_fraction", "controls")


def _theorem_mark(item: pytest.Item) -> tuple[str | None, dict[str, Any]]:
    """The closest ``ncverify_theorem(theorem_id, **options)`` marker: id and options."""
    for mark in item.iter_markers(name="ncverify_theorem"):
        unknown = sorted(set(mark.kwargs) - set(_MARK_KWARGS))
        if (
            unknown
            or len(mark.args) != 1
            or not isinstance(mark.args[0], str)
            or not mark.args[0].strip()
        ):
            raise pytest.UsageError(
                f"{item.nodeid}: @pytest.mark.ncverify_theorem takes one non-empty theorem id "
                f"string and the options {', '.join(_MARK_KWARGS)}, e.g. "
                f"ncverify_theorem('jswm-3.1-nc1', controls=True); got args={mark.args!r} "
                f"kwargs={mark.kwargs!r}"
            )
        return mark.args[0], dict(mark.kwargs)
    return None, {}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    theorem_items = False
    for item in items:
        theorem, _ = _theorem_mark(item)
        if theorem is not None:
            item.user_properties.append((THEOREM_KEY, theorem))
        theorem_items = (
            theorem_items
            or theorem is not None
            or bool(list(item.iter_markers(name="ncverify_arch")))
        )
    hypothesis_items = [
        i for i in items if getattr(getattr(i, "obj", None), "is_hypothesis_test", False)
    ]
    if theorem_items:
        disable_local_constants()
    if hypothesis_items:
        import hypothesis

        base = current_seed()
        for item in hypothesis_items:
            fn = getattr(item.obj, "__func__", item.obj)
            name = f"{getattr(item.module, '__name__', '')}.{fn.__qualname__}"
            hypothesis.seed(derive_seed(base, name))(fn)
    arch = config.getoption("ncverify_arch")
    if arch is not None and any(item.get_closest_marker("ncverify_arch") for item in items):
        # build and check the plug-in once, before any test runs (imports torch only here)
        from ..errors import InvalidArchitecture
        from ..nets import check_plugin

        try:
            check_plugin(arch)
        except InvalidArchitecture as exc:
            raise pytest.UsageError(f"--ncverify-arch={arch}: {exc}") from None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    result = yield
    evaluations = [v for k, v in item.user_properties if k == EVALUATION_KEY]
    failing = [v for v in evaluations if v.get("verdict") in FAILING]
    if failing:
        last = failing[-1]
        item.user_properties.append((INJECTED_KEY, True))
        pytest.fail(
            f"ncverify: {len(failing)} failing evaluation(s) recorded "
            f"({', '.join(sorted({v['verdict'] for v in failing}))}); last: theorem "
            f"{last.get('theorem_id')!r}, {last.get('reason')}, inputs {last.get('inputs')!r}",
            pytrace=False,
        )
    theorem, options = _theorem_mark(item)
    problems = check_floors(evaluations, theorem, options)
    if options.get("controls"):
        problems += check_controls(
            evaluations, theorem, [v for k, v in item.user_properties if k == CONTROL_KEY]
        )
    if problems:
        item.user_properties.append((INJECTED_KEY, True))
        pytest.fail("ncverify: " + "; ".join(problems), pytrace=False)
    return result
