"""All collapse metrics of one layer in one pass: :func:`collapse_metrics`.

The result is a frozen :class:`CollapseMetrics`; metrics that need the classifier
(NC3, NC4) are ``None`` when ``W`` is not given. The values equal the individual
functions of :mod:`ncverify.metrics` to rounding, computed with one pass for provisional
class means and one compensated chunked pass over the centred features (``_passes``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from ._core import (
    _cdnv_from,
    _centred,
    _counts,
    _etf_from,
    _kappa_from,
    _prepare,
    _projected,
    _ratio,
    _self_duality_from,
    _trace_sigma_b,
)

__all__ = ["CollapseMetrics", "collapse_metrics"]


@dataclass(frozen=True)
class CollapseMetrics:
    """Collapse metrics of one layer (spec §2). Floats; ``None`` where not computed.

    Values at exact collapse: ``trace_sigma_w`` 0, ``nc1_trace_ratio`` 0, ``nc1_papyan``
    0, ``cdnv`` 0, ``nc2_kappa`` 1 (orthogonal frame), ``nc2_etf_distance`` 0 (simplex
    ETF), ``nc3_cosine`` 1, ``nc3_self_duality`` 0, ``nc4_ncc_agreement`` 1.
    ``papyan_rank`` is the rank kept in the pseudo-inverse of the K×K Gram (≤ K−1);
    ``dtype`` the computing dtype (e.g. ``"float64"``).
    """

    num_samples: int
    num_classes: int
    dim: int
    dtype: str
    trace_sigma_w: float
    trace_sigma_b: float
    nc1_trace_ratio: float
    nc1_papyan: float | None
    cdnv: float
    nc2_kappa: float
    nc2_etf_distance: float
    papyan_rank: int | None
    nc3_cosine: float | None = None
    nc3_self_duality: float | None = None
    nc4_ncc_agreement: float | None = None

    def as_dict(self) -> dict[str, object]:
        """Plain ``dict`` (JSON-serialisable: ints, floats, strings, ``None``)."""
        return asdict(self)


def _assemble(*, n, counts, means, ss, proj, rank, cos_sum, agree, W, dt) -> CollapseMetrics:
    """Build the record from accumulated statistics (shared with the streaming path).

    ``means`` may be more precise than ``dt`` (float64 from compensated sums); the rank
    decision of ``κ(Z̄)`` is taken in ``dt``.
    """
    k, p = means.shape
    centred = _centred(means, counts)
    tw = float(ss.sum()) / n
    tb = _trace_sigma_b(centred)
    if proj is None:
        papyan = None
    else:
        papyan = math.inf if rank == 0 else float(proj) / n
    return CollapseMetrics(
        num_samples=n,
        num_classes=k,
        dim=p,
        dtype=str(dt).removeprefix("torch."),
        trace_sigma_w=tw,
        trace_sigma_b=tb,
        nc1_trace_ratio=_ratio(tw, tb),
        nc1_papyan=papyan,
        cdnv=_cdnv_from(ss / counts, means),
        nc2_kappa=_kappa_from(means.to(dt)),
        nc2_etf_distance=_etf_from(centred),
        papyan_rank=rank,
        nc3_cosine=None if cos_sum is None else float(cos_sum) / n,
        nc3_self_duality=None if W is None else _self_duality_from(centred, W.to(centred.dtype)),
        nc4_ncc_agreement=None if agree is None else int(agree) / n,
    )


def collapse_metrics(Z, y, *, W=None, b=None, num_classes=None, dtype=None) -> CollapseMetrics:
    """Every applicable metric of spec §2 for features ``Z`` ``(N, p)`` and labels ``y``.

    ``W`` ``(K, p)`` and optional bias ``b`` ``(K,)`` enable NC3 and NC4. ``K`` is
    ``num_classes``, else ``max(y)+1``; every class must be present and ``W`` must have ``K`` rows.
    Computes in the input dtype unless ``dtype`` is given (see :mod:`ncverify.metrics`).
    """
    Z, y, k, dt, W, b = _prepare(Z, y, num_classes, dtype, W=W, b=b)
    counts = _counts(y, k)
    out, Q = _projected(Z, y, k, counts, need_ss=True, W=W, b=b, ncc=W is not None)
    return _assemble(
        n=Z.shape[0],
        counts=counts,
        means=out.means,
        ss=out.ss,
        proj=out.proj,
        rank=Q.shape[1],
        cos_sum=out.cos,
        agree=out.agree,
        W=W,
        dt=dt,
    )
