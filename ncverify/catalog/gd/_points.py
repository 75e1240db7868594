"""Hypothesis strategies for stationary and near-stationary points of a linear pair (spec §4).

Every point carries the full gradients of ``L_λ`` (autograd) and the probe data of its samples
(``Z_in``, ``Z_out``, ``dU``: :class:`~ncverify.catalog.gd.StationaryPoint`). Two families:

* ``ufm_points``: the two-factor unconstrained-features problem
  ``(1/2N)‖W H - Y‖² + (λ/2)(‖W‖² + ‖H‖²)`` (``H`` = a linear layer on the identity input) at
  its exact critical point ``WH = sY``, ``s = 1 - K√n λ`` (spec §6) or at a random point;
* ``stationary_points``: ``(1/2N)‖(X W_lᵀ + 1bᵀ) W_uᵀ − T‖² + (λ/2)(‖W_l‖² + ‖b‖² + ‖W_u‖²)``
  with data ``X`` and a target ``T`` *planted* so that a chosen balanced pair is a critical
  point (``critical``; ``biased``: the lower layer has a weight-decayed bias, so the critical
  point has ``D = bbᵀ ≠ 0`` — outside H-linear-pair), or with one layer optimal given the other
  (``upper``: ``∇_{W_u}L_λ = 0``; ``lower``: ``∇_{W_l}L_λ = 0``: the near-stationary bound then
  rests on one of its two terms), or at a random point.

Inputs are recorded; ``build_ufm_point(**inputs)`` / ``build_stationary_point(**inputs)``
rebuild an instance exactly.
"""

from __future__ import annotations

import math
from typing import Any

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from ._snapshots import StationaryPoint

__all__ = [
    "POINT_KINDS",
    "build_stationary_point",
    "build_ufm_point",
    "stationary_points",
    "ufm_points",
]

#: kinds of :func:`build_stationary_point`
POINT_KINDS = ("critical", "biased", "upper", "lower", "random")


def _point(X, Wl, b, Wu, T, lam: float, inputs: dict[str, Any]) -> StationaryPoint:
    """Full gradients of ``L_λ`` by autograd at ``(W_l, b, W_u)``, with the probe data."""
    import torch

    N = X.shape[0]
    Wl, Wu = Wl.clone().requires_grad_(), Wu.clone().requires_grad_()
    b = None if b is None else b.clone().requires_grad_()
    Z_out = X @ Wl.T if b is None else X @ Wl.T + b
    U = Z_out @ Wu.T
    data = ((U - T) ** 2).sum() / (2 * N)
    decay = (Wl**2).sum() + (Wu**2).sum() + (0 if b is None else (b**2).sum())
    gWl, gWu, dU = torch.autograd.grad(data + lam / 2 * decay, (Wl, Wu, U))
    return StationaryPoint(
        W_lower=Wl.detach(),
        W_upper=Wu.detach(),
        grad_lower=gWl,
        grad_upper=gWu,
        weight_decay=lam,
        Z_in=X,
        Z_out=Z_out.detach(),
        dU=dU,
        inputs=inputs,
    )


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
    inputs = dict(
        seed=seed, classes=K, per_class=n, width=p, lam=lam, critical=critical, dtype="float64"
    )
    return _point(torch.eye(N, dtype=dt), H, None, W, Y.T, lam, inputs)


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


