"""The Ray executor: one Ray task per run (or per chunk of runs of one shape).

Ray is imported when the executor first runs something, never before (``import
ncverify.exec`` does not import Ray). The executor joins the cluster at ``address`` (checked
by :func:`~ncverify.exec.check_ray_address` when the executor is made), joins the Ray instance
this process already started, or starts a local one (``num_cpus`` CPUs).

Faults: a task whose worker process or node dies is retried by Ray (``retries`` times, the
``max_retries`` of the task); a run that raises is not retried (runs are deterministic: it
would raise again) and its error is raised by :meth:`~ncverify.exec.Executor.map` after
every result that arrived before it was checkpointed. Results are collected by the driver,
one per configuration, so a retried run is never counted twice.
"""

from __future__ import annotations

import os
import sys
from collections import deque
from collections.abc import Callable
from typing import Any

from ..errors import BackendError, InvalidInput
from ._address import check_ray_address, join_environment, require_ray
from ._base import Executor, _call_batch

__all__ = ["RayExecutor"]


def _run_one(fn: Callable, config: Any, search_path: str | None) -> Any:
    """Task body: make the driver's working directory importable (for plug-in modules named
    ``module:factory`` relative to it, when the worker shares its file system), then run."""
    if search_path and os.path.isdir(search_path) and search_path not in sys.path:
        sys.path.append(search_path)
    return fn(config)


def _run_batch(batch: Callable, configs: list[Any], search_path: str | None) -> list[Any]:
    if search_path and os.path.isdir(search_path) and search_path not in sys.path:
        sys.path.append(search_path)
    return _call_batch(batch, configs)


def _positive(value, name: str, *, integer: bool = False, allow_zero: bool = False):
    ok = not isinstance(value, bool) and isinstance(value, int if integer else (int, float))
    if not ok or value < 0 or (value == 0 and not allow_zero):
        rule = ">= 0" if allow_zero else "> 0"
        kind = "an integer" if integer else "a number"
        raise InvalidInput(f"RayExecutor {name} must be {kind} {rule}, got {value!r}")
    return value


