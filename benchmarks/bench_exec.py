"""Benchmarks of the executors (pytest-benchmark; not part of CI; needs ``ncverify[ray]``).

Run:  pytest benchmarks/bench_exec.py --benchmark-only -p no:cacheprovider -s

Everything is measured in one run, on one local Ray instance with 2 CPUs started by the
benchmark, and reported as ratios:

* **throughput**: ``RUNS`` training runs of the spec's §5 calibration network (K=4, n=10,
  d=16, widths 64-32, head 16-8-4, float64, CPU, one intra-op thread), ``STEPS`` steps each,
  executed in this process (:class:`~ncverify.exec.LocalExecutor`), and through Ray with one
  and with two tasks in flight (``max_in_flight`` 1 and 2: one and two busy workers); with
  each, the CPU seconds a run took where it ran, and the concurrency achieved (seconds of
  training loop per second of wall time: 2 at most with two workers on two idle cores; on a
  shared machine, less);
* **per-task overhead**: ``TRIVIAL`` tasks that do nothing (``abs`` of a number) through Ray
  one at a time (submission, scheduling, the round trip); and runs with 0 steps (data,
  network, initial and final measurements, the result shipped back) in this process and
  through Ray one at a time, whose difference per run adds pickling the configuration and
  the result;
* **run length**: a run's time per step, from the ``STEPS`` runs, and the number of steps
  at which the overhead falls to 10 % of a run (below that, distributing costs more than it
  can save on a machine this size);
* **driver-side cost**: what stays on the driver for each result (rebuilding the trained
  network from the result, measuring and judging it against ``jswm-4.4``), and the size of a
  pickled result (the trained weights travel back with it).

Rounds are interleaved and the fastest of ``ROUNDS`` is kept, to damp noise from a shared
machine; the load average is printed with the figures. No timed assertion: the numbers go to
docs/benchmarks.md and docs/scale-out.md.
"""

from __future__ import annotations

import os
import pickle
import time

import pytest

ray = pytest.importorskip("ray", reason="needs the ray extra: pip install 'ncverify[ray]'")

from ncverify.catalog.jswm import TRAINING_NC1, TrainedNetwork  # noqa: E402
from ncverify.exec import (  # noqa: E402
    DataSpec,
    LocalExecutor,
    NetworkSpec,
    RayExecutor,
    RunConfig,
    execute_run,
    training_run,
)
from ncverify.train import TrainingConfig  # noqa: E402

RUNS = 8
STEPS = 1000
ROUNDS = 3
OVERHEAD_RUNS = 32
TRIVIAL = 200


