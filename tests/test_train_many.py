"""Tests of :func:`ncverify.train.train_many` against the single-run loop ``train``.

Exactness: float64 on the CPU, each run's weights after thousands of steps equal the single
loop's to 1e-12 relative -- in fact bit for bit, which is what is asserted (``torch.equal``),
together with the 1e-12 requirement itself.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ncverify import InvalidArchitecture, InvalidInput, TrainingDiverged
from ncverify.nets import PyramidalMLP
from ncverify.train import _batched_step, train, train_many

SMALL = {"widths": (24, 12), "head_widths": (8, 6), "num_classes": 3}  # last layer: mm loop
BENCH = {"widths": (64, 32), "head_widths": (16, 8), "num_classes": 4}


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def clusters(K: int, n: int, d: int, seed: int = 0):
    """``K`` unit-norm Gaussian clusters of ``n`` samples in ``R^d`` (the benchmark data)."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(K, d, generator=g, dtype=torch.float64)
    y = torch.arange(K).repeat_interleave(n)
    X = centres[y] + 0.3 * torch.randn(K * n, d, generator=g, dtype=torch.float64)
    return X / X.norm(dim=1, keepdim=True), y


def single(X, y, arch, seed, eta, lam, steps, activation="gamma_tanh", **kw):
    net = PyramidalMLP(
        X.shape[1], arch["widths"], arch["head_widths"], arch["num_classes"], activation, seed=seed
    )
    return train(net, X, y, lr=eta, weight_decay=lam, steps=steps, seed=seed, device="cpu", **kw)


def assert_same_weights(batched_run, single_net):
    for Wb, Ws in zip(batched_run.network.weights(), single_net.weights(), strict=True):
        Wb, Ws = Wb.detach(), Ws.detach()
        rel = float((Wb - Ws).norm() / Ws.norm())
        assert rel <= 1e-12, rel
        assert torch.equal(Wb, Ws)  # bit for bit


# ----------------------------------------------------------------------------- exactness
def test_exact_thousands_of_steps_per_run_seed_lambda_eta():
    X, y = clusters(3, 6, 6)
    seeds, etas, lams = [0, 1, 2, 7], [0.3, 0.1, 0.2, 0.45], [3e-3, 1e-2, 0.0, 1e-3]
    T = 3000
    many = train_many(
        X, y, **SMALL, seeds=seeds, lr=etas, weight_decay=lams, steps=T, record_every=500
    )
    assert "mm" in many.kernels.values() and "bmm" in many.kernels.values()
    for r, (s, e, lam) in enumerate(zip(seeds, etas, lams, strict=True)):
        ref = single(X, y, SMALL, s, e, lam, T, record_every=500)
        run = many[r]
        assert run.outcome == ref.outcome == "completed" and run.steps_done == T
        assert (run.config.seed, run.config.lr, run.config.weight_decay) == (s, e, lam)
        assert_same_weights(run, ref.network)
        np.testing.assert_array_equal(run.trajectory.data_loss, ref.trajectory.data_loss)
        np.testing.assert_allclose(
            run.trajectory.recursion_residual,
            ref.trajectory.recursion_residual,
            rtol=1e-6,
            atol=1e-17,
        )
        np.testing.assert_array_equal(run.trajectory.steps, ref.trajectory.steps)
        np.testing.assert_allclose(run.trajectory.eps2, ref.trajectory.eps2, rtol=1e-12)
        np.testing.assert_allclose(run.trajectory.loss, ref.trajectory.loss, rtol=1e-12)
        # ε2 at every step agrees with the recorded steps
        np.testing.assert_allclose(
            run.trajectory.eps2_all[run.trajectory.steps], run.trajectory.eps2, rtol=1e-12
        )
        for key, value in ref.final.items():
            assert run.final[key] == pytest.approx(value, rel=1e-9, abs=1e-14), key
        for key, value in ref.initial.items():
            assert run.initial[key] == pytest.approx(value, rel=1e-12), key
    assert math.isinf(many[2].final["grad_rel"]) and any("grad_rel" in n for n in many[2].notes)


