"""Public collapse metrics (spec §2): re-exports of the private implementation modules.

See ``docs/metrics.md`` for every formula, its source, its value at collapse and the
pitfalls handled. Features are ``(N, p)`` tensors (one row per sample), labels ``(N,)``
integers in ``[0, K)``, classifier ``W`` ``(K, p)``.
"""

from __future__ import annotations

from ._collapse import CollapseMetrics, collapse_metrics
from ._linalg import condition_number, kappa_plus, rank_tolerance, singular_values
from ._metrics import (
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
    "interpolation_error",
    "kappa_plus",
    "nc1_papyan",
    "nc1_trace_ratio",
    "nc2_etf_distance",
    "nc2_kappa",
    "nc3_cosine",
    "nc3_self_duality",
    "nc4_ncc_agreement",
    "rank_tolerance",
    "singular_values",
    "trace_sigma_b",
    "trace_sigma_w",
]
