"""``--backend`` and ``--address`` of ``ncverify report``, ``check``, ``reproduce`` and
``sweep``.

The address is checked here, before anything runs, so that an unreachable cluster is a
configuration error (exit status 2) that names the address within seconds. ``report`` and
``check`` then pass the options to pytest as ``--ncverify-backend`` /
``--ncverify-ray-address``; ``reproduce`` and ``sweep`` export them for
:func:`ncverify.exec.current_executor` (:func:`use_backend`).
"""

from __future__ import annotations

import argparse
import os

from ..errors import InvalidInput

__all__ = ["add_backend_options", "backend_pytest_args", "use_backend"]


def add_backend_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--backend",
        choices=("local", "ray"),
        default=None,
        help="where training runs execute: local (default) or ray (docs/scale-out.md)",
    )
    p.add_argument(
        "--address",
        default=None,
        metavar="ADDR",
        help="Ray cluster to join with --backend ray: host:port as printed by `ray start "
        "--head`, ray://host:port or auto (default: a new local Ray instance)",
    )


def backend_pytest_args(args: argparse.Namespace) -> list[str]:
    """The pytest options for ``args.backend`` / ``args.address``. Raises an
    :class:`~ncverify.NCVerifyError` (the command exits with status 2) for an address without
    ``--backend ray``, an address where no Ray head answers, or a missing Ray."""
    from ..exec import check_ray_address, require_ray

    backend, address = getattr(args, "backend", None), getattr(args, "address", None)
    if address is not None and backend != "ray":
        raise InvalidInput(f"--address {address} needs --backend ray")
    if backend != "ray":
        return [] if backend is None else [f"--ncverify-backend={backend}"]
    check_ray_address(address, join=True)  # the address first: the error names it
    require_ray()
    return ["--ncverify-backend=ray", *([f"--ncverify-ray-address={address}"] if address else [])]


def use_backend(args: argparse.Namespace) -> None:
    """Check ``args.backend`` / ``args.address`` as :func:`backend_pytest_args` does and export
    them (``NCVERIFY_BACKEND``, ``NCVERIFY_RAY_ADDRESS``) for the runs of this process."""
    from ..exec import BACKEND_ENV, RAY_ADDRESS_ENV

    backend_pytest_args(args)
    if getattr(args, "backend", None):
        os.environ[BACKEND_ENV] = args.backend
    if getattr(args, "address", None):
        os.environ[RAY_ADDRESS_ENV] = args.address
