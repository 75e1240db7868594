"""``ncverify sweep``: studies of the questions JSWM leave open (docs/reproductions.md).

* ``_studies``: :func:`wd_scaling`, :func:`architectures`, :func:`nc3_depth` (run grids of
  :class:`~ncverify.cli.reproduce.RunConfig`, aggregate, write);
* ``_figures``: their figures and CSV data; ``_report``: the report directory, written with
  :mod:`ncverify.report`; ``_command``: the ``sweep`` subcommand.

Nothing in the core packages imports this one.
"""

from __future__ import annotations

from ._command import add_sweep
from ._studies import ARCHITECTURES, DEFAULT_SWEEP_OUT, architectures, nc3_depth, wd_scaling

__all__ = [
    "ARCHITECTURES",
    "DEFAULT_SWEEP_OUT",
    "add_sweep",
    "architectures",
    "nc3_depth",
    "wd_scaling",
]
