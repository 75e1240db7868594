"""The ``ncverify`` command line: list, report, check and exit codes."""

from __future__ import annotations

import argparse
import io
import json
import signal
import subprocess
import sys
import time
import types
from pathlib import Path

import pytest
from _ncverify_synthetic import COUNTEREXAMPLE, PASSING, TINY_ARCH

import ncverify
from ncverify.cli._main import SUBCOMMANDS, build_parser, main
from ncverify.cli._run import _Progress, _summarise


@pytest.fixture(autouse=True)
def _default_environment(monkeypatch):
    """Each test starts from the built-in profile/seed defaults, whatever the outer run uses."""
    for name in ("NCVERIFY_PROFILE", "NCVERIFY_SEED", "NCVERIFY_ARCH"):
        monkeypatch.delenv(name, raising=False)


def _ncverify(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ncverify.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _suite(root: Path, **files: str) -> Path:
    suite = root / "theorems"
    suite.mkdir()
    for name, text in files.items():
        (suite / f"{name}.py").write_text(text)
    return suite


@pytest.fixture
def fake_registry(monkeypatch):
    theorems = [
        types.SimpleNamespace(
            id="syn-b",
            title="Second",
            source="JSWM Thm 3.1",
            provenance="paper",
            family="jswm",
            assumptions=[
                types.SimpleNamespace(
                    name="H-rank", description="W_L full rank", status="not_checkable"
                )
            ],
            claims=[types.SimpleNamespace(name="NC1", relation="<=", expression="eps1**2")],
        ),
        types.SimpleNamespace(
            id="syn-a",
            title="First",
            source="derived §3",
            provenance="derived",
            assumptions=[],
            claims=[],
        ),
    ]
    fake = types.ModuleType("ncverify.spec")
    fake.all_theorems = lambda: list(theorems)
    monkeypatch.setitem(sys.modules, "ncverify.spec", fake)
    monkeypatch.setattr(ncverify, "spec", fake, raising=False)
    return theorems


def test_list_json(fake_registry, capsys):
    assert main(["list", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [t["id"] for t in data] == ["syn-a", "syn-b"]
    assert data[1]["assumptions"] == [
        {"name": "H-rank", "status": "not_checkable", "description": "W_L full rank"}
    ]
    assert data[1]["claims"] == [{"name": "NC1", "relation": "<=", "expression": "eps1**2"}]
    assert data[1]["provenance"] == "paper"


def test_list_text(fake_registry, capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "syn-b  [paper]  Second" in out
    assert "assumption H-rank" in out and "not checkable" in out and "W_L full rank" in out
    assert out.rstrip().endswith("2 theorems")


def test_list_without_registry_is_a_configuration_error(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ncverify.spec", None)  # import fails
    monkeypatch.delattr(ncverify, "spec", raising=False)
    assert main(["list"]) == 2
    assert "the theorem registry ncverify.spec cannot be imported" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["report", "--suite", "missing"], "no test suite at 'missing'"),
        (["report", "--profile", "huge"], "invalid choice: 'huge'"),
        (["report", "-n", "0"], "expected a positive integer or 'auto'"),
        (["report", "--seed", "x"], "seed 'x' is not an integer"),
        (["check", "--arch", "not valid"], "is not of the form 'package.module:factory'"),
        (["check", "--arch", "no-such-arch"], "unknown architecture 'no-such-arch'"),
        (
            ["check", "--arch", "no_such_module_xyz:build"],
            "cannot import module 'no_such_module_xyz'",
        ),
        (["check", "--arch", "json:__doc__"], "not a callable factory"),
        (["check"], "the following arguments are required: --arch"),
        ([], "the following arguments are required: COMMAND"),
    ],
)
def test_usage_errors_exit_2(tmp_path, monkeypatch, capsys, args, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "theorems").mkdir()
    assert main(args) == 2
    assert message in capsys.readouterr().err


def test_subcommands_are_registered_by_one_function_each():
    names = [f.__name__ for f in SUBCOMMANDS]
    assert names[:3] == ["add_list", "add_report", "add_check"]
    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert {"list", "report", "check"} <= set(sub.choices)
    assert len(sub.choices) == len(SUBCOMMANDS)


def test_check_does_not_default_to_the_reference_report_directory():
    parser = build_parser()
    assert parser.parse_args(["report"]).out == "reports"
    assert parser.parse_args(["check", "--arch", "m:f"]).out == "reports/check"


@pytest.mark.parametrize(
    ("rc", "counterexamples", "expected", "message"),
    [
        (0, 0, 0, None),
        (0, 2, 1, "2 failing evaluation(s) (counterexample) found"),
        (1, 0, 1, "FAILED t.py::x"),
        (1, 1, 1, "1 failing evaluation(s) (counterexample) found"),
        (2, 0, 2, "pytest exited with status 2 (collection error"),
        (3, 0, 2, "pytest exited with status 3"),
        (4, 0, 2, "pytest exited with status 4"),
        (5, 0, 2, "no tests were collected"),
    ],
)
def test_pytest_exit_statuses_are_mapped(tmp_path, capsys, rc, counterexamples, expected, message):
    log = tmp_path / "pytest.log"
    log.write_text("collecting\n=== short test summary info ===\nFAILED t.py::x - boom\n")
    report = {"verdicts": [], "complete": True, "counterexamples": [{}] * counterexamples}
    (tmp_path / "report.json").write_text(json.dumps(report))
    assert _summarise(rc, tmp_path, sys.stderr) == expected
    err = capsys.readouterr().err
    if message:
        assert message in err
    else:
        assert "counterexample" not in err and "error" not in err


def test_report_with_counterexample_exits_1(tmp_path):
    _suite(tmp_path, test_bad=COUNTEREXAMPLE)
    proc = _ncverify("report", "--out", "out", cwd=tmp_path)
    assert proc.returncode == 1
    assert "1 failing evaluation(s) (counterexample) found" in proc.stderr
    assert "FAILED theorems/test_bad.py::test_bad" in proc.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["counterexamples"][0]["reproduce"] == (
        "pytest theorems/test_bad.py::test_bad --ncverify-profile=ci --ncverify-seed=20250124"
    )


def test_check_runs_only_architecture_tests_on_the_given_factory(tmp_path):
    (tmp_path / "mynets.py").write_text(TINY_ARCH)
    _suite(
        tmp_path,
        test_arch=PASSING
        + """

@pytest.mark.ncverify_arch
@pytest.mark.ncverify_theorem("syn-arch")
def test_on_arch(ncverify_record, ncverify_arch):
    assert ncverify_arch == "mynets:build"
    ncverify_record(make("syn-arch", 0.5, 1.0, architecture=ncverify_arch))
""",
    )
    proc = _ncverify(
        "check",
        "--arch",
        "mynets:build",
        "--out",
        "chk",
        "--seed",
        "4",
        "--",
        "-p",
        "no:cacheprovider",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert "ncverify: 1/1 tests finished" in proc.stderr  # plain lines: stderr is not a TTY
    assert "\r" not in proc.stderr
    assert proc.stdout.splitlines()[1].split() == ["syn-arch", "1", "0", "1", "0", "0", "0", "0"]
    assert not (tmp_path / "chk" / ".progress").exists()
    report = json.loads((tmp_path / "chk" / "report.json").read_text())
    assert report["complete"] and report["seed"] == 4
    assert [t["nodeid"] for t in report["tests"]] == ["theorems/test_arch.py::test_on_arch"]
    assert report["architecture"] == "mynets:build"
    assert report["evaluations"][0]["architecture"] == "mynets:build"
    assert "-m ncverify_arch" in proc.stderr and "-p no:cacheprovider" in proc.stderr


class _Stream(io.StringIO):
    def __init__(self, tty: bool):
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_progress_is_a_bar_on_a_tty_and_plain_lines_otherwise():
    tty, plain = _Stream(True), _Stream(False)
    for stream in (tty, plain):
        bar = _Progress(stream)
        for done in (0, 1, 2, 3, 3, 4):
            bar.update(done, 4)
        bar.close()
    assert tty.getvalue().startswith("\r[------------------------------] 0/4 tests")
    assert "\r[##############################] 4/4 tests" in tty.getvalue()
    assert tty.getvalue().endswith("\n") and tty.getvalue().count("\n") == 1
    lines = plain.getvalue().splitlines()
    assert [ln.split(" tests")[0] for ln in lines] == [
        "ncverify: 0/4",
        "ncverify: 1/4",
        "ncverify: 2/4",
        "ncverify: 3/4",
        "ncverify: 4/4",
    ]


def test_ctrl_c_gives_130_and_an_incomplete_report(tmp_path):
    _suite(
        tmp_path,
        test_slow=PASSING
        + """

def test_zz_slow():
    import time
    time.sleep(120)
""",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "ncverify.cli", "report", "--out", "out"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    progress = tmp_path / f".out.ncverify-staging-{proc.pid}" / ".progress"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # wait until the three quick tests finished
        if progress.exists() and progress.read_text().startswith("3 "):
            break
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "stopped by SIGINT; partial report in " in err and "out/incomplete" in err
    assert not (tmp_path / "out" / "report.json").exists()  # no complete report before
    report = json.loads((tmp_path / "out" / "incomplete" / "report.json").read_text())
    assert report["complete"] is False and len(report["evaluations"]) == 3
    assert report["incomplete_reasons"][0].startswith("interrupted (KeyboardInterrupt")


def test_output_into_a_closed_pipe_exits_quietly():
    """`ncverify list | head -1`: the reader closes early; no traceback, status 0.

    The listing is replaced by one far larger than a pipe buffer, so the writer
    really meets a closed pipe.
    """
    script = (
        "import sys; from ncverify.cli import _list, main\n"
        "def flood(args):\n"
        "    for _ in range(100_000):\n"
        "        print('x' * 100)\n"
        "    return 0\n"
        "_list._cmd_list = flood\n"
        "sys.exit(main(['list']))\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    proc.stdout.readline()
    proc.stdout.close()
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    assert b"Traceback" not in err
