"""The unconstrained-features (UFM) theorems as data: three routes per theorem, each a claim.

Every two-factor spec has claims from three independent routes, all compared with the
theorem's closed form written below as a sympy expression in measured symbols:

* **exact** — sympy solves the reduced problem of the instance from its stationarity and
  second-order conditions (:mod:`ncverify.ufm`'s ``exact_*``): ``value_exact`` and
  ``argmin_exact`` equal the closed form (threshold included, through ``Max``);
* **certificate** — cvxpy: ``cert_dual ≤ closed form ≤ cert_value`` and the gap within
  tolerance;
* **training** — a run from a random start with a drawn budget: the objective lies in
  ``[V, V + Δ]`` and NC1 / NC2 / NC3 lie within tolerances derived from the final gradient
  (``Δ`` and the bounds are proved in ``docs/ufm.md#a-posteriori``), whatever the budget.

Symbols: ``K``, ``n`` (per class), ``N``, ``lam_W``, ``lam_H``, ``p`` (feature dimension),
``n_max``/``n_min`` (class sizes); the routes' symbols are listed in
:mod:`ncverify.catalog.ufm._measure`. Importing this module imports neither torch nor sympy.
"""

from __future__ import annotations

from ...spec import Assumption, Claim, Source, TheoremSpec
from ._measure import measure_minority_run, measure_relu_run, measure_ufm_run

__all__ = [
    "CE",
    "DEEP_LINEAR",
    "DEEP_LINEAR_GD",
    "DEEP_RELU",
    "IMBALANCED",
    "MINORITY",
    "MSE",
    "MSE_BIAS",
    "THEOREMS",
]

MU = "sqrt(lam_W*lam_H)"
C = f"(K*sqrt(n)*{MU})"  # MSE: c = K√(nλ_Wλ_H); cross-entropy: νK with ν = √(nλ_Wλ_H)
S = f"Max(1 - {C}, 0)"  # optimal scale of the MSE optimum, WH = sY
# self-duality constant h̄_k = ρ·w̃_k: √(λ_W/(nλ_H)) = c/(Nλ_H) below the threshold, 1/(Nλ_H)
# above it (where W, H → 0); docs/ufm.md#a-posteriori
RHO = f"(Min({C}, 1)/(N*lam_H))"
# a-posteriori suboptimality of a trained point (docs/ufm.md#a-posteriori)
DELTA = f"((gW*W_F + gH*H_F)/2 + gb**2/2 + Max(G_op - {MU}, 0)*objective/{MU})"
E_G = f"sqrt(2*{DELTA}/N)"  # ‖G − G*‖_F ≤ √(2Δ/N) (co-coercivity, L = 1/N)
E_W = f"(W_op*{E_G} + gH)"  # λ_H‖H − class means‖_F ≤ E_W
E1 = f"({E_W}/(lam_H*sqrt(n)))"  # ‖H̄ − ρW̃ᵀ‖_F ≤ E1
XI = f"({RHO}*(sqrt(2*K*{DELTA}) + W_op*{E1}) + 2*{RHO}*W_op*{E1} + {E1}**2)"
GAP_TOL = "1e-6"

_WIDTH = Assumption(
    "H-width",
    "feature dimension p ≥ K: the factorised model can represent the rank-K optimum (the "
    "nuclear-norm equivalence needs p ≥ rank Z*)",
    "p >= K",
)
_BALANCED = Assumption(
    "H-balanced", "every class has the same number of samples (n_max = n_min)", "n_max <= n_min"
)


def _two_sided(name, quantity, expression, what, **kw) -> tuple[Claim, Claim]:
    return (
        Claim(f"{name}-upper", quantity, "<=", expression, description=f"{what} (≤)", **kw),
        Claim(f"{name}-lower", quantity, ">=", expression, description=f"{what} (≥)", **kw),
    )


# float64 evaluation of an O(1) closed form is exact to a few ulps of its terms: an exactly
# computed quantity (40 digits, then rounded) is compared with that absolute slack
ROUNDING = "64*machine_eps"


