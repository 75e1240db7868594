"""Small, dtype-aware linear algebra used by the collapse metrics.

Every rank decision here uses an explicit tolerance tied to the dtype the matrix
was *computed in* (``torch.finfo(dtype).eps``), never a float64 default applied to
float32 data (spec §2 and §7: a float32 Gram matrix of centred class means has a
spurious eigenvalue near ``eps32·‖G‖`` that a float64 tolerance would invert).

Default relative tolerance (the NumPy/LAPACK ``matrix_rank`` convention, applied in
the right dtype): ``rtol = max(m, n) · eps(dtype)``; a singular value ``s`` counts
as nonzero iff ``s > rtol · s_max``.
"""

from __future__ import annotations

import math

import torch

from ..errors import InvalidInput
from ._validation import check_matrix, computing_dtype

__all__ = [
    "condition_number",
    "default_rtol",
    "gram_pinv",
    "gram_pinv_factor",
    "head_product",
    "kappa_plus",
    "numerical_rank",
    "rank_tolerance",
    "singular_values",
]


def default_rtol(shape: tuple[int, ...], dtype: torch.dtype) -> float:
    """``max(shape) · eps(dtype)``: the relative rank tolerance used by default."""
    return max(shape) * torch.finfo(dtype).eps


def rank_tolerance(
    s_max: float, shape: tuple[int, ...], dtype: torch.dtype, *, rtol: float | None = None
) -> float:
    """Absolute tolerance below which a singular value (or PSD eigenvalue) is zero.

    ``tol = rtol · s_max`` with ``rtol = max(shape) · torch.finfo(dtype).eps`` by
    default. ``dtype`` must be the dtype in which the matrix was computed (for a
    Gram ``G = M Mᵀ``: the dtype of ``M``'s entries), not the dtype it was later
    cast to. An explicit ``rtol`` must be in ``[0, 1)``.
    """
    if rtol is None:
        rtol = default_rtol(shape, dtype)
    elif not (0.0 <= float(rtol) < 1.0) or math.isnan(float(rtol)):
        raise InvalidInput(f"rtol must be in [0, 1), got {rtol!r}")
    return float(rtol) * float(s_max)


def head_product(weights) -> torch.Tensor:
    r"""End-to-end matrix of a linear head, :math:`A = W_{L} W_{L-1} \cdots W_{L-L_2+1}`.

    ``weights`` is ``[W_{L-L2+1}, ..., W_L]`` (first to last, ``nn.Linear.weight``
    convention, each ``(n_out, n_in)``), so ``A`` is ``(n_L, n_{L-L2})``. Used for
    :math:`\kappa(A)` in JSWM Theorem 5.2 and for the head's representation cost (spec §4,
    §5). No validation: callers pass weights that already chain. Unlike the metrics it is
    a plain product: it keeps the autograd graph of its inputs.
    """
    weights = list(weights)
    A = weights[0]
    for W in weights[1:]:
        A = W @ A
    return A


def singular_values(M: torch.Tensor, *, dtype: torch.dtype | None = None) -> torch.Tensor:
    """Singular values of ``M`` in descending order, computed in ``dtype`` (default:
    ``M``'s dtype, float16/bfloat16 raised to float32), on ``M``'s device; from
    ``M.detach()`` (a measurement: the result does not require grad)."""
    M = check_matrix(M, name="M").detach()
    dt = computing_dtype(M, dtype=dtype)
    return torch.linalg.svdvals(M.to(dt))


def numerical_rank(
    s: torch.Tensor, shape: tuple[int, ...], dtype: torch.dtype, *, rtol: float | None = None
) -> int:
    """Number of singular values ``s`` (descending) above :func:`rank_tolerance`."""
    if s.numel() == 0:
        return 0
    s_max = float(s[0])
    if s_max == 0.0:
        return 0
    tol = rank_tolerance(s_max, shape, dtype, rtol=rtol)
    return int((s > tol).sum())


