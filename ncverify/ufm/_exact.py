"""Exact solutions of the reduced UFM problems of one instance, by sympy (spec routes "exact").

Each function takes the instance's numbers as exact rationals (floats as their exact binary
values) and solves the theorem's *reduced* scalar problem from its first- and second-order
conditions, without using the theorem's closed form: sympy solves the stationarity equation,
decides exactly (algebraic numbers) whether the stationary point is feasible, evaluates the
second derivative there and compares with the boundary point. The reductions themselves
(nuclear norm, symmetry, von Neumann) are proved in ``docs/ufm.md``; the generic symbolic
proofs of the closed forms are :func:`verify_two_factor_closed_form` and friends.

* :func:`exact_two_factor` -- ``Φ(s) = w[(1 − s)²/2 + c s]`` on ``s ≥ 0`` (``w = 1``
  bias-free, ``(K−1)/K`` with bias; ``c = K√(nλ_Wλ_H)``);
* :func:`exact_cross_entropy` -- ``f(a) = log(1 + (K−1)e^{−a}) + ν(K−1)a`` on ``a ≥ 0``
  (``ν = √(nλ_Wλ_H)``), solved in ``t = e^{−a}`` where ``f'`` is rational;
* :func:`exact_imbalanced` -- per class ``(1/N)[½(x − √n_k)² + τ|x|]``, ``τ = N√(λ_Wλ_H)``;
* :func:`exact_deep_linear` -- ``G(x) = (1 − x)²/2 + (m/2)r^{1/m}x^{2/m}`` by exact root
  isolation; second-order condition ``x > (m−2)/(2m−2)`` and the threshold ``r ≤ r*`` decided
  in rationals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from ..errors import SolverFailed
from ._closed import _check_classes

__all__ = [
    "ExactSolution",
    "exact_cross_entropy",
    "exact_deep_linear",
    "exact_imbalanced",
    "exact_two_factor",
]

DIGITS = 60


@dataclass(frozen=True)
class ExactSolution:
    """The exact minimiser of a reduced problem, rounded to float at the end.

    ``value``: the minimum; ``argmin``: the minimiser (per class for the imbalanced problem,
    a tuple); ``curvature``: the second derivative at an interior minimiser (``nan`` at the
    boundary); ``interior``: the minimiser is a stationary point (nonzero optimum);
    ``stationary_residual``: ``|Φ'(argmin)|`` evaluated with 60 digits (0 up to that
    precision when ``interior``); ``precise``: ``value`` and ``argmin`` as 60-digit strings
    (for a high-precision re-measurement).
    """

    value: float
    argmin: float | tuple[float, ...]
    curvature: float
    interior: bool | tuple[bool, ...]
    stationary_residual: float
    precise: dict = field(default_factory=dict, compare=False, repr=False)


def _rat(v):
    import sympy

    return sympy.Rational(Fraction(v).numerator, Fraction(v).denominator)


def _check_residual(res, what: str) -> float:
    r = float(abs(res))
    if r > 1e-25:  # pragma: no cover - sympy returned a non-stationary point
        raise SolverFailed(f"{what}: sympy stationary point has |Φ'| = {r:g}", solver="sympy")
    return r


def exact_two_factor(K: int, n: int, lambda_W, lambda_H, *, bias: bool = False) -> ExactSolution:
    """Minimise ``Φ(s) = w[(1 − s)²/2 + c s]`` over ``s ≥ 0`` exactly (module docstring)."""
    import sympy as sp

    K, n = _check_classes(K, n)
    s = sp.Symbol("s", real=True)
    c = K * sp.sqrt(n * _rat(lambda_W) * _rat(lambda_H))
    w = sp.Rational(K - 1, K) if bias else sp.Integer(1)
    phi = w * ((1 - s) ** 2 / 2 + c * s)
    (s0,) = sp.solve(sp.diff(phi, s), s)  # Φ is a quadratic: one stationary point
    curv = sp.diff(phi, s, 2)
    interior = bool(s0 > 0) and bool(curv > 0)
    best = s0 if interior and bool(phi.subs(s, s0) <= phi.subs(s, 0)) else sp.Integer(0)
    res = sp.diff(phi, s).subs(s, best) if interior else sp.Integer(0)
    value, argmin = sp.N(phi.subs(s, best), DIGITS), sp.N(best, DIGITS)
    return ExactSolution(
        value=float(value),
        argmin=float(argmin),
        curvature=float(sp.N(curv, DIGITS)) if interior else float("nan"),
        interior=interior,
        stationary_residual=_check_residual(sp.N(res, DIGITS), "two-factor UFM"),
        precise={"value": str(value), "argmin": str(argmin)},
    )


def exact_cross_entropy(K: int, n: int, lambda_W, lambda_H) -> ExactSolution:
    """Minimise ``f(a) = log(1 + (K−1)e^{−a}) + ν(K−1)a`` over ``a ≥ 0`` exactly.

    ``f'(a) = −(K−1)t/(1 + (K−1)t) + ν(K−1)`` with ``t = e^{−a}`` is rational in ``t``: its
    root ``t₀`` is found by sympy and is an interior minimiser iff ``0 < t₀ < 1`` (``a > 0``,
    decided exactly; ``f`` is convex, so a stationary point with ``f'' > 0`` is global);
    otherwise ``f'(0) ≥ 0`` and ``f`` is minimised at ``a = 0``.
    """
    import sympy as sp

    K, n = _check_classes(K, n)
    a = sp.Symbol("a", real=True)
    t = sp.Symbol("t", positive=True)
    nu = sp.sqrt(n * _rat(lambda_W) * _rat(lambda_H))
    f = sp.log(1 + (K - 1) * sp.exp(-a)) + nu * (K - 1) * a
    fp = sp.diff(f, a)
    roots = sp.solve(sp.numer(sp.together(fp.subs(sp.exp(-a), t))), t)
    inside = [r for r in roots if bool(r > 0) and bool(r < 1)]
    if inside:  # f is convex: a stationary point with f'' > 0 is the global minimum
        best = -sp.log(inside[0])
        curv = sp.diff(f, a, 2).subs(a, best)
        interior = bool(sp.N(curv, DIGITS) > 0)
    else:
        interior = False
    if not interior:
        best, curv = sp.Integer(0), None
    res = fp.subs(a, best) if interior else sp.Integer(0)
    value, argmin = sp.N(f.subs(a, best), DIGITS), sp.N(best, DIGITS)
    return ExactSolution(
        value=float(value),
        argmin=float(argmin),
        curvature=float(sp.N(curv, DIGITS)) if curv is not None else float("nan"),
        interior=interior,
        stationary_residual=_check_residual(sp.N(res, DIGITS), "cross-entropy UFM"),
        precise={"value": str(value), "argmin": str(argmin)},
    )


def exact_imbalanced(counts: Sequence[int], lambda_W, lambda_H) -> ExactSolution:
    """Per class, minimise ``(1/N)[½(x − √n_k)² + τ|x|]`` over ``x ∈ R`` exactly.

    For ``x > 0`` the stationary point is ``x₀ = √n_k − τ``; it is the minimiser iff
    ``x₀ > 0`` (decided exactly: ``n_k > τ²``, rationals); otherwise 0 is (the subgradient
    ``[−τ, τ] ∋ √n_k``). ``argmin[k] = x_k/√n_k`` (the scale of class k's row of ``Z``).
    """
    import sympy as sp

    N = sum(counts)
    tau2 = N**2 * _rat(lambda_W) * _rat(lambda_H)  # τ² exactly
    tau = sp.sqrt(tau2)
    total, scales, inner = sp.Integer(0), [], []
    for nk in counts:
        root = sp.sqrt(sp.Integer(nk))
        alive = bool(sp.Integer(nk) > tau2)
        x = root - tau if alive else sp.Integer(0)
        total += ((x - root) ** 2 / 2 + tau * x) / N
        scales.append(sp.N(x / root, DIGITS))
        inner.append(alive)
    value = sp.N(total, DIGITS)
    return ExactSolution(
        value=float(value),
        argmin=tuple(float(v) for v in scales),
        curvature=float(sp.Rational(1, N)),
        interior=tuple(inner),
        stationary_residual=0.0,
        precise={"value": str(value), "argmin": tuple(str(v) for v in scales)},
    )


def exact_deep_linear(K: int, n: int, lambdas: Sequence) -> ExactSolution:
    """Minimise ``G(x) = (1 − x)²/2 + (m/2)r^{1/m}x^{2/m}`` over ``x ≥ 0`` exactly.

    The nonzero stationary points solve ``x^{m−2}(1 − x)^m = r`` (exact rational bisection,
    width 2^-60); at such a point ``G''(x) = 1 − ((m−2)/m)(1 − x)/x``, positive iff
    ``x > (m−2)/(2m−2)`` (checked exactly on the enclosure); the threshold ``r ≤ r*`` is an
    exact rational comparison. ``value`` is the midpoint of the exact value enclosure.
    """
    from ._deep import deep_linear_optimum

    opt = deep_linear_optimum(K, n, lambdas)
    m = opt.m
    if opt.collapsed:
        lo, hi = opt.x_interval
        if not lo > Fraction(m - 2, 2 * m - 2):  # pragma: no cover - proved in docs
            raise SolverFailed("the optimal root is not a strict local minimum", solver="exact")
        mid = (lo + hi) / 2
        curv = 1 - Fraction(m - 2, m) * (1 - mid) / mid
        value = (1 - mid) * (1 + (m - 1) * mid) / 2
        precise = {"value": _digits(value), "argmin": _digits(mid)}
        return ExactSolution(float(value), float(mid), float(curv), True, 0.0, precise)
    return ExactSolution(0.5, 0.0, float("nan"), False, 0.0, {"value": "0.5", "argmin": "0"})


def _digits(q: Fraction) -> str:
    import mpmath

    with mpmath.workdps(DIGITS):
        return mpmath.nstr(mpmath.mpf(q.numerator) / q.denominator, DIGITS)