def _routes(value: str, argmin: str, what_argmin: str) -> tuple[Claim, ...]:
    """Exact, certificate and training-objective claims against the closed form ``value``."""
    return (
        *_two_sided(
            "exact-value", "value_exact", value, "exact minimum = closed form", atol=ROUNDING
        ),
        *_two_sided(
            "exact-argmin",
            "argmin_exact",
            argmin,
            what_argmin,
            atol=f"{ROUNDING}*(1 + Abs(argmin_exact))",
        ),
        Claim(
            "cert-dual",
            "cert_dual",
            "<=",
            value,
            description="cvxpy dual bound ≤ closed-form value",
        ),
        Claim(
            "cert-primal",
            "cert_value",
            ">=",
            value,
            description="cvxpy primal value ≥ closed-form value",
        ),
        Claim("cert-gap", "cert_gap", "<=", GAP_TOL, description="primal–dual gap ≤ 1e-6"),
        Claim(
            "train-objective-lower",
            "objective",
            ">=",
            value,
            description="any trained point costs at least the closed-form optimum",
        ),
        Claim(
            "train-objective-upper",
            "objective",
            "<=",
            f"{value} + {DELTA}",
            description="trained objective ≤ optimum + Δ (Δ from the final gradient)",
        ),
        Claim(
            "train-nc1",
            "nc1",
            "<=",
            f"{E_W}**2/(lam_H**2*N*trSB)",
            description="NC1 = trΣ_W/trΣ_B ≤ (W_op√(2Δ/N) + ‖∇_H‖)²/(λ_H² N trΣ_B)",
        ),
        *_two_sided(
            "train-nc3",
            "rho_hat",
            RHO,
            "self-duality h̄_k = √(λ_W/(nλ_H))·w̃_k: fitted ρ̂ within E1/‖W̃‖ of it",
        ),
    )


def _nc3_bounds(claims: tuple[Claim, ...]) -> tuple[Claim, ...]:
    """Put the derived slack on the two self-duality claims (ρ ± E1/‖W̃‖_F)."""
    out = []
    for c in claims:
        if c.name.startswith("train-nc3"):
            sign = "+" if c.relation == "<=" else "-"
            c = Claim(
                c.name,
                c.quantity,
                c.relation,
                f"{RHO} {sign} {E1}/Wt_F",
                description=c.description,
            )
        out.append(c)
    return tuple(out)


_ZHOU = Source(
    "Zhou, Li, Ding, You, Qu, Zhu, ICML 2022",
    "2203.01238",
    "global minimisers of the MSE UFM (closed form and threshold derived here)",
)

MSE = TheoremSpec(
    id="ufm-mse",
    title="Bias-free MSE UFM: WH = (1 − c)₊Y, value c − c²/2 (c < 1) or 1/2, orthogonal "
    "frame, self-duality",
    source=_ZHOU,
    provenance="derived",
    proof="docs/ufm.md#mse",
    family="ufm",
    description="c = K√(nλ_Wλ_H). Exact, cvxpy and training routes; NC2 as the spectrum of "
    "H̄ᵀH̄ = (ρ(1 − c)) I within the derived ξ.",
    assumptions=(_WIDTH, _BALANCED),
    claims=(
        *_nc3_bounds(_routes(f"(1 - {S}**2)/2", S, "exact argmin = (1 − c)₊")),
        Claim(
            "train-nc2-max",
            "hg_max",
            "<=",
            f"{RHO}*{S} + {XI}",
            description="largest eigenvalue of H̄ᵀH̄ ≤ ρ(1 − c) + ξ",
        ),
        Claim(
            "train-nc2-min",
            "hg_min",
            ">=",
            f"{RHO}*{S} - {XI}",
            description="smallest eigenvalue of H̄ᵀH̄ ≥ ρ(1 − c) − ξ (orthogonal frame)",
        ),
    ),
    measurement=measure_ufm_run,
)

