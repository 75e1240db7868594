"""JSWM's training results as data (spec §5; docs/training.md): Theorem 4.4, Theorem 5.2,
Proposition 5.3.

Source: Jacot, Súkeník, Wang, Mondelli, ICLR 2025, arXiv 2410.04887. The exact statements of
Assumption 4.3, Theorem 4.4's step size, Theorem 5.2 and Proposition 5.3 were not found in
a reachable public source (only secondary transcriptions, see docs/training.md); each
hypothesis below says what is measured, and each claim is either derived (proved in
docs/training.md) or qualitative (the sign or trend the theorem predicts).

* ``jswm-4.4`` -- one run: (a) the balancedness envelope at every step and head pair,
  (c) NC1 of the penultimate layer within the Theorem 3.1 bounds from the measured ε1, ε2,
  (d) near-stationarity at the last step;
* ``jswm-4.4-rates`` -- runs differing only in λ: (b) ε2(T) and the distance to stationarity
  decrease with λ (signs of log-log slopes);
* ``jswm-5.2`` -- one nonlinear part with heads of depth ``L2 = 2, 3, …``, trained, or the
  certified optimum of the deep linear UFM: ``κ(W_L) ≤ exp(ĉ/(2 L2))`` (with the imbalance
  allowance) at points at least as good as an interpolating competitor; ``κ(W_L)`` against
  ``κ(A)^{1/L2}`` within the imbalance bound;
* ``jswm-5.2-imbalance`` -- the imbalance lemma ``‖AAᵀ − (W_LW_Lᵀ)^{L2}‖ ≤ E`` on any head;
* ``jswm-5.3`` -- one run: stable solutions satisfy the joint-direction bound on ``κ(W_L)``
  (content beyond the stability hypothesis: it needs the balance that training produces);
* ``jswm-5.3-eos`` -- runs differing only in η: ``κ(W_L)`` does not increase with η.

The specs are evaluated with ``unmeasured="undecided"``. Importing this module imports
neither torch nor sympy.
"""

from __future__ import annotations

from dataclasses import replace

from ...spec import Assumption, AssumptionStatus, Claim, Control, Floor, Source, TheoremSpec
from ._measure_depth import measure_depth_sweep, measure_imbalance, remeasure_imbalance
from ._measure_stability import measure_eta_sweep, measure_stable_run
from ._measure_training import measure_lambda_sweep, measure_trained_network
from ._specs import DEPTH, NC1

__all__ = [
    "ARCH_ASSUMPTIONS",
    "DEPTH_TREND",
    "IMBALANCE",
    "RATES",
    "STABILITY",
    "STABILITY_EOS",
    "TRAINING_NC1",
    "TRAINING_THEOREMS",
]

_PAPER = "Jacot, Súkeník, Wang, Mondelli, ICLR 2025"
#: training runs drawn to satisfy the hypotheses: at least 32 in scope, >= 90% decided
_RUN_FLOOR = Floor(min_in_scope=32, max_undecided_fraction=0.1)
#: sweeps (several runs each): at least 4 in scope, >= 75% decided
_SWEEP_FLOOR = Floor(min_in_scope=4, max_undecided_fraction=0.25)
SOURCE_44 = Source(_PAPER, "2410.04887", "Theorem 4.4")
SOURCE_52 = Source(_PAPER, "2410.04887", "Theorem 5.2")
SOURCE_53 = Source(_PAPER, "2410.04887", "Proposition 5.3")

