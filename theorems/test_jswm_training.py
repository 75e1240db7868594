"""JSWM's training results (spec §5): Theorem 4.4, Theorem 5.2, Proposition 5.3.

Each example trains a network by full-batch GD with weight decay (``ncverify.train``) and
records an evaluation per theorem; only a counterexample (every checkable hypothesis held,
a claim failed) fails a test. Diverged runs are inconclusive, assumption-violating
architectures are judged *outside* with ``claim_held`` recorded. Sizes and counts come from
the profile (``hypothesis_settings("training")``; ci: few short runs). See docs/training.md.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ncverify.catalog.jswm import (
    DEPTH_TREND,
    STABILITY,
    TRAINING_NC1,
    DepthSweep,
    TrainedNetwork,
    measure_depth_sweep,
)
from ncverify.pytest_plugin import current_profile, hypothesis_settings
from ncverify.strategies import (
    VIOLATIONS,
    architectures,
    gaussian_clusters,
    training_hyperparameters,
)

PROFILE = current_profile()
STEPS = PROFILE.steps
DEFAULT_PLUGIN = "examples.residual_mlp:factory"


@pytest.fixture(autouse=True)
def _one_thread():
    """Small networks: one intra-op thread is fastest, and avoids OpenMP spin-waiting that
    multiplies CPU time on a shared, oversubscribed machine."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _hyperparameters(steps: int = STEPS):
    # λ large enough that balancedness decays within the profile's steps ((1-ηλ)^{2t})
    return training_hyperparameters(
        min_weight_decay=5e-3,
        max_weight_decay=1e-2,
        min_learning_rate=0.2,
        max_learning_rate=0.3,
        min_steps=steps,
        max_steps=steps,
    )


