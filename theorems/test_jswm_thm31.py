"""JSWM Theorem 3.1 (collapse from interpolation and balancedness), checked as data.

Every claim of the specs in :mod:`ncverify.catalog.jswm` is evaluated on hypothesis-generated
last pairs and linear heads (no training) that reach each hypothesis' boundary: ε1 up to and
past the H-interp threshold √(N(K−1)/K) and the NC2 threshold √n, s_K(W_L) at the rank
tolerance, null-space features spread within and between classes, the bounds' tight cases.
Draws meant to lie past a threshold are recorded with ``role="robustness"``. Each main test is
marked ``controls=True``: every negative control of its spec (``docs/theorems.md#controls``)
must be caught by its own instances, and each spec's floor must be met. The refutation tests
search for a counterexample to one false variant each with ``hypothesis.find`` and record the
shrunk instance in the report.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given

from ncverify import metrics
from ncverify.catalog import jswm
from ncverify.catalog.jswm import (
    anchor_value,
    balanced_heads,
    build_head,
    build_last_pair,
    factorizations,
    head_instances,
    rank_kappa,
)
from ncverify.pytest_plugin import current_profile, hypothesis_settings


@pytest.fixture(autouse=True, scope="module")
def _single_thread():
    """Tiny matrices: intra-op threads only add contention on a shared 2-core runner."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


_BIG = current_profile().name != "ci"
SIZES = dict(
    max_classes=10 if _BIG else 6, max_per_class=8 if _BIG else 5, max_extra_width=8 if _BIG else 4
)
#: the main tests' last pairs: every family (ncverify.catalog.jswm.FAMILIES), half the
#: threshold family past its threshold
PAIRS = dict(**SIZES, outside=0.5, near_rank=True)
#: the depth test's heads: balanced, perturbed and mixed, small enough that E < s_K(A)² often
HEADS = dict(min_classes=2, max_depth=5 if _BIG else 4, max_imbalance=1e-2, max_mixing=0.3)

#: ε1 threshold of each spec's hypothesis, from the drawn sizes
_THRESHOLD = {"jswm-3.1-nc1": "interp", "jswm-3.1-nc2": "sqrt_n"}


def role(spec, inst) -> str:
    """``robustness`` for a last pair drawn past a hypothesis' threshold: ε1 past the spec's
    ε1 threshold, or κ(W_L) past the rank tolerance."""
    i = inst.inputs
    if "per_class" not in i:  # a linear head: drawn to satisfy the depth spec's hypotheses
        return "check"
    K, n = i["classes"], i["per_class"]
    if 10 ** i["log10_kappa"] >= rank_kappa(K, i["width"], i["in_width"]):
        return "robustness"
    anchor = _THRESHOLD.get(spec.id)
    if anchor is not None and i["eps1_target"] >= anchor_value(anchor, K, n):
        return "robustness"
    return "check"


def _check(spec, inst, record):
    evaluation = record(spec.check(inst, seed=inst.seed, inputs=inst.inputs, role=role(spec, inst)))
    assert not evaluation.fails, evaluation.reason
    return evaluation


@pytest.mark.ncverify_theorem("jswm-3.1-nc1", controls=True)
@hypothesis_settings("deterministic")
@given(inst=head_instances(**PAIRS))
def test_nc1_bound(inst, ncverify_record):
    _check(jswm.NC1, inst, ncverify_record)


@pytest.mark.ncverify_theorem("jswm-3.1-nc2", controls=True)
@hypothesis_settings("deterministic")
@given(inst=head_instances(**PAIRS))
def test_nc2_bound(inst, ncverify_record):
    _check(jswm.NC2, inst, ncverify_record)


@pytest.mark.ncverify_theorem("jswm-3.1-nc3", controls=True)
@hypothesis_settings("deterministic")
@given(inst=head_instances(**PAIRS))
def test_nc3_per_sample_bound(inst, ncverify_record):
    _check(jswm.NC3, inst, ncverify_record)


