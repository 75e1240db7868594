"""Exact identities of gradient descent with weight decay on linear pairs, and the
representation cost of a linear head (spec §4; provenance ``derived``, proofs in
``docs/theorems.md``).

* ``_snapshots``: :class:`GDStep`, :class:`StationaryPoint` (pure data);
* ``_measure``: measurements (torch), including the H-linear-pair probe;
* ``_remeasure``: high-precision re-measurement (exact rationals, mpmath);
* ``_specs``: the four specs;
* ``_strategies``: real autograd GD steps; ``_points``: UFM and planted (near-)critical
  points.
"""

from __future__ import annotations

from ._measure import (
    linearity_residual,
    measure_gd_step,
    measure_head_cost,
    measure_stationary_point,
)
from ._points import (
    POINT_KINDS,
    build_stationary_point,
    build_ufm_point,
    stationary_points,
    ufm_points,
)
from ._remeasure import remeasure_gd_step, remeasure_stationary_point
from ._snapshots import GDStep, StationaryPoint
from ._specs import (
    BALANCEDNESS_STEP,
    NEAR_STATIONARY,
    REPRESENTATION_COST,
    REPRESENTATION_COST_ATTAINED,
    SOURCE,
    THEOREMS,
)
from ._strategies import build_gd_step, gd_steps

__all__ = [
    "BALANCEDNESS_STEP",
    "NEAR_STATIONARY",
    "POINT_KINDS",
    "REPRESENTATION_COST",
    "REPRESENTATION_COST_ATTAINED",
    "SOURCE",
    "THEOREMS",
    "GDStep",
    "StationaryPoint",
    "build_gd_step",
    "build_stationary_point",
    "build_ufm_point",
    "gd_steps",
    "linearity_residual",
    "measure_gd_step",
    "measure_head_cost",
    "measure_stationary_point",
    "remeasure_gd_step",
    "remeasure_stationary_point",
    "stationary_points",
    "ufm_points",
]
