r"""The passes over the samples behind the collapse metrics, with compensated class sums.

Why compensation: near collapse the within-class spread ``σ`` is tiny next to the class
means, e.g. ``σ = 1e-6 ‖μ‖`` (a trained network's penultimate features). Summing the rows of
a class in float32 then leaves an error in ``μ_c`` of order ``√n_c · eps32 · ‖μ_c‖``, larger
than ``σ`` itself, and ``tr Σ_W`` computed around that wrong mean was off by up to 29× (and
NC1 with it). The float64 route is exact; float32 input must not be worse than its own
rounding. Two ingredients make every metric accurate whatever the input dtype:

* **float64 class sums** (:func:`class_sums`): the rows are converted chunk by chunk and
  summed in float64, then divided by the counts. Used where the means themselves are the
  result (``class_means``, ``tr Σ_B``, ``κ(Z̄)``, ...).
* **the corrected two-pass algorithm** (Chan, Golub & LeVeque, *Algorithms for computing the
  sample variance*, Amer. Statist. 37, 1983; Björck 1996 §2.4) where a chunked pass over the
  centred rows is needed anyway: the pass subtracts a *shift* ``m_c`` (provisional class
  means, or one sample of each class) and accumulates, besides ``Σ‖d_i‖²`` with
  ``d_i = z_i − m_{y_i}``, the per-class sums ``S_c = Σ_{y_i=c} d_i``. Then exactly
  ``μ_c = m_c + S_c/n_c`` and ``Σ_{y_i=c}‖z_i − μ_c‖² = Σ‖d_i‖² − ‖S_c‖²/n_c``; for the
  Papyan projection ``Σ‖Qᵀ(z_i − μ_c)‖² = Σ‖Qᵀd_i‖² − ‖Qᵀ S_c‖²/n_c`` (``QᵀS_c`` accumulated
  from the ``(n, r)`` projected rows, ``r ≤ K − 1``). ``d_i`` is small near collapse, so its
  sums lose nothing to the size of ``μ``; a correction larger than
  :data:`MAX_CORRECTION` of the raw sum (a poor shift: an outlier used as reference, class
  sums rounded far from the mean) triggers one more pass around the float64 means.

The per-sample squared norms and the scalar accumulators are summed in float64; the rows
themselves are processed in the computing dtype (one chunk of about 2²⁰ entries at a time).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = [
    "MAX_CORRECTION",
    "PassAccumulator",
    "WithinPass",
    "chunk_rows",
    "class_sums",
    "within_pass",
]

F64 = torch.float64
# rows per chunk: about 2**20 entries (8 MiB in float64; a chunk that stays in cache made the
# float64 pass ~1.6x faster than 2**22 on the 2-core machine)
_CHUNK_ENTRIES = 1 << 20
#: a pass is redone around the float64 means when its correction removes more than this
#: fraction of the raw sum (the corrected value then has lost more than ~3 bits)
MAX_CORRECTION = 0.9


def chunk_rows(p: int) -> int:
    return max(1, _CHUNK_ENTRIES // max(p, 1))


#: entries per float64 conversion chunk of :func:`class_sums` (1 MiB: it stays in cache; 2**20
#: entries measured 1.4x slower, 2**14 no faster, CPU time at p = 1024 and 4096)
_CONVERT_ENTRIES = 1 << 17


def class_sums(Z: torch.Tensor, y: torch.Tensor, k: int) -> torch.Tensor:
    """``(K, p)`` float64 per-class sums of the rows of ``Z`` (float32 rows converted by chunk
    into one reused float64 buffer)."""
    sums = torch.zeros(k, Z.shape[1], dtype=F64, device=Z.device)
    if Z.dtype == F64:
        return sums.index_add_(0, y, Z)
    step = max(1, _CONVERT_ENTRIES // max(Z.shape[1], 1))
    buf = torch.empty(min(step, Z.shape[0]), Z.shape[1], dtype=F64, device=Z.device)
    for start in range(0, Z.shape[0], step):
        chunk = Z[start : start + step]
        rows = buf[: chunk.shape[0]]
        rows.copy_(chunk)
        sums.index_add_(0, y[start : start + step], rows)
    return sums


def _padded(Q: torch.Tensor) -> torch.Tensor:
    """``Q`` with zero columns appended up to a multiple of 8 (same ``‖HQ‖_F``).

    GEMM kernels are markedly slower for odd widths such as ``K−1 = 99``.
    """
    r = Q.shape[1]
    width = -(-r // 8) * 8
    if width == r:
        return Q
    return torch.nn.functional.pad(Q, (0, width - r))


@dataclass
class WithinPass:
    """What one pass over the samples measured (float64 tensors, still on the device).

    ``means``: exact class means ``m + S/n`` (``None`` when not requested); ``ss``: per-class
    ``Σ‖z_i − μ_c‖²`` (``None`` when not requested); ``proj``: ``Σ‖Qᵀ(z_i − μ_{y_i})‖²``;
    ``cos``: ``Σ cos(z_i, w_{y_i})``; ``agree``: NC4 agreements (int64); ``poor``: the
    correction exceeded :data:`MAX_CORRECTION` of a raw sum (the caller redoes the pass);
    ``drift``: ``max_c ‖Qᵀ(μ_c − m_c)‖``, how far the shift was from the means in units of
    the between-class spread (``Q`` is computed from the shift).
    """

    means: torch.Tensor | None = None
    ss: torch.Tensor | None = None
    proj: torch.Tensor | None = None
    cos: torch.Tensor | None = None
    agree: torch.Tensor | None = None
    poor: bool = False
    drift: float = 0.0


class PassAccumulator:
    """The accumulators of one corrected pass around ``shift`` (``(K, p)``, computing dtype).

    Feed row chunks with :meth:`add` (any order), then :meth:`finish` with the float64 class
    counts. ``Q``: Papyan factor ``(p, r)``; ``W`` / ``b``: classifier for the NC3 cosine and
    (with ``ncc_means``) NC4. Shared by :func:`within_pass` and the streaming accumulator.

    ``lo``: when the exact (float64) class means are known, ``lo = means − shift`` in float64
    (``shift`` being those means rounded to the computing dtype); the corrections are then
    closed forms, ``Σ‖z_i − μ_c‖² = Σ‖d_i‖² − n_c‖lo_c‖²`` (``Σ_i (z_i − μ_c) = 0``) and
    likewise with ``Qᵀ``, so no per-class sums of the deviations are accumulated.
    """

    def __init__(
        self,
        shift,
        *,
        need_ss=True,
        need_means=True,
        need_cos=True,
        Q=None,
        W=None,
        b=None,
        ncc_means=None,
        lo=None,
    ):
        k, p = shift.shape
        dev, dt = shift.device, shift.dtype
        self.shift, self.need_ss, self.need_means, self.lo = shift, need_ss, need_means, lo
        self.need_s = (need_ss or need_means) and lo is None
        self.ss_raw = torch.zeros(k, dtype=F64, device=dev) if need_ss else None
        self.S = torch.zeros(k, p, dtype=dt, device=dev) if self.need_s else None
        self.Q0 = Q
        self.Q = None if Q is None else _padded(Q)
        self.T = None
        if Q is not None:
            self.proj_raw = torch.zeros((), dtype=F64, device=dev)
            if lo is None and not self.need_s:  # with S, Q^T S gives the projected sums
                self.T = torch.zeros(k, self.Q.shape[1], dtype=dt, device=dev)
        self.W, self.b, self.ncc_means = W, b, ncc_means
        self.cos = torch.zeros((), dtype=F64, device=dev) if need_cos and W is not None else None
        self.agree = None
        if ncc_means is not None:
            self.agree = torch.zeros((), dtype=torch.int64, device=dev)
            self.means_sq = ncc_means.square().sum(1)
        if W is not None:
            self.w_norms = torch.linalg.vector_norm(W, dim=1)

    def add(self, Zc: torch.Tensor, yc: torch.Tensor) -> None:
        H = self.shift.index_select(0, yc)
        torch.sub(Zc, H, out=H)  # H = Zc − m_y, one chunk-sized buffer
        if self.need_ss:
            self.ss_raw.index_add_(0, yc, torch.linalg.vector_norm(H, dim=1).square().to(F64))
        if self.need_s:
            self.S.index_add_(0, yc, H)
        if self.Q is not None:
            HQ = H @ self.Q
            self.proj_raw += HQ.square().sum().to(F64)
            if self.T is not None:
                self.T.index_add_(0, yc, HQ)
        W = self.W
        if self.cos is not None:
            num = (Zc * W[yc]).sum(1)
            den = torch.linalg.vector_norm(Zc, dim=1) * self.w_norms[yc]
            self.cos += torch.where(den > 0, num / torch.where(den > 0, den, 1), 0).sum().to(F64)
        if self.ncc_means is not None:
            logits = Zc @ W.transpose(0, 1)
            if self.b is not None:
                logits = logits + self.b
            # nearest mean: argmin_c ‖z − μ_c‖² = argmin_c (‖μ_c‖² − 2 z·μ_c)
            dist = self.means_sq - 2.0 * (Zc @ self.ncc_means.transpose(0, 1))
            self.agree += (logits.argmax(1) == dist.argmin(1)).sum()

    def finish(self, counts: torch.Tensor) -> WithinPass:
        """Apply the corrections; ``counts`` are the float64 class counts (all positive)."""
        out = WithinPass(cos=self.cos, agree=self.agree)
        if self.lo is not None:  # exact means known: closed-form corrections
            lo = self.lo
            if self.need_means:
                out.means = self.shift.to(F64) + lo
            if self.need_ss:
                out.ss = (self.ss_raw - counts * lo.square().sum(1)).clamp_min(0.0)
            if self.Q is not None:
                corr = (counts * (lo @ self.Q0.to(F64)).square().sum(1)).sum()
                out.proj = (self.proj_raw - corr).clamp_min(0.0)
            return out
        if self.need_s:
            S64 = self.S.to(F64)
            if self.need_means:
                out.means = self.shift.to(F64) + S64 / counts[:, None]
            if self.need_ss:
                corr = S64.square().sum(1) / counts
                out.ss = (self.ss_raw - corr).clamp_min(0.0)
                out.poor = bool((corr > MAX_CORRECTION * self.ss_raw).any())
        if self.Q is not None:
            T = self.T if self.T is not None else self.S.to(F64) @ self.Q0.to(F64)
            T2 = T.to(F64).square().sum(1)
            corr = (T2 / counts).sum()
            out.proj = (self.proj_raw - corr).clamp_min(0.0)
            out.poor = out.poor or bool(corr > MAX_CORRECTION * self.proj_raw)
            out.drift = float((T2.sqrt() / counts).max())
        return out


def within_pass(Z, y, shift, counts, **options) -> WithinPass:
    """One chunked corrected pass over ``Z`` around ``shift`` (see :class:`PassAccumulator`)."""
    acc = PassAccumulator(shift, **options)
    step = chunk_rows(Z.shape[1])
    for start in range(0, Z.shape[0], step):
        acc.add(Z[start : start + step], y[start : start + step])
    return acc.finish(counts)
