"""Symmetry-reduced UFM problems and their dual certificates (numpy; cvxpy built lazily).

Every certificate here is computed **on the class-level problem**, in float64, from an
explicit primal point and an explicit dual-feasible point, independently of the solver's own
duals; the class-level problem has the same optimal value as the unreduced K×N problem (the
dual point lifts to a feasible point of the K×N dual with the same value, ``docs/ufm.md``,
§ "Certificates"). The symmetry reductions below only make the *solve* cheap: a reduced
solution that were not optimal would show up as a large gap, never as a wrong bound.

Class-level coordinates (``counts = (n_1, …, n_K)``, ``N = Σn_k``, ``D = diag(n_k)``,
``μ = √(λ_Wλ_H)``): a K×N matrix constant within classes is ``Z = Z̄Y``; column k of the
K×K matrix ``Z̄`` is the logit vector of every sample of class k. Then
``‖Z − Y‖² = ‖(Z̄ − I)D^{1/2}‖²`` and ``‖Z‖_* = ‖Z̄D^{1/2}‖_*``.

Reductions (the groups and their fixed subspaces are derived in ``docs/ufm.md#symmetry``):

* MSE, any class sizes: within-class permutations and class-wise sign flips
  ``Z ↦ SZS_Y`` fix exactly the diagonal ``Z̄ = diag(x_k/√n_k)``:
  ``min_x (1/N)[½‖x − √n‖² + τ‖x‖₁]``, ``τ = Nμ`` (K variables, a QP);
* MSE with an unregularised bias, balanced: class permutations fix ``Z̄ = αI + βJ``,
  ``b = γ1`` (three scalars);
* cross-entropy, balanced: class permutations fix ``Z̄ = αI + βJ`` (two scalars,
  exponential cone).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "ce_bounds",
    "ce_entropy_bound",
    "ce_two_scalar_problem",
    "mse_bias_three_scalar_problem",
    "mse_bounds",
    "mse_class_level_bounds",
    "mse_diagonal_problem",
]


def _nuclear(Z: np.ndarray) -> float:
    return float(np.linalg.svd(Z, compute_uv=False).sum())


def mse_bounds(Z, T, gamma, center, scale) -> tuple[float, float]:
    """Primal value and dual bound of ``(1/scale)[½‖(Z − T)P‖² + γ‖Z‖_*]``.

    ``P`` = identity, or the column centring ``I − 11ᵀ/cols`` when ``center`` (the optimal
    unregularised bias for this ``Z``). Dual point: the residual ``(T − Z)P`` with its singular
    values clipped at ``γ`` (``‖Λ‖_op ≤ γ``, ``ΛP = Λ``); dual value ``⟨Λ, T⟩ − ½‖Λ‖²``.
    """
    R = T - Z
    if center:
        R = R - R.mean(axis=1, keepdims=True)
    primal = (0.5 * float((R * R).sum()) + gamma * _nuclear(Z)) / scale
    U, sv, Vt = np.linalg.svd(R, full_matrices=False)
    Lam = (U * np.minimum(sv, gamma)) @ Vt
    dual = (float((Lam * T).sum()) - 0.5 * float((Lam * Lam).sum())) / scale
    return primal, dual


def mse_class_level_bounds(Zbar, counts, mu) -> tuple[float, float]:
    """Primal value and dual bound of the bias-free MSE UFM at the class-level ``Z̄``.

    With ``X = Z̄D^{1/2}`` and ``T = D^{1/2}``: ``(1/N)[½‖X − T‖² + τ‖X‖_*]``, ``τ = Nμ``
    (any class sizes). The clipped residual ``Λ`` lifts to ``ΛVᵀ``, ``V = YᵀD^{-1/2}``
    (orthonormal columns), a dual point of the K×N problem with the same norm and value.
    """
    counts = np.asarray(counts, dtype=np.float64)
    sq = np.sqrt(counts)
    N = float(counts.sum())
    return mse_bounds(Zbar * sq[None, :], np.diag(sq), N * mu, False, N)


def _softmax_cols(Z):
    E = np.exp(Z - Z.max(axis=0, keepdims=True))
    return E / E.sum(axis=0, keepdims=True)


def ce_bounds(Z, T, nu) -> tuple[float, float]:
    """Primal value and dual bound of ``(1/cols)Σ_j CE(z_j, y_j) + ν‖Z‖_*`` (T one-hot).

    The conjugate of ``CE(·, k)`` is the negative entropy of ``e_k − ·`` on the simplex, so a
    ``Λ`` with ``1ᵀΛ = 0``, ``T − cols·Λ ≥ 0`` and ``‖Λ‖_op ≤ ν`` has dual value the mean
    entropy of the columns of ``T − cols·Λ``. Candidates from ``G = (T − softmax(Z))/cols``:
    its singular values clipped at ``ν`` (kept when nonnegative), and ``G`` scaled by
    ``min(1, ν/‖G‖_op)`` (always feasible: a convex combination of ``T`` and ``softmax(Z)``).
    """
    cols = T.shape[1]
    zmax = Z.max(axis=0)
    lse = zmax + np.log(np.exp(Z - zmax).sum(axis=0))
    primal = float((lse - (Z * T).sum(axis=0)).mean()) + nu * _nuclear(Z)
    P = _softmax_cols(Z)
    G = (T - P) / cols
    U, sv, Vt = np.linalg.svd(G, full_matrices=False)
    best = -math.inf
    clipped = (U * np.minimum(sv, nu)) @ Vt
    t = 1.0 if sv[0] <= nu else nu / float(sv[0])
    for Q in (T - cols * clipped, (1 - t) * T + t * P):
        if np.all(Q >= 0):
            with np.errstate(divide="ignore", invalid="ignore"):
                ent = -np.where(Q > 0, Q * np.log(Q), 0.0).sum(axis=0)
            best = max(best, float(ent.mean()))
    return primal, best


def ce_entropy_bound(K: int, q: float) -> float:
    """``H_K(q) = −(1−q)log(1−q) − q log(q/(K−1))``: entropy of ``(1−q, q/(K−1), …)``.

    For the balanced CE UFM, ``OPT ≥ H_K(q)`` whenever ``0 ≤ q ≤ min(1, ν(K−1))``
    (``ν = √(nλ_Wλ_H)``): the point ``Λ = (Y − P)/N``, ``P`` with ``1 − q`` on the label and
    ``q/(K−1)`` elsewhere, has ``‖Λ‖_op = q/((K−1)√n) ≤ μ`` (``docs/ufm.md#ce-two-scalars``).
    """
    a = 0.0 if q >= 1 else -(1 - q) * math.log1p(-q)
    b = 0.0 if q <= 0 else -q * (math.log(q) - math.log(K - 1))
    return a + b


def mse_diagonal_problem(counts, tau):
    """``min_x ½‖x − √n‖² + τ‖x‖₁`` (times ``1/N`` this is the class-level MSE UFM on the
    diagonal); returns ``(problem, x)``."""
    import cvxpy as cp

    sq = np.sqrt(np.asarray(counts, dtype=np.float64))
    x = cp.Variable(len(sq))
    return cp.Problem(cp.Minimize(0.5 * cp.sum_squares(x - sq) + tau * cp.norm1(x))), x


def ce_two_scalar_problem(K, nu):
    """``min_{α,β} log(1 + (K−1)e^{−α}) + ν[(K−1)|α| + |α + Kβ|]``: the balanced CE UFM on
    ``Z̄ = αI + βJ``; returns ``(problem, α, β)``."""
    import cvxpy as cp

    a, b = cp.Variable(), cp.Variable()
    data = cp.log_sum_exp(cp.hstack([cp.Constant(0.0), math.log(K - 1) - a]))
    obj = data + nu * ((K - 1) * cp.abs(a) + cp.abs(a + K * b))
    return cp.Problem(cp.Minimize(obj)), a, b


def mse_bias_three_scalar_problem(K, nu):
    """The balanced MSE UFM with bias on ``Z̄ = αI + βJ``, ``b = γ1``:
    ``(1/2)[(α − 1 + β + γ)² + (K−1)(β + γ)²] + ν[(K−1)|α| + |α + Kβ|]``; returns
    ``(problem, α, β)`` (γ is eliminated by the certificate, which uses the optimal bias)."""
    import cvxpy as cp

    a, b, g = cp.Variable(), cp.Variable(), cp.Variable()
    data = 0.5 * (cp.square(a - 1 + b + g) + (K - 1) * cp.square(b + g))
    obj = data + nu * ((K - 1) * cp.abs(a) + cp.abs(a + K * b))
    return cp.Problem(cp.Minimize(obj)), a, b