def _configs(count: int, steps: int, salt: int) -> list[RunConfig]:
    """Distinct runs (a salt in the seeds keeps every configuration out of earlier rounds)."""
    out = []
    for i in range(count):
        seed = 1000 * salt + i
        out.append(
            RunConfig(
                DataSpec("gaussian_clusters", seed=seed, num_classes=4, samples_per_class=10,
                         input_dim=16),
                NetworkSpec("pyramidal", 16, 4, seed, widths=(64, 32), head_widths=(16, 8),
                            gamma=0.5, num_samples=40),
                TrainingConfig(lr=0.3, weight_decay=3e-3, steps=steps, seed=seed, device="cpu",
                               record_every=max(1, steps // 10) if steps else 1),
            )
        )  # fmt: skip
    return out


_STATS: dict[str, dict[str, list[float]]] = {}


def _time(key: str, executor, configs) -> float:
    """Wall seconds to run ``configs``; records per ``key`` the CPU seconds per run where it
    ran and the concurrency (seconds of training loop per second of wall time)."""
    t = time.perf_counter()
    results = executor.map(execute_run, configs)
    elapsed = time.perf_counter() - t
    stats = _STATS.setdefault(key, {"wall": [], "cpu": [], "busy": []})
    stats["wall"].append(elapsed)
    stats["cpu"].append(sum(r["cpu_time"] for r in results) / len(results))
    stats["busy"].append(sum(r["wall_time"] for r in results) / elapsed)
    return elapsed


def _judge(configs, results) -> float:
    t = time.perf_counter()
    for c, r in zip(configs, results, strict=True):
        snap = TrainedNetwork(training_run(c, r), nc1_tolerance=0.1)
        TRAINING_NC1.check(snap, seed=0, inputs={}, unmeasured="undecided", dtype="float64")
    return (time.perf_counter() - t) / len(configs)


def test_bench_executors(benchmark):
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        local, one, two = LocalExecutor(), RayExecutor(max_in_flight=1), RayExecutor()
        _time("warm", one, _configs(2, 10, salt=99))  # start the workers, import ncverify
        _time("warm", two, _configs(4, 10, salt=98))
        salt = 0
        trivial: list[float] = []

        def one_round():
            nonlocal salt
            salt += 1
            for key, ex in (("local", local), ("ray1", one), ("ray2", two)):
                _time(key, ex, _configs(RUNS, STEPS, salt))
            _time("o_local", local, _configs(OVERHEAD_RUNS, 0, salt))
            _time("o_ray", one, _configs(OVERHEAD_RUNS, 0, salt))
            t = time.perf_counter()
            one.map(abs, [-(salt + i / TRIVIAL) for i in range(TRIVIAL)])
            trivial.append((time.perf_counter() - t) / TRIVIAL)

        benchmark.group = "executors"
        benchmark.pedantic(one_round, rounds=ROUNDS, iterations=1, warmup_rounds=0)
        sample = _configs(4, STEPS, salt=97)
        results = local.map(execute_run, sample)
        _judge(sample[:1], results[:1])  # warm-up (sympy, mpmath)
        judge = _judge(sample, results)
        size = sum(len(pickle.dumps(r)) for r in results) / len(results)
    finally:
        ray.shutdown()
    best = {k: min(v["wall"]) for k, v in _STATS.items()}
    cpu = {k: min(v["cpu"]) for k, v in _STATS.items()}
    busy = {k: max(v["busy"]) for k, v in _STATS.items()}
    per_run = {k: best[k] / RUNS for k in ("local", "ray1", "ray2")}
    overhead = (best["o_ray"] - best["o_local"]) / OVERHEAD_RUNS
    task = min(trivial)
    fixed = best["o_local"] / OVERHEAD_RUNS
    per_step = (per_run["local"] - fixed) / STEPS
    break_even = 10 * max(overhead, task) / per_step  # overhead = 10 % of a run
    benchmark.extra_info.update(
        per_run_s=per_run, cpu_s=cpu, concurrency=busy, overhead_s=overhead, fixed_s=fixed,
        per_step_s=per_step, judge_s=judge, result_bytes=size, empty_task_s=task,
    )  # fmt: skip
    print(
        f"\nload average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; {RUNS} runs x "
        f"{STEPS} steps, best of {ROUNDS} rounds\n"
        f"throughput (runs/s): in process {1 / per_run['local']:.3f}, Ray 1 worker "
        f"{1 / per_run['ray1']:.3f}, Ray 2 workers {1 / per_run['ray2']:.3f}\n"
        f"ratios: Ray 1 worker / in process {per_run['local'] / per_run['ray1']:.3f}, "
        f"Ray 2 workers / in process {per_run['local'] / per_run['ray2']:.3f}, "
        f"2 workers / 1 worker {per_run['ray1'] / per_run['ray2']:.3f}\n"
        f"CPU s per run: in process {cpu['local']:.3f}, Ray 1 worker {cpu['ray1']:.3f}, "
        f"Ray 2 workers {cpu['ray2']:.3f}; concurrency: in process {busy['local']:.2f}, "
        f"Ray 1 worker {busy['ray1']:.2f}, Ray 2 workers {busy['ray2']:.2f}\n"
        f"per task: an empty Ray task {task * 1e3:.1f} ms; a 0-step run {fixed * 1e3:.1f} ms in "
        f"process, {overhead * 1e3:+.1f} ms more through Ray; a step {per_step * 1e6:.0f} us; "
        f"overhead (the larger) = 10 % of a run at {break_even:.0f} steps\n"
        f"on the driver per result: rebuild + measure + judge (jswm-4.4) {judge * 1e3:.0f} ms; "
        f"pickled result {size / 1e3:.0f} kB ({STEPS} steps, record every {STEPS // 10})"
    )
