"""Collapse metrics of features that arrive in chunks (two passes, O(pK + K²) memory).

Usage::

    acc = StreamingCollapse(num_classes=K, dim=p, W=W, b=b)
    for Z, y in loader():          # pass 1: counts, class means, within-class scatter,
        acc.update(Z, y)           #         NC3 cosine
    acc.second_pass()              # freezes the means, builds the K×K Gram factor
    for Z, y in loader():          # pass 2 (same data, any order or chunking):
        acc.update(Z, y)           #         Papyan NC1, NC4, exact tr Σ_W
    metrics = acc.result()         # CollapseMetrics, equal to collapse_metrics(...)

Pass 1 merges per-class means and sums of squared deviations with the pairwise
update of Chan, Golub & LeVeque (1979), which never forms ``E‖z‖² − ‖μ‖²``:
for a chunk with ``m`` samples of class ``c``, chunk mean ``x̄`` and scatter ``S``,
``n' = n + m``, ``δ = x̄ − μ``, ``μ' = μ + δ·m/n'``, ``M2' = M2 + S + ‖δ‖²·n·m/n'``.
After pass 1 alone, :meth:`StreamingCollapse.result` returns every metric except
``nc1_papyan`` / ``papyan_rank`` / ``nc4_ncc_agreement`` (``None``; they need the final
means). After a second pass ``tr Σ_W`` is recomputed exactly as ``Σ‖z − μ_y‖²``.

Memory held: means and Gram factor ``Q`` (``K × p`` and ``p × (K−1)``) plus ``O(K)``
scalars, i.e. ``O(pK + K²)``; transient memory is a few copies of the chunk.
Results agree with the in-memory functions to ~1e-12 relative in float64.
"""

from __future__ import annotations

import torch

from ..errors import InvalidInput
from ._collapse import CollapseMetrics, _assemble
from ._core import _centred, _papyan_factor
from ._passes import PassAccumulator
from ._validation import check_classifier, check_labels, check_matrix, check_num_classes

__all__ = ["StreamingCollapse"]


