"""Configuration and results of a training run: :class:`TrainingConfig`, :class:`TrainingRun`,
:class:`Trajectory` (spec §1, §4, §5; ``docs/training.md``)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..errors import InvalidInput, TrainingDiverged

__all__ = [
    "DIVERGENCE_FACTOR",
    "TrainingConfig",
    "TrainingRun",
    "Trajectory",
    "resolve_device",
]

#: a data loss above this multiple of the initial regularised loss counts as divergence
DIVERGENCE_FACTOR = 1e4

_DTYPES = {"float64": torch.float64, "float32": torch.float32}


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``None``/``"auto"`` -> CUDA when available, else CPU; otherwise ``torch.device(device)``."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise InvalidInput(f"device={device!r} is not a torch device ({exc})") from None


def _finite_number(value, name: str, *, positive: bool = False, nonneg: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidInput(f"{name} must be a finite real number, got {value!r}")
    if positive and value <= 0:
        raise InvalidInput(f"{name} must be > 0, got {value!r}")
    if nonneg and value < 0:
        raise InvalidInput(f"{name} must be >= 0, got {value!r}")
    return float(value)


def _int(value, name: str, lo: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lo:
        raise InvalidInput(f"{name} must be an integer >= {lo}, got {value!r}")
    return int(value)


@dataclass(frozen=True)
class TrainingConfig:
    """Hyper-parameters of one run of :func:`train`.

    ``lr`` (η > 0), ``weight_decay`` (λ ≥ 0), ``steps`` (number of GD updates), ``seed``
    (recorded; the global torch RNG is seeded with it inside the run and restored after),
    ``device`` (``"auto"``: CUDA when available, else CPU), ``dtype`` (``"float64"`` or
    ``"float32"``, or the torch dtype), ``record_every`` (loss, ε1, ε2 of every head pair at steps
    ``0, k, 2k, …`` and the last), ``metrics_every`` (NC1/NC2 of every layer and NC3 of the
    penultimate layer every ``m`` steps and at the last; ``0``: last step only),
    ``divergence_factor`` (see :data:`DIVERGENCE_FACTOR`), ``momentum`` (heavy-ball momentum;
    ``0`` is plain GD -- anything else is a negative control that breaks the recursion).
    """

    lr: float
    weight_decay: float
    steps: int
    seed: int = 0
    device: str = "auto"
    dtype: str = "float64"
    record_every: int = 100
    metrics_every: int = 0
    divergence_factor: float = DIVERGENCE_FACTOR
    momentum: float = 0.0

    def __post_init__(self) -> None:
        _finite_number(self.lr, "lr", positive=True)
        _finite_number(self.weight_decay, "weight_decay", nonneg=True)
        _int(self.steps, "steps", 0)
        _int(self.seed, "seed", 0)
        _int(self.record_every, "record_every", 1)
        _int(self.metrics_every, "metrics_every", 0)
        f = _finite_number(self.divergence_factor, "divergence_factor", positive=True)
        if f <= 1:
            raise InvalidInput(f"divergence_factor must be > 1, got {f!r}")
        m = _finite_number(self.momentum, "momentum", nonneg=True)
        if m >= 1:
            raise InvalidInput(f"momentum must be in [0, 1), got {m!r}")
        names = {v: k for k, v in _DTYPES.items()}
        if isinstance(self.dtype, torch.dtype) and self.dtype in names:  # torch.float64 too
            object.__setattr__(self, "dtype", names[self.dtype])
        if not isinstance(self.dtype, str) or self.dtype not in _DTYPES:
            raise InvalidInput(
                f"dtype={self.dtype!r}; training runs use one of {', '.join(_DTYPES)} "
                "(float64 for theorem checks)"
            )
        resolve_device(self.device)

    @property
    def torch_dtype(self) -> torch.dtype:
        return _DTYPES[self.dtype]

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True, eq=False)
class Trajectory:
    """What a run recorded (numpy arrays, float64).

    ``data_loss`` ``(T+1,)``: ``(1/2N)‖Z_L − Y‖_F²`` at every step ``0..T`` (``T`` = last
    step reached). ``recursion_residual`` ``(T,)``: at step ``t`` the largest relative
    residual over the head pairs of the one-step recursion from ``t−1`` to ``t``
    (``‖D⁺ − (1−ηλ)²D − η²(G_{ℓ+1}ᵀG_{ℓ+1} − G_ℓG_ℓᵀ)‖_F / (‖W_{ℓ+1}‖_F² + ‖W_ℓ‖_F²)`` at ``t``).
    ``steps`` ``(R,)`` recorded steps, with ``loss`` (``L_λ``), ``eps1`` (``‖Z_L − Y‖_F``) and
    ``eps2`` ``(R, P)`` (``‖D_ℓ‖_op`` for each of the ``P = L2 − 1`` head pairs).
    ``metric_steps`` ``(M,)`` with ``nc1`` and ``nc2`` ``(M, len(layer_features))`` (trace
    ratio and ``κ(Z̄)`` of every layer) and ``nc3`` ``(M,)`` (JSWM cosine of ``Z_{L−1}`` to
    the rows of ``W_L``).
    """

    data_loss: np.ndarray
    recursion_residual: np.ndarray
    steps: np.ndarray
    loss: np.ndarray
    eps1: np.ndarray
    eps2: np.ndarray
    metric_steps: np.ndarray
    nc1: np.ndarray
    nc2: np.ndarray
    nc3: np.ndarray


@dataclass(frozen=True, eq=False)
class TrainingRun:
    """The result of :func:`train`.

    ``outcome``: ``"completed"`` or ``"diverged"`` (then ``diverged_step`` is the first step
    whose data loss was non-finite or above ``divergence_factor × L_λ(θ_0)`` and ``reason``
    says which). ``initial``: measured at ``θ_0`` (``loss``, ``lambda_F`` = the smallest
    singular value of the first layer's features ``Z_1(0)``, ``Z1_s1`` its largest,
    ``Z1_dim`` = ``max(N, n_1)``, ``eps2_max``; the ``Z_1`` entries are NaN when the network
    does not declare ``nonlinear_widths()``). ``final``:
    measured at the last step reached (``loss``, ``data_loss``, ``eps1``, ``eps2``
    (last pair), ``eps2_max``, ``grad_norm`` = ``‖∇L_λ‖``, ``param_norm``,
    ``grad_rel = ‖∇L_λ‖/(λ‖θ‖)``, ``kappa_WL``, ``kappa_A``, ``nc1_penultimate``, ...).
    ``max_recursion_residual``: the largest entry of ``trajectory.recursion_residual``.
    ``network`` is the trained network itself (trained in place), ``X``/``y`` the data on the
    run's device and dtype. ``wall_time`` in seconds. ``notes``: why a measurement is NaN or
    inf (e.g. ``"no GD step was taken: the recursion residual is NaN"``).
    """

    config: TrainingConfig
    outcome: str
    diverged_step: int | None
    reason: str
    initial: Mapping[str, float]
    final: Mapping[str, float]
    trajectory: Trajectory
    max_recursion_residual: float
    wall_time: float
    steps_done: int
    network: Any = field(default=None, repr=False)
    X: Any = field(default=None, repr=False)
    y: Any = field(default=None, repr=False)
    notes: tuple[str, ...] = ()

    @property
    def diverged(self) -> bool:
        return self.outcome == "diverged"

    def raise_if_diverged(self) -> TrainingRun:
        """Raise :class:`~ncverify.TrainingDiverged` (with ``step``) if the run diverged."""
        if self.diverged:
            raise TrainingDiverged(
                f"training diverged at step {self.diverged_step}: {self.reason} "
                f"(lr={self.config.lr}, weight_decay={self.config.weight_decay}, "
                f"seed={self.config.seed}); lower the learning rate below 2/sharpness or "
                "normalise the inputs",
                step=self.diverged_step,
            )
        return self

    def summary(self) -> dict[str, Any]:
        """JSON-safe summary: config, outcome, initial and final values, wall time."""
        return {
            "config": self.config.as_dict(),
            "outcome": self.outcome,
            "diverged_step": self.diverged_step,
            "reason": self.reason,
            "initial": dict(self.initial),
            "final": dict(self.final),
            "max_recursion_residual": self.max_recursion_residual,
            "wall_time": self.wall_time,
            "steps_done": self.steps_done,
            "notes": list(self.notes),
        }
