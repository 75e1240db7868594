"""StreamingCollapse equals the in-memory metrics for every chunking (float64: 1e-10)."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ncverify.metrics import StreamingCollapse, collapse_metrics
from ncverify.strategies import labelled_features

F64 = torch.float64
SETTINGS = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FIELDS = (
    "trace_sigma_w",
    "trace_sigma_b",
    "nc1_trace_ratio",
    "nc1_papyan",
    "cdnv",
    "nc2_kappa",
    "nc2_etf_distance",
    "nc3_cosine",
    "nc3_self_duality",
    "nc4_ncc_agreement",
    "papyan_rank",
    "num_samples",
    "num_classes",
    "dim",
    "dtype",
)
PASS2_ONLY = ("nc1_papyan", "papyan_rank", "nc4_ncc_agreement")


def _chunks(n: int, cuts: list[int]) -> list[slice]:
    edges = sorted({0, n, *(c % (n + 1) for c in cuts)})
    return [slice(a, b) for a, b in itertools.pairwise(edges)]


def _agree(a, b, rel=1e-10):
    if isinstance(a, str) or a is None or (isinstance(a, int) and isinstance(b, int)):
        return a == b
    if math.isinf(a) or math.isinf(b):
        return a == b
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-14)


@SETTINGS
@given(
    data=labelled_features(
        num_classes=st.integers(2, 6),
        samples_per_class=st.integers(1, 8),
        dim=st.integers(1, 9),
        noise=0.5,
        balanced=False,
        offset=4.0,
    ),
    cuts1=st.lists(st.integers(0, 60), max_size=8),
    cuts2=st.lists(st.integers(0, 60), max_size=8),
    order_seed=st.integers(0, 2**31),
    with_w=st.booleans(),
)
def test_streaming_equals_in_memory_for_any_chunking(data, cuts1, cuts2, order_seed, with_w):
    Z, y, _ = data
    k, p = int(y.max()) + 1, Z.shape[1]
    g = torch.Generator().manual_seed(order_seed)
    W = torch.randn(k, p, generator=g, dtype=F64) if with_w else None
    b = torch.randn(k, generator=g, dtype=F64) if with_w else None
    expected = collapse_metrics(Z, y, W=W, b=b)

    acc = StreamingCollapse(k, p, W=W, b=b)
    for s in _chunks(Z.shape[0], cuts1):
        acc.update(Z[s], y[s])
    after_one = acc.result()
    for f in FIELDS:
        if f in PASS2_ONLY:
            assert getattr(after_one, f) is None
        else:
            assert _agree(getattr(after_one, f), getattr(expected, f)), f
    acc.second_pass()
    perm = torch.randperm(Z.shape[0], generator=g)  # pass 2 in another order and chunking
    for s in _chunks(Z.shape[0], cuts2):
        acc.update(Z[perm[s]], y[perm[s]])
    got = acc.result()
    for f in FIELDS:
        assert _agree(getattr(got, f), getattr(expected, f)), (
            f,
            getattr(got, f),
            getattr(expected, f),
        )


def test_stable_merging_with_large_offset():
    """Means far from the origin relative to the spread: E‖z‖² − ‖μ‖² would lose every
    digit (offset 1e6, spread 1e-2); Chan merging keeps pass-1 tr Σ_W to 1e-8 relative."""
    g = torch.Generator().manual_seed(0)
    k, p, n = 3, 4, 200
    y = torch.arange(k).repeat_interleave(n)
    Z = (
        1e6
        + torch.randn(k, p, generator=g, dtype=F64)[y]
        + 1e-2 * torch.randn(k * n, p, generator=g, dtype=F64)
    )
    expected = collapse_metrics(Z, y)
    acc = StreamingCollapse(k, p)
    for s in range(0, k * n, 7):
        acc.update(Z[s : s + 7], y[s : s + 7])
    got = acc.result()
    assert got.trace_sigma_w == pytest.approx(expected.trace_sigma_w, rel=1e-8)
    assert got.cdnv == pytest.approx(expected.cdnv, rel=1e-8)
    # the cancellation-prone formula really is wrong here
    naive = float(Z.square().sum(1).mean() - acc.class_means()[y].square().sum(1).mean())
    assert naive != pytest.approx(expected.trace_sigma_w, rel=1e-3)


def test_float32_chunks_accumulate_in_float64():
    g = torch.Generator().manual_seed(1)
    k, p = 4, 5
    y = torch.arange(80) % k
    Z = torch.randn(k, p, generator=g)[y] + 0.3 * torch.randn(80, p, generator=g)
    acc = StreamingCollapse(k, p)  # dtype=float64 by default
    acc.update(Z[:33], y[:33]).update(Z[33:], y[33:]).second_pass()
    acc.update(Z, y)
    got = acc.result()
    expected = collapse_metrics(Z, y, dtype=F64)
    assert got.dtype == "float64"
    assert got.nc1_papyan == pytest.approx(expected.nc1_papyan, rel=1e-10)
    acc32 = StreamingCollapse(k, p, dtype=torch.float32)
    acc32.update(Z, y).second_pass().update(Z, y)
    assert acc32.result().dtype == "float32"
    assert acc32.result().nc1_papyan == pytest.approx(expected.nc1_papyan, rel=1e-4)


def test_accumulator_memory_is_o_pk():
    """No tensor held by the accumulator has more than max(p, K)·K entries (never p×p)."""
    k, p = 3, 50
    g = torch.Generator().manual_seed(2)
    y = torch.arange(30) % k
    Z = torch.randn(30, p, generator=g, dtype=F64)
    acc = StreamingCollapse(k, p, W=torch.randn(k, p, dtype=F64)).update(Z, y)
    acc.second_pass().update(Z, y)
    held = [v for v in vars(acc).values() if isinstance(v, torch.Tensor)]
    held += [v for v in vars(acc._acc2).values() if isinstance(v, torch.Tensor)]
    assert held and max(t.numel() for t in held) <= p * (k + 8)  # Q padded to 8 columns
    assert acc.num_samples == 30
