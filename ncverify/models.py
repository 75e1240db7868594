"""Networks ncverify can check: the protocol, the JSWM family, activations and plug-in loading.

See docs/architectures.md. Everything here is re-exported from private modules:
:mod:`ncverify._models`, :mod:`ncverify._arch_assumptions`, :mod:`ncverify._activations`,
:mod:`ncverify._plugins`.
"""

from __future__ import annotations

from ._activations import ACTIVATIONS, GammaTanh, ReLU, Tanh, make_activation
from ._arch_assumptions import (
    ARCHITECTURE_ASSUMPTIONS,
    ArchitectureAssumption,
    architecture_assumptions,
)
from ._models import ArchitectureInfo, PyramidalMLP, check_architecture
from ._plugins import (
    ENTRY_POINT_GROUP,
    ArchitectureFactory,
    available_architectures,
    load_architecture,
    pyramidal_factory,
)

__all__ = [
    "ACTIVATIONS",
    "ARCHITECTURE_ASSUMPTIONS",
    "ENTRY_POINT_GROUP",
    "ArchitectureAssumption",
    "ArchitectureFactory",
    "ArchitectureInfo",
    "GammaTanh",
    "PyramidalMLP",
    "ReLU",
    "Tanh",
    "architecture_assumptions",
    "available_architectures",
    "check_architecture",
    "load_architecture",
    "make_activation",
    "pyramidal_factory",
]
