"""Plug-in architectures: protocol conformance, invalid networks and factories, loading."""

from __future__ import annotations

import sys
import textwrap
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
import torch
from torch import nn

from ncverify import InvalidArchitecture
from ncverify.nets import (
    ENTRY_POINT_GROUP,
    PyramidalMLP,
    architecture_assumptions,
    available_architectures,
    check_architecture,
    load_architecture,
)

REPO = Path(__file__).resolve().parents[1]
D, K, N = 64, 4, 40


@pytest.fixture
def repo_on_path(monkeypatch):
    monkeypatch.syspath_prepend(str(REPO))


class Toy(nn.Module):
    """A protocol network whose defects are switched on one at a time."""

    def __init__(
        self,
        *,
        d=D,
        k=K,
        head_bias=False,
        nonlinear_head=False,
        out_extra=0,
        num_head_layers=2,
        bad_feature_end=False,
        wrong_weight_shape=False,
        drop_weight=False,
        widths=None,
        slope=None,
        num_classes=None,
    ):
        super().__init__()
        self.body = nn.Linear(d, 16)
        self.h1 = nn.Linear(16, 8, bias=head_bias)
        self.h2 = nn.Linear(8, k + out_extra, bias=False)
        self.num_classes = k if num_classes is None else num_classes
        self.num_head_layers = num_head_layers
        self.flags = dict(
            nonlinear_head=nonlinear_head,
            bad_feature_end=bad_feature_end,
            wrong_weight_shape=wrong_weight_shape,
            drop_weight=drop_weight,
        )
        self._widths, self._slope = widths, slope

    def layer_features(self, X):
        z1 = torch.tanh(self.body(X))
        z2 = self.h1(z1)
        if self.flags["nonlinear_head"]:
            z2 = torch.relu(z2)
        z3 = self.h2(z2)
        if self.flags["bad_feature_end"]:
            z3 = z3 + 1.0
        return [z1, z2, z3]

    def forward(self, X):
        z1 = torch.tanh(self.body(X))
        z2 = self.h1(z1)
        if self.flags["nonlinear_head"]:
            z2 = torch.relu(z2)
        return self.h2(z2)

    def head_weights(self):
        if self.flags["drop_weight"]:
            return [self.h2.weight]
        if self.flags["wrong_weight_shape"]:
            return [self.h1.weight.T, self.h2.weight]
        return [self.h1.weight, self.h2.weight]

    def nonlinear_widths(self):
        return self._widths

    def activation_slope_range(self):
        return self._slope


class NoProtocol(nn.Module):
    def forward(self, X):
        return X


def _check(net, **kw):
    return check_architecture(net, input_shape=(D,), num_classes=K, **kw)


# ---------------------------------------------------------------- conformance


@pytest.mark.parametrize(
    "spec", ["examples.residual_mlp:factory", "examples.conv_digits:factory", "pyramidal"]
)
def test_shipped_architectures_satisfy_protocol(spec, repo_on_path):
    factory = load_architecture(spec)
    shape = (D,) if factory.declared_input_shape is None else factory.declared_input_shape
    net = factory.build(input_shape=shape, num_classes=K, num_samples=N, seed=3)
    assert all(p.dtype == torch.float64 for p in net.parameters())
    info = check_architecture(net, input_shape=shape, num_classes=K)
    X = torch.randn(N, *shape, dtype=torch.float64)
    feats = net.layer_features(X)
    assert len(feats) == len(info.feature_widths)
    torch.testing.assert_close(feats[-1], net(X))
    assert tuple(net(X).shape) == (N, K)
    # features and head agree: Z_ℓ = Z_{ℓ-1} W_ℓᵀ along the whole head
    Z = feats[-(info.num_head_layers + 1)]
    for W in net.head_weights():
        Z = Z @ W.T
    torch.testing.assert_close(Z, net(X))
    assumptions = architecture_assumptions(net, N, info=info)
    assert assumptions["deep_linear_head"].held is True


