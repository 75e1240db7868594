"""Benchmarks of the UFM certificates (spec §6).

Run: ``.venv/bin/python -m pytest benchmarks/bench_ufm.py --benchmark-only
--benchmark-columns=min,median,max,rounds -p no:cacheprovider``.

Every comparison is a ratio against a baseline timed in the same run and the same
process (``extra_info``: ``baseline_s``, ``ratio``), never an absolute threshold.
CLARABEL at K = 100 on the K×K SDP is refused by the memory estimate (≈3 GiB of dense PSD
scaling), so the solver comparison is made at K = 30. ``reduction="classes"`` is the K×K
within-class SDP; ``reduction="symmetric"`` (the default) the whole symmetry group.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from ncverify.ufm import (
    ce_optimum,
    certify_deep_linear,
    certify_ufm,
    imbalanced_mse_optimum,
    two_factor_mse_optimum,
)

LAM = 0.5 / (100 * math.sqrt(100))  # c = K√(nλ_Wλ_H) = 0.5 at K = n = 100


def _best_of(fn, rounds=3):
    best = math.inf
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _record(benchmark, baseline_s, label):
    med = benchmark.stats.stats.median
    benchmark.extra_info.update(baseline=label, baseline_s=baseline_s, ratio=med / baseline_s)


def test_reduced_mse_certificate_K100_scs(benchmark):
    """Target: < 2 s on 2 cores (setup + solve) for K = 100, n = 100 per class."""
    cert = benchmark.pedantic(
        certify_ufm,
        args=("mse", 100, 100, LAM, LAM),
        kwargs=dict(solver="SCS", reduction="classes"),
        rounds=3,
        iterations=1,
    )
    assert cert.status == "optimal" and cert.gap < 1e-8
    assert math.isclose(cert.value, two_factor_mse_optimum(100, 100, LAM, LAM).value, rel_tol=1e-8)
    benchmark.extra_info.update(
        solve_s=cert.solve_time, setup_s=cert.setup_time, iterations=cert.iterations
    )


@pytest.mark.parametrize("loss", ["mse", "ce"])
def test_solver_ratio_clarabel_vs_scs_K30(benchmark, loss):
    lam = 0.5 / (30 * math.sqrt(100))

    def scs():
        return certify_ufm(loss, 30, 100, lam, lam, solver="SCS", reduction="classes")

    base = _best_of(scs)
    cert = benchmark.pedantic(
        certify_ufm,
        args=(loss, 30, 100, lam, lam),
        kwargs=dict(solver="CLARABEL", reduction="classes"),
        rounds=2,
        iterations=1,
    )
    assert cert.status == "optimal"
    _record(benchmark, base, f"SCS {loss} K=30")


def test_reduction_ratio_unreduced_vs_reduced(benchmark):
    """K = 5, n = 80 (K·N = 2000, the unreduced cap): K×N versus K×K, same optimum."""
    lam = 0.5 / (5 * math.sqrt(80))

    def reduced():
        return certify_ufm("mse", 5, 80, lam, lam, reduction="classes")

    base = _best_of(reduced)
    cert = benchmark.pedantic(
        certify_ufm,
        args=("mse", 5, 80, lam, lam),
        kwargs=dict(reduced=False),
        rounds=2,
        iterations=1,
    )
    assert math.isclose(cert.value, reduced().value, rel_tol=1e-6)
    _record(benchmark, base, "reduced K×K (SCS)")


def test_ce_certificate_two_scalars_vs_kxk_K100(benchmark):
    """CE at K = 100, n = 100: the K×K SDP (10⁴ exponential cones and a 200×200 PSD block,
    SCS, tol 1e-6, one round: the baseline) against the two-scalar reduction (CLARABEL)."""
    lam = 0.5 / (100 * math.sqrt(100))
    t0 = time.perf_counter()
    kxk = certify_ufm("ce", 100, 100, lam, lam, reduction="classes", tol=1e-6)
    base = time.perf_counter() - t0
    cert = benchmark.pedantic(
        certify_ufm, args=("ce", 100, 100, lam, lam), rounds=5, iterations=1, warmup_rounds=1
    )
    opt = ce_optimum(100, 100, lam, lam)
    assert cert.status == "optimal" and cert.dual_bound - 1e-12 <= opt.value <= cert.value + 1e-12
    assert kxk.dual_bound - 1e-9 <= opt.value <= kxk.value + 1e-9
    _record(benchmark, base, "K×K SDP (SCS, tol 1e-6) CE K=100")
    benchmark.extra_info.update(gap=cert.gap, kxk_gap=kxk.gap, kxk_iterations=kxk.iterations)


def test_imbalanced_certificate_K100(benchmark):
    """Imbalanced MSE, K = 100, n_k uniform in [1, 1000] (seed 0), N²λ_Wλ_H at the median
    class size: the diagonal (sign-flip) reduction against the K×K within-class SDP."""
    counts = [int(v) for v in np.random.default_rng(0).integers(1, 1001, size=100)]
    mu = math.sqrt(float(np.median(counts))) / sum(counts)
    base = _best_of(
        lambda: certify_ufm("mse", 100, counts, 2 * mu, mu / 2, reduction="classes"), rounds=1
    )
    cert = benchmark.pedantic(
        certify_ufm,
        args=("mse", 100, counts, 2 * mu, mu / 2),
        rounds=5,
        iterations=1,
        warmup_rounds=1,
    )
    opt = imbalanced_mse_optimum(counts, 2 * mu, mu / 2)
    assert cert.dual_bound - 1e-12 <= opt.value <= cert.value + 1e-12
    _record(benchmark, base, "K×K SDP (SCS) imbalanced K=100")
    benchmark.extra_info.update(gap=cert.gap, surviving=sum(opt.surviving))


def test_deep_linear_sos_certificate_m6(benchmark):
    """The sum-of-squares certificate of the deep linear UFM (m = 6, K = 100, n = 10)."""
    cert = benchmark.pedantic(
        certify_deep_linear, args=(100, 10, [1e-4] * 6), rounds=5, iterations=1, warmup_rounds=1
    )
    assert cert.gap <= 1e-7
    benchmark.extra_info.update(gap=cert.gap)
