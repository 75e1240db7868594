"""Run configurations: one training run as a picklable, self-describing value.

A :class:`RunConfig` holds everything one run needs -- the data (:class:`DataSpec`), the
network (:class:`NetSpec`), the training (:class:`TrainSpec`), the seed, what to record --
and nothing else, so any executor (this process, a process pool, later a cluster) can run
it with :func:`ncverify.cli.reproduce.execute` (config → result dict) and get the same
numbers. ``config.to_json()`` is what a run's result file records and what ``--resume``
compares.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ...errors import InvalidInput

__all__ = ["DATASETS", "NETWORKS", "DataSpec", "NetSpec", "RunConfig", "TrainSpec"]

#: data sets by name; ``npz`` (a file) and ``arrays`` (Python) are the user's own
DATASETS = ("digits", "clusters", "mnist")
_USER = ("npz", "arrays")
#: network families a run can build
NETWORKS = ("pyramidal", "residual", "dense")
_DTYPES = ("float64", "float32")
_DEFAULT_PER_CLASS = {"digits": 174, "clusters": 6000, "mnist": 500}


@dataclass(frozen=True)
class DataSpec:
    """Which data a run trains on, rebuilt identically in any process.

    ``name``: ``digits``, ``clusters``, ``mnist``, ``npz`` (``path``) or ``arrays``
    (``arrays = (X, y)`` NumPy arrays, carried by value). ``n_per_class``: samples per class
    (``None``: as many as a balanced set allows); ``num_classes``: classes (``clusters``: how
    many clusters; others: a seeded subset of the classes, ``None`` = all); ``cluster_dim``:
    dimension of ``clusters``; ``scale``: ``unit`` (rows scaled to unit norm) or ``none``
    (user data only); ``fingerprint``: SHA-256 prefix of the user's arrays (recorded, so that
    ``--resume`` notices a changed file).
    """

    name: str
    n_per_class: int | None
    seed: int = 0
    num_classes: int | None = None
    cluster_dim: int = 32
    path: str | None = None
    scale: str = "unit"
    fingerprint: str = ""
    arrays: Any = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.name not in (*DATASETS, *_USER):
            raise InvalidInput(
                f"unknown dataset {self.name!r}; choose one of {', '.join(DATASETS)} "
                "(or --data FILE.npz, or X, y arrays from Python)"
            )
        n = self.n_per_class
        if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 2):
            raise InvalidInput(
                f"n_per_class={n!r}; it must be an integer >= 2 "
                "(within-class variability needs two samples per class)"
            )
        if self.name == "npz" and not self.path:
            raise InvalidInput("dataset 'npz' needs a path to a .npz file with arrays X and y")
        if self.name == "arrays" and self.arrays is None:
            raise InvalidInput("dataset 'arrays' needs the arrays X, y")
        if self.scale != "unit" and self.name not in _USER:
            raise InvalidInput(
                f"scale={self.scale!r} applies to user data only; the bundled sets are unit-norm"
            )

    @property
    def label(self) -> str:
        """Short name for file names: the data set, or the npz file's stem."""
        if self.name == "npz":
            from pathlib import Path

            return Path(str(self.path)).stem
        return self.name

    def load(self, *, dtype: str = "float64", device: str = "cpu"):
        """``(X, y)`` on ``device`` in ``dtype`` (``y`` int64), with its :class:`Dataset`."""
        import torch

        from ... import data as D

        n = self.n_per_class
        if self.name == "digits":
            ds = D.make_digits_subset(
                seed=self.seed,
                num_classes=self.num_classes or 10,
                samples_per_class=n or _DEFAULT_PER_CLASS["digits"],
            )
        elif self.name == "clusters":
            ds = D.make_gaussian_clusters(
                seed=self.seed,
                num_classes=self.num_classes or 10,
                samples_per_class=n or _DEFAULT_PER_CLASS["clusters"],
                input_dim=self.cluster_dim,
            )
        elif self.name == "mnist":
            ds = D.make_mnist_subset(
                seed=self.seed,
                num_classes=self.num_classes or 10,
                samples_per_class=n or _DEFAULT_PER_CLASS["mnist"],
            )
        elif self.name == "npz":
            ds = D.load_npz(
                self.path,
                samples_per_class=n,
                num_classes=self.num_classes,
                seed=self.seed,
                scale=self.scale,
            )
        else:
            X, y = self.arrays
            ds = D.make_dataset(
                X,
                y,
                samples_per_class=n,
                num_classes=self.num_classes,
                seed=self.seed,
                scale=self.scale,
            )
        X = ds.X.to(dtype=getattr(torch, dtype), device=device)
        return X, ds.y.to(device=device), ds

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "n_per_class": self.n_per_class,
            "seed": self.seed,
            "num_classes": self.num_classes,
            "cluster_dim": self.cluster_dim,
            "path": self.path,
            "scale": self.scale,
            "fingerprint": self.fingerprint,
        }


