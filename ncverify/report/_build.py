"""Run reports: ``report.json``, ``report.md`` and ``report.html`` (see ``docs/plugin.md``).

:func:`build_report` turns what the pytest plugin gathered (test outcomes, each
with the evaluation dicts it recorded) into one JSON-safe dict;
:func:`write_report` writes it, atomically, with its markdown and HTML
renderings and ratio plots. Theorem metadata comes from the registry
``ncverify.spec`` when a theorem id is registered there, from the evaluations
otherwise. torch, cvxpy and matplotlib are imported only while a report is
written, and their absence is tolerated.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import sys
import tempfile
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from ..spec import Evaluation, json_safe
from ._sections import FAILING, VERDICTS, registry_entries, theorem_section

__all__ = [
    "SCHEMA_VERSION",
    "atomic_write",
    "build_report",
    "environment",
    "evaluations_from_report",
    "format_verdict_table",
    "load_report",
    "reproduce_command",
    "verdict_rows",
    "write_report",
]

SCHEMA_VERSION = 2

_PACKAGES = (
    "ncverify",
    "torch",
    "cvxpy",
    "sympy",
    "hypothesis",
    "numpy",
    "scipy",
    "pytest",
    "pytest-xdist",
    "matplotlib",
    "ray",
)
_EXTRA_KEYS = ("sequence", "shrunk")
# Linux device nodes of the NVIDIA (CUDA) and AMD (ROCm) drivers: without any of them
# torch.cuda.is_available() is False, so torch need not be imported to say so.
_GPU_NODES = ("/dev/nvidiactl", "/dev/nvidia0", "/proc/driver/nvidia", "/dev/kfd")


def atomic_write(path: str | os.PathLike, data: bytes | str) -> Path:
    """Write ``data`` to ``path`` atomically: temp file in the same directory, fsync, replace.

    Readers see the old file or the new one, never a partial one; on any error
    the temporary file is removed and the old file is left untouched.
    """
    path = Path(path)
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:  # make the rename itself durable (best effort; not possible everywhere)
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass
    return path


@lru_cache(maxsize=1)
def environment() -> dict[str, Any]:
    """Versions, solvers and machine of this process; missing packages give ``None``."""
    packages = {}
    for name in _PACKAGES:
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = None
    solvers = None
    try:
        import cvxpy

        solvers = sorted(cvxpy.installed_solvers())
    except Exception:  # absent or broken: reported as None
        pass
    gpu: dict[str, Any] = {"available": False, "devices": [], "cuda": None}
    if (
        sys.platform.startswith("linux")
        and "torch" not in sys.modules
        and not any(os.path.exists(p) for p in _GPU_NODES)
    ):
        return _environment(packages, solvers, gpu)  # no GPU driver: skip importing torch
    try:
        import torch

        if torch.cuda.is_available():
            gpu = {
                "available": True,
                "cuda": torch.version.cuda,
                "devices": [
                    torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())
                ],
            }
    except Exception:
        gpu["available"] = None
    return _environment(packages, solvers, gpu)


def _environment(packages: dict, solvers: list | None, gpu: dict) -> dict[str, Any]:
    from ..exec import BACKEND_ENV, RAY_ADDRESS_ENV  # where the training runs executed

    backend = os.environ.get(BACKEND_ENV) or "local"
    return {
        "execution": {"backend": backend, "ray_address": os.environ.get(RAY_ADDRESS_ENV)},
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "packages": packages,
        "cvxpy_solvers": solvers,
        "machine": {
            "platform": platform.platform(),
            "machine": platform.machine(),
            "processor": platform.processor(),
            "cpu_count": os.cpu_count(),
            "gpu": gpu,
        },
    }


def _iso(t: float | None) -> str | None:
    return None if t is None else datetime.fromtimestamp(t, timezone.utc).isoformat()


def reproduce_command(
    test_id: str, *, seed: int | None, profile: str, architecture: str | None = None
) -> str:
    """Shell command re-running one test with the run's seed, profile and architecture."""
    parts = ["pytest", shlex.quote(test_id), f"--ncverify-profile={profile}"]
    if seed is not None:
        parts.append(f"--ncverify-seed={seed}")
    if architecture:
        parts.append(shlex.quote(f"--ncverify-arch={architecture}"))
    return " ".join(parts)


