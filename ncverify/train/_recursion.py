"""The one-step balancedness recursion of spec §4, checked on every head pair at every step."""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["Recursion"]


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

    @staticmethod
    def _gram(lower: torch.Tensor, upper: torch.Tensor) -> torch.Tensor:
        return torch.baddbmm(
            torch.bmm(upper.transpose(1, 2), upper), lower, lower.transpose(1, 2), alpha=-1.0
        )

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
                D = self._gram(self.W[k][:j], self.W[k + 1][:j])
                H = self._gram(self.G[k][: j - 1], self.G[k + 1][: j - 1])
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
