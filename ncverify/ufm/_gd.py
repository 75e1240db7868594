"""Training the unconstrained-features model in torch (float64), spec §6.

``fit_ufm`` minimises the factorised UFM objective from a seeded random
initialisation and returns the trained factors; tests check that it reaches the
closed-form / cvxpy optimum and collapses (NC1 → 0, κ(H̄) → 1 or ETF distance → 0).

Objective (``m = 2 + len(hidden_lambdas)`` factors, ``Z = W W_{m−1} ⋯ W_2 H`` ∈ R^{K×N})::

    data(Z + b1ᵀ) + λ_W/2‖W‖² + Σ_j λ_j/2‖W_j‖² + λ_H/2‖H‖²
    data = 1/(2N)‖· − Y‖_F²  (loss="mse")   or   (1/N)Σ_i CE(·_i, y_i)  (loss="ce")

(``b`` only for ``bias=True``, unregularised, two factors, MSE.)

Methods. ``"lbfgs"`` (default): torch L-BFGS with a strong-Wolfe line search, the
oracle route -- it reaches the optimum to ~1e-12 in a few hundred iterations, where
plain GD needs ~1/(ηλ) steps per digit of NC1. ``"gd"``: plain full-batch gradient
descent (the paper's algorithm), constant step ``η = 1/L`` with ``L`` a bound on the
Hessian norm evaluated at the initialisation and at the optimum's scale (docstring of
:func:`gd_step_size`). Both stop when the largest gradient entry is below ``grad_tol``.
A non-finite objective, or one exceeding 1e6 × its initial value, raises
:class:`TrainingDiverged` with the step.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..errors import InvalidInput, ProblemTooLarge, TrainingDiverged
from ._closed import (
    _check_flag,
    _check_lambda,
    _check_positive_int,
    _check_real,
    _is_bool,
)
from ._imbalanced import check_class_sizes

__all__ = ["UFMFit", "fit_ufm", "gd_step_size"]

METHODS = ("lbfgs", "gd")


@dataclass(frozen=True)
class UFMFit:
    """A trained UFM.

    ``features``: (N, p) tensor, one row per sample (= Hᵀ); ``labels``: (N,) class of each
    row (classes in consecutive blocks of ``counts[k]`` samples); ``W``: (K, p_last) last
    factor; ``hidden``: the middle factors ``(W_2, …, W_{m−1})`` in application order;
    ``b``: bias (K,) or None;
    ``objective``: final objective; ``steps``: iterations taken; ``grad_max``: largest
    gradient entry at the end; ``converged``: ``grad_max <= grad_tol``; ``seed``,
    ``method``, ``step_size`` (GD only) recorded for reproduction.
    """

    loss: str
    K: int
    n: int | None
    lambda_W: float
    lambda_H: float
    hidden_lambdas: tuple[float, ...]
    bias: bool
    method: str
    seed: int
    steps: int
    objective: float
    grad_max: float
    converged: bool
    step_size: float | None
    features: object = field(repr=False, compare=False)
    labels: object = field(repr=False, compare=False)
    W: object = field(repr=False, compare=False)
    hidden: tuple = field(repr=False, compare=False)
    b: object = field(repr=False, compare=False)
    counts: tuple[int, ...] = ()

    @property
    def m(self) -> int:
        return 2 + len(self.hidden_lambdas)

    def collapse(self) -> dict[str, float]:
        """NC metrics of the trained features (``ncverify.metrics``): ``nc1`` (trace ratio),
        ``kappa`` (κ of the uncentred means; 1 for the bias-free MSE optimum) and
        ``etf_distance`` (0 for the bias / CE optimum)."""
        from ..metrics import nc1_trace_ratio, nc2_etf_distance, nc2_kappa

        Z, y = self.features, self.labels
        return {
            "nc1": nc1_trace_ratio(Z, y, num_classes=self.K),
            "kappa": nc2_kappa(Z, y, num_classes=self.K),
            "etf_distance": nc2_etf_distance(Z, y, num_classes=self.K),
        }

    @property
    def logits(self):
        """``Z = W ⋯ H`` (+ ``b1ᵀ``) as a (N, K) tensor (rows = samples)."""
        Zt = self.features
        for M in self.hidden:
            Zt = Zt @ M.T
        Zt = Zt @ self.W.T
        return Zt if self.b is None else Zt + self.b


def _objective(params, lambdas, Y, y, loss, bias):
    import torch

    *factors, b = params if bias else (*params, None)
    Z = factors[0]
    for M in factors[1:]:
        Z = M @ Z
    if b is not None:
        Z = Z + b[:, None]
    N = Y.shape[1]
    if loss == "mse":
        data = ((Z - Y) ** 2).sum() / (2 * N)
    else:
        data = torch.nn.functional.cross_entropy(Z.T, y, reduction="mean")
    reg = sum(lam / 2 * (F**2).sum() for lam, F in zip(lambdas, factors, strict=True))
    return data + reg


def gd_step_size(factors, lambdas, Y, *, bias: bool = False) -> float:
    """``1/L`` for plain GD, ``L`` a bound on the Hessian norm at ``factors``.

    For ``f = data(F_m⋯F_1) + Σλ_i/2‖F_i‖²`` with a 1-smooth data term scaled by 1/N,
    the block ``i`` curvature is at most ``λ_i + ∏_{j≠i}‖F_j‖_op²/N`` and the cross
    terms at most ``(m−1)(‖R‖_op + ∏_j‖F_j‖_op·max_j‖F_j‖_op)/N·∏…``; we use
    ``L = max_i λ_i + (Σ_i ∏_{j≠i}‖F_j‖²_op + (m−1)‖R‖_op P_2)/N`` with ``R = Z − Y`` and
    ``P_2`` the largest product of all but two norms (1 for m = 2). An unregularised
    bias adds its own curvature 1 and cross terms ``∏_{j≠i}‖F_j‖_op/√N``.
    """
    bias = _check_flag("bias", bias)
    import torch

    norms = [float(torch.linalg.matrix_norm(F, ord=2)) for F in factors]
    m = len(factors)
    N = Y.shape[1]
    Z = factors[0]
    for M in factors[1:]:
        Z = M @ Z
    R = float(torch.linalg.matrix_norm(Z - Y, ord=2))
    blocks = [math.prod(norms[:i] + norms[i + 1 :]) ** 2 for i in range(m)]
    pairs = [
        math.prod(v for k, v in enumerate(norms) if k not in (i, j))
        for i in range(m)
        for j in range(i + 1, m)
    ]
    L = max(lambdas) + (sum(blocks) + (m - 1) * R * max(pairs)) / N
    if bias:
        L += 1.0 + math.sqrt(max(blocks) / N)
    return 1.0 / L


def fit_ufm(
    loss: str,
    K: int,
    n: int,
    lambda_W: float,
    lambda_H: float,
    *,
    hidden_lambdas: Sequence[float] = (),
    bias: bool = False,
    width: int | None = None,
    method: str = "lbfgs",
    max_steps: int = 2000,
    grad_tol: float = 1e-11,
    step_size: float | None = None,
    seed: int = 0,
    device="cpu",
    init_scale: float = 1.0,
    max_bytes: int = 2 * 1024**3,
) -> UFMFit:
    """Train the UFM ``loss`` ("mse" or "ce") in float64 from a seeded random start.

    ``n``: samples per class, or a sequence of K per-class sizes (``n`` of the result is then
    None and ``counts`` holds the sizes). ``width`` = feature dimension p (default K; every
    hidden layer has width p).
    Initialisation: Haar-random semi-orthogonal factors (QR of a Gaussian) with all
    singular values ``init_scale·(c n^{1/m}/λ_i)^{1/2}`` (the balanced optimum's scale
    for ``t = √n``, ``c = (∏λ)^{1/m}``); equal singular values keep every direction
    away from the spurious basin of ``t = 0`` that exists for ``m ≥ 3``. Drawn on CPU
    from ``torch.Generator().manual_seed(seed)`` and moved to ``device``. ``step_size``
    (GD only) defaults to :func:`gd_step_size` at the start. Raises
    :class:`TrainingDiverged` on a non-finite or exploding objective, and
    :class:`ProblemTooLarge` (before allocating) when parameters, gradients and the
    L-BFGS history (≈ 6 copies of the parameters) would exceed ``max_bytes``.
    """
    import torch

    K, counts, balanced = check_class_sizes(K, n)
    lw = _check_lambda("lambda_W", lambda_W)
    lh = _check_lambda("lambda_H", lambda_H)
    if isinstance(hidden_lambdas, (str, bytes)):
        raise InvalidInput(f"hidden_lambdas={hidden_lambdas!r} must be a sequence of numbers")
    hl = tuple(_check_lambda(f"hidden_lambdas[{i}]", v) for i, v in enumerate(hidden_lambdas))
    bias = _check_flag("bias", bias)
    if loss not in ("mse", "ce"):
        raise InvalidInput(f"loss={loss!r}; expected 'mse' or 'ce'")
    if bias and (loss != "mse" or hl):
        raise InvalidInput(
            "bias=True is supported for the two-factor MSE UFM only "
            f"(got loss={loss!r}, {len(hl)} hidden layers)"
        )
    if method not in METHODS:
        raise InvalidInput(f"method={method!r}; expected one of {', '.join(METHODS)}")
    p = K if width is None else width
    if _is_bool(p) or not isinstance(p, numbers.Integral) or p < K:
        raise InvalidInput(
            f"width={width!r} must be an integer >= K={K} (the optimum has "
            f"rank K; a narrower model cannot reach it)"
        )
    p = int(p)
    max_steps = _check_positive_int("max_steps", max_steps)
    if step_size is not None and not _check_real("step_size", step_size) > 0:
        raise InvalidInput(f"step_size={step_size!r} must be finite and positive")
    if not _check_real("grad_tol", grad_tol) >= 0:
        raise InvalidInput(f"grad_tol={grad_tol!r} must be a finite number >= 0")
    if not _check_real("init_scale", init_scale) > 0:
        raise InvalidInput(f"init_scale={init_scale!r} must be finite and positive")
    if _is_bool(seed) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise InvalidInput(f"seed={seed!r} must be an integer >= 0")
    max_bytes = _check_positive_int("max_bytes", max_bytes)
    N = sum(counts)
    need = 8 * (p * N + len(hl) * p * p + K * p) * 6  # params, grads, L-BFGS history
    if need > max_bytes:
        size = f"n={counts[0]}" if balanced else f"N={N}"
        raise ProblemTooLarge(
            f"UFM training with K={K}, {size}, width={p}, m={2 + len(hl)} needs about "
            f"{need / 2**30:.2f} GiB (> max_bytes={max_bytes / 2**30:.2f} GiB); reduce n or "
            f"width, or raise max_bytes deliberately"
        )
    dev = torch.device(device)
    # These problems are tiny (K×N ≤ a few thousand entries): intra-op threads only add
    # contention (measured 100× slower on a loaded 2-core machine), so run single-threaded
    # and restore the caller's setting afterwards.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _fit(
            loss,
            counts,
            lw,
            lh,
            hl,
            bias,
            method,
            p,
            max_steps,
            grad_tol,
            step_size,
            seed,
            dev,
            init_scale,
        )
    finally:
        torch.set_num_threads(threads)


def _fit(
    loss, counts, lw, lh, hl, bias, method, p, max_steps, grad_tol, step_size, seed, dev, init_scale
):
    import torch

    dt = torch.float64
    K, N = len(counts), sum(counts)
    n = N / K  # the average class size sets the initial scale
    y = torch.repeat_interleave(torch.arange(K), torch.tensor(counts)).to(dev)
    Y = torch.nn.functional.one_hot(y, K).T.to(dt)
    lambdas = (lh, *hl, lw)  # application order: H, W_2, ..., W
    m = len(lambdas)
    c = math.exp(sum(math.log(v) for v in lambdas) / m)
    gen = torch.Generator().manual_seed(int(seed))
    shapes = [(p, N)] + [(p, p)] * len(hl) + [(K, p)]
    factors = []
    for lam, (rows, cols) in zip(lambdas, shapes, strict=True):
        # random semi-orthogonal factor with singular values at the balanced optimum's
        # scale for t = √n: λ_i s_i² = c t^{2/m}
        G = torch.randn(max(rows, cols), min(rows, cols), generator=gen, dtype=dt)
        Q, Rq = torch.linalg.qr(G)
        Q = Q * torch.sign(torch.diagonal(Rq))
        F = (Q if rows >= cols else Q.T).contiguous()
        F = F * (init_scale * math.sqrt(c * n ** (1 / m) / lam))
        factors.append(F.to(dev).requires_grad_(True))
    params = list(factors)
    if bias:
        params.append(torch.zeros(K, dtype=dt, device=dev, requires_grad=True))

    def objective():
        return _objective(params, lambdas, Y, y, loss, bias)

    with torch.no_grad():
        f0 = float(objective())
    limit = 1e6 * max(f0, 1.0)
    count = [0]

    def check(value):
        v = float(value.detach())
        if not math.isfinite(v) or v > limit:
            raise TrainingDiverged(
                f"UFM {method} diverged at step {count[0]}: objective {v!r} (initial {f0:.3g}); "
                f"reduce step_size (used {eta!r}) or use method='lbfgs'",
                step=count[0],
            )

    eta = None
    if method == "lbfgs":
        opt = torch.optim.LBFGS(
            params,
            lr=1.0,
            max_iter=max_steps,
            max_eval=4 * max_steps,
            tolerance_grad=grad_tol,
            tolerance_change=0.0,
            history_size=50,
            line_search_fn="strong_wolfe",
        )

        def closure():
            opt.zero_grad()
            f = objective()
            check(f)
            f.backward()
            return f

        opt.step(closure)
        count[0] = int(opt.state[opt._params[0]]["n_iter"])
    else:
        with torch.no_grad():
            eta = (
                step_size if step_size is not None else gd_step_size(factors, lambdas, Y, bias=bias)
            )
        for count[0] in range(1, max_steps + 1):  # count[0] is read by check()
            for P in params:
                P.grad = None
            f = objective()
            check(f)
            f.backward()
            with torch.no_grad():
                gmax = max(float(P.grad.abs().max()) for P in params)
                if gmax <= grad_tol:
                    break
                for P in params:
                    P -= eta * P.grad
    for P in params:
        P.grad = None
    f = objective()
    check(f)
    f.backward()
    gmax = max(float(P.grad.abs().max()) for P in params)
    with torch.no_grad():
        det = [P.detach() for P in params]
    return UFMFit(
        loss=loss,
        K=K,
        n=counts[0] if len(set(counts)) == 1 else None,
        lambda_W=lw,
        lambda_H=lh,
        hidden_lambdas=hl,
        bias=bias,
        method=method,
        seed=int(seed),
        steps=count[0],
        objective=float(f.detach()),
        grad_max=gmax,
        converged=gmax <= grad_tol,
        step_size=eta,
        features=det[0].T,
        labels=y,
        W=det[m - 1],
        hidden=tuple(det[1 : m - 1]),
        b=det[m] if bias else None,
        counts=tuple(counts),
    )
