"""JSWM Theorem 3.1 as data: collapse from interpolation and balancedness.

Source: Jacot, Súkeník, Wang, Mondelli, "Wide Neural Networks Trained with Weight
Decay Provably Exhibit Neural Collapse", ICLR 2025, arXiv 2410.04887, Theorem 3.1.
The paper states shapes (e.g. NC1 = O((ε1 + √ε2)²)); the explicit bounds here are
``derived`` (spec §3) and proved in ``docs/theorems.md``.

Four specs, each measured on a snapshot of the last linear pair of a network:

* ``jswm-3.1-nc1``  -- NC1 of the penultimate layer (ε1 form and sharper form);
* ``jswm-3.1-nc2``  -- κ of the penultimate class means (ε1 form and sharper form);
* ``jswm-3.1-nc3``  -- per-sample cosine to the classifier row (spec form and a
  κ(W_L) form that reduces to Kantorovich's inequality in the exact case);
* ``jswm-3.1-depth`` -- conditioning through depth under exact balance:
  ``s_i(W_L) = s_i(A)^{1/L2}``, ``κ(W_L) = κ(A)^{1/L2}``.

Snapshots: :class:`LastPair` (features ``Z = Z_{L-2}`` entering the pair, rows =
samples; ``W_lower = W_{L-1}``; ``W_upper = W_L``; labels) and :class:`HeadWeights`
(the linear head ``W_{L1+1}, ..., W_L``). Measurements use :mod:`ncverify.metrics`.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .._errors import InvalidInput
from .._evaluation import AssumptionStatus
from .._spec import Assumption, Claim, Source, TheoremSpec

__all__ = [
    "DEPTH",
    "NC1",
    "NC2",
    "NC3",
    "THEOREMS",
    "HeadWeights",
    "LastPair",
    "measure_head",
    "measure_last_pair",
]

SOURCE = Source("Jacot, Súkeník, Wang, Mondelli, ICLR 2025", "2410.04887", "Theorem 3.1")


@dataclass(frozen=True, eq=False)
class LastPair:
    """The last linear pair of a network and the features entering it.

    ``Z``: (N, p) features ``Z_{L-2}`` (rows = samples); ``W_lower``: (n, p)
    ``W_{L-1}``; ``W_upper``: (K, n) ``W_L``; ``y``: (N,) labels in ``0..K-1``,
    balanced (n samples per class). Then ``Z_{L-1} = Z W_lowerᵀ`` and
    ``Z_L = Z_{L-1} W_upperᵀ``. ``inputs``: how the instance was made (seed, sizes).
    """

    Z: Any
    W_lower: Any
    W_upper: Any
    y: Any
    inputs: Mapping[str, Any] = field(default_factory=dict)

    @property
    def seed(self) -> int | None:
        return self.inputs.get("seed")


@dataclass(frozen=True, eq=False)
class HeadWeights:
    """A linear head ``(W_{L1+1}, ..., W_L)`` in forward order (math convention shapes).

    ``weight_decay`` (λ) is used by the representation-cost specs of
    :mod:`ncverify.catalog.gd`.
    """

    weights: Sequence[Any]
    inputs: Mapping[str, Any] = field(default_factory=dict)
    weight_decay: float = 1.0

    @property
    def seed(self) -> int | None:
        return self.inputs.get("seed")


def _check_pair(s: LastPair):
    import torch

    Z, W1, W, y = s.Z, s.W_lower, s.W_upper, s.y
    for name, M in (("Z", Z), ("W_lower", W1), ("W_upper", W)):
        if not (isinstance(M, torch.Tensor) and M.ndim == 2):
            raise InvalidInput(f"LastPair.{name} must be a 2-D torch tensor, got {M!r:.80}")
    if Z.shape[1] != W1.shape[1] or W1.shape[0] != W.shape[1]:
        raise InvalidInput(
            f"LastPair shapes do not chain: Z {tuple(Z.shape)}, W_lower {tuple(W1.shape)}, "
            f"W_upper {tuple(W.shape)}; need Z (N, p), W_lower (n, p), W_upper (K, n)"
        )
    K, N = W.shape[0], Z.shape[0]
    counts = torch.bincount(y, minlength=K)
    if y.shape != (N,) or counts.numel() != K or not bool((counts == counts[0]).all()) \
            or int(counts[0]) == 0:
        raise InvalidInput(
            f"LastPair.y must hold N={N} labels in 0..{K - 1} with equal class counts "
            f"(Theorem 3.1 assumes balanced classes); got counts {counts.tolist()}"
        )
    return Z, W1, W, y, K, N, int(counts[0])


def _pair_basics(s: LastPair) -> dict[str, Any]:
    import torch

    from .. import metrics as M

    Z2, W1, W, y, K, N, n = _check_pair(s)
    Z1 = Z2 @ W1.T
    ZL = Z1 @ W.T
    sv = torch.linalg.svdvals(W)
    return dict(
        _Z1=Z1, _ZL=ZL, N=float(N), K=float(K), n=float(n),
        eps1=float(M.interpolation_error(ZL, y)),
        eps2=float(M.balancedness(W1, W)),
        s1_WL=float(sv[0]), sK_WL=float(sv[K - 1]), kappa_WL=float(sv[0] / sv[K - 1]),
        max_dim=float(max(*W.shape, *W1.shape)),
        W_sq_F=float(torch.linalg.norm(W) ** 2 + torch.linalg.norm(W1) ** 2),
    )


def measure_last_pair(s: LastPair) -> dict[str, Any]:
    """Every symbol of the NC1, NC2 and NC3 specs, measured on ``s`` (float64 or its dtype).

    Scalars: ``N, K, n, eps1, eps2, s1_WL, sK_WL, kappa_WL, max_dim, W_sq_F, nc1_prev,
    Z2_F, Z2_Pi, ZL_Pi, ZL_B, kappa_prev, kappa_L, Zbar2_op, sK_ZbarL``; per-sample
    arrays: ``cos_zw, abs_r, norm_r, norm_q, norm_wc, norm_pinv_ec``.
    """
    import torch

    from .. import metrics as M

    out = _pair_basics(s)
    Z1, ZL = out.pop("_Z1"), out.pop("_ZL")
    Z2, W, y = s.Z, s.W_upper, s.y
    N, K = int(out["N"]), int(out["K"])
    out.update(
        nc1_prev=float(M.nc1_trace_ratio(Z1, y)),
        Z2_F=float(torch.linalg.norm(Z2)),
        Z2_Pi=float((N * M.trace_sigma_w(Z2, y)) ** 0.5),
        ZL_Pi=float((N * M.trace_sigma_w(ZL, y)) ** 0.5),
        ZL_B=float((N * M.trace_sigma_b(ZL, y)) ** 0.5),
        kappa_prev=float(M.nc2_kappa(Z1, y)),
        kappa_L=float(M.nc2_kappa(ZL, y)),
        Zbar2_op=float(torch.linalg.svdvals(M.class_means(Z2, y))[0]),
        sK_ZbarL=float(torch.linalg.svdvals(M.class_means(ZL, y))[K - 1]),
    )
    # per sample i of class c = y_i (spec §3, NC3): r_i = W_L z_i - e_c, q_i = (I - P) z_i
    W_pinv = torch.linalg.pinv(W)  # (n, K); W has full row rank under H-rank
    Y = torch.nn.functional.one_hot(y, K).to(ZL.dtype)
    R = ZL - Y
    Q = Z1 - (Z1 @ W.T) @ W_pinv.T
    w_c = W[y]  # (N, n) classifier row of each sample's class
    idx = torch.arange(N)
    cos = (Z1 * w_c).sum(1) / (torch.linalg.norm(Z1, dim=1) * torch.linalg.norm(w_c, dim=1))
    out.update(
        cos_zw=cos.numpy(force=True),
        abs_r=R[idx, y].abs().numpy(force=True),
        norm_r=torch.linalg.norm(R, dim=1).numpy(force=True),
        norm_q=torch.linalg.norm(Q, dim=1).numpy(force=True),
        norm_wc=torch.linalg.norm(w_c, dim=1).numpy(force=True),
        norm_pinv_ec=torch.linalg.norm(W_pinv, dim=0)[y].numpy(force=True),
    )
    return out


def measure_head(h: HeadWeights) -> dict[str, Any]:
    """Symbols of the depth spec: ``L2, kappa_WL, kappaA, s_WL, s_A, eps2_rel, ...``.

    ``eps2_rel`` is the largest relative imbalance over the pairs of the head,
    ``‖W_{l+1}ᵀW_{l+1} - W_l W_lᵀ‖_op / max(‖W_{l+1}‖_op², ‖W_l‖_op²)``. ``s_A`` are
    the top K singular values of the product ``A = W_L ⋯ W_{L1+1}``.
    """
    import torch

    from .. import metrics as M
    from .._linalg import head_product

    Ws = list(h.weights)
    if len(Ws) < 1 or any(not isinstance(W, torch.Tensor) or W.ndim != 2 for W in Ws):
        raise InvalidInput("HeadWeights.weights must be a non-empty list of 2-D torch tensors")
    for a, b in itertools.pairwise(Ws):
        if b.shape[1] != a.shape[0]:
            raise InvalidInput(
                f"head weights do not chain: {tuple(a.shape)} then {tuple(b.shape)}"
            )
    W = Ws[-1]
    K = W.shape[0]
    A = head_product(Ws)
    sW = torch.linalg.svdvals(W)[:K]
    sA = torch.linalg.svdvals(A)[:K]
    rel = 0.0
    for lo, up in itertools.pairwise(Ws):
        scale = max(float(torch.linalg.matrix_norm(lo, 2)),
                    float(torch.linalg.matrix_norm(up, 2)))
        rel = max(rel, float(M.balancedness(lo, up)) / scale**2)
    return dict(
        L2=float(len(Ws)), K=float(K), eps2_rel=rel,
        s1_WL=float(sW[0]), sK_WL=float(sW[-1]), kappa_WL=float(sW[0] / sW[-1]),
        kappaA=float(sA[0] / sA[-1]), s_WL=sW.numpy(force=True), s_A=sA.numpy(force=True),
        max_dim=float(max(W.shape)),
    )


# ----------------------------------------------------------------------------- specs
_RANK = Assumption(
    "H-rank", "W_L has full row rank K: s_K(W_L) > max(K, n)·eps·s_1(W_L) (dtype-aware rank "
    "decision)", "sK_WL > max_dim*machine_eps*s1_WL")
_BALANCE = Assumption(
    "H-balance", "the last linear pair (W_{L-1}, W_L) is ε2-balanced with ε2 := "
    "‖W_Lᵀ W_L - W_{L-1} W_{L-1}ᵀ‖_op, measured (it enters the bound)", "eps2 >= 0")
_INTERP = Assumption(
    "H-interp", "near interpolation: ε1 = ‖Z_L - Y‖_F < ‖YB‖_F = √(N(K-1)/K)",
    "eps1 < sqrt(N*(K - 1)/K)")
_INTERP_DELTA = Assumption(
    "H-interp-delta", "near interpolation of the class means: δ = ε1/√n < 1",
    "eps1 < sqrt(n)")

# rounding floor of a computed NC1 ratio whose exact value is 0 (exactly collapsed
# features): the within-class residual of Z_{L-1} is computed to ~eps·dims·κ² relative
_NC1_FLOOR = "(64*max_dim*kappa_WL**2*machine_eps)**2"
# ε2 = ‖W_LᵀW_L - W_{L-1}W_{L-1}ᵀ‖_op is computed by cancellation: absolute rounding
# error <= (max_dim + 1)·eps·(‖W_L‖_F² + ‖W_{L-1}‖_F²) (Gram products + SVD); doubled
_EPS2_ERR = {"eps2": "2*(max_dim + 1)*machine_eps*W_sq_F"}

NC1 = TheoremSpec(
    id="jswm-3.1-nc1",
    title="NC1 of the penultimate layer from interpolation and balancedness",
    source=SOURCE, provenance="derived", proof="docs/theorems.md#nc1", family="jswm",
    description="Within-class variability of Z_{L-1} is controlled by ε1 (what W_L sees) "
                "and √ε2 (what lies in the null space of W_L).",
    assumptions=(_INTERP, _BALANCE, _RANK),
    claims=(
        Claim("nc1-eps1", "nc1_prev", "<=",
              "s1_WL**2*(eps1/sK_WL + sqrt(eps2)*Z2_F)**2/(sqrt(N*(K - 1)/K) - eps1)**2",
              domain=("eps1 < sqrt(N*(K - 1)/K)", "sK_WL > 0"), errors=("eps1", "eps2"),
              exact_value="0", atol=_NC1_FLOOR, uncertainty=_EPS2_ERR,
              reparametrization={"N": "K*(eps1 + gap)**2/(K - 1)", "K": "1 + km1"},
              description="NC1(Z_{L-1}) <= ‖W_L‖²(ε1/s_K(W_L) + √ε2‖Z_{L-2}‖_F)² / "
                          "(√(N(K-1)/K) - ε1)²"),
        Claim("nc1-sharp", "nc1_prev", "<=",
              "s1_WL**2*(ZL_Pi/sK_WL + sqrt(eps2)*Z2_Pi)**2/ZL_B**2",
              domain=("ZL_B > 0", "sK_WL > 0"), errors=("ZL_Pi", "eps2"), exact_value="0",
              atol=_NC1_FLOOR, uncertainty=_EPS2_ERR,
              description="NC1(Z_{L-1}) <= ‖W_L‖²(‖Z_LΠ‖_F/s_K(W_L) + √ε2‖Z_{L-2}Π‖_F)² / "
                          "‖Z_L B‖_F²"),
    ),
    measurement=measure_last_pair,
)

NC2 = TheoremSpec(
    id="jswm-3.1-nc2",
    title="NC2 (conditioning of the penultimate class means) from interpolation and "
          "balancedness",
    source=SOURCE, provenance="derived", proof="docs/theorems.md#nc2", family="jswm",
    description="κ(Z̄_{L-1}) is at most κ(W_L) up to ε1 and ε2 terms: the class means "
                "inherit the conditioning of the last layer.",
    assumptions=(_INTERP_DELTA, _BALANCE, _RANK),
    claims=(
        Claim("nc2-eps1", "kappa_prev", "<=",
              "sqrt(kappa_WL**2*((1 + eps1/sqrt(n))/(1 - eps1/sqrt(n)))**2 "
              "+ eps2*Zbar2_op**2*s1_WL**2/(1 - eps1/sqrt(n))**2)",
              domain=("eps1 < sqrt(n)",), errors=("eps1", "eps2"), exact_value="kappa_WL",
              reparametrization={"n": "(eps1 + gap)**2"}, uncertainty=_EPS2_ERR,
              description="κ(Z̄_{L-1})² <= κ(W_L)²((1+δ)/(1-δ))² + ε2‖Z̄_{L-2}‖²s_1(W_L)²/(1-δ)², "
                          "δ = ε1/√n"),
        Claim("nc2-sharp", "kappa_prev", "<=",
              "sqrt(kappa_WL**2*kappa_L**2 + eps2*Zbar2_op**2*s1_WL**2/sK_ZbarL**2)",
              domain=("sK_ZbarL > 0",), errors=("kappa_L", "eps2"), exact_value="kappa_WL",
              exact_case={"kappa_L": 1}, uncertainty=_EPS2_ERR,
              description="κ(Z̄_{L-1})² <= κ(W_L)²κ(Z̄_L)² + ε2‖Z̄_{L-2}‖²s_1(W_L)²/s_K(Z̄_L)²"),
    ),
    measurement=measure_last_pair,
)

NC3 = TheoremSpec(
    id="jswm-3.1-nc3",
    title="NC3 per sample: alignment of each feature with its class's classifier row",
    source=SOURCE, provenance="derived", proof="docs/theorems.md#nc3", family="jswm",
    description="For every sample i of class c with |r_ic| < 1, cos(z_i, w_c) is bounded "
                "below; in the exact case it is at least 2κ/(1+κ²) (Kantorovich).",
    assumptions=(_RANK,),
    claims=(
        Claim("nc3-sample", "cos_zw", ">=",
              "(1 - abs_r)/(norm_wc*(norm_pinv_ec + norm_r/sK_WL + norm_q))",
              domain=("abs_r < 1", "sK_WL > 0"), errors=("abs_r", "norm_r", "norm_q"),
              exact_value="1/(norm_wc*norm_pinv_ec)", reparametrization={"abs_r": "1/(1 + gap)"},
              description="cos(z_i, w_c) >= (1-|r_ic|) / (‖w_c‖(‖W_L^† e_c‖ + ‖r_i‖/s_K + ‖q_i‖))"),
        Claim("nc3-kappa", "cos_zw", ">=",
              "(1 - abs_r)/((1 + kappa_WL**2)/(2*kappa_WL) + kappa_WL*norm_r + s1_WL*norm_q)",
              domain=("abs_r < 1",), errors=("abs_r", "norm_r", "norm_q"),
              exact_value="2*kappa_WL/(1 + kappa_WL**2)",
              reparametrization={"abs_r": "1/(1 + gap)"},
              description="cos(z_i, w_c) >= (1-|r_ic|) / ((1+κ²)/(2κ) + κ‖r_i‖ + s_1‖q_i‖)"),
    ),
    measurement=measure_last_pair,
)

DEPTH = TheoremSpec(
    id="jswm-3.1-depth",
    title="Conditioning through depth: κ(W_L) = κ(A)^(1/L2) for an exactly balanced head",
    source=SOURCE, provenance="derived", proof="docs/theorems.md#depth", family="jswm",
    description="If every pair of the linear head is balanced, (W_L W_Lᵀ)^{L2} = A Aᵀ, so "
                "NC2 and NC3 improve with the depth of the head.",
    assumptions=(
        Assumption("H-exact-balance",
                   "every pair of the head is balanced up to rounding: relative imbalance "
                   "<= 64·eps (proxy for exact balance)", "eps2_rel <= 64*machine_eps",
                   status=AssumptionStatus.PROXIED),
        Assumption("H-depth", "the head has at least 2 layers", "L2 >= 2"),
        _RANK,
    ),
    claims=(
        Claim("kappa-upper", "kappa_WL", "<=", "kappaA**(1/L2)", exact_value="kappaA**(1/L2)"),
        Claim("kappa-lower", "kappa_WL", ">=", "kappaA**(1/L2)", exact_value="kappaA**(1/L2)"),
        Claim("spectrum-upper", "s_WL", "<=", "s_A**(1/L2)", exact_value="s_A**(1/L2)"),
        Claim("spectrum-lower", "s_WL", ">=", "s_A**(1/L2)", exact_value="s_A**(1/L2)"),
    ),
    measurement=measure_head,
)

THEOREMS = (NC1, NC2, NC3, DEPTH)
