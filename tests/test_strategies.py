"""Strategies for architectures, data sets and hyper-parameters (ncverify.strategies)."""

from __future__ import annotations

import functools

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from ncverify import architecture_assumptions, check_architecture
from ncverify.data import make_digits_subset, make_gaussian_clusters
from ncverify.nets import ARCHITECTURE_ASSUMPTIONS
from ncverify.strategies import (
    VIOLATIONS,
    architectures,
    digits_subsets,
    gaussian_clusters,
    training_hyperparameters,
)

FAST = settings(max_examples=25, deadline=None)
SIZES = dict(
    num_samples=st.integers(4, 40), input_dim=st.integers(1, 8), num_classes=st.integers(2, 4)
)


def _held(spec):
    net = spec.build()
    info = check_architecture(net, input_shape=(spec.input_dim,), num_classes=spec.num_classes)
    return {
        k: a.held for k, a in architecture_assumptions(net, spec.num_samples, info=info).items()
    }


@given(spec=architectures(**SIZES, max_width=48))
@FAST
def test_satisfying_architectures_satisfy_every_assumption(spec):
    held = _held(spec)
    assert set(held) == set(ARCHITECTURE_ASSUMPTIONS)
    assert all(v is True for v in held.values()), held
    assert spec.violations == ()
    assert spec.num_classes <= min(spec.all_widths) and max(spec.all_widths) <= 48


@pytest.mark.parametrize("violation", sorted(VIOLATIONS))
def test_violating_architectures_violate_exactly_the_named_assumption(violation):
    @given(spec=architectures(**SIZES, max_width=48, violation=violation))
    @settings(max_examples=15, deadline=None)
    def check(spec):
        held = _held(spec)
        violated = {k for k, v in held.items() if v is False}
        assert violated == {VIOLATIONS[violation]} == set(spec.violations), held
        assert all(v is not None for v in held.values())

    check()


@given(spec=architectures(num_samples=12, input_dim=3, num_classes=3))
@settings(max_examples=10, deadline=None)
def test_architecture_spec_builds_reproducibly(spec):
    a, b, c = spec.build(), spec.build(), spec.build(dtype=torch.float32)
    for Wa, Wb, Wc in zip(a.weights(), b.weights(), c.weights(), strict=True):
        assert torch.equal(Wa, Wb) and Wa.dtype == torch.float64
        assert torch.equal(Wa.float(), Wc)
    other = spec.build(seed=spec.seed + 1)
    assert not torch.equal(a.weights()[0], other.weights()[0])
    assert a.widths() == list(spec.all_widths)
    assert a.num_head_layers == spec.num_head_layers


def _assert_balanced_unit(ds, K, n, d):
    assert ds.X.dtype == torch.float64 and ds.y.dtype == torch.int64
    assert tuple(ds.X.shape) == (K * n, d) and ds.num_classes == K
    assert torch.bincount(ds.y, minlength=K).tolist() == [n] * K
    torch.testing.assert_close(
        torch.linalg.vector_norm(ds.X, dim=1), torch.ones(K * n, dtype=torch.float64)
    )
    assert f"seed={ds.seed}" in ds.description


@given(
    ds=gaussian_clusters(
        num_classes=st.integers(2, 5),
        samples_per_class=st.integers(1, 6),
        input_dim=st.integers(1, 10),
    )
)
@FAST
def test_gaussian_clusters_are_balanced_unit_norm_and_rebuildable(ds):
    K, n, d = ds.num_classes, ds.samples_per_class, ds.input_dim
    _assert_balanced_unit(ds, K, n, d)
    again = make_gaussian_clusters(seed=ds.seed, num_classes=K, samples_per_class=n, input_dim=d)
    assert torch.equal(again.X, ds.X) and torch.equal(again.y, ds.y)


def test_gaussian_clusters_are_clustered():
    """Small cluster_std: nearest class centroid recovers every label (the data is separable)."""
    ds = make_gaussian_clusters(
        seed=1, num_classes=4, samples_per_class=10, input_dim=16, cluster_std=0.1
    )
    means = torch.stack([ds.X[ds.y == k].mean(0) for k in range(4)])
    assert torch.equal(torch.cdist(ds.X, means).argmin(1), ds.y)


@functools.lru_cache(maxsize=1)
def _unit_digits():
    from sklearn.datasets import load_digits

    Xall, yall = load_digits(return_X_y=True)
    Xall = torch.as_tensor(Xall, dtype=torch.float64)
    return Xall / torch.linalg.vector_norm(Xall, dim=1, keepdim=True), torch.as_tensor(yall)


@given(ds=digits_subsets(num_classes=st.integers(2, 10), samples_per_class=st.integers(1, 8)))
@settings(max_examples=15, deadline=None)
def test_digits_subsets_are_balanced_real_digits(ds):
    K, n = ds.num_classes, ds.samples_per_class
    _assert_balanced_unit(ds, K, n, 64)
    Xall, yall = _unit_digits()
    match = torch.cdist(ds.X, Xall).argmin(1)
    torch.testing.assert_close(Xall[match], ds.X)
    digit = yall[match]
    # one original digit per label, distinct across labels, increasing with the label
    per_label = [sorted(set(digit[ds.y == k].tolist())) for k in range(K)]
    assert all(len(p) == 1 for p in per_label)
    firsts = [p[0] for p in per_label]
    assert firsts == sorted(set(firsts))
    again = make_digits_subset(seed=ds.seed, num_classes=K, samples_per_class=n)
    assert torch.equal(again.X, ds.X) and torch.equal(again.y, ds.y)