def test_exact_benchmark_shape_shared_data():
    X, y = clusters(4, 10, 16)
    many = train_many(
        X, y, **BENCH, seeds=[1, 2], lr=0.3, weight_decay=3e-3, steps=1000, final_metrics=False
    )
    assert set(many.kernels.values()) == {"bmm", "fused addcmul"}
    for r, s in enumerate((1, 2)):
        assert_same_weights(many[r], single(X, y, BENCH, s, 0.3, 3e-3, 1000).network)


@pytest.mark.parametrize("activation", ["relu", "tanh", "gamma_tanh"])
def test_exact_per_run_data_tiny_layers(activation):
    """Own data per run, products below bmm's 400 multiply-add threshold (mm loop)."""
    data = [clusters(2, 3, 3, seed=s) for s in range(3)]
    X, y = torch.stack([d[0] for d in data]), torch.stack([d[1] for d in data])
    arch = {"widths": (5,), "head_widths": (4, 3), "num_classes": 2}
    many = train_many(
        X, y, **arch, activation=activation, seeds=[3, 4, 5], lr=0.2, weight_decay=1e-2, steps=400
    )
    assert "mm" in many.kernels.values()
    for r, s in enumerate((3, 4, 5)):
        ref = single(data[r][0], data[r][1], arch, s, 0.2, 1e-2, 400, activation=activation)
        assert_same_weights(many[r], ref.network)
        assert many[r].final["nc1_penultimate"] == pytest.approx(ref.final["nc1_penultimate"])


def test_gamma_other_than_one_half_and_initial_weights_are_exact():
    from ncverify.nets import GammaTanh

    X, y = clusters(3, 6, 6)
    init = []
    for s in (4, 5):
        net = PyramidalMLP(6, SMALL["widths"], SMALL["head_widths"], 3, GammaTanh(0.8), seed=s)
        init.append(
            [2.0 * w.detach() if i >= 2 else w.detach() for i, w in enumerate(net.weights())]
        )
    many = train_many(
        X,
        y,
        **SMALL,
        activation=GammaTanh(0.8),
        seeds=[4, 5],
        initial_weights=init,
        lr=0.01,
        weight_decay=1e-2,
        steps=500,
        final_metrics=False,
    )
    assert [r.outcome for r in many] == ["completed", "completed"]
    for r, s in enumerate((4, 5)):
        net = PyramidalMLP(6, SMALL["widths"], SMALL["head_widths"], 3, GammaTanh(0.8), seed=s)
        with torch.no_grad():
            for p, w in zip(net.weights(), init[r], strict=True):
                p.copy_(w)
        train(net, X, y, lr=0.01, weight_decay=1e-2, steps=500, device="cpu")
        assert_same_weights(many[r], net)


def test_generic_activation_module_uses_autograd_and_stays_exact():
    class Softsign(torch.nn.Module):
        def forward(self, x):
            return torch.nn.functional.softsign(x)

    X, y = clusters(3, 6, 6)
    many = train_many(
        X,
        y,
        **SMALL,
        activation=Softsign(),
        seeds=[0],
        lr=0.2,
        weight_decay=1e-3,
        steps=200,
        final_metrics=False,
    )
    net = PyramidalMLP(6, SMALL["widths"], SMALL["head_widths"], 3, Softsign(), seed=0)
    train(net, X, y, lr=0.2, weight_decay=1e-3, steps=200, device="cpu")
    assert_same_weights(many[0], net)


def test_fallback_kernels_are_exact_and_unprobed_batching_is_close(monkeypatch):
    X, y = clusters(3, 6, 6)
    kw = dict(
        **SMALL,
        seeds=[0, 1],
        lr=[0.3, 0.1],
        weight_decay=[3e-3, 0.0],
        steps=300,
        final_metrics=False,
    )
    exact = train_many(X, y, **kw)
    fast = train_many(X, y, **kw, match_single=False)
    assert set(fast.kernels.values()) == {"bmm", "fused addcmul"}
    monkeypatch.setattr(_batched_step, "bmm_matches_mm", lambda *a: False)
    monkeypatch.setattr(_batched_step, "update_matches_single", lambda *a: False)
    looped = train_many(X, y, **kw)
    assert set(looped.kernels.values()) == {"mm", "per-run add_"}
    for a, b, c in zip(exact, fast, looped, strict=True):
        for Wa, Wb, Wc in zip(
            a.network.weights(), b.network.weights(), c.network.weights(), strict=True
        ):
            Wa, Wb, Wc = Wa.detach(), Wb.detach(), Wc.detach()
            assert torch.equal(Wa, Wc)
            assert float((Wa - Wb).norm() / Wa.norm()) < 1e-10


