"""The unconstrained-features model (UFM) family: each theorem checked three ways.

* ``_snapshots``: :class:`UFMRun`, :class:`MinorityRun`, :class:`ReluRun` (pure data: an
  instance with the outputs of its routes);
* ``_measure``: the measured symbols (exact route, cvxpy certificate, training run with the
  a-posteriori quantities of ``docs/ufm.md#a-posteriori``);
* ``_specs``: the theorems as data (:data:`THEOREMS`);
* ``_strategies``: instances at, near and away from every threshold.

Theorems: ``ufm-mse``, ``ufm-mse-bias``, ``ufm-ce``, ``ufm-imbalanced-mse``,
``ufm-deep-linear`` (+ the qualitative ``ufm-deep-linear-gd``), ``ufm-minority-collapse``,
``ufm-deep-relu``; each maps to a section of ``docs/ufm.md``.
"""

from __future__ import annotations

from ._measure import measure_minority_run, measure_relu_run, measure_ufm_run
from ._snapshots import MinorityRun, ReluRun, UFMRun
from ._specs import (
    CE,
    DEEP_LINEAR,
    DEEP_LINEAR_GD,
    DEEP_RELU,
    IMBALANCED,
    MINORITY,
    MSE,
    MSE_BIAS,
    THEOREMS,
)
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

__all__ = [
    "CE",
    "DEEP_LINEAR",
    "DEEP_LINEAR_GD",
    "DEEP_RELU",
    "IMBALANCED",
    "MINORITY",
    "MSE",
    "MSE_BIAS",
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
    "ufm_runs",
]
