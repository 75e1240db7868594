"""The two-factor UFM theorems as data: three routes per theorem, each a claim.

Each theorem is stated per regime of its threshold, so that the threshold is a hypothesis
with a measured margin (``c < 1`` collapse: ``ufm-mse``; ``c ≥ 1`` zero optimum:
``ufm-mse-zero``; likewise ``ufm-mse-bias``, ``ufm-ce``). A run on the other side of the
threshold is recorded for the other spec as a *robustness* datum. The claims of a spec come
from three independent routes, all compared with the closed form written below as a sympy
expression in measured symbols:

* **exact** — sympy solves the instance's reduced problem from its stationarity and
  second-order conditions (``ncverify.ufm.exact_*``): ``value_exact`` and ``argmin_exact``
  equal the closed form;
* **certificate** — cvxpy: ``cert_dual ≤ closed form ≤ cert_value`` and the gap ≤ 1e-6;
* **training** — a run from a random start with a drawn budget: the objective lies in
  ``[V, V + Δ]`` and NC1 / NC2 / NC3 within tolerances derived from the final gradient
  (``Δ`` and the bounds are proved in ``docs/ufm.md#a-posteriori``), whatever the budget.

Symbols: ``K``, ``n`` (per class), ``N``, ``lam_W``, ``lam_H``, ``p`` (feature dimension),
``n_max``/``n_min``; the routes' symbols are documented in ``_measure``. Every claim has at
least one negative control (a false variant the generators must catch). Importing this module
imports neither torch nor sympy.
"""

from __future__ import annotations

from ...spec import Assumption, Claim, Control, Floor, Source, TheoremSpec
from ._measure import measure_ufm_run
from ._remeasure import remeasure_ufm_run

__all__ = [
    "BALANCED",
    "CE",
    "CE_ZERO",
    "DELTA",
    "E_W",
    "GAP_TOL",
    "MSE",
    "MSE_BIAS",
    "MSE_BIAS_ZERO",
    "MSE_ZERO",
    "ROUNDING",
    "WIDTH",
    "two_sided",
]

MU = "sqrt(lam_W*lam_H)"
C = f"(K*sqrt(n)*{MU})"  # MSE: c = K√(nλ_Wλ_H); cross-entropy: νK with ν = √(nλ_Wλ_H)
C_SLIP = f"(K*sqrt(N)*{MU})"  # false variant: n ↦ N in c
RHO = "sqrt(lam_W/(n*lam_H))"  # self-duality constant: h̄_k = ρ·w̃_k at the collapsed optimum
RHO_SLIP = "sqrt(lam_W/lam_H)"  # false variant: the λ ratio only
# a-posteriori suboptimality of a trained point, from its final gradient
DELTA = f"((gW*W_F + gH*H_F)/2 + gb**2/2 + Max(G_op - {MU}, 0)*objective/{MU})"
E_G = f"sqrt(2*{DELTA}/N)"  # ‖G − G*‖_F ≤ √(2Δ/N) (co-coercivity, L = 1/N)
E_W = f"(W_op*{E_G} + gH)"  # λ_H‖H − class means‖_F ≤ E_W
E1 = f"({E_W}/(lam_H*sqrt(n)))"  # ‖H̄ − ρW̃ᵀ‖_F ≤ E1
GAP_TOL = "1e-6"
# an exactly computed quantity (60 digits, then rounded) against a float64 closed form of O(1)
ROUNDING = "64*machine_eps"

WIDTH = Assumption(
    "H-width",
    "feature dimension p ≥ K: the factorised model can represent the rank-K optimum (the "
    "nuclear-norm equivalence needs p ≥ rank Z*)",
    "p >= K",
)
BALANCED = Assumption(
    "H-balanced", "every class has the same number of samples (n_max = n_min)", "n_max <= n_min"
)
# a test draws ~24 instances per theorem, about half on each side of its threshold
FLOOR = Floor(min_in_scope=4, max_undecided_fraction=0.5)