# ----------------------------------------------------------------------------- divergence
@pytest.mark.parametrize("factor", [1e4, 1e300])  # 1e300: the loss turns inf / NaN first
def test_diverged_run_is_frozen_at_its_first_bad_step(factor):
    X, y = clusters(3, 6, 6)
    etas = [0.3, 0.6, 0.9, 0.1]
    many = train_many(
        X,
        y,
        **SMALL,
        seeds=[0] * 4,
        lr=etas,
        weight_decay=1e-3,
        steps=300,
        record_every=50,
        divergence_factor=factor,
    )
    assert [r.outcome for r in many] == ["completed", "diverged", "diverged", "completed"]
    for r, eta in enumerate(etas):
        run = many[r]
        if run.outcome == "completed":  # a diverging neighbour changes nothing
            assert_same_weights(run, single(X, y, SMALL, 0, eta, 1e-3, 300).network)
            continue
        ref = single(X, y, SMALL, 0, eta, 1e-3, 300, record_every=50, divergence_factor=factor)
        t = run.diverged_step
        assert ref.diverged and t == ref.diverged_step and run.reason == ref.reason
        assert run.steps_done == t and run.trajectory.data_loss.shape == (t + 1,)
        np.testing.assert_array_equal(run.trajectory.data_loss, ref.trajectory.data_loss)
        assert run.trajectory.recursion_residual.shape == (t,)
        assert run.trajectory.envelope.shape == (t + 1, 2)
        assert (run.trajectory.steps < t).all()
        assert run.final["data_loss"] == ref.final["data_loss"] or (
            math.isnan(run.final["data_loss"]) and math.isnan(ref.final["data_loss"])
        )
        # frozen at θ_t: the single loop stopped right at t gives the same weights
        at_t = single(X, y, SMALL, 0, eta, 1e-3, t, divergence_factor=factor)
        assert at_t.diverged and at_t.diverged_step == t
        assert_same_weights(run, at_t.network)
        with pytest.raises(TrainingDiverged) as info:
            run.raise_if_diverged()
        assert info.value.step == t


def test_all_runs_diverged_stops_early():
    X, y = clusters(3, 6, 6)
    many = train_many(
        X, y, **SMALL, seeds=[0, 1], lr=[5.0, 8.0], weight_decay=1e-3, steps=5000, record_every=1000
    )
    assert all(r.diverged for r in many)
    assert max(r.steps_done for r in many) < 100


# ----------------------------------------------------------------------------- NaN, never 0
def test_no_head_pairs_gives_nan_with_a_reason():
    X, y = clusters(3, 6, 6)
    arch = {"widths": (24, 12), "head_widths": (), "num_classes": 3}
    many = train_many(X, y, **arch, seeds=[0, 1], lr=0.2, weight_decay=1e-3, steps=50)
    for run in many:
        assert math.isnan(run.max_recursion_residual)
        assert np.isnan(run.trajectory.recursion_residual).all()
        assert run.trajectory.recursion_residual.shape == (50,)
        assert run.trajectory.eps2.shape == (len(run.trajectory.steps), 0)
        assert run.trajectory.m_norm.shape == (50, 0)
        assert math.isnan(run.final["eps2"]) and math.isnan(run.initial["eps2_max"])
        assert any("no head pairs" in n for n in run.notes)
        ref = single(X, y, arch, run.config.seed, 0.2, 1e-3, 50)
        assert_same_weights(run, ref.network)
        assert math.isnan(ref.max_recursion_residual) and any(
            "no head pairs" in n for n in ref.notes
        )


