"""Exact invariants of gradient descent with weight decay (spec §4), as data.

For a pair of consecutive linear layers (no σ between them, no bias) with
``D = W_{l+1}ᵀW_{l+1} - W_l W_lᵀ`` and ``G`` the gradients of the data term:

* ``gd-balancedness-step``: one plain GD step with weight decay gives
  ``D⁺ = (1-ηλ)² D + η² (G_{l+1}ᵀG_{l+1} - G_l G_lᵀ)`` exactly;
* ``gd-near-stationary``: ``‖D‖_op <= (‖W_{l+1}‖_op‖∇_{W_{l+1}}L_λ‖_F +
  ‖W_l‖_op‖∇_{W_l}L_λ‖_F)/λ`` at any point, so ``D = 0`` at critical points;
* ``head-representation-cost``: any factorisation of ``A`` into ``L2`` factors costs
  ``(λ/2)Σ‖W_l‖_F² >= (λ L2/2) Σ_i s_i(A)^{2/L2}``;
* ``head-representation-cost-attained``: a balanced factorisation attains it.

Provenance ``derived``; proofs in ``docs/theorems.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .._errors import InvalidInput
from .._evaluation import AssumptionStatus
from .._spec import Assumption, Claim, Source, TheoremSpec
from .jswm import HeadWeights, measure_head

__all__ = [
    "BALANCEDNESS_STEP",
    "NEAR_STATIONARY",
    "REPRESENTATION_COST",
    "REPRESENTATION_COST_ATTAINED",
    "THEOREMS",
    "GDStep",
    "StationaryPoint",
    "measure_gd_step",
    "measure_head_cost",
    "measure_stationary_point",
]

SOURCE = Source("collapse-theory spec; identities used by JSWM, ICLR 2025", "2410.04887",
                "spec §4 (gradient descent with weight decay)")


@dataclass(frozen=True, eq=False)
class GDStep:
    """One optimiser step on a pair of layers ``W_lower = W_l``, ``W_upper = W_{l+1}``.

    ``G_*``: gradients of the data term at the weights before the step; ``*_next``:
    the weights after it; ``lr`` = η, ``weight_decay`` = λ; ``nonlinear_between``:
    whether σ is applied between the two layers; ``momentum``: the optimiser's.
    """

    W_lower: Any
    W_upper: Any
    G_lower: Any
    G_upper: Any
    W_lower_next: Any
    W_upper_next: Any
    lr: float
    weight_decay: float
    nonlinear_between: bool = False
    momentum: float = 0.0
    inputs: Mapping[str, Any] = field(default_factory=dict)

    @property
    def seed(self) -> int | None:
        return self.inputs.get("seed")


@dataclass(frozen=True, eq=False)
class StationaryPoint:
    """A pair of layers with the full gradients of ``L_λ`` (data term + weight decay)."""

    W_lower: Any
    W_upper: Any
    grad_lower: Any
    grad_upper: Any
    weight_decay: float
    nonlinear_between: bool = False
    inputs: Mapping[str, Any] = field(default_factory=dict)

    @property
    def seed(self) -> int | None:
        return self.inputs.get("seed")


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
    return dict(residual_rel=float(fro(Dn - pred) / scale), step_rel=step,
                lr=eta, lam=lam, momentum=float(s.momentum),
                nonlinear_between=float(bool(s.nonlinear_between)),
                D_F=float(fro(D)), D_next_F=float(fro(Dn)))


def measure_stationary_point(s: StationaryPoint) -> dict[str, float]:
    """``D_op``, operator norms of the weights, Frobenius norms of the full gradients, λ."""
    import torch

    Wl, Wu = s.W_lower, s.W_upper
    _shapes(Wl, Wu, "StationaryPoint")
    op = lambda M: float(torch.linalg.matrix_norm(M, 2))  # noqa: E731
    D = Wu.T @ Wu - Wl @ Wl.T
    return dict(D_op=op(D), W_up_op=op(Wu), W_lo_op=op(Wl),
                grad_up_F=float(torch.linalg.norm(s.grad_upper)),
                grad_lo_F=float(torch.linalg.norm(s.grad_lower)),
                lam=float(s.weight_decay), W_sq=op(Wu) ** 2 + op(Wl) ** 2,
                max_dim=float(max(*Wl.shape, *Wu.shape)),
                nonlinear_between=float(bool(s.nonlinear_between)))


def measure_head_cost(h: HeadWeights) -> dict[str, Any]:
    """``cost = (λ/2)Σ‖W_l‖_F²`` and ``schatten = Σ_i s_i(A)^{2/L2}`` (plus the head symbols).

    Singular values of ``A`` at or below ``max_dim·eps·s_1(A)`` count as zero
    (dtype-aware rank decision), so rounding noise never enters ``s^{2/L2}``.
    """
    import torch

    from .._linalg import head_product, numerical_rank

    out = measure_head(h)
    Ws = list(h.weights)
    A = head_product(Ws)
    sA = torch.linalg.svdvals(A)
    sA = sA[: numerical_rank(sA, tuple(A.shape), A.dtype)]
    L2 = len(Ws)
    lam = float(h.weight_decay)
    out.update(lam=lam,
               cost=lam / 2 * sum(float(torch.linalg.norm(W) ** 2) for W in Ws),
               schatten=float((sA ** (2.0 / L2)).sum()))
    for k in ("s_WL", "s_A"):
        out.pop(k)
    return out


_LINEAR = Assumption(
    "H-linear-pair", "no nonlinearity (and no bias) between W_l and W_{l+1}",
    "nonlinear_between <= 0")
_LAMBDA = Assumption("H-weight-decay", "weight decay λ > 0", "lam > 0")

BALANCEDNESS_STEP = TheoremSpec(
    id="gd-balancedness-step",
    title="One GD step with weight decay: D⁺ = (1-ηλ)²D + η²(G_{l+1}ᵀG_{l+1} - G_lG_lᵀ)",
    source=SOURCE, provenance="derived", proof="docs/theorems.md#gd-step", family="gd",
    description="Exact for any loss and batch; fails across a nonlinearity and with momentum.",
    assumptions=(
        _LINEAR,
        Assumption("H-plain-gd", "the update is a plain GD step W⁺ = (1-ηλ)W - ηG (no "
                   "momentum): relative distance <= 64·eps", "step_rel <= 64*machine_eps"),
    ),
    claims=(
        Claim("recursion", "residual_rel", "<=", "0", exact_value="0",
              atol="4096*machine_eps",
              description="‖D⁺ - (1-ηλ)²D - η²(G_{l+1}ᵀG_{l+1} - G_lG_lᵀ)‖_F / scale = 0 "
                          "(up to 4096·eps)"),
    ),
    measurement=measure_gd_step,
)

NEAR_STATIONARY = TheoremSpec(
    id="gd-near-stationary",
    title="Balancedness at (near-)critical points of L_λ: D = 0 at critical points",
    source=SOURCE, provenance="derived", proof="docs/theorems.md#gd-stationary", family="gd",
    description="λD = W_{l+1}ᵀ∇_{W_{l+1}}L_λ - ∇_{W_l}L_λ W_lᵀ at any point.",
    assumptions=(_LINEAR, _LAMBDA),
    claims=(
        Claim("stationary-balance", "D_op", "<=",
              "(W_up_op*grad_up_F + W_lo_op*grad_lo_F)/lam",
              domain=("lam > 0",), errors=("grad_up_F", "grad_lo_F"), exact_value="0",
              atol="64*max_dim*machine_eps*W_sq",
              description="‖D‖_op <= (‖W_{l+1}‖_op‖∇_{W_{l+1}}L_λ‖_F + "
                          "‖W_l‖_op‖∇_{W_l}L_λ‖_F)/λ"),
    ),
    measurement=measure_stationary_point,
)

REPRESENTATION_COST = TheoremSpec(
    id="head-representation-cost",
    title="Representation cost of a linear head: (λ/2)Σ‖W_l‖² >= (λL2/2)Σ s_i(A)^{2/L2}",
    source=SOURCE, provenance="derived", proof="docs/theorems.md#rep-cost", family="gd",
    description="Any factorisation of A = W_L⋯W_{L1+1} costs at least the balanced one.",
    assumptions=(_LAMBDA,),
    claims=(
        Claim("cost-lower-bound", "cost", ">=", "lam*L2*schatten/2",
              exact_value="lam*L2*schatten/2"),
    ),
    measurement=measure_head_cost,
)

REPRESENTATION_COST_ATTAINED = TheoremSpec(
    id="head-representation-cost-attained",
    title="The balanced factorisation attains the representation cost (λL2/2)Σ s_i(A)^{2/L2}",
    source=SOURCE, provenance="derived", proof="docs/theorems.md#rep-cost", family="gd",
    assumptions=(
        _LAMBDA,
        Assumption("H-exact-balance",
                   "every pair of the head is balanced up to rounding: relative imbalance "
                   "<= 64·eps (proxy for exact balance)", "eps2_rel <= 64*machine_eps",
                   status=AssumptionStatus.PROXIED),
    ),
    claims=(
        Claim("cost-attained", "cost", "<=", "lam*L2*schatten/2",
              exact_value="lam*L2*schatten/2"),
    ),
    measurement=measure_head_cost,
)

THEOREMS = (BALANCEDNESS_STEP, NEAR_STATIONARY, REPRESENTATION_COST,
            REPRESENTATION_COST_ATTAINED)
