"""Collapse metrics (spec §2) and the dtype-aware linear algebra they use.

* ``_core``: the metrics (class means, NC1–NC4, ε1, ε2, Σ_W, Σ_B);
* ``_collapse``: every metric of one layer in one pass (:func:`collapse_metrics`);
* ``_streaming``: the same from chunks of samples (:class:`StreamingCollapse`);
* ``_linalg``: singular values, rank decisions and condition numbers with explicit
  dtype-aware tolerances, the head product ``A = W_L ⋯ W_1``;
* ``_validation``: input checks shared by every public function.

See ``docs/metrics.md`` for every formula, its source, its value at collapse and the
pitfalls handled. Features are ``(N, p)`` tensors (one row per sample), labels ``(N,)``
integers in ``[0, K)``, classifier ``W`` ``(K, p)``.
"""

from __future__ import annotations

from ._collapse import CollapseMetrics, collapse_metrics
from ._core import (
    balancedness,
    cdnv,
    class_means,
    global_mean,
    interpolation_error,
    nc1_papyan,
    nc1_trace_ratio,
    nc2_etf_distance,
    nc2_kappa,
    nc3_cosine,
    nc3_self_duality,
    nc4_ncc_agreement,
    trace_sigma_b,
    trace_sigma_w,
)
from ._linalg import (
    condition_number,
    head_product,
    kappa_plus,
    numerical_rank,
    rank_tolerance,
    singular_values,
)
from ._streaming import StreamingCollapse

__all__ = [
    "CollapseMetrics",
    "StreamingCollapse",
    "balancedness",
    "cdnv",
    "class_means",
    "collapse_metrics",
    "condition_number",
    "global_mean",
    "head_product",
    "interpolation_error",
    "kappa_plus",
    "nc1_papyan",
    "nc1_trace_ratio",
    "nc2_etf_distance",
    "nc2_kappa",
    "nc3_cosine",
    "nc3_self_duality",
    "nc4_ncc_agreement",
    "numerical_rank",
    "rank_tolerance",
    "singular_values",
    "trace_sigma_b",
    "trace_sigma_w",
]
