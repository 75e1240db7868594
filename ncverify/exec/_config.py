"""Training runs as data: :class:`DataSpec`, :class:`NetworkSpec`, :class:`RunConfig`.

A :class:`RunConfig` is frozen, made of plain values (ints, floats, strings, tuples) and
picklable, and it carries every seed of the run: the data seed, the initialisation seed and the
training seed. Executing it (:func:`ncverify.exec.execute_run`) is therefore a pure function of
the configuration, wherever it runs. :func:`run_key` names a configuration by a hash of its
contents (the name of its checkpoint file).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

from ..errors import InvalidInput
from ..train import TrainingConfig
from ._keys import run_key

__all__ = ["DataSpec", "NetworkSpec", "RunConfig", "run_key"]

_DATA_BUILDERS = ("gaussian_clusters", "digits_subset", "for_shape")
_PYRAMIDAL = "pyramidal"


def _int(value, name: str, lo: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < lo:
        raise InvalidInput(f"{name} must be an int >= {lo}, got {value!r}")
    return value


def _widths(value, name: str) -> tuple[int, ...]:
    if not isinstance(value, tuple) or not all(
        isinstance(w, int) and not isinstance(w, bool) and w >= 1 for w in value
    ):
        raise InvalidInput(f"{name} must be a tuple of positive ints, got {value!r}")
    return value


@dataclass(frozen=True)
class DataSpec:
    """A data set named by its builder, its arguments and its seed (rebuilt bit for bit).

    ``builder`` is ``"gaussian_clusters"`` (:func:`ncverify.data.make_gaussian_clusters`, needs
    ``input_dim``), ``"digits_subset"`` (:func:`ncverify.data.make_digits_subset`; ``d = 64``)
    or ``"for_shape"`` (:func:`ncverify.data.make_dataset_for_shape`, needs ``input_shape``:
    the data set a plug-in whose factory declares that input shape is trained on).
    """

    builder: str
    seed: int
    num_classes: int
    samples_per_class: int
    input_dim: int | None = None
    cluster_std: float = 0.5
    input_shape: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.builder not in _DATA_BUILDERS:
            raise InvalidInput(
                f"DataSpec.builder={self.builder!r}; use one of {', '.join(_DATA_BUILDERS)}"
            )
        _int(self.seed, "DataSpec.seed", 0)
        _int(self.num_classes, "DataSpec.num_classes", 2)
        _int(self.samples_per_class, "DataSpec.samples_per_class", 1)
        if self.builder == "gaussian_clusters":
            _int(self.input_dim, "DataSpec.input_dim (gaussian_clusters)", 1)
        if self.builder == "for_shape":
            _widths(self.input_shape, "DataSpec.input_shape (for_shape)")
            if not self.input_shape:
                raise InvalidInput("DataSpec(builder='for_shape') needs a non-empty input_shape")
        c = self.cluster_std
        if isinstance(c, bool) or not isinstance(c, (int, float)) or not math.isfinite(c) or c < 0:
            raise InvalidInput(f"DataSpec.cluster_std must be a finite number >= 0, got {c!r}")

    @property
    def num_samples(self) -> int:
        return self.num_classes * self.samples_per_class

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """The shape of one sample: ``input_shape``, ``(input_dim,)`` or ``(64,)`` (digits)."""
        if self.builder == "for_shape":
            return tuple(self.input_shape)
        return (self.input_dim or 64,)

    def build(self):
        """The :class:`~ncverify.data.Dataset` (float64, CPU, unit-norm rows)."""
        from ..data import make_dataset_for_shape, make_digits_subset, make_gaussian_clusters

        if self.builder == "for_shape":
            return make_dataset_for_shape(
                tuple(self.input_shape),
                seed=self.seed,
                num_classes=self.num_classes,
                samples_per_class=self.samples_per_class,
            )
        if self.builder == "digits_subset":
            return make_digits_subset(
                seed=self.seed,
                num_classes=self.num_classes,
                samples_per_class=self.samples_per_class,
            )
        return make_gaussian_clusters(
            seed=self.seed,
            num_classes=self.num_classes,
            samples_per_class=self.samples_per_class,
            input_dim=self.input_dim,
            cluster_std=self.cluster_std,
        )


@dataclass(frozen=True)
class NetworkSpec:
    """A network named by plain values and its initialisation seed.

    ``kind="pyramidal"``: :class:`~ncverify.nets.PyramidalMLP` with ``widths`` (the nonlinear
    layers ``n_1..n_{L1}``), ``head_widths`` (the head's hidden widths), ``activation`` and
    ``gamma`` (``"gamma_tanh"`` only). Any other ``kind`` is an architecture name for
    :func:`ncverify.load_architecture` (``"module:factory"`` or an entry point), called with
    ``input_shape`` (default ``(input_dim,)``; ``input_dim`` is then the number of entries of a
    sample), ``num_classes`` and ``num_samples``; its module must be importable where the run
    executes. ``seed`` seeds the initial weights.
    """

    kind: str
    input_dim: int
    num_classes: int
    seed: int
    widths: tuple[int, ...] = ()
    head_widths: tuple[int, ...] = ()
    activation: str = "gamma_tanh"
    gamma: float | None = None
    num_samples: int | None = None
    input_shape: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.kind, str) or not self.kind:
            raise InvalidInput(f"NetworkSpec.kind must be a non-empty string, got {self.kind!r}")
        _int(self.input_dim, "NetworkSpec.input_dim", 1)
        _int(self.num_classes, "NetworkSpec.num_classes", 2)
        _int(self.seed, "NetworkSpec.seed", 0)
        if self.kind == _PYRAMIDAL:
            if not _widths(self.widths, "NetworkSpec.widths"):
                raise InvalidInput("a pyramidal NetworkSpec needs at least one nonlinear width")
            _widths(self.head_widths, "NetworkSpec.head_widths")
        elif self.num_samples is None:
            raise InvalidInput(
                f"NetworkSpec(kind={self.kind!r}) is a plug-in architecture: give num_samples "
                "(its factory is called with input_shape, num_classes and num_samples)"
            )
        if self.input_shape is not None:
            if self.kind == _PYRAMIDAL or not _widths(self.input_shape, "NetworkSpec.input_shape"):
                raise InvalidInput(
                    f"NetworkSpec.input_shape={self.input_shape!r}: a non-empty shape, for "
                    "plug-in architectures only"
                )
            if math.prod(self.input_shape) != self.input_dim:
                raise InvalidInput(
                    f"NetworkSpec.input_shape={self.input_shape} has {math.prod(self.input_shape)} "
                    f"entries, input_dim={self.input_dim}"
                )

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """The shape of one input sample: ``input_shape``, else ``(input_dim,)``."""
        return tuple(self.input_shape) if self.input_shape else (self.input_dim,)

    @classmethod
    def pyramidal(cls, arch) -> NetworkSpec:
        """From an :class:`ncverify.strategies.ArchitectureSpec` (or anything with its fields)."""
        return cls(
            kind=_PYRAMIDAL,
            input_dim=arch.input_dim,
            num_classes=arch.num_classes,
            seed=arch.seed,
            widths=tuple(arch.widths),
            head_widths=tuple(arch.head_widths),
            activation=arch.activation,
            gamma=arch.gamma,
            num_samples=arch.num_samples,
        )

    def build(self, *, dtype=None, device=None):
        """The network at initialisation (float64 unless ``dtype`` is given)."""
        import torch

        dtype = torch.float64 if dtype is None else dtype
        if self.kind == _PYRAMIDAL:
            from ..nets import PyramidalMLP, make_activation

            return PyramidalMLP(
                self.input_dim,
                self.widths,
                self.head_widths,
                self.num_classes,
                make_activation(self.activation, self.gamma),
                seed=self.seed,
                dtype=dtype,
                device=device,
            )
        from ..nets import load_architecture

        return load_architecture(self.kind).build(
            input_shape=self.sample_shape,
            num_classes=self.num_classes,
            num_samples=self.num_samples,
            seed=self.seed,
            dtype=dtype,
            device=device,
        )


@dataclass(frozen=True)
class RunConfig:
    """One training run: data, network, hyper-parameters (with the training seed, dtype and
    device, :class:`ncverify.train.TrainingConfig`) and what else to measure on the worker.

    ``sharpness``: also estimate ``λ_max(∇²L_λ)`` at the end (power iteration seeded with
    ``sharpness_seed``, default the training seed). ``threads``: torch intra-op threads used by
    the run (reductions, hence the last bits, depend on it; the default 1 makes a run's bits
    independent of the machine that executes it). ``tags``: free ``(name, value)`` labels
    (which test or sweep the run belongs to); they are part of the run's identity.
    """

    data: DataSpec
    network: NetworkSpec
    training: TrainingConfig
    sharpness: bool = False
    sharpness_seed: int | None = None
    threads: int = 1
    tags: tuple[tuple[str, Any], ...] = field(default=())

    def __post_init__(self) -> None:
        for name, kind in (
            ("data", DataSpec),
            ("network", NetworkSpec),
            ("training", TrainingConfig),
        ):
            if not isinstance(getattr(self, name), kind):
                raise InvalidInput(
                    f"RunConfig.{name} must be a {kind.__name__}, got "
                    f"{type(getattr(self, name)).__name__}"
                )
        if self.network.sample_shape != self.data.sample_shape:
            raise InvalidInput(
                f"the network's input shape {self.network.sample_shape} differs from the data's "
                f"{self.data.sample_shape}"
            )
        if self.network.num_classes != self.data.num_classes:
            raise InvalidInput(
                f"the network has num_classes={self.network.num_classes}, the data "
                f"{self.data.num_classes}"
            )
        if self.sharpness_seed is not None:
            _int(self.sharpness_seed, "RunConfig.sharpness_seed", 0)
        _int(self.threads, "RunConfig.threads", 1)
        if not isinstance(self.tags, tuple) or not all(
            isinstance(t, tuple) and len(t) == 2 and isinstance(t[0], str) for t in self.tags
        ):
            raise InvalidInput(f"RunConfig.tags must be a tuple of (name, value), got {self.tags}")

    @property
    def key(self) -> str:
        """:func:`run_key` of this configuration."""
        return run_key(self)

    @property
    def num_gpus(self) -> int:
        """GPUs a scheduler must reserve for this run: 1 on a CUDA device, else 0."""
        return 1 if str(self.training.device).startswith("cuda") else 0

    def shape_key(self) -> tuple:
        """Runs with equal keys have networks of one shape (a batched trainer may group them)."""
        n = self.network
        return (n.kind, n.sample_shape, n.widths, n.head_widths, n.num_classes, n.activation,
                self.data.num_samples, self.training.steps, self.training.dtype,
                self.training.device)  # fmt: skip

    def inputs(self) -> dict[str, Any]:
        """JSON-safe description (for evaluations' ``inputs`` and reproduction)."""
        return _plain(self)


def _plain(obj: Any) -> Any:
    if is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _plain(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, (tuple, list)):
        return [_plain(x) for x in obj]
    return obj