@given(
    hp=training_hyperparameters(
        min_weight_decay=2e-3,
        max_weight_decay=5e-3,
        max_learning_rate=0.2,
        min_steps=150,
        max_steps=900,
    )
)
@FAST
def test_training_hyperparameters_in_range(hp):
    assert 2e-3 <= hp.weight_decay <= 5e-3
    assert 0.05 <= hp.learning_rate <= 0.2
    assert 150 <= hp.steps <= 900


@given(hp=training_hyperparameters())
@FAST
def test_default_hyperparameters_in_calibrated_regime(hp):
    assert 1e-3 <= hp.weight_decay <= 1e-2 and 0 < hp.learning_rate <= 0.3
    assert hp.steps % 100 == 0


A = dict(num_samples=10, input_dim=3, num_classes=2)
BAD = [
    (lambda: architectures(**{**A, "num_samples": 1}), r"num_samples=1 must be at least 2"),
    (lambda: architectures(**{**A, "input_dim": 2.0}), r"input_dim must be an int or a strategy"),
    (lambda: architectures(**{**A, "num_classes": 1}), r"num_classes=1 must be at least 2"),
    (lambda: architectures(**{**A, "num_classes": 12}), r"num_samples=10 < num_classes=12"),
    (
        lambda: architectures(**A, violation="deep"),
        r"violation must be None or one of "
        r"narrow_first_layer, non_pyramidal",
    ),
    (
        lambda: architectures(**A, max_width=8),
        r"max_width=8 is too small .* needs "
        r"max_width >= 10 \(n_1 >= N\)",
    ),
    (lambda: architectures(**A, max_width=2, violation="non_pyramidal"), r"needs max_width >= 10"),
    (lambda: architectures(**A, max_width=2.5), r"max_width must be an int >= 2, got 2.5"),
    (lambda: architectures(**A, max_head_layers=1), r"max_head_layers=1 allows only L2 = 1"),
    (
        lambda: architectures(**A, max_nonlinear_layers=0),
        r"max_nonlinear_layers must be an int >= 1, got 0",
    ),
    (
        lambda: architectures(**A, max_nonlinear_layers=1, violation="non_pyramidal"),
        r"non_pyramidal' needs max_nonlinear_layers >= 2",
    ),
    (
        lambda: gaussian_clusters(num_classes=1, samples_per_class=2, input_dim=2),
        r"num_classes=1 must be at least 2",
    ),
    (
        lambda: gaussian_clusters(num_classes=2, samples_per_class=0, input_dim=2),
        r"samples_per_class=0 must be at least 1",
    ),
    (
        lambda: gaussian_clusters(num_classes=2, samples_per_class=2, input_dim=2, cluster_std=-1),
        r"cluster_std must be >= 0, got -1.0",
    ),
    (
        lambda: gaussian_clusters(
            num_classes=2, samples_per_class=2, input_dim=2, cluster_std=float("nan")
        ),
        r"cluster_std must be a finite number",
    ),
    (
        lambda: gaussian_clusters(num_classes=2, samples_per_class=2, input_dim=2, center=1),
        r"center must be a bool",
    ),
    (lambda: digits_subsets(num_classes=11, samples_per_class=2), r"only 10 classes"),
    (lambda: digits_subsets(num_classes=3, samples_per_class=175), r"exceeds 174"),
    (
        lambda: training_hyperparameters(max_learning_rate=0.5),
        r"max_learning_rate <= 0.3, got \[0.05, 0.5\]; .*stable regime",
    ),
    (lambda: training_hyperparameters(min_learning_rate=0.0), r"need 0 < min_learning_rate"),
    (
        lambda: training_hyperparameters(min_weight_decay=0.02),
        r"min_weight_decay <= max_weight_decay .* got \[0.02, 0.01\]",
    ),
    (
        lambda: training_hyperparameters(max_weight_decay="x"),
        r"max_weight_decay must be a finite number",
    ),
    (lambda: training_hyperparameters(min_steps=10, max_steps=5), r"min_steps=10 > max_steps=5"),
    (lambda: training_hyperparameters(min_steps=0), r"min_steps must be an int >= 1"),
]


@pytest.mark.parametrize(("make", "match"), BAD)
def test_bad_strategy_arguments(make, match):
    with pytest.raises(InvalidArgument, match=match):
        make()


@pytest.mark.parametrize(
    ("strategy", "match"),
    [
        (
            architectures(num_samples=st.just(1), input_dim=2, num_classes=2),
            r"num_samples strategy drew 1; it must draw ints >= 2",
        ),
        (
            architectures(num_samples=st.just(30), input_dim=2, num_classes=2, max_width=20),
            r"max_width=20 is too small",
        ),
        (
            digits_subsets(num_classes=st.just(12), samples_per_class=2),
            r"drew num_classes=12, samples_per_class=2",
        ),
    ],
)
def test_bad_values_drawn_from_size_strategies(strategy, match):
    @given(strategy)
    @settings(max_examples=1, database=None)
    def draw(_):
        raise AssertionError("unreachable: drawing must fail")

    with pytest.raises(InvalidArgument, match=match):
        draw()


def test_data_strategies_are_re_exported():
    import ncverify.strategies as public
    from ncverify.strategies import _data as _strategies_data

    assert _strategies_data.__all__
    for name in _strategies_data.__all__:
        assert getattr(public, name) is getattr(_strategies_data, name)
        assert name in public.__all__
