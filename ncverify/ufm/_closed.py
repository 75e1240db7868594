"""Closed-form optima of the unconstrained-features model (UFM), spec §6.

Balanced classes: ``K`` classes, ``n`` samples each, ``N = nK``; one-hot targets
``Y ∈ R^{K×N}``. Every result is a frozen dataclass of plain floats (no torch);
derivations are in ``docs/ufm.md``.

* :func:`two_factor_mse_optimum` -- ``min 1/(2N)‖WH − Y‖² + λ_W/2‖W‖² + λ_H/2‖H‖²``.
  Optimum ``WH = sY`` with ``s = max(0, 1 − c)``, ``c = K√(nλ_Wλ_H)``; value
  ``c − c²/2`` (``c < 1``) or ``1/2``; orthogonal class means.
* :func:`mse_bias_optimum` -- the same with an unregularised bias ``b``:
  ``WH = s(Y − 1_K1_Nᵀ/K)``, same ``s``, centred means a simplex ETF; value
  ``(K−1)/K · (c − c²/2)`` or ``(K−1)/(2K)``.
* :func:`deep_linear_optimum` -- ``m`` factors (including ``H``): exact real-root
  isolation with sympy (see :mod:`ncverify.ufm`).
* :func:`ce_optimum` -- cross-entropy UFM (Zhu et al. 2021): class-level logits
  ``a*(I − 11ᵀ/K)`` with ``a* = log((1 − c(K−1))/c)`` if ``c = √(nλ_Wλ_H) < 1/K``,
  else ``a* = 0``; value ``f(a*)``, ``f(a) = log(1 + (K−1)e^{−a}) + c(K−1)a``.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

from ..errors import InvalidInput

__all__ = [
    "CEOptimum",
    "MSEOptimum",
    "ce_optimum",
    "mse_bias_optimum",
    "two_factor_mse_optimum",
]


def _check_classes(K, n) -> tuple[int, int]:
    for name, value, low in (("K", K, 2), ("n", n, 1)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise InvalidInput(
                f"{name}={value!r} must be an integer (number of "
                f"{'classes' if name == 'K' else 'samples per class'})"
            )
        if value < low:
            raise InvalidInput(f"{name}={value!r} must be >= {low}")
    return int(K), int(n)


def _is_bool(value) -> bool:
    kind = type(value)
    return isinstance(value, bool) or (
        kind.__module__ == "numpy" and kind.__name__ in ("bool", "bool_")
    )


def _check_real(name: str, value) -> float:
    """A finite real number (int, float, Fraction, numpy/sympy scalar; not a str or bool)."""
    if _is_bool(value):
        raise InvalidInput(f"{name}={value!r} is a bool, not a number; pass a float")
    if not isinstance(value, numbers.Real):
        raise InvalidInput(
            f"{name}={value!r} is not a real number (got {type(value).__name__}); pass an int "
            f"or a float, e.g. {name}=1e-3, not a string"
        )
    x = float(value)
    if not math.isfinite(x):
        raise InvalidInput(f"{name}={value!r} must be a finite real number")
    return x


def _check_lambda(name: str, value) -> float:
    if _is_bool(value):
        raise InvalidInput(f"{name}={value!r} is a bool, not a regularisation strength")
    if not isinstance(value, numbers.Real):
        raise InvalidInput(
            f"{name}={value!r} is not a real number (got {type(value).__name__}); pass a "
            f"positive int or float such as {name}=1e-3"
        )
    x = float(value)
    if not (math.isfinite(x) and x > 0):
        raise InvalidInput(
            f"{name}={value!r} must be a finite positive regularisation "
            f"strength (the UFM optimum is unbounded/degenerate at λ <= 0)"
        )
    return x


def _check_flag(name: str, value) -> bool:
    """``True`` or ``False`` only: ``reduced="no"`` or ``bias=1`` are refused, not coerced."""
    if not _is_bool(value):
        raise InvalidInput(
            f"{name}={value!r} must be True or False (a bool), got {type(value).__name__}"
        )
    return bool(value)


def _check_positive_int(name: str, value) -> int:
    if _is_bool(value) or not isinstance(value, numbers.Integral) or value < 1:
        raise InvalidInput(f"{name}={value!r} must be a positive integer")
    return int(value)


@dataclass(frozen=True)
class MSEOptimum:
    """Optimum of the two-factor MSE UFM (bias-free or with an unregularised bias).

    ``c = K√(nλ_Wλ_H)``; ``s = max(0, 1 − c)`` scales the target (``WH = sY`` or
    ``s(Y − 11ᵀ/K)``); ``value`` is the optimal objective; ``w_norm_sq`` = ‖w_k‖²
    (row k of W), ``h_norm_sq`` = ‖h_i‖² (every feature column); ``collapsed`` is
    ``c < 1``. ``singular_value`` = the nonzero singular value ``s√n`` of ``WH``.
    """

    K: int
    n: int
    lambda_W: float
    lambda_H: float
    bias: bool
    c: float
    s: float
    value: float
    w_norm_sq: float
    h_norm_sq: float
    collapsed: bool

    @property
    def N(self) -> int:
        return self.K * self.n

    @property
    def singular_value(self) -> float:
        return self.s * math.sqrt(self.n)

    @property
    def mu(self) -> float:
        """Nuclear-norm weight ``√(λ_Wλ_H)`` of the convex formulation."""
        return math.sqrt(self.lambda_W * self.lambda_H)


def _mse(K, n, lambda_W, lambda_H, bias: bool) -> MSEOptimum:
    K, n = _check_classes(K, n)
    lw = _check_lambda("lambda_W", lambda_W)
    lh = _check_lambda("lambda_H", lambda_H)
    c = K * math.sqrt(n * lw * lh)
    s = max(0.0, 1.0 - c)
    value = c - c * c / 2 if c < 1 else 0.5
    # ‖w_k‖² = s√n √(λ_H/λ_W) (balanced factors, λ_W WᵀW = λ_H HHᵀ); for the bias
    # model WWᵀ ∝ (I − 11ᵀ/K) so each row carries a factor (K−1)/K.
    shape = (K - 1) / K if bias else 1.0
    w_norm_sq = s * math.sqrt(n * lh / lw) * shape
    h_norm_sq = s * math.sqrt(lw / (n * lh)) * shape
    if bias:
        value *= (K - 1) / K
    return MSEOptimum(
        K=K,
        n=n,
        lambda_W=lw,
        lambda_H=lh,
        bias=bias,
        c=c,
        s=s,
        value=value,
        w_norm_sq=w_norm_sq,
        h_norm_sq=h_norm_sq,
        collapsed=c < 1,
    )


def two_factor_mse_optimum(K: int, n: int, lambda_W: float, lambda_H: float) -> MSEOptimum:
    """Bias-free two-factor MSE UFM optimum (spec §6).

    ``min_{W,H} 1/(2N)‖WH − Y‖_F² + λ_W/2‖W‖_F² + λ_H/2‖H‖_F²``
    ``= min_Z 1/(2N)‖Z − Y‖_F² + √(λ_Wλ_H)‖Z‖_*``. Singular-value soft thresholding of
    ``Y`` (all singular values √n) at ``N√(λ_Wλ_H)`` gives ``Z = sY``,
    ``s = max(0, 1 − K√(nλ_Wλ_H))``. Value ``c − c²/2`` for ``c < 1``, else 1/2.
    ``‖w_k‖² = √(nλ_H/λ_W) − Knλ_H`` (if positive). At collapse the class means are an
    orthogonal frame: ``κ(H̄) = 1``.
    """
    return _mse(K, n, lambda_W, lambda_H, bias=False)


def mse_bias_optimum(K: int, n: int, lambda_W: float, lambda_H: float) -> MSEOptimum:
    """Two-factor MSE UFM with an unregularised bias (Zhou et al., ICML 2022; spec §6).

    ``min 1/(2N)‖WH + b1ᵀ − Y‖² + λ_W/2‖W‖² + λ_H/2‖H‖²``. The optimal bias is the
    column mean of ``Y − WH``, leaving ``1/(2N)‖(Z − Y)(I − 11ᵀ/N)‖² + √(λ_Wλ_H)‖Z‖_*``;
    centring ``Z`` never increases ``‖Z‖_*``, so ``Z = s(Y − 1_K1_Nᵀ/K)`` (singular
    values √n, K−1 times), same ``s``. Value ``(K−1)/K · (c − c²/2)`` or ``(K−1)/(2K)``.
    Centred class means form a simplex ETF (ETF distance 0).
    """
    return _mse(K, n, lambda_W, lambda_H, bias=True)


@dataclass(frozen=True)
class CEOptimum:
    """Optimum of the cross-entropy UFM (bias-free).

    ``c = √(nλ_Wλ_H)``; class-level logits ``a_star (I − 11ᵀ/K)``; ``value`` is the
    optimal objective ``f(a*)``; ``collapsed`` is ``c < 1/K`` (``a* > 0``).
    """

    K: int
    n: int
    lambda_W: float
    lambda_H: float
    c: float
    a_star: float
    value: float
    collapsed: bool

    @property
    def N(self) -> int:
        return self.K * self.n

    @property
    def mu(self) -> float:
        return math.sqrt(self.lambda_W * self.lambda_H)


def ce_reduced_objective(a: float, K: int, c: float) -> float:
    """``f(a) = log(1 + (K−1)e^{−a}) + c(K−1)|a|`` (stable for large ``a``)."""
    return math.log1p((K - 1) * math.exp(-a)) + c * (K - 1) * abs(a)


def ce_optimum(K: int, n: int, lambda_W: float, lambda_H: float) -> CEOptimum:
    """Cross-entropy UFM optimum (Zhu et al., NeurIPS 2021; spec §6, checked in docs/ufm.md).

    ``min (1/N)Σ_i CE(Wh_i, y_i) + λ_W/2‖W‖² + λ_H/2‖H‖²``; reduces to
    ``f(a) = log(1 + (K−1)e^{−a}) + c(K−1)a`` with ``c = √(nλ_Wλ_H)``, convex, minimised at
    ``a* = log((1 − c(K−1))/c)`` when ``c < 1/K`` and at ``a* = 0`` otherwise.
    """
    K, n = _check_classes(K, n)
    lw = _check_lambda("lambda_W", lambda_W)
    lh = _check_lambda("lambda_H", lambda_H)
    c = math.sqrt(n * lw * lh)
    a = math.log((1 - c * (K - 1)) / c) if c * K < 1 else 0.0
    return CEOptimum(
        K=K,
        n=n,
        lambda_W=lw,
        lambda_H=lh,
        c=c,
        a_star=a,
        value=ce_reduced_objective(a, K, c),
        collapsed=c * K < 1,
    )
