"""Tests of ncverify.train: GD with weight decay, recursion check, divergence, reproducibility."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ncverify import InvalidInput, TrainingDiverged
from ncverify.nets import PyramidalMLP
from ncverify.train import TrainingConfig, train


def _data(seed: int = 0, K: int = 3, n: int = 4, d: int = 5):
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(K, d, generator=g, dtype=torch.float64)
    y = torch.arange(K).repeat_interleave(n)
    X = centres[y] + 0.3 * torch.randn(K * n, d, generator=g, dtype=torch.float64)
    return X / X.norm(dim=1, keepdim=True), y


def _net(seed: int = 1, L2: int = 3, **kw):
    head = (8, 6, 5)[: L2 - 1]
    return PyramidalMLP(5, (16, 10), head, 3, "gamma_tanh", seed=seed, **kw)


def test_plain_gd_satisfies_the_balancedness_recursion_every_step():
    X, y = _data()
    run = train(_net(), X, y, lr=0.2, weight_decay=1e-2, steps=300, record_every=50)
    assert run.outcome == "completed"
    traj = run.trajectory
    assert traj.recursion_residual.shape == (300,)
    assert run.max_recursion_residual < 1e-13
    assert traj.data_loss.shape == (301,)
    assert list(traj.steps) == [0, 50, 100, 150, 200, 250, 300]
    assert traj.eps2.shape == (7, 2)  # L2 = 3 -> two head pairs
    # GD with weight decay decreases the regularised loss at this small step size
    assert traj.loss[-1] < traj.loss[0]


def test_momentum_breaks_the_recursion_negative_control():
    X, y = _data()
    run = train(_net(), X, y, lr=0.2, weight_decay=1e-2, steps=100, momentum=0.9)
    assert run.outcome == "completed"
    assert run.max_recursion_residual > 1e-6


def test_loss_matches_the_spec_formula_at_recorded_steps():
    X, y = _data()
    net = _net()
    run = train(net, X, y, lr=0.1, weight_decay=3e-2, steps=20, record_every=20)
    Y = torch.nn.functional.one_hot(y, 3).double()
    with torch.no_grad():
        expected = (0.5 / X.shape[0]) * float(((net(X) - Y) ** 2).sum()) + 0.5 * 3e-2 * sum(
            float((p * p).sum()) for p in net.parameters()
        )
    assert run.trajectory.loss[-1] == pytest.approx(expected, rel=1e-12)
    assert run.final["loss"] == pytest.approx(expected, rel=1e-12)
    assert run.final["eps1"] == pytest.approx(
        float(torch.linalg.norm(net(X).detach() - Y)), rel=1e-10
    )


def test_one_explicit_step_equals_the_gd_update():
    X, y = _data()
    net, ref = _net(), _net()
    train(net, X, y, lr=0.3, weight_decay=0.05, steps=1)
    Y = torch.nn.functional.one_hot(y, 3).double()
    params = list(ref.parameters())
    data = 0.5 / X.shape[0] * ((ref(X) - Y) ** 2).sum()
    grads = torch.autograd.grad(data, params)
    for p, g, q in zip(params, grads, net.parameters(), strict=True):
        torch.testing.assert_close(
            q.detach(), (1 - 0.3 * 0.05) * p.detach() - 0.3 * g, rtol=1e-14, atol=1e-15
        )


def test_huge_step_diverges_with_its_step_and_never_raises():
    X, y = _data()
    run = train(_net(), X, y, lr=1e3, weight_decay=1e-3, steps=500)
    assert run.outcome == "diverged" and run.diverged
    assert run.diverged_step is not None and 1 <= run.diverged_step <= 500
    assert f"diverged at step {run.diverged_step}" in run.reason
    assert len(run.trajectory.data_loss) == run.diverged_step + 1
    with pytest.raises(TrainingDiverged, match="diverged at step") as info:
        run.raise_if_diverged()
    assert info.value.step == run.diverged_step


def test_divergence_factor_is_the_documented_threshold():
    X, y = _data()
    # a modest blow-up is caught by a small factor but not by the default
    run = train(_net(), X, y, lr=3.0, weight_decay=1e-3, steps=40, divergence_factor=1.5)
    assert run.outcome == "diverged"
    first = run.diverged_step
    dl = run.trajectory.data_loss
    assert not (dl[first] <= 1.5 * run.initial["loss"])
    assert np.all(dl[:first] <= 1.5 * run.initial["loss"])


def test_seeds_reproduce_runs_bit_for_bit_on_cpu():
    X, y = _data()
    a = train(_net(seed=7), X, y, lr=0.2, weight_decay=1e-2, steps=120, seed=3, metrics_every=40)
    b = train(_net(seed=7), X, y, lr=0.2, weight_decay=1e-2, steps=120, seed=3, metrics_every=40)
    c = train(_net(seed=8), X, y, lr=0.2, weight_decay=1e-2, steps=120, seed=3)
    np.testing.assert_array_equal(a.trajectory.data_loss, b.trajectory.data_loss)
    np.testing.assert_array_equal(a.trajectory.nc1, b.trajectory.nc1)
    for p, q in zip(a.network.parameters(), b.network.parameters(), strict=True):
        assert torch.equal(p, q)
    assert not np.array_equal(a.trajectory.data_loss, c.trajectory.data_loss)
    assert a.config.seed == 3 and a.summary()["config"]["seed"] == 3


@pytest.mark.parametrize(
    "dtype, torch_dtype", [("float64", torch.float64), ("float32", torch.float32)]
)
def test_dtype_and_device_are_respected(dtype, torch_dtype):
    X, y = _data()
    run = train(_net(), X, y, lr=0.2, weight_decay=1e-2, steps=30, dtype=dtype, device="cpu")
    assert all(p.dtype == torch_dtype and p.device.type == "cpu" for p in run.network.parameters())
    assert run.X.dtype == torch_dtype and run.y.dtype == torch.int64
    # rounding of the recursion follows the dtype
    eps = torch.finfo(torch_dtype).eps
    assert run.max_recursion_residual < 1e3 * eps


def test_auto_device_is_cuda_when_available_else_cpu():
    X, y = _data()
    run = train(_net(), X, y, lr=0.2, weight_decay=1e-2, steps=2)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert next(run.network.parameters()).device.type == expected


def test_trajectory_metrics_and_initial_measurements():
    X, y = _data()
    run = train(_net(), X, y, lr=0.2, weight_decay=1e-2, steps=100, metrics_every=50)
    traj = run.trajectory
    assert list(traj.metric_steps) == [0, 50, 100]
    assert traj.nc1.shape == (3, 5) and traj.nc2.shape == (3, 5) and traj.nc3.shape == (3,)
    assert run.initial["lambda_F"] > 0  # n_1 = 16 >= N = 12: Z_1(0) has full row rank
    assert run.final["nc1_penultimate"] == traj.nc1[-1, -2]
    assert math.isfinite(run.final["kappa_WL"]) and run.final["kappa_WL"] >= 1


def test_single_layer_head_has_no_pairs():
    X, y = _data()
    net = PyramidalMLP(5, (16,), (), 3, "gamma_tanh", seed=1)
    run = train(net, X, y, lr=0.2, weight_decay=1e-2, steps=10)
    assert run.trajectory.eps2.shape == (1, 0) or run.trajectory.eps2.shape[1] == 0
    assert math.isnan(run.max_recursion_residual)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(lr=0.0, weight_decay=1e-3, steps=10), "lr must be > 0"),
        (dict(lr=math.nan, weight_decay=1e-3, steps=10), "lr must be a finite"),
        (dict(lr=0.1, weight_decay=-1.0, steps=10), "weight_decay must be >= 0"),
        (dict(lr=0.1, weight_decay=1e-3, steps=-1), "steps must be an integer >= 0"),
        (dict(lr=0.1, weight_decay=1e-3, steps=10, dtype="float16"), "dtype='float16'"),
        (dict(lr=0.1, weight_decay=1e-3, steps=10, dtype=torch.float16), "dtype=torch.float16"),
        (dict(lr=0.1, weight_decay=1e-3, steps=10, dtype=64), "dtype=64; training runs use"),
        (dict(lr=0.1, weight_decay=1e-3, steps=10, momentum=1.0), r"momentum must be in \[0, 1\)"),
        (
            dict(lr=0.1, weight_decay=1e-3, steps=10, divergence_factor=1.0),
            "divergence_factor must be > 1",
        ),
        (dict(lr=0.1, weight_decay=1e-3, steps=10, record_every=0), "record_every must be"),
    ],
)
def test_bad_config_is_rejected(kwargs, match):
    with pytest.raises(InvalidInput, match=match):
        TrainingConfig(**kwargs)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_a_torch_dtype_names_the_same_config(dtype):
    name = str(dtype).removeprefix("torch.")
    cfg = TrainingConfig(lr=0.1, weight_decay=1e-3, steps=1, dtype=dtype)
    assert cfg.dtype == name and cfg.torch_dtype is dtype


@pytest.mark.parametrize(
    "which, match",
    [
        ("y_float", "integer labels"),
        ("y_range", r"labels must lie in 0\.\.2"),
        ("y_len", "one label per row"),
        ("X_nan", "non-finite"),
    ],
)
def test_bad_data_is_rejected(which, match):
    X, y = _data()
    if which == "y_float":
        y = y.double()
    elif which == "y_range":
        y = y.clone()
        y[0] = 3
    elif which == "y_len":
        y = y[:-1]
    else:
        X = X.clone()
        X[0, 0] = math.nan
    with pytest.raises(InvalidInput, match=match):
        train(_net(), X, y, lr=0.1, weight_decay=1e-3, steps=1)


def test_diverged_run_makes_the_theorem_evaluation_inconclusive():
    from ncverify.catalog.jswm import TRAINING_NC1, TrainedNetwork

    X, y = _data()
    net = _net()
    run = train(net, X, y, lr=1e3, weight_decay=1e-3, steps=200)
    assert run.diverged
    ev = TRAINING_NC1.check(
        TrainedNetwork(run),
        seed=0,
        inputs={},
        unmeasured="undecided",
        inconclusive_reason=f"diverged at step {run.diverged_step}",
    )
    assert ev.verdict.value == "inconclusive"
    assert ev.reason == f"diverged at step {run.diverged_step}"
