"""Executing a :class:`~ncverify.exec.RunConfig`: a pure function config -> plain result.

:func:`execute_run` rebuilds the data and the network from the configuration, trains with
:func:`ncverify.train.train` (the training seed from the configuration, ``threads`` intra-op
threads) and returns a dict of plain values and numpy arrays: the run's outcome, its initial and
final measurements, its trajectory, the trained weights and, when asked, the sharpness. No
torch object crosses a process boundary, and nothing is taken from the worker's state.
:func:`training_run` turns such a result back into a :class:`~ncverify.train.TrainingRun` (the
network rebuilt with the trained weights, the data on the run's device) so that the catalogue's
measurements judge it exactly as they judge a run trained in-process.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Sequence
from dataclasses import fields
from typing import Any

import numpy as np

from ..errors import InvalidInput
from ._config import RunConfig

__all__ = ["PROVENANCE_KEYS", "execute_run", "execute_runs", "sharpness_of", "training_run"]

#: result entries that say where and how long a run executed (not part of its measured values)
PROVENANCE_KEYS = ("wall_time", "cpu_time", "host", "pid")


def _trajectory_dict(traj) -> dict[str, np.ndarray]:
    return {f.name: np.array(getattr(traj, f.name), copy=True) for f in fields(traj)}


def execute_run(config: RunConfig) -> dict[str, Any]:
    """Train ``config`` and return its result (plain values; see the module docstring).

    Keys: ``key``, ``outcome``, ``diverged_step``, ``reason``, ``initial``, ``final``,
    ``max_recursion_residual``, ``steps_done``, ``notes``, ``trajectory`` (dict of arrays),
    ``weights`` (``state_dict`` as float arrays on the CPU, in the run's dtype), ``sharpness``
    (dict or ``None``), and provenance (:data:`PROVENANCE_KEYS`): ``wall_time`` (of the
    training loop), ``cpu_time`` (CPU seconds of the calling thread for the whole call: all of
    the run's work with ``threads=1``), ``host``, ``pid``.
    """
    import torch

    from ..train import sharpness, train

    if not isinstance(config, RunConfig):
        raise InvalidInput(f"execute_run takes a RunConfig, got {type(config).__name__}")
    threads = torch.get_num_threads()
    cpu_start = time.thread_time()
    torch.set_num_threads(config.threads)
    try:
        data = config.data.build()
        net = config.network.build(dtype=config.training.torch_dtype)
        run = train(net, data.X, data.y, config.training)
        sharp = None
        if config.sharpness and not run.diverged:
            seed = config.training.seed if config.sharpness_seed is None else config.sharpness_seed
            s = sharpness(run.network, run.X, run.y, config.training.weight_decay, seed=seed)
            sharp = {f.name: getattr(s, f.name) for f in fields(s)}
    finally:
        torch.set_num_threads(threads)
    weights = {k: v.detach().cpu().numpy().copy() for k, v in run.network.state_dict().items()}
    return {
        "key": config.key,
        "outcome": run.outcome,
        "diverged_step": run.diverged_step,
        "reason": run.reason,
        "initial": dict(run.initial),
        "final": dict(run.final),
        "max_recursion_residual": run.max_recursion_residual,
        "steps_done": run.steps_done,
        "notes": list(getattr(run, "notes", ())),
        "trajectory": _trajectory_dict(run.trajectory),
        "weights": weights,
        "sharpness": sharp,
        "wall_time": run.wall_time,
        "cpu_time": time.thread_time() - cpu_start,
        "host": socket.gethostname(),
        "pid": os.getpid(),
    }


def execute_runs(configs: Sequence[RunConfig]) -> list[dict[str, Any]]:
    """:func:`execute_run` of each configuration, in order (the batch form executors call
    for a group of runs; equal to ``[execute_run(c) for c in configs]`` by contract)."""
    return [execute_run(c) for c in configs]


def training_run(config: RunConfig, result: dict[str, Any]):
    """The :class:`~ncverify.train.TrainingRun` of ``result``, with the network rebuilt from
    ``config`` and loaded with the trained weights, and ``X``, ``y`` on the run's device and
    dtype; ``run.sharpness`` is not part of a TrainingRun: read ``result["sharpness"]`` (or
    :func:`sharpness_of`)."""
    import torch

    from ..train import TrainingRun, Trajectory, resolve_device

    if result.get("key") != config.key:
        raise InvalidInput(
            f"result of run {result.get('key')!r} does not belong to configuration {config.key!r}"
        )
    cfg = config.training
    device, dtype = resolve_device(cfg.device), cfg.torch_dtype
    data = config.data.build()
    net = config.network.build(dtype=dtype, device=device)
    state = {k: torch.from_numpy(np.array(v, copy=True)) for k, v in result["weights"].items()}
    net.load_state_dict(state)
    net.to(device=device, dtype=dtype)
    traj = Trajectory(**{k: np.array(v, copy=True) for k, v in result["trajectory"].items()})
    return TrainingRun(
        config=cfg,
        outcome=result["outcome"],
        diverged_step=result["diverged_step"],
        reason=result["reason"],
        initial=dict(result["initial"]),
        final=dict(result["final"]),
        trajectory=traj,
        max_recursion_residual=result["max_recursion_residual"],
        wall_time=result["wall_time"],
        steps_done=result["steps_done"],
        network=net,
        X=data.X.to(device=device, dtype=dtype),
        y=data.y.to(device=device, dtype=torch.int64),
        notes=tuple(result.get("notes", ())),
    )


def sharpness_of(result: dict[str, Any]):
    """The :class:`~ncverify.train.Sharpness` recorded in ``result`` (``None`` if not asked
    for, or the run diverged)."""
    from ..train import Sharpness

    s = result.get("sharpness")
    return None if s is None else Sharpness(**s)
