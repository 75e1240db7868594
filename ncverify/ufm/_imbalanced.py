"""Bias-free MSE UFM with per-class sizes: closed form and the exact vanishing rule.

``min 1/(2N)‖WH − Y‖² + λ_W/2‖W‖² + λ_H/2‖H‖²`` with ``n_k`` samples in class k,
``N = Σn_k``, ``μ = √(λ_Wλ_H)``, ``τ = Nμ``. The rows of ``Y`` are orthogonal with norms
``√n_k``, so the prox of ``τ‖·‖_*`` at ``Y`` soft-thresholds each class separately
(proof: ``docs/ufm.md#imbalanced``):

* row k of the optimal ``Z = WH`` is ``(1 − τ/√n_k)₊ Y_k``; class k **vanishes** (its row of
  ``Z``, its classifier ``w_k`` and all its features are 0) iff ``√n_k ≤ τ`` ⇔
  ``n_k ≤ N²λ_Wλ_H``, decided here in exact rational arithmetic (floats as exact binary
  rationals);
* value ``(1/N)Σ_k hub_τ(√n_k)`` with ``hub_τ(s) = s²/2`` (``s ≤ τ``), ``τs − τ²/2`` (else);
* at every global minimiser, for surviving classes: ``‖w_k‖² = √(λ_H/λ_W)(√n_k − τ)``,
  ``‖h_i‖² = √(λ_W/λ_H)(√n_k − τ)/n_k`` (``y_i = k``), NC1 = 0, class means orthogonal and
  ``h̄_k = √(λ_W/(n_kλ_H))·w_k``;
* condition numbers over the surviving classes: ``κ(Z) = (√n_max − τ)/(√n_min' − τ)``,
  ``κ(W) = κ(Z)^{1/2}`` and ``κ(H̄)² = max g_k / min g_k`` with ``g_k = (√n_k − τ)/n_k`` —
  **not** ``κ(Z)``: ``g`` is not monotone in ``n_k``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from ..errors import InvalidInput, ProblemTooLarge
from ._closed import _check_classes, _check_lambda

__all__ = ["ImbalancedMSEOptimum", "check_class_sizes", "imbalanced_mse_optimum"]

MAX_CLASSES = 10**6


def check_class_sizes(K, n) -> tuple[int, tuple[int, ...], bool]:
    """``(K, counts, balanced)`` from ``K`` and ``n`` (an int, or a sequence of K class sizes).

    A sequence is checked for its length before any entry is read; every entry must be an
    integer ``>= 1`` (not a bool). ``balanced`` is True when every class has the same size.
    """
    if isinstance(n, (str, bytes)) or not isinstance(n, (Sequence, numbers.Integral)):
        raise InvalidInput(
            f"n={n!r} must be an integer (samples per class) or a sequence of K per-class "
            f"sample counts"
        )
    if not isinstance(n, Sequence):
        K, m = _check_classes(K, n)
        return K, (m,) * K, True
    K, _ = _check_classes(K, 1)
    if len(n) != K:
        raise InvalidInput(f"n has {len(n)} per-class counts but K={K}; give one count per class")
    if K > MAX_CLASSES:
        raise ProblemTooLarge(f"K={K} classes > {MAX_CLASSES}")
    counts = []
    for k, v in enumerate(n):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
            raise InvalidInput(f"n[{k}]={v!r} must be an integer >= 1 (samples in class {k})")
        counts.append(int(v))
    return K, tuple(counts), len(set(counts)) == 1


@dataclass(frozen=True)
class ImbalancedMSEOptimum:
    """Closed-form optimum of the bias-free MSE UFM with class sizes ``counts``.

    ``tau = N√(λ_Wλ_H)``; ``scales[k] = (1 − τ/√n_k)₊`` (row k of ``WH`` is
    ``scales[k]·Y_k``); ``surviving[k]``: the exact rational test ``n_k > N²λ_Wλ_H``;
    ``value``: optimal objective; ``w_norm_sq[k]``/``h_norm_sq[k]``: ``‖w_k‖²`` and
    ``‖h_i‖²`` (``y_i = k``) at every global minimiser; ``kappa_Z``, ``kappa_W``,
    ``kappa_Hbar``: condition numbers over the surviving classes (``nan`` if none survives).
    """

    counts: tuple[int, ...]
    lambda_W: float
    lambda_H: float
    tau: float
    scales: tuple[float, ...]
    surviving: tuple[bool, ...]
    value: float
    w_norm_sq: tuple[float, ...]
    h_norm_sq: tuple[float, ...]
    kappa_Z: float
    kappa_W: float
    kappa_Hbar: float

    @property
    def N(self) -> int:
        return sum(self.counts)

    @property
    def K(self) -> int:
        return len(self.counts)

    @property
    def threshold(self) -> float:
        """``N²λ_Wλ_H``: class k vanishes iff ``n_k`` is at most this."""
        return self.N**2 * self.lambda_W * self.lambda_H


def _huber(s: float, tau: float) -> float:
    return s * s / 2 if s <= tau else tau * s - tau * tau / 2


def imbalanced_mse_optimum(counts, lambda_W, lambda_H) -> ImbalancedMSEOptimum:
    """Closed-form optimum of the bias-free MSE UFM with per-class sizes (module docstring).

    ``counts``: sequence of ``K >= 2`` class sizes ``n_k >= 1``. O(K) time and memory (no
    K×N array). Source: derived here (``docs/ufm.md#imbalanced``); the balanced case is
    :func:`two_factor_mse_optimum` (``c = K√(nλ_Wλ_H)``, ``scales = 1 − c``).
    """
    if isinstance(counts, (str, bytes)) or not isinstance(counts, Sequence):
        raise InvalidInput(f"counts={counts!r} must be a sequence of per-class sample counts")
    _, counts, _ = check_class_sizes(len(counts), counts)
    lw = _check_lambda("lambda_W", lambda_W)
    lh = _check_lambda("lambda_H", lambda_H)
    N = sum(counts)
    tau = N * math.sqrt(lw * lh)
    thresh = Fraction(N) ** 2 * Fraction(lw) * Fraction(lh)  # exact N²λ_Wλ_H
    surviving = tuple(Fraction(nk) > thresh for nk in counts)
    roots = [math.sqrt(nk) for nk in counts]
    # rounding can put √n_k − τ at 0 or below for a surviving class right at the threshold
    excess = [max(0.0, r - tau) if s else 0.0 for r, s in zip(roots, surviving, strict=True)]
    scales = tuple(e / r for e, r in zip(excess, roots, strict=True))
    value = math.fsum(_huber(r, tau) for r in roots) / N
    w_sq = tuple(math.sqrt(lh / lw) * e for e in excess)
    h_sq = tuple(math.sqrt(lw / lh) * e / nk for e, nk in zip(excess, counts, strict=True))
    live = [e for e in excess if e > 0]
    if live:
        kz = max(live) / min(live)
        g = [e / nk for e, nk in zip(excess, counts, strict=True) if e > 0]
        kh, kw = math.sqrt(max(g) / min(g)), math.sqrt(kz)
    else:
        kz = kw = kh = math.nan
    return ImbalancedMSEOptimum(
        counts=counts,
        lambda_W=lw,
        lambda_H=lh,
        tau=tau,
        scales=scales,
        surviving=surviving,
        value=value,
        w_norm_sq=w_sq,
        h_norm_sq=h_sq,
        kappa_Z=kz,
        kappa_W=kw,
        kappa_Hbar=kh,
    )
