"""Unconstrained-features model oracles (spec §6): public re-exports.

Three independent routes to the UFM optimum, shown to agree in ``tests/test_ufm*.py`` and
turned into theorem specs in :mod:`ncverify.catalog.ufm`:

* closed forms (:func:`two_factor_mse_optimum`, :func:`mse_bias_optimum`,
  :func:`ce_optimum`, :func:`imbalanced_mse_optimum`), exact real-root isolation for the deep
  linear UFM (:func:`deep_linear_optimum`, its layers :func:`deep_linear_layers`), exact
  solutions of the reduced problems of one instance (``exact_*``) and sympy proofs
  (``verify_*``);
* cvxpy certificates of the convex formulations (:func:`certify_ufm`, solved after a
  symmetry reduction), a sum-of-squares certificate of the deep linear UFM
  (:func:`certify_deep_linear`) and the layer-peeled model's SDP (:func:`certify_lpm`), each
  with a dual lower bound computed independently of the solver;
* torch training from a random start (:func:`fit_ufm`, :func:`fit_lpm`,
  :func:`fit_relu_dufm`).

The deep ReLU UFM is compared exactly against a lower-rank configuration
(:func:`compare_relu_configurations`). Maths and derivations: ``docs/ufm.md``.
"""

from __future__ import annotations

from ._closed import (
    CEOptimum,
    MSEOptimum,
    ce_optimum,
    mse_bias_optimum,
    two_factor_mse_optimum,
)
from ._cvx import (
    UNREDUCED_MAX_ENTRIES,
    Certificate,
    certify_ufm,
    estimate_certificate_bytes,
    solve_checked,
)
from ._deep import DeepOptimum, deep_linear_optimum
from ._deep_cert import DeepCertificate, certify_deep_linear
from ._deep_layers import DeepLinearLayers, deep_linear_layers
from ._exact import (
    ExactSolution,
    exact_cross_entropy,
    exact_deep_linear,
    exact_imbalanced,
    exact_two_factor,
)
from ._gd import UFMFit, fit_ufm, gd_step_size
from ._imbalanced import ImbalancedMSEOptimum, imbalanced_mse_optimum
from ._lpm import LPMCertificate, LPMFit, certify_lpm, fit_lpm, lpm_lower_bound
from ._relu import (
    ReluComparison,
    ReluFit,
    compare_relu_configurations,
    complete_graph_structure,
    fit_relu_dufm,
    pm_first_layer_difference,
    relu_configuration,
    relu_objective,
)
from ._symbolic import (
    SymbolicCheck,
    verify_bias_closed_form,
    verify_ce_closed_form,
    verify_deep_stationarity,
    verify_two_factor_closed_form,
)

__all__ = [
    "UNREDUCED_MAX_ENTRIES",
    "CEOptimum",
    "Certificate",
    "DeepCertificate",
    "DeepLinearLayers",
    "DeepOptimum",
    "ExactSolution",
    "ImbalancedMSEOptimum",
    "LPMCertificate",
    "LPMFit",
    "MSEOptimum",
    "ReluComparison",
    "ReluFit",
    "SymbolicCheck",
    "UFMFit",
    "ce_optimum",
    "certify_deep_linear",
    "certify_lpm",
    "certify_ufm",
    "compare_relu_configurations",
    "complete_graph_structure",
    "deep_linear_layers",
    "deep_linear_optimum",
    "estimate_certificate_bytes",
    "exact_cross_entropy",
    "exact_deep_linear",
    "exact_imbalanced",
    "exact_two_factor",
    "fit_lpm",
    "fit_relu_dufm",
    "fit_ufm",
    "gd_step_size",
    "imbalanced_mse_optimum",
    "lpm_lower_bound",
    "mse_bias_optimum",
    "pm_first_layer_difference",
    "relu_configuration",
    "relu_objective",
    "solve_checked",
    "two_factor_mse_optimum",
    "verify_bias_closed_form",
    "verify_ce_closed_form",
    "verify_deep_stationarity",
    "verify_two_factor_closed_form",
]
