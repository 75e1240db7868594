"""JSWM Theorem 3.1 as data (spec §3): four specs measured on snapshots, no training.

Source: Jacot, Súkeník, Wang, Mondelli, "Wide Neural Networks Trained with Weight Decay
Provably Exhibit Neural Collapse", ICLR 2025, arXiv 2410.04887, Theorem 3.1. The paper states
shapes (e.g. NC1 = O((ε1 + √ε2)²)); the explicit bounds are ``derived`` (proved in
``docs/theorems.md``).

* ``jswm-3.1-nc1``  -- NC1 of the penultimate layer (ε1 form and sharper form);
* ``jswm-3.1-nc2``  -- κ of the penultimate class means (ε1 form and sharper form);
* ``jswm-3.1-nc3``  -- per-sample cosine to the classifier row (spec form and a
  κ(W_L) form that reduces to Kantorovich's inequality in the exact case);
* ``jswm-3.1-depth`` -- conditioning through depth for any linear head, up to its measured
  imbalance ``E``.

Each spec carries its negative controls (false variants the suite must catch:
``docs/theorems.md#controls``), its floor (what a test must decide) and its high-precision
re-measurement (``_remeasure``). The training results (Theorem 4.4, Theorem 5.2,
Proposition 5.3) are in ``_specs_training``. Importing this module imports neither torch nor
sympy.
"""

from __future__ import annotations

from ...spec import Assumption, Claim, Control, Floor, Source, TheoremSpec
from ._measure import measure_head, measure_last_pair
from ._remeasure import remeasure_head, remeasure_last_pair

__all__ = ["DEPTH", "NC1", "NC2", "NC3", "SOURCE", "THEOREMS"]

SOURCE = Source("Jacot, Súkeník, Wang, Mondelli, ICLR 2025", "2410.04887", "Theorem 3.1")

_RANK = Assumption(
    "H-rank",
    "W_L has full row rank K: s_K(W_L) > max(K, n)·eps·s_1(W_L) (dtype-aware rank decision)",
    "sK_WL > max_dim*machine_eps*s1_WL",
)
# JSWM's balancedness hypothesis (the last linear pair is ε2-balanced) holds for every pair
# with ε2 := ‖W_LᵀW_L − W_{L−1}W_{L−1}ᵀ‖_op: it cannot fail, so it is not a hypothesis here;
# ε2 is a measured quantity that enters the bounds.
_INTERP = Assumption(
    "H-interp",
    "near interpolation: ε1 = ‖Z_L - Y‖_F < ‖YB‖_F = √(N(K-1)/K)",
    "eps1 < sqrt(N*(K - 1)/K)",
)
_INTERP_DELTA = Assumption(
    "H-interp-delta", "near interpolation of the class means: δ = ε1/√n < 1", "eps1 < sqrt(n)"
)

# rounding floor of a computed NC1 ratio whose exact value is 0 (exactly collapsed
# features): the within-class residual of Z_{L-1} is computed to ~eps·dims·κ² relative
_NC1_FLOOR = "(64*max_dim*kappa_WL**2*machine_eps)**2"
# ε2 = ‖W_LᵀW_L - W_{L-1}W_{L-1}ᵀ‖_op is computed by cancellation: absolute rounding
# error <= (max_dim + 1)·eps·(‖W_L‖_F² + ‖W_{L-1}‖_F²) (Gram products + SVD); doubled.
# ε1 and ‖Z_LΠ‖ carry the rounding of Z_L = Z_{L-2}W_{L-1}ᵀW_Lᵀ, eps1_err, which grows with
# κ(W_L) (measure_last_pair; docs/theorems.md#uncertainty)
_EPS2_ERR = {"eps2": "2*(max_dim + 1)*machine_eps*W_sq_F"}
_EPS_ERR = {**_EPS2_ERR, "eps1": "eps1_err"}

# ‖W_L^†e_c‖, ‖q_i‖ and ‖r_i‖/s_K are computed to ≈ eps·κ(W_L) relative (pseudo-inverse,
# projection by cancellation): the rounding of the NC3 bounds, relative to the cosine
_NC3_ROUNDING = "16*max_dim*machine_eps*kappa_WL*Abs(cos_zw)"

