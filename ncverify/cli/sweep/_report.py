"""A sweep's report directory, written with :mod:`ncverify.report` (no second format).

Every run becomes one test record (``nodeid = "<study>::<key>"``) carrying the evaluations
it made, so :func:`ncverify.report.build_report` and :func:`~ncverify.report.write_report`
give the study its ``report.json`` / ``report.md`` / ``report.html`` (verdicts, the
per-assumption and per-claim tables, the study's figures from ``figures/``). ``summary.md``
adds what a study needs on top: the command, settings and times, and one verdict table
(:func:`~ncverify.report.format_verdict_table`) and one claim table per group of runs
(architecture, width, head depth), each computed by ``build_report`` on that group's runs.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from ...report import atomic_write, build_report, format_verdict_table, verdict_rows, write_report

__all__ = ["claim_rates", "test_records", "write_study_report"]


def test_records(configs, results) -> list[dict[str, Any]]:
    """One pytest-like test record per run (what ``build_report`` aggregates)."""
    return [
        {
            "nodeid": f"{c.experiment}::{c.key}",
            "outcome": "passed",
            "duration": r.get("wall_time_s"),
            "theorem": None,
            "hypothesis": False,
            "message": "" if r["outcome"] == "completed" else f"diverged at {r['diverged_step']}",
            "evaluations": r.get("evaluations", []),
        }
        for c, r in zip(configs, results, strict=True)
    ]


def _grouped(configs, results, groups: dict[str, str]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for c, t in zip(configs, test_records(configs, results), strict=True):
        out.setdefault(groups[c.key], []).append(t)
    return out


def claim_rates(configs, results, groups: dict[str, str]) -> dict[str, Any]:
    """Per group: ``{theorem id: {"verdicts": {...}, "claims": {name: {held, failed,
    undecided, ratio_median, ratio_max}}, "assumptions_failed": {...}}}``, as
    :func:`ncverify.report.build_report` counts them (ratio: measured/bound, > 1 = failed)."""
    out: dict[str, Any] = {}
    for group, tests in _grouped(configs, results, groups).items():
        report = build_report(tests=tests, profile="sweep", seed=None)
        out[group] = {
            t["id"]: {
                "verdicts": t["verdicts"],
                "claims": {
                    c["name"]: {
                        k: c.get(k)
                        for k in ("held", "failed", "undecided", "ratio_median", "ratio_max")
                    }
                    for c in t["claims"]
                },
                "assumptions_failed": {a["name"]: a["failed"] for a in t["assumptions"]},
            }
            for t in report["theorems"]
        }
    return out


def _md_table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _ratio(x) -> str:
    return "-" if x is None else f"{x:.3g}"


def _settings(cfg: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in cfg.items() if not k.startswith("_")}


def write_study_report(out: Path, *, study, cfg, configs, results, groups) -> list[Path]:
    """``report.{html,md,json}`` and ``summary.md`` in ``out``; returns the paths."""
    tests = test_records(configs, results)
    command = cfg.get("command", "")
    try:
        argv = shlex.split(command) if command.startswith("ncverify") else [command]
    except ValueError:
        argv = [command]
    report = build_report(
        tests=tests,
        profile=f"sweep:{study}",
        seed=configs[0].seed if configs else None,
        command=argv,
        profile_settings=_settings(cfg),
    )
    files = write_report(out, report)
    lines = [
        f"# ncverify sweep {study}",
        "",
        f"Command: `{command}`",
        "",
        f"Data: {cfg.get('data_description', '')}; N = {cfg.get('num_samples')}, "
        f"d = {cfg.get('input_dim')}, K = {cfg.get('num_classes')}.",
        "",
        f"Runs: {len(configs)} ({sum(r['outcome'] != 'completed' for r in results)} diverged); "
        f"CPU time of the runs {sum(r['cpu_time_s'] for r in results):.0f} s.",
        "",
        "## Verdicts of every run",
        "",
        "```",
        format_verdict_table(verdict_rows(tests)),
        "```",
        "",
    ]
    rates = claim_rates(configs, results, groups)
    for group, tests_g in _grouped(configs, results, groups).items():
        lines += [f"## {group}", "", "```", format_verdict_table(verdict_rows(tests_g)), "```", ""]
        for theorem, entry in rates[group].items():
            rows = [
                [
                    name,
                    str(c["held"]),
                    str(c["failed"]),
                    str(c["undecided"]),
                    _ratio(c["ratio_median"]),
                    _ratio(c["ratio_max"]),
                ]
                for name, c in entry["claims"].items()
            ]
            failed = ", ".join(f"{k} {v}" for k, v in entry["assumptions_failed"].items() if v)
            lines += [
                f"{theorem}: claims ({len(tests_g)} runs; hypotheses failed: {failed or 'none'})",
                "",
                _md_table(
                    [
                        "claim",
                        "held",
                        "failed",
                        "undecided",
                        "median measured/bound",
                        "worst measured/bound",
                    ],
                    rows,
                ),
                "",
            ]
    files.append(atomic_write(out / "summary.md", "\n".join(lines).rstrip() + "\n"))
    return files
