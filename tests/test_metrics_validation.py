"""Bad inputs to the collapse metrics: each raises a typed error with a pinned message."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from ncverify import InvalidInput
from ncverify.metrics import (
    StreamingCollapse,
    balancedness,
    class_means,
    collapse_metrics,
    condition_number,
    interpolation_error,
    kappa_plus,
    nc1_papyan,
    nc3_cosine,
    nc4_ncc_agreement,
    rank_tolerance,
)
from ncverify.strategies import (
    balanced_labels,
    collapsed_features,
    feature_matrices,
    labelled_features,
    orthogonal_matrices,
    simplex_etf_means,
)

F64 = torch.float64
Z = torch.randn(6, 3, dtype=F64, generator=torch.Generator().manual_seed(0))
Y = torch.tensor([0, 0, 1, 1, 2, 2])
W = torch.randn(3, 3, dtype=F64)
NAN_Z = Z.clone()
NAN_Z[1, 2] = float("nan")

BAD_INPUTS = [
    # (call, message pattern)
    (lambda: nc1_papyan(Z.numpy(), Y), r"Z must be a torch.Tensor, got ndarray"),
    (lambda: nc1_papyan(Z[0], Y), r"Z must be a 2-D matrix, got shape \(3,\) \(1-D\)"),
    (lambda: nc1_papyan(Z.long(), Y), r"Z must have a real floating dtype .* got torch.int64"),
    (lambda: nc1_papyan(Z[:0], Y[:0]), r"Z must be non-empty, got shape \(0, 3\)"),
    (lambda: nc1_papyan(NAN_Z, Y), r"Z must be finite, but 1 entries are NaN or infinite"),
    (lambda: nc1_papyan(Z, Y.float()), r"y must have an integer dtype .* got torch.float32"),
    (lambda: nc1_papyan(Z, Y.bool()), r"y must have an integer dtype .* got torch.bool"),
    (lambda: nc1_papyan(Z, Y[None]), r"y must be 1-D of shape \(N,\), got shape \(1, 6\)"),
    (lambda: nc1_papyan(Z, Y[:5]), r"y has 5 labels but the features have 6 rows"),
    (
        lambda: nc1_papyan(Z, torch.tensor([0, 0, 2, 2, 5, 5])),
        r"classes \[1, 3, 4\] have no samples in y \(K=6\)",
    ),
    (lambda: nc1_papyan(Z, Y, num_classes=5), r"classes \[3, 4\] have no samples in y \(K=5\)"),
    (
        lambda: nc1_papyan(Z, torch.tensor([0, 0, 1, 1, -1, 2])),
        r"y has labels \[-1\] outside \[0, 3\)",
    ),
    (lambda: nc1_papyan(Z, Y, num_classes=2), r"y has labels \[2\] outside \[0, 2\)"),
    (
        lambda: nc1_papyan(Z, torch.zeros(6, dtype=torch.int64)),
        r"number of classes inferred from max\(y\)\+1 must be at least 2 .* got 1",
    ),
    (lambda: nc1_papyan(Z, Y, num_classes=1), r"num_classes must be at least 2"),
    (lambda: nc1_papyan(Z, Y, num_classes=True), r"num_classes must be an integer, got True"),
    (lambda: nc1_papyan(Z, Y, num_classes=2.5), r"num_classes must be an integer, got 2.5"),
    (
        lambda: nc1_papyan(Z[:2], torch.tensor([0, 7])),
        r"K=8 classes cannot all be present in y with only 2 samples",
    ),
    (lambda: nc1_papyan(Z, Y, dtype=torch.float16), r"dtype must be torch.float32 or"),
    (lambda: nc3_cosine(Z, Y, W[:2]), r"W must have shape \(K, p\) = \(3, 3\) .* got \(2, 3\)"),
    (lambda: nc3_cosine(Z, Y, W.T[:, :2]), r"W must have shape \(K, p\) = \(3, 3\)"),
    (
        lambda: nc3_cosine(Z, Y, torch.randn(4, 3, dtype=F64)),
        r"W must have shape \(K, p\) = \(3, 3\) .* got \(4, 3\)",
    ),
    (
        lambda: nc3_cosine(Z, Y, torch.randn(4, 3, dtype=F64), num_classes=4),
        r"classes \[3\] have no samples in y \(K=4\)",
    ),
    (
        lambda: nc4_ncc_agreement(Z, Y, W, torch.zeros(2)),
        r"b must have shape \(K,\) = \(3,\), got \(2,\)",
    ),
    (
        lambda: nc4_ncc_agreement(Z, Y, W, torch.tensor([0.0, float("inf"), 0.0])),
        r"b must be finite",
    ),
    (lambda: collapse_metrics(Z, Y, W=W.long()), r"W must have a real floating dtype"),
    (
        lambda: interpolation_error(torch.zeros(3, 2), torch.tensor([0, 1, 2])),
        r"y has labels \[2\] outside \[0, 2\)",
    ),
    (
        lambda: interpolation_error(torch.zeros(3, 2), torch.tensor([0, 1, 1]), num_classes=3),
        r"Z_out has 2 columns but num_classes=3",
    ),
    (
        lambda: balancedness(torch.zeros(4, 3), torch.zeros(2, 5)),
        r"W_upper has 5 columns but W_lower has 4 rows",
    ),
    (
        lambda: balancedness(torch.zeros(4, 3), torch.zeros(2, 4, 1)),
        r"W_upper must be a 2-D matrix, got shape \(2, 4, 1\)",
    ),
    (lambda: kappa_plus(torch.zeros(3, 2)), r"kappa_plus is undefined for M of shape \(3, 2\)"),
    (lambda: condition_number(torch.zeros(3)), r"M must be a 2-D matrix"),
    (lambda: rank_tolerance(1.0, (2, 2), F64, rtol=1.5), r"rtol must be in \[0, 1\), got 1.5"),
    (
        lambda: class_means(Z, torch.tensor([0, 0, 1, 1, 3, 3], dtype=torch.uint8)),
        r"classes \[2\] have no samples",
    ),
    # streaming
    (lambda: StreamingCollapse(1, 3), r"num_classes must be at least 2"),
    (lambda: StreamingCollapse(3, 0), r"dim must be a positive integer, got 0"),
    (lambda: StreamingCollapse(3, 3, dtype=torch.float16), r"dtype must be torch.float32"),
    (lambda: StreamingCollapse(3, 3, b=torch.zeros(3)), r"b was given without W"),
    (lambda: StreamingCollapse(3, 3, W=torch.zeros(3, 4)), r"W must have shape \(K, p\)"),
    (lambda: StreamingCollapse(3, 4).update(Z, Y), r"Z_chunk has 3 columns but .* dim=4"),
    (lambda: StreamingCollapse(2, 3).update(Z, Y), r"y_chunk has labels \[2\] outside \[0, 2\)"),
    (lambda: StreamingCollapse(3, 3).result(), r"no samples were added"),
    (
        lambda: StreamingCollapse(4, 3).update(Z, Y).second_pass(),
        r"classes \[3\] have no samples after pass 1",
    ),
    (
        lambda: StreamingCollapse(3, 3).update(Z, Y).second_pass().second_pass(),
        r"second_pass\(\) was already called",
    ),
    (
        lambda: StreamingCollapse(3, 3).update(Z, Y).second_pass().update(Z[:4], Y[:4]).result(),
        r"pass 2 saw 4 samples but pass 1 saw 6; per-class counts differ for classes \[2\]",
    ),
]


@pytest.mark.parametrize(("call", "match"), BAD_INPUTS)
def test_bad_input_raises_invalid_input(call, match):
    with pytest.raises(InvalidInput, match=match):
        call()


def test_invalid_input_is_also_value_error():
    with pytest.raises(ValueError):
        nc1_papyan(Z, Y[:3])


BAD_STRATEGY_ARGS = [
    (lambda: balanced_labels(num_classes=1, samples_per_class=2), r"num_classes=1 must be at"),
    (lambda: balanced_labels(num_classes=3, samples_per_class=0), r"samples_per_class=0"),
    (lambda: balanced_labels(num_classes=3, samples_per_class=2, shuffle=1), r"shuffle must"),
    (lambda: feature_matrices(num_samples=2.0, dim=3), r"num_samples must be an int"),
    (lambda: feature_matrices(num_samples=2, dim=3, dtype=torch.int64), r"dtype must be"),
    (lambda: feature_matrices(num_samples=2, dim=3, scale=-1.0), r"scale must be a finite"),
    (
        lambda: labelled_features(num_classes=2, samples_per_class=2, dim=2, geometry="x"),
        r"geometry must be one of",
    ),
    (
        lambda: labelled_features(num_classes=2, samples_per_class=2, dim=2, offset=float("nan")),
        r"offset must be a finite number",
    ),
    (lambda: orthogonal_matrices(dim=0), r"dim=0 must be at least 1"),
]


@pytest.mark.parametrize(("build", "match"), BAD_STRATEGY_ARGS)
def test_bad_strategy_arguments(build, match):
    with pytest.raises(InvalidArgument, match=match):
        build()


@pytest.mark.parametrize(
    ("strategy", "match"),
    [
        (
            collapsed_features(num_classes=4, samples_per_class=2, dim=3, geometry="orthogonal"),
            r"orthogonal frame of K=4 means needs dim >= K, got 3",
        ),
        (simplex_etf_means(num_classes=5, dim=3), r"simplex ETF of K=5 points needs dim >= K-1"),
        (
            balanced_labels(num_classes=st.just(1), samples_per_class=2),
            r"num_classes strategy drew 1",
        ),
    ],
)
def test_bad_strategy_arguments_found_at_draw(strategy, match):
    @given(strategy)
    def inner(_):
        pass

    with pytest.raises(InvalidArgument, match=match):
        inner()


@given(
    y=balanced_labels(num_classes=st.integers(2, 5), samples_per_class=st.integers(1, 4)),
    etf=simplex_etf_means(num_classes=4, dim=st.integers(3, 6), scale=2.0),
    Z=feature_matrices(num_samples=5, dim=st.integers(1, 3)),
)
def test_strategies_produce_what_they_promise(y, etf, Z):
    counts = torch.bincount(y)
    assert bool((counts == counts[0]).all()) and y.dtype == torch.int64
    G = etf @ etf.T
    expected = 4.0 * (torch.eye(4, dtype=F64) * (4 / 3) - torch.ones(4, 4, dtype=F64) / 3)
    assert torch.allclose(G, expected, atol=1e-12)
    assert Z.shape[0] == 5 and Z.dtype == F64