# ----------------------------------------------------------------------------- hypotheses
_WIDE = Assumption("wide_first_layer", "JSWM Assumption 4.1: n_1 >= N", "n_1 >= N")
_PYRAMID = Assumption(
    "non_increasing_widths",
    "JSWM Assumption 4.1: n_2 >= n_3 >= ... >= n_L",
    "max_width_increase <= 0",
)
_SLOPE = Assumption(
    "activation_slope",
    "JSWM Assumption 4.2: σ' ∈ [γ, 1], γ > 0, measured on the activation function (autograd "
    "σ' on 65,537 points of [-64, 64] and at ±2^k, k = 7..60; exact for the library "
    "activations, docs/training.md#slope)",
    "gamma > 0 and beta <= 1",
)
_HEAD = Assumption("deep_linear_head", "JSWM §1: a linear head of L2 >= 2 layers", "L2 >= 2")
#: names of the architecture assumptions (also measured by
#: :func:`ncverify.nets.architecture_assumptions`)
ARCH_ASSUMPTIONS = (
    "wide_first_layer",
    "non_increasing_widths",
    "activation_slope",
    "deep_linear_head",
)
_INIT = Assumption(
    "initialisation",
    "JSWM Assumption 4.3 at step 0, every measurable term measured: "
    "λ_F λ_{3→L} min(λ_F, min_{ℓ≥3} λ_ℓ) >= (8/γ)(2/γ)^{L/2} C_0^{1/2} with λ_F = s_min(Z_1(0)), "
    "λ_ℓ = s_min(W_ℓ(0)), C_0 = ‖Z_L(0) − Y‖_F². The exact constants were not found in a public "
    "source (secondary transcription: 8γ, loss normalisation unknown); the most demanding "
    "reading is used (8/γ >= 8γ, no 1/2 or 1/N in C_0), so the proxy is sufficient for every "
    "reading considered and errs towards calling a run out of scope",
    "lambda_F*lambda_3L*lambda_low >= 8/gamma*(2/gamma)**(L/2)*sqrt(C0)",
    status=AssumptionStatus.PROXIED,
    proxy="sufficient",
)
_STEP = Assumption(
    "step_size",
    "the step-size regime: η·λ_max(∇²L_λ) < 2 at the sampled steps (0, T/2, T), λ_max the top "
    "eigenvalue of the exact Hessian; the paper's explicit step size (η ~ c^{-L}) was not found",
    "eta_sharp_max < 2",
)


def _balanced_conditioning_claims() -> tuple[Claim, Claim]:
    """Theorem 3.1's conditioning-through-depth bounds (``jswm-3.1-depth``'s ``kappa-upper`` and
    ``kappa-lower``, Weyl), reused by Theorem 5.2 under its own claim names."""
    by_name = {c.name: c for c in DEPTH.claims}
    return (
        replace(
            by_name["kappa-upper"],
            name="kappa-balanced-upper",
            description="κ(W_L)^(2L2) <= (s_1(A)² + E)/(s_K(A)² - E) (Weyl)",
        ),
        replace(
            by_name["kappa-lower"],
            name="kappa-balanced-lower",
            description="κ(W_L)^(2L2) >= (s_1(A)² - E)/(s_K(A)² + E) (Weyl)",
        ),
    )


# ----------------------------------------------------------------------------- Theorem 4.4
_ENVELOPE = Claim(
    "envelope",
    "eps2_t",
    "<=",
    "env_t + env_rnd_t",
    description="(a) for every head pair and step t >= 1: ε2(t) <= (1-ηλ)^{2t} ε2(0) + "
    "η² Σ_{s<t} (1-ηλ)^{2(t-1-s)} ‖G_{l+1}ᵀG_{l+1} - G_lG_lᵀ‖_op(s), plus the accumulated "
    "recursion residual and rounding allowance (env_rnd_t)",
)
_STATIONARY = Claim(
    "near-stationary",
    "grad_rel",
    "<=",
    "conv_tol",
    description="(d) GD reaches a near-stationary point within T steps: ‖∇L_λ(θ_T)‖ <= "
    "conv_tol·λ‖θ_T‖",
)