def build_stationary_point(
    *,
    seed: int,
    samples: int,
    in_dim: int,
    width: int,
    outputs: int,
    lam: float,
    kind: str,
    **_: Any,
) -> StationaryPoint:
    """A point of the two-layer problem of the module docstring (``kind`` in
    :data:`POINT_KINDS`). ``samples`` N must exceed ``in_dim`` d (the planted target solves a
    least-squares system in ``[X, 1]``)."""
    import torch

    if kind not in POINT_KINDS:
        raise InvalidArgument(f"kind={kind!r} is not one of {POINT_KINDS}")
    if samples <= in_dim:
        raise InvalidArgument(f"samples={samples} must exceed in_dim={in_dim}")
    dt = torch.float64
    g = torch.Generator().manual_seed(seed)
    N, d, h, k = samples, in_dim, width, outputs
    X = torch.randn(N, d, generator=g, dtype=dt)
    T = torch.randn(N, k, generator=g, dtype=dt)
    Wl = torch.randn(h, d, generator=g, dtype=dt) / math.sqrt(d)
    Wu = torch.randn(k, h, generator=g, dtype=dt) / math.sqrt(h)
    b = None
    if kind in ("critical", "biased"):
        # balanced W_u = U S Vᵀ, [W_l, b] = V S Qᵀ; T planted so that both gradients vanish:
        # the residual R = U_out − T solves Rᵀ X̃ = −Nλ U Qᵀ with X̃ = [X, 1] (or X)
        Xt = torch.cat([X, torch.ones(N, 1, dtype=dt)], 1) if kind == "biased" else X
        r = min(k, h, Xt.shape[1])
        U = torch.linalg.qr(torch.randn(k, r, generator=g, dtype=dt))[0]
        V = torch.linalg.qr(torch.randn(h, r, generator=g, dtype=dt))[0]
        Q = torch.linalg.qr(torch.randn(Xt.shape[1], r, generator=g, dtype=dt))[0]
        S = 0.5 + 1.5 * torch.rand(r, generator=g, dtype=dt)
        Wu = U * S @ V.T
        Wt = V * S @ Q.T
        Wl, b = (Wt[:, :d], Wt[:, d]) if kind == "biased" else (Wt, None)
        R = -N * lam * Xt @ torch.linalg.solve(Xt.T @ Xt, Q @ U.T)
        T = Xt @ Wt.T @ Wu.T - R
    elif kind == "upper":  # W_u optimal given W_l: ridge regression on Z_out
        Z = X @ Wl.T
        Wu = torch.linalg.solve(Z.T @ Z + N * lam * torch.eye(h, dtype=dt), Z.T @ T).T
    elif kind == "lower":  # W_l optimal given W_u: a Sylvester equation, diagonalised
        lam_A, P = torch.linalg.eigh(Wu.T @ Wu)
        lam_C, Qc = torch.linalg.eigh(X.T @ X / N)
        rhs = P.T @ Wu.T @ T.T @ X @ Qc / N
        Wl = P @ (rhs / (lam_A[:, None] * lam_C[None, :] + lam)) @ Qc.T
    inputs = dict(
        seed=seed,
        samples=N,
        in_dim=d,
        width=h,
        outputs=k,
        lam=lam,
        kind=kind,
        dtype="float64",
    )
    return _point(X, Wl, b, Wu, T, lam, inputs)


@st.composite
def _stationary_points(draw, kinds, max_width, max_samples):
    d = draw(st.integers(1, max_samples - 2))
    return build_stationary_point(
        seed=draw(st.integers(0, 2**32 - 1)),
        samples=draw(st.integers(d + 2, max_samples)),
        in_dim=d,
        width=draw(st.integers(1, max_width)),
        outputs=draw(st.integers(1, max_width)),
        lam=10 ** draw(st.floats(-3.0, 0.0)),
        kind=draw(st.sampled_from(kinds)),
    )


def stationary_points(
    *, kinds: tuple[str, ...] = POINT_KINDS[:1] + POINT_KINDS[2:], max_width=5, max_samples=8
):
    """Strategy for :class:`~ncverify.catalog.gd.StationaryPoint` of the planted two-layer
    problem (module docstring); ``kinds`` from :data:`POINT_KINDS` (default: all but
    ``biased``, which is outside H-linear-pair), widths ``<= max_width``, ``d + 2 <= N <=
    max_samples`` samples, ``λ ∈ [1e-3, 1]``."""
    kinds = tuple(kinds)
    if not kinds or any(k not in POINT_KINDS for k in kinds):
        raise InvalidArgument(f"kinds={kinds!r}: choose from {POINT_KINDS}")
    for name, v, lo in (("max_width", max_width, 1), ("max_samples", max_samples, 3)):
        if isinstance(v, bool) or not isinstance(v, int) or v < lo:
            raise InvalidArgument(f"{name}={v!r} must be an integer >= {lo}")
    return _stationary_points(kinds, max_width, max_samples)
