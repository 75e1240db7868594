"""Input validation shared by the metric functions (and reusable by other subsystems).

Every check raises :class:`ncverify.InvalidInput` whose message names the argument,
the offending value and the rule it breaks. Nothing here converts silently: labels
that are not ``0 .. K-1`` (for example ``{0, 2, 5}``) are rejected with the list
of missing classes instead of being used as positions.

Conventions (see the project brief): features ``Z`` are ``(N, p)`` tensors, one row
per sample; labels ``y`` are ``(N,)`` integer tensors with values in ``[0, K)``;
a classifier ``W`` is ``(K, p)`` (``nn.Linear.weight``), its bias ``b`` is ``(K,)``.
"""

from __future__ import annotations

import torch

from ..errors import InvalidInput

__all__ = [
    "check_classifier",
    "check_features",
    "check_labels",
    "check_matrix",
    "check_num_classes",
    "check_weight_pair",
    "computing_dtype",
    "validate_features_labels",
]

_FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
_INT_DTYPES = (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)
_MAX_LISTED = 10


def _listing(values: list[int]) -> str:
    """``[1, 3, 4]`` or ``[1, 3, ..., 99] (57 in all)`` for long lists."""
    if len(values) <= _MAX_LISTED:
        return str(values)
    head = ", ".join(str(v) for v in values[:_MAX_LISTED])
    return f"[{head}, ...] ({len(values)} in all)"


