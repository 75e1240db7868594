r"""The network protocol, the JSWM network family and the architecture checks.

A network ncverify can check is a ``torch.nn.Module`` providing (docs/architectures.md):

- ``num_classes: int`` (K) and ``num_head_layers: int`` (L2 ≥ 1; JSWM assumes ≥ 2);
- ``forward(X) -> (N, K)`` for ``X`` of shape ``(N, *input_shape)``: ``(N, d)`` for vectors,
  ``(N, C, H, W)`` for images;
- ``layer_features(X) -> list[Tensor]``: per-layer features, each ``(N, width)``, whose
  last ``L2 + 1`` entries are ``[Z_{L1}, Z_{L1+1}, ..., Z_L]`` (the head's input, then every
  head layer's output; ``Z_L = forward(X)``);
- ``head_weights() -> list[Tensor]``: ``[W_{L1+1}, ..., W_L]`` in math convention
  (``nn.Linear.weight``), with ``Z_ℓ = Z_{ℓ-1} W_ℓᵀ`` exactly (no bias), the network's own
  parameters (not copies: training must follow them);
- optional ``activation_slope_range() -> (γ, β) | None`` and ``nonlinear_widths() -> list[int]``.

Shapes follow the project convention: features are ``(N, p)``, one row per sample (the
transpose of the spec's ``Z ∈ R^{p×N}``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from ..errors import InvalidArchitecture, InvalidInput

__all__ = [
    "FACTORY_SIGNATURE",
    "PROTOCOL_MEMBERS",
    "ArchitectureInfo",
    "check_architecture",
    "input_shape_of",
    "linearity_tolerance",
]

_PROBE_SAMPLES = 7
_PROBE_SEED = 8191

#: the network protocol, member -> required (docs/architectures.md shows exactly this table;
#: a test compares them). Optional members let JSWM's assumptions be measured.
PROTOCOL_MEMBERS = {
    "num_classes": True,
    "num_head_layers": True,
    "forward": True,
    "layer_features": True,
    "head_weights": True,
    "activation_slope_range": False,
    "nonlinear_widths": False,
}
#: how ncverify calls a plug-in's factory (``ncverify.nets.ArchitectureFactory.build``)
FACTORY_SIGNATURE = "factory(*, input_shape, num_classes, num_samples)"


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _int_tuple(values, name: str) -> tuple[int, ...]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise InvalidInput(f"{name} must be a sequence of positive integers, got {values!r}")
    return tuple(_positive_int(v, f"{name}[{i}]") for i, v in enumerate(values))


def input_shape_of(value, name: str = "input_shape") -> tuple[int, ...]:
    """``value`` as a non-empty tuple of positive ints (``(d,)``, ``(C, H, W)``, ...)."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or not value:
        raise InvalidInput(
            f"{name} must be a non-empty tuple of positive integers, the shape of one sample "
            f"((d,) for vectors, (C, H, W) for images), got {value!r}"
        )
    return _int_tuple(value, name)


@dataclass(frozen=True)
class ArchitectureInfo:
    """What :func:`check_architecture` established about a network.

    ``feature_widths``: widths of every entry of ``layer_features`` (in order).
    ``head_widths``: ``(n_{L1}, n_{L1+1}, ..., n_L)``, the head's input width then its outputs.
    ``head_shapes``: shapes of ``head_weights()`` (``(n_ℓ, n_{ℓ-1})``).
    ``nonlinear_widths``: ``(n_1, ..., n_{L1})`` or ``None`` when the network does not declare
    them; ``num_nonlinear_layers`` likewise. ``slope_range``: ``(γ, β)`` or ``None``.
    ``head_bias``: whether a head layer is affine rather than linear (only possible with
    ``require_bias_free_head=False``). ``max_head_residual``: the largest relative
    ``‖Z_ℓ − Z_{ℓ-1}W_ℓᵀ‖_F / (‖Z_{ℓ-1}‖_F ‖W_ℓ‖_F)`` seen on the probe.
    ``input_shape``: the shape of one sample the network was probed with.
    """

    input_shape: tuple[int, ...]
    num_classes: int
    num_head_layers: int
    num_nonlinear_layers: int | None
    nonlinear_widths: tuple[int, ...] | None
    feature_widths: tuple[int, ...]
    head_widths: tuple[int, ...]
    head_shapes: tuple[tuple[int, int], ...]
    slope_range: tuple[float, float] | None
    head_bias: bool
    max_head_residual: float
    dtype: str
    device: str
    class_name: str = ""

    @property
    def input_dim(self) -> int | None:
        """``d`` for vector inputs ``(d,)``; ``None`` for other shapes (images)."""
        return self.input_shape[0] if len(self.input_shape) == 1 else None

    @property
    def depth(self) -> int | None:
        """``L = L1 + L2`` (``None`` when ``L1`` is unknown)."""
        if self.num_nonlinear_layers is None:
            return None
        return self.num_nonlinear_layers + self.num_head_layers

    @property
    def widths(self) -> tuple[int, ...] | None:
        """``(n_1, ..., n_L)`` or ``None`` when the nonlinear widths are unknown."""
        if self.nonlinear_widths is None:
            return None
        return (*self.nonlinear_widths, *self.head_widths[1:])


