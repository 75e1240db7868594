"""Unconstrained-features model oracles (spec §6): public re-exports.

Three independent routes to the UFM optimum, shown to agree in ``tests/test_ufm*.py``:

* closed forms (:func:`two_factor_mse_optimum`, :func:`mse_bias_optimum`,
  :func:`ce_optimum`) and exact real-root isolation for the deep linear UFM
  (:func:`deep_linear_optimum`), with sympy proofs (``verify_*``);
* cvxpy certificates of the convex formulations (:func:`certify_ufm`), solved after the
  within-class symmetry reduction, each with a dual lower bound;
* torch training of the factorised model from a random start (:func:`fit_ufm`).

Maths and derivations: ``docs/ufm.md``.
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
from ._gd import UFMFit, fit_ufm, gd_step_size
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
    "DeepOptimum",
    "MSEOptimum",
    "SymbolicCheck",
    "UFMFit",
    "ce_optimum",
    "certify_ufm",
    "deep_linear_optimum",
    "estimate_certificate_bytes",
    "fit_ufm",
    "gd_step_size",
    "mse_bias_optimum",
    "solve_checked",
    "two_factor_mse_optimum",
    "verify_bias_closed_form",
    "verify_ce_closed_form",
    "verify_deep_stationarity",
    "verify_two_factor_closed_form",
]
