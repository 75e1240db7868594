"""High-precision re-measurement of the gradient-descent identities (exact rationals, mpmath).

Used before a failing verdict (``docs/theorems.md#remeasure``). The stored floats are taken as
exact numbers. The claims are about *exact* gradients of a linear pair and (for the one-step
recursion) an *exact* plain GD step, while a snapshot stores rounded ones; the hypotheses
H-linear-pair and H-plain-gd measure that the stored ones are those up to rounding. So the
re-measurement recomputes, in exact rational arithmetic, the data-term gradients of the
linear pair from the stored probe data (``G_u = dUᵀ(Z_in W_lᵀ)``, ``G_l = W_uᵀdUᵀZ_in``) and,
for a step, the exact plain step ``W⁺ = (1 − ηλ)W − ηG`` from the stored weights; the claims
are then evaluated on those. For an exact GD step of a linear pair the recursion residual is
exactly 0 — computed here, not assumed: a mistake in the measurement of the recursion shows
up as a float failure that vanishes here (a rounding artefact that fails the floor of its
test), a mistake here as a certified counterexample.

Cost: exact rationals, ``O(B·h·max(d, k))`` operations on numbers whose size grows with the
products (milliseconds for the suite's pairs, seconds for widths in the hundreds).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

__all__ = ["remeasure_gd_step", "remeasure_stationary_point"]


def _exact(M) -> Any:
    """A numpy object array of :class:`Fraction` holding the tensor's floats exactly."""
    import numpy as np
    import torch

    rows = M.detach().cpu().to(torch.float64).tolist()
    return np.array([[Fraction(x) for x in row] for row in rows], dtype=object).reshape(M.shape)


def _gradients(t: dict[str, Any]) -> tuple[Any, Any]:
    """Exact data-term gradients ``(G_l, G_u)`` of the linear pair on the probe batch."""
    Wl, Wu, Zin, dU = (_exact(t[n]) for n in ("W_lower", "W_upper", "Z_in", "dU"))
    Zout = Zin @ Wl.T
    return Wu.T @ dU.T @ Zin, dU.T @ Zout


def _sq(M) -> Fraction:
    return sum((x * x for x in M.flat), Fraction(0))


def remeasure_gd_step(s, *, dps: int) -> dict[str, Any]:
    """``residual_rel`` of the exact plain GD step of the linear pair (module docstring)."""
    import mpmath

    from ._measure import _check_step

    t = _check_step(s)
    eta, lam = Fraction(float(s.lr)), Fraction(float(s.weight_decay))
    Wl, Wu = _exact(t["W_lower"]), _exact(t["W_upper"])
    Gl, Gu = _gradients(t)
    c = 1 - eta * lam
    Wl_next, Wu_next = c * Wl - eta * Gl, c * Wu - eta * Gu
    D = Wu.T @ Wu - Wl @ Wl.T
    D_next = Wu_next.T @ Wu_next - Wl_next @ Wl_next.T
    residual = D_next - (c * c * D + eta * eta * (Gu.T @ Gu - Gl @ Gl.T))
    scale = _sq(Wu) + _sq(Wl) + eta * eta * (_sq(Gu) + _sq(Gl))
    with mpmath.workdps(dps):
        num = mpmath.sqrt(mpmath.mpf(_sq(residual).numerator) / _sq(residual).denominator)
        den = mpmath.mpf(scale.numerator) / scale.denominator
        return {"residual_rel": num / den if den > 0 else mpmath.mpf(0)}


def remeasure_stationary_point(s, *, dps: int) -> dict[str, Any]:
    """``D_op``, the weights' operator norms and the full gradients' Frobenius norms, with the
    full gradients ``G + λW`` of the linear pair recomputed exactly (module docstring)."""
    import mpmath

    from ._measure import _check_point

    t = _check_point(s)
    lam = Fraction(float(s.weight_decay))
    Wl, Wu = _exact(t["W_lower"]), _exact(t["W_upper"])
    Gl, Gu = _gradients(t)
    grad_l, grad_u = Gl + lam * Wl, Gu + lam * Wu
    D = Wu.T @ Wu - Wl @ Wl.T

    def mp(M):
        return mpmath.matrix([[mpmath.mpf(x.numerator) / x.denominator for x in row] for row in M])

    def op(M):
        G = mp(M.T @ M if M.shape[1] <= M.shape[0] else M @ M.T)
        ev = mpmath.eigsy(G, eigvals_only=True)
        return mpmath.sqrt(max(max(ev[i] for i in range(ev.rows)), 0))

    with mpmath.workdps(dps):
        ev = mpmath.eigsy(mp(D), eigvals_only=True)
        return dict(
            D_op=max(abs(ev[i]) for i in range(ev.rows)),
            W_up_op=op(Wu),
            W_lo_op=op(Wl),
            grad_up_F=_fro(grad_u),
            grad_lo_F=_fro(grad_l),
        )


def _fro(M) -> Any:
    import mpmath

    q = _sq(M)
    return mpmath.sqrt(mpmath.mpf(q.numerator) / q.denominator)
