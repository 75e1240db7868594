"""Minority collapse in the layer-peeled model (Fang, He, Long, Su, PNAS 2021): convex SDP.

Layer-peeled model (LPM; arXiv 2101.12699) with ``K_A`` majority classes of ``n_A`` samples
and ``K_B`` minority classes of ``n_B`` (imbalance ratio ``R = n_A/n_B``, ``K = K_A + K_B``)::

    min (1/N)Σ_k Σ_i CE(W h_{k,i}, k)
    s.t. (1/K)Σ_k ‖w_k‖² ≤ E_W,   (1/K)Σ_k (1/n_k)Σ_i ‖h_{k,i}‖² ≤ E_H

Replacing each feature by its class mean keeps both constraints (Jensen) and does not raise
the loss (CE is convex in h), so only class means ``h_k`` matter; with the Gram matrix
``X = [h_1 … h_K, w_1 … w_K]ᵀ[…] ⪰ 0`` (features first, as in the authors' code) the problem
is the SDP::

    min Σ_k π_k CE(X[k, K:], k)   s.t. tr X_HH ≤ K E_H,  tr X_WW ≤ K E_W,  X ⪰ 0

with ``π_k = n_k/N``; it is exact whenever the feature dimension is at least ``2K``
(``docs/ufm.md#minority-collapse``). The SDP itself is the one of the authors' script
(``HornHehhf/LPM/optimization.py``), which weights majority CE by 1 and minority CE by ``1/R``
(``N/n_A`` times ours: same minimisers).

Dual bound (independent of the solver's duals): for any distributions ``p_k``,
``OPT ≥ Σ_k π_k H(p_k) − K√(E_W E_H)·‖M‖_op`` with column k of ``M`` equal to
``π_k(p_k − e_k)``; evaluated at ``p_k = softmax`` of the logits. The same bound applies to a
trained point (:func:`lpm_lower_bound`), where ``M`` is the gradient of the data term with
respect to the class-level logits.
"""

from __future__ import annotations

import math
import numbers
import time
from dataclasses import dataclass, field

import numpy as np

from ..errors import InvalidInput, ProblemTooLarge, SolverFailed
from ._closed import _check_lambda
from ._cvx import SOLVERS, solve_checked

__all__ = ["LPMCertificate", "LPMFit", "certify_lpm", "fit_lpm", "lpm_lower_bound", "lpm_weights"]

MAX_CLASSES = 40


@dataclass(frozen=True)
class LPMCertificate:
    """Solution of the LPM SDP with an independent dual bound.

    ``value``: objective at the returned (PSD-projected, budget-feasible) ``X``;
    ``dual_bound``; ``gap``; ``minority_cos``/``majority_cos``: mean pairwise cosine
    ``⟨w_i, w_j⟩/(‖w_i‖‖w_j‖)`` of distinct minority / majority classifiers (``nan`` for a
    single class or a zero classifier); ``minority_spread``: ``max_{i,j}‖w_i − w_j‖²`` over
    minority pairs divided by the mean ``‖w_k‖²`` (0 at minority collapse);
    ``minority_norm_sq``/``majority_norm_sq``: mean ``‖w_k‖²``; ``X``: the Gram matrix.
    """

    K_A: int
    K_B: int
    R: float
    E_W: float
    E_H: float
    value: float
    dual_bound: float
    gap: float
    minority_cos: float
    majority_cos: float
    minority_spread: float
    minority_norm_sq: float
    majority_norm_sq: float
    solver: str
    status: str
    inaccurate: bool
    solve_time: float
    X: np.ndarray = field(repr=False, compare=False)


def lpm_weights(K_A: int, K_B: int, R: float) -> np.ndarray:
    """``π_k = n_k/N`` for ``n_A = R``, ``n_B = 1`` (``R = inf``: minority weight 0)."""
    nA, nB = (1.0, 0.0) if math.isinf(R) else (float(R), 1.0)
    pi = np.array([nA] * K_A + [nB] * K_B)
    return pi / pi.sum()


def _ce_rows(Z) -> np.ndarray:
    zmax = Z.max(axis=1)
    return zmax + np.log(np.exp(Z - zmax[:, None]).sum(axis=1)) - np.diag(Z)


