"""cvxpy certificates of the convex UFM formulations agree with the closed forms (spec §6)."""

from __future__ import annotations

import math

import cvxpy as cp
import numpy as np
import pytest
from _ufm_cases import ufm_instances
from hypothesis import given, settings

from ncverify import InvalidInput, ProblemTooLarge, SolverFailed
from ncverify.ufm import (
    UNREDUCED_MAX_ENTRIES,
    ce_optimum,
    certify_ufm,
    estimate_certificate_bytes,
    mse_bias_optimum,
    solve_checked,
    two_factor_mse_optimum,
)

CLOSED = {"mse": two_factor_mse_optimum, "mse_bias": mse_bias_optimum, "ce": ce_optimum}
FEW = settings(max_examples=6, deadline=None, derandomize=True, database=None)


def _closed_Z(loss, opt):
    K = opt.K
    P = np.eye(K) - np.ones((K, K)) / K
    if loss == "mse":
        return opt.s * np.eye(K)
    if loss == "mse_bias":
        return opt.s * P
    return opt.a_star * P


def _assert_certified(cert, opt, loss):
    """closed-form value inside [dual bound, primal value] and Z matching the closed form."""
    slack = 1e-9 * max(1.0, abs(opt.value))
    assert cert.status == "optimal" and not cert.inaccurate
    assert cert.dual_bound - slack <= opt.value <= cert.value + slack
    assert cert.gap <= 1e-5
    assert math.isclose(cert.value, opt.value, rel_tol=1e-6, abs_tol=1e-9)
    Zc = _closed_Z(loss, opt)
    Z = cert.Z
    if loss == "ce":  # logits are defined up to a constant per column
        Z = Z - Z.mean(axis=0, keepdims=True)
    if cert.reduced:
        assert np.abs(Z - Zc).max() <= 1e-3 * max(1.0, np.abs(Zc).max())


@FEW
@given(ufm_instances(loss="mse", max_classes=100, max_per_class=100))
def test_reduced_mse_certificate_matches_closed_form(inst):
    K, n, lw, lh, _ = inst
    cert = certify_ufm("mse", K, n, lw, lh)
    _assert_certified(cert, two_factor_mse_optimum(K, n, lw, lh), "mse")


@FEW
@given(ufm_instances(loss="mse_bias", max_classes=60, max_per_class=100))
def test_reduced_bias_certificate_matches_closed_form(inst):
    K, n, lw, lh, _ = inst
    cert = certify_ufm("mse_bias", K, n, lw, lh)
    _assert_certified(cert, mse_bias_optimum(K, n, lw, lh), "mse_bias")


@FEW
@given(ufm_instances(loss="ce", max_classes=12, max_per_class=100))
def test_reduced_ce_certificate_matches_closed_form(inst):
    K, n, lw, lh, _ = inst
    cert = certify_ufm("ce", K, n, lw, lh)
    _assert_certified(cert, ce_optimum(K, n, lw, lh), "ce")


@settings(max_examples=4, deadline=None, derandomize=True, database=None)
@given(ufm_instances(loss="mse", max_classes=5, max_per_class=8))
def test_unreduced_formulation_agrees_with_the_reduction(inst):
    """The symmetry reduction K×N → K×K loses nothing: same optimum, class-constant Z."""
    K, n, lw, lh, _ = inst
    for loss in ("mse", "mse_bias", "ce"):
        full = certify_ufm(loss, K, n, lw, lh, reduced=False)
        red = certify_ufm(loss, K, n, lw, lh, reduced=True)
        assert full.Z.shape == (K, K * n) and red.Z.shape == (K, K)
        assert math.isclose(full.value, red.value, rel_tol=1e-6, abs_tol=1e-9)
        assert full.dual_bound <= red.value + 1e-9 and red.dual_bound <= full.value + 1e-9
        _assert_certified(full, CLOSED[loss](K, n, lw, lh), loss)
        Zf = full.Z.reshape(K, K, n)
        assert np.abs(Zf - Zf.mean(axis=2, keepdims=True)).max() <= 1e-4


@pytest.mark.parametrize("loss", ["mse", "mse_bias", "ce"])
@pytest.mark.parametrize("ratio", [0.5, 2.0], ids=["collapsed", "zero"])
def test_clarabel_certificate_matches_closed_form(loss, ratio):
    K, n = 6, 5
    lam = ratio / (K * math.sqrt(n))
    cert = certify_ufm(loss, K, n, lam, lam, solver="CLARABEL")
    opt = CLOSED[loss](K, n, lam, lam)
    assert cert.solver == "CLARABEL" and cert.status == "optimal"
    assert cert.dual_bound - 1e-9 <= opt.value <= cert.value + 1e-9
    assert math.isclose(cert.value, opt.value, rel_tol=1e-6)


@pytest.mark.parametrize("solver", ["SCS", "CLARABEL"])
@pytest.mark.parametrize("loss", ["mse", "ce"])
def test_iteration_cap_is_flagged_inaccurate_never_silently_accepted(solver, loss):
    cert = certify_ufm(loss, 4, 5, 1e-2, 1e-2, solver=solver, max_iters=1)
    assert cert.inaccurate
    assert cert.status in ("optimal_inaccurate", "user_limit")
    # the certificate still holds (a valid bound) and says how far from optimal it is
    opt = CLOSED[loss](4, 5, 1e-2, 1e-2)
    assert cert.dual_bound - 1e-12 <= opt.value <= cert.value + 1e-12
    assert cert.gap > 1e-6


