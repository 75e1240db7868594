"""The pytest plugin through pytester: options, fixtures, markers, verdicts, failures."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy  # noqa: F401  (imported before pytester's module snapshot)
import pytest
import torch  # noqa: F401  (likewise: --ncverify-arch builds the plug-in in-process)
from _ncverify_synthetic import COUNTEREXAMPLE, SUITE, TINY_ARCH

from ncverify.pytest_plugin import PROFILE_ENV, SEED_ENV


@pytest.fixture(autouse=True)
def _default_environment(monkeypatch):
    """Each test starts from the built-in profile/seed defaults, whatever the outer run uses."""
    for name in ("NCVERIFY_PROFILE", "NCVERIFY_SEED", "NCVERIFY_ARCH"):
        monkeypatch.delenv(name, raising=False)


def test_help_documents_options_and_loads_nothing_heavy():
    code = (
        "import sys, pytest\n"
        "rc = pytest.main(['--help'])\n"
        "heavy = sorted(m for m in ('torch', 'cvxpy', 'sympy', 'matplotlib') if m in sys.modules)\n"
        "print('RESULT', rc, heavy, 'ncverify.pytest_plugin' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    assert "RESULT 0 [] True" in out
    for option in ("--ncverify-profile", "--ncverify-seed", "--ncverify-arch", "--ncverify-report"):
        assert option in out
    assert "--ncverify-progress" not in out  # internal option of `ncverify report`


def test_markers_are_registered(pytester):
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(
        ["@pytest.mark.ncverify_theorem(theorem_id, *):*", "@pytest.mark.ncverify_arch:*"]
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--ncverify-profile=huge"], "unknown ncverify profile 'huge'; choose one of ci, gpu"),
        (["--ncverify-seed=abc"], "seed 'abc' is not an integer"),
        (["--ncverify-seed=-3"], "seed -3 is negative"),
        (["--ncverify-arch=no colon"], "is not of the form 'package.module:factory'"),
        (["--ncverify-arch=pkg.mod:"], "is not of the form 'package.module:factory'"),
        (["--ncverify-arch=pkg/mod.py:build"], "is not of the form 'package.module:factory'"),
        (["--ncverify-report=afile.txt"], "exists and is not a directory"),
    ],
)
def test_invalid_option_values_are_usage_errors(pytester, args, message):
    pytester.makefile(".txt", afile="x")
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr.str()


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("env", "$NCVERIFY_PROFILE: unknown ncverify profile 'bogus'"),
        ("ini", "ini ncverify_profile: unknown ncverify profile 'bogus'"),
    ],
)
def test_invalid_env_and_ini_defaults_are_usage_errors(pytester, monkeypatch, source, message):
    monkeypatch.delenv(PROFILE_ENV, raising=False)
    if source == "env":
        monkeypatch.setenv(PROFILE_ENV, "bogus")
    else:
        pytester.makeini("[pytest]\nncverify_profile = bogus\n")
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr.str()


@pytest.mark.parametrize(
    "marker",
    [
        "ncverify_theorem()",
        "ncverify_theorem('  ')",
        "ncverify_theorem(3)",
        "ncverify_theorem('a', theorem_id='a')",
    ],
)
def test_invalid_theorem_markers_are_usage_errors(pytester, marker):
    pytester.makepyfile(f"import pytest\n@pytest.mark.{marker}\ndef test_x(): pass\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "ncverify_theorem takes one non-empty theorem id string" in result.stderr.str()


def test_fixtures_see_the_options_and_the_environment_is_restored(pytester, monkeypatch):
    monkeypatch.delenv(PROFILE_ENV, raising=False)
    monkeypatch.delenv(SEED_ENV, raising=False)
    pytester.mkpydir("pkg")
    pytester.path.joinpath("pkg", "nets.py").write_text(TINY_ARCH)
    monkeypatch.syspath_prepend(str(pytester.path))
    pytester.makepyfile("""
        import os
        import pytest

        @pytest.mark.ncverify_arch
        def test_values(ncverify_profile, ncverify_seed, ncverify_arch):
            assert ncverify_profile.name == "thorough"
            assert ncverify_seed == 7
            assert ncverify_arch == "pkg.nets:build"
            assert os.environ["NCVERIFY_PROFILE"] == "thorough"
            assert os.environ["NCVERIFY_SEED"] == "7"
    """)
    result = pytester.runpytest(
        "--ncverify-profile=thorough",
        "--ncverify-seed=7",
        "--ncverify-arch=pkg.nets:build",
        "-m",
        "ncverify_arch",
    )
    result.assert_outcomes(passed=1)
    assert PROFILE_ENV not in os.environ and SEED_ENV not in os.environ


def test_ini_and_env_defaults(pytester, monkeypatch):
    monkeypatch.delenv(PROFILE_ENV, raising=False)
    monkeypatch.setenv(SEED_ENV, "11")
    pytester.makeini("[pytest]\nncverify_profile = gpu\nncverify_seed = 5\n")
    pytester.makepyfile("""
        def test_values(ncverify_profile, ncverify_seed, ncverify_arch):
            assert (ncverify_profile.name, ncverify_seed, ncverify_arch) == ("gpu", 11, None)
    """)
    pytester.runpytest().assert_outcomes(passed=1)
    assert os.environ[SEED_ENV] == "11"


def test_a_recorded_counterexample_fails_the_test_and_shows_in_the_summary(pytester):
    pytester.makepyfile(test_bad=COUNTEREXAMPLE)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*ncverify: 1 failing evaluation(s) recorded (counterexample); last: theorem "
            "'syn-bad', claims failed: c1*",
            "*ncverify verdicts (profile ci, seed 20250124)*",
            "theorem * tests * failed * confirmed * outside * counterexample * inconclusive",
            "syn-bad * 1 * 1 * 0 * 0 * 1 * 0",
        ]
    )


def test_record_validates_and_stores_plain_json(pytester):
    pytester.makepyfile("""
        import numpy as np
        import pytest
        from ncverify import InvalidInput
        from ncverify.spec import AssumptionOutcome, ClaimOutcome, Evaluation

        def build(inputs):
            return Evaluation.build(
                theorem_id="t", source="s", provenance="derived", inputs=inputs,
                assumptions=[AssumptionOutcome("H", "checked", True)],
                claims=[ClaimOutcome("c", 0.5, 1.0, held=True)])

        def test_record(ncverify_record, request):
            with pytest.raises(InvalidInput, match="expects an ncverify Evaluation, got dict"):
                ncverify_record({"verdict": "confirmed"})
            with pytest.raises(InvalidInput, match="'t' holds a value that cannot be stored"):
                ncverify_record(build({"f": object()}))
            ncverify_record(build({"n": np.int64(3), "x": np.float64(0.5),
                                   "v": np.arange(2), "nan": float("nan")}))
            (stored,) = [v for k, v in request.node.user_properties
                         if k == "ncverify_evaluation"]
            assert stored["inputs"] == {"n": 3, "x": 0.5, "v": [0, 1], "nan": "nan"}
            assert type(stored["inputs"]["n"]) is int and type(stored["inputs"]["x"]) is float
    """)
    pytester.runpytest().assert_outcomes(passed=1)


def test_a_crash_still_leaves_a_checkpoint_report(pytester):
    pytester.makeconftest("import ncverify.pytest_plugin._collector as c\nc.CHECKPOINT_S = 0.0\n")
    pytester.makepyfile(
        test_crash=COUNTEREXAMPLE.replace("2.0, 1.0", "0.5, 1.0")
        + """

