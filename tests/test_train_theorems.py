"""The machinery of the training theorems (ncverify.catalog.jswm, training part).

* Proposition 5.3's claim has content beyond its hypotheses: untrained (unbalanced)
  instances that are stable, interpolate and have a rank-K output violate it;
* the activation slope is measured on the function (exact for the library activations);
* the constructed initialisation satisfies the measured Assumption 4.3, the standard one not;
* run configurations are plain data and ``train_configs`` is a pure function of them;
* the Theorem 5.2 competitor interpolates; the imbalance lemma's re-measurement; slopes.
"""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
import torch

from ncverify.catalog.jswm import (
    IMBALANCE,
    STABILITY,
    TRAINING_NC1,
    HeadWeights,
    RunConfig,
    build_data,
    build_initial_network,
    competitor,
    measure_activation_slope,
    measure_imbalance,
    train_configs,
)
from ncverify.catalog.jswm._measure_depth import remeasure_imbalance
from ncverify.catalog.jswm._measure_stability import head_direction_terms
from ncverify.catalog.jswm._measure_training import _slope, arch_symbols
from ncverify.catalog.jswm._training_runs import init_condition_terms
from ncverify.nets import GammaTanh, PyramidalMLP, ReLU, Tanh
from ncverify.train import exact_sharpness


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


# ----------------------------------------------------------------------------- Prop. 5.3
def _untrained_instance(seed: int, scale: float):
    """A PyramidalMLP built, not trained, with an unbalanced head: the first layer maps the
    inputs to ``0.5·Q`` (orthonormal rows, so ``Z_1`` is nearly isotropic), the hidden head
    layer is ``scale`` times an orthogonal factor, and the last layer is the least-squares
    fit of ``Y`` (interpolation). The W_L block of the Hessian then sets the sharpness."""
    g = torch.Generator().manual_seed(seed)
    K, n, d, n1 = 3, 3, 10, 12
    y = torch.arange(K).repeat_interleave(n)
    X = torch.randn(K * n, d, generator=g, dtype=torch.float64)
    X = X / X.norm(dim=1, keepdim=True)
    net = PyramidalMLP(d, (n1,), (6,), K, "gamma_tanh", seed=seed)
    Y = torch.nn.functional.one_hot(y, K).double()
    P = torch.linalg.qr(torch.randn(n1, K * n, generator=g, dtype=torch.float64))[0]
    with torch.no_grad():
        net.nonlinear[0].weight.copy_(0.5 * (torch.linalg.pinv(X) @ P.T).T)
        U, _, Vh = torch.linalg.svd(net.head[0].weight, full_matrices=False)
        net.head[0].weight.copy_(scale * U @ Vh)
        Z = net.layer_features(X)[-2]
        net.head[1].weight.copy_((torch.linalg.pinv(Z) @ Y).T)
    return net, X, y, Y


def _stability_symbols(net, X, y, Y, lam):
    """Every symbol of jswm-5.3 at the instance, with η set to the edge of stability."""
    with torch.no_grad():
        heads = [w.detach() for w in net.head_weights()]
        ZL = net(X)
        sW = torch.linalg.svdvals(heads[-1])
        sZ = torch.linalg.svdvals(ZL)
    top = exact_sharpness(net, X, y, lam)
    N, K = X.shape[0], Y.shape[1]
    return {
        "lr": 2.0 / top * (1 - 1e-9),  # stable: η·λ_max just below 2
        "lam": lam,
        "sharpness": top,
        "N": float(N),
        "K": float(K),
        "L2": float(len(heads)),
        "eps1": float(torch.linalg.matrix_norm(ZL - Y)),
        "sK_ZL": float(sZ[K - 1]),
        "rank_tol": max(N, K) * 2.2e-16 * float(sZ[0]),
        "s1_WL": float(sW[0]),
        "kappa_WL": float(sW[0] / sW[K - 1]),
        **head_direction_terms(heads, ZL, Y),
    }