def two_sided(name, quantity, expression, what, **kw) -> tuple[Claim, Claim]:
    """``quantity = expression`` as two claims ``<name>-upper`` (≤) and ``<name>-lower`` (≥)."""
    return (
        Claim(f"{name}-upper", quantity, "<=", expression, description=f"{what} (≤)", **kw),
        Claim(f"{name}-lower", quantity, ">=", expression, description=f"{what} (≥)", **kw),
    )


def _common(value: str, argmin: str, what_argmin: str) -> tuple[Claim, ...]:
    """Claims of both regimes: exact route, certificate, trained objective, NC1."""
    return (
        *two_sided(
            "exact-value", "value_exact", value, "exact minimum = closed form", atol=ROUNDING
        ),
        *two_sided(
            "exact-argmin",
            "argmin_exact",
            argmin,
            what_argmin,
            atol=f"{ROUNDING}*(1 + Abs(argmin_exact))",
        ),
        Claim("cert-dual", "cert_dual", "<=", value, description="cvxpy dual bound ≤ value"),
        Claim("cert-primal", "cert_value", ">=", value, description="cvxpy primal ≥ value"),
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
    )


def _collapsed(rho_s: str) -> tuple[Claim, ...]:
    """Training claims of the collapsed regime: NC1, NC3 (and NC2 when ``rho_s`` is given)."""
    out = [
        Claim(
            "train-nc1",
            "nc1",
            "<=",
            f"{E_W}**2/(lam_H**2*N*trSB)",
            description="NC1 = trΣ_W/trΣ_B ≤ (‖W‖_op√(2Δ/N) + ‖∇_H‖)²/(λ_H² N trΣ_B)",
        ),
        Claim(
            "train-nc3-upper",
            "rho_hat",
            "<=",
            f"{RHO} + {E1}/Wt_F",
            description="self-duality h̄_k = √(λ_W/(nλ_H))·w̃_k: fitted ρ̂ ≤ ρ + E1/‖W̃‖",
        ),
        Claim(
            "train-nc3-lower",
            "rho_hat",
            ">=",
            f"{RHO} - {E1}/Wt_F",
            description="fitted ρ̂ ≥ ρ − E1/‖W̃‖",
        ),
    ]
    if rho_s:
        xi = f"({RHO}*(sqrt(2*K*{DELTA}) + W_op*{E1}) + 2*{RHO}*W_op*{E1} + {E1}**2)"
        out += [
            Claim(
                "train-nc2-max",
                "hg_max",
                "<=",
                f"{rho_s} + {xi}",
                description="largest eigenvalue of H̄ᵀH̄ ≤ ρ(1 − c) + ξ",
            ),
            Claim(
                "train-nc2-min",
                "hg_min",
                ">=",
                f"{rho_s} - {xi}",
                description="smallest eigenvalue of H̄ᵀH̄ ≥ ρ(1 − c) − ξ (orthogonal frame)",
            ),
        ]
    return tuple(out)


