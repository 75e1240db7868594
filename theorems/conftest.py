"""Configuration of the theorem suite.

Hypothesis occasionally draws literal constants harvested from every *local*
module loaded so far (``hypothesis.internal.conjecture.providers``), so the
examples a test sees depend on which of ncverify's modules happen to be
imported when it runs. Importing all of them once, at collection, makes the
generated instances independent of test order and of how pytest-xdist
distributes tests: serial and ``-n`` runs of the same command then produce the
same evaluations. (A different *selection* of test modules still changes the
pool, hence the examples; every evaluation stays reproducible from its inputs.)
"""

from __future__ import annotations

import importlib
import pkgutil

import ncverify


def _import_all_ncverify_modules() -> None:
    for info in pkgutil.walk_packages(ncverify.__path__, prefix="ncverify."):
        importlib.import_module(info.name)


_import_all_ncverify_modules()
