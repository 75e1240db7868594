"""Hypothesis strategies for the gradient-descent invariants (spec §4).

``gd_steps`` builds a small float64 network around a pair of linear layers,
computes the data-term gradients with torch autograd on a random batch (MSE or
cross-entropy) and takes one real ``torch.optim.SGD`` step with weight decay.
``nonlinear_between=True`` puts σ between the two layers and ``momentum > 0``
takes a warm-up step first (momentum SGD's first step is plain GD): both are
negative controls, where the one-step identity must fail.

``ufm_points`` gives a two-factor unconstrained-features problem
``(1/2N)‖W H - Y‖² + (λ/2)(‖W‖² + ‖H‖²)`` (``H`` = a linear layer on the identity
input) either at its exact critical point ``WH = sY``, ``s = 1 - K√n λ``
(spec §6; balanced factorisation from the SVD of ``sY``) or at a random point.
Inputs are recorded; ``build_gd_step(**inputs)`` / ``build_ufm_point(**inputs)``
rebuild an instance exactly.
"""

from __future__ import annotations

import math
from typing import Any

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from ._snapshots import GDStep, StationaryPoint

__all__ = ["build_gd_step", "build_ufm_point", "gd_steps", "ufm_points"]

ACTIVATIONS = ("tanh", "relu")


def _act(name: str):
    import torch

    return torch.tanh if name == "tanh" else torch.relu


def build_gd_step(
    *,
    seed: int,
    samples: int,
    batch: int,
    in_dim: int,
    widths: list[int],
    classes: int,
    loss: str,
    lr: float,
    weight_decay: float,
    prefix: bool,
    suffix: bool,
    activation: str,
    nonlinear_between: bool = False,
    momentum: float = 0.0,
    **_: Any,
) -> GDStep:
    """One SGD step on the pair (W_lower, W_upper) of a small network (see module doc)."""
    import torch
    import torch.nn.functional as F

    dt = torch.float64
    g = torch.Generator().manual_seed(seed)
    h0, h1, h2 = widths
    X = torch.randn(samples, in_dim, generator=g, dtype=dt)
    y = torch.randint(0, classes, (samples,), generator=g)
    idx = torch.randperm(samples, generator=g)[:batch]
    act = _act(activation)

    def init(o, i):
        return (torch.randn(o, i, generator=g, dtype=dt) / math.sqrt(i)).requires_grad_()

    P = init(h0, in_dim) if prefix else None
    Wl = init(h1, h0 if prefix else in_dim)
    Wu = init(h2 if suffix else classes, h1)
    Q = init(classes, h2) if suffix else None
    params = [p for p in (P, Wl, Wu, Q) if p is not None]
    opt = torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)

    def data_loss():
        z = X[idx]
        if P is not None:
            z = act(F.linear(z, P))
        z = F.linear(z, Wl)
        if nonlinear_between:
            z = act(z)
        z = F.linear(z, Wu)
        if Q is not None:
            z = F.linear(act(z), Q)
        if loss == "mse":
            return 0.5 * ((z - F.one_hot(y[idx], classes).to(dt)) ** 2).sum() / len(idx)
        return F.cross_entropy(z, y[idx])

    steps = 2 if momentum > 0 else 1  # momentum SGD's first step is a plain GD step
    for _k in range(steps):
        opt.zero_grad()
        data_loss().backward()
        before = (Wl.detach().clone(), Wu.detach().clone(), Wl.grad.clone(), Wu.grad.clone())
        opt.step()
    inputs = dict(
        seed=seed,
        samples=samples,
        batch=batch,
        in_dim=in_dim,
        widths=list(widths),
        classes=classes,
        loss=loss,
        lr=lr,
        weight_decay=weight_decay,
        prefix=prefix,
        suffix=suffix,
        activation=activation,
        nonlinear_between=nonlinear_between,
        momentum=momentum,
        dtype="float64",
    )
    return GDStep(
        W_lower=before[0],
        W_upper=before[1],
        G_lower=before[2],
        G_upper=before[3],
        W_lower_next=Wl.detach().clone(),
        W_upper_next=Wu.detach().clone(),
        lr=lr,
        weight_decay=weight_decay,
        nonlinear_between=nonlinear_between,
        momentum=momentum,
        inputs=inputs,
    )


@st.composite
def _gd_steps(draw, nonlinear_between, momentum, max_width, max_samples):
    samples = draw(st.integers(2, max_samples))
    control = nonlinear_between or momentum > 0  # keep the negative controls non-degenerate
    return build_gd_step(
        seed=draw(st.integers(0, 2**32 - 1)),
        samples=samples,
        batch=draw(st.integers(2 if nonlinear_between else 1, samples)),
        in_dim=draw(st.integers(1, max_width)),
        widths=[draw(st.integers(2 if nonlinear_between else 1, max_width)) for _ in range(3)],
        classes=draw(st.integers(2, 4)),
        loss=draw(st.sampled_from(("mse", "ce"))),
        lr=10 ** draw(st.floats(-2 if control else -3, math.log10(0.5))),
        weight_decay=draw(
            st.floats(1e-3, 0.1) if control else st.sampled_from([0.0]) | st.floats(1e-4, 0.1)
        ),
        prefix=draw(st.booleans()),
        suffix=draw(st.booleans()),
        activation="tanh" if control else draw(st.sampled_from(ACTIVATIONS)),
        nonlinear_between=nonlinear_between,
        momentum=momentum,
    )