def _controls(value, value_wrong_side, value_slip, argmin_small, argmin_big, collapsed):
    """Negative controls of a two-factor spec (at least one per claim).

    ``value_wrong_side``: a value formula that is smaller than the true one on this side of the
    threshold (the other regime's formula); ``value_slip``: one that is larger (``c`` with N
    for n); ``argmin_small``/``argmin_big``: wrong optimal scales on either side.
    """
    out = [
        Control(
            "value-smaller",
            "replace",
            claim="exact-value-upper",
            expression=value_wrong_side,
            description="a smaller value formula (past the threshold: the collapsed one)",
        ),
        Control(
            "value-larger",
            "replace",
            claim="exact-value-lower",
            expression=value_slip,
            description="a larger value formula (c computed with N instead of n, 2ν for ν)",
        ),
        Control("argmin-smaller", "replace", claim="exact-argmin-upper", expression=argmin_small),
        Control("argmin-larger", "replace", claim="exact-argmin-lower", expression=argmin_big),
        Control(
            "cert-dual-smaller",
            "replace",
            claim="cert-dual",
            expression=value_wrong_side,
            description="the certificate refutes a smaller value formula",
        ),
        Control(
            "cert-primal-larger",
            "replace",
            claim="cert-primal",
            expression=value_slip,
            description="the certificate refutes a larger value formula",
        ),
        Control("cert-gap-1e-12", "tighten", claim="cert-gap", factor=1e-6),
        Control(
            "train-objective-larger",
            "replace",
            claim="train-objective-lower",
            expression=value_slip,
            description="trained points refute a larger value formula",
        ),
        Control(
            "train-objective-no-delta",
            "replace",
            claim="train-objective-upper",
            expression=value,
            description="the trained objective equals the optimum (no gradient term)",
        ),
        Control(
            "threshold-weakened",
            "weaken",
            assumption="H-regime",
            predicate=f"{C} <= 2" if collapsed else f"{C} >= 0.2",
            description="the regime's formulas claimed past the threshold (to c = 2, from 0.2)",
        ),
    ]
    if collapsed:
        out += [
            Control(
                "nc1-exact",
                "replace",
                claim="train-nc1",
                expression="0",
                description="exact collapse at a point with a nonzero gradient",
            ),
            Control(
                "nc3-n-not-root",
                "replace",
                claim="train-nc3-upper",
                expression=f"{RHO_SLIP}/n",
                description="h̄_k = √(λ_W/λ_H)/n·w_k (n for √n)",
            ),
            Control(
                "nc3-lambda-ratio",
                "replace",
                claim="train-nc3-lower",
                expression=RHO_SLIP,
                description="h̄_k = √(λ_W/λ_H)·w_k (the n dropped)",
            ),
        ]
    return tuple(out)


def _regime(collapsed: bool) -> Assumption:
    if collapsed:
        return Assumption(
            "H-regime", "below the threshold: K√(nλ_Wλ_H) < 1 (a nonzero optimum)", f"{C} < 1"
        )
    return Assumption(
        "H-regime", "at or past the threshold: K√(nλ_Wλ_H) ≥ 1 (the zero optimum)", f"{C} >= 1"
    )


def _pair(*, base, title, zero_title, source, proof, description, forms, nc2=False):
    """The two regime specs of a two-factor theorem. ``forms``: dict with the collapsed
    ``value``/``argmin``, the zero-regime ``value0``, and a ``slip`` value (larger)."""
    specs = []
    for collapsed in (True, False):
        value = forms["value"] if collapsed else forms["value0"]
        argmin = forms["argmin"] if collapsed else "0"
        claims = _common(value, argmin, forms["argmin_what"] if collapsed else "exact argmin = 0")
        if collapsed:
            claims += _collapsed(f"{RHO}*(1 - {C})" if nc2 else "")
        controls = _controls(
            value,
            forms["value0_small"] if collapsed else forms["value"],
            forms["slip"] if collapsed else forms["slip0"],
            forms["argmin_small"] if collapsed else "-0.5",
            forms["argmin_big"] if collapsed else "0.5",
            collapsed,
        )
        if collapsed and nc2:
            controls += (
                Control(
                    "nc2-no-shrinkage-max",
                    "replace",
                    claim="train-nc2-max",
                    expression=f"{RHO}*(1 - {C})**2",
                    description="H̄ᵀH̄ = ρ(1 − c)²I",
                ),
                Control(
                    "nc2-no-shrinkage-min",
                    "replace",
                    claim="train-nc2-min",
                    expression=RHO,
                    description="H̄ᵀH̄ = ρI (the shrinkage 1 − c dropped)",
                ),
            )
        specs.append(
            TheoremSpec(
                id=base if collapsed else f"{base}-zero",
                title=title if collapsed else zero_title,
                source=source,
                provenance="derived",
                proof=proof,
                family="ufm",
                description=description,
                assumptions=(WIDTH, BALANCED, _regime(collapsed)),
                claims=claims,
                controls=controls,
                floor=FLOOR,
                measurement=measure_ufm_run,
                remeasure=remeasure_ufm_run,
            )
        )
    return tuple(specs)