@pytest.mark.ncverify_theorem("jswm-3.1-depth", controls=True)
@hypothesis_settings("deterministic")
@given(head=factorizations(**HEADS))
def test_conditioning_through_depth(head, ncverify_record):
    _check(jswm.DEPTH, head, ncverify_record)


@pytest.mark.ncverify_theorem("jswm-3.1-depth", min_in_scope=40)
@hypothesis_settings("deterministic", max_examples=50)
@given(head=balanced_heads(min_classes=2, max_depth=HEADS["max_depth"]))
def test_balanced_heads_are_confirmed(head, ncverify_record):
    """Balanced heads (κ(A) <= 1e4) are never vacuous: E is the rounding allowance only."""
    evaluation = _check(jswm.DEPTH, head, ncverify_record)
    assert evaluation.verdict.value == "confirmed", evaluation.reason


@pytest.mark.ncverify_theorem("jswm-3.1-depth", min_in_scope=10, max_undecided_fraction=0.8)
@hypothesis_settings("deterministic", max_examples=50)
@given(head=balanced_heads(min_classes=2, imbalanced=True))
def test_depth_bounds_widen_with_the_imbalance(head, ncverify_record):
    """Perturbed heads (imbalance up to 0.1) are in scope: the bounds widen with the measured
    imbalance E and hold (vacuous once E exceeds s_K(A)², never a counterexample)."""
    evaluation = _check(jswm.DEPTH, head, ncverify_record)
    assert evaluation.measured["E"] > 0


@pytest.mark.parametrize(
    "spec",
    [
        pytest.param(s, marks=pytest.mark.ncverify_theorem(s.id, min_in_scope=10), id=s.id)
        for s in (jswm.NC1, jswm.NC2, jswm.NC3)
    ],
)
def test_large_instances(spec, ncverify_record):
    """Many classes and samples (K up to 16, n up to 10), fewer examples."""

    @hypothesis_settings("deterministic", max_examples=25)
    @given(
        inst=head_instances(
            min_classes=12, max_classes=16, min_per_class=6, max_per_class=10, max_extra_width=6
        )
    )
    def check(inst):
        _check(spec, inst, ncverify_record)

    check()


# -- negative controls, refuted and shrunk ----------------------------------------------------
REFUTATIONS = [
    (jswm.NC1, "interp-sqrt-N", dict(outside=0.5)),
    (jswm.NC1, "eps1-no-sqrt-eps2", {}),
    (jswm.NC1, "sharp-0.9", {}),
    (jswm.NC2, "eps1-no-eps2", {}),
    (jswm.NC2, "delta-sqrt-N", dict(outside=0.5)),
    (jswm.NC2, "sharp-0.99", {}),
    (jswm.NC3, "sample-no-q", {}),
    (jswm.NC3, "kappa-1.01", {}),
]


@pytest.mark.parametrize(
    ("spec", "control", "extra"),
    [
        pytest.param(s, c, e, marks=pytest.mark.ncverify_theorem(s.id), id=f"{s.id}~{c}")
        for s, c, e in REFUTATIONS
    ],
)
def test_negative_control_is_refuted_and_shrunk(spec, control, extra, ncverify_control):
    """hypothesis finds an instance where the false variant fails beyond rounding and shrinks
    it; the report shows the shrunk instance (the smallest one: K = 2 classes of n = 2)."""
    record = ncverify_control(spec, control, head_instances(**SIZES, **extra))
    assert record["caught"]
    assert record["inputs"]["classes"] == 2, record["inputs"]
    inst = build_last_pair(**record["inputs"])
    real = spec.check(inst, seed=inst.seed, inputs=inst.inputs, role=role(spec, inst))
    assert not real.fails, real.reason  # the same instance does not refute the real theorem


@pytest.mark.ncverify_theorem("jswm-3.1-depth")
@pytest.mark.parametrize("control", ["upper-no-E", "lower-1.01", "spectrum-lower-no-E"])
def test_depth_negative_control_is_refuted(control, ncverify_control):
    record = ncverify_control(jswm.DEPTH, control, factorizations(**HEADS))
    assert record["caught"] and record["inputs"]["classes"] == 2, record
    head = build_head(**record["inputs"])
    real = jswm.DEPTH.check(head, seed=head.seed, inputs=head.inputs)
    assert not real.fails, real.reason


