"""The unconstrained-features (UFM) theorems, each checked three ways (docs/ufm.md).

Every example draws an instance at, near or away from the theorem's threshold, runs the exact
route (sympy), the cvxpy certificate and a training run with a drawn budget, and records one
evaluation per spec; only a counterexample (or an unexplained failure) fails a test. A
threshold theorem is two specs, one per side (``ufm-mse`` for ``c < 1``, ``ufm-mse-zero`` for
``c ≥ 1``): a run is a check of the spec whose side it is on and a robustness datum of the
other. Every negative control of every spec must be caught by the test's own instances.
"""

from __future__ import annotations

import pytest
from hypothesis import given

from ncverify import Verdict
from ncverify.catalog import ufm
from ncverify.pytest_plugin import hypothesis_settings, seeded

FAILING = (Verdict.COUNTEREXAMPLE, Verdict.UNEXPLAINED)
#: examples per theorem on the ci profile (each example runs three routes)
EXAMPLES = {"two_factor": 24, "imbalanced": 24, "deep": 28, "minority": 5, "relu": 30}


@pytest.fixture(autouse=True, scope="module")
def _single_thread():
    """Tiny problems: intra-op threads only add contention on a shared 2-core runner."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _judge(specs, run, record) -> list:
    """One evaluation per spec; a run on the other side of a spec's threshold (only its
    ``H-regime`` hypothesis failed) is recorded for that spec with the robustness role."""
    out = []
    for spec in specs:
        kw = dict(seed=run.seed, inputs=run.inputs, inconclusive_reason=run.failure)
        evaluation = spec.check(run, **kw)
        failed = {a.name for a in evaluation.assumptions if a.failed}
        if failed == {"H-regime"}:
            evaluation = spec.check(run, role="robustness", **kw)
        evaluation = record(evaluation)
        assert evaluation.verdict not in FAILING, evaluation.reason
        out.append(evaluation)
    return out


def _assert_caught(spec, evaluations) -> None:
    """Every negative control of ``spec`` was caught by one of ``evaluations`` (the plugin
    checks the marked spec; this checks the others the test records)."""
    caught = {
        name
        for e in evaluations
        if e.theorem_id.partition("/")[0] == spec.id
        for name, hit in e.controls.items()
        if hit
    }
    missed = [c.name for c in spec.controls if c.name not in caught]
    assert not missed, f"negative controls of {spec.id!r} missed: {missed}"


def _run(name, strategy, examples, specs, record) -> list:
    seen: list = []

    @seeded(f"theorems/test_ufm.py::{name}")
    @hypothesis_settings("deterministic", max_examples=examples)
    @given(run=strategy)
    def check(run):
        seen.extend(_judge(specs, run, record))

    check()
    for spec in specs[1:]:
        _assert_caught(spec, seen)
    for spec in specs:  # the generators reach each threshold (the report shows the margins)
        margins = [
            a.margin
            for e in seen
            if e.theorem_id == spec.id
            for a in e.assumptions
            if a.name == "H-regime" and a.margin is not None
        ]
        assert not margins or min(margins) <= 1e-2, (spec.id, sorted(margins)[:3])
    return seen


@pytest.mark.ncverify_theorem("ufm-mse", controls=True)
def test_bias_free_mse(ncverify_record):
    _run(
        "test_bias_free_mse",
        ufm.ufm_runs(problem="mse"),
        EXAMPLES["two_factor"],
        (ufm.MSE, ufm.MSE_ZERO),
        ncverify_record,
    )


@pytest.mark.ncverify_theorem("ufm-mse-bias", controls=True)
def test_mse_with_bias(ncverify_record):
    _run(
        "test_mse_with_bias",
        ufm.ufm_runs(problem="mse_bias"),
        EXAMPLES["two_factor"],
        (ufm.MSE_BIAS, ufm.MSE_BIAS_ZERO),
        ncverify_record,
    )


@pytest.mark.ncverify_theorem("ufm-ce", controls=True)
def test_cross_entropy(ncverify_record):
    _run(
        "test_cross_entropy",
        ufm.ufm_runs(problem="ce"),
        EXAMPLES["two_factor"],
        (ufm.CE, ufm.CE_ZERO),
        ncverify_record,
    )


@pytest.mark.ncverify_theorem("ufm-imbalanced-mse", controls=True)
def test_imbalanced_mse(ncverify_record):
    seen = _run(
        "test_imbalanced_mse",
        ufm.imbalanced_runs(),
        EXAMPLES["imbalanced"],
        (ufm.IMBALANCED,),
        ncverify_record,
    )
    # the generator reaches the vanishing threshold n_k = N²λ_Wλ_H (exactly, and within 1e-2)
    gaps = []
    for e in seen:
        counts, (lam_H, lam_W) = e.inputs["counts"], e.inputs["lambdas"]
        t = sum(counts) ** 2 * lam_W * lam_H
        gaps.append(min(abs(nk - t) / nk for nk in counts))
    assert min(gaps) <= 1e-12 and sum(g <= 1e-2 for g in gaps) >= 3, sorted(gaps)[:5]


@pytest.mark.ncverify_theorem("ufm-deep-linear", controls=True)
def test_deep_linear(ncverify_record):
    _run(
        "test_deep_linear",
        ufm.deep_linear_runs(),
        EXAMPLES["deep"],
        (ufm.DEEP_LINEAR, ufm.DEEP_LINEAR_ZERO, ufm.DEEP_LINEAR_GD),
        ncverify_record,
    )


@pytest.mark.ncverify_theorem("ufm-minority-collapse", controls=True)
@hypothesis_settings("deterministic", max_examples=EXAMPLES["minority"])
@given(run=ufm.minority_runs())
def test_minority_collapse(run, ncverify_record):
    _judge((ufm.MINORITY,), run, ncverify_record)


@pytest.mark.ncverify_theorem("ufm-deep-relu", controls=True)
@hypothesis_settings("deterministic", max_examples=EXAMPLES["relu"])
@given(run=ufm.relu_runs())
def test_deep_relu(run, ncverify_record):
    _judge((ufm.DEEP_RELU,), run, ncverify_record)


@pytest.mark.parametrize("problem", ["mse", "mse_bias", "ce"])
def test_narrow_features_are_outside(problem, ncverify_record):
    """p < K: the width hypothesis fails; such runs are robustness data, never checks."""
    spec = {"mse": ufm.MSE, "mse_bias": ufm.MSE_BIAS, "ce": ufm.CE}[problem]

    @seeded(f"theorems/test_ufm.py::test_narrow_features_are_outside[{problem}]")
    @hypothesis_settings("deterministic", max_examples=4)
    @given(run=ufm.ufm_runs(problem=problem, narrow=True))
    def check(run):
        evaluation = ncverify_record(
            spec.check(run, seed=run.seed, inputs=run.inputs, role="robustness")
        )
        assert evaluation.verdict in (Verdict.OUTSIDE, Verdict.INCONCLUSIVE), evaluation.reason
        assert any(a.name == "H-width" and a.failed for a in evaluation.assumptions)

    check()
