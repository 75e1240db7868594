"""Fenced code blocks of the documentation, as the reader sees them (dedented)."""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"
_FENCE = re.compile(r"^( *)```(\w*)\n(.*?)^\1```", re.S | re.M)


def code_blocks(page: str, language: str = "python") -> list[str]:
    """Every ```language block of ``docs/page``, its indentation (a list item's) removed."""
    text = (DOCS / page).read_text(encoding="utf-8")
    out = []
    for indent, lang, body in _FENCE.findall(text):
        if lang != language:
            continue
        lines = body.splitlines(keepends=True)
        out.append(
            "".join(line[len(indent) :] if line.startswith(indent) else line for line in lines)
        )
    return out


def block_starting(page: str, first_line: str, language: str = "python") -> str:
    """The one block of ``page`` whose first line is ``first_line`` (e.g. a file name)."""
    found = [b for b in code_blocks(page, language) if b.splitlines()[0].strip() == first_line]
    assert len(found) == 1, f"{page}: {len(found)} blocks start with {first_line!r}"
    return found[0]
