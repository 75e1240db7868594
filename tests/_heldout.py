"""Held-out adversarial instances for the Theorem 3.1 and gradient-descent specs.

Independent of the package's strategies (``ncverify.catalog.*._strategies``): plain NumPy
random generators (``numpy.random.default_rng``), other parametrisations (balanced pairs
through the matrix square root ``(W_LᵀW_L)^{1/2}``, features by least squares through
``numpy.linalg.pinv``, heads factorised from a random product, GD steps and gradients written
out by hand instead of autograd), and the regimes where float64 measurements are fragile:
κ(W_L) and κ(A) up to 1e12, nearly singular class means, cosines of long vectors in a small
class (K = 2, n = 1, p = 64), exactly balanced heads, float32 copies. Each builder takes a
``numpy.random.Generator`` and returns a snapshot whose ``inputs`` say how it was made.
"""

from __future__ import annotations

import math
import os

import numpy as np
import torch

from ncverify.catalog.gd import GDStep, StationaryPoint
from ncverify.catalog.jswm import HeadWeights, LastPair

#: instances per claim: 300 in CI, 3000 under NCVERIFY_PROFILE=thorough
COUNT = 3000 if os.environ.get("NCVERIFY_PROFILE", "ci") != "ci" else 300


def _orth(rng, rows: int, cols: int) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((rows, cols)))
    return q * np.sign(np.diag(r) + (np.diag(r) == 0))


def _spectrum(rng, k: int, log10_kappa: float, scale: float = 1.0) -> np.ndarray:
    return scale * 10.0 ** (-log10_kappa * np.sort(np.r_[0.0, rng.random(max(k - 2, 0)), 1.0][:k]))


def _t(a, dtype) -> torch.Tensor:
    return torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float64).to(dtype)


def _sqrt_psd(M: np.ndarray) -> np.ndarray:
    w, Q = np.linalg.eigh((M + M.T) / 2)
    return (Q * np.sqrt(np.clip(w, 0, None))) @ Q.T


def last_pair(rng, *, dtype=torch.float64) -> LastPair:
    """A last pair of one of several held-out kinds (see the module docstring)."""
    kind = rng.choice(
        ["random", "balanced", "near_balanced", "cosine", "singular_means", "tight_means"]
    )
    K = int(rng.integers(2, 8))
    n = int(rng.integers(1, 6))
    p1 = K + int(rng.integers(0, 8))
    p2 = K + int(rng.integers(0, 8))
    if kind == "cosine":  # the float64 cosine family: long vectors, one sample per class
        K, n, p1, p2 = 2, 1, 64, 64
    N = K * n
    y = rng.permutation(np.repeat(np.arange(K), n))
    log10_kappa = float(rng.uniform(0, 12 if kind != "random" else 4))
    G = rng.standard_normal((K, p1))
    U, _, Vt = np.linalg.svd(G, full_matrices=False)
    if kind == "tight_means":  # U = I: killing the class-mean direction e_1 of s_1 makes
        U = np.eye(K)  # κ(Z̄_{L-1}) = κ(W_L)κ(Z̄_L), nc2-sharp with equality
    W = (U * _spectrum(rng, K, log10_kappa, 10 ** rng.uniform(-1, 1))) @ Vt
    if kind == "random":
        W1 = rng.standard_normal((p1, p2)) / math.sqrt(p2)
    elif kind == "cosine":  # orthonormal rows: Z_{L-1} is W_L^†(y + e) to eps·κ(W_L)
        W1 = _orth(rng, p2, p1).T
    else:  # balanced: W1 W1ᵀ = WᵀW, W1 = (WᵀW)^{1/2} O with O Oᵀ = I on span(V_K)
        if p2 >= p1:
            O = _orth(rng, p2, p1).T
        else:
            extra = rng.standard_normal((p1, p2 - K))
            O = np.linalg.qr(np.c_[Vt.T, extra])[0][:, :p2] @ _orth(rng, p2, p2).T
        W1 = _sqrt_psd(W.T @ W) @ O
        if kind == "near_balanced":
            W1 = W1 + 10 ** rng.uniform(-12, -2) * np.linalg.norm(W1, 2) * rng.standard_normal(
                (p1, p2)
            ) / math.sqrt(p1 * p2)
    Y = np.eye(K)[y]
    delta = 10 ** rng.uniform(-16, -0.05) if rng.random() < 0.8 else 0.0  # 0: exact cases
    E = rng.standard_normal((N, K))
    if kind in ("singular_means", "tight_means"):  # class means of Z_L nearly singular
        u = _orth(rng, K, 1)[:, 0] if kind == "singular_means" else np.eye(K)[0]
        Ebar = -(1 - 10 ** rng.uniform(-10, -3)) * np.outer(u, u)
        E = Ebar[y] + (1e-3 * delta * E if kind == "singular_means" else 0)
    else:
        E = delta * math.sqrt(n) * E / max(np.linalg.norm(E), 1e-300)
    M = W @ W1  # (K, p2): Z_L = Z Mᵀ
    Z = (Y + E) @ np.linalg.pinv(M).T
    if p2 > K and kind != "tight_means" and rng.random() < 0.5:  # null-space features
        Q = np.linalg.svd(M)[2][K:].T  # (p2, p2 - K)
        Z = Z + 10 ** rng.uniform(-3, 2) * rng.standard_normal((N, Q.shape[1])) @ Q.T
    inputs = dict(kind=str(kind), K=K, n=n, p1=p1, p2=p2, log10_kappa=log10_kappa)
    return LastPair(
        Z=_t(Z, dtype),
        W_lower=_t(W1, dtype),
        W_upper=_t(W, dtype),
        y=torch.as_tensor(y, dtype=torch.int64),
        inputs={**inputs, "dtype": str(dtype).removeprefix("torch.")},
    )


