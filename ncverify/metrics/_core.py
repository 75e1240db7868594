r"""Exact neural-collapse metrics (spec §2), one function per metric.

Shapes follow the project convention: features ``Z`` are ``(N, p)`` (one row per
sample; the spec's ``Z ∈ R^{p×N}`` transposed), labels ``y`` are ``(N,)`` integers
in ``[0, K)``, the last-layer weight ``W`` is ``(K, p)`` and its bias ``b`` ``(K,)``.
Class means are returned as a ``(K, p)`` matrix whose rows are ``μ_c`` (the spec's
``Z̄ᵀ``); ``M̃`` below denotes the ``(K, p)`` matrix of centred means ``μ_c − μ_G``.

Dtype and device: every metric computes on the input's device, in the input's
floating dtype (float16/bfloat16 raised to float32) unless ``dtype=`` is given
(``torch.float32`` or ``torch.float64``); rank tolerances use ``torch.finfo`` of that
computing dtype. Class sums, per-class scatter and every accumulator are float64 or
compensated whatever the dtype (``_passes``), so float32 input near collapse is as
accurate as its own rounding allows (``docs/metrics.md``). Only the final scalar is
copied to the host.

Gradients: metrics are measurements. They read ``Z.detach()`` (and ``W``, ``b``
detached), return Python floats, and ``class_means`` / ``global_mean`` return tensors
that do not require grad; no autograd graph is built.

Degenerate inputs never produce a fake "collapsed" number: when all class means
coincide the separation-based metrics (NC1, CDNV, NC2, self-duality) return ``inf``.
"""

from __future__ import annotations

import math

import torch

from ..errors import InvalidInput
from ._linalg import condition_number, gram_pinv_factor
from ._passes import chunk_rows, class_sums, within_pass
from ._validation import (
    check_classifier,
    check_labels,
    check_matrix,
    check_weight_pair,
    computing_dtype,
    validate_features_labels,
)

__all__ = [
    "balancedness",
    "cdnv",
    "class_means",
    "global_mean",
    "interpolation_error",
    "nc1_papyan",
    "nc1_trace_ratio",
    "nc2_etf_distance",
    "nc2_kappa",
    "nc3_cosine",
    "nc3_self_duality",
    "nc4_ncc_agreement",
    "trace_sigma_b",
    "trace_sigma_w",
]

F64 = torch.float64
#: the Papyan pass is redone around float64 class means when the provisional (input-dtype)
#: means were off by more than ``DRIFT_EPS · eps`` in units of the between-class spread
DRIFT_EPS = 128


# --------------------------------------------------------------------------- internals
def _prepare(Z, y, num_classes, dtype, W=None, b=None):
    """Validate, detach and cast; returns ``(Z, y, K, dt, W, b)``.

    Metrics are measurements: they read ``Z.detach()`` (a tensor that requires grad is
    accepted, and no graph is built or kept).
    """
    Z, y, k = validate_features_labels(Z, y, num_classes=num_classes)
    Z = Z.detach()
    if W is not None:
        W, b = check_classifier(W, b, num_classes=k, dim=Z.shape[1], device=Z.device)
        dt = computing_dtype(Z, W, dtype=dtype)
        W = W.detach().to(dt)
        b = None if b is None else b.detach().to(dt)
    else:
        dt = computing_dtype(Z, dtype=dtype)
    return Z.to(dt), y.to(torch.int64), k, dt, W, b


def _counts(y: torch.Tensor, k: int) -> torch.Tensor:
    return torch.bincount(y, minlength=k).to(F64)


def _counts_and_means(Z: torch.Tensor, y: torch.Tensor, k: int) -> tuple[torch.Tensor, ...]:
    """``(counts, means)``, float64, the means from float64 class sums (``_passes``)."""
    counts = _counts(y, k)
    return counts, class_sums(Z, y, k) / counts[:, None]


def _provisional_means(Z: torch.Tensor, y: torch.Tensor, k: int, counts) -> torch.Tensor:
    """Class means summed in the computing dtype: a shift for a corrected pass, not a result."""
    sums = torch.zeros(k, Z.shape[1], dtype=Z.dtype, device=Z.device).index_add_(0, y, Z)
    return sums / counts.to(Z.dtype)[:, None]


