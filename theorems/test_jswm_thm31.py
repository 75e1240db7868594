"""JSWM Theorem 3.1 (collapse from interpolation and balancedness), checked as data.

Every claim of the specs in :mod:`ncverify.catalog.jswm` is evaluated on
hypothesis-generated last pairs (no training): random and adversarial features,
heads and labels from :func:`ncverify.catalog.jswm.head_instances`. Each
evaluation is recorded with ``ncverify_record``; a counterexample fails the test
and hypothesis shrinks it. A deliberately false variant of the NC1 bound shows
that this machinery finds and shrinks counterexamples.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import find, given

from ncverify import Verdict, metrics
from ncverify.catalog import jswm
from ncverify.catalog.jswm import balanced_heads, build_last_pair, head_instances
from ncverify.pytest_plugin import current_profile, hypothesis_settings
from ncverify.spec import Claim, TheoremSpec, default_rtol


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


def _check(spec, inst, record):
    evaluation = record(spec.check(inst, seed=inst.seed, inputs=inst.inputs))
    assert evaluation.verdict is not Verdict.COUNTEREXAMPLE, evaluation.reason
    return evaluation


@pytest.mark.ncverify_theorem("jswm-3.1-nc1")
@hypothesis_settings("deterministic")
@given(inst=head_instances(**SIZES))
def test_nc1_bound(inst, ncverify_record):
    _check(jswm.NC1, inst, ncverify_record)


@pytest.mark.ncverify_theorem("jswm-3.1-nc2")
@hypothesis_settings("deterministic")
@given(inst=head_instances(**SIZES))
def test_nc2_bound(inst, ncverify_record):
    _check(jswm.NC2, inst, ncverify_record)


@pytest.mark.ncverify_theorem("jswm-3.1-nc3")
@hypothesis_settings("deterministic")
@given(inst=head_instances(**SIZES))
def test_nc3_per_sample_bound(inst, ncverify_record):
    _check(jswm.NC3, inst, ncverify_record)


@pytest.mark.ncverify_theorem("jswm-3.1-depth")
@hypothesis_settings("deterministic")
@given(head=balanced_heads(max_depth=5 if _BIG else 4))
def test_conditioning_through_depth(head, ncverify_record):
    evaluation = _check(jswm.DEPTH, head, ncverify_record)
    assert evaluation.verdict is Verdict.CONFIRMED, evaluation.reason  # generated exactly


@pytest.mark.ncverify_theorem("jswm-3.1-depth")
@hypothesis_settings("deterministic", max_examples=50)
@given(head=balanced_heads(imbalanced=True))
def test_depth_bounds_widen_with_the_imbalance(head, ncverify_record):
    """Perturbed heads are in scope: the bounds widen with the measured imbalance E and hold
    (vacuous once E exceeds s_K(A)², never a counterexample)."""
    evaluation = _check(jswm.DEPTH, head, ncverify_record)
    assert evaluation.verdict in (Verdict.CONFIRMED, Verdict.INCONCLUSIVE), evaluation.reason
    assert evaluation.measured["E"] > 0


@pytest.mark.parametrize(
    "spec",
    [
        pytest.param(s, marks=pytest.mark.ncverify_theorem(s.id), id=s.id)
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


def test_generators_are_adversarial_and_mostly_inside():
    """The generated instances mostly satisfy the hypotheses and come close to the bounds.

    A generator that drifted to easy or out-of-hypothesis instances would make the
    suite vacuous; this pins how hard it pushes (worst measured/bound ratio).
    """
    verdicts: dict[str, list[Verdict]] = {s.id: [] for s in (jswm.NC1, jswm.NC2, jswm.NC3)}
    worst: dict[str, float] = {}

    @hypothesis_settings("deterministic", max_examples=120)
    @given(inst=head_instances())
    def collect(inst):
        m = jswm.measure_last_pair(inst)
        for spec in (jswm.NC1, jswm.NC2, jswm.NC3):
            ev = spec.evaluate(m, seed=inst.seed, inputs=inst.inputs)
            verdicts[spec.id].append(ev.verdict)
            if ev.verdict is Verdict.CONFIRMED:
                for c in ev.claims:
                    if c.bound and c.quantity > 1e-12 and c.relation == "<=":
                        worst[c.name] = max(worst.get(c.name, 0.0), c.ratio)
                    elif c.relation == ">=" and c.quantity > 0:
                        worst[c.name] = max(worst.get(c.name, 0.0), c.bound / c.quantity)

    collect()
    for theorem_id, vs in verdicts.items():
        inside = sum(v is Verdict.CONFIRMED for v in vs) / len(vs)
        assert inside >= 0.8, (theorem_id, inside)
    assert worst["nc1-eps1"] > 0.5, worst
    assert worst["nc2-eps1"] > 0.99, worst
    assert worst["nc3-sample"] > 0.99, worst


# A deliberately false variant of the NC1 bound: the √ε2 term (features in the null space
# of W_L) is dropped. Marked as a negative control: never registered, never recorded as an
# evaluation of a real theorem.
FALSE_NC1 = TheoremSpec(
    id="jswm-3.1-nc1-false-variant",
    title="NEGATIVE CONTROL: the NC1 bound of JSWM Theorem 3.1 without its √ε2 term",
    source=jswm.SOURCE,
    provenance="qualitative",
    family="negative-control",
    assumptions=jswm.NC1.assumptions,
    claims=(
        Claim(
            "nc1-without-sqrt-eps2",
            "nc1_prev",
            "<=",
            "s1_WL**2*(eps1/sK_WL)**2/(sqrt(N*(K - 1)/K) - eps1)**2",
            domain=("eps1 < sqrt(N*(K - 1)/K)", "sK_WL > 0"),
        ),
    ),
    measurement=jswm.measure_last_pair,
)


def test_false_variant_is_refuted_and_shrunk(record_property):
    """hypothesis finds a counterexample to the false bound and shrinks it to the smallest
    instance where one can exist: K = 2 classes of n = 2 samples (n = 1 has no
    within-class variation) and one spare dimension for the null space of W_L."""

    def refutes(inst) -> bool:
        ev = FALSE_NC1.check(inst, seed=inst.seed, inputs=inst.inputs)
        return ev.verdict is Verdict.COUNTEREXAMPLE

    inst = find(
        head_instances(**SIZES),
        refutes,
        settings=hypothesis_settings("deterministic", max_examples=1000),
    )
    ev = FALSE_NC1.check(inst, seed=inst.seed, inputs={**inst.inputs, "negative_control": True})
    assert ev.verdict is Verdict.COUNTEREXAMPLE
    (claim,) = ev.claims
    # refuted by a margin far beyond the comparison slack, not by rounding
    assert claim.quantity > claim.bound * (1 + 1e6 * default_rtol("float64")), claim
    assert (inst.inputs["classes"], inst.inputs["per_class"]) == (2, 2), inst.inputs
    assert inst.inputs["width"] == 3 and inst.inputs["in_width"] <= 3, inst.inputs
    # the same instance satisfies the real theorem
    real = jswm.NC1.check(inst, seed=inst.seed, inputs=inst.inputs)
    assert real.verdict is Verdict.CONFIRMED, real.reason
    assert math.isfinite(claim.quantity)
    # kept out of the theorem report: a plain user property, not an ncverify evaluation
    record_property("ncverify_negative_control", ev.to_dict())
