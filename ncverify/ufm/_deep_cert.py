"""A cvxpy certificate of the deep linear UFM optimum: a sum-of-squares lower bound.

The deep linear UFM (balanced, ``m`` factors) reduces exactly to one scalar problem
(``docs/ufm.md#deep-linear``): with ``v = x^{1/m} ≥ 0`` and ``β = r^{1/m}``,
``r = K^m n∏λ_i``::

    P_β(v) = (1 − v^m)²/2 + (m/2)β v²,     optimal value = min_{v≥0} P_β(v),

a univariate polynomial, non-convex for ``m ≥ 3``. On ``[1, ∞)`` it is increasing, so the
minimum lies in ``[0, 1]``. A univariate polynomial is nonnegative on ``[0, ∞)`` iff it is
``σ₀(v) + v·σ₁(v)`` with ``σ₀, σ₁`` sums of squares (Pólya–Szegő), so

    max γ  s.t.  P_β(v) − γ = σ₀(v) + v σ₁(v),  σ₀ = b₀ᵀQ₀b₀, σ₁ = b₁ᵀQ₁b₁,  Q₀, Q₁ ⪰ 0

(``b₀ = (1, v, …, v^m)``, ``b₁ = (1, …, v^{m−1})``) is an SDP whose optimum is the minimum.

**Rigour.** The solver's Gram matrices are only approximately feasible. The bound is rebuilt
in exact rational arithmetic: each Gram matrix is eigendecomposed in float64 and the
eigenpairs with ``λ > 0`` are taken as exact rationals, so ``σ = Σ λ_i (u_iᵀb)²`` *is* a sum
of squares; ``β`` is replaced by a rational ``β_lo ≤ β`` (``P`` increases with ``β``); the
residual ``ρ = P_{β_lo} − γ − σ₀ − vσ₁`` is computed exactly and, for ``v ∈ [0, 1]``,
``ρ(v) ≥ Σ_d min(0, ρ_d)``. Hence ``min P_β ≥ γ + Σ_d min(0, ρ_d)`` — the ``dual_bound``,
valid whatever the solver returned. The primal ``value`` is ``P_{β_hi}(v̂)`` (a rational
``β_hi ≥ β``) at the point ``v̂`` read off the SDP's moment dual (``y₁``), polished by a few
safeguarded Newton steps, or at 0, whichever is lower: an upper bound on the optimum.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ..errors import InvalidInput, SolverFailed
from ._closed import _check_classes
from ._cvx import SOLVERS, solve_checked
from ._deep import MAX_DEPTH, _exact

__all__ = ["DeepCertificate", "certify_deep_linear"]


@dataclass(frozen=True)
class DeepCertificate:
    """SOS certificate of the balanced deep linear UFM (module docstring).

    ``value``: objective at the recovered point ``x̂ = v̂^m`` (upper bound on the optimum);
    ``dual_bound``: the exact-rational SOS lower bound (rounded down to float); ``gap``;
    ``x``: the recovered ``x̂``; ``gamma``: the solver's ``γ``; ``residual_loss``:
    ``−Σ_d min(0, ρ_d)`` (what rounding the SOS identity cost); ``status``/``inaccurate``
    from the solver.
    """

    K: int
    n: int
    m: int
    value: float
    dual_bound: float
    gap: float
    x: float
    gamma: float
    residual_loss: float
    solver: str
    status: str
    inaccurate: bool
    solve_time: float


def _rational_root_bounds(r: Fraction, m: int) -> tuple[Fraction, Fraction]:
    """Rationals ``lo ≤ r^{1/m} ≤ hi`` a few ulps apart (checked exactly)."""
    lo = hi = math.exp(math.log(r) / m)
    while Fraction(lo) ** m > r:
        lo = math.nextafter(lo, 0.0)
    while Fraction(hi) ** m < r:
        hi = math.nextafter(hi, math.inf)
    return Fraction(lo), Fraction(hi)


def _poly(beta: Fraction, m: int) -> list[Fraction]:
    """Coefficients (degree 0..2m) of ``(1 − v^m)²/2 + (m/2)βv²``."""
    c = [Fraction(0)] * (2 * m + 1)
    c[0] += Fraction(1, 2)
    c[m] -= 1
    c[2 * m] += Fraction(1, 2)
    c[2] += Fraction(m, 2) * beta
    return c


def _sos_coefficients(Q: np.ndarray, shift: int, size: int) -> list[Fraction]:
    """Exact coefficients of ``v^shift · Σ_{λ_i>0} λ_i (u_iᵀb)²`` (eigenpairs as rationals)."""
    out = [Fraction(0)] * size
    ev, U = np.linalg.eigh((Q + Q.T) / 2)
    for lam, u in zip(ev, U.T, strict=True):
        if lam <= 0:
            continue
        lq = Fraction(float(lam))
        uq = [Fraction(float(a)) for a in u]
        for i, a in enumerate(uq):
            if a == 0:
                continue
            for j, b in enumerate(uq):
                out[i + j + shift] += lq * a * b
    return out


def _value(v: Fraction, beta: Fraction, m: int) -> Fraction:
    return (1 - v**m) ** 2 / 2 + Fraction(m, 2) * beta * v * v


def _polish(v: float, beta: float, m: int) -> float:
    """A few safeguarded Newton steps on ``P'(v) = m v[β − v^{m−2}(1 − v^m)]`` in (0, 1]."""
    for _ in range(30):
        if not 0 < v <= 1:
            return min(max(v, 0.0), 1.0)
        g = beta - v ** (m - 2) * (1 - v**m)  # P'/(m v)
        dg = -((m - 2) * v ** (m - 3) if m > 2 else 0.0) * (1 - v**m) + m * v ** (2 * m - 3)
        if dg <= 0:
            return v
        step = g / dg
        v = min(max(v - step, 0.5 * v), 1.0)
        if abs(step) <= 1e-16 * max(v, 1e-300):
            break
    return v