def test_zero_steps_gives_nan_residual_with_a_reason():
    X, y = clusters(3, 6, 6)
    run = train_many(X, y, **SMALL, seeds=[0], lr=0.2, weight_decay=1e-3, steps=0)[0]
    assert run.outcome == "completed" and run.steps_done == 0
    assert math.isnan(run.max_recursion_residual)
    assert any("no GD step" in n for n in run.notes)
    assert run.trajectory.data_loss.shape == (1,) and run.trajectory.envelope.shape == (1, 2)
    ref = single(X, y, SMALL, 0, 0.2, 1e-3, 0)  # the single loop too: NaN, never 0.0
    assert math.isnan(ref.max_recursion_residual)
    assert any("no GD step" in n for n in ref.notes)
    assert ref.summary()["notes"] == list(ref.notes)


def test_snapshots_hold_the_weights_of_the_requested_steps():
    X, y = clusters(3, 6, 6)
    run = train_many(
        X,
        y,
        **SMALL,
        seeds=[2],
        lr=0.2,
        weight_decay=1e-3,
        steps=40,
        snapshot_steps=(0, 25, 40, 99),
    )[0]
    assert sorted(run.snapshots) == [0, 25, 40]
    ref25 = single(X, y, SMALL, 2, 0.2, 1e-3, 25).network
    for a, b in zip(run.snapshots[25], ref25.weights(), strict=True):
        assert torch.equal(a, b.detach())
    for a, b in zip(run.snapshots[40], run.network.weights(), strict=True):
        assert torch.equal(a, b.detach())


# ----------------------------------------------------------------------------- envelope
def test_envelope_bounds_eps2_at_every_step_and_is_tight():
    X, y = clusters(4, 10, 16)
    etas, lams = [0.3, 0.1, 0.3, 0.5, 0.05], [3e-3, 1e-2, 0.0, 1e-4, 0.05]
    many = train_many(
        X,
        y,
        **BENCH,
        seeds=[0, 1, 2, 3, 3],
        lr=etas,
        weight_decay=lams,
        steps=3000,
        record_every=250,
        final_metrics=False,
    )
    worst = 0.0  # largest ε2 / envelope after step 0
    for run in many:
        tr = run.trajectory
        assert run.outcome == "completed" and tr.eps2_all.shape == tr.envelope.shape == (3001, 2)
        assert (tr.m_norm > 0).all() and tr.m_norm.shape == (3000, 2)
        assert np.array_equal(tr.envelope[0], tr.eps2_all[0])  # c^0 ε2(0) + S(0)
        # ε2(t) ≤ c^{2t} ε2(0) + η² Σ ‖M‖ + (recursion residual and rounding), every step
        assert (tr.eps2_all <= tr.envelope + tr.envelope_rounding).all()
        # the allowance is far below what it allows for: never what saves the claim
        assert (tr.envelope_rounding < 1e-8).all()
        assert (tr.envelope_rounding < 1e-3 * tr.envelope).all()
        big = tr.eps2_all > 1e-3
        assert (tr.envelope[big] <= 1.5 * tr.eps2_all[big]).all()  # tight: measured ≤ 1.4
        worst = max(worst, float((tr.eps2_all[1:] / tr.envelope[1:]).max()))
    assert worst >= 0.95  # an envelope 5 % too small is violated: the check has teeth
    # near its floor ε2 needs the η² Σ m term: the decay term alone is exceeded
    tr = many[4].trajectory
    decay = (1 - 0.05 * 0.05) ** (2 * np.arange(3001)[:, None]) * tr.eps2_all[0]
    assert (tr.eps2_all[-1] > 1.05 * decay[-1]).any()


def test_envelope_exact_op_norm_of_the_gradient_term():
    X, y = clusters(3, 6, 6)
    run = train_many(X, y, **SMALL, seeds=[0], lr=0.2, weight_decay=1e-3, steps=1)[0]
    net = PyramidalMLP(6, SMALL["widths"], SMALL["head_widths"], 3, seed=0)
    Y = torch.nn.functional.one_hot(y, 3).double()
    loss = 0.5 / X.shape[0] * ((net(X) - Y) ** 2).sum()
    G = torch.autograd.grad(loss, net.head_weights())
    for k in range(2):
        M = G[k + 1].T @ G[k + 1] - G[k] @ G[k].T
        op = float(torch.linalg.eigvalsh(M).abs().max())
        assert run.trajectory.m_norm[0, k] == pytest.approx(op, rel=1e-12)


