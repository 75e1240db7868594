"""Networks ncverify can check (``docs/architectures.md``).

* ``_protocol``: the network protocol and :func:`check_architecture`;
* ``_pyramidal``: :class:`PyramidalMLP`, the JSWM network family;
* ``_skip``: :class:`ResidualMLP` and :class:`DenseMLP` (skip connections; outside JSWM's
  scope, for robustness studies);
* ``_activations``: activations with a known slope range (:class:`GammaTanh`, ...);
* ``_assumptions``: JSWM's architecture assumptions measured on a network;
* ``_loader``: plug-ins (``module:factory`` or the entry-point group
  ``ncverify.architectures``) and :class:`ArchitectureFactory`.
"""

from __future__ import annotations

from ._activations import ACTIVATIONS, GammaTanh, ReLU, Tanh, make_activation
from ._assumptions import (
    ARCHITECTURE_ASSUMPTIONS,
    ArchitectureAssumption,
    architecture_assumptions,
)
from ._loader import (
    DEFAULT_INPUT_SHAPE,
    ENTRY_POINT_GROUP,
    PLUGIN_NUM_CLASSES,
    PLUGIN_SAMPLES_PER_CLASS,
    ArchitectureFactory,
    available_architectures,
    check_plugin,
    load_architecture,
    pyramidal_factory,
)
from ._protocol import (
    FACTORY_SIGNATURE,
    PROTOCOL_MEMBERS,
    ArchitectureInfo,
    check_architecture,
    linearity_tolerance,
)
from ._pyramidal import PyramidalMLP
from ._skip import DenseMLP, ResidualMLP

__all__ = [
    "ACTIVATIONS",
    "ARCHITECTURE_ASSUMPTIONS",
    "DEFAULT_INPUT_SHAPE",
    "ENTRY_POINT_GROUP",
    "FACTORY_SIGNATURE",
    "PLUGIN_NUM_CLASSES",
    "PLUGIN_SAMPLES_PER_CLASS",
    "PROTOCOL_MEMBERS",
    "ArchitectureAssumption",
    "ArchitectureFactory",
    "ArchitectureInfo",
    "DenseMLP",
    "GammaTanh",
    "PyramidalMLP",
    "ReLU",
    "ResidualMLP",
    "Tanh",
    "architecture_assumptions",
    "available_architectures",
    "check_architecture",
    "check_plugin",
    "linearity_tolerance",
    "load_architecture",
    "make_activation",
    "pyramidal_factory",
]