def certify_deep_linear(
    K: int,
    n: int,
    lambdas: Sequence,
    *,
    solver: str = "CLARABEL",
    tol: float = 1e-10,
    max_iters: int = 1000,
) -> DeepCertificate:
    """SOS (cvxpy SDP) certificate of the balanced deep linear UFM optimum.

    ``lambdas = (λ_H, λ_2, …, λ_m)``, ``2 ≤ m ≤ 12``. The SDP has two PSD blocks of order
    ``m + 1`` and ``m``, independent of K and n. Returns a :class:`DeepCertificate` whose
    ``[dual_bound, value]`` contains the optimal objective (module docstring). Raises
    :class:`SolverFailed` when the solver returns no usable point.
    """
    import cvxpy as cp

    K, n = _check_classes(K, n)
    if isinstance(lambdas, (str, bytes)) or not isinstance(lambdas, Sequence):
        raise InvalidInput(f"lambdas={lambdas!r} must be a sequence of m >= 2 positive numbers")
    m = len(lambdas)
    if not 2 <= m <= MAX_DEPTH:
        raise InvalidInput(f"len(lambdas)={m}: need 2 <= m <= {MAX_DEPTH}")
    if solver not in SOLVERS:
        raise InvalidInput(f"solver={solver!r}; expected one of {', '.join(SOLVERS)}")
    r = Fraction(K) ** m * n
    for v in (_exact(f"lambdas[{i}]", v) for i, v in enumerate(lambdas)):
        r *= Fraction(int(v.p), int(v.q))
    beta_lo, beta_hi = _rational_root_bounds(r, m)
    beta = float(beta_lo)
    coeffs = [float(c) for c in _poly(beta_lo, m)]
    gamma = cp.Variable()
    Q0 = cp.Variable((m + 1, m + 1), PSD=True)
    Q1 = cp.Variable((m, m), PSD=True)
    cons = []
    for d in range(2 * m + 1):
        terms = [Q0[i, d - i] for i in range(max(0, d - m), min(m, d) + 1)]
        terms += [Q1[i, d - 1 - i] for i in range(max(0, d - m), min(m - 1, d - 1) + 1)]
        rhs = coeffs[d] - (gamma if d == 0 else 0.0)
        cons.append(cp.sum(cp.hstack(terms)) == rhs)
    problem = cp.Problem(cp.Maximize(gamma), cons)
    if solver == "SCS":
        opts = dict(eps_abs=tol, eps_rel=tol, max_iters=max_iters * 100)
    else:
        opts = dict(tol_gap_abs=tol, tol_gap_rel=tol, tol_feas=tol, max_iter=max_iters)
    t0 = time.perf_counter()
    status, inaccurate, _, _ = solve_checked(problem, solver, **opts)
    wall = time.perf_counter() - t0
    if gamma.value is None or Q0.value is None or Q1.value is None:
        raise SolverFailed(
            f"{solver} returned status {status!r} without a point", solver=solver, status=status
        )
    g = Fraction(float(gamma.value))
    sig0 = _sos_coefficients(np.asarray(Q0.value), 0, 2 * m + 1)
    sig1 = _sos_coefficients(np.asarray(Q1.value), 1, 2 * m + 1)
    target = _poly(beta_lo, m)
    resid = [target[d] - (g if d == 0 else 0) - sig0[d] - sig1[d] for d in range(2 * m + 1)]
    loss = -sum(min(Fraction(0), c) for c in resid)
    bound = g - loss
    # primal point from the moment dual: y_d ≈ v*^d (sign convention of cvxpy's equality duals)
    y = [float(c.dual_value) if c.dual_value is not None else math.nan for c in cons]
    cand = [0.0]
    if math.isfinite(y[0]) and y[0] != 0 and math.isfinite(y[1]):
        cand.append(_polish(min(max(y[1] / y[0], 0.0), 1.0), beta, m))
    vals = [(_value(Fraction(v), beta_hi, m), v) for v in cand]
    best, v_hat = min(vals)
    dual = float(bound)
    if Fraction(dual) > bound:  # round down
        dual = math.nextafter(dual, -math.inf)
    value = float(best)
    if Fraction(value) < best:  # round up
        value = math.nextafter(value, math.inf)
    return DeepCertificate(
        K=K,
        n=n,
        m=m,
        value=value,
        dual_bound=dual,
        gap=value - dual,
        x=v_hat**m,
        gamma=float(g),
        residual_loss=float(loss),
        solver=solver,
        status=status,
        inaccurate=inaccurate,
        solve_time=wall,
    )
