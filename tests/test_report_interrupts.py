"""Fault injection: a report directory survives interruption (issue 14, docs/plugin.md).

A throwaway suite of four trivial theorem tests runs through ``ncverify report`` (or plain
``pytest --ncverify-report``); one test can hold the run (``TINY_HOLD``) and a conftest
can pause the final write (``TINY_PAUSE``) so that a signal lands exactly there. After
every fault: the previous complete report is byte for byte what it was, the new state is
in ``DIR/incomplete/`` and marked incomplete, and no process of the run is left.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="signals, /proc and renameat2: Linux"
)

SUITE = """
import os
import pathlib
import time

import pytest
from ncverify.spec import AssumptionOutcome, ClaimOutcome, Evaluation


def make(q):
    return Evaluation.build(
        theorem_id="tiny", source="synthetic", provenance="derived",
        assumptions=[AssumptionOutcome("H", "checked", True, {"q": q}, "always")],
        claims=[ClaimOutcome("c", q, 1.0, "<=", held=q <= 1.0, expression="1")],
        inputs={"q": q})


@pytest.mark.ncverify_theorem("tiny")
@pytest.mark.parametrize("i", range(3))
def test_quick(ncverify_record, i):
    ncverify_record(make(0.25 * i + float(os.environ.get("TINY_SHIFT", "0"))))


def test_zz_hold():
    hold = os.environ.get("TINY_HOLD")
    if hold:
        pathlib.Path(hold).write_text(str(os.getpid()))
        time.sleep(120)
"""

CONFTEST = """
import os
import pathlib
import time

if os.environ.get("TINY_CHECKPOINT"):  # a checkpoint report after every test
    import ncverify.pytest_plugin._collector as collector

    collector.CHECKPOINT_S = 0.0

if os.environ.get("TINY_PAUSE"):  # pause the final write after report.json and the plots
    import ncverify.report._render as render

    original = render.render_html

    def paused(report, *args, **kwargs):
        if report.get("complete"):
            pathlib.Path(os.environ["TINY_PAUSE"]).write_text(str(os.getpid()))
            time.sleep(120)
        return original(report, *args, **kwargs)

    render.render_html = paused
