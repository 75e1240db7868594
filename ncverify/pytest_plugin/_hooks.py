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
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from ..errors import InvalidInput
from ..spec import Evaluation
from ._collector import EVALUATION_KEY, HYPOTHESIS_KEY, INJECTED_KEY, THEOREM_KEY, Collector, plain
from ._options import ARCH_ENV, SETTINGS, Settings, _profile_name, _resolve, _seed
from ._profiles import PROFILE_ENV, SEED_ENV, current_profile, current_seed

__all__ = [
    "ncverify_arch",
    "ncverify_profile",
    "ncverify_record",
    "ncverify_seed",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_runtest_call",
    "pytest_unconfigure",
]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "ncverify_theorem(theorem_id): the test checks the theorem spec with this id "
        "(reports group evaluations and test outcomes by it)",
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
                "give a directory path"
            )
    progress = config.getoption("ncverify_progress")
    settings = Settings(
        profile=profile,
        seed=current_seed(),
        arch=arch,
        report_dir=report_dir,
        progress=Path(progress) if progress else None,
        saved_env=saved,
    )
    config.stash[SETTINGS] = settings
    config.pluginmanager.register(Collector(config, settings), "ncverify-collector")


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
    for key, value in settings.saved_env.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    del config.stash[SETTINGS]


def _theorem_id(item: pytest.Item) -> str | None:
    theorem = None
    for mark in item.iter_markers(name="ncverify_theorem"):
        if (
            mark.kwargs
            or len(mark.args) != 1
            or not isinstance(mark.args[0], str)
            or not mark.args[0].strip()
        ):
            raise pytest.UsageError(
                f"{item.nodeid}: @pytest.mark.ncverify_theorem takes exactly one non-empty "
                f"theorem id string, e.g. ncverify_theorem('jswm-3.1-nc1'); got "
                f"args={mark.args!r} kwargs={mark.kwargs!r}"
            )
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
    found = [
        v
        for k, v in item.user_properties
        if k == EVALUATION_KEY and v.get("verdict") == "counterexample"
    ]
    if found:
        last = found[-1]
        item.user_properties.append((INJECTED_KEY, True))
        pytest.fail(
            f"ncverify: {len(found)} counterexample(s) recorded; last: theorem "
            f"{last.get('theorem_id')!r}, {last.get('reason')}, inputs {last.get('inputs')!r}",
            pytrace=False,
        )
    return result


@pytest.fixture
def ncverify_profile():
    """The :class:`~ncverify.pytest_plugin.Profile` selected for this run."""
    return current_profile()


@pytest.fixture
def ncverify_seed() -> int:
    """The base seed of this run (``--ncverify-seed``)."""
    return current_seed()


@pytest.fixture
def ncverify_arch(request: pytest.FixtureRequest) -> str | None:
    """The ``--ncverify-arch`` value (``'module:factory'``) or ``None``."""
    return request.config.stash[SETTINGS].arch


@pytest.fixture
def ncverify_record(request: pytest.FixtureRequest):
    """``record(evaluation) -> evaluation``: attach an evaluation to this test's report.

    The stored copy gets ``test_id`` = the test's node id and, when unset, ``seed``
    = the run's base seed; that copy is returned. A test that records a
    counterexample fails even if it asserts nothing.
    """
    node = request.node
    if (
        getattr(request.function, "is_hypothesis_test", False)
        and (HYPOTHESIS_KEY, True) not in node.user_properties
    ):
        node.user_properties.append((HYPOTHESIS_KEY, True))
    seed = current_seed()

    def record(evaluation: Evaluation) -> Evaluation:
        if not isinstance(evaluation, Evaluation):
            raise InvalidInput(
                f"ncverify_record expects an ncverify Evaluation, got {type(evaluation).__name__}"
            )
        changes: dict[str, Any] = {"test_id": node.nodeid}
        if evaluation.seed is None:
            changes["seed"] = seed
        evaluation = replace(evaluation, **changes)
        node.user_properties.append((EVALUATION_KEY, plain(evaluation.to_dict())))
        return evaluation

    return record
