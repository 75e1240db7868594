"""The other UFM theorems as data: class imbalance, deep linear, minority collapse, deep ReLU.

Same three routes as ``_specs`` where the theorem has them (``docs/ufm.md`` maps each claim
to its proof). Per-class claims of the imbalanced model take arrays over the classes.
"""

from __future__ import annotations

from ...spec import Assumption, Claim, Control, Floor, Source, TheoremSpec
from ._measure import measure_ufm_run
from ._remeasure import remeasure_ufm_run
from ._specs import BALANCED, DELTA, E_W, GAP_TOL, ROUNDING, WIDTH, two_sided

__all__ = ["DEEP_LINEAR", "DEEP_LINEAR_GD", "DEEP_LINEAR_ZERO", "IMBALANCED"]

MU = "sqrt(lam_W*lam_H)"

# ----------------------------------------------------------------------------- imbalanced
TAU = f"(N*{MU})"
SK = f"Max(1 - {TAU}/sqrt(n_k), 0)"  # scale of class k's row of Z
SK_SLIP = f"Max(1 - sqrt(N)*{MU}/sqrt(n_k), 0)"  # class k vanishes iff n_k ≤ Nλ_Wλ_H (false)
VK = f"(n_k/2 - Max(sqrt(n_k) - {TAU}, 0)**2/2)/N"
E_S = f"sqrt(2*N*{DELTA})"  # ‖Z − Z*‖_F ≤ √(2NΔ) (strong convexity)
RHO_K = f"Min({TAU}/sqrt(n_k), 1)/(N*lam_H)"  # √(λ_W/(n_kλ_H)) for surviving classes

IMBALANCED = TheoremSpec(
    id="ufm-imbalanced-mse",
    title="Imbalanced bias-free MSE UFM: Z_k = (1 − N√(λ_Wλ_H)/√n_k)₊Y_k; class k vanishes "
    "iff n_k ≤ N²λ_Wλ_H",
    source=Source(
        "derived here (the imbalanced MSE UFM; cf. Dang et al., ICML 2023, arXiv 2301.00437)",
        None,
        "closed form with per-class sizes",
    ),
    provenance="derived",
    proof="docs/ufm.md#imbalanced",
    family="ufm",
    description="Per-class claims (arrays over k) for the exact and certificate routes; the "
    "training route bounds each class's scale, row norm and self-duality constant by √(2NΔ).",
    assumptions=(WIDTH,),
    claims=(
        *two_sided("exact-scale", "scale_exact_k", SK, "exact scale (1 − τ/√n_k)₊", atol=ROUNDING),
        *two_sided(
            "exact-value",
            "value_exact_k",
            VK,
            "exact per-class value hub_τ(√n_k)/N",
            atol=f"{ROUNDING}*n_k/N",
        ),
        Claim("cert-dual", "cert_dual_k", "<=", VK, description="per-class dual bound ≤ form"),
        Claim("cert-primal", "cert_value_k", ">=", VK, description="per-class primal ≥ form"),
        Claim("cert-gap", "cert_gap", "<=", GAP_TOL, description="primal–dual gap ≤ 1e-6"),
        Claim("train-objective-lower", "objective", ">=", "closed_value"),
        Claim("train-objective-upper", "objective", "<=", f"closed_value + {DELTA}"),
        Claim("train-nc1", "nc1", "<=", f"{E_W}**2/(lam_H**2*N*trSB)"),
        Claim("train-scale-upper", "s_k", "<=", f"{SK} + {E_S}/sqrt(n_k)"),
        Claim("train-scale-lower", "s_k", ">=", f"{SK} - {E_S}/sqrt(n_k)"),
        Claim(
            "train-vanish",
            "zrow_k",
            "<=",
            f"{SK}*sqrt(n_k) + {E_S}",
            description="‖Z_k‖ ≤ s_k√n_k + √(2NΔ): a vanishing class has a small row",
        ),
        Claim(
            "train-nc3-upper",
            "rho_hat_k",
            "<=",
            f"{RHO_K} + {E_W}/(sqrt(n_k)*lam_H*w_norm_k)",
            description="h̄_k = √(λ_W/(n_kλ_H))·w_k (1/(Nλ_H) for vanishing k), per class",
        ),
        Claim("train-nc3-lower", "rho_hat_k", ">=", f"{RHO_K} - {E_W}/(sqrt(n_k)*lam_H*w_norm_k)"),
    ),
    controls=(
        Control("scale-squared", "replace", claim="exact-scale-upper", expression=f"{SK}**2"),
        Control(
            "vanish-rule-N",
            "replace",
            claim="exact-scale-lower",
            expression=SK_SLIP,
            description="class k vanishes iff n_k ≤ Nλ_Wλ_H (N instead of N²)",
        ),
        Control(
            "value-drop-half",
            "replace",
            claim="exact-value-upper",
            expression=f"(n_k/2 - Max(sqrt(n_k) - {TAU}, 0)**2)/N",
            description="τ√n_k − τ² instead of τ√n_k − τ²/2",
        ),
        Control("value-unnormalised", "replace", claim="exact-value-lower", expression=f"{VK}*N"),
        Control(
            "cert-dual-drop-half",
            "replace",
            claim="cert-dual",
            expression=f"(n_k/2 - Max(sqrt(n_k) - {TAU}, 0)**2)/N",
        ),
        Control("cert-primal-unnormalised", "replace", claim="cert-primal", expression=f"{VK}*N"),
        Control("cert-gap-1e-12", "tighten", claim="cert-gap", factor=1e-6),
        Control("train-objective-plus-1pct", "tighten", claim="train-objective-lower", factor=1.01),
        Control(
            "train-objective-no-delta",
            "replace",
            claim="train-objective-upper",
            expression="closed_value",
        ),
        Control("nc1-exact", "replace", claim="train-nc1", expression="0"),
        Control("train-scale-exact", "replace", claim="train-scale-upper", expression=SK),
        Control("train-scale-vanish-N", "replace", claim="train-scale-lower", expression=SK_SLIP),
        Control(
            "train-vanish-exact",
            "replace",
            claim="train-vanish",
            expression=f"{SK}*sqrt(n_k)",
            description="the trained row equals the optimal row (no gradient term)",
        ),
        Control(
            "nc3-lambda-ratio",
            "replace",
            claim="train-nc3-upper",
            expression="sqrt(lam_W/lam_H)",
            description="h̄_k = √(λ_W/λ_H)·w_k (n_k dropped)",
        ),
        Control("nc3-double", "replace", claim="train-nc3-lower", expression=f"2*{RHO_K}"),
    ),
    floor=Floor(min_in_scope=8, max_undecided_fraction=0.2),
    measurement=measure_ufm_run,
    remeasure=remeasure_ufm_run,
)

