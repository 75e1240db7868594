"""Benchmark: :func:`ncverify.train.train_many` against the sequential single-run loop.

A plain script (not collected by pytest; ~3 minutes on 2 cores)::

    .venv/bin/python benchmarks/bench_train_many.py [--steps 1000] [--rounds 3] [--device cuda]

Workload (float64): R = 32 networks, K = 4 classes × 10 samples, d = 16 unit-norm Gaussian
clusters (N = 40), widths 64-32 with σ(x) = ½x + ½tanh x, head 16-8-4, one seed per run,
η_r ∈ {0.3, 0.2, 0.1, 0.05}, λ_r ∈ {3e-3, 1e-3}; ``steps`` GD steps, ε2 recorded every 100.
Every configuration runs in fresh worker processes that import and warm up, then start
together at a barrier; its wall time is first start to last end (fixed costs included: the
single loop's architecture probe and final metrics, train_many's probes and per-run
results). Rounds are interleaved and the minimum kept (a shared, loaded machine).

Configurations, all on the same 2 cores:

* ``seq-2proc``: the baseline -- 2 processes, 1 thread each, each trains half the runs one
  after the other with :func:`ncverify.train.train` (recursion residual every step);
* ``many-2thr``: one process, 2 intra-op threads (``OMP_WAIT_POLICY=PASSIVE``: spinning
  OpenMP threads make a loaded machine many times slower), ``train_many(envelope=False)``
  on all 32 runs -- the same work as the baseline (residual every step, ε2 every 100);
* ``many-2proc``: 2 processes, 1 thread each, ``train_many(envelope=False)`` on 16 runs each;
* ``many-env-2proc``: as ``many-2proc`` with ``envelope=True`` (ε2 and ‖M‖_op of every pair at
  every step, what the theorem checks use);
* ``many-1thr`` / ``seq-1proc``: one core only (reference ratios).

Also measured in the same run: the float64 batched-GEMM rate of this workload's products
(``torch.bmm``, R = 32, the 14 products of one step), a 512³ ``mm`` for the machine's peak,
the FLOP rate ``train_many`` achieves (GEMM FLOPs of forward + backward, plus 3 per weight
for the update), and peak CPU-allocator bytes (torch profiler ``[memory]`` events) of
``train_many`` against one single run × R. With ``--device cuda`` (when a GPU is present)
one extra line times ``train_many`` on the device against the best CPU configuration.
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing as mp
import os
import time

R, K, PER_CLASS, D_IN = 32, 4, 10, 16
WIDTHS, HEAD = (64, 32), (16, 8)
ETAS, LAMS = (0.3, 0.2, 0.1, 0.05), (3e-3, 1e-3)
RUNS = [(s, ETAS[s % 4], LAMS[(s // 4) % 2]) for s in range(R)]


def _data(device="cpu"):
    import torch

    g = torch.Generator().manual_seed(0)
    centres = torch.randn(K, D_IN, generator=g, dtype=torch.float64)
    y = torch.arange(K).repeat_interleave(PER_CLASS)
    X = centres[y] + 0.3 * torch.randn(K * PER_CLASS, D_IN, generator=g, dtype=torch.float64)
    return (X / X.norm(dim=1, keepdim=True)).to(device), y.to(device)


def _work(kind, runs, steps, device="cpu"):
    """Train ``runs`` [(seed, eta, lam)]; return the final data losses."""
    from ncverify.nets import PyramidalMLP
    from ncverify.train import train, train_many

    X, y = _data(device)
    if kind == "seq":
        out = []
        for s, eta, lam in runs:
            net = PyramidalMLP(D_IN, WIDTHS, HEAD, K, "gamma_tanh", seed=s)
            run = train(
                net,
                X,
                y,
                lr=eta,
                weight_decay=lam,
                steps=steps,
                seed=s,
                device=device,
                record_every=100,
            )
            out.append(run.final["data_loss"])
        return out
    many = train_many(
        X,
        y,
        widths=WIDTHS,
        head_widths=HEAD,
        num_classes=K,
        seeds=[s for s, _, _ in runs],
        lr=[e for _, e, _ in runs],
        weight_decay=[lam for _, _, lam in runs],
        steps=steps,
        record_every=100,
        envelope=kind == "many-env",
    )
    return [r.final["data_loss"] for r in many]


def _worker(kind, runs, steps, threads, barrier, queue):
    if threads > 1:  # before torch loads libgomp: idle OpenMP threads sleep, not spin
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import torch

    torch.set_num_threads(threads)
    _work(kind, runs[:2], 20)  # imports, allocator, probes warm
    barrier.wait()
    t0 = time.perf_counter()  # CLOCK_MONOTONIC: comparable across processes
    losses = _work(kind, runs, steps)
    queue.put((t0, time.perf_counter(), [s for s, _, _ in runs], losses))


def _measure(ctx, kind, parts, threads, steps):
    """Wall time of ``parts`` (lists of runs, one process each) running concurrently."""
    barrier, queue = ctx.Barrier(len(parts)), ctx.Queue()
    procs = [
        ctx.Process(target=_worker, args=(kind, p, steps, threads, barrier, queue)) for p in parts
    ]
    for p in procs:
        p.start()
    res = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    losses = dict(itertools.chain.from_iterable(zip(r[2], r[3], strict=True) for r in res))
    return max(r[1] for r in res) - min(r[0] for r in res), losses


CONFIGS = {  # name: (kind, parts, threads)
    "seq-2proc": ("seq", [RUNS[0::2], RUNS[1::2]], 1),
    "many-2thr": ("many", [RUNS], 2),
    "many-2proc": ("many", [RUNS[0::2], RUNS[1::2]], 1),
    "many-env-2proc": ("many-env", [RUNS[0::2], RUNS[1::2]], 1),
    "many-1thr": ("many", [RUNS], 1),
    "seq-1proc": ("seq", [RUNS[:8]], 1),
}


def _step_flops() -> tuple[float, list[tuple[int, int, int]]]:
    """GEMM FLOPs of one run-step (forward, G for every layer, dZ below the top) and the
    update (3 per weight), and the GEMM shapes (m, k, n)."""
    N = K * PER_CLASS
    dims = (D_IN, *WIDTHS, *HEAD, K)
    shapes = []
    for i, (a, b) in enumerate(itertools.pairwise(dims)):
        shapes += [(N, a, b), (b, N, a)] + ([(N, b, a)] if i else [])
    weights = sum(a * b for a, b in itertools.pairwise(dims))
    return sum(2.0 * m * k * n for m, k, n in shapes) + 3.0 * weights, shapes


def _gemm_worker(shapes, threads: int, queue) -> None:
    if threads > 1:  # as the train_many worker: idle OpenMP threads sleep, not spin
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    queue.put(_gemm_rates(shapes, threads))


def _gemm_rates_fresh(ctx, shapes, threads: int) -> tuple[float, float]:
    """:func:`_gemm_rates` in a fresh process set up like the configuration it is compared
    with (thread count, OpenMP wait policy)."""
    queue = ctx.Queue()
    proc = ctx.Process(target=_gemm_worker, args=(shapes, threads, queue))
    proc.start()
    out = queue.get()
    proc.join()
    return out


def _gemm_rates(shapes, threads: int) -> tuple[float, float]:
    """FLOP/s of ``torch.bmm`` on this step's shapes (batch R) and of a 512³ ``mm``."""
    import torch

    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(0)
    ops = [
        (
            torch.randn(R, m, k, generator=g, dtype=torch.float64),
            torch.randn(R, k, n, generator=g, dtype=torch.float64),
        )
        for m, k, n in shapes
    ]
    flops = sum(2.0 * R * m * k * n for m, k, n in shapes)
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(50):
            for a, b in ops:
                torch.bmm(a, b)
        best = min(best, (time.perf_counter() - t) / 50)
    A = torch.randn(512, 512, generator=g, dtype=torch.float64)
    big = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        A @ A
        big = min(big, time.perf_counter() - t)
    return flops / best, 2.0 * 512**3 / big


