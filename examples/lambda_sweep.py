"""A weight-decay sweep run through ``ncverify.exec``: in this process or on a Ray cluster.

Every run is a :class:`ncverify.exec.RunConfig` (data, network, hyper-parameters and all
seeds), executed by :func:`ncverify.exec.execute_run` wherever the executor sends it; results
are checkpointed per run in ``--store``, so an interrupted sweep started again with the same
store only runs what is missing. From the repository root::

    python -m examples.lambda_sweep                                # in this process
    python -m examples.lambda_sweep --backend ray                  # a new local Ray instance
    python -m examples.lambda_sweep --backend ray --address HOST:PORT --store runs/
    python -m examples.lambda_sweep --backend ray --address auto --verify 2

It prints one line per run (λ, seed, outcome, ε1(T), ε2(T) of the last linear pair, NC1 of the
penultimate layer, κ(W_L), the host that ran it) and the median of each over the seeds.
``--verify N`` re-runs the first N runs in this process and checks that every measured value is
bit-for-bit the one the executor returned. Exit status: 0 all runs complete (and verified),
1 a run missing, duplicated or different, 2 a configuration error.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from ncverify import NCVerifyError
from ncverify.exec import (
    PROVENANCE_KEYS,
    DataSpec,
    NetworkSpec,
    RunConfig,
    execute_run,
    get_executor,
)
from ncverify.train import TrainingConfig


def sweep_configs(weight_decays, seeds, steps: int) -> list[RunConfig]:
    """One run per (λ, seed): 4 Gaussian clusters of 6 points in R^16, a JSWM pyramidal
    network (widths 32-24, head 16-8-4, γ = 0.5), full-batch GD with η = 0.2."""
    configs = []
    for lam in weight_decays:
        for seed in seeds:
            data = DataSpec(
                "gaussian_clusters", seed=seed, num_classes=4, samples_per_class=6, input_dim=16
            )
            net = NetworkSpec(
                "pyramidal",
                input_dim=16,
                num_classes=4,
                seed=seed,
                widths=(32, 24),
                head_widths=(16, 8),
                gamma=0.5,
                num_samples=24,
            )
            training = TrainingConfig(
                lr=0.2,
                weight_decay=lam,
                steps=steps,
                seed=seed,
                device="cpu",
                record_every=max(1, steps // 10),
            )
            configs.append(RunConfig(data, net, training, tags=(("sweep", "lambda"),)))
    return configs


def _same(a, b) -> bool:
    import numpy as np

    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    if isinstance(a, float):
        return np.float64(a).tobytes() == np.float64(b).tobytes()
    return a == b


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", choices=("local", "ray"), default="local")
    p.add_argument("--address", default=None, help="Ray cluster (host:port, ray://..., auto)")
    p.add_argument("--store", default=None, help="checkpoint directory (one file per run)")
    p.add_argument("--weight-decays", type=float, nargs="+", default=[2e-3, 5e-3, 1e-2])
    p.add_argument("--seeds", type=int, default=4, help="seeds per weight decay")
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--verify", type=int, default=0, metavar="N")
    args = p.parse_args(argv)
    try:
        configs = sweep_configs(args.weight_decays, range(args.seeds), args.steps)
        options = {"address": args.address} if args.backend == "ray" else {}
        start = time.perf_counter()
        with get_executor(args.backend, **options) as ex:
            results = ex.map(execute_run, configs, store=args.store)
            where = ex.describe()
        elapsed = time.perf_counter() - start
    except NCVerifyError as exc:
        print(f"lambda_sweep: error: {exc}", file=sys.stderr)
        return 2
    ok = [r["key"] for r in results] == [c.key for c in configs]
    ok = ok and len({r["key"] for r in results}) == len(configs)
    print(f"{len(configs)} runs, {ex.executed} executed now, {elapsed:.1f} s; {where}")
    print(
        f"{'lambda':>8} {'seed':>4} {'outcome':>9} {'eps1':>10} {'eps2':>10} {'nc1':>10} "
        f"{'kappa_WL':>9}  host"
    )
    rows: dict[float, list[dict]] = {}
    for c, r in zip(configs, results, strict=True):
        f = r["final"]
        nan = float("nan")
        print(
            f"{c.training.weight_decay:8.0e} {c.training.seed:4d} {r['outcome']:>9} "
            f"{f.get('eps1', nan):10.3e} {f.get('eps2', nan):10.3e} "
            f"{f.get('nc1_penultimate', nan):10.3e} {f.get('kappa_WL', nan):9.3f}  {r['host']}"
        )
        rows.setdefault(c.training.weight_decay, []).append(f)
    for lam, finals in rows.items():
        med = {
            k: statistics.median(f.get(k, float("nan")) for f in finals)
            for k in ("eps1", "eps2", "nc1_penultimate", "kappa_WL")
        }
        print(
            f"median over {len(finals)} seeds at lambda={lam:g}: "
            + ", ".join(f"{k} {v:.3g}" for k, v in med.items())
        )
    for c, r in list(zip(configs, results, strict=True))[: args.verify]:
        local = execute_run(c)
        same = _same(
            {k: v for k, v in local.items() if k not in PROVENANCE_KEYS},
            {k: v for k, v in r.items() if k not in PROVENANCE_KEYS},
        )
        print(f"verify {c.key}: {'bit-for-bit identical' if same else 'DIFFERENT'} in process")
        ok = ok and same
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
