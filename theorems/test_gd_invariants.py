"""Exact invariants of gradient descent with weight decay (spec §4), checked as data.

* the one-step balancedness recursion on real torch autograd gradients and real
  ``torch.optim.SGD`` steps, with negative controls (σ between the layers, momentum)
  where it must fail by a wide margin;
* ``D = 0`` at critical points (exact critical points of the two-factor UFM) and the
  near-stationary bound at arbitrary points;
* the representation cost of a linear head: the balanced factorisation built from
  the SVD attains ``(λL2/2)Σ s_i(A)^{2/L2}``, any other factorisation of the same
  ``A`` costs at least that, and strictly more when it is unbalanced.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given

from ncverify import Verdict
from ncverify.catalog import gd
from ncverify.catalog.gd import build_ufm_point, gd_steps, ufm_points
from ncverify.catalog.jswm import balanced_heads, build_head, factorizations
from ncverify.pytest_plugin import hypothesis_settings
from ncverify.spec import default_rtol


@pytest.fixture(autouse=True, scope="module")
def _single_thread():
    """Tiny matrices: intra-op threads only add contention on a shared 2-core runner."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _check(spec, snapshot, record, role="check"):
    evaluation = record(spec.check(snapshot, seed=snapshot.seed, inputs=snapshot.inputs, role=role))
    assert evaluation.verdict is not Verdict.COUNTEREXAMPLE, evaluation.reason
    return evaluation


# the recursion's slack (atol 4096·eps ≈ 9.1e-13); negative controls must miss it by 1000x
_RECURSION_SLACK = 4096 * torch.finfo(torch.float64).eps


@pytest.mark.ncverify_theorem("gd-balancedness-step")
@hypothesis_settings("deterministic")
@given(step=gd_steps())
def test_balancedness_recursion(step, ncverify_record):
    evaluation = _check(gd.BALANCEDNESS_STEP, step, ncverify_record)
    assert evaluation.verdict is Verdict.CONFIRMED, evaluation.reason


@pytest.mark.ncverify_theorem("gd-balancedness-step")
@hypothesis_settings("deterministic", max_examples=100)
@given(step=gd_steps(nonlinear_between=True))
def test_recursion_fails_across_a_nonlinearity(step, ncverify_record):
    """Outside the scope: σ between the layers breaks W_{l+1}ᵀG_{l+1} = G_l W_lᵀ."""
    evaluation = _check(gd.BALANCEDNESS_STEP, step, ncverify_record, role="robustness")
    assert evaluation.verdict is Verdict.OUTSIDE, evaluation.reason
    (claim,) = evaluation.claims
    assert claim.held is False
    assert claim.quantity > 1000 * _RECURSION_SLACK, evaluation.measured


@pytest.mark.ncverify_theorem("gd-balancedness-step")
@hypothesis_settings("deterministic", max_examples=100)
@given(step=gd_steps(momentum=0.9))
def test_recursion_fails_with_momentum(step, ncverify_record):
    """Outside the scope: a heavy-ball step is not a plain GD step."""
    evaluation = _check(gd.BALANCEDNESS_STEP, step, ncverify_record, role="robustness")
    assert evaluation.verdict is Verdict.OUTSIDE, evaluation.reason
    assert [a.held for a in evaluation.assumptions] == [True, False]
    (claim,) = evaluation.claims
    assert claim.held is False
    assert claim.quantity > 1000 * _RECURSION_SLACK, evaluation.measured


@pytest.mark.ncverify_theorem("gd-near-stationary")
@hypothesis_settings("deterministic")
@given(point=ufm_points(critical=True))
def test_balanced_at_critical_points(point, ncverify_record):
    """At the exact UFM critical point the gradients vanish (to rounding) and D = 0."""
    evaluation = _check(gd.NEAR_STATIONARY, point, ncverify_record)
    assert evaluation.verdict is Verdict.CONFIRMED, evaluation.reason
    m = evaluation.measured
    # it is a critical point: the full gradient is rounding-level relative to λ‖W‖
    scale = m["lam"] * (m["W_up_op"] + m["W_lo_op"])
    assert m["grad_up_F"] + m["grad_lo_F"] <= 1e-12 * scale * m["max_dim"], m
    assert m["D_op"] <= 1e-12 * m["W_sq"], m


@pytest.mark.ncverify_theorem("gd-near-stationary")
@hypothesis_settings("deterministic")
@given(point=ufm_points(critical=False))
def test_near_stationary_bound_at_any_point(point, ncverify_record):
    evaluation = _check(gd.NEAR_STATIONARY, point, ncverify_record)
    assert evaluation.verdict is Verdict.CONFIRMED, evaluation.reason


def test_near_stationary_claim_can_fail():
    """An unbalanced pair reported with the (zero) gradients of the critical point is
    refuted: the claim is not vacuous at critical points."""
    p = build_ufm_point(seed=3, classes=3, per_class=2, width=4, lam=0.1, critical=True)
    assert float(torch.linalg.norm(p.grad_upper)) < 1e-12
    moved = gd.StationaryPoint(
        W_lower=1.1 * p.W_lower,
        W_upper=p.W_upper,
        grad_lower=p.grad_lower,
        grad_upper=p.grad_upper,
        weight_decay=p.weight_decay,
    )
    evaluation = gd.NEAR_STATIONARY.check(moved, seed=3, inputs={"negative_control": True})
    assert evaluation.verdict is Verdict.COUNTEREXAMPLE
    assert evaluation.measured["D_op"] > 0.05 * evaluation.measured["W_sq"]


@pytest.mark.ncverify_theorem("head-representation-cost-attained")
@hypothesis_settings("deterministic")
@given(head=balanced_heads(min_classes=1))
def test_balanced_factorisation_attains_the_cost(head, ncverify_record):
    evaluation = _check(gd.REPRESENTATION_COST_ATTAINED, head, ncverify_record)
    assert evaluation.verdict is Verdict.CONFIRMED, evaluation.reason


@pytest.mark.ncverify_theorem("head-representation-cost")
@hypothesis_settings("deterministic")
@given(head=factorizations())
def test_every_factorisation_costs_at_least_the_balanced_one(head, ncverify_record):
    evaluation = _check(gd.REPRESENTATION_COST, head, ncverify_record)
    assert evaluation.verdict is Verdict.CONFIRMED, evaluation.reason


@pytest.mark.ncverify_theorem("head-representation-cost")
@hypothesis_settings("deterministic", max_examples=100)
@given(head=balanced_heads(min_classes=1, mixed=True))
def test_unbalanced_factorisations_of_the_same_product_cost_strictly_more(head, ncverify_record):
    """Mixing M_l W_l M_{l-1}^{-1} keeps A and breaks balance: the cost goes up."""
    balanced = build_head(**{**head.inputs, "mixing": 0.0})
    A0, A1 = balanced.weights[0], head.weights[0]
    for W0, W1 in zip(balanced.weights[1:], head.weights[1:], strict=True):
        A0, A1 = W0 @ A0, W1 @ A1
    assert torch.allclose(A0, A1, rtol=1e-8, atol=1e-10 * float(torch.linalg.norm(A0)))
    evaluation = _check(gd.REPRESENTATION_COST, head, ncverify_record)
    (claim,) = evaluation.claims
    excess = claim.quantity / claim.bound - 1
    assert excess > 10 * default_rtol("float64"), (excess, head.inputs)
