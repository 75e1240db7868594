"""UFM closed forms, exact deep roots and sympy proofs (spec §6)."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from _ufm_cases import ufm_instances
from hypothesis import given, settings
from hypothesis import strategies as st

from ncverify import InvalidInput
from ncverify.ufm import (
    ce_optimum,
    deep_linear_optimum,
    mse_bias_optimum,
    two_factor_mse_optimum,
    verify_bias_closed_form,
    verify_ce_closed_form,
    verify_deep_stationarity,
    verify_two_factor_closed_form,
)

FAST = settings(max_examples=60, deadline=None, derandomize=True, database=None)


def _factorised_objective(W, H, Y, lw, lh, b=None):
    Z = W @ H + (0 if b is None else b[:, None])
    N = Y.shape[1]
    return ((Z - Y) ** 2).sum() / (2 * N) + lw / 2 * (W**2).sum() + lh / 2 * (H**2).sum()


@FAST
@given(ufm_instances(loss="mse", max_per_class=20))
def test_two_factor_value_is_attained_by_the_stated_factors(inst):
    """Build W, H from the closed-form norms and evaluate the factorised objective."""
    K, n, lw, lh, collapsed = inst
    opt = two_factor_mse_optimum(K, n, lw, lh)
    assert opt.collapsed == collapsed
    Y = np.kron(np.eye(K), np.ones((1, n)))
    W = math.sqrt(opt.w_norm_sq) * np.eye(K)
    H = math.sqrt(opt.h_norm_sq) * Y
    assert np.allclose(W @ H, opt.s * Y, rtol=1e-12, atol=1e-12)
    assert math.isclose(_factorised_objective(W, H, Y, lw, lh), opt.value, rel_tol=1e-11)
    if collapsed:  # ‖w_k‖² = √(nλ_H/λ_W) − Knλ_H and balancedness λ_W WᵀW = λ_H HHᵀ
        assert math.isclose(
            opt.w_norm_sq, math.sqrt(n * lh / lw) - K * n * lh, rel_tol=1e-9, abs_tol=1e-12
        )
        assert np.allclose(lw * W.T @ W, lh * H @ H.T, rtol=1e-10, atol=1e-14)
        assert opt.value < 0.5
    else:
        assert opt.s == 0 and opt.value == 0.5


@FAST
@given(ufm_instances(loss="mse", max_per_class=20), st.floats(0.0, 2.0))
def test_two_factor_optimum_beats_every_scaled_target(inst, t):
    """The convex form 1/(2N)‖tY − Y‖² + √(λλ)‖tY‖_* is minimised at t = s."""
    K, n, lw, lh, _ = inst
    opt = two_factor_mse_optimum(K, n, lw, lh)
    val = (1 - t) ** 2 / 2 + math.sqrt(lw * lh) * t * K * math.sqrt(n)
    assert val >= opt.value - 1e-12


@FAST
@given(ufm_instances(loss="mse_bias", max_per_class=20))
def test_bias_value_is_attained_by_simplex_etf_factors(inst):
    K, n, lw, lh, collapsed = inst
    opt = mse_bias_optimum(K, n, lw, lh)
    Y = np.kron(np.eye(K), np.ones((1, n)))
    P = np.eye(K) - np.ones((K, K)) / K
    a = math.sqrt(opt.w_norm_sq * K / (K - 1))  # row norm² of aP is a²(K−1)/K
    W = a * P
    H = (opt.s * math.sqrt(n) / a / math.sqrt(n)) * P @ Y if opt.s > 0 else 0 * Y
    b = np.ones(K) / K
    assert np.allclose(W @ H, opt.s * (Y - 1 / K), atol=1e-12)
    assert math.isclose(_factorised_objective(W, H, Y, lw, lh, b), opt.value, rel_tol=1e-10)
    base = two_factor_mse_optimum(K, n, lw, lh)
    assert opt.s == base.s and math.isclose(opt.value, base.value * (K - 1) / K, rel_tol=1e-14)
    assert opt.collapsed == collapsed


@FAST
@given(ufm_instances(loss="ce", max_per_class=20))
def test_ce_a_star_minimises_the_reduced_problem(inst):
    K, n, lw, lh, collapsed = inst
    opt = ce_optimum(K, n, lw, lh)
    c = opt.c
    assert opt.collapsed == collapsed == (opt.a_star > 0)

    def f(a):
        return math.log1p((K - 1) * math.exp(-a)) + c * (K - 1) * abs(a)

    grid = np.linspace(-1.0, 2 * opt.a_star + 5.0, 2001)
    assert min(f(a) for a in grid) >= opt.value - 1e-12
    if collapsed:  # stationarity f'(a*) = 0
        h = 1e-6
        assert abs(f(opt.a_star + h) - f(opt.a_star - h)) / (2 * h) < 1e-6
    else:
        assert opt.a_star == 0.0 and math.isclose(opt.value, math.log(K), rel_tol=1e-15)


@FAST
@given(ufm_instances(loss="mse", max_per_class=30))
def test_deep_m2_reproduces_the_two_factor_closed_form(inst):
    K, n, lw, lh, collapsed = inst
    two = two_factor_mse_optimum(K, n, lw, lh)
    deep = deep_linear_optimum(K, n, [lh, lw])
    assert deep.collapsed == collapsed
    assert math.isclose(deep.x, two.s, rel_tol=1e-12, abs_tol=1e-15)
    assert math.isclose(deep.value, two.value, rel_tol=1e-12)
    assert math.isclose(deep.beta, two.c, rel_tol=1e-12)


@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(
    m=st.integers(3, 7),
    K=st.integers(2, 100),
    n=st.integers(1, 50),
    ratio=st.floats(0.05, 3.0),
    spread=st.lists(st.floats(0.2, 5.0), min_size=7, max_size=7),
)
def test_deep_optimum_is_the_global_minimum_on_a_grid(m, K, n, ratio, spread):
    """Independent of root finding: G(x) = (1−x)²/2 + (m/2)β x^{2/m} on a fine grid."""
    base = deep_linear_optimum(K, n, [1.0] * m).beta  # β scales with (∏λ)^{1/m}
    lam = [(ratio / base) * s for s in spread[:m]]
    geo = math.exp(sum(math.log(s) for s in spread[:m]) / m)
    lam = [v / geo for v in lam]  # ∏λ = (ratio/base)^m, so β = ratio
    opt = deep_linear_optimum(K, n, lam)
    assert math.isclose(opt.beta, ratio, rel_tol=1e-9)
    x = np.linspace(0.0, 1.0, 20001)
    G = (1 - x) ** 2 / 2 + m / 2 * opt.beta * x ** (2 / m)
    assert G.min() >= opt.value - 1e-12
    assert opt.collapsed == (opt.beta < opt.beta_star) or opt.tie
    if opt.collapsed:
        assert opt.x > (m - 2) / (m - 1)
        # stationarity of G at the returned root, and t = √n x
        dG = -(1 - opt.x) + opt.beta * opt.x ** (2 / m - 1)
        assert abs(dG) < 1e-9
        assert float(opt.x_interval[1] - opt.x_interval[0]) <= 2.0**-60
        lo, hi = opt.x_interval  # float x is the rounded midpoint
        assert lo - Fraction(2.0**-52) <= Fraction(opt.x) <= hi + Fraction(2.0**-52)
        assert math.isclose(opt.value, (1 - opt.x) * (1 + (m - 1) * opt.x) / 2, rel_tol=1e-12)
    else:
        assert opt.x == 0.0 and opt.value == 0.5


def test_deep_exact_tie_at_the_threshold():
    """m = 3: r* = q(1−q)³ = 1/16 with q = 1/2; K³·n·∏λ = 1/16 exactly (rationals)."""
    opt = deep_linear_optimum(2, 1, [Fraction(1, 2), Fraction(1, 8), Fraction(1, 8)])
    assert opt.tie and opt.collapsed
    assert opt.x == 0.5 and opt.value == 0.5
    assert opt.x_interval == (Fraction(1, 2), Fraction(1, 2))
    # a hair above the threshold: zero is the unique optimum, although stationary points exist
    above = deep_linear_optimum(2, 1, [Fraction(1, 2), Fraction(1, 8), Fraction(1, 8) + 1e-12])
    assert not above.collapsed and not above.tie and above.value == 0.5
    assert len(above.stationary_x) == 2


def test_deep_threshold_jumps_for_m3():
    """For m ≥ 3 the optimal singular value jumps from x > q to 0 at β*."""
    ref = deep_linear_optimum(3, 2, [1e-2, 1e-2, 1e-2])
    assert ref.beta_star == pytest.approx(0.5 ** (1 / 3) / 2, rel=1e-12)
    scale = (ref.beta_star / ref.beta) ** 3  # β ∝ λ_3^{1/3}: this puts β exactly at β*
    lo = deep_linear_optimum(3, 2, [1e-2, 1e-2, 1e-2 * scale * 0.999])
    hi = deep_linear_optimum(3, 2, [1e-2, 1e-2, 1e-2 * scale * 1.001])
    assert lo.collapsed and lo.x > 0.5 and not hi.collapsed and hi.x == 0.0


@pytest.mark.parametrize(
    "check",
    [verify_two_factor_closed_form, verify_bias_closed_form, verify_ce_closed_form],
    ids=["two_factor", "bias", "ce"],
)
def test_symbolic_closed_forms(check):
    result = check()
    assert result.ok, result.failures()
    assert result.residuals and all(r == "0" for _, r in result.residuals)


@pytest.mark.parametrize("m", [2, 3, 4, 6])
def test_symbolic_deep_stationarity(m):
    result = verify_deep_stationarity(m)
    assert result.ok, result.failures()


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: two_factor_mse_optimum(1, 5, 0.1, 0.1), r"K=1 must be >= 2"),
        (lambda: two_factor_mse_optimum(3.0, 5, 0.1, 0.1), r"K=3.0 must be an integer"),
        (lambda: mse_bias_optimum(3, 0, 0.1, 0.1), r"n=0 must be >= 1"),
        (lambda: ce_optimum(3, 2, 0.0, 0.1), r"lambda_W=0.0 must be a finite positive"),
        (lambda: ce_optimum(3, 2, 0.1, float("nan")), r"lambda_H=nan must be a finite positive"),
        (lambda: two_factor_mse_optimum(3, 2, "a", 0.1), r"lambda_W='a' is not a real number"),
        (lambda: two_factor_mse_optimum(3, 2, True, 0.1), r"lambda_W=True is a bool"),
        (lambda: deep_linear_optimum(3, 2, [0.1]), r"len\(lambdas\)=1: .* 2 <= m <= 12"),
        (lambda: deep_linear_optimum(3, 2, 0.1), r"must be a sequence"),
        (lambda: deep_linear_optimum(3, 2, [0.1, -1.0]), r"lambdas\[1\]=-1.0 must be"),
        (lambda: verify_deep_stationarity(1), r"m=1 must be an integer >= 2"),
    ],
)
def test_bad_inputs_are_refused(call, match):
    with pytest.raises(InvalidInput, match=match):
        call()
