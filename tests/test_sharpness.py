"""Sharpness by power iteration against the exact Hessian (torch.autograd.functional.hessian)."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.func import functional_call

from ncverify import InvalidInput
from ncverify.nets import PyramidalMLP
from ncverify.train import sharpness


def _exact_spectrum(net, X, y, lam):
    names = [n for n, _ in net.named_parameters()]
    shapes = [p.shape for _, p in net.named_parameters()]
    flat = torch.cat([p.detach().reshape(-1) for p in net.parameters()])
    Y = torch.nn.functional.one_hot(y, net.num_classes).to(X.dtype)

    def loss(theta):
        params, i = {}, 0
        for name, shape in zip(names, shapes, strict=True):
            k = shape.numel()
            params[name] = theta[i : i + k].reshape(shape)
            i += k
        out = functional_call(net, params, (X,))
        return 0.5 / X.shape[0] * ((out - Y) ** 2).sum() + 0.5 * lam * (theta**2).sum()

    H = torch.autograd.functional.hessian(loss, flat)
    return torch.linalg.eigvalsh(0.5 * (H + H.T))


@settings(max_examples=8, deadline=None, derandomize=True, database=None)
@given(
    seed=st.integers(0, 2**16),
    lam=st.sampled_from([0.0, 1e-3, 0.05]),
    activation=st.sampled_from(["gamma_tanh", "tanh", "relu"]),
    scale=st.sampled_from([0.5, 1.0, 3.0]),
)
def test_power_iteration_matches_the_exact_top_eigenvalue(seed, lam, activation, scale):
    g = torch.Generator().manual_seed(seed)
    X = scale * torch.randn(6, 3, generator=g, dtype=torch.float64)
    y = torch.arange(2).repeat_interleave(3)
    net = PyramidalMLP(3, (5,), (4,), 2, activation, seed=seed)
    ev = _exact_spectrum(net, X, y, lam)
    s = sharpness(net, X, y, lam, seed=seed, tol=1e-12, max_iter=3000)
    assert s.converged
    top = float(ev[-1])
    assert s.value == pytest.approx(top, rel=1e-6, abs=1e-10)


def test_negative_dominant_eigenvalue_is_shifted_to_the_top_algebraic_one():
    # a saddle: the loss of a tiny net far from its optimum can have a dominant negative
    # eigenvalue; whatever happens, the result must equal the largest algebraic eigenvalue
    torch.manual_seed(0)
    found = False
    for seed in range(60):
        g = torch.Generator().manual_seed(seed)
        X = 4.0 * torch.randn(4, 2, generator=g, dtype=torch.float64)
        y = torch.tensor([0, 0, 1, 1])
        net = PyramidalMLP(2, (3,), (3,), 2, "tanh", seed=seed)
        ev = _exact_spectrum(net, X, y, 0.0)
        if -float(ev[0]) > float(ev[-1]) > 0:
            found = True
            s = sharpness(net, X, y, 0.0, seed=1, tol=1e-12, max_iter=5000)
            assert s.value == pytest.approx(float(ev[-1]), rel=1e-5, abs=1e-9)
            break
    assert found, "no instance with a dominant negative eigenvalue among the seeds tried"


def test_sharpness_is_seeded_and_reports_convergence():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(6, 3, generator=g, dtype=torch.float64)
    y = torch.arange(2).repeat_interleave(3)
    net = PyramidalMLP(3, (5,), (4,), 2, seed=0)
    a = sharpness(net, X, y, 1e-2, seed=5)
    b = sharpness(net, X, y, 1e-2, seed=5)
    assert a == b
    assert a.converged and a.iterations >= 2 and a.residual < 1e-2


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(tol=0.0), "tol must be a float in"),
        (dict(max_iter=1), "max_iter must be an integer >= 2"),
        (dict(weight_decay=-1.0), "weight_decay must be a finite number >= 0"),
    ],
)
def test_bad_arguments_are_rejected(kwargs, match):
    X = torch.randn(4, 3, dtype=torch.float64)
    y = torch.tensor([0, 0, 1, 1])
    net = PyramidalMLP(3, (5,), (4,), 2, seed=0)
    args = dict(weight_decay=0.0) | kwargs
    lam = args.pop("weight_decay")
    with pytest.raises(InvalidInput, match=match):
        sharpness(net, X, y, lam, **args)


@settings(max_examples=6, deadline=None, derandomize=True, database=None)
@given(
    seed=st.integers(0, 2**16),
    lam=st.sampled_from([0.0, 1e-3, 0.05]),
    activation=st.sampled_from(["gamma_tanh", "tanh", "relu"]),
)
def test_exact_sharpness_is_the_top_eigenvalue_of_the_autograd_hessian(seed, lam, activation):
    from ncverify.train import exact_sharpness

    g = torch.Generator().manual_seed(seed)
    X = torch.randn(6, 3, generator=g, dtype=torch.float64)
    y = torch.arange(2).repeat_interleave(3)
    net = PyramidalMLP(3, (5,), (4,), 2, activation, seed=seed)
    top = float(_exact_spectrum(net, X, y, lam)[-1])
    assert exact_sharpness(net, X, y, lam) == pytest.approx(top, rel=1e-12, abs=1e-14)
    # power iteration approaches it from below (a Rayleigh quotient)
    s = sharpness(net, X, y, lam, seed=seed, tol=1e-10, max_iter=3000)
    assert s.value <= exact_sharpness(net, X, y, lam) * (1 + 1e-12) + 1e-14


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(weight_decay=-1.0), InvalidInput, "weight_decay must be a finite number >= 0"),
        (dict(weight_decay=1e-3, max_params=10), InvalidInput, "forms the 43x43 Hessian"),
    ],
)
def test_exact_sharpness_refuses_bad_input_and_large_networks(kwargs, error, match):
    from ncverify import ProblemTooLarge
    from ncverify.train import exact_sharpness

    X = torch.randn(6, 3, dtype=torch.float64)
    y = torch.arange(2).repeat_interleave(3)
    net = PyramidalMLP(3, (5,), (4,), 2, seed=0)
    with pytest.raises(error, match=match) as info:
        exact_sharpness(net, X, y, **kwargs)
    if "max_params" in kwargs:
        assert isinstance(info.value, ProblemTooLarge)
