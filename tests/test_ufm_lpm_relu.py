"""Minority collapse (layer-peeled model) and the deep ReLU UFM comparison."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import pytest

from ncverify import InvalidInput, ProblemTooLarge
from ncverify.ufm import (
    certify_lpm,
    compare_relu_configurations,
    complete_graph_structure,
    fit_lpm,
    fit_relu_dufm,
    pm_first_layer_difference,
    relu_configuration,
    relu_objective,
)


def test_balanced_lpm_is_a_simplex_etf():
    c = certify_lpm(2, 2, 1.0)
    assert c.dual_bound - 1e-9 <= c.value and c.gap <= 1e-4
    assert abs(c.minority_cos + 1 / 3) <= 1e-4 and abs(c.majority_cos + 1 / 3) <= 1e-4


@pytest.mark.parametrize(("K_A", "K_B"), [(2, 2), (1, 3)])
def test_minority_cosines_rise_and_collapse(K_A, K_B):
    certs = [certify_lpm(K_A, K_B, R) for R in (1.0, 10.0, 1000.0, math.inf)]
    cos = [c.minority_cos for c in certs]
    assert all(b >= a - 1e-4 for a, b in itertools.pairwise(cos))
    assert cos[-1] >= 1 - 1e-4 and certs[-1].minority_spread <= 1e-4
    assert certs[-1].minority_norm_sq > 0.01  # a common nonzero minority classifier
    assert all(c.gap <= 1e-4 for c in certs)


def test_training_lands_inside_the_certificate():
    fit = fit_lpm(2, 2, 10, 1, seed=1, max_steps=300)
    cert = certify_lpm(2, 2, 10.0)
    assert cert.dual_bound - 1e-9 <= fit.objective
    assert fit.lower_bound <= cert.value + 1e-9
    assert fit.objective - fit.lower_bound <= 1e-6  # the trained point's own certificate
    assert abs(fit.minority_cos - cert.minority_cos) <= 1e-3


def test_lpm_refusals():
    with pytest.raises(ProblemTooLarge, match=r"K_A \+ K_B = 60 > 40"):
        certify_lpm(30, 30, 2.0)
    with pytest.raises(InvalidInput, match=r"R=0.5 must be >= 1"):
        certify_lpm(2, 2, 0.5)
    with pytest.raises(InvalidInput, match=r"n_A=1 < n_B=3"):
        fit_lpm(2, 2, 1, 3)


@pytest.mark.parametrize("r", [3, 4, 5, 6])
def test_complete_graph_structure_is_exact(r):
    out = complete_graph_structure(r)
    K = r * (r - 1) // 2
    assert out["K"] == K and out["relu_is_identity"]
    assert out["rank_pre"] == (r - 1 if r == 4 else r)
    assert out["B_fro_sq"] == 2 * K and out["W_fro_sq"] * 4 == K * r


@pytest.mark.parametrize(
    ("r", "L", "wins"),
    [(5, 4, True), (4, 4, True), (5, 3, False), (3, 4, False), (6, 5, True), (5, 2, False)],
)
def test_dnc_against_the_complete_graph(r, L, wins):
    lams = [1e-3] * (L + 1)
    cmp = compare_relu_configurations(r, L, 2, lams)
    assert cmp.C_ratio == Fraction(r) * Fraction(2) ** (L - 3) / (r - 1) ** (L - 2)
    assert cmp.srg_wins == wins
    if wins:
        assert cmp.value_srg[1] < cmp.value_dnc[0]
    for kind, (lo, hi) in (("dnc", cmp.value_dnc), ("srg", cmp.value_srg)):
        H1, Ws = relu_configuration(cmp, kind, lams)
        value = relu_objective(H1, Ws, 2, lams)
        assert float(lo) * (1 - 1e-12) <= value <= float(hi) * (1 + 1e-12)


def test_relu_training_is_small_and_reports_ranks():
    fit = fit_relu_dufm(6, 3, 1, [0.01] * 4, width=8, steps=50, seed=0)
    assert len(fit.ranks_pre) == 2 and all(0 <= v <= 6 for v in fit.ranks_pre)
    assert math.isfinite(fit.objective) and fit.grad_norm >= 0
    with pytest.raises(InvalidInput, match=r"lambdas has 2 entries; need L \+ 1 = 4"):
        fit_relu_dufm(6, 3, 1, [0.01, 0.01])


@pytest.mark.parametrize(("K", "L"), [(2, 2), (4, 3), (6, 4)])
def test_a_rank_half_first_layer_gains_nothing(K, L):
    assert pm_first_layer_difference(K, L) == 0
    with pytest.raises(InvalidInput, match=r"K=3 must be even"):
        pm_first_layer_difference(3, L)