def test_solver_statuses_map_to_typed_errors(monkeypatch):
    x = cp.Variable()
    infeasible = cp.Problem(cp.Minimize(x), [x >= 1, x <= 0])
    with pytest.raises(SolverFailed, match=r"CLARABEL returned status 'infeasible'") as info:
        solve_checked(infeasible, "CLARABEL")
    assert info.value.solver == "CLARABEL" and info.value.status == "infeasible"
    unbounded = cp.Problem(cp.Minimize(x), [x <= 0])
    with pytest.raises(SolverFailed, match=r"returned status 'unbounded'.*no finite optimum"):
        solve_checked(unbounded, "CLARABEL")
    with pytest.raises(SolverFailed, match=r"SCS returned status '(infeasible|unbounded)"):
        solve_checked(cp.Problem(cp.Minimize(x), [x >= 1, x <= 0]), "SCS")
    crashing = cp.Problem(cp.Minimize(x), [x >= 1])

    def crash(*args, **kwargs):
        raise cp.error.SolverError("Solver 'SCS' failed. Try another solver")

    monkeypatch.setattr(crashing, "solve", crash)
    with pytest.raises(
        SolverFailed,
        match=r"SCS failed \(Solver 'SCS' failed.*\); try more "
        r"iterations .*or the other solver \(CLARABEL\)",
    ) as err:
        solve_checked(crashing, "SCS")
    assert err.value.status == "solver_error" and err.value.solver == "SCS"


@pytest.mark.parametrize("ratio", [0.5, 1.5], ids=["collapsed", "zero"])
def test_reduced_certificate_at_benchmark_size(ratio):
    """K = 100, n = 100 (the benchmark size), both sides of the threshold."""
    K = n = 100
    lam = ratio / (K * math.sqrt(n))
    cert = certify_ufm("mse", K, n, 0.5 * lam, 2 * lam)
    _assert_certified(cert, two_factor_mse_optimum(K, n, 0.5 * lam, 2 * lam), "mse")


def test_oversized_requests_are_refused_before_allocation(monkeypatch):
    def boom(*args, **kwargs):  # any cvxpy construction would be an allocation
        raise AssertionError("cvxpy object built for a refused request")

    monkeypatch.setattr(cp, "Variable", boom)
    with pytest.raises(ProblemTooLarge, match=r"K=10, N=5000 \(K·N=50000\) exceeds the cap"):
        certify_ufm("mse", 10, 500, 1e-3, 1e-3, reduced=False)
    with pytest.raises(
        ProblemTooLarge,
        match=r"CLARABEL certificate .* K=100.*reduction='classes' needs about "
        r"3\.0\d GiB",
    ):
        certify_ufm("ce", 100, 100, 1e-3, 1e-3, solver="CLARABEL", reduction="classes")
    with pytest.raises(
        ProblemTooLarge, match=r"SCS certificate .*max_bytes=1000 bytes = 0\.00 GiB"
    ):
        certify_ufm("mse", 50, 10, 1e-3, 1e-3, max_bytes=1000, reduction="classes")
    # the symmetric reduction needs O(K²) bytes (the K×K certificate), checked the same way
    with pytest.raises(ProblemTooLarge, match=r"CLARABEL certificate .*K=10000.*symmetric"):
        certify_ufm("ce", 10_000, 10, 1e-6, 1e-6)
    with pytest.raises(ProblemTooLarge, match=r"K=3000, N=3001, reduction='symmetric'"):
        certify_ufm("mse", 3000, [1] * 2999 + [2], 1e-6, 1e-6, max_bytes=10**6)
    # the estimate grows as d⁴ for the interior-point solver: 135 GB at K=10, N=500
    est = estimate_certificate_bytes("mse", 10, 50, reduced=False, solver="CLARABEL")
    assert 1.2e11 < est < 1.5e11
    assert UNREDUCED_MAX_ENTRIES < 10 * 500


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        (dict(loss="hinge"), InvalidInput, r"loss='hinge'; expected one of mse, mse_bias, ce"),
        (dict(solver="MOSEK"), InvalidInput, r"solver='MOSEK'; expected one of SCS, CLARABEL"),
        (dict(tol=0.0), InvalidInput, r"tol=0.0 must be in \(0, 1\)"),
        (dict(max_iters=0), InvalidInput, r"max_iters=0 must be a positive integer"),
        (dict(K=1), InvalidInput, r"K=1 must be >= 2"),
        (dict(lambda_H=-1.0), InvalidInput, r"lambda_H=-1.0 must be a finite positive"),
    ],
)
def test_bad_certificate_requests(kwargs, exc, match):
    args = dict(loss="mse", K=3, n=2, lambda_W=0.1, lambda_H=0.1) | kwargs
    with pytest.raises(exc, match=match):
        certify_ufm(**args)
