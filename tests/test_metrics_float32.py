"""float32 near collapse, gradients, empty chunks (issue 14; docs/metrics.md "Precision").

A float32 metric is compared with the same metric computed in float64 on the *same*
float32 data (``Z32.double()``): the difference is the metric's own rounding, which
docs/metrics.md bounds. Within-class noise goes down to 1e-6 of the class means, where
class sums accumulated in float32 used to overestimate NC1 by up to 29×.
"""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ncverify.metrics import (
    StreamingCollapse,
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
    singular_values,
    trace_sigma_b,
    trace_sigma_w,
)

F64 = torch.float64
EPS32 = torch.finfo(torch.float32).eps
#: documented bounds (docs/metrics.md): relative error of float32 against float64 on the
#: same data, for at most a few thousand samples per class
TRACE_RTOL = 1e-5  # tr Σ_W, NC1 (trace ratio), CDNV
PAPYAN_RTOL = 1e-4  # Papyan NC1, when κ of the centred means is at most 30

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@st.composite
def near_collapse(draw):
    """float32 features: K means (+ a common offset) and within-class noise 1e-6 … 1e-1."""
    k = draw(st.integers(2, 6))
    n = draw(st.sampled_from([2, 3, 10, 60, 400]))
    p = draw(st.integers(1, 16))
    noise = 10.0 ** draw(st.floats(-6.0, -1.0))
    offset = draw(st.sampled_from([0.0, 1.0, 100.0]))
    seed = draw(st.integers(0, 2**16))
    g = torch.Generator().manual_seed(seed)
    means = torch.randn(k, p, generator=g, dtype=F64) + offset
    y = torch.arange(k).repeat_interleave(n)
    if draw(st.booleans()):  # sorted by class (features computed class by class) or shuffled
        y = y[torch.randperm(k * n, generator=g)]
    Z = means[y] + noise * torch.randn(k * n, p, generator=g, dtype=F64)
    return Z.float(), y


def _rel(value: float, reference: float) -> float:
    if reference == 0.0:
        return abs(value)
    return abs(value - reference) / abs(reference)


@SETTINGS
@given(data=near_collapse())
def test_float32_metrics_match_float64_on_the_same_data(data):
    Z32, y = data
    Z64 = Z32.double()
    for fn in (trace_sigma_w, nc1_trace_ratio, cdnv):
        assert _rel(fn(Z32, y), fn(Z64, y)) <= TRACE_RTOL, fn.__name__
    m32, m64 = collapse_metrics(Z32, y), collapse_metrics(Z64, y)
    for field in ("trace_sigma_w", "nc1_trace_ratio", "cdnv", "trace_sigma_b"):
        assert _rel(getattr(m32, field), getattr(m64, field)) <= TRACE_RTOL, field
    means64 = class_means(Z64, y)
    # class means are float64 sums rounded once: within one float32 ulp
    assert bool(((class_means(Z32, y).double() - means64).abs() <= EPS32 * means64.abs()).all())
    centred = means64 - means64.mean(0)
    if centred.abs().max() > 0 and kappa_plus(centred) <= 30:
        assert _rel(nc1_papyan(Z32, y), nc1_papyan(Z64, y)) <= PAPYAN_RTOL
        assert _rel(m32.nc1_papyan, m64.nc1_papyan) <= PAPYAN_RTOL


def _nc1_with_float32_class_sums(Z: torch.Tensor, y: torch.Tensor) -> float:
    """The route this replaced: class means summed in float32 with index_add_."""
    k = int(y.max()) + 1
    counts = torch.bincount(y, minlength=k).to(Z.dtype)
    means = torch.zeros(k, Z.shape[1], dtype=Z.dtype).index_add_(0, y, Z) / counts[:, None]
    tw = float((Z - means[y]).square().sum()) / Z.shape[0]
    C = means - (counts @ means) / counts.sum()
    return tw / (float(C.square().sum()) / k)


def test_float32_class_sums_would_fail_the_bound():
    """Negative control: on one near-collapsed instance the previous route is off by > 100%,
    the metric by less than the documented bound."""
    g = torch.Generator().manual_seed(3)
    k, n, p = 10, 200, 16
    y = torch.arange(k).repeat_interleave(n)
    means = torch.randn(k, p, generator=g, dtype=F64)
    Z32 = (means[y] + 1e-6 * torch.randn(k * n, p, generator=g, dtype=F64)).float()
    reference = nc1_trace_ratio(Z32.double(), y)
    assert _rel(_nc1_with_float32_class_sums(Z32, y), reference) > 1.0
    assert _rel(nc1_trace_ratio(Z32, y), reference) <= TRACE_RTOL


# --------------------------------------------------------------------------------- gradients
def _grad_inputs():
    g = torch.Generator().manual_seed(0)
    y = torch.arange(12) % 3
    Z = torch.randn(3, 5, generator=g, dtype=F64)[y] + 0.1 * torch.randn(12, 5, generator=g)
    W = torch.randn(3, 5, generator=g, dtype=F64)
    b = torch.randn(3, generator=g, dtype=F64)
    out = torch.randn(12, 3, generator=g, dtype=F64)
    return Z, y, W, b, out


