"""Benchmarks of the UFM certificates (spec §6).

Run: ``.venv/bin/python -m pytest benchmarks/bench_ufm.py --benchmark-only
--benchmark-columns=min,median,max,rounds -p no:cacheprovider``.

Every comparison is a ratio against a baseline timed in the same run and the same
process (``extra_info``: ``baseline_s``, ``ratio``), never an absolute threshold.
CLARABEL at K = 100 is refused by the memory estimate (≈3 GiB of dense PSD scaling),
so the solver comparison is made at K = 30.
"""

from __future__ import annotations

import math
import time

import pytest

from ncverify.ufm import certify_ufm, two_factor_mse_optimum

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
        kwargs=dict(solver="SCS"),
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
        return certify_ufm(loss, 30, 100, lam, lam, solver="SCS")

    base = _best_of(scs)
    cert = benchmark.pedantic(
        certify_ufm,
        args=(loss, 30, 100, lam, lam),
        kwargs=dict(solver="CLARABEL"),
        rounds=2,
        iterations=1,
    )
    assert cert.status == "optimal"
    _record(benchmark, base, f"SCS {loss} K=30")


def test_reduction_ratio_unreduced_vs_reduced(benchmark):
    """K = 5, n = 80 (K·N = 2000, the unreduced cap): K×N versus K×K, same optimum."""
    lam = 0.5 / (5 * math.sqrt(80))

    def reduced():
        return certify_ufm("mse", 5, 80, lam, lam)

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


def test_reduced_ce_certificate_K100_scs(benchmark):
    """CE at the benchmark size: 10⁴ exponential cones plus a 200×200 PSD block (slow)."""
    lam = 0.5 / (100 * math.sqrt(100))
    base = _best_of(lambda: certify_ufm("mse", 100, 100, lam, lam), rounds=1)
    cert = benchmark.pedantic(
        certify_ufm, args=("ce", 100, 100, lam, lam), kwargs=dict(tol=1e-6), rounds=1, iterations=1
    )
    assert cert.status == "optimal"
    _record(benchmark, base, "SCS mse K=100")
    benchmark.extra_info.update(iterations=cert.iterations, gap=cert.gap)