class StreamingCollapse:
    """Two-pass accumulator of collapse metrics over feature chunks.

    ``num_classes`` ``K ≥ 2``, ``dim`` ``p``; optional classifier ``W`` ``(K, p)`` and bias
    ``b`` ``(K,)`` enable NC3/NC4. Accumulation happens in ``dtype`` (float64 by
    default; chunks are cast) on ``device`` (default: the device of the first chunk).
    """

    def __init__(
        self,
        num_classes: int,
        dim: int,
        *,
        W=None,
        b=None,
        dtype: torch.dtype = torch.float64,
        device=None,
    ):
        self.num_classes = check_num_classes(num_classes)
        if isinstance(dim, bool) or not hasattr(dim, "__index__") or int(dim) < 1:
            raise InvalidInput(f"dim must be a positive integer, got {dim!r}")
        self.dim = int(dim)
        if dtype not in (torch.float32, torch.float64):
            raise InvalidInput(f"dtype must be torch.float32 or torch.float64, got {dtype}")
        self.dtype = dtype
        self.device = None if device is None else torch.device(device)
        if W is not None:
            W, b = check_classifier(W, b, num_classes=self.num_classes, dim=self.dim)
            W, b = W.detach(), None if b is None else b.detach()
        elif b is not None:
            raise InvalidInput("b was given without W; the bias belongs to a classifier W")
        self._W_in, self._b_in = W, b
        self._pass = 1
        self._started = False

    # ------------------------------------------------------------------ internals
    def _start(self, device: torch.device) -> None:
        k, p, dt = self.num_classes, self.dim, self.dtype
        self.device = device if self.device is None else self.device
        dev = self.device
        self._W = None if self._W_in is None else self._W_in.to(device=dev, dtype=dt)
        self._b = None if self._b_in is None else self._b_in.to(device=dev, dtype=dt)
        self._counts = torch.zeros(k, dtype=dt, device=dev)
        self._means = torch.zeros(k, p, dtype=dt, device=dev)
        self._m2 = torch.zeros(k, dtype=dt, device=dev)
        self._cos = torch.zeros((), dtype=dt, device=dev)
        self._started = True

    def _check_chunk(self, Z, y):
        """Validated, detached chunk in the accumulator's dtype; ``None`` for an empty chunk."""
        if isinstance(Z, torch.Tensor) and Z.ndim == 2 and Z.shape[0] == 0:
            if Z.shape[1] != self.dim:
                raise InvalidInput(
                    f"Z_chunk has {Z.shape[1]} columns but the accumulator was built with "
                    f"dim={self.dim}"
                )
            if not isinstance(y, torch.Tensor) or tuple(y.shape) != (0,):
                shape = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
                raise InvalidInput(
                    f"Z_chunk is empty (0 rows) but y_chunk has shape {shape}; an empty chunk "
                    "needs an empty label tensor of shape (0,)"
                )
            return None  # nothing to add: skipped
        Z = check_matrix(Z, name="Z_chunk").detach()
        if Z.shape[1] != self.dim:
            raise InvalidInput(
                f"Z_chunk has {Z.shape[1]} columns but the accumulator was built with "
                f"dim={self.dim}"
            )
        if not self._started:
            self._start(Z.device)
        y, _ = check_labels(
            y,
            num_samples=Z.shape[0],
            num_classes=self.num_classes,
            require_all_present=False,
            device=Z.device,
            name="y_chunk",
        )
        return Z.to(device=self.device, dtype=self.dtype), y.to(self.device, torch.int64)

    def _update_pass1(self, Z: torch.Tensor, y: torch.Tensor) -> None:
        k = self.num_classes
        m = torch.bincount(y, minlength=k).to(self.dtype)
        sums = torch.zeros_like(self._means).index_add_(0, y, Z)
        safe_m = torch.where(m > 0, m, 1.0)
        xbar = sums / safe_m[:, None]
        scatter = torch.zeros_like(self._m2).index_add_(0, y, (Z - xbar[y]).square().sum(1))
        n = self._counts
        n_new = n + m
        frac = torch.where(m > 0, m / torch.where(n_new > 0, n_new, 1.0), 0.0)
        delta = xbar - self._means
        self._means = self._means + delta * frac[:, None]
        self._m2 = self._m2 + scatter + delta.square().sum(1) * n * frac
        self._counts = n_new
        if self._W is not None:
            W = self._W
            num = (Z * W[y]).sum(1)
            den = torch.linalg.vector_norm(Z, dim=1) * torch.linalg.vector_norm(W, dim=1)[y]
            self._cos += torch.where(den > 0, num / torch.where(den > 0, den, 1), 0).sum()

    def _missing(self) -> list[int]:
        return torch.nonzero(self._counts == 0).flatten().tolist()

    # --------------------------------------------------------------------- public
    def update(self, Z_chunk, y_chunk) -> StreamingCollapse:
        """Add a chunk: ``Z_chunk`` ``(n, p)`` features and ``y_chunk`` ``(n,)`` labels.

        In pass 1 (before :meth:`second_pass`) it accumulates counts, means and scatter;
        in pass 2 the projections that need the final means. An empty chunk (0 rows, labels
        of shape ``(0,)``) is skipped. Tensors that require grad are read detached. Returns
        ``self``.
        """
        checked = self._check_chunk(Z_chunk, y_chunk)
        if checked is None:
            return self
        Z, y = checked
        if self._pass == 1:
            self._update_pass1(Z, y)
        else:
            self._counts2 += torch.bincount(y, minlength=self.num_classes).to(self.dtype)
            self._acc2.add(Z, y)
        return self

    def second_pass(self) -> StreamingCollapse:
        """End pass 1 and start pass 2 (feed the same samples again through :meth:`update`).

        Raises :class:`InvalidInput` if pass 1 saw no data or missed a class.
        """
        if self._pass == 2:
            raise InvalidInput("second_pass() was already called; at most two passes")
        self._require_complete()
        self._Q = _papyan_factor(_centred(self._means, self._counts))
        self._acc2 = PassAccumulator(
            self._means,
            need_means=False,
            need_cos=False,
            # float64 means merged by Chan-Golub-LeVeque are exact to rounding: no correction
            lo=torch.zeros_like(self._means) if self.dtype == torch.float64 else None,
            Q=self._Q,
            W=self._W,
            b=self._b,
            ncc_means=self._means if self._W is not None else None,
        )
        self._counts2 = torch.zeros_like(self._counts)
        self._pass = 2
        return self

    def _require_complete(self) -> None:
        if not self._started or float(self._counts.sum()) == 0:
            raise InvalidInput("no samples were added; call update(Z_chunk, y_chunk) first")
        missing = self._missing()
        if missing:
            raise InvalidInput(
                f"classes {missing} have no samples after pass 1 (K={self.num_classes}); "
                f"every class 0..K-1 must be present"
            )

    @property
    def num_samples(self) -> int:
        """Samples seen in pass 1."""
        return 0 if not self._started else int(self._counts.sum())

    def class_means(self) -> torch.Tensor:
        """``(K, p)`` class means from pass 1 (a copy)."""
        self._require_complete()
        return self._means.clone()

    def result(self) -> CollapseMetrics:
        """The :class:`CollapseMetrics` of all data seen.

        After pass 1 only, ``nc1_papyan``, ``papyan_rank`` and ``nc4_ncc_agreement`` are
        ``None``. After pass 2, the per-class counts of both passes must agree (the same
        data was fed twice), else :class:`InvalidInput`.
        """
        self._require_complete()
        n = int(self._counts.sum())
        W = self._W
        if self._pass == 1:
            ss, proj, rank, agree = self._m2, None, None, None
        else:
            if not torch.equal(self._counts2, self._counts):
                diff = torch.nonzero(self._counts2 != self._counts).flatten().tolist()
                raise InvalidInput(
                    f"pass 2 saw {int(self._counts2.sum())} samples but pass 1 saw {n}; "
                    f"per-class counts differ for classes {diff}. Feed exactly the same "
                    f"samples in both passes"
                )
            done = self._acc2.finish(self._counts.to(torch.float64))
            ss, proj, rank = done.ss, done.proj, self._Q.shape[1]
            agree = done.agree
        return _assemble(
            n=n,
            counts=self._counts,
            means=self._means,
            ss=ss,
            proj=proj,
            rank=rank,
            cos_sum=None if W is None else self._cos,
            agree=agree,
            W=W,
            dt=self.dtype,
        )
