"""Benchmarks of the collapse metrics (pytest-benchmark; not part of CI).

Run:  pytest benchmarks/bench_metrics.py --benchmark-only -p no:cacheprovider -s

``test_bench_compensated_vs_previous`` times the compensated class sums (float64 sums,
corrected two-pass; ``docs/metrics.md``) against the previous code (class sums accumulated
in the input dtype with ``index_add_``), loaded from git history (``PREVIOUS_COMMIT``),
interleaving the two in one run; target: at most 10% more CPU time.

Papyan NC1 via the K×K Gram route (``ncverify.nc1_papyan``) against, in the same run,
(a) the textbook p×p formula ``(1/K) tr(Σ_W Σ_B^†)`` with ``torch.linalg.pinv(…,
hermitian=True)`` (a strong baseline: eigh-based pinv, trace as an elementwise sum) and
(b) the compute floor: one ``H @ P`` matmul of the same shape (``H`` the ``(N, p)``
centred features, ``P`` a ``(p, K)`` matrix), both in the input dtype. The summary test
at the end prints the ratios and checks the targets (≥5× vs textbook at p=1024, ≥40× at
p=4096, within 3× of the matmul). It also measures the peak memory of
``StreamingCollapse`` at p=4096 in a fresh subprocess (``ru_maxrss`` delta, see below).
"""

from __future__ import annotations

import functools
import json
import math
import subprocess
import sys
import time

import pytest
import torch

from ncverify.metrics import cdnv, class_means, collapse_metrics, nc1_papyan, nc1_trace_ratio

CONFIGS = {  # name: (N, p, K)
    "N50000-p1024": (50_000, 1024, 100),
    "N20000-p4096": (20_000, 4096, 100),
}
DTYPES = {"float32": torch.float32, "float64": torch.float64}
ROUNDS = {"gram": 5, "matmul": 5, "textbook": {"N50000-p1024": 3, "N20000-p4096": 1}}
TARGET_VS_TEXTBOOK = {"N50000-p1024": 5.0, "N20000-p4096": 40.0}
TARGET_VS_MATMUL = 3.0
_TIMES: dict[tuple[str, str, str], float] = {}