def _requiring_grad(*tensors):
    return [t.clone().requires_grad_(True) for t in tensors]


METRICS = [  # name, call(Z, y, W, b, Z_out) -> value
    ("class_means", lambda Z, y, W, b, O: class_means(Z, y)),
    ("global_mean", lambda Z, y, W, b, O: global_mean(Z)),
    ("trace_sigma_w", lambda Z, y, W, b, O: trace_sigma_w(Z, y)),
    ("trace_sigma_b", lambda Z, y, W, b, O: trace_sigma_b(Z, y)),
    ("nc1_trace_ratio", lambda Z, y, W, b, O: nc1_trace_ratio(Z, y)),
    ("nc1_papyan", lambda Z, y, W, b, O: nc1_papyan(Z, y)),
    ("cdnv", lambda Z, y, W, b, O: cdnv(Z, y)),
    ("nc2_kappa", lambda Z, y, W, b, O: nc2_kappa(Z, y)),
    ("nc2_etf_distance", lambda Z, y, W, b, O: nc2_etf_distance(Z, y)),
    ("nc3_cosine", lambda Z, y, W, b, O: nc3_cosine(Z, y, W)),
    ("nc3_self_duality", lambda Z, y, W, b, O: nc3_self_duality(Z, y, W)),
    ("nc4_ncc_agreement", lambda Z, y, W, b, O: nc4_ncc_agreement(Z, y, W, b)),
    ("interpolation_error", lambda Z, y, W, b, O: interpolation_error(O, y)),
    ("balancedness", lambda Z, y, W, b, O: balancedness(Z[:5], W)),
    ("condition_number", lambda Z, y, W, b, O: condition_number(W)),
    ("kappa_plus", lambda Z, y, W, b, O: kappa_plus(W)),
    ("singular_values", lambda Z, y, W, b, O: singular_values(W)),
    ("collapse_metrics", lambda Z, y, W, b, O: collapse_metrics(Z, y, W=W, b=b).as_dict()),
    (
        "StreamingCollapse",
        lambda Z, y, W, b, O: (
            StreamingCollapse(3, 5, W=W, b=b)
            .update(Z[:7], y[:7])
            .update(Z[7:], y[7:])
            .second_pass()
            .update(Z, y)
            .result()
            .as_dict()
        ),
    ),
]


@pytest.mark.parametrize(("name", "call"), METRICS, ids=[m[0] for m in METRICS])
def test_metrics_read_tensors_that_require_grad_detached(name, call):
    """Every public metric accepts tensors with requires_grad=True, returns what it returns
    for the detached tensors, and builds no autograd graph (documented: detached)."""
    Z, y, W, b, O = _grad_inputs()
    expected = call(Z, y, W, b, O)
    Zg, Wg, bg, Og = _requiring_grad(Z, W, b, O)
    got = call(Zg, y, Wg, bg, Og)
    if isinstance(got, torch.Tensor):
        assert not got.requires_grad and got.grad_fn is None
        assert torch.equal(got, expected)
    else:
        assert got == expected
    assert all(t.grad is None for t in (Zg, Wg, bg, Og))


# ----------------------------------------------------------------------------- empty chunks
@pytest.mark.parametrize("where", ["first", "middle", "last", "second pass"])
def test_streaming_skips_empty_chunks(where):
    Z, y, W, b, _ = _grad_inputs()
    empty_Z, empty_y = Z[:0], y[:0]
    acc = StreamingCollapse(3, 5, W=W, b=b)
    if where == "first":
        acc.update(empty_Z, empty_y)
    acc.update(Z[:6], y[:6])
    if where == "middle":
        acc.update(empty_Z, empty_y)
    acc.update(Z[6:], y[6:])
    if where == "last":
        acc.update(empty_Z, empty_y)
    acc.second_pass().update(Z, y)
    if where == "second pass":
        acc.update(empty_Z, empty_y)
    expected = collapse_metrics(Z, y, W=W, b=b)
    got = acc.result()
    for field, value in expected.as_dict().items():
        if isinstance(value, float) and math.isfinite(value):
            assert getattr(got, field) == pytest.approx(value, rel=1e-10, abs=1e-14), field


@pytest.mark.parametrize(
    ("Z", "y", "match"),
    [
        (torch.zeros(0, 4, dtype=F64), torch.zeros(0, dtype=torch.int64), r"Z_chunk has 4 columns"),
        (
            torch.zeros(0, 5, dtype=F64),
            torch.zeros(2, dtype=torch.int64),
            r"Z_chunk is empty \(0 rows\) but y_chunk has shape \(2,\)",
        ),
        (torch.zeros(0, 5, dtype=F64), None, r"y_chunk has shape NoneType"),
    ],
)
def test_empty_chunks_are_still_checked(Z, y, match):
    from ncverify import InvalidInput

    with pytest.raises(InvalidInput, match=match):
        StreamingCollapse(3, 5).update(Z, y)


def test_only_empty_chunks_is_no_data():
    from ncverify import InvalidInput

    acc = StreamingCollapse(3, 5).update(torch.zeros(0, 5, dtype=F64), torch.zeros(0).long())
    with pytest.raises(InvalidInput, match=r"no samples were added"):
        acc.second_pass()
