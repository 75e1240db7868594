"""The UFM family as data: every claim has a negative control, every proof pointer an
anchor, re-measurement in high precision turns rounding into 'inconclusive', never a verdict."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
from hypothesis.errors import InvalidArgument

from ncverify import Verdict
from ncverify.catalog import ufm
from ncverify.spec import all_theorems

DOCS = Path(__file__).resolve().parents[1] / "docs" / "ufm.md"


def test_the_family_is_registered_with_a_control_per_claim():
    ids = {s.id for s in all_theorems()}
    assert {s.id for s in ufm.THEOREMS} <= ids
    for spec in ufm.THEOREMS:
        assert spec.family == "ufm"
        targeted = {c.claim for c in spec.controls if c.claim}
        missing = [c.name for c in spec.claims if c.name not in targeted]
        assert not missing, (spec.id, missing)
        for control in spec.controls:
            spec.variant(control)  # every false variant builds


def test_every_proof_pointer_has_an_anchor_in_docs():
    anchors = set(re.findall(r'<a id="([^"]+)"></a>', DOCS.read_text(encoding="utf-8")))
    for spec in ufm.THEOREMS:
        if spec.proof:
            path, _, anchor = spec.proof.partition("#")
            assert path == "docs/ufm.md" and anchor in anchors, spec.proof


def _run(**kw):
    base = dict(problem="mse", counts=[3] * 4, lambdas=[0.01, 0.02], width=4, steps=300, seed=1)
    return ufm.build_ufm_run(**(base | kw))


def test_a_tampered_measurement_is_a_rounding_artefact_not_a_counterexample():
    """The float objective is replaced by one 0.1% below the optimum: the claim fails in
    float, but the high-precision re-measurement recomputes it from the factors and it holds."""
    run = _run()
    measured = ufm.MSE.measure(run)
    measured["objective"] = measured["value_exact"] * (1 - 1e-3)
    e = ufm.MSE.evaluate(measured, seed=1, inputs=run.inputs, snapshot=run)
    assert e.verdict is Verdict.INCONCLUSIVE
    (c,) = [c for c in e.claims if c.name == "train-objective-lower"]
    assert c.held is None and "rounding artefact" in c.reason


def test_a_false_variant_is_a_certified_counterexample():
    run = _run()
    variant = ufm.MSE.variant("value-larger")
    e = variant.check(run, seed=1, inputs=run.inputs)
    assert e.verdict is Verdict.COUNTEREXAMPLE
    assert any(c.certified for c in e.claims if c.held is False)


def test_a_solver_failure_is_inconclusive():
    run = ufm.UFMRun(problem="mse", counts=(2, 2), lambdas=(0.1, 0.1), width=2, failure="x")
    e = ufm.MSE.evaluate(
        ufm.MSE.measure(run),
        seed=0,
        inputs={},
        inconclusive_reason=run.failure,
        unmeasured="undecided",
    )
    assert e.verdict is Verdict.INCONCLUSIVE


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: ufm.ufm_runs(problem="hinge"), r"problem='hinge'"),
        (lambda: ufm.ufm_runs(max_classes=1), r"max_classes=1 must be an integer >= 2"),
        (lambda: ufm.deep_linear_runs(max_depth=2), r"max_depth=2 must be an integer >= 3"),
        (lambda: ufm.minority_runs(max_classes=2), r"max_classes=2 must be an integer >= 3"),
        (lambda: ufm.relu_runs(max_vertices=2), r"max_vertices=2 must be an integer >= 3"),
    ],
)
def test_strategy_arguments_are_checked(call, match):
    with pytest.raises(InvalidArgument, match=match):
        call()


def test_measurements_of_a_converged_run_sit_at_the_closed_form():
    run = _run(steps=400)
    m = ufm.MSE.measure(run)
    c = 4 * math.sqrt(3 * 0.01 * 0.02)
    assert math.isclose(m["value_exact"], c - c * c / 2, rel_tol=1e-12)
    assert m["cert_dual"] <= m["value_exact"] * (1 + 1e-9) <= m["cert_value"] * (1 + 2e-9)
    assert m["objective"] - m["value_exact"] <= 1e-10 and m["nc1"] <= 1e-12
    assert math.isclose(m["rho_hat"], math.sqrt(0.02 / (3 * 0.01)), rel_tol=1e-6)