_ZHOU = "Zhou, Li, Ding, You, Qu, Zhu, ICML 2022"
MSE, MSE_ZERO = _pair(
    base="ufm-mse",
    title="Bias-free MSE UFM below the threshold (c = K√(nλ_Wλ_H) < 1): WH = (1 − c)Y, value "
    "c − c²/2, NC1, orthogonal frame, h̄_k = √(λ_W/(nλ_H))·w_k",
    zero_title="Bias-free MSE UFM at or past the threshold (c ≥ 1): WH = 0, value 1/2",
    source=Source(_ZHOU, "2203.01238", "UFM with MSE loss (bias-free closed form derived here)"),
    proof="docs/ufm.md#mse",
    description="Exact, cvxpy and training routes; NC2 as the spectrum of H̄ᵀH̄ = ρ(1 − c)·I "
    "within the derived ξ.",
    forms=dict(
        value=f"{C} - {C}**2/2",
        value0="1/2",
        value0_small=f"1/2 - (1 - {C})**2",
        slip=f"{C_SLIP} - {C_SLIP}**2/2",
        slip0="1",
        argmin=f"1 - {C}",
        argmin_small=f"1 - 2*{C}",
        argmin_big=f"1 - {C}/2",
        argmin_what="exact argmin = 1 − c",
    ),
    nc2=True,
)

MSE_BIAS, MSE_BIAS_ZERO = _pair(
    base="ufm-mse-bias",
    title="MSE UFM with an unregularised bias below the threshold: value (K−1)/K·(c − c²/2), "
    "centred means a simplex ETF",
    zero_title="MSE UFM with an unregularised bias past the threshold: value (K−1)/(2K)",
    source=Source(_ZHOU, "2203.01238", "MSE UFM with bias: global minimisers are simplex ETFs"),
    proof="docs/ufm.md#mse-bias",
    description="Z = (1 − c)₊(Y − 11ᵀ/K), b = 1/K; the landscape is benign (Zhou et al.): "
    "training from random starts lands on the optimum, within the derived tolerances.",
    forms=dict(
        value=f"(K - 1)/K*({C} - {C}**2/2)",
        value0="(K - 1)/(2*K)",
        value0_small=f"(K - 1)/K*(1/2 - (1 - {C})**2)",
        slip=f"{C} - {C}**2/2",
        slip0="1/2",
        argmin=f"1 - {C}",
        argmin_small=f"1 - 2*{C}",
        argmin_big=f"1 - {C}/2",
        argmin_what="exact argmin = 1 − c (the scale of Y − 11ᵀ/K)",
    ),
)

NU = f"(sqrt(n)*{MU})"
NU1 = f"({NU}*(K - 1))"
CE_VALUE = f"(-(1 - {NU1})*log(1 - {NU1}) - {NU1}*log({NU}))"
CE, CE_ZERO = _pair(
    base="ufm-ce",
    title="Cross-entropy UFM below the threshold (νK < 1, ν = √(nλ_Wλ_H)): Z̄ = a*(I − 11ᵀ/K), "
    "a* = log((1 − ν(K−1))/ν)",
    zero_title="Cross-entropy UFM at or past the threshold (νK ≥ 1): Z = 0, value log K",
    source=Source(
        "Zhu, Ding, Zhou, Li, You, Sulam, Qu, NeurIPS 2021",
        "2105.02375",
        "global minimisers of the CE UFM are simplex ETFs (closed form derived here)",
    ),
    proof="docs/ufm.md#ce",
    description="Value −(1 − ν(K−1))log(1 − ν(K−1)) − ν(K−1)log ν. NC2 of a trained point is "
    "not bounded from its gradient (CE is not strongly convex): the ETF is checked at the "
    "exact optimum; NC1 and NC3 are.",
    forms=dict(
        value=CE_VALUE,
        value0="log(K)",
        value0_small=f"log(K) - (1 - {C})**2",
        slip=CE_VALUE.replace(NU, f"(2*{NU})"),
        slip0="log(K) + 1",
        argmin=f"log((1 - {NU1})/{NU})",
        argmin_small=f"log((1 - {NU1})/{NU}) - 1",
        argmin_big=f"log((1 - {NU1})/{NU}) + 1",
        argmin_what="exact argmin = log((1 − ν(K−1))/ν)",
    ),
)