MSE_BIAS = TheoremSpec(
    id="ufm-mse-bias",
    title="MSE UFM with an unregularised bias: value (K−1)/K·(c − c²/2), centred means a "
    "simplex ETF",
    source=Source(
        "Zhou, Li, Ding, You, Qu, Zhu, ICML 2022",
        "2203.01238",
        "MSE UFM with bias: global minimisers are simplex ETFs (value derived here)",
    ),
    provenance="derived",
    proof="docs/ufm.md#mse-bias",
    family="ufm",
    description="Z = (1 − c)₊(Y − 11ᵀ/K), b = 1/K; the landscape is benign (Zhou et al.): "
    "training from random starts lands on the optimum.",
    assumptions=(_WIDTH, _BALANCED),
    claims=_nc3_bounds(
        _routes(f"(K - 1)/K*(1 - {S}**2)/2", S, "exact argmin = (1 − c)₊ (scale of C_KY)")
    ),
    measurement=measure_ufm_run,
)

NU1 = f"(sqrt(n)*{MU}*(K - 1))"  # ν(K − 1)
QCE = f"Min({NU1}, (K - 1)/K)"  # the dual optimum q* (docs/ufm.md#ce-two-scalars)
CE_VALUE = f"(-(1 - {QCE})*log(1 - {QCE}) - {QCE}*log({QCE}/(K - 1)))"
CE_ARGMIN = f"log(Max((1 - {NU1})/(sqrt(n)*{MU}), 1))"

CE = TheoremSpec(
    id="ufm-ce",
    title="Cross-entropy UFM: Z̄ = a*(I − 11ᵀ/K), a* = log((1 − ν(K−1))/ν) for νK < 1",
    source=Source(
        "Zhu, Ding, Zhou, Li, You, Sulam, Qu, NeurIPS 2021",
        "2105.02375",
        "global minimisers of the CE UFM are simplex ETFs (closed form derived here)",
    ),
    provenance="derived",
    proof="docs/ufm.md#ce",
    family="ufm",
    description="ν = √(nλ_Wλ_H); value = H_K(min(ν(K−1), (K−1)/K)) (the entropy form of "
    "f(a*), equal by zero duality gap). NC2 of the trained point is not bounded from the "
    "gradient (CE is not strongly convex); the ETF is checked at the exact optimum.",
    assumptions=(_WIDTH, _BALANCED),
    claims=_nc3_bounds(_routes(CE_VALUE, CE_ARGMIN, "exact argmin = log((1 − ν(K−1))/ν)₊")),
    measurement=measure_ufm_run,
)

# ----------------------------------------------------------------------------- imbalanced
TAU = f"(N*{MU})"
SK = f"Max(1 - {TAU}/sqrt(n_k), 0)"
VK = f"(n_k/2 - Max(sqrt(n_k) - {TAU}, 0)**2/2)/N"

_SLACK = {
    "train-scale": f"sqrt(2*N*{DELTA})/sqrt(n_k)",
    "train-nc3": f"{E_W}/(sqrt(n_k)*lam_H*w_norm_k)",
}


def _slack(name: str, expression: str, what: str, **kw) -> tuple[Claim, Claim]:
    """Two-sided claim ``expression ± slack`` (the slack derived in docs/ufm.md)."""
    return (
        Claim(
            f"{name}-upper",
            quantity := kw.pop("quantity"),
            "<=",
            f"{expression} + {_SLACK[name]}",
            description=f"{what} (≤)",
            **kw,
        ),
        Claim(
            f"{name}-lower",
            quantity,
            ">=",
            f"{expression} - {_SLACK[name]}",
            description=f"{what} (≥)",
            **kw,
        ),
    )