@dataclass(frozen=True)
class NetSpec:
    """The network of a run: ``kind`` (:data:`NETWORKS`), nonlinear ``widths``, hidden
    ``head_widths`` (the head has ``len(head_widths) + 1`` layers), ``activation`` name."""

    kind: str
    widths: tuple[int, ...]
    head_widths: tuple[int, ...]
    activation: str = "relu"

    def __post_init__(self) -> None:
        if self.kind not in NETWORKS:
            raise InvalidInput(f"network {self.kind!r}; choose one of {', '.join(NETWORKS)}")
        object.__setattr__(self, "widths", tuple(int(w) for w in self.widths))
        object.__setattr__(self, "head_widths", tuple(int(w) for w in self.head_widths))

    @property
    def head_depth(self) -> int:
        return len(self.head_widths) + 1

    def build(self, *, input_dim: int, num_classes: int, seed: int, dtype: str, device: str):
        import torch

        from ... import nets

        cls = {"pyramidal": nets.PyramidalMLP, "residual": nets.ResidualMLP}.get(
            self.kind, nets.DenseMLP
        )
        return cls(
            input_dim,
            list(self.widths),
            list(self.head_widths),
            num_classes,
            self.activation,
            seed=seed,
            dtype=getattr(torch, dtype),
            device=device,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "widths": list(self.widths),
            "head_widths": list(self.head_widths),
            "activation": self.activation,
        }


@dataclass(frozen=True)
class TrainSpec:
    """Gradient descent with weight decay on the spec's MSE loss (spec §1).

    ``lr`` for the first ``⌊lr_drop_at·steps⌋`` steps, then ``lr·lr_drop_factor``;
    ``batch_size=None``: full-batch GD (the theorems' setting, run by
    :func:`ncverify.train.train`); an integer: mini-batch SGD with that many samples per step,
    drawn without replacement within each epoch from a generator seeded with the run's seed.
    """

    lr: float
    weight_decay: float
    steps: int
    batch_size: int | None = None
    dtype: str = "float64"
    device: str = "cpu"
    lr_drop_at: float = 0.8
    lr_drop_factor: float = 0.1

    def __post_init__(self) -> None:
        for name in ("lr", "weight_decay"):
            v = getattr(self, name)
            ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            if not ok or v < 0 or (name == "lr" and v == 0):
                rule = "a positive finite number" if name == "lr" else "finite and >= 0"
                raise InvalidInput(f"{name}={v!r}; it must be {rule}")
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or self.steps < 1:
            raise InvalidInput(f"steps={self.steps!r}; it must be a positive integer")
        b = self.batch_size
        if b is not None and (isinstance(b, bool) or not isinstance(b, int) or b < 1):
            raise InvalidInput(
                f"batch_size={b!r}; it must be a positive integer (omit it for full batch)"
            )
        if self.dtype not in _DTYPES:
            raise InvalidInput(f"dtype={self.dtype!r}; choose one of {', '.join(_DTYPES)}")

    def lr_at(self, step: int) -> float:
        return (
            self.lr if step < int(self.lr_drop_at * self.steps) else self.lr * self.lr_drop_factor
        )

    def to_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class RunConfig:
    """One run: ``experiment`` and ``key`` (unique within it; the result file's stem), the
    ``seed`` of the network's initialisation (and of SGD's batches), ``data``, ``net``,
    ``train``; ``record_steps``: when to record trajectories; ``grams``: keep the class-mean
    Gram matrices of the head; ``evaluate``: theorem ids to judge on the run (``jswm-4.4``);
    ``labels``: the study's coordinates of the run (e.g. ``weight_decay``, ``head_depth``);
    ``role``: ``check`` (a run the theorems speak about) or ``robustness`` (deliberately
    outside their scope: recorded under ``<theorem id>/robustness``)."""

    experiment: str
    key: str
    seed: int
    data: DataSpec
    net: NetSpec
    train: TrainSpec
    record_steps: tuple[int, ...] = ()
    grams: bool = False
    evaluate: tuple[str, ...] = ()
    labels: tuple[tuple[str, Any], ...] = ()
    role: str = "check"

    def __post_init__(self) -> None:
        if self.role not in ("check", "robustness"):
            raise InvalidInput(f"role={self.role!r}; it must be 'check' or 'robustness'")
        if isinstance(self.labels, Mapping):
            object.__setattr__(self, "labels", tuple(self.labels.items()))
        object.__setattr__(self, "record_steps", tuple(int(t) for t in self.record_steps))
        if not self.key or "/" in self.key or self.key.startswith("."):
            raise InvalidInput(f"run key {self.key!r} must be a plain file name")

    @property
    def num_gpus(self) -> int:
        """GPUs a cluster scheduler reserves for this run (``ncverify.exec``)."""
        return 1 if str(self.train.device).startswith("cuda") else 0

    @property
    def label(self) -> dict[str, Any]:
        return dict(self.labels)

    def to_json(self) -> dict[str, Any]:
        return {
            "experiment": self.experiment,
            "key": self.key,
            "seed": self.seed,
            "data": self.data.to_json(),
            "net": self.net.to_json(),
            "train": self.train.to_json(),
            "record_steps": list(self.record_steps),
            "grams": self.grams,
            "evaluate": list(self.evaluate),
            "labels": dict(self.labels),
            # the default role is left out, so run files written before roles existed resume
            **({"role": self.role} if self.role != "check" else {}),
        }