def test_proposition_5_3_claim_is_not_implied_by_its_hypotheses():
    """Random untrained instances satisfy stability (exact Hessian), interpolation and the
    rank condition, yet some violate the joint-direction bound: it needs the balance that
    training with weight decay produces. The W_L-block bound, which stability alone implies,
    holds on every one of them."""
    verdicts, block_ok = [], []
    for seed in range(6):
        for scale in (30.0, 100.0):
            net, X, y, Y = _untrained_instance(seed, scale)
            m = _stability_symbols(net, X, y, Y, 1e-3)
            ev = STABILITY.evaluate(m, seed=seed, inputs={"seed": seed, "scale": scale})
            assert all(a.held for a in ev.assumptions), ev.reason
            verdicts.append(ev.verdict.value)
            block = m["s1_WL"] * math.sqrt(m["N"] * (2 / m["lr"] - m["lam"])) / m["sK_ZL"]
            block_ok.append(m["kappa_WL"] <= block * (1 + 1e-9))
    assert verdicts.count("counterexample") >= 6, verdicts
    assert all(block_ok)


# ----------------------------------------------------------------------------- Assumption 4.2
@pytest.mark.parametrize("gamma", [0.1, 0.3, 0.5, 0.7, 0.9, 1.0])
def test_activation_slope_is_measured_exactly_for_gamma_tanh(gamma):
    assert measure_activation_slope(GammaTanh(gamma)) == (gamma, 1.0)


@pytest.mark.parametrize("act", [ReLU(), Tanh()])
def test_activation_slope_of_relu_and_tanh_has_infimum_zero(act):
    assert measure_activation_slope(act) == (0.0, 1.0)


def test_a_plugin_activation_is_measured_on_the_grid_but_not_counted():
    class Mine(torch.nn.Module):  # the same function as GammaTanh(0.3), not a library class
        def forward(self, x):
            return 0.3 * x + 0.7 * torch.tanh(x)

    net = PyramidalMLP(4, (6,), (4,), 2, Mine(), seed=0)
    sym = arch_symbols(net, 6)
    assert math.isnan(sym["gamma"]) and math.isnan(sym["beta"])  # not checkable
    assert (sym["gamma_grid"], sym["beta_grid"]) == (0.3, 1.0)  # reported as a measurement
    lib = arch_symbols(PyramidalMLP(4, (6,), (4,), 2, GammaTanh(0.3), seed=0), 6)
    assert (lib["gamma"], lib["beta"], lib["n_1"], lib["L"]) == (0.3, 1.0, 6.0, 3.0)


# ----------------------------------------------------------------------------- Assumption 4.3
_CFG = RunConfig(
    data_seed=3,
    num_classes=3,
    samples_per_class=3,
    input_dim=10,
    widths=(18,),
    head_widths=(6,),
    seed=5,
    lr=0.01,
    weight_decay=0.05,
    steps=20,
    gamma=0.9,
    init="jswm-4.3",
    sample_steps=(0, -1),
)


def _init_assumption_held(net, data) -> bool:
    Y = torch.nn.functional.one_hot(data.y, 3).double()
    t = init_condition_terms(net.weights(), data.X, net.activation)
    with torch.no_grad():
        t["C0"] = float(((net(data.X) - Y) ** 2).sum())
    t["gamma"] = 0.9
    (init,) = [a for a in TRAINING_NC1.assumptions if a.name == "initialisation"]
    assert init.status.value == "proxied" and init.proxy == "sufficient"
    return bool(init.evaluate(t).held)


def test_the_constructed_initialisation_satisfies_the_measured_assumption_4_3():
    data = build_data(_CFG)
    assert _init_assumption_held(build_initial_network(_CFG, data), data)
    standard = build_initial_network(RunConfig(**{**_CFG.__dict__, "init": "standard"}), data)
    assert not _init_assumption_held(standard, data)


