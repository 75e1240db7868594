"""The one-step balancedness recursion of spec §4, checked on every head pair at every step."""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["BatchedRecursion", "Recursion"]


def _gram(lower: torch.Tensor, upper: torch.Tensor) -> torch.Tensor:
    """``upperᵀupper − lower lowerᵀ`` batched over the leading dimension."""
    return torch.baddbmm(
        torch.bmm(upper.transpose(1, 2), upper), lower, lower.transpose(1, 2), alpha=-1.0
    )


class Recursion:
    """The one-step balancedness recursion of spec §4 on every head pair, batched in chunks.

    Each step copies the head weights ``W_k`` and their data-term gradients ``G_k`` into slot
    ``j`` of per-layer history buffers ``(C + 1, n_k, n_{k−1})``: two ``_foreach_copy_`` calls
    per step. Every ``C`` steps (and at the end) the chunk is checked with batched products:
    ``D_t = W_{k+1}ᵀW_{k+1} − W_kW_kᵀ`` for every slot, then the residual
    ``D_{t+1} − (1 − ηλ)² D_t − η² (G_{k+1}ᵀG_{k+1} − G_kG_kᵀ)``, normalised by
    ``‖W_{k+1}‖_F² + ‖W_k‖_F²`` at ``t+1``; the worst pair of each step is kept.
    ``C`` keeps the buffers under ``budget`` bytes (``C ≥ 1``).
    """

    def __init__(
        self,
        heads: list[torch.Tensor],
        c2: float,
        eta2: float,
        *,
        budget: int = 32 * 2**20,
        max_chunk: int = 100,
    ):
        per_slot = 2 * sum(W.numel() for W in heads) * heads[0].element_size()
        self.C = int(max(1, min(max_chunk, budget // per_slot - 1)))
        self.W = [W.new_zeros((self.C + 1, *W.shape)) for W in heads]
        self.G = [W.new_zeros((self.C + 1, *W.shape)) for W in heads]
        self.W_views = [[B[j] for B in self.W] for j in range(self.C + 1)]
        self.G_views = [[B[j] for B in self.G] for j in range(self.C + 1)]
        self.heads, self.c2, self.eta2 = heads, c2, eta2
        self.j = 0  # next slot to fill
        self.out: list[torch.Tensor] = []

    @torch.no_grad()
    def record(self, grads: list[torch.Tensor]) -> None:
        """Store the current head weights and gradients (before the update of this step)."""
        torch._foreach_copy_(self.W_views[self.j], self.heads)
        torch._foreach_copy_(self.G_views[self.j], grads)
        self.j += 1
        if self.j == self.C + 1:
            self.flush()

    @torch.no_grad()
    def record_weights(self) -> None:
        """Store the weights of the last step (no update follows)."""
        torch._foreach_copy_(self.W_views[self.j], self.heads)
        self.j += 1
        self.flush()

    @torch.no_grad()
    def flush(self) -> None:
        """Check the filled slots ``0..j−1`` (``j − 1`` transitions); keep the last slot."""
        j = self.j
        if j >= 2:
            sq = torch.stack(
                [torch.linalg.vector_norm(B[1:j], dim=(1, 2)).square() for B in self.W], dim=1
            )
            rel = []
            for k in range(len(self.W) - 1):
                D = _gram(self.W[k][:j], self.W[k + 1][:j])
                H = _gram(self.G[k][: j - 1], self.G[k + 1][: j - 1])
                R = D[1:] - self.c2 * D[:-1] - self.eta2 * H
                rel.append(torch.linalg.vector_norm(R, dim=(1, 2)) / (sq[:, k] + sq[:, k + 1]))
            self.out.append(torch.stack(rel, dim=1).amax(dim=1))
        if j >= 1:
            for B in (*self.W, *self.G):
                B[0].copy_(B[j - 1])
            self.j = 1

    def residuals(self) -> np.ndarray:
        """Worst relative residual over the pairs, one per transition ``t−1 → t``."""
        if not self.out:
            return np.zeros(0)
        return torch.cat(self.out).to(torch.float64).cpu().numpy()


def _sym_norm(M: torch.Tensor) -> torch.Tensor:
    """``‖M‖_op = max |eig(M)|`` of symmetric matrices ``(…, n, n) -> (…)``; NaN where ``M``
    is not finite (a run frozen after an overflow)."""
    ok = torch.isfinite(M).all(dim=(-2, -1))
    Ms = torch.where(ok[..., None, None], M, 0.0)
    e = torch.linalg.eigvalsh(0.5 * (Ms + Ms.transpose(-1, -2))).abs().amax(dim=-1)
    return torch.where(ok, e, torch.nan)


class BatchedRecursion:
    r"""The recursion ``D_ℓ⁺ = c²D_ℓ + η²M_ℓ`` on every head pair of ``R`` runs, in chunks.

    ``D_ℓ = W_{ℓ+1}ᵀW_{ℓ+1} − W_ℓW_ℓᵀ``, ``M_ℓ = G_{ℓ+1}ᵀG_{ℓ+1} − G_ℓG_ℓᵀ`` (``G`` the
    data-term gradients), ``c = 1 − η_rλ_r`` per run. Each step copies the head weights
    ``W_k(t)`` and gradients ``G_k(t)`` ``(R, n_k, n_{k−1})`` into slot ``j`` of
    ``(C + 1, R, n_k, n_{k−1})`` buffers (two ``_foreach_copy_``). When the chunk is full, and
    at the end, one batched computation gives for every step ``t``, run and pair:

    * ``eps2`` ``= ‖D(t)‖_op`` (exact symmetric eigenvalues, every step);
    * ``rho`` ``= ‖ρ(t)‖_F``, ``ρ(t) = D(t+1) − c²D(t) − η²M(t)`` (the recursion's residual
      in floating point) and ``rel`` its relative size ``‖ρ‖_F/(‖W_{ℓ+1}‖_F² + ‖W_ℓ‖_F²)(t+1)``
      (worst pair, as the single loop);
    * ``m`` ``= ‖M(t)‖_op`` (exact);
    * ``wsq`` ``= (‖W_{ℓ+1}‖_F² + ‖W_ℓ‖_F²)(t)`` and ``gsq`` ``= (‖G_{ℓ+1}‖_F² + ‖G_ℓ‖_F²)(t)``,
      the scales of the rounding errors of the above.

    ``C ≤ max_chunk`` keeps the buffers under ``budget`` bytes. With ``envelope=False`` only
    ``rho`` and ``rel`` are computed (the single loop's check; no eigenvalues).
    """

    def __init__(
        self,
        heads,
        c2,
        eta2,
        *,
        envelope: bool = True,
        budget: int = 32 * 2**20,
        max_chunk: int = 100,
    ):
        self.envelope = envelope
        R = heads[0].shape[0]
        per_slot = 2 * sum(W.numel() for W in heads) * heads[0].element_size()
        self.C = int(max(1, min(max_chunk, budget // per_slot - 1)))
        self.Wb = [W.new_zeros((self.C + 1, *W.shape)) for W in heads]
        self.Gb = [W.new_zeros((self.C + 1, *W.shape)) for W in heads]
        self.W_views = [[B[j] for B in self.Wb] for j in range(self.C + 1)]
        self.G_views = [[B[j] for B in self.Gb] for j in range(self.C + 1)]
        self.heads, self.R = heads, R
        self.c2, self.eta2 = c2.view(1, R, 1, 1), eta2.view(1, R, 1, 1)
        self.j = 0
        self.first = True
        self.out: dict[str, list[torch.Tensor]] = {
            k: [] for k in ("eps2", "wsq", "rho", "rel", "m", "gsq")
        }

    @torch.no_grad()
    def record(self, G_heads) -> None:
        """Store ``W(t)`` and ``G(t)`` of the head (before the update of step ``t``)."""
        torch._foreach_copy_(self.W_views[self.j], self.heads)
        torch._foreach_copy_(self.G_views[self.j], G_heads)
        self.j += 1
        if self.j == self.C + 1:
            self.flush()

    @torch.no_grad()
    def record_weights(self) -> None:
        """Store the weights of the last step (no update follows) and check the chunk."""
        torch._foreach_copy_(self.W_views[self.j], self.heads)
        self.j += 1
        self.flush()

    @torch.no_grad()
    def flush(self) -> None:
        """Check the ``j − 1`` transitions in slots ``0..j−1``; keep the last slot."""
        j, R = self.j, self.R
        if j >= 1:
            new = slice(0 if self.first else 1, j)  # slot 0 repeats the previous chunk's last
            self.first = False
            D, wsq = [], []
            for k in range(len(self.Wb) - 1):
                n = self.Wb[k].shape[2]
                Dk = _gram(self.Wb[k][:j].flatten(0, 1), self.Wb[k + 1][:j].flatten(0, 1))
                D.append(Dk.view(j, R, n, n))
                wsq.append(
                    torch.linalg.vector_norm(self.Wb[k][:j], dim=(2, 3)).square()
                    + torch.linalg.vector_norm(self.Wb[k + 1][:j], dim=(2, 3)).square()
                )
            if self.envelope:
                self.out["eps2"].append(torch.stack([_sym_norm(Dk[new]) for Dk in D], dim=2))
                self.out["wsq"].append(torch.stack([w[new] for w in wsq], dim=2))
        if j >= 2:
            rho, m, gsq = [], [], []
            for k, Dk in enumerate(D):
                n = self.Wb[k].shape[2]
                G0, G1 = self.Gb[k][: j - 1], self.Gb[k + 1][: j - 1]
                M = _gram(G0.flatten(0, 1), G1.flatten(0, 1)).view(j - 1, R, n, n)
                rho.append(torch.linalg.matrix_norm(Dk[1:] - self.c2 * Dk[:-1] - self.eta2 * M))
                if not self.envelope:
                    continue
                m.append(_sym_norm(M))
                gsq.append(
                    torch.linalg.vector_norm(G0, dim=(2, 3)).square()
                    + torch.linalg.vector_norm(G1, dim=(2, 3)).square()
                )
            rho_t = torch.stack(rho, dim=2)
            self.out["rho"].append(rho_t)
            self.out["rel"].append((rho_t / torch.stack(wsq, dim=2)[1:]).amax(dim=2))
            if self.envelope:
                self.out["m"].append(torch.stack(m, dim=2))
                self.out["gsq"].append(torch.stack(gsq, dim=2))
        if j >= 1:
            for B in (*self.Wb, *self.Gb):
                B[0].copy_(B[j - 1])
            self.j = 1

    def results(self) -> dict[str, np.ndarray]:
        """Host arrays (float64): ``eps2``, ``wsq`` ``(T+1, R, P)``; ``rho``, ``m``, ``gsq``
        ``(T, R, P)``; ``rel`` ``(T, R)`` (``T`` transitions recorded)."""
        P = len(self.Wb) - 1
        out = {}
        for k, chunks in self.out.items():
            if chunks:
                out[k] = torch.cat(chunks).to(torch.float64).cpu().numpy()
            else:
                out[k] = np.zeros((0, self.R) if k == "rel" else (0, self.R, P))
        return out
