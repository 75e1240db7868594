"""pytest plugin (entry point ``pytest11: ncverify``). Imports nothing heavy."""

from __future__ import annotations

import os

from ._profiles import PROFILE_ENV, PROFILES, SEED_ENV


def pytest_addoption(parser):
    group = parser.getgroup("ncverify", "ncverify theorem checks")
    group.addoption("--ncverify-profile", choices=sorted(PROFILES), default=None,
                    help="sizes and example counts of the theorem suite (default: ci)")
    group.addoption("--ncverify-seed", type=int, default=None,
                    help="base seed recorded in every evaluation")


def pytest_configure(config):
    profile = config.getoption("--ncverify-profile")
    if profile is not None:
        os.environ[PROFILE_ENV] = profile
    seed = config.getoption("--ncverify-seed")
    if seed is not None:
        os.environ[SEED_ENV] = str(seed)