def _first_rows(Z: torch.Tensor, y: torch.Tensor, k: int) -> torch.Tensor:
    """One sample of each class (the first), ``(K, p)``: the shift of a one-pass scatter."""
    n = Z.shape[0]
    first = torch.full((k,), n, dtype=torch.int64, device=Z.device)
    first.scatter_reduce_(0, y, torch.arange(n, device=Z.device), reduce="amin")
    return Z.index_select(0, first)


def _scatter(Z, y, k, counts):
    """Exact per-class scatter and means in one corrected pass around a sample of each class
    (a second pass around the float64 means if that sample was a poor shift)."""
    out = within_pass(Z, y, _first_rows(Z, y, k), counts)
    if out.poor:
        means = class_sums(Z, y, k) / counts[:, None]
        out = within_pass(Z, y, means.to(Z.dtype), counts)
    return out


def _projected(Z, y, k, counts, *, need_ss, W=None, b=None, ncc=False):
    """The Papyan pass (with the scatter, the NC3 cosine and NC4 when asked).

    float64 input: around the class means (float64 sums), with closed-form corrections
    (``_passes``). float32 input: around provisional means summed in the input dtype (as cheap
    as before), corrected by the per-class sums of the deviations (for the scatter and the
    exact means; only of the projected deviations when the scatter is not needed), and redone
    around the float64 class means (closed-form corrections) when a correction was large or
    the provisional means were off by more than :data:`DRIFT_EPS` ``· eps`` in units of the
    between-class spread (``max_c ‖Qᵀδ_c‖``: what the Gram factor ``Q``, built from the
    means, is sensitive to).
    """
    dt = Z.dtype
    options = dict(need_ss=need_ss, need_means=need_ss, W=W, b=b)
    if dt != F64:
        means = _provisional_means(Z, y, k, counts).to(F64)
        Q = _papyan_factor(_centred(means, counts), dt)
        shift = means.to(dt)
        out = within_pass(Z, y, shift, counts, Q=Q, ncc_means=shift if ncc else None, **options)
        drifted = Q.shape[1] > 0 and out.drift > DRIFT_EPS * torch.finfo(dt).eps
        if not (out.poor or drifted):
            return out, Q
    # float64 sums: the previous route for float64 input (no extra cost); exact otherwise
    means = class_sums(Z, y, k) / counts[:, None]
    Q = _papyan_factor(_centred(means, counts), dt)
    shift = means.to(dt)
    lo = means - shift.to(F64)
    out = within_pass(Z, y, shift, counts, Q=Q, lo=lo, ncc_means=shift if ncc else None, **options)
    return out, Q


