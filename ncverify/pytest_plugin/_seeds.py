"""Seeds of the hypothesis examples: one per test, derived from ``--ncverify-seed``.

Each hypothesis test gets ``hypothesis.seed(derive_seed(base, name))`` with ``name`` its
qualified name (module and function), so the same base seed gives the same examples in a
serial run and under ``pytest -n``, and another base seed gives other examples. Hypothesis also
mixes literal constants harvested from every loaded *local* module into its draws (the
"local-constant pool"); that pool depends on which modules are loaded and on unrelated source
edits, so in a session that runs theorem checks it is switched off: examples then depend only
on (seed, test, strategy). Imports hypothesis only when called.
"""

from __future__ import annotations

import hashlib
import random

__all__ = ["derive_seed", "disable_local_constants", "seeded", "seeded_random"]


def derive_seed(base: int, name: str) -> int:
    """A 64-bit seed from the run's base seed and a stable name (sha256; deterministic)."""
    digest = hashlib.sha256(f"{int(base)}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def seeded(name: str):
    """``hypothesis.seed(...)`` for a ``@given`` test that pytest does not collect itself (one
    defined inside a test): seeded from ``--ncverify-seed`` and ``name``."""
    import hypothesis

    from ._profiles import current_seed

    return hypothesis.seed(derive_seed(current_seed(), name))


def seeded_random(name: str) -> random.Random:
    """A :class:`random.Random` for ``hypothesis.find(..., random=...)``, seeded likewise."""
    from ._profiles import current_seed

    return random.Random(derive_seed(current_seed(), name))


def disable_local_constants() -> bool:
    """Switch off hypothesis' local-constant pool for this process; ``True`` if it took effect.

    Uses hypothesis' internal ``providers._get_local_constants`` (no public switch exists);
    ``tests/test_plugin_seeds.py`` fails if a hypothesis upgrade makes this a no-op.
    """
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:  # pragma: no cover - a hypothesis without the pool
        return False
    getter = getattr(providers, "_get_local_constants", None)
    if getter is None or not hasattr(providers, "Constants"):
        return False
    if getattr(getter, "_ncverify_disabled", False):
        return True
    empty = providers.Constants()

    def no_local_constants():
        return empty

    no_local_constants._ncverify_disabled = True
    providers._get_local_constants = no_local_constants
    cache = getattr(providers, "CONSTANTS_CACHE", None)
    if cache is not None and hasattr(cache, "cache"):
        cache.cache.clear()
    return True
