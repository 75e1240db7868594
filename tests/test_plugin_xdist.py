"""pytest-xdist: `-n 2` produces exactly the evaluations and verdict table of a serial run."""

from __future__ import annotations

import json

import pytest
from _ncverify_synthetic import SUITE

from ncverify.report import environment


@pytest.fixture(autouse=True)
def _default_environment(monkeypatch):
    """Each test starts from the built-in profile/seed defaults, whatever the outer run uses."""
    for name in ("NCVERIFY_PROFILE", "NCVERIFY_SEED", "NCVERIFY_ARCH"):
        monkeypatch.delenv(name, raising=False)


def _table(result) -> list[str]:
    lines = result.stdout.lines
    start = next(i for i, ln in enumerate(lines) if "ncverify verdicts" in ln)
    return [ln.strip() for ln in lines[start : start + 4]]


def test_xdist_run_matches_serial_run(pytester):
    environment()  # warm the cached environment probe outside pytester's module snapshot
    pytester.makepyfile(test_suite=SUITE)
    serial = pytester.runpytest("-p", "no:cacheprovider", "--ncverify-report=serial")
    parallel = pytester.runpytest("-p", "no:cacheprovider", "-n", "2", "--ncverify-report=parallel")
    serial.assert_outcomes(passed=4, failed=1)
    parallel.assert_outcomes(passed=4, failed=1)
    assert _table(serial) == _table(parallel)
    assert any(ln.startswith("syn-hyp") for ln in _table(serial))
    reports = [
        json.loads((pytester.path / d / "report.json").read_text()) for d in ("serial", "parallel")
    ]
    for key in ("evaluations", "counterexamples", "verdicts", "theorems"):
        assert reports[0][key] == reports[1][key], key
    assert reports[0]["complete"] and reports[1]["complete"]
    assert len({e["test_id"] for e in reports[1]["evaluations"]}) == 5
    assert sum(c["shrunk"] for c in reports[1]["counterexamples"]) == 1
