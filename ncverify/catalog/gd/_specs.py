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

from ...spec import Assumption, Claim, Control, Floor, Source, TheoremSpec
from ..jswm._remeasure import remeasure_head
from ._measure import measure_gd_step, measure_head_cost, measure_stationary_point
from ._remeasure import remeasure_gd_step, remeasure_stationary_point

__all__ = [
    "BALANCEDNESS_STEP",
    "NEAR_STATIONARY",
    "REPRESENTATION_COST",
    "REPRESENTATION_COST_ATTAINED",
    "SOURCE",
    "THEOREMS",
]

SOURCE = Source(
    "collapse-theory spec; identities used by JSWM, ICLR 2025",
    "2410.04887",
    "spec §4 (gradient descent with weight decay)",
)


_LINEAR = Assumption(
    "H-linear-pair",
    "no nonlinearity and no bias between W_l and W_{l+1} on the batch, measured by probes: "
    "the features entering W_{l+1} are Z_in W_lᵀ and the data-term gradients are the chain "
    "rule through the identity map (linearity_residual <= 64·max_dim·eps)",
    "lin_residual <= 64*max_dim*machine_eps",
)
#: H-linear-pair's probe tolerance, weakened so far that σ, biases pass (a negative control)
_ANY_PAIR = "lin_residual <= 1"
_LAMBDA = Assumption("H-weight-decay", "weight decay λ > 0", "lam > 0")

BALANCEDNESS_STEP = TheoremSpec(
    id="gd-balancedness-step",
    title="One GD step with weight decay: D⁺ = (1-ηλ)²D + η²(G_{l+1}ᵀG_{l+1} - G_lG_lᵀ)",
    source=SOURCE,
    provenance="derived",
    proof="docs/theorems.md#gd-step",
    family="gd",
    description="Exact for any loss and batch; fails across a nonlinearity and with momentum.",
    assumptions=(
        _LINEAR,
        Assumption(
            "H-plain-gd",
            "the update is a plain GD step W⁺ = (1-ηλ)W - ηG (no "
            "momentum): relative distance <= 64·eps",
            "step_rel <= 64*machine_eps",
        ),
    ),
    claims=(
        Claim(
            "recursion",
            "residual_rel",
            "<=",
            "0",
            exact_value="0",
            atol="4096*machine_eps",
            description="‖D⁺ - (1-ηλ)²D - η²(G_{l+1}ᵀG_{l+1} - G_lG_lᵀ)‖_F / scale = 0 "
            "(up to 4096·eps)",
        ),
    ),
    measurement=measure_gd_step,
    remeasure=remeasure_gd_step,
    controls=(
        Control(
            "any-update",
            "weaken",
            claim="recursion",
            assumption="H-plain-gd",
            predicate="step_rel <= 1",
            description="H-plain-gd weakened to any update (momentum steps admitted)",
        ),
        Control(
            "any-pair",
            "weaken",
            claim="recursion",
            assumption="H-linear-pair",
            predicate=_ANY_PAIR,
            description="H-linear-pair weakened (σ or a bias between the layers admitted)",
        ),
    ),
    floor=Floor(min_in_scope=150, max_undecided_fraction=0.05),
)

