"""Per-class sizes and the symmetry-reduced certificates (docs/ufm.md#imbalanced, #symmetry)."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ncverify import InvalidInput, ProblemTooLarge
from ncverify.ufm import (
    ce_optimum,
    certify_ufm,
    exact_cross_entropy,
    exact_imbalanced,
    exact_two_factor,
    fit_ufm,
    imbalanced_mse_optimum,
    mse_bias_optimum,
    two_factor_mse_optimum,
)

FEW = settings(max_examples=25, deadline=None, derandomize=True, database=None)


@st.composite
def imbalanced(draw, max_classes=6, max_count=30):
    K = draw(st.integers(2, max_classes))
    counts = draw(st.lists(st.integers(1, max_count), min_size=K, max_size=K))
    N = sum(counts)
    target = draw(st.sampled_from(counts)) * (1 + draw(st.floats(-1e-3, 1e-3)))
    if draw(st.booleans()):
        target = draw(st.floats(0.01, 2.0 * max(counts)))
    mu = math.sqrt(target) / N
    rho = draw(st.floats(0.1, 10.0))
    return counts, mu * math.sqrt(rho), mu / math.sqrt(rho)


def _one_hot(counts):
    Y = np.zeros((len(counts), sum(counts)))
    Y[np.repeat(np.arange(len(counts)), counts), np.arange(sum(counts))] = 1.0
    return Y


@FEW
@given(imbalanced())
def test_closed_form_is_the_prox_of_the_nuclear_norm(inst):
    """Independent route: numpy SVD soft-thresholding of the K×N target."""
    counts, lw, lh = inst
    opt = imbalanced_mse_optimum(counts, lw, lh)
    Y = _one_hot(counts)
    tau = sum(counts) * math.sqrt(lw * lh)
    U, s, Vt = np.linalg.svd(Y, full_matrices=False)
    t = np.maximum(s - tau, 0.0)
    Z = (U * t) @ Vt
    value = (0.5 * float(((Z - Y) ** 2).sum()) + tau * float(t.sum())) / sum(counts)
    assert math.isclose(value, opt.value, rel_tol=1e-10, abs_tol=1e-13)
    rows = np.array([Z[k] @ Y[k] / nk for k, nk in enumerate(counts)])
    assert np.allclose(rows, opt.scales, atol=1e-9)
    exact = exact_imbalanced(counts, lw, lh)
    assert math.isclose(exact.value, opt.value, rel_tol=1e-12, abs_tol=1e-15)
    assert np.allclose(exact.argmin, opt.scales, atol=1e-12)


@FEW
@given(imbalanced(max_classes=5, max_count=12))
def test_reductions_agree_and_bracket_the_closed_form(inst):
    """symmetric (K scalars) = classes (K×K SDP) = none (K×N SDP, small sizes)."""
    counts, lw, lh = inst
    opt = imbalanced_mse_optimum(counts, lw, lh)
    K = len(counts)
    for kw in (dict(), dict(reduction="classes"), dict(reduced=False)):
        if not kw.get("reduced", True) and K * sum(counts) > 2000:
            continue
        c = certify_ufm("mse", K, counts, lw, lh, **kw)
        slack = 1e-8 * max(1.0, opt.value)
        assert c.dual_bound - slack <= opt.value <= c.value + slack, (kw, c)
        assert c.gap <= 1e-6


def test_the_vanishing_rule_is_decided_exactly_at_the_threshold():
    """N = 16 (a power of two): λ_W = n_j/N, λ_H = 1/N are exact, so N²λ_Wλ_H = n_j exactly;
    class j sits on the threshold and vanishes (n_k ≤ N²λ_Wλ_H), the class above survives."""
    counts = [3, 5, 8]
    opt = imbalanced_mse_optimum(counts, 5 / 16, 1 / 16)
    assert Fraction(5 / 16) * Fraction(1 / 16) * 16**2 == 5
    assert opt.surviving == (False, False, True)
    assert opt.scales[1] == 0.0 and opt.scales[2] > 0
    cert = certify_ufm("mse", 3, counts, 5 / 16, 1 / 16)
    assert cert.dual_bound - 1e-12 <= opt.value <= cert.value + 1e-12
    # at the threshold the objective is flat to second order at 0: the solver's x_j is only
    # √(gap)-accurate, as strong convexity says: ½(x_j − 0)² ≤ N·gap
    x_j = np.diag(cert.Z)[1] * math.sqrt(5)
    assert abs(x_j) <= math.sqrt(2 * 16 * max(cert.gap, 0.0)) + 1e-12


def test_kappa_of_the_class_means_is_not_the_kappa_of_Z():
    """The issue's formula (√n_max − τ)/(√n_min' − τ) is κ(Z) = κ(W)², not κ(H̄)."""
    counts, lw, lh = [9, 100, 400, 2], 0.004, 0.002
    opt = imbalanced_mse_optimum(counts, lw, lh)
    K, N = len(counts), sum(counts)
    Y = _one_hot(counts)
    Z = np.array(opt.scales)[:, None] * Y
    U, s, Vt = np.linalg.svd(Z, full_matrices=False)
    W = (lh / lw) ** 0.25 * U * np.sqrt(s)
    H = (lw / lh) ** 0.25 * (np.sqrt(s)[:, None] * Vt)
    f = ((W @ H - Y) ** 2).sum() / (2 * N) + lw / 2 * (W**2).sum() + lh / 2 * (H**2).sum()
    assert math.isclose(f, opt.value, rel_tol=1e-12)
    live = [k for k in range(K) if opt.surviving[k]]
    Hbar = (H @ Y.T) / np.array(counts)
    sv = np.linalg.svd(Hbar[:, live], compute_uv=False)
    assert math.isclose(sv.max() / sv.min(), opt.kappa_Hbar, rel_tol=1e-9)
    brief = (math.sqrt(400) - opt.tau) / (math.sqrt(9) - opt.tau)
    assert math.isclose(opt.kappa_Z, brief, rel_tol=1e-12)
    assert math.isclose(opt.kappa_W**2, opt.kappa_Z, rel_tol=1e-12)
    assert not math.isclose(opt.kappa_Hbar, brief, rel_tol=1e-3)
    for k in live:  # self-duality h̄_k = √(λ_W/(n_kλ_H))·w_k
        assert np.allclose(Hbar[:, k], math.sqrt(lw / (counts[k] * lh)) * W[k], atol=1e-12)


def test_balanced_sizes_reproduce_the_balanced_closed_form():
    a = imbalanced_mse_optimum([4] * 5, 0.01, 0.02)
    b = two_factor_mse_optimum(5, 4, 0.01, 0.02)
    assert math.isclose(a.value, b.value, rel_tol=1e-14)
    assert all(math.isclose(s, b.s, rel_tol=1e-14) for s in a.scales)


def test_benchmark_size_certificate_K100_counts_1_to_1000():
    rng = np.random.default_rng(0)
    counts = [int(v) for v in rng.integers(1, 1001, size=100)]
    N = sum(counts)
    for target in (float(np.median(counts)), 0.5, 2000.0):
        mu = math.sqrt(target) / N
        cert = certify_ufm("mse", 100, counts, 2 * mu, mu / 2)
        opt = imbalanced_mse_optimum(counts, 2 * mu, mu / 2)
        assert cert.status == "optimal" and cert.reduction == "symmetric"
        slack = 1e-9 * max(1.0, opt.value)
        assert cert.dual_bound - slack <= opt.value <= cert.value + slack
        assert cert.n is None and cert.counts == tuple(counts)


@pytest.mark.parametrize("ratio", [0.3, 0.999, 1.0, 1.5])
@pytest.mark.parametrize("loss", ["mse", "mse_bias", "ce"])
def test_symmetric_and_within_class_reductions_agree(loss, ratio):
    K, n = 7, 3
    mu = ratio / (K * math.sqrt(n))
    closed = {"mse": two_factor_mse_optimum, "mse_bias": mse_bias_optimum, "ce": ce_optimum}
    opt = closed[loss](K, n, 2 * mu, mu / 2)
    sym = certify_ufm(loss, K, n, 2 * mu, mu / 2)
    cls = certify_ufm(loss, K, n, 2 * mu, mu / 2, reduction="classes")
    for c in (sym, cls):
        assert c.dual_bound - 1e-9 <= opt.value <= c.value + 1e-9
    assert sym.solver == "CLARABEL" and cls.solver == "SCS"
    assert abs(sym.value - cls.value) <= 1e-6


def test_ce_two_scalar_certificate_at_K100():
    """The reduced certificate at the benchmark size (K = 100, n = 100), both sides."""
    for ratio in (0.5, 1.5):
        mu = ratio / (100 * math.sqrt(100))
        cert = certify_ufm("ce", 100, 100, mu, mu)
        opt = ce_optimum(100, 100, mu, mu)
        assert cert.status == "optimal" and cert.gap <= 1e-7
        assert cert.dual_bound - 1e-12 <= opt.value <= cert.value + 1e-12


@FEW
@given(
    K=st.integers(2, 40),
    n=st.integers(1, 50),
    ratio=st.floats(0.05, 3.0),
    rho=st.floats(0.1, 10.0),
)
def test_exact_routes_agree_with_the_closed_forms(K, n, ratio, rho):
    mu = ratio / (K * math.sqrt(n))
    lw, lh = mu * math.sqrt(rho), mu / math.sqrt(rho)
    for bias, closed in ((False, two_factor_mse_optimum), (True, mse_bias_optimum)):
        e, o = exact_two_factor(K, n, lw, lh, bias=bias), closed(K, n, lw, lh)
        assert math.isclose(e.value, o.value, rel_tol=1e-12, abs_tol=1e-15)
        assert math.isclose(e.argmin, o.s, rel_tol=1e-12, abs_tol=1e-15)
    e, o = exact_cross_entropy(K, n, lw, lh), ce_optimum(K, n, lw, lh)
    assert math.isclose(e.value, o.value, rel_tol=1e-12, abs_tol=1e-15)
    assert math.isclose(e.argmin, o.a_star, rel_tol=1e-10, abs_tol=1e-13)
    assert e.interior == o.collapsed


def test_training_with_class_sizes_reaches_the_closed_form():
    counts = [2, 5, 9]
    fit = fit_ufm("mse", 3, counts, 0.01, 0.02, seed=3)
    opt = imbalanced_mse_optimum(counts, 0.02, 0.01)  # (counts, λ_W, λ_H)
    assert fit.n is None and fit.counts == tuple(counts)
    assert fit.labels.tolist() == [0] * 2 + [1] * 5 + [2] * 9
    assert math.isclose(fit.objective, opt.value, rel_tol=1e-8)


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        (dict(n=[3, 4]), InvalidInput, r"n has 2 per-class counts but K=3"),
        (dict(n=[3, 0, 2]), InvalidInput, r"n\[1\]=0 must be an integer >= 1"),
        (dict(n=[3, True, 2]), InvalidInput, r"n\[1\]=True must be an integer"),
        (dict(n="abc"), InvalidInput, r"n='abc' must be an integer .* or a sequence"),
        (dict(n=[3, 4, 5], loss="ce"), InvalidInput, r"per-class sizes are supported for loss="),
        (dict(reduction="cube"), InvalidInput, r"reduction='cube'; expected one of symmetric"),
        (dict(reduced="no"), InvalidInput, r"reduced='no' must be True or False \(a bool\)"),
        (
            dict(K=3000, n=[1] * 2999 + [2], max_bytes=10**6),
            ProblemTooLarge,
            r"K=3000, N=3001, reduction='symmetric' needs about",
        ),
    ],
)
def test_bad_requests_are_refused(kwargs, exc, match):
    args = dict(loss="mse", K=3, n=2, lambda_W=0.1, lambda_H=0.1) | kwargs
    with pytest.raises(exc, match=match):
        certify_ufm(**args)


def test_bad_closed_form_inputs():
    with pytest.raises(InvalidInput, match=r"counts=5 must be a sequence"):
        imbalanced_mse_optimum(5, 0.1, 0.1)
    with pytest.raises(InvalidInput, match=r"lambda_W=0.0 must be a finite positive"):
        imbalanced_mse_optimum([1, 2], 0.0, 0.1)
