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

import os

from ..errors import InvalidInput
from ._base import Executor, _call_batch

__all__ = [
    "BACKENDS",
    "BACKEND_ENV",
    "RAY_ADDRESS_ENV",
    "Executor",
    "LocalExecutor",
    "current_executor",
    "get_executor",
]

#: the backends :func:`get_executor` knows
BACKENDS = ("local", "ray")
#: environment variables that choose :func:`current_executor` (set by ``--ncverify-backend``,
#: ``--ncverify-ray-address`` and ``ncverify report --backend ... --address ...``)
BACKEND_ENV = "NCVERIFY_BACKEND"
RAY_ADDRESS_ENV = "NCVERIFY_RAY_ADDRESS"


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


_CURRENT: dict[tuple[str, str | None], Executor] = {}


def current_executor() -> Executor:
    """The executor this process was asked to use: ``$NCVERIFY_BACKEND`` (``local``, the
    default, or ``ray``) with ``$NCVERIFY_RAY_ADDRESS`` (unset: a new local Ray instance). Made
    once per process and kept (the pytest fixture ``ncverify_executor`` returns it)."""
    backend = os.environ.get(BACKEND_ENV) or "local"
    address = os.environ.get(RAY_ADDRESS_ENV) or None
    if backend == "local" and address is not None:
        raise InvalidInput(
            f"${RAY_ADDRESS_ENV}={address!r} is set but ${BACKEND_ENV} is {backend!r}; set "
            f"{BACKEND_ENV}=ray to use the cluster"
        )
    key = (backend, address)
    if key not in _CURRENT:
        _CURRENT[key] = get_executor(backend, address=address)
    return _CURRENT[key]
