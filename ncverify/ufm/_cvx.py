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
from ._closed import (
    _check_classes,
    _check_flag,
    _check_lambda,
    _check_positive_int,
    _check_real,
)
from ._imbalanced import check_class_sizes
from ._reduce import (
    ce_bounds,
    ce_entropy_bound,
    ce_two_scalar_problem,
    mse_bias_three_scalar_problem,
    mse_bounds,
    mse_class_level_bounds,
    mse_diagonal_problem,
)

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
REDUCTIONS = ("symmetric", "classes")


@dataclass(frozen=True)
class Certificate:
    """A solved convex UFM formulation with its optimality certificate.

    ``value``: primal objective recomputed in float64 at the returned ``Z`` (for
    ``mse_bias`` with the optimal bias for that ``Z``); ``solver_value``: cvxpy's
    ``problem.value``; ``dual_bound``: value of a dual-feasible point (lower bound on
    the optimum); ``gap = value − dual_bound``; ``inaccurate``: the solver reported
    ``optimal_inaccurate`` / ``user_limit`` (no tolerance is widened for it);
    ``Z``: K×K class-level ``Z̄`` (reduced; column k = the logits of class k's samples) or
    the K×N matrix; ``setup_time``/``solve_time`` seconds (cvxpy canonicalisation / solver);
    ``counts``: the class sizes (``n`` is None when they differ); ``reduction``:
    ``"symmetric"``, ``"classes"`` or ``"none"`` (unreduced).
    """

    loss: str
    K: int
    n: int | None
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
    counts: tuple[int, ...] = ()
    reduction: str = "classes"


def estimate_certificate_bytes(
    loss: str,
    K: int,
    n: int,
    *,
    reduced: bool = True,
    solver: str = "SCS",
    reduction: str = "classes",
) -> int:
    """Upper estimate of the memory (bytes) of a certificate, computed from K, n only.

    ``reduction="symmetric"``: at most K variables, plus the float64 certificate on K×K
    class-level matrices (an SVD): ``≈ 8·(16·K² + 64·K)`` bytes. Otherwise ``d`` = rows +
    cols of ``Z``; the nuclear norm is an SDP block of order ``d`` (``d(d+1)/2`` svec
    entries); CE adds ``K·cols`` exponential cones. SCS: sparse data and a dense ``d×d``
    eigendecomposition, ``≈ 8·(64·d² + 64·K·cols)`` bytes. CLARABEL: dense NT scaling of
    the PSD cone, ``8·(d(d+1)/2)²`` bytes plus SCS's terms.
    """
    K, n = _check_classes(K, n)
    reduced = _check_flag("reduced", reduced)
    _check_choice("loss", loss, LOSSES)
    _check_choice("solver", solver, SOLVERS)
    _check_choice("reduction", reduction, REDUCTIONS)
    if reduced and reduction == "symmetric":
        return 8 * (16 * K * K + 64 * K)
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


