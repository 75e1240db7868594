r"""Training runs of the JSWM training theorems, as data: :class:`RunConfig` -> result.

A :class:`RunConfig` is plain, frozen and picklable and carries every seed, so
:func:`train_configs` is a pure function of its configurations: the theorem tests draw the
configurations with hypothesis first, train them as batches (:func:`ncverify.train.train_many`
groups runs of one shape), then judge each result. An executor that distributes runs only
has to call :func:`train_configs` on subsets.

Initialisations (``RunConfig.init``):

* ``"standard"``: :class:`~ncverify.nets.PyramidalMLP`'s ``N(0, 1/fan_in)`` weights;
* ``"jswm-4.3"``: built so that the *measurable* form of JSWM Assumption 4.3 holds, in the
  most demanding reading of its constants (docs/training.md): the first layer maps the
  inputs to ``a·Q`` (``Q`` with orthonormal rows, so ``Z_1(0) = σ(aQ)`` is well conditioned;
  needs ``d ≥ N``), the second layer is scaled by ``b = 0.01`` (so ``Z_L(0) ≈ 0`` and
  ``C_0 ≈ ‖Y‖²``), and every layer ``ℓ ≥ 3`` is ``c`` times an orthogonal factor (all singular
  values ``c``); ``a = c`` grows by 5% steps until
  ``λ_F λ_{3→L} min(λ_F, min_{ℓ≥3} λ_ℓ) ≥ 1.1 · (8/γ)(2/γ)^{L/2} ‖Z_L(0) − Y‖_F``.
  The paper notes that Assumption 4.3 can be met by "scaling the second layer small and
  other layers large" (secondary source); this is such a scaling.

Step size (``RunConfig.lr``): a number, or ``("stability", f, λ_ref)``:
``η = f / λ_max(∇²L_{λ_ref}(θ_0))`` with the exact Hessian
(:func:`ncverify.train.exact_sharpness`), the same for every run that shares the
initialisation and ``λ_ref`` (a sweep over λ).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from ._snapshots import TrainedNetwork

__all__ = [
    "INIT_MARGIN",
    "RunConfig",
    "build_data",
    "build_initial_network",
    "init_condition_terms",
    "train_configs",
]

#: the constructed initialisation satisfies the measured Assumption 4.3 with this margin
INIT_MARGIN = 1.1


@dataclass(frozen=True)
class RunConfig:
    """One training run, as plain values (every seed included; picklable).

    Data: Gaussian clusters (:func:`ncverify.data.make_gaussian_clusters`) with ``data_seed``,
    ``num_classes``, ``samples_per_class``, ``input_dim``, ``cluster_std``. Network:
    :class:`~ncverify.nets.PyramidalMLP` with ``widths``, ``head_widths``, ``activation``
    (``"gamma_tanh"`` with ``gamma``, ``"relu"``, ``"tanh"``), weights from ``seed`` and
    ``init`` (module docstring). Training: ``lr`` (a number or ``("stability", f, λ_ref)``),
    ``weight_decay``, ``steps``; ``sample_steps``: steps whose weights are kept and where the
    exact sharpness is measured (``-1`` = the last step). ``tags``: free labels (the sweep a
    run belongs to, the role, the violated assumption).
    """

    data_seed: int
    num_classes: int
    samples_per_class: int
    input_dim: int
    widths: tuple[int, ...]
    head_widths: tuple[int, ...]
    seed: int
    lr: Any
    weight_decay: float
    steps: int
    activation: str = "gamma_tanh"
    gamma: float | None = 0.5
    init: str = "standard"
    cluster_std: float = 0.5
    record_every: int = 100
    sample_steps: tuple[int, ...] = (0, -1)
    tags: tuple[tuple[str, Any], ...] = field(default=())

    @property
    def num_samples(self) -> int:
        return self.num_classes * self.samples_per_class

    @property
    def tag(self) -> dict[str, Any]:
        return dict(self.tags)

    def with_tags(self, **tags) -> RunConfig:
        return replace(self, tags=tuple(sorted({**self.tag, **tags}.items())))

    def shape_key(self) -> tuple:
        """Runs with equal keys train together in one :func:`~ncverify.train.train_many` call."""
        return (
            self.num_classes,
            self.samples_per_class,
            self.input_dim,
            self.widths,
            self.head_widths,
            self.activation,
            self.gamma,
            self.steps,
            self.record_every,
            self.sampled(),
        )

    def sampled(self) -> tuple[int, ...]:
        return tuple(
            sorted({self.steps if s < 0 else min(s, self.steps) for s in self.sample_steps})
        )

    def inputs(self) -> dict[str, Any]:
        """JSON-safe reproduction inputs."""
        out = asdict(self)
        out["tags"] = dict(self.tags)
        return out


def build_data(cfg: RunConfig):
    """The run's :class:`~ncverify.data.Dataset` (rebuilt exactly from ``data_seed``)."""
    from ...data import make_gaussian_clusters

    return make_gaussian_clusters(
        seed=cfg.data_seed,
        num_classes=cfg.num_classes,
        samples_per_class=cfg.samples_per_class,
        input_dim=cfg.input_dim,
        cluster_std=cfg.cluster_std,
    )