def condition_number(M, *, rtol: float | None = None, dtype: torch.dtype | None = None) -> float:
    r"""Spectral condition number :math:`\kappa(M) = s_1(M) / s_{\min(m,n)}(M)`.

    Shapes: ``M`` is ``(m, n)``; the denominator is the ``min(m, n)``-th singular
    value. Returns ``inf`` when ``M`` is numerically singular, i.e. when
    :math:`s_{\min(m,n)} \le` :func:`rank_tolerance` in the computing dtype (a finite
    ratio above ``1/(max(m,n)·eps)`` would only be rounding noise). Value 1 for a
    matrix with orthogonal columns (rows) of equal norm. Source: spec §2 (NC2, κ).
    """
    M = check_matrix(M, name="M").detach()
    dt = computing_dtype(M, dtype=dtype)
    s = torch.linalg.svdvals(M.to(dt))
    s_max, s_min = float(s[0]), float(s[-1])
    if s_max == 0.0 or s_min <= rank_tolerance(s_max, tuple(M.shape), dt, rtol=rtol):
        return math.inf
    return s_max / s_min


def kappa_plus(M, *, rtol: float | None = None, dtype: torch.dtype | None = None) -> float:
    r""":math:`\kappa_+(M)` = largest / smallest *nonzero* singular value (spec §2).

    "Nonzero" means above :func:`rank_tolerance` (``rtol · s_1``, default
    ``rtol = max(m, n) · eps`` of the computing dtype). Value 1 when all nonzero
    singular values are equal (e.g. a scaled partial isometry). Raises
    :class:`InvalidInput` for a matrix with no singular value above the tolerance
    (the zero matrix), where the ratio is undefined.
    """
    M = check_matrix(M, name="M").detach()
    dt = computing_dtype(M, dtype=dtype)
    s = torch.linalg.svdvals(M.to(dt))
    r = numerical_rank(s, tuple(M.shape), dt, rtol=rtol)
    if r == 0:
        raise InvalidInput(
            f"kappa_plus is undefined for M of shape {tuple(M.shape)}: it has no singular "
            f"value above the rank tolerance (largest is {float(s[0])!r})"
        )
    return float(s[0]) / float(s[r - 1])


def gram_pinv_factor(
    G: torch.Tensor,
    *,
    dtype: torch.dtype,
    rtol: float | None = None,
    max_rank: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Truncated eigen-factor of a symmetric PSD Gram matrix ``G`` (``k × k``).

    Returns ``(U_r, lam_r)`` with ``G^† = U_r diag(1/lam_r) U_rᵀ`` where the kept
    eigenvalues are those ``> rtol · λ_max`` (``rtol = k · eps(dtype)`` by default),
    at most ``max_rank`` of them (the largest). ``dtype`` is the dtype the factors
    of ``G`` were computed in; the tolerance comes from it even if ``G`` itself has
    been promoted. ``G`` is symmetrised before ``eigh``.
    """
    Gs = 0.5 * (G + G.transpose(0, 1))
    lam, U = torch.linalg.eigh(Gs)  # ascending
    lam = lam.flip(0)
    U = U.flip(1)
    lam_max = float(lam[0]) if lam.numel() else 0.0
    if lam_max <= 0.0:
        return U[:, :0], lam[:0]
    tol = rank_tolerance(lam_max, tuple(G.shape), dtype, rtol=rtol)
    r = int((lam > tol).sum())
    if max_rank is not None:
        r = min(r, max_rank)
    return U[:, :r], lam[:r]


def gram_pinv(
    G: torch.Tensor,
    *,
    dtype: torch.dtype | None = None,
    rtol: float | None = None,
    max_rank: int | None = None,
) -> torch.Tensor:
    """Moore–Penrose pseudo-inverse of a small symmetric PSD Gram matrix ``G``.

    Truncation as in :func:`gram_pinv_factor`; ``dtype`` (default ``G.dtype``) is the
    dtype the factors of ``G`` were computed in.
    """
    G = check_matrix(G, name="G")
    if G.shape[0] != G.shape[1]:
        raise InvalidInput(f"G must be square, got shape {tuple(G.shape)}")
    dt = dtype if dtype is not None else computing_dtype(G)
    U, lam = gram_pinv_factor(G, dtype=dt, rtol=rtol, max_rank=max_rank)
    return (U / lam) @ U.transpose(0, 1)
