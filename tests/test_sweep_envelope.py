"""Sweep runs judged by the current ``jswm-4.4``: the balancedness envelope along the real
(step-size-scheduled) trajectory, the step-size hypothesis at the sampled steps, the step-0
weights for Assumption 4.3, and ``--resume`` recomputing runs of an older result format."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ncverify.cli.reproduce import DataSpec, NetSpec, RunConfig, TrainSpec, execute, run_configs
from ncverify.cli.reproduce._envelope import Envelope, fit_segments
from ncverify.cli.reproduce._execute import RESULT_FORMAT, _fit_full_batch, _step_size_inputs


def _config(steps: int = 30, kind: str = "pyramidal", widths=(24, 12), **train) -> RunConfig:
    return RunConfig(
        experiment="sweep-test",
        key=f"{kind}-{steps}",
        seed=0,
        data=DataSpec("clusters", n_per_class=6, num_classes=3, cluster_dim=8),
        net=NetSpec(kind, widths=widths, head_widths=(8, 8), activation="gamma_tanh"),
        train=TrainSpec(**{"lr": 0.5, "weight_decay": 0.004, "steps": steps, **train}),
        record_steps=(0, 10, steps),
        evaluate=("jswm-4.4",),
    )


@pytest.fixture(scope="module")
def tiny_run():
    return execute(_config())


def _by_name(items):
    return {x["name"]: x for x in items}


def test_a_sweep_run_decides_the_envelope_and_measures_step_size(tiny_run):
    ev = tiny_run["evaluations"][0]
    claims, hyps = _by_name(ev["claims"]), _by_name(ev["assumptions"])
    assert claims["envelope"]["held"] is True
    assert 0.9 < tiny_run["envelope"]["max_ratio"] <= 1.0  # tight, and it holds
    assert tiny_run["format"] == RESULT_FORMAT
    steps = tiny_run["step_size"]
    assert steps["method"] == "exact" and [e["step"] for e in steps["steps"]] == [0, 15, 30]
    # η_t at the sampled step: η before the drop at ⌊0.8 T⌋ = 24, η/10 after (last step)
    assert [e["eta"] for e in steps["steps"]] == [0.5, 0.5, 0.05]
    eta_sharp = max(e["eta_sharpness"] for e in steps["steps"])
    assert hyps["step_size"]["status"] == "checked"
    assert hyps["step_size"]["held"] is (eta_sharp < 2)
    assert ev["measured"]["eta_sharp_max"] == pytest.approx(eta_sharp, rel=0, abs=0)
    assert hyps["initialisation"]["status"] != "not_checkable"
    assert math.isfinite(ev["measured"]["lambda_F"])


def test_a_tightened_envelope_is_caught_on_a_sweep_run(tiny_run):
    """Negative control: the envelope 5% smaller fails somewhere along the trajectory (the
    claim itself is decided and held, so the control's failure is not an undecided one)."""
    ev = tiny_run["evaluations"][0]
    assert _by_name(ev["claims"])["envelope"]["held"] is True
    assert ev["controls"]["envelope-95"] is False
    assert tiny_run["envelope"]["max_ratio"] > 0.95  # ε2 > 0.95·(env + rnd) at some step


def test_segments_reproduce_the_single_loop_bit_for_bit():
    cfg = _config(steps=25)
    X, y, _ = cfg.data.load(dtype="float64", device="cpu")
    nets = [
        cfg.net.build(input_dim=8, num_classes=3, seed=0, dtype="float64", device="cpu")
        for _ in range(2)
    ]
    got = [fit(net, X, y, cfg, lambda s: None) for fit, net in zip(
        (fit_segments, _fit_full_batch), nets, strict=True)]  # fmt: skip
    for a, b in zip(nets[0].weights(), nets[1].weights(), strict=True):
        assert torch.equal(a, b)
    assert got[0][1] is None and got[1][1] is None
    assert got[0][0] == pytest.approx(got[1][0], rel=1e-9)  # the same recursion residual


def _direct(eps0, m, c2, eta2):
    """``Π_{s<t} c_s² ε2(0) + Σ_{s<t} η_s² Π_{s<r<t} c_r² m(s)`` term by term."""
    T = len(m)
    out = [eps0]
    for t in range(1, T + 1):
        v = math.prod(c2[:t]) * eps0
        v += sum(eta2[s] * math.prod(c2[s + 1 : t]) * m[s] for s in range(t))
        out.append(v)
    return np.array(out)


@settings(max_examples=40, deadline=None)
@given(
    eps0=st.floats(0.0, 5.0),
    m=st.lists(st.floats(0.0, 3.0), min_size=2, max_size=12),
    cut=st.integers(1, 11),
    etas=st.tuples(st.floats(0.01, 1.0), st.floats(0.01, 1.0)),
    lam=st.floats(0.0, 0.5),
)
def test_chained_segments_give_the_scheduled_envelope(eps0, m, cut, etas, lam):
    """Two segments of constant η (each envelope from the measured ε2 at its start, here
    any value) chain into the envelope with a step-dependent η_t."""
    T, cut = len(m), min(cut, len(m) - 1)
    eta = [etas[0]] * cut + [etas[1]] * (T - cut)
    c2 = [(1 - e * lam) ** 2 for e in eta]
    eta2 = [e * e for e in eta]
    env = _direct(eps0, m, c2, eta2)
    eps_cut = 0.3 * env[cut]  # the measured ε2 there (anything <= the envelope)
    seg1 = _direct(eps0, m[:cut], c2[:cut], eta2[:cut])
    seg2 = _direct(eps_cut, m[cut:], c2[cut:], eta2[cut:])
    chain = Envelope()
    chain.add(np.r_[eps0, np.zeros(cut)][:, None], seg1[:, None], np.zeros((cut + 1, 1)), c2[0])
    e2 = np.r_[eps_cut, np.zeros(T - cut)][:, None]
    chain.add(e2, seg2[:, None], np.full((T - cut + 1, 1), 1e-3), c2[cut])
    _, got, rnd = chain.arrays()
    np.testing.assert_allclose(got[:, 0], env, rtol=1e-12, atol=1e-12)
    assert got.shape == (T + 1, 1) and (rnd[cut + 1 :] > 0).all()
    # the mutation: restarting from the measured ε2 without the carried excess is smaller
    if env[cut] > 1e-3:
        assert seg2[-1] < env[-1]


@pytest.mark.parametrize(
    ("checks", "expected"),
    [
        (None, ({}, {})),
        (
            {"method": "exact", "steps": [{"step": 0, "eta": 0.5, "sharpness": 1.0,
                                           "eta_sharpness": 0.5}]},
            ({0: 1.0}, {0: 0.5}),
        ),
        # a power-iteration estimate is a lower bound of λ_max: below 2/η it decides nothing
        (
            {"method": "power-iteration", "steps": [
                {"step": 0, "eta": 0.5, "sharpness": 1.0, "eta_sharpness": 0.5},
                {"step": 9, "eta": 0.5, "sharpness": 5.0, "eta_sharpness": 2.5}]},
            ({9: 5.0}, {9: 0.5}),
        ),
        (
            {"method": "power-iteration", "steps": [
                {"step": 0, "eta": 0.5, "sharpness": 1.0, "eta_sharpness": 0.5}]},
            ({}, {}),
        ),
    ],
)  # fmt: skip
def test_step_size_inputs_use_a_lower_estimate_only_to_fail(checks, expected):
    assert _step_size_inputs(checks) == expected


def test_non_pyramidal_runs_leave_the_envelope_undecided():
    r = execute(_config(steps=12, kind="residual", widths=(12, 12)))
    ev = r["evaluations"][0]
    assert r["envelope"] is None
    assert _by_name(ev["claims"])["envelope"]["held"] is None
    assert r["step_size"]["method"] == "exact"  # measured on any network


def test_resume_recomputes_runs_of_an_older_result_format(tmp_path):
    cfg = _config(steps=8)
    (first,), resumed = run_configs([cfg], tmp_path)
    path = tmp_path / f"{cfg.key}.json"
    record = json.loads(path.read_text())
    record["result"]["format"] = 1
    path.write_text(json.dumps(record))
    (again,), resumed = run_configs([cfg], tmp_path, resume=True)
    assert resumed == 0 and again["format"] == RESULT_FORMAT
    (third,), resumed = run_configs([cfg], tmp_path, resume=True)
    assert resumed == 1 and third["envelope"] == first["envelope"]