def test_example_assumption_reports(repo_on_path):
    res = load_architecture("examples.residual_mlp:factory").build(
        input_shape=(D,), num_classes=K, num_samples=N, seed=0
    )
    conv = load_architecture("examples.conv_digits:factory").build(
        input_shape=(1, 8, 8), num_classes=K, num_samples=N, seed=0
    )
    a = architecture_assumptions(res, N, info=_check(res))
    b = architecture_assumptions(
        conv, N, info=check_architecture(conv, input_shape=(1, 8, 8), num_classes=K)
    )
    assert a["wide_first_layer"].held is None and a["activation_slope"].held is None
    assert b["activation_slope"].held is False  # ReLU violates Assumption 4.2
    assert b["activation_slope"].to_outcome().status.value == "checked"
    assert a["activation_slope"].to_outcome().status.value == "not_checkable"


def test_build_is_reproducible_and_keeps_global_rng(repo_on_path):
    factory = load_architecture("examples.residual_mlp:factory")
    torch.manual_seed(7)
    expected = torch.rand(2)
    torch.manual_seed(7)
    a = factory.build(input_shape=(D,), num_classes=K, num_samples=N, seed=11)
    after = torch.rand(2)
    b = factory.build(input_shape=(D,), num_classes=K, num_samples=N, seed=11, dtype=torch.float32)
    c = factory.build(input_shape=(D,), num_classes=K, num_samples=N, seed=12)
    assert torch.equal(after, expected)
    assert torch.equal(a.stem.weight.float(), b.stem.weight)
    assert b.stem.weight.dtype == torch.float32
    assert not torch.equal(a.stem.weight, c.stem.weight)


@pytest.mark.parametrize(
    ("head_weights", "match"),
    [
        (lambda n: [n.h1.weight.detach().clone(), n.h2.weight], r"matrices \[1\] \(of 2\)"),
        (lambda n: [n.h1.weight, n.h2.weight.detach()], r"matrices \[2\] \(of 2\)"),
        (lambda n: [n.h1.weight.T.T, n.h2.weight * 1.0], r"matrices \[1, 2\] \(of 2\)"),
    ],
)
def test_head_weights_copies_are_refused_before_training(head_weights, match):
    """A head_weights() returning copies is an InvalidArchitecture at check time (training
    would follow stale matrices)."""
    net = Toy()
    net.head_weights = lambda: head_weights(net)
    with pytest.raises(
        InvalidArchitecture,
        match=match + r" that are not the network's own parameters .* return the parameters "
        r"themselves",
    ):
        _check(net)


def test_affine_head_allowed_only_when_asked():
    info = _check(Toy(head_bias=True), require_bias_free_head=False)
    assert info.head_bias is True
    assert _check(Toy()).head_bias is False


# ---------------------------------------------------------------- invalid networks

INVALID_NETWORKS = [
    (lambda: 3, r"must be a torch.nn.Module, got int"),
    (
        NoProtocol,
        r"NoProtocol does not implement .*missing layer_features, head_weights, "
        r"num_classes, num_head_layers",
    ),
    (lambda: Toy(num_head_layers=0), r"has no linear head: num_head_layers=0"),
    (lambda: Toy(num_head_layers=2.0), r"num_head_layers must be an int, got 2.0"),
    (lambda: Toy(num_classes=5), r"Toy.num_classes=5 but the data has num_classes=4"),
    (lambda: Toy(out_extra=1), r"returned \(7, 5\); expected \(7, 4\)"),
    (lambda: Toy(d=10), r"Toy.forward\(\) raised RuntimeError"),
    (
        lambda: Toy(nonlinear_head=True),
        r"head layer 1 of 2 is declared linear but is not: "
        r".* = \d.* > tol",
    ),
    (lambda: Toy(head_bias=True), r"head layer 1 of 2 has a bias .* bias=False"),
    (
        lambda: Toy(wrong_weight_shape=True),
        r"head layer 1 of 2 has weight shape \(16, 8\) but .* \(8, 16\)",
    ),
    (lambda: Toy(drop_weight=True), r"head_weights returned 1 matrices but num_head_layers=2"),
    (lambda: Toy(num_head_layers=3), r"returned 3 entries but num_head_layers=3 needs at least"),
    (lambda: Toy(bad_feature_end=True), r"layer_features\(X\)\[-1\] must equal forward\(X\)"),
    (
        lambda: Toy(widths=[16, 12]),
        r"nonlinear_widths\(\)\[-1\] = 12 but the head's input has "
        r"width 16",
    ),
    (lambda: Toy(widths=[0]), r"nonlinear_widths\(\)\[0\] must be a positive integer, got 0"),
    (lambda: Toy(widths=[]), r"nonlinear_widths\(\) is empty"),
    (lambda: Toy(slope=(1.0, 0.5)), r"activation_slope_range\(\) = \(1.0, 0.5\) is not a finite"),
    (lambda: Toy(slope="x"), r"must return \(gamma, beta\) or None, got 'x'"),
]


