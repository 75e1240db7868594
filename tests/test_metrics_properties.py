"""Property-based tests of the collapse metrics: invariances, scaling, two independent
computations of Papyan NC1 (K×K Gram route vs the textbook p×p pseudo-inverse), and the
float32 rank-deficient Gram pitfall of spec §2/§7."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ncverify.metrics import (
    class_means,
    collapse_metrics,
    kappa_plus,
    nc1_papyan,
    nc1_trace_ratio,
    nc2_kappa,
)
from ncverify.metrics._core import _centred, _counts_and_means
from ncverify.metrics._linalg import gram_pinv, gram_pinv_factor
from ncverify.strategies import labelled_features, orthogonal_matrices

F64 = torch.float64
SETTINGS = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# features with classes in general position: p >= K so κ(Z̄) is finite
DATA = labelled_features(
    num_classes=st.integers(2, 6),
    samples_per_class=st.integers(2, 6),
    dim=st.integers(6, 10),
    noise=0.4,
)
UNBALANCED = labelled_features(
    num_classes=st.integers(2, 5),
    samples_per_class=st.integers(1, 6),
    dim=st.integers(5, 9),
    noise=0.4,
    balanced=False,
    offset=2.0,
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
)
SCALE_FREE = (
    "nc1_trace_ratio",
    "nc1_papyan",
    "cdnv",
    "nc2_kappa",
    "nc2_etf_distance",
    "nc3_cosine",
    "nc3_self_duality",
    "nc4_ncc_agreement",
)


def textbook_papyan(Z: torch.Tensor, y: torch.Tensor) -> float:
    """Reference: (1/K) tr(Σ_W Σ_B^†) with p×p matrices and a float64 pinv (Papyan 2020)."""
    Z = Z.to(F64)
    k = int(y.max()) + 1
    mu = torch.stack([Z[y == c].mean(0) for c in range(k)])
    H = Z - mu[y]
    sigma_w = H.T @ H / Z.shape[0]
    C = mu - Z.mean(0)
    sigma_b = C.T @ C / k
    return float(torch.trace(sigma_w @ torch.linalg.pinv(sigma_b, hermitian=True))) / k


def _classifier(seed: int, k: int, p: int):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(k, p, generator=g, dtype=F64), torch.randn(k, generator=g, dtype=F64)


def _close(a, b, rel: float) -> bool:
    if a is None or b is None:
        return a is b
    if math.isinf(a) or math.isinf(b):
        return a == b
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-13)


def _assert_same(m1, m2, fields, rel):
    for f in fields:
        a, b = getattr(m1, f), getattr(m2, f)
        assert _close(a, b, rel), f"{f}: {a!r} != {b!r}"


# --------------------------------------------------------------------------- invariances
@SETTINGS
@given(data=DATA, perm_seed=st.integers(0, 2**31), w_seed=st.integers(0, 2**31))
def test_invariant_under_permuting_samples(data, perm_seed, w_seed):
    Z, y, _ = data
    W, b = _classifier(w_seed, int(y.max()) + 1, Z.shape[1])
    perm = torch.randperm(Z.shape[0], generator=torch.Generator().manual_seed(perm_seed))
    m1 = collapse_metrics(Z, y, W=W, b=b)
    m2 = collapse_metrics(Z[perm], y[perm], W=W, b=b)
    _assert_same(m1, m2, (*FIELDS, "nc4_ncc_agreement"), rel=1e-10)


@SETTINGS
@given(data=DATA, draw=st.data(), w_seed=st.integers(0, 2**31))
def test_invariant_under_rotations_of_feature_space(data, draw, w_seed):
    Z, y, _ = data
    p = Z.shape[1]
    Q = draw.draw(orthogonal_matrices(dim=p))
    W, b = _classifier(w_seed, int(y.max()) + 1, p)
    m1 = collapse_metrics(Z, y, W=W, b=b)
    # z ↦ Qz (rows: Z Qᵀ) and w ↦ Qw keep every metric: all are built from inner products
    m2 = collapse_metrics(Z @ Q.T, y, W=W @ Q.T, b=b)
    _assert_same(m1, m2, (*FIELDS, "nc4_ncc_agreement"), rel=1e-8)


@SETTINGS
@given(data=UNBALANCED, shift_seed=st.integers(0, 2**31))
def test_centred_metrics_invariant_under_translation(data, shift_seed):
    Z, y, _ = data
    shift = 3.0 * torch.randn(
        Z.shape[1], generator=torch.Generator().manual_seed(shift_seed), dtype=F64
    )
    m1, m2 = collapse_metrics(Z, y), collapse_metrics(Z + shift, y)
    _assert_same(
        m1,
        m2,
        (
            "trace_sigma_w",
            "trace_sigma_b",
            "nc1_trace_ratio",
            "nc1_papyan",
            "cdnv",
            "nc2_etf_distance",
        ),
        rel=1e-8,
    )


@SETTINGS
@given(data=DATA, pi=st.permutations(range(6)), w_seed=st.integers(0, 2**31))
def test_invariant_under_relabelling_classes(data, pi, w_seed):
    Z, y, _ = data
    k = int(y.max()) + 1
    pi = torch.tensor([c for c in pi if c < k])  # a permutation of 0..k-1
    W, b = _classifier(w_seed, k, Z.shape[1])
    W2, b2 = torch.empty_like(W), torch.empty_like(b)
    W2[pi], b2[pi] = W, b  # class c becomes π(c); its weight row moves with it
    m1 = collapse_metrics(Z, y, W=W, b=b)
    m2 = collapse_metrics(Z, pi[y], W=W2, b=b2)
    _assert_same(m1, m2, (*FIELDS, "nc4_ncc_agreement"), rel=1e-10)
    assert torch.equal(class_means(Z, pi[y])[pi], class_means(Z, y))


@SETTINGS
@given(
    data=DATA, alpha=st.floats(1e-3, 1e3), w_seed=st.integers(0, 2**31), beta=st.floats(1e-2, 1e2)
)
def test_scaling_behaviour(data, alpha, w_seed, beta):
    Z, y, _ = data
    W, b = _classifier(w_seed, int(y.max()) + 1, Z.shape[1])
    m1 = collapse_metrics(Z, y, W=W, b=b)
    m2 = collapse_metrics(alpha * Z, y, W=beta * W, b=alpha * beta * b)
    _assert_same(m1, m2, SCALE_FREE, rel=1e-9)  # ratios: scale-free
    assert _close(m2.trace_sigma_w, alpha**2 * m1.trace_sigma_w, 1e-10)  # quadratic
    assert _close(m2.trace_sigma_b, alpha**2 * m1.trace_sigma_b, 1e-10)
    m3 = collapse_metrics(-alpha * Z, y, W=W)
    assert _close(m3.nc3_cosine, -m1.nc3_cosine, 1e-9)  # odd under z ↦ −z
    assert _close(m3.nc1_papyan, m1.nc1_papyan, 1e-9)


# --------------------------------------------------------- two independent computations
@SETTINGS
@given(
    data=labelled_features(
        num_classes=st.integers(2, 8),
        samples_per_class=st.integers(2, 8),
        dim=st.integers(1, 14),
        noise=0.5,
        balanced=False,
        offset=1.5,
    )
)
def test_papyan_gram_route_equals_textbook_float64(data):
    Z, y, _ = data
    k = int(y.max()) + 1
    counts, means = _counts_and_means(Z, y, k)
    # well-conditioned Σ_B on its range (both routes lose ~κ² digits otherwise)
    assume(kappa_plus(_centred(means, counts)) < 1e3)
    expected = textbook_papyan(Z, y)
    assert nc1_papyan(Z, y) == pytest.approx(expected, rel=1e-10, abs=1e-14)


@SETTINGS
@given(
    data=labelled_features(
        num_classes=st.integers(2, 8),
        samples_per_class=st.integers(3, 8),
        dim=st.integers(12, 20),
        noise=0.5,
        scale=3.0,
        dtype=torch.float32,
    )
)
def test_papyan_gram_route_equals_textbook_float32(data):
    Z, y, means = data
    # well-conditioned: separated random means with κ_+(centred means) < 10
    assume(kappa_plus(means.double() - means.double().mean(0)) < 10)
    got = nc1_papyan(Z, y)
    assert got == pytest.approx(textbook_papyan(Z, y), rel=1e-4)


# ------------------------------------------------------------------------ float32 pitfall
@pytest.mark.parametrize("seed", [0, 1, 3])
def test_float32_rank_deficient_gram_pitfall(seed):
    """A float32 Gram of centred means has a rounding eigenvalue near eps32·‖G‖ (its exact
    null vector is the class counts). Pseudo-inverting it with a float64 tolerance gives a
    wildly wrong NC1; the dtype-aware truncation gives the textbook value."""
    g = torch.Generator().manual_seed(seed)
    k, p, n = 10, 64, 50
    y = torch.arange(k).repeat_interleave(n)
    M = torch.randn(k, p, generator=g, dtype=F64) + 3.0
    Z = (M[y] + 0.5 * torch.randn(k * n, p, generator=g, dtype=F64)).float()
    reference = textbook_papyan(Z, y)
    assert nc1_papyan(Z, y) == pytest.approx(reference, rel=1e-4)

    counts, means = _counts_and_means(Z, y, k)
    means = means.float()  # the float32 means of float32 features
    C = _centred(means, counts)
    G = C @ C.T  # float32, exactly rank K−1 in exact arithmetic
    naive_P = C.double().T @ torch.linalg.pinv(G.double(), hermitian=True)  # float64 tolerance
    naive = float((((Z - means[y]).double() @ naive_P) ** 2).sum()) / Z.shape[0]
    assert not naive == pytest.approx(reference, rel=0.5)  # the pitfall is real here
    # tolerance alone (no rank cap) already drops the rounding eigenvalue in float32 …
    assert gram_pinv_factor(G.double(), dtype=torch.float32)[1].numel() == k - 1
    # … while a float64 tolerance counts it as a genuine direction
    assert int(torch.linalg.matrix_rank(G.double(), hermitian=True)) == k
    P_ok = gram_pinv(G.double(), dtype=torch.float32)
    fixed = float((((Z - means[y]).double() @ (C.double().T @ P_ok)) ** 2).sum()) / Z.shape[0]
    assert fixed == pytest.approx(reference, rel=1e-4)


def test_papyan_with_fewer_dimensions_than_classes():
    # p = 2 < K−1 = 4: Σ_B has rank 2; the Gram pinv must truncate to rank 2 as well
    g = torch.Generator().manual_seed(5)
    y = torch.arange(5).repeat_interleave(6)
    Z = torch.randn(5, 2, generator=g, dtype=F64)[y] + 0.3 * torch.randn(
        30, 2, generator=g, dtype=F64
    )
    m = collapse_metrics(Z, y)
    assert m.papyan_rank == 2
    assert m.nc1_papyan == pytest.approx(textbook_papyan(Z, y), rel=1e-10)
    assert nc2_kappa(Z, y) == math.inf


@SETTINGS
@given(data=DATA)
def test_trace_ratio_matches_projection_form(data):
    """Spec §2 matrix form (balanced): NC1 = ‖ZΠ‖_F² / ‖ZB‖_F² with Π = I − YᵀY/n,
    B = YᵀY/n − 11ᵀ/N (spec's Z is p×N, ours is its transpose)."""
    Z, y, _ = data
    k = int(y.max()) + 1
    N = y.shape[0]
    n = N // k
    Y = torch.nn.functional.one_hot(y, k).to(F64).T  # (K, N)
    Pi = torch.eye(N, dtype=F64) - Y.T @ Y / n
    B = Y.T @ Y / n - torch.ones(N, N, dtype=F64) / N
    ZT = Z.T
    expected = float((ZT @ Pi).square().sum() / (ZT @ B).square().sum())
    assert nc1_trace_ratio(Z, y) == pytest.approx(expected, rel=1e-10)
    assert float((Y @ B).square().sum()) == pytest.approx(N * (k - 1) / k, rel=1e-12)