TRAINING_NC1 = TheoremSpec(
    id="jswm-4.4",
    title="GD with weight decay reaches a balanced, near-stationary point, hence NC1",
    source=SOURCE_44,
    provenance="qualitative",
    proof="docs/training.md#envelope",
    family="jswm-training",
    description="Under Assumptions 4.1-4.3 and a stable step size, gradient descent with "
    "weight decay drives ε2 down along the envelope of the exact balancedness recursion "
    "(derived), reaches a near-stationary point, and NC1 of the penultimate layer then obeys "
    "Theorem 3.1 with the measured ε1(T), ε2(T) (jswm-3.1-nc1's claims, reused).",
    assumptions=(_WIDE, _PYRAMID, _SLOPE, _HEAD, _INIT, _STEP),
    claims=(_ENVELOPE, *NC1.claims, _STATIONARY),
    controls=(
        Control(
            "envelope-95",
            "tighten",
            claim="envelope",
            factor=0.95,
            description="an envelope 5% smaller",
        ),
        Control(
            "nc1-eps1-small",
            "tighten",
            claim="nc1-eps1",
            factor=0.05,
            description="the ε1 form of the NC1 bound divided by 20",
        ),
        Control(
            "nc1-sharp-75",
            "tighten",
            claim="nc1-sharp",
            factor=0.75,
            description="the sharp NC1 bound 25% smaller",
        ),
        Control(
            "stationary-sooner",
            "tighten",
            claim="near-stationary",
            factor=0.05,
            description="near-stationarity twenty times closer within the same T",
        ),
    ),
    floor=_RUN_FLOOR,
    measurement=measure_trained_network,
)

RATES = TheoremSpec(
    id="jswm-4.4-rates",
    title="Theorem 4.4 across λ: more weight decay, smaller ε2(T) and closer to stationarity",
    source=SOURCE_44,
    provenance="qualitative",
    family="jswm-training",
    description="Runs that differ only in λ (same data, initialisation, η, T): the theory "
    "scales ε2(t) by (1-ηλ)^{2t} in the decay phase and the approach to stationarity by the "
    "same rate, so the log-log slopes against λ of ε2 in the decay phase and of the "
    "distance to stationarity at T are negative.",
    assumptions=(_WIDE, _PYRAMID, _SLOPE, _HEAD, _INIT, _STEP),
    claims=(
        Claim(
            "eps2-slope",
            "slope_eps2",
            "<=",
            "0",
            description="(b) d log ε2(t_b) / d log λ <= 0 (least squares over the sweep; t_b in "
            "the decay phase, η·max λ·t_b = 4)",
        ),
        Claim(
            "stationarity-slope",
            "slope_grad",
            "<=",
            "0",
            description="(b) d log(‖∇L_λ(θ_T)‖/(λ‖θ_T‖)) / d log λ <= 0",
        ),
    ),
    controls=(
        Control(
            "eps2-grows",
            "reverse",
            claim="eps2-slope",
            description="ε2(T) increases with λ",
        ),
        Control(
            "stationarity-grows",
            "reverse",
            claim="stationarity-slope",
            description="the distance to stationarity increases with λ",
        ),
    ),
    floor=_SWEEP_FLOOR,
    measurement=measure_lambda_sweep,
)

# ----------------------------------------------------------------------------- Theorem 5.2
_NEAR_OPTIMAL = Assumption(
    "near_optimal",
    "near-global optimality, checkable form: L_λ(θ) <= L_λ(θ_c) for a competitor θ_c whose "
    "nonlinear part fits Z_{L1} = [Y, 0] with cost ĉ and whose head is the identity "
    "(every global minimiser satisfies it)",
    "loss <= loss_c",
)
_IMB_ERR = {"E": "0"}