def head(rng, *, dtype=torch.float64) -> HeadWeights:
    """A linear head factorising a random product: balanced (κ(A) up to 1e12), rescaled
    (``α_l W_l`` with ``Π α_l = 1``), or a random factorisation."""
    kind = rng.choice(["balanced", "balanced", "rescaled", "random"])
    L2 = int(rng.integers(2, 6))
    K = int(rng.integers(1, 6))
    dims = [K + int(rng.integers(0, 6)) for _ in range(L2)] + [K]
    log10_kappa = float(rng.uniform(0, 12))
    if kind == "random":
        Ws = [rng.standard_normal((dims[i + 1], dims[i])) / math.sqrt(dims[i]) for i in range(L2)]
    else:
        r = min(dims)
        s = _spectrum(rng, r, log10_kappa, 10 ** rng.uniform(-0.5, 0.5)) ** (1.0 / L2)
        Qs = [_orth(rng, d, r) for d in dims]
        Ws = [(Qs[i + 1] * s) @ Qs[i].T for i in range(L2)]
        if kind == "rescaled":
            a = rng.uniform(-0.5, 0.5, L2)
            Ws = [math.exp(x - a.mean()) * W for x, W in zip(a, Ws, strict=True)]
    inputs = dict(kind=str(kind), L2=L2, K=K, dims=dims, log10_kappa=log10_kappa)
    return HeadWeights(
        weights=[_t(W, dtype) for W in Ws],
        inputs={**inputs, "dtype": str(dtype).removeprefix("torch.")},
        weight_decay=float(10 ** rng.uniform(-3, 0)),
    )


def gd_step(rng, *, dtype=torch.float64) -> GDStep:
    """One plain GD step of a linear pair on squared loss, gradients written out by hand:
    ``L = ‖X W_lᵀ W_uᵀ − T‖²/(2B)``, ``dU = (X W_lᵀW_uᵀ − T)/B``, ``G_u = dUᵀ X W_lᵀ``,
    ``G_l = W_uᵀ dUᵀ X``; weights at scales 10^[-1, 1]."""
    B, d, h, k = (int(rng.integers(1, 9)) for _ in range(4))
    X = rng.standard_normal((B, d))
    T = rng.standard_normal((B, k))
    Wl = 10 ** rng.uniform(-1, 1) * rng.standard_normal((h, d))
    Wu = 10 ** rng.uniform(-1, 1) * rng.standard_normal((k, h))
    eta, lam = 10 ** rng.uniform(-4, 0), float(rng.choice([0.0, 10 ** rng.uniform(-4, 0)]))
    Zo = X @ Wl.T
    dU = (Zo @ Wu.T - T) / B
    Gu, Gl = dU.T @ Zo, Wu.T @ dU.T @ X
    c = 1 - eta * lam
    return GDStep(
        W_lower=_t(Wl, dtype),
        W_upper=_t(Wu, dtype),
        G_lower=_t(Gl, dtype),
        G_upper=_t(Gu, dtype),
        W_lower_next=_t(c * Wl - eta * Gl, dtype),
        W_upper_next=_t(c * Wu - eta * Gu, dtype),
        lr=eta,
        weight_decay=lam,
        Z_in=_t(X, dtype),
        Z_out=_t(Zo, dtype),
        dU=_t(dU, dtype),
        inputs=dict(B=B, d=d, h=h, k=k, dtype=str(dtype).removeprefix("torch.")),
    )


def stationary_point(rng, *, dtype=torch.float64) -> StationaryPoint:
    """A point of ``‖X W_lᵀ W_uᵀ − T‖²/(2B) + (λ/2)(‖W_l‖² + ‖W_u‖²)``: random, or balanced
    and critical up to a perturbation 10^[-14, -2] (the target chosen so that the balanced
    pair is critical), full gradients by hand."""
    kind = rng.choice(["random", "near_critical"])
    d = int(rng.integers(1, 6))
    B = d + int(rng.integers(1, 6))
    h, k = int(rng.integers(1, 6)), int(rng.integers(1, 6))
    lam = float(10 ** rng.uniform(-3, 0))
    X = rng.standard_normal((B, d))
    if kind == "random":
        Wl, Wu = rng.standard_normal((h, d)), rng.standard_normal((k, h))
        T = rng.standard_normal((B, k))
    else:
        r = min(h, k, d)
        U, V, Q = _orth(rng, k, r), _orth(rng, h, r), _orth(rng, d, r)
        s = 10 ** rng.uniform(-1, 1, r)
        Wu, Wl = (U * s) @ V.T, (V * s) @ Q.T
        R = -B * lam * X @ np.linalg.solve(X.T @ X, Q @ U.T)  # Rᵀ X = −Bλ U Qᵀ
        T = X @ Wl.T @ Wu.T - R
        Wl = Wl + 10 ** rng.uniform(-14, -2) * rng.standard_normal(Wl.shape)
    Zo = X @ Wl.T
    dU = (Zo @ Wu.T - T) / B
    return StationaryPoint(
        W_lower=_t(Wl, dtype),
        W_upper=_t(Wu, dtype),
        grad_lower=_t(Wu.T @ dU.T @ X + lam * Wl, dtype),
        grad_upper=_t(dU.T @ Zo + lam * Wu, dtype),
        weight_decay=lam,
        Z_in=_t(X, dtype),
        Z_out=_t(Zo, dtype),
        dU=_t(dU, dtype),
        inputs=dict(kind=str(kind), B=B, d=d, h=h, k=k, dtype=str(dtype).removeprefix("torch.")),
    )