def gd_steps(
    *,
    nonlinear_between: bool = False,
    momentum: float = 0.0,
    max_width: int = 6,
    max_samples: int = 8,
):
    """Strategy for :class:`~ncverify.catalog.gd.GDStep` records from real SGD steps.

    Random sizes (widths ``<= max_width``, ``<= max_samples`` samples, random batch),
    MSE or cross-entropy, ``η ∈ [1e-3, 0.5]``, ``λ ∈ {0} ∪ [1e-4, 0.1]``, optional
    nonlinear layers before and after the pair. The negative controls
    (``nonlinear_between=True`` or ``momentum > 0``) use tanh, ``λ >= 1e-3`` and ``η >= 1e-2`` so
    they cannot degenerate (ReLU can act linearly on a batch whose pre-activations are
    all positive, or kill every gradient, and then the identity holds).
    """
    if not isinstance(nonlinear_between, bool):
        raise InvalidArgument(f"nonlinear_between={nonlinear_between!r} must be a bool")
    if (
        isinstance(momentum, bool)
        or not isinstance(momentum, (int, float))
        or not 0 <= momentum < 1
    ):
        raise InvalidArgument(f"momentum={momentum!r} must be a number in [0, 1)")
    for name, v, lo in (("max_width", max_width, 2), ("max_samples", max_samples, 2)):
        if isinstance(v, bool) or not isinstance(v, int) or v < lo:
            raise InvalidArgument(f"{name}={v!r} must be an integer >= {lo}")
    return _gd_steps(nonlinear_between, float(momentum), max_width, max_samples)


def build_ufm_point(
    *, seed: int, classes: int, per_class: int, width: int, lam: float, critical: bool, **_: Any
) -> StationaryPoint:
    """The UFM pair ``(H, W)`` at its critical point (``critical=True``) or a random point.

    Loss ``(1/2N)‖W H - Y‖² + (λ/2)(‖W‖² + ‖H‖²)``; ``H`` (p×N) is the lower layer
    (its input is ``I_N``), ``W`` (K×p) the upper. Critical point: ``H = a O Y/√n``,
    ``W = a Oᵀ`` with ``a² = s√n``, ``s = 1 - K√n λ`` and ``O`` (p×K) orthonormal.
    Gradients of the full loss by autograd.
    """
    import torch

    dt = torch.float64
    g = torch.Generator().manual_seed(seed)
    K, n, p = classes, per_class, width
    N = K * n
    y = torch.arange(K).repeat_interleave(n)[torch.randperm(N, generator=g)]
    Y = torch.nn.functional.one_hot(y, K).to(dt).T  # (K, N)
    if critical:
        s = 1.0 - K * math.sqrt(n) * lam
        if s <= 0:
            raise InvalidArgument(f"lam={lam} gives s = 1 - K√n λ = {s:.3g} <= 0 (no collapse)")
        O = torch.linalg.qr(torch.randn(p, K, generator=g, dtype=dt))[0]
        a = math.sqrt(s * math.sqrt(n))
        H = a * O @ Y / math.sqrt(n)
        W = a * O.T
    else:
        H = torch.randn(p, N, generator=g, dtype=dt) / math.sqrt(N)
        W = torch.randn(K, p, generator=g, dtype=dt) / math.sqrt(p)
    H, W = H.requires_grad_(), W.requires_grad_()
    loss = ((W @ H - Y) ** 2).sum() / (2 * N) + lam / 2 * ((W**2).sum() + (H**2).sum())
    gH, gW = torch.autograd.grad(loss, (H, W))
    inputs = dict(
        seed=seed, classes=K, per_class=n, width=p, lam=lam, critical=critical, dtype="float64"
    )
    return StationaryPoint(
        W_lower=H.detach(),
        W_upper=W.detach(),
        grad_lower=gH,
        grad_upper=gW,
        weight_decay=lam,
        inputs=inputs,
    )


@st.composite
def _ufm_points(draw, critical, max_classes, max_per_class):
    K = draw(st.integers(2, max_classes))
    n = draw(st.integers(1, max_per_class))
    limit = 1.0 / (K * math.sqrt(n))  # collapse iff λ < 1/(K√n)
    frac = draw(st.floats(1e-3, 0.95))
    return build_ufm_point(
        seed=draw(st.integers(0, 2**32 - 1)),
        classes=K,
        per_class=n,
        width=K + draw(st.integers(0, 3)),
        lam=frac * limit if critical else 10 ** draw(st.floats(-3, 0)),
        critical=critical,
    )


def ufm_points(*, critical: bool = False, max_classes: int = 5, max_per_class: int = 4):
    """Strategy for :class:`~ncverify.catalog.gd.StationaryPoint` of a two-factor UFM."""
    if not isinstance(critical, bool):
        raise InvalidArgument(f"critical={critical!r} must be a bool")
    for name, v in (("max_classes", max_classes), ("max_per_class", max_per_class)):
        if isinstance(v, bool) or not isinstance(v, int) or v < (2 if name == "max_classes" else 1):
            raise InvalidArgument(f"{name}={v!r} is too small")
    return _ufm_points(critical, max_classes, max_per_class)
