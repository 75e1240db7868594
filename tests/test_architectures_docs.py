"""docs/architectures.md: the protocol table is the code's, and its example works verbatim.

The slow tests run ``ncverify check`` for real (one training run each, ~40-60 s on a loaded
2-core machine): the documentation's ``MyNet`` copied verbatim, and the shipped
``examples/conv_digits.py`` on 8×8 images.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from _docs_blocks import DOCS, block_starting

from ncverify import InvalidArchitecture
from ncverify.nets import FACTORY_SIGNATURE, PROTOCOL_MEMBERS, ArchitectureFactory

REPO = Path(__file__).resolve().parents[1]
ROW = re.compile(r"^\| `([^`]+)` \| (yes|no) \|", re.M)


def _protocol_rows() -> dict[str, bool]:
    text = (DOCS / "architectures.md").read_text(encoding="utf-8")
    section = text[text.index("## The protocol") : text.index("## JSWM's architecture")]
    rows = {}
    for cell, required in ROW.findall(section):
        name = cell if cell.startswith("factory(") else re.split(r"[:(]", cell)[0]
        rows[name] = required == "yes"
    return rows


def test_the_protocol_table_is_the_code():
    rows = _protocol_rows()
    assert rows.pop(FACTORY_SIGNATURE) is True
    assert rows == PROTOCOL_MEMBERS


def test_the_factory_is_called_with_exactly_the_documented_arguments():
    seen = {}

    def factory(**kwargs):
        seen.update(kwargs)
        raise RuntimeError("stop")

    documented = re.findall(r"\w+", FACTORY_SIGNATURE.split("*,")[1])
    with pytest.raises(InvalidArchitecture, match="raised RuntimeError: stop"):
        ArchitectureFactory("f", "m:f", factory).build(
            input_shape=(3,), num_classes=2, num_samples=4, seed=0
        )
    assert sorted(seen) == sorted(documented)
    assert seen["input_shape"] == (3,)


def _ncverify(*args: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ncverify.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _mynet(tmp_path: Path, source: str | None = None) -> Path:
    pkg = tmp_path / "mypkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "mynet.py").write_text(source or block_starting("architectures.md", "# mypkg/mynet.py"))
    return tmp_path


def test_the_documented_network_passes_ncverify_check_verbatim(tmp_path):
    """Copied from the page, checked with the real theorem suite: it runs, and since MyNet
    declares neither its widths nor its activation's slope range, Theorem 4.4 is never
    *confirmed* (the undeclared hypotheses are named; engine rule 5) and no confirmation
    rests on a hypothesis that was not measured."""
    root = _mynet(tmp_path)
    proc = _ncverify(
        "check", "--arch", "mypkg.mynet:factory", "--suite", str(REPO / "theorems"),
        "--out", "out", cwd=root,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert "passes the protocol check on input_shape=(16,)" in proc.stderr
    report = json.loads((root / "out" / "report.json").read_text())
    verdicts = {(e["theorem_id"], e["verdict"]) for e in report["evaluations"]}
    assert {t for t, _ in verdicts} == {"jswm-4.4", "jswm-5.3"}
    nc1 = next(e for e in report["evaluations"] if e["theorem_id"] == "jswm-4.4")
    assert nc1["verdict"] in ("outside", "inconclusive"), nc1["verdict"]
    hypotheses = {a["name"]: (a["status"], a["held"]) for a in nc1["assumptions"]}
    assert hypotheses["wide_first_layer"] == ("not_checkable", None), hypotheses
    assert hypotheses["activation_slope"] == ("not_checkable", None), hypotheses
    _confirmed_only_on_measured_hypotheses(report)


def _confirmed_only_on_measured_hypotheses(report: dict) -> None:
    """An undeclared plug-in is never *confirmed* on a hypothesis it does not establish:
    every confirmed evaluation has each hypothesis checked (or a sufficient proxy) and held.
    jswm-4.4 (architecture hypotheses) is never confirmed here; jswm-5.3's hypotheses
    (stability, interpolation, output rank) are all measured on the trained run."""
    for e in report["evaluations"]:
        if e["theorem_id"] == "jswm-4.4":
            assert e["verdict"] != "confirmed", e["reason"]
        if e["verdict"] != "confirmed":
            continue
        for a in e["assumptions"]:
            sufficient = a["status"] == "proxied" and a["proxy"] == "sufficient"
            assert a["status"] == "checked" or sufficient, (e["theorem_id"], a)
            assert a["held"] is True, (e["theorem_id"], a)


def test_the_conv_example_is_trained_on_images(tmp_path):
    proc = _ncverify(
        "check", "--arch", "examples.conv_digits:factory", "--out", str(tmp_path / "out"),
        cwd=REPO,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert "passes the protocol check on input_shape=(1, 8, 8)" in proc.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["evaluations"]
    verdicts = {e["theorem_id"]: e["verdict"] for e in report["evaluations"]}
    assert verdicts["jswm-4.4"] == "outside", verdicts  # ReLU: Assumption 4.2 measured, fails
    slope = next(
        a for e in report["evaluations"] if e["theorem_id"] == "jswm-4.4"
        for a in e["assumptions"] if a["name"] == "activation_slope"
    )  # fmt: skip
    assert (slope["status"], slope["held"]) == ("checked", False)
    for e in report["evaluations"]:
        assert e["inputs"]["data"].endswith("as (1, 8, 8) images")
    _confirmed_only_on_measured_hypotheses(report)


BAD_PLUGINS = [
    (
        "copies",
        "[layer.weight for layer in self.head]",
        "[layer.weight.detach().clone() for layer in self.head]",
        r"head_weights\(\) returned matrices \[1, 2\] \(of 2\) that are not the network's own "
        r"parameters",
    ),
    (
        "old protocol",
        "def factory(*, input_shape, num_classes, num_samples):\n    (d,) = input_shape",
        "def factory(*, input_dim, num_classes, num_samples):\n    d = input_dim",
        r"does not accept input_shape: a factory is factory\(\*, input_shape, num_classes, "
        r"num_samples\); it takes input_dim",
    ),
    (
        "no data of that shape",
        "def factory(*, input_shape, num_classes",
        "def factory(*, input_shape=(3, 32, 32), num_classes",
        r"no data set has samples of shape \(3, 32, 32\): ncverify trains plug-ins on vectors",
    ),
    (
        "factory raises",
        "    (d,) = input_shape",
        "    raise RuntimeError('no GPU here')",
        r"factory 'mypkg.mynet:factory' raised RuntimeError: no GPU here \(called with "
        r"input_shape=\(16,\)",
    ),
    (
        "wrong width",
        "nn.Linear(width, K, bias=False)",
        "nn.Linear(width, K + 1, bias=False)",
        r"MyNet.forward on X of shape \(7, 16\) returned \(7, 5\); expected \(7, 4\)",
    ),
]


@pytest.mark.parametrize(
    ("case", "old", "new", "message"), BAD_PLUGINS, ids=[b[0] for b in BAD_PLUGINS]
)
def test_a_bad_plugin_is_refused_by_ncverify_check_before_pytest_runs(
    tmp_path, case, old, new, message
):
    source = block_starting("architectures.md", "# mypkg/mynet.py")
    assert old in source, case
    root = _mynet(tmp_path, source.replace(old, new))
    proc = _ncverify("check", "--arch", "mypkg.mynet:factory", "--out", "out", cwd=root)
    assert proc.returncode == 2
    assert re.search(r"ncverify: error: --arch mypkg.mynet:factory: .*" + message, proc.stderr), (
        proc.stderr
    )
    assert "running -m pytest" not in proc.stderr  # refused before the suite started
    assert not (root / "out").exists()


@pytest.mark.parametrize(
    ("arch", "message"),
    [
        ("nocolon", r"unknown architecture 'nocolon': not of the form 'package.module:factory' "
         r"and no entry point of that name in the group 'ncverify.architectures'; known names: "
         r".*pyramidal"),
        ("nosuchmodule_x:factory", r"architecture 'nosuchmodule_x:factory': no module "
         r"'nosuchmodule_x' on sys.path or in the working directory"),
        ("a b", r"architecture 'a b' is not of the form 'package.module:factory'"),
    ],
)  # fmt: skip
def test_a_malformed_ncverify_arch_fails_at_configuration(tmp_path, arch, message):
    (tmp_path / "test_x.py").write_text("def test_x():\n    raise AssertionError('ran')\n")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--ncverify-arch={arch}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == pytest.ExitCode.USAGE_ERROR
    assert re.search(message, proc.stderr), proc.stderr
    assert "ran" not in proc.stdout  # nothing was collected or run
    cli = _ncverify("check", "--arch", arch, "--out", "out", cwd=tmp_path)
    assert cli.returncode == 2 and "ncverify: error: --arch" in cli.stderr