NEAR_STATIONARY = TheoremSpec(
    id="gd-near-stationary",
    title="Balancedness at (near-)critical points of L_λ: D = 0 at critical points",
    source=SOURCE,
    provenance="derived",
    proof="docs/theorems.md#gd-stationary",
    family="gd",
    description="λD = W_{l+1}ᵀ∇_{W_{l+1}}L_λ - ∇_{W_l}L_λ W_lᵀ at any point.",
    assumptions=(_LINEAR, _LAMBDA),
    claims=(
        Claim(
            "stationary-balance",
            "D_op",
            "<=",
            "(W_up_op*grad_up_F + W_lo_op*grad_lo_F)/lam",
            domain=("lam > 0",),
            errors=("grad_up_F", "grad_lo_F"),
            exact_value="0",
            atol="64*max_dim*machine_eps*W_sq",
            description="‖D‖_op <= (‖W_{l+1}‖_op‖∇_{W_{l+1}}L_λ‖_F + ‖W_l‖_op‖∇_{W_l}L_λ‖_F)/λ",
        ),
    ),
    measurement=measure_stationary_point,
    remeasure=remeasure_stationary_point,
    controls=(
        Control(
            "drop-lower",
            "replace",
            claim="stationary-balance",
            expression="W_up_op*grad_up_F/lam",
            description="the bound without its ‖W_l‖‖∇_{W_l}L_λ‖ term",
        ),
        Control(
            "drop-upper",
            "replace",
            claim="stationary-balance",
            expression="W_lo_op*grad_lo_F/lam",
            description="the bound without its ‖W_{l+1}‖‖∇_{W_{l+1}}L_λ‖ term",
        ),
        Control(
            "any-pair",
            "weaken",
            claim="stationary-balance",
            assumption="H-linear-pair",
            predicate=_ANY_PAIR,
            description="H-linear-pair weakened (a weight-decayed bias admitted: D = bbᵀ)",
        ),
    ),
    floor=Floor(min_in_scope=150, max_undecided_fraction=0.05),
)

REPRESENTATION_COST = TheoremSpec(
    id="head-representation-cost",
    title="Representation cost of a linear head: (λ/2)Σ‖W_l‖² >= (λL2/2)Σ s_i(A)^{2/L2}",
    source=SOURCE,
    provenance="derived",
    proof="docs/theorems.md#rep-cost",
    family="gd",
    description="Any factorisation of A = W_L⋯W_{L1+1} costs at least the balanced one.",
    assumptions=(_LAMBDA,),
    claims=(
        Claim(
            "cost-lower-bound", "cost", ">=", "lam*L2*schatten/2", exact_value="lam*L2*schatten/2"
        ),
    ),
    measurement=measure_head_cost,
    remeasure=remeasure_head,
    controls=(
        Control(
            "lower-1.01",
            "tighten",
            claim="cost-lower-bound",
            factor=1.01,
            description="every factorisation costs 1% more than the balanced one",
        ),
    ),
    floor=Floor(min_in_scope=150, max_undecided_fraction=0.05),
)

REPRESENTATION_COST_ATTAINED = TheoremSpec(
    id="head-representation-cost-attained",
    title="A balanced factorisation attains the representation cost; an ε-balanced one nearly",
    source=SOURCE,
    provenance="derived",
    proof="docs/theorems.md#rep-cost",
    family="gd",
    description="(λ/2)Σ‖W_l‖² <= (λ/2)(L2 Σ_{i<=K}(s_i(A)² + E)^{1/L2} + Σ_j j|tr D_j|) for any "
    "head, with E the imbalance bound: at exact balance (E = 0, D_j = 0) the cost equals "
    "(λL2/2)Σ s_i(A)^{2/L2}, the lower bound of head-representation-cost.",
    assumptions=(_LAMBDA,),
    claims=(
        Claim(
            "cost-attained",
            "cost",
            "<=",
            "lam*(L2*schatten_E + T)/2",
            errors=("T",),
            exact_value="lam*L2*schatten_E/2",
            description="(λ/2)Σ‖W_l‖² <= (λ/2)(L2 Σ_{i<=K}(s_i(A)² + E)^{1/L2} + Σ_j j|tr D_j|)",
        ),
    ),
    measurement=measure_head_cost,
    remeasure=remeasure_head,
    controls=(
        Control(
            "attained-0.99",
            "tighten",
            claim="cost-attained",
            factor=0.99,
            description="a balanced factorisation costs 1% less than it does",
        ),
        Control(
            "every-head-optimal",
            "replace",
            claim="cost-attained",
            expression="lam*L2*schatten/2",
            description="every factorisation attains (λL2/2)Σ s_i(A)^{2/L2} (E and T dropped)",
        ),
    ),
    floor=Floor(min_in_scope=150, max_undecided_fraction=0.05),
)

THEOREMS = (BALANCEDNESS_STEP, NEAR_STATIONARY, REPRESENTATION_COST, REPRESENTATION_COST_ATTAINED)