# ----------------------------------------------------------------------------- inputs
def test_float32_and_device_are_respected():
    X, y = clusters(3, 6, 6)
    run = train_many(X.float(), y, **SMALL, seeds=[0], lr=0.2, weight_decay=1e-3, steps=20)[0]
    assert run.X.dtype == torch.float32 and run.X.device == X.device
    assert run.network.weights()[0].dtype == torch.float32
    assert run.config.dtype == "float32" and run.outcome == "completed"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu():
    X, y = clusters(3, 6, 6)
    kw = dict(**SMALL, seeds=[0, 1], lr=0.2, weight_decay=1e-3, steps=200)
    cpu, gpu = train_many(X, y, **kw), train_many(X.cuda(), y.cuda(), **kw)
    for a, b in zip(cpu, gpu, strict=True):
        assert b.X.device.type == "cuda"
        assert b.final["loss"] == pytest.approx(a.final["loss"], rel=1e-8)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"X": torch.zeros(3)}, InvalidInput, "X must be a tensor"),
        ({"X": torch.zeros(18, 6, dtype=torch.int64)}, InvalidInput, "float64"),
        ({"X": torch.zeros(5, 18, 6, dtype=torch.float64)}, InvalidInput, "R = 2 seeds"),
        ({"y": torch.zeros(18)}, InvalidInput, "integer labels"),
        ({"y": torch.full((18,), 3)}, InvalidInput, r"labels must lie in 0\.\.2"),
        ({"y": torch.zeros(17, dtype=torch.int64)}, InvalidInput, "y must be a tensor"),
        (
            {"X": torch.full((18, 6), math.nan, dtype=torch.float64)},
            InvalidInput,
            "non-finite",
        ),
        ({"seeds": []}, InvalidInput, "non-empty"),
        ({"lr": [0.1, 0.2, 0.3]}, InvalidInput, "lr has 3 entries"),
        ({"lr": [0.1, -1.0]}, InvalidInput, r"run 1 \(seed=1\): lr must be > 0"),
        ({"weight_decay": math.inf}, InvalidInput, "weight_decay must be a finite"),
        ({"steps": -1}, InvalidInput, "steps"),
        ({"num_classes": 1}, InvalidInput, "num_classes"),
        ({"widths": ()}, InvalidInput, "at least one nonlinear layer"),
        ({"activation": "swish"}, InvalidInput, "unknown activation"),
        ({"activation": torch.nn.PReLU()}, InvalidArchitecture, "trainable parameters"),
        ({"activation": torch.nn.Softmax(dim=-1)}, InvalidArchitecture, "not elementwise"),
        ({"initial_weights": [[]]}, InvalidInput, "initial_weights has 1 entries"),
        ({"initial_weights": [[], []]}, InvalidInput, r"initial_weights\[0\] has 0 matrices"),
        (
            {"initial_weights": [[torch.zeros(2, 2)] * 5] * 2},
            InvalidInput,
            r"initial_weights\[0\]\[0\] must be a finite \(24, 6\) matrix",
        ),
    ],
)
def test_invalid_inputs_raise_clear_errors(kwargs, error, match):
    X, y = clusters(3, 6, 6)
    args = {
        "X": X,
        "y": y,
        **SMALL,
        "seeds": [0, 1],
        "lr": 0.1,
        "weight_decay": 1e-3,
        "steps": 5,
    }
    args.update(kwargs)
    with pytest.raises(error, match=match):
        train_many(args.pop("X"), args.pop("y"), **args)


def test_without_envelope_only_the_residual_is_kept_and_the_rest_is_nan():
    X, y = clusters(3, 6, 6)
    kw = dict(**SMALL, seeds=[0], lr=0.2, weight_decay=1e-3, steps=30, final_metrics=False)
    a = train_many(X, y, **kw)[0]
    b = train_many(X, y, **kw, envelope=False)[0]
    assert_same_weights(a, b.network)
    np.testing.assert_array_equal(a.trajectory.recursion_residual, b.trajectory.recursion_residual)
    assert b.trajectory.envelope.shape == (31, 2) and np.isnan(b.trajectory.envelope).all()
    assert np.isnan(b.trajectory.eps2_all).all() and np.isfinite(b.trajectory.eps2).all()
    assert any("envelope=False" in n for n in b.notes)