def lpm_lower_bound(logits, pi, E_W, E_H) -> float:
    """``Σ_k π_k H(p_k) − K√(E_W E_H)‖M‖_op`` at ``p_k = softmax(logits[k])``.

    ``logits``: K×K, row k = the logits ``(⟨h_k, w_j⟩)_j`` of class k's (mean) feature. A
    lower bound on the LPM optimum whatever ``logits`` is (``docs/ufm.md#minority-collapse``).
    """
    Z = np.asarray(logits, dtype=np.float64)
    K = Z.shape[0]
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    P = E / E.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        ent = -np.where(P > 0, P * np.log(P), 0.0).sum(axis=1)
    M = (P - np.eye(K)).T * pi[None, :]
    return float((pi * ent).sum()) - K * math.sqrt(E_W * E_H) * float(np.linalg.norm(M, ord=2))


def _pairs(G: np.ndarray, idx: list[int]) -> tuple[float, float]:
    cos, spread = [], []
    for a in idx:
        for b in idx:
            if a < b:
                den = math.sqrt(max(G[a, a], 0.0) * max(G[b, b], 0.0))
                cos.append(G[a, b] / den if den > 1e-12 else math.nan)
                spread.append(G[a, a] + G[b, b] - 2 * G[a, b])
    if not cos:
        return math.nan, math.nan
    scale = float(np.mean([G[k, k] for k in idx]))
    return float(np.mean(cos)), (max(spread) / scale if scale > 0 else math.nan)