def _require_tensor(x, name: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise InvalidInput(
            f"{name} must be a torch.Tensor, got {type(x).__name__}; "
            f"convert it with torch.as_tensor(...)"
        )
    return x


def check_matrix(M, *, name: str = "M", finite: bool = True) -> torch.Tensor:
    """``M`` must be a 2-D floating tensor with at least one entry (and finite)."""
    M = _require_tensor(M, name)
    if M.ndim != 2:
        raise InvalidInput(f"{name} must be a 2-D matrix, got shape {tuple(M.shape)} ({M.ndim}-D)")
    if M.dtype not in _FLOAT_DTYPES:
        raise InvalidInput(
            f"{name} must have a real floating dtype (float16/bfloat16/float32/float64), "
            f"got {M.dtype}"
        )
    if M.shape[0] == 0 or M.shape[1] == 0:
        raise InvalidInput(f"{name} must be non-empty, got shape {tuple(M.shape)}")
    # fast path: a sum is finite iff no entry is NaN/inf (barring overflow, which the exact
    # check below then clears); one read pass, no (N, p) boolean temporary
    if finite and not bool(torch.isfinite(M.sum())) and not bool(torch.isfinite(M).all()):
        bad = int((~torch.isfinite(M)).sum())
        raise InvalidInput(f"{name} must be finite, but {bad} entries are NaN or infinite")
    return M


def check_features(Z, *, name: str = "Z") -> torch.Tensor:
    """Features: 2-D ``(N, p)`` floating tensor, finite, one row per sample."""
    return check_matrix(Z, name=name)


def check_num_classes(num_classes, *, name: str = "num_classes") -> int:
    """``K`` must be a Python/NumPy integer (not bool) with ``K >= 2``."""
    if isinstance(num_classes, bool) or not hasattr(num_classes, "__index__"):
        raise InvalidInput(f"{name} must be an integer, got {num_classes!r}")
    k = int(num_classes.__index__())
    if k < 2:
        raise InvalidInput(f"{name} must be at least 2 (collapse needs K >= 2 classes), got {k}")
    return k


def check_labels(
    y,
    *,
    num_samples: int | None = None,
    num_classes: int | None = None,
    require_all_present: bool = True,
    device: torch.device | None = None,
    name: str = "y",
) -> tuple[torch.Tensor, int]:
    """Validate labels and return ``(y, K)``.

    Rules: 1-D tensor of an integer dtype (bool and floats rejected); length equal
    to ``num_samples`` when given; values in ``[0, K)``. ``K`` is ``num_classes``
    when given, otherwise ``max(y) + 1``; either way ``K >= 2``. With
    ``require_all_present`` every class ``0 .. K-1`` must occur, and the error lists
    the missing ones (this is what catches non-contiguous labels such as
    ``{0, 2, 5}``: they are never treated as positions).
    """
    y = _require_tensor(y, name)
    if y.ndim != 1:
        raise InvalidInput(f"{name} must be 1-D of shape (N,), got shape {tuple(y.shape)}")
    if y.dtype not in _INT_DTYPES:
        raise InvalidInput(
            f"{name} must have an integer dtype (int8/16/32/64 or uint8), got {y.dtype}"
        )
    if num_samples is not None and y.shape[0] != num_samples:
        raise InvalidInput(
            f"{name} has {y.shape[0]} labels but the features have {num_samples} rows; "
            f"they must match (one label per sample)"
        )
    if y.shape[0] == 0:
        raise InvalidInput(f"{name} is empty; at least one labelled sample is needed")
    if device is not None and y.device != device:
        raise InvalidInput(
            f"{name} is on device {y.device} but the features are on {device}; "
            f"put them on the same device"
        )
    lo, hi = int(y.min()), int(y.max())
    if num_classes is None:
        k = check_num_classes(hi + 1, name="number of classes inferred from max(y)+1")
    else:
        k = check_num_classes(num_classes)
    if require_all_present and lo >= 0 and k > y.shape[0]:
        present = torch.unique(y).tolist()
        raise InvalidInput(
            f"K={k} classes cannot all be present in {name} with only {y.shape[0]} samples "
            f"(labels present: {_listing(present)}); every class 0..K-1 must be present. "
            f"If labels are not contiguous, remap them with torch.unique(y, return_inverse=True)"
        )
    if lo < 0 or hi >= k:
        bad = torch.unique(y[(y < 0) | (y >= k)]).tolist()
        raise InvalidInput(
            f"{name} has labels {_listing(bad)} outside [0, {k}); labels must be class "
            f"indices 0..K-1 with K={k} (remap arbitrary labels with torch.unique(..., "
            f"return_inverse=True))"
        )
    if require_all_present:
        counts = torch.bincount(y.to(torch.int64), minlength=k)
        missing = torch.nonzero(counts == 0).flatten().tolist()
        if missing:
            raise InvalidInput(
                f"classes {_listing(missing)} have no samples in {name} (K={k}); every class "
                f"0..K-1 must be present. If labels are not contiguous, remap them with "
                f"torch.unique(y, return_inverse=True) and reorder W's rows to match"
            )
    return y, k


def validate_features_labels(
    Z, y, *, num_classes: int | None = None, require_all_present: bool = True
) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Validate a ``(Z, y)`` pair; return ``(Z, y, K)``."""
    Z = check_features(Z)
    y, k = check_labels(
        y,
        num_samples=Z.shape[0],
        num_classes=num_classes,
        require_all_present=require_all_present,
        device=Z.device,
    )
    return Z, y, k


def check_classifier(W, b=None, *, num_classes: int, dim: int, device=None):
    """Classifier ``W`` of shape ``(K, p)`` and optional bias ``b`` of shape ``(K,)``."""
    W = check_matrix(W, name="W")
    if tuple(W.shape) != (num_classes, dim):
        raise InvalidInput(
            f"W must have shape (K, p) = ({num_classes}, {dim}) (one row per class, "
            f"one column per feature), got {tuple(W.shape)}"
        )
    if device is not None and W.device != device:
        raise InvalidInput(f"W is on device {W.device} but the features are on {device}")
    if b is not None:
        b = _require_tensor(b, "b")
        if tuple(b.shape) != (num_classes,):
            raise InvalidInput(f"b must have shape (K,) = ({num_classes},), got {tuple(b.shape)}")
        if b.dtype not in _FLOAT_DTYPES:
            raise InvalidInput(f"b must have a real floating dtype, got {b.dtype}")
        if not bool(torch.isfinite(b).all()):
            raise InvalidInput("b must be finite, but it has NaN or infinite entries")
        if device is not None and b.device != device:
            raise InvalidInput(f"b is on device {b.device} but the features are on {device}")
    return W, b


def check_weight_pair(W_lower, W_upper) -> tuple[torch.Tensor, torch.Tensor]:
    """``W_lower = W_ℓ ∈ R^{n_ℓ×n_{ℓ-1}}``, ``W_upper = W_{ℓ+1} ∈ R^{n_{ℓ+1}×n_ℓ}``."""
    W_lower = check_matrix(W_lower, name="W_lower")
    W_upper = check_matrix(W_upper, name="W_upper")
    if W_upper.shape[1] != W_lower.shape[0]:
        raise InvalidInput(
            f"W_upper has {W_upper.shape[1]} columns but W_lower has {W_lower.shape[0]} rows; "
            f"in math convention W_upper=W_(l+1) is (n_(l+1), n_l) and W_lower=W_l is "
            f"(n_l, n_(l-1)), so both must share n_l (did you pass them swapped?)"
        )
    if W_upper.device != W_lower.device:
        raise InvalidInput(f"W_lower is on {W_lower.device} but W_upper is on {W_upper.device}")
    return W_lower, W_upper


def computing_dtype(*tensors: torch.Tensor, dtype: torch.dtype | None = None) -> torch.dtype:
    """The dtype a metric computes in.

    ``dtype`` when given (must be float32 or float64); otherwise the promoted dtype of
    the inputs, with float16/bfloat16 raised to float32 (linear algebra needs at least
    single precision). Rank tolerances use ``torch.finfo`` of this dtype.
    """
    if dtype is not None:
        if dtype not in (torch.float32, torch.float64):
            raise InvalidInput(f"dtype must be torch.float32 or torch.float64, got {dtype}")
        return dtype
    out = tensors[0].dtype
    for t in tensors[1:]:
        out = torch.promote_types(out, t.dtype)
    if out in (torch.float16, torch.bfloat16):
        out = torch.float32
    return out
