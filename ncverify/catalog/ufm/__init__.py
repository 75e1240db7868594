"""The unconstrained-features model (UFM) family: each theorem checked three ways.

* ``_snapshots``: :class:`UFMRun`, :class:`MinorityRun`, :class:`ReluRun` (pure data: an
  instance with the outputs of its routes);
* ``_measure``: the measured symbols (exact route, cvxpy certificate, training run with the
  a-posteriori quantities of ``docs/ufm.md#a-posteriori``);
* ``_specs`` (two-factor models), ``_specs_more`` (imbalance, deep linear), ``_specs_extra``
  (minority collapse, deep ReLU): the theorems as data (:data:`THEOREMS`), each claim with its
  negative controls; ``_remeasure``: the high-precision re-measurement;
* ``_strategies``: instances at, near and away from every threshold.

Theorems (each with a ``-zero`` twin for the other side of its threshold where it has one):
``ufm-mse``, ``ufm-mse-bias``, ``ufm-ce``, ``ufm-imbalanced-mse``, ``ufm-deep-linear`` (+ the
qualitative ``ufm-deep-linear-gd``), ``ufm-minority-collapse``, ``ufm-deep-relu``; each maps to
a section of ``docs/ufm.md``.
"""

from __future__ import annotations

from ._measure import measure_minority_run, measure_relu_run, measure_ufm_run
from ._remeasure import remeasure_ufm_run
from ._snapshots import MinorityRun, ReluRun, UFMRun
from ._specs import CE, CE_ZERO, MSE, MSE_BIAS, MSE_BIAS_ZERO, MSE_ZERO
from ._specs_extra import DEEP_RELU, MINORITY
from ._specs_more import DEEP_LINEAR, DEEP_LINEAR_GD, DEEP_LINEAR_ZERO, IMBALANCED
from ._strategies import (
    build_minority_run,
    build_relu_run,
    build_ufm_run,
    deep_linear_runs,
    imbalanced_runs,
    minority_runs,
    relu_runs,
    ufm_runs,
)

THEOREMS = (
    MSE,
    MSE_ZERO,
    MSE_BIAS,
    MSE_BIAS_ZERO,
    CE,
    CE_ZERO,
    IMBALANCED,
    DEEP_LINEAR,
    DEEP_LINEAR_ZERO,
    DEEP_LINEAR_GD,
    MINORITY,
    DEEP_RELU,
)

__all__ = [
    "CE",
    "CE_ZERO",
    "DEEP_LINEAR",
    "DEEP_LINEAR_GD",
    "DEEP_LINEAR_ZERO",
    "DEEP_RELU",
    "IMBALANCED",
    "MINORITY",
    "MSE",
    "MSE_BIAS",
    "MSE_BIAS_ZERO",
    "MSE_ZERO",
    "THEOREMS",
    "MinorityRun",
    "ReluRun",
    "UFMRun",
    "build_minority_run",
    "build_relu_run",
    "build_ufm_run",
    "deep_linear_runs",
    "imbalanced_runs",
    "measure_minority_run",
    "measure_relu_run",
    "measure_ufm_run",
    "minority_runs",
    "relu_runs",
    "remeasure_ufm_run",
    "ufm_runs",
]
