"""Every proof pointer and every ``docs/<file>.md#<anchor>`` reference resolves.

A ``derived`` spec names the proof of its explicit bound (``TheoremSpec.proof``, e.g.
``"docs/theorems.md#depth"``); docstrings point users to the documentation the same way. A
pointer to a section that was renamed, moved or never written is a broken promise: these tests
walk the registry (built-in catalogue and plug-ins) and the package's sources.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ncverify.spec import all_theorems

ROOT = Path(__file__).resolve().parents[1]
_POINTER = re.compile(r"docs/([\w-]+\.md)#([\w-]+)")


def _section(path: str, anchor: str) -> str | None:
    """The text from ``<a id="anchor"></a>`` to the next anchor, or ``None`` if absent."""
    file = ROOT / path
    if not file.is_file():
        return None
    text = file.read_text(encoding="utf-8")
    tag = f'<a id="{anchor}"></a>'
    start = text.find(tag)
    if start < 0:
        return None
    start += len(tag)
    end = text.find('<a id="', start)
    return text[start : end if end >= 0 else None]


def _specs_with_proofs():
    for spec in all_theorems():
        if spec.provenance == "derived" or spec.proof:
            yield pytest.param(spec, id=spec.id)


@pytest.mark.parametrize("spec", list(_specs_with_proofs()))
def test_every_proof_pointer_names_a_section_of_the_docs(spec):
    assert spec.proof, f"{spec.id} is derived but names no proof"
    path, sep, anchor = spec.proof.partition("#")
    assert sep and path.startswith("docs/") and path.endswith(".md"), spec.proof
    section = _section(path, anchor)
    assert section is not None, f"{spec.id}: {spec.proof} does not exist"
    first = next(line for line in section.splitlines() if line.strip())
    # the anchor opens a heading or a labelled paragraph (**Lemma.**, **Proof of ...**)
    assert first.startswith(("#", "**")), f"{spec.id}: {spec.proof} opens {first[:60]!r}"


@pytest.mark.parametrize(
    "spec",
    [
        s
        for s in all_theorems()
        if (s.proof or "").startswith(("docs/theorems.md", "docs/training.md"))
    ],
    ids=lambda s: s.id,
)
def test_the_jswm_and_gd_proof_sections_hold_a_proof(spec):
    """The sections named by the JSWM and gradient-descent specs end their proofs with ∎."""
    path, _, anchor = spec.proof.partition("#")
    assert "∎" in _section(path, anchor), f"{spec.id}: no proof (∎) under {spec.proof}"


def test_every_docs_pointer_in_the_package_and_the_docs_resolves():
    broken = []
    sources = sorted((ROOT / "ncverify").rglob("*.py")) + sorted((ROOT / "docs").glob("*.md"))
    for file in [*sources, ROOT / "README.md"]:
        for match in _POINTER.finditer(file.read_text(encoding="utf-8")):
            if _section(f"docs/{match.group(1)}", match.group(2)) is None:
                broken.append(f"{file.relative_to(ROOT)}: {match.group(0)}")
    assert not broken, "pointers to missing sections: " + ", ".join(broken)


def test_the_imbalance_lemma_has_one_home():
    """``imbalance_bound``, the depth spec and the imbalance spec cite the same proof."""
    from ncverify.catalog import jswm

    assert "docs/theorems.md#imbalance" in jswm.imbalance_bound.__doc__
    assert jswm.IMBALANCE.proof == "docs/theorems.md#imbalance"
    assert "*Proof.*" in _section("docs/theorems.md", "imbalance")
    assert "theorems.md#imbalance" in _section("docs/training.md", "imbalance")


def test_the_specs_without_a_high_precision_remeasurement_are_the_documented_ones():
    """docs/theorems.md#not-remeasured lists, with a reason, every spec whose failures cannot be
    certified (no ``remeasure``): a counterexample of any other spec is re-measured first."""
    section = _section("docs/theorems.md", "not-remeasured")
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    documented = {i for row in rows for i in re.findall(r"`([\w.-]+)`", row.split("|")[1])}
    missing = {spec.id for spec in all_theorems() if spec.remeasure is None}
    assert documented == missing