DEPTH_TREND = TheoremSpec(
    id="jswm-5.2",
    title="Near-optimal points have κ(W_L) <= exp(ĉ/(2 L2)): deeper heads, better conditioning",
    source=SOURCE_52,
    provenance="derived",
    proof="docs/training.md#thm-52",
    family="jswm-training",
    description="At points at least as good as an interpolating competitor of nonlinear "
    "cost ĉ, κ(A)^{1/L2} <= exp(ĉ_eff/(2 L2)) with ĉ_eff = ĉ - ‖θ^{nonlin}‖² - 2 fit/λ "
    "(+ a term in the conditioning of the features), hence κ(W_L) -> 1 as L2 grows; "
    "κ(W_L) and κ(A)^{1/L2} agree within the imbalance bound E. Judged on head-depth sweeps "
    "of trained networks and at the certified optimum of the deep linear UFM.",
    assumptions=(_NEAR_OPTIMAL, Assumption("deep_linear_head", "L2 >= 2", "L2 >= 2")),
    claims=(
        Claim(
            "kappa-exp",
            "kappa_WL",
            "<=",
            "((exp(c_eff)*sAK**2 + E)/(sAK**2 - E))**(1/(2*L2))",
            domain=("sAK**2 > E",),
            errors=("E",),
            exact_value="exp(c_eff/(2*L2))",
            reparametrization={"sAK": "sqrt(E + gap)"},
            description="κ(W_L) <= ((e^{ĉ_eff} s_K(A)² + E)/(s_K(A)² - E))^{1/(2 L2)} = "
            "exp(ĉ_eff/(2 L2)) at exact balance",
        ),
        *_balanced_conditioning_claims(),
    ),
    controls=(
        Control(
            "no-nonlinear-cost",
            "replace",
            claim="kappa-exp",
            expression="((sAK**2 + E)/(sAK**2 - E))**(1/(2*L2))",
            description="ĉ_eff dropped: κ(W_L) <= 1 up to the imbalance",
        ),
        Control(
            "upper-999",
            "tighten",
            claim="kappa-balanced-upper",
            factor=0.999,
            description="the upper Weyl bound 0.1% smaller",
        ),
        Control(
            "lower-1001",
            "tighten",
            claim="kappa-balanced-lower",
            factor=1.001,
            description="the lower Weyl bound 0.1% larger",
        ),
    ),
    floor=_SWEEP_FLOOR,
    measurement=measure_depth_sweep,
)

IMBALANCE = TheoremSpec(
    id="jswm-5.2-imbalance",
    title="Imbalance lemma: ‖AAᵀ − (W_LW_Lᵀ)^{L2}‖ <= E for any linear head",
    source=SOURCE_52,
    provenance="derived",
    proof="docs/theorems.md#imbalance",
    family="jswm-training",
    description="How far a head is from the exactly balanced identity AAᵀ = (W_LW_Lᵀ)^{L2}, "
    "bounded by the measured imbalances ε_k of its pairs and the layer norms.",
    assumptions=(Assumption("deep_linear_head", "L2 >= 2", "L2 >= 2"),),
    claims=(
        Claim(
            "imbalance",
            "imb_lhs",
            "<=",
            "E",
            errors=("E",),
            exact_value="0",
            atol="4*L2**2*(max_dim + 1)*machine_eps*imb_scale",
            description="‖AAᵀ − (W_LW_Lᵀ)^{L2}‖_op <= Σ_k (Π_{j>k} s_j²)((s_{k+1}² + ε_k)^k − "
            "s_{k+1}^{2k}), up to the rounding of both products",
        ),
    ),
    controls=(
        Control(
            "imbalance-90",
            "tighten",
            claim="imbalance",
            factor=0.9,
            description="the imbalance bound 10% smaller",
        ),
    ),
    floor=Floor(min_in_scope=8, max_undecided_fraction=0.1),
    measurement=measure_imbalance,
    remeasure=remeasure_imbalance,
)

# ----------------------------------------------------------------------------- Proposition 5.3
_STABLE = Assumption(
    "stable",
    "η·λ_max(∇²L_λ(θ_T)) <= 2 (exact Hessian)",
    "lr*sharpness <= 2",
)
_INTERP = Assumption("interpolates", "ε1 < √(N(K-1)/K)", "eps1 < sqrt(N*(K - 1)/K)")
_RANK = Assumption(
    "output_rank",
    "Z_L has rank K: s_K(Z_L) > max(N, K)·eps·s_1(Z_L)",
    "sK_ZL > rank_tol",
)