# ----------------------------------------------------------------------------- deep linear
Q = "((m - 2)/(m - 1))"
RSTAR = f"({Q}**(m - 2)*(1 - {Q})**m)"
VD = "((1 - x_exact)*(1 + (m - 1)*x_exact)/2)"  # the objective at a root x
_DANG = Source(
    "Dang, Tran, Osher, Tran-The, Ho, Nguyen, ICML 2023",
    "2301.00437",
    "deep neural collapse in the deep linear UFM (exact threshold derived here)",
)
_DEEP_WIDTH = Assumption("H-width", "every layer has width ≥ K", "p >= K")
_BALANCE_CLAIM = Claim(
    "train-balanced",
    "D_F",
    "<=",
    "Wup_op*g_up + g_lo*Wlo_op",
    atol="1e3*machine_eps*(Wup_op**2 + Wlo_op**2)",
    description="for every consecutive pair ‖λ_{i+1}W_{i+1}ᵀW_{i+1} − λ_iW_iW_iᵀ‖_F ≤ "
    "‖W_{i+1}‖_op‖∇_{i+1}‖_F + ‖∇_i‖_F‖W_i‖_op (an identity: any point)",
)


def _deep(nonzero: bool) -> TheoremSpec:
    value = VD if nonzero else "1/2"
    if nonzero:
        regime = Assumption(
            "H-regime", "at or below the threshold: r = K^m n∏λ_i ≤ r*", f"r <= {RSTAR}"
        )
        exact = (
            Claim(
                "root-beyond-q",
                "x_exact",
                ">=",
                Q,
                description="the optimal x is ≥ q = (m−2)/(m−1): a jump for m ≥ 3",
            ),
            *two_sided(
                "root-equation",
                "r",
                "x_exact**(m - 2)*(1 - x_exact)**m",
                "the optimal x solves x^{m−2}(1 − x)^m = r",
            ),
        )
        controls = (
            Control(
                "threshold-exponent-slip",
                "weaken",
                assumption="H-regime",
                predicate=f"r <= {Q}**(m - 2)*(1 - {Q})**(m - 1)",
                description="r* = q^{m−2}(1−q)^{m−1}",
            ),
            Control("q-shift", "replace", claim="root-beyond-q", expression="(m - 1)/m"),
            Control(
                "root-exponent-slip",
                "replace",
                claim="root-equation-upper",
                expression="x_exact**(m - 2)*(1 - x_exact)**(m + 1)",
            ),
            Control(
                "root-exponent-slip-lower",
                "replace",
                claim="root-equation-lower",
                expression="x_exact**(m - 2)*(1 - x_exact)**(m - 1)",
            ),
            Control(
                "value-no-regulariser",
                "replace",
                claim="cert-dual",
                expression="(1 - x_exact)**2/2",
            ),
        )
    else:
        regime = Assumption(
            "H-regime", "at or past the threshold: r = K^m n∏λ_i ≥ r*", f"r >= {RSTAR}"
        )
        exact = two_sided("exact-value", "value_exact", "1/2", "exact minimum = 1/2", atol=ROUNDING)
        controls = (
            Control(
                "threshold-half",
                "weaken",
                assumption="H-regime",
                predicate=f"r >= {RSTAR}/2",
                description="zero optimal from r*/2 on",
            ),
            Control("value-smaller", "replace", claim="exact-value-upper", expression="1/4"),
            Control("value-larger", "replace", claim="exact-value-lower", expression="1"),
            Control("cert-dual-smaller", "replace", claim="cert-dual", expression="1/4"),
        )
    larger = VD.replace("(m - 1)*x_exact", "m*x_exact") if nonzero else "1"
    claims = (
        *exact,
        Claim("cert-dual", "cert_dual", "<=", value, description="SOS lower bound ≤ value"),
        Claim("cert-primal", "cert_value", ">=", value, description="SDP primal ≥ value"),
        Claim("cert-gap", "cert_gap", "<=", GAP_TOL, description="SOS gap ≤ 1e-6"),
        Claim(
            "train-objective-lower",
            "objective",
            ">=",
            value,
            description="any trained point costs at least the optimum (Horn + von Neumann)",
        ),
        _BALANCE_CLAIM,
    )
    controls += (
        Control("cert-primal-larger", "replace", claim="cert-primal", expression=larger),
        Control("cert-gap-1e-12", "tighten", claim="cert-gap", factor=1e-6),
        Control("objective-larger", "replace", claim="train-objective-lower", expression=larger),
        Control(
            "balanced-exactly",
            "replace",
            claim="train-balanced",
            expression="0",
            description="exact balancedness at a point with a nonzero gradient",
        ),
    )
    return TheoremSpec(
        id="ufm-deep-linear" if nonzero else "ufm-deep-linear-zero",
        title=(
            "Deep linear UFM at or below the threshold: optimal x = largest root of "
            "x^{m−2}(1−x)^m = r in (0, 1), x ≥ q"
            if nonzero
            else "Deep linear UFM at or past the threshold r* = q^{m−2}(1−q)^m: value 1/2"
        ),
        source=_DANG,
        provenance="derived",
        proof="docs/ufm.md#deep-linear",
        family="ufm",
        description="r = K^m n∏λ_i, q = (m−2)/(m−1). m ≥ 3: a tie at r = r* (both specs in "
        "scope); m = 2: r* = 1 and r = 1 gives zero. Exact route: rational bisection; "
        "certificate: sum of squares (cvxpy); training: a rigorous lower bound and "
        "balancedness (the landscape has spurious local minima: see ufm-deep-linear-gd).",
        assumptions=(_DEEP_WIDTH, BALANCED, regime),
        claims=claims,
        controls=controls,
        floor=Floor(min_in_scope=4, max_undecided_fraction=0.5),
        measurement=measure_ufm_run,
        remeasure=remeasure_ufm_run,
    )


