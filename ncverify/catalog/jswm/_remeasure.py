"""High-precision re-measurement of JSWM Theorem 3.1 instances (mpmath).

Used by :meth:`ncverify.spec.TheoremSpec.check` before a failing verdict
(``docs/theorems.md#remeasure``): the snapshot's stored floats are taken as exact numbers and
every symbol of the failing claims is recomputed at ``dps`` decimal digits, with no rounding
allowance and no rank cut. Singular values are square roots of the eigenvalues of Gram
matrices (``mpmath.eigsy``), pseudo-inverses use the exact full-row-rank formula
``W^† = Wᵀ(WWᵀ)^{-1}``. A float failure that vanishes here was a rounding artefact of the float
measurement.

Cost: pure-Python arithmetic, ``O(N·p²)`` operations at ``dps`` digits (≈ 0.1–1 s for the
suite's instances); it runs only for failing verdicts.
"""

from __future__ import annotations

from typing import Any

__all__ = ["remeasure_head", "remeasure_last_pair"]


def _mat(M) -> Any:
    """An mpmath matrix holding the tensor's floats exactly."""
    import mpmath
    import torch

    rows = M.detach().cpu().to(dtype=torch.float64).tolist()
    return mpmath.matrix([[mpmath.mpf(x) for x in row] for row in rows])


def _gram_eigs(M) -> list:
    """Eigenvalues of ``M Mᵀ`` (or ``MᵀM``, the smaller), descending. Eigenvalues below
    ``10^(10−dps)·λ_max`` are the working precision's noise around an exact 0 and are set to
    0 (a singular value below ``10^((10−dps)/2)·s_1``, 1e-25 at 60 digits: no float matrix
    has one that is not exactly 0)."""
    import mpmath

    G = M * M.T if M.rows <= M.cols else M.T * M
    ev = mpmath.eigsy(G, eigvals_only=True)
    ev = sorted((ev[i] for i in range(ev.rows)), reverse=True)
    cut = abs(ev[0]) * mpmath.mpf(10) ** (10 - mpmath.mp.dps) if ev else 0
    return [e if e > cut else mpmath.mpf(0) for e in ev]


def _svals(M, k: int) -> list:
    """The top ``k`` singular values of ``M`` (padded with zeros)."""
    import mpmath

    s = [mpmath.sqrt(max(e, 0)) for e in _gram_eigs(M)]
    return (s + [mpmath.mpf(0)] * k)[:k]


def _op_sym(D) -> Any:
    """Operator norm of a symmetric matrix: the largest |eigenvalue|."""
    import mpmath

    ev = mpmath.eigsy(D, eigvals_only=True)
    return max(abs(ev[i]) for i in range(ev.rows))


def _fro(M) -> Any:
    import mpmath

    return mpmath.sqrt(sum(M[i, j] ** 2 for i in range(M.rows) for j in range(M.cols)))


def _means(Z, y: list[int], K: int):
    import mpmath

    n = [y.count(c) for c in range(K)]
    out = mpmath.matrix(K, Z.cols)
    for i, c in enumerate(y):
        for j in range(Z.cols):
            out[c, j] += Z[i, j]
    for c in range(K):
        for j in range(Z.cols):
            out[c, j] /= n[c]
    return out


def _traces(Z, y: list[int], K: int) -> tuple[Any, Any]:
    """``(tr Σ_W, tr Σ_B)`` (spec §2; balanced classes)."""
    M = _means(Z, y, K)
    N = len(y)
    tw = sum((Z[i, j] - M[c, j]) ** 2 for i, c in enumerate(y) for j in range(Z.cols)) / N
    g = [sum(M[c, j] for c in range(K)) / K for j in range(Z.cols)]
    tb = sum((M[c, j] - g[j]) ** 2 for c in range(K) for j in range(Z.cols)) / K
    return tw, tb


def _kappa(s: list) -> Any:
    import mpmath

    return s[0] / s[-1] if s[-1] > 0 else mpmath.inf


def remeasure_last_pair(s, *, dps: int) -> dict[str, Any]:
    """Every symbol of the NC1, NC2, NC3 specs of ``s`` (a :class:`LastPair`) in high
    precision (see the module docstring); per-sample symbols are lists."""
    import mpmath

    from ._measure import _check_pair

    with mpmath.workdps(dps):
        Z2t, W1t, Wt, yt, K, N, _ = _check_pair(s)
        Z2, W1, W = _mat(Z2t), _mat(W1t), _mat(Wt)
        y = [int(c) for c in yt.tolist()]
        Z1 = Z2 * W1.T
        ZL = Z1 * W.T
        sW = _svals(W, K)
        eps1 = mpmath.sqrt(
            sum((ZL[i, j] - (1 if j == y[i] else 0)) ** 2 for i in range(N) for j in range(K))
        )
        out: dict[str, Any] = dict(
            eps1=eps1,
            eps2=_op_sym(W.T * W - W1 * W1.T),
            s1_WL=sW[0],
            sK_WL=sW[-1],
            kappa_WL=_kappa(sW),
            Z2_F=_fro(Z2),
        )
        tw1, tb1 = _traces(Z1, y, K)
        tw2, _ = _traces(Z2, y, K)
        twL, tbL = _traces(ZL, y, K)
        out.update(
            nc1_prev=tw1 / tb1 if tb1 > 0 else mpmath.inf,
            Z2_Pi=mpmath.sqrt(N * tw2),
            ZL_Pi=mpmath.sqrt(N * twL),
            ZL_B=mpmath.sqrt(N * tbL),
        )
        s1 = _svals(_means(Z1, y, K), K)
        sL = _svals(_means(ZL, y, K), K)
        out.update(
            kappa_prev=_kappa(s1) if Z1.cols >= K else mpmath.inf,
            kappa_L=_kappa(sL),
            Zbar2_op=_svals(_means(Z2, y, K), 1)[0],
            sK_ZbarL=sL[-1],
        )
        out.update(_per_sample(Z1, ZL, W, y, K, N, sW[-1]))
    return out


