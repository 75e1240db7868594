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
    """Symbols of the representation-cost specs (spec §4) plus the head symbols.

    ``cost = (λ/2)Σ‖W_l‖_F²``; ``schatten = Σ_i max(ŝ_i(A) − δ_A, 0)^{2/L2}`` over every
    singular value of ``A`` (a lower bound of the exact ``Σ s_i(A)^{2/L2}`` despite rounding:
    ``δ_A`` bounds the error of a computed singular value, see
    :func:`ncverify.catalog.jswm.measure_head`); ``schatten_E = Σ_{i≤K}(ŝ_i(A)² + E)^{1/L2}``
    (an upper bound of ``‖W_L‖_F²``'s share, ``E`` as in ``measure_head``) and
    ``T = Σ_j j·(|tr D_j| + 2n·eps·(‖W_{j+1}‖_F² + ‖W_j‖_F²))`` with
    ``D_j = W_{j+1}ᵀW_{j+1} − W_jW_jᵀ`` (``j = 1..L2−1`` from the first head layer): then
    ``Σ‖W_l‖_F² = L2‖W_L‖_F² − Σ_j j·tr D_j`` (``docs/theorems.md#rep-cost``).
    """
    import math

    import torch

    from ...metrics import head_product

    out = measure_head(h)
    Ws = [W.detach() for W in h.weights]
    A = head_product(Ws)
    L2 = len(Ws)
    n = max(max(W.shape) for W in Ws)
    eps = torch.finfo(A.dtype).eps
    delta_A = 4 * L2 * n * eps * math.prod(float(torch.linalg.matrix_norm(W, 2)) for W in Ws)
    sA = torch.linalg.svdvals(A)
    lam = float(h.weight_decay)
    T = 0.0
    for j in range(1, L2):
        lo, up = Ws[j - 1], Ws[j]
        D = up.T @ up - lo @ lo.T
        err = 2 * n * eps * float(torch.linalg.norm(lo) ** 2 + torch.linalg.norm(up) ** 2)
        T += j * (abs(float(torch.trace(D))) + err)
    out.update(
        lam=lam,
        cost=lam / 2 * sum(float(torch.linalg.norm(W) ** 2) for W in Ws),
        schatten=float(((sA - delta_A).clamp(min=0) ** (2.0 / L2)).sum()),
        schatten_E=float(((torch.as_tensor(out["s_A"]) ** 2 + out["E"]) ** (1.0 / L2)).sum()),
        T=T,
    )
    for k in ("s_WL", "s_A"):
        out.pop(k)
    return out
