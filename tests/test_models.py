"""The network protocol, the JSWM family (PyramidalMLP), activations and check_architecture."""

from __future__ import annotations

import itertools

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ncverify import InvalidArchitecture, InvalidInput
from ncverify.nets import (
    GammaTanh,
    PyramidalMLP,
    ReLU,
    Tanh,
    architecture_assumptions,
    check_architecture,
    make_activation,
)


def _net(**kw):
    args = dict(
        input_dim=16,
        widths=(64, 32),
        head_widths=(16, 8),
        num_classes=4,
        activation="gamma_tanh",
        seed=0,
    )
    args.update(kw)
    return PyramidalMLP(**args)


# ---------------------------------------------------------------- activations


@given(gamma=st.floats(0.01, 1.0), x=st.floats(-30, 30))
@settings(max_examples=60, deadline=None)
def test_gamma_tanh_slope_lies_in_declared_range(gamma, x):
    act = GammaTanh(gamma)
    t = torch.tensor([x], dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(act(t).sum(), t)
    lo, hi = act.slope_range()
    assert lo - 1e-12 <= float(g) <= hi + 1e-12
    assert (lo, hi) == (gamma, 1.0)


@pytest.mark.parametrize("act", [ReLU(), Tanh()])
def test_relu_and_tanh_have_infimum_slope_zero(act):
    t = torch.tensor([-50.0, 50.0], dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(act(t).sum(), t)
    assert act.slope_range() == (0.0, 1.0)
    assert float(g.min()) < 1e-12  # the infimum 0 is (approximately) attained


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: GammaTanh(0.0), r"gamma must lie in \(0, 1\].*gamma=0.0"),
        (lambda: GammaTanh(1.5), r"gamma=1.5"),
        (lambda: GammaTanh("a"), r"gamma must be a real number"),
        (lambda: make_activation("swish"), r"unknown activation 'swish'.*gamma_tanh, relu, tanh"),
        (lambda: make_activation("relu", 0.3), r"'relu' takes no gamma"),
    ],
)
def test_bad_activation_arguments(call, match):
    with pytest.raises(InvalidInput, match=match):
        call()


# ---------------------------------------------------------------- PyramidalMLP


@given(
    widths=st.lists(st.integers(1, 12), min_size=1, max_size=3),
    head=st.lists(st.integers(1, 12), min_size=0, max_size=3),
    d=st.integers(1, 6),
    K=st.integers(2, 5),
    seed=st.integers(0, 2**31),
)
@settings(max_examples=40, deadline=None)
def test_pyramidal_mlp_satisfies_protocol(widths, head, d, K, seed):
    net = PyramidalMLP(d, widths, head, K, "tanh", seed=seed)
    info = check_architecture(net, input_shape=(d,), num_classes=K)
    assert info.num_head_layers == len(head) + 1
    assert info.widths == (*widths, *head, K)
    assert info.feature_widths == info.widths
    assert info.head_bias is False
    X = torch.randn(5, d, dtype=torch.float64)
    feats = net.layer_features(X)
    assert len(feats) == len(widths) + len(head) + 1
    torch.testing.assert_close(feats[-1], net(X), rtol=0, atol=0)
    # the head is exactly a chain of matrix products
    Z = feats[len(widths) - 1]
    for W in net.head_weights():
        Z = Z @ W.T
    torch.testing.assert_close(Z, net(X))


def test_pyramidal_mlp_init_is_reproducible_and_scaled():
    a, b, c = _net(seed=5), _net(seed=5), _net(seed=6)
    assert all(torch.equal(x, y) for x, y in zip(a.weights(), b.weights(), strict=True))
    assert not torch.equal(a.weights()[0], c.weights()[0])
    big = PyramidalMLP(400, (300,), (), 2, seed=1)
    W1 = big.weights()[0]
    # entries N(0, 1/fan_in): fan_in * var ≈ 1 (120k samples, std of estimate ~ 0.004)
    assert abs(float(W1.detach().var()) * 400 - 1.0) < 0.03
    assert W1.dtype == torch.float64 and W1.device.type == "cpu"