@st.composite
def _problems(draw, violation=None):
    data = draw(
        gaussian_clusters(
            num_classes=st.integers(3, 4),
            samples_per_class=st.integers(4, 6),
            input_dim=st.integers(8, 16),
        )
    )
    arch = draw(
        architectures(
            num_samples=data.num_samples,
            input_dim=data.input_dim,
            num_classes=data.num_classes,
            max_width=max(48, data.num_samples),
            violation=violation,
            max_nonlinear_layers=2,
            max_head_layers=3,
        )
    )
    # violating runs are judged outside whatever they reach: a third of the steps suffices
    return data, arch, draw(_hyperparameters(STEPS if violation is None else STEPS // 3))


def _inputs(data, arch, hp, **extra):
    return {
        "data": data.description,
        "data_seed": data.seed,
        "widths": list(arch.widths),
        "head_widths": list(arch.head_widths),
        "activation": arch.activation,
        "gamma": arch.gamma,
        "arch_seed": arch.seed,
        "weight_decay": hp.weight_decay,
        "lr": hp.learning_rate,
        "steps": hp.steps,
        "profile": PROFILE.name,
        **extra,
    }


def _train(net, data, hp, seed):
    from ncverify.train import train

    return train(
        net,
        data.X,
        data.y,
        lr=hp.learning_rate,
        weight_decay=hp.weight_decay,
        steps=hp.steps,
        seed=seed,
        device=PROFILE.resolve_device(),
        dtype=PROFILE.dtype,
        record_every=max(1, hp.steps // 20),
    )


def _diverged(run) -> str | None:
    return None if not run.diverged else f"diverged at step {run.diverged_step}"


def _judge_run(spec, run, data, inputs, seed, *, sharpness=None, architecture="", role="check"):
    """What the run could not measure (a diverged run, undeclared widths) is undecided."""
    snap = TrainedNetwork(
        run,
        nc1_tolerance=PROFILE.nc1_tolerance,
        sharpness=sharpness,
        architecture=architecture,
        inputs=inputs,
    )
    return spec.check(
        snap,
        role=role,
        seed=seed,
        inputs=inputs,
        unmeasured="undecided",
        inconclusive_reason=_diverged(run),
        dtype=PROFILE.dtype,
        architecture=architecture,
    )


def _sharpness(run, seed):
    from ncverify.train import sharpness

    if run.diverged:
        return None
    return sharpness(run.network, run.X, run.y, run.config.weight_decay, seed=seed, tol=1e-6)


@pytest.mark.ncverify_theorem("jswm-4.4")
@hypothesis_settings("training")
@given(problem=_problems())
def test_theorem_4_4_collapse_under_gd_with_weight_decay(problem, ncverify_record):
    data, arch, hp = problem
    run = _train(arch.build(), data, hp, arch.seed)
    inputs = _inputs(data, arch, hp)
    ev = ncverify_record(_judge_run(TRAINING_NC1, run, data, inputs, arch.seed))
    assert ev.verdict.value != "counterexample", ev.reason
    if run.diverged:
        assert ev.verdict.value == "inconclusive" and "diverged at step" in ev.reason
    else:
        # plain GD: the one-step recursion holds at every step whatever the verdict
        assert run.max_recursion_residual <= 64 * 2.3e-16 or PROFILE.dtype != "float64"
    # Proposition 5.3 on the same run: stability as an assumption, κ(W_L) reported
    ev53 = ncverify_record(
        _judge_run(STABILITY, run, data, inputs, arch.seed, sharpness=_sharpness(run, arch.seed))
    )
    assert ev53.verdict.value != "counterexample", ev53.reason


@pytest.mark.ncverify_theorem("jswm-4.4")
@pytest.mark.parametrize("violation", sorted(VIOLATIONS))
def test_theorem_4_4_assumption_violations_are_outside(violation, ncverify_record):
    settings = hypothesis_settings("training", max_examples=1)

    @settings
    @given(problem=_problems(violation))
    def check(problem):
        data, arch, hp = problem
        run = _train(arch.build(), data, hp, arch.seed)
        ev = ncverify_record(
            _judge_run(
                TRAINING_NC1,
                run,
                data,
                _inputs(data, arch, hp, violation=violation),
                arch.seed,
                role="robustness",
            )
        )
        if run.diverged:
            assert ev.verdict.value == "inconclusive"
        else:
            assert ev.verdict.value == "outside", ev.reason
            failed = [a.name for a in ev.assumptions if a.held is False]
            assert VIOLATIONS[violation] in failed

    check()


@pytest.mark.ncverify_theorem("jswm-5.2")
@hypothesis_settings("training", max_examples=max(1, PROFILE.training_examples // 2))
@given(
    data=gaussian_clusters(num_classes=4, samples_per_class=st.integers(5, 8), input_dim=16),
    seed=st.integers(0, 2**16),
    hp=_hyperparameters(),
)
def test_theorem_5_2_kappa_does_not_grow_with_head_depth(data, seed, hp, ncverify_record):
    """The same nonlinear part (widths (max(N, 64), 32), same seed) with L2 = 2, 3, 4."""
    from ncverify import PyramidalMLP

    widths = (max(64, data.num_samples), 32)
    runs = []
    for L2 in (2, 3, 4):
        net = PyramidalMLP(
            data.input_dim,
            widths,
            (16,) + (8,) * (L2 - 2),
            data.num_classes,
            "gamma_tanh",
            seed=seed,
        )
        runs.append(_train(net, data, hp, seed))
    inputs = {
        "data": data.description,
        "data_seed": data.seed,
        "seed": seed,
        "widths": list(widths),
        "weight_decay": hp.weight_decay,
        "lr": hp.learning_rate,
        "steps": hp.steps,
        "head_depths": [2, 3, 4],
    }
    diverged = next((r.diverged_step for r in runs if r.diverged), None)
    if diverged is None:
        measured = measure_depth_sweep(DepthSweep(runs, inputs))
    else:
        measured = {}
    ev = ncverify_record(
        DEPTH_TREND.evaluate(
            measured,
            seed=seed,
            inputs=inputs,
            unmeasured="undecided",
            dtype=PROFILE.dtype,
            inconclusive_reason=None if diverged is None else f"diverged at step {diverged}",
        )
    )
    assert ev.verdict.value != "counterexample", ev.reason


@pytest.mark.ncverify_arch
@pytest.mark.ncverify_theorem("jswm-5.3")
def test_plugin_architecture_collapse_and_stability(ncverify_arch, ncverify_seed, ncverify_record):
    """4.4's NC1 claims (via Theorem 3.1) and 5.3 on ``--ncverify-arch`` (default: the
    example plug-in, so that the plug-in path runs in CI)."""
    from ncverify import load_architecture
    from ncverify.data import make_gaussian_clusters
    from ncverify.strategies import Hyperparameters

    spec = ncverify_arch or DEFAULT_PLUGIN
    data = make_gaussian_clusters(
        seed=ncverify_seed, num_classes=4, samples_per_class=8, input_dim=16, cluster_std=0.5
    )
    net = load_architecture(spec).build(
        input_dim=data.input_dim,
        num_classes=data.num_classes,
        num_samples=data.num_samples,
        seed=ncverify_seed,
        dtype=None,
        device=PROFILE.resolve_device(),
    )
    hp = Hyperparameters(weight_decay=1e-2, learning_rate=0.2, steps=STEPS)
    run = _train(net, data, hp, ncverify_seed)
    inputs = {
        "architecture": spec,
        "data": data.description,
        "seed": ncverify_seed,
        "weight_decay": hp.weight_decay,
        "lr": hp.learning_rate,
        "steps": hp.steps,
    }
    for theorem, sharp in ((TRAINING_NC1, None), (STABILITY, _sharpness(run, ncverify_seed))):
        ev = ncverify_record(
            _judge_run(
                theorem, run, data, inputs, ncverify_seed, sharpness=sharp, architecture=spec
            )
        )
        assert ev.verdict.value != "counterexample", ev.reason
