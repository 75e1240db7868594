"""The layers of the certified deep linear UFM optimum (balanced factors), any class sizes.

``min 1/(2N)‖W_m ⋯ W_2 H − Y‖² + Σ_i λ_i/2‖W_i‖²`` (``W_1 = H``, ``n_k`` samples in class
k, ``N = Σn_k``). The representation cost of ``Z = W_m⋯W_1`` is ``(m/2)cΣ_jσ_j(Z)^{2/m}``
(``c = (∏λ_i)^{1/m}``, attained exactly by balanced factors) and the optimal ``Z`` shares
its singular vectors with ``Y`` (von Neumann), so each class k solves its own scalar problem
in ``x_k = t_k/√n_k`` (``t_k`` the singular value of ``Z`` on class k's direction)::

    (n_k/N)·[(1 − x)²/2 + (m/2)β_k x^{2/m}],  β_k = cN n_k^{(1−m)/m},
    r_k = β_k^m = N^m ∏λ_i / n_k^{m−1}  (exact rational)

whose optimum is the largest root of ``x^{m−2}(1 − x)^m = r_k`` in (0, 1) when
``r_k < r*(m)`` and 0 when ``r_k > r*`` (``docs/ufm.md#deep-linear``; balanced: ``r_k =
K^m n∏λ_i``). Dang et al. (ICML 2023, arXiv 2301.00437) study this model; their code's
per-class equation is the same up to normalisation (``docs/ufm.md`` says what was found).

:func:`deep_linear_layers` builds the optimum itself: ``W_i = (c/λ_i)^{1/2} O_i Σ^{1/m}
O_{i−1}ᵀ`` with ``Σ = diag(t_k)``, ``O_0 = V = YᵀD^{-1/2}``, ``O_m = I_K`` and seeded random
orthonormal frames ``O_i`` (``p_i × K``) in between. Every consecutive pair is exactly balanced
(``λ_{i+1}W_{i+1}ᵀW_{i+1} = λ_iW_iW_iᵀ``) and the product is ``Σ_k x_k e_k 1_{(k)}ᵀ``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from ..errors import InvalidInput, ProblemTooLarge
from ._deep import MAX_DEPTH, _exact, isolate_optimal_root
from ._imbalanced import check_class_sizes

__all__ = ["DeepLinearLayers", "deep_linear_layers"]


@dataclass(frozen=True)
class DeepLinearLayers:
    """The certified optimum of the deep linear UFM as explicit layers.

    ``factors``: ``(H, W_2, …, W_m)`` as float tensors, ``H`` of shape ``(p_1, N)``, ``W_i`` of
    shape ``(p_i, p_{i−1})`` (``p_m = K``), sample ``j`` of class ``labels[j]`` (classes in
    consecutive blocks); ``x[k]`` = ``t_k/√n_k`` of class k's singular value ``t_k``
    (``singular_values``); ``r[k]``/``r_star``: the exact rationals deciding it
    (``collapsed[k]``: a nonzero optimum; ``tie[k]``: ``r_k = r*``, where ``x = 0`` is equally
    optimal); ``value``: the optimal objective (exact up to the 2^-60 root enclosure);
    ``objective``: the objective recomputed in float64 from ``factors``.
    """

    counts: tuple[int, ...]
    lambdas: tuple[float, ...]
    x: tuple[float, ...]
    singular_values: tuple[float, ...]
    r: tuple[Fraction, ...]
    r_star: Fraction
    collapsed: tuple[bool, ...]
    tie: tuple[bool, ...]
    value: float
    objective: float
    seed: int
    factors: tuple[Any, ...] = field(repr=False, compare=False)
    labels: Any = field(repr=False, compare=False)

    @property
    def m(self) -> int:
        return len(self.lambdas)

    @property
    def K(self) -> int:
        return len(self.counts)

    @property
    def N(self) -> int:
        return sum(self.counts)

    @property
    def H(self):
        """The features ``H = W_1`` (``p_1 × N``)."""
        return self.factors[0]

    @property
    def head(self) -> tuple[Any, ...]:
        """The linear layers ``(W_2, …, W_m)`` after the features, in application order."""
        return tuple(self.factors[1:])


def _widths(widths, K: int, m: int) -> tuple[int, ...]:
    if widths is None:
        return (K,) * (m - 1)
    if isinstance(widths, (str, bytes)) or not isinstance(widths, Sequence):
        raise InvalidInput(f"widths={widths!r} must be a sequence of m - 1 = {m - 1} integers")
    if len(widths) != m - 1:
        raise InvalidInput(
            f"widths has {len(widths)} entries; need m - 1 = {m - 1} (p_1 of H, then the "
            f"output widths of W_2 … W_{m - 1})"
        )
    out = []
    for i, p in enumerate(widths):
        if isinstance(p, bool) or not isinstance(p, numbers.Integral) or p < K:
            raise InvalidInput(
                f"widths[{i}]={p!r} must be an integer >= K={K} (every layer of the optimum "
                f"carries K directions)"
            )
        out.append(int(p))
    return tuple(out)


def deep_linear_layers(
    K: int,
    n,
    lambdas: Sequence,
    *,
    widths: Sequence[int] | None = None,
    seed: int = 0,
    dtype=None,
    device="cpu",
    max_bytes: int = 2 * 1024**3,
) -> DeepLinearLayers:
    """Balanced layers ``(H, W_2, …, W_m)`` of the certified deep linear UFM optimum.

    ``n``: samples per class, or a sequence of K class sizes; ``lambdas = (λ_H, λ_2, …,
    λ_m)`` (2 ≤ m ≤ 12; floats are taken as exact binary rationals for the threshold
    decisions); ``widths``: ``(p_1, …, p_{m−1})``, each ≥ K (default all K); ``seed``: the
    random orthonormal frames (``torch.Generator``, CPU, then moved to ``device``); ``dtype``:
    default float64. At a tie (``r_k = r*``, ``m ≥ 3``) class k is put at ``x = q``; zero is
    equally optimal there (``tie[k]``). Source and proof: module docstring,
    ``docs/ufm.md#deep-linear``. Raises :class:`ProblemTooLarge` before allocating when the
    factors would exceed ``max_bytes``.
    """
    import torch

    K, counts, _ = check_class_sizes(K, n)
    if isinstance(lambdas, (str, bytes)) or not isinstance(lambdas, Sequence):
        raise InvalidInput(f"lambdas={lambdas!r} must be a sequence of m >= 2 positive numbers")
    m = len(lambdas)
    if not 2 <= m <= MAX_DEPTH:
        raise InvalidInput(
            f"len(lambdas)={m}: the deep linear UFM needs 2 <= m <= {MAX_DEPTH} "
            f"factors (one λ per factor, H included)"
        )
    lam = [_exact(f"lambdas[{i}]", v) for i, v in enumerate(lambdas)]
    p = _widths(widths, K, m)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise InvalidInput(f"seed={seed!r} must be an integer")
    N = sum(counts)
    dt = torch.float64 if dtype is None else dtype
    if not (isinstance(dt, torch.dtype) and dt.is_floating_point):
        raise InvalidInput(f"dtype={dtype!r} must be a floating torch dtype")
    need = 8 * (p[0] * N + sum(a * b for a, b in zip(p[1:], p[:-1], strict=True)) + K * p[-1])
    if need > max_bytes:
        raise ProblemTooLarge(
            f"deep linear layers with N={N}, widths={p} need about {need / 2**30:.2f} GiB "
            f"(> max_bytes={max_bytes / 2**30:.2f} GiB); use fewer samples or narrower layers"
        )
    prod = Fraction(1)
    for v in lam:
        prod *= Fraction(int(v.p), int(v.q))
    xs, rs, coll, ties = [], [], [], []
    r_star = Fraction(0)
    for nk in counts:
        r = Fraction(N) ** m * prod / Fraction(nk) ** (m - 1)
        sol = isolate_optimal_root(r, m)
        xs.append(sol["x"])
        rs.append(r)
        coll.append(sol["collapsed"])
        ties.append(sol["tie"])
        r_star = sol["r_star"]
    lam_f = [float(v) for v in lam]
    c = math.exp(sum(math.log(v) for v in lam_f) / m)
    t = [x * math.sqrt(nk) for x, nk in zip(xs, counts, strict=True)]
    value = math.fsum(
        nk / N * ((1 - x) * (1 + (m - 1) * x) / 2 if ok else 0.5)
        for nk, x, ok in zip(counts, xs, coll, strict=True)
    )
    gen = torch.Generator().manual_seed(int(seed))
    f64 = torch.float64
    labels = torch.repeat_interleave(torch.arange(K), torch.tensor(counts))
    V = torch.zeros(N, K, dtype=f64)
    V[torch.arange(N), labels] = 1.0
    V = V / torch.sqrt(torch.tensor(counts, dtype=f64))
    root = torch.tensor([v ** (1 / m) for v in t], dtype=f64)  # Σ^{1/m}
    frames = [V]
    for width in p:
        G = torch.randn(width, K, generator=gen, dtype=f64)
        Q, R = torch.linalg.qr(G)
        frames.append(Q * torch.sign(torch.diagonal(R)))
    frames.append(torch.eye(K, dtype=f64))
    factors = []
    for i in range(m):
        scale = math.sqrt(c / lam_f[i])
        factors.append((scale * (frames[i + 1] * root) @ frames[i].T).to(device=device, dtype=dt))
    Y = (V * torch.sqrt(torch.tensor(counts, dtype=f64))).T
    Z = factors[0].to(f64).cpu()
    for W in factors[1:]:
        Z = W.to(f64).cpu() @ Z
    objective = float(((Z - Y) ** 2).sum()) / (2 * N) + sum(
        v / 2 * float((F.to(f64) ** 2).sum()) for v, F in zip(lam_f, factors, strict=True)
    )
    return DeepLinearLayers(
        counts=counts,
        lambdas=tuple(lam_f),
        x=tuple(xs),
        singular_values=tuple(t),
        r=tuple(rs),
        r_star=r_star,
        collapsed=tuple(coll),
        tie=tuple(ties),
        value=value,
        objective=objective,
        seed=int(seed),
        factors=tuple(factors),
        labels=labels.to(device),
    )
