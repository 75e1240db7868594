"""ncverify: executable specs and test oracles for neural-collapse theorems.

The package is organised by what each part does (``docs/architecture.md``):

========================  ==========================================================
``ncverify.spec``         theorems as data, the one verdict rule set, the registry
``ncverify.metrics``      collapse metrics (NC1–NC4, ε1, ε2), streaming, linear algebra
``ncverify.ufm``          unconstrained-features optima: closed forms, cvxpy, GD fits
``ncverify.nets``         the network protocol, the JSWM family, plug-in loading
``ncverify.train``        gradient descent with weight decay, sharpness
``ncverify.catalog``      theorem families (one sub-package per paper)
``ncverify.strategies``   hypothesis strategies (data, networks, hyper-parameters)
``ncverify.data``         data sets (Gaussian clusters, digits, MNIST, user arrays)
``ncverify.pytest_plugin`` options, fixtures, profiles (``hypothesis_settings``)
``ncverify.report``       reports (JSON, Markdown, HTML, plots)
``ncverify.cli``          the ``ncverify`` command and ``ncverify reproduce``
========================  ==========================================================

This module holds the version, the error hierarchy and a few headline names; every
heavy dependency (torch, cvxpy, sympy) is imported lazily, so ``import ncverify`` and the
pytest plugin load none of them.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version

from .errors import (
    InvalidArchitecture,
    InvalidInput,
    MissingDependency,
    NCVerifyError,
    ProblemTooLarge,
    SolverFailed,
    TrainingDiverged,
)

try:
    __version__ = version("ncverify")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0+unknown"

# headline name -> the sub-package whose public face defines it
_HEADLINES: dict[str, str] = {
    "TheoremSpec": "spec",
    "Assumption": "spec",
    "Claim": "spec",
    "Source": "spec",
    "Evaluation": "spec",
    "Verdict": "spec",
    "AssumptionStatus": "spec",
    "get_theorem": "spec",
    "all_theorems": "spec",
    "register": "spec",
    "PyramidalMLP": "nets",
    "check_architecture": "nets",
    "load_architecture": "nets",
    "architecture_assumptions": "nets",
    "collapse_metrics": "metrics",
}
_SUBPACKAGES = (
    "catalog",
    "cli",
    "data",
    "exec",
    "metrics",
    "nets",
    "pytest_plugin",
    "report",
    "spec",
    "strategies",
    "train",
    "ufm",
)

__all__ = [
    "InvalidArchitecture",
    "InvalidInput",
    "MissingDependency",
    "NCVerifyError",
    "ProblemTooLarge",
    "SolverFailed",
    "TrainingDiverged",
    "__version__",
    *_HEADLINES,
]


def __getattr__(name: str):
    if name in _SUBPACKAGES:
        return importlib.import_module(f"{__name__}.{name}")
    package = _HEADLINES.get(name)
    if package is None:
        raise AttributeError(f"module 'ncverify' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{package}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*__all__, *_SUBPACKAGES])