def _check_counts(K_A, K_B) -> tuple[int, int]:
    for name, v in (("K_A", K_A), ("K_B", K_B)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
            raise InvalidInput(f"{name}={v!r} must be an integer >= 1 (number of classes)")
    if K_A + K_B > MAX_CLASSES:
        raise ProblemTooLarge(
            f"K_A + K_B = {K_A + K_B} > {MAX_CLASSES}: the LPM SDP is a dense 2K×2K block "
            f"(interior point, memory ∝ K⁴); use fewer classes"
        )
    return int(K_A), int(K_B)


def _check_ratio(R) -> float:
    if isinstance(R, float) and math.isinf(R) and R > 0:
        return math.inf
    R = _check_lambda("R", R)
    if R < 1:
        raise InvalidInput(f"R={R!r} must be >= 1 (n_A/n_B, majority over minority)")
    return R


def certify_lpm(
    K_A: int,
    K_B: int,
    R: float,
    *,
    E_W: float = 1.0,
    E_H: float = 5.0,
    solver: str = "CLARABEL",
    tol: float = 1e-9,
    max_iters: int = 10_000,
    max_bytes: int = 2 * 1024**3,
) -> LPMCertificate:
    """Solve the LPM SDP for the imbalance ratio ``R = n_A/n_B ≥ 1`` (``math.inf`` allowed).

    Defaults ``E_W = 1``, ``E_H = 5`` are the budgets of the authors' Figure 3 script. The
    returned ``X`` is projected onto the PSD cone and rescaled into the budgets, so ``value``
    is attained by a feasible point; ``dual_bound`` is the bound of the module docstring.
    Raises :class:`ProblemTooLarge` (before building anything) for ``K > 40`` or when the
    interior-point scaling (``≈ 8·(d(d+1)/2)²`` bytes, ``d = 2K``) exceeds ``max_bytes``;
    :class:`SolverFailed` for unusable solver statuses.
    """
    import cvxpy as cp

    K_A, K_B = _check_counts(K_A, K_B)
    R = _check_ratio(R)
    ew, eh = _check_lambda("E_W", E_W), _check_lambda("E_H", E_H)
    if solver not in SOLVERS:
        raise InvalidInput(f"solver={solver!r}; expected one of {', '.join(SOLVERS)}")
    K = K_A + K_B
    d = 2 * K
    need = 8 * (d * (d + 1) // 2) ** 2 + 8 * 64 * d * d
    if need > max_bytes:
        raise ProblemTooLarge(
            f"LPM SDP with K={K} needs about {need / 2**30:.2f} GiB (> max_bytes="
            f"{max_bytes / 2**30:.2f} GiB); use fewer classes"
        )
    pi = lpm_weights(K_A, K_B, R)
    X = cp.Variable((d, d), symmetric=True)
    logits = X[:K, K:]  # row k: logits of class k's feature, entry j = ⟨h_k, w_j⟩
    terms = [pi[k] * (cp.log_sum_exp(logits[k, :]) - logits[k, k]) for k in range(K) if pi[k] > 0]
    cons = [cp.trace(X[:K, :K]) <= K * eh, cp.trace(X[K:, K:]) <= K * ew, X >> 0]
    prob = cp.Problem(cp.Minimize(cp.sum(cp.hstack(terms))), cons)
    if solver == "SCS":
        opts = dict(eps_abs=tol, eps_rel=tol, max_iters=max_iters * 10)
    else:
        opts = dict(tol_gap_abs=tol, tol_gap_rel=tol, tol_feas=tol, max_iter=max_iters)
    t0 = time.perf_counter()
    status, inaccurate, _, _ = solve_checked(prob, solver, **opts)
    wall = time.perf_counter() - t0
    if X.value is None or not np.all(np.isfinite(X.value)):
        raise SolverFailed(
            f"{solver} returned no finite Gram matrix (status {status!r})",
            solver=solver,
            status=status,
        )
    Xv = np.asarray(X.value, dtype=np.float64)
    Xv = (Xv + Xv.T) / 2
    ev, V = np.linalg.eigh(Xv)
    Xp = (V * np.maximum(ev, 0.0)) @ V.T
    sh = min(1.0, K * eh / max(float(np.trace(Xp[:K, :K])), 1e-300))
    sw = min(1.0, K * ew / max(float(np.trace(Xp[K:, K:])), 1e-300))
    D = np.diag([math.sqrt(sh)] * K + [math.sqrt(sw)] * K)
    Xp = D @ Xp @ D
    Z = Xp[:K, K:]
    value = float((pi * _ce_rows(Z)).sum())
    dual = lpm_lower_bound(Z, pi, ew, eh)
    Wg = Xp[K:, K:]
    mcos, spread = _pairs(Wg, list(range(K_A, K)))
    jcos, _ = _pairs(Wg, list(range(K_A)))
    return LPMCertificate(
        K_A=K_A,
        K_B=K_B,
        R=R,
        E_W=ew,
        E_H=eh,
        value=value,
        dual_bound=dual,
        gap=value - dual,
        minority_cos=mcos,
        majority_cos=jcos,
        minority_spread=spread,
        minority_norm_sq=float(np.mean(np.diag(Wg)[K_A:])),
        majority_norm_sq=float(np.mean(np.diag(Wg)[:K_A])),
        solver=solver,
        status=status,
        inaccurate=inaccurate,
        solve_time=wall,
        X=Xp,
    )


@dataclass(frozen=True)
class LPMFit:
    """A trained layer-peeled model (:func:`fit_lpm`).

    ``objective``: ``(1/N)ΣΣ CE(W h_{k,i}, k)`` at the trained point (both budgets tight);
    ``lower_bound``: :func:`lpm_lower_bound` at its class-mean logits (a bound on the
    optimum, so ``objective − lower_bound`` bounds the trained point's suboptimality);
    ``grad_norm``: Frobenius norm of the gradient in the normalised parameters at the end;
    ``minority_cos``/``minority_spread``/``majority_cos`` as in :class:`LPMCertificate`;
    ``W`` (K×p) and ``features`` (N×p, rows = samples of classes in consecutive blocks).
    """

    K_A: int
    K_B: int
    n_A: int
    n_B: int
    E_W: float
    E_H: float
    objective: float
    lower_bound: float
    grad_norm: float
    steps: int
    minority_cos: float
    majority_cos: float
    minority_spread: float
    seed: int
    W: object = field(repr=False, compare=False)
    features: object = field(repr=False, compare=False)

    @property
    def R(self) -> float:
        return self.n_A / self.n_B


def fit_lpm(
    K_A: int,
    K_B: int,
    n_A: int,
    n_B: int,
    *,
    E_W: float = 1.0,
    E_H: float = 5.0,
    width: int | None = None,
    max_steps: int = 500,
    seed: int = 0,
) -> LPMFit:
    """Train the layer-peeled model (imbalanced CE UFM with norm budgets) from a random start.

    Per-sample features ``h_{k,i}`` (``n_A`` per majority class, ``n_B`` per minority class)
    and classifier ``W`` on the budget spheres: ``W = √(KE_W)·U/‖U‖``, ``h_{k,i} =
    √(n_k)·g_{k,i}`` with ``G = √(KE_H)·V/‖V‖`` (both budgets are tight at the optimum, so the
    spheres lose nothing; ``docs/ufm.md#minority-collapse``), minimised over ``(U, V)`` by
    torch L-BFGS (strong Wolfe) in float64 for at most ``max_steps`` iterations, seeded
    Gaussian start. ``width`` = feature dimension ``p`` (default ``2K``, where the SDP is
    exact).
    """
    import torch

    K_A, K_B = _check_counts(K_A, K_B)
    for name, v in (("n_A", n_A), ("n_B", n_B), ("max_steps", max_steps)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
            raise InvalidInput(f"{name}={v!r} must be an integer >= 1")
    if n_A < n_B:
        raise InvalidInput(f"n_A={n_A} < n_B={n_B}: the majority classes are the larger ones")
    ew, eh = _check_lambda("E_W", E_W), _check_lambda("E_H", E_H)
    K = K_A + K_B
    p = 2 * K if width is None else width
    if isinstance(p, bool) or not isinstance(p, numbers.Integral) or p < K:
        raise InvalidInput(f"width={width!r} must be an integer >= K={K}")
    counts = [int(n_A)] * K_A + [int(n_B)] * K_B
    N = sum(counts)
    if 8 * p * (N + K) * 60 > 2 * 1024**3:
        raise ProblemTooLarge(
            f"LPM training with N={N}, width={p} exceeds 2 GiB; use fewer samples"
        )
    dt = torch.float64
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        gen = torch.Generator().manual_seed(int(seed))
        U = torch.randn(K, p, generator=gen, dtype=dt).requires_grad_(True)
        V = torch.randn(p, N, generator=gen, dtype=dt).requires_grad_(True)
        y = torch.repeat_interleave(torch.arange(K), torch.tensor(counts))
        root_n = torch.sqrt(torch.tensor(counts, dtype=dt))[y]

        def factors():
            W = math.sqrt(K * ew) * U / torch.linalg.norm(U)
            H = math.sqrt(K * eh) * (V / torch.linalg.norm(V)) * root_n[None, :]
            return W, H

        def objective():
            W, H = factors()
            return torch.nn.functional.cross_entropy((W @ H).T, y, reduction="mean")

        opt = torch.optim.LBFGS(
            [U, V],
            lr=1.0,
            max_iter=int(max_steps),
            max_eval=4 * int(max_steps),
            tolerance_grad=1e-13,
            tolerance_change=0.0,
            history_size=50,
            line_search_fn="strong_wolfe",
        )

        def closure():
            opt.zero_grad()
            f = objective()
            f.backward()
            return f

        opt.step(closure)
        steps = int(opt.state[opt._params[0]].get("n_iter", 0))
        opt.zero_grad()
        f = objective()
        f.backward()
        grad = math.sqrt(float((U.grad**2).sum() + (V.grad**2).sum()))
        with torch.no_grad():
            W, H = factors()
            means = torch.stack([H[:, y == k].mean(dim=1) for k in range(K)], dim=1)
            logits = (W @ means).T.numpy()  # row k: class k's mean feature against every w_j
            Wn = W.numpy()
    finally:
        torch.set_num_threads(threads)
    pi = np.asarray(counts, dtype=np.float64) / N
    Gw = Wn @ Wn.T
    mcos, spread = _pairs(Gw, list(range(K_A, K)))
    jcos, _ = _pairs(Gw, list(range(K_A)))
    if not math.isfinite(float(f.detach())):
        raise SolverFailed("LPM training produced a non-finite objective", solver="lbfgs")
    return LPMFit(
        K_A=K_A,
        K_B=K_B,
        n_A=int(n_A),
        n_B=int(n_B),
        E_W=ew,
        E_H=eh,
        objective=float(f.detach()),
        lower_bound=lpm_lower_bound(logits, pi, ew, eh),
        grad_norm=grad,
        steps=steps,
        minority_cos=mcos,
        majority_cos=jcos,
        minority_spread=spread,
        seed=int(seed),
        W=W.detach(),
        features=H.detach().T,
    )