class RayExecutor(Executor):
    """Runs each configuration as a Ray task.

    ``address``: ``None`` (join the Ray instance this process started, else start a new local
    one), ``"auto"`` (the cluster ``ray start`` started on this machine, or ``$RAY_ADDRESS``),
    ``"host:port"`` or ``"ray://host:port"``. ``num_cpus``: CPUs of a local instance this
    executor starts. Each task asks for ``cpus_per_task`` CPUs and, when its configuration's
    ``num_gpus`` is 1 (a CUDA run), ``gpus_per_task`` GPUs (a fraction lets small runs share a
    GPU). ``retries``: Ray's ``max_retries`` (re-executions after a worker or node died).
    ``max_in_flight``: at most this many tasks submitted at a time (``None``: all at once).
    ``chunk_size``: with a ``batch`` function, up to this many runs of one shape per task;
    ``None`` (default) splits each group of one shape into as many chunks as the cluster has
    task slots (CPUs / ``cpus_per_task``, or GPUs / ``gpus_per_task`` for CUDA runs), so a
    batched trainer keeps its batches and every slot gets work. A run's result does not depend
    on the chunk it travels in when the batch function trains each run independently (the
    batched trainer does: tested).
    ``runtime_env``: passed to ``ray.init`` (e.g. ``{"working_dir": ...}`` to ship code).
    """

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        *,
        num_cpus: int | None = None,
        cpus_per_task: float = 1,
        gpus_per_task: float = 1,
        retries: int = 3,
        max_in_flight: int | None = None,
        chunk_size: int | None = None,
        runtime_env: dict[str, Any] | None = None,
        connect_timeout: float | None = None,
    ) -> None:
        super().__init__()
        require_ray()
        self.address = check_ray_address(address, timeout=connect_timeout)
        if num_cpus is not None:
            _positive(num_cpus, "num_cpus", integer=True)
            if address is not None:
                raise InvalidInput(
                    f"num_cpus={num_cpus} sizes a local Ray instance; with address={address!r} "
                    "the cluster's own resources are used"
                )
        self.num_cpus = num_cpus
        self.cpus_per_task = _positive(cpus_per_task, "cpus_per_task", allow_zero=True)
        self.gpus_per_task = _positive(gpus_per_task, "gpus_per_task")
        self.retries = _positive(retries, "retries", integer=True, allow_zero=True)
        if max_in_flight is not None:
            _positive(max_in_flight, "max_in_flight", integer=True)
        self.max_in_flight = max_in_flight
        if chunk_size is not None:
            _positive(chunk_size, "chunk_size", integer=True)
        self.chunk_size = chunk_size
        self.runtime_env = runtime_env
        self._owns = False
        self._remote: dict[str, Any] = {}

    # ------------------------------------------------------------------ connection
    def connect(self):
        """Join or start Ray now (otherwise done by the first :meth:`map`); returns ``ray``."""
        if self.address is not None:
            check_ray_address(self.address, join=True)  # bounded; ray.init may wait for minutes
            os.environ.update(join_environment())  # before Ray reads its configuration
        import ray

        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"log_to_driver": False, "logging_level": "ERROR"}
            if self.runtime_env is not None:
                kwargs["runtime_env"] = self.runtime_env
            if self.address is None:
                # "local": a new instance, even when `ray start` left a cluster on this machine
                kwargs.update(address="local", num_cpus=self.num_cpus, include_dashboard=False)
            else:
                kwargs["address"] = self.address
            try:
                ray.init(**kwargs)
            except ConnectionError as exc:
                raise BackendError(
                    f"Ray address {self.address!r}: could not join the cluster ({exc})"
                ) from None
            self._owns = True
        if not self._remote:
            self._remote = {"one": ray.remote(_run_one), "batch": ray.remote(_run_batch)}
        return ray

    def close(self) -> None:
        if self._owns:
            import ray

            ray.shutdown()
            self._owns = False
        self._remote = {}

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"backend": self.name, "address": self.address}
        if "ray" in sys.modules and sys.modules["ray"].is_initialized():
            ray = sys.modules["ray"]
            resources = ray.cluster_resources().items()
            out["resources"] = {k: v for k, v in resources if "node:" not in k}
            out["nodes"] = sum(1 for n in ray.nodes() if n.get("Alive"))
        return out

    # ------------------------------------------------------------------ execution
    def _options(self, configs: list[Any]) -> dict[str, Any]:
        gpus = max(int(getattr(c, "num_gpus", 0) or 0) for c in configs)
        return {
            "num_cpus": self.cpus_per_task,
            "num_gpus": self.gpus_per_task if gpus else 0,
            "max_retries": self.retries,
            "retry_exceptions": False,
        }

    def _auto_chunk(self, ray, group: list[str], todo: dict[str, Any]) -> int:
        resources = ray.cluster_resources()
        if getattr(todo[group[0]], "num_gpus", 0):
            slots = resources.get("GPU", 0) / self.gpus_per_task
        else:
            slots = resources.get("CPU", 0) / self.cpus_per_task if self.cpus_per_task else 0
        slots = max(1, int(slots)) if slots != float("inf") else len(group)
        return max(1, -(-len(group) // slots))

    def _execute(self, fn, batch, todo, groups, arrived) -> None:
        ray = self.connect()
        from ray.exceptions import RayTaskError, TaskCancelledError

        want_gpu = [k for k, c in todo.items() if getattr(c, "num_gpus", 0)]
        if want_gpu and not ray.cluster_resources().get("GPU", 0):
            raise BackendError(
                f"{len(want_gpu)} run(s) need a GPU (device cuda) but the Ray cluster has none "
                f"(first run {want_gpu[0]}); start GPU nodes, or use a CPU profile"
            )
        search_path = os.getcwd()
        tasks: deque[list[str]] = deque()
        for group in groups:
            step = 1 if batch is None else self.chunk_size or self._auto_chunk(ray, group, todo)
            tasks.extend(group[i : i + step] for i in range(0, len(group), step))
        pending: dict[Any, tuple[list[str], bool]] = {}
        limit = self.max_in_flight or len(tasks)

        def submit() -> None:
            while tasks and len(pending) < limit:
                keys = tasks.popleft()
                configs = [todo[k] for k in keys]
                batched = batch is not None and (fn is None or len(keys) > 1)
                if batched:
                    remote = self._remote["batch"].options(**self._options(configs))
                    ref = remote.remote(batch, configs, search_path)
                else:
                    remote = self._remote["one"].options(**self._options(configs))
                    ref = remote.remote(fn, configs[0], search_path)
                pending[ref] = (keys, batched)
                self.executed += len(keys)

        submit()
        try:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                for ref in ready:
                    keys, batched = pending.pop(ref)
                    try:
                        value = ray.get(ref)
                    except RayTaskError as exc:
                        cause = getattr(exc, "cause", None)
                        if isinstance(cause, BaseException):
                            if hasattr(cause, "add_note"):
                                cause.add_note(f"(raised in a Ray task for run {keys[0]})")
                            raise cause from None
                        raise
                    except (TaskCancelledError, KeyboardInterrupt):
                        raise
                    except ray.exceptions.RayError as exc:
                        raise BackendError(
                            f"run {keys[0]} was lost after {self.retries} retries: "
                            f"{type(exc).__name__}: {exc}"
                        ) from None
                    for key, result in zip(keys, value if batched else [value], strict=True):
                        arrived(key, result)
                submit()
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)
