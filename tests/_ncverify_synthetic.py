"""Synthetic theorem-test sources for the plugin, report and CLI tests.

The strings below are test *files* that pytester / the CLI tests write into a
temporary directory. They build Evaluations directly (no torch, no theorem
registry), so these tests do not depend on the real theorem suite.
"""

HELPERS = """
import pytest
from ncverify.spec import AssumptionOutcome, ClaimOutcome, Evaluation


def make(theorem, q, bound, *, a_held=True, nc=False, architecture=""):
    assumptions = [AssumptionOutcome("H-a", "checked", a_held, {"q": q}, "q <= 1")]
    if nc:
        assumptions.append(AssumptionOutcome("H-nc", "not_checkable", None))
    claim = ClaimOutcome("c1", q, bound, "<=", held=q <= bound, expression="bound")
    return Evaluation.build(theorem_id=theorem, source="synthetic", provenance="derived",
                            assumptions=assumptions, claims=[claim], inputs={"q": q},
                            architecture=architecture)
"""

# Four confirmed/outside evaluations and one hypothesis test with counterexamples.
SUITE = (
    HELPERS
    + """
from hypothesis import given, strategies as st
from ncverify.pytest_plugin import hypothesis_settings


# one evaluation per test, one of them outside: no floor for these synthetic records
@pytest.mark.ncverify_theorem("syn-ok", min_in_scope=0, max_undecided_fraction=1)
@pytest.mark.parametrize("i", range(4))
def test_ok(ncverify_record, i):
    ev = ncverify_record(make("syn-ok", 0.25 * i, 1.0, a_held=i != 2))
    assert ev.test_id.endswith(f"test_ok[{i}]")


@pytest.mark.ncverify_theorem("syn-hyp")
@given(st.integers(0, 40))
@hypothesis_settings(max_examples=25)
def test_hyp(ncverify_record, k):
    assert ncverify_record(make("syn-hyp", k / 20, 1.5)).verdict != "counterexample"
"""
)

PASSING = (
    HELPERS
    + """

@pytest.mark.ncverify_theorem("syn-ok", min_in_scope=0, max_undecided_fraction=1)
@pytest.mark.parametrize("i", range(3))
def test_ok(ncverify_record, i):
    ncverify_record(make("syn-ok", 0.25 * i, 1.0, a_held=i != 2, nc=True))
"""
)

COUNTEREXAMPLE = (
    HELPERS
    + """

@pytest.mark.ncverify_theorem("syn-bad")
def test_bad(ncverify_record):
    ncverify_record(make("syn-bad", 2.0, 1.0))  # no assert: the plugin fails the test
"""
)

# A module with a valid plug-in architecture factory (the network protocol of
# docs/architectures.md) for the tests that pass --arch / --ncverify-arch.
TINY_ARCH = """
import torch
from torch import nn


class Tiny(nn.Module):
    num_head_layers = 2

    def __init__(self, d, k):
        super().__init__()
        self.num_classes = k
        self.body = nn.Linear(d, 8)
        self.head = nn.ModuleList([nn.Linear(8, 8, bias=False), nn.Linear(8, k, bias=False)])

    def layer_features(self, X):
        feats = [torch.tanh(self.body(X))]
        for layer in self.head:
            feats.append(layer(feats[-1]))
        return feats

    def forward(self, X):
        return self.layer_features(X)[-1]

    def head_weights(self):
        return [layer.weight for layer in self.head]


def build(*, input_shape, num_classes, num_samples):
    return Tiny(input_shape[0], num_classes)
"""
