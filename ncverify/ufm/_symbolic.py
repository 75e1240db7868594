"""Symbolic (sympy) proofs of the UFM closed forms, spec §6 (derivations: docs/ufm.md).

Each ``verify_*`` function returns a :class:`SymbolicCheck`: named residual
expressions that must simplify to 0 and named conditions that must be provably true.
``ok`` is True only when every residual simplified to exactly 0 and every condition
evaluated to ``True`` (not ``None``/undecided).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "SymbolicCheck",
    "verify_bias_closed_form",
    "verify_ce_closed_form",
    "verify_deep_stationarity",
    "verify_two_factor_closed_form",
]


@dataclass(frozen=True)
class SymbolicCheck:
    """Outcome of a symbolic verification.

    ``residuals``: ``(label, simplified expression as str)``; every one must be ``"0"``.
    ``conditions``: ``(label, truth value as str)``; every one must be ``"True"``.
    """

    name: str
    residuals: tuple[tuple[str, str], ...]
    conditions: tuple[tuple[str, str], ...]

    @property
    def ok(self) -> bool:
        return all(r == "0" for _, r in self.residuals) and all(
            c == "True" for _, c in self.conditions
        )

    def failures(self) -> list[str]:
        return [f"{k}: {v} != 0" for k, v in self.residuals if v != "0"] + [
            f"{k}: {v}" for k, v in self.conditions if v != "True"
        ]


def _res(label, expr):
    import sympy

    return (label, str(sympy.simplify(expr)))


def _cond(label, value):
    return (label, str(value))


def _two_factor_like(bias: bool) -> SymbolicCheck:
    """Balanced ansatz W = a·P, h_i = (b/√n)·P e_{y_i} with P = I (bias-free) or
    I − 11ᵀ/K (bias), reduced to Φ(a, b); parametrise λ_W = ρ c/(K√n), λ_H = c/(K√n ρ)
    so that K√(nλ_Wλ_H) = c, c = 1/(1+u) (u > 0) for the collapsed side, K = k + 1."""
    import sympy as sp

    a, b, n, k, rho, u, x = sp.symbols("a b n k rho u x", positive=True)
    K = k + 1  # K > 1
    c = 1 / (1 + u)
    lw = rho * c / (K * sp.sqrt(n))
    lh = c / (K * sp.sqrt(n) * rho)
    w = (K - 1) / K if bias else sp.Integer(1)  # data weight (1/N)‖Y_c‖² = (K−1)/K
    rank = K - 1 if bias else K  # ‖W‖² = rank·a², ‖H‖² = rank·b²
    phi = w * (a * b / sp.sqrt(n) - 1) ** 2 / 2 + rank * (lw * a**2 + lh * b**2) / 2
    A = sp.sqrt(n * lh / lw) - K * n * lh  # claimed ‖w_k‖² (bias-free normalisation)
    a_opt = sp.sqrt(A)
    b_opt = sp.sqrt(A * lw / lh)
    at = {a: a_opt, b: b_opt}
    grad = [sp.diff(phi, v) for v in (a, b)]
    hess = sp.hessian(phi, (a, b)).subs(at)
    value = w * (c - c**2 / 2)
    # any c' > 0: Φ − Φ(0) = w[x²/2 + (c'−1)x] + (rank/2)(√λ_W a − √λ_H b)², x = ab/√n
    cc = sp.Symbol("cc", positive=True)
    lw2 = rho * cc / (K * sp.sqrt(n))
    lh2 = cc / (K * sp.sqrt(n) * rho)
    phi2 = w * (a * b / sp.sqrt(n) - 1) ** 2 / 2 + rank * (lw2 * a**2 + lh2 * b**2) / 2
    xab = a * b / sp.sqrt(n)
    sos = w * (xab**2 / 2 + (cc - 1) * xab) + rank * (sp.sqrt(lw2) * a - sp.sqrt(lh2) * b) ** 2 / 2
    name = "mse_bias" if bias else "two_factor_mse"
    return SymbolicCheck(
        name=name,
        residuals=(
            _res("dPhi/da at closed form", grad[0].subs(at)),
            _res("dPhi/db at closed form", grad[1].subs(at)),
            _res("s = ab/sqrt(n) - (1 - c)", a_opt * b_opt / sp.sqrt(n) - (1 - c)),
            _res("balance lambda_W a^2 - lambda_H b^2", lw * A - lh * A * lw / lh),
            _res("optimal value - w(c - c^2/2)", phi.subs(at) - value),
            _res("Phi(0) - value - w(1-c)^2/2", w / 2 - value - w * (1 - c) ** 2 / 2),
            _res("Phi - Phi(0) - SOS form (any c)", phi2 - w / 2 - sos),
            _res(
                "nuclear prox: d/dt[(sqrt n - t)^2/(2N) + mu t] at t = s sqrt n",
                (-(sp.sqrt(n) - (1 - c) * sp.sqrt(n)) / (n * K) + sp.sqrt(lw * lh)),
            ),
        ),
        conditions=(
            _cond("Hessian trace > 0", sp.simplify(hess.trace()).is_positive),
            _cond("Hessian det > 0", sp.factor(sp.simplify(hess.det())).is_positive),
            _cond(
                "w(1-c)^2/2 > 0 for c < 1 (nonzero optimum strictly better)",
                (w * (1 - c) ** 2 / 2).is_positive,
            ),
            _cond(
                "x^2/2 + (c'-1)x >= 0 for x >= 0, c' >= 1 (zero optimal past threshold)",
                sp.simplify((x**2 / 2 + (cc - 1) * x).subs(cc, 1 + u)).is_nonnegative,
            ),
        ),
    )


def verify_two_factor_closed_form() -> SymbolicCheck:
    """Bias-free two-factor MSE: stationarity, positive curvature, value ``c − c²/2``,
    ``‖w_k‖² = √(nλ_H/λ_W) − Knλ_H``, balancedness, and the threshold ``c = 1`` (for
    ``c ≥ 1`` the objective minus 1/2 is a sum of nonnegative terms; for ``c < 1`` the
    nonzero point beats zero by ``(1 − c)²/2``)."""
    return _two_factor_like(bias=False)


def verify_bias_closed_form() -> SymbolicCheck:
    """MSE with unregularised bias: same checks on the simplex-ETF ansatz; value
    ``(K−1)/K · (c − c²/2)``, ‖w_k‖² with the factor (K−1)/K absorbed in ``P``."""
    return _two_factor_like(bias=True)


def verify_deep_stationarity(m: int) -> SymbolicCheck:
    """Deep linear UFM with ``m`` factors (concrete ``m``):

    * ``g(u) = (√n − u^m)²/(2N) + (m/2)c u²`` has
      ``g'(u) = (m u/N)(u^{2m−2} − √n u^{m−2} + cN)`` (spec's polynomial);
    * with ``u = n^{1/(2m)} v``: that polynomial equals
      ``n^{(m−1)/m}(v^{2m−2} − v^{m−2} + β)``, ``β = cK n^{1/m}``;
    * at a root (``β = v^{m−2}(1 − v^m)``, ``x = v^m``): ``K·g = (1 − x)(1 + (m−1)x)/2``,
      which equals 1/2 (the zero solution) exactly at ``x = (m−2)/(m−1)``;
    * the curvature at the larger root is positive: ``d/dv[v^{2m−2} − v^{m−2}]`` > 0 there.
    """
    import sympy as sp

    if isinstance(m, bool) or not isinstance(m, int) or m < 2:
        from ..errors import InvalidInput

        raise InvalidInput(f"m={m!r} must be an integer >= 2")
    u, v, n, K, c = sp.symbols("u v n K c", positive=True)
    N = n * K
    g = (sp.sqrt(n) - u**m) ** 2 / (2 * N) + sp.Rational(m, 2) * c * u**2
    poly = u ** (2 * m - 2) - sp.sqrt(n) * u ** (m - 2) + c * N
    beta = c * K * n ** sp.Rational(1, m)
    sub = poly.subs(u, n ** sp.Rational(1, 2 * m) * v)
    G = K * g.subs(u, n ** sp.Rational(1, 2 * m) * v)
    at_root = G.subs(c, (v ** (m - 2) * (1 - v**m)) / (K * n ** sp.Rational(1, m)))
    xs = sp.Symbol("x", positive=True)
    q = sp.Rational(m - 2, m - 1)
    h = v ** (m - 2) * (1 - v**m)  # β as a function of the root; optimum on its falling side
    vq = q ** sp.Rational(1, m)
    slope_at_q = sp.diff(h, v).subs(v, vq) if m > 2 else sp.diff(h, v).subs(v, 1)
    return SymbolicCheck(
        name=f"deep_linear_m{m}",
        residuals=(
            _res("g'(u) - (m u/N) p(u)", sp.expand(sp.diff(g, u) - m * u / N * poly)),
            _res(
                "p(n^(1/2m) v) - n^((m-1)/m)(v^(2m-2) - v^(m-2) + beta)",
                sp.expand(
                    sub - n ** sp.Rational(m - 1, m) * (v ** (2 * m - 2) - v ** (m - 2) + beta)
                ),
            ),
            _res(
                "K g at root - (1-x)(1+(m-1)x)/2",
                sp.expand(at_root - ((1 - xs) * (1 + (m - 1) * xs) / 2).subs(xs, v**m)),
            ),
            _res(
                "value at x = (m-2)/(m-1) minus 1/2",
                ((1 - xs) * (1 + (m - 1) * xs) / 2).subs(xs, q) - sp.Rational(1, 2),
            ),
        ),
        conditions=(
            # At the threshold root the polynomial v^{2m-2} - v^{m-2} + β is increasing
            # (β - h(v) crosses from negative to positive): a local minimum of g.
            _cond(
                "dh/dv < 0 at the threshold root (local minimum)",
                bool(sp.nsimplify(slope_at_q).evalf(50) < 0),
            ),
        ),
    )


def verify_ce_closed_form() -> SymbolicCheck:
    """Cross-entropy UFM: with K = 2 + k (k ≥ 0) and ``c > 0`` symbolic,
    ``f'(a*) = 0`` at ``a* = log((1 − c(K−1))/c)``; ``f'' > 0``; ``a* > 0 ⇔ c < 1/K``
    (``f'(0) = (K−1)(c − 1/K)``); and for K = 3 the K×K class-level objective
    ``(1/K)Σ_k CE(z̄_k, k) + c‖Z̄‖_*`` at ``Z̄ = a(I − 11ᵀ/K)`` equals ``f(a)`` exactly."""
    import sympy as sp

    a, c, k = sp.symbols("a c k", positive=True)
    K = k + 2
    f = sp.log(1 + (K - 1) * sp.exp(-a)) + c * (K - 1) * a
    a_star = sp.log((1 - c * (K - 1)) / c)
    fp = sp.diff(f, a)
    fpp = sp.diff(f, a, 2)
    # concrete K = 3 reduction from the K×K objective
    K3 = 3
    Zb = a * (sp.eye(K3) - sp.ones(K3, K3) / K3)
    ce = sum(sp.log(sum(sp.exp(Zb[j, i]) for j in range(K3))) - Zb[i, i] for i in range(K3)) / K3
    eig = Zb.eigenvals()
    nuclear = sum(abs(ev) * mult for ev, mult in eig.items())
    f3 = f.subs(k, 1)
    return SymbolicCheck(
        name="cross_entropy",
        residuals=(
            _res("f'(a*)", fp.subs(a, a_star)),
            _res("f'(0) - (K-1)(c - 1/K)", fp.subs(a, 0) - (K - 1) * (c - 1 / K)),
            _res(
                "f''(a) - (K-1)e^-a/(1+(K-1)e^-a)^2",
                fpp - (K - 1) * sp.exp(-a) / (1 + (K - 1) * sp.exp(-a)) ** 2,
            ),
            _res(
                "exp(a*) - 1 - (1 - cK)/c  (a* > 0 iff c < 1/K)",
                sp.exp(a_star) - 1 - (1 - c * K) / c,
            ),
            _res(
                "K=3: class-level objective at a(I - 11^T/K) - f(a)",
                sp.expand_log(sp.simplify(ce + c * nuclear - f3), force=True),
            ),
        ),
        conditions=(_cond("f''(a) > 0", sp.simplify(fpp).is_positive),),
    )
