"""High-precision re-measurement of a UFM run (mpmath), used before any failing verdict.

The stored floats (trained factors, certificate values) are taken as exact; the exact route's
values are re-read at 60 digits (``ExactSolution.precise``); the training-route symbols of
the two-factor models (objective, gradient norms, operator norms, NC1, the self-duality fit,
the spectrum of ``H̄ᵀH̄``) are recomputed in mpmath at ``dps`` digits. Symbols not listed here
keep their float values (taken as exact).
"""

from __future__ import annotations

from typing import Any

from ._snapshots import UFMRun

__all__ = ["remeasure_ufm_run"]


def _exact(run: UFMRun) -> dict[str, Any]:
    import mpmath

    p = getattr(run.exact, "precise", None) or {}
    out: dict[str, Any] = {}
    for key, name in (("value", "value_exact"), ("argmin", "argmin_exact")):
        if key in p:
            v = p[key]
            out[name] = [mpmath.mpf(x) for x in v] if isinstance(v, tuple) else mpmath.mpf(v)
    if run.problem == "imbalanced" and "argmin" in out:
        out["scale_exact_k"] = out.pop("argmin_exact")
        out.pop("value_exact", None)
    if run.problem == "deep" and "argmin_exact" in out:
        out["x_exact"] = out["argmin_exact"]
    return out


def _mat(t) -> Any:
    import mpmath

    rows = t.detach().cpu().double().tolist()
    return mpmath.matrix([[mpmath.mpf(x) for x in r] for r in rows])


def _fro(M) -> Any:
    import mpmath

    return mpmath.sqrt(mpmath.fsum(x * x for x in M))


def _two_factor(run: UFMRun) -> dict[str, Any]:
    import mpmath

    fit = run.fit
    W, H = _mat(fit.W), _mat(fit.features.T)
    K, N = W.rows, H.cols
    y = [int(v) for v in fit.labels.tolist()]
    lw, lh = mpmath.mpf(fit.lambda_W), mpmath.mpf(fit.lambda_H)
    b = None if fit.b is None else [mpmath.mpf(v) for v in fit.b.tolist()]
    Z = W * H
    if b is not None:
        for k in range(K):
            for i in range(N):
                Z[k, i] += b[k]
    G = mpmath.matrix(K, N)
    data = mpmath.mpf(0)
    for i in range(N):
        if fit.loss == "mse":
            for k in range(K):
                r = Z[k, i] - (1 if k == y[i] else 0)
                data += r * r / (2 * N)
                G[k, i] = r / N
        else:
            col = [Z[k, i] for k in range(K)]
            lse = mpmath.log(mpmath.fsum(mpmath.exp(v) for v in col))
            data += (lse - col[y[i]]) / N
            for k in range(K):
                G[k, i] = (mpmath.exp(col[k] - lse) - (1 if k == y[i] else 0)) / N
    gb = mpmath.mpf(0)
    if b is not None:
        sums = [mpmath.fsum(G[k, i] for i in range(N)) for k in range(K)]
        gb = mpmath.sqrt(mpmath.fsum(s * s for s in sums))
        for k in range(K):
            for i in range(N):
                G[k, i] -= sums[k] / N
    gW = _fro(G * H.T + lw * W)
    gH = _fro(W.T * G + lh * H)
    obj = data + lw / 2 * _fro(W) ** 2 + lh / 2 * _fro(H) ** 2
    counts = [y.count(k) for k in range(K)]
    p = H.rows
    Hbar = mpmath.matrix(p, K)
    for i in range(N):
        for j in range(p):
            Hbar[j, y[i]] += H[j, i] / counts[y[i]]
    gmean = [mpmath.fsum(H[j, i] for i in range(N)) / N for j in range(p)]
    tw = mpmath.fsum((H[j, i] - Hbar[j, y[i]]) ** 2 for i in range(N) for j in range(p)) / N
    tb = mpmath.fsum((Hbar[j, k] - gmean[j]) ** 2 for k in range(K) for j in range(p)) / K
    Wt = W.copy()
    if fit.loss == "ce" or b is not None:
        for j in range(W.cols):
            m = mpmath.fsum(W[k, j] for k in range(K)) / K
            for k in range(K):
                Wt[k, j] -= m
    wt2 = _fro(Wt) ** 2
    rho = mpmath.fsum(Hbar[j, k] * Wt[k, j] for j in range(p) for k in range(K)) / wt2
    ev = mpmath.eigsy(Hbar.T * Hbar, eigvals_only=True)
    out = {
        "objective": obj,
        "gW": gW,
        "gH": gH,
        "gb": gb,
        "W_F": _fro(W),
        "H_F": _fro(H),
        "W_op": max(mpmath.svd_r(W, compute_uv=False)),
        "G_op": max(mpmath.svd_r(G, compute_uv=False)),
        "nc1": tw / tb,
        "trSB": tb,
        "rho_hat": rho,
        "Wt_F": mpmath.sqrt(wt2),
        "hg_max": max(ev),
        "hg_min": min(ev),
    }
    if run.problem == "imbalanced":
        out["s_k"] = [
            mpmath.fsum(Z[k, i] for i in range(N) if y[i] == k) / counts[k] for k in range(K)
        ]
        out["zrow_k"] = [mpmath.sqrt(mpmath.fsum(Z[k, i] ** 2 for i in range(N))) for k in range(K)]
        wn = [mpmath.sqrt(mpmath.fsum(W[k, j] ** 2 for j in range(p))) for k in range(K)]
        out["w_norm_k"] = wn
        out["rho_hat_k"] = [
            mpmath.fsum(Hbar[j, k] * W[k, j] for j in range(p)) / wn[k] ** 2 for k in range(K)
        ]
    return out


def remeasure_ufm_run(run: UFMRun, dps: int) -> dict[str, Any]:
    """The symbols of :func:`measure_ufm_run` that rounding can affect, at ``dps`` digits."""
    import mpmath

    with mpmath.workdps(dps):
        out = _exact(run)
        if run.fit is not None and run.problem != "deep":
            out.update(_two_factor(run))
    return out
