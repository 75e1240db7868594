"""Where the suite's training runs execute: ``--ncverify-backend`` and
``--ncverify-ray-address``, checked when pytest configures, and the fixture
``ncverify_executor``.

Nothing here imports Ray (or torch): with ``--ncverify-backend=ray`` the address is probed
with a socket and a short-lived driver subprocess (:func:`ncverify.exec.check_ray_address`),
and Ray is imported by the executor when a test first runs something through it.
"""

from __future__ import annotations

import os

import pytest

from ..errors import InvalidInput, NCVerifyError

__all__ = ["add_backend_options", "configure_backend", "ncverify_executor"]

_BACKENDS = ("local", "ray")


def _backend(value: str) -> str:
    if value not in _BACKENDS:
        raise InvalidInput(f"unknown backend {value!r}; choose one of {', '.join(_BACKENDS)}")
    return value


def add_backend_options(group, argtype) -> None:
    group.addoption(
        "--ncverify-backend",
        type=argtype(_backend),
        default=None,
        metavar="local|ray",
        help="where training runs execute: local (default: in this process) or ray "
        "(default: $NCVERIFY_BACKEND, else local)",
    )
    group.addoption(
        "--ncverify-ray-address",
        default=None,
        metavar="ADDR",
        help="Ray cluster to join with --ncverify-backend=ray: host:port (as printed by "
        "`ray start --head`), ray://host:port or auto (default: $NCVERIFY_RAY_ADDRESS, else "
        "a new local Ray instance per pytest process)",
    )


def configure_backend(config: pytest.Config) -> dict[str, str | None]:
    """Check the backend options and export them for the executor (and pytest-xdist workers);
    return the previous values of the environment variables, to restore at unconfigure."""
    from ..exec._address import check_ray_address, require_ray
    from ..exec._executor import BACKEND_ENV, RAY_ADDRESS_ENV

    saved = {k: os.environ.get(k) for k in (BACKEND_ENV, RAY_ADDRESS_ENV)}
    backend = config.getoption("ncverify_backend") or os.environ.get(BACKEND_ENV) or "local"
    address = config.getoption("ncverify_ray_address") or os.environ.get(RAY_ADDRESS_ENV)
    try:
        _backend(backend)
        if backend == "local" and address:
            raise InvalidInput(
                f"--ncverify-ray-address={address} needs --ncverify-backend=ray (the local "
                "backend runs everything in this process)"
            )
        if backend == "ray":
            # the address first (a configuration error names it), then the extra
            worker = hasattr(config, "workerinput")  # xdist workers: the controller checked
            check_ray_address(address or None, join=not worker)
            require_ray()
    except NCVerifyError as exc:
        raise pytest.UsageError(f"ncverify: {exc}") from None
    os.environ[BACKEND_ENV] = backend
    if address:
        os.environ[RAY_ADDRESS_ENV] = address
    return saved


@pytest.fixture(scope="session")
def ncverify_executor():
    """The :class:`~ncverify.exec.Executor` chosen by ``--ncverify-backend`` /
    ``--ncverify-ray-address`` (:func:`ncverify.exec.current_executor`): a test that needs many
    training runs draws their configurations first, then runs them all with
    ``ncverify_executor.map(execute_run, configs)`` and judges each result."""
    from ..exec import current_executor

    return current_executor()
