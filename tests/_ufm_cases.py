"""Hypothesis strategies for UFM problem instances (shared by tests/test_ufm*.py).

An instance is ``(K, n, lambda_W, lambda_H)`` with the threshold parameter placed on a
chosen side of the collapse threshold: ``c = K√(nλ_Wλ_H)`` for MSE (threshold 1) and
``cK`` with ``c = √(nλ_Wλ_H)`` for CE (threshold 1). ``λ_W/λ_H`` ranges over [0.1, 10].
"""

from __future__ import annotations

import math

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

COLLAPSED = (0.1, 0.9)
ZERO = (1.1, 3.0)


@st.composite
def ufm_instances(draw, *, loss="mse", min_classes=2, max_classes=100, max_per_class=50, side=None):
    """``(K, n, lambda_W, lambda_H, collapsed)``; ``side`` in {None, "collapsed", "zero"}."""
    if loss not in ("mse", "mse_bias", "ce"):
        raise InvalidArgument(f"loss={loss!r}; expected 'mse', 'mse_bias' or 'ce'")
    if not 2 <= min_classes <= max_classes:
        raise InvalidArgument(f"need 2 <= min_classes={min_classes} <= max_classes={max_classes}")
    if side not in (None, "collapsed", "zero"):
        raise InvalidArgument(f"side={side!r}; expected None, 'collapsed' or 'zero'")
    K = draw(st.integers(min_classes, max_classes))
    n = draw(st.integers(1, max_per_class))
    collapsed = draw(st.booleans()) if side is None else side == "collapsed"
    lo, hi = COLLAPSED if collapsed else ZERO
    ratio = draw(st.floats(lo, hi))  # the threshold parameter, threshold at 1
    rho = draw(st.floats(0.1, 10.0))
    mu = ratio / (K * math.sqrt(n))  # mse: c = K√n·μ = ratio; ce: cK = √n·μ·K = ratio
    return K, n, mu * math.sqrt(rho), mu / math.sqrt(rho), collapsed