def test_the_exact_kantorovich_case_is_attained():
    """Exact features (ε1 ≈ 0, no null-space part) on a Kantorovich basis: the nc3-kappa bound
    2κ/(1+κ²) is attained for classes 0 and 1, nc3-sample's exact cosine everywhere."""
    pair = build_last_pair(
        seed=5,
        classes=2,
        per_class=2,
        width=3,
        in_width=3,
        log10_kappa=1.0,
        log10_scale=0.0,
        eps1_frac=1e-12,
        residual="within",
        imbalance=0.0,
        perturbation="null",
        null_amp=0.0,
        kantorovich=True,
    )
    ev = jswm.NC3.check(pair, seed=5, inputs=pair.inputs)
    assert ev.verdict.value == "confirmed", ev.reason
    for claim in ev.claims:
        assert claim.bound == pytest.approx(claim.quantity, rel=1e-9), claim


# -- measurements --------------------------------------------------------------------------
def test_measurements_agree_with_metrics():
    """The per-sample NC3 cosines average to ncverify.metrics.nc3_cosine; ε1, ε2 match."""
    pair = build_last_pair(
        seed=7,
        classes=3,
        per_class=4,
        width=5,
        in_width=6,
        log10_kappa=1.0,
        log10_scale=0.3,
        eps1_frac=0.3,
        residual="generic",
        imbalance=0.05,
        perturbation="null",
        null_amp=10.0,
    )
    m = jswm.measure_last_pair(pair)
    Z1 = pair.Z @ pair.W_lower.T
    assert np.mean(m["cos_zw"]) == pytest.approx(
        metrics.nc3_cosine(Z1, pair.y, pair.W_upper), rel=1e-12
    )
    ZL = Z1 @ pair.W_upper.T
    Y = torch.nn.functional.one_hot(pair.y, 3).to(ZL.dtype)
    assert m["eps1"] == pytest.approx(float(torch.linalg.norm(ZL - Y)), rel=1e-12)
    D = pair.W_upper.T @ pair.W_upper - pair.W_lower @ pair.W_lower.T
    assert m["eps2"] == pytest.approx(float(torch.linalg.matrix_norm(D, 2)), rel=1e-12)
    # Theorem 3.1's null-space step: ‖(I-P)W_{L-1}‖_op² <= ε2
    P = torch.linalg.pinv(pair.W_upper) @ pair.W_upper
    null_part = torch.linalg.matrix_norm((torch.eye(5, dtype=torch.float64) - P) @ pair.W_lower, 2)
    assert float(null_part) ** 2 <= m["eps2"] * (1 + 1e-12)


def test_the_residual_modes_reach_the_thresholds():
    """``shrink`` takes ‖Z_LB‖ to gap·√(N(K−1)/K) at the H-interp threshold, ``rankkill``
    takes s_K(Z̄_L) to gap at δ = 1: the generators reach the boundaries they are for."""
    base = dict(seed=1, classes=3, per_class=4, width=5, in_width=5, log10_kappa=0.5)
    base |= dict(log10_scale=0.0, imbalance=0.0, perturbation="null", null_amp=0.0, gap=1e-3)
    shrink = build_last_pair(**base, eps1_frac=1.0, eps1_anchor="interp", residual="shrink")
    m = jswm.measure_last_pair(shrink)
    T = math.sqrt(4 * 2)
    assert m["eps1"] == pytest.approx(T, rel=1e-9)
    assert m["ZL_B"] == pytest.approx(1e-3 * T, rel=1e-6)
    kill = build_last_pair(**base, eps1_frac=1.0, eps1_anchor="sqrt_n", residual="rankkill")
    m = jswm.measure_last_pair(kill)
    assert m["eps1"] == pytest.approx(2.0, rel=1e-9) and m["sK_ZbarL"] == pytest.approx(1e-3)
