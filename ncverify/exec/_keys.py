"""Names of run configurations: :func:`run_key` (no torch, no Ray)."""

from __future__ import annotations

import hashlib
from dataclasses import fields, is_dataclass
from typing import Any

from ..errors import InvalidInput

__all__ = ["canonical", "run_key"]


def canonical(obj: Any) -> str:
    """A deterministic text of a configuration: type names, fields, ``repr`` of leaves (the
    ``repr`` of a float round-trips exactly). Dataclass fields declared with ``compare=False``
    are left out, as they are from the dataclass's equality (e.g. arrays carried along with a
    fingerprint that identifies them)."""
    if is_dataclass(obj) and not isinstance(obj, type):
        inner = ",".join(
            f"{f.name}={canonical(getattr(obj, f.name))}" for f in fields(obj) if f.compare
        )
        return f"{type(obj).__module__}.{type(obj).__qualname__}({inner})"
    if isinstance(obj, (tuple, list)):
        return "(" + ",".join(canonical(x) for x in obj) + ")"
    if isinstance(obj, dict):
        items = sorted((repr(k), canonical(v)) for k, v in obj.items())
        return "{" + ",".join(f"{k}:{v}" for k, v in items) + "}"
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return repr(obj)
    raise InvalidInput(
        f"a run configuration may hold only dataclasses, tuples, dicts and plain values; "
        f"got {type(obj).__name__} ({obj!r}), which has no stable identity"
    )


def run_key(config: Any) -> str:
    """A 20-hex-digit name of ``config``: SHA-256 of its canonical text (dataclasses, tuples,
    dicts, ints, floats, strings; ``compare=False`` fields skipped; anything else raises
    :class:`InvalidInput`). Equal
    configurations have equal keys on every machine and in every process."""
    return hashlib.sha256(canonical(config).encode("utf-8")).hexdigest()[:20]
