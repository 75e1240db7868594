"""Measurements of the gradient-descent identities (torch), spec §4."""

from __future__ import annotations

from typing import Any

from ...errors import InvalidInput
from ..jswm import HeadWeights, measure_head
from ._snapshots import GDStep, StationaryPoint

__all__ = ["measure_gd_step", "measure_head_cost", "measure_stationary_point"]


def _shapes(Wl, Wu, what: str) -> None:
    if Wl.ndim != 2 or Wu.ndim != 2 or Wu.shape[1] != Wl.shape[0]:
        raise InvalidInput(
            f"{what}: W_upper {tuple(Wu.shape)} must take W_lower's output "
            f"{tuple(Wl.shape)} (W_upper.shape[1] == W_lower.shape[0])"
        )


def measure_gd_step(s: GDStep) -> dict[str, float]:
    """``residual_rel = ‖D⁺ - (1-ηλ)²D - η²(G_uᵀG_u - G_lG_lᵀ)‖_F / scale`` and friends.

    ``scale = ‖W_u‖² + ‖W_l‖² + η²(‖G_u‖² + ‖G_l‖²)`` (Frobenius): the size of
    the terms before cancellation. ``step_rel``: distance of the update from a
    plain GD step ``W⁺ = (1-ηλ)W - ηG``, relative to ``‖W‖ + η‖G‖``.
    """
    import torch

    Wl, Wu, Gl, Gu = s.W_lower, s.W_upper, s.G_lower, s.G_upper
    _shapes(Wl, Wu, "GDStep")
    eta, lam = float(s.lr), float(s.weight_decay)
    D = Wu.T @ Wu - Wl @ Wl.T
    Dn = s.W_upper_next.T @ s.W_upper_next - s.W_lower_next @ s.W_lower_next.T
    pred = (1 - eta * lam) ** 2 * D + eta**2 * (Gu.T @ Gu - Gl @ Gl.T)
    fro = torch.linalg.norm
    scale = fro(Wu) ** 2 + fro(Wl) ** 2 + eta**2 * (fro(Gu) ** 2 + fro(Gl) ** 2)
    step = 0.0
    for W, G, Wn in ((Wl, Gl, s.W_lower_next), (Wu, Gu, s.W_upper_next)):
        plain = (1 - eta * lam) * W - eta * G
        step = max(step, float(fro(Wn - plain) / (fro(W) + eta * fro(G))))
    return dict(
        residual_rel=float(fro(Dn - pred) / scale),
        step_rel=step,
        lr=eta,
        lam=lam,
        momentum=float(s.momentum),
        nonlinear_between=float(bool(s.nonlinear_between)),
        D_F=float(fro(D)),
        D_next_F=float(fro(Dn)),
    )


def measure_stationary_point(s: StationaryPoint) -> dict[str, float]:
    """``D_op``, operator norms of the weights, Frobenius norms of the full gradients, λ."""
    import torch

    Wl, Wu = s.W_lower, s.W_upper
    _shapes(Wl, Wu, "StationaryPoint")
    op = lambda M: float(torch.linalg.matrix_norm(M, 2))  # noqa: E731
    D = Wu.T @ Wu - Wl @ Wl.T
    return dict(
        D_op=op(D),
        W_up_op=op(Wu),
        W_lo_op=op(Wl),
        grad_up_F=float(torch.linalg.norm(s.grad_upper)),
        grad_lo_F=float(torch.linalg.norm(s.grad_lower)),
        lam=float(s.weight_decay),
        W_sq=op(Wu) ** 2 + op(Wl) ** 2,
        max_dim=float(max(*Wl.shape, *Wu.shape)),
        nonlinear_between=float(bool(s.nonlinear_between)),
    )


def measure_head_cost(h: HeadWeights) -> dict[str, Any]:
    """``cost = (λ/2)Σ‖W_l‖_F²`` and ``schatten = Σ_i s_i(A)^{2/L2}`` (plus the head symbols).

    Singular values of ``A`` at or below ``max_dim·eps·s_1(A)`` count as zero
    (dtype-aware rank decision), so rounding noise never enters ``s^{2/L2}``.
    """
    import torch

    from ...metrics import head_product, numerical_rank

    out = measure_head(h)
    Ws = list(h.weights)
    A = head_product(Ws)
    sA = torch.linalg.svdvals(A)
    sA = sA[: numerical_rank(sA, tuple(A.shape), A.dtype)]
    L2 = len(Ws)
    lam = float(h.weight_decay)
    out.update(
        lam=lam,
        cost=lam / 2 * sum(float(torch.linalg.norm(W) ** 2) for W in Ws),
        schatten=float((sA ** (2.0 / L2)).sum()),
    )
    for k in ("s_WL", "s_A"):
        out.pop(k)
    return out
