"""JSWM's results about training (spec §5) as data: Theorem 4.4, Theorem 5.2, Proposition 5.3.

Source: Jacot, Súkeník, Wang, Mondelli, "Wide Neural Networks Trained with Weight Decay
Provably Exhibit Neural Collapse", ICLR 2025, arXiv 2410.04887. All three are ``qualitative``
here (the paper's step sizes and constants are not usable numerically); the numbers they are
judged with are either reused from :mod:`ncverify.catalog.jswm` (the Theorem 3.1 NC1 bound) or
derived in ``docs/training.md`` (the imbalance tolerance of κ(W_L) ≈ κ(A)^{1/L2} and the
stability bound on κ(W_L)). Snapshots are training runs (:class:`ncverify.TrainingRun`):

* ``jswm-4.4`` on :class:`TrainedNetwork` -- one run: the NC1 claims of Theorem 3.1 on the
  trained network's measured quantities, NC1 within the profile's tolerance, and the exact
  one-step balancedness recursion at every step;
* ``jswm-5.2`` on :class:`DepthSweep` -- runs of the same nonlinear part with ``L2 = 2, 3, …``:
  κ(W_L) does not increase with ``L2`` and κ(W_L) ≈ κ(A)^{1/L2} within the imbalance bound;
* ``jswm-5.3`` on :class:`TrainedNetwork` with a sharpness: stability ``η·λ_max ≤ 2`` as an
  assumption, κ(W_L) bounded by ``s_1(W_L) √(N(2/η − λ)) / s_K(Z_L)``.

:func:`evaluate_training` judges a spec on measured values with the per-run rules: the
architecture assumptions come from :func:`ncverify.architecture_assumptions` (not checkable
when the network does not declare them), an assumption whose symbols could not be measured
is *not checkable*, and a diverged run is *inconclusive* ("diverged at step t").
Importing this module imports neither torch nor sympy.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .._evaluation import AssumptionOutcome, AssumptionStatus, ClaimOutcome, Evaluation
from .._spec import Assumption, Claim, Source, TheoremSpec
from .jswm import NC1

__all__ = [
    "ARCH_ASSUMPTIONS",
    "DEPTH_TREND",
    "STABILITY",
    "THEOREMS",
    "TRAINING_NC1",
    "TREND_RTOL",
    "DepthSweep",
    "TrainedNetwork",
    "evaluate_training",
    "imbalance_bound",
    "measure_depth_sweep",
    "measure_stable_run",
    "measure_trained_network",
]

SOURCE_44 = Source("Jacot, Súkeník, Wang, Mondelli, ICLR 2025", "2410.04887", "Theorem 4.4")
SOURCE_52 = Source("Jacot, Súkeník, Wang, Mondelli, ICLR 2025", "2410.04887", "Theorem 5.2")
SOURCE_53 = Source("Jacot, Súkeník, Wang, Mondelli, ICLR 2025", "2410.04887",
                   "Proposition 5.3")

#: relative slack of the qualitative "κ(W_L) does not increase with L2" claim: GD reaches
#: near-minimisers, not the global minimisers Theorem 5.2 is about
TREND_RTOL = 0.05
#: a run counts as converged when ‖∇L_λ‖ <= CONVERGENCE_TOL · λ‖θ‖ (weight decay dominates)
CONVERGENCE_TOL = 0.1


@dataclass(frozen=True, eq=False)
class TrainedNetwork:
    """A training run (:class:`ncverify.TrainingRun`) to judge, with what it needs.

    ``nc1_tolerance``: the profile's tolerance on NC1 of ``Z_{L−1}``; ``sharpness``: a
    :class:`ncverify.Sharpness` (Proposition 5.3 only); ``architecture``: how the network was
    named (``"module:factory"`` or a description); ``inputs``: how to rebuild the instance.
    """

    run: Any
    nc1_tolerance: float = 0.1
    sharpness: Any = None
    architecture: str = ""
    inputs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class DepthSweep:
    """Runs of the same nonlinear part (same widths, seed, data, λ, η) with ``L2 = 2, 3, …``."""

    runs: Sequence[Any]
    inputs: Mapping[str, Any] = field(default_factory=dict)


# ----------------------------------------------------------------------------- measuring
def _arch_symbols(net, N: int) -> dict[str, float]:
    """Symbols of the architecture assumptions; NaN where the network does not declare them."""
    nan = math.nan
    out = {"N": float(N), "n_1": nan, "max_width_increase": nan, "gamma": nan, "beta": nan,
           "L2": float(net.num_head_layers)}
    fn = getattr(net, "nonlinear_widths", None)
    widths = fn() if callable(fn) else None
    if widths is not None:
        head = [int(W.shape[0]) for W in net.head_weights()]
        all_w = [*widths, *head]
        out["n_1"] = float(all_w[0])
        rest = all_w[1:]
        out["max_width_increase"] = float(max([b - a for a, b in itertools.pairwise(rest)] + [0]))
    fn = getattr(net, "activation_slope_range", None)
    rng = fn() if callable(fn) else None
    if rng is not None:
        out["gamma"], out["beta"] = float(rng[0]), float(rng[1])
    return out


def measure_trained_network(s: TrainedNetwork) -> dict[str, Any]:
    """Every symbol of ``jswm-4.4`` (and ``jswm-5.3`` when ``s.sharpness`` is set).

    From the run: ``lambda_F``, ``Z1_s1``, ``Z1_dim`` (first-layer features at init),
    ``grad_rel``, ``recursion_residual`` (max relative residual of the one-step recursion),
    ``nc1_tolerance``, architecture symbols, and every symbol of the Theorem 3.1 NC1 spec
    measured on the trained last linear pair (:func:`ncverify.catalog.jswm.measure_last_pair`;
    only when ``L2 ≥ 2``). A diverged run gives NaN for what it could not measure.
    """
    run = s.run
    net, X, y = run.network, run.X, run.y
    N = int(X.shape[0])
    out: dict[str, Any] = _arch_symbols(net, N)
    out.update(
        lambda_F=run.initial.get("lambda_F", math.nan),
        Z1_s1=run.initial.get("Z1_s1", math.nan),
        Z1_dim=run.initial.get("Z1_dim", math.nan),
        grad_rel=run.final.get("grad_rel", math.nan),
        conv_tol=CONVERGENCE_TOL,
        recursion_residual=run.max_recursion_residual,
        nc1_tolerance=float(s.nc1_tolerance),
        lr=run.config.lr, lam=run.config.weight_decay,
        kappa_A=run.final.get("kappa_A", math.nan),
    )
    if run.diverged:
        return out
    import torch

    from .jswm import LastPair, measure_last_pair

    with torch.no_grad():
        feats = net.layer_features(X)
        heads = [W.detach() for W in net.head_weights()]
    if len(heads) >= 2 and len(feats) >= 3:
        pair = LastPair(Z=feats[-3].detach(), W_lower=heads[-2], W_upper=heads[-1], y=y)
        out.update(measure_last_pair(pair))
        out["kappa_A_root"] = out["kappa_A"] ** (1.0 / len(heads))
    if s.sharpness is not None:
        out.update(measure_stable_run(s, feats=feats, heads=heads))
    return out


def measure_stable_run(s: TrainedNetwork, *, feats=None, heads=None) -> dict[str, float]:
    """Symbols of ``jswm-5.3``: ``sharpness`` (the larger of the power-iteration estimate and
    the exact top eigenvalue of the ``W_L`` block, ``s_1(Z_{L−1})²/N + λ``, a lower bound of
    ``λ_max``), ``lr``, ``lam``, ``N``, ``K``, ``s1_WL``, ``kappa_WL``, ``sK_ZL``, ``eps1``."""
    import torch

    run = s.run
    net, X, y = run.network, run.X, run.y
    N, K = X.shape[0], net.num_classes
    if feats is None:
        with torch.no_grad():
            feats = net.layer_features(X)
            heads = [W.detach() for W in net.head_weights()]
    lam, lr = run.config.weight_decay, run.config.lr
    Zp = feats[-2].detach()
    block = float(torch.linalg.matrix_norm(Zp, 2)) ** 2 / N + lam
    sv_W = torch.linalg.svdvals(heads[-1])
    sv_Z = torch.linalg.svdvals(feats[-1].detach())
    estimate = float(s.sharpness.value)
    Y = torch.nn.functional.one_hot(y, K).to(feats[-1].dtype)
    return {
        "sharpness": max(estimate, block), "sharpness_estimate": estimate,
        "sharpness_block": block, "sharpness_converged": float(s.sharpness.converged),
        "lr": lr, "lam": lam, "N": float(N), "K": float(K),
        "s1_WL": float(sv_W[0]), "kappa_WL": float(sv_W[0] / sv_W[K - 1]),
        "sK_ZL": float(sv_Z[K - 1]),
        "eps1": float(torch.linalg.matrix_norm(feats[-1].detach() - Y)),
    }


def imbalance_bound(weights) -> float:
    r"""``E`` with ``‖AAᵀ − (W_LW_Lᵀ)^{L2}‖_op ≤ E`` for a head ``W_1, …, W_m`` (``m = L2``).

    ``E = Σ_{k=1}^{m−1} (Π_{j>k} s_j²) ((s_{k+1}² + ε_k)^k − s_{k+1}^{2k})`` with
    ``s_j = ‖W_j‖_op`` and ``ε_k = ‖W_{k+1}ᵀW_{k+1} − W_kW_kᵀ‖_op`` (proof in
    ``docs/training.md``); ``E = 0`` for an exactly balanced head.
    """
    import torch

    from .. import metrics as M

    Ws = [W.detach() for W in weights]
    m = len(Ws)
    s = [float(torch.linalg.matrix_norm(W, 2)) for W in Ws]
    total = 0.0
    for k in range(1, m):  # pairs (W_k, W_{k+1}) in 1-based numbering
        eps_k = float(M.balancedness(Ws[k - 1], Ws[k]))
        q = s[k] ** 2
        prod = math.prod(x * x for x in s[k:])
        total += prod * ((q + eps_k) ** k - q ** k)
    return total


def measure_depth_sweep(s: DepthSweep) -> dict[str, Any]:
    """Symbols of ``jswm-5.2`` (arrays over the runs, ordered by ``L2``): ``kappa_WL``,
    ``sA1``, ``sAK`` (extreme singular values of ``A``), ``E`` (:func:`imbalance_bound`),
    ``L2``; ``kappa_prev``/``kappa_next`` (consecutive depths); the largest ``grad_rel``,
    ``trend_rtol``, ``conv_tol``, ``min_L2`` and the architecture symbols of the first run."""
    import numpy as np
    import torch

    from .._linalg import head_product

    runs = sorted(s.runs, key=lambda r: r.network.num_head_layers)
    kappa, sA1, sAK, E, L2 = [], [], [], [], []
    for r in runs:
        heads = [W.detach() for W in r.network.head_weights()]
        K = heads[-1].shape[0]
        A = head_product(heads)
        sw = torch.linalg.svdvals(heads[-1])
        sa = torch.linalg.svdvals(A)
        kappa.append(float(sw[0] / sw[K - 1]))
        sA1.append(float(sa[0]))
        sAK.append(float(sa[K - 1]))
        E.append(imbalance_bound(heads))
        L2.append(float(len(heads)))
    first = runs[0]
    out: dict[str, Any] = _arch_symbols(first.network, int(first.X.shape[0]))
    out.update(
        kappa_WL=np.array(kappa), sA1=np.array(sA1), sAK=np.array(sAK), E=np.array(E),
        L2=np.array(L2), kappa_prev=np.array(kappa[:-1]), kappa_next=np.array(kappa[1:]),
        min_L2=min(L2), trend_rtol=TREND_RTOL, conv_tol=CONVERGENCE_TOL,
        grad_rel=max(r.final.get("grad_rel", math.nan) for r in runs),
    )
    return out


# ----------------------------------------------------------------------------- specs
_WIDE = Assumption("wide_first_layer", "JSWM Assumption 4.1: n_1 >= N", "n_1 >= N")
_PYRAMID = Assumption("non_increasing_widths", "JSWM Assumption 4.1: n_2 >= n_3 >= ... >= n_L",
                      "max_width_increase <= 0")
_SLOPE = Assumption("activation_slope", "JSWM Assumption 4.2: σ' ∈ [γ, 1] with γ > 0 "
                    "(β = sup σ' <= 1 is judged with it)", "gamma > 0")
_HEAD = Assumption("deep_linear_head", "JSWM §1: a linear head of L2 >= 2 layers", "L2 >= 2")
#: names of the assumptions measured by :func:`ncverify.architecture_assumptions`
ARCH_ASSUMPTIONS = ("wide_first_layer", "non_increasing_widths", "activation_slope",
                    "deep_linear_head")
_INIT = Assumption(
    "initialisation", "JSWM Assumption 4.3 (Nguyen & Mondelli 2020), measurable part: "
    "λ_F = s_min(Z_1(0)) > 0, decided against the rank tolerance max(N, n_1)·eps·s_1(Z_1(0))",
    "lambda_F > Z1_dim*machine_eps*Z1_s1", status=AssumptionStatus.PROXIED)
_INIT_REST = Assumption(
    "initialisation_rest", "JSWM Assumption 4.3, rest: the lower bounds on the smallest "
    "singular values of the later weights relative to the initial loss (not checked)",
    status=AssumptionStatus.NOT_CHECKABLE)
_CONVERGED = Assumption(
    "converged", "the run reached a near-stationary point: ‖∇L_λ‖ <= conv_tol·λ‖θ‖ "
    "(proxy for the limit Theorem 4.4 describes)", "grad_rel <= conv_tol",
    status=AssumptionStatus.PROXIED)

TRAINING_NC1 = TheoremSpec(
    id="jswm-4.4",
    title="GD with weight decay reaches interpolation and balancedness, hence NC1",
    source=SOURCE_44, provenance="qualitative", family="jswm-training",
    description="Under Assumptions 4.1-4.3, gradient descent with weight decay reaches small "
                "ε1 and ε2; by Theorem 3.1 the penultimate layer then exhibits NC1. Judged on "
                "the trained network with the jswm-3.1-nc1 claims (reused), the profile's NC1 "
                "tolerance and the exact one-step balancedness recursion at every step.",
    assumptions=(_WIDE, _PYRAMID, _SLOPE, _HEAD, _INIT, _INIT_REST, _CONVERGED),
    claims=(
        *NC1.claims,
        Claim("nc1-tolerance", "nc1_prev", "<=", "nc1_tolerance",
              description="NC1(Z_{L-1}) within the profile's tolerance"),
        Claim("interpolation", "eps1", "<=", "sqrt(N*(K - 1)/K)",
              description="ε1 small enough for Theorem 3.1: ε1 <= √(N(K-1)/K)"),
        Claim("balancedness-recursion", "recursion_residual", "<=", "64*machine_eps",
              description="D⁺ = (1-ηλ)²D + η²(G_{l+1}ᵀG_{l+1} - G_lG_lᵀ) at every step, "
                          "relative residual within rounding"),
    ),
    measurement=measure_trained_network,
)

DEPTH_TREND = TheoremSpec(
    id="jswm-5.2",
    title="κ(W_L) does not grow with the depth of the linear head; κ(W_L) ≈ κ(A)^(1/L2)",
    source=SOURCE_52, provenance="qualitative", family="jswm-training",
    description="Near-global minimisers have κ(W_L) bounded by exp(c/(2 L2)), so κ(W_L) "
                "decreases towards 1 as L2 grows. Judged on runs of the same nonlinear part "
                "with L2 = 2, 3, 4 (qualitative slack trend_rtol); κ(W_L) ≈ κ(A)^(1/L2) is "
                "checked with the derived imbalance tolerance E (docs/training.md).",
    assumptions=(_WIDE, _PYRAMID, _SLOPE,
                 Assumption("deep_linear_head", "every run has L2 >= 2", "min_L2 >= 2"),
                 _CONVERGED),
    claims=(
        Claim("kappa-trend", "kappa_next", "<=", "kappa_prev*(1 + trend_rtol)",
              description="κ(W_L) at depth L2+1 <= κ(W_L) at depth L2 (qualitative slack)"),
        Claim("kappa-balanced-upper", "kappa_WL", "<=",
              "((sA1**2 + E)/(sAK**2 - E))**(1/(2*L2))", domain=("sAK**2 > E",),
              errors=("E",), exact_value="(sA1/sAK)**(1/L2)",
              description="κ(W_L)^(2L2) <= (s_1(A)² + E)/(s_K(A)² - E) (Weyl)"),
        Claim("kappa-balanced-lower", "kappa_WL", ">=",
              "((sA1**2 - E)/(sAK**2 + E))**(1/(2*L2))", domain=("sA1**2 > E",),
              errors=("E",), exact_value="(sA1/sAK)**(1/L2)",
              description="κ(W_L)^(2L2) >= (s_1(A)² - E)/(s_K(A)² + E) (Weyl)"),
    ),
    measurement=measure_depth_sweep,
)

STABILITY = TheoremSpec(
    id="jswm-5.3",
    title="Solutions stable under a large learning rate have bounded κ(W_L)",
    source=SOURCE_53, provenance="qualitative", family="jswm-training",
    description="A solution with η·λ_max(∇²L_λ) <= 2 that interpolates with bounded weights "
                "has bounded κ(W_L). Explicit form checked (docs/training.md): the W_L block "
                "of the Hessian gives s_1(Z_{L-1})² <= N(2/η - λ), hence "
                "κ(W_L) <= s_1(W_L)√(N(2/η - λ))/s_K(Z_L).",
    assumptions=(
        Assumption("stable", "η·λ_max(∇²L_λ) <= 2; λ_max by power iteration on Hessian-vector "
                   "products, at least the exact top eigenvalue of the W_L block",
                   "sharpness*lr <= 2", status=AssumptionStatus.PROXIED),
        Assumption("interpolates", "ε1 < √(N(K-1)/K)", "eps1 < sqrt(N*(K - 1)/K)"),
        Assumption("output-rank", "Z_L has rank K", "sK_ZL > 0"),
    ),
    claims=(
        Claim("kappa-stable", "kappa_WL", "<=", "s1_WL*sqrt(N*(2/lr - lam))/sK_ZL",
              domain=("2/lr > lam", "sK_ZL > 0"),
              description="κ(W_L) <= s_1(W_L)√(N(2/η - λ))/s_K(Z_L)"),
    ),
    measurement=None,
)

THEOREMS = (TRAINING_NC1, DEPTH_TREND, STABILITY)


# ----------------------------------------------------------------------------- judging
def _values(measured: Mapping[str, Any]) -> dict[str, Any]:
    import numpy as np

    out: dict[str, Any] = {}
    for k, v in measured.items():
        arr = np.asarray(v, dtype=float)
        out[k] = float(arr) if arr.ndim == 0 else arr
    return out


def _measurable(values: Mapping[str, Any], names) -> bool:
    import numpy as np

    return all(n in values and bool(np.all(np.isfinite(values[n]))) for n in names)


def evaluate_training(
    spec: TheoremSpec,
    measured: Mapping[str, Any],
    *,
    seed: int | None,
    inputs: Mapping[str, Any],
    arch_outcomes: Mapping[str, AssumptionOutcome] | None = None,
    diverged_step: int | None = None,
    dtype: str = "float64",
    architecture: str = "",
) -> Evaluation:
    """Judge ``spec`` on the measured values of a training run (see the module docstring).

    ``arch_outcomes`` (from :func:`ncverify.architecture_assumptions` ``.to_outcome()``)
    replace the spec's architecture assumptions of the same name. An assumption or claim whose
    symbols are missing or non-finite is *not checkable* / undecided. ``diverged_step`` makes
    the verdict inconclusive with reason ``"diverged at step t"``.
    """
    values = _values(measured)
    arch_outcomes = dict(arch_outcomes or {})
    assumptions = []
    for a in spec.assumptions:
        if a.name in arch_outcomes:
            assumptions.append(arch_outcomes[a.name])
        elif a.status is AssumptionStatus.NOT_CHECKABLE:
            assumptions.append(a.evaluate(values, dtype=dtype))
        elif not _measurable(values, a.symbols):
            assumptions.append(AssumptionOutcome(
                a.name, AssumptionStatus.NOT_CHECKABLE, None, {},
                f"{a.predicate}: not measurable on this network/run"))
        else:
            assumptions.append(a.evaluate(values, dtype=dtype))
    claims = []
    record = {k: v for k, v in values.items() if isinstance(v, float)}
    for c in spec.claims:
        if not all(n in values for n in c.symbols):
            claims.append(ClaimOutcome(c.name, math.nan, None, c.relation, None, True,
                                       c.expression))
            continue
        outcome, more = c.evaluate(values, dtype=dtype)
        claims.append(outcome)
        record.update(more)
    reason = None if diverged_step is None else f"diverged at step {diverged_step}"
    return Evaluation.build(
        theorem_id=spec.id, source=str(spec.source), provenance=spec.provenance,
        assumptions=assumptions, claims=claims, inconclusive_reason=reason, seed=seed,
        inputs=dict(inputs), measured=record, architecture=architecture,
    )
