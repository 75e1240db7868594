"""Reports of a theorem-suite run: JSON (the record), Markdown and HTML, ratio plots.

* ``_build``: :func:`build_report` from the plugin's per-test records, :func:`write_report`,
  :func:`load_report`, the verdict table;
* ``_render``: Markdown and HTML; ``_plots``: measured/bound ratio figures (matplotlib,
  imported only while a report is written);
* ``_directory``: :class:`ReportRun`, one run's transaction on a report directory (lock,
  staging directory, atomic swap; partial reports go to ``DIR/incomplete/``).
"""

from __future__ import annotations

from ._build import (
    SCHEMA_VERSION,
    atomic_write,
    build_report,
    environment,
    evaluations_from_report,
    format_verdict_table,
    load_report,
    reproduce_command,
    verdict_rows,
    write_report,
)
from ._directory import INCOMPLETE_DIR, ReportLocked, ReportRun, mark_incomplete
from ._render import conditional_sentences, render_html, render_markdown

__all__ = [
    "INCOMPLETE_DIR",
    "SCHEMA_VERSION",
    "ReportLocked",
    "ReportRun",
    "atomic_write",
    "build_report",
    "conditional_sentences",
    "environment",
    "evaluations_from_report",
    "format_verdict_table",
    "load_report",
    "mark_incomplete",
    "render_html",
    "render_markdown",
    "reproduce_command",
    "verdict_rows",
    "write_report",
]
