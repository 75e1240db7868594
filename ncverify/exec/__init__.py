"""Where training runs execute: in this process, or spread over a Ray cluster.

The expensive unit of the suite is a training run. A run is described by a frozen, picklable
:class:`RunConfig` that carries every seed (its data, its initial weights, its training) and is
executed by a pure function, :func:`execute_run` (config -> a dict of plain values and arrays).
An :class:`Executor` maps such a function over many configurations; the rest of the pipeline
(specs, verdicts, report) does not change::

    from ncverify.exec import execute_run, get_executor, training_run

    with get_executor("ray", address="head:6379") as ex:      # or get_executor("local")
        results = ex.map(execute_run, configs, store="runs/")  # checkpointed per run
    runs = [training_run(c, r) for c, r in zip(configs, results)]  # TrainingRun objects

* ``_config``: :class:`DataSpec`, :class:`NetworkSpec`, :class:`RunConfig`, :func:`run_key`;
* ``_run``: :func:`execute_run`, :func:`execute_runs` (the batch form),
  :func:`training_run` and :func:`sharpness_of` (results back into training objects);
* ``_base``: :class:`Executor` (what every backend shares);
* ``_executor``: :class:`LocalExecutor`, :func:`get_executor`,
  :func:`current_executor` (the one ``$NCVERIFY_BACKEND`` / ``$NCVERIFY_RAY_ADDRESS`` ask for);
* ``_ray``: :class:`RayExecutor` (imports Ray when it first runs something);
* ``_address``: :func:`check_ray_address` (fails within seconds on an address where no Ray
  head answers), :func:`require_ray`;
* ``_store``: :class:`RunStore`, per-run checkpoints.

Importing this package imports neither torch nor Ray; its names load on first use.
See ``docs/scale-out.md``.
"""

from __future__ import annotations

import importlib

_NAMES: dict[str, str] = {
    "DataSpec": "_config",
    "NetworkSpec": "_config",
    "RunConfig": "_config",
    "run_key": "_keys",
    "PROVENANCE_KEYS": "_run",
    "execute_run": "_run",
    "execute_runs": "_run",
    "sharpness_of": "_run",
    "training_run": "_run",
    "BACKENDS": "_executor",
    "BACKEND_ENV": "_executor",
    "RAY_ADDRESS_ENV": "_executor",
    "current_executor": "_executor",
    "Executor": "_base",
    "LocalExecutor": "_executor",
    "get_executor": "_executor",
    "RayExecutor": "_ray",
    "DEFAULT_CONNECT_TIMEOUT": "_address",
    "VERIFIED_ENV": "_address",
    "check_ray_address": "_address",
    "require_ray": "_address",
    "RunStore": "_store",
}

__all__ = sorted(_NAMES)


def __getattr__(name: str):
    module = _NAMES.get(name)
    if module is None:
        raise AttributeError(f"module 'ncverify.exec' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
