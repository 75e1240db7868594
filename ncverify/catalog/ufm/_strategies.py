"""Hypothesis strategies for the UFM theorems: instances at and around every threshold.

Each strategy draws sizes, regularisation and a training budget, records them in
``inputs`` and calls the matching ``build_*`` function, which runs the routes; rebuilding
from ``inputs`` gives the same instance. Threshold placement (``mode``):

* ``"exact"``: exactly at the threshold in rational arithmetic (dyadic floats): ``c = 1``
  (``K²nλ_Wλ_H = 1``), ``n_j = N²λ_Wλ_H``, ``r = r*`` (deep linear, ``m ∈ {2, 3, 5}``, where
  ``r*`` is dyadic);
* ``"near"``: within a relative ``10^{-8}`` … ``10^{-2}`` of it, on either side;
* ``"far"``: anywhere in a wide range on both sides.

Training budgets range from a handful of iterations (the final gradient is then large and so
is the a-posteriori tolerance) to convergence. ``narrow=True`` draws a feature dimension
``p < K`` (the width hypothesis fails: runs for the *robustness* role).
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from ...errors import SolverFailed, TrainingDiverged
from ._snapshots import MinorityRun, ReluRun, UFMRun

__all__ = [
    "build_minority_run",
    "build_relu_run",
    "build_ufm_run",
    "deep_linear_runs",
    "imbalanced_runs",
    "minority_runs",
    "relu_runs",
    "ufm_runs",
]

PROBLEMS = ("mse", "mse_bias", "ce")
MODES = ("exact", "near", "far")


def build_ufm_run(
    *,
    problem: str,
    counts: list[int],
    lambdas: list[float],
    width: int,
    steps: int,
    seed: int,
    method: str = "lbfgs",
    **_: Any,
) -> UFMRun:
    """Run the three routes of one UFM instance (``lambdas = (λ_H, …, λ_W)``)."""
    from ... import ufm

    inputs = dict(
        problem=problem,
        counts=list(counts),
        lambdas=list(lambdas),
        width=width,
        steps=steps,
        seed=seed,
        method=method,
        dtype="float64",
    )
    K, lh, lw = len(counts), lambdas[0], lambdas[-1]
    n = counts[0]
    common = dict(problem=problem, counts=tuple(counts), lambdas=tuple(lambdas), width=width)
    try:
        if problem == "deep":
            exact = ufm.exact_deep_linear(K, n, lambdas)
            cert = ufm.certify_deep_linear(K, n, lambdas)
        elif problem == "imbalanced":
            exact = ufm.exact_imbalanced(counts, lw, lh)
            cert = ufm.certify_ufm("mse", K, list(counts), lw, lh)
        elif problem == "ce":
            exact = ufm.exact_cross_entropy(K, n, lw, lh)
            cert = ufm.certify_ufm("ce", K, n, lw, lh)
        else:
            exact = ufm.exact_two_factor(K, n, lw, lh, bias=problem == "mse_bias")
            cert = ufm.certify_ufm(problem, K, n, lw, lh)
        fit = (
            ufm.fit_ufm(
                "ce" if problem == "ce" else "mse",
                K,
                n if problem != "imbalanced" else list(counts),
                lw,
                lh,
                hidden_lambdas=list(lambdas[1:-1]),
                bias=problem == "mse_bias",
                width=width,
                method=method,
                max_steps=steps,
                seed=seed,
            )
            if width >= K
            else _narrow_fit(problem, counts, lambdas, width, steps, seed, method)
        )
    except (SolverFailed, TrainingDiverged) as exc:
        return UFMRun(**common, failure=f"{type(exc).__name__}: {exc}", inputs=inputs)
    return UFMRun(**common, exact=exact, certificate=cert, fit=fit, inputs=inputs)


def _narrow_fit(problem, counts, lambdas, width, steps, seed, method):
    """A UFM fit with feature dimension ``width < K`` (fit_ufm refuses it: train here)."""
    import torch

    from ...ufm import UFMFit

    K, N = len(counts), sum(counts)
    lh, lw = lambdas[0], lambdas[-1]
    gen = torch.Generator().manual_seed(int(seed))
    f64 = torch.float64
    W = (torch.randn(K, width, generator=gen, dtype=f64) * 0.3).requires_grad_(True)
    H = (torch.randn(width, N, generator=gen, dtype=f64) * 0.3).requires_grad_(True)
    b = torch.zeros(K, dtype=f64, requires_grad=True)
    y = torch.repeat_interleave(torch.arange(K), torch.tensor(counts))
    Y = torch.nn.functional.one_hot(y, K).T.to(f64)
    params = [W, H] + ([b] if problem == "mse_bias" else [])

    def objective():
        Z = W @ H + (b[:, None] if problem == "mse_bias" else 0)
        if problem == "ce":
            data = torch.nn.functional.cross_entropy(Z.T, y)
        else:
            data = ((Z - Y) ** 2).sum() / (2 * N)
        return data + lw / 2 * (W**2).sum() + lh / 2 * (H**2).sum()

    opt = torch.optim.LBFGS(params, max_iter=steps, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        f = objective()
        f.backward()
        return f

    opt.step(closure)
    f = objective()
    return UFMFit(
        loss="ce" if problem == "ce" else "mse",
        K=K,
        n=counts[0] if len(set(counts)) == 1 else None,
        lambda_W=lw,
        lambda_H=lh,
        hidden_lambdas=(),
        bias=problem == "mse_bias",
        method=method,
        seed=seed,
        steps=steps,
        objective=float(f.detach()),
        grad_max=float("nan"),
        converged=False,
        step_size=None,
        features=H.detach().T,
        labels=y,
        W=W.detach(),
        hidden=(),
        b=b.detach() if problem == "mse_bias" else None,
        counts=tuple(counts),
    )


def _pick(draw, options):
    """One of ``options``, about uniformly: hypothesis draws small integers (and the first
    element of ``sampled_from``) far more often than others; a wide integer modulo the
    number of options spreads the cases."""
    return options[draw(st.integers(0, 2**16)) % len(options)]


def _powers_of_two(draw, max_value: int) -> int:
    return 2 ** draw(st.integers(0, max(0, int(math.log2(max_value)))))


@st.composite
def _budgets(draw) -> tuple[int, str]:
    kind = _pick(draw, ("short", "long", "gd"))
    if kind == "short":
        return draw(st.integers(2, 25)), "lbfgs"
    if kind == "long":
        return draw(st.integers(100, 400)), "lbfgs"
    return draw(st.integers(20, 400)), "gd"


def _ratio(draw, case: str) -> float:
    """The threshold parameter for ``case`` (module docstring), threshold at 1."""
    if case.startswith("near"):
        gap = 10.0 ** draw(st.floats(-8.0, -2.0))
        return 1.0 - gap if case == "near-below" else 1.0 + gap
    if case == "far-below":
        return 10.0 ** draw(st.floats(math.log10(0.05), math.log10(0.95)))
    return 10.0 ** draw(st.floats(math.log10(1.05), math.log10(3.0)))


#: threshold cases, both sides about equally often
CASES = ("far-below", "far-above", "near-below", "near-above", "exact")


@st.composite
def _ufm_runs(draw, problem, max_classes, max_per_class, narrow):
    case = _pick(draw, CASES)
    rho = 4.0 ** draw(st.integers(-2, 2))  # λ_W/λ_H = 4^k: √ρ is dyadic, "exact" stays exact
    if case == "exact":  # K²nλ_Wλ_H = 1 with K, √n powers of two: dyadic λ's
        K = max(2, _powers_of_two(draw, max_classes))
        n = _powers_of_two(draw, max(1, math.isqrt(max_per_class))) ** 2
        mu = 1.0 / (K * math.sqrt(n))
    else:
        K = draw(st.integers(2, max_classes))
        n = draw(st.integers(1, max_per_class))
        mu = _ratio(draw, case) / (K * math.sqrt(n))
    lw, lh = mu * math.sqrt(rho), mu / math.sqrt(rho)
    steps, method = draw(_budgets())
    width = draw(st.integers(1, K - 1)) if narrow else K + draw(st.integers(0, 2))
    return build_ufm_run(
        problem=problem,
        counts=[n] * K,
        lambdas=[lh, lw],
        width=width,
        steps=steps,
        seed=draw(st.integers(0, 2**31 - 1)),
        method=method,
    )


def _check_int(name, v, low):
    if isinstance(v, bool) or not isinstance(v, int) or v < low:
        raise InvalidArgument(f"{name}={v!r} must be an integer >= {low}")


def ufm_runs(
    *, problem: str = "mse", max_classes: int = 5, max_per_class: int = 4, narrow: bool = False
):
    """Strategy for :class:`UFMRun` of the balanced two-factor UFM ``problem`` ("mse",
    "mse_bias" or "ce"); the threshold parameter ``K√(nλ_Wλ_H)`` (MSE ``c``, CE ``νK``) is
    exactly 1, near 1 or in [0.05, 3] (module docstring)."""
    if problem not in PROBLEMS:
        raise InvalidArgument(f"problem={problem!r}; expected one of {PROBLEMS}")
    _check_int("max_classes", max_classes, 2)
    _check_int("max_per_class", max_per_class, 1)
    return _ufm_runs(problem, max_classes, max_per_class, bool(narrow))


@st.composite
def _imbalanced_runs(draw, max_classes, max_count):
    mode = _pick(draw, MODES)
    K = draw(st.integers(2, max_classes))
    counts = draw(st.lists(st.integers(1, max_count), min_size=K, max_size=K))
    j = draw(st.integers(0, K - 1))
    if mode == "exact":  # N a power of two: λ_W = n_j 2^e/N, λ_H = 2^-e/N are dyadic
        N = sum(counts)
        top = 1 << (N - 1).bit_length()
        counts[-1] += top - N  # n_j is read after this, so j = K − 1 is fine too
        e = draw(st.integers(-2, 2))
        lw, lh = counts[j] * 2.0**e / top, 2.0**-e / top
        assert Fraction(lw) * Fraction(lh) * top * top == counts[j]
    else:
        N = sum(counts)
        if mode == "near":
            sign = _pick(draw, (-1.0, 1.0))
            target = counts[j] * (1.0 + sign * 10.0 ** draw(st.floats(-8.0, -2.0)))
        else:
            target = 10.0 ** draw(st.floats(-2.0, math.log10(2.0 * max(counts))))
        mu = math.sqrt(target) / N
        rho = 4.0 ** draw(st.integers(-2, 2))
        lw, lh = mu * math.sqrt(rho), mu / math.sqrt(rho)
    steps, method = draw(_budgets())
    return build_ufm_run(
        problem="imbalanced",
        counts=counts,
        lambdas=[lh, lw],
        width=K + draw(st.integers(0, 2)),
        steps=steps,
        seed=draw(st.integers(0, 2**31 - 1)),
        method=method,
    )


def imbalanced_runs(*, max_classes: int = 5, max_count: int = 12):
    """Strategy for :class:`UFMRun` of the imbalanced MSE UFM; ``N²λ_Wλ_H`` is placed exactly
    at, near, or away from one class size ``n_j`` (module docstring)."""
    _check_int("max_classes", max_classes, 2)
    _check_int("max_count", max_count, 1)
    return _imbalanced_runs(max_classes, max_count)


def _r_star(m: int) -> Fraction:
    q = Fraction(m - 2, m - 1)
    return q ** (m - 2) * (1 - q) ** m if m > 2 else Fraction(1)


@st.composite
def _deep_linear_runs(draw, max_depth, max_classes, max_per_class):
    mode = _pick(draw, MODES)
    if mode == "exact":  # r* dyadic for m = 2, 3, 5; K, n powers of two
        m = draw(st.sampled_from([v for v in (2, 3, 5) if v <= max_depth]))
        K = max(2, _powers_of_two(draw, max_classes))
        n = _powers_of_two(draw, max_per_class)
        r = _r_star(m)
    else:
        m = draw(st.integers(2, max_depth))
        K = draw(st.integers(2, max_classes))
        n = draw(st.integers(1, max_per_class))
        if mode == "near":
            sign = _pick(draw, (-1, 1))
            r = _r_star(m) * (1 + sign * Fraction(1, 2 ** draw(st.integers(6, 26))))
        else:
            r = _r_star(m) * Fraction(10.0 ** draw(st.floats(-2.0, 0.5)))
    rest = [2.0 ** draw(st.integers(-3, 0)) for _ in range(m - 1)]
    first = r / (Fraction(K) ** m * n)
    for v in rest:
        first /= Fraction(v)
    lambdas = [float(first), *rest]
    steps, method = draw(_budgets())
    return build_ufm_run(
        problem="deep",
        counts=[n] * K,
        lambdas=lambdas,
        width=K + draw(st.integers(0, 1)),
        steps=steps,
        seed=draw(st.integers(0, 2**31 - 1)),
        method="lbfgs" if method == "gd" else method,
    )


def deep_linear_runs(*, max_depth: int = 5, max_classes: int = 4, max_per_class: int = 3):
    """Strategy for :class:`UFMRun` of the deep linear UFM with ``m = 2 … max_depth``
    factors; ``r = K^m n∏λ_i`` exactly at ``r*`` (m = 2, 3, 5), within ``2^-26 … 2^-6`` of
    it, or in ``[0.01, 3.2]·r*``."""
    _check_int("max_depth", max_depth, 3)
    _check_int("max_classes", max_classes, 2)
    _check_int("max_per_class", max_per_class, 1)
    return _deep_linear_runs(max_depth, max_classes, max_per_class)


def build_minority_run(
    *,
    K_A: int,
    K_B: int,
    E_W: float,
    E_H: float,
    ratios: list[float],
    n_A: int,
    steps: int,
    seed: int,
    width: int | None = None,
    **_: Any,
) -> MinorityRun:
    """Certify the layer-peeled model at every ratio (and ``R = ∞``) and train it once."""
    from ... import ufm

    K = K_A + K_B
    p = 2 * K if width is None else width
    inputs = dict(
        K_A=K_A,
        K_B=K_B,
        E_W=E_W,
        E_H=E_H,
        ratios=list(ratios),
        n_A=n_A,
        steps=steps,
        seed=seed,
        width=p,
        dtype="float64",
    )
    grid = (*tuple(sorted(ratios)), math.inf)
    try:
        certs = tuple(ufm.certify_lpm(K_A, K_B, R, E_W=E_W, E_H=E_H) for R in grid)
        fit = ufm.fit_lpm(K_A, K_B, n_A, 1, E_W=E_W, E_H=E_H, width=p, max_steps=steps, seed=seed)
        fit_cert = ufm.certify_lpm(K_A, K_B, float(n_A), E_W=E_W, E_H=E_H)
    except SolverFailed as exc:
        return MinorityRun(K_A, K_B, E_W, E_H, grid, failure=str(exc), width=p, inputs=inputs)
    return MinorityRun(K_A, K_B, E_W, E_H, grid, certs, fit, fit_cert, p, inputs=inputs)


@st.composite
def _minority_runs(draw, max_classes):
    K_A = draw(st.integers(1, max_classes - 1))
    K_B = draw(st.integers(2, max(2, max_classes - K_A)))
    ratios = [1.0, *sorted(draw(st.lists(st.floats(1.5, 300.0), min_size=2, max_size=3)))]
    return build_minority_run(
        K_A=K_A,
        K_B=K_B,
        E_W=draw(st.floats(0.5, 2.0)),
        E_H=draw(st.floats(1.0, 10.0)),
        ratios=ratios,
        n_A=draw(st.sampled_from((1, 2, 5, 20))),
        steps=draw(st.sampled_from((5, 30, 300))),
        seed=draw(st.integers(0, 2**31 - 1)),
    )


def minority_runs(*, max_classes: int = 4):
    """Strategy for :class:`MinorityRun`: ``K_A ≥ 1`` majority and ``K_B ≥ 2`` minority
    classes (``K ≤ max_classes``), budgets ``E_W ∈ [0.5, 2]``, ``E_H ∈ [1, 10]``, a sweep
    ``R = 1 < R_1 < … ≤ 300`` plus ``∞``, one training run at ``R = n_A``."""
    _check_int("max_classes", max_classes, 3)
    return _minority_runs(max_classes)


def build_relu_run(*, r: int, L: int, n: int, lambdas: list[float], **_: Any) -> ReluRun:
    """Compare DNC and the complete-graph configuration exactly and evaluate both networks."""
    from ... import ufm

    inputs = dict(r=r, L=L, n=n, lambdas=list(lambdas), seed=None, dtype="float64")
    cmp = ufm.compare_relu_configurations(r, L, n, lambdas)
    structure = ufm.complete_graph_structure(r)
    values = []
    for kind in ("dnc", "srg"):
        H1, Ws = ufm.relu_configuration(cmp, kind, lambdas)
        values.append(ufm.relu_objective(H1, Ws, n, lambdas))
    return ReluRun(
        r=r,
        L=L,
        n=n,
        lambdas=tuple(lambdas),
        comparison=cmp,
        structure={k: structure[k] for k in ("relu_is_identity", "rank_pre", "K")},
        dnc_objective=values[0],
        srg_objective=values[1],
        inputs=inputs,
    )


@st.composite
def _relu_runs(draw, max_vertices, max_layers):
    # (r, L) pairs on both sides of r·2^{L−3} = (r−1)^{L−2}, then any pair
    pairs = [(4, 4), (3, 2), (5, 3), (5, 4), (3, 4), (4, 3), (6, 5), (4, 5)]
    pairs = [(r, L) for r, L in pairs if r <= max_vertices and L <= max_layers]
    r, L = draw(
        st.sampled_from(pairs) | st.tuples(st.integers(3, max_vertices), st.integers(2, max_layers))
    )
    n = draw(st.integers(1, 2))
    K = r * (r - 1) // 2
    # λ around the DNC threshold: C_dnc = n K^{L+1} λ^{L+1} = t·r*(L+1)
    t = 10.0 ** draw(st.floats(-3.0, 0.3))
    lam = float((t * float(_r_star(L + 1)) / (n * K ** (L + 1))) ** (1.0 / (L + 1)))
    spread = [2.0 ** draw(st.integers(-1, 1)) for _ in range(L + 1)]
    return build_relu_run(r=r, L=L, n=n, lambdas=[lam * s for s in spread])


def relu_runs(*, max_vertices: int = 6, max_layers: int = 5):
    """Strategy for :class:`ReluRun`: ``r = 3 … max_vertices`` (``K = C(r, 2)``), ``L = 2 …
    max_layers``, λ's around the DNC collapse threshold."""
    _check_int("max_vertices", max_vertices, 3)
    _check_int("max_layers", max_layers, 2)
    return _relu_runs(max_vertices, max_layers)
