"""Fixtures of the pytest plugin: ``ncverify_record``, ``ncverify_control``,
``ncverify_profile``, ``ncverify_seed``, ``ncverify_arch``."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from ..errors import InvalidInput
from ..spec import Evaluation
from ._collector import CONTROL_KEY, EVALUATION_KEY, HYPOTHESIS_KEY, plain
from ._options import SETTINGS
from ._profiles import current_profile, current_seed
from ._seeds import seeded_random

__all__ = [
    "ncverify_arch",
    "ncverify_control",
    "ncverify_profile",
    "ncverify_record",
    "ncverify_seed",
]


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


@pytest.fixture
def ncverify_control(request: pytest.FixtureRequest):
    """``refute(spec, control, strategy, *, max_examples=1000) -> dict``: search ``strategy``
    (snapshots of ``spec``) with ``hypothesis.find`` for an instance where the negative control's
    false variant fails beyond rounding; hypothesis shrinks it. The outcome (caught or missed,
    examples needed, the shrunk instance's ``inputs``) goes into the report; a missed control
    fails the test. Seeded from ``--ncverify-seed`` and the control's name.
    """
    node = request.node

    def refute(spec, control, strategy, *, max_examples: int = 1000) -> dict[str, Any]:
        from hypothesis import find, settings
        from hypothesis.errors import NoSuchExample

        from ..spec import snapshot_dtype

        variant = spec.variant(control)
        name = control if isinstance(control, str) else control.name
        calls, first = 0, None

        def refuted(instance) -> bool:
            nonlocal calls, first
            calls += 1
            dtype = snapshot_dtype(instance)
            ev = variant.evaluate(variant.measure(instance), seed=None, inputs={}, dtype=dtype)
            margin = spec.control_margin(dtype)
            hit = ev.fails and any(c.held is False and c.room < -margin for c in ev.claims)
            if hit and first is None:
                first = calls
            return hit

        options = settings(max_examples=max_examples, database=None, deadline=None)
        try:
            instance = find(
                strategy, refuted, settings=options, random=seeded_random(f"{spec.id}~{name}")
            )
            record = {"caught": True, "examples": first, "inputs": getattr(instance, "inputs", {})}
        except NoSuchExample:
            record = {"caught": False, "examples": calls, "inputs": None}
        record = {"theorem_id": spec.id, "control": name, "test_id": node.nodeid, **record}
        node.user_properties.append((CONTROL_KEY, plain(record)))
        if not record["caught"]:
            pytest.fail(
                f"ncverify: negative control {name!r} of {spec.id!r} was not caught in "
                f"{calls} examples: the generators never reach where this false variant fails",
                pytrace=False,
            )
        return record

    return refute
