r"""The exact batched GD step of :func:`ncverify.train.train_many` (spec §1, §4).

:class:`BatchStep` holds stacked weights ``W[ℓ]`` ``(R, n_ℓ, n_{ℓ−1})`` and computes, for all
``R`` runs at once, the data loss ``(1/2N)‖Z_L − Y‖_F²``, the data-term gradients
``G_ℓ = dZ_ℓᵀ Z_{ℓ−1}`` (``dZ_{ℓ−1} = dZ_ℓ W_ℓ``, through ``σ'`` for ``ℓ ≤ L1``) and the
update ``W ← cW + (−η)G``, with the kernels autograd and ``torch._foreach_*`` use in the
single-run loop (:func:`ncverify.train.train`), so that on the CPU each run is bit for bit
the single run:

* ``Z_{ℓ−1}W_ℓᵀ`` and ``dZ_ℓᵀZ_{ℓ−1}`` with the transposition flags of ``mm`` and of
  autograd's ``mm_mat2_backward`` (``W.t()`` is column-major, so ``G = grad.t().mm(input)``);
* ``aten.mse_loss_backward`` with the incoming gradient ``0.5/N`` as a 0-d tensor,
  ``aten.tanh_backward``, ``aten.threshold_backward``; γ-tanh's backward as autograd's
  Mul/Add/Tanh nodes, ``dZ·γ + tanh_backward(dZ·(1 − γ), tanh A)``;
* the update as ``mul_`` by ``c = 1 − ηλ`` and ``addcmul_`` by ``−η`` as ``(R, 1, 1)``
  tensors, which is the fused multiply-add of ``add_(G, alpha=−η)`` on this build.

Nothing is assumed: each batched product and the update are *probed* once per call
(:func:`bmm_matches_mm`, :func:`update_matches_single`) on random operands with the real
shapes, layouts and batch size; a product whose batched kernel rounds differently from the
per-run ``torch.mm`` (``torch.bmm`` takes another code path below 400 multiply-adds and for
a result with one column) runs as a loop of ``torch.mm`` instead.
"""

from __future__ import annotations

import itertools

import torch

from ..nets._activations import GammaTanh, ReLU, Tanh

__all__ = ["BatchStep", "bmm_matches_mm", "update_matches_single"]


def _operand(R, rows, cols, trans, shared, gen, dtype, device):
    """A random ``(R, rows, cols)`` operand laid out like the real one (a transposed view, or
    one matrix expanded over the batch)."""
    shape = (cols, rows) if trans else (rows, cols)
    x = torch.randn((1 if shared else R, *shape), generator=gen, dtype=torch.float64)
    x = x.to(dtype=dtype, device=device)
    x = x.transpose(1, 2) if trans else x
    return x.expand(R, rows, cols) if shared else x


