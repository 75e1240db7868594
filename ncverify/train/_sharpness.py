r"""Sharpness: the largest eigenvalue of the Hessian of the regularised loss (spec §5).

``λ_max(∇²L_λ(θ))`` with ``L_λ = (1/(2N))‖Z_L − Y‖_F² + (λ/2)Σ‖θ_i‖²`` over every trainable
parameter, by power iteration on Hessian-vector products (``torch.autograd`` double
backward; the Hessian is never formed). JSWM Proposition 5.3 concerns solutions that are
stable for gradient descent with step ``η``, i.e. ``λ_max ≤ 2/η``.

Power iteration converges to the eigenvalue of largest *magnitude*; when that one is
negative (a saddle), a second power iteration on ``H + |μ| I`` gives the largest
algebraic eigenvalue. The start vector is Gaussian from a seeded CPU generator, so results
are reproducible. Convergence: relative change of the Rayleigh quotient ``≤ tol``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import torch

from ..errors import InvalidInput, ProblemTooLarge

__all__ = [
    "EXACT_MAX_PARAMS",
    "Sharpness",
    "exact_sharpness",
    "hessian_vector_product",
    "sharpness",
]

#: :func:`exact_sharpness` forms the Hessian (P² entries) only up to this many parameters
EXACT_MAX_PARAMS = 6000


@dataclass(frozen=True)
class Sharpness:
    """``value`` = λ_max(∇²L_λ) estimate; ``iterations`` (total HVPs), ``converged``,
    ``residual`` = ``‖Hv − value·v‖/|value|`` at the returned vector, ``seed``, ``tol``."""

    value: float
    iterations: int
    converged: bool
    residual: float
    seed: int
    tol: float


def _loss(net, X, Y, weight_decay: float, params):
    N = X.shape[0]
    data = torch.nn.functional.mse_loss(net(X), Y, reduction="sum") * (0.5 / N)
    reg = 0.5 * weight_decay * sum((p * p).sum() for p in params)
    return data + reg


def hessian_vector_product(net, X, y, weight_decay: float):
    """A function ``hvp(vectors) -> list of tensors``: ``∇²L_λ`` applied to ``vectors``.

    ``vectors`` is a list shaped like the trainable parameters. Built on one retained graph
    of the gradient (double backward), so each call costs one backward pass.
    """
    params = [p for p in net.parameters() if p.requires_grad]
    K = net.num_classes
    Y = torch.nn.functional.one_hot(y.to(torch.int64), K).to(dtype=X.dtype, device=X.device)
    grads = torch.autograd.grad(_loss(net, X, Y, weight_decay, params), params, create_graph=True)

    def hvp(vectors):
        return list(torch.autograd.grad(grads, params, grad_outputs=vectors, retain_graph=True))

    return hvp, params


def _dot(a, b) -> torch.Tensor:
    return sum((x * z).sum() for x, z in zip(a, b, strict=True))


def _power(hvp, v, shift: float, tol: float, max_iter: int):
    """Power iteration on ``H + shift·I`` from ``v``; returns (rayleigh, v, iters, converged)."""
    norm = torch.sqrt(_dot(v, v))
    v = [x / norm for x in v]
    prev = math.nan
    lam = math.nan
    for it in range(1, max_iter + 1):
        Hv = [h + shift * x for h, x in zip(hvp(v), v, strict=True)]
        lam = float(_dot(v, Hv))
        norm = float(torch.sqrt(_dot(Hv, Hv)))
        if not math.isfinite(norm) or norm == 0.0:
            return lam, v, it, norm == 0.0
        v = [h / norm for h in Hv]
        if math.isfinite(prev) and abs(lam - prev) <= tol * max(abs(lam), 1e-300):
            return lam, v, it, True
        prev = lam
    return lam, v, max_iter, False


def sharpness(
    net, X, y, weight_decay: float, *, seed: int = 0, tol: float = 1e-6, max_iter: int = 500
) -> Sharpness:
    r"""``λ_max(∇²L_λ(θ))`` at the current parameters of ``net`` (spec §5, JSWM Prop. 5.3).

    ``X`` ``(N, d)``, ``y`` ``(N,)``; computed in the network's dtype on its device (pass a
    float64 network for theorem checks). ``tol``: relative change of the Rayleigh quotient
    at which the iteration stops; ``max_iter``: HVPs per power iteration.
    """
    if not (isinstance(tol, float) and 0 < tol < 1):
        raise InvalidInput(f"tol must be a float in (0, 1), got {tol!r}")
    if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 2:
        raise InvalidInput(f"max_iter must be an integer >= 2, got {max_iter!r}")
    if not (
        isinstance(weight_decay, (int, float)) and math.isfinite(weight_decay) and weight_decay >= 0
    ):
        raise InvalidInput(f"weight_decay must be a finite number >= 0, got {weight_decay!r}")
    hvp, params = hessian_vector_product(net, X, y, float(weight_decay))
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    v0 = [torch.randn(p.shape, generator=gen, dtype=torch.float64).to(p) for p in params]
    mu, v, iters, conv = _power(hvp, v0, 0.0, tol, max_iter)
    total = iters
    if mu < 0:  # the dominant eigenvalue is negative: shift to find the top algebraic one
        lam, v, iters2, conv = _power(hvp, v0, -mu, tol, max_iter)
        mu = lam + mu
        total += iters2
    Hv = hvp(v)
    nv = float(torch.sqrt(_dot(v, v)))
    v = [x / nv for x in v]
    Hv = [h / nv for h in Hv]
    r = [h - mu * x for h, x in zip(Hv, v, strict=True)]
    residual = float(torch.sqrt(_dot(r, r))) / max(abs(mu), 1e-300)
    return Sharpness(
        value=mu, iterations=total, converged=conv, residual=residual, seed=int(seed), tol=tol
    )


def exact_sharpness(net, X, y, weight_decay: float, *, max_params: int = EXACT_MAX_PARAMS) -> float:
    r"""``λ_max(∇²L_λ(θ))`` from the full Hessian (spec §5): exact up to rounding.

    ``L_λ = (1/(2N))‖Z_L − Y‖_F² + (λ/2)Σ‖θ_i‖²`` over every trainable parameter of ``net``
    at its current values; the Hessian is formed column by column by a batched double
    backward (``P`` Hessian-vector products with the unit vectors) in the network's dtype on
    its device, symmetrised and its top eigenvalue taken
    with ``eigvalsh`` (backward stable: error ``≲ P·eps·‖∇²L_λ‖``). Unlike :func:`sharpness`
    (power iteration: a lower estimate), this is the value itself, so ``η·λ_max < 2`` decided
    on it is a measurement, not a proxy. Raises :class:`~ncverify.ProblemTooLarge` when the
    network has more than ``max_params`` parameters (``P²`` Hessian entries).
    """
    from torch.func import functional_call

    if not (
        isinstance(weight_decay, (int, float)) and math.isfinite(weight_decay) and weight_decay >= 0
    ):
        raise InvalidInput(f"weight_decay must be a finite number >= 0, got {weight_decay!r}")
    named = [(n, p) for n, p in net.named_parameters() if p.requires_grad]
    P = sum(p.numel() for _, p in named)
    if P > max_params:
        raise ProblemTooLarge(
            f"exact_sharpness forms the {P}x{P} Hessian of {type(net).__name__}; the limit is "
            f"max_params={max_params}: use sharpness() (power iteration, a lower estimate)"
        )
    names = [n for n, _ in named]
    shapes = [p.shape for _, p in named]
    flat = torch.cat([p.detach().reshape(-1) for _, p in named])
    K = net.num_classes
    Y = torch.nn.functional.one_hot(y.to(torch.int64), K).to(dtype=X.dtype, device=X.device)
    scale, lam = 0.5 / X.shape[0], float(weight_decay)

    def loss(theta):
        params, i = {}, 0
        for name, shape in zip(names, shapes, strict=True):
            k = shape.numel()
            params[name] = theta[i : i + k].view(shape)
            i += k
        out = functional_call(net, params, (X,))
        return scale * ((out - Y) ** 2).sum() + 0.5 * lam * (theta * theta).sum()

    theta = flat.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(loss(theta), theta, create_graph=True)
    basis = torch.eye(P, dtype=flat.dtype, device=flat.device)
    with warnings.catch_warnings():  # torch loads its vmap decompositions with jit.script
        warnings.filterwarnings("ignore", "`torch.jit.script` is deprecated", DeprecationWarning)
        (H,) = torch.autograd.grad(grad, theta, grad_outputs=basis, is_grads_batched=True)
    H = H.detach()
    return float(torch.linalg.eigvalsh(0.5 * (H + H.T))[-1])