def _activation(cfg: RunConfig):
    from ...nets import make_activation

    return make_activation(cfg.activation, cfg.gamma if cfg.activation == "gamma_tanh" else None)


def init_condition_terms(weights, X, activation) -> dict[str, float]:
    r"""The measurable terms of JSWM Assumption 4.3 at ``θ_0`` (spec §5; docs/training.md).

    ``lambda_F = s_min(Z_1(0))`` (``Z_1 = σ(XW_1ᵀ)``, ``N × n_1``), ``lambda_3L = Π_{ℓ≥3}
    s_min(W_ℓ(0))`` (``s_min`` of an ``n_ℓ × n_{ℓ−1}`` matrix: its ``min(n_ℓ, n_{ℓ−1})``-th
    singular value), ``lambda_low = min(λ_F, min_{ℓ≥3} s_min(W_ℓ))``, ``C0 = ‖Z_L(0) − Y‖_F²``
    (the un-normalised squared error: the largest of the normalisations in use; measured by
    the caller, which knows the network), ``L``. ``weights``: ``[W_1, …, W_L]``; ``Z_1 =
    activation(X W_1ᵀ)``.
    """
    import torch

    with torch.no_grad():
        Z1 = activation(X @ weights[0].T)
        lam_F = float(torch.linalg.svdvals(Z1)[-1])
        later = [float(torch.linalg.svdvals(W)[-1]) for W in weights[2:]]
    return {
        "lambda_F": lam_F,
        "lambda_3L": math.prod(later),
        "lambda_low": min([lam_F, *later]),
        "L": float(len(weights)),
    }


def _output_error(net, X, y, K) -> float:
    import torch

    Y = torch.nn.functional.one_hot(y, K).to(X.dtype)
    with torch.no_grad():
        return float(((net(X) - Y) ** 2).sum())


def _init_holds(net, X, y, gamma: float) -> tuple[bool, dict[str, float]]:
    t = init_condition_terms(net.weights(), X, net.activation)
    t["C0"] = _output_error(net, X, y, net.num_classes)
    rhs = (8.0 / gamma) * (2.0 / gamma) ** (t["L"] / 2) * math.sqrt(t["C0"])
    return t["lambda_F"] * t["lambda_3L"] * t["lambda_low"] >= INIT_MARGIN * rhs, t


def build_initial_network(cfg: RunConfig, data=None):
    """The run's :class:`~ncverify.nets.PyramidalMLP` at ``θ_0`` (float64, CPU)."""
    import torch

    from ...errors import InvalidInput
    from ...nets import PyramidalMLP

    data = build_data(cfg) if data is None else data
    net = PyramidalMLP(
        cfg.input_dim,
        cfg.widths,
        cfg.head_widths,
        cfg.num_classes,
        _activation(cfg),
        seed=cfg.seed,
    )
    if cfg.init == "standard":
        return net
    if cfg.init != "jswm-4.3":
        raise InvalidInput(f"init={cfg.init!r}; use 'standard' or 'jswm-4.3'")
    X = data.X
    N, n1 = X.shape[0], cfg.widths[0]
    if cfg.input_dim < N or n1 < N or len(net.weights()) < 3 or cfg.activation != "gamma_tanh":
        raise InvalidInput(
            "init='jswm-4.3' needs input_dim >= N, widths[0] >= N, at least 3 layers and a "
            f"gamma_tanh activation; got d={cfg.input_dim}, N={N}, widths={cfg.widths}, "
            f"head_widths={cfg.head_widths}, activation={cfg.activation!r}"
        )
    g = torch.Generator().manual_seed(cfg.seed + 7919)
    P = torch.linalg.qr(torch.randn(n1, N, generator=g, dtype=torch.float64))[0]  # n1 × N
    W = net.weights()
    base = [w.detach().clone() for w in W]
    polar = []
    for w in base[2:]:
        U, _, Vh = torch.linalg.svd(w, full_matrices=False)
        polar.append(U @ Vh)
    first = (torch.linalg.pinv(X) @ P.T).T  # X·firstᵀ = Pᵀ: orthonormal rows
    scale = 1.0
    for _ in range(200):
        with torch.no_grad():
            W[0].copy_(scale * first)
            W[1].copy_(0.01 * base[1])
            for w, q in zip(W[2:], polar, strict=True):
                w.copy_(scale * q)
        ok, _ = _init_holds(net, X, data.y, float(cfg.gamma))
        if ok:
            return net
        scale *= 1.05
    raise InvalidInput(f"could not scale the initialisation of {cfg} to satisfy Assumption 4.3")