IMBALANCED = TheoremSpec(
    id="ufm-imbalanced-mse",
    title="Imbalanced bias-free MSE UFM: Z_k = (1 − N√(λ_Wλ_H)/√n_k)₊Y_k; class k vanishes "
    "iff n_k ≤ N²λ_Wλ_H",
    source=Source(
        "derived here (imbalanced UFM: Thrampoulidis et al. 2022; Dang et al. 2023)",
        None,
        "closed form with per-class sizes",
    ),
    provenance="derived",
    proof="docs/ufm.md#imbalanced",
    family="ufm",
    description="Per-class claims (arrays over k) for the exact and certificate routes; the "
    "training route bounds each class's scale, row norm and self-duality constant.",
    assumptions=(_WIDTH,),
    claims=(
        *_two_sided(
            "exact-scale",
            "scale_exact_k",
            SK,
            "exact per-class scale = (1 − τ/√n_k)₊",
            atol=ROUNDING,
        ),
        *_two_sided(
            "exact-value",
            "value_exact_k",
            VK,
            "exact per-class value = hub_τ(√n_k)/N",
            atol=f"{ROUNDING}*n_k/N",
        ),
        Claim("cert-dual", "cert_dual_k", "<=", VK, description="per-class dual bound ≤ form"),
        Claim("cert-primal", "cert_value_k", ">=", VK, description="per-class primal ≥ form"),
        Claim("cert-gap", "cert_gap", "<=", GAP_TOL, description="primal–dual gap ≤ 1e-6"),
        Claim(
            "train-objective-lower",
            "objective",
            ">=",
            "closed_value",
            description="trained objective ≥ closed-form optimum",
        ),
        Claim(
            "train-objective-upper",
            "objective",
            "<=",
            f"closed_value + {DELTA}",
            description="trained objective ≤ optimum + Δ",
        ),
        Claim(
            "train-nc1",
            "nc1",
            "<=",
            f"{E_W}**2/(lam_H**2*N*trSB)",
            description="NC1 ≤ (W_op√(2Δ/N) + ‖∇_H‖)²/(λ_H² N trΣ_B)",
        ),
        *_slack(
            "train-scale",
            SK,
            "trained per-class scale ⟨Z_k, Y_k⟩/n_k within √(2NΔ)/√n_k of (1 − τ/√n_k)₊",
            quantity="s_k",
        ),
        Claim(
            "train-vanish",
            "zrow_k",
            "<=",
            f"{SK}*sqrt(n_k) + sqrt(2*N*{DELTA})",
            description="‖Z_k‖ ≤ s_k√n_k + √(2NΔ): a vanishing class has a small row",
        ),
        *_slack(
            "train-nc3",
            f"Min({TAU}/sqrt(n_k), 1)/(N*lam_H)",
            "per-class self-duality h̄_k = √(λ_W/(n_kλ_H))·w_k (1/(Nλ_H) for vanishing k)",
            quantity="rho_hat_k",
        ),
    ),
    measurement=measure_ufm_run,
)

# ----------------------------------------------------------------------------- deep linear
Q = "((m - 2)/(m - 1))"
RSTAR = f"({Q}**(m - 2)*(1 - {Q})**m)"
VD = "((1 - x_exact)*(1 + (m - 1)*x_exact)/2)"
XMAX = "((m - 2)/(2*m - 2))"
HMAX = f"({XMAX}**(m - 2)*(1 - {XMAX})**m)"  # h(x_max), the largest value of x^{m−2}(1−x)^m

