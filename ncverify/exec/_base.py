"""The base of the executors: :class:`Executor` (keys, duplicates, checkpoints, order)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..errors import InvalidInput
from ._keys import run_key
from ._store import RunStore

__all__ = ["Executor"]


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