def _mm_loop(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.stack([torch.mm(a[r], b[r]) for r in range(a.shape[0])])


def bmm_matches_mm(R, m, k, n, a_trans, b_trans, a_shared, b_shared, dtype, device) -> bool:
    """Whether ``torch.bmm`` gives bit for bit the per-run ``torch.mm`` for this layout:
    ``(R, m, k) @ (R, k, n)``, operands transposed views (``*_trans``) or one matrix expanded
    over the batch (``*_shared``)."""
    gen = torch.Generator().manual_seed(m * 10007 + k * 101 + n)
    a = _operand(R, m, k, a_trans, a_shared, gen, dtype, device)
    b = _operand(R, k, n, b_trans, b_shared, gen, dtype, device)
    return bool(torch.equal(torch.bmm(a, b), _mm_loop(a, b)))


def update_matches_single(shapes, dtype, device) -> bool:
    """Whether ``W·c + (−η)·G`` by ``mul_``/``addcmul_`` with ``(R, 1, 1)`` tensors equals the
    single loop's ``mul_(c)``, ``add_(G, alpha=−η)`` run by run, for every stacked shape."""
    gen = torch.Generator().manual_seed(1)
    for shape in shapes:
        W, G, eta = (
            torch.randn(shape, generator=gen, dtype=torch.float64).to(device, dtype)
            for _ in range(3)
        )
        c, ne = 1.0 - 0.01 * eta[:, :1, :1].abs(), -eta[:, :1, :1].abs()
        ref = torch.stack(
            [W[r].mul(float(c[r])).add_(G[r], alpha=float(ne[r])) for r in range(shape[0])]
        )
        if not torch.equal(W.mul(c).addcmul_(G, ne), ref):
            return False
    return True


class BatchStep:
    """Stacked weights ``W[ℓ]`` ``(R, n_ℓ, n_{ℓ−1})`` and the exact forward/backward pass.

    ``L1`` nonlinear layers with the elementwise activation ``act`` (no parameters), then the
    linear head; ``X`` ``(N, d)`` shared by the runs or ``(R, N, d)``, ``Y`` one-hot targets
    ``(N, K)`` or ``(R, N, K)``. ``match_single``: probe the kernels (else always batch).
    """

    def __init__(self, W, L1, act, X, Y, match_single: bool):
        self.W, self.L1, self.act = W, L1, act
        self.X, self.Y = X, Y
        self.shared = X.ndim == 2
        R, N = W[0].shape[0], X.shape[-2]
        dims = [X.shape[-1], *(w.shape[1] for w in W)]
        dt, dev = X.dtype, X.device
        self.fwd, self.gw, self.dz = [], [], []
        for i, (n_in, n_out) in enumerate(itertools.pairwise(dims)):
            sh = self.shared and i == 0
            probe = bmm_matches_mm if match_single else (lambda *a: True)
            self.fwd.append(probe(R, N, n_in, n_out, False, True, sh, False, dt, dev))
            self.gw.append(probe(R, n_out, N, n_in, True, False, False, sh, dt, dev))
            self.dz.append(probe(R, N, n_out, n_in, False, False, False, False, dt, dev))
        self.fused = not match_single or update_matches_single([w.shape for w in W], dt, dev)
        self.scale = torch.tensor(0.5 / N, dtype=dt, device=dev)

    def kernels(self) -> dict[str, str]:
        """Which products were batched (``"bmm"``) or looped (``"mm"``), and the update."""
        name = {True: "bmm", False: "mm"}
        out = {}
        for i in range(len(self.W)):
            out[f"forward W{i + 1}"] = name[self.fwd[i]]
            out[f"grad W{i + 1}"] = name[self.gw[i]]
            if i:
                out[f"grad Z{i}"] = name[self.dz[i]]
        out["update"] = "fused addcmul" if self.fused else "per-run add_"
        return out

    def _X(self):
        return self.X.expand(self.W[0].shape[0], *self.X.shape) if self.shared else self.X

    @staticmethod
    def _mm(a, b, batched):
        return torch.bmm(a, b) if batched else _mm_loop(a, b)

    def forward(self, keep: bool = False):
        """``Z_L`` ``(R, N, K)``; with ``keep`` also the layer inputs and activation caches."""
        Z, inputs, caches = self._X(), [], []
        for i, W in enumerate(self.W):
            inputs.append(Z)
            A = self._mm(Z, W.transpose(1, 2), self.fwd[i])
            if i < self.L1:
                Z, cache = self._act_forward(A)
                caches.append(cache)
            else:
                Z = A
        return (Z, inputs, caches) if keep else Z

    def _act_forward(self, A):
        act = self.act
        if type(act) is GammaTanh:  # the single loop: γA + (1 − γ) tanh A, three products
            th = torch.tanh(A)
            if act.gamma == 0.5:  # ½A + ½th = ½(A + th) exactly (halving is exact)
                return A.add_(th).mul_(0.5), th
            return A.mul_(act.gamma).add_(th * (1.0 - act.gamma)), th
        if type(act) is Tanh:
            th = torch.tanh(A)
            return th, th
        if type(act) is ReLU:
            Z = torch.relu(A)
            return Z, Z
        A = A.detach().requires_grad_(True)  # any other elementwise module: autograd
        with torch.enable_grad():
            Z = act(A)
        return Z.detach(), (A, Z)

    def _act_backward(self, dZ, cache):
        """``dA`` with the kernels autograd uses for the single loop's activation."""
        act = self.act
        if type(act) is GammaTanh:  # dZ·γ + tanh_backward(dZ·(1 − γ), th)
            if act.gamma == 0.5:
                h = dZ.mul_(0.5)
                return h.add_(torch.ops.aten.tanh_backward(h, cache))
            tb = torch.ops.aten.tanh_backward(dZ * (1.0 - act.gamma), cache)
            return dZ.mul_(act.gamma).add_(tb)
        if type(act) is Tanh:
            return torch.ops.aten.tanh_backward(dZ, cache)
        if type(act) is ReLU:
            return torch.ops.aten.threshold_backward(dZ, cache, 0)
        A, Z = cache
        return torch.autograd.grad(Z, A, dZ)[0]

    def grads(self):
        """Data loss ``(1/2N)‖Z_L − Y‖_F²`` per run ``(R,)`` and ``G_ℓ`` for every layer."""
        ZL, inputs, caches = self.forward(keep=True)
        data = (ZL - self.Y).square().sum(dim=(1, 2)) * self.scale
        dZ = torch.ops.aten.mse_loss_backward(self.scale, ZL, self.Y.expand_as(ZL), 2)
        G = [None] * len(self.W)
        for i in range(len(self.W) - 1, -1, -1):
            if i < self.L1:
                dZ = self._act_backward(dZ, caches[i])
            G[i] = self._mm(dZ.transpose(1, 2), inputs[i], self.gw[i])
            if i:
                dZ = self._mm(dZ, self.W[i], self.dz[i])
        return data, G

    def update(self, G, c, neg_eta):
        """``W ← c W + (−η) G`` per run (``c``, ``neg_eta`` shaped ``(R, 1, 1)``)."""
        if self.fused:
            torch._foreach_mul_(self.W, [c] * len(self.W))
            torch._foreach_addcmul_(self.W, G, [neg_eta] * len(self.W))
            return
        for W, g in zip(self.W, G, strict=True):
            for r in range(W.shape[0]):
                W[r].mul_(c[r, 0, 0]).add_(g[r], alpha=float(neg_eta[r]))
