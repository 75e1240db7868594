"""The measurement uncertainties of ``measure_last_pair`` bound the actual rounding errors
(docs/theorems.md#uncertainty), checked against the high-precision re-measurement on
ill-conditioned instances: nearly singular class means (κ(Z̄_{L−1}) up to ~1e13), W_L with
κ up to 1e9. With them, such instances are judged without rounding artefacts."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ncverify.catalog import jswm
from ncverify.catalog.jswm import LastPair
from ncverify.spec import PRECISE_DPS


def _tight_means(seed: int, K: int, log10_kappa: float, kill: float, balanced: bool) -> LastPair:
    """U = I, class means of Z_L = I − (1 − kill)e_1e_1ᵀ: κ(Z̄_{L−1}) = κ(W_L)/kill, the sharp
    NC2 bound attained with equality when the pair is balanced (else W_{L−1} has orthonormal
    rows: Z_{L−2} is no larger than Z_{L−1}, so κ(Z̄_{L−1}) is measurable much further)."""
    rng = np.random.default_rng(seed)
    n, p1, p2 = 3, K, K + 3
    y = np.repeat(np.arange(K), n)
    Vt = np.linalg.qr(rng.standard_normal((p1, K)))[0].T
    W = np.diag(10.0 ** (-log10_kappa * np.linspace(0, 1, K))) @ Vt
    O = np.linalg.qr(rng.standard_normal((p2, p1)))[0].T
    w, Q = np.linalg.eigh(W.T @ W)
    W1 = (Q * np.sqrt(np.clip(w, 0, None))) @ Q.T @ O if balanced else O
    Ebar = np.zeros((K, K))
    Ebar[0, 0] = -(1 - kill)
    Z = (np.eye(K)[y] + Ebar[y]) @ np.linalg.pinv(W @ W1).T
    t = lambda a: torch.as_tensor(a, dtype=torch.float64)  # noqa: E731
    return LastPair(Z=t(Z), W_lower=t(W1), W_upper=t(W), y=torch.as_tensor(y))


CASES = [
    (s, K, lk, kill, bal)
    for s in range(2)
    for K, lk, kill in ((4, 5.0, 1e-8), (3, 9.0, 1e-3), (2, 3.0, 1e-9), (3, 2.0, 1e-6))
    for bal in (True, False)
]


@pytest.mark.parametrize(("seed", "K", "log10_kappa", "kill", "balanced"), CASES)
def test_uncertainties_bound_the_rounding_errors(seed, K, log10_kappa, kill, balanced):
    inst = _tight_means(seed, K, log10_kappa, kill, balanced)
    m = jswm.measure_last_pair(inst)
    exact = jswm.NC2.remeasure(inst, dps=PRECISE_DPS)
    for sym in ("kappa_WL", "kappa_L", "kappa_prev", "eps1"):
        err = m[f"{sym}_err"]
        if math.isinf(err):  # numerically singular: the symbol is not measured
            continue
        assert abs(m[sym] - float(exact[sym])) <= err, (sym, m[sym], float(exact[sym]), err)
    ev = jswm.NC2.check(inst, seed=seed, inputs={})
    assert not ev.fails and not any(c.reason.startswith("rounding") for c in ev.claims), ev


def test_the_uncertainties_are_measured_where_the_instances_allow():
    """Not vacuous: with an orthonormal W_{L−1}, κ(Z̄_{L−1}) ≈ 1e11 is measured with a finite
    uncertainty, far above float64's relative accuracy."""
    m = jswm.measure_last_pair(_tight_means(0, 4, 5.0, 1e-6, False))
    assert m["kappa_prev"] > 1e10 and 0 < m["kappa_prev_err"] < 1e-2 * m["kappa_prev"], m
