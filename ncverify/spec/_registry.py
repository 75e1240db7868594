"""The theorem registry: built-in catalogs plus plug-in catalogs.

Built-in catalogs are the (public) sub-packages and modules of :mod:`ncverify.catalog`,
found with :mod:`pkgutil`, each with a ``THEOREMS`` tuple: adding a family there is enough.
They are loaded by name, like plug-ins: the spec engine does not import the catalogue (which
is built on it), so the import graph stays acyclic (``docs/architecture.md``).
Plug-ins declare an entry point in the group ``ncverify.theorems`` whose object is
a :class:`~ncverify.spec.TheoremSpec`, an iterable of specs, a module with
``THEOREMS``, or a callable returning specs::

    [project.entry-points."ncverify.theorems"]
    mypaper = "mypackage.theorems:THEOREMS"

Catalogs are loaded on the first call of :func:`get_theorem` /
:func:`all_theorems`. Loading imports no torch or sympy.
"""

from __future__ import annotations

import difflib
import importlib
import threading
from collections.abc import Iterable
from importlib.metadata import entry_points
from typing import Any

from ..errors import InvalidInput, NCVerifyError
from ._theorem import TheoremSpec

__all__ = ["ENTRY_POINT_GROUP", "all_theorems", "builtin_catalogs", "get_theorem", "register"]

ENTRY_POINT_GROUP = "ncverify.theorems"
#: the package whose public sub-modules are the built-in catalogs (loaded by name)
BUILTIN_CATALOG_PACKAGE = "ncverify.catalog"

_REGISTRY: dict[str, TheoremSpec] = {}
_LOADED = False
_LOCK = threading.RLock()


def register(spec: TheoremSpec, *, replace: bool = False) -> TheoremSpec:
    """Add ``spec`` to the registry and return it.

    Registering the same object twice is a no-op; another spec with an id
    already taken raises :class:`InvalidInput` unless ``replace=True``.
    """
    if not isinstance(spec, TheoremSpec):
        raise InvalidInput(f"register() needs a TheoremSpec, got {type(spec).__name__}")
    with _LOCK:
        old = _REGISTRY.get(spec.id)
        if old is not None and old is not spec and not replace:
            raise InvalidInput(
                f"theorem id {spec.id!r} is already registered ({old.title!r}); choose another "
                "id or pass replace=True"
            )
        _REGISTRY[spec.id] = spec
    return spec


def builtin_catalogs() -> tuple[str, ...]:
    """Module names of the built-in catalogs: every public module of ``ncverify.catalog``."""
    import pkgutil

    catalog = importlib.import_module(BUILTIN_CATALOG_PACKAGE)

    return tuple(
        sorted(
            f"{catalog.__name__}.{m.name}"
            for m in pkgutil.iter_modules(catalog.__path__)
            if not m.name.startswith("_")
        )
    )


def _load() -> None:
    global _LOADED
    with _LOCK:
        if _LOADED:
            return
        _LOADED = True  # set first: a catalog may call get_theorem while loading
        for name in builtin_catalogs():
            for spec in specs_from(importlib.import_module(name)):
                register(spec)
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            try:
                specs = specs_from(ep.load())
            except Exception as exc:
                raise NCVerifyError(
                    f"theorem catalog entry point {ep.name!r} ({ep.value}) in group "
                    f"{ENTRY_POINT_GROUP!r} failed to load: {type(exc).__name__}: {exc}; "
                    "fix or uninstall the plug-in"
                ) from exc
            for spec in specs:
                register(spec)


def get_theorem(theorem_id: str) -> TheoremSpec:
    """The registered spec with this id; unknown ids raise :class:`InvalidInput`."""
    _load()
    try:
        return _REGISTRY[theorem_id]
    except KeyError:
        close = difflib.get_close_matches(str(theorem_id), list(_REGISTRY), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise InvalidInput(
            f"no theorem {theorem_id!r} is registered{hint} (see `ncverify list` or all_theorems())"
        ) from None


def all_theorems() -> tuple[TheoremSpec, ...]:
    """Every registered spec, sorted by id."""
    _load()
    return tuple(_REGISTRY[k] for k in sorted(_REGISTRY))


def specs_from(obj: Any) -> Iterable[TheoremSpec]:
    """Specs held by a catalog object: a spec, an iterable of specs, or a module with THEOREMS."""
    if isinstance(obj, TheoremSpec):
        return (obj,)
    if hasattr(obj, "THEOREMS"):
        obj = obj.THEOREMS
    elif callable(obj):
        obj = obj()
    items = tuple(obj) if isinstance(obj, Iterable) else (obj,)
    bad = [x for x in items if not isinstance(x, TheoremSpec)]
    if bad:
        raise InvalidInput(f"catalog holds non-TheoremSpec objects: {bad[:3]!r}")
    return items
