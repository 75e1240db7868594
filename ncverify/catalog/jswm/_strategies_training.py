"""Hypothesis strategies for the JSWM training theorems: sweeps of :class:`RunConfig`.

Each strategy draws seeds and a shape from a *small set*, so that the runs of a test group
into a few :func:`~ncverify.train.train_many` batches; keyword-only arguments. The theorem
tests draw every configuration first, train them as batches (:func:`train_configs`), then
judge each result. :data:`TRAINING_SIZES` gives the counts and lengths per profile.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

from ._training_runs import RunConfig

__all__ = [
    "TRAINING_SIZES",
    "TrainingSizes",
    "depth_sweeps",
    "eta_sweeps",
    "imbalanced_heads",
    "lambda_sweeps",
    "violating_runs",
]

_SEEDS = st.integers(min_value=0, max_value=2**31 - 1)


@dataclass(frozen=True)
class TrainingSizes:
    """How many and how long, per profile: ``lambda_sweeps`` λ-sweeps of
    ``len(weight_decays)`` runs for Theorem 4.4 (``steps_44`` steps each), ``eta_sweeps``
    η-sweeps for Proposition 5.3 (``steps_53`` steps for the smallest η, the same ``ηT`` for
    the others), ``depth_sweeps`` head-depth sweeps for
    Theorem 5.2 (``steps_52``), ``robustness`` runs per violated assumption
    (``steps_robust``)."""

    lambda_sweeps: int
    eta_sweeps: int
    depth_sweeps: int
    robustness: int
    steps_44: int
    steps_53: int
    steps_52: int
    steps_robust: int
    weight_decays: tuple[float, ...] = (0.04, 0.05, 0.06, 0.07)
    lrs: tuple[float, ...] = (0.2, 0.4, 0.6)


TRAINING_SIZES = {
    "ci": TrainingSizes(8, 13, 4, 2, 12_000, 6_000, 3_000, 3_000),
    "thorough": TrainingSizes(16, 24, 8, 4, 24_000, 12_000, 8_000, 6_000),
    "gpu": TrainingSizes(32, 48, 16, 8, 24_000, 12_000, 8_000, 6_000),
}

#: Theorem 4.4's runs: K = 3 classes of 3 samples in d = 10 (d >= N for the constructed
#: initialisation), n_1 = 18 >= N, head 6-3, γ = 0.9
_SHAPE_44 = dict(num_classes=3, samples_per_class=3, input_dim=10, widths=(18,), head_widths=(6,))
#: Proposition 5.3's runs: N = 12, widths 16-12, head 8-K
_SHAPES_53 = (
    dict(num_classes=3, samples_per_class=4, input_dim=10, widths=(16, 12), head_widths=(8,)),
    dict(num_classes=4, samples_per_class=3, input_dim=10, widths=(16, 12), head_widths=(8,)),
)


@st.composite
def lambda_sweeps(draw, *, steps: int, weight_decays=TRAINING_SIZES["ci"].weight_decays):
    """Runs differing only in λ (Theorem 4.4): Assumptions 4.1-4.3 hold by construction (the
    ``"jswm-4.3"`` initialisation), ``η = 1.6/λ_max(∇²L_{λ_max}(θ_0))`` shared by the sweep
    (stable at step 0; the sharpness then falls by two orders of magnitude)."""
    data_seed, seed = draw(_SEEDS), draw(_SEEDS)
    lam_ref = max(weight_decays)
    sweep = f"lambda-{data_seed}-{seed}"
    return tuple(
        RunConfig(
            data_seed=data_seed,
            seed=seed,
            **_SHAPE_44,
            gamma=0.9,
            init="jswm-4.3",
            lr=("stability", 1.6, lam_ref),
            weight_decay=lam,
            steps=steps,
            record_every=max(1, steps // 20),
            sample_steps=(0, steps // 2, -1),
            tags=(("sweep", sweep),),
        )
        for lam in weight_decays
    )


@st.composite
def eta_sweeps(draw, *, steps: int, lrs=TRAINING_SIZES["ci"].lrs, weight_decays=(0.015, 0.025)):
    """Runs differing only in η (Proposition 5.3), standard initialisation, γ = 0.5, compared
    at the same gradient-flow time ``ηT``: the smallest η runs ``steps`` steps, the others
    ``steps·min(η)/η`` (so differences between the runs come from the step size, not from
    how far each got)."""
    shape = draw(st.sampled_from(_SHAPES_53))
    data_seed, seed = draw(_SEEDS), draw(_SEEDS)
    lam = draw(st.sampled_from(weight_decays))
    sweep = f"eta-{data_seed}-{seed}"
    return tuple(
        RunConfig(
            data_seed=data_seed,
            seed=seed,
            **shape,
            gamma=0.5,
            lr=eta,
            weight_decay=lam,
            steps=round(steps * min(lrs) / eta),
            record_every=max(1, steps // 20),
            sample_steps=(-1,),
            tags=(("sweep", sweep),),
        )
        for eta in lrs
    )


@st.composite
def depth_sweeps(draw, *, steps: int, depths=(2, 3, 4)):
    """One nonlinear part (one hidden layer, ``n_1 = 18 >= N``, so an interpolating
    competitor exists) with heads ``6-…-6-K`` of ``L2`` layers (Theorem 5.2)."""
    data_seed, seed = draw(_SEEDS), draw(_SEEDS)
    lam = draw(st.sampled_from((0.01, 0.02)))
    sweep = f"depth-{data_seed}-{seed}"
    return tuple(
        RunConfig(
            data_seed=data_seed,
            seed=seed,
            num_classes=3,
            samples_per_class=3,
            input_dim=10,
            widths=(18,),
            head_widths=(6,) * (L2 - 1),
            gamma=0.5,
            lr=0.3,
            weight_decay=lam,
            steps=steps,
            record_every=max(1, steps // 10),
            sample_steps=(),
            tags=(("sweep", sweep),),
        )
        for L2 in depths
    )


#: violated assumption -> (widths, head widths, activation) of a run outside Theorem 4.4
_VIOLATIONS = {
    "narrow_first_layer": ((6,), (6,), "gamma_tanh"),
    "non_pyramidal": ((18, 6), (12,), "gamma_tanh"),
    "relu": ((18,), (6,), "relu"),
    "single_linear_layer": ((18,), (), "gamma_tanh"),
}


@st.composite
def violating_runs(draw, *, violation: str, steps: int):
    """A run of the 4.4 family with exactly one architecture assumption violated
    (``narrow_first_layer``, ``non_pyramidal``, ``relu``, ``single_linear_layer``), standard
    initialisation: recorded under the robustness role."""
    widths, head, act = _VIOLATIONS[violation]
    return RunConfig(
        data_seed=draw(_SEEDS),
        seed=draw(_SEEDS),
        num_classes=3,
        samples_per_class=3,
        input_dim=10,
        widths=widths,
        head_widths=head,
        activation=act,
        gamma=0.5 if act == "gamma_tanh" else None,
        lr=0.2,
        weight_decay=0.02,
        steps=steps,
        record_every=max(1, steps // 10),
        sample_steps=(0, -1),
        tags=(("violation", violation),),
    )


@st.composite
def imbalanced_heads(draw, *, max_depth: int = 4):
    """Linear heads for the imbalance lemma: an exactly balanced head (shared singular values
    on shared directions) whose layer ``k`` is then perturbed -- along the top direction
    (``k = 1`` makes the lemma an equality) or by a random matrix -- of relative size
    ``10^u``, ``u ∈ [-8, 0]``. Returns ``HeadWeights`` (float64)."""
    import torch

    from ._snapshots import HeadWeights

    m = draw(st.integers(2, max_depth))
    K = draw(st.integers(2, 4))
    width = draw(st.integers(K, K + 3))
    seed = draw(_SEEDS)
    k = draw(st.integers(1, m))
    aligned = draw(st.booleans())
    size = 10.0 ** draw(st.floats(-8.0, 0.0))
    g = torch.Generator().manual_seed(seed)
    s = torch.sort(torch.rand(K, generator=g, dtype=torch.float64) + 0.5, descending=True)[0]
    dims = [width] * m + [K]
    Qs = [torch.linalg.qr(torch.randn(d, K, generator=g, dtype=torch.float64))[0] for d in dims]
    Ws = [Qs[i + 1] @ torch.diag(s) @ Qs[i].T for i in range(m)]
    if aligned:
        Ws[k - 1] = Ws[k - 1] + size * s[0] * torch.outer(Qs[k][:, 0], Qs[k - 1][:, 0])
    else:
        Ws[k - 1] = Ws[k - 1] + size * torch.randn(
            *Ws[k - 1].shape, generator=g, dtype=torch.float64
        )
    return HeadWeights(
        Ws, inputs={"seed": seed, "m": m, "K": K, "width": width, "k": k, "aligned": aligned}
    )
