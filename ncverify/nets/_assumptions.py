"""JSWM's architecture assumptions (spec §5), measured on a network.

:func:`architecture_assumptions` reads what a network declares through the protocol of
:mod:`ncverify.nets._protocol` (``nonlinear_widths()``, ``activation_slope_range()``,
``num_head_layers``) and reports each assumption as held, violated or not checkable;
theorem checks turn the results into :class:`ncverify.spec.AssumptionOutcome` records
(:meth:`ArchitectureAssumption.to_outcome`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import InvalidArchitecture
from ..spec import AssumptionOutcome, AssumptionStatus
from ._protocol import ArchitectureInfo, _positive_int, check_architecture

__all__ = [
    "ARCHITECTURE_ASSUMPTIONS",
    "ArchitectureAssumption",
    "architecture_assumptions",
]

#: the keys of :func:`architecture_assumptions`, in order
ARCHITECTURE_ASSUMPTIONS = (
    "wide_first_layer",
    "non_increasing_widths",
    "activation_slope",
    "deep_linear_head",
)


@dataclass(frozen=True)
class ArchitectureAssumption:
    """One JSWM architecture assumption measured on a network.

    ``held`` is ``None`` when the network does not expose what the assumption needs.
    ``measured`` holds the values used; ``rule`` states the predicate with them.
    :meth:`to_outcome` makes the :class:`ncverify.spec.AssumptionOutcome` theorem checks record.
    """

    name: str
    source: str
    held: bool | None
    measured: dict = field(default_factory=dict)
    rule: str = ""

    def to_outcome(self):

        status = AssumptionStatus.NOT_CHECKABLE if self.held is None else AssumptionStatus.CHECKED
        measured = {k: float(v) for k, v in self.measured.items()}
        return AssumptionOutcome(self.name, status, self.held, measured, self.rule)


def architecture_assumptions(
    net, num_samples: int, *, info: ArchitectureInfo | None = None
) -> dict[str, ArchitectureAssumption]:
    r"""Measure JSWM's architecture assumptions (spec §5) for a network trained on ``N`` samples.

    Returns, keyed by name (each an :class:`ArchitectureAssumption`):

    - ``"wide_first_layer"`` (Assumption 4.1, first part): ``n_1 ≥ N``;
    - ``"non_increasing_widths"`` (Assumption 4.1, second part): ``n_2 ≥ n_3 ≥ … ≥ n_L``
      (over every layer after the first, head included; ``n_L = K``);
    - ``"activation_slope"`` (Assumption 4.2): ``σ' ∈ [γ, β]`` with ``γ > 0`` and ``β ≤ 1``;
    - ``"deep_linear_head"`` (JSWM §1 setting): ``L2 ≥ 2``.

    ``held`` is ``None`` (not checkable) when the network does not declare
    ``nonlinear_widths()`` (4.1) or ``activation_slope_range()`` (4.2). The network is first
    checked with :func:`check_architecture` unless ``info`` from that call is passed (needed
    when the network has neither an ``input_shape`` nor an ``input_dim`` attribute).
    """
    N = _positive_int(num_samples, "num_samples")
    if info is None:
        info = check_architecture(
            net, input_shape=_input_shape_of(net), num_classes=getattr(net, "num_classes", 0)
        )
    out: dict[str, ArchitectureAssumption] = {}
    widths = info.widths
    if widths is None:
        reason = "not checkable: the network does not declare nonlinear_widths()"
        out["wide_first_layer"] = ArchitectureAssumption(
            "wide_first_layer", "JSWM Assumption 4.1", None, {"N": N}, f"n_1 >= N; {reason}"
        )
        out["non_increasing_widths"] = ArchitectureAssumption(
            "non_increasing_widths", "JSWM Assumption 4.1", None, {}, f"n_2 >= ... >= n_L; {reason}"
        )
    else:
        n1 = widths[0]
        out["wide_first_layer"] = ArchitectureAssumption(
            "wide_first_layer",
            "JSWM Assumption 4.1",
            n1 >= N,
            {"n_1": n1, "N": N},
            f"n_1 = {n1} >= N = {N}",
        )
        rest = widths[1:]
        ups = [i + 2 for i in range(len(rest) - 1) if rest[i + 1] > rest[i]]
        measured = {f"n_{i + 2}": w for i, w in enumerate(rest)}
        chain = " >= ".join(str(w) for w in rest) if rest else "(no layers after the first)"
        rule = f"n_2 >= ... >= n_L: {chain}"
        if ups:
            rule += f" (increases after layer(s) {ups})"
        out["non_increasing_widths"] = ArchitectureAssumption(
            "non_increasing_widths", "JSWM Assumption 4.1", not ups, measured, rule
        )
    if info.slope_range is None:
        out["activation_slope"] = ArchitectureAssumption(
            "activation_slope",
            "JSWM Assumption 4.2",
            None,
            {},
            "sigma' in [gamma, 1], gamma > 0; not checkable: the network does not declare "
            "activation_slope_range()",
        )
    else:
        g, b = info.slope_range
        out["activation_slope"] = ArchitectureAssumption(
            "activation_slope",
            "JSWM Assumption 4.2",
            g > 0 and b <= 1,
            {"gamma": g, "beta": b},
            f"sigma' in [gamma, beta] = [{g:g}, {b:g}]: gamma > 0, beta <= 1",
        )
    L2 = info.num_head_layers
    out["deep_linear_head"] = ArchitectureAssumption(
        "deep_linear_head", "JSWM §1 (L2 >= 2)", L2 >= 2, {"L2": L2}, f"L2 = {L2} >= 2"
    )
    return out


def _input_shape_of(net) -> tuple[int, ...]:
    shape = getattr(net, "input_shape", None)
    if isinstance(shape, tuple) and shape:
        return shape
    d = getattr(net, "input_dim", None)
    if isinstance(d, int) and not isinstance(d, bool) and d > 0:
        return (d,)
    raise InvalidArchitecture(
        f"cannot tell the input shape of {type(net).__name__} (it has no input_shape tuple "
        "or input_dim attribute, which the protocol does not require); pass "
        "info=check_architecture(net, input_shape=..., num_classes=...)"
    )
