"""docs/metrics.md documents every public metric with its exact call signature."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

import ncverify.metrics as metrics

DOC = Path(__file__).resolve().parents[1] / "docs" / "metrics.md"
ROW = re.compile(r"^\| `((?:StreamingCollapse\.)?[A-Za-z_]\w*)(\(.*?\))` \|", re.M)
METHODS = ("update", "second_pass", "result", "class_means")


def signature_text(fn) -> str:
    """``(a, b, *, c=None)``: parameter names, keyword-only marker and default reprs."""
    parts, star = [], False
    for p in inspect.signature(fn).parameters.values():
        if p.name == "self":
            continue
        if p.kind is p.VAR_POSITIONAL:
            parts.append(f"*{p.name}")
            star = True
            continue
        if p.kind is p.VAR_KEYWORD:
            parts.append(f"**{p.name}")
            continue
        if p.kind is p.KEYWORD_ONLY and not star:
            parts.append("*")
            star = True
        parts.append(p.name if p.default is p.empty else f"{p.name}={p.default!r}")
    return f"({', '.join(parts)})"


def documented() -> dict[str, str]:
    rows: dict[str, str] = {}
    for name, sig in ROW.findall(DOC.read_text(encoding="utf-8")):
        assert name not in rows, f"{name} is documented twice in {DOC.name}"
        rows[name] = sig
    return rows


def public_callables() -> dict[str, object]:
    out = {
        name: getattr(metrics, name)
        for name in metrics.__all__
        if callable(getattr(metrics, name)) and name != "CollapseMetrics"  # a record type
    }
    out |= {f"StreamingCollapse.{m}": getattr(metrics.StreamingCollapse, m) for m in METHODS}
    return out


def test_every_public_metric_is_documented_and_nothing_else():
    assert sorted(documented()) == sorted(public_callables())


@pytest.mark.parametrize("name", sorted(public_callables()))
def test_documented_signature_matches_the_code(name):
    assert documented()[name] == signature_text(public_callables()[name])


def test_signature_text_sees_keyword_only_arguments():
    """Negative control: a table that showed collapse_metrics(Z, y, W=None, b=None) (W
    positional) would not match."""
    assert signature_text(metrics.collapse_metrics) != "(Z, y, W=None, b=None)"
    assert signature_text(metrics.collapse_metrics).startswith("(Z, y, *, W=None")