NC1 = TheoremSpec(
    id="jswm-3.1-nc1",
    title="NC1 of the penultimate layer from interpolation and balancedness",
    source=SOURCE,
    provenance="derived",
    proof="docs/theorems.md#nc1",
    family="jswm",
    description="Within-class variability of Z_{L-1} is controlled by ε1 (what W_L sees) "
    "and √ε2 (what lies in the null space of W_L).",
    assumptions=(_INTERP, _RANK),
    claims=(
        Claim(
            "nc1-eps1",
            "nc1_prev",
            "<=",
            "s1_WL**2*(eps1/sK_WL + sqrt(eps2)*Z2_F)**2/(sqrt(N*(K - 1)/K) - eps1)**2",
            domain=("eps1 < sqrt(N*(K - 1)/K)", "sK_WL > 0"),
            errors=("eps1", "eps2"),
            exact_value="0",
            atol=_NC1_FLOOR,
            uncertainty=_EPS_ERR,
            reparametrization={"N": "K*(eps1 + gap)**2/(K - 1)", "K": "1 + km1"},
            description="NC1(Z_{L-1}) <= ‖W_L‖²(ε1/s_K(W_L) + √ε2‖Z_{L-2}‖_F)² / "
            "(√(N(K-1)/K) - ε1)²",
        ),
        Claim(
            "nc1-sharp",
            "nc1_prev",
            "<=",
            "s1_WL**2*(ZL_Pi/sK_WL + sqrt(eps2)*Z2_Pi)**2/ZL_B**2",
            domain=("ZL_B > 0", "sK_WL > 0"),
            errors=("ZL_Pi", "eps2"),
            exact_value="0",
            atol=_NC1_FLOOR,
            uncertainty={**_EPS2_ERR, "ZL_Pi": "eps1_err"},
            description="NC1(Z_{L-1}) <= ‖W_L‖²(‖Z_LΠ‖_F/s_K(W_L) + √ε2‖Z_{L-2}Π‖_F)² / ‖Z_L B‖_F²",
        ),
    ),
    measurement=measure_last_pair,
    remeasure=remeasure_last_pair,
    controls=(
        Control(
            "eps1-no-sqrt-eps2",
            "replace",
            claim="nc1-eps1",
            expression="s1_WL**2*(eps1/sK_WL)**2/(sqrt(N*(K - 1)/K) - eps1)**2",
            description="nc1-eps1 without its √ε2‖Z_{L-2}‖_F term (null-space features ignored)",
        ),
        Control(
            "eps1-halved",
            "tighten",
            claim="nc1-eps1",
            factor=0.5,
            description="nc1-eps1 with half its bound",
        ),
        Control(
            "sharp-no-sqrt-eps2",
            "replace",
            claim="nc1-sharp",
            expression="s1_WL**2*(ZL_Pi/sK_WL)**2/ZL_B**2",
            description="nc1-sharp without its √ε2‖Z_{L-2}Π‖_F term",
        ),
        Control(
            "sharp-0.9",
            "tighten",
            claim="nc1-sharp",
            factor=0.9,
            description="nc1-sharp with 90% of its bound",
        ),
        Control(
            "interp-sqrt-N",
            "weaken",
            claim="nc1-eps1",
            assumption="H-interp",
            predicate="eps1 < sqrt(N)",
            description="H-interp weakened to ε1 < √N (the threshold √(N(K−1)/K) is needed)",
        ),
    ),
    floor=Floor(min_in_scope=150, max_undecided_fraction=0.4),
)