STABILITY = TheoremSpec(
    id="jswm-5.3",
    title="Stable solutions have κ(W_L) bounded through the curvature of the whole head",
    source=SOURCE_53,
    provenance="derived",
    proof="docs/training.md#prop-53",
    family="jswm-training",
    description="Along the joint K-th singular direction of all L2 head layers the curvature "
    "of L_λ at a balanced point is (1/N) s_K(A)^{-2/L2}(L2‖Z_Lu_K‖² + (L2-1)⟨Ru_K, Z_Lu_K⟩) + "
    "λ <= λ_max <= 2/η, which bounds κ(W_L) = κ(A)^{1/L2}. Balance is not a hypothesis: it is "
    "what GD with weight decay delivers (untrained instances satisfying the hypotheses "
    "violate the claim, tests/test_train_theorems.py).",
    assumptions=(_STABLE, _INTERP, _RANK),
    claims=(
        Claim(
            "kappa-head",
            "kappa_WL",
            "<=",
            "s1_WL*sqrt(N*(2/lr - lam)/(L2*zu2 - (L2 - 1)*rho_neg))",
            domain=("2/lr > lam", "L2*zu2 > (L2 - 1)*rho_neg"),
            errors=("rho_neg",),
            exact_value="s1_WL*sqrt(N*(2/lr - lam)/(L2*zu2))",
            reparametrization={
                "lam": "2/(lr*(1 + gap))",
                "zu2": "((L2 - 1)*rho_neg + gap2)/L2",
                "L2": "1 + extra",
            },
            description="κ(W_L) <= s_1(W_L) √(N(2/η - λ)/(L2‖Z_Lu_K‖² - (L2-1)ρ₋)), "
            "ρ₋ = max(0, -⟨Ru_K, Z_Lu_K⟩) (0 at exact interpolation)",
        ),
    ),
    controls=(
        Control(
            "kappa-head-35",
            "tighten",
            claim="kappa-head",
            factor=0.35,
            description="the joint-direction bound times 0.35",
        ),
    ),
    floor=_RUN_FLOOR,
    measurement=measure_stable_run,
)

STABILITY_EOS = TheoremSpec(
    id="jswm-5.3-eos",
    title="Edge of stability: over stable runs, κ(W_L) does not increase with η",
    source=SOURCE_53,
    provenance="qualitative",
    family="jswm-training",
    description="Runs that differ only in η (same data, initialisation, λ and gradient-flow "
    "time ηT), each stable and near-stationary: the bound of Proposition 5.3 decreases with "
    "η, and κ(W_L) is predicted not to increase (qualitative slack trend_rtol).",
    assumptions=(
        _STABLE,
        _INTERP,
        _RANK,
        Assumption(
            "near_stationary",
            "every run ends near-stationary, ‖∇L_λ(θ_T)‖ <= conv_tol·λ‖θ_T‖: the trend is "
            "about solutions, not about how far each run got",
            "grad_rel <= conv_tol",
        ),
    ),
    claims=(
        Claim(
            "kappa-eta-trend",
            "kappa_next",
            "<=",
            "kappa_prev*(1 + trend_rtol)",
            description="κ(W_L) at the next larger η <= κ(W_L)·(1 + trend_rtol)",
        ),
    ),
    controls=(
        Control(
            "kappa-drops",
            "tighten",
            claim="kappa-eta-trend",
            factor=0.98,
            description="κ(W_L) drops by about 1% at each larger η",
        ),
    ),
    floor=_SWEEP_FLOOR,
    measurement=measure_eta_sweep,
)

TRAINING_THEOREMS = (TRAINING_NC1, RATES, DEPTH_TREND, IMBALANCE, STABILITY, STABILITY_EOS)
