"""cvxpy certificates of the convex UFM formulations (spec §6).

Convex forms (``μ = √(λ_Wλ_H)``, ``Z = WH ∈ R^{K×N}``; ``min_{WH=Z} λ_W/2‖W‖² + λ_H/2‖H‖²
= μ‖Z‖_*``):

* ``"mse"``:      ``1/(2N)‖Z − Y‖² + μ‖Z‖_*``
* ``"mse_bias"``: ``1/(2N)‖Z + b1ᵀ − Y‖² + μ‖Z‖_*`` (``b`` free)
* ``"ce"``:       ``(1/N)Σ_i CE(z_i, y_i) + μ‖Z‖_*`` (exponential cone via ``cp.log_sum_exp``)

**Symmetry reduction.** Each problem is convex and invariant under permuting the
samples *within* a class (``Z ↦ ZΠ`` with ``Π`` a permutation fixing ``Y``: the data term
only sees the columns as a multiset per class and ``‖ZΠ‖_* = ‖Z‖_*``). If ``Z*`` is optimal,
so is every ``Z*Π``, and by convexity so is their average over the group, which is
constant within each class: ``Z = Z̄ ⊗ 1_nᵀ``. For such ``Z``, ``‖Z‖_* = √n‖Z̄‖_*``,
``‖Z − Y‖² = n‖Z̄ − I‖²`` and ``(1/N)ΣCE = (1/K)Σ_k CE(z̄_k, k)``, so the K×N problem has
the same optimal value as the K×K problem (``ν = μ√n``)::

    mse:      (1/(2K))‖Z̄ − I‖² + ν‖Z̄‖_*          mse_bias: (1/(2K))‖Z̄ + b1ᵀ − I‖² + ν‖Z̄‖_*
    ce:       (1/K)Σ_k [logsumexp(z̄_k) − z̄_kk] + ν‖Z̄‖_*

The unreduced K×N form is built only when ``K·N ≤ UNREDUCED_MAX_ENTRIES`` (tests use it
to cross-check the reduction).

**Certificate.** From the returned ``Z`` we build, in float64 and independently of the
solver's duals, a dual-feasible point and its dual value (a rigorous lower bound):
MSE: ``Λ`` = residual ``(T − Z)P`` (``P`` = identity or column centring) with its singular
values clipped to ``γ``; dual ``⟨Λ, T⟩ − ½‖Λ‖²``. CE: ``Λ = t(E − softmax(Z))/cols``
with singular values clipped at ``ν`` (or scaled, whichever is feasible and
better); dual = mean entropy of the columns of ``T − cols·Λ`` (in the simplex).
``gap = primal − dual ≥ 0`` bounds the suboptimality of ``Z``.

**Solvers.** ``"SCS"`` (first-order; default, explicit ``eps_abs = eps_rel = tol`` and
``max_iters``) or ``"CLARABEL"`` (interior point; its PSD-cone scaling is dense in the
``d(d+1)/2``-dimensional svec space, ``d`` = rows + cols of ``Z``, so its memory grows as
``d⁴``: K=10, N=500 unreduced needs ~135 GB). Sizes are estimated before anything is
built and refused with :class:`ProblemTooLarge` above ``max_bytes``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InvalidInput, ProblemTooLarge, SolverFailed
from ._closed import _check_classes, _check_lambda

__all__ = [
    "UNREDUCED_MAX_ENTRIES",
    "Certificate",
    "certify_ufm",
    "estimate_certificate_bytes",
    "solve_checked",
]

UNREDUCED_MAX_ENTRIES = 2000  # K·N cap of the unreduced K×N formulation
DEFAULT_MAX_BYTES = 2 * 1024**3
SOLVERS = ("SCS", "CLARABEL")
LOSSES = ("mse", "mse_bias", "ce")


@dataclass(frozen=True)
class Certificate:
    """A solved convex UFM formulation with its optimality certificate.

    ``value``: primal objective recomputed in float64 at the returned ``Z`` (for
    ``mse_bias`` with the optimal bias for that ``Z``); ``solver_value``: cvxpy's
    ``problem.value``; ``dual_bound``: value of a dual-feasible point (lower bound on
    the optimum); ``gap = value − dual_bound``; ``inaccurate``: the solver reported
    ``optimal_inaccurate`` / ``user_limit`` (no tolerance is widened for it);
    ``Z``: K×K class-level (reduced) or K×N matrix; ``setup_time``/``solve_time``
    seconds (cvxpy canonicalisation / solver).
    """

    loss: str
    K: int
    n: int
    lambda_W: float
    lambda_H: float
    reduced: bool
    value: float
    solver_value: float
    dual_bound: float
    gap: float
    solver: str
    status: str
    inaccurate: bool
    solve_time: float
    setup_time: float
    iterations: int | None
    tol: float
    Z: np.ndarray = field(repr=False, compare=False)


def estimate_certificate_bytes(
    loss: str, K: int, n: int, *, reduced: bool = True, solver: str = "SCS"
) -> int:
    """Upper estimate of the memory (bytes) of a certificate, computed from K, n only.

    ``d`` = rows + cols of ``Z``; the nuclear norm is an SDP block of order ``d``
    (``d(d+1)/2`` svec entries); CE adds ``K·cols`` exponential cones. SCS: sparse data
    and a dense ``d×d`` eigendecomposition, ``≈ 8·(64·d² + 64·K·cols)`` bytes.
    CLARABEL: dense NT scaling of the PSD cone, ``8·(d(d+1)/2)²`` bytes plus SCS's terms.
    """
    cols = K if reduced else K * n
    d = K + cols
    svec = d * (d + 1) // 2
    base = 8 * (64 * d * d + 64 * K * cols * (3 if loss == "ce" else 1))
    if solver == "CLARABEL":
        base += 8 * svec * svec
    return base


def solve_checked(problem, solver: str, **options) -> tuple[str, bool, float, int | None]:
    """Solve a cvxpy ``problem`` and map its status to a typed outcome.

    Returns ``(status, inaccurate, solve_time, iterations)``. ``optimal`` is accurate;
    ``optimal_inaccurate`` and ``user_limit`` with a solution are flagged inaccurate;
    infeasible/unbounded (accurate or not), solver errors and a missing solution raise
    :class:`SolverFailed` naming the solver, the status and what to try.
    """
    import warnings

    import cvxpy as cp

    try:
        with warnings.catch_warnings():
            # cvxpy warns "Solution may be inaccurate"; we flag it as ``inaccurate`` instead
            warnings.filterwarnings("ignore", message=".*may be inaccurate.*")
            problem.solve(solver=solver, **options)
    except cp.error.SolverError as exc:
        raise SolverFailed(
            f"{solver} failed ({exc}); try more iterations (max_iters), a looser tol, "
            f"or the other solver ({' or '.join(s for s in SOLVERS if s != solver)})",
            solver=solver,
            status="solver_error",
        ) from exc
    status = problem.status
    stats = problem.solver_stats
    solve_time = float(stats.solve_time) if stats and stats.solve_time is not None else math.nan
    iters = int(stats.num_iters) if stats and stats.num_iters is not None else None
    if status in (
        cp.INFEASIBLE,
        cp.INFEASIBLE_INACCURATE,
        cp.UNBOUNDED,
        cp.UNBOUNDED_INACCURATE,
        "infeasible_or_unbounded",
    ):
        raise SolverFailed(
            f"{solver} returned status {status!r}: the problem has no finite optimum as "
            f"formulated; check the formulation (a UFM objective is always feasible and "
            f"bounded below) or rerun with tighter tol / the other solver",
            solver=solver,
            status=status,
        )
    if status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE, cp.USER_LIMIT) or problem.value is None:
        raise SolverFailed(
            f"{solver} returned status {status!r} without a usable solution; "
            f"try more iterations (max_iters) or the other solver",
            solver=solver,
            status=str(status),
        )
    return status, status != cp.OPTIMAL, solve_time, iters


def _nuclear(Z: np.ndarray) -> float:
    return float(np.linalg.svd(Z, compute_uv=False).sum())


def _mse_certificate(Z, T, gamma, center) -> tuple[float, float]:
    """Primal and dual values of ``(1/cols)[½‖(Z − T)P‖² + γ‖Z‖_*]``."""
    cols = T.shape[1]
    R = T - Z
    if center:
        R = R - R.mean(axis=1, keepdims=True)
    primal = (0.5 * float((R * R).sum()) + gamma * _nuclear(Z)) / cols
    U, sv, Vt = np.linalg.svd(R, full_matrices=False)
    Lam = (U * np.minimum(sv, gamma)) @ Vt
    dual = (float((Lam * T).sum()) - 0.5 * float((Lam * Lam).sum())) / cols
    return primal, dual


def _softmax_cols(Z):
    E = np.exp(Z - Z.max(axis=0, keepdims=True))
    return E / E.sum(axis=0, keepdims=True)


def _ce_certificate(Z, T, nu) -> tuple[float, float]:
    """Primal/dual of ``(1/cols)Σ_j CE(z_j, y_j) + ν‖Z‖_*`` (T one-hot, K×cols)."""
    cols = T.shape[1]
    zmax = Z.max(axis=0)
    lse = zmax + np.log(np.exp(Z - zmax).sum(axis=0))
    primal = float((lse - (Z * T).sum(axis=0)).mean()) + nu * _nuclear(Z)
    P = _softmax_cols(Z)
    G = (T - P) / cols  # −∇(data term); Λ must satisfy 1ᵀΛ = 0, T − cols·Λ >= 0
    U, sv, Vt = np.linalg.svd(G, full_matrices=False)
    best = -math.inf
    # Candidate 1: clip singular values at ν (keeps 1ᵀΛ = 0); feasible if Q >= 0.
    # Candidate 2: scale by t = min(1, ν/‖G‖_op) (Q a convex combination, always feasible).
    clipped = (U * np.minimum(sv, nu)) @ Vt
    t = 1.0 if sv[0] <= nu else nu / float(sv[0])
    for Q in (T - cols * clipped, (1 - t) * T + t * P):
        if np.all(Q >= 0):
            with np.errstate(divide="ignore", invalid="ignore"):
                ent = -np.where(Q > 0, Q * np.log(Q), 0.0).sum(axis=0)
            best = max(best, float(ent.mean()))
    return primal, best


def certify_ufm(
    loss: str,
    K: int,
    n: int,
    lambda_W: float,
    lambda_H: float,
    *,
    solver: str = "SCS",
    reduced: bool = True,
    tol: float = 1e-8,
    max_iters: int = 100_000,
    max_bytes: int = DEFAULT_MAX_BYTES,
    **solver_options: Any,
) -> Certificate:
    """Solve the convex UFM ``loss`` ("mse", "mse_bias", "ce") with cvxpy and certify it.

    ``reduced=True`` solves the K×K class-level problem (module docstring: the
    within-class symmetry argument); ``reduced=False`` the K×N problem, allowed only for
    ``K·N ≤ UNREDUCED_MAX_ENTRIES``. ``tol``/``max_iters`` go to the solver explicitly
    (SCS: ``eps_abs``, ``eps_rel``, ``max_iters``; CLARABEL: ``tol_gap_abs``,
    ``tol_gap_rel``, ``tol_feas``, ``max_iter``). Raises :class:`ProblemTooLarge` before
    building anything when :func:`estimate_certificate_bytes` exceeds ``max_bytes``, and
    :class:`SolverFailed` for infeasible/unbounded/error statuses.
    """
    K, n = _check_classes(K, n)
    lw = _check_lambda("lambda_W", lambda_W)
    lh = _check_lambda("lambda_H", lambda_H)
    if loss not in LOSSES:
        raise InvalidInput(f"loss={loss!r}; expected one of {', '.join(LOSSES)}")
    if solver not in SOLVERS:
        raise InvalidInput(
            f"solver={solver!r}; expected one of {', '.join(SOLVERS)} "
            f"(both handle the PSD and exponential cones the certificates need)"
        )
    if not (isinstance(tol, float | int) and 0 < tol < 1):
        raise InvalidInput(f"tol={tol!r} must be in (0, 1)")
    if isinstance(max_iters, bool) or not isinstance(max_iters, int) or max_iters < 1:
        raise InvalidInput(f"max_iters={max_iters!r} must be a positive integer")
    N = K * n
    if not reduced and K * N > UNREDUCED_MAX_ENTRIES:
        raise ProblemTooLarge(
            f"unreduced K×N certificate with K={K}, N={N} (K·N={K * N}) exceeds the cap "
            f"K·N <= {UNREDUCED_MAX_ENTRIES}; use reduced=True (same optimum by the "
            f"within-class symmetry argument)"
        )
    need = estimate_certificate_bytes(loss, K, n, reduced=reduced, solver=solver)
    if need > max_bytes:
        raise ProblemTooLarge(
            f"{solver} certificate for loss={loss!r}, K={K}, n={n}, reduced={reduced} needs "
            f"about {need / 2**30:.2f} GiB (> max_bytes={max_bytes / 2**30:.2f} GiB); use "
            f"reduced=True, solver='SCS', a smaller K, or raise max_bytes deliberately"
        )

    with _single_threaded_blas():
        return _certify(loss, K, n, lw, lh, solver, reduced, tol, max_iters, solver_options)


def _single_threaded_blas():
    """BLAS thread limit 1 (threadpoolctl, a scikit-learn dependency) for the duration.

    The PSD projections are small (2K×2K) eigendecompositions: multi-threaded BLAS
    gains little and oversubscribes a shared 2-core machine (one measurement under a
    load average of 8: 3.3 s → 2.0 s at K = 100; another run under the same load: no
    difference). The solver's result does not depend on it.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(limits=1)


