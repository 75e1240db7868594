"""Small-scale reproductions of JSWM's experiments (``ncverify reproduce``; docs/reproductions.md).

* ``_runs``: :func:`jswm_layers`, :func:`jswm_head_depth` (training runs and measurements);
* ``_data``: presets and data loading; ``_figures``: figures and their CSV data;
* ``_command``: the ``reproduce`` subcommand.

Nothing in the core packages imports this one.
"""

from __future__ import annotations

from ._command import add_reproduce
from ._data import DATASETS, PRESETS, Preset, get_preset, load_dataset
from ._runs import ReproduceResult, jswm_head_depth, jswm_layers

__all__ = [
    "DATASETS",
    "PRESETS",
    "Preset",
    "ReproduceResult",
    "add_reproduce",
    "get_preset",
    "jswm_head_depth",
    "jswm_layers",
    "load_dataset",
]