@pytest.mark.parametrize(("make", "match"), INVALID_NETWORKS)
def test_invalid_networks_rejected_with_reason(make, match):
    with pytest.raises(InvalidArchitecture, match=match):
        _check(make())


def test_pyramidal_with_wrong_declared_widths_rejected():
    net = PyramidalMLP(D, (16, 8), (4,), K, seed=0)
    net.nonlinear_widths = lambda: [16, 9, 7]
    with pytest.raises(InvalidArchitecture, match=r"nonlinear_widths\(\)\[-1\] = 7 but"):
        _check(net)
    net.nonlinear_widths = lambda: [8]
    with pytest.raises(
        InvalidArchitecture, match=r"layer_features returned 4 entries but L1 \+ L2 = 1 \+ 2 = 3"
    ):
        _check(net)
    net.nonlinear_widths = lambda: [20, 8]
    with pytest.raises(
        InvalidArchitecture, match=r"declared widths \[20, 8, 4, 4\] disagree .* \[16, 8, 4, 4\]"
    ):
        _check(net)


# ---------------------------------------------------------------- invalid factories

FACTORIES = textwrap.dedent("""
    import torch
    from torch import nn

    NOT_CALLABLE = 3

    def raising(*, input_shape, num_classes, num_samples):
        raise RuntimeError(f"cannot build for shape {input_shape}")

    def returns_int(*, input_shape, num_classes, num_samples):
        return 42

    def old_protocol(*, input_dim, num_classes, num_samples):
        return None

    def bad_default(*, input_shape=(0, 8), num_classes, num_samples):
        return None

    def biased_head(*, input_shape, num_classes, num_samples):
        class Net(nn.Module):
            num_head_layers = 1
            def __init__(self):
                super().__init__()
                self.num_classes = num_classes
                self.body = nn.Linear(input_shape[0], 8)
                self.out = nn.Linear(8, num_classes)
            def layer_features(self, X):
                z = torch.tanh(self.body(X))
                return [z, self.out(z)]
            def forward(self, X):
                return self.layer_features(X)[-1]
            def head_weights(self):
                return [self.out.weight]
        return Net()
""")


