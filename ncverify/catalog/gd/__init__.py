"""Exact identities of gradient descent with weight decay on linear pairs, and the
representation cost of a linear head (spec §4; provenance ``derived``, proofs in
``docs/theorems.md``).

* ``_snapshots``: :class:`GDStep`, :class:`StationaryPoint` (pure data);
* ``_measure``: measurements (torch);
* ``_specs``: the four specs;
* ``_strategies``: real autograd GD steps, UFM points (critical or not).
"""

from __future__ import annotations

from ._measure import measure_gd_step, measure_head_cost, measure_stationary_point
from ._snapshots import GDStep, StationaryPoint
from ._specs import (
    BALANCEDNESS_STEP,
    NEAR_STATIONARY,
    REPRESENTATION_COST,
    REPRESENTATION_COST_ATTAINED,
    SOURCE,
    THEOREMS,
)
from ._strategies import build_gd_step, build_ufm_point, gd_steps, ufm_points

__all__ = [
    "BALANCEDNESS_STEP",
    "NEAR_STATIONARY",
    "REPRESENTATION_COST",
    "REPRESENTATION_COST_ATTAINED",
    "SOURCE",
    "THEOREMS",
    "GDStep",
    "StationaryPoint",
    "build_gd_step",
    "build_ufm_point",
    "gd_steps",
    "measure_gd_step",
    "measure_head_cost",
    "measure_stationary_point",
    "ufm_points",
]
