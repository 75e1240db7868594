"""Strategies of the theorem checks: argument validation, reproducibility, construction."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis.errors import InvalidArgument

from ncverify.catalog.gd import build_gd_step, build_ufm_point, gd_steps, ufm_points
from ncverify.catalog.jswm import (
    balanced_heads,
    balanced_pairs,
    build_head,
    build_last_pair,
    factorizations,
    head_instances,
)
from ncverify.pytest_plugin import hypothesis_settings


@pytest.mark.parametrize(
    ("factory", "kwargs", "match"),
    [
        (head_instances, dict(min_classes=1), r"min_classes=1 must be an integer >= 2"),
        (
            head_instances,
            dict(min_classes=4, max_classes=3),
            r"min_classes=4 exceeds max_classes=3",
        ),
        (head_instances, dict(max_per_class=0), r"max_per_class=0 must be an integer >= 1"),
        (head_instances, dict(max_condition=1.0), r"max_condition=1.0 must be a finite number > 1"),
        (
            head_instances,
            dict(min_eps1_frac=0.5, max_eps1_frac=0.1),
            r"min_eps1_frac=0.5 exceeds max_eps1_frac=0.1",
        ),
        (head_instances, dict(max_extra_width=-1), r"max_extra_width=-1 must be an integer >= 0"),
        (balanced_heads, dict(imbalanced=True, mixed=True), r"at most one of imbalanced=True"),
        (balanced_heads, dict(min_depth=0), r"min_depth=0 must be an integer >= 1"),
        (balanced_pairs, dict(max_condition=float("nan")), r"max_condition=nan must be a finite"),
        (factorizations, dict(max_depth=True), r"max_depth=True must be an integer"),
        (gd_steps, dict(momentum=1.0), r"momentum=1.0 must be a number in \[0, 1\)"),
        (gd_steps, dict(nonlinear_between=1), r"nonlinear_between=1 must be a bool"),
        (gd_steps, dict(max_width=1), r"max_width=1 must be an integer >= 2"),
        (ufm_points, dict(critical="yes"), r"critical='yes' must be a bool"),
        (ufm_points, dict(max_classes=1), r"max_classes=1 is too small"),
    ],
)
def test_bad_strategy_arguments(factory, kwargs, match):
    with pytest.raises(InvalidArgument, match=match):
        factory(**kwargs)


def test_positional_arguments_are_refused():
    with pytest.raises(TypeError):
        head_instances(2)  # type: ignore[misc]


def _same(a, b):
    return a.shape == b.shape and torch.equal(a, b)


@hypothesis_settings("deterministic", max_examples=20)
@given(inst=head_instances())
def test_last_pairs_rebuild_from_their_inputs(inst):
    again = build_last_pair(**inst.inputs)
    for name in ("Z", "W_lower", "W_upper", "y"):
        assert _same(getattr(inst, name), getattr(again, name)), name
    K, n = inst.inputs["classes"], inst.inputs["per_class"]
    assert torch.bincount(inst.y, minlength=K).tolist() == [n] * K
    assert inst.Z.dtype == torch.float64 and inst.seed == inst.inputs["seed"]


@hypothesis_settings("deterministic", max_examples=20)
@given(head=balanced_heads())
def test_balanced_heads_are_balanced_and_rebuild(head):
    for lo, up in zip(head.weights, head.weights[1:], strict=False):
        D = up.T @ up - lo @ lo.T
        assert (
            float(torch.linalg.matrix_norm(D, 2))
            <= 1e-13 * float(torch.linalg.matrix_norm(up, 2)) ** 2
        )
    again = build_head(**head.inputs)
    assert all(_same(a, b) for a, b in zip(head.weights, again.weights, strict=True))


def test_balanced_pair_construction_is_the_svd_form():
    h = build_head(seed=5, classes=3, widths=[5, 4], log10_kappa=1.0, log10_scale=0.0)
    W_lower, W_upper = h.weights
    s = torch.linalg.svdvals(W_upper)
    assert float(s[0] / s[-1]) == pytest.approx(10.0, rel=1e-12)
    assert torch.allclose(torch.linalg.svdvals(W_lower)[:3], s, rtol=1e-12)


def test_gd_step_and_ufm_point_rebuild():
    step = build_gd_step(
        seed=1,
        samples=5,
        batch=3,
        in_dim=3,
        widths=[3, 4, 2],
        classes=3,
        loss="ce",
        lr=0.1,
        weight_decay=0.01,
        prefix=True,
        suffix=True,
        activation="relu",
    )
    again = build_gd_step(**step.inputs)
    assert _same(step.W_lower_next, again.W_lower_next) and _same(step.G_upper, again.G_upper)
    point = build_ufm_point(seed=2, classes=3, per_class=2, width=4, lam=0.1, critical=True)
    assert float(torch.linalg.norm(point.grad_lower)) < 1e-12
    with pytest.raises(InvalidArgument, match=r"lam=0.5 gives s = 1 - K√n λ"):
        build_ufm_point(seed=2, classes=3, per_class=2, width=4, lam=0.5, critical=True)
