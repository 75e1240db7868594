"""Deep linear UFM: the m = 2 threshold fix, exact bisection, balanced layers (for JSWM's
Theorem 5.2), the sum-of-squares certificate (docs/ufm.md#deep-linear)."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ncverify import InvalidInput
from ncverify.ufm import (
    certify_deep_linear,
    deep_linear_layers,
    deep_linear_optimum,
    exact_deep_linear,
)

FEW = settings(max_examples=20, deadline=None, derandomize=True, database=None)


def _r_star(m):
    q = Fraction(m - 2, m - 1)
    return q ** (m - 2) * (1 - q) ** m if m > 2 else Fraction(1)


def test_m2_at_the_threshold_is_the_zero_optimum():
    """Regression: m = 2 with K²nλ_1λ_2 = 1 exactly used to raise SolverFailed ("no root of R
    in (0,1) although r=1 <= r*=1"); the threshold is continuous there: zero, no tie."""
    opt = deep_linear_optimum(2, 1, [Fraction(5, 2), Fraction(1, 10)])
    assert opt.r == 1 and opt.r_star == 1
    assert not opt.collapsed and not opt.tie and opt.x == 0.0 and opt.value == 0.5


@st.composite
def deep_instances(draw):
    m = draw(st.integers(2, 5))  # sympy's isolation is slow beyond: the independent route
    K, n = draw(st.integers(2, 20)), draw(st.integers(1, 50))
    mode = draw(st.sampled_from(["tie", "below", "above", "free"]))
    if mode == "free":
        r = _r_star(m) * Fraction(draw(st.integers(1, 3000)), 1000)
    else:
        d = Fraction(1, 2 ** draw(st.integers(4, 24)))
        r = _r_star(m) * {"tie": 1, "below": 1 - d, "above": 1 + d}[mode]
    rest = [Fraction(draw(st.integers(1, 9)), 10) for _ in range(m - 1)]
    first = r / (Fraction(K) ** m * n)
    for v in rest:
        first /= v
    return K, n, [first, *rest]


@settings(max_examples=10, deadline=None, derandomize=True, database=None)
@given(deep_instances())
def test_bisection_agrees_with_sympy_real_root_isolation(inst):
    """Independent route: sympy's isolation of the real roots of x^{m−2}(1−x)^m − r."""
    import sympy

    K, n, lams = inst
    opt = deep_linear_optimum(K, n, lams)
    m, r = opt.m, opt.r
    x = sympy.Symbol("x")
    poly = sympy.Poly(x ** (m - 2) * (1 - x) ** m - sympy.Rational(r), x, domain=sympy.QQ)
    roots = [(a + b) / 2 for (a, b), _ in poly.intervals(inf=0, sup=1, eps=Fraction(1, 2**62))]
    roots = sorted(float(v) for v in roots if 0 < v < 1)
    assert len(roots) == len(opt.stationary_x)
    assert all(abs(a - b) <= 1e-15 for a, b in zip(roots, opt.stationary_x, strict=True))
    assert opt.collapsed == (r <= opt.r_star if m > 2 else r < 1)
    assert opt.tie == (m > 2 and r == opt.r_star)


@pytest.mark.parametrize("m", [2, 3, 5, 12])
@pytest.mark.parametrize("ratio", [0.3, 1.0, 1.01])
def test_sos_certificate_brackets_the_exact_value(m, ratio):
    unit = deep_linear_optimum(3, 2, [1.0] * m)
    lam = ratio * unit.beta_star / unit.beta
    opt = deep_linear_optimum(3, 2, [lam] * m)
    cert = certify_deep_linear(3, 2, [lam] * m)
    slack = 1e-12
    assert cert.dual_bound - slack <= opt.value <= cert.value + slack
    assert cert.gap <= 1e-7
    assert exact_deep_linear(3, 2, [lam] * m).value == pytest.approx(opt.value, abs=1e-15)


def test_sos_certificate_at_the_exact_tie():
    lams = [Fraction(1, 2), Fraction(1, 8), Fraction(1, 8)]  # m = 3: r = r* = 1/16
    cert = certify_deep_linear(2, 1, lams)
    assert cert.dual_bound - 1e-12 <= 0.5 <= cert.value + 1e-12


@pytest.mark.parametrize("n", [3, [10, 5, 2, 40]])
def test_layers_are_balanced_and_attain_the_optimum(n):
    lams = [0.01, 0.02, 0.03, 0.005]
    d = deep_linear_layers(4, n, lams, widths=[5, 6, 7], seed=1)
    assert math.isclose(d.objective, d.value, rel_tol=1e-12)
    F = d.factors
    for i in range(len(F) - 1):  # λ_{i+1}W_{i+1}ᵀW_{i+1} = λ_iW_iW_iᵀ
        D = d.lambdas[i + 1] * F[i + 1].T @ F[i + 1] - d.lambdas[i] * F[i] @ F[i].T
        assert float(D.abs().max()) <= 1e-14
    Z = F[0]
    for W in F[1:]:
        Z = W @ Z
    counts = d.counts
    Y = torch.nn.functional.one_hot(d.labels, 4).T.double()
    assert torch.allclose(Z, torch.tensor(d.x, dtype=torch.float64)[:, None] * Y, atol=1e-13)
    assert [tuple(W.shape) for W in F] == [(5, sum(counts)), (6, 5), (7, 6), (4, 7)]
    if isinstance(n, int):
        opt = deep_linear_optimum(4, n, lams)
        assert all(math.isclose(x, opt.x, rel_tol=1e-15) for x in d.x)
        sv = torch.linalg.svdvals(d.head[-1])
        assert float(sv.max() / sv.min()) == pytest.approx(1.0, abs=1e-12)
    else:  # imbalanced: distinct singular values, κ(W_L) > 1 at the optimum
        sv = torch.linalg.svdvals(d.head[-1])
        assert float(sv.max() / sv.min()) > 1.2


def test_layers_follow_the_threshold_per_class():
    """Class k's direction survives iff r_k = N^m∏λ/n_k^{m−1} < r*(m)."""
    d = deep_linear_layers(3, [1, 8, 64], [0.02, 0.02, 0.02], seed=0)
    assert d.collapsed == tuple(r <= d.r_star for r in d.r)
    assert d.collapsed[-1] and not d.collapsed[0]
    assert d.x[0] == 0.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(widths=[3]), r"widths has 1 entries; need m - 1 = 2"),
        (dict(widths=[2, 4]), r"widths\[0\]=2 must be an integer >= K=3"),
        (dict(lambdas=[0.1]), r"len\(lambdas\)=1"),
        (dict(seed=1.5), r"seed=1.5 must be an integer"),
        (dict(dtype=torch.int64), r"dtype=torch.int64 must be a floating torch dtype"),
        (dict(n=[1, 2]), r"n has 2 per-class counts but K=3"),
    ],
)
def test_bad_layer_requests(kwargs, match):
    args = dict(K=3, n=2, lambdas=[0.01, 0.01, 0.01]) | kwargs
    with pytest.raises(InvalidInput, match=match):
        deep_linear_layers(**args)