def _network_from(cfg: RunConfig, weights):
    import torch

    from ...nets import PyramidalMLP

    net = PyramidalMLP(
        cfg.input_dim,
        cfg.widths,
        cfg.head_widths,
        cfg.num_classes,
        _activation(cfg),
        seed=0,
        device=weights[0].device,
    )
    with torch.no_grad():
        for p, w in zip(net.weights(), weights, strict=True):
            p.copy_(w)
    return net


def _step_size(cfg: RunConfig, net, data, cache: dict) -> tuple[float, float]:
    """``(η, λ_max(∇²L_0(θ_0)))`` (the data term's top Hessian eigenvalue at ``θ_0``)."""
    from ...train import exact_sharpness

    key = (cfg.data_seed, cfg.seed, cfg.init, cfg.shape_key())
    if key not in cache:
        cache[key] = exact_sharpness(net, data.X, data.y, 0.0)
    top0 = cache[key]
    if isinstance(cfg.lr, (int, float)):
        return float(cfg.lr), top0
    rule, f, lam_ref = cfg.lr
    if rule != "stability":
        from ...errors import InvalidInput

        raise InvalidInput(f"lr={cfg.lr!r}: a number or ('stability', f, lambda_ref)")
    return float(f) / (top0 + float(lam_ref)), top0


def train_configs(
    configs: Sequence[RunConfig], *, nc1_tolerance: float = 0.1, device: str = "cpu"
) -> list:
    """Train every configuration (batched by :meth:`RunConfig.shape_key`) and return one
    :class:`TrainedNetwork` per configuration, in order, on ``device`` (float64; the data and
    initial weights are built on the CPU from their seeds, so a device changes only rounding).

    Each result carries the run (a :class:`~ncverify.train.BatchedRun` with the weights of
    the sampled steps), ``sharpness_steps`` (step -> exact ``λ_max(∇²L_λ)``; NaN past a
    divergence) and ``inputs`` (the configuration and the step size used).
    """
    import torch

    from ...train import exact_sharpness, train_many

    results: list[Any] = [None] * len(configs)
    groups: dict[tuple, list[int]] = {}
    for i, cfg in enumerate(configs):
        groups.setdefault(cfg.shape_key(), []).append(i)
    cache: dict = {}
    for idx in groups.values():
        cfgs = [configs[i] for i in idx]
        datas = [build_data(c) for c in cfgs]
        nets = [build_initial_network(c, d) for c, d in zip(cfgs, datas, strict=True)]
        sizes = [_step_size(c, n, d, cache) for c, n, d in zip(cfgs, nets, datas, strict=True)]
        c0 = cfgs[0]
        many = train_many(
            torch.stack([d.X for d in datas]).to(device),
            torch.stack([d.y for d in datas]).to(device),
            widths=c0.widths,
            head_widths=c0.head_widths,
            num_classes=c0.num_classes,
            seeds=[c.seed for c in cfgs],
            lr=[s[0] for s in sizes],
            weight_decay=[c.weight_decay for c in cfgs],
            steps=c0.steps,
            activation=_activation(c0),
            initial_weights=[[w.detach() for w in n.weights()] for n in nets],
            record_every=c0.record_every,
            snapshot_steps=c0.sampled(),
            match_single=False,  # the checks need GD, not the single loop's exact bits
        )
        for i, cfg, run, (eta, top0) in zip(idx, cfgs, many, sizes, strict=True):
            sharp = {}
            for t in cfg.sampled():
                if t == 0:
                    sharp[0] = top0 + cfg.weight_decay  # ∇²(λ/2)‖θ‖² = λI
                elif t in run.snapshots:
                    net_t = _network_from(cfg, run.snapshots[t])
                    sharp[t] = exact_sharpness(net_t, run.X, run.y, cfg.weight_decay)
                else:
                    sharp[t] = math.nan
            inputs = {**cfg.inputs(), "lr_used": eta}
            results[i] = TrainedNetwork(
                run,
                nc1_tolerance=nc1_tolerance,
                architecture="PyramidalMLP",
                inputs=inputs,
                sharpness_steps=sharp,
                config=cfg,
            )
    return results
