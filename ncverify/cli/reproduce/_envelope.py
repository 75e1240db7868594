r"""Full-batch runs of a :class:`~ncverify.nets.PyramidalMLP` with the balancedness envelope.

The sweeps' step size is piecewise constant (``η`` for the first ``⌊0.8 T⌋`` steps, then
``η/10``). :func:`fit_segments` trains by :func:`ncverify.train.train_many` (``R = 1``, bit for
bit the single loop of :func:`ncverify.train.train`) in consecutive segments of constant step
size, each starting from the weights where the previous one stopped, and chains the segments'
envelopes into the envelope of the whole trajectory with a step-dependent ``η_t``
(docs/training.md#envelope-schedule): on a segment starting at step ``d`` with
``c² = (1 − η'λ)²``, ``env(d + j) = env_seg(j) + c^{2j}(env(d) − ε2(d))`` and
``rnd(d + j) = rnd_seg(j) + c^{2j} rnd(d)``, where ``env_seg`` starts from the measured
``ε2(d)``. The first term is then exactly
``Π_{s<t} c_s² ε2(0) + Σ_{s<t} η_s² Π_{s<r<t} c_r² ‖M(s)‖_op``.

:func:`step_size_checks`: ``η_t·λ_max(∇²L_λ(θ_t))`` at the sampled steps, exact
(:func:`ncverify.train.exact_sharpness`) up to ``EXACT_MAX_PARAMS`` parameters, else the
power-iteration estimate (:func:`ncverify.train.sharpness`, a Rayleigh quotient: a lower
bound of ``λ_max``), which can only show that the hypothesis fails.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

__all__ = ["Envelope", "fit_segments", "step_size_checks"]


class Envelope:
    """The chained ``eps2_all``, ``envelope``, ``envelope_rounding`` arrays ``(T+1, P)``."""

    def __init__(self) -> None:
        self.eps2: list[np.ndarray] = []
        self.env: list[np.ndarray] = []
        self.rnd: list[np.ndarray] = []

    def add(self, eps2, env, rnd, c2: float) -> None:
        """Append a segment (its arrays start at the segment's first step)."""
        eps2, env, rnd = (np.asarray(a, dtype=np.float64) for a in (eps2, env, rnd))
        if not self.eps2:
            self.eps2, self.env, self.rnd = [eps2], [env], [rnd]
            return
        e_d, r_d = self.env[-1][-1], self.rnd[-1][-1]
        decay = np.cumprod(np.concatenate([[1.0], np.full(env.shape[0] - 1, c2)]))[:, None]
        self.eps2.append(eps2[1:])
        self.env.append((env + decay * (e_d - eps2[0]))[1:])
        self.rnd.append((rnd + decay * r_d)[1:])

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return tuple(np.concatenate(a) for a in (self.eps2, self.env, self.rnd))


def fit_segments(net, X, y, cfg, on_record, extra_bounds=()):
    """Full-batch GD of ``net`` (a PyramidalMLP, trained in place) by ``train_many`` segments
    split at the record steps, the step-size drop and ``extra_bounds``.

    Returns ``(max recursion residual, diverged step or None, Envelope, {step: weights})``
    with the weight matrices (its parameters, ``W_1, …, W_L``) at every segment boundary."""
    import torch

    from ...train import train_many

    t = cfg.train
    drop = int(t.lr_drop_at * t.steps)
    wanted = set(cfg.record_steps)
    bounds = sorted({0, drop, t.steps, *(s for s in (*wanted, *extra_bounds) if 0 <= s <= t.steps)})
    residual = math.nan
    env = Envelope()
    weights = {0: [w.detach().clone() for w in _trainable(net)]}
    for a, b in itertools.pairwise(bounds):
        if a in wanted:
            on_record(a)
        eta = t.lr_at(a)
        (run,) = train_many(
            X,
            y,
            widths=list(cfg.net.widths),
            head_widths=list(cfg.net.head_widths),
            num_classes=net.num_classes,
            seeds=[cfg.seed],
            lr=eta,
            weight_decay=t.weight_decay,
            steps=b - a,
            activation=cfg.net.activation,
            initial_weights=[[w.detach() for w in net.weights()]],
            record_every=max(1, b - a),
            envelope=True,
            final_metrics=False,
        )
        with torch.no_grad():
            for p, w in zip(net.weights(), run.network.weights(), strict=True):
                p.copy_(w)
        if run.diverged:
            return residual, a + run.diverged_step, env, weights
        tr = run.trajectory
        env.add(tr.eps2_all, tr.envelope, tr.envelope_rounding, (1.0 - eta * t.weight_decay) ** 2)
        weights[b] = [w.detach().clone() for w in _trainable(net)]
        if not math.isnan(run.max_recursion_residual):
            residual = max(run.max_recursion_residual, 0.0 if math.isnan(residual) else residual)
    if t.steps in wanted:
        on_record(t.steps)
    return residual, None, env, weights


def _trainable(net) -> list:
    return [p for p in net.parameters() if p.requires_grad]


def sampled_steps(T: int) -> tuple[int, ...]:
    """The steps where the step-size hypothesis is measured: ``0, T/2, T``."""
    return tuple(sorted({0, T // 2, T}))


def step_size_checks(cfg, X, y, weights) -> dict[str, Any]:
    """``η_t·λ_max(∇²L_λ(θ_t))`` at :func:`sampled_steps` (``weights``: step -> matrices).

    ``η_t`` is the step size of the step taken from ``θ_t`` (at ``T``: of the last step
    taken). Returns ``method`` (``"exact"`` or ``"power-iteration"``), ``num_params`` and one
    entry per step (``step``, ``eta``, ``sharpness``, ``eta_sharpness``)."""
    import torch

    from ...train import EXACT_MAX_PARAMS, exact_sharpness, sharpness

    t = cfg.train
    K = int(y.max()) + 1
    probe = cfg.net.build(
        input_dim=int(X.shape[1]), num_classes=K, seed=cfg.seed, dtype=t.dtype, device=t.device
    )
    P = sum(p.numel() for p in _trainable(probe))
    exact = P <= EXACT_MAX_PARAMS
    entries = []
    for s in sampled_steps(t.steps):
        if s not in weights:
            continue
        with torch.no_grad():
            for p, w in zip(_trainable(probe), weights[s], strict=True):
                p.copy_(w)
        if exact:
            value = exact_sharpness(probe, X, y, t.weight_decay)
        else:
            value = sharpness(probe, X, y, t.weight_decay, seed=cfg.seed).value
        eta = t.lr_at(max(0, min(s, t.steps - 1)))
        entries.append({"step": s, "eta": eta, "sharpness": value, "eta_sharpness": eta * value})
    return {
        "method": "exact" if exact else "power-iteration",
        "num_params": int(P),
        "steps": entries,
    }
