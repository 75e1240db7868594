"""Markdown and self-contained HTML renderings of a run report (see :mod:`ncverify.report`).

Every string that comes from a run (theorem ids, assumption names, test ids,
architectures, inputs, values) passes through :func:`html.escape` in HTML and
through :func:`_md` / a safe code fence in markdown. Images are embedded in the
HTML as base64 ``data:`` URIs and referenced by relative path in markdown.
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from ._sections import VERDICTS as _VERDICTS

__all__ = ["conditional_sentences", "render_html", "render_markdown"]

_LIMIT = 3  # counterexamples shown per test in md/HTML (all of them are in report.json)


def _fmt(x: Any) -> str:
    if x is None:
        return "-"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float):
        return f"{x:.4g}"
    return str(x)


def conditional_sentences(a: Mapping[str, Any]) -> list[str]:
    """E.g. "the claim held in 37 of the 40 runs where this assumption failed"."""
    out = []
    for key, label in (
        ("held", "held"),
        ("failed", "failed"),
        ("not_checkable", "was not checkable"),
        ("unsettled", "was left unsettled by its proxy"),
    ):
        n = a.get(key, 0)
        if not n:
            continue
        c = a[f"claim_when_{key}"]
        decided = c["held"] + c["failed"]
        if decided:
            s = f"the claim held in {c['held']} of the {decided} runs where this assumption {label}"
            if c["undecided"]:
                s += f" ({c['undecided']} more undecided)"
        else:
            s = (
                f"the claim could not be decided in any of the {n} runs where this "
                f"assumption {label}"
            )
        out.append(s)
    return out


def _execution(e: Mapping[str, Any]) -> str:
    backend = e.get("backend") or "local"
    if backend == "local":
        return "in the pytest process(es) (local backend)"
    return f"{backend} executor, cluster {e.get('ray_address') or 'local instance'}"


def _run_rows(r: Mapping[str, Any]) -> list[tuple[str, str]]:
    env = r.get("environment") or {}
    pk = env.get("packages") or {}
    machine = env.get("machine") or {}
    gpu = machine.get("gpu") or {}
    gpu_text = ", ".join(gpu.get("devices") or []) if gpu.get("available") else "none"
    return [
        (
            "status",
            "complete"
            if r["complete"]
            else "INCOMPLETE: " + "; ".join(r.get("incomplete_reasons") or []),
        ),
        ("profile", _fmt(r.get("profile"))),
        ("seed", _fmt(r.get("seed"))),
        ("architecture", _fmt(r.get("architecture"))),
        ("started", _fmt(r.get("started"))),
        ("finished", _fmt(r.get("finished"))),
        ("duration (s)", _fmt(r.get("duration_s"))),
        ("pytest exit status", _fmt(r.get("exitstatus"))),
        ("command", " ".join(r.get("command") or [])),
        ("rootdir", _fmt(r.get("rootdir"))),
        ("python", _fmt(env.get("python"))),
        ("packages", ", ".join(f"{k} {v}" for k, v in pk.items() if v)),
        ("cvxpy solvers", ", ".join(env.get("cvxpy_solvers") or []) or "-"),
        ("machine", f"{machine.get('platform', '-')}, {machine.get('cpu_count', '-')} CPUs"),
        ("GPU", gpu_text),
        ("training runs", _execution(env.get("execution") or {})),
        ("tests", ", ".join(f"{k} {v}" for k, v in (r.get("totals") or {}).items())),
    ]


def _assumption_rows(t: Mapping[str, Any]) -> list[list[str]]:
    rows = []
    for a in t["assumptions"]:
        rows.append(
            [
                a["name"],
                a.get("status") or "-",
                str(a["held"]),
                str(a["failed"]),
                str(a["not_checkable"]),
                str(a.get("unsettled", 0)),
                _margins(a),
                "; ".join(conditional_sentences(a)) or "-",
            ]
        )
    return rows


def _worst_cell(c: Mapping[str, Any]) -> str:
    """The worst ratio; evaluations with bound 0 have none: counted as exact or not."""
    cell = _fmt(c.get("ratio_max")) if c.get("n_ratios") else ""
    zero = c.get("zero_bound") or 0
    if zero:
        extra = f"bound 0 in {zero}: exact (measured 0) in {c.get('exact', 0)}"
        if zero > c.get("exact", 0):
            extra += f", max measured {_fmt(c.get('zero_bound_max_quantity'))}"
        cell = f"{cell}; {extra}" if cell else extra
    return cell or "-"


def _claim_rows(t: Mapping[str, Any]) -> list[list[str]]:
    return [
        [
            c["name"],
            c.get("relation", ""),
            c.get("expression", "") or "-",
            str(c["held"]),
            str(c["failed"]),
            str(c["undecided"]),
            _fmt(c.get("ratio_median")),
            _worst_cell(c),
        ]
        for c in t["claims"]
    ]


_ASSUMPTION_HEAD = [
    "assumption",
    "status",
    "held",
    "failed",
    "not checkable",
    "proxy unsettled",
    "margin in scope (min .. max)",
    "claim, conditionally",
]
_CONTROL_HEAD = [
    "control",
    "kind",
    "changes",
    "status",
    "caught in",
    "examples needed",
    "shrunk instance",
]


def _margins(a: Mapping[str, Any]) -> str:
    lo, hi = a.get("margin_min"), a.get("margin_max")
    return "-" if lo is None else f"{lo:.3g} .. {hi:.3g}"


def _control_rows(t: Mapping[str, Any]) -> list[list[str]]:
    rows = []
    for c in t.get("controls", ()):
        shrunk = c.get("shrunk") or c.get("first_catch") or {}
        rows.append(
            [
                c["name"],
                c.get("kind") or "-",
                c.get("target") or "-",
                c["status"] if c["status"] == "caught" else "MISSED",
                f"{c['caught']} of {c['evaluated']}" if c.get("evaluated") else "-",
                _fmt(c.get("examples_needed")),
                json.dumps(shrunk.get("inputs"), sort_keys=True)[:160] if shrunk else "-",
            ]
        )
    return rows


_CLAIM_HEAD = [
    "claim",
    "relation",
    "bound",
    "held",
    "failed",
    "undecided",
    "median ratio",
    "worst ratio",
]
_VERDICT_HEAD = ["theorem", "tests", "failed tests", *_VERDICTS]


def _verdict_cells(v: Mapping[str, Any]) -> list[str]:
    return [v["theorem"], str(v["tests"]), str(v["failed_tests"]), *(str(v[k]) for k in _VERDICTS)]


def _inputs_json(ce: Mapping[str, Any]) -> str:
    return json.dumps(
        {"seed": ce.get("seed"), "inputs": ce.get("inputs"), "claims": ce.get("claims")},
        indent=1,
        sort_keys=True,
    )


# -- markdown -----------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|~&$])")


def _md(x: Any) -> str:
    """Escape text for a markdown paragraph or table cell."""
    text = str(x)
    lead = " " if text[:1].isspace() else ""
    return lead + _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _fence(text: str, lang: str = "") -> str:
    ticks = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, ticks + 1)
    return f"{fence}{lang}\n{text}\n{fence}"


def _code(x: Any) -> str:
    """An inline markdown code span that no backtick in ``x`` can close early."""
    text = " ".join(str(x).split())
    ticks = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (ticks + 1)
    return f"{fence} {text} {fence}"


def _shown_counterexamples(r: Mapping[str, Any], limit: int) -> tuple[list, int]:
    """Per test: the shrunk example first, then others, at most ``limit`` per test."""
    by_test: dict[str, list] = {}
    for ce in r["counterexamples"]:
        by_test.setdefault(ce["test_id"], []).append(ce)
    shown = []
    for test_id in sorted(by_test):
        ces = sorted(by_test[test_id], key=lambda c: (not c["shrunk"], c["sequence"]))
        shown.extend(ces[:limit])
    return shown, len(r["counterexamples"]) - len(shown)


def _md_table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(_md(h) for h in head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(_md(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _md_image(caption: str, file: str) -> str:
    return f"![{_md(caption)}]({quote(file, safe='/')})\n\n*{_md(caption)}*"


def render_markdown(
    r: Mapping[str, Any],
    plots: Sequence[Mapping[str, Any]] = (),
    figures: Sequence[Mapping[str, Any]] = (),
) -> str:
    out = ["# ncverify report", ""]
    if not r["complete"]:
        out += ["**INCOMPLETE RUN**: " + _md("; ".join(r.get("incomplete_reasons") or [])), ""]
    out += [_md_table(["run", ""], _run_rows(r)), "", "## Verdicts", ""]
    out += [
        _md_table(_VERDICT_HEAD, [_verdict_cells(v) for v in r["verdicts"]])
        if r["verdicts"]
        else "No evaluation was recorded.",
        "",
    ]
    out += ["## Counterexamples and unexplained failures", ""]
    if not r["counterexamples"]:
        out += ["None found.", ""]
    shown, hidden = _shown_counterexamples(r, _LIMIT)
    for i, ce in enumerate(shown, 1):
        shrunk = " (shrunk: the minimal example hypothesis found)" if ce["shrunk"] else ""
        out += [
            f"### {i}. {_md(ce['theorem_id'])}: {_md(ce.get('verdict', ''))}{_md(shrunk)}",
            "",
            f"Test {_code(ce['test_id'])}: {_md(ce['reason'])}",
            "",
            _fence(_inputs_json(ce), "json"),
            "",
            "Reproduce:",
            "",
            _fence(ce["reproduce"], "sh"),
            "",
        ]
    if hidden:
        out += [f"{hidden} more counterexamples (found while shrinking) are in report.json.", ""]
    by_theorem = {p["theorem"]: [] for p in plots}
    for p in plots:
        by_theorem[p["theorem"]].append(p)
    for t in r["theorems"]:
        title = f" {t['title']}" if t["title"] else ""
        out += [
            f"## {_md(t['id'])}{_md(title)}",
            "",
            f"Provenance: {_md(t['provenance'] or '-')}. Source: {_md(t['source'] or '-')}."
            + ("" if t["registered"] else " (not in the theorem registry)"),
            "",
            "Verdicts: " + ", ".join(f"{k} {t['verdicts'][k]}" for k in _VERDICTS),
            "",
        ]
        if t["assumptions"]:
            out += [_md_table(_ASSUMPTION_HEAD, _assumption_rows(t)), ""]
        if t["claims"]:
            out += [_md_table(_CLAIM_HEAD, _claim_rows(t)), ""]
        if t.get("controls"):
            out += [
                "Negative controls (false variants the suite must catch):",
                "",
                _md_table(_CONTROL_HEAD, _control_rows(t)),
                "",
            ]
        out += [_md_image(p["caption"], p["file"]) + "\n" for p in by_theorem.get(t["id"], [])]
    failed = [t for t in r["tests"] if t["outcome"] in ("failed", "error")]
    if failed:
        out += ["## Failed tests", ""]
        out += [f"- {_code(t['nodeid'])}: {_md(t.get('message') or '')}" for t in failed] + [""]
    if figures:
        out += ["## Figures", ""] + [_md_image(f["caption"], f["file"]) + "\n" for f in figures]
    return "\n".join(out).rstrip() + "\n"


# -- HTML ---------------------------------------------------------------------


def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _html_table(head: Sequence[str], rows: Sequence[Sequence[str]], cls: str = "") -> str:
    parts = [f'<table class="{_e(cls)}"><thead><tr>']
    parts += [f"<th>{_e(h)}</th>" for h in head]
    parts.append("</tr></thead><tbody>")
    for row in rows:
        parts.append("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>")
    parts.append("</tbody></table>")
    return "".join(parts)


def _html_image(caption: str, png: bytes) -> str:
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<figure><img alt="{_e(caption)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{_e(caption)}</figcaption></figure>"
    )


_CSS = """body{font-family:system-ui,sans-serif;margin:2em;max-width:80em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1em}td,th{border:1px solid #ccc;padding:.2em .5em;
text-align:left;vertical-align:top}th{background:#f0f0f0}pre{background:#f6f6f6;padding:.5em;
overflow-x:auto}.bad{color:#a00;font-weight:bold}.ok{color:#060}figure{display:inline-block;
margin:.5em}figcaption{font-size:.8em;max-width:40em}"""


def render_html(
    r: Mapping[str, Any],
    plots: Sequence[Mapping[str, Any]] = (),
    figures: Sequence[Mapping[str, Any]] = (),
) -> str:
    out = [
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
        "<title>ncverify report</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>ncverify report</h1>",
    ]
    if r["complete"]:
        out.append('<p class="ok">Complete run.</p>')
    else:
        out.append(
            '<p class="bad">INCOMPLETE RUN: '
            + _e("; ".join(r.get("incomplete_reasons") or []))
            + "</p>"
        )
    out.append(_html_table(["run", ""], _run_rows(r), "run"))
    out.append("<h2>Verdicts</h2>")
    out.append(
        _html_table(_VERDICT_HEAD, [_verdict_cells(v) for v in r["verdicts"]], "verdicts")
        if r["verdicts"]
        else "<p>No evaluation was recorded.</p>"
    )
    out.append("<h2>Counterexamples and unexplained failures</h2>")
    if not r["counterexamples"]:
        out.append('<p class="ok">None found.</p>')
    shown, hidden = _shown_counterexamples(r, _LIMIT)
    for i, ce in enumerate(shown, 1):
        shrunk = (
            ' <span class="shrunk">(shrunk: the minimal example hypothesis found)</span>'
            if ce["shrunk"]
            else ""
        )
        out += [
            f'<h3 class="bad">{i}. {_e(ce["theorem_id"])}: {_e(ce.get("verdict", ""))}{shrunk}'
            "</h3>",
            f"<p>Test <code>{_e(ce['test_id'])}</code>: {_e(ce['reason'])}</p>",
            f"<pre>{_e(_inputs_json(ce))}</pre>",
            f"<p>Reproduce:</p><pre><code>{_e(ce['reproduce'])}</code></pre>",
        ]
    if hidden:
        out.append(
            f"<p>{hidden} more counterexamples (found while shrinking) are in report.json.</p>"
        )
    by_theorem: dict[str, list] = {}
    for p in plots:
        by_theorem.setdefault(p["theorem"], []).append(p)
    for t in r["theorems"]:
        title = f" {t['title']}" if t["title"] else ""
        out.append(f"<h2>{_e(t['id'])}{_e(title)}</h2>")
        out.append(
            f"<p>Provenance: {_e(t['provenance'] or '-')}. Source: {_e(t['source'] or '-')}."
            + ("" if t["registered"] else " <em>(not in the theorem registry)</em>")
            + "</p>"
        )
        out.append(
            "<p>Verdicts: " + _e(", ".join(f"{k} {t['verdicts'][k]}" for k in _VERDICTS)) + "</p>"
        )
        if t["assumptions"]:
            out.append(_html_table(_ASSUMPTION_HEAD, _assumption_rows(t), "assumptions"))
        if t["claims"]:
            out.append(_html_table(_CLAIM_HEAD, _claim_rows(t), "claims"))
        if t.get("controls"):
            out.append("<p>Negative controls (false variants the suite must catch):</p>")
            out.append(_html_table(_CONTROL_HEAD, _control_rows(t), "controls"))
        if t.get("proof"):
            out.append(f"<details><summary>proof</summary><pre>{_e(t['proof'])}</pre></details>")
        out += [_html_image(p["caption"], p["png"]) for p in by_theorem.get(t["id"], [])]
    failed = [t for t in r["tests"] if t["outcome"] in ("failed", "error")]
    if failed:
        out.append("<h2>Failed tests</h2><ul>")
        out += [
            f"<li><code>{_e(t['nodeid'])}</code>: {_e(t.get('message') or '')}</li>" for t in failed
        ]
        out.append("</ul>")
    if figures:
        out.append("<h2>Figures</h2>")
        out += [_html_image(f["caption"], f["png"]) for f in figures]
    out.append("</body></html>")
    return "\n".join(out) + "\n"