def _certify(loss, K, n, lw, lh, solver, reduced, tol, max_iters, solver_options):
    import cvxpy as cp

    N = K * n
    mu = math.sqrt(lw * lh)
    cols = K if reduced else N
    nu = mu * math.sqrt(n) if reduced else mu  # weight of ‖Z‖_* in the normalised objective
    T = np.eye(K) if reduced else np.kron(np.eye(K), np.ones((1, n)))
    t0 = time.perf_counter()
    Zv = cp.Variable((K, cols))
    if loss == "ce":
        data = (cp.sum(cp.log_sum_exp(Zv, axis=0)) - cp.sum(cp.multiply(T, Zv))) / cols
    elif loss == "mse_bias":
        b = cp.Variable((K, 1))
        data = cp.sum_squares(Zv + b @ np.ones((1, cols)) - T) / (2 * cols)
    else:
        data = cp.sum_squares(Zv - T) / (2 * cols)
    problem = cp.Problem(cp.Minimize(data + nu * cp.normNuc(Zv)))
    if solver == "SCS":
        opts = dict(eps_abs=tol, eps_rel=tol, max_iters=max_iters)
    else:
        opts = dict(tol_gap_abs=tol, tol_gap_rel=tol, tol_feas=tol, max_iter=max_iters)
    opts.update(solver_options)
    status, inaccurate, solve_time, iters = solve_checked(problem, solver, **opts)
    setup_time = max(
        0.0, time.perf_counter() - t0 - (solve_time if solve_time == solve_time else 0.0)
    )
    Z = np.asarray(Zv.value, dtype=np.float64)
    if not np.all(np.isfinite(Z)):
        raise SolverFailed(
            f"{solver} returned a non-finite Z with status {status!r}; try more "
            f"iterations or the other solver",
            solver=solver,
            status=status,
        )
    if loss == "ce":
        primal, dual = _ce_certificate(Z, T, nu)
    else:
        primal, dual = _mse_certificate(Z, T, nu * cols, center=(loss == "mse_bias"))
    return Certificate(
        loss=loss,
        K=K,
        n=n,
        lambda_W=lw,
        lambda_H=lh,
        reduced=reduced,
        value=primal,
        solver_value=float(problem.value),
        dual_bound=dual,
        gap=primal - dual,
        solver=solver,
        status=status,
        inaccurate=inaccurate,
        solve_time=solve_time,
        setup_time=setup_time,
        iterations=iters,
        tol=float(tol),
        Z=Z,
    )