def verdict_rows(tests: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per theorem: number of tests, failed tests and the count of each verdict."""
    rows: dict[str, dict[str, Any]] = {}

    def row(theorem: str) -> dict[str, Any]:
        return rows.setdefault(
            theorem,
            {"theorem": theorem, "tests": set(), "failed_tests": set(), **{v: 0 for v in VERDICTS}},
        )

    for t in tests:
        theorems = {t.get("theorem")} | {e.get("theorem_id") for e in t.get("evaluations", ())}
        for theorem in sorted(x for x in theorems if x):
            r = row(theorem)
            r["tests"].add(t["nodeid"])
            if t.get("outcome") in ("failed", "error"):
                r["failed_tests"].add(t["nodeid"])
        for e in t.get("evaluations", ()):
            row(e["theorem_id"])[e["verdict"]] += 1
    out = []
    for theorem in sorted(rows):
        r = rows[theorem]
        out.append({**r, "tests": len(r["tests"]), "failed_tests": len(r["failed_tests"])})
    return out


def format_verdict_table(rows: list[Mapping[str, Any]]) -> str:
    """Plain-text table of :func:`verdict_rows` (terminal summary, ``ncverify report``)."""
    head = ["theorem", "tests", "failed", *VERDICTS]
    body = [
        [str(r["theorem"]), str(r["tests"]), str(r["failed_tests"]), *(str(r[v]) for v in VERDICTS)]
        for r in rows
    ]
    widths = [max(len(x) for x in col) for col in zip(head, *body, strict=True)]
    lines = []
    for cells in (head, *body):
        rest = (c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))
        lines.append("  ".join([cells[0].ljust(widths[0]), *rest]))
    return "\n".join(lines)


def build_report(
    *,
    tests: Iterable[Mapping[str, Any]],
    profile: str,
    seed: int | None,
    architecture: str | None = None,
    started: float | None = None,
    finished: float | None = None,
    complete: bool = True,
    incomplete_reasons: Iterable[str] = (),
    exitstatus: int | None = None,
    command: Iterable[str] = (),
    rootdir: str = "",
    profile_settings: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Assemble the JSON-safe report dict from the plugin's per-test records.

    ``profile_settings``: the fields of the run's profile (recorded as they were).

    Each test record has ``nodeid``, ``outcome``, ``duration``, ``theorem``
    (marker id or None), ``hypothesis`` (bool), ``message`` and ``evaluations``
    (``Evaluation.to_dict()`` dicts in recording order).
    """
    tests = sorted((dict(t) for t in tests), key=lambda t: t["nodeid"])
    evaluations = []
    for t in tests:
        evs = [dict(e, sequence=i, shrunk=False) for i, e in enumerate(t.get("evaluations", ()))]
        if t.get("hypothesis") and t.get("outcome") == "failed" and not t.get("failed_by_plugin"):
            ces = [e for e in evs if e["verdict"] in FAILING]
            if ces:  # hypothesis failed the test: it replays the minimal example last
                ces[-1]["shrunk"] = True
        evaluations.extend(evs)
    evaluations.sort(key=lambda e: (e["theorem_id"], e.get("test_id", ""), e["sequence"]))
    ids = sorted(
        {e["theorem_id"] for e in evaluations} | {t["theorem"] for t in tests if t.get("theorem")}
    )
    registry, registry_error = registry_entries(ids)
    theorems = []
    for theorem_id in ids:
        evs = [e for e in evaluations if e["theorem_id"] == theorem_id]
        ts = [
            t
            for t in tests
            if t.get("theorem") == theorem_id
            or any(e["theorem_id"] == theorem_id for e in t.get("evaluations", ()))
        ]
        records = [c for t in ts for c in t.get("controls", ()) if c["theorem_id"] == theorem_id]
        # a control is caught on any record of its theorem: a weakened hypothesis is refuted
        # by runs outside the real theorem's scope (its robustness records)
        catches = [e for e in evaluations if e["theorem_id"].partition("/")[0] == theorem_id]
        section = theorem_section(theorem_id, evs, ts, registry.get(theorem_id), records, catches)
        theorems.append(section)
    counterexamples = [
        {
            "theorem_id": e["theorem_id"],
            "verdict": e["verdict"],
            "test_id": e.get("test_id", ""),
            "sequence": e["sequence"],
            "shrunk": e["shrunk"],
            "seed": e.get("seed"),
            "reason": e.get("reason", ""),
            "inputs": e.get("inputs", {}),
            "architecture": e.get("architecture", ""),
            "claims": e["claims"],
            "assumptions": e["assumptions"],
            "reproduce": reproduce_command(
                e.get("test_id", ""), seed=seed, profile=profile, architecture=architecture
            ),
        }
        for e in evaluations
        if e["verdict"] in FAILING
    ]
    totals: dict[str, int] = {"tests": len(tests)}
    for t in tests:
        key = t.get("outcome") or "not_run"
        totals[key] = totals.get(key, 0) + 1
    settings = dict(profile_settings or {})
    report = {
        "schema": "ncverify-report",
        "schema_version": SCHEMA_VERSION,
        "complete": bool(complete),
        "incomplete_reasons": list(incomplete_reasons),
        "exitstatus": exitstatus,
        "started": _iso(started),
        "finished": _iso(finished),
        "duration_s": None if started is None or finished is None else finished - started,
        "profile": profile,
        "profile_settings": settings,
        "seed": seed,
        "architecture": architecture,
        "command": list(command),
        "rootdir": rootdir,
        "environment": environment(),
        "registry_error": registry_error,
        "totals": totals,
        "verdicts": verdict_rows(tests),
        "theorems": theorems,
        "counterexamples": counterexamples,
        "tests": [
            {
                k: t.get(k)
                for k in (
                    "nodeid",
                    "outcome",
                    "duration",
                    "theorem",
                    "hypothesis",
                    "failed_by_plugin",
                    "message",
                )
            }
            | {"evaluations": len(t.get("evaluations", ()))}
            for t in tests
        ],
        "evaluations": evaluations,
    }
    return json_safe(report)


def write_report(
    directory: str | os.PathLike,
    report: Mapping[str, Any],
    *,
    plots: bool = True,
    figures_dir: str | os.PathLike | None = None,
) -> list[Path]:
    """Write report.json, report.md, report.html (+ ratio plots) into ``directory``.

    Returns the paths written, HTML first. PNG figures found in ``figures_dir`` (default
    ``directory/figures/``; a run writing into a staging directory passes the report
    directory's) are embedded too. ``plots=False`` (checkpoints) skips the ratio plots and
    leaves existing plot files alone. Each file is written atomically; that the set is
    consistent is :class:`~ncverify.report.ReportRun`'s job (write into a staging directory,
    then swap it in).
    """
    from ._plots import ratio_plots
    from ._render import render_html, render_markdown

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    json_path = atomic_write(directory / "report.json", _json_text(report))  # data first
    figs = ratio_plots(report) if plots else []
    if plots:
        for old in directory.glob("ratio-*.png"):
            if old.name not in {p["file"] for p in figs}:
                old.unlink()
    for p in figs:
        atomic_write(directory / p["file"], p["png"])
    fig_dir = Path(figures_dir) if figures_dir is not None else directory / "figures"
    figures = (
        [
            {"file": f"figures/{f.name}", "caption": f.stem, "png": f.read_bytes()}
            for f in sorted(fig_dir.glob("*.png"))
        ]
        if fig_dir.is_dir()
        else []
    )
    return [
        atomic_write(directory / "report.html", render_html(report, figs, figures)),
        atomic_write(directory / "report.md", render_markdown(report, figs, figures)),
        json_path,
    ]


def _json_text(report: Mapping[str, Any]) -> str:
    """Indented metadata, then one compact line per evaluation (a 300-example test is ~0.6 MB
    instead of ~1 MB, and still greppable line by line)."""
    head = {k: v for k, v in report.items() if k != "evaluations"}
    text = json.dumps(head, indent=1, allow_nan=False)
    lines = [
        json.dumps(e, separators=(",", ":"), allow_nan=False) for e in report.get("evaluations", ())
    ]
    body = ",\n  ".join(lines)
    return text[:-2] + ',\n "evaluations": [\n  ' + body + "\n ]\n}\n"


def load_report(path: str | os.PathLike) -> dict[str, Any]:
    """Read a ``report.json`` (or the directory holding one)."""
    path = Path(path)
    if path.is_dir():
        path = path / "report.json"
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def evaluations_from_report(report: Mapping[str, Any]) -> list[Evaluation]:
    """The report's evaluations as :class:`Evaluation` objects (report-only keys dropped)."""
    return [
        Evaluation.from_dict({k: v for k, v in e.items() if k not in _EXTRA_KEYS})
        for e in report["evaluations"]
    ]
