"""The execution seam: :class:`Executor`, :class:`LocalExecutor`, :func:`get_executor`.

An executor maps a pure function over run configurations and returns the results in the
order of the configurations::

    results = executor.map(execute_run, configs, store="runs/")

``fn(config) -> result`` must be a module-level function (so that another process can import
it) whose result depends on the configuration only. ``batch(configs) -> results`` is an
optional form of the same function for a group of configurations (equal to
``[fn(c) for c in configs]`` by contract) that an executor may call on runs of one shape,
grouped by ``group_key(config)`` (default: ``config.shape_key()`` when it exists), so that a
batched trainer can train them together. ``store`` (a directory or a
:class:`~ncverify.exec.RunStore`) checkpoints each result when it arrives; configurations
already in the store are not run again. A configuration that appears twice is run once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..errors import InvalidInput
from ._keys import run_key
from ._store import RunStore

__all__ = ["BACKENDS", "Executor", "LocalExecutor", "get_executor"]

#: the backends :func:`get_executor` knows
BACKENDS = ("local", "ray")


def _group_key(config: Any) -> Any:
    shape = getattr(config, "shape_key", None)
    return shape() if callable(shape) else None


class Executor:
    """Base of the executors. Subclasses implement :meth:`_execute`.

    :meth:`map` handles what every backend shares: keys, duplicates, the checkpoint store and
    the order of the results. ``executed`` counts the runs this executor actually started
    (restored and duplicate runs excluded), for progress messages and tests.
    """

    name = "base"

    def __init__(self) -> None:
        self.executed = 0

    def map(
        self,
        fn: Callable[[Any], Any] | None,
        configs: Sequence[Any],
        *,
        batch: Callable[[Sequence[Any]], Sequence[Any]] | None = None,
        group_key: Callable[[Any], Any] | None = None,
        store: RunStore | str | None = None,
        on_result: Callable[[Any, Any], None] | None = None,
    ) -> list[Any]:
        """``[fn(c) for c in configs]``, computed by this executor (see the module docstring).

        ``on_result(config, result)`` is called once per distinct configuration as its result
        arrives (restored ones first). Raises what ``fn`` raises (the first failure, after the
        results that arrived before it are stored).
        """
        if fn is None and batch is None:
            raise InvalidInput("Executor.map needs fn(config) or batch(configs)")
        for f, name in ((fn, "fn"), (batch, "batch"), (group_key, "group_key")):
            if f is not None and not callable(f):
                raise InvalidInput(f"{name} must be callable, got {type(f).__name__}")
        configs = list(configs)
        if store is not None and not isinstance(store, RunStore):
            store = RunStore(store)
        keys = [run_key(c) for c in configs]
        results: dict[str, Any] = {}
        todo: dict[str, Any] = {}
        for key, config in zip(keys, configs, strict=True):
            if key in results or key in todo:
                continue
            found = store.get(config) if store is not None else None
            if found is not None:
                results[key] = found
                if on_result is not None:
                    on_result(config, found)
            else:
                todo[key] = config

        def arrived(key: str, result: Any) -> None:
            if key in results:  # a retried task that reported twice: keep the first result
                return
            results[key] = result
            if store is not None:
                store.put(todo[key], result)
            if on_result is not None:
                on_result(todo[key], result)

        if todo:
            groups: dict[Any, list[str]] = {}
            for key, config in todo.items():
                gk = (group_key or _group_key)(config) if batch is not None else key
                groups.setdefault(gk, []).append(key)
            self._execute(fn, batch, todo, list(groups.values()), arrived)
            missing = [k for k in todo if k not in results]
            if missing:
                raise InvalidInput(
                    f"{type(self).__name__} returned no result for {len(missing)} run(s) "
                    f"(first key {missing[0]}); a batch function must return one result per "
                    "configuration"
                )
        return [results[k] for k in keys]

    def _execute(
        self,
        fn: Callable | None,
        batch: Callable | None,
        todo: dict[str, Any],
        groups: list[list[str]],
        arrived: Callable[[str, Any], None],
    ) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Release what the executor holds (a cluster connection it opened)."""

    def describe(self) -> dict[str, Any]:
        """Plain description for reports and logs."""
        return {"backend": self.name}

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.describe()})"


def _call_batch(batch: Callable, configs: list[Any]) -> list[Any]:
    out = list(batch(configs))
    if len(out) != len(configs):
        raise InvalidInput(
            f"batch function {getattr(batch, '__qualname__', batch)!r} returned {len(out)} "
            f"results for {len(configs)} configurations"
        )
    return out


class LocalExecutor(Executor):
    """Runs in this process, one group after another: ``batch`` on each group of one shape
    when given (a batched trainer trains the group at once), else ``fn`` on each run."""

    name = "local"

    def _execute(self, fn, batch, todo, groups, arrived) -> None:
        for group in groups:
            configs = [todo[k] for k in group]
            self.executed += len(configs)
            if batch is not None:
                for key, result in zip(group, _call_batch(batch, configs), strict=True):
                    arrived(key, result)
            else:
                for key, config in zip(group, configs, strict=True):
                    arrived(key, fn(config))


def get_executor(backend: str = "local", *, address: str | None = None, **options) -> Executor:
    """The executor of ``backend``: ``"local"`` (:class:`LocalExecutor`; no options) or
    ``"ray"`` (:class:`~ncverify.exec.RayExecutor` with ``address`` and ``options``; the
    address is checked now, Ray is started or joined at the first :meth:`Executor.map`)."""
    if backend == "local":
        if address is not None or options:
            given = ["address"] * (address is not None) + sorted(options)
            raise InvalidInput(
                f"the local backend takes no options, got {', '.join(given)}; use "
                "backend='ray' for a cluster"
            )
        return LocalExecutor()
    if backend == "ray":
        from ._ray import RayExecutor

        return RayExecutor(address=address, **options)
    raise InvalidInput(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