def _centred(means: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """``M̃``: class means minus the sample-weighted global mean ``Σ n_c μ_c / N``."""
    counts = counts.to(means.dtype)
    mu_g = (counts @ means) / counts.sum()
    return means - mu_g


def _trace_sigma_b(centred: torch.Tensor) -> float:
    return float(centred.square().sum()) / centred.shape[0]


def _papyan_factor(centred: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
    r"""``Q`` (``p × r``) with ``(1/K) tr(Σ_W Σ_B^†) = (1/N) Σ_i ‖Qᵀ(z_i − μ_{y_i})‖²``.

    ``G = M̃ M̃ᵀ`` (K×K) has the exact null vector of class counts, so at most ``K−1``
    eigenvalues are kept, and only those above ``K · eps(dtype) · λ_max``, ``dtype`` the
    computing dtype of the metric (default: ``M̃``'s): a rank decision in the data's
    precision (spec §7). With ``G^† = U Λ^{-1} Uᵀ`` and ``P = M̃ᵀ G^†``:
    ``‖Pᵀh‖ = ‖Λ^{-1} Uᵀ M̃ h‖``, so ``Q = M̃ᵀ U Λ^{-1}``, returned in ``dtype``. The K×K
    eigendecomposition and ``Q`` itself are computed in float64 (cheap: no ``p × p`` matrix
    is formed), so a float32 ``Q`` is accurate to its own rounding.
    """
    dtype = centred.dtype if dtype is None else dtype
    C = centred.to(F64)
    k = C.shape[0]
    U, lam = gram_pinv_factor(C @ C.transpose(0, 1), dtype=dtype, max_rank=k - 1)
    return (C.transpose(0, 1) @ (U / lam)).to(dtype)


def _ratio(num: float, den: float) -> float:
    return math.inf if den <= 0.0 else num / den


def _cdnv_from(per_class_var: torch.Tensor, means: torch.Tensor) -> float:
    k = means.shape[0]
    total = torch.zeros((), dtype=means.dtype, device=means.device)
    inf = False
    for c in range(k - 1):
        d2 = (means[c + 1 :] - means[c]).square().sum(1)
        if bool((d2 == 0).any()):
            inf = True
            break
        total = total + ((per_class_var[c] + per_class_var[c + 1 :]) / (2.0 * d2)).sum()
    if inf:
        return math.inf
    return float(total) / (k * (k - 1) / 2)


def _kappa_from(means: torch.Tensor) -> float:
    k, p = means.shape
    if p < k:  # Z̄ ∈ R^{p×K} has rank ≤ p < K, so s_K = 0
        return math.inf
    return condition_number(means)


def _etf_from(centred: torch.Tensor) -> float:
    k = centred.shape[0]
    G = centred @ centred.transpose(0, 1)
    g = torch.linalg.matrix_norm(G)
    if float(g) == 0.0:
        return math.inf
    eye = torch.eye(k, dtype=G.dtype, device=G.device)
    target = (eye - 1.0 / k) / math.sqrt(k - 1)
    return float(torch.linalg.matrix_norm(G / g - target))


def _self_duality_from(centred: torch.Tensor, W: torch.Tensor) -> float:
    wn = torch.linalg.matrix_norm(W)
    mn = torch.linalg.matrix_norm(centred)
    if float(wn) == 0.0 or float(mn) == 0.0:
        return math.inf
    return float(torch.linalg.matrix_norm(W / wn - centred / mn))


# ----------------------------------------------------------------------------- public
def class_means(Z, y, *, num_classes=None, dtype=None) -> torch.Tensor:
    r"""Class means :math:`μ_c = \frac1{n_c}\sum_{i: y_i=c} z_i`, as a ``(K, p)`` matrix.

    Row ``c`` is ``μ_c`` (the spec's ``Z̄ = [μ_1 … μ_K]`` transposed). Every class
    ``0..K-1`` must be present (the error lists the missing ones). Source: spec §2.
    """
    Z, y, k, dt, _, _ = _prepare(Z, y, num_classes, dtype)
    return _counts_and_means(Z, y, k)[1].to(dt)


def global_mean(Z, *, dtype=None) -> torch.Tensor:
    r"""Sample-weighted global mean :math:`μ_G = \frac1N \sum_i z_i`, shape ``(p,)`` (spec §2)."""
    Z = check_matrix(Z, name="Z").detach()
    dt = computing_dtype(Z, dtype=dtype)
    Z = Z.to(dt)
    if dt == F64:
        return Z.mean(0)
    return Z.sum(0, dtype=F64).div_(Z.shape[0]).to(dt)


def trace_sigma_w(Z, y, *, num_classes=None, dtype=None) -> float:
    r""":math:`\operatorname{tr}Σ_W = \frac1N\sum_i ‖z_i − μ_{y_i}‖^2` (spec §2). 0 at collapse.

    Computed from centred rows (no ``E‖z‖² − ‖μ‖²`` cancellation).
    """
    Z, y, k, _, _, _ = _prepare(Z, y, num_classes, dtype)
    return float(_scatter(Z, y, k, _counts(y, k)).ss.sum()) / Z.shape[0]


def trace_sigma_b(Z, y, *, num_classes=None, dtype=None) -> float:
    r""":math:`\operatorname{tr}Σ_B = \frac1K\sum_c ‖μ_c − μ_G‖^2` (spec §2).

    ``μ_G`` is the sample-weighted global mean. Grows with the separation of the means.
    """
    Z, y, k, _, _, _ = _prepare(Z, y, num_classes, dtype)
    counts, means = _counts_and_means(Z, y, k)
    return _trace_sigma_b(_centred(means, counts))


def nc1_trace_ratio(Z, y, *, num_classes=None, dtype=None) -> float:
    r"""NC1 (JSWM): :math:`\operatorname{tr}Σ_W / \operatorname{tr}Σ_B` (spec §2).

    0 at collapse; invariant under scaling ``Z ↦ αZ``, translations and orthogonal
    maps of feature space. ``inf`` when all class means coincide (``tr Σ_B = 0``).
    """
    Z, y, k, _, _, _ = _prepare(Z, y, num_classes, dtype)
    counts = _counts(y, k)
    out = _scatter(Z, y, k, counts)
    tw = float(out.ss.sum()) / Z.shape[0]
    return _ratio(tw, _trace_sigma_b(_centred(out.means, counts)))


def nc1_papyan(Z, y, *, num_classes=None, dtype=None) -> float:
    r"""NC1 (Papyan, Han, Donoho 2020): :math:`\frac1K\operatorname{tr}(Σ_W Σ_B^†)`.

    Computed exactly through the K×K Gram route of spec §2: ``G = M̃M̃ᵀ``,
    ``P = M̃ᵀG^†`` and ``(1/N) Σ_i ‖Pᵀ(z_i − μ_{y_i})‖²``; cost ``O(NpK)``, memory
    ``O(pK)`` plus a row chunk; no ``p×p`` matrix. ``G^†`` keeps at most ``K−1``
    eigenvalues (``G`` has the exact null vector of class counts) and only those above
    ``K · eps · λ_max`` with ``eps`` of the dtype the means were computed in — a float64
    default tolerance on a float32 ``G`` inverts a rounding eigenvalue (spec §7).
    0 at collapse; scale-, translation- and rotation-invariant. ``inf`` when all class
    means coincide (``Σ_B = 0``; the bare formula would give a misleading 0).
    """
    Z, y, k, _, _, _ = _prepare(Z, y, num_classes, dtype)
    out, Q = _projected(Z, y, k, _counts(y, k), need_ss=False)
    if Q.shape[1] == 0:
        return math.inf
    return float(out.proj) / Z.shape[0]


def cdnv(Z, y, *, num_classes=None, dtype=None) -> float:
    r"""Class-distance normalised variance (Galanti, György, Hutter 2022), spec §2.

    :math:`\binom K2^{-1}\sum_{c<c'} \frac{V_c + V_{c'}}{2‖μ_c − μ_{c'}‖^2}` with
    :math:`V_c = \frac1{n_c}\sum_{y_i=c}‖z_i − μ_c‖^2`. 0 at collapse; scale-invariant.
    ``inf`` if two class means coincide.
    """
    Z, y, k, _, _, _ = _prepare(Z, y, num_classes, dtype)
    counts = _counts(y, k)
    out = _scatter(Z, y, k, counts)
    return _cdnv_from(out.ss / counts, out.means)


def nc2_kappa(Z, y, *, num_classes=None, dtype=None) -> float:
    r"""NC2 (JSWM, bias-free MSE): :math:`κ(Z̄) = s_1(Z̄)/s_K(Z̄)`, ``Z̄`` the *uncentred*
    class-mean matrix (spec §2). 1 at collapse to an orthogonal frame (the bias-free
    MSE optimum — not a simplex ETF, whose uncentred means are rank ``K−1``).
    ``inf`` when ``p < K`` or ``Z̄`` is numerically rank-deficient
    (:func:`ncverify.condition_number`). Scale- and rotation-invariant.
    """
    Z, y, k, dt, _, _ = _prepare(Z, y, num_classes, dtype)
    return _kappa_from(_counts_and_means(Z, y, k)[1].to(dt))


def nc2_etf_distance(Z, y, *, num_classes=None, dtype=None) -> float:
    r"""NC2 (ETF form, spec §2):
    :math:`\bigl‖ \frac{G}{‖G‖_F} − \frac{I − 11ᵀ/K}{\sqrt{K−1}} \bigr‖_F`, ``G = M̃M̃ᵀ``
    the K×K Gram of centred means. 0 for a simplex ETF (the CE / MSE-with-bias
    target); at most 2. ``inf`` when all means coincide. Scale- and rotation-invariant.
    """
    Z, y, k, _, _, _ = _prepare(Z, y, num_classes, dtype)
    counts, means = _counts_and_means(Z, y, k)
    return _etf_from(_centred(means, counts))


def nc3_cosine(Z, y, W, *, num_classes=None, dtype=None) -> float:
    r"""NC3 (JSWM): :math:`\frac1N\sum_i \cos(z_i, w_{y_i})`, ``w_c`` row ``c`` of ``W`` (spec §2).

    1 when every feature is a positive multiple of its class's weight row. A zero
    feature or weight row contributes cosine 0 (the conservative convention).
    Invariant under rotating ``Z`` and ``W`` together and under positive scalings.
    """
    Z, y, _, _, W, _ = _prepare(Z, y, num_classes, dtype, W=W)
    total = torch.zeros((), dtype=F64, device=Z.device)
    w_norms = torch.linalg.vector_norm(W, dim=1)
    step = chunk_rows(Z.shape[1])
    for s in range(0, Z.shape[0], step):
        zc, yc = Z[s : s + step], y[s : s + step]
        num = (zc * W[yc]).sum(1)
        den = torch.linalg.vector_norm(zc, dim=1) * w_norms[yc]
        total += torch.where(den > 0, num / torch.where(den > 0, den, 1), 0).sum().to(F64)
    return float(total) / Z.shape[0]


def nc3_self_duality(Z, y, W, *, num_classes=None, dtype=None) -> float:
    r"""NC3 (self-duality, Papyan et al. 2020): :math:`‖W/‖W‖_F − M̃/‖M̃‖_F‖_F` (spec §2).

    ``M̃`` the ``(K, p)`` centred class means. 0 at collapse, at most 2; ``inf`` if ``W``
    or ``M̃`` is zero.
    """
    Z, y, k, _, W, _ = _prepare(Z, y, num_classes, dtype, W=W)
    counts, means = _counts_and_means(Z, y, k)
    return _self_duality_from(_centred(means, counts), W.to(F64))


def nc4_ncc_agreement(Z, y, W, b=None, *, num_classes=None, dtype=None) -> float:
    r"""NC4 (spec §2): fraction of samples with
    :math:`\arg\max_c (Wz_i + b)_c = \arg\min_c ‖z_i − μ_c‖`.

    Uses the classifier bias ``b`` when the model has one (ignoring it is a known
    pitfall, spec §7). 1 at collapse. Ties resolve to the lowest class index.
    """
    Z, y, k, _, W, b = _prepare(Z, y, num_classes, dtype, W=W, b=b)
    means = _counts_and_means(Z, y, k)[1].to(Z.dtype)
    out = within_pass(
        Z, y, means, _counts(y, k), need_ss=False, need_means=False, W=W, b=b, ncc_means=means
    )
    return int(out.agree) / Z.shape[0]


def interpolation_error(Z_out, y, *, num_classes=None, dtype=None) -> float:
    r"""ε1 (spec §2, §3): :math:`‖Z_L − Y‖_F` with one-hot ``Y``; ``Z_out`` is ``(N, K)``.

    ``K`` defaults to ``Z_out.shape[1]``; labels must lie in ``[0, K)`` but need not
    cover every class. 0 at interpolation.
    """
    Z_out = check_matrix(Z_out, name="Z_out")
    k = Z_out.shape[1] if num_classes is None else num_classes
    if k != Z_out.shape[1]:
        raise InvalidInput(
            f"Z_out has {Z_out.shape[1]} columns but num_classes={k}; the network output "
            f"must have one column per class"
        )
    y, k = check_labels(
        y, num_samples=Z_out.shape[0], num_classes=k, require_all_present=False, device=Z_out.device
    )
    dt = computing_dtype(Z_out, dtype=dtype)
    R = Z_out.detach().to(dt).clone()
    idx = torch.arange(R.shape[0], device=R.device)
    R[idx, y.to(torch.int64)] -= 1.0
    return float(torch.linalg.matrix_norm(R))


def balancedness(W_lower, W_upper, *, dtype=None) -> float:
    r"""ε2 (spec §2): :math:`‖W_{ℓ+1}ᵀW_{ℓ+1} − W_ℓW_ℓᵀ‖_{op}` (largest |eigenvalue|).

    ``W_lower = W_ℓ ∈ R^{n_ℓ×n_{ℓ−1}}``, ``W_upper = W_{ℓ+1} ∈ R^{n_{ℓ+1}×n_ℓ}`` (math /
    ``nn.Linear.weight`` convention); both share ``n_ℓ``. 0 for a balanced pair, which
    gradient flow on a linear pair with weight decay approaches (JSWM, spec §4).
    """
    W_lower, W_upper = check_weight_pair(W_lower, W_upper)
    dt = computing_dtype(W_lower, W_upper, dtype=dtype)
    A, B = W_lower.detach().to(dt), W_upper.detach().to(dt)
    D = B.transpose(0, 1) @ B - A @ A.transpose(0, 1)
    D = 0.5 * (D + D.transpose(0, 1))
    return float(torch.linalg.eigvalsh(D).abs().max())
