"""Minority collapse (layer-peeled model) and the deep ReLU UFM comparison, as data."""

from __future__ import annotations

from ...spec import Assumption, Claim, Control, Floor, Source, TheoremSpec
from ._measure import measure_minority_run, measure_relu_run
from ._specs import two_sided

__all__ = ["DEEP_RELU", "MINORITY"]

MINORITY = TheoremSpec(
    id="ufm-minority-collapse",
    title="Minority collapse in the layer-peeled model: minority classifiers' cosines rise "
    "to 1 with the imbalance ratio",
    source=Source(
        "Fang, He, Long, Su, PNAS 2021",
        "2101.12699",
        "minority collapse as R → ∞ (theorem text not verified verbatim)",
    ),
    provenance="qualitative",
    family="ufm",
    description="The SDP of the authors' code (exact for p ≥ 2K, docs/ufm.md#minority-collapse): "
    "R = 1 gives the simplex ETF, cosines rise with R, at R = ∞ the minority classifiers "
    "coincide; the trained layer-peeled model lands inside the SDP certificate (and its own "
    "gradient-built lower bound is below the SDP primal).",
    assumptions=(
        Assumption("H-width", "feature dimension p ≥ 2K (the SDP is then exact)", "p >= 2*K"),
    ),
    claims=(
        Claim("sdp-gap", "sdp_gap_max", "<=", "1e-4", description="SDP gaps over the R sweep"),
        *two_sided(
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
            description="R = ∞: max‖w_i − w_j‖²/mean‖w_k‖² over minority pairs ≤ 1e-4",
        ),
        Claim(
            "train-above-dual",
            "train_objective",
            ">=",
            "fit_sdp_dual",
            description="trained objective ≥ the SDP dual bound at the same R",
        ),
        Claim(
            "train-bound-below-primal",
            "train_lower",
            "<=",
            "fit_sdp_value",
            description="the trained point's own lower bound ≤ the SDP primal value",
        ),
    ),
    controls=(
        Control("sdp-gap-1e-7", "tighten", claim="sdp-gap", factor=1e-3),
        Control(
            "etf-orthogonal",
            "replace",
            claim="balanced-etf-lower",
            expression="0",
            description="orthogonal classifiers at R = 1",
        ),
        Control("etf-too-obtuse", "replace", claim="balanced-etf-upper", expression="-1/(K - 2)"),
        Control(
            "cos-fall",
            "reverse",
            claim="cos-rise",
            description="minority cosines decrease with R",
        ),
        Control(
            "no-collapse",
            "reverse",
            claim="collapse-limit",
            description="minority classifiers stay apart as R → ∞",
        ),
        Control("train-1pct-above", "tighten", claim="train-above-dual", factor=1.01),
        Control("train-bound-1pct-below", "tighten", claim="train-bound-below-primal", factor=0.99),
    ),
    floor=Floor(min_in_scope=3, max_undecided_fraction=0.3),
    measurement=measure_minority_run,
)

RATIO = "r*2**(L - 3)/(r - 1)**(L - 2)"
# 1 when r·2^{L−3} < (r−1)^{L−2} (integers for L ≥ 3; for L = 2 the difference is ≤ −1/2)
CHEAPER = "Min(Max((r - 1)**(L - 2) - r*2**(L - 3), 0), 1)"
CHEAPER_SLIP = "Min(Max((r - 1)**(L - 1) - r*2**(L - 3), 0), 1)"

DEEP_RELU = TheoremSpec(
    id="ufm-deep-relu",
    title="Deep ReLU UFM: the complete-graph configuration beats every DNC configuration iff "
    "r·2^{L−3} < (r−1)^{L−2} (and DNC is nonzero)",
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
    "with C_DNC = nK^{L+1}∏λ and C_SRG = nK³r^{L−1}∏λ/2 (exact rational comparison); both "
    "explicit ReLU networks are evaluated at their optimal scales.",
    assumptions=(),
    claims=(
        *two_sided("cost-ratio", "C_ratio", RATIO, "C_SRG/C_DNC = r·2^{L−3}/(r−1)^{L−2}"),
        Claim(
            "srg-network-upper",
            "net_srg",
            "<=",
            "value_srg_hi",
            description="the complete-graph ReLU network at its optimal scales attains V(C_SRG)",
        ),
        Claim("srg-network-lower", "net_srg", ">=", "value_srg_lo"),
        Claim(
            "dnc-network-upper",
            "net_dnc",
            "<=",
            "value_dnc_hi",
            description="the DNC network at its optimal scales attains V(C_DNC)",
        ),
        Claim("dnc-network-lower", "net_dnc", ">=", "value_dnc_lo"),
        Claim(
            "srg-wins",
            "value_dnc_lo",
            ">=",
            f"value_srg_hi*{CHEAPER}*dnc_nonzero",
            description="when r·2^{L−3} < (r−1)^{L−2} and DNC is nonzero: strictly lower "
            "objective than every DNC configuration",
        ),
        Claim(
            "dnc-wins",
            "value_srg_lo",
            ">=",
            f"value_dnc_hi*(1 - {CHEAPER})",
            description="otherwise never better",
        ),
    ),
    controls=(
        Control("ratio-doubled", "replace", claim="cost-ratio-lower", expression=f"2*{RATIO}"),
        Control("ratio-halved", "replace", claim="cost-ratio-upper", expression=f"{RATIO}/2"),
        Control("srg-network-below", "tighten", claim="srg-network-upper", factor=0.999),
        Control("srg-network-above", "tighten", claim="srg-network-lower", factor=1.001),
        Control("dnc-network-below", "tighten", claim="dnc-network-upper", factor=0.999),
        Control("dnc-network-above", "tighten", claim="dnc-network-lower", factor=1.001),
        Control(
            "cheaper-exponent-slip",
            "replace",
            claim="srg-wins",
            expression=f"value_srg_hi*{CHEAPER_SLIP}*dnc_nonzero",
            description="the complete graph wins iff r·2^{L−3} < (r−1)^{L−1}",
        ),
        Control(
            "dnc-always-wins",
            "replace",
            claim="dnc-wins",
            expression="value_dnc_hi",
            description="DNC optimal for every r and L",
        ),
    ),
    floor=Floor(min_in_scope=10, max_undecided_fraction=0.1),
    measurement=measure_relu_run,
)
