"""The pytest plugin (entry point ``pytest11: ncverify``) and the run profiles.

Options (``pytest --help``, group *ncverify*): ``--ncverify-profile``, ``--ncverify-seed``,
``--ncverify-arch``, ``--ncverify-report``, ``--ncverify-backend``, ``--ncverify-ray-address``;
fixtures ``ncverify_record``, ``ncverify_profile``, ``ncverify_seed``, ``ncverify_arch``,
``ncverify_executor``; markers
``ncverify_theorem(theorem_id)`` and ``ncverify_arch`` (``docs/plugin.md``).

* ``_options``: option parsing and validation;
* ``_hooks``: configuration, markers, seeds, the hook that fails a test on a failing
  evaluation, a vacuous check (``_checks``: floors) or a missed negative control;
* ``_fixtures``: ``ncverify_record``, ``ncverify_control`` and the option fixtures;
* ``_backend``: ``--ncverify-backend`` / ``--ncverify-ray-address`` and ``ncverify_executor``
  (training runs in this process or on a Ray cluster; Ray is never imported here);
* ``_seeds``: per-test seeds derived from ``--ncverify-seed``; ``seeded(name)`` for nested
  ``@given``;
* ``_collector``: gathers evaluations from test reports (xdist-safe) and writes the report;
* ``_profiles``: :class:`Profile`, :data:`PROFILES`, :func:`hypothesis_settings`.

Importing this package imports nothing heavy (no torch, sympy, cvxpy or matplotlib).
"""

from __future__ import annotations

from ._backend import ncverify_executor
from ._collector import COMMAND_ENV
from ._fixtures import (
    ncverify_arch,
    ncverify_control,
    ncverify_profile,
    ncverify_record,
    ncverify_seed,
)
from ._hooks import (
    pytest_collection_modifyitems,
    pytest_configure,
    pytest_runtest_call,
    pytest_unconfigure,
)
from ._options import ARCH_ENV, pytest_addoption, validate_arch_spec
from ._profiles import (
    DEFAULT_SEED,
    PROFILE_ENV,
    PROFILES,
    SEED_ENV,
    Profile,
    current_profile,
    current_seed,
    get_profile,
    hypothesis_settings,
)
from ._seeds import derive_seed, seeded, seeded_random

__all__ = [
    "ARCH_ENV",
    "COMMAND_ENV",
    "DEFAULT_SEED",
    "PROFILES",
    "PROFILE_ENV",
    "SEED_ENV",
    "Profile",
    "current_profile",
    "current_seed",
    "derive_seed",
    "get_profile",
    "hypothesis_settings",
    "ncverify_arch",
    "ncverify_control",
    "ncverify_executor",
    "ncverify_profile",
    "ncverify_record",
    "ncverify_seed",
    "pytest_addoption",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_runtest_call",
    "pytest_unconfigure",
    "seeded",
    "seeded_random",
    "validate_arch_spec",
]
