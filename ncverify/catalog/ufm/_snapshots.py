"""What the UFM theorems are measured on (pure data; no torch import).

* :class:`UFMRun`: one instance of a two-factor or deep linear UFM theorem with the outputs of
  its three routes — the exact reduced solution (sympy), the cvxpy certificate and a training
  run from a random start;
* :class:`MinorityRun`: one layer-peeled-model instance: SDP certificates over a sweep of the
  imbalance ratio ``R`` (and the ``R = ∞`` limit problem) and one training run;
* :class:`ReluRun`: one deep ReLU UFM instance: the exact DNC / complete-graph comparison and
  the two networks evaluated at their optimal scales.

A route that could not produce a result (solver failure, diverged training) leaves
``failure`` set; the theorem tests turn it into an *inconclusive* verdict.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["MinorityRun", "ReluRun", "UFMRun"]


@dataclass(frozen=True, eq=False)
class UFMRun:
    """A UFM instance with its three routes.

    ``problem``: ``"mse"``, ``"mse_bias"``, ``"ce"``, ``"imbalanced"`` or ``"deep"``;
    ``counts``: class sizes; ``lambdas``: ``(λ_H, λ_2, …, λ_W)`` (two entries for the
    two-factor models); ``width``: feature dimension ``p`` (every hidden layer for ``deep``);
    ``exact``: :class:`ncverify.ufm.ExactSolution`; ``certificate``: a
    :class:`ncverify.ufm.Certificate` (:class:`ncverify.ufm.DeepCertificate` for ``deep``);
    ``fit``: :class:`ncverify.ufm.UFMFit`; ``inputs``: how to rebuild the instance.
    """

    problem: str
    counts: tuple[int, ...]
    lambdas: tuple[float, ...]
    width: int
    exact: Any = None
    certificate: Any = None
    fit: Any = None
    failure: str | None = None
    inputs: Mapping[str, Any] = field(default_factory=dict)

    @property
    def seed(self) -> int | None:
        return self.inputs.get("seed")

    @property
    def K(self) -> int:
        return len(self.counts)


@dataclass(frozen=True, eq=False)
class MinorityRun:
    """A layer-peeled-model instance: ``certificates`` (one :class:`ncverify.ufm.LPMCertificate`
    per ratio in ``ratios``, ascending, the last one ``inf``) and ``fit`` (an
    :class:`ncverify.ufm.LPMFit` at ``R = n_A/n_B``) with its own certificate ``fit_certificate``.
    """

    K_A: int
    K_B: int
    E_W: float
    E_H: float
    ratios: tuple[float, ...]
    certificates: tuple[Any, ...] = ()
    fit: Any = None
    fit_certificate: Any = None
    width: int = 0
    failure: str | None = None
    inputs: Mapping[str, Any] = field(default_factory=dict)

    @property
    def seed(self) -> int | None:
        return self.inputs.get("seed")


@dataclass(frozen=True, eq=False)
class ReluRun:
    """A deep ReLU UFM instance: ``comparison`` (:class:`ncverify.ufm.ReluComparison`),
    ``structure`` (the exact complete-graph check) and the objectives of the two explicit
    networks at their optimal scales (``dnc_objective``, ``srg_objective``)."""

    r: int
    L: int
    n: int
    lambdas: tuple[float, ...]
    comparison: Any = None
    structure: Mapping[str, Any] = field(default_factory=dict)
    dnc_objective: float = float("nan")
    srg_objective: float = float("nan")
    failure: str | None = None
    inputs: Mapping[str, Any] = field(default_factory=dict)

    @property
    def seed(self) -> int | None:
        return self.inputs.get("seed")
