"""The plugin's checks beyond "no failing evaluation": floors (vacuous checks fail), negative
controls (missed controls fail), seeds (``--ncverify-seed`` changes the examples
reproducibly) and the local-constant pool (switched off in theorem sessions)."""

from __future__ import annotations

import json

# imported here, once: pytester's in-process runs restore sys.modules afterwards, and numpy
# cannot be imported twice in one process
import mpmath  # noqa: F401
import numpy  # noqa: F401
import sympy  # noqa: F401

pytest_plugins = ["pytester"]

SPEC = """
import pytest
from hypothesis import given, strategies as st
from ncverify.spec import Assumption, Claim, Control, Floor, Source, TheoremSpec, register
from ncverify.pytest_plugin import hypothesis_settings


class Point:
    def __init__(self, x, h):
        self.x, self.h, self.inputs = x, h, {"x": x, "h": h}


SPEC = register(TheoremSpec(
    id="toy-floor", title="x <= 1 when h < 1", source="toy", provenance="paper",
    assumptions=(Assumption("H", "h < 1", "h < 1"),),
    claims=(Claim("c", "x", "<=", "1"),),
    measurement=lambda p: {"x": p.x, "h": p.h},
    controls=(Control("tight", "tighten", claim="c", factor=0.5),),
    floor=Floor(min_in_scope=3, max_undecided_fraction=0.2),
), replace=True)

points = st.builds(Point, st.floats(0, 1), st.floats(0, 2))
"""


def _run(pytester, body, *args):
    pytester.makepyfile(test_toy=SPEC + body)
    return pytester.runpytest("-p", "no:cacheprovider", *args)


def test_a_check_that_is_mostly_outside_fails_as_vacuous(pytester):
    result = _run(
        pytester,
        """
@pytest.mark.ncverify_theorem("toy-floor")
@hypothesis_settings(max_examples=30)
@given(p=points)
def test_toy(p, ncverify_record):
    ncverify_record(SPEC.check(p, seed=0, inputs=p.inputs))
""",
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*vacuous check of 'toy-floor': * outside or inconclusive*"])


def test_in_scope_draws_pass_the_floor_and_catch_the_control(pytester):
    result = _run(
        pytester,
        """
inside = st.builds(Point, st.floats(0, 1), st.floats(0, 0.9))

@pytest.mark.ncverify_theorem("toy-floor", controls=True)
@hypothesis_settings(max_examples=30)
@given(p=inside)
def test_toy(p, ncverify_record):
    ncverify_record(SPEC.check(p, seed=0, inputs=p.inputs))
""",
    )
    result.assert_outcomes(passed=1)


def test_a_missed_control_fails_the_test(pytester):
    result = _run(
        pytester,
        """
low = st.builds(Point, st.floats(0, 0.4), st.floats(0, 0.9))  # x <= 0.5: never refutes 'tight'

@pytest.mark.ncverify_theorem("toy-floor", controls=True)
@hypothesis_settings(max_examples=30)
@given(p=low)
def test_toy(p, ncverify_record):
    ncverify_record(SPEC.check(p, seed=0, inputs=p.inputs))
""",
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*negative controls of 'toy-floor' missed*: tight*"])


def test_refuting_a_control_records_the_shrunk_instance(pytester):
    result = _run(
        pytester,
        """
@pytest.mark.ncverify_theorem("toy-floor", min_in_scope=0)
def test_control(ncverify_control):
    record = ncverify_control(SPEC, "tight", st.builds(Point, st.floats(0, 1), st.just(0.5)))
    assert record["caught"] and record["inputs"]["x"] > 0.5


@pytest.mark.ncverify_theorem("toy-floor", min_in_scope=0)
def test_missed(ncverify_control):
    ncverify_control(SPEC, "tight", st.builds(Point, st.floats(0, 0.4), st.just(0.5)),
                     max_examples=20)
""",
        "--ncverify-report=out",
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*negative control 'tight' of 'toy-floor' was not caught*"])
    report = json.loads((pytester.path / "out" / "report.json").read_text())
    (section,) = [t for t in report["theorems"] if t["id"] == "toy-floor"]
    (control,) = section["controls"]
    assert control["status"] == "caught" and control["shrunk"]["inputs"]["x"] > 0.5


SEEDED = """
import json, os
from hypothesis import given, strategies as st
from ncverify.pytest_plugin import hypothesis_settings

@hypothesis_settings(max_examples=5)
@given(st.integers(0, 10**9))
def test_draws(x):
    with open(os.environ["DRAWS"], "a") as f:
        f.write(json.dumps(x) + "\\n")
"""


def _draws(pytester, tmp_path, name, *args):
    path = tmp_path / name
    pytester.makepyfile(test_seeded=SEEDED)
    pytester.runpytest("-p", "no:cacheprovider", *args).assert_outcomes(passed=1)
    return path.read_text().split()


def test_the_seed_option_changes_the_examples_reproducibly(pytester, tmp_path, monkeypatch):
    monkeypatch.delenv("NCVERIFY_SEED", raising=False)
    runs = {}
    for name, seed in (("a", "1"), ("b", "1"), ("c", "2")):
        monkeypatch.setenv("DRAWS", str(tmp_path / name))
        runs[name] = _draws(pytester, tmp_path, name, f"--ncverify-seed={seed}")
    assert runs["a"] == runs["b"]
    assert runs["a"] != runs["c"]


def test_the_local_constant_pool_is_switched_off_in_theorem_sessions(pytester):
    pytester.makepyfile(
        test_pool="""
import pytest
from hypothesis.internal.conjecture import providers

MAGIC = 123456789  # a local constant hypothesis would otherwise draw

@pytest.mark.ncverify_theorem("anything", min_in_scope=0)
def test_pool():
    assert len(providers._get_local_constants()) == 0
"""
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
