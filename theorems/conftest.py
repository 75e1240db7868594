"""Configuration of the theorem suite.

Hypothesis occasionally draws literal constants harvested from every *local*
module loaded so far (``hypothesis.internal.conjecture.providers``), so the
examples a test sees depend on which of ncverify's modules happen to be
imported when it runs. Importing all of them once, when collection starts
(not at conftest import, so that ``pytest --help`` stays free of torch), makes the
generated instances independent of test order and of how pytest-xdist
distributes tests: serial and ``-n`` runs of the same command then produce the
same evaluations. (A different *selection* of test modules still changes the
pool, hence the examples; every evaluation stays reproducible from its inputs.)
"""

from __future__ import annotations

import importlib
import pkgutil


def _import_all_ncverify_modules() -> None:
    import ncverify

    for info in pkgutil.walk_packages(ncverify.__path__, prefix="ncverify."):
        if not info.name.endswith(".__main__"):  # running it would start the command line
            importlib.import_module(info.name)


def pytest_collection(session) -> None:
    _import_all_ncverify_modules()
