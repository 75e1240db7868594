"""Benchmarks of the training loop (pytest-benchmark; not part of CI).

Run:  pytest benchmarks/bench_train.py --benchmark-only -p no:cacheprovider -s

Default architecture of the spec's §5 calibration (K=4, n=10, d=16 unit-norm clusters,
widths 64-32, head 16-8-4, float64, CPU, one thread). Measured in the same run:

* ``bare``: a hand-written torch loop doing the same step (forward, data-term gradient by
  ``torch.autograd.grad``, ``p ← (1 − ηλ)p − ηg`` per parameter);
* ``train``: :func:`ncverify.train.train` (recursion check every step, loss every step,
  ε1/ε2 every 1000 steps);
* ``train-metrics``: the same with NC metrics of every layer every ``k = 100`` steps.

Targets (checked at the end of the benchmark): ``train / bare ≤ 1.2`` per step (the fixed cost of a
run -- architecture probe, initial and final measurements -- is measured with ``steps=0``
and subtracted), ``train-metrics / train ≤ 1.5`` (recording does not dominate).
Rounds are interleaved and the minimum kept, to damp noise from a shared machine.
"""

from __future__ import annotations

import time

import torch

from ncverify.nets import PyramidalMLP
from ncverify.train import train

STEPS = 1000
ROUNDS = 7
_TIMES: dict[str, float] = {}


def _setup():
    g = torch.Generator().manual_seed(0)
    centres = torch.randn(4, 16, generator=g, dtype=torch.float64)
    y = torch.arange(4).repeat_interleave(10)
    X = centres[y] + 0.3 * torch.randn(40, 16, generator=g, dtype=torch.float64)
    X = X / X.norm(dim=1, keepdim=True)
    return X, y


def _net():
    return PyramidalMLP(16, (64, 32), (16, 8), 4, "gamma_tanh", seed=1)


def _bare(X, y, steps, lr=0.3, lam=3e-3):
    net = _net()
    params = list(net.parameters())
    Y = torch.nn.functional.one_hot(y, 4).double()
    t = time.perf_counter()
    for _ in range(steps):
        loss = 0.5 / X.shape[0] * ((net(X) - Y) ** 2).sum()
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for p, g in zip(params, grads, strict=True):
                p.mul_(1 - lr * lam).add_(g, alpha=-lr)
    return time.perf_counter() - t


def _ours(X, y, steps, **kw):
    net = _net()
    t = time.perf_counter()
    train(net, X, y, lr=0.3, weight_decay=3e-3, steps=steps, device="cpu", **kw)
    return time.perf_counter() - t


def test_bench_training_step(benchmark):
    torch.set_num_threads(1)
    X, y = _setup()
    _bare(X, y, 50)
    _ours(X, y, 50)
    times = {"bare": [], "train": [], "train-metrics": [], "fixed": []}

    def one_round():
        times["bare"].append(_bare(X, y, STEPS))
        times["train"].append(_ours(X, y, STEPS, record_every=1000))
        times["train-metrics"].append(_ours(X, y, STEPS, record_every=100, metrics_every=100))
        times["fixed"].append(_ours(X, y, 0))

    benchmark.group = "training-step"
    benchmark.pedantic(one_round, rounds=ROUNDS, iterations=1, warmup_rounds=0)
    fixed = min(times["fixed"])
    for key in ("bare", "train", "train-metrics"):
        sub = 0.0 if key == "bare" else fixed
        _TIMES[key] = (min(times[key]) - sub) / STEPS
    _TIMES["fixed"] = fixed
    benchmark.extra_info.update({k: v * 1e6 for k, v in _TIMES.items()})
    _summary()  # in this test: pytest-benchmark's --benchmark-only skips non-benchmark tests


def _summary():
    ratio = _TIMES["train"] / _TIMES["bare"]
    rec = _TIMES["train-metrics"] / _TIMES["train"]
    print(
        f"\nper step: bare {_TIMES['bare'] * 1e6:.0f} us, train {_TIMES['train'] * 1e6:.0f} us "
        f"(ratio {ratio:.3f}), with metrics every 100 steps "
        f"{_TIMES['train-metrics'] * 1e6:.0f} us (ratio {rec:.3f}); fixed cost per run "
        f"{_TIMES['fixed'] * 1e3:.1f} ms"
    )
    assert ratio <= 1.2, f"training step costs {ratio:.3f}x the bare loop (target <= 1.2)"
    assert rec <= 1.5, f"recording metrics every 100 steps costs {rec:.3f}x (target <= 1.5)"
