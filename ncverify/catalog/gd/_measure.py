"""Measurements of the gradient-descent identities (torch), spec §4.

Every measurement validates its snapshot first (:class:`~ncverify.errors.InvalidInput` names
the field, the rule and the remedy) and runs in the snapshot's dtype.
"""

from __future__ import annotations

import math
from typing import Any

from ...errors import InvalidInput
from ..jswm import HeadWeights, measure_head
from ._snapshots import GDStep, StationaryPoint

__all__ = ["linearity_residual", "measure_gd_step", "measure_head_cost", "measure_stationary_point"]

_PROBES = ("Z_in", "Z_out", "dU")


def _tensors(s: Any, names: tuple[str, ...], what: str) -> dict[str, Any]:
    """The named fields of ``s``: 2-D floating torch tensors of one dtype."""
    import torch

    missing = [n for n in names if getattr(s, n) is None and n not in _PROBES]
    if missing:
        raise InvalidInput(
            f"{what}: {', '.join(missing)} missing (None); give 2-D floating torch tensors"
        )
    missing = [n for n in names if getattr(s, n) is None]
    if missing:
        raise InvalidInput(
            f"{what}: {', '.join(missing)} missing; H-linear-pair is measured on the batch: "
            "give Z_in (features entering W_lower), Z_out (features entering W_upper) and dU "
            "(gradient of the data term at W_upper's output), e.g. from forward hooks"
        )
    out = {n: getattr(s, n) for n in names}
    for n, M in out.items():
        if not (isinstance(M, torch.Tensor) and M.ndim == 2 and M.is_floating_point()):
            raise InvalidInput(
                f"{what}.{n} must be a 2-D floating torch tensor, got {type(M).__name__} "
                f"{tuple(getattr(M, 'shape', ()))} {getattr(M, 'dtype', '')}; convert NumPy "
                "arrays with torch.as_tensor"
            )
    dtypes = sorted({str(M.dtype) for M in out.values()})
    if len(dtypes) > 1:
        raise InvalidInput(
            f"{what} mixes dtypes {dtypes}; convert every tensor to one dtype (it decides the "
            "tolerances)"
        )
    return {n: M.detach() for n, M in out.items()}


def _shapes(t: dict[str, Any], grads: tuple[str, str], what: str, extra=()) -> None:
    Wl, Wu = t["W_lower"], t["W_upper"]
    h, d = Wl.shape
    k = Wu.shape[0]
    B = t["Z_in"].shape[0]
    want = {
        "W_upper": (k, h),
        grads[0]: (h, d),
        grads[1]: (k, h),
        "Z_in": (B, d),
        "Z_out": (B, h),
        "dU": (B, k),
        **{n: t[m].shape for n, m in extra},
    }
    bad = [f"{n} {tuple(t[n].shape)} (want {w})" for n, w in want.items() if t[n].shape != w]
    if bad:
        raise InvalidInput(
            f"{what} shapes do not chain: {'; '.join(bad)}; need W_lower (h, d), W_upper "
            "(k, h), gradients shaped like their weights, Z_in (B, d), Z_out (B, h), dU (B, k)"
        )


