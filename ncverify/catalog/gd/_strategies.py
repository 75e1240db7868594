"""Hypothesis strategies for the one-step recursion of gradient descent (spec §4).

``gd_steps`` builds a small float64 network around a pair of linear layers, computes the
data-term gradients with torch autograd on a random batch (MSE or cross-entropy) and takes one
real ``torch.optim.SGD`` step with weight decay, recording the probe data of the batch
(``Z_in``, ``Z_out``, ``dU``) with the weights. Out of the theorem's scope (robustness draws,
where the identity must fail): ``nonlinear_between=True`` puts σ between the two layers,
``bias=True`` gives the lower layer a (weight-decayed) bias, ``momentum > 0`` takes a warm-up
step first (momentum SGD's first step is plain GD). ``jitter > 0`` perturbs the new weights by
that relative amount (≈ 1e-14: a step within H-plain-gd's rounding tolerance, near its
boundary). Inputs are recorded; ``build_gd_step(**inputs)`` rebuilds an instance exactly. The
stationary points are in ``_points``.
"""

from __future__ import annotations

import math
from typing import Any

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from ._snapshots import GDStep

__all__ = ["build_gd_step", "gd_steps"]

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
    bias: bool = False,
    jitter: float = 0.0,
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
    b = (torch.randn(h1, generator=g, dtype=dt) / 2).requires_grad_() if bias else None
    Wu = init(h2 if suffix else classes, h1)
    Q = init(classes, h2) if suffix else None
    params = [p for p in (P, Wl, b, Wu, Q) if p is not None]
    probe: dict[str, Any] = {}
    opt = torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)

    def data_loss():
        z = X[idx]
        if P is not None:
            z = act(F.linear(z, P))
        probe["Z_in"] = z.detach().clone()
        z = F.linear(z, Wl, b)
        if nonlinear_between:
            z = act(z)
        probe["Z_out"] = z.detach().clone()
        z = F.linear(z, Wu)
        z.retain_grad()
        probe["U"] = z
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
        seen = {k: probe[k] for k in ("Z_in", "Z_out")} | {"dU": probe["U"].grad.clone()}
        opt.step()
    nxt = [Wl.detach().clone(), Wu.detach().clone()]
    if jitter > 0:  # a step off plain GD by `jitter` relative to ‖W‖ + η‖G‖ (= step_rel)
        for i, W in enumerate(nxt):
            E = torch.randn(W.shape, generator=g, dtype=dt)
            size = torch.linalg.norm(before[i]) + lr * torch.linalg.norm(before[i + 2])
            nxt[i] = W + jitter * size * E / torch.linalg.norm(E)
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
        bias=bias,
        jitter=jitter,
        dtype="float64",
    )
    return GDStep(
        W_lower=before[0],
        W_upper=before[1],
        G_lower=before[2],
        G_upper=before[3],
        W_lower_next=nxt[0],
        W_upper_next=nxt[1],
        lr=lr,
        weight_decay=weight_decay,
        Z_in=seen["Z_in"],
        Z_out=seen["Z_out"],
        dU=seen["dU"],
        momentum=momentum,
        inputs=inputs,
    )


@st.composite
def _gd_steps(draw, nonlinear_between, momentum, bias, jitter, max_width, max_samples):
    samples = draw(st.integers(2, max_samples))
    # keep the out-of-scope draws non-degenerate
    control = nonlinear_between or momentum > 0 or bias
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
        bias=bias,
        jitter=10 ** draw(st.floats(-15.0, -13.87) | st.floats(-13.95, -13.87)) if jitter else 0.0,
    )


def gd_steps(
    *,
    nonlinear_between: bool = False,
    momentum: float = 0.0,
    bias: bool = False,
    jitter: bool = False,
    max_width: int = 6,
    max_samples: int = 8,
):
    """Strategy for :class:`~ncverify.catalog.gd.GDStep` records from real SGD steps.

    Random sizes (widths ``<= max_width``, ``<= max_samples`` samples, random batch),
    MSE or cross-entropy, ``η ∈ [1e-3, 0.5]``, ``λ ∈ {0} ∪ [1e-4, 0.1]``, optional
    nonlinear layers before and after the pair. The out-of-scope draws
    (``nonlinear_between=True``, ``bias=True`` or ``momentum > 0``) use tanh, ``λ >= 1e-3`` and
    ``η >= 1e-2`` so they cannot degenerate (ReLU can act linearly on a batch whose
    pre-activations are all positive, or kill every gradient, and then the identity holds).
    ``jitter=True``: the new weights are moved off the plain GD step by a relative
    ``10^[-15, -13.87]`` (in scope, up to 95% of H-plain-gd's ``64·eps`` ≈ 1.42e-14).
    """
    for name, flag in (
        ("nonlinear_between", nonlinear_between),
        ("bias", bias),
        ("jitter", jitter),
    ):
        if not isinstance(flag, bool):
            raise InvalidArgument(f"{name}={flag!r} must be a bool")
    if (
        isinstance(momentum, bool)
        or not isinstance(momentum, (int, float))
        or not 0 <= momentum < 1
    ):
        raise InvalidArgument(f"momentum={momentum!r} must be a number in [0, 1)")
    for name, v, lo in (("max_width", max_width, 2), ("max_samples", max_samples, 2)):
        if isinstance(v, bool) or not isinstance(v, int) or v < lo:
            raise InvalidArgument(f"{name}={v!r} must be an integer >= {lo}")
    return _gd_steps(nonlinear_between, float(momentum), bias, jitter, max_width, max_samples)