def _call(net, method: str, *args):
    try:
        return getattr(net, method)(*args)
    except InvalidArchitecture:
        raise
    except Exception as exc:  # any failure of user code is an architecture problem
        raise InvalidArchitecture(
            f"{type(net).__name__}.{method}() raised {type(exc).__name__}: {exc}"
        ) from exc


def _net_dtype_device(net: nn.Module) -> tuple[torch.dtype, torch.device]:
    for p in net.parameters():
        if p.is_floating_point():
            return p.dtype, p.device
    return torch.get_default_dtype(), torch.device("cpu")


def linearity_tolerance(dtype: torch.dtype, device: torch.device | str = "cpu") -> float:
    """Relative tolerance of the head-linearity probe of :func:`check_architecture`.

    ``10³·eps(dtype)`` (2.2e-13 in float64, 1.2e-4 in float32); 1e-2 for float32 on CUDA when
    TF32 matrix products are enabled (10-bit mantissa); 5e-2 for float16/bfloat16.
    """
    if dtype in (torch.float16, torch.bfloat16):
        return 5e-2
    tol = 1e3 * torch.finfo(dtype).eps
    if (
        dtype == torch.float32
        and torch.device(device).type == "cuda"
        and (
            torch.backends.cuda.matmul.allow_tf32
            or torch.get_float32_matmul_precision() != "highest"
        )
    ):
        tol = max(tol, 1e-2)
    return tol