def _scalar(name: str, value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidInput(f"{what}.{name}={value!r} must be a finite number")
    return float(value)


def linearity_residual(W_lower, W_upper, G_lower, G_upper, Z_in, Z_out, dU) -> float:
    """The H-linear-pair probe: the largest of three relative residuals (0 for a linear,
    bias-free pair; computed to rounding otherwise):

    * forward: ``‖Z_out − Z_in W_lᵀ‖_F / (‖Z_in‖_F‖W_l‖_F + ‖Z_out‖_F)`` (a bias or a σ
      between the layers changes the features entering ``W_u``);
    * backward: ``‖G_l − W_uᵀdUᵀZ_in‖_F / (‖dU‖_F‖W_u‖_F‖Z_in‖_F + ‖G_l‖_F)`` (the data-term
      gradient of ``W_l`` is the chain rule through the identity map: σ' = 1 on the batch);
    * upper: ``‖G_u − dUᵀZ_out‖_F / (‖dU‖_F‖Z_out‖_F + ‖G_u‖_F)``.

    ``G_*`` are gradients of the data term. Together they give the key identity
    ``W_uᵀG_u = G_lW_lᵀ`` of spec §4 up to rounding. Inputs are torch tensors (module
    docstring shapes).
    """
    import torch

    fro = torch.linalg.norm

    def rel(num, den) -> float:
        den = float(den)
        return float(num) / den if den > 0 else (0.0 if float(num) == 0 else math.inf)

    forward = rel(fro(Z_out - Z_in @ W_lower.T), fro(Z_in) * fro(W_lower) + fro(Z_out))
    backward = rel(
        fro(G_lower - (dU @ W_upper).T @ Z_in), fro(dU) * fro(W_upper) * fro(Z_in) + fro(G_lower)
    )
    upper = rel(fro(G_upper - dU.T @ Z_out), fro(dU) * fro(Z_out) + fro(G_upper))
    return max(forward, backward, upper)


def _check_step(s: GDStep) -> dict[str, Any]:
    if not isinstance(s, GDStep):
        raise InvalidInput(f"measure_gd_step needs a GDStep, got {type(s).__name__}")
    names = ("W_lower", "W_upper", "G_lower", "G_upper", "W_lower_next", "W_upper_next")
    t = _tensors(s, names + _PROBES, "GDStep")
    _shapes(
        t,
        ("G_lower", "G_upper"),
        "GDStep",
        extra=(("W_lower_next", "W_lower"), ("W_upper_next", "W_upper")),
    )
    return t


def measure_gd_step(s: GDStep) -> dict[str, float]:
    """``residual_rel = ‖D⁺ - (1-ηλ)²D - η²(G_uᵀG_u - G_lG_lᵀ)‖_F / scale`` and friends.

    ``scale = ‖W_u‖² + ‖W_l‖² + η²(‖G_u‖² + ‖G_l‖²)`` (Frobenius): the size of the terms
    before cancellation (0 for an exact GD step of a linear pair). ``step_rel``: distance of
    the update from a plain GD step ``W⁺ = (1-ηλ)W - ηG``, relative to ``‖W‖ + η‖G‖``.
    ``lin_residual``: :func:`linearity_residual`; ``max_dim``: the largest dimension (batch
    included).
    """
    import torch

    t = _check_step(s)
    Wl, Wu, Gl, Gu = t["W_lower"], t["W_upper"], t["G_lower"], t["G_upper"]
    eta = _scalar("lr", s.lr, "GDStep")
    lam = _scalar("weight_decay", s.weight_decay, "GDStep")
    D = Wu.T @ Wu - Wl @ Wl.T
    Dn = t["W_upper_next"].T @ t["W_upper_next"] - t["W_lower_next"] @ t["W_lower_next"].T
    pred = (1 - eta * lam) ** 2 * D + eta**2 * (Gu.T @ Gu - Gl @ Gl.T)
    fro = torch.linalg.norm
    scale = fro(Wu) ** 2 + fro(Wl) ** 2 + eta**2 * (fro(Gu) ** 2 + fro(Gl) ** 2)
    step = 0.0
    for W, G, Wn in ((Wl, Gl, t["W_lower_next"]), (Wu, Gu, t["W_upper_next"])):
        plain = (1 - eta * lam) * W - eta * G
        den = float(fro(W) + eta * fro(G))
        step = max(step, float(fro(Wn - plain)) / den if den > 0 else float(fro(Wn)) * math.inf)
    return dict(
        residual_rel=float(fro(Dn - pred) / scale) if float(scale) > 0 else 0.0,
        step_rel=step,
        lin_residual=linearity_residual(Wl, Wu, Gl, Gu, t["Z_in"], t["Z_out"], t["dU"]),
        max_dim=float(max(*Wl.shape, *Wu.shape, t["Z_in"].shape[0])),
        lr=eta,
        lam=lam,
        D_F=float(fro(D)),
        D_next_F=float(fro(Dn)),
    )


def _check_point(s: StationaryPoint) -> dict[str, Any]:
    if not isinstance(s, StationaryPoint):
        raise InvalidInput(f"measure_stationary_point needs a StationaryPoint, got {type(s)}")
    t = _tensors(s, ("W_lower", "W_upper", "grad_lower", "grad_upper", *_PROBES), "StationaryPoint")
    _shapes(t, ("grad_lower", "grad_upper"), "StationaryPoint")
    return t


def measure_stationary_point(s: StationaryPoint) -> dict[str, float]:
    """``D_op``, operator norms of the weights, Frobenius norms of the full gradients, λ, and
    ``lin_residual`` (:func:`linearity_residual` on the data-term gradients
    ``grad − λW``)."""
    import torch

    t = _check_point(s)
    Wl, Wu = t["W_lower"], t["W_upper"]
    lam = _scalar("weight_decay", s.weight_decay, "StationaryPoint")
    op = lambda M: float(torch.linalg.matrix_norm(M, 2))  # noqa: E731
    D = Wu.T @ Wu - Wl @ Wl.T
    Gl, Gu = t["grad_lower"] - lam * Wl, t["grad_upper"] - lam * Wu
    return dict(
        D_op=op(D),
        W_up_op=op(Wu),
        W_lo_op=op(Wl),
        grad_up_F=float(torch.linalg.norm(t["grad_upper"])),
        grad_lo_F=float(torch.linalg.norm(t["grad_lower"])),
        lam=lam,
        W_sq=op(Wu) ** 2 + op(Wl) ** 2,
        max_dim=float(max(*Wl.shape, *Wu.shape, t["Z_in"].shape[0])),
        lin_residual=linearity_residual(Wl, Wu, Gl, Gu, t["Z_in"], t["Z_out"], t["dU"]),
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
    lam = _scalar("weight_decay", h.weight_decay, "HeadWeights")
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
