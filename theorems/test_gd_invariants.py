"""Exact invariants of gradient descent with weight decay (spec §4), checked as data.

* the one-step balancedness recursion on real torch autograd gradients and real
  ``torch.optim.SGD`` steps; drawn together with steps outside its scope (σ between the
  layers, a bias on the lower layer, momentum: ``role="robustness"``), where it must fail;
* the near-stationary bound ``‖D‖_op <= (‖W_{l+1}‖‖∇_{l+1}‖ + ‖W_l‖‖∇_l‖)/λ`` at exact UFM
  critical points, planted critical points, points where one layer is optimal given the
  other, random points, and (outside H-linear-pair) critical points with a weight-decayed
  bias, where ``D = bbᵀ``;
* the representation cost of a linear head: any factorisation of ``A`` costs at least
  ``(λL2/2)Σ s_i(A)^{2/L2}``, a balanced one attains it, unbalanced ones of the same ``A`` cost
  strictly more.

Each main test is marked ``controls=True`` (every negative control of its spec caught by its
own instances) and meets its spec's floor.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from ncverify.catalog import gd
from ncverify.catalog.gd import (
    POINT_KINDS,
    build_gd_step,
    build_stationary_point,
    gd_steps,
    stationary_points,
    ufm_points,
)
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
    assert not evaluation.fails, evaluation.reason
    return evaluation


# the recursion's slack (atol 4096·eps ≈ 9.1e-13); out-of-scope steps must miss it by 1000x
_RECURSION_SLACK = 4096 * torch.finfo(torch.float64).eps

#: plain steps (a third of them moved off plain GD within H-plain-gd's tolerance) and, one in
#: four, steps outside the scope
STEPS = st.one_of(
    gd_steps(),
    gd_steps(),
    gd_steps(jitter=True),
    gd_steps(momentum=0.9) | gd_steps(nonlinear_between=True) | gd_steps(bias=True),
)


def _step_role(step) -> str:
    i = step.inputs
    return "robustness" if i["momentum"] or i["nonlinear_between"] or i["bias"] else "check"


@pytest.mark.ncverify_theorem("gd-balancedness-step", controls=True)
@hypothesis_settings("deterministic")
@given(step=STEPS)
def test_balancedness_recursion(step, ncverify_record):
    role = _step_role(step)
    evaluation = _check(gd.BALANCEDNESS_STEP, step, ncverify_record, role=role)
    if role == "check":
        assert evaluation.verdict.value == "confirmed", evaluation.reason
    else:  # outside: the identity fails, by far more than its rounding slack
        assert evaluation.verdict.value == "outside", evaluation.reason
        (claim,) = evaluation.claims
        assert claim.held is False and claim.quantity > 1000 * _RECURSION_SLACK, evaluation.measured


@pytest.mark.ncverify_theorem("gd-balancedness-step", min_in_scope=0)
@hypothesis_settings("deterministic", max_examples=50)
@given(step=gd_steps(momentum=0.9))
def test_momentum_is_detected_from_the_weights(step, ncverify_record):
    """A heavy-ball step is not a plain GD step: H-plain-gd fails, H-linear-pair holds."""
    evaluation = _check(gd.BALANCEDNESS_STEP, step, ncverify_record, role="robustness")
    held = {a.name: a.held for a in evaluation.assumptions}
    assert held == {"H-linear-pair": True, "H-plain-gd": False}, evaluation.reason


@pytest.mark.ncverify_theorem("gd-balancedness-step", min_in_scope=0)
@hypothesis_settings("deterministic", max_examples=50)
@given(step=gd_steps(bias=True) | gd_steps(nonlinear_between=True))
def test_a_bias_or_a_nonlinearity_fails_the_linearity_probe(step, ncverify_record):
    evaluation = _check(gd.BALANCEDNESS_STEP, step, ncverify_record, role="robustness")
    held = {a.name: a.held for a in evaluation.assumptions}
    assert held["H-linear-pair"] is False, evaluation.reason
    assert evaluation.measured["lin_residual"] > 1e-6


#: planted, block-optimal and random points, and (one in six) biased critical points
POINTS = stationary_points(kinds=POINT_KINDS)


@pytest.mark.ncverify_theorem("gd-near-stationary", controls=True)
@hypothesis_settings("deterministic")
@given(point=POINTS)
def test_near_stationary_bound(point, ncverify_record):
    role = "robustness" if point.inputs["kind"] == "biased" else "check"
    evaluation = _check(gd.NEAR_STATIONARY, point, ncverify_record, role=role)
    if role == "check":
        assert evaluation.verdict.value == "confirmed", evaluation.reason
    else:  # a weight-decayed bias: D = bbᵀ at a critical point, the claim fails
        assert evaluation.verdict.value == "outside", evaluation.reason
        assert evaluation.claims[0].held is False


@pytest.mark.ncverify_theorem("gd-near-stationary", min_in_scope=80)
@hypothesis_settings("deterministic", max_examples=100)
@given(point=ufm_points(critical=True))
def test_balanced_at_critical_points(point, ncverify_record):
    """At the exact UFM critical point the gradients vanish (to rounding) and D = 0."""
    evaluation = _check(gd.NEAR_STATIONARY, point, ncverify_record)
    assert evaluation.verdict.value == "confirmed", evaluation.reason
    m = evaluation.measured
    scale = m["lam"] * (m["W_up_op"] + m["W_lo_op"])
    assert m["grad_up_F"] + m["grad_lo_F"] <= 1e-12 * scale * m["max_dim"], m
    assert m["D_op"] <= 1e-12 * m["W_sq"], m


@pytest.mark.ncverify_theorem("head-representation-cost-attained", controls=True)
@hypothesis_settings("deterministic")
@given(head=factorizations())
def test_cost_is_attained_up_to_the_imbalance(head, ncverify_record):
    _check(gd.REPRESENTATION_COST_ATTAINED, head, ncverify_record)


@pytest.mark.ncverify_theorem("head-representation-cost-attained", min_in_scope=80)
@hypothesis_settings("deterministic", max_examples=100)
@given(head=balanced_heads(min_classes=1))
def test_balanced_factorisation_attains_the_cost(head, ncverify_record):
    evaluation = _check(gd.REPRESENTATION_COST_ATTAINED, head, ncverify_record)
    assert evaluation.verdict.value == "confirmed", evaluation.reason
    (claim,) = evaluation.claims
    assert claim.quantity >= claim.bound * (1 - 1e-8), claim  # equality up to the allowances


@pytest.mark.ncverify_theorem("head-representation-cost", controls=True)
@hypothesis_settings("deterministic")
@given(head=factorizations())
def test_every_factorisation_costs_at_least_the_balanced_one(head, ncverify_record):
    evaluation = _check(gd.REPRESENTATION_COST, head, ncverify_record)
    assert evaluation.verdict.value == "confirmed", evaluation.reason


@pytest.mark.ncverify_theorem("head-representation-cost", min_in_scope=80)
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


# -- negative controls, refuted and shrunk ----------------------------------------------------
@pytest.mark.parametrize(
    ("spec", "control", "strategy"),
    [
        pytest.param(s, c, strat, marks=pytest.mark.ncverify_theorem(s.id), id=f"{s.id}~{c}")
        for s, c, strat in [
            (gd.BALANCEDNESS_STEP, "any-update", gd_steps(momentum=0.9)),
            (gd.BALANCEDNESS_STEP, "any-pair", gd_steps(bias=True)),
            (gd.NEAR_STATIONARY, "any-pair", POINTS),
            (gd.NEAR_STATIONARY, "drop-lower", POINTS),
            (gd.REPRESENTATION_COST, "lower-1.01", factorizations()),
            (gd.REPRESENTATION_COST_ATTAINED, "every-head-optimal", factorizations()),
        ]
    ],
)
def test_negative_control_is_refuted_and_shrunk(spec, control, strategy, ncverify_control):
    """The false variant fails at the shrunk instance; the real theorem does not."""
    record = ncverify_control(spec, control, strategy)
    assert record["caught"], record
    build = {
        gd.BALANCEDNESS_STEP.id: build_gd_step,
        gd.NEAR_STATIONARY.id: build_stationary_point,
    }.get(spec.id, build_head)
    inst = build(**record["inputs"])
    role = "check" if control != "any-pair" and "momentum" not in control else "robustness"
    real = spec.check(inst, seed=inst.seed, inputs=inst.inputs, role=role)
    assert not real.fails, real.reason
