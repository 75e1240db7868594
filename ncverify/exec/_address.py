"""Checking a Ray cluster address before anything waits on it (no Ray import).

``ray.init(address=...)`` on an address where no Ray head answers can wait for minutes. A
configuration error must be reported within seconds and name the address, so
:func:`check_ray_address` first parses the address, then opens a TCP connection with a time
limit and checks that the other end speaks HTTP/2 (the protocol of Ray's gRPC services): it
answers the client preface with a SETTINGS frame. A head that passes this is joined by Ray
itself. With ``join=True`` a short-lived Ray driver in a subprocess joins the cluster
within a time limit, which catches what a reachable port cannot tell (a service that is not
Ray, a token or version mismatch).
"""

from __future__ import annotations

import importlib.util
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

from ..errors import BackendError, InvalidInput, MissingDependency

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "VERIFIED_ENV",
    "check_ray_address",
    "join_environment",
    "require_ray",
]

#: addresses a Ray driver has already joined (set by the command line and the pytest plugin,
#: inherited by pytest and its workers so they do not probe again)
VERIFIED_ENV = "NCVERIFY_RAY_VERIFIED"

#: seconds to wait for a cluster address to answer (``NCVERIFY_RAY_CONNECT_TIMEOUT``)
DEFAULT_CONNECT_TIMEOUT = 5.0

_ADDRESS = re.compile(
    r"^(?P<scheme>ray://)?(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.\-]+):(?P<port>\d{1,5})$"
)
_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
_SETTINGS = 0x04


def require_ray() -> None:
    """Raise :class:`MissingDependency` naming the extra when ``ray`` is not installed."""
    if importlib.util.find_spec("ray") is None:
        raise MissingDependency(
            "the ray backend needs Ray, which is not installed: pip install 'ncverify[ray]' "
            "(or NCVERIFY_EXTRAS=ray bash scripts/setup)"
        )


def _timeout(timeout: float | None) -> float:
    if timeout is None:
        raw = os.environ.get("NCVERIFY_RAY_CONNECT_TIMEOUT", str(DEFAULT_CONNECT_TIMEOUT))
        try:
            timeout = float(raw)
        except ValueError:
            raise InvalidInput(
                f"NCVERIFY_RAY_CONNECT_TIMEOUT={raw!r} is not a number of seconds"
            ) from None
    if not timeout > 0:
        raise InvalidInput(f"the connection time limit must be > 0 seconds, got {timeout!r}")
    return float(timeout)


def _token_available() -> bool:
    path = os.environ.get("RAY_AUTH_TOKEN_PATH")
    return bool(
        os.environ.get("RAY_AUTH_TOKEN")
        or (path and Path(path).is_file())
        or (Path.home() / ".ray" / "auth_token").is_file()
    )


def join_environment() -> dict[str, str]:
    """Environment variables a driver joining a cluster needs: ``RAY_AUTH_MODE=token`` when a
    Ray token is available and the mode is unset (heads of Ray 2.60 require a token by
    default; a driver sends it only in token mode)."""
    if "RAY_AUTH_MODE" not in os.environ and _token_available():
        return {"RAY_AUTH_MODE": "token"}
    return {}


_JOIN = (
    "import json, logging, sys\n"
    "import ray\n"
    "ray.init(address=sys.argv[1], log_to_driver=False, logging_level=logging.ERROR)\n"
    "print(json.dumps(ray.cluster_resources()))\n"
    "ray.shutdown()\n"
)


def _join(address: str, limit: float, remedy: str) -> None:
    verified = os.environ.get(VERIFIED_ENV, "").split(",")
    if address in verified:
        return
    wait = max(15.0, 3 * limit)
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _JOIN, address],
            capture_output=True,
            text=True,
            timeout=wait,
            env={**os.environ, **join_environment()},
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        raise BackendError(
            f"Ray address {address!r}: the port answers, but no Ray head let a driver join "
            f"within {wait:g} s; {remedy}"
        ) from None
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.splitlines() if ln.strip() and not ln.startswith(" ")]
        raise BackendError(
            f"Ray address {address!r}: a driver could not join the cluster ("
            f"{lines[-1] if lines else 'exit status ' + str(proc.returncode)}); {remedy}"
        )
    os.environ[VERIFIED_ENV] = ",".join([v for v in verified if v] + [address])


def check_ray_address(
    address: str | None, *, timeout: float | None = None, join: bool = False
) -> str | None:
    """Return ``address`` unchanged if a Ray head may answer there; raise otherwise.

    ``None`` (start a local Ray instance) and ``"auto"`` (the cluster ``ray start`` left on
    this machine, or ``$RAY_ADDRESS``) are accepted as they are. ``"host:port"`` (a head's GCS
    address, as printed by ``ray start --head``) and ``"ray://host:port"`` (Ray Client) are
    probed: :class:`InvalidInput` for a malformed address, :class:`BackendError` naming the
    address when nothing accepts a connection within ``timeout`` seconds (default
    ``$NCVERIFY_RAY_CONNECT_TIMEOUT`` or 5) or the service there is not a gRPC server, and,
    with ``join=True``, when a driver cannot join the cluster within ``max(15, 3·timeout)`` s
    (an address joined before, listed in ``$NCVERIFY_RAY_VERIFIED``, is not joined again).
    """
    if address is None or address == "auto":
        return address
    if not isinstance(address, str):
        raise InvalidInput(f"a Ray address is a string 'host:port', got {address!r}")
    m = _ADDRESS.match(address.strip())
    if not m or not 0 < int(m["port"]) < 65536:
        raise InvalidInput(
            f"Ray address {address!r} is not of the form host:port, ray://host:port or 'auto' "
            "(the head prints its address when started with `ray start --head`)"
        )
    host, port = m["host"].strip("[]"), int(m["port"])
    limit = _timeout(timeout)
    remedy = (
        "start the head there with `ray start --head --port PORT`, check the host and port "
        "(and any firewall), or give no address to start a local Ray instance"
    )
    try:
        with socket.create_connection((host, port), timeout=limit) as sock:
            if os.environ.get("RAY_USE_TLS", "0") not in ("1", "true", "True"):
                sock.settimeout(limit)
                sock.sendall(_PREFACE)
                head = _read(sock, 9)
                if len(head) < 9 or head[3] != _SETTINGS:
                    raise BackendError(
                        f"Ray address {address!r}: something listens on {host}:{port} but it "
                        "is not a Ray head (it did not answer as a gRPC server); " + remedy
                    )
    except TimeoutError:
        raise BackendError(
            f"Ray address {address!r}: no answer within {limit:g} s; {remedy}"
        ) from None
    except OSError as exc:
        raise BackendError(f"Ray address {address!r} is unreachable ({exc}); {remedy}") from None
    if join:
        _join(address, limit, remedy)
    return address


def _read(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return data