DEEP_LINEAR, DEEP_LINEAR_ZERO = _deep(True), _deep(False)

DEEP_LINEAR_GD = TheoremSpec(
    id="ufm-deep-linear-gd",
    title="Deep linear UFM: a converged training run that ends in the global basin sits at the "
    "exact optimum (qualitative: no rigorous gradient bound exists)",
    source=_DANG,
    provenance="qualitative",
    family="ufm",
    description="For m ≥ 3, x = 0 is a local minimum of every singular direction and, when "
    "r* < r < h(x_max), so is the largest root (docs/ufm.md#deep-linear): no bound in the final "
    "gradient alone can be rigorous. In scope: converged runs whose singular values all lie in "
    "the basin of the global optimum (beyond the local maximum x₁ when the optimum is nonzero, "
    "below it otherwise); tolerance Σ_i‖∇_i‖‖W_i‖. How often training ends there is what the "
    "robustness records show.",
    assumptions=(
        _DEEP_WIDTH,
        BALANCED,
        Assumption(
            "H-global-basin",
            "the trained singular values x_j = σ_j(Z)/√n lie in the global optimum's basin: all "
            "≥ x₁ (the local maximum of G) when the optimum is nonzero, all ≤ x₁ when it is 0",
            "(x_train_min - x1)*nonzero >= 0 and (x1 - x_train_max)*(1 - nonzero) >= 0",
        ),
        Assumption(
            "H-converged",
            "training converged: Σ_i‖∇_i‖_F‖W_i‖_F ≤ 1e-6",
            "grad_sum <= 1e-6",
        ),
    ),
    claims=(
        Claim(
            "train-objective-upper",
            "objective",
            "<=",
            "value_exact + grad_sum",
            description="objective ≤ optimum + Σ_i‖∇_i‖_F‖W_i‖_F",
        ),
    ),
    controls=(
        Control(
            "optimum-0.1pct-lower",
            "tighten",
            claim="train-objective-upper",
            factor=0.999,
            description="GD lands 0.1% below the exact optimum",
        ),
    ),
    floor=Floor(min_in_scope=2, max_undecided_fraction=1.0),
    measurement=measure_ufm_run,
    remeasure=remeasure_ufm_run,
)