def check_architecture(
    net,
    *,
    input_shape,
    num_classes: int,
    require_bias_free_head: bool = True,
) -> ArchitectureInfo:
    r"""Check that ``net`` satisfies the network protocol; return what was found.

    Probes the network on a fixed random input of ``7`` samples of shape ``input_shape``
    (``(d,)`` for vectors, ``(C, H, W)`` for images; drawn from a seeded CPU generator, then
    moved to the network's dtype and device) without gradients and checks:
    the protocol's attributes and methods exist; ``forward`` gives ``(7, K)``;
    ``layer_features`` ends with ``forward(X)`` and has at least ``L2 + 1`` entries;
    ``head_weights`` has ``L2`` matrices chained by shape, each one of the network's own
    parameters (a copy would not follow training); every head layer is linear,
    ``‖Z_ℓ − Z_{ℓ-1}W_ℓᵀ‖_F ≤ tol · ‖Z_{ℓ-1}‖_F ‖W_ℓ‖_F`` with ``tol`` from
    :func:`linearity_tolerance` (``10³·eps(dtype)``)
    (an affine layer, i.e. a residual equal on every row, is a bias: allowed only with
    ``require_bias_free_head=False``); declared nonlinear widths and slope range are
    consistent. Raises :class:`InvalidArchitecture` naming the failed rule and the values.
    """
    input_shape = input_shape_of(input_shape)
    num_classes = _positive_int(num_classes, "num_classes")
    if not isinstance(net, nn.Module):
        raise InvalidArchitecture(f"a network must be a torch.nn.Module, got {type(net).__name__}")
    name = type(net).__name__
    required = [m for m, needed in PROTOCOL_MEMBERS.items() if needed]
    methods = ("forward", "layer_features", "head_weights")
    missing = [m for m in required if m in methods and not callable(getattr(net, m, None))]
    missing += [a for a in required if a not in methods and not hasattr(net, a)]
    if missing:
        raise InvalidArchitecture(
            f"{name} does not implement the ncverify network protocol: missing "
            f"{', '.join(missing)} (see docs/architectures.md)"
        )
    K, L2 = net.num_classes, net.num_head_layers
    for attr, value in (("num_classes", K), ("num_head_layers", L2)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidArchitecture(f"{name}.{attr} must be an int, got {value!r}")
    if L2 < 1:
        raise InvalidArchitecture(
            f"{name} has no linear head: num_head_layers={L2}; the protocol needs at least one "
            "bias-free linear layer at the end (JSWM assumes L2 >= 2)"
        )
    if K != num_classes:
        raise InvalidArchitecture(
            f"{name}.num_classes={K} but the data has num_classes={num_classes}"
        )

    dtype, device = _net_dtype_device(net)
    gen = torch.Generator(device="cpu").manual_seed(_PROBE_SEED)
    X = torch.randn(_PROBE_SAMPLES, *input_shape, generator=gen, dtype=torch.float64)
    X = X.to(dtype=dtype, device=device)
    with torch.no_grad():
        out = _call(net, "forward", X)
        if not isinstance(out, torch.Tensor) or tuple(out.shape) != (_PROBE_SAMPLES, K):
            shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise InvalidArchitecture(
                f"{name}.forward on X of shape {tuple(X.shape)} returned {shape}; "
                f"expected ({_PROBE_SAMPLES}, {K}) (one column per class, num_classes={K})"
            )
        feats = _call(net, "layer_features", X)
        Ws = _call(net, "head_weights")
    if not isinstance(feats, (list, tuple)) or not all(isinstance(f, torch.Tensor) for f in feats):
        raise InvalidArchitecture(f"{name}.layer_features must return a list of tensors")
    bad = [i for i, f in enumerate(feats) if f.ndim != 2 or f.shape[0] != _PROBE_SAMPLES]
    if bad:
        shapes = [tuple(feats[i].shape) for i in bad]
        raise InvalidArchitecture(
            f"{name}.layer_features entries {bad} have shapes {shapes}; each must be "
            f"(N, width) with N={_PROBE_SAMPLES} rows, one per sample"
        )
    if len(feats) < L2 + 1:
        raise InvalidArchitecture(
            f"{name}.layer_features returned {len(feats)} entries but num_head_layers={L2} "
            f"needs at least L2 + 1 = {L2 + 1} (the head's input and each head layer's output)"
        )
    tol = linearity_tolerance(dtype, device)
    scale = float(out.abs().max()) + 1.0
    if tuple(feats[-1].shape) != tuple(out.shape) or float((feats[-1] - out).abs().max()) > (
        tol * scale
    ):
        raise InvalidArchitecture(
            f"{name}.layer_features(X)[-1] must equal forward(X); got shape "
            f"{tuple(feats[-1].shape)} vs {tuple(out.shape)}"
        )
    if not isinstance(Ws, (list, tuple)) or not all(isinstance(W, torch.Tensor) for W in Ws):
        raise InvalidArchitecture(f"{name}.head_weights must return a list of tensors")
    if len(Ws) != L2:
        raise InvalidArchitecture(
            f"{name}.head_weights returned {len(Ws)} matrices but num_head_layers={L2}"
        )
    head_feats = feats[-(L2 + 1) :]
    head_bias = False
    max_residual = 0.0
    for i, (W, Zin, Zout) in enumerate(zip(Ws, head_feats[:-1], head_feats[1:], strict=True)):
        ell = f"head layer {i + 1} of {L2}"
        expected = (Zout.shape[1], Zin.shape[1])
        if tuple(W.shape) != expected:
            raise InvalidArchitecture(
                f"{name}: {ell} has weight shape {tuple(W.shape)} but its features need "
                f"(n_out, n_in) = {expected} (math convention, like nn.Linear.weight)"
            )
        W = W.detach().to(dtype=dtype, device=device)
        R = Zout - Zin @ W.T
        denom = float(torch.linalg.matrix_norm(Zin)) * float(torch.linalg.matrix_norm(W))
        rel = float(torch.linalg.matrix_norm(R)) / max(denom, torch.finfo(dtype).tiny)
        if not math.isfinite(rel):
            raise InvalidArchitecture(f"{name}: {ell} produced non-finite features on the probe")
        if rel <= tol:
            max_residual = max(max_residual, rel)
            continue
        centred = R - R.mean(dim=0, keepdim=True)
        affine = float(torch.linalg.matrix_norm(centred)) / max(denom, torch.finfo(dtype).tiny)
        if affine <= tol:
            if require_bias_free_head:
                raise InvalidArchitecture(
                    f"{name}: {ell} has a bias (Z_out - Z_in W^T is the same nonzero row for every "
                    f"sample, relative size {rel:.3g}); the check needs a bias-free linear head: "
                    "build the head with nn.Linear(..., bias=False)"
                )
            head_bias = True
            max_residual = max(max_residual, affine)
            continue
        raise InvalidArchitecture(
            f"{name}: {ell} is declared linear but is not: ‖Z_out − Z_in Wᵀ‖_F / "
            f"(‖Z_in‖_F ‖W‖_F) = {rel:.3g} > tol = {tol:.3g} on a random probe; the last "
            f"num_head_layers={L2} layers must be plain matrix products with the matrices "
            "returned by head_weights()"
        )

    params = list(net.parameters())
    copies = [i + 1 for i, W in enumerate(Ws) if not any(W is p for p in params)]
    if copies:
        raise InvalidArchitecture(
            f"{name}.head_weights() returned matrices {copies} (of {L2}) that are not the "
            "network's own parameters (copies such as .detach().clone(), transposes or "
            "computed matrices); training updates the parameters, so ncverify would follow "
            "stale copies: return the parameters themselves, e.g. [layer.weight for layer in "
            "self.head]"
        )

    nl_widths = None
    fn = getattr(net, "nonlinear_widths", None)
    if callable(fn):
        raw = _call(net, "nonlinear_widths")
        if raw is not None:
            try:
                nl_widths = _int_tuple(list(raw), f"{name}.nonlinear_widths()")
            except InvalidInput as exc:
                raise InvalidArchitecture(str(exc)) from None
            if not nl_widths:
                raise InvalidArchitecture(f"{name}.nonlinear_widths() is empty; L1 must be >= 1")
            if nl_widths[-1] != head_feats[0].shape[1]:
                raise InvalidArchitecture(
                    f"{name}.nonlinear_widths()[-1] = {nl_widths[-1]} but the head's input has "
                    f"width {head_feats[0].shape[1]}"
                )
            L1 = len(nl_widths)
            if len(feats) > L1 + L2:
                raise InvalidArchitecture(
                    f"{name}.layer_features returned {len(feats)} entries but L1 + L2 = "
                    f"{L1} + {L2} = {L1 + L2} layers are declared (nonlinear_widths() has "
                    f"{L1}); return at most one entry per layer, without X itself"
                )
            if len(feats) == L1 + L2:
                declared = (*nl_widths, *(f.shape[1] for f in head_feats[1:]))
                seen = tuple(f.shape[1] for f in feats)
                if declared != seen:
                    raise InvalidArchitecture(
                        f"{name}: declared widths {list(declared)} disagree with layer_features "
                        f"widths {list(seen)}"
                    )
    slope = None
    fn = getattr(net, "activation_slope_range", None)
    if callable(fn):
        raw = _call(net, "activation_slope_range")
        if raw is not None:
            try:
                g, b = (float(v) for v in raw)
            except (TypeError, ValueError):
                raise InvalidArchitecture(
                    f"{name}.activation_slope_range() must return (gamma, beta) or None, "
                    f"got {raw!r}"
                ) from None
            if not (math.isfinite(g) and math.isfinite(b) and g <= b):
                raise InvalidArchitecture(
                    f"{name}.activation_slope_range() = ({g}, {b}) is not a finite range "
                    "gamma <= beta"
                )
            slope = (g, b)

    return ArchitectureInfo(
        input_shape=input_shape,
        num_classes=K,
        num_head_layers=L2,
        num_nonlinear_layers=None if nl_widths is None else len(nl_widths),
        nonlinear_widths=nl_widths,
        feature_widths=tuple(int(f.shape[1]) for f in feats),
        head_widths=tuple(int(f.shape[1]) for f in head_feats),
        head_shapes=tuple((int(W.shape[0]), int(W.shape[1])) for W in Ws),
        slope_range=slope,
        head_bias=head_bias,
        max_head_residual=max_residual,
        dtype=str(dtype).removeprefix("torch."),
        device=str(device),
        class_name=name,
    )
