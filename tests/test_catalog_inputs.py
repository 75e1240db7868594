"""Bad snapshots of the Theorem 3.1 and gradient-descent specs: ``InvalidInput`` with a message
that names the value, the rule and the remedy (table-driven, messages pinned); hypotheses that
measure what they say (H-rank on any shape, H-linear-pair by probes); the snapshot's dtype
decides the slack."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ncverify import InvalidInput
from ncverify.catalog import gd, jswm
from ncverify.catalog.gd import GDStep, StationaryPoint, build_gd_step, build_stationary_point
from ncverify.catalog.jswm import HeadWeights, LastPair, build_head, build_last_pair

PAIR = dict(
    seed=3,
    classes=3,
    per_class=2,
    width=4,
    in_width=5,
    log10_kappa=0.5,
    log10_scale=0.0,
    eps1_frac=0.1,
    residual="generic",
    imbalance=0.01,
    perturbation="nullspace",
    null_amp=1.0,
)
STEP = dict(
    seed=1,
    samples=5,
    batch=3,
    in_dim=3,
    widths=[3, 4, 2],
    classes=3,
    loss="mse",
    lr=0.1,
    weight_decay=0.01,
    prefix=False,
    suffix=False,
    activation="tanh",
)


def _pair(**changes) -> LastPair:
    p = build_last_pair(**PAIR)
    fields = dict(Z=p.Z, W_lower=p.W_lower, W_upper=p.W_upper, y=p.y)
    return LastPair(**{**fields, **changes})


def _step(**changes) -> GDStep:
    s = build_gd_step(**STEP)
    return GDStep(**{**s.__dict__, **changes})


def _point(**changes) -> StationaryPoint:
    p = build_stationary_point(
        seed=2, samples=6, in_dim=3, width=4, outputs=2, lam=0.1, kind="critical"
    )
    return StationaryPoint(**{**p.__dict__, **changes})


P = build_last_pair(**PAIR)
S = build_gd_step(**STEP)

BAD = [
    (
        jswm.NC1,
        lambda: _pair(Z=P.Z.numpy()),
        r"LastPair.Z must be a 2-D floating torch tensor, got ndarray .*torch.as_tensor",
    ),
    (
        jswm.NC1,
        lambda: _pair(W_lower=P.W_lower.float()),
        r"mixes floating dtypes \['float32', 'float64'\]; convert every tensor",
    ),
    (
        jswm.NC2,
        lambda: _pair(y=P.y.double()),
        r"LastPair.y must be a 1-D integer torch tensor of labels, got Tensor torch.float64",
    ),
    (
        jswm.NC2,
        lambda: _pair(y=torch.tensor([0, 0, 0, 1, 1, 2])),
        r"equal class counts .*got counts \[3, 2, 1\]",
    ),
    (jswm.NC3, lambda: _pair(y=torch.tensor([0, 0, 1, 1, 2, 5])), r"labels in 0..2"),
    (
        jswm.NC3,
        lambda: _pair(W_upper=P.W_upper[:, :3]),
        r"LastPair shapes do not chain: .*need Z \(N, p\), W_lower \(n, p\), W_upper \(K, n\)",
    ),
    (
        jswm.DEPTH,
        lambda: HeadWeights(weights=[np.eye(3), np.eye(3)]),
        r"non-empty list of 2-D torch tensors, got \['ndarray', 'ndarray'\].*torch.as_tensor",
    ),
    (
        jswm.DEPTH,
        lambda: HeadWeights(weights=[torch.eye(3), torch.eye(2)]),
        r"head weights do not chain: \(3, 3\) then \(2, 2\)",
    ),
    (
        jswm.DEPTH,
        lambda: HeadWeights(weights=[torch.eye(3), torch.eye(3, dtype=torch.float64)]),
        r"mixes floating dtypes",
    ),
    (
        gd.REPRESENTATION_COST,
        lambda: HeadWeights(weights=[torch.eye(2)], weight_decay=float("nan")),
        r"HeadWeights.weight_decay=nan must be a finite number",
    ),
    (
        gd.BALANCEDNESS_STEP,
        lambda: _step(Z_in=None, Z_out=None, dU=None),
        r"GDStep: Z_in, Z_out, dU missing; H-linear-pair is measured on the batch",
    ),
    (
        gd.BALANCEDNESS_STEP,
        lambda: _step(G_upper=S.G_upper.T),
        r"GDStep shapes do not chain: G_upper \(4, 3\) \(want \(3, 4\)\)",
    ),
    (
        gd.BALANCEDNESS_STEP,
        lambda: _step(dU=S.dU.numpy()),
        r"GDStep.dU must be a 2-D floating torch tensor, got ndarray",
    ),
    (
        gd.BALANCEDNESS_STEP,
        lambda: _step(lr=float("inf")),
        r"GDStep.lr=inf must be a finite number",
    ),
    (
        gd.NEAR_STATIONARY,
        lambda: _point(grad_lower=None),
        r"StationaryPoint: grad_lower missing \(None\); give 2-D floating torch tensors",
    ),
    (
        gd.NEAR_STATIONARY,
        lambda: _point(Z_out=_point().Z_out.float()),
        r"StationaryPoint mixes dtypes|mixes floating dtypes",
    ),
]


@pytest.mark.parametrize(
    ("spec", "make", "message"), BAD, ids=[f"{s.id}-{i}" for i, (s, _, _) in enumerate(BAD)]
)
def test_bad_snapshots_raise_invalid_input(spec, make, message):
    with pytest.raises(InvalidInput, match=message):
        spec.check(make(), seed=0, inputs={})


def test_int32_labels_are_labels():
    a = jswm.NC2.check(_pair(y=P.y.to(torch.int32)), seed=0, inputs={})
    b = jswm.NC2.check(_pair(), seed=0, inputs={})
    assert a.verdict == b.verdict and a.measured == b.measured


@pytest.mark.parametrize("spec", [jswm.NC1, jswm.NC2, jswm.NC3])
def test_a_last_layer_narrower_than_K_fails_h_rank(spec):
    """W_L of shape 3×2 has rank 2 < K = 3: H-rank fails (no IndexError)."""
    g = torch.Generator().manual_seed(0)
    W = torch.randn(3, 2, generator=g, dtype=torch.float64)
    W1 = torch.randn(2, 4, generator=g, dtype=torch.float64)
    Z = torch.randn(6, 4, generator=g, dtype=torch.float64)
    pair = LastPair(Z=Z, W_lower=W1, W_upper=W, y=torch.tensor([0, 1, 2, 0, 1, 2]))
    ev = spec.check(pair, seed=0, inputs={})
    (rank,) = [a for a in ev.assumptions if a.name == "H-rank"]
    assert rank.held is False and ev.measured["sK_WL"] == 0.0, rank
    assert ev.verdict.value == "outside"  # failures first: κ(W_L) = inf does not hide it


def test_a_head_narrower_than_K_fails_h_rank():
    head = HeadWeights(
        weights=[torch.randn(2, 4, dtype=torch.float64), torch.randn(3, 2, dtype=torch.float64)]
    )
    ev = jswm.DEPTH.check(head, seed=0, inputs={})
    (rank,) = [a for a in ev.assumptions if a.name == "H-rank"]
    assert rank.held is False and ev.verdict.value == "outside"


def test_h_linear_pair_fails_for_a_lower_layer_with_a_weight_decayed_bias():
    """The issue's instance: a critical point of a pair whose lower layer has a decayed bias
    has D = bbᵀ ≠ 0 (claim fails); the probe sees the bias, so the run is outside."""
    p = build_stationary_point(
        seed=4, samples=6, in_dim=3, width=3, outputs=2, lam=0.3, kind="biased"
    )
    ev = gd.NEAR_STATIONARY.check(p, seed=0, inputs={})
    held = {a.name: a.held for a in ev.assumptions}
    assert held["H-linear-pair"] is False and ev.claims[0].held is False
    assert ev.verdict.value == "outside" and ev.measured["D_op"] > 1e-3


@pytest.mark.parametrize("spec", [jswm.NC1, jswm.NC2, jswm.NC3])
def test_float32_snapshots_are_judged_with_float32_slack(spec):
    """A float32 copy of an in-scope pair is judged in float32 (rtol 1.2e-3): no failing
    verdict where float64 confirms."""
    p = build_last_pair(**{**PAIR, "imbalance": 0.0})
    p32 = LastPair(Z=p.Z.float(), W_lower=p.W_lower.float(), W_upper=p.W_upper.float(), y=p.y)
    ev = spec.check(p32, seed=0, inputs={})
    assert not ev.fails, ev.reason
    assert spec.check(p, seed=0, inputs={}).verdict.value == "confirmed"


def test_float32_gd_steps_are_judged_with_float32_slack():
    s = build_gd_step(**{**STEP, "activation": "relu"})
    s32 = GDStep(
        **{k: (v.float() if isinstance(v, torch.Tensor) else v) for k, v in s.__dict__.items()}
    )
    ev = gd.BALANCEDNESS_STEP.check(s32, seed=0, inputs={})
    assert ev.verdict.value == "confirmed", ev.reason


def test_a_head_in_float32_is_judged_in_float32():
    h = build_head(seed=1, classes=3, widths=[4, 5], log10_kappa=1.0, log10_scale=0.0)
    h32 = HeadWeights(weights=[W.float() for W in h.weights])
    for spec in (jswm.DEPTH, gd.REPRESENTATION_COST, gd.REPRESENTATION_COST_ATTAINED):
        ev = spec.check(h32, seed=0, inputs={})
        assert ev.verdict.value == "confirmed", (spec.id, ev.reason)


def test_a_plain_gd_step_of_a_linear_pair_is_confirmed():
    """One real SGD step across a ReLU that acts linearly on the batch (or no σ): the
    recursion holds to rounding, and its exact re-measurement is exactly 0."""
    s = build_gd_step(**{**STEP, "activation": "relu"})
    ev = gd.BALANCEDNESS_STEP.check(s, seed=0, inputs={})
    assert ev.verdict.value == "confirmed", ev.reason
    assert ev.measured["residual_rel"] < 1e-15
    assert float(gd.remeasure_gd_step(s, dps=60)["residual_rel"]) == 0.0


def test_a_single_layer_head_fails_h_depth():
    """L2 = 1: the depth claims hold trivially (A = W_L, E = 0), but the theorem speaks about
    heads of at least two layers: outside, not confirmed."""
    head = HeadWeights(weights=[torch.randn(3, 4, dtype=torch.float64)])
    ev = jswm.DEPTH.check(head, seed=0, inputs={})
    held = {a.name: a.held for a in ev.assumptions}
    assert held == {"H-depth": False, "H-rank": True}
    assert ev.claim_held is True and ev.verdict.value == "outside", ev.reason


@pytest.mark.parametrize("spec", [gd.REPRESENTATION_COST, gd.REPRESENTATION_COST_ATTAINED])
def test_a_head_without_weight_decay_fails_h_weight_decay(spec):
    """λ = 0: the cost and its bounds are all 0, so the claims hold, but the representation
    cost is a statement about λ > 0: outside."""
    h = build_head(seed=1, classes=3, widths=[4, 5], log10_kappa=1.0, log10_scale=0.0)
    ev = spec.check(HeadWeights(weights=h.weights, weight_decay=0.0), seed=0, inputs={})
    (decay,) = [a for a in ev.assumptions if a.name == "H-weight-decay"]
    assert decay.held is False and ev.verdict.value == "outside", ev.reason
