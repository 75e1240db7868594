r"""Measurements of JSWM's Theorem 4.4 (torch): one run, and a sweep over the weight decay.

Spec §5, docs/training.md. A symbol a run could not measure is NaN (never a stand-in value);
the specs are evaluated with ``unmeasured="undecided"``, so such a symbol makes its
hypothesis *not checkable* and its claim undecided.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from ._measure import measure_last_pair
from ._snapshots import LastPair, Sweep, TrainedNetwork

__all__ = [
    "CONVERGENCE_TOL",
    "SLOPE_GRID",
    "arch_symbols",
    "measure_activation_slope",
    "measure_lambda_sweep",
    "measure_trained_network",
]

#: a run is near-stationary when ‖∇L_λ‖ <= CONVERGENCE_TOL · λ‖θ‖ (claim (d) of Theorem 4.4)
CONVERGENCE_TOL = 0.02
#: σ' is evaluated on this many points of [-64, 64] and at ±2^k, k = 7..60 (asymptotics)
SLOPE_GRID = 2**16 + 1


def measure_activation_slope(activation) -> tuple[float, float]:
    r"""``(min σ', max σ')`` of an elementwise activation, measured on the function itself.

    ``σ'`` by autograd (float64) on ``SLOPE_GRID`` equispaced points of ``[−64, 64]`` (0
    included) and at ``±2^k``, ``k = 7, …, 60``, where every library activation has reached
    its asymptotic slope (``tanh(2^7)`` is 1 in float64). For the library activations this
    is exact (proof: docs/training.md#slope): ``γ x + (1−γ) tanh x`` gives ``(γ, 1)``, ``tanh``
    and ReLU ``(0, 1)``. For another function it measures the grid only: a dip of σ'
    narrower than the grid spacing (2e-3) or between the asymptotic points is not seen.
    """
    import torch

    x = torch.linspace(-64.0, 64.0, SLOPE_GRID, dtype=torch.float64)
    tails = torch.tensor([2.0**k for k in range(7, 61)], dtype=torch.float64)
    x = torch.cat([x, tails, -tails]).requires_grad_(True)
    with torch.enable_grad():
        (slope,) = torch.autograd.grad(activation(x).sum(), x)
    if not bool(torch.isfinite(slope).all()):
        return math.nan, math.nan
    return float(slope.min()), float(slope.max())


def _library_activation(act) -> bool:
    from ...nets import ACTIVATIONS

    return type(act) in ACTIVATIONS.values()


def arch_symbols(net, N: int) -> dict[str, float]:
    """Architecture symbols (JSWM Assumptions 4.1, 4.2; ``L2``); NaN where not measurable.

    Widths are read from the weight matrices of a :class:`~ncverify.nets.PyramidalMLP`
    (``n_1``, ``max_width_increase`` = the largest ``n_{ℓ+1} − n_ℓ`` for ``ℓ ≥ 2``, ``L``);
    another network's layer structure is not known, so they are NaN. ``gamma``/``beta``:
    :func:`measure_activation_slope` of ``net.activation`` when it is a library activation
    (exact there), else NaN, with the grid values ``gamma_grid``/``beta_grid`` reported as
    measurements whenever the network exposes an elementwise ``activation``.
    """
    from ...nets import PyramidalMLP

    nan = math.nan
    out = {
        "N": float(N),
        "n_1": nan,
        "max_width_increase": nan,
        "gamma": nan,
        "beta": nan,
        "L": nan,
        "L2": float(net.num_head_layers),
    }
    if isinstance(net, PyramidalMLP):
        widths = [int(W.shape[0]) for W in net.weights()]
        out["n_1"] = float(widths[0])
        out["L"] = float(len(widths))
        rest = widths[1:]
        out["max_width_increase"] = float(max([b - a for a, b in itertools.pairwise(rest)] + [0]))
    act = getattr(net, "activation", None)
    if act is not None and callable(act):
        try:
            g, b = measure_activation_slope(act)
        except (RuntimeError, TypeError):  # not an elementwise torch function
            g, b = nan, nan
        out["gamma_grid"], out["beta_grid"] = g, b
        if _library_activation(act):
            out["gamma"], out["beta"] = g, b
    return out


def _init_symbols(s: TrainedNetwork, X, y, K: int) -> dict[str, float]:
    """Assumption 4.3's measurable terms at step 0 (NaN without the step-0 weights)."""
    from ._training_runs import init_condition_terms

    nan = math.nan
    out = {"lambda_F": nan, "lambda_3L": nan, "lambda_low": nan, "C0": nan}
    snaps = getattr(s.run, "snapshots", {}) or {}
    net = s.run.network
    if 0 not in snaps or len(snaps[0]) < 3 or not hasattr(net, "weights"):
        return out
    import torch

    W0 = snaps[0]
    t = init_condition_terms(W0, X, net.activation)
    Z = X
    with torch.no_grad():
        L1 = net.num_nonlinear_layers
        for i, W in enumerate(W0):
            Z = Z @ W.T
            if i < L1:
                Z = net.activation(Z)
        Y = torch.nn.functional.one_hot(y, K).to(Z.dtype)
        out["C0"] = float(((Z - Y) ** 2).sum())
    out.update(lambda_F=t["lambda_F"], lambda_3L=t["lambda_3L"], lambda_low=t["lambda_low"])
    return out


def _envelope_symbols(run) -> dict[str, Any]:
    """``eps2_t``, ``env_t``, ``env_rnd_t``: every step ``t ≥ 1`` and head pair, flattened."""
    tr = run.trajectory
    env = getattr(tr, "envelope", None)
    if env is None or env.shape[0] < 2 or env.shape[1] == 0 or np.isnan(env).all():
        return {}
    return {
        "eps2_t": tr.eps2_all[1:].ravel(),
        "env_t": env[1:].ravel(),
        "env_rnd_t": tr.envelope_rounding[1:].ravel(),
    }


def measure_trained_network(s: TrainedNetwork) -> dict[str, Any]:
    """Every symbol of ``jswm-4.4`` on one run (and what ``jswm-5.3`` shares with it).

    Hypotheses: architecture (:func:`arch_symbols`), Assumption 4.3's terms at step 0
    (``lambda_F``, ``lambda_3L``, ``lambda_low``, ``C0``), ``eta_sharp_max`` = ``η`` times the
    largest exact ``λ_max(∇²L_λ)`` of the sampled steps (``η = η_t`` of ``s.step_lr`` where a
    step-size schedule gives one). Claims: the envelope arrays, the
    Theorem 3.1 NC1 symbols of the trained last linear pair (:func:`measure_last_pair`),
    ``grad_rel`` = ``‖∇L_λ‖/(λ‖θ‖)`` at ``T`` and ``conv_tol``. Also reported: ``lr``, ``lam``,
    ``steps``, ``recursion_residual``, ``nc1_tolerance``, ``kappa_A``.
    """
    run = s.run
    net, X, y = run.network, run.X, run.y
    N, K = int(X.shape[0]), int(net.num_classes)
    out: dict[str, Any] = arch_symbols(net, N)
    lr = run.config.lr
    steps_lr = s.step_lr or {}
    sharp = [steps_lr.get(k, lr) * v for k, v in (s.sharpness_steps or {}).items()]
    out.update(
        lr=run.config.lr,
        lam=run.config.weight_decay,
        steps=float(run.config.steps),
        grad_rel=run.final.get("grad_rel", math.nan),
        conv_tol=CONVERGENCE_TOL,
        recursion_residual=run.max_recursion_residual,
        nc1_tolerance=float(s.nc1_tolerance),
        kappa_A=run.final.get("kappa_A", math.nan),
        eta_sharp_max=max(sharp) if sharp else math.nan,
    )
    out.update(_init_symbols(s, X, y, K))
    if run.diverged:
        return out
    out.update(_envelope_symbols(run))
    import torch

    with torch.no_grad():
        feats = net.layer_features(X)
        heads = [W.detach() for W in net.head_weights()]
    if len(heads) >= 2 and len(feats) >= 3:
        pair = LastPair(Z=feats[-3].detach(), W_lower=heads[-2], W_upper=heads[-1], y=y)
        out.update(measure_last_pair(pair))
    return out


def _slope(x, y) -> float:
    """Least-squares slope of ``log y`` against ``log x`` (NaN unless every value is > 0)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) < 2 or not (np.all(x > 0) and np.all(y > 0) and np.all(np.isfinite(y))):
        return math.nan
    lx, ly = np.log(x), np.log(y)
    lx = lx - lx.mean()
    return float((lx * (ly - ly.mean())).sum() / (lx * lx).sum())


#: per-run symbols the sweep carries as arrays (one entry per run): the 4.4 hypotheses
SWEEP_SYMBOLS = (
    "N",
    "n_1",
    "max_width_increase",
    "gamma",
    "beta",
    "L",
    "L2",
    "lambda_F",
    "lambda_3L",
    "lambda_low",
    "C0",
    "eta_sharp_max",
)


#: the decay phase of a λ-sweep: ε2 is compared at the step t_b with η·λ_max·t_b = DECAY_TIME
DECAY_TIME = 4.0


def measure_lambda_sweep(sweep: Sweep) -> dict[str, Any]:
    """Symbols of ``jswm-4.4-rates`` on runs that differ only in λ (``sweep.parameter``).

    The 4.4 hypothesis symbols as arrays over the runs; ``slope_eps2``: least-squares slope
    of ``log ε2(t_b)`` (the largest head pair) against ``log λ`` at the step
    ``t_b = DECAY_TIME/(η·max λ)`` of the decay phase, where the theory's factor
    ``(1 − ηλ)^{2t}`` dominates (at convergence ε2 sits at a floor set by the remaining
    gradient, spec §4, about which the theorem predicts no sign); ``slope_grad``: slope of
    ``log(‖∇L_λ(θ_T)‖/(λ‖θ_T‖))`` at the last step; ``t_b``, ``num_runs``. A diverged run
    leaves the slopes NaN (undecided).
    """
    per = [measure_trained_network(r) for r in sweep.runs]
    out: dict[str, Any] = {k: np.array([p.get(k, math.nan) for p in per]) for k in SWEEP_SYMBOLS}
    lams = [r.run.config.weight_decay for r in sweep.runs]
    eta = max(r.run.config.lr for r in sweep.runs)
    t_b = round(DECAY_TIME / (eta * max(lams))) if max(lams) > 0 else 0
    diverged = any(r.run.diverged for r in sweep.runs)
    eps2 = []
    for r in sweep.runs:
        e2 = getattr(r.run.trajectory, "eps2_all", None)
        ok = e2 is not None and e2.ndim == 2 and e2.shape[1] and 0 < t_b < e2.shape[0]
        eps2.append(float(e2[t_b].max()) if ok else math.nan)
    grad = [r.run.final.get("grad_rel", math.nan) for r in sweep.runs]
    out.update(
        slope_eps2=math.nan if diverged else _slope(lams, eps2),
        slope_grad=math.nan if diverged else _slope(lams, grad),
        t_b=float(t_b),
        num_runs=float(len(per)),
        wd_min=float(min(lams)),
        wd_max=float(max(lams)),
    )
    return out