DEEP_LINEAR = TheoremSpec(
    id="ufm-deep-linear",
    title="Deep linear UFM: optimal singular value = largest root of x^{m−2}(1−x)^m = r in "
    "(0, 1), nonzero iff r < r* = q^{m−2}(1−q)^m",
    source=Source(
        "Dang, Tran, Osher, Tran-The, Ho, Nguyen, ICML 2023",
        "2301.00437",
        "deep neural collapse in the deep linear UFM (exact threshold derived here)",
    ),
    provenance="derived",
    proof="docs/ufm.md#deep-linear",
    family="ufm",
    description="r = K^m n∏λ_i, q = (m−2)/(m−1). m ≥ 3: a tie at r = r*; m = 2: r* = 1 and "
    "r = 1 gives zero. Exact route: rational bisection; certificate: sum of squares (cvxpy); "
    "training: rigorous lower bound and balancedness only (the landscape has spurious local "
    "minima, see ufm-deep-linear-gd).",
    assumptions=(
        Assumption("H-width", "every layer has width ≥ K", "p >= K"),
        _BALANCED,
    ),
    claims=(
        Claim(
            "threshold-nonzero",
            "r",
            "<=",
            f"{RSTAR} + (1 - nonzero)*r",
            description="a nonzero optimum (nonzero = 1) only when r ≤ r*",
        ),
        Claim(
            "threshold-zero",
            "r",
            ">=",
            f"{RSTAR}*(1 - nonzero)",
            description="a zero optimum (nonzero = 0) only when r ≥ r*",
        ),
        Claim(
            "root-beyond-q",
            "x_exact",
            ">=",
            f"{Q}*nonzero",
            description="a nonzero optimal x is ≥ q (first-order jump for m ≥ 3)",
        ),
        *_two_sided(
            "root-equation",
            "r_root",
            "nonzero*x_exact**(m - 2)*(1 - x_exact)**m",
            "the optimal x solves x^{m−2}(1 − x)^m = r (r_root = r·nonzero)",
        ),
        Claim("cert-dual", "cert_dual", "<=", VD, description="SOS lower bound ≤ value"),
        Claim("cert-primal", "cert_value", ">=", VD, description="SDP primal ≥ value"),
        Claim("cert-gap", "cert_gap", "<=", GAP_TOL, description="SOS gap ≤ 1e-6"),
        Claim(
            "train-objective-lower",
            "objective",
            ">=",
            VD,
            description="any trained point costs at least the optimum (Horn + von Neumann)",
        ),
    ),
    measurement=measure_ufm_run,
)

DEEP_LINEAR_GD = TheoremSpec(
    id="ufm-deep-linear-gd",
    title="Deep linear UFM trained from the balanced start lands on the exact optimum "
    "(qualitative: no rigorous gradient bound)",
    source=DEEP_LINEAR.source,
    provenance="qualitative",
    family="ufm",
    description="For m ≥ 3 every singular direction has a spurious local minimum when "
    "r* < r < h(x_max) (docs/ufm.md#deep-linear), so no bound in the final gradient alone can "
    "be rigorous; the tolerance used is the first-order term Σ_i‖∇_i‖‖W_i‖.",
    assumptions=(
        Assumption("H-width", "every layer has width ≥ K", "p >= K"),
        _BALANCED,
        Assumption(
            "H-no-spurious-basin",
            "r ∉ (r*, h(x_max)): no spurious local minimum lies between the balanced start "
            "(x = 1) and the global optimum (docs/ufm.md#deep-linear)",
            f"(r - {RSTAR})*(r - {HMAX}) >= 0",
        ),
        Assumption(
            "H-converged",
            "training converged: Σ_i‖∇_i‖_F‖W_i‖_F ≤ 1e-6 (the claim is about where GD "
            "lands, not about early stops)",
            "grad_sum <= 1e-6",
        ),
    ),
    claims=(
        Claim(
            "train-objective-upper",
            "objective",
            "<=",
            f"{VD} + grad_sum",
            description="objective ≤ optimum + Σ_i‖∇_i‖_F‖W_i‖_F",
        ),
        Claim(
            "train-balanced",
            "imbalance_excess",
            "<=",
            "0",
            atol="1e3*machine_eps*imbalance_bound",
            description="‖λ_{i+1}W_{i+1}ᵀW_{i+1} − λ_iW_iW_iᵀ‖_F ≤ ‖W_{i+1}‖‖∇_{i+1}‖ + "
            "‖∇_i‖‖W_i‖ for every pair (an identity: rigorous)",
        ),
    ),
    measurement=measure_ufm_run,
)