def test_run_configurations_are_data_and_training_them_is_pure():
    a = _CFG
    b = RunConfig(**{**_CFG.__dict__, "weight_decay": 0.07, "seed": 6})
    assert pickle.loads(pickle.dumps(a)) == a and hash(a) == hash(pickle.loads(pickle.dumps(a)))
    together = train_configs([a, b])
    alone = [train_configs([a])[0], train_configs([b])[0]]
    for t, s in zip(together, alone, strict=True):
        for wt, ws in zip(t.run.network.weights(), s.run.network.weights(), strict=True):
            assert torch.allclose(wt, ws, rtol=1e-12, atol=0)
        assert t.sharpness_steps.keys() == {0, 20}
        assert t.sharpness_steps[0] * t.run.config.lr == pytest.approx(0.01 * t.sharpness_steps[0])
    ev = TRAINING_NC1.check(together[0], seed=0, inputs={}, unmeasured="undecided")
    assumptions = {x.name: x.held for x in ev.assumptions}
    assert assumptions["initialisation"] and assumptions["step_size"], ev.reason


# ----------------------------------------------------------------------------- Theorem 5.2
def test_the_competitor_interpolates_and_its_cost_is_the_nonlinear_norm():
    data = build_data(_CFG)
    net = PyramidalMLP(10, (18,), (6, 6), 3, "gamma_tanh", seed=1)
    comp = competitor(net, data.X, data.y, 0.05)
    assert comp["fit_c"] < 1e-20
    assert comp["loss_c"] == pytest.approx(comp["fit_c"] + 0.025 * (comp["c_hat"] + 3 * 3))
    narrow = PyramidalMLP(10, (2,), (6,), 3, "gamma_tanh", seed=1)  # n_1 < K: no competitor
    assert math.isnan(competitor(narrow, data.X, data.y, 0.05)["c_hat"])


def test_imbalance_lemma_is_tight_when_the_first_layer_grows_along_the_top_direction():
    g = torch.Generator().manual_seed(0)
    s = torch.tensor([2.0, 1.0], dtype=torch.float64)
    Qs = [torch.linalg.qr(torch.randn(4, 2, generator=g, dtype=torch.float64))[0] for _ in range(3)]
    Qs.append(torch.eye(2, dtype=torch.float64))
    Ws = [Qs[i + 1] @ torch.diag(s) @ Qs[i].T for i in range(3)]
    Ws[0] = Ws[0] + 0.1 * 2.0 * torch.outer(Qs[1][:, 0], Qs[0][:, 0])
    m = measure_imbalance(HeadWeights(Ws))
    assert m["imb_lhs"] == pytest.approx(m["E"], rel=1e-6)  # equality in exact arithmetic
    precise = remeasure_imbalance(HeadWeights(Ws))  # the stored floats, exactly
    assert precise["imb_lhs"] <= precise["E"] <= precise["imb_lhs"] * (1 + 1e-12)
    assert IMBALANCE.check(HeadWeights(Ws), seed=0, inputs={}).verdict.value == "confirmed"
    assert IMBALANCE.variant("imbalance-90").check(
        HeadWeights(Ws), seed=0, inputs={}
    ).verdict.value in ("counterexample", "unexplained")


def test_log_log_slope():
    lam = np.array([0.01, 0.02, 0.04])
    assert _slope(lam, 3 * lam**-2) == pytest.approx(-2.0)
    assert math.isnan(_slope(lam, [1.0, 0.0, 2.0])) and math.isnan(_slope([1.0], [2.0]))


def test_every_training_proof_pointer_names_an_existing_anchor():
    from pathlib import Path

    from ncverify.catalog.jswm import TRAINING_THEOREMS

    root = Path(__file__).resolve().parents[1]
    for spec in TRAINING_THEOREMS:
        if spec.proof is None:
            assert spec.provenance == "qualitative", spec.id
            continue
        path, _, anchor = spec.proof.partition("#")
        assert f'<a id="{anchor}"></a>' in (root / path).read_text(encoding="utf-8"), spec.proof
