"""Known answers and hand-computed cases for the collapse metrics (spec §2)."""

from __future__ import annotations

import math

import pytest
import torch

from ncverify.metrics import (
    balancedness,
    cdnv,
    class_means,
    collapse_metrics,
    condition_number,
    global_mean,
    interpolation_error,
    kappa_plus,
    nc1_papyan,
    nc1_trace_ratio,
    nc2_etf_distance,
    nc2_kappa,
    nc3_cosine,
    nc3_self_duality,
    nc4_ncc_agreement,
    rank_tolerance,
    trace_sigma_b,
    trace_sigma_w,
)

F64 = torch.float64


def _orthonormal_rows(k: int, p: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(p, k, generator=g, dtype=F64))
    return q.T  # (k, p), orthonormal rows


def _simplex_etf(k: int, p: int, seed: int) -> torch.Tensor:
    """(k, p) rows: a simplex ETF (centred, equal norms, cosines -1/(k-1))."""
    core = (torch.eye(k, dtype=F64) - 1.0 / k) * math.sqrt(k / (k - 1))  # (k, k), rank k-1
    return core @ _orthonormal_rows(k, p, seed)


def _labels(k: int, n: int) -> torch.Tensor:
    return torch.arange(k).repeat_interleave(n)


# ------------------------------------------------------------------ hand-computed case
def test_hand_computed_scalar_features():
    # K=2, p=1: means 1 and 11, global mean 6, every deviation ±1.
    Z = torch.tensor([[0.0], [2.0], [10.0], [12.0]], dtype=F64)
    y = torch.tensor([0, 0, 1, 1])
    assert class_means(Z, y).flatten().tolist() == [1.0, 11.0]
    assert global_mean(Z).tolist() == [6.0]
    assert trace_sigma_w(Z, y) == pytest.approx(1.0, rel=1e-15)
    assert trace_sigma_b(Z, y) == pytest.approx(25.0, rel=1e-15)
    assert nc1_trace_ratio(Z, y) == pytest.approx(1 / 25, rel=1e-14)
    # Σ_B = 25, Σ_B^† = 1/25, (1/K) tr(Σ_W Σ_B^†) = 1/50
    assert nc1_papyan(Z, y) == pytest.approx(1 / 50, rel=1e-14)
    # (V_0 + V_1) / (2 |μ_0 − μ_1|²) = 2 / 200
    assert cdnv(Z, y) == pytest.approx(0.01, rel=1e-14)
    # p = 1 < K = 2: Z̄ has rank 1, s_K = 0
    assert nc2_kappa(Z, y) == math.inf
    # centred means ±5: G/‖G‖_F = (I − 11ᵀ/2) exactly
    assert nc2_etf_distance(Z, y) == pytest.approx(0.0, abs=1e-15)


def test_hand_computed_unbalanced_global_mean_is_sample_weighted():
    Z = torch.tensor([[0.0], [0.0], [0.0], [4.0]], dtype=F64)
    y = torch.tensor([0, 0, 0, 1])
    # μ_G = 1 (sample-weighted), not 2 (mean of means): tr Σ_B = (1 + 9) / 2
    assert trace_sigma_b(Z, y) == pytest.approx(5.0, rel=1e-15)
    assert trace_sigma_w(Z, y) == 0.0


def test_hand_computed_balancedness_and_interpolation():
    W_lower = torch.tensor([[1.0, 0.0], [0.0, 2.0]], dtype=F64)  # W_l: (n_l=2, n_{l-1}=2)
    W_upper = torch.tensor([[1.0, 1.0]], dtype=F64)  # W_{l+1}: (1, n_l=2)
    # W_uᵀW_u − W_l W_lᵀ = [[0, 1], [1, −3]], eigenvalues (−3 ± √13)/2
    assert balancedness(W_lower, W_upper) == pytest.approx((3 + math.sqrt(13)) / 2, rel=1e-14)
    Z_out = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]], dtype=F64)
    y = torch.tensor([0, 1, 0])
    assert interpolation_error(Z_out, y) == pytest.approx(math.sqrt(0.5), rel=1e-15)
    onehot = torch.nn.functional.one_hot(y, 2).to(F64)
    assert interpolation_error(onehot, y) == 0.0