def test_zz_crash():
    os._exit(3)
""".replace("def test_zz", "import os\n\n\ndef test_zz")
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--ncverify-report=out")
    assert result.ret == 3
    assert not (pytester.path / "out" / "report.json").exists()  # never a partial one there
    report = json.loads((pytester.path / "out" / "incomplete" / "report.json").read_text())
    assert report["complete"] is False
    assert report["incomplete_reasons"][0].startswith("checkpoint: the run was still in progress")
    assert [e["verdict"] for e in report["evaluations"]] == ["confirmed"]
    assert "INCOMPLETE" in (pytester.path / "out" / "incomplete" / "INCOMPLETE.txt").read_text()


def test_evaluations_are_stored_on_the_report(pytester):
    pytester.makepyfile(test_suite=SUITE)
    pytester.makeconftest("""
        import json
        def pytest_runtest_logreport(report):
            if report.when == "teardown":
                props = [v for k, v in report.user_properties if k == "ncverify_evaluation"]
                with open("props.jsonl", "a") as f:
                    f.write(json.dumps([report.nodeid, props]) + "\\n")
    """)
    result = pytester.runpytest("-p", "no:cacheprovider", "--ncverify-seed=3")
    result.assert_outcomes(passed=4, failed=1)
    lines = [json.loads(x) for x in (pytester.path / "props.jsonl").read_text().splitlines()]
    by_id = dict(lines)
    ok = by_id["test_suite.py::test_ok[2]"]
    assert len(ok) == 1 and ok[0]["test_id"] == "test_suite.py::test_ok[2]"
    assert ok[0]["seed"] == 3 and ok[0]["verdict"] == "outside" and ok[0]["claim_held"] is True
    hyp = by_id["test_suite.py::test_hyp"]
    # hypothesis stops exploring at the first failure, shrinks, and replays the minimal
    # example last: the last record is a counterexample
    assert len(hyp) >= 2 and hyp[-1]["verdict"] == "counterexample"
    assert all(e["test_id"] == "test_suite.py::test_hyp" for e in hyp)