@functools.lru_cache(maxsize=1)
def _data(config: str, dtype_name: str):
    n_total, p, k = CONFIGS[config]
    dtype = DTYPES[dtype_name]
    g = torch.Generator().manual_seed(0)
    y = torch.arange(k).repeat_interleave(n_total // k)
    y = y[torch.randperm(n_total, generator=g)]
    means = 2.0 * torch.randn(k, p, generator=g, dtype=dtype)
    Z = means[y]
    Z += torch.randn(n_total, p, generator=g, dtype=dtype)
    H = Z - means[y]
    P = torch.randn(p, k, generator=g, dtype=dtype)
    return Z, y, k, H, P


def textbook_papyan(Z: torch.Tensor, y: torch.Tensor, k: int) -> float:
    """(1/K) tr(Σ_W Σ_B^†) with p×p matrices (Papyan, Han & Donoho 2020), input dtype."""
    counts = torch.bincount(y, minlength=k).to(Z.dtype)
    means = torch.zeros(k, Z.shape[1], dtype=Z.dtype).index_add_(0, y, Z) / counts[:, None]
    H = Z - means[y]
    sigma_w = H.T @ H / Z.shape[0]
    C = means - Z.mean(0)
    sigma_b = C.T @ C / k
    return float((sigma_w * torch.linalg.pinv(sigma_b, hermitian=True)).sum()) / k


def _run(benchmark, key, fn, rounds):
    benchmark.pedantic(fn, rounds=rounds, iterations=1, warmup_rounds=0)
    _TIMES[key] = benchmark.stats.stats.min
    return benchmark


@pytest.mark.parametrize("dtype_name", list(DTYPES))
@pytest.mark.parametrize("config", list(CONFIGS))
@pytest.mark.parametrize("method", ["gram", "matmul", "textbook"])
def test_bench_papyan(benchmark, method, config, dtype_name):
    Z, y, k, H, P = _data(config, dtype_name)
    benchmark.group = f"papyan-{config}-{dtype_name}"
    if method == "gram":
        fn = functools.partial(nc1_papyan, Z, y)
        rounds = ROUNDS["gram"]
    elif method == "matmul":
        fn = functools.partial(torch.matmul, H, P)
        rounds = ROUNDS["matmul"]
    else:
        values: list[float] = []

        def fn():
            values.append(textbook_papyan(Z, y, k))

        rounds = ROUNDS["textbook"][config]
    _run(benchmark, (config, dtype_name, method), fn, rounds)
    if method == "textbook":  # the two routes agree on this well-conditioned data
        rel = 1e-3 if dtype_name == "float32" else 1e-8
        assert nc1_papyan(Z, y) == pytest.approx(values[-1], rel=rel)


_STREAM_SCRIPT = r"""
import json, resource, sys, torch
from ncverify.metrics import StreamingCollapse
N, p, K, chunk = 20000, 4096, 100, 1000
g = torch.Generator().manual_seed(0)
means = 2.0 * torch.randn(K, p, generator=g, dtype=torch.float64)
def chunks():
    g2 = torch.Generator().manual_seed(1)
    for s in range(0, N, chunk):
        y = torch.arange(s, s + chunk) % K
        yield means[y] + torch.randn(chunk, p, generator=g2, dtype=torch.float64), y
for Z, y in chunks():  # warm up allocator and kernels once, outside the measurement
    break
acc0 = StreamingCollapse(K, p).update(Z, y)
del acc0
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
acc = StreamingCollapse(K, p)
for Z, y in chunks():
    acc.update(Z, y)
acc.second_pass()
for Z, y in chunks():
    acc.update(Z, y)
m = acc.result()
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
held = [v for v in [*vars(acc).values(), *vars(acc._acc2).values()] if isinstance(v, torch.Tensor)]
state = sum(t.numel() * t.element_size() for t in held)
print(json.dumps({"maxrss_delta_bytes": (after - before) * 1024, "state_bytes": state,
                  "chunk_bytes": chunk * p * 8, "pxp_bytes": p * p * 8,
                  "nc1_papyan": m.nc1_papyan}))
"""


def test_bench_streaming_memory(benchmark):
    """Peak memory of StreamingCollapse at N=20000, p=4096, K=100, float64, chunks of 1000.

    Method: a fresh subprocess generates the chunks on the fly (the data set is never
    materialised); ``ru_maxrss`` (peak RSS, KiB on Linux) is read after a warm-up and again
    after both passes; the delta bounds the extra memory of the accumulator plus transient
    chunk work. ``state_bytes`` sums numel·element_size of the tensors the accumulator holds.
    """
    benchmark.group = "streaming-memory"
    out = {}

    def run():
        proc = subprocess.run(
            [sys.executable, "-c", _STREAM_SCRIPT], capture_output=True, text=True, check=True
        )
        out.update(json.loads(proc.stdout.strip().splitlines()[-1]))

    benchmark.pedantic(run, rounds=1, iterations=1, warmup_rounds=0)
    benchmark.extra_info.update(out)
    print("\nstreaming p=4096:", json.dumps(out))
    assert out["state_bytes"] < out["pxp_bytes"] / 10


def test_bench_summary(benchmark):
    """Ratios measured in this run, printed and checked against the targets.

    (Takes the ``benchmark`` fixture only so that ``--benchmark-only`` does not skip it.)
    """
    benchmark.group = "summary"
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    rows, failures = [], []
    for config in CONFIGS:
        for dtype_name in DTYPES:
            t = {m: _TIMES.get((config, dtype_name, m)) for m in ("gram", "matmul", "textbook")}
            if None in t.values():  # that configuration was deselected (-k)
                continue
            speedup = t["textbook"] / t["gram"]
            over_floor = t["gram"] / t["matmul"]
            rows.append(
                f"{config:14s} {dtype_name:8s} gram {t['gram']:.4f}s  matmul "
                f"{t['matmul']:.4f}s  textbook {t['textbook']:.3f}s  "
                f"speedup {speedup:.1f}x  gram/matmul {over_floor:.2f}x"
            )
            if speedup < TARGET_VS_TEXTBOOK[config]:
                failures.append(f"{config} {dtype_name}: speedup {speedup:.1f}x")
            if over_floor > TARGET_VS_MATMUL:
                failures.append(f"{config} {dtype_name}: {over_floor:.2f}x the matmul")
    if not rows:
        pytest.skip("no complete Papyan configuration was run")
    print("\n" + "\n".join(rows))
    assert not failures, failures


# ------------------------------------------------------------- compensated vs previous route
#: the last commit before the compensated class sums (the code "today's" cost refers to)
PREVIOUS_COMMIT = "67165ae"
_PREVIOUS_FILES = ("__init__", "_core", "_collapse", "_streaming", "_linalg", "_validation")


@functools.lru_cache(maxsize=1)
def _previous_metrics():
    """ncverify.metrics as of PREVIOUS_COMMIT, loaded from git into a temporary package (the
    same run then times both; skipped outside a git checkout with that commit)."""
    import importlib.util
    import tempfile
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    pkg = Path(tempfile.mkdtemp()) / "ncverify_previous_metrics"
    pkg.mkdir()
    for name in _PREVIOUS_FILES:
        proc = subprocess.run(
            ["git", "show", f"{PREVIOUS_COMMIT}:ncverify/metrics/{name}.py"],
            cwd=root,
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            pytest.skip(f"previous metrics not available from git: {proc.stderr.strip()}")
        text = proc.stdout.replace("from ..errors import", "from ncverify.errors import")
        (pkg / f"{name}.py").write_text(text)
    spec = importlib.util.spec_from_file_location(
        pkg.name, pkg / "__init__.py", submodule_search_locations=[str(pkg)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[pkg.name] = module
    spec.loader.exec_module(module)
    return module


PAIRS = {  # metric: (compensated, previous)
    name: (
        (lambda Z, y, k, f=fn: f(Z, y)),
        (lambda Z, y, k, name=name: getattr(_previous_metrics(), name)(Z, y)),
    )
    for name, fn in (
        ("nc1_papyan", nc1_papyan),
        ("nc1_trace_ratio", nc1_trace_ratio),
        ("cdnv", cdnv),
        ("collapse_metrics", collapse_metrics),
        ("class_means", class_means),
    )
}
TARGET_VS_PREVIOUS = 1.10
_PAIR_TIMES: dict[tuple[str, str, str], dict[tuple[str, str], float]] = {}


@pytest.mark.parametrize("dtype_name", list(DTYPES))
@pytest.mark.parametrize("config", list(CONFIGS))
@pytest.mark.parametrize("metric", list(PAIRS))
def test_bench_compensated_vs_previous(benchmark, metric, config, dtype_name):
    """Minimum over 15 interleaved rounds of each route (one warm-up each), same data, one
    intra-op thread; both wall time and the process's CPU time are recorded. CPU time is the
    work a route does and is far less disturbed by other jobs on a shared machine."""
    Z, y, k, _, _ = _data(config, dtype_name)
    new, old = PAIRS[metric]
    benchmark.group = f"compensated-{metric}-{config}-{dtype_name}"
    times = {("new", "wall"): [], ("old", "wall"): [], ("new", "cpu"): [], ("old", "cpu"): []}

    def rounds():
        for fn in (new, old):  # warm-up
            fn(Z, y, k)
        for _ in range(15):
            for name, fn in (("new", new), ("old", old)):
                w0, c0 = time.perf_counter(), time.process_time()
                fn(Z, y, k)
                times[(name, "cpu")].append(time.process_time() - c0)
                times[(name, "wall")].append(time.perf_counter() - w0)

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        benchmark.pedantic(rounds, rounds=1, iterations=1, warmup_rounds=0)
    finally:
        torch.set_num_threads(threads)
    _PAIR_TIMES[(metric, config, dtype_name)] = {key: min(v) for key, v in times.items()}
    a, b = new(Z, y, k), old(Z, y, k)  # the same values on this well-spread data
    rel = 1e-3 if dtype_name == "float32" else 1e-10
    if metric == "class_means":
        torch.testing.assert_close(a, b, rtol=rel, atol=rel * float(b.abs().max()))
    elif metric == "collapse_metrics":
        floats = {f: v for f, v in a.as_dict().items() if isinstance(v, float)}
        assert floats == pytest.approx({f: getattr(b, f) for f in floats}, rel=rel)
    else:
        assert a == pytest.approx(b, rel=rel)


def test_bench_compensated_summary(benchmark):
    """Ratios compensated / previous measured in this run (printed; target <= 1.10)."""
    benchmark.group = "summary"
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    if not _PAIR_TIMES:
        pytest.skip("no compensated-vs-previous configuration was run")
    rows, over = [], []
    for (metric, config, dtype_name), t in sorted(_PAIR_TIMES.items()):
        cpu = t[("new", "cpu")] / t[("old", "cpu")] if t[("old", "cpu")] > 0 else math.inf
        wall = t[("new", "wall")] / t[("old", "wall")] if t[("old", "wall")] > 0 else math.inf
        rows.append(
            f"{metric:16s} {config:14s} {dtype_name:8s} cpu {t[('new', 'cpu')]:.4f}s / "
            f"{t[('old', 'cpu')]:.4f}s = {cpu:.3f}   wall {t[('new', 'wall')]:.4f}s / "
            f"{t[('old', 'wall')]:.4f}s = {wall:.3f}"
        )
        if cpu > TARGET_VS_PREVIOUS:
            over.append(f"{metric} {config} {dtype_name}: {cpu:.3f}")
    print("\n(compensated / previous, minimum of 15 interleaved rounds, 1 thread)")
    print("\n".join(rows))
    if over:
        print("CPU-time ratio above the 1.10 target: " + "; ".join(over))
