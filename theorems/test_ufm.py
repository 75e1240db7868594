"""The unconstrained-features (UFM) theorems, each checked three ways (docs/ufm.md).

Every example draws an instance at, near or away from the theorem's threshold, runs the exact
route (sympy), the cvxpy certificate and a training run with a drawn budget, and records one
evaluation; only a counterexample fails a test. Runs with features narrower than K are
recorded separately (the width hypothesis fails there: they are outside the theorems' scope).
"""

from __future__ import annotations

import pytest
from hypothesis import given

from ncverify import Verdict
from ncverify.catalog import ufm
from ncverify.pytest_plugin import hypothesis_settings

#: examples per theorem on the ci profile (each example runs three routes)
EXAMPLES = {"two_factor": 24, "imbalanced": 24, "deep": 24, "minority": 6, "relu": 30}


@pytest.fixture(autouse=True, scope="module")
def _single_thread():
    """Tiny problems: intra-op threads only add contention on a shared 2-core runner."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _check(spec, run, record):
    evaluation = record(
        spec.check(run, seed=run.seed, inputs=run.inputs, inconclusive_reason=run.failure)
    )
    assert evaluation.verdict is not Verdict.COUNTEREXAMPLE, evaluation.reason
    return evaluation


@pytest.mark.ncverify_theorem("ufm-mse")
@hypothesis_settings("deterministic", max_examples=EXAMPLES["two_factor"])
@given(run=ufm.ufm_runs(problem="mse"))
def test_bias_free_mse(run, ncverify_record):
    _check(ufm.MSE, run, ncverify_record)


@pytest.mark.ncverify_theorem("ufm-mse-bias")
@hypothesis_settings("deterministic", max_examples=EXAMPLES["two_factor"])
@given(run=ufm.ufm_runs(problem="mse_bias"))
def test_mse_with_bias(run, ncverify_record):
    _check(ufm.MSE_BIAS, run, ncverify_record)


@pytest.mark.ncverify_theorem("ufm-ce")
@hypothesis_settings("deterministic", max_examples=EXAMPLES["two_factor"])
@given(run=ufm.ufm_runs(problem="ce"))
def test_cross_entropy(run, ncverify_record):
    _check(ufm.CE, run, ncverify_record)


@pytest.mark.ncverify_theorem("ufm-imbalanced-mse")
@hypothesis_settings("deterministic", max_examples=EXAMPLES["imbalanced"])
@given(run=ufm.imbalanced_runs())
def test_imbalanced_mse(run, ncverify_record):
    _check(ufm.IMBALANCED, run, ncverify_record)


@pytest.mark.ncverify_theorem("ufm-deep-linear")
@hypothesis_settings("deterministic", max_examples=EXAMPLES["deep"])
@given(run=ufm.deep_linear_runs())
def test_deep_linear(run, ncverify_record):
    _check(ufm.DEEP_LINEAR, run, ncverify_record)
    _check(ufm.DEEP_LINEAR_GD, run, ncverify_record)


@pytest.mark.ncverify_theorem("ufm-minority-collapse")
@hypothesis_settings("deterministic", max_examples=EXAMPLES["minority"])
@given(run=ufm.minority_runs())
def test_minority_collapse(run, ncverify_record):
    _check(ufm.MINORITY, run, ncverify_record)


@pytest.mark.ncverify_theorem("ufm-deep-relu")
@hypothesis_settings("deterministic", max_examples=EXAMPLES["relu"])
@given(run=ufm.relu_runs())
def test_deep_relu(run, ncverify_record):
    _check(ufm.DEEP_RELU, run, ncverify_record)


@pytest.mark.parametrize("problem", ["mse", "mse_bias", "ce"])
@hypothesis_settings("deterministic", max_examples=4)
@given(data=__import__("hypothesis").strategies.data())
def test_narrow_features_are_outside(problem, data, ncverify_record):
    """p < K: the width hypothesis fails; the run is outside the theorem's scope."""
    spec = {"mse": ufm.MSE, "mse_bias": ufm.MSE_BIAS, "ce": ufm.CE}[problem]
    run = data.draw(ufm.ufm_runs(problem=problem, narrow=True))
    evaluation = _check(spec, run, ncverify_record)
    assert evaluation.verdict in (Verdict.OUTSIDE, Verdict.INCONCLUSIVE), evaluation.reason
