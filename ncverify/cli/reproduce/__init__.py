"""Small-scale reproductions of JSWM's experiments (``ncverify reproduce``; docs/reproductions.md)
and the run machinery the sweeps share.

* ``_runs``: :func:`jswm_layers`, :func:`jswm_head_depth` (the experiments);
* ``_config``: :class:`RunConfig` (:class:`DataSpec`, :class:`NetSpec`, :class:`TrainSpec`),
  one training run as a picklable, self-describing value;
* ``_execute``: :func:`execute` (config → result dict: training and measurements);
* ``_executor``: :func:`run_configs` (per-run result files, resume, parallel processes);
* ``_data``: presets and data loading; ``_figures``: figures and their CSV data;
* ``_command``: the ``reproduce`` subcommand.

Nothing in the core packages imports this one.
"""

from __future__ import annotations

from ._command import add_reproduce
from ._config import DATASETS, NETWORKS, DataSpec, NetSpec, RunConfig, TrainSpec
from ._data import PRESETS, Preset, get_preset, load_dataset
from ._execute import execute, nc3_cosines
from ._executor import load_run, run_configs, save_run
from ._runs import ReproduceResult, jswm_head_depth, jswm_layers

__all__ = [
    "DATASETS",
    "NETWORKS",
    "PRESETS",
    "DataSpec",
    "NetSpec",
    "Preset",
    "ReproduceResult",
    "RunConfig",
    "TrainSpec",
    "add_reproduce",
    "execute",
    "get_preset",
    "jswm_head_depth",
    "jswm_layers",
    "load_dataset",
    "load_run",
    "nc3_cosines",
    "run_configs",
    "save_run",
]