NC2 = TheoremSpec(
    id="jswm-3.1-nc2",
    title="NC2 (conditioning of the penultimate class means) from interpolation and balancedness",
    source=SOURCE,
    provenance="derived",
    proof="docs/theorems.md#nc2",
    family="jswm",
    description="κ(Z̄_{L-1}) is at most κ(W_L) up to ε1 and ε2 terms: the class means "
    "inherit the conditioning of the last layer.",
    assumptions=(_INTERP_DELTA, _RANK),
    claims=(
        Claim(
            "nc2-eps1",
            "kappa_prev",
            "<=",
            "sqrt(kappa_WL**2*((1 + eps1/sqrt(n))/(1 - eps1/sqrt(n)))**2 "
            "+ eps2*Zbar2_op**2*s1_WL**2/(1 - eps1/sqrt(n))**2)",
            domain=("eps1 < sqrt(n)",),
            errors=("eps1", "eps2"),
            exact_value="kappa_WL",
            reparametrization={"n": "(eps1 + gap)**2"},
            uncertainty=_EPS_ERR,
            # κ(Z̄_{L-1}) and κ(W_L) are measured to kappa_*_err (their conditioning)
            atol="kappa_prev_err + kappa_WL_err*(1 + eps1/sqrt(n))/(1 - eps1/sqrt(n))",
            description="κ(Z̄_{L-1})² <= κ(W_L)²((1+δ)/(1-δ))² + ε2‖Z̄_{L-2}‖²s_1(W_L)²/(1-δ)², "
            "δ = ε1/√n",
        ),
        Claim(
            "nc2-sharp",
            "kappa_prev",
            "<=",
            "sqrt(kappa_WL**2*kappa_L**2 + eps2*Zbar2_op**2*s1_WL**2/sK_ZbarL**2)",
            domain=("sK_ZbarL > 0",),
            errors=("kappa_L", "eps2"),
            exact_value="kappa_WL",
            exact_case={"kappa_L": 1},
            uncertainty=_EPS2_ERR,
            atol="kappa_prev_err + kappa_WL_err*kappa_L + kappa_WL*kappa_L_err "
            "+ kappa_WL_err*kappa_L_err "
            "+ sqrt(eps2)*Zbar2_op*s1_WL*sK_ZbarL_err/(sK_ZbarL*(sK_ZbarL - sK_ZbarL_err))",
            description="κ(Z̄_{L-1})² <= κ(W_L)²κ(Z̄_L)² + ε2‖Z̄_{L-2}‖²s_1(W_L)²/s_K(Z̄_L)²",
        ),
    ),
    measurement=measure_last_pair,
    remeasure=remeasure_last_pair,
    controls=(
        Control(
            "eps1-no-eps2",
            "replace",
            claim="nc2-eps1",
            expression="kappa_WL*(1 + eps1/sqrt(n))/(1 - eps1/sqrt(n))",
            description="nc2-eps1 without its ε2 term (null-space components of the class "
            "means ignored)",
        ),
        Control(
            "eps1-0.99",
            "tighten",
            claim="nc2-eps1",
            factor=0.99,
            description="nc2-eps1 with 99% of its bound",
        ),
        Control(
            "sharp-no-eps2",
            "replace",
            claim="nc2-sharp",
            expression="kappa_WL*kappa_L",
            description="nc2-sharp without its ε2 term",
        ),
        Control(
            "sharp-0.99",
            "tighten",
            claim="nc2-sharp",
            factor=0.99,
            description="nc2-sharp with 99% of its bound",
        ),
        Control(
            "delta-sqrt-N",
            "weaken",
            claim="nc2-eps1",
            assumption="H-interp-delta",
            predicate="eps1 < sqrt(N)",
            description="H-interp-delta weakened to ε1 < √N (δ < 1 is needed)",
        ),
    ),
    floor=Floor(min_in_scope=100, max_undecided_fraction=0.4),
)

NC3 = TheoremSpec(
    id="jswm-3.1-nc3",
    title="NC3 per sample: alignment of each feature with its class's classifier row",
    source=SOURCE,
    provenance="derived",
    proof="docs/theorems.md#nc3",
    family="jswm",
    description="For every sample i of class c with |r_ic| < 1, cos(z_i, w_c) is bounded "
    "below; in the exact case it is at least 2κ/(1+κ²) (Kantorovich).",
    assumptions=(_RANK,),
    claims=(
        Claim(
            "nc3-sample",
            "cos_zw",
            ">=",
            "(1 - abs_r)/(norm_wc*(norm_pinv_ec + norm_r/sK_WL + norm_q))",
            domain=("abs_r < 1", "sK_WL > 0"),
            errors=("abs_r", "norm_r", "norm_q"),
            exact_value="1/(norm_wc*norm_pinv_ec)",
            reparametrization={"abs_r": "1/(1 + gap)"},
            atol=_NC3_ROUNDING,
            description="cos(z_i, w_c) >= (1-|r_ic|) / (‖w_c‖(‖W_L^† e_c‖ + ‖r_i‖/s_K + ‖q_i‖))",
        ),
        Claim(
            "nc3-kappa",
            "cos_zw",
            ">=",
            "(1 - abs_r)/((1 + kappa_WL**2)/(2*kappa_WL) + kappa_WL*norm_r + s1_WL*norm_q)",
            domain=("abs_r < 1",),
            errors=("abs_r", "norm_r", "norm_q"),
            exact_value="2*kappa_WL/(1 + kappa_WL**2)",
            reparametrization={"abs_r": "1/(1 + gap)"},
            atol=_NC3_ROUNDING,
            description="cos(z_i, w_c) >= (1-|r_ic|) / ((1+κ²)/(2κ) + κ‖r_i‖ + s_1‖q_i‖)",
        ),
    ),
    measurement=measure_last_pair,
    remeasure=remeasure_last_pair,
    controls=(
        Control(
            "sample-1.01",
            "tighten",
            claim="nc3-sample",
            factor=1.01,
            description="nc3-sample with its bound raised by 1%",
        ),
        Control(
            "sample-no-q",
            "replace",
            claim="nc3-sample",
            expression="(1 - abs_r)/(norm_wc*(norm_pinv_ec + norm_r/sK_WL))",
            description="nc3-sample without its ‖q_i‖ term (null-space part of z_i ignored)",
        ),
        Control(
            "kappa-1.01",
            "tighten",
            claim="nc3-kappa",
            factor=1.01,
            description="nc3-kappa with its bound raised by 1% (beats Kantorovich)",
        ),
        Control(
            "kappa-no-errors",
            "replace",
            claim="nc3-kappa",
            expression="(1 - abs_r)*2*kappa_WL/(1 + kappa_WL**2)",
            description="nc3-kappa without its κ‖r_i‖ and s_1‖q_i‖ terms",
        ),
    ),
    floor=Floor(min_in_scope=200, max_undecided_fraction=0.3),
)