# ----------------------------------------------------------------------------- minority
MINORITY = TheoremSpec(
    id="ufm-minority-collapse",
    title="Minority collapse in the layer-peeled model: minority classifiers' cosines rise "
    "to 1 with the imbalance ratio",
    source=Source(
        "Fang, He, Long, Su, PNAS 2021",
        "2101.12699",
        "minority collapse (R → ∞; theorem text not verified verbatim)",
    ),
    provenance="qualitative",
    family="ufm",
    description="SDP of the authors' code (exact for p ≥ 2K, docs/ufm.md#minority-collapse); "
    "R = 1 gives the simplex ETF, cosines rise with R, at R = ∞ the minority classifiers "
    "coincide; training the LPM lands inside the certificate.",
    assumptions=(
        Assumption("H-width", "feature dimension p ≥ 2K (the SDP is then exact)", "p >= 2*K"),
    ),
    claims=(
        Claim("sdp-gap", "sdp_gap_max", "<=", "1e-4", description="SDP gaps over the R sweep"),
        *_two_sided(
            "balanced-etf",
            "cos_balanced",
            "-1/(K - 1)",
            "R = 1: pairwise cosines −1/(K−1) (simplex ETF)",
            rtol=1e-4,
        ),
        Claim(
            "cos-rise",
            "cos_rise_min",
            ">=",
            "-1e-4",
            description="minority cosines do not decrease along the R sweep",
        ),
        Claim(
            "collapse-limit",
            "spread_inf",
            "<=",
            "1e-4",
            description="R = ∞: max‖w_i − w_j‖²/mean‖w‖² over minority pairs ≤ 1e-4",
        ),
        Claim(
            "train-above-dual",
            "train_objective",
            ">=",
            "fit_sdp_dual",
            description="trained objective ≥ SDP dual bound",
        ),
        Claim(
            "train-bound-below-primal",
            "train_lower",
            "<=",
            "fit_sdp_value",
            description="the trained point's own lower bound ≤ SDP primal value",
        ),
    ),
    measurement=measure_minority_run,
)

# ----------------------------------------------------------------------------- deep ReLU
RATIO = "r*2**(L - 3)/(r - 1)**(L - 2)"
# 1 when r·2^{L−3} < (r−1)^{L−2} (integers for L ≥ 3; for L = 2 the difference is ≤ −1/2)
CHEAPER = "Min(Max((r - 1)**(L - 2) - r*2**(L - 3), 0), 1)"
NET_SRG = "the complete-graph ReLU network at its optimal scales attains V(C_SRG)"
NET_DNC = "the DNC network at its optimal scales attains V(C_DNC)"

DEEP_RELU = TheoremSpec(
    id="ufm-deep-relu",
    title="Deep ReLU UFM: the complete-graph configuration beats every DNC configuration iff "
    "r·2^{L−3} < (r−1)^{L−2}",
    source=Source(
        "Súkeník, Lampert, Mondelli, NeurIPS 2024",
        "2405.14468",
        "DNC is not optimal beyond two layers or two classes (their exact region not found; "
        "this comparison derived here)",
    ),
    provenance="derived",
    proof="docs/ufm.md#deep-relu",
    family="ufm",
    description="K = C(r, 2) classes; both families reduce to the deep linear scalar problem "
    "with C_DNC = nK^{L+1}∏λ and C_SRG = nK³r^{L−1}∏λ/2; exact rational comparison; both "
    "explicit ReLU networks evaluated at their optimal scales.",
    assumptions=(),
    claims=(
        *_two_sided("cost-ratio", "C_ratio", RATIO, "C_SRG/C_DNC = r·2^{L−3}/(r−1)^{L−2}"),
        Claim("srg-network-upper", "net_srg", "<=", "value_srg_hi", description=NET_SRG),
        Claim("srg-network-lower", "net_srg", ">=", "value_srg_lo", description=NET_SRG),
        Claim("dnc-network-upper", "net_dnc", "<=", "value_dnc_hi", description=NET_DNC),
        Claim("dnc-network-lower", "net_dnc", ">=", "value_dnc_lo", description=NET_DNC),
        Claim(
            "srg-wins",
            "value_dnc_lo",
            ">=",
            f"value_srg_hi*{CHEAPER}*dnc_nonzero",
            description="when r·2^{L−3} < (r−1)^{L−2} and DNC is nonzero: lower objective "
            "than every DNC configuration",
        ),
        Claim(
            "dnc-wins",
            "value_srg_lo",
            ">=",
            f"value_dnc_hi*(1 - {CHEAPER})",
            description="otherwise never better",
        ),
    ),
    measurement=measure_relu_run,
)

THEOREMS = (MSE, MSE_BIAS, CE, IMBALANCED, DEEP_LINEAR, DEEP_LINEAR_GD, MINORITY, DEEP_RELU)
