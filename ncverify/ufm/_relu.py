"""Deep ReLU UFM: deep neural collapse (DNC) against a lower-rank configuration.

Model (``L ≥ 2`` weight matrices, ReLU ``σ`` after ``W_1 … W_{L−1}``, ``n`` samples per class):

    1/(2N)‖W_L σ(W_{L−1} ⋯ σ(W_1 H_1)) − Y‖² + λ_H/2‖H_1‖² + Σ_l λ_l/2‖W_l‖²

Súkeník, Mondelli, Lampert (NeurIPS 2023, arXiv 2305.13165) prove that for **two classes**
the unique global optimum of this deep UFM is DNC; Súkeník, Lampert, Mondelli (NeurIPS 2024,
arXiv 2405.14468) show that DNC stops being optimal "as soon as we go beyond two layers or two
classes", with a construction on the complete graph ``K_r`` (``K = C(r, 2)`` classes, rank
``r`` before the last ReLU, rank ``K`` after it). Their exact conditions and objective values
were not available to us (``docs/ufm.md#deep-relu`` says what was found). What this module
computes exactly is a comparison of two explicit configuration families of *this* model:

* **DNC**: ``H_1 = a_0Y``, ``W_l = a_l I_K`` (every ReLU inactive): the deep linear UFM with
  ``m = L + 1`` factors, ``C_DNC = n K^{L+1} ∏λ``;
* **complete graph** (SRG-type): ``B`` the ``r×K`` vertex–edge incidence matrix of ``K_r``,
  ``W_* = Bᵀ − ½·1_K1_rᵀ``; ``W_*B = BᵀB − J`` has entries 1, 0, −1 (same, adjacent,
  disjoint edges), so ``σ(W_*B) = I_K`` although ``rank(W_*B) ≤ r``. ``H_1 = a_0 B⊗1_nᵀ``,
  ``W_l = a_l I_r`` (``l ≤ L−2``), ``W_{L−1} = a_{L−1}W_*``, ``W_L = a_L I_K``:
  ``C_SRG = n K³ r^{L−1}∏λ/2``.

Both families have objective ``(1 − p)²/2 + Σ_i c_i a_i²/2`` (``p = ∏a_i``), whose minimum is
``V(C) = min_x (1 − x)²/2 + (m/2)C^{1/m}x^{2/m}`` (the deep linear reduced problem with
``r = C``), nondecreasing in ``C`` and strictly increasing where its minimiser is nonzero. So
the complete-graph configuration is strictly better than every DNC configuration iff
``C_SRG < C_DNC`` (⇔ ``r·2^{L−3} < (r−1)^{L−2}``) and the DNC optimum is nonzero.
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from ..errors import InvalidInput
from ._deep import _exact, isolate_optimal_root

__all__ = [
    "ReluComparison",
    "ReluFit",
    "compare_relu_configurations",
    "complete_graph_structure",
    "fit_relu_dufm",
    "pm_first_layer_difference",
    "relu_configuration",
    "relu_objective",
]


def _int(name: str, v, low: int, high: int) -> int:
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or not low <= v <= high:
        raise InvalidInput(f"{name}={v!r} must be an integer in [{low}, {high}]")
    return int(v)


def complete_graph_structure(r: int) -> dict:
    """The complete-graph construction for ``K_r``, verified exactly with sympy.

    Returns ``K``, ``B`` and ``W`` (sympy matrices), ``relu_is_identity`` (``σ(W B) = I_K``,
    exact), ``rank_pre`` (``rank(W B)``: ``r``, except ``r = 4`` where the eigenvalue
    ``2r − 2 − K`` on ``1`` vanishes: 3), ``B_fro_sq = 2K`` and ``W_fro_sq = Kr/4`` (exact).
    """
    import sympy as sp

    r = _int("r", r, 3, 12)
    edges = list(itertools.combinations(range(r), 2))
    K = len(edges)
    B = sp.zeros(r, K)
    for k, (i, j) in enumerate(edges):
        B[i, k] = B[j, k] = 1
    W = B.T - sp.ones(K, r) / 2
    M = W * B
    relu = M.applyfunc(lambda v: v if v > 0 else 0)
    return {
        "K": K,
        "B": B,
        "W": W,
        "relu_is_identity": relu == sp.eye(K),
        "rank_pre": M.rank(),
        "B_fro_sq": sum(v**2 for v in B),
        "W_fro_sq": sum(v**2 for v in W),
    }


def pm_first_layer_difference(K: int, L: int):
    """Objective of the "±" configuration minus that of DNC, simplified by sympy (0 expected).

    Scales ``a_0`` (``H_1``), ``a_1 … a_L`` (``W_l``), one λ per factor, ``n`` per class (all
    symbols positive). DNC: ``H_1 = a_0Y``, ``W_l = a_lI_K``. "±" (K even): ``H_1``'s columns
    ``a_0(±e_j)`` in ``R^{K/2}`` (rank K/2), ``W_1 = a_1[I; −I]`` (``‖W_1‖² = Ka_1²``), after
    which the ReLU restores ``a_0a_1I_K`` and the two networks coincide: a lower rank at the
    first layer alone gains nothing.
    """
    import sympy as sp

    K = _int("K", K, 2, 64)
    L = _int("L", L, 2, 11)
    if K % 2:
        raise InvalidInput(f"K={K} must be even for the ± configuration")
    n, lam_h = sp.symbols("n lambda_H", positive=True)
    a = sp.symbols(f"a0:{L + 1}", positive=True)
    lam = sp.symbols(f"lambda1:{L + 1}", positive=True)
    fit = (1 - sp.Mul(*a)) ** 2 / 2
    dnc = (
        fit + lam_h * n * K * a[0] ** 2 / 2 + sum(lam[i] * K * a[i + 1] ** 2 / 2 for i in range(L))
    )
    pm = (
        fit
        + lam_h * n * K * a[0] ** 2 / 2  # ‖H_1‖² = N a_0² (every column has norm a_0)
        + lam[0] * 2 * (K // 2) * a[1] ** 2 / 2
        + sum(lam[i] * K * a[i + 1] ** 2 / 2 for i in range(1, L))
    )
    return sp.simplify(pm - dnc)


@dataclass(frozen=True)
class ReluComparison:
    """Best DNC against the best complete-graph configuration (module docstring).

    ``C_dnc``, ``C_srg``, ``C_ratio`` (exact; ``C_ratio = r·2^{L−3}/(r−1)^{L−2}``), the exact
    rational enclosures ``value_dnc``/``value_srg`` of the two best values, the optimal
    products ``x_dnc``/``x_srg``; ``srg_wins``: ``C_srg < C_dnc`` and a nonzero DNC optimum
    (then ``value_srg[1] < value_dnc[0]``); ``r_star``: the deep linear threshold (m = L+1).
    """

    r: int
    K: int
    L: int
    n: int
    C_dnc: Fraction
    C_srg: Fraction
    C_ratio: Fraction
    value_dnc: tuple[Fraction, Fraction]
    value_srg: tuple[Fraction, Fraction]
    x_dnc: float
    x_srg: float
    r_star: Fraction
    srg_wins: bool


def _value_enclosure(sol: dict, m: int) -> tuple[Fraction, Fraction]:
    """Exact enclosure of the optimal value ``(1 − x)(1 + (m−1)x)/2`` (decreasing in x > q)."""
    if not sol["collapsed"]:
        half = Fraction(1, 2)
        return half, half
    lo, hi = sol["interval"]
    return (1 - hi) * (1 + (m - 1) * hi) / 2, (1 - lo) * (1 + (m - 1) * lo) / 2


def compare_relu_configurations(r: int, L: int, n: int, lambdas: Sequence) -> ReluComparison:
    """Compare DNC and the complete-graph configuration of the L-layer ReLU deep UFM exactly.

    ``r ≥ 3`` vertices (``K = r(r−1)/2`` classes), ``L ≥ 2`` weight matrices, ``n`` samples per
    class, ``lambdas = (λ_H, λ_1, …, λ_L)`` (floats as exact binary rationals).
    """
    r = _int("r", r, 3, 10**4)
    L = _int("L", L, 2, 11)
    n = _int("n", n, 1, 10**9)
    if isinstance(lambdas, (str, bytes)) or not isinstance(lambdas, Sequence):
        raise InvalidInput(f"lambdas={lambdas!r} must be a sequence of L + 1 = {L + 1} numbers")
    if len(lambdas) != L + 1:
        raise InvalidInput(
            f"lambdas has {len(lambdas)} entries; need L + 1 = {L + 1} (λ_H, λ_1, …, λ_L)"
        )
    prod = Fraction(1)
    for i, v in enumerate(lambdas):
        e = _exact(f"lambdas[{i}]", v)
        prod *= Fraction(int(e.p), int(e.q))
    K = r * (r - 1) // 2
    c_dnc = n * Fraction(K) ** (L + 1) * prod
    c_srg = n * Fraction(K) ** 3 * Fraction(r) ** (L - 1) * prod / 2
    m = L + 1
    d, s = isolate_optimal_root(c_dnc, m), isolate_optimal_root(c_srg, m)
    return ReluComparison(
        r=r,
        K=K,
        L=L,
        n=n,
        C_dnc=c_dnc,
        C_srg=c_srg,
        C_ratio=c_srg / c_dnc,
        value_dnc=_value_enclosure(d, m),
        value_srg=_value_enclosure(s, m),
        x_dnc=d["x"],
        x_srg=s["x"],
        r_star=d["r_star"],
        srg_wins=bool(c_srg < c_dnc and d["collapsed"]),
    )


def relu_configuration(cmp: ReluComparison, kind: str, lambdas: Sequence):
    """The explicit network ``(H_1, [W_1, …, W_L])`` of the best ``kind`` ("dnc" or "srg")
    configuration at its optimal scales, as float64 torch tensors (classes in blocks of n)."""
    import torch

    if kind not in ("dnc", "srg"):
        raise InvalidInput(f"kind={kind!r}; expected 'dnc' or 'srg'")
    K, L, n, r = cmp.K, cmp.L, cmp.n, cmp.r
    m = L + 1
    lam = [float(v) for v in lambdas]
    f64 = torch.float64
    if kind == "dnc":
        shapes = [torch.eye(K, dtype=f64).repeat_interleave(n, dim=1)]
        shapes += [torch.eye(K, dtype=f64) for _ in range(L)]
        C, x = float(cmp.C_dnc), cmp.x_dnc
    else:
        st = complete_graph_structure(r)
        B = torch.tensor([[float(v) for v in row] for row in st["B"].tolist()], dtype=f64)
        shapes = [B.repeat_interleave(n, dim=1)] + [torch.eye(r, dtype=f64)] * (L - 2)
        shapes += [B.T - 0.5, torch.eye(K, dtype=f64)]
        C, x = float(cmp.C_srg), cmp.x_srg
    costs = [v * float((S**2).sum()) for v, S in zip(lam, shapes, strict=True)]
    # AM–GM: c_i a_i² = C^{1/m} x^{2/m} for every factor at the optimum, ∏a_i = x
    a = [math.sqrt(C ** (1 / m) * x ** (2 / m) / c) if x > 0 else 0.0 for c in costs]
    mats = [ai * S for ai, S in zip(a, shapes, strict=True)]
    return mats[0], mats[1:]


def relu_objective(H1, weights, n: int, lambdas: Sequence) -> float:
    """The deep ReLU UFM objective at explicit matrices (float64), classes in blocks of ``n``."""
    import torch

    K = weights[-1].shape[0]
    N = H1.shape[1]
    Y = torch.eye(K, dtype=torch.float64).repeat_interleave(n, dim=1)
    X = H1
    for W in weights[:-1]:
        X = torch.relu(W @ X)
    Z = weights[-1] @ X
    reg = sum(float(v) * float((M**2).sum()) for v, M in zip(lambdas, [H1, *weights], strict=True))
    return float(((Z - Y) ** 2).sum()) / (2 * N) + reg / 2


@dataclass(frozen=True)
class ReluFit:
    """A deep ReLU UFM trained by full-batch gradient descent (:func:`fit_relu_dufm`).

    ``objective``: final objective; ``grad_norm``: Frobenius norm of the full gradient at the
    end; ``ranks_pre[l]``/``ranks_post[l]``: numerical ranks of the class-mean matrices
    before / after the ReLU of layer ``l + 1`` (``l = 0 … L−2``; relative tolerance
    ``rank_tol`` of the largest singular value); ``low_rank``: the last hidden layer's
    pre-activation rank is below K (DNC has rank K everywhere).
    """

    K: int
    L: int
    n: int
    width: int
    lambdas: tuple[float, ...]
    lr: float
    steps: int
    seed: int
    objective: float
    grad_norm: float
    ranks_pre: tuple[int, ...]
    ranks_post: tuple[int, ...]
    low_rank: bool


def fit_relu_dufm(
    K: int,
    L: int,
    n: int,
    lambdas: Sequence,
    *,
    width: int = 16,
    lr: float = 0.5,
    steps: int = 5000,
    seed: int = 0,
    init_scale: float = 1.0,
    rank_tol: float = 1e-3,
) -> ReluFit:
    """Train the L-layer deep ReLU UFM by plain full-batch GD from a seeded Gaussian start.

    ``lambdas = (λ_H, λ_1, …, λ_L)``; every hidden layer has ``width`` units; float64, one
    thread; weights start at ``N(0, init_scale²/fan_in)``, features at ``N(0, init_scale²)``.
    Small by design (Súkeník et al. 2024 train K = 10, width 30, lr 0.5; here the default is
    the smallest complete-graph case that beats DNC, ``K = 6``).
    """
    import torch

    from ..errors import TrainingDiverged

    K = _int("K", K, 2, 64)
    L = _int("L", L, 2, 11)
    n = _int("n", n, 1, 1000)
    width = _int("width", width, 1, 4096)
    steps = _int("steps", steps, 1, 10**7)
    if isinstance(lambdas, (str, bytes)) or not isinstance(lambdas, Sequence):
        raise InvalidInput(f"lambdas={lambdas!r} must be a sequence of L + 1 = {L + 1} numbers")
    if len(lambdas) != L + 1:
        raise InvalidInput(f"lambdas has {len(lambdas)} entries; need L + 1 = {L + 1}")
    lam = [float(_exact(f"lambdas[{i}]", v)) for i, v in enumerate(lambdas)]
    if not (isinstance(lr, float | int) and math.isfinite(lr) and lr > 0):
        raise InvalidInput(f"lr={lr!r} must be a finite positive step size")
    f64 = torch.float64
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        gen = torch.Generator().manual_seed(int(seed))
        N = n * K
        Y = torch.eye(K, dtype=f64).repeat_interleave(n, dim=1)
        dims = [width] * L + [K]
        H1 = (init_scale * torch.randn(width, N, generator=gen, dtype=f64)).requires_grad_(True)
        Ws = [
            (init_scale * torch.randn(dims[i + 1], dims[i], generator=gen, dtype=f64))
            .div_(math.sqrt(dims[i]))
            .requires_grad_(True)
            for i in range(L)
        ]
        params = [H1, *Ws]

        def forward():
            X, pre = H1, []
            for W in Ws[:-1]:
                P = W @ X
                pre.append(P)
                X = torch.relu(P)
            return Ws[-1] @ X, pre

        def objective():
            Z, _ = forward()
            reg = sum(v * (M**2).sum() for v, M in zip(lam, params, strict=True))
            return ((Z - Y) ** 2).sum() / (2 * N) + reg / 2

        for step in range(steps):
            f = objective()
            if not torch.isfinite(f):
                raise TrainingDiverged(
                    f"deep ReLU UFM GD diverged at step {step} (lr={lr}); use a smaller lr",
                    step=step,
                )
            grads = torch.autograd.grad(f, params)
            with torch.no_grad():
                for P, G in zip(params, grads, strict=True):
                    P -= lr * G
        f = objective()
        grads = torch.autograd.grad(f, params)
        gnorm = math.sqrt(sum(float((G**2).sum()) for G in grads))
        with torch.no_grad():
            _, pre = forward()
            ranks_pre, ranks_post = [], []
            for P in pre:
                means = P.reshape(P.shape[0], K, n).mean(dim=2)
                for M, out in ((means, ranks_pre), (torch.relu(means), ranks_post)):
                    sv = torch.linalg.svdvals(M)
                    out.append(int((sv > rank_tol * sv[0]).sum()) if sv[0] > 0 else 0)
    finally:
        torch.set_num_threads(threads)
    return ReluFit(
        K=K,
        L=L,
        n=n,
        width=width,
        lambdas=tuple(lam),
        lr=float(lr),
        steps=steps,
        seed=int(seed),
        objective=float(f.detach()),
        grad_norm=gnorm,
        ranks_pre=tuple(ranks_pre),
        ranks_post=tuple(ranks_post),
        low_rank=bool(ranks_pre and ranks_pre[-1] < K),
    )
