"""Exact optimum of the m-factor deep linear UFM by exact real-root isolation (spec §6).

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
comparison; for ``m ≥ 3``, ``r = r*`` is a tie; for ``m = 2``, ``r* = 1`` and the threshold
is continuous, so ``r = 1`` gives the zero optimum). Floats are converted to their exact
binary rationals.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from ..errors import InvalidInput
from ._closed import _check_classes, _check_lambda

__all__ = ["DeepOptimum", "deep_linear_optimum", "isolate_optimal_root"]

MAX_DEPTH = 12  # R has degree 2m − 2; beyond this nothing in the suite needs it
ROOT_WIDTH = Fraction(1, 2**60)


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
    ``r = K^m n∏λ_i`` and ``r_star`` (exact rationals): nonzero optimum iff ``r < r*``
    (``m ≥ 3``: also at ``r = r*``, the tie; ``m = 2``: ``r* = 1`` and ``r = 1`` gives 0).
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
    r: Fraction = Fraction(0)
    r_star: Fraction = Fraction(0)

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
    rationals). The roots of ``R`` in ``(0, 1)`` are isolated by exact rational bisection on
    the two intervals where ``h`` is monotone, to width 2^-60 (sympy's real-root isolation,
    the previous method, took minutes at m = 12 with float λ: 600-bit coefficients); the
    collapse decision is the exact rational test ``r < r*``. For m = 2 this reproduces
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
    sol = isolate_optimal_root(r, m)
    collapsed, tie, x = sol["collapsed"], sol["tie"], sol["x"]
    r_star = sol["r_star"]
    value = (1 - x) * (1 + (m - 1) * x) / 2 if collapsed else 0.5
    beta = float(sympy.root(r, m).evalf(30))
    beta_star = (
        float(sympy.root(sympy.Rational(r_star.numerator, r_star.denominator), m).evalf(30))
        if m > 2
        else 1.0
    )
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
        stationary_x=sol["roots"],
        x_interval=sol["interval"],
        factor_norm_sq=norms,
        r=Fraction(int(r.p), int(r.q)),
        r_star=r_star,
    )


def _h(x: Fraction, m: int) -> Fraction:
    return x ** (m - 2) * (1 - x) ** m


def _bisect(lo: Fraction, hi: Fraction, r: Fraction, m: int, decreasing: bool):
    """Shrink ``[lo, hi]``, on which ``h`` is strictly monotone and ``h − r`` changes sign, to
    width ``≤ 2^-60`` (exact rationals)."""
    while hi - lo > ROOT_WIDTH:
        mid = (lo + hi) / 2
        if (_h(mid, m) >= r) == decreasing:  # decreasing h: h(mid) >= r puts the root right
            lo = mid
        else:
            hi = mid
    return lo, hi


def isolate_optimal_root(r, m: int) -> dict:
    """The optimal ``x`` of ``min_{x≥0} (1 − x)²/2 + (m/2)r^{1/m}x^{2/m}`` for rational ``r > 0``.

    Returns ``collapsed`` (a nonzero minimiser exists), ``tie`` (zero and ``x = q`` are both
    optimal: ``m ≥ 3`` and ``r = r*``), ``x`` (float), ``interval`` (a rational isolating
    interval of width ≤ 2^-60 of the optimal root, ``(0, 0)`` when the optimum is zero),
    ``roots`` (the nonzero stationary points in (0, 1), ascending), ``r_star`` and ``q``
    (Fractions). Exact rational bisection: ``h(x) = x^{m−2}(1 − x)^m`` increases on
    ``[0, x_max]`` and decreases on ``[x_max, 1]``, ``x_max = (m−2)/(2m−2)``
    (``docs/ufm.md#deep-linear``). ``r``: int, Fraction or sympy Rational.
    """
    r = Fraction(int(r.p), int(r.q)) if hasattr(r, "q") and hasattr(r, "p") else Fraction(r)
    if r <= 0:
        raise InvalidInput(f"r={r} must be > 0")
    q = Fraction(m - 2, m - 1)
    r_star = _h(q, m) if m > 2 else Fraction(1)  # 0⁰ = 1 for m = 2
    x_max = Fraction(m - 2, 2 * m - 2)
    roots: list[tuple[Fraction, Fraction]] = []
    if m == 2:
        if r < 1:
            roots.append(_bisect(Fraction(0), Fraction(1), r, m, decreasing=True))
    else:
        peak = _h(x_max, m)
        if r == peak:
            roots.append((x_max, x_max))
        elif r < peak:
            roots.append(_bisect(Fraction(0), x_max, r, m, decreasing=False))
            right = (q, q) if r == r_star else None
            roots.append(right or _bisect(x_max, Fraction(1), r, m, decreasing=True))
    # m >= 3: a first-order transition; at r = r* zero and x = q are both optimal (a tie).
    # m = 2: r* = 1 and the transition is continuous: the root x = 1 − √r reaches 0 at r = 1,
    # so r = 1 is the zero optimum, not a tie (there is no root in the open (0, 1)).
    tie = m > 2 and r == r_star
    collapsed = r <= r_star if m > 2 else r < 1
    if collapsed:
        interval = roots[-1]  # the largest root: on the decreasing side, at or right of q
        x = float((interval[0] + interval[1]) / 2)
    else:
        x, interval = 0.0, (Fraction(0), Fraction(0))
    return dict(
        collapsed=collapsed,
        tie=tie,
        x=x,
        interval=interval,
        roots=tuple(float((a + b) / 2) for a, b in roots),
        r_star=r_star,
        q=q,
    )
