"""docs/theorems.md §6 works verbatim: its blocks make an installable theorem package.

The package is written from the page's code blocks (each names its file on its first line),
installed with ``pip install -e`` into a throwaway virtual environment that sees this
environment's packages through a ``.pth`` file (no network, and no other test sees the
entry point), then ``ncverify list`` and the package's own test run there with the ncverify
plugin. A deliberately wrong edit of the installed theorem must make that test fail.
"""

from __future__ import annotations

import json
import os
import re
import site
import subprocess
import sys
from pathlib import Path

import pytest
from _docs_blocks import code_blocks

PAGE = "theorems.md"
SECTION_FILES = (
    "pyproject.toml",
    "PROOF.md",
    "src/ufm_scale/theorems.py",
    "src/ufm_scale/strategies.py",
    "tests/test_ufm_scale.py",
)


def _files() -> dict[str, str]:
    """File name -> content, from the blocks whose first line names a file."""
    out = {}
    for language in ("python", "toml", "markdown"):
        for block in code_blocks(PAGE, language):
            first = block.splitlines()[0].strip()
            m = re.fullmatch(r"(?:#|<!--) ([\w./-]+\.(?:py|toml|md))(?: -->)?", first)
            if m:
                assert m.group(1) not in out, f"{m.group(1)} appears twice in {PAGE}"
                out[m.group(1)] = block
    return out


def test_the_page_has_every_file_of_the_package():
    assert sorted(_files()) == sorted(SECTION_FILES)
    tree = next(b for b in code_blocks(PAGE, "") if b.startswith("example-ufm-scale/"))
    for name in (*SECTION_FILES, "src/ufm_scale/__init__.py"):
        assert Path(name).name in tree, name


def _run(cmd, *, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NCVERIFY_", "PYTEST_"))}
    return subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path]:
    """(package directory, python of a throwaway venv where it is installed with -e)."""
    root = tmp_path_factory.mktemp("theorem-package")
    pkg = root / "example-ufm-scale"
    for name, text in _files().items():
        (pkg / name).parent.mkdir(parents=True, exist_ok=True)
        (pkg / name).write_text(text)
    (pkg / "src" / "ufm_scale" / "__init__.py").write_text("")
    venv = root / "venv"
    made = _run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=root)
    assert made.returncode == 0, made.stderr
    python = venv / ("Scripts" if os.name == "nt" else "bin") / "python"
    purelib = _run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], cwd=root
    )
    # this environment's packages (torch, ncverify, setuptools) become visible to the venv
    parents = [p for p in site.getsitepackages() if Path(p).is_dir()]
    (Path(purelib.stdout.strip()) / "zz_parent_env.pth").write_text(
        "".join(f"import site; site.addsitedir({p!r})\n" for p in parents)
    )
    pip = _run(
        [sys.executable, "-m", "pip", "--python", python, "install", "--no-deps",
         "--no-build-isolation", "--no-index", "-e", pkg],
        cwd=root,
    )  # fmt: skip
    assert pip.returncode == 0, pip.stdout + pip.stderr
    return pkg, python


def test_the_installed_package_registers_its_theorem(installed):
    pkg, python = installed
    listed = _run([python, "-m", "ncverify.cli", "list", "--json"], cwd=pkg)
    assert listed.returncode == 0, listed.stderr
    (info,) = [t for t in json.loads(listed.stdout) if t["id"] == "example-ufm-scale"]
    assert info["provenance"] == "derived"
    assert [a["status"] for a in info["assumptions"]] == ["checked", "checked"]
    assert sorted(c["name"] for c in info["claims"]) == ["scale-lower", "scale-upper"]


def test_the_worked_example_confirms_and_catches_every_control(installed):
    pkg, python = installed
    proc = _run(
        [python, "-m", "pytest", "tests", "-p", "no:cacheprovider", "--ncverify-profile=ci",
         "--ncverify-report=reports"],
        cwd=pkg,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads((pkg / "reports" / "report.json").read_text())
    assert report["complete"] is True
    evaluations = [e for e in report["evaluations"] if e["theorem_id"] == "example-ufm-scale"]
    verdicts = [e["verdict"] for e in evaluations]
    assert verdicts.count("confirmed") >= 20 and "outside" in verdicts
    assert not {"counterexample", "unexplained", "inconclusive"} & set(verdicts)
    outside = [e for e in evaluations if e["verdict"] == "outside"]
    assert all(e["inputs"]["tau"] > 0 for e in outside)  # only perturbed points are outside
    caught = {name for e in evaluations for name, hit in e["controls"].items() if hit}
    assert caught == {"n-for-sqrt-n", "lower-by-1pct", "any-point"}


def test_a_wrong_theorem_in_the_package_fails_its_test(installed):
    """Negative control of the whole route: the installed (editable) spec claims sqrt(n)
    where the truth is n... reversed: s = 1 - K n lam. The same test must fail."""
    pkg, python = installed
    theorems = pkg / "src" / "ufm_scale" / "theorems.py"
    original = theorems.read_text()
    assert 'SCALE = "1 - K*sqrt(n)*lam"' in original
    theorems.write_text(original.replace('SCALE = "1 - K*sqrt(n)*lam"', 'SCALE = "1 - K*n*lam"'))
    try:
        proc = _run(
            [python, "-m", "pytest", "tests", "-p", "no:cacheprovider", "--ncverify-profile=ci",
             "-x", "-q"],
            cwd=pkg,
        )  # fmt: skip
    finally:
        theorems.write_text(original)
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert re.search(r"(counterexample|unexplained)", proc.stdout), proc.stdout[-3000:]