def test_balanced_pair_is_zero():
    # W_l = U S Vᵀ, W_{l+1} = R S Uᵀ with orthogonal R, U: W_uᵀW_u = U S² Uᵀ = W_l W_lᵀ
    g = torch.Generator().manual_seed(3)
    U, _ = torch.linalg.qr(torch.randn(4, 4, generator=g, dtype=F64))
    V, _ = torch.linalg.qr(torch.randn(6, 4, generator=g, dtype=F64))
    R, _ = torch.linalg.qr(torch.randn(4, 4, generator=g, dtype=F64))
    S = torch.diag(torch.tensor([3.0, 2.0, 1.0, 0.5], dtype=F64))
    assert balancedness(U @ S @ V.T, R @ S @ U.T) == pytest.approx(0.0, abs=1e-12)


# --------------------------------------------------------------------- exact collapse
@pytest.mark.parametrize("k,p,n", [(2, 3, 4), (4, 10, 5), (7, 7, 3)])
def test_exact_collapse_to_orthogonal_frame(k, p, n):
    W = 2.5 * _orthonormal_rows(k, p, seed=k)
    y = _labels(k, n)
    Z = 1.7 * W[y]
    m = collapse_metrics(Z, y, W=W)
    assert m.trace_sigma_w == pytest.approx(0.0, abs=1e-26)
    assert m.nc1_trace_ratio == pytest.approx(0.0, abs=1e-26)
    assert m.nc1_papyan == pytest.approx(0.0, abs=1e-24)
    assert m.cdnv == pytest.approx(0.0, abs=1e-26)
    assert m.nc2_kappa == pytest.approx(1.0, abs=1e-12)
    assert m.nc3_cosine == pytest.approx(1.0, abs=1e-14)
    assert m.nc4_ncc_agreement == 1.0
    assert m.papyan_rank == k - 1


@pytest.mark.parametrize("k,p,n", [(2, 2, 3), (3, 5, 4), (6, 9, 2)])
def test_exact_collapse_to_simplex_etf(k, p, n):
    W = 3.0 * _simplex_etf(k, p, seed=p)
    y = _labels(k, n)
    Z = W[y] + 5.0 * torch.ones(p, dtype=F64)  # translation: centred quantities unchanged
    m = collapse_metrics(Z, y, W=W)
    assert m.nc2_etf_distance == pytest.approx(0.0, abs=1e-12)
    assert m.nc1_papyan == pytest.approx(0.0, abs=1e-22)
    assert m.nc3_self_duality == pytest.approx(0.0, abs=1e-12)
    # ETF *uncentred* means are rank K-1 after removing the translation: κ ≠ 1
    assert nc2_kappa(W[y], y) == math.inf


def test_orthogonal_frame_is_far_from_etf_and_vice_versa():
    k, p = 4, 6
    y = _labels(k, 3)
    frame = _orthonormal_rows(k, p, seed=1)
    etf = _simplex_etf(k, p, seed=1)
    assert nc2_kappa(frame[y], y) == pytest.approx(1.0, abs=1e-12)
    assert nc2_etf_distance(frame[y], y) == pytest.approx(0.0, abs=1e-12)  # centred frame = ETF
    assert nc2_kappa(etf[y], y) == math.inf


def test_features_equal_to_rows_of_W_give_nc3_one():
    g = torch.Generator().manual_seed(0)
    W = torch.randn(5, 8, generator=g, dtype=F64)
    y = torch.randint(0, 5, (40,), generator=g)
    y[:5] = torch.arange(5)
    scale = torch.rand(40, 1, generator=g, dtype=F64) + 0.1
    assert nc3_cosine(scale * W[y], y, W) == pytest.approx(1.0, abs=1e-14)
    assert nc3_cosine(-W[y], y, W) == pytest.approx(-1.0, abs=1e-14)


def test_nc3_zero_feature_contributes_zero():
    W = torch.eye(2, dtype=F64)
    Z = torch.tensor([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0], [0.0, 2.0]], dtype=F64)
    y = torch.tensor([0, 0, 1, 1])
    assert nc3_cosine(Z, y, W) == pytest.approx(0.75, rel=1e-15)


def test_nc4_uses_the_bias():
    Z = torch.tensor([[-1.0], [-1.2], [1.0], [1.2]], dtype=F64)
    y = torch.tensor([0, 0, 1, 1])
    W = torch.tensor([[-1.0], [1.0]], dtype=F64)
    assert nc4_ncc_agreement(Z, y, W) == 1.0
    b = torch.tensor([10.0, 0.0], dtype=F64)  # class 0 always wins with the bias
    assert nc4_ncc_agreement(Z, y, W, b) == 0.5
    assert collapse_metrics(Z, y, W=W, b=b).nc4_ncc_agreement == 0.5


