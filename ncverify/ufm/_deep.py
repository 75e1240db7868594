"""Exact optimum of the m-factor deep linear UFM by real-root isolation (spec §6).

Problem (``m ≥ 2`` factors including ``H``; Tirer & Bruna 2022, Dang et al. 2023)::

    min 1/(2N)‖W_m ⋯ W_2 H − Y‖_F² + Σ_i λ_i/2 ‖W_i‖_F²      (W_1 = H)

The representation cost of ``Z = W_m⋯W_1`` is ``(m/2) c Σ_j t_j^{2/m}``,
``c = (∏λ_i)^{1/m}`` (AM-GM, attained by balanced factors), and ``Z`` shares its
singular vectors with ``Y`` (von Neumann), so each of the K singular values ``t``
solves ``min_t (√n − t)²/(2N) + (m/2) c t^{2/m}``.

Exact reduction (derivation in ``docs/ufm.md``): with ``x = t/√n ∈ [0, 1)`` and
``β = K (n ∏λ_i)^{1/m}`` the objective (all K singular values) is
``G = (1 − x)²/2 + (m/2) β x^{2/m}`` and its nonzero stationary points satisfy the
spec's ``u^{2m−2} − √n u^{m−2} + cN = 0`` (``u = t^{1/m}``), equivalently the
**rational** polynomial

    R(x) = x^{m−2} (1 − x)^m − r,    r = β^m = K^m n ∏λ_i ∈ Q  (for rational λ_i),

restricted to ``0 < x < 1``. At a root, ``G = (1 − x)(1 + (m−1)x)/2``, which beats the
zero solution (``G = 1/2``) iff ``x > q = (m−2)/(m−1)``; the local minimum is the
largest root, so the optimum is nonzero iff ``r < r* = q^{m−2}(1 − q)^m`` (exact rational
comparison; ``r = r*`` is a tie). Floats are converted to their exact binary rationals.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from ..errors import InvalidInput, SolverFailed
from ._closed import _check_classes, _check_lambda

__all__ = ["DeepOptimum", "deep_linear_optimum"]

MAX_DEPTH = 12  # R has degree 2m − 2; beyond this nothing in the suite needs it


@dataclass(frozen=True)
class DeepOptimum:
    """Exact optimum of the m-factor deep linear UFM.

    ``x`` = ``t/√n`` of the optimal singular value (0 when not collapsed);
    ``singular_value`` = ``t``; ``value`` = optimal objective; ``beta``/``beta_star``
    the reduced parameter and its collapse threshold (``β* = q^{(m−2)/m}(1−q)``,
    ``q = (m−2)/(m−1)``; β* = 1 for m = 2); ``stationary_x`` the isolated nonzero
    stationary points (ascending); ``x_interval`` a rational isolating interval of
    the optimal root of width ≤ 2^-60 (``(0, 0)`` when the optimum is zero);
    ``tie`` when zero and the nonzero point are both optimal (``r = r*`` exactly).
    ``factor_norm_sq[i]`` = ‖W_{i+1}‖_F² at the balanced optimum (``H`` first).
    """

    K: int
    n: int
    lambdas: tuple[float, ...]
    m: int
    beta: float
    beta_star: float
    x: float
    value: float
    collapsed: bool
    tie: bool
    stationary_x: tuple[float, ...]
    x_interval: tuple[Fraction, Fraction]
    factor_norm_sq: tuple[float, ...]

    @property
    def N(self) -> int:
        return self.K * self.n

    @property
    def singular_value(self) -> float:
        return self.x * math.sqrt(self.n)

    @property
    def c(self) -> float:
        """``(∏λ_i)^{1/m}``."""
        return math.exp(sum(math.log(v) for v in self.lambdas) / self.m)


def _exact(name, value):
    import sympy

    _check_lambda(name, value)
    if isinstance(value, Fraction):
        return sympy.Rational(value.numerator, value.denominator)
    if isinstance(value, sympy.Rational):
        return value
    if isinstance(value, int):
        return sympy.Integer(value)
    return sympy.Rational(float(value))  # exact binary value of the float


def deep_linear_optimum(K: int, n: int, lambdas: Sequence) -> DeepOptimum:
    """Optimum of the m-factor deep linear UFM, ``m = len(lambdas)`` (2 ≤ m ≤ 12).

    ``lambdas`` are ``(λ_H, λ_2, …, λ_m)`` (only their product matters); ints,
    :class:`fractions.Fraction`, sympy Rationals or floats (taken as exact binary
    rationals). Roots of ``R`` are isolated in ``(0, 1)`` by sympy
    (``Poly.intervals`` over QQ) and refined to width 2^-60; the collapse decision
    is the exact rational test ``r < r*``. For m = 2 this reproduces
    :func:`two_factor_mse_optimum` (``β = c``, ``x = 1 − c``).
    """
    import sympy

    K, n = _check_classes(K, n)
    if isinstance(lambdas, (str, bytes)) or not isinstance(lambdas, Sequence):
        raise InvalidInput(f"lambdas={lambdas!r} must be a sequence of m >= 2 positive numbers")
    m = len(lambdas)
    if not 2 <= m <= MAX_DEPTH:
        raise InvalidInput(
            f"len(lambdas)={m}: the deep linear UFM needs 2 <= m <= {MAX_DEPTH} "
            f"factors (one λ per factor, H included)"
        )
    lam = [_exact(f"lambdas[{i}]", v) for i, v in enumerate(lambdas)]
    r = sympy.Integer(K) ** m * n * sympy.Mul(*lam)
    q = sympy.Rational(m - 2, m - 1)
    r_star = q ** (m - 2) * (1 - q) ** m
    xs = sympy.Symbol("x")
    poly = sympy.Poly(xs ** (m - 2) * (1 - xs) ** m - r, xs, domain=sympy.QQ)
    eps = sympy.Rational(1, 2**60)
    try:
        isolated = poly.intervals(inf=0, sup=1)
        refined = [poly.refine_root(a, b, eps=eps) for (a, b), _mult in isolated]
    except (sympy.polys.polyerrors.PolynomialError, ValueError) as exc:  # pragma: no cover
        raise SolverFailed(
            f"sympy real-root isolation of R(x) = x^{m - 2}(1-x)^{m} - {r} "
            f"failed: {exc}; try rational lambdas",
            solver="sympy",
            status="error",
        ) from exc
    refined = [(a, b) for a, b in refined if 0 < (a + b) / 2 < 1]
    roots = sorted(float((a + b) / 2) for a, b in refined)
    tie = bool(r == r_star)
    collapsed = bool(r <= r_star)
    if collapsed:
        if not refined:  # pragma: no cover - impossible: R(q) <= 0 < ... has a root >= q
            raise SolverFailed(
                f"no root of R in (0,1) although r={r} <= r*={r_star}",
                solver="sympy",
                status="no_root",
            )
        a, b = max(refined, key=lambda ab: ab[0])
        if b < q:  # r <= r* puts the largest root at or right of q
            raise SolverFailed(
                f"largest root interval [{a}, {b}] lies left of q={q} although "
                f"r <= r*: inconsistent root isolation",
                solver="sympy",
                status="inconsistent",
            )
        x = float((a + b) / 2)
        interval = (Fraction(int(a.p), int(a.q)), Fraction(int(b.p), int(b.q)))
    else:
        x = 0.0
        interval = (Fraction(0), Fraction(0))
    value = (1 - x) * (1 + (m - 1) * x) / 2 if collapsed else 0.5
    beta = float(sympy.root(r, m).evalf(30))
    beta_star = float(sympy.root(r_star, m).evalf(30)) if m > 2 else 1.0
    lam_f = tuple(float(v) for v in lam)
    # Balanced optimum: λ_i‖W_i‖² = c t^{2/m} per singular value, K singular values.
    t = x * math.sqrt(n)
    c = math.exp(sum(math.log(v) for v in lam_f) / m)
    norms = tuple(K * c * t ** (2 / m) / v for v in lam_f)
    return DeepOptimum(
        K=K,
        n=n,
        lambdas=lam_f,
        m=m,
        beta=beta,
        beta_star=beta_star,
        x=x,
        value=value,
        collapsed=collapsed,
        tie=tie,
        stationary_x=tuple(roots),
        x_interval=interval,
        factor_norm_sq=norms,
    )