DEPTH = TheoremSpec(
    id="jswm-3.1-depth",
    title="Conditioning through depth: κ(W_L) ≈ κ(A)^(1/L2) up to the head's imbalance",
    source=SOURCE,
    provenance="derived",
    proof="docs/theorems.md#depth",
    family="jswm",
    description="For any linear head, |s_i(A)² − s_i(W_L)^{2L2}| <= E with E the imbalance "
    "bound (exactly 0 for a balanced head), so κ(W_L) and every s_i(W_L) are pinned to "
    "κ(A)^{1/L2} and s_i(A)^{1/L2}: NC2 and NC3 improve with the depth of a balanced head. E "
    "includes the rounding allowance of the measured singular values.",
    assumptions=(Assumption("H-depth", "the head has at least 2 layers", "L2 >= 2"), _RANK),
    claims=(
        Claim(
            "kappa-upper",
            "kappa_WL",
            "<=",
            "((sA1**2 + E)/(sAK**2 - E))**(1/(2*L2))",
            domain=("sAK**2 > E",),
            errors=("E",),
            exact_value="(sA1/sAK)**(1/L2)",
            reparametrization={"sAK": "sqrt(E + gap)"},
            description="κ(W_L)^{2L2} <= (s_1(A)² + E)/(s_K(A)² − E)",
        ),
        Claim(
            "kappa-lower",
            "kappa_WL",
            ">=",
            "((sA1**2 - E)/(sAK**2 + E))**(1/(2*L2))",
            domain=("sA1**2 > E",),
            errors=("E",),
            exact_value="(sA1/sAK)**(1/L2)",
            reparametrization={"sA1": "sqrt(E + gap)"},
            description="κ(W_L)^{2L2} >= (s_1(A)² − E)/(s_K(A)² + E)",
        ),
        Claim(
            "spectrum-upper",
            "s_WL",
            "<=",
            "(s_A**2 + E)**(1/(2*L2))",
            errors=("E",),
            exact_value="s_A**(1/L2)",
            description="s_i(W_L)^{2L2} <= s_i(A)² + E for i = 1..K",
        ),
        Claim(
            "spectrum-lower",
            "s_WL",
            ">=",
            "(s_A**2 - E)**(1/(2*L2))",
            domain=("s_A**2 > E",),
            errors=("E",),
            exact_value="s_A**(1/L2)",
            reparametrization={"s_A": "sqrt(E + gap)"},
            description="s_i(W_L)^{2L2} >= s_i(A)² − E for i = 1..K",
        ),
    ),
    measurement=measure_head,
    remeasure=remeasure_head,
    controls=(
        Control(
            "upper-0.99",
            "tighten",
            claim="kappa-upper",
            factor=0.99,
            description="kappa-upper with 99% of its bound",
        ),
        Control(
            "upper-no-E",
            "replace",
            claim="kappa-upper",
            expression="(sA1/sAK)**(1/L2)",
            description="κ(W_L) <= κ(A)^(1/L2) for any head (the imbalance E dropped)",
        ),
        Control(
            "lower-1.01",
            "tighten",
            claim="kappa-lower",
            factor=1.01,
            description="kappa-lower with its bound raised by 1%",
        ),
        Control(
            "lower-no-E",
            "replace",
            claim="kappa-lower",
            expression="(sA1/sAK)**(1/L2)",
            description="κ(W_L) >= κ(A)^(1/L2) for any head (the imbalance E dropped)",
        ),
        Control(
            "spectrum-upper-0.99",
            "tighten",
            claim="spectrum-upper",
            factor=0.99,
            description="spectrum-upper with 99% of its bound",
        ),
        Control(
            "spectrum-lower-1.01",
            "tighten",
            claim="spectrum-lower",
            factor=1.01,
            description="spectrum-lower with its bound raised by 1%",
        ),
        Control(
            "spectrum-lower-no-E",
            "replace",
            claim="spectrum-lower",
            expression="s_A**(1/L2)",
            description="s_i(W_L) >= s_i(A)^(1/L2) for any head (the imbalance E dropped)",
        ),
    ),
    floor=Floor(min_in_scope=150, max_undecided_fraction=0.3),
)

THEOREMS = (NC1, NC2, NC3, DEPTH)