def _check_choice(name: str, value, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        extra = (
            " (both handle the PSD and exponential cones the certificates need)"
            if name == "solver"
            else ""
        )
        raise InvalidInput(f"{name}={value!r}; expected one of {', '.join(choices)}{extra}")
    return value


def certify_ufm(
    loss: str,
    K: int,
    n,
    lambda_W: float,
    lambda_H: float,
    *,
    solver: str | None = None,
    reduced: bool = True,
    reduction: str = "symmetric",
    tol: float = 1e-8,
    max_iters: int = 100_000,
    max_bytes: int = DEFAULT_MAX_BYTES,
    **solver_options: Any,
) -> Certificate:
    """Solve the convex UFM ``loss`` ("mse", "mse_bias", "ce") with cvxpy and certify it.

    ``n``: samples per class (int), or a sequence of K per-class sizes ``n_k`` (imbalanced;
    ``loss="mse"`` only). ``reduced=False`` solves the K×N problem, allowed only for
    ``K·N ≤ UNREDUCED_MAX_ENTRIES``. ``reduced=True`` solves a class-level problem:
    ``reduction="symmetric"`` (default) uses the whole symmetry group of the problem (MSE:
    K scalars on the diagonal, any class sizes; MSE with bias and CE, balanced: two or three
    scalars), ``reduction="classes"`` the K×K within-class reduction (an SDP; the cross-check).
    Either way ``value`` and ``dual_bound`` are computed in float64 on the class-level
    problem from explicit primal and dual points (module docstring), so the certificate does
    not depend on the reduction being right. ``solver``: "CLARABEL" or "SCS"; default
    CLARABEL for the symmetric reductions, SCS otherwise. ``tol``/``max_iters`` go to the
    solver explicitly (SCS: ``eps_abs``, ``eps_rel``, ``max_iters``; CLARABEL:
    ``tol_gap_abs``, ``tol_gap_rel``, ``tol_feas``, ``max_iter``). Raises
    :class:`ProblemTooLarge` before building anything when
    :func:`estimate_certificate_bytes` exceeds ``max_bytes``, and :class:`SolverFailed`
    for infeasible/unbounded/error statuses.
    """
    K, counts, balanced = check_class_sizes(K, n)
    lw = _check_lambda("lambda_W", lambda_W)
    lh = _check_lambda("lambda_H", lambda_H)
    _check_choice("loss", loss, LOSSES)
    reduced = _check_flag("reduced", reduced)
    _check_choice("reduction", reduction, REDUCTIONS)
    if not balanced and loss != "mse":
        raise InvalidInput(
            f"per-class sizes are supported for loss='mse' only (got loss={loss!r}); pass an "
            f"integer n for the balanced {loss} UFM"
        )
    kind = "none" if not reduced else reduction
    if solver is None:
        solver = "CLARABEL" if kind == "symmetric" else "SCS"
    _check_choice("solver", solver, SOLVERS)
    if not 0 < _check_real("tol", tol) < 1:
        raise InvalidInput(f"tol={tol!r} must be in (0, 1)")
    max_iters = _check_positive_int("max_iters", max_iters)
    max_bytes = _check_positive_int("max_bytes", max_bytes)
    N = sum(counts)
    if not reduced and K * N > UNREDUCED_MAX_ENTRIES:
        raise ProblemTooLarge(
            f"unreduced K×N certificate with K={K}, N={N} (K·N={K * N}) exceeds the cap "
            f"K·N <= {UNREDUCED_MAX_ENTRIES}; use reduced=True (same optimum by the "
            f"within-class symmetry argument)"
        )
    need = estimate_certificate_bytes(
        loss, K, N // K, reduced=reduced, solver=solver, reduction=reduction
    )
    if need > max_bytes:
        size = f"n={counts[0]}" if balanced else f"N={N}"
        # advise only settings not already in use
        advice = [] if reduced else ["reduced=True"]
        advice += ["reduction='symmetric'"] if kind == "classes" else []
        advice += [] if kind == "symmetric" or solver == "SCS" else ["solver='SCS'"]
        advice += ["a smaller K" if reduced else "a smaller K or n"]
        raise ProblemTooLarge(
            f"{solver} certificate for loss={loss!r}, K={K}, {size}, reduction={kind!r} needs "
            f"about {need / 2**30:.2f} GiB (> max_bytes={max_bytes} bytes = "
            f"{max_bytes / 2**30:.2f} GiB); use {', '.join(advice)}, or raise max_bytes "
            "deliberately"
        )

    with _single_threaded_blas():
        return _certify(
            loss, counts, balanced, lw, lh, solver, kind, tol, max_iters, solver_options
        )


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


def _certify(loss, counts, balanced, lw, lh, solver, kind, tol, max_iters, solver_options):
    import cvxpy as cp

    K, N = len(counts), sum(counts)
    n = counts[0]
    mu = math.sqrt(lw * lh)
    sizes = np.asarray(counts, dtype=np.float64)
    t0 = time.perf_counter()
    if kind == "symmetric":
        if loss == "mse":
            problem, x = mse_diagonal_problem(counts, N * mu)
        elif loss == "ce":
            problem, a, b = ce_two_scalar_problem(K, mu * math.sqrt(n))
        else:
            problem, a, b = mse_bias_three_scalar_problem(K, mu * math.sqrt(n))
    else:
        # objective (1/scale)[data term] + w‖Z‖_*: K×N (scale N, w = μ); balanced K×K
        # (scale K, w = μ√n); imbalanced K×K in X = Z̄D^{1/2}: (1/N)[½‖X − D^{1/2}‖²] + μ‖X‖_*
        cols = K if kind == "classes" else N
        if kind == "none":
            T, scale, w = _one_hot(counts), N, mu
        elif balanced:
            T, scale, w = np.eye(K), K, mu * math.sqrt(n)
        else:
            T, scale, w = np.diag(np.sqrt(sizes)), N, mu
        Zv = cp.Variable((K, cols))
        if loss == "ce":
            data = (cp.sum(cp.log_sum_exp(Zv, axis=0)) - cp.sum(cp.multiply(T, Zv))) / scale
        elif loss == "mse_bias":
            b = cp.Variable((K, 1))
            data = cp.sum_squares(Zv + b @ np.ones((1, cols)) - T) / (2 * scale)
        else:
            data = cp.sum_squares(Zv - T) / (2 * scale)
        problem = cp.Problem(cp.Minimize(data + w * cp.normNuc(Zv)))
    if solver == "SCS":
        opts = dict(eps_abs=tol, eps_rel=tol, max_iters=max_iters)
    else:
        opts = dict(tol_gap_abs=tol, tol_gap_rel=tol, tol_feas=tol, max_iter=max_iters)
    opts.update(solver_options)
    status, inaccurate, solve_time, iters = solve_checked(problem, solver, **opts)
    setup_time = max(
        0.0, time.perf_counter() - t0 - (solve_time if solve_time == solve_time else 0.0)
    )
    if kind == "symmetric":
        vals = [v.value for v in ((x,) if loss == "mse" else (a, b))]
        if any(v is None for v in vals):
            raise SolverFailed(
                f"{solver} returned no point with status {status!r}; try more iterations or "
                f"the other solver",
                solver=solver,
                status=status,
            )
        if loss == "mse":
            Z = np.diag(np.asarray(x.value, dtype=np.float64) / np.sqrt(sizes))
        else:
            alpha, beta = float(a.value), float(b.value)
            Z = alpha * np.eye(K) + beta * np.ones((K, K))
    else:
        Z = np.asarray(Zv.value, dtype=np.float64)
        if kind == "classes" and not balanced:
            Z = Z / np.sqrt(sizes)[None, :]  # back to the class-level Z̄
    if not np.all(np.isfinite(Z)):
        raise SolverFailed(
            f"{solver} returned a non-finite Z with status {status!r}; try more "
            f"iterations or the other solver",
            solver=solver,
            status=status,
        )
    primal, dual = _bounds(loss, Z, counts, mu, kind)
    return Certificate(
        loss=loss,
        K=K,
        n=n if balanced else None,
        lambda_W=lw,
        lambda_H=lh,
        reduced=kind != "none",
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
        counts=counts,
        reduction=kind,
    )


def _one_hot(counts) -> np.ndarray:
    Y = np.zeros((len(counts), sum(counts)))
    Y[np.repeat(np.arange(len(counts)), counts), np.arange(sum(counts))] = 1.0
    return Y


def _bounds(loss, Z, counts, mu, kind) -> tuple[float, float]:
    """Primal value and dual bound at ``Z`` (class-level K×K, or K×N for ``kind='none'``)."""
    K, N, n = len(counts), sum(counts), counts[0]
    if kind == "none":
        T = _one_hot(counts)
        if loss == "ce":
            return ce_bounds(Z, T, mu)
        return mse_bounds(Z, T, mu * N, loss == "mse_bias", N)
    if loss == "mse":
        return mse_class_level_bounds(Z, counts, mu)
    nu = mu * math.sqrt(n)
    if loss == "mse_bias":
        return mse_bounds(Z, np.eye(K), nu * K, True, K)
    primal, dual = ce_bounds(Z, np.eye(K), nu)
    # the exact maximiser of the one-dimensional dual (docs/ufm.md#ce-two-scalars): valid
    # whatever Z is, and tight at the optimum
    q = min((K - 1) / K, nu * (K - 1))
    return primal, max(dual, ce_entropy_bound(K, q))