@pytest.fixture
def plugin_dir(tmp_path, monkeypatch):
    (tmp_path / "ncv_case_factories.py").write_text(FACTORIES)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    sys.modules.pop("ncv_case_factories", None)


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("", r"malformed architecture ''"),
        ("a:b:c", r"malformed architecture 'a:b:c': expected 'package.module:factory'"),
        ("mod:", r"malformed architecture 'mod:'"),
        (":factory", r"malformed architecture ':factory'"),
        ("1mod:f", r"malformed architecture '1mod:f'"),
        ("has space", r"malformed architecture 'has space'"),
        (3, r"named by a string .* got int"),
        ("ncv_no_such_module_x:factory", r"cannot import module 'ncv_no_such_module_x'"),
        ("ncv_case_factories:missing", r"module 'ncv_case_factories' has no attribute 'missing'"),
        ("ncv_case_factories:NOT_CALLABLE", r"is a int, not a callable factory"),
        (
            "ncv_no_such_entry_point",
            r"unknown architecture 'ncv_no_such_entry_point'.*"
            r"ncverify.architectures.*known names: .*pyramidal",
        ),
    ],
)
def test_bad_architecture_strings(spec, match, plugin_dir):
    with pytest.raises(InvalidArchitecture, match=match):
        load_architecture(spec)


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        (
            "ncv_case_factories:raising",
            r"factory 'ncv_case_factories:raising' raised RuntimeError:"
            r" cannot build for shape \(64,\) \(called with input_shape=\(64,\), "
            r"num_classes=4, num_samples=40, seed=0\)",
        ),
        ("ncv_case_factories:returns_int", r"returned int, not a torch.nn.Module"),
        ("ncv_case_factories:biased_head", r"head layer 1 of 1 has a bias"),
        (
            "ncv_case_factories:old_protocol",
            r"^architecture factory 'ncv_case_factories:old_protocol' does not accept "
            r"input_shape: a factory is factory\(\*, input_shape, num_classes, num_samples\); "
            r"it takes input_dim, the protocol before input shapes: rename the parameter "
            r"input_shape",
        ),
        (
            "examples.conv_digits:factory",
            r"raised ValueError: conv_digits takes 1x8x8 images; got input_shape=\(64,\)",
        ),
    ],
)
def test_bad_factories(spec, match, plugin_dir, repo_on_path):
    factory = load_architecture(spec)
    with pytest.raises(InvalidArchitecture, match=match):
        factory.build(input_shape=(D,), num_classes=K, num_samples=N, seed=0)


def test_a_malformed_declared_input_shape_is_refused(plugin_dir):
    factory = load_architecture("ncv_case_factories:bad_default")
    with pytest.raises(
        InvalidArchitecture,
        match=r"the default input_shape of 'ncv_case_factories:bad_default'\[0\] must be a "
        r"positive integer, got 0",
    ):
        factory.input_shape


# ---------------------------------------------------------------- loading


def test_load_from_working_directory(tmp_path, monkeypatch):
    """A console script's sys.path lacks the working directory; the loader falls back to it."""
    (tmp_path / "ncv_cwd_net.py").write_text("from examples.residual_mlp import factory as build\n")
    monkeypatch.syspath_prepend(str(REPO))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    before = list(sys.path)
    try:
        factory = load_architecture("ncv_cwd_net:build")
        net = factory(input_shape=(D,), num_classes=K, num_samples=N, seed=1)
        assert net.num_classes == K
        assert sys.path == before
    finally:
        sys.modules.pop("ncv_cwd_net", None)


def test_entry_point_from_installed_distribution(tmp_path, monkeypatch):
    """A real (temporary) distribution declaring the entry point group is found by name."""
    (tmp_path / "ncv_ep_pkg.py").write_text(
        "from ncverify.nets import PyramidalMLP\n"
        "def make(*, input_shape, num_classes, num_samples):\n"
        "    return PyramidalMLP(input_shape[0], (num_samples, 8), (6,), num_classes, seed=0)\n"
    )
    info = tmp_path / "ncv_ep_pkg-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ncv-ep-pkg\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\nncv_ep_net = ncv_ep_pkg:make\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        assert available_architectures()["ncv_ep_net"] == "ncv_ep_pkg:make"
        factory = load_architecture("ncv_ep_net")
        assert factory.target == "ncv_ep_pkg:make"
        net = factory.build(input_shape=(5,), num_classes=3, num_samples=12, seed=0)
        assert net.nonlinear_widths() == [12, 8]
    finally:
        sys.modules.pop("ncv_ep_pkg", None)


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ("ncv_missing_mod_y:f", r"entry point 'broken' = 'ncv_missing_mod_y:f' .* failed to load"),
        ("builtins:len", None),
        ("math:pi", r"entry point 'broken' = 'math:pi' is a float, not a callable"),
    ],
)
def test_entry_points_monkeypatched(value, match, monkeypatch):
    import importlib.metadata as md

    eps = [EntryPoint(name="broken", value=value, group=ENTRY_POINT_GROUP)]
    monkeypatch.setattr(md, "entry_points", lambda group=None: eps if group else [])
    if match is None:
        assert load_architecture("broken").factory is len
    else:
        with pytest.raises(InvalidArchitecture, match=match):
            load_architecture("broken")