def _peak_bytes(fn) -> int:
    """Peak bytes held by torch's CPU allocator while ``fn`` runs (profiler events)."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    events = sorted(
        (e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"),
        key=lambda e: e.start_ns(),
    )
    cur = peak = 0
    for e in events:
        cur += e.nbytes()
        peak = max(peak, cur)
    return peak


def _cuda_line(T: int, best_cpu: float) -> None:
    import torch

    if not torch.cuda.is_available():
        print("\nno CUDA device: no GPU figure")
        return
    _work("many", RUNS[:2], 20, device="cuda")
    torch.cuda.synchronize()
    t = time.perf_counter()
    _work("many", RUNS, T, device="cuda")
    torch.cuda.synchronize()
    rate = R * T / (time.perf_counter() - t)
    print(
        f"\n{torch.cuda.get_device_name()}: train_many(R={R}, envelope=False) "
        f"{rate:,.0f} run-steps/s = {rate / best_cpu:.2f}x the best CPU configuration"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    args = ap.parse_args()
    ctx = mp.get_context("spawn")
    T = args.steps
    print(
        f"{time.strftime('%Y-%m-%d %H:%M:%S')}  load average {os.getloadavg()}  "
        f"steps={T} rounds={args.rounds}"
    )
    best = {k: float("inf") for k in CONFIGS}
    losses = {}
    for _ in range(args.rounds):
        for name, (kind, parts, threads) in CONFIGS.items():
            wall, losses[name] = _measure(ctx, kind, parts, threads, T)
            best[name] = min(best[name], wall)
    print(f"load average after: {os.getloadavg()}")
    exact = all(
        losses[k][s] == losses["seq-2proc"][s]
        for k in ("many-2thr", "many-2proc", "many-env-2proc")
        for s, _, _ in RUNS
    )
    rate = {k: sum(len(p) for p in CONFIGS[k][1]) * T / best[k] for k in CONFIGS}
    flops, shapes = _step_flops()
    base = rate["seq-2proc"]
    print("\n| configuration (2 cores unless noted) | wall (s) | run-steps/s | vs seq-2proc |")
    print("|---|---|---|---|")
    for k in CONFIGS:
        print(f"| {k} | {best[k]:.2f} | {rate[k]:,.0f} | {rate[k] / base:.2f}x |")
    print(
        f"\none core: many-1thr / seq-1proc = {rate['many-1thr'] / rate['seq-1proc']:.2f}x; "
        f"final data losses of all {R} runs bitwise equal (batched vs single): {exact}"
    )
    print(f"\nFLOPs per run-step (GEMMs fwd+bwd + update): {flops / 1e6:.3f} MFLOP")
    for threads in (1, 2):
        bmm, mm = _gemm_rates_fresh(ctx, shapes, threads)
        ach = rate["many-1thr" if threads == 1 else "many-2thr"] * flops
        print(
            f"{threads} thread(s): bmm on this workload's shapes {bmm / 1e9:.1f} GFLOP/s, "
            f"512^3 mm {mm / 1e9:.1f} GFLOP/s; train_many achieves {ach / 1e9:.1f} GFLOP/s "
            f"({ach / bmm:.0%} of the bmm rate)"
        )

    import torch

    from ncverify.nets import PyramidalMLP
    from ncverify.train import train, train_many

    torch.set_num_threads(1)
    X, y = _data()
    s, eta, lam = RUNS[0]
    one = _peak_bytes(
        lambda: train(
            PyramidalMLP(D_IN, WIDTHS, HEAD, K, seed=s),
            X,
            y,
            lr=eta,
            weight_decay=lam,
            steps=300,
            device="cpu",
        )
    )
    for env in (False, True):
        many = _peak_bytes(
            lambda env=env: train_many(
                X,
                y,
                widths=WIDTHS,
                head_widths=HEAD,
                num_classes=K,
                seeds=[r[0] for r in RUNS],
                lr=[r[1] for r in RUNS],
                weight_decay=[r[2] for r in RUNS],
                steps=300,
                envelope=env,
            )
        )
        print(
            f"peak torch CPU-allocator bytes: one single run {one / 2**20:.2f} MiB, x{R} = "
            f"{R * one / 2**20:.1f} MiB; train_many(R={R}, envelope={env}) "
            f"{many / 2**20:.1f} MiB = {many / (R * one):.2f}x R single runs"
        )
    print(
        f"target >= 3x: many-2thr {rate['many-2thr'] / base:.2f}x, "
        f"many-2proc {rate['many-2proc'] / base:.2f}x "
        f"(with the every-step envelope: {rate['many-env-2proc'] / base:.2f}x)"
    )
    if args.device == "cuda":
        _cuda_line(T, max(rate.values()))


if __name__ == "__main__":
    main()