def test_degenerate_means_give_inf_not_a_fake_collapse():
    Z = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]], dtype=F64)
    y = torch.tensor([0, 0, 1, 1])  # both class means are 0
    m = collapse_metrics(Z, y, W=torch.eye(2, dtype=F64))
    assert m.nc1_trace_ratio == math.inf
    assert m.nc1_papyan == math.inf  # the bare pinv formula would say 0
    assert m.papyan_rank == 0
    assert m.cdnv == math.inf
    assert m.nc2_etf_distance == math.inf
    assert m.nc3_self_duality == math.inf


# --------------------------------------------------------------------- linear algebra
def test_condition_number_and_kappa_plus():
    D = torch.diag(torch.tensor([4.0, 2.0, 1.0], dtype=F64))
    assert condition_number(D) == 4.0
    assert kappa_plus(D) == 4.0
    S = torch.diag(torch.tensor([4.0, 2.0, 0.0], dtype=F64))
    assert condition_number(S) == math.inf
    assert kappa_plus(S) == 2.0
    # a rounding-level singular value is "zero" for the dtype it lives in
    T32 = torch.diag(torch.tensor([1.0, 0.5, 1e-8], dtype=torch.float32))
    assert kappa_plus(T32) == 2.0
    assert kappa_plus(T32.to(F64)) == pytest.approx(1e8)
    assert kappa_plus(T32, rtol=1e-9) == pytest.approx(1e8, rel=1e-6)
    # rectangular: s_min over min(m, n)
    R = torch.tensor([[3.0, 0.0], [0.0, 1.0], [0.0, 0.0]], dtype=F64)
    assert condition_number(R) == 3.0


def test_rank_tolerance_is_dtype_aware():
    assert rank_tolerance(2.0, (3, 5), torch.float32) == 5 * torch.finfo(torch.float32).eps * 2
    assert rank_tolerance(2.0, (3, 5), F64) == 5 * torch.finfo(F64).eps * 2
    assert rank_tolerance(2.0, (3, 5), F64, rtol=0.1) == pytest.approx(0.2)


def test_results_are_python_floats_and_respect_dtype():
    g = torch.Generator().manual_seed(1)
    Z = torch.randn(30, 4, generator=g)
    y = torch.arange(30) % 3
    m = collapse_metrics(Z, y)
    assert m.dtype == "float32"
    assert collapse_metrics(Z, y, dtype=F64).dtype == "float64"
    assert all(isinstance(v, (float, int, str)) for v in m.as_dict().values() if v is not None)
    assert type(nc1_papyan(Z, y)) is float
    assert class_means(Z, y).dtype == torch.float32
    assert class_means(Z.half(), y).dtype == torch.float32  # half is raised to float32


def test_collapse_metrics_matches_individual_functions():
    g = torch.Generator().manual_seed(2)
    k, p = 4, 6
    y = torch.arange(40) % k
    Z = torch.randn(k, p, generator=g, dtype=F64)[y] + 0.2 * torch.randn(
        40, p, generator=g, dtype=F64
    )
    W = torch.randn(k, p, generator=g, dtype=F64)
    b = torch.randn(k, generator=g, dtype=F64)
    m = collapse_metrics(Z, y, W=W, b=b)
    # one compensated pass vs each function's own route: equal to rounding
    for value, expected in (
        (m.trace_sigma_w, trace_sigma_w(Z, y)),
        (m.trace_sigma_b, trace_sigma_b(Z, y)),
        (m.nc1_trace_ratio, nc1_trace_ratio(Z, y)),
        (m.nc1_papyan, nc1_papyan(Z, y)),
        (m.cdnv, cdnv(Z, y)),
        (m.nc2_kappa, nc2_kappa(Z, y)),
        (m.nc2_etf_distance, nc2_etf_distance(Z, y)),
        (m.nc3_cosine, nc3_cosine(Z, y, W)),
        (m.nc3_self_duality, nc3_self_duality(Z, y, W)),
    ):
        assert value == pytest.approx(expected, rel=1e-13)
    assert m.nc4_ncc_agreement == nc4_ncc_agreement(Z, y, W, b)
    assert collapse_metrics(Z, y).nc3_cosine is None
    with pytest.raises(AttributeError):
        m.cdnv = 0.0  # frozen


def test_lazy_public_names():
    import ncverify

    assert ncverify.metrics.nc1_papyan is nc1_papyan
    assert ncverify.collapse_metrics.__name__ == "collapse_metrics"
    assert ncverify.metrics.StreamingCollapse.__name__ == "StreamingCollapse"