def _per_sample(Z1, ZL, W, y, K, N, sK) -> dict[str, list]:
    """NC3's per-sample symbols: cos(z_i, w_c), |r_ic|, ‖r_i‖, ‖q_i‖, ‖w_c‖, ‖W^†e_c‖."""
    import mpmath

    p = W.cols
    if sK > 0:
        Ginv = mpmath.inverse(W * W.T)  # (WWᵀ)^{-1}: W^† = Wᵀ(WWᵀ)^{-1}
    cos, abs_r, norm_r, norm_q, norm_wc, norm_pinv = [], [], [], [], [], []
    for i, c in enumerate(y):
        z = [Z1[i, j] for j in range(p)]
        w = [W[c, j] for j in range(p)]
        nz = mpmath.sqrt(sum(v * v for v in z))
        nw = mpmath.sqrt(sum(v * v for v in w))
        cos.append(sum(a * b for a, b in zip(z, w, strict=True)) / (nz * nw))
        r = [ZL[i, k] - (1 if k == c else 0) for k in range(K)]
        abs_r.append(abs(r[c]))
        norm_r.append(mpmath.sqrt(sum(v * v for v in r)))
        norm_wc.append(nw)
        if sK > 0:
            # P z = Wᵀ(WWᵀ)^{-1} W z, with W z = row i of Z_L
            coef = [sum(Ginv[a, b] * ZL[i, b] for b in range(K)) for a in range(K)]
            Pz = [sum(W[a, j] * coef[a] for a in range(K)) for j in range(p)]
            norm_q.append(mpmath.sqrt(sum((z[j] - Pz[j]) ** 2 for j in range(p))))
            norm_pinv.append(mpmath.sqrt(Ginv[c, c]))
        else:
            norm_q.append(mpmath.inf)
            norm_pinv.append(mpmath.inf)
    return dict(
        cos_zw=cos,
        abs_r=abs_r,
        norm_r=norm_r,
        norm_q=norm_q,
        norm_wc=norm_wc,
        norm_pinv_ec=norm_pinv,
    )


def remeasure_head(h, *, dps: int) -> dict[str, Any]:
    """Every symbol of the depth and representation-cost specs of ``h`` (a
    :class:`HeadWeights`) in high precision: exact singular values (no rank cut), the exact
    imbalance bound ``E`` (:func:`~ncverify.catalog.jswm.imbalance_bound` without its rounding
    allowance), the exact cost, ``Σ s_i(A)^{2/L2}`` over every singular value, ``T``."""
    import mpmath

    from ._measure import _head

    with mpmath.workdps(dps):
        Ws = [_mat(W) for W in _head(h)]
        m = len(Ws)
        K = Ws[-1].rows
        A = Ws[0]
        for W in Ws[1:]:
            A = W * A
        sW = _svals(Ws[-1], K)
        sA_all = [mpmath.sqrt(max(e, 0)) for e in _gram_eigs(A)]
        sA = _svals(A, K)
        E = _imbalance(Ws)
        L2 = mpmath.mpf(m)
        lam = mpmath.mpf(float(h.weight_decay))
        T = mpmath.mpf(0)
        for j in range(1, m):
            lo, up = Ws[j - 1], Ws[j]
            D = up.T * up - lo * lo.T
            T += j * abs(sum(D[i, i] for i in range(D.rows)))
        out = dict(
            E=E,
            s1_WL=sW[0],
            sK_WL=sW[-1],
            kappa_WL=_kappa(sW),
            sA1=sA[0],
            sAK=sA[-1],
            s_WL=sW,
            s_A=sA,
            lam=lam,
            cost=lam / 2 * sum(_fro(W) ** 2 for W in Ws),
            schatten=sum(s ** (mpmath.mpf(2) / L2) for s in sA_all if s > 0),
            schatten_E=sum((s * s + E) ** (1 / L2) for s in sA),
            T=T,
        )
    return out


def _imbalance(Ws) -> Any:
    """``E = Σ_{k=1}^{m−1} (Π_{j>k} s_j²)((s_{k+1}² + ε_k)^k − s_{k+1}^{2k})`` exactly
    (``docs/theorems.md#imbalance``)."""
    import mpmath

    s = [mpmath.sqrt(max(_gram_eigs(W)[0], 0)) for W in Ws]
    total = mpmath.mpf(0)
    for k in range(1, len(Ws)):
        lo, up = Ws[k - 1], Ws[k]
        eps_k = _op_sym(up.T * up - lo * lo.T)
        q = s[k] ** 2
        prod = mpmath.fprod(x * x for x in s[k:])
        total += prod * ((q + eps_k) ** k - q**k)
    return total