"""


def _env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("NCVERIFY_", "TINY_", "PYTEST_XDIST", "PYTEST_CURRENT"))
    }
    return env | extra


def _snapshot(directory: Path) -> dict[str, bytes]:
    """Every file of the complete report (``incomplete/`` excluded), byte for byte."""
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file() and p.relative_to(directory).parts[0] != "incomplete"
    }


def _alive(marker: str) -> list[int]:
    """Processes whose command line mentions ``marker`` (this test's directory)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if marker in cmdline:
                pids.append(int(entry.name))
    return pids


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 90.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text():
            return int(path.read_text())
        if proc.poll() is not None:
            raise AssertionError(f"the run ended ({proc.returncode}) before {path.name}")
        time.sleep(0.05)
    raise AssertionError(f"{path.name} never appeared")


def _no_orphans(marker: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while _alive(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(marker), f"processes left: {_alive(marker)}"


@pytest.fixture(scope="module")
def complete_report(tmp_path_factory) -> Path:
    """A directory with a complete report made by ``ncverify report`` (copied per test)."""
    root = tmp_path_factory.mktemp("tiny-complete")
    (root / "suite").mkdir()
    (root / "suite" / "test_tiny.py").write_text(SUITE)
    (root / "suite" / "conftest.py").write_text(CONFTEST)
    proc = subprocess.run(
        [sys.executable, "-m", "ncverify.cli", "report", "--suite", "suite", "--out", "out"],
        cwd=root,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout
    (root / "out" / "figures").mkdir()  # another tool's figure: carried along, never lost
    (root / "out" / "figures" / "extra.png").write_bytes(b"\x89PNG extra")
    return root


@pytest.fixture
def workdir(complete_report, tmp_path) -> Path:
    shutil.copytree(complete_report, tmp_path / "w", symlinks=True)
    return tmp_path / "w"


def _start(workdir: Path, *, plain: bool = False, out: str = "out", **env: str):
    if plain:
        cmd = [sys.executable, "-m", "pytest", "suite", "-q", f"--ncverify-report={out}"]
    else:
        cmd = [sys.executable, "-m", "ncverify.cli", "report", "--suite", "suite", "--out", out]
    return subprocess.Popen(
        cmd,
        cwd=workdir,
        env=_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # a signal to the test runner's group never reaches it
    )


def _incomplete(workdir: Path) -> dict:
    directory = workdir / "out" / "incomplete"
    assert "INCOMPLETE" in (directory / "INCOMPLETE.txt").read_text()
    report = json.loads((directory / "report.json").read_text())
    assert report["complete"] is False and report["incomplete_reasons"]
    return report


# (what is signalled, signal, pause where, expected exit status of ncverify or None if killed,
#  expected text in the incomplete reasons)
FAULTS = [
    ("ncverify", signal.SIGINT, "hold", 130, "interrupted (KeyboardInterrupt"),
    ("ncverify", signal.SIGTERM, "hold", 143, "interrupted (KeyboardInterrupt"),
    ("ncverify", signal.SIGHUP, "hold", 129, "interrupted (KeyboardInterrupt"),
    ("ncverify", signal.SIGKILL, "hold", None, "interrupted (KeyboardInterrupt: signal SIGTERM"),
    ("pytest", signal.SIGKILL, "hold", 137, "killed by SIGKILL"),
    ("pytest", signal.SIGTERM, "hold", 130, "interrupted (KeyboardInterrupt: signal SIGTERM"),
    ("ncverify", signal.SIGTERM, "final write", 143, "writing the final report failed or was"),
    ("pytest", signal.SIGKILL, "final write", 137, "killed by SIGKILL"),
    ("ncverify", signal.SIGKILL, "final write", None, "writing the final report failed or was"),
]


@pytest.mark.parametrize(
    ("target", "sig", "where", "status", "reason"),
    FAULTS,
    ids=[f"{t}-{s.name}-{w.replace(' ', '-')}" for t, s, w, *_ in FAULTS],
)
def test_a_fault_keeps_the_previous_report_and_marks_the_new_one(
    workdir, target, sig, where, status, reason
):
    before = _snapshot(workdir / "out")
    flag = workdir / "flag"
    # a different run (its report differs from the previous one) that checkpoints after
    # every test, like a long run every CHECKPOINT_S seconds
    env = {"TINY_SHIFT": "0.01", "TINY_CHECKPOINT": "1"}
    env |= {"TINY_HOLD": str(flag)} if where == "hold" else {"TINY_PAUSE": str(flag)}
    proc = _start(workdir, **env)
    pytest_pid = _wait_for(flag, proc)
    os.kill(proc.pid if target == "ncverify" else pytest_pid, sig)
    try:
        _, err = proc.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    if status is not None:
        assert proc.returncode == status, err
    _no_orphans(str(workdir))  # the pytest child does not outlive ncverify, nor the reverse
    assert _snapshot(workdir / "out") == before  # the complete report, byte for byte
    report = _incomplete(workdir)
    assert any(reason in r for r in report["incomplete_reasons"]), report["incomplete_reasons"]
    assert report["evaluations"] and all(e["theorem_id"] == "tiny" for e in report["evaluations"])
    assert not list(workdir.glob(".out.ncverify-staging-*"))  # nothing left beside DIR


def test_a_second_run_on_the_same_directory_is_refused(workdir):
    before = _snapshot(workdir / "out")
    flag = workdir / "flag"
    first = _start(workdir, TINY_HOLD=str(flag))
    _wait_for(flag, first)
    second = subprocess.run(
        [sys.executable, "-m", "ncverify.cli", "report", "--suite", "suite", "--out", "out"],
        cwd=workdir,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    plain = subprocess.run(
        [sys.executable, "-m", "pytest", "suite", "-q", "--ncverify-report=out"],
        cwd=workdir,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    os.kill(first.pid, signal.SIGINT)
    first.communicate(timeout=300)
    assert second.returncode == 2
    assert "ncverify: error: another ncverify run is writing the report directory" in (
        second.stderr
    )
    assert f"(pid {first.pid}, started " in second.stderr
    assert plain.returncode == pytest.ExitCode.USAGE_ERROR
    assert "another ncverify run is writing the report directory" in plain.stderr
    assert first.returncode == 130
    assert _snapshot(workdir / "out") == before
    assert len(_incomplete(workdir)["evaluations"]) == 3  # the first run's, not mixed


def test_a_completed_run_replaces_the_report_and_keeps_foreign_entries(workdir):
    before = _snapshot(workdir / "out")
    (workdir / "out" / "incomplete").mkdir()  # a stale partial report: superseded
    (workdir / "out" / "incomplete" / "report.json").write_text("{}")
    proc = _start(workdir, TINY_SHIFT="0.01")
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    after = _snapshot(workdir / "out")
    assert after["figures/extra.png"] == before["figures/extra.png"]
    assert after["report.json"] != before["report.json"]
    assert json.loads(after["report.json"])["complete"] is True
    assert sorted(after) == sorted(before)  # same plots (one claim), log, renderings
    assert not (workdir / "out" / "incomplete").exists()


def test_plain_pytest_killed_leaves_its_last_checkpoint_beside_the_complete_report(workdir):
    """SIGKILL of a plain ``pytest --ncverify-report`` run: nothing runs in the killed
    process, but its last checkpoint is already in DIR/incomplete/ (marked); the staging
    directory it leaves is cleared by the next run on the directory."""
    before = _snapshot(workdir / "out")
    flag = workdir / "flag"
    proc = _start(workdir, plain=True, TINY_HOLD=str(flag), TINY_CHECKPOINT="1")
    _wait_for(flag, proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    assert _snapshot(workdir / "out") == before
    report = _incomplete(workdir)
    assert report["incomplete_reasons"][0].startswith("checkpoint: the run was still in progress")
    assert len(report["evaluations"]) == 3
    (staging,) = workdir.glob(".out.ncverify-staging-*")
    nxt = _start(workdir)
    _, err = nxt.communicate(timeout=300)
    assert nxt.returncode == 0, err
    assert not staging.exists()


def test_a_run_killed_outright_is_recovered_by_the_next_run(workdir):
    """SIGKILL of ncverify and pytest at once (the whole process group): the next run on
    the directory moves what they left (pytest.log) to DIR/incomplete/, marked."""
    before = _snapshot(workdir / "out")
    flag = workdir / "flag"
    proc = _start(workdir, TINY_HOLD=str(flag))
    pytest_pid = _wait_for(flag, proc)
    os.kill(pytest_pid, signal.SIGSTOP)  # frozen: it cannot react to its parent's death
    os.kill(proc.pid, signal.SIGKILL)
    os.kill(pytest_pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    _no_orphans(str(workdir))
    assert _snapshot(workdir / "out") == before
    (staging,) = workdir.glob(".out.ncverify-staging-*")
    flag2 = workdir / "flag2"
    nxt = _start(workdir, TINY_HOLD=str(flag2))
    _wait_for(flag2, nxt)
    recovered = workdir / "out" / "incomplete"
    assert (
        "killed before it finished (found by the next run)"
        in (recovered / "INCOMPLETE.txt").read_text()
    )
    assert (recovered / "pytest.log").exists() and not staging.exists()
    os.kill(nxt.pid, signal.SIGINT)
    nxt.communicate(timeout=300)
    assert nxt.returncode == 130
    assert _snapshot(workdir / "out") == before


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_plain_pytest_interrupted_writes_its_partial_report_beside_the_complete_one(workdir, sig):
    before = _snapshot(workdir / "out")
    flag = workdir / "flag"
    proc = _start(workdir, plain=True, TINY_HOLD=str(flag))
    _wait_for(flag, proc)
    os.kill(proc.pid, sig)
    out, _ = proc.communicate(timeout=300)
    assert _snapshot(workdir / "out") == before
    report = _incomplete(workdir)
    assert report["incomplete_reasons"][0].startswith("interrupted (KeyboardInterrupt")
    assert "ncverify: INCOMPLETE report in out/incomplete (marked;" in out