def test_pyramidal_mlp_does_not_touch_global_rng():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    _net(seed=9)
    assert torch.equal(torch.rand(3), expected)


def test_pyramidal_mlp_respects_dtype():
    net = _net(dtype=torch.float32)
    assert all(W.dtype == torch.float32 for W in net.weights())
    assert check_architecture(net, input_shape=(16,), num_classes=4).dtype == "float32"
    # the float32 net holds the float64 net's weights, rounded
    ref = _net()
    torch.testing.assert_close(net.weights()[0], ref.weights()[0].float())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"widths": ()}, r"at least one nonlinear layer"),
        ({"widths": (8, 0)}, r"widths\[1\] must be a positive integer, got 0"),
        ({"head_widths": "ab"}, r"head_widths must be a sequence"),
        ({"num_classes": 1}, r"num_classes must be >= 2, got 1"),
        ({"input_dim": 2.5}, r"input_dim must be a positive integer, got 2.5"),
        ({"activation": 3}, r"activation must be an nn.Module or a name, got int"),
        ({"activation": "elu"}, r"unknown activation 'elu'"),
        ({"dtype": torch.int64}, r"dtype must be a floating torch dtype"),
        ({"generator": torch.Generator()}, r"either seed or generator"),
    ],
)
def test_pyramidal_mlp_rejects_bad_arguments(kwargs, match):
    with pytest.raises(InvalidInput, match=match):
        _net(**kwargs)


# ---------------------------------------------------------------- assumptions


@given(
    widths=st.lists(st.integers(1, 10), min_size=1, max_size=3),
    head=st.lists(st.integers(1, 10), min_size=0, max_size=2),
    K=st.integers(2, 4),
    N=st.integers(1, 12),
    act=st.sampled_from(["gamma_tanh", "relu", "tanh"]),
)
@settings(max_examples=40, deadline=None)
def test_architecture_assumptions_match_their_definitions(widths, head, K, N, act):
    net = PyramidalMLP(3, widths, head, K, act, seed=0)
    got = architecture_assumptions(net, N)
    all_widths = [*widths, *head, K]
    tail = all_widths[1:]
    assert got["wide_first_layer"].held == (widths[0] >= N)
    assert got["non_increasing_widths"].held == all(a >= b for a, b in itertools.pairwise(tail))
    assert got["activation_slope"].held == (act == "gamma_tanh")
    assert got["deep_linear_head"].held == (len(head) >= 1)
    for a in got.values():
        out = a.to_outcome()
        assert out.held is a.held and out.status.value == "checked"
    assert got["wide_first_layer"].measured == {"n_1": widths[0], "N": N}


def test_architecture_assumptions_bad_arguments():
    net = _net()
    with pytest.raises(InvalidInput, match=r"num_samples must be a positive integer, got 0"):
        architecture_assumptions(net, 0)
    del net.input_dim, net.input_shape
    with pytest.raises(
        InvalidArchitecture,
        match=r"cannot tell the input shape of "
        r"PyramidalMLP .* pass info=check_architecture",
    ):
        architecture_assumptions(net, 4)
    info = check_architecture(net, input_shape=(16,), num_classes=4)
    assert architecture_assumptions(net, 4, info=info)["wide_first_layer"].held is True


def test_linearity_tolerance_by_dtype_and_tf32():
    from ncverify.nets import linearity_tolerance

    assert linearity_tolerance(torch.float64) == 1e3 * torch.finfo(torch.float64).eps
    assert linearity_tolerance(torch.float32, "cpu") == 1e3 * torch.finfo(torch.float32).eps
    assert linearity_tolerance(torch.bfloat16) == 5e-2
    before = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("high")  # enables TF32 products on CUDA
    try:
        assert linearity_tolerance(torch.float32, "cuda") == 1e-2
        assert linearity_tolerance(torch.float64, "cuda") < 1e-12  # TF32 never touches float64
    finally:
        torch.set_float32_matmul_precision(before)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32])
def test_low_precision_networks_pass_the_check(dtype):
    net = _net(dtype=dtype)
    info = check_architecture(net, input_shape=(16,), num_classes=4)
    assert info.dtype == str(dtype).removeprefix("torch.")
